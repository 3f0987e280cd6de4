/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What connect and listen share (tunnel.c): their options, the address
 * argument, the PSK and context, the relay between fds and a tunnel.
 */
#ifndef PLASMATIC_CLI_TUNNEL_H
#define PLASMATIC_CLI_TUNNEL_H

#include <netdb.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "plasmatic.h"
#include "cli.h"

struct opts {
	struct pl_config cfg;
	const char *psk_file;
	const char *exec_cmd;
	char *suites;		/* OpenSSL syntax, built from --cipher */
	const char *address;	/* from a configuration file */
	int once;
	int verbose;
	int no_shape;		/* --no-shape: leave the devices alone */
};

/* The address argument's key in a configuration file: checks, stores. */
int set_address_client(void *base, const char *val, const char *what);
int set_address_server(void *base, const char *val, const char *what);

/* Free what the options hold (--cipher's list). */
void opts_free(void *opts);

/* The descriptor of connect or listen: help, --config, the shared
 * options, then its own tables (...); section [name] of config files. */
#define TUNNEL_COMMAND(cmd_name, run_fn, usage_fn, ...) {		\
	.name = cmd_name,						\
	.run = run_fn,							\
	.usage = usage_fn,						\
	.tables = (const struct optdef *const[]){			\
		opt_help, opt_config, tunnel_opts, __VA_ARGS__, NULL },	\
	.config = true,							\
	.opts_size = sizeof(struct opts),				\
	.opts_free = opts_free,						\
}

/* The options of both, and their help text. */
extern const struct optdef tunnel_opts[];
extern const char common_help[];
/* A client's peer verification (--ca, --capath, --sni: connect.c) and a
 * server's certificate and prober fallback (--cert, --key,
 * --open-timeout, --fallback, --fallback-dir: listen.c), shared with
 * proxy and relay (and server_opts with serve); their fields are
 * struct opts'. */
extern const struct optdef client_opts[];
extern const struct optdef server_opts[];

/* "host:port", "[v6]:port"; with allow_no_host also "port": 0, or -1.
 * *host (NULL without one) and *port are malloc'ed. */
int split_hostport(const char *arg, char **host, char **port,
		   bool allow_no_host);

struct tunnel {
	struct opts o;
	char *host, *port;
	struct pl_psk *psk;
	struct pl_ctx *ctx;
};

/*
 * The command line of connect (!server) or listen: the options, then one
 * address argument, HOST:PORT or [ADDR:]PORT (or the configuration file's
 * address), into t->host and t->port.
 * 0, -1 after --help, or an exit code.
 */
int tunnel_args(struct tunnel *t, const struct command *cmd, int argc,
		char **argv, bool server);
/* CLOCK_MONOTONIC in milliseconds. */
long long now_ms(void);
/* Load the PSK (if any) and make the context; 0 or an exit code. */
int tunnel_ctx(struct tunnel *t);
/* Free what tunnel_args() and tunnel_ctx() made; the exit code for rc. */
int tunnel_end(struct tunnel *t, int rc);

#define ADDR_STR_LEN (NI_MAXHOST + NI_MAXSERV + 4)

/* "1.2.3.4:443" or "[::1]:443"; "" if it cannot be formatted. */
void addr_str(const struct sockaddr *sa, socklen_t sl, char *out, size_t len);
/* With -v: the connection's parameters. */
void print_info(struct pl_conn *c, const char *peer);
/*
 * A TCP socket on the first address of HOST:PORT that works: connected to it
 * (its text in peer), or with server bound to it and listening (host NULL:
 * all addresses).  The socket, or -1 after a message.
 */
int open_tcp(const char *host, const char *port, bool server, char *peer,
	     size_t peer_len);
/* open_tcp(host, port, true, ...), and with -v "WHO listening on ADDR"
 * (who "" for listen, "proxy", "relay"). */
int listen_tcp(const char *host, const char *port, const char *who);
/*
 * --tpl-mode 1..8 (and not --no-shape): the pacer on the device the
 * connection on fd leaves by, if it is not there (shape.c).  Never fails:
 * without it (no root, no plasmatic.ko, no BPF, the userspace datapath)
 * one warning line, the first time, says that the sizes are still shaped
 * and the timing is not.
 */
void tunnel_shape(const struct opts *o, int fd);
/*
 * Copy in_fd -> connection (a thread) and connection -> out_fd (here).
 * Ends when the peer's data ended and, if wait_input, the input ended too.
 */
int relay(struct pl_conn *c, int in_fd, int out_fd, bool wait_input);
/*
 * Write all n bytes of buf to fd, again after EINTR and short writes (get,
 * the relay above, tr_write_fd): 0, or -1 with errno.  nosignal: send()
 * with MSG_NOSIGNAL, so a peer that has gone is EPIPE and no SIGPIPE (fd
 * not a socket: write()).
 */
int write_all(int fd, const void *buf, size_t n, bool nosignal);

#endif
