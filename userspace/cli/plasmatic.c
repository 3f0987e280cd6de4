// SPDX-License-Identifier: GPL-2.0
/*
 * plasmatic: command line front end of libplasmatic.
 *
 *   plasmatic keygen  [-o FILE]
 *   plasmatic connect HOST:PORT [options]      stdin/stdout over Plasmatic
 *   plasmatic listen  [ADDR:]PORT --cert F --key F [options]
 *   plasmatic inspect CAPTURE [options]        (inspect.c)
 *
 * Exit codes are listed in usage_main() below.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/plasmatic.h>

#include "plasmatic.h"
#include "inspect.h"
#include "shape.h"

enum {
	EX_OK_ = 0,
	EX_IO = 1,		/* local I/O or network I/O after the handshake */
	EX_USAGE_ = 2,		/* bad command line */
	EX_FILE = 3,		/* certificate, key, CA or PSK file */
	EX_NET = 4,		/* resolve, connect, bind, listen */
	EX_TLS = 5,		/* TLS handshake failed */
	EX_RECORD = 6,		/* Plasmatic record failure: PSK mismatch, ... */
	EX_KERNEL = 7,		/* kernel datapath missing or refused */
};

static const char *prog = "plasmatic";
static int verbose;

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage_main(FILE *f)
{
	fprintf(f,
"usage: plasmatic COMMAND [OPTIONS]\n"
"\n"
"A TLS 1.3 tunnel whose records carry an Encrypted External Mount (SPEC.md).\n"
"\n"
"commands:\n"
"  keygen   make a pre-shared key file\n"
"  connect  connect to a Plasmatic server; stdin/stdout become the tunnel\n"
"  listen   accept Plasmatic connections; serve stdin/stdout or a command\n"
"  inspect  what an observer of a packet capture sees: record sizes, gaps,\n"
"           distance to a traffic pattern mode\n"
"  shape    put the traffic pattern pacer (record timing) on a device\n"
"  help     this text ('plasmatic COMMAND --help' for each command)\n"
"\n"
"exit codes:\n"
"  0  success\n"
"  1  I/O error (local, or on the network after the handshake)\n"
"  2  bad command line\n"
"  3  certificate, key, CA or PSK file unusable (missing, malformed, or a PSK\n"
"     file readable by group/others)\n"
"  4  network error: resolve, connect, bind, listen, or the connection\n"
"     failed or timed out (--timeout) during the handshake\n"
"  5  TLS handshake failed (certificate not trusted, wrong host name, peer\n"
"     alert, no TLS 1.3, no common cipher suite)\n"
"  6  Plasmatic record failure: PSK or connection parameters differ from the\n"
"     peer's, a record failed its checks, or the peer sent a fatal alert\n"
"  7  kernel datapath required (--datapath kernel) but unavailable or refused\n");
}

static int code_to_exit(int code)
{
	switch (code) {
	case PL_E_OK:
		return EX_OK_;
	case PL_E_INVAL:
		return EX_USAGE_;
	case PL_E_CONFIG: case PL_E_PSK_FILE: case PL_E_PSK_PERM:
		return EX_FILE;
	case PL_E_HANDSHAKE: case PL_E_PEER_ALERT: case PL_E_CERT_VERIFY:
	case PL_E_HOSTNAME: case PL_E_VERSION: case PL_E_CIPHER:
	case PL_E_HANDOVER: case PL_E_PEER_CLOSED:
		return EX_TLS;
	case PL_E_MODULE_MISSING: case PL_E_KERNEL:
		return EX_KERNEL;
	case PL_E_PSK_MISMATCH: case PL_E_BAD_RECORD: case PL_E_PROTOCOL:
		return EX_RECORD;
	}
	return EX_IO;
}

/* ------------------------------------------------------------ options */

struct opts {
	struct pl_config cfg;
	const char *psk_file;
	const char *exec_cmd;
	char *suites;		/* OpenSSL syntax, built from --cipher */
	int once;
};

enum {
	O_CA = 256, O_PSK, O_FRAMING, O_CIPHER, O_SNI, O_ALPN, O_CERT, O_KEY,
	O_EXEC, O_EEM_LEN, O_DATAPATH, O_TIMEOUT, O_ONCE, O_NO_CLOSE_NOTIFY,
	O_CAPATH, O_OPEN_TIMEOUT, O_FALLBACK, O_FALLBACK_DIR, O_TPL_MODE,
	O_TPL_LOCK, O_PEER_MODE,
};

static const struct option common_longopts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "psk", required_argument, NULL, O_PSK },
	{ "framing", required_argument, NULL, O_FRAMING },
	{ "eem-len", required_argument, NULL, O_EEM_LEN },
	{ "cipher", required_argument, NULL, O_CIPHER },
	{ "alpn", required_argument, NULL, O_ALPN },
	{ "datapath", required_argument, NULL, O_DATAPATH },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "no-close-notify", no_argument, NULL, O_NO_CLOSE_NOTIFY },
	{ "tpl-mode", required_argument, NULL, O_TPL_MODE },
	{ "tpl-lock", no_argument, NULL, O_TPL_LOCK },
	{ "peer-mode", required_argument, NULL, O_PEER_MODE },
	/* connect */
	{ "ca", required_argument, NULL, O_CA },
	{ "capath", required_argument, NULL, O_CAPATH },
	{ "sni", required_argument, NULL, O_SNI },
	/* listen */
	{ "cert", required_argument, NULL, O_CERT },
	{ "key", required_argument, NULL, O_KEY },
	{ "exec", required_argument, NULL, O_EXEC },
	{ "once", no_argument, NULL, O_ONCE },
	{ "open-timeout", required_argument, NULL, O_OPEN_TIMEOUT },
	{ "fallback", required_argument, NULL, O_FALLBACK },
	{ "fallback-dir", required_argument, NULL, O_FALLBACK_DIR },
	{ NULL, 0, NULL, 0 },
};

static const char common_help[] =
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
"  -v, --verbose         print the datapath, suite, framing, EEM length to\n"
"                        stderr\n"
"  -h, --help            this text\n";

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* "aes128,chacha20" -> "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256" */
static char *parse_ciphers(const char *list)
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
	for (tok = strtok_r(copy, ",:", &save); tok;
	     tok = strtok_r(NULL, ",:", &save)) {
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
		msg("empty --cipher list");
		goto fail;
	}
	free(copy);
	return out;
fail:
	free(copy);
	free(out);
	return NULL;
}

/* The words an option takes, and their values. */
struct choices {
	const char *opt, *hint;
	struct { const char *name; int value; } list[4];	/* to a NULL name */
};

static const struct choices framings = {
	"framing", "detached or covered", {
		{ "covered", PLASMATIC_FRAMING_COVERED },
		{ "detached", PLASMATIC_FRAMING_DETACHED },
	},
};

static const struct choices datapaths = {
	"datapath", "auto, kernel or userspace", {
		{ "auto", PL_DATAPATH_AUTO },
		{ "kernel", PL_DATAPATH_KERNEL },
		{ "userspace", PL_DATAPATH_USERSPACE },
	},
};

/* The value of the word arg among ch; -1 (after a message) if none. */
static int parse_choice(const struct choices *ch, const char *arg)
{
	for (int i = 0; ch->list[i].name; i++)
		if (!strcmp(arg, ch->list[i].name))
			return ch->list[i].value;
	msg("bad --%s '%s': %s", ch->opt, arg, ch->hint);
	return -1;
}

/* Parse the options shared by connect and listen; 0, or an exit code. */
static int parse_opts(int argc, char **argv, struct opts *o, bool server,
		      void (*help)(FILE *))
{
	int c;
	long v;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hv", common_longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			help(stdout);
			return -1;	/* exit 0 */
		case 'v':
			verbose++;
			break;
		case O_PSK:
			o->psk_file = optarg;
			break;
		case O_FRAMING: case O_DATAPATH:
			v = parse_choice(c == O_FRAMING ? &framings : &datapaths,
					 optarg);
			if (v < 0)
				return EX_USAGE_;
			if (c == O_FRAMING)
				o->cfg.framing = (uint8_t)v;
			else
				o->cfg.datapath = (enum pl_datapath)v;
			break;
		case O_EEM_LEN:
			if (parse_int(optarg, PLASMATIC_EEM_LEN_MIN,
				      PLASMATIC_EEM_LEN_MAX, &v)) {
				msg("bad --eem-len '%s': a number from %d to %d",
				    optarg, PLASMATIC_EEM_LEN_MIN,
				    PLASMATIC_EEM_LEN_MAX);
				return EX_USAGE_;
			}
			o->cfg.eem_len = (uint8_t)v;
			break;
		case O_CIPHER:
			free(o->suites);
			o->suites = parse_ciphers(optarg);
			if (!o->suites)
				return EX_USAGE_;
			o->cfg.ciphersuites = o->suites;
			break;
		case O_ALPN:
			o->cfg.alpn = optarg;
			break;
		case O_TIMEOUT: case O_OPEN_TIMEOUT:
			if (c == O_OPEN_TIMEOUT && !server)
				goto wrong_cmd;
			if (parse_int(optarg, 0, 86400, &v)) {
				msg("bad %s '%s': seconds, 0 to 86400",
				    c == O_TIMEOUT ? "--timeout" : "--open-timeout",
				    optarg);
				return EX_USAGE_;
			}
			if (c == O_TIMEOUT)
				o->cfg.handshake_timeout = (int)v;
			else
				o->cfg.open_timeout = (int)v;
			break;
		case O_FALLBACK: case O_FALLBACK_DIR:
			if (!server)
				goto wrong_cmd;
			if (c == O_FALLBACK)
				o->cfg.fallback = optarg;
			else
				o->cfg.fallback_dir = optarg;
			break;
		case O_NO_CLOSE_NOTIFY:
			o->cfg.close_notify = 0;
			break;
		case O_TPL_MODE: case O_PEER_MODE:
			if (parse_int(optarg, 0, PL_TPL_MODE_MAX, &v)) {
				msg("bad %s '%s': a traffic pattern mode from 0 to %d",
				    c == O_TPL_MODE ? "--tpl-mode" : "--peer-mode",
				    optarg, PL_TPL_MODE_MAX);
				return EX_USAGE_;
			}
			if (c == O_TPL_MODE)
				o->cfg.tpl_mode = (int)v;
			else
				o->cfg.peer_mode = (int)v;
			break;
		case O_TPL_LOCK:
			o->cfg.tpl_lock = 1;
			break;
		case O_CA: case O_CAPATH: case O_SNI:
			if (server)
				goto wrong_cmd;
			if (c == O_CA)
				o->cfg.ca_file = optarg;
			else if (c == O_CAPATH)
				o->cfg.ca_path = optarg;
			else
				o->cfg.sni = optarg;
			break;
		case O_CERT: case O_KEY: case O_EXEC: case O_ONCE:
			if (!server)
				goto wrong_cmd;
			if (c == O_CERT)
				o->cfg.cert_file = optarg;
			else if (c == O_KEY)
				o->cfg.key_file = optarg;
			else if (c == O_EXEC)
				o->exec_cmd = optarg;
			else
				o->once = 1;
			break;
		case ':':
			msg("option '%s' needs an argument", argv[optind - 1]);
			return EX_USAGE_;
		default:
			if (optopt && optopt < 256)
				msg("unknown option '-%c' (see --help)", optopt);
			else
				msg("unknown option '%s' (see --help)",
				    argv[optind - 1]);
			return EX_USAGE_;
		}
	}
	return 0;
wrong_cmd:
	msg("option '%s' is not for '%s' (see --help)", argv[optind - 1],
	    server ? "listen" : "connect");
	return EX_USAGE_;
}

/* "host:port", "[v6]:port"; with allow_no_host also "port". */
static int split_hostport(const char *arg, char **host, char **port,
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
	if (!*port || parse_int(*port, 0, 65535, &v) || (*host && !**host)) {
		free(*host);
		free(*port);
		*host = *port = NULL;
		return -1;
	}
	return 0;
}

#define ADDR_STR_LEN (NI_MAXHOST + NI_MAXSERV + 4)

/* "1.2.3.4:443" or "[::1]:443"; "" if it cannot be formatted. */
static void addr_str(const struct sockaddr *sa, socklen_t sl, char *out,
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

static void print_info(struct pl_conn *c, const char *peer)
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

/* ------------------------------------------------------------- relay */

struct relay {
	struct pl_conn *conn;
	int in_fd;		/* local data to send */
	int out_fd;		/* where received data goes */
	int in_status;		/* exit code of the input direction */
	bool in_done;
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

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

/*
 * Copy in_fd -> connection (a thread) and connection -> out_fd (here).
 * Ends when the peer's data ended and, if wait_input, the input ended too.
 */
static int relay(struct pl_conn *c, int in_fd, int out_fd, bool wait_input)
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
		if (write_all(out_fd, buf, (size_t)n)) {
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

/* ----------------------------------------------------------- commands */

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

/* What connect and listen share: options, address, PSK and context. */
struct cmd {
	struct opts o;
	char *host, *port;
	struct pl_psk *psk;
	struct pl_ctx *ctx;
};

/*
 * The command line of connect (!server) or listen: the options, then one
 * address argument, HOST:PORT or [ADDR:]PORT, into cm->host and cm->port.
 * 0, -1 after --help, or an exit code.
 */
static int cmd_args(struct cmd *cm, int argc, char **argv, bool server,
		    void (*help)(FILE *))
{
	const char *name = server ? "listen" : "connect";
	const char *addr = server ? "[ADDR:]PORT" : "HOST:PORT";
	int rc;

	pl_config_init(&cm->o.cfg, server ? PL_ROLE_SERVER : PL_ROLE_CLIENT);
	rc = parse_opts(argc, argv, &cm->o, server, help);
	if (rc)
		return rc;
	if (optind >= argc) {
		msg("%s: missing %s (see plasmatic %s --help)", name, addr, name);
		return EX_USAGE_;
	}
	if (optind + 1 < argc) {
		msg("%s: unexpected argument '%s'", name, argv[optind + 1]);
		return EX_USAGE_;
	}
	if (split_hostport(argv[optind], &cm->host, &cm->port, server)) {
		msg("%s: bad address '%s': expected %s%s", name, argv[optind],
		    addr, server ? "" : " or [IPv6]:PORT");
		return EX_USAGE_;
	}
	return 0;
}

/* Load the PSK (if any) and make the context; 0 or an exit code. */
static int cmd_ctx(struct cmd *cm)
{
	struct pl_error err;
	int rc;

	rc = load_psk(&cm->o, &cm->psk);
	if (rc)
		return rc;
	cm->ctx = pl_ctx_new(&cm->o.cfg, &err);
	if (!cm->ctx) {
		msg("%s", err.msg);
		return code_to_exit(err.code);
	}
	return 0;
}

/* Free what cmd_args() and cmd_ctx() made; the exit code for rc. */
static int cmd_end(struct cmd *cm, int rc)
{
	pl_ctx_free(cm->ctx);
	pl_psk_free(cm->psk);
	free(cm->o.suites);
	free(cm->host);
	free(cm->port);
	return rc < 0 ? 0 : rc;		/* -1: --help */
}

static void usage_keygen(FILE *f)
{
	fprintf(f,
"usage: plasmatic keygen [-o FILE]\n"
"\n"
"Make a new random 32-byte pre-shared key. The file holds one line\n"
"\"" PL_PSK_FILE_TAG " <64 hex digits>\" and is created with mode 0600; an\n"
"existing file is never overwritten. Without -o (or with -o -) the key goes\n"
"to stdout. Give the same file to both ends with --psk.\n"
"\n"
"  -o, --output FILE   write the key to FILE\n"
"  -h, --help          this text\n");
}

static int cmd_keygen(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	struct pl_error err;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage_keygen(stdout);
			return 0;
		case ':':
			msg("option '%s' needs an argument", argv[optind - 1]);
			return EX_USAGE_;
		default:
			msg("unknown option '%s' (see plasmatic keygen --help)",
			    argv[optind - 1]);
			return EX_USAGE_;
		}
	}
	if (optind < argc) {
		msg("unexpected argument '%s' (see plasmatic keygen --help)",
		    argv[optind]);
		return EX_USAGE_;
	}
	if (pl_psk_generate(out, &err)) {
		msg("%s", err.msg);
		return code_to_exit(err.code) == EX_IO ? EX_FILE :
		       code_to_exit(err.code);
	}
	if (out && strcmp(out, "-") && verbose)
		msg("wrote %s", out);
	return 0;
}

static void usage_connect(FILE *f)
{
	fprintf(f,
"usage: plasmatic connect HOST:PORT [options]\n"
"\n"
"Connect to a Plasmatic server, complete TLS 1.3, and then copy stdin to the\n"
"server and the server's data to stdout (like 'openssl s_client -quiet').\n"
"The server certificate is verified against the system store (or --ca) and\n"
"the host name (HOST, or --sni). At the end of stdin a close_notify is sent.\n"
"\n"
"  --ca FILE             trust the CA certificates in FILE (PEM) instead of\n"
"                        the system store\n"
"  --capath DIR          trust the hashed CA directory DIR\n"
"  --sni NAME            send NAME as SNI and verify the certificate for it\n"
"                        (default: HOST unless it is an IP address)\n"
"%s", common_help);
}

/*
 * A TCP socket on the first address of HOST:PORT that works: connected to it
 * (its text in peer), or with server bound to it and listening (host NULL:
 * all addresses).  The socket, or -1 after a message.
 */
static int open_tcp(const char *host, const char *port, bool server,
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

static int cmd_connect(int argc, char **argv)
{
	struct cmd cm = { 0 };
	struct pl_conn *c = NULL;
	struct pl_error err;
	char peer[ADDR_STR_LEN] = "";
	int rc, fd = -1;

	rc = cmd_args(&cm, argc, argv, false, usage_connect);
	if (rc)
		goto out;
	cm.o.cfg.hostname = cm.o.cfg.sni ? cm.o.cfg.sni : cm.host;
	rc = cmd_ctx(&cm);
	if (rc)
		goto out;
	fd = open_tcp(cm.host, cm.port, false, peer, sizeof(peer));
	if (fd < 0) {
		rc = EX_NET;
		goto out;
	}
	c = pl_connect(cm.ctx, fd, NULL, &err);
	if (!c) {
		msg("%s", err.msg);
		rc = err.code == PL_E_SYS ? EX_NET : code_to_exit(err.code);
		goto out;
	}
	print_info(c, peer);
	rc = relay(c, STDIN_FILENO, STDOUT_FILENO, false);
out:
	pl_conn_free(c);
	if (fd >= 0)
		close(fd);
	return cmd_end(&cm, rc);
}

static void usage_listen(FILE *f)
{
	fprintf(f,
"usage: plasmatic listen [ADDR:]PORT --cert FILE --key FILE [options]\n"
"\n"
"Accept Plasmatic connections on PORT (all addresses unless ADDR). Without\n"
"--exec, serve one connection on stdin/stdout and exit. With --exec, serve\n"
"each connection in a child process running CMD (by /bin/sh -c) with the\n"
"tunnel as its stdin/stdout, until killed (or one, with --once).\n"
"\n"
"  --cert FILE           server certificate chain (PEM)\n"
"  --key FILE            its private key (PEM)\n"
"  --exec CMD            run CMD for each connection\n"
"  --once                with --exec: serve one connection, then exit with\n"
"                        its status\n"
"  --open-timeout SEC    wait for the client's opening record after the\n"
"                        handshake (default 60, 0 none)\n"
"\n"
"A client that is not Plasmatic (a browser, a prober: its first record is\n"
"not an opening record with the right PSK, or it does not speak TLS) is\n"
"served like an ordinary web server would and does not count as a\n"
"connection (not for --framing detached):\n"
"  --fallback HOST:PORT  relay it to this server (e.g. nginx on loopback):\n"
"                        the plaintext of a TLS client, the raw bytes of\n"
"                        another\n"
"  --fallback-dir DIR    else answer HTTP/1.1 GET/HEAD with the files of DIR\n"
"                        (default: one built-in page)\n"
"%s", common_help);
}

static int listen_tcp(const char *host, const char *port)
{
	int fd = open_tcp(host, port, true, NULL, 0);

	if (fd >= 0 && verbose) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char a[ADDR_STR_LEN];

		if (!getsockname(fd, (struct sockaddr *)&ss, &sl)) {
			addr_str((struct sockaddr *)&ss, sl, a, sizeof(a));
			msg("listening on %s", a);
		}
	}
	return fd;
}

static void peer_name(int fd, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	out[0] = 0;
	if (!getpeername(fd, (struct sockaddr *)&ss, &sl))
		addr_str((struct sockaddr *)&ss, sl, out, len);
}

/* Run CMD with pipes as its stdin/stdout and relay the tunnel to it. */
static int serve_exec(struct pl_conn *c, const char *cmd)
{
	int to_child[2], from_child[2], status, rc;
	pid_t pid;

	if (pipe2(to_child, O_CLOEXEC) || pipe2(from_child, O_CLOEXEC)) {
		msg("pipe: %s", strerror(errno));
		return EX_IO;
	}
	pid = fork();
	if (pid < 0) {
		msg("fork: %s", strerror(errno));
		return EX_IO;
	}
	if (pid == 0) {
		dup2(to_child[0], STDIN_FILENO);
		dup2(from_child[1], STDOUT_FILENO);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	rc = relay(c, from_child[0], to_child[1], true);
	close(from_child[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == EX_OK_ && (!WIFEXITED(status) || WEXITSTATUS(status))) {
		if (verbose)
			msg("command exited with status %d",
			    WIFEXITED(status) ? WEXITSTATUS(status) : 128);
		rc = EX_IO;
	}
	return rc;
}

/* serve_one(): a client that was not Plasmatic, served by the fallback. */
#define SERVED_PROBE	-1

/*
 * One accepted connection: handshake, then serve; returns an exit code,
 * or SERVED_PROBE.
 */
static int serve_one(struct pl_ctx *ctx, int fd, struct opts *o)
{
	struct pl_error err;
	struct pl_conn *c;
	char peer[ADDR_STR_LEN];
	int rc;

	peer_name(fd, peer, sizeof(peer));
	c = pl_accept(ctx, fd, &err);
	if (!c) {
		if (err.code == PL_E_PROBE) {
			if (verbose)
				msg("%s%s%s", peer, peer[0] ? ": " : "", err.msg);
			return SERVED_PROBE;
		}
		msg("%s%s%s", peer, peer[0] ? ": " : "", err.msg);
		return err.code == PL_E_SYS ? EX_NET : code_to_exit(err.code);
	}
	print_info(c, peer);
	if (o->exec_cmd)
		rc = serve_exec(c, o->exec_cmd);
	else
		rc = relay(c, STDIN_FILENO, STDOUT_FILENO, false);
	pl_conn_free(c);
	return rc;
}

static int cmd_listen(int argc, char **argv)
{
	struct cmd cm = { 0 };
	int rc, lfd = -1;

	rc = cmd_args(&cm, argc, argv, true, usage_listen);
	if (rc)
		goto out;
	if (!cm.o.cfg.cert_file || !cm.o.cfg.key_file) {
		msg("listen: --cert and --key are required");
		rc = EX_USAGE_;
		goto out;
	}
	if (cm.o.once && !cm.o.exec_cmd) {
		msg("listen: --once goes with --exec (without it one connection is served anyway)");
		rc = EX_USAGE_;
		goto out;
	}
	rc = cmd_ctx(&cm);
	if (rc)
		goto out;
	lfd = listen_tcp(cm.host, cm.port);
	if (lfd < 0) {
		rc = EX_NET;
		goto out;
	}
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pid_t pid;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			msg("accept: %s", strerror(errno));
			rc = EX_NET;
			break;
		}
		if (!cm.o.exec_cmd || cm.o.once) {
			/* A prober does not count: wait for the client. */
			rc = serve_one(cm.ctx, fd, &cm.o);
			close(fd);
			if (rc == SERVED_PROBE)
				continue;
			break;
		}
		pid = fork();
		if (pid == 0) {
			close(lfd);
			rc = serve_one(cm.ctx, fd, &cm.o);
			close(fd);
			_exit(rc == SERVED_PROBE ? EX_OK_ : rc);
		}
		if (pid < 0)
			msg("fork: %s", strerror(errno));
		close(fd);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;	/* reap finished connections */
	}
out:
	if (lfd >= 0)
		close(lfd);
	return cmd_end(&cm, rc);
}

int main(int argc, char **argv)
{
	const char *cmd;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage_main(stderr);
		return EX_USAGE_;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage_main(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("plasmatic %s (wire version 1)\n", PL_LIB_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "keygen"))
		return cmd_keygen(argc - 1, argv + 1);
	if (!strcmp(cmd, "connect"))
		return cmd_connect(argc - 1, argv + 1);
	if (!strcmp(cmd, "listen"))
		return cmd_listen(argc - 1, argv + 1);
	if (!strcmp(cmd, "inspect"))
		return cmd_inspect(argc - 1, argv + 1);
	if (!strcmp(cmd, "shape"))
		return cmd_shape(argc - 1, argv + 1);
	msg("unknown command '%s' (see plasmatic --help)", cmd);
	return EX_USAGE_;
}
