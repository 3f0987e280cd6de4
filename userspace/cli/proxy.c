// SPDX-License-Identifier: GPL-2.0
/*
 * plasmatic proxy --relay HOST:PORT: a local SOCKS5 (RFC 1928: no
 * authentication, CONNECT) and HTTP CONNECT proxy on one port, told apart
 * by the first byte (0x05: SOCKS5).  Each stream gets its own Plasmatic
 * connection to `plasmatic relay`, which it opens with a request naming
 * the destination (tunreq.h); the relay's status byte becomes the SOCKS
 * reply or the HTTP status.  A thread per stream (two while it copies),
 * at most --max-streams at once.  With --preconnect N a thread keeps up
 * to N connections ready for the next streams (the pool, below).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "tunnel.h"
#include "tunreq.h"

struct proxy_opts {
	struct tunnel t;	/* first: tunnel_opts' fields are its o's */
	const char *listen;
	int max_streams;
	int client_timeout;
	int preconnect;
	int preconnect_idle;
};

static void usage_proxy(FILE *f)
{
	fprintf(f,
"usage: plasmatic proxy --relay HOST:PORT [--listen [ADDR:]PORT] [options]\n"
"\n"
"A local SOCKS5 (no authentication, CONNECT; IPv4, IPv6 and host names,\n"
"as 'curl --socks5-hostname' uses it) and HTTP CONNECT proxy on one port\n"
"('curl -p -x http://...'). Each stream goes through its own Plasmatic\n"
"connection to 'plasmatic relay' at HOST:PORT, which resolves and connects\n"
"to the destination (and may refuse it: SOCKS reply 2, HTTP 403). The relay's\n"
"certificate is verified against the system store (or --ca) and HOST (or\n"
"--sni). A thread per stream.\n"
"\n"
"  --relay HOST:PORT     the relay (required)\n"
"  --listen [ADDR:]PORT  where to accept SOCKS5 and HTTP CONNECT clients\n"
"                        (default 127.0.0.1:1080; PORT alone: 127.0.0.1)\n"
"  --max-streams N       streams at once, 1..65536 (default 256); a client\n"
"                        beyond is closed at once\n"
"  --client-timeout SEC  a client's SOCKS5 or HTTP request must arrive\n"
"                        within SEC seconds, 1..3600 (default 30)\n"
"  --ca FILE             trust the CA certificates in FILE (PEM) instead of\n"
"                        the system store\n"
"  --capath DIR          trust the hashed CA directory DIR\n"
"  --sni NAME            send NAME as SNI and verify the relay's certificate\n"
"                        for it (default: HOST unless it is an IP address)\n"
"  --preconnect N        after a stream opens, keep up to N connections to\n"
"                        the relay handshaken and ready, so that the next\n"
"                        streams do not wait for a handshake, 0..64\n"
"                        (default 0: each stream connects when it starts)\n"
"  --preconnect-idle SEC close a ready connection no stream took within\n"
"                        SEC seconds, 1..25 (default 20); the pool then\n"
"                        waits for the next stream before it connects again\n"
"%s", common_help);
}

static int set_listen(void *base, const char *val, const char *what)
{
	struct proxy_opts *p = base;
	char *host, *port;

	if (split_hostport(val, &host, &port, true)) {
		msg("bad %s '%s': expected [ADDR:]PORT", what, val);
		return -1;
	}
	free(host);
	free(port);
	p->listen = val;
	return 0;
}

static const struct optdef proxy_own[] = {
	{ .name = "relay", .kind = OPT_FUNC, .fn = set_address_client },
	{ .name = "listen", .kind = OPT_FUNC, .fn = set_listen },
	{ .name = "max-streams", .kind = OPT_INT, .lo = 1, .hi = 65536,
	  OPT_FIELD(struct proxy_opts, max_streams) },
	{ .name = "client-timeout", .kind = OPT_INT, .lo = 1, .hi = 3600,
	  .hint = "seconds, %ld to %ld",
	  OPT_FIELD(struct proxy_opts, client_timeout) },
	{ .name = "preconnect", .kind = OPT_INT, .lo = 0, .hi = 64,
	  OPT_FIELD(struct proxy_opts, preconnect) },
	{ .name = "preconnect-idle", .kind = OPT_INT, .lo = 1, .hi = 25,
	  .hint = "seconds, %ld to %ld",
	  OPT_FIELD(struct proxy_opts, preconnect_idle) },
	{ .name = NULL },
};

static void proxy_opts_free(void *opts)
{
	opts_free(&((struct proxy_opts *)opts)->t.o);
}

/* ------------------------------------------------------------ a stream */

static struct proxy_opts *po;
static char *relay_host, *relay_port;
static int active;		/* streams, atomic */

struct stream {
	int fd;
	char peer[ADDR_STR_LEN];
};

/* A Plasmatic connection to the relay, its socket and address. */
struct relay_conn {
	struct pl_conn *c;
	int fd;
	long long born;		/* now_ms() */
	char addr[ADDR_STR_LEN];
};

/* Connect and handshake: 0, or -1 (said why, as who). */
static int relay_dial(struct relay_conn *rc, const char *who)
{
	struct pl_error err;

	rc->fd = open_tcp(relay_host, relay_port, false, rc->addr,
			  sizeof(rc->addr));
	if (rc->fd < 0)
		return -1;
	tunnel_shape(&po->t.o, rc->fd);
	rc->c = pl_connect(po->t.ctx, rc->fd, NULL, &err);
	if (!rc->c) {
		msg("%s: relay %s: %s", who, rc->addr, err.msg);
		close(rc->fd);
		return -1;
	}
	rc->born = now_ms();
	print_info(rc->c, rc->addr);
	return 0;
}

static void relay_close(struct relay_conn *rc)
{
	pl_conn_free(rc->c);
	close(rc->fd);
}

/*
 * The pool (--preconnect N): connections handshaken before a stream asks
 * for one.  It is driven by demand: a stream that starts (whether it took
 * a ready connection or found none) asks the pool's thread to refill to
 * N; a ready connection that no stream took within --preconnect-idle
 * seconds is closed, and the pool then stays empty until the next stream.
 * An idle proxy so holds no connections and opens none, and the relay's
 * 30 s wait for a request never ends one that is ready.  A failed dial
 * also stops the refill until the next stream.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* want set, on CLOCK_MONOTONIC */
	struct relay_conn *ready;	/* [0, n): oldest first */
	int n;
	bool want;			/* refill to --preconnect */
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *pool_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		struct relay_conn rc;
		struct timespec ts = { 0 };
		long long lapse = pool.n ? pool.ready[0].born +
				  po->preconnect_idle * 1000LL : 0;

		if (pool.n && lapse <= now_ms()) {
			rc = pool.ready[0];
			memmove(pool.ready, pool.ready + 1,
				--pool.n * sizeof(rc));
			pool.want = false;
			pthread_mutex_unlock(&pool.lock);
			if (verbose)
				msg("relay %s: a ready connection unused for %d s: closed",
				    rc.addr, po->preconnect_idle);
			relay_close(&rc);
			pthread_mutex_lock(&pool.lock);
			continue;
		}
		if (pool.want && pool.n < po->preconnect) {
			int dialed;

			pthread_mutex_unlock(&pool.lock);
			dialed = relay_dial(&rc, "preconnect");
			pthread_mutex_lock(&pool.lock);
			if (dialed)
				pool.want = false;
			else
				pool.ready[pool.n++] = rc;
			continue;
		}
		if (!pool.n) {
			pthread_cond_wait(&pool.cond, &pool.lock);
			continue;
		}
		ts.tv_sec = lapse / 1000;
		ts.tv_nsec = lapse % 1000 * 1000000;
		pthread_cond_timedwait(&pool.cond, &pool.lock, &ts);
	}
	return NULL;
}

static int pool_start(void)
{
	pthread_condattr_t ca;
	int rc;

	pool.ready = calloc((size_t)po->preconnect, sizeof(*pool.ready));
	if (!pool.ready)
		return -1;
	if (pthread_condattr_init(&ca))
		return -1;
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
	     pthread_cond_init(&pool.cond, &ca);
	pthread_condattr_destroy(&ca);
	return rc || tr_thread(pool_main, NULL) ? -1 : 0;
}

/* A ready connection (1) or none (0); either way, ask for a refill. */
static int pool_take(struct relay_conn *rc)
{
	int got = 0;

	if (!po->preconnect)
		return 0;
	pthread_mutex_lock(&pool.lock);
	if (pool.n) {
		*rc = pool.ready[0];
		memmove(pool.ready, pool.ready + 1, --pool.n * sizeof(*rc));
		got = 1;
	}
	pool.want = true;
	pthread_cond_signal(&pool.cond);
	pthread_mutex_unlock(&pool.lock);
	return got;
}

/*
 * A connection to the relay that carries r: the relay's status, and with
 * TR_OK *out the connection.  A ready connection from the pool that fails
 * before the relay's answer (the relay restarted, say) is replaced by a
 * new one, once: the relay answers every request it reads.
 */
static int open_stream(const struct tunreq *r, const char *peer,
		       struct relay_conn *out)
{
	struct relay_conn rc;
	uint8_t req[TR_MAX], st;
	char dest[300];
	int pooled = pool_take(&rc);

	tr_str(r, dest, sizeof(dest));
again:
	if (!pooled && relay_dial(&rc, peer))
		return TR_FAIL;
	if (pl_conn_write(rc.c, req, tr_encode(r, req)) < 0 ||
	    tr_read_conn(rc.c, &st, 1)) {
		const struct pl_error *e = pl_conn_error(rc.c);

		msg("%s: %s: relay %s%s: %s", peer, dest, rc.addr,
		    pooled ? " (a ready connection)" : "",
		    e->code ? e->msg : "closed without an answer");
		relay_close(&rc);
		if (pooled) {
			pooled = 0;
			goto again;
		}
		return TR_FAIL;
	}
	if (st != TR_OK) {
		msg("%s: %s: relay: %s", peer, dest, tr_status_str(st));
		relay_close(&rc);
		return st;
	}
	if (verbose)
		msg("%s: %s: stream open%s", peer, dest,
		    pooled ? " (on a ready connection)" : "");
	*out = rc;
	return TR_OK;
}

/* Copy the stream, then close both ends. */
static void run_stream(struct stream *s, struct relay_conn *rc,
		       const void *early, size_t nearly)
{
	tr_rcvtimeo(s->fd, 0);
	if ((!nearly || pl_conn_write(rc->c, early, nearly) >= 0) &&
	    !tr_pump(rc->c, s->fd)) {
		if (verbose)
			msg("%s: stream ended", s->peer);
	} else if (verbose) {
		msg("%s: stream ended by an error", s->peer);
	}
	relay_close(rc);
}

/* SOCKS5 (RFC 1928), after its first byte 0x05. */
static void socks5(struct stream *s)
{
	uint8_t b[262], rep[10] = { 5, TR_FAIL, 0, TR_IPV4 };
	struct relay_conn rc;
	struct tunreq r = { 0 };
	int st, cmd;
	bool noauth = false;

	if (tr_read_fd(s->fd, b, 1) || tr_read_fd(s->fd, b + 1, b[0]))
		return;
	for (int i = 0; i < b[0]; i++)
		noauth |= b[1 + i] == 0;
	b[0] = 5;
	b[1] = noauth ? 0 : 0xff;	/* no acceptable method */
	if (tr_write_fd(s->fd, b, 2) || !noauth)
		return;
	/* VER CMD RSV ATYP */
	if (tr_read_fd(s->fd, b, 4))
		return;
	cmd = b[1];
	if (b[0] != 5) {
		msg("%s: SOCKS request of version %u", s->peer, b[0]);
		return;
	}
	r.atyp = b[3];
	switch (r.atyp) {
	case TR_IPV4:
		r.len = 4;
		break;
	case TR_IPV6:
		r.len = 16;
		break;
	case TR_NAME:
		if (tr_read_fd(s->fd, &r.len, 1))
			return;
		break;
	default:
		st = TR_BAD_ATYP;
		goto reply;
	}
	if (tr_read_fd(s->fd, r.addr, r.len) || tr_read_fd(s->fd, b, 2))
		return;
	r.port = (uint16_t)(b[0] << 8 | b[1]);
	/* The whole request read (no RST for unread bytes): BIND, UDP
	 * ASSOCIATE are not supported. */
	if (cmd != 1) {
		st = TR_BAD_CMD;
		goto reply;
	}
	if (r.atyp == TR_NAME && (!r.len || memchr(r.addr, 0, r.len))) {
		st = TR_FAIL;
		goto reply;
	}
	st = open_stream(&r, s->peer, &rc);
reply:
	rep[1] = (uint8_t)st;
	if (tr_write_fd(s->fd, rep, sizeof(rep))) {
		if (st == TR_OK)
			relay_close(&rc);
		return;
	}
	if (st == TR_OK)
		run_stream(s, &rc, NULL, 0);
}

static void http_answer(int fd, const char *status)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf),
			 "HTTP/1.1 %s\r\nContent-Length: 0\r\n"
			 "Connection: close\r\n\r\n", status);

	tr_write_fd(fd, buf, (size_t)n);
}

static const char *http_status(int st)
{
	switch (st) {
	case TR_OK:
		return "200 Connection established";
	case TR_NOT_ALLOWED:
		return "403 Forbidden";
	}
	return "502 Bad Gateway";
}

#define HTTP_HEAD_MAX	8192

/* HTTP CONNECT: first is the request's first byte, already read. */
static void http_connect(struct stream *s, uint8_t first)
{
	char *head = malloc(HTTP_HEAD_MAX + 1), *end = NULL, *sp, *sp2;
	char *host = NULL, *port = NULL;
	size_t got = 1;
	struct relay_conn rc;
	struct tunreq r = { 0 };
	long p;
	int st;

	if (!head)
		return;
	head[0] = (char)first;
	while (got < HTTP_HEAD_MAX) {
		ssize_t n = read(s->fd, head + got, HTTP_HEAD_MAX - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		head[got] = 0;
		end = strstr(head, "\r\n\r\n");
		if (end)
			break;
	}
	if (!end) {
		/* Not HTTP, too long, or it stopped (timeout): an error. */
		http_answer(s->fd, got >= HTTP_HEAD_MAX ?
			    "431 Request Header Fields Too Large" :
			    "400 Bad Request");
		if (verbose)
			msg("%s: not a SOCKS5 or HTTP request", s->peer);
		goto out;
	}
	*end = 0;
	end += 4;
	/* "CONNECT authority HTTP/1.x" */
	sp = strchr(head, ' ');
	sp2 = sp ? strchr(sp + 1, ' ') : NULL;
	if (!sp || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) ||
	    strcspn(sp2 + 1, "\r\n") != 8) {
		http_answer(s->fd, "400 Bad Request");
		goto out;
	}
	*sp = *sp2 = 0;
	if (strcmp(head, "CONNECT")) {
		http_answer(s->fd, "405 Method Not Allowed");
		goto out;
	}
	if (split_hostport(sp + 1, &host, &port, false) ||
	    parse_long(port, 1, 65535, &p) || strlen(host) > 255) {
		http_answer(s->fd, "400 Bad Request");
		goto out;
	}
	r.port = (uint16_t)p;
	if (inet_pton(AF_INET, host, r.addr) == 1) {
		r.atyp = TR_IPV4;
		r.len = 4;
	} else if (inet_pton(AF_INET6, host, r.addr) == 1) {
		r.atyp = TR_IPV6;
		r.len = 16;
	} else {
		r.atyp = TR_NAME;
		r.len = (uint8_t)strlen(host);
		memcpy(r.addr, host, r.len);
	}
	st = open_stream(&r, s->peer, &rc);
	http_answer(s->fd, http_status(st));
	if (st == TR_OK)
		run_stream(s, &rc, end, got - (size_t)(end - head));
out:
	free(host);
	free(port);
	free(head);
}

/*
 * Close a client's socket after an answer without losing it: bytes of its
 * request still unread would make close() send RST, and RST makes the
 * client's kernel drop the answer it has not read yet.  So: FIN, then
 * read what comes (at most 64 KiB, 1 s), then close.
 */
static void linger_close(int fd)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	shutdown(fd, SHUT_WR);
	tr_rcvtimeo(fd, 1);
	while (total < 64 * 1024 && (n = read(fd, buf, sizeof(buf))) > 0)
		total += (size_t)n;
	close(fd);
}

static void *stream_main(void *arg)
{
	struct stream *s = arg;
	uint8_t b;

	tr_rcvtimeo(s->fd, po->client_timeout);
	if (!tr_read_fd(s->fd, &b, 1)) {
		if (b == 5)
			socks5(s);
		else
			http_connect(s, b);
	}
	linger_close(s->fd);
	free(s);
	__atomic_sub_fetch(&active, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static int run_proxy(int argc, char **argv)
{
	struct proxy_opts o = { .max_streams = 256, .client_timeout = 30,
				.preconnect_idle = 20 };
	char *lhost = NULL, *lport = NULL;
	int rc, first, lfd = -1;

	po = &o;
	pl_config_init(&o.t.o.cfg, PL_ROLE_CLIENT);
	rc = opt_parse(&cmd_proxy, argc, argv, &o, &first);
	verbose = o.t.o.verbose;
	if (!rc)
		rc = opt_args(&cmd_proxy, argc, argv, first, 0, "");
	if (rc)
		goto out;
	if (!o.t.o.address) {
		msg("proxy: --relay HOST:PORT is required");
		rc = EX_USAGE_;
		goto out;
	}
	if (split_hostport(o.t.o.address, &o.t.host, &o.t.port, false) ||
	    split_hostport(o.listen ? o.listen : "127.0.0.1:1080", &lhost,
			   &lport, true)) {
		rc = EX_USAGE_;		/* checked when set */
		goto out;
	}
	if (cli_parse_only)
		goto out;
	relay_host = o.t.host;
	relay_port = o.t.port;
	o.t.o.cfg.hostname = o.t.o.cfg.sni ? o.t.o.cfg.sni : o.t.host;
	rc = tunnel_ctx(&o.t);
	if (rc)
		goto out;
	if (o.preconnect && pool_start()) {
		msg("proxy: cannot start the preconnect thread");
		rc = EX_IO;
		goto out;
	}
	lfd = listen_tcp(lhost ? lhost : "127.0.0.1", lport, "proxy");
	if (lfd < 0) {
		rc = EX_NET;
		goto out;
	}
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl;
		struct stream *s;
		int fd;

		fd = tr_accept(lfd, &ss, &sl);
		if (fd < 0) {
			rc = EX_NET;
			break;
		}
		if (__atomic_add_fetch(&active, 1, __ATOMIC_SEQ_CST) >
		    o.max_streams) {
			msg("client refused: --max-streams %d reached",
			    o.max_streams);
			__atomic_sub_fetch(&active, 1, __ATOMIC_SEQ_CST);
			close(fd);
			continue;
		}
		s = calloc(1, sizeof(*s));
		if (s) {
			s->fd = fd;
			addr_str((struct sockaddr *)&ss, sl, s->peer,
				 sizeof(s->peer));
		}
		if (!s || tr_thread(stream_main, s)) {
			msg("cannot start a thread");
			close(fd);
			free(s);
			__atomic_sub_fetch(&active, 1, __ATOMIC_SEQ_CST);
		}
	}
out:
	free(lhost);
	free(lport);
	return tunnel_end(&o.t, rc);
}

const struct command cmd_proxy = {
	.name = "proxy",
	.run = run_proxy,
	.usage = usage_proxy,
	.tables = (const struct optdef *const[]){
		opt_help, opt_config, tunnel_opts, client_opts, proxy_own,
		NULL },
	.config = true,
	.opts_size = sizeof(struct proxy_opts),
	.opts_free = proxy_opts_free,
};
