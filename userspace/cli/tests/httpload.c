// SPDX-License-Identifier: GPL-2.0
/*
 * httpload: HTTP/1.1 keep-alive requests, one after another on each of
 * CONNS connections, in plain TLS 1.3 (OpenSSL: nginx) or Plasmatic
 * (libplasmatic: plasmatic serve).  The serve benchmark's load generator
 * (tools/bench/serve.sh), and serve_test.sh's sequential keep-alive client.
 *
 *   httpload tls|plasmatic HOST PORT CA PATH SIZE CONNS
 *            (--seconds S | --requests R) [--cipher SUITE]
 *            [--datapath userspace|kernel|auto]
 *
 * CONNS threads each open one connection and finish its handshake; when
 * all have, the clock starts and each sends "GET PATH" again and again on
 * its connection (keep-alive, one request in flight), reading every
 * response whole: status 200 and Content-Length SIZE, else it counts an
 * error and stops.  It stops after S seconds (the request under way
 * finishes) or after R requests per connection.  Prints one line:
 *
 *   requests=N bytes=B seconds=T errors=E cpu=C busy=U
 *
 * with T the seconds from the start to the last response, C this
 * process's CPU seconds (user + system) and U the whole machine's busy
 * CPU seconds (/proc/stat: all but idle and iowait) over the same time,
 * so that U - C is what the server and the network stack spent.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "plasmatic.h"

struct shared {
	int plasmatic;			/* else plain TLS */
	struct sockaddr_in addr;
	SSL_CTX *tls;
	struct pl_ctx *pl;
	const char *path;
	unsigned long long size;	/* body bytes expected */
	long requests;			/* per connection; 0: until stop */
	atomic_int stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int n, ready, failed_setup;
	int go;
	atomic_ullong done, bytes, errors;
	struct timespec last;		/* the last response's end */
};

struct conn {
	SSL *ssl;
	struct pl_conn *pc;
	char buf[65536];
	size_t have, off;		/* buffered bytes [off, have) */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char *what, const char *why)
{
	fprintf(stderr, "httpload: %s: %s\n", what, why);
}

static ssize_t io_read(struct conn *c, void *p, size_t len)
{
	if (c->pc)
		return pl_conn_read(c->pc, p, len);
	int n = SSL_read(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);

	return n > 0 ? n : (SSL_get_error(c->ssl, n) == SSL_ERROR_ZERO_RETURN ? 0 : -1);
}

static int io_write(struct conn *c, const char *p, size_t len)
{
	if (c->pc)
		return pl_conn_write(c->pc, p, len) == (ssize_t)len ? 0 : -1;
	return SSL_write(c->ssl, p, (int)len) == (int)len ? 0 : -1;
}

/* Refill the buffer; 0, or -1 at the end or on an error. */
static int fill(struct conn *c)
{
	ssize_t n;

	if (c->off == c->have)
		c->off = c->have = 0;
	if (c->have == sizeof(c->buf)) {
		memmove(c->buf, c->buf + c->off, c->have - c->off);
		c->have -= c->off;
		c->off = 0;
	}
	n = io_read(c, c->buf + c->have, sizeof(c->buf) - c->have);
	if (n <= 0)
		return -1;
	c->have += (size_t)n;
	return 0;
}

/* One response: 0 if it was 200 with SIZE body bytes. */
static int response(struct shared *sh, struct conn *c)
{
	unsigned long long len = ~0ULL, left;
	char *end, *cl;

	for (;;) {
		end = memmem(c->buf + c->off, c->have - c->off, "\r\n\r\n", 4);
		if (end)
			break;
		if (c->have - c->off == sizeof(c->buf)) {
			fail("response", "header too long");
			return -1;
		}
		if (fill(c)) {
			fail("response", "connection ended in the header");
			return -1;
		}
	}
	*end = 0;
	if (strncmp(c->buf + c->off, "HTTP/1.1 200 ", 13)) {
		fail("response", c->buf + c->off);
		return -1;
	}
	cl = strcasestr(c->buf + c->off, "\r\nContent-Length:");
	if (cl)
		len = strtoull(cl + 17, NULL, 10);
	if (len != sh->size) {
		fail("response", "Content-Length is not SIZE");
		return -1;
	}
	c->off = (size_t)(end + 4 - c->buf);
	left = len;
	while (left) {
		size_t take = c->have - c->off;

		if (!take) {
			if (fill(c)) {
				fail("response", "connection ended in the body");
				return -1;
			}
			continue;
		}
		if (take > left)
			take = (size_t)left;
		c->off += take;
		left -= take;
	}
	return 0;
}

static int open_conn(struct shared *sh, struct conn *c, int *fdp)
{
	struct pl_error err;
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	*fdp = fd;
	if (fd < 0 || connect(fd, (struct sockaddr *)&sh->addr, sizeof(sh->addr))) {
		fail("connect", strerror(errno));
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (sh->plasmatic) {
		c->pc = pl_connect(sh->pl, fd, NULL, &err);
		if (!c->pc) {
			fail("handshake", err.msg);
			return -1;
		}
		return 0;
	}
	c->ssl = SSL_new(sh->tls);
	if (!c->ssl || !SSL_set_fd(c->ssl, fd) ||
	    !SSL_set_tlsext_host_name(c->ssl, "localhost") ||
	    !SSL_set1_host(c->ssl, "localhost") || SSL_connect(c->ssl) != 1) {
		fail("handshake", ERR_reason_error_string(ERR_get_error()) ?: "failed");
		return -1;
	}
	return 0;
}

static void *conn_main(void *arg)
{
	struct shared *sh = arg;
	struct conn *c = calloc(1, sizeof(*c));
	char req[512];
	int fd = -1, ok;
	long n = 0;
	size_t rlen;

	ok = c && !open_conn(sh, c, &fd);
	pthread_mutex_lock(&sh->mu);
	sh->ready++;
	sh->failed_setup += !ok;
	pthread_cond_broadcast(&sh->cv);
	while (!sh->go)
		pthread_cond_wait(&sh->cv, &sh->mu);
	pthread_mutex_unlock(&sh->mu);
	if (!ok || sh->go < 0)
		goto out;

	rlen = (size_t)snprintf(req, sizeof(req),
				"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", sh->path);
	while (!atomic_load(&sh->stop) && (!sh->requests || n < sh->requests)) {
		struct timespec ts;

		if (io_write(c, req, rlen)) {
			fail("request", "write failed");
			atomic_fetch_add(&sh->errors, 1);
			break;
		}
		if (response(sh, c)) {
			atomic_fetch_add(&sh->errors, 1);
			break;
		}
		n++;
		atomic_fetch_add(&sh->done, 1);
		atomic_fetch_add(&sh->bytes, sh->size);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		pthread_mutex_lock(&sh->mu);
		if (ts.tv_sec > sh->last.tv_sec ||
		    (ts.tv_sec == sh->last.tv_sec && ts.tv_nsec > sh->last.tv_nsec))
			sh->last = ts;
		pthread_mutex_unlock(&sh->mu);
	}
out:
	if (c && c->pc)
		pl_conn_free(c->pc);
	if (c && c->ssl)
		SSL_free(c->ssl);
	if (fd >= 0)
		close(fd);
	free(c);
	return NULL;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The machine's busy CPU seconds so far; -1 without /proc/stat. */
static double busy_seconds(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return -1;
	/* user nice system idle iowait irq softirq steal */
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
	       (double)sysconf(_SC_CLK_TCK);
}

static int usage(void)
{
	fprintf(stderr,
		"usage: httpload tls|plasmatic HOST PORT CA PATH SIZE CONNS\n"
		"                (--seconds S | --requests R) [--cipher SUITE]\n"
		"                [--datapath userspace|kernel|auto]\n");
	return 2;
}

static int setup(struct shared *sh, const char *ca, const char *cipher,
		 const char *datapath)
{
	struct pl_config cfg;
	struct pl_error err;

	if (sh->plasmatic) {
		pl_config_init(&cfg, PL_ROLE_CLIENT);
		cfg.ca_file = ca;
		cfg.hostname = "localhost";
		cfg.ciphersuites = cipher;
		if (!strcmp(datapath, "kernel"))
			cfg.datapath = PL_DATAPATH_KERNEL;
		else if (!strcmp(datapath, "userspace"))
			cfg.datapath = PL_DATAPATH_USERSPACE;
		else if (!strcmp(datapath, "auto"))
			cfg.datapath = PL_DATAPATH_AUTO;
		else
			return usage();
		sh->pl = pl_ctx_new(&cfg, &err);
		if (!sh->pl)
			fail("plasmatic", err.msg);
		return sh->pl ? 0 : -1;
	}
	sh->tls = SSL_CTX_new(TLS_client_method());
	if (!sh->tls || !SSL_CTX_set_min_proto_version(sh->tls, TLS1_3_VERSION) ||
	    (cipher && !SSL_CTX_set_ciphersuites(sh->tls, cipher)) ||
	    !SSL_CTX_load_verify_locations(sh->tls, ca, NULL)) {
		fail("tls", "context setup failed");
		return -1;
	}
	SSL_CTX_set_verify(sh->tls, SSL_VERIFY_PEER, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	static struct shared sh;
	const char *cipher = NULL, *datapath = "userspace";
	double seconds = 0, t0, cpu0, busy0, elapsed;
	pthread_attr_t attr;
	pthread_t *th;
	int started = 0;

	if (argc < 8)
		return usage();
	if (!strcmp(argv[1], "plasmatic"))
		sh.plasmatic = 1;
	else if (strcmp(argv[1], "tls"))
		return usage();
	for (int i = 8; i < argc; i++) {
		if (i + 1 == argc)
			return usage();
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--requests"))
			sh.requests = atol(argv[++i]);
		else if (!strcmp(argv[i], "--cipher"))
			cipher = argv[++i];
		else if (!strcmp(argv[i], "--datapath"))
			datapath = argv[++i];
		else
			return usage();
	}
	sh.n = atoi(argv[7]);
	sh.size = strtoull(argv[6], NULL, 10);
	sh.path = argv[5];
	if (sh.n < 1 || sh.n > 4096 || (seconds <= 0) == (sh.requests <= 0)) {
		fprintf(stderr, "httpload: CONNS 1..4096, and one of --seconds, --requests\n");
		return 2;
	}
	sh.addr.sin_family = AF_INET;
	sh.addr.sin_port = htons((uint16_t)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &sh.addr.sin_addr) != 1) {
		fprintf(stderr, "httpload: HOST: an IPv4 address\n");
		return 2;
	}
	if (setup(&sh, argv[4], cipher, datapath))
		return 1;
	pthread_mutex_init(&sh.mu, NULL);
	pthread_cond_init(&sh.cv, NULL);
	th = calloc((size_t)sh.n, sizeof(*th));
	if (!th)
		return 1;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 0; i < sh.n; i++) {
		if (pthread_create(&th[i], &attr, conn_main, &sh))
			break;
		started++;
	}
	pthread_mutex_lock(&sh.mu);
	while (sh.ready < started)
		pthread_cond_wait(&sh.cv, &sh.mu);
	/* All or nothing: a run with fewer connections measures something else. */
	sh.go = started == sh.n && !sh.failed_setup ? 1 : -1;
	t0 = now();
	cpu0 = cpu_seconds();
	busy0 = busy_seconds();
	clock_gettime(CLOCK_MONOTONIC, &sh.last);
	pthread_cond_broadcast(&sh.cv);
	pthread_mutex_unlock(&sh.mu);
	if (seconds > 0 && sh.go > 0) {
		struct timespec ts = { .tv_sec = (time_t)seconds,
				       .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9) };

		nanosleep(&ts, NULL);
		atomic_store(&sh.stop, 1);
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	elapsed = (double)sh.last.tv_sec + (double)sh.last.tv_nsec / 1e9 - t0;
	printf("requests=%llu bytes=%llu seconds=%.3f errors=%llu cpu=%.3f busy=%.2f\n",
	       (unsigned long long)sh.done, (unsigned long long)sh.bytes,
	       elapsed > 0 ? elapsed : 0.0, (unsigned long long)sh.errors,
	       cpu_seconds() - cpu0, busy0 < 0 ? -1.0 : busy_seconds() - busy0);
	free(th);
	pl_ctx_free(sh.pl);
	SSL_CTX_free(sh.tls);
	if (sh.go < 0) {
		fprintf(stderr, "httpload: %d of %d connections failed to open\n",
			sh.failed_setup + sh.n - started, sh.n);
		return 1;
	}
	return sh.errors ? 1 : 0;
}
