// SPDX-License-Identifier: GPL-2.0
/* plasmatic listen [ADDR:]PORT: serve Plasmatic connections. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tunnel.h"

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

static const struct optdef listen_opts[] = {
	{ .name = "address", .kind = OPT_FUNC, .flags = OPTF_FILE_ONLY,
	  .fn = set_address_server },
	{ .name = "exec", .kind = OPT_STR, OPT_FIELD(struct opts, exec_cmd) },
	{ .name = "once", .kind = OPT_FLAG, .lo = 1,
	  OPT_FIELD(struct opts, once) },
	{ .name = NULL },
};

const struct optdef server_opts[] = {
	{ .name = "cert", .kind = OPT_STR,
	  OPT_FIELD(struct opts, cfg.cert_file) },
	{ .name = "key", .kind = OPT_STR, OPT_FIELD(struct opts, cfg.key_file) },
	{ .name = "open-timeout", .kind = OPT_INT, .lo = 0, .hi = 86400,
	  .hint = "seconds, %ld to %ld",
	  OPT_FIELD(struct opts, cfg.open_timeout) },
	{ .name = "fallback", .kind = OPT_STR,
	  OPT_FIELD(struct opts, cfg.fallback) },
	{ .name = "fallback-dir", .kind = OPT_STR,
	  OPT_FIELD(struct opts, cfg.fallback_dir) },
	{ .name = NULL },
};

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

static int run_listen(int argc, char **argv)
{
	struct tunnel t = { 0 };
	int rc, lfd = -1;

	rc = tunnel_args(&t, &cmd_listen, argc, argv, true);
	if (rc)
		goto out;
	if (!t.o.cfg.cert_file || !t.o.cfg.key_file) {
		msg("listen: --cert and --key are required");
		rc = EX_USAGE_;
		goto out;
	}
	if (t.o.once && !t.o.exec_cmd) {
		msg("listen: --once goes with --exec (without it one connection is served anyway)");
		rc = EX_USAGE_;
		goto out;
	}
	if (cli_parse_only)
		goto out;
	rc = tunnel_ctx(&t);
	if (rc)
		goto out;
	lfd = listen_tcp(t.host, t.port, "");
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
		/* Here, not in the child: one warning for all connections. */
		tunnel_shape(&t.o, fd);
		if (!t.o.exec_cmd || t.o.once) {
			/* A prober does not count: wait for the client. */
			rc = serve_one(t.ctx, fd, &t.o);
			close(fd);
			if (rc == SERVED_PROBE)
				continue;
			break;
		}
		pid = fork();
		if (pid == 0) {
			close(lfd);
			rc = serve_one(t.ctx, fd, &t.o);
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
	return tunnel_end(&t, rc);
}

const struct command cmd_listen =
	TUNNEL_COMMAND("listen", run_listen, usage_listen, server_opts,
		       listen_opts);
