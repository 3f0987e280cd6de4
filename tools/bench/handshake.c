// SPDX-License-Identifier: GPL-2.0
/*
 * handshake: full TLS 1.3 handshakes per second over loopback TCP,
 * libplasmatic (handshake + EEM key schedule + upgrade to the kernel or
 * userspace datapath) against plain OpenSSL on the same certificate, in
 * one run.  A benchmark, not a test.
 *
 *   handshake [--n N] [--rounds R] [--conc C] [--datapath auto|kernel|userspace]
 *             [--dir DIR] [--cpus S,C] [--only openssl|plasmatic]
 *
 * --only times one kind (for a profiler; the other's columns are 1).
 *
 * Both sides: TLS 1.3 only, the three SPEC suites (AES-128-GCM chosen),
 * X25519 (OpenSSL's default first group: checked on the plain side), an
 * ECDSA P-256 server certificate signed by an ECDSA P-256 CA (made in DIR,
 * default /tmp/handshake-bench, by userspace/lib/tests/pki.c), the client
 * verifying the chain and the host name, the server sending OpenSSL's two
 * session tickets (a stock server's default; SPEC 2.2), no session cache.
 * What the plain side does not do is exactly Plasmatic's addition: the
 * curl-shaped ClientHello and nginx-shaped server settings (SPEC 2.1), the
 * key log capture, the exporter, the EEM key schedule (with a PSK), the
 * opening record (SPEC 2.3), the upgrade (TCP_ULP and four setsockopts, or
 * the userspace engine's contexts), the wiping of OpenSSL's secrets and of
 * the stack.
 *
 * One handshake: the client thread connects a new TCP socket to the server
 * thread's listener, both run the handshake (plain: SSL_connect /
 * SSL_accept; plasmatic: pl_connect / pl_accept, which return upgraded);
 * each then posts a semaphore and waits for the other's before it frees
 * and closes (so that neither closes under the other's upgrade: the module
 * refuses a socket that got the peer's FIN already, as kTLS does).  No
 * application data.  C pairs of threads (--conc, default 1)
 * run at once, each pair on its own listener; with 1 the handshakes are
 * back to back, bounded by latency.
 *
 * Each round times N handshakes (default 200) per C pairs of plain OpenSSL
 * and N of plasmatic, in S slices of N/S (--slices, default 4) that take
 * turns (ABBA...: the kind that goes first alternates), so that both kinds
 * of a round see the same machine; R rounds (default 15: short rounds, so
 * that a disturbance on a shared host hits few of them).  Before the
 * rounds, one connection of each kind moves data both ways and checks the
 * datapath.  Prints, per round: handshakes per second (wall clock), CPU
 * microseconds per handshake (user + system of the whole process, both
 * ends) and the ratios plasmatic / plain of both.  The result is the
 * median of the rounds' ratios with its quartiles (rate: >= 0.9 is the
 * target): a VM whose speed drifts with the host's load (TCG) moves both
 * kinds of a round alike, so their ratio holds where the rates do not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "pki.h"
#include "plasmatic.h"

#define SUITES	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:" \
		"TLS_CHACHA20_POLY1305_SHA256"
#define MAX_CONC	16
#define MAX_ROUNDS	50

enum kind { PLAIN = 0, PLASMATIC = 1 };
static const char *const kind_name[] = { "openssl", "plasmatic" };

static struct {
	int n, rounds, conc;
	enum pl_datapath datapath;
	const char *dir;
	int cpu_server, cpu_client;
	int only;		/* -1 both, else one kind (profiling) */
	int slices;
} opt = {
	.n = 200, .rounds = 15, .conc = 1, .slices = 4,
	.datapath = PL_DATAPATH_AUTO,
	.dir = "/tmp/handshake-bench", .cpu_server = -1, .cpu_client = -1,
	.only = -1,
};

static char ca_pem[512], srv_pem[512], srv_key[512];
static SSL_CTX *plain_cctx, *plain_sctx;
static struct pl_ctx *pl_cctx, *pl_sctx;
static struct pl_psk *psk;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "handshake: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* ------------------------------------------------------------ contexts */

/*
 * A stock client (curl) processes the server's two tickets when it reads;
 * so does pl_connect: the plain client reads them too (non-blocking
 * reads until OpenSSL has taken both), so that both sides do that work.
 */
static void ticket_msg_cb(int write_p, int version, int content_type,
			  const void *buf, size_t len, SSL *ssl, void *arg)
{
	(void)version;
	(void)ssl;
	if (!write_p && content_type == SSL3_RT_HANDSHAKE && len &&
	    ((const unsigned char *)buf)[0] == SSL3_MT_NEWSESSION_TICKET)
		++*(int *)arg;
}

static int read_tickets(SSL *s, int fd)
{
	int fl = fcntl(fd, F_GETFL), rc = 0, seen = 0;
	char b;

	SSL_set_msg_callback(s, ticket_msg_cb);
	SSL_set_msg_callback_arg(s, &seen);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	while (seen < 2) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int r = SSL_read(s, &b, 1);

		if (r > 0 || SSL_get_error(s, r) != SSL_ERROR_WANT_READ ||
		    (seen < 2 && poll(&pf, 1, 5000) != 1)) {
			rc = -1;
			break;
		}
	}
	ERR_clear_error();
	SSL_set_msg_callback(s, NULL);
	fcntl(fd, F_SETFL, fl);
	return rc;
}

static SSL_CTX *plain_ctx(bool server)
{
	SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

	if (!c || !SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(c, SUITES))
		die("plain SSL_CTX");
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
	if (server) {
		if (SSL_CTX_use_certificate_chain_file(c, srv_pem) != 1 ||
		    SSL_CTX_use_PrivateKey_file(c, srv_key, SSL_FILETYPE_PEM) != 1)
			die("plain server certificate");
	} else {
		if (SSL_CTX_load_verify_locations(c, ca_pem, NULL) != 1)
			die("plain CA");
		SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	}
	return c;
}

static void make_ctxs(void)
{
	struct pl_config cfg;
	struct pl_error err;
	uint8_t key[PL_PSK_BYTES];

	memset(key, 0x5a, sizeof(key));
	psk = pl_psk_from_bytes(key, &err);
	if (!psk)
		die("psk: %s", err.msg);
	plain_cctx = plain_ctx(false);
	plain_sctx = plain_ctx(true);
	pl_config_init(&cfg, PL_ROLE_CLIENT);
	cfg.ca_file = ca_pem;
	cfg.hostname = "localhost";
	cfg.psk = psk;
	cfg.datapath = opt.datapath;
	cfg.ciphersuites = "TLS_AES_128_GCM_SHA256";	/* as the plain side */
	pl_cctx = pl_ctx_new(&cfg, &err);
	if (!pl_cctx)
		die("plasmatic client ctx: %s", err.msg);
	pl_config_init(&cfg, PL_ROLE_SERVER);
	cfg.cert_file = srv_pem;
	cfg.key_file = srv_key;
	cfg.psk = psk;
	cfg.datapath = opt.datapath;
	cfg.ciphersuites = "TLS_AES_128_GCM_SHA256";
	pl_sctx = pl_ctx_new(&cfg, &err);
	if (!pl_sctx)
		die("plasmatic server ctx: %s", err.msg);
}

/* ----------------------------------------------------- one connection */

struct pair {
	int idx;
	int listener;
	struct sockaddr_in addr;
	sem_t server_done;	/* server side handshake (+ upgrade) over */
	sem_t client_done;	/* client side too */
	enum kind kind;
	int n;			/* handshakes to do */
	bool check;		/* move data and check the datapath */
	int failed;
	char msg[400];
	enum pl_datapath dp_client, dp_server;
	int group_nid;		/* plain: negotiated group */
	pthread_barrier_t *start;
};

static void pair_fail(struct pair *p, const char *fmt, ...)
{
	va_list ap;

	if (p->failed++)
		return;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
}

static int plain_server_one(struct pair *p, int fd)
{
	SSL *s = SSL_new(plain_sctx);
	int rc = -1, one = 1;

	/* As libplasmatic during its handshake: the second ticket must not
	 * wait for the client's delayed ACK of the first (Nagle). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	if (!s || !SSL_set_fd(s, fd) || SSL_accept(s) != 1) {
		pair_fail(p, "plain SSL_accept failed");
		goto out;
	}
	if (p->check) {
		char b[5];

		if (SSL_read(s, b, 5) != 5 || SSL_write(s, b, 5) != 5) {
			pair_fail(p, "plain server data");
			goto out;
		}
	}
	rc = 0;
out:
	sem_post(&p->server_done);
	sem_wait(&p->client_done);
	SSL_free(s);
	return rc;
}

static int plain_client_one(struct pair *p, int fd)
{
	SSL *s = SSL_new(plain_cctx);
	int rc = -1;

	if (!s || !SSL_set_fd(s, fd) || !SSL_set1_host(s, "localhost") ||
	    !SSL_set_tlsext_host_name(s, "localhost") || SSL_connect(s) != 1 ||
	    read_tickets(s, fd)) {
		pair_fail(p, "plain SSL_connect failed");
		goto out;
	}
	if (p->check) {
		char b[5];

		p->group_nid = SSL_get_negotiated_group(s);
		if (SSL_write(s, "hello", 5) != 5 || SSL_read(s, b, 5) != 5 ||
		    memcmp(b, "hello", 5)) {
			pair_fail(p, "plain client data");
			goto out;
		}
	}
	rc = 0;
out:
	sem_post(&p->client_done);
	sem_wait(&p->server_done);
	SSL_free(s);
	return rc;
}

static int pl_server_one(struct pair *p, int fd)
{
	struct pl_error err;
	struct pl_conn *c = pl_accept(pl_sctx, fd, &err);
	int rc = -1;

	if (!c) {
		pair_fail(p, "pl_accept: %s", err.msg);
		goto out;
	}
	if (p->check) {
		char b[5];

		p->dp_server = pl_conn_datapath(c);
		if (pl_conn_read(c, b, 5) != 5 || pl_conn_write(c, b, 5) != 5) {
			pair_fail(p, "plasmatic server data: %s", pl_conn_error(c)->msg);
			goto out;
		}
	}
	rc = 0;
out:
	sem_post(&p->server_done);
	sem_wait(&p->client_done);
	pl_conn_free(c);
	return rc;
}

static int pl_client_one(struct pair *p, int fd)
{
	struct pl_error err;
	struct pl_conn *c = pl_connect(pl_cctx, fd, NULL, &err);
	int rc = -1;

	if (!c) {
		pair_fail(p, "pl_connect: %s", err.msg);
		goto out;
	}
	if (p->check) {
		char b[5];

		p->dp_client = pl_conn_datapath(c);
		if (pl_conn_write(c, "hello", 5) != 5 || pl_conn_read(c, b, 5) != 5 ||
		    memcmp(b, "hello", 5)) {
			pair_fail(p, "plasmatic client data: %s", pl_conn_error(c)->msg);
			goto out;
		}
	}
	rc = 0;
out:
	sem_post(&p->client_done);
	sem_wait(&p->server_done);
	pl_conn_free(c);
	return rc;
}

static void *server_thread(void *arg)
{
	struct pair *p = arg;

	pin(opt.cpu_server);
	pthread_barrier_wait(p->start);
	for (int i = 0; i < p->n; i++) {
		int fd = accept4(p->listener, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			pair_fail(p, "accept: %s", strerror(errno));
			return NULL;
		}
		if (p->kind == PLAIN)
			plain_server_one(p, fd);
		else
			pl_server_one(p, fd);
		close(fd);
		if (p->failed)
			return NULL;
	}
	return NULL;
}

static void *client_thread(void *arg)
{
	struct pair *p = arg;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct timeval tmo = { .tv_sec = 30 };

	pin(opt.cpu_client);
	pthread_barrier_wait(p->start);
	for (int i = 0; i < p->n && !p->failed; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int one = 1;

		/* No TIME_WAIT pile-up over thousands of connections: the
		 * client resets at close (after the server is done). */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
		if (fd < 0 || connect(fd, (struct sockaddr *)&p->addr,
				      sizeof(p->addr))) {
			pair_fail(p, "connect: %s", strerror(errno));
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		if (p->kind == PLAIN)
			plain_client_one(p, fd);
		else
			pl_client_one(p, fd);
		close(fd);
	}
	/* A failure: wake the server out of accept(). */
	if (p->failed)
		shutdown(p->listener, SHUT_RDWR);
	return NULL;
}

static struct pair pairs[MAX_CONC];

static void pairs_setup(void)
{
	for (int i = 0; i < opt.conc; i++) {
		struct pair *p = &pairs[i];
		socklen_t len = sizeof(p->addr);
		int one = 1;

		memset(p, 0, sizeof(*p));
		p->idx = i;
		p->addr.sin_family = AF_INET;
		p->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		p->listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		setsockopt(p->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (p->listener < 0 ||
		    bind(p->listener, (struct sockaddr *)&p->addr, sizeof(p->addr)) ||
		    listen(p->listener, 64) ||
		    getsockname(p->listener, (struct sockaddr *)&p->addr, &len))
			die("listener: %s", strerror(errno));
		sem_init(&p->server_done, 0, 0);
		sem_init(&p->client_done, 0, 0);
	}
}

/* n handshakes of kind on every pair at once; wall seconds, *cpu set. */
static double run(enum kind kind, int n, bool check, double *cpu)
{
	pthread_barrier_t start;
	pthread_t th[2 * MAX_CONC];
	double t0, c0, t1;

	pthread_barrier_init(&start, NULL, (unsigned int)(2 * opt.conc + 1));
	for (int i = 0; i < opt.conc; i++) {
		struct pair *p = &pairs[i];

		p->kind = kind;
		p->n = n;
		p->check = check;
		p->start = &start;
		if (pthread_create(&th[2 * i], NULL, server_thread, p) ||
		    pthread_create(&th[2 * i + 1], NULL, client_thread, p))
			die("pthread_create");
	}
	pthread_barrier_wait(&start);
	t0 = now();
	c0 = cpu_now();
	for (int i = 0; i < 2 * opt.conc; i++)
		pthread_join(th[i], NULL);
	t1 = now();
	*cpu = cpu_now() - c0;
	pthread_barrier_destroy(&start);
	for (int i = 0; i < opt.conc; i++)
		if (pairs[i].failed)
			die("%s, pair %d: %s", kind_name[kind], i, pairs[i].msg);
	return t1 - t0;
}

/* ---------------------------------------------------------------- main */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile of v[0..n) (linear between order statistics). */
static double quantile(const double *v, int n, double q)
{
	double s[MAX_ROUNDS], pos;
	int i;

	memcpy(s, v, sizeof(double) * (size_t)n);
	qsort(s, (size_t)n, sizeof(double), cmp_double);
	pos = q * (n - 1);
	i = (int)pos;
	return i + 1 < n ? s[i] + (pos - i) * (s[i + 1] - s[i]) : s[i];
}

static double median(const double *v, int n)
{
	return quantile(v, n, 0.5);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: handshake [--n N] [--rounds R] [--conc C] [--datapath auto|kernel|userspace]\n"
		"                 [--slices S] [--dir DIR] [--cpus SERVER,CLIENT]\n"
		"                 [--only openssl|plasmatic]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double rate[2][MAX_ROUNDS], cpu_us[2][MAX_ROUNDS];
	double ratio[MAX_ROUNDS], cpu_ratio[MAX_ROUNDS];
	double load[3] = { 0 };
	const char *dpname;
	int total;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--n") && v) {
			opt.n = atoi(v);
		} else if (!strcmp(a, "--rounds") && v) {
			opt.rounds = atoi(v);
		} else if (!strcmp(a, "--conc") && v) {
			opt.conc = atoi(v);
		} else if (!strcmp(a, "--slices") && v) {
			opt.slices = atoi(v);
		} else if (!strcmp(a, "--dir") && v) {
			opt.dir = v;
		} else if (!strcmp(a, "--cpus") && v) {
			if (sscanf(v, "%d,%d", &opt.cpu_server, &opt.cpu_client) != 2)
				usage();
		} else if (!strcmp(a, "--only") && v) {
			opt.only = !strcmp(v, "plasmatic") ? PLASMATIC : PLAIN;
		} else if (!strcmp(a, "--datapath") && v) {
			if (!strcmp(v, "kernel"))
				opt.datapath = PL_DATAPATH_KERNEL;
			else if (!strcmp(v, "userspace"))
				opt.datapath = PL_DATAPATH_USERSPACE;
			else if (!strcmp(v, "auto"))
				opt.datapath = PL_DATAPATH_AUTO;
			else
				usage();
		} else {
			usage();
		}
		i++;
	}
	if (opt.n < 1 || opt.rounds < 1 || opt.rounds > MAX_ROUNDS ||
	    opt.conc < 1 || opt.conc > MAX_CONC || opt.slices < 1 ||
	    opt.slices > opt.n)
		usage();

	mkdir(opt.dir, 0700);
	snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", opt.dir);
	snprintf(srv_pem, sizeof(srv_pem), "%s/server.pem", opt.dir);
	snprintf(srv_key, sizeof(srv_key), "%s/server.key", opt.dir);
	if (pki_make(opt.dir))
		die("cannot make the certificates in %s", opt.dir);
	make_ctxs();
	pairs_setup();

	/* One checked connection of each kind (data both ways, datapath). */
	{
		double c;
		int nid;

		run(PLAIN, 1, true, &c);
		nid = pairs[0].group_nid;
		run(PLASMATIC, 1, true, &c);
		if (nid != NID_X25519)
			die("plain handshake negotiated group %d, not X25519", nid);
		if (pairs[0].dp_client != pairs[0].dp_server)
			die("datapaths differ");
		if (opt.datapath != PL_DATAPATH_AUTO &&
		    pairs[0].dp_client != opt.datapath)
			die("datapath %s, not %s", pl_datapath_name(pairs[0].dp_client),
			    pl_datapath_name(opt.datapath));
		dpname = pl_datapath_name(pairs[0].dp_client);
	}
	/* Warm-up (not reported). */
	{
		double c;

		run(PLAIN, opt.n / 10 + 1, false, &c);
		run(PLASMATIC, opt.n / 10 + 1, false, &c);
	}

	getloadavg(load, 3);
	total = opt.n * opt.conc;
	printf("# %s; %ld CPUs online, load %.2f %.2f %.2f\n", OpenSSL_version(OPENSSL_VERSION),
	       sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2]);
	printf("# TLS 1.3 AES-128-GCM, X25519, ECDSA P-256 (CA + server), client verifies, two tickets;\n");
	printf("# plasmatic: PSK, covered framing, EEM 80, upgrade to the %s datapath\n", dpname);
	printf("# %d handshakes per round (%d pair%s x %d, in %d slices), %d rounds\n",
	       total, opt.conc, opt.conc > 1 ? "s" : "", opt.n, opt.slices,
	       opt.rounds);
	printf("round  openssl/s  plasmatic/s  ratio  openssl-cpu-us  plasmatic-cpu-us  cpu-ratio\n");
	for (int r = 0; r < opt.rounds; r++) {
		double t[2] = { 0 }, c[2] = { 0 };

		for (int sl = 0; sl < opt.slices; sl++) {
			/* n spread over the slices; the first kind alternates. */
			int n = opt.n * (sl + 1) / opt.slices - opt.n * sl / opt.slices;

			for (int k = 0; k < 2; k++) {
				enum kind kind = (enum kind)((r + sl) % 2 ? 1 - k : k);
				double cs;

				if (opt.only >= 0 && (int)kind != opt.only)
					continue;
				t[kind] += run(kind, n, false, &cs);
				c[kind] += cs;
			}
		}
		for (int k = 0; k < 2; k++) {
			bool timed = opt.only < 0 || k == opt.only;

			rate[k][r] = timed ? total / t[k] : 1;
			cpu_us[k][r] = timed ? c[k] * 1e6 / total : 1;
		}
		ratio[r] = rate[PLASMATIC][r] / rate[PLAIN][r];
		cpu_ratio[r] = cpu_us[PLAIN][r] / cpu_us[PLASMATIC][r];
		printf("%5d  %9.1f  %11.1f  %5.3f  %14.1f  %16.1f  %9.3f\n", r + 1,
		       rate[PLAIN][r], rate[PLASMATIC][r], ratio[r], cpu_us[PLAIN][r],
		       cpu_us[PLASMATIC][r], cpu_ratio[r]);
		fflush(stdout);
	}
	{
		int n = opt.rounds;

		printf("median %9.1f  %11.1f  %5.3f  %14.1f  %16.1f  %9.3f\n",
		       median(rate[PLAIN], n), median(rate[PLASMATIC], n),
		       median(ratio, n), median(cpu_us[PLAIN], n),
		       median(cpu_us[PLASMATIC], n), median(cpu_ratio, n));
		printf("RESULT datapath=%s conc=%d ratio=%.3f ratio_q1=%.3f ratio_q3=%.3f cpu_ratio=%.3f cpu_ratio_q1=%.3f cpu_ratio_q3=%.3f openssl_hs_per_s=%.1f plasmatic_hs_per_s=%.1f openssl_cpu_us=%.1f plasmatic_cpu_us=%.1f\n",
		       dpname, opt.conc, median(ratio, n), quantile(ratio, n, 0.25),
		       quantile(ratio, n, 0.75), median(cpu_ratio, n),
		       quantile(cpu_ratio, n, 0.25), quantile(cpu_ratio, n, 0.75),
		       median(rate[PLAIN], n), median(rate[PLASMATIC], n),
		       median(cpu_us[PLAIN], n), median(cpu_us[PLASMATIC], n));
	}
	pl_ctx_free(pl_cctx);
	pl_ctx_free(pl_sctx);
	pl_psk_free(psk);
	SSL_CTX_free(plain_cctx);
	SSL_CTX_free(plain_sctx);
	return 0;
}
