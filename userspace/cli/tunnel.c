// SPDX-License-Identifier: GPL-2.0
/*
 * What connect and listen share: their options (the table both declare),
 * the address argument, the PSK and context, the relay between local fds
 * and a tunnel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>

#include <linux/plasmatic.h>

#include "shape.h"
#include "tunnel.h"

const char common_help[] =
"  --psk FILE            pre-shared key file (see 'plasmatic keygen'); both\n"
"                        ends must use the same key, or none\n"
"  --framing MODE        detached or covered (default covered); must match\n"
"  --eem-len N           EEM length on the wire, 48..255 (default 80); must\n"
"                        match\n"
"  --cipher LIST         allowed suites, comma separated: aes128, aes256,\n"
"                        chacha20 (or TLS_AES_128_GCM_SHA256, ...); default all\n"
"  --alpn LIST           ALPN protocols, comma separated\n"
"  --datapath WHERE      auto (default: kernel module if loaded, else\n"
"                        userspace), kernel, or userspace\n"
"  --timeout SEC         handshake timeout in seconds (default 60, as\n"
"                        nginx's; 0 none)\n"
"  --no-close-notify     end without a close_notify alert\n"
"  --tpl-mode N          send in traffic pattern mode N, 0..8 (default 0:\n"
"                        records as written; 1 web, 2 video, 3 idle,\n"
"                        4 gaming, 5 call, 6 download, 7 mail, 8 DNS: every\n"
"                        record padded to the mode's drawn size)\n"
"  --tpl-lock            keep the mode (no rotation every 1024 records); the\n"
"                        mode asked by --peer-mode is locked too\n"
"  --peer-mode N         ask the peer to send in mode N, 0..8\n"
"  --no-shape            with --tpl-mode 1..8, do not put the pacer on the\n"
"                        connection's device (by default it is put there\n"
"                        when missing, as 'plasmatic shape' would; without\n"
"                        it records are sized but not timed)\n"
"  -v, --verbose         print the datapath, suite, framing, EEM length to\n"
"                        stderr\n"
"  --config FILE         read options from FILE, the section named after\n"
"                        this command ([connect], ...): key NAME for --NAME,\n"
"                        yes or no for a flag, address for the address;\n"
"                        the command line overrides the file (see\n"
"                        'plasmatic check-config --help')\n"
"  -h, --help            this text\n";

/* "aes128,chacha20" -> "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256" */
static char *parse_ciphers(const char *list, const char *what)
{
	static const struct { const char *alias, *name; } map[] = {
		{ "aes128", "TLS_AES_128_GCM_SHA256" },
		{ "aes-128-gcm", "TLS_AES_128_GCM_SHA256" },
		{ "aes256", "TLS_AES_256_GCM_SHA384" },
		{ "aes-256-gcm", "TLS_AES_256_GCM_SHA384" },
		{ "chacha20", "TLS_CHACHA20_POLY1305_SHA256" },
		{ "chacha20-poly1305", "TLS_CHACHA20_POLY1305_SHA256" },
		{ "TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256" },
		{ "TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384" },
		{ "TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256" },
	};
	char *copy = strdup(list), *save = NULL, *tok, *out;
	size_t cap = strlen(list) * 4 + 128, n = 0;

	out = calloc(1, cap);
	if (!copy || !out)
		goto fail;
	for (tok = strtok_r(copy, ",: \t", &save); tok;
	     tok = strtok_r(NULL, ",: \t", &save)) {
		const char *name = NULL;

		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (!strcasecmp(tok, map[i].alias))
				name = map[i].name;
		if (!name) {
			msg("unknown cipher suite '%s': use aes128, aes256 or chacha20",
			    tok);
			goto fail;
		}
		n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? ":" : "", name);
	}
	if (!n) {
		msg("empty %s list", what);
		goto fail;
	}
	free(copy);
	return out;
fail:
	free(copy);
	free(out);
	return NULL;
}

static int set_cipher(void *base, const char *val, const char *what)
{
	struct opts *o = base;

	free(o->suites);
	o->suites = parse_ciphers(val, what);
	if (!o->suites)
		return -1;
	o->cfg.ciphersuites = o->suites;
	return 0;
}

static const struct opt_word framings[] = {
	{ "covered", PLASMATIC_FRAMING_COVERED },
	{ "detached", PLASMATIC_FRAMING_DETACHED },
	{ NULL, 0 },
};

static const struct opt_word datapaths[] = {
	{ "auto", PL_DATAPATH_AUTO },
	{ "kernel", PL_DATAPATH_KERNEL },
	{ "userspace", PL_DATAPATH_USERSPACE },
	{ NULL, 0 },
};

const struct optdef tunnel_opts[] = {
	{ .name = "verbose", .letter = 'v', .kind = OPT_FLAG, .lo = 1,
	  OPT_FIELD(struct opts, verbose) },
	{ .name = "psk", .kind = OPT_STR, OPT_FIELD(struct opts, psk_file) },
	{ .name = "framing", .kind = OPT_CHOICE, .words = framings,
	  .hint = "detached or covered", OPT_FIELD(struct opts, cfg.framing) },
	{ .name = "eem-len", .kind = OPT_INT, .lo = PLASMATIC_EEM_LEN_MIN,
	  .hi = PLASMATIC_EEM_LEN_MAX, OPT_FIELD(struct opts, cfg.eem_len) },
	{ .name = "cipher", .kind = OPT_FUNC, .fn = set_cipher },
	{ .name = "alpn", .kind = OPT_STR, OPT_FIELD(struct opts, cfg.alpn) },
	{ .name = "datapath", .kind = OPT_CHOICE, .words = datapaths,
	  .hint = "auto, kernel or userspace",
	  OPT_FIELD(struct opts, cfg.datapath) },
	{ .name = "timeout", .kind = OPT_INT, .lo = 0, .hi = 86400,
	  .hint = "seconds, %ld to %ld",
	  OPT_FIELD(struct opts, cfg.handshake_timeout) },
	{ .name = "no-close-notify", .kind = OPT_FLAG, .lo = 0, .hi = 1,
	  OPT_FIELD(struct opts, cfg.close_notify) },
	{ .name = "tpl-mode", .kind = OPT_INT, .lo = 0, .hi = PL_TPL_MODE_MAX,
	  .hint = "a traffic pattern mode from %ld to %ld",
	  OPT_FIELD(struct opts, cfg.tpl_mode) },
	{ .name = "tpl-lock", .kind = OPT_FLAG, .lo = 1,
	  OPT_FIELD(struct opts, cfg.tpl_lock) },
	{ .name = "peer-mode", .kind = OPT_INT, .lo = 0, .hi = PL_TPL_MODE_MAX,
	  .hint = "a traffic pattern mode from %ld to %ld",
	  OPT_FIELD(struct opts, cfg.peer_mode) },
	{ .name = "no-shape", .kind = OPT_FLAG, .lo = 1,
	  OPT_FIELD(struct opts, no_shape) },
	{ .name = NULL },
};

/* "host:port", "[v6]:port"; with allow_no_host also "port". */
int split_hostport(const char *arg, char **host, char **port,
		   bool allow_no_host)
{
	const char *colon;
	long v;

	*host = *port = NULL;
	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (!close || close[1] != ':')
			return -1;
		*host = strndup(arg + 1, (size_t)(close - arg - 1));
		*port = strdup(close + 2);
	} else {
		colon = strrchr(arg, ':');
		if (!colon) {
			if (!allow_no_host)
				return -1;
			*port = strdup(arg);
		} else {
			if (memchr(arg, ':', (size_t)(colon - arg)))
				return -1;	/* bare IPv6 without brackets */
			*host = strndup(arg, (size_t)(colon - arg));
			*port = strdup(colon + 1);
		}
	}
	if (!*port || parse_long(*port, 0, 65535, &v) || (*host && !**host)) {
		free(*host);
		free(*port);
		*host = *port = NULL;
		return -1;
	}
	return 0;
}

void addr_str(const struct sockaddr *sa, socklen_t sl, char *out,
		     size_t len)
{
	char h[NI_MAXHOST], s[NI_MAXSERV];
	bool v6;

	out[0] = 0;
	if (getnameinfo(sa, sl, h, sizeof(h), s, sizeof(s),
			NI_NUMERICHOST | NI_NUMERICSERV))
		return;
	v6 = strchr(h, ':') != NULL;
	snprintf(out, len, "%s%s%s:%s", v6 ? "[" : "", h, v6 ? "]" : "", s);
}

void print_info(struct pl_conn *c, const char *peer)
{
	struct pl_conn_info in;

	struct pl_tpl_state ts;

	if (!verbose || pl_conn_info(c, &in))
		return;
	if (pl_conn_tpl_state(c, &ts))
		ts.mode = -1;
	msg("connected%s%s: path=%s suite=%s framing=%s eem_len=%u psk=%s alpn=%s tpl_mode=%d%s",
	    peer ? " " : "", peer ? peer : "", pl_datapath_name(in.datapath),
	    in.suite_name, pl_framing_name(in.framing), in.eem_len,
	    in.psk ? "yes" : "no", in.alpn[0] ? in.alpn : "-", ts.mode,
	    ts.mode >= 0 && ts.lock ? " (locked)" : "");
}

void tunnel_shape(const struct opts *o, int fd)
{
	static bool warned;
	char dev[IF_NAMESIZE] = "", err[256];
	int rc = -1;

	if (o->no_shape || !o->cfg.tpl_mode)
		return;
	if (o->cfg.datapath == PL_DATAPATH_USERSPACE)
		snprintf(err, sizeof(err), "the userspace datapath cannot be paced");
	else
		rc = pl_shape_auto(fd, dev, sizeof(dev), err, sizeof(err));
	if (rc >= 0) {
		if (verbose)
			msg("pacer %s %s", rc ? "attached to" : "already on", dev);
		return;
	}
	if (!warned)
		msg("warning: no pacer%s%s: %s; record sizes are still shaped, "
		    "their timing is not (see plasmatic shape --help)",
		    *dev ? " on " : "", dev, err);
	warned = true;
}

struct relay {
	struct pl_conn *conn;
	int in_fd;		/* local data to send */
	int out_fd;		/* where received data goes */
	int in_status;		/* exit code of the input direction */
	bool in_done;
};

/*
 * Read up to len bytes, and when a read ends inside a record, what more
 * is there at once: a stream that arrives in pieces (a pipe) still goes
 * out in full records, as from a TLS server reading a file.
 */
static ssize_t read_records(int fd, char *buf, size_t len, size_t rec)
{
	ssize_t n = read(fd, buf, len);
	size_t got;

	if (n <= 0)
		return n;
	got = (size_t)n;
	while (got < len && got % rec) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
			break;
		n = read(fd, buf + got, len - got);
		if (n <= 0)
			break;	/* EOF or error: the next read says */
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static void *relay_in(void *arg)
{
	struct relay *r = arg;
	static char buf[64 * 1024];
	/* Whole records: no short record after each read of a stream. */
	size_t want = sizeof(buf) / pl_conn_record_max(r->conn) *
		      pl_conn_record_max(r->conn);
	ssize_t n;

	for (;;) {
		n = read_records(r->in_fd, buf, want, pl_conn_record_max(r->conn));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			msg("read input: %s", strerror(errno));
			r->in_status = EX_IO;
			break;
		}
		if (n == 0) {
			if (pl_conn_shutdown(r->conn)) {
				const struct pl_error *e = pl_conn_error(r->conn);

				if (e->code) {
					msg("%s", e->msg);
					r->in_status = code_to_exit(e->code);
				}
			}
			break;
		}
		if (pl_conn_write(r->conn, buf, (size_t)n) < 0) {
			const struct pl_error *e = pl_conn_error(r->conn);

			msg("%s", e->msg);
			r->in_status = code_to_exit(e->code);
			break;
		}
	}
	__atomic_store_n(&r->in_done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

int relay(struct pl_conn *c, int in_fd, int out_fd, bool wait_input)
{
	struct relay r = { .conn = c, .in_fd = in_fd, .out_fd = out_fd };
	static char buf[64 * 1024];
	pthread_t th;
	int status = EX_OK_;
	ssize_t n;

	if (pthread_create(&th, NULL, relay_in, &r)) {
		msg("cannot start a thread");
		return EX_IO;
	}
	for (;;) {
		n = pl_conn_read(c, buf, sizeof(buf));
		if (n < 0) {
			const struct pl_error *e = pl_conn_error(c);

			msg("%s", e->msg);
			status = code_to_exit(e->code);
			break;
		}
		if (n == 0)
			break;
		if (write_all(out_fd, buf, (size_t)n, false)) {
			msg("write output: %s", strerror(errno));
			status = EX_IO;
			break;
		}
	}
	if (status == EX_OK_) {
		if (verbose)
			msg("peer ended its data: %s",
			    pl_conn_end(c) == PLASMATIC_END_CLOSE_NOTIFY ?
			    "close_notify" : "no close_notify (truncated)");
		close(out_fd);	/* EOF for the consumer */
		if (wait_input || isatty(in_fd) != 1) {
			pthread_join(th, NULL);
			return r.in_status;
		}
	}
	/* Failed, or nothing more to wait for. */
	if (__atomic_load_n(&r.in_done, __ATOMIC_SEQ_CST)) {
		pthread_join(th, NULL);
		return status == EX_OK_ ? r.in_status : status;
	}
	/*
	 * The input thread may sit in read() for ever, or still be inside
	 * pl_conn_write(): the connection cannot be freed under it.  Our
	 * output is written with write(2), so nothing is left to flush but
	 * stdio's (messages): end the process here.
	 */
	fflush(NULL);
	_exit(status);
}

static int load_psk(struct opts *o, struct pl_psk **psk)
{
	struct pl_error err;

	*psk = NULL;
	if (!o->psk_file)
		return 0;
	*psk = pl_psk_load(o->psk_file, &err);
	if (!*psk) {
		msg("%s", err.msg);
		return code_to_exit(err.code);
	}
	if (verbose && !pl_psk_locked(*psk))
		msg("warning: could not mlock the PSK (RLIMIT_MEMLOCK)");
	o->cfg.psk = *psk;
	return 0;
}

static int set_address(void *base, const char *val, const char *what,
		       bool server)
{
	struct opts *o = base;
	char *host, *port;

	if (split_hostport(val, &host, &port, server)) {
		msg("bad %s '%s': expected %s", what, val, server ?
		    "[ADDR:]PORT" : "HOST:PORT or [IPv6]:PORT");
		return -1;
	}
	free(host);
	free(port);
	o->address = val;
	return 0;
}

int set_address_client(void *base, const char *val, const char *what)
{
	return set_address(base, val, what, false);
}

int set_address_server(void *base, const char *val, const char *what)
{
	return set_address(base, val, what, true);
}

void opts_free(void *opts)
{
	struct opts *o = opts;

	free(o->suites);
	o->suites = NULL;
}

int tunnel_args(struct tunnel *t, const struct command *cmd, int argc,
		char **argv, bool server)
{
	const char *addr = server ? "[ADDR:]PORT" : "HOST:PORT", *arg;
	int rc, first;

	pl_config_init(&t->o.cfg, server ? PL_ROLE_SERVER : PL_ROLE_CLIENT);
	rc = opt_parse(cmd, argc, argv, &t->o, &first);
	verbose = t->o.verbose;
	if (!rc)
		rc = opt_args(cmd, argc, argv, first,
			      first < argc || !t->o.address, addr);
	if (rc)
		return rc;
	arg = first < argc ? argv[first] : t->o.address;
	if (split_hostport(arg, &t->host, &t->port, server)) {
		msg("%s: bad address '%s': expected %s%s", cmd->name, arg,
		    addr, server ? "" : " or [IPv6]:PORT");
		return EX_USAGE_;
	}
	return 0;
}

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tunnel_ctx(struct tunnel *t)
{
	struct pl_error err;
	int rc;

	rc = load_psk(&t->o, &t->psk);
	if (rc)
		return rc;
	t->ctx = pl_ctx_new(&t->o.cfg, &err);
	if (!t->ctx) {
		msg("%s", err.msg);
		return code_to_exit(err.code);
	}
	return 0;
}

int tunnel_end(struct tunnel *t, int rc)
{
	pl_ctx_free(t->ctx);
	pl_psk_free(t->psk);
	opts_free(&t->o);
	free(t->host);
	free(t->port);
	return rc < 0 ? 0 : rc;		/* -1: --help */
}

int open_tcp(const char *host, const char *port, bool server,
		    char *peer, size_t peer_len)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM, .ai_flags = server ? AI_PASSIVE : 0,
	}, *res, *ai;
	const char *name = host ? host : "*";
	int fd = -1, rc, one = 1, last = 0;

	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		msg("cannot resolve %s: %s", name, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		if (server) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				   sizeof(one));
			if (!bind(fd, ai->ai_addr, ai->ai_addrlen) &&
			    !listen(fd, 64))
				break;
		} else if (!connect(fd, ai->ai_addr, ai->ai_addrlen)) {
			addr_str(ai->ai_addr, ai->ai_addrlen, peer, peer_len);
			break;
		}
		last = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		msg("cannot %s %s:%s: %s", server ? "listen on" : "connect to",
		    name, port, strerror(last));
	return fd;
}

int write_all(int fd, const void *buf, size_t n, bool nosignal)
{
	const char *p = buf;

	while (n) {
		ssize_t w;

		if (nosignal) {
			w = send(fd, p, n, MSG_NOSIGNAL);
			if (w < 0 && errno == ENOTSOCK)
				w = write(fd, p, n);
		} else {
			w = write(fd, p, n);
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int listen_tcp(const char *host, const char *port, const char *who)
{
	int fd = open_tcp(host, port, true, NULL, 0);

	if (fd >= 0 && verbose) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char a[ADDR_STR_LEN];

		if (!getsockname(fd, (struct sockaddr *)&ss, &sl)) {
			addr_str((struct sockaddr *)&ss, sl, a, sizeof(a));
			msg("%s%slistening on %s", who, *who ? " " : "", a);
		}
	}
	return fd;
}
