// SPDX-License-Identifier: GPL-2.0
/*
 * plasmatic relay [ADDR:]PORT: the far end of `plasmatic proxy`.  Each
 * Plasmatic connection carries one stream: a request (tunreq.h) names its
 * destination, the relay resolves it, checks every address against its
 * policy (netpolicy.h), connects to an allowed one, answers a status byte
 * and copies the bytes both ways.  A thread per stream (two while it
 * copies), at most --max-streams at once and --max-streams-per-client
 * from one client address.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netpolicy.h"
#include "tunnel.h"
#include "tunreq.h"

struct relay_opts {
	struct tunnel t;	/* first: tunnel_opts' fields are its o's */
	struct np_cidr *allow;
	size_t nallow;
	int max_streams;
	int max_per_client;
	int connect_timeout;
};

static void usage_relay(FILE *f)
{
	fprintf(f,
"usage: plasmatic relay [ADDR:]PORT --cert FILE --key FILE [options]\n"
"\n"
"The far end of 'plasmatic proxy': accept Plasmatic connections on PORT\n"
"(all addresses unless ADDR), each carrying one stream whose first bytes\n"
"name its destination; resolve the name, connect to it and copy the bytes\n"
"both ways. Destinations in the relay's own networks are refused (loopback,\n"
"RFC 1918 private, CGNAT 100.64.0.0/10, link-local, multicast, unspecified,\n"
"0.0.0.0/8, documentation and reserved ranges, IPv6 unique local fc00::/7,\n"
"their IPv4-mapped forms, ...): every address of a name is checked and only\n"
"an allowed one is connected to, never resolved again. A thread per stream.\n"
"\n"
"  --cert FILE           server certificate chain (PEM)\n"
"  --key FILE            its private key (PEM)\n"
"  --allow CIDR[,CIDR..] allow destinations in these networks even if they\n"
"                        are in a refused range (e.g. 10.1.0.0/16, fd00::/8);\n"
"                        may be given more than once\n"
"  --max-streams N       streams at once, 1..65536 (default 1024); a\n"
"                        connection beyond is closed before its handshake\n"
"  --max-streams-per-client N\n"
"                        streams at once from one client address, 1..65536\n"
"                        (default 256); beyond: closed the same way\n"
"  --connect-timeout SEC connecting to a destination, 1..300 (default 10)\n"
"  --open-timeout SEC    wait for the client's opening record after the\n"
"                        handshake (default 60, 0 none)\n"
"  --fallback HOST:PORT  a client that is not Plasmatic (a prober) is\n"
"                        relayed to this server, as with 'plasmatic listen'\n"
"  --fallback-dir DIR    else it gets the files of DIR (default: one page)\n"
"%s", common_help);
}

static int set_allow(void *base, const char *val, const char *what)
{
	struct relay_opts *r = base;
	char *copy = strdup(val), *save = NULL, *tok, err[160];
	int rc = 0, n = 0;

	if (!copy) {
		msg("out of memory");
		return -1;
	}
	for (tok = strtok_r(copy, ", \t", &save); tok && !rc;
	     tok = strtok_r(NULL, ", \t", &save)) {
		struct np_cidr c, *a;

		n++;
		if (np_parse_cidr(tok, &c, err, sizeof(err))) {
			msg("bad %s '%s': %s", what, tok, err);
			rc = -1;
			break;
		}
		a = realloc(r->allow, (r->nallow + 1) * sizeof(*a));
		if (!a) {
			msg("out of memory");
			rc = -1;
			break;
		}
		r->allow = a;
		r->allow[r->nallow++] = c;
	}
	if (!rc && !n) {
		msg("bad %s '%s': a CIDR such as 10.0.0.0/8 expected", what, val);
		rc = -1;
	}
	free(copy);
	return rc;
}

static const struct optdef relay_own[] = {
	{ .name = "address", .kind = OPT_FUNC, .flags = OPTF_FILE_ONLY,
	  .fn = set_address_server },
	{ .name = "allow", .kind = OPT_FUNC, .fn = set_allow },
	{ .name = "max-streams", .kind = OPT_INT, .lo = 1, .hi = 65536,
	  OPT_FIELD(struct relay_opts, max_streams) },
	{ .name = "max-streams-per-client", .kind = OPT_INT, .lo = 1,
	  .hi = 65536, OPT_FIELD(struct relay_opts, max_per_client) },
	{ .name = "connect-timeout", .kind = OPT_INT, .lo = 1, .hi = 300,
	  .hint = "seconds, %ld to %ld",
	  OPT_FIELD(struct relay_opts, connect_timeout) },
	{ .name = NULL },
};

static void relay_opts_free(void *opts)
{
	struct relay_opts *r = opts;

	opts_free(&r->t.o);
	free(r->allow);
	r->allow = NULL;
	r->nallow = 0;
}

/* ------------------------------------------------- streams per client */

struct client {
	uint8_t addr[16];
	int streams;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct client *clients;	/* under lock */
static size_t nclients;
static int streams;		/* under lock */

/* Count a stream of addr: 0, or -1 if a limit is reached (-2: the
 * client's). */
static int stream_get(const struct relay_opts *ro, const uint8_t addr[16])
{
	struct client *c = NULL;
	int rc = 0;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nclients; i++)
		if (!memcmp(clients[i].addr, addr, 16))
			c = &clients[i];
	if (streams >= ro->max_streams) {
		rc = -1;
	} else if (c && c->streams >= ro->max_per_client) {
		rc = -2;
	} else if (!c) {
		c = realloc(clients, (nclients + 1) * sizeof(*c));
		if (c) {
			clients = c;
			c = &clients[nclients++];
			memcpy(c->addr, addr, 16);
			c->streams = 0;
		} else {
			rc = -1;
		}
	}
	if (!rc) {
		c->streams++;
		streams++;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

static void stream_put(const uint8_t addr[16])
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nclients; i++) {
		if (memcmp(clients[i].addr, addr, 16))
			continue;
		if (!--clients[i].streams)
			clients[i] = clients[--nclients];
		break;
	}
	streams--;
	pthread_mutex_unlock(&lock);
}

/* ------------------------------------------------------------ a stream */

struct stream {
	const struct relay_opts *ro;
	int fd;
	uint8_t addr[16];
	char peer[ADDR_STR_LEN];
};

static int errno_status(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return TR_REFUSED;
	case ENETUNREACH: case ENETDOWN:
		return TR_NET_UNREACH;
	case EHOSTUNREACH: case ETIMEDOUT: case EHOSTDOWN:
		return TR_HOST_UNREACH;
	}
	return TR_FAIL;
}

/* connect() within sec seconds: the socket, or -1 with errno. */
static int connect_timeout(const struct addrinfo *ai, int sec)
{
	struct pollfd p;
	int fd, e = 0, fl;
	socklen_t el = sizeof(e);

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS)
		goto fail;
	p = (struct pollfd){ .fd = fd, .events = POLLOUT };
	for (;;) {
		int n = poll(&p, 1, sec * 1000);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el))
		goto fail;
	if (e) {
		errno = e;
		goto fail;
	}
	fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/*
 * The destination of r: resolve it (names: getaddrinfo), drop every
 * address the policy refuses, connect to the first allowed one that
 * answers.  The socket, or -1 with *st the status to answer.
 */
static int open_dest(const struct stream *s, const struct tunreq *r,
		     const char *dest, int *st)
{
	const struct relay_opts *ro = s->ro;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	struct addrinfo one = { .ai_socktype = SOCK_STREAM };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	const struct addrinfo *ai;
	char port[8], a[ADDR_STR_LEN];
	int fd = -1, rc, last = 0, tried = 0;

	if (r->port == 0) {
		*st = TR_FAIL;
		msg("%s: %s: port 0", s->peer, dest);
		return -1;
	}
	snprintf(port, sizeof(port), "%u", r->port);
	if (r->atyp == TR_IPV4) {
		memcpy(&s4.sin_addr, r->addr, 4);
		s4.sin_port = htons(r->port);
		one.ai_family = AF_INET;
		one.ai_addr = (struct sockaddr *)&s4;
		one.ai_addrlen = sizeof(s4);
	} else if (r->atyp == TR_IPV6) {
		memcpy(&s6.sin6_addr, r->addr, 16);
		s6.sin6_port = htons(r->port);
		one.ai_family = AF_INET6;
		one.ai_addr = (struct sockaddr *)&s6;
		one.ai_addrlen = sizeof(s6);
	} else {
		hints.ai_flags = AI_NUMERICSERV;
		rc = getaddrinfo((const char *)r->addr, port, &hints, &res);
		if (rc) {
			*st = TR_HOST_UNREACH;
			msg("%s: %s: cannot resolve: %s", s->peer, dest,
			    gai_strerror(rc));
			return -1;
		}
	}
	*st = TR_NOT_ALLOWED;
	for (ai = res ? res : &one; ai; ai = ai->ai_next) {
		const char *why = np_check(ai->ai_addr, ro->allow, ro->nallow);

		addr_str(ai->ai_addr, ai->ai_addrlen, a, sizeof(a));
		if (why) {
			msg("%s: %s: %s refused: %s", s->peer, dest, a, why);
			continue;
		}
		tried++;
		fd = connect_timeout(ai, ro->connect_timeout);
		if (fd >= 0) {
			if (verbose)
				msg("%s: %s: connected to %s", s->peer, dest, a);
			break;
		}
		last = errno;
		msg("%s: %s: cannot connect to %s: %s", s->peer, dest, a,
		    strerror(last));
	}
	if (res)
		freeaddrinfo(res);
	if (fd < 0 && tried)
		*st = errno_status(last);
	return fd;
}

static void serve(struct stream *s, struct pl_ctx *ctx)
{
	struct pl_error err;
	struct pl_conn *c;
	struct tunreq r;
	char dest[300] = "?";
	int rc, st, dfd = -1;
	uint8_t b;

	c = pl_accept(ctx, s->fd, &err);
	if (!c) {
		if (err.code != PL_E_PROBE || verbose)
			msg("%s: %s", s->peer, err.msg);
		return;
	}
	print_info(c, s->peer);
	/* The request follows the opening at once. */
	tr_rcvtimeo(s->fd, 30);
	rc = tr_read(c, &r);
	if (rc < 0) {
		/* A clean end before any request is a ready connection that
		 * a proxy's --preconnect let lapse: said with -v only. */
		if (pl_conn_error(c)->code)
			msg("%s: no request: %s", s->peer,
			    pl_conn_error(c)->msg);
		else if (verbose)
			msg("%s: closed before a request (an unused ready connection)",
			    s->peer);
		goto out;
	}
	tr_rcvtimeo(s->fd, 0);
	if (rc > 0) {
		st = rc;
		msg("%s: bad request: %s", s->peer, tr_status_str(st));
	} else {
		tr_str(&r, dest, sizeof(dest));
		dfd = open_dest(s, &r, dest, &st);
		if (dfd >= 0)
			st = TR_OK;
	}
	b = (uint8_t)st;
	if (pl_conn_write(c, &b, 1) != 1) {
		msg("%s: %s", s->peer, pl_conn_error(c)->msg);
		goto out;
	}
	if (dfd < 0) {
		pl_conn_shutdown(c);
		goto out;
	}
	if (tr_pump(c, dfd) && verbose)
		msg("%s: %s: stream ended by an error", s->peer, dest);
	else if (verbose)
		msg("%s: %s: stream ended", s->peer, dest);
out:
	if (dfd >= 0)
		close(dfd);
	pl_conn_free(c);
}

static struct pl_ctx *relay_ctx;

static void *stream_main(void *arg)
{
	struct stream *s = arg;

	serve(s, relay_ctx);
	close(s->fd);
	stream_put(s->addr);
	free(s);
	return NULL;
}

static int run_relay(int argc, char **argv)
{
	struct relay_opts ro = {
		.max_streams = 1024, .max_per_client = 256,
		.connect_timeout = 10,
	};
	struct tunnel *t = &ro.t;
	int rc, lfd = -1;

	rc = tunnel_args(t, &cmd_relay, argc, argv, true);
	if (rc)
		goto out;
	if (!t->o.cfg.cert_file || !t->o.cfg.key_file) {
		msg("relay: --cert and --key are required");
		rc = EX_USAGE_;
		goto out;
	}
	if (cli_parse_only)
		goto out;
	rc = tunnel_ctx(t);
	if (rc)
		goto out;
	relay_ctx = t->ctx;
	lfd = listen_tcp(t->host, t->port, "relay");
	if (lfd < 0) {
		rc = EX_NET;
		goto out;
	}
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl;
		struct stream *s;
		int fd, lim;

		fd = tr_accept(lfd, &ss, &sl);
		if (fd < 0) {
			rc = EX_NET;
			break;
		}
		s = calloc(1, sizeof(*s));
		if (!s) {
			close(fd);
			continue;
		}
		s->ro = &ro;
		s->fd = fd;
		addr_str((struct sockaddr *)&ss, sl, s->peer, sizeof(s->peer));
		np_addr16((struct sockaddr *)&ss, s->addr);
		lim = stream_get(&ro, s->addr);
		if (lim) {
			msg("%s: refused: %s", s->peer, lim == -2 ?
			    "--max-streams-per-client reached" :
			    "--max-streams reached");
			close(fd);
			free(s);
			continue;
		}
		tunnel_shape(&t->o, fd);
		if (tr_thread(stream_main, s)) {
			msg("cannot start a thread");
			close(fd);
			stream_put(s->addr);
			free(s);
		}
	}
out:
	if (lfd >= 0)
		close(lfd);
	relay_opts_free(&ro);
	return tunnel_end(t, rc);
}

const struct command cmd_relay = {
	.name = "relay",
	.run = run_relay,
	.usage = usage_relay,
	.tables = (const struct optdef *const[]){
		opt_help, opt_config, tunnel_opts, server_opts, relay_own,
		NULL },
	.config = true,
	.opts_size = sizeof(struct relay_opts),
	.opts_free = relay_opts_free,
};
