// SPDX-License-Identifier: GPL-2.0
/* plasmatic connect HOST:PORT: stdin/stdout over Plasmatic. */
#define _GNU_SOURCE
#include <unistd.h>

#include "tunnel.h"

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

static const struct optdef connect_opts[] = {
	{ .name = "address", .kind = OPT_FUNC, .flags = OPTF_FILE_ONLY,
	  .fn = set_address_client },
	{ .name = NULL },
};

const struct optdef client_opts[] = {
	{ .name = "ca", .kind = OPT_STR, OPT_FIELD(struct opts, cfg.ca_file) },
	{ .name = "capath", .kind = OPT_STR,
	  OPT_FIELD(struct opts, cfg.ca_path) },
	{ .name = "sni", .kind = OPT_STR, OPT_FIELD(struct opts, cfg.sni) },
	{ .name = NULL },
};

static int run_connect(int argc, char **argv)
{
	struct tunnel t = { 0 };
	struct pl_conn *c = NULL;
	struct pl_error err;
	char peer[ADDR_STR_LEN] = "";
	int rc, fd = -1;

	rc = tunnel_args(&t, &cmd_connect, argc, argv, false);
	if (rc || cli_parse_only)
		goto out;
	t.o.cfg.hostname = t.o.cfg.sni ? t.o.cfg.sni : t.host;
	rc = tunnel_ctx(&t);
	if (rc)
		goto out;
	fd = open_tcp(t.host, t.port, false, peer, sizeof(peer));
	if (fd < 0) {
		rc = EX_NET;
		goto out;
	}
	tunnel_shape(&t.o, fd);
	c = pl_connect(t.ctx, fd, NULL, &err);
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
	return tunnel_end(&t, rc);
}

const struct command cmd_connect =
	TUNNEL_COMMAND("connect", run_connect, usage_connect, client_opts,
		       connect_opts);
