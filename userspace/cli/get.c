// SPDX-License-Identifier: GPL-2.0
/*
 * plasmatic get plasmatic://HOST:PORT/PATH: one HTTP/1.1 GET over
 * Plasmatic (for 'plasmatic serve'), the body to stdout or -o FILE, with
 * a progress bar on a terminal and -C to resume a partial FILE (Range).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "tunnel.h"

#define EX_HTTP	8	/* the server answered with an error status */

struct get {
	struct tunnel t;	/* first: the option tables' base is &t.o */
	const char *out;
	int resume;
	int quiet;
	char *path;
};

static void usage_get(FILE *f)
{
	fprintf(f,
"usage: plasmatic get plasmatic://HOST:PORT[/PATH] [options]\n"
"\n"
"Fetch PATH (default /) from a 'plasmatic serve' server with HTTP/1.1 GET,\n"
"over Plasmatic, to stdout or FILE. HOST may be [IPv6]. The certificate is\n"
"verified as for connect. On a terminal a progress bar (bytes, rate, time\n"
"left) goes to stderr. A status other than 200 (206 when resuming) exits 8.\n"
"\n"
"  -o, --output FILE     write to FILE instead of stdout\n"
"  -C, --continue        resume: FILE exists with part of the resource, ask\n"
"                        for the rest (Range) and append it; a server that\n"
"                        sends the whole resource again overwrites FILE\n"
"  -q, --quiet           no progress bar\n"
"  --ca FILE, --capath DIR, --sni NAME\n"
"                        as for connect\n"
"%s", common_help);
}

static const struct optdef get_opts[] = {
	{ .name = "output", .letter = 'o', .kind = OPT_STR,
	  .flags = OPTF_ARGV_ONLY, OPT_FIELD(struct get, out) },
	{ .name = "continue", .letter = 'C', .kind = OPT_FLAG, .lo = 1,
	  .flags = OPTF_ARGV_ONLY, OPT_FIELD(struct get, resume) },
	{ .name = "quiet", .letter = 'q', .kind = OPT_FLAG, .lo = 1,
	  OPT_FIELD(struct get, quiet) },
	{ .name = "ca", .kind = OPT_STR, OPT_FIELD(struct opts, cfg.ca_file) },
	{ .name = "capath", .kind = OPT_STR,
	  OPT_FIELD(struct opts, cfg.ca_path) },
	{ .name = "sni", .kind = OPT_STR, OPT_FIELD(struct opts, cfg.sni) },
	{ .name = NULL },
};

/* plasmatic://HOST:PORT[/PATH] */
static int parse_url(struct get *g, const char *url)
{
	static const char scheme[] = "plasmatic://";
	const char *hp, *slash;
	char *hostport;
	int rc;

	if (strncmp(url, scheme, sizeof(scheme) - 1)) {
		msg("get: bad URL '%s': expected plasmatic://HOST:PORT/PATH", url);
		return EX_USAGE_;
	}
	hp = url + sizeof(scheme) - 1;
	slash = strchr(hp, '/');
	hostport = slash ? strndup(hp, (size_t)(slash - hp)) : strdup(hp);
	g->path = strdup(slash ? slash : "/");
	if (!hostport || !g->path) {
		free(hostport);
		return EX_IO;
	}
	for (const char *p = g->path; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			msg("get: bad URL '%s': spaces or control bytes in the path (use %%20)",
			    url);
			free(hostport);
			return EX_USAGE_;
		}
	rc = split_hostport(hostport, &g->t.host, &g->t.port, false);
	free(hostport);
	if (rc) {
		msg("get: bad URL '%s': expected plasmatic://HOST:PORT/PATH", url);
		return EX_USAGE_;
	}
	return 0;
}

static void human(double v, char *out, size_t len)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(out, len, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

struct progress {
	bool on;
	double start, last;
	unsigned long long base;	/* bytes there before (resume) */
	long long total;		/* -1: unknown */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void progress_show(struct progress *p, unsigned long long got,
			  bool end)
{
	double t = now_s(), rate;
	char a[32], b[32], r[32], line[160];
	int n;

	if (!p->on || (!end && t - p->last < 0.2))
		return;
	p->last = t;
	rate = t > p->start ? got / (t - p->start) : 0;
	human((double)(p->base + got), a, sizeof(a));
	human(rate, r, sizeof(r));
	if (p->total > 0) {
		long long left = p->total - (long long)(p->base + got);
		long eta = rate > 0 && left > 0 ? (long)(left / rate) : 0;

		human((double)p->total, b, sizeof(b));
		n = snprintf(line, sizeof(line),
			     "\r%s / %s  %3d%%  %s/s  ETA %ld:%02ld  ", a, b,
			     (int)((p->base + got) * 100 / (unsigned long long)p->total),
			     r, eta / 60, eta % 60);
	} else {
		n = snprintf(line, sizeof(line), "\r%s  %s/s  ", a, r);
	}
	if (write(STDERR_FILENO, line, (size_t)n) < 0 ||
	    (end && write(STDERR_FILENO, "\n", 1) < 0))
		p->on = false;
}

/* The response: head, then the body to the output. */
static int fetch(struct get *g, struct pl_conn *c, off_t have)
{
	static char buf[256 * 1024];
	struct progress pg = { 0 };
	struct http_resp r;
	unsigned long long got = 0;
	size_t blen = 0;
	long hl = 0;
	int out = STDOUT_FILENO, rc = EX_OK_;

	while (!hl) {
		ssize_t n = pl_conn_read(c, buf + blen, HTTP_HEAD_MAX - blen);

		if (n <= 0) {
			msg("get: %s", n < 0 ? pl_conn_error(c)->msg :
			    "the server closed the connection before its answer");
			return n < 0 ? code_to_exit(pl_conn_error(c)->code) : EX_IO;
		}
		blen += (size_t)n;
		hl = http_parse_response(buf, blen, &r);
	}
	if (hl < 0) {
		msg("get: malformed HTTP response");
		return EX_HTTP;
	}
	if (have && r.status == 416 && r.range_total == (long long)have) {
		if (verbose)
			msg("get: %s is complete already", g->out);
		return EX_OK_;
	}
	if (r.status != 200 && !(have && r.status == 206)) {
		msg("get: the server answered %d %s", r.status,
		    http_reason(r.status));
		return EX_HTTP;
	}
	if (r.status == 206 && r.range_first != (long long)have) {
		msg("get: the server resumed at byte %lld, not %lld",
		    r.range_first, (long long)have);
		return EX_HTTP;
	}
	if (g->out) {
		int fl = O_WRONLY | O_CREAT | O_CLOEXEC |
			 (r.status == 206 ? O_APPEND : O_TRUNC);

		out = open(g->out, fl, 0644);
		if (out < 0) {
			msg("get: %s: %s", g->out, strerror(errno));
			return EX_FILE;
		}
	}
	pg.on = !g->quiet && isatty(STDERR_FILENO);
	pg.start = pg.last = now_s();
	pg.base = r.status == 206 ? (unsigned long long)have : 0;
	pg.total = r.status == 206 ? r.range_total : r.clen;
	/* Bytes of the body that came with the head. */
	blen -= (size_t)hl;
	memmove(buf, buf + hl, blen);
	for (;;) {
		ssize_t n;

		if (r.clen >= 0 && got + blen > (unsigned long long)r.clen)
			blen = (size_t)((unsigned long long)r.clen - got);
		if (blen && write_all(out, buf, blen, false)) {
			msg("get: writing %s: %s", g->out ? g->out : "stdout",
			    strerror(errno));
			rc = EX_IO;
			break;
		}
		got += blen;
		progress_show(&pg, got, false);
		if (r.clen >= 0 && got == (unsigned long long)r.clen)
			break;
		n = pl_conn_read(c, buf, sizeof(buf));
		if (n < 0) {
			msg("get: %s", pl_conn_error(c)->msg);
			rc = code_to_exit(pl_conn_error(c)->code);
			break;
		}
		if (n == 0) {
			if (r.clen >= 0) {
				msg("get: the connection ended after %llu of %lld bytes (-C resumes)",
				    got, r.clen);
				rc = EX_IO;
			}
			break;
		}
		blen = (size_t)n;
	}
	progress_show(&pg, got, true);
	if (g->out && close(out) && !rc) {
		msg("get: %s: %s", g->out, strerror(errno));
		rc = EX_IO;
	}
	return rc;
}

static int run_get(int argc, char **argv)
{
	struct get g;
	struct pl_conn *c = NULL;
	struct pl_error err;
	struct stat st;
	char peer[ADDR_STR_LEN] = "", req[4096 + 512];
	off_t have = 0;
	int rc, first, fd = -1, n;
	bool v6;

	memset(&g, 0, sizeof(g));
	pl_config_init(&g.t.o.cfg, PL_ROLE_CLIENT);
	rc = opt_parse(&cmd_get, argc, argv, &g, &first);
	verbose = g.t.o.verbose;
	if (!rc)
		rc = opt_args(&cmd_get, argc, argv, first, 1, "URL");
	if (!rc)
		rc = parse_url(&g, argv[first]);
	if (!rc && g.resume && !g.out) {
		msg("get: --continue needs --output FILE");
		rc = EX_USAGE_;
	}
	if (!rc && strlen(g.path) > 4096) {
		msg("get: the path is too long");
		rc = EX_USAGE_;
	}
	if (rc || cli_parse_only)
		goto out;
	if (g.resume && !stat(g.out, &st) && S_ISREG(st.st_mode))
		have = st.st_size;
	g.t.o.cfg.hostname = g.t.o.cfg.sni ? g.t.o.cfg.sni : g.t.host;
	rc = tunnel_ctx(&g.t);
	if (rc)
		goto out;
	fd = open_tcp(g.t.host, g.t.port, false, peer, sizeof(peer));
	if (fd < 0) {
		rc = EX_NET;
		goto out;
	}
	tunnel_shape(&g.t.o, fd);
	c = pl_connect(g.t.ctx, fd, NULL, &err);
	if (!c) {
		msg("%s", err.msg);
		rc = err.code == PL_E_SYS ? EX_NET : code_to_exit(err.code);
		goto out;
	}
	print_info(c, peer);
	v6 = strchr(g.t.host, ':') != NULL;
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: plasmatic/%s\r\n"
		     "Connection: close\r\n", g.path, v6 ? "[" : "", g.t.host,
		     v6 ? "]" : "", g.t.port, PL_LIB_VERSION);
	if (have)
		n += snprintf(req + n, sizeof(req) - (size_t)n,
			      "Range: bytes=%lld-\r\n", (long long)have);
	n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
	if (pl_conn_write(c, req, (size_t)n) != n) {
		msg("get: %s", pl_conn_error(c)->msg);
		rc = code_to_exit(pl_conn_error(c)->code);
		goto out;
	}
	rc = fetch(&g, c, have);
	if (!rc)
		pl_conn_shutdown(c);
out:
	pl_conn_free(c);
	if (fd >= 0)
		close(fd);
	free(g.path);
	return tunnel_end(&g.t, rc);
}

const struct command cmd_get = {
	.name = "get",
	.run = run_get,
	.usage = usage_get,
	.tables = (const struct optdef *const[]){
		opt_help, opt_config, tunnel_opts, get_opts, NULL },
	.config = true,
	.opts_size = sizeof(struct get),
	.opts_free = opts_free,
};
