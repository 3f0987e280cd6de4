// SPDX-License-Identifier: GPL-2.0
/*
 * plasmatic: command line front end of libplasmatic.
 *
 *   plasmatic keygen  [-o FILE]                  keygen.c
 *   plasmatic connect HOST:PORT [options]        connect.c: stdin/stdout
 *                                                over Plasmatic
 *   plasmatic listen  [ADDR:]PORT --cert F --key F [options]    listen.c
 *   plasmatic serve   DIR [ADDR:]PORT --cert F --key F   serve*.c, http.c
 *   plasmatic get     plasmatic://HOST:PORT/PATH [-o F]  get.c, http.c
 *   plasmatic inspect CAPTURE [options]          inspect.c
 *   plasmatic shape --dev DEV [options]          shape.c: the TPL pacer
 *   plasmatic check-config FILE                  check_config.c
 *   plasmatic proxy --relay HOST:PORT [options]  proxy.c: SOCKS5 and HTTP
 *                                                CONNECT over Plasmatic
 *   plasmatic relay [ADDR:]PORT --cert F --key F relay.c: its far end
 *
 * Exit codes are listed in usage_main() below.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <string.h>

#include "plasmatic.h"
#include "cli.h"

int verbose;
bool cli_parse_only;
const char *msg_tag;
const char *msg_where;

/* One line, written at once (stderr is unbuffered): messages of several
 * processes (listen's children) do not interleave, a reader of a pipe gets
 * the line in one read. */
void msg(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "plasmatic: %s%s%s",
		     msg_tag ? msg_tag : "", msg_tag ? ": " : "",
		     msg_where ? msg_where : "");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	fputs(line, stderr);
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
"  serve    serve the files of a directory over Plasmatic (HTTP/1.1)\n"
"  get      fetch a file from 'plasmatic serve' (plasmatic://HOST:PORT/PATH)\n"
"  inspect  what an observer of a packet capture sees: record sizes, gaps,\n"
"           distance to a traffic pattern mode\n"
"  shape    put the traffic pattern pacer (record timing) on a device\n"
"  sockets  list the Plasmatic sockets with their cipher and traffic pattern\n"
"  proxy    a local SOCKS5 and HTTP CONNECT proxy whose streams go through\n"
"           Plasmatic connections to a relay\n"
"  relay    accept the proxy's streams and connect them to their destinations\n"
"  check-config\n"
"           check a configuration file (the commands' --config FILE)\n"
"  help     this text ('plasmatic COMMAND --help' for each command)\n"
"\n"
"exit codes:\n"
"  0  success\n"
"  1  I/O error (local, or on the network after the handshake)\n"
"  2  bad command line or configuration file\n"
"  3  certificate, key, CA or PSK file unusable (missing, malformed, or a PSK\n"
"     file readable by group/others), or a configuration file unreadable\n"
"  4  network error: resolve, connect, bind, listen, or the connection\n"
"     failed or timed out (--timeout) during the handshake\n"
"  5  TLS handshake failed (certificate not trusted, wrong host name, peer\n"
"     alert, no TLS 1.3, no common cipher suite)\n"
"  6  Plasmatic record failure: PSK or connection parameters differ from the\n"
"     peer's, a record failed its checks, or the peer sent a fatal alert\n"
"  7  kernel datapath required (--datapath kernel) but unavailable or refused\n"
"  8  get: the server answered with an HTTP error status (or not HTTP)\n");
}

int code_to_exit(int code)
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

const struct command *const commands[] = {
	&cmd_keygen, &cmd_connect, &cmd_listen, &cmd_inspect, &cmd_shape,
	&cmd_sockets, &cmd_check_config, &cmd_proxy, &cmd_relay, &cmd_serve,
	&cmd_get, NULL,
};

const struct command *command_find(const char *name)
{
	for (const struct command *const *c = commands; *c; c++)
		if (!strcmp((*c)->name, name))
			return *c;
	return NULL;
}

int plasmatic_run(int argc, char **argv, bool parse_only)
{
	const struct command *cmd;
	int rc;

	verbose = 0;
	msg_tag = NULL;
	msg_where = NULL;
	cli_parse_only = parse_only;
	if (argc < 2) {
		usage_main(stderr);
		return EX_USAGE_;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		usage_main(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("plasmatic %s (wire version 1)\n", PL_LIB_VERSION);
		return 0;
	}
	cmd = command_find(argv[1]);
	if (!cmd) {
		msg("unknown command '%s' (see plasmatic --help)", argv[1]);
		return EX_USAGE_;
	}
	if (cmd->tagged)
		msg_tag = cmd->name;
	rc = cmd->run(argc - 1, argv + 1);
	config_release();
	return rc;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	return plasmatic_run(argc, argv, false);
}
