// SPDX-License-Identifier: GPL-2.0
/*
 * What a client that is not Plasmatic gets (SPEC.md section 7.1): the
 * server it sees must be an ordinary HTTPS server.
 *
 *  - Bytes that are not a TLS handshake: relayed raw to the configured
 *    fallback server; without one, cleartext HTTP gets nginx's 400 page
 *    and anything else is read until the client stops, then FIN.
 *  - A plain TLS client (its first record is not a Plasmatic opening
 *    record): the TLS session goes on without EEMs, and its plaintext is
 *    relayed to the fallback server, or answered by a small built-in
 *    HTTP/1.1 responder (static files of cfg->fallback_dir, or one page).
 *
 * Every path ends by shutting our sending half and reading what the client
 * still sends (lingering close, as nginx does), so the caller's close()
 * sends FIN and never RST.  Timeouts follow nginx's defaults: 60 s to read
 * a request, 75 s of keep-alive, 5 s of lingering (30 s at most).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "internal.h"

#define HDR_TIMEOUT_MS		60000	/* nginx client_header_timeout */
#define KEEPALIVE_MS		75000	/* nginx keepalive_timeout */
#define LINGER_IDLE_MS		5000	/* nginx lingering_timeout */
#define LINGER_TOTAL_MS		30000	/* nginx lingering_time */
#define RELAY_IDLE_MS		600000	/* a relayed connection with no traffic */
#define REQ_MAX			8192	/* request head limit */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* poll one fd; 1 ready, 0 timeout, -1 error. */
static int wait_io(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int rc;

	do {
		rc = poll(&p, 1, timeout_ms);
	} while (rc < 0 && errno == EINTR);
	return rc;
}

void pl_linger_close(int fd)
{
	int64_t end = now_ms() + LINGER_TOTAL_MS;
	char buf[4096];
	int fl = fcntl(fd, F_GETFL);

	shutdown(fd, SHUT_WR);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	for (;;) {
		int64_t left = end - now_ms();
		ssize_t n;

		if (left <= 0 || wait_io(fd, POLLIN, left < LINGER_IDLE_MS ?
					 (int)left : LINGER_IDLE_MS) <= 0)
			break;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			break;
	}
	/* Whatever is still queued would make close() send RST. */
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl);
}

/* ------------------------------------------------ I/O: TLS or raw TCP */

struct fio {
	SSL *ssl;		/* NULL: raw fd */
	int fd;			/* non-blocking while we serve */
	bool quiet;		/* end without close_notify, as nginx does
				 * after the client's, an error, or a
				 * timeout before the first request */
};

/* > 0 bytes, 0 end of stream, -1 error, -2 timeout. */
static ssize_t fio_read(struct fio *io, void *buf, size_t len, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;

	for (;;) {
		short ev = POLLIN;
		int64_t left;

		if (io->ssl) {
			int n = SSL_read(io->ssl, buf, (int)(len > INT32_MAX ?
							      INT32_MAX : len));
			int e;

			if (n > 0)
				return n;
			e = SSL_get_error(io->ssl, n);
			ERR_clear_error();
			if (e == SSL_ERROR_ZERO_RETURN) {
				io->quiet = true;
				return 0;
			}
			if (e == SSL_ERROR_WANT_WRITE) {
				ev = POLLOUT;
			} else if (e != SSL_ERROR_WANT_READ) {
				io->quiet = true;
				return -1;
			}
		} else {
			ssize_t n = recv(io->fd, buf, len, 0);

			if (n >= 0)
				return n;
			if (errno != EAGAIN && errno != EINTR)
				return -1;
		}
		left = end - now_ms();
		if (left <= 0)
			return -2;
		if (wait_io(io->fd, ev, (int)left) < 0)
			return -1;
	}
}

static int fio_write(struct fio *io, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		short ev = POLLOUT;
		size_t chunk = len > 16384 ? 16384 : len;
		ssize_t n;

		if (io->ssl) {
			int r = SSL_write(io->ssl, p, (int)chunk), e;

			if (r > 0) {
				p += r;
				len -= (size_t)r;
				continue;
			}
			e = SSL_get_error(io->ssl, r);
			ERR_clear_error();
			if (e == SSL_ERROR_WANT_READ)
				ev = POLLIN;
			else if (e != SSL_ERROR_WANT_WRITE)
				return -1;
		} else {
			n = send(io->fd, p, chunk, MSG_NOSIGNAL);
			if (n > 0) {
				p += n;
				len -= (size_t)n;
				continue;
			}
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return -1;
		}
		if (wait_io(io->fd, ev, HDR_TIMEOUT_MS) <= 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------ the fallback server */

static int connect_fallback(const char *spec)
{
	char host[256], *port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	size_t n = strlen(spec);
	int fd = -1;

	if (n >= sizeof(host))
		return -1;
	memcpy(host, spec, n + 1);
	port = strrchr(host, ':');
	if (!port)
		return -1;
	*port++ = 0;
	if (host[0] == '[' && port - host >= 3 && port[-2] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	if (getaddrinfo(host, port, &hints, &res))
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

int pl_fallback_check(const char *spec)
{
	char host[256];
	const char *colon = spec ? strrchr(spec, ':') : NULL;
	char *end;
	long port;

	if (!colon || colon == spec || strlen(spec) >= sizeof(host))
		return -1;
	port = strtol(colon + 1, &end, 10);
	return *end || port <= 0 || port > 65535 ? -1 : 0;
}

/*
 * Copy both ways between the client (io) and the fallback server (bfd)
 * until one side ends; the other side's sending half is then shut too.
 */
static void relay(struct fio *io, int bfd)
{
	char buf[16384];
	bool c_open = true, b_open = true;

	fcntl(bfd, F_SETFL, fcntl(bfd, F_GETFL) | O_NONBLOCK);
	while (c_open || b_open) {
		struct pollfd p[2] = {
			{ .fd = io->fd, .events = c_open ? POLLIN : 0 },
			{ .fd = bfd, .events = b_open ? POLLIN : 0 },
		};
		int rc;

		if (c_open && io->ssl && SSL_pending(io->ssl))
			rc = 1, p[0].revents = POLLIN;
		else
			rc = poll(p, 2, RELAY_IDLE_MS);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			break;
		if (p[0].revents) {
			ssize_t n = fio_read(io, buf, sizeof(buf), 0);

			if (n > 0) {
				struct fio b = { .fd = bfd };

				if (fio_write(&b, buf, (size_t)n))
					break;
			} else if (n != -2) {
				c_open = false;
				shutdown(bfd, SHUT_WR);
				if (n < 0)
					break;
			}
		}
		if (p[1].revents) {
			ssize_t n = recv(bfd, buf, sizeof(buf), 0);

			if (n > 0) {
				if (fio_write(io, buf, (size_t)n))
					break;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				b_open = false;
				break;	/* the server ended: so do we */
			}
		}
	}
	close(bfd);
}

/* ------------------------------------------------ built-in responder */

static const char page_default[] =
	"<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome</title>\n"
	"<style>\nbody { width: 35em; margin: 0 auto; font-family: sans-serif; }\n"
	"</style>\n</head>\n<body>\n<h1>Welcome</h1>\n"
	"<p>This site is under construction. Please check back later.</p>\n"
	"</body>\n</html>\n";

static const char *status_text(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Not Allowed";
	case 408: return "Request Time-out";
	case 414: return "Request-URI Too Large";
	}
	return "Internal Server Error";
}

static void http_date(time_t t, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static const char *mime_type(const char *path)
{
	static const char *const map[][2] = {
		{ ".html", "text/html" }, { ".htm", "text/html" },
		{ ".css", "text/css" }, { ".js", "application/javascript" },
		{ ".txt", "text/plain" }, { ".png", "image/png" },
		{ ".jpg", "image/jpeg" }, { ".jpeg", "image/jpeg" },
		{ ".gif", "image/gif" }, { ".svg", "image/svg+xml" },
		{ ".ico", "image/x-icon" }, { ".json", "application/json" },
		{ ".woff2", "font/woff2" }, { ".pdf", "application/pdf" },
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcasecmp(dot, map[i][0]))
			return map[i][1];
	return "application/octet-stream";
}

/* An error page as nginx (server_tokens off) writes it. */
static int send_error(struct fio *io, int code, const char *detail,
		      bool keep, bool head)
{
	char body[512], hdr[512], date[64];
	int blen, hlen;

	if (detail)
		blen = snprintf(body, sizeof(body),
				"<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n<center>%s</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
				code, detail, code, status_text(code), detail);
	else
		blen = snprintf(body, sizeof(body),
				"<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
				code, status_text(code), code, status_text(code));
	http_date(time(NULL), date, sizeof(date));
	hlen = snprintf(hdr, sizeof(hdr),
			"HTTP/1.1 %d %s\r\nServer: nginx\r\nDate: %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n",
			code, status_text(code), date, blen,
			keep ? "keep-alive" : "close");
	if (fio_write(io, hdr, (size_t)hlen))
		return -1;
	return head ? 0 : fio_write(io, body, (size_t)blen);
}

/* Decode %XX in place; -1 on a bad escape or a NUL. */
static int url_decode(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '%') {
			int hi = pl_hex_digit(s[1]), lo = hi < 0 ? -1 :
				 pl_hex_digit(s[2]);

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			*w++ = (char)(hi << 4 | lo);
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = 0;
	return 0;
}

/* A path of the request under dir; 0 ok, else the status to send. */
static int resolve(const char *dir, char *target, char *out, size_t len)
{
	char *q = strpbrk(target, "?#"), *seg;
	size_t n;

	if (q)
		*q = 0;
	if (target[0] != '/' || url_decode(target))
		return 400;
	/* No ".." segment may go above the root (nginx answers 400). */
	for (seg = target; (seg = strstr(seg, "/..")); seg += 3)
		if (seg[3] == '/' || !seg[3])
			return 400;
	n = strlen(target);
	if (snprintf(out, len, "%s%s%s", dir, target,
		     target[n - 1] == '/' ? "index.html" : "") >= (int)len)
		return 414;
	return 0;
}

static int serve_file(struct fio *io, const char *dir, char *target,
		      bool keep, bool head)
{
	char path[4096], real[PATH_MAX], root[PATH_MAX], hdr[640], date[64],
	     mod[64], buf[16384];
	struct stat st;
	size_t rlen;
	int fd, code, hlen;

	code = resolve(dir, target, path, sizeof(path));
	if (code)
		return send_error(io, code, NULL, code != 400 && keep, head) ||
		       code == 400 ? -1 : 0;
	/* Symbolic links must not lead out of the directory. */
	if (!realpath(dir, root) || !realpath(path, real))
		return send_error(io, 404, NULL, keep, head);
	rlen = strlen(root);
	if (strncmp(real, root, rlen) || (real[rlen] && real[rlen] != '/'))
		return send_error(io, 404, NULL, keep, head);
	fd = open(real, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return send_error(io, errno == EACCES ? 403 : 404, NULL, keep,
				  head);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return send_error(io, S_ISDIR(st.st_mode) ? 403 : 404, NULL,
				  keep, head);
	}
	http_date(time(NULL), date, sizeof(date));
	http_date(st.st_mtime, mod, sizeof(mod));
	hlen = snprintf(hdr, sizeof(hdr),
			"HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: %s\r\nContent-Type: %s\r\nContent-Length: %lld\r\nLast-Modified: %s\r\nConnection: %s\r\nETag: \"%llx-%llx\"\r\nAccept-Ranges: bytes\r\n\r\n",
			date, mime_type(real), (long long)st.st_size, mod,
			keep ? "keep-alive" : "close",
			(unsigned long long)st.st_mtime,
			(unsigned long long)st.st_size);
	if (fio_write(io, hdr, (size_t)hlen)) {
		close(fd);
		return -1;
	}
	while (!head) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		if (fio_write(io, buf, (size_t)n)) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

static int serve_default(struct fio *io, char *target, bool keep, bool head)
{
	static time_t started;
	char hdr[512], date[64], mod[64], *q = strpbrk(target, "?#");
	int hlen;

	if (q)
		*q = 0;
	if (strcmp(target, "/") && strcmp(target, "/index.html"))
		return send_error(io, 404, NULL, keep, head);
	if (!started)
		started = time(NULL);
	http_date(time(NULL), date, sizeof(date));
	http_date(started, mod, sizeof(mod));
	hlen = snprintf(hdr, sizeof(hdr),
			"HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: %s\r\nContent-Type: text/html\r\nContent-Length: %zu\r\nLast-Modified: %s\r\nConnection: %s\r\nETag: \"%llx-%zx\"\r\nAccept-Ranges: bytes\r\n\r\n",
			date, sizeof(page_default) - 1, mod,
			keep ? "keep-alive" : "close",
			(unsigned long long)started, sizeof(page_default) - 1);
	if (fio_write(io, hdr, (size_t)hlen))
		return -1;
	return head ? 0 : fio_write(io, page_default, sizeof(page_default) - 1);
}

/* The value of header name in the head (lines after the first), or NULL. */
static const char *header(const char *head, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	const char *p = strstr(head, "\r\n");

	while (p && p[2] != '\r') {
		p += 2;
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1, *e = strstr(v, "\r\n");

			while (*v == ' ' || *v == '\t')
				v++;
			*len = e ? (size_t)(e - v) : strlen(v);
			return v;
		}
		p = strstr(p, "\r\n");
	}
	return NULL;
}

static bool has_token(const char *v, size_t len, const char *tok)
{
	size_t tl = strlen(tok);

	for (size_t i = 0; i + tl <= len; i++)
		if (!strncasecmp(v + i, tok, tl))
			return true;
	return false;
}

/*
 * Serve HTTP/1.1 requests on io until the client leaves, a timeout, or an
 * error.  Bodies are not read: a request with one is answered and the
 * connection closed.
 */
static void respond(struct fio *io, const char *dir)
{
	char req[REQ_MAX + 1];
	size_t have = 0;
	int timeout = HDR_TIMEOUT_MS;

	for (;;) {
		char *end, method[16], target[REQ_MAX], version[16];
		const char *v;
		size_t vlen, used;
		bool keep, head, body;
		ssize_t n;

		req[have] = 0;
		end = strstr(req, "\r\n\r\n");
		if (!end) {
			if (have == REQ_MAX) {
				send_error(io, 400, NULL, false, false);
				return;
			}
			n = fio_read(io, req + have, REQ_MAX - have, timeout);
			if (n == -2 && timeout == HDR_TIMEOUT_MS)
				io->quiet = true;	/* nginx: c->timedout */
			if (n <= 0)
				return;
			have += (size_t)n;
			timeout = HDR_TIMEOUT_MS;
			continue;
		}
		used = (size_t)(end + 4 - req);
		if (sscanf(req, "%15s %8191s %15s", method, target, version) != 3 ||
		    strncmp(version, "HTTP/1.", 7) || (version[7] != '0' &&
						       version[7] != '1')) {
			send_error(io, 400, NULL, false, false);
			return;
		}
		v = header(req, "Connection", &vlen);
		keep = version[7] == '1' ? !(v && has_token(v, vlen, "close")) :
		       (v && has_token(v, vlen, "keep-alive"));
		body = header(req, "Content-Length", &vlen) ||
		       header(req, "Transfer-Encoding", &vlen);
		if (body)
			keep = false;
		head = !strcmp(method, "HEAD");
		if (!head && strcmp(method, "GET")) {
			if (send_error(io, 405, NULL, keep, false))
				return;
		} else if ((dir ? serve_file(io, dir, target, keep, head) :
			    serve_default(io, target, keep, head))) {
			return;
		}
		if (!keep)
			return;
		memmove(req, req + used, have - used);
		have -= used;
		timeout = KEEPALIVE_MS;
	}
}

/* ------------------------------------------------ entry points */

static void serve_probe(struct pl_ctx *ctx, struct fio *io, bool http)
{
	int fl = fcntl(io->fd, F_GETFL), bfd;

	if (fl >= 0)
		fcntl(io->fd, F_SETFL, fl | O_NONBLOCK);
	bfd = ctx->fallback ? connect_fallback(ctx->fallback) : -1;

	/* A fallback server that cannot be reached: answer ourselves. */
	if (bfd >= 0) {
		relay(io, bfd);
	} else if (io->ssl) {
		respond(io, ctx->fallback_dir);
	} else if (http) {
		char buf[REQ_MAX];

		/* The request head first, as nginx reads it. */
		fio_read(io, buf, sizeof(buf), HDR_TIMEOUT_MS);
		send_error(io, 400, "The plain HTTP request was sent to HTTPS port",
			   false, false);
	}
	if (io->ssl && !io->quiet) {
		/* close_notify, as nginx ending a connection sends it. */
		SSL_shutdown(io->ssl);
		ERR_clear_error();
	}
	if (fl >= 0)
		fcntl(io->fd, F_SETFL, fl);
	pl_linger_close(io->fd);
}

void pl_fallback_tls(struct pl_ctx *ctx, SSL *ssl, int fd)
{
	struct fio io = { .ssl = ssl, .fd = fd };

	serve_probe(ctx, &io, false);
}

void pl_fallback_raw(struct pl_ctx *ctx, int fd, bool http)
{
	struct fio io = { .fd = fd };

	serve_probe(ctx, &io, http);
}
