// SPDX-License-Identifier: GPL-2.0
/*
 * plasmatic proxy --relay HOST:PORT: a local SOCKS5 (RFC 1928: no
 * authentication, CONNECT) and HTTP CONNECT proxy on one port, told apart
 * by the first byte (0x05: SOCKS5).  Each stream gets its own Plasmatic
 * connection to `plasmatic relay`, which it opens with a request naming
 * the destination (tunreq.h); the relay's status byte becomes the SOCKS
 * reply or the HTTP status.  A thread per stream (two while it copies),
 * at most --max-streams at once.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tunnel.h"
#include "tunreq.h"

struct proxy_opts {
	struct tunnel t;	/* first: tunnel_opts' fields are its o's */
	const char *listen;
	int max_streams;
	int client_timeout;
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

/*
 * A Plasmatic connection to the relay that carries r: the relay's status,
 * and with TR_OK *out the connection and *rfd its socket.
 */
static int open_stream(const struct tunreq *r, const char *peer,
		       struct pl_conn **out, int *rfd)
{
	uint8_t req[TR_MAX], st;
	char addr[ADDR_STR_LEN], dest[300];
	struct pl_error err;
	struct pl_conn *c;
	int fd;

	*out = NULL;
	*rfd = -1;
	tr_str(r, dest, sizeof(dest));
	fd = open_tcp(relay_host, relay_port, false, addr, sizeof(addr));
	if (fd < 0)
		return TR_FAIL;
	tunnel_shape(&po->t.o, fd);
	c = pl_connect(po->t.ctx, fd, NULL, &err);
	if (!c) {
		msg("%s: relay %s: %s", peer, addr, err.msg);
		close(fd);
		return TR_FAIL;
	}
	print_info(c, addr);
	if (pl_conn_write(c, req, tr_encode(r, req)) < 0 ||
	    tr_read_conn(c, &st, 1)) {
		msg("%s: %s: relay %s: %s", peer, dest, addr,
		    pl_conn_error(c)->code ? pl_conn_error(c)->msg :
		    "closed without an answer");
		pl_conn_free(c);
		close(fd);
		return TR_FAIL;
	}
	if (st != TR_OK) {
		msg("%s: %s: relay: %s", peer, dest, tr_status_str(st));
		pl_conn_free(c);
		close(fd);
		return st;
	}
	if (verbose)
		msg("%s: %s: stream open", peer, dest);
	*out = c;
	*rfd = fd;
	return TR_OK;
}

/* Copy the stream, then close both ends. */
static void run_stream(struct stream *s, struct pl_conn *c, int rfd,
		       const void *early, size_t nearly)
{
	tr_rcvtimeo(s->fd, 0);
	if ((!nearly || pl_conn_write(c, early, nearly) >= 0) &&
	    !tr_pump(c, s->fd)) {
		if (verbose)
			msg("%s: stream ended", s->peer);
	} else if (verbose) {
		msg("%s: stream ended by an error", s->peer);
	}
	pl_conn_free(c);
	close(rfd);
}

/* SOCKS5 (RFC 1928), after its first byte 0x05. */
static void socks5(struct stream *s)
{
	uint8_t b[262], rep[10] = { 5, TR_FAIL, 0, TR_IPV4 };
	struct pl_conn *c = NULL;
	struct tunreq r = { 0 };
	int st, rfd = -1, cmd;
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
	st = open_stream(&r, s->peer, &c, &rfd);
reply:
	rep[1] = (uint8_t)st;
	if (tr_write_fd(s->fd, rep, sizeof(rep))) {
		if (st == TR_OK) {
			pl_conn_free(c);
			close(rfd);
		}
		return;
	}
	if (st == TR_OK)
		run_stream(s, c, rfd, NULL, 0);
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
	struct pl_conn *c;
	struct tunreq r = { 0 };
	long p;
	int st, rfd;

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
	st = open_stream(&r, s->peer, &c, &rfd);
	http_answer(s->fd, http_status(st));
	if (st == TR_OK)
		run_stream(s, c, rfd, end, got - (size_t)(end - head));
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
	struct proxy_opts o = { .max_streams = 256, .client_timeout = 30 };
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
