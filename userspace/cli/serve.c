// SPDX-License-Identifier: GPL-2.0
/*
 * plasmatic serve DIR [ADDR:]PORT: the files of DIR over Plasmatic,
 * HTTP/1.1 GET and HEAD (serve.h lists the files).  This file: options,
 * the listening sockets (one per worker, SO_REUSEPORT: the kernel spreads
 * the connections), the workers, the signals, the per-address limit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "serve.h"

_Static_assert(offsetof(struct serve, t) == 0 &&
	       offsetof(struct tunnel, o) == 0,
	       "the option tables' base is the struct serve");

atomic_bool serve_stopping;

static void usage_serve(FILE *f)
{
	fprintf(f,
"usage: plasmatic serve DIR [ADDR:]PORT --cert FILE --key FILE [options]\n"
"\n"
"Serve the files under DIR over Plasmatic with HTTP/1.1 (GET and HEAD,\n"
"keep-alive, one byte range, If-Modified-Since), for 'plasmatic get'. No\n"
"directory listing or index; no path leaves DIR ('..', encoded slashes and\n"
"symlinks that lead outside are refused with 403). One worker thread per\n"
"CPU, each with an io_uring loop; on the kernel datapath file bodies go\n"
"from the page cache to the socket by sendfile, without a copy. An access\n"
"log in the combined log format goes to stderr. SIGTERM or SIGINT: stop\n"
"accepting, finish the responses under way, exit 0. SIGHUP: read the\n"
"command line's files again (--config, --cert, --key, --psk, ...) for the\n"
"connections accepted from then on; if one fails, keep what is in use.\n"
"\n"
"  --cert FILE           server certificate chain (PEM)\n"
"  --key FILE            its private key (PEM)\n"
"  --workers N           worker threads (default: one per CPU)\n"
"  --idle-timeout SEC    close a connection whose request head is not\n"
"                        complete SEC seconds after it is awaited, or whose\n"
"                        response makes no progress as long (default 60)\n"
"  --max-per-ip N        connections at once from one address (default 256,\n"
"                        0: no limit); more are closed at once\n"
"  --no-access-log       no access log\n"
"  --open-timeout SEC    as for listen (the wait for the opening record is\n"
"                        part of the handshake, --timeout, here)\n"
"  --fallback HOST:PORT, --fallback-dir DIR\n"
"                        a client that is not Plasmatic: as for listen\n"
"%s", common_help);
}

static const struct optdef serve_opts[] = {
	{ .name = "address", .kind = OPT_FUNC, .flags = OPTF_FILE_ONLY,
	  .fn = set_address_server },
	{ .name = "dir", .kind = OPT_STR, .flags = OPTF_FILE_ONLY,
	  OPT_FIELD(struct serve, dir) },
	{ .name = "workers", .kind = OPT_INT, .lo = 0, .hi = 1024,
	  OPT_FIELD(struct serve, workers) },
	{ .name = "idle-timeout", .kind = OPT_INT, .lo = 1, .hi = 86400,
	  .hint = "seconds, %ld to %ld", OPT_FIELD(struct serve, idle_timeout) },
	{ .name = "max-per-ip", .kind = OPT_INT, .lo = 0, .hi = 1000000,
	  OPT_FIELD(struct serve, per_ip) },
	{ .name = "no-access-log", .kind = OPT_FLAG, .lo = 1,
	  OPT_FIELD(struct serve, no_log) },
	{ .name = NULL },
};

/* ------------------------------------------------ per-address limit */

#define IP_BUCKETS	1024

struct ip_count {
	struct ip_count *next;
	int n;
	char ip[];
};

static pthread_mutex_t ip_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ip_count *ip_table[IP_BUCKETS];

static unsigned int ip_hash(const char *ip)
{
	unsigned int h = 2166136261u;

	for (; *ip; ip++)
		h = (h ^ (unsigned char)*ip) * 16777619u;
	return h % IP_BUCKETS;
}

int ip_take(struct serve *s, const char *ip)
{
	struct ip_count **pp, *e;
	int rc = 0;

	if (!s->per_ip)
		return 0;
	pthread_mutex_lock(&ip_mu);
	pp = &ip_table[ip_hash(ip)];
	for (e = *pp; e && strcmp(e->ip, ip); e = e->next)
		;
	if (!e) {
		e = calloc(1, sizeof(*e) + strlen(ip) + 1);
		if (e) {
			strcpy(e->ip, ip);
			e->next = *pp;
			*pp = e;
		}
	}
	if (!e || e->n >= s->per_ip)
		rc = -1;
	else
		e->n++;
	pthread_mutex_unlock(&ip_mu);
	return rc;
}

void ip_release(struct serve *s, const char *ip)
{
	struct ip_count **pp, *e;

	if (!s->per_ip)
		return;
	pthread_mutex_lock(&ip_mu);
	for (pp = &ip_table[ip_hash(ip)]; (e = *pp); pp = &e->next) {
		if (strcmp(e->ip, ip))
			continue;
		if (--e->n <= 0) {
			*pp = e->next;
			free(e);
		}
		break;
	}
	pthread_mutex_unlock(&ip_mu);
}

static void ip_table_free(void)
{
	for (int i = 0; i < IP_BUCKETS; i++) {
		while (ip_table[i]) {
			struct ip_count *e = ip_table[i];

			ip_table[i] = e->next;
			free(e);
		}
	}
}

/* ------------------------------------------------------------ setup */

/*
 * One listening socket per worker on the same address and port
 * (SO_REUSEPORT); port 0: the first one's.  0, or -1 after a message.
 */
static int listen_all(struct serve *s, const char *host, const char *port)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE,
	}, *res;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int rc, one = 1;

	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		msg("cannot resolve %s: %s", host ? host : "*", gai_strerror(rc));
		return -1;
	}
	memcpy(&ss, res->ai_addr, res->ai_addrlen);
	sl = res->ai_addrlen;
	for (int i = 0; i < s->nworkers; i++) {
		int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
		    bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 4096)) {
			msg("cannot listen on %s:%s: %s", host ? host : "*", port,
			    strerror(errno));
			if (fd >= 0)
				close(fd);
			freeaddrinfo(res);
			return -1;
		}
		s->w[i].lfd = fd;
		/* Port 0: the others take the port the first one got. */
		if (!i) {
			sl = sizeof(ss);
			getsockname(fd, (struct sockaddr *)&ss, &sl);
		}
	}
	freeaddrinfo(res);
	if (verbose) {
		char a[ADDR_STR_LEN];

		addr_str((struct sockaddr *)&ss, sl, a, sizeof(a));
		msg("listening on %s (%d worker%s)", a, s->nworkers,
		    s->nworkers > 1 ? "s" : "");
	}
	return 0;
}

/*
 * SIGHUP: the command line parsed again (its --config file read again)
 * and a new context made (certificate, key, PSK, CA, framing, TPL, the
 * prober's fallback), for the handshakes started from now on; the
 * connections under way keep the context they began with.  What the
 * workers were started with (the address, DIR, --workers, the limits and
 * timeouts, -v) stays until a restart.  If anything fails to parse or
 * load, the context in use stays.  Every context made lives until exit,
 * since a connection may still hold one: a reload costs its memory.
 */
struct reloaded {
	struct serve s;
	struct reloaded *next;
};

static int serve_args(struct serve *s, int argc, char **argv);

static void serve_reload(struct serve *s, struct reloaded **kept, int argc,
			 char **argv)
{
	struct reloaded *r = calloc(1, sizeof(*r));
	int rc = EX_IO, v = verbose;

	if (r) {
		rc = serve_args(&r->s, argc, argv);
		verbose = v;
		if (!rc)
			rc = tunnel_ctx(&r->s.t);
	}
	if (rc) {
		msg("SIGHUP: not reloaded (%s); the configuration in use stays",
		    r ? "see above" : "out of memory");
		if (r)
			tunnel_end(&r->s.t, rc);
		free(r);
		return;
	}
	r->next = *kept;
	*kept = r;
	atomic_store(&s->ctx, r->s.t.ctx);
	msg("SIGHUP: reloaded: new connections use the files as they are now");
}

/* The arguments: DIR and [ADDR:]PORT, either may come from the file. */
static int serve_args(struct serve *s, int argc, char **argv)
{
	const char *addr = NULL;
	int rc, first, n;

	pl_config_init(&s->t.o.cfg, PL_ROLE_SERVER);
	s->idle_timeout = 60;
	s->per_ip = 256;
	rc = opt_parse(&cmd_serve, argc, argv, s, &first);
	verbose = s->t.o.verbose;
	if (rc)
		return rc;
	n = argc - first;
	if (n > 2)
		return opt_args(&cmd_serve, argc, argv, first, 2, "");
	if (n == 2) {
		s->dir = argv[first];
		addr = argv[first + 1];
	} else if (n == 1 && s->dir && !s->t.o.address) {
		addr = argv[first];
	} else if (n == 1) {
		s->dir = argv[first];
	}
	if (!addr)
		addr = s->t.o.address;
	if (!s->dir || !addr)
		return opt_args(&cmd_serve, argc, argv, first, n + 1,
				!s->dir ? "DIR" : "[ADDR:]PORT");
	if (split_hostport(addr, &s->t.host, &s->t.port, true)) {
		msg("serve: bad address '%s': expected [ADDR:]PORT", addr);
		return EX_USAGE_;
	}
	if (!s->t.o.cfg.cert_file || !s->t.o.cfg.key_file) {
		msg("serve: --cert and --key are required");
		return EX_USAGE_;
	}
	return 0;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int run_serve(int argc, char **argv)
{
	struct serve s;
	struct reloaded *kept = NULL;
	sigset_t sigs;
	int rc, sig = 0, started = 0;

	memset(&s, 0, sizeof(s));
	s.dirfd = -1;
	atomic_init(&s.probes, 0);
	atomic_store(&serve_stopping, false);
	rc = serve_args(&s, argc, argv);
	if (rc || cli_parse_only)
		goto out;
	s.dirfd = open(s.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s.dirfd < 0) {
		msg("serve: %s: %s", s.dir, strerror(errno));
		rc = EX_FILE;
		goto out;
	}
	rc = tunnel_ctx(&s.t);
	if (rc)
		goto out;
	atomic_init(&s.ctx, s.t.ctx);
	raise_nofile();
	s.nworkers = s.workers ? s.workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (s.nworkers < 1)
		s.nworkers = 1;
	s.w = calloc((size_t)s.nworkers, sizeof(*s.w));
	if (!s.w) {
		rc = EX_IO;
		goto out;
	}
	for (int i = 0; i < s.nworkers; i++)
		s.w[i].lfd = -1;
	if (listen_all(&s, s.t.host, s.t.port)) {
		rc = EX_NET;
		goto out;
	}
	/* The signals go to sigwait below, not to the workers. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	for (int i = 0; i < s.nworkers; i++) {
		struct worker *w = &s.w[i];
		int e;

		w->s = &s;
		w->id = i;
		e = io_uring_queue_init(1024, &w->ring, 0);
		if (e) {
			msg("serve: io_uring: %s", strerror(-e));
			rc = EX_IO;
			break;
		}
		if (pthread_create(&w->th, NULL, worker_main, w)) {
			io_uring_queue_exit(&w->ring);
			msg("serve: cannot start a worker");
			rc = EX_IO;
			break;
		}
		started++;
	}
	while (!rc && !sigwait(&sigs, &sig) && sig == SIGHUP)
		serve_reload(&s, &kept, argc, argv);
	if (!rc && verbose)
		msg("signal %d: stopping (finishing the responses under way)",
		    sig);
	atomic_store(&serve_stopping, true);
	for (int i = 0; i < started; i++) {
		pthread_join(s.w[i].th, NULL);
		io_uring_queue_exit(&s.w[i].ring);
	}
	/* Probers being served: as long as the handshake timeout. */
	for (int i = 0; atomic_load(&s.probes) &&
	     i < 20 * (s.t.o.cfg.handshake_timeout + 1); i++)
		usleep(50 * 1000);
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
out:
	if (s.w)
		for (int i = 0; i < s.nworkers; i++)
			if (s.w[i].lfd >= 0)
				close(s.w[i].lfd);
	free(s.w);
	if (s.dirfd >= 0)
		close(s.dirfd);
	ip_table_free();
	while (kept) {
		struct reloaded *r = kept;

		kept = r->next;
		tunnel_end(&r->s.t, 0);
		free(r);
	}
	return tunnel_end(&s.t, rc);
}

const struct command cmd_serve = {
	.name = "serve",
	.run = run_serve,
	.usage = usage_serve,
	.tables = (const struct optdef *const[]){
		opt_help, opt_config, tunnel_opts, server_opts, serve_opts,
		NULL },
	.config = true,
	.opts_size = sizeof(struct serve),
	.opts_free = opts_free,
};
