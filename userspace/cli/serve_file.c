// SPDX-License-Identifier: GPL-2.0
/*
 * serve: a request's response.  The status from the request (http.c), the
 * head, then the body:
 *  - kernel datapath: the socket (plasmatic.ko frames the records) takes
 *    the head by send(2) and the body by sendfile(2), called in the
 *    worker each time the ring says the socket is writable (as nginx
 *    does), no copy through userspace; if the socket refuses sendfile, as
 *    the userspace path;
 *  - userspace datapath: pread + pl_conn_write (the engine seals the
 *    records) on the O_NONBLOCK socket, head and body, a chunk each time
 *    the ring says the socket is writable; what the socket did not take
 *    stays sealed in the connection until pl_conn_flush() sends it, so a
 *    client that reads slowly never holds the worker.
 * The socket is O_NONBLOCK throughout: nothing waits in the worker for
 * the client.  A page-cache miss of a file on disk does make sendfile()
 * and pread() wait for the disk in the worker, as nginx's sendfile does
 * without aio threads; the other workers go on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "serve.h"

#define CHUNK	(64 * 1024)
/*
 * Kernel datapath: at most this much per sendfile() call, and four times
 * as much each time the socket is writable, so that one fast client does
 * not keep the worker from the others (nginx's sendfile_max_chunk).
 */
#define SENDFILE_MAX	(1024 * 1024)

static const char *content_type(const char *path)
{
	static const struct { const char *ext, *type; } map[] = {
		{ "html", "text/html" }, { "htm", "text/html" },
		{ "txt", "text/plain" }, { "css", "text/css" },
		{ "js", "text/javascript" }, { "json", "application/json" },
		{ "png", "image/png" }, { "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" }, { "gif", "image/gif" },
		{ "svg", "image/svg+xml" }, { "pdf", "application/pdf" },
	};
	const char *dot = strrchr(path, '.');

	if (dot && !strchr(dot, '/'))
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (!strcasecmp(dot + 1, map[i].ext))
				return map[i].type;
	return "application/octet-stream";
}

void sf_release(struct sconn *sc)
{
	if (sc->file >= 0)
		close(sc->file);
	sc->file = -1;
}

void sf_log(struct sconn *sc)
{
	char line[2048];

	if (sc->w->s->no_log || !sc->status)
		return;
	http_log_line(line, sizeof(line), sc->ip, &sc->req, sc->status,
		      sc->body, time(NULL));
	/* One write: the workers' lines do not interleave. */
	if (write(STDERR_FILENO, line, strlen(line)) < 0)
		return;
}

static void progress(struct sconn *sc)
{
	sc->deadline = now_ms() + sc->w->s->idle_timeout * 1000LL;
}

/*
 * Kernel datapath, the socket writable: the body by sendfile(2), as much
 * as the socket takes (the kernel passes the file's pages to plasmatic.ko
 * through its own pipe), then wait until it is writable again.
 */
static void sendfile_step(struct sconn *sc)
{
	size_t moved = 0;

	while (sc->left && moved < 4 * SENDFILE_MAX) {
		size_t want = sc->left < SENDFILE_MAX ? (size_t)sc->left :
							SENDFILE_MAX;
		off_t off = (off_t)sc->off;
		ssize_t n = sendfile(sc->fd, sc->file, &off, want);

		if (n > 0) {
			sc->off += (uint64_t)n;
			sc->left -= (uint64_t)n;
			sc->body += (uint64_t)n;
			moved += (size_t)n;
			progress(sc);
			if ((size_t)n < want)
				break;
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0 && (errno == EINVAL || errno == EOPNOTSUPP) &&
		    !sc->body) {
			sc->copy = true;	/* the socket refused it */
			break;
		}
		if (n == 0 || verbose)
			msg("%s: sendfile: %s", sc->peer,
			    n ? strerror(errno) : "the file became shorter");
		sc_close(sc);	/* the client sees the body end short */
		return;
	}
	if (sc->left)
		sc_poll(sc, POLLOUT);
	else
		sc_next(sc);
}

/* The next piece of the body, or the end of the response. */
static void body_next(struct sconn *sc)
{
	if (!sc->left)
		sc_next(sc);
	else if (sc->copy)
		sc_poll(sc, POLLOUT);
	else
		sendfile_step(sc);
}

/* Kernel datapath: the head by send(2) (a record of its own), the body. */
static void send_head(struct sconn *sc)
{
	ssize_t n = send(sc->fd, sc->head + sc->hoff, sc->hlen - sc->hoff,
			 MSG_NOSIGNAL);

	if (n > 0) {
		sc->hoff += (size_t)n;
		progress(sc);
	} else if (errno != EAGAIN) {
		if (verbose)
			msg("%s: send: %s", sc->peer, strerror(errno));
		sc_close(sc);
		return;
	}
	if (sc->hoff < sc->hlen)
		sc_poll(sc, POLLOUT);
	else
		body_next(sc);
}

/* A write or flush said @n: go on (0), wait for room (1), or it failed. */
static int us_result(struct sconn *sc, ssize_t n)
{
	if (n >= 0)
		return 0;
	if (errno == EAGAIN) {
		sc_poll(sc, POLLOUT);
		return 1;
	}
	if (verbose)
		msg("%s: %s", sc->peer, pl_conn_error(sc->c)->msg);
	sc_close(sc);
	return -1;
}

/*
 * The socket writable while a response is sent: on the kernel datapath
 * the next sendfile(); on the userspace datapath (or the kernel's, when
 * it refused sendfile) what was sealed and not sent, then the rest of the
 * head, or the next piece of the body.
 */
void sf_writable(struct sconn *sc)
{
	static __thread char buf[CHUNK];
	size_t want = pl_conn_record_max(sc->c) * 4;
	ssize_t n;

	if (!sc->copy && sc->hoff < sc->hlen) {
		send_head(sc);
		return;
	}
	if (!sc->copy) {
		sendfile_step(sc);
		return;
	}
	if (us_result(sc, pl_conn_flush(sc->c)))
		return;
	if (sc->hoff < sc->hlen) {
		n = pl_conn_write(sc->c, sc->head + sc->hoff, sc->hlen - sc->hoff);
		if (us_result(sc, n))
			return;
		sc->hoff += (size_t)n;
		progress(sc);
	} else if (sc->left) {
		if (!want || want > sizeof(buf))
			want = sizeof(buf);
		if (want > sc->left)
			want = (size_t)sc->left;
		n = pread(sc->file, buf, want, (off_t)sc->off);
		if (n <= 0) {
			msg("%s: reading the file: %s", sc->peer,
			    n ? strerror(errno) : "it became shorter");
			sc_close(sc);
			return;
		}
		/* What the connection did not take is read again next time. */
		n = pl_conn_write(sc->c, buf, (size_t)n);
		if (us_result(sc, n))
			return;
		sc->off += (uint64_t)n;
		sc->left -= (uint64_t)n;
		sc->body += (uint64_t)n;
		progress(sc);
	}
	/* The response is over only once all of it is on its way. */
	if (sc->hoff < sc->hlen || pl_conn_want_write(sc->c)) {
		sc_poll(sc, POLLOUT);
		return;
	}
	body_next(sc);
}

void sf_respond(struct sconn *sc, long rc)
{
	struct serve *s = sc->w->s;
	struct http_req *r = &sc->req;
	char extra[512] = "", path[4096], body[128] = "", date[64];
	uint64_t first = 0, last = 0;
	struct stat st;
	long long clen;
	int status, fd = -1, rr;
	bool head_only = r->method == HTTP_HEAD;

	sc->keep = false;
	sc->body = 0;
	sc->copy = !sc->kernel;
	if (rc < 0) {
		status = (int)-rc;
		head_only = false;
		goto error;
	}
	sc->keep = r->keep_alive;
	if (r->method == HTTP_OTHER) {
		status = 405;
		snprintf(extra, sizeof(extra), "Allow: GET, HEAD\r\n");
		goto error;
	}
	status = http_path(r->target, r->target_len, path, sizeof(path));
	if (status)
		goto error;
	fd = http_open(s->dirfd, path, &st);
	if (fd < 0) {
		status = -fd;
		goto error;
	}
	http_date(st.st_mtime, date, sizeof(date));
	if (r->has_ims && st.st_mtime <= r->ims) {
		status = 304;
		snprintf(extra, sizeof(extra), "Last-Modified: %s\r\n", date);
		close(fd);
		clen = -1;
		goto head;
	}
	rr = http_range(r->range, (uint64_t)st.st_size, &first, &last);
	if (rr < 0) {
		status = 416;
		snprintf(extra, sizeof(extra), "Content-Range: bytes */%lld\r\n",
			 (long long)st.st_size);
		close(fd);
		goto error;
	}
	if (rr == 0) {
		first = 0;
		last = st.st_size ? (uint64_t)st.st_size - 1 : 0;
	}
	status = rr ? 206 : 200;
	clen = st.st_size ? (long long)(last - first + 1) : 0;
	snprintf(extra, sizeof(extra),
		 "Content-Type: %s\r\nLast-Modified: %s\r\nAccept-Ranges: bytes\r\n",
		 content_type(path), date);
	if (rr)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
			 "Content-Range: bytes %llu-%llu/%lld\r\n",
			 (unsigned long long)first, (unsigned long long)last,
			 (long long)st.st_size);
	if (head_only || !clen) {
		close(fd);
	} else {
		sc->file = fd;
		sc->off = first;
		sc->left = (uint64_t)clen;
	}
	goto head;
error:
	if (status == 400 || status == 431 || status == 501 || status == 505 ||
	    status == 414 || status == 500)
		sc->keep = false;
	snprintf(body, sizeof(body), "%d %s\n", status, http_reason(status));
	snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
		 "Content-Type: text/plain\r\n");
	clen = (long long)strlen(body);
head:
	sc->status = status;
	sc->hlen = http_head(sc->head, sizeof(sc->head), status, extra, clen,
			     sc->keep && !serve_stopping);
	if (!head_only && body[0] && sc->hlen + strlen(body) < sizeof(sc->head)) {
		memcpy(sc->head + sc->hlen, body, strlen(body));
		sc->hlen += strlen(body);
	}
	sc->hoff = 0;
	progress(sc);
	if (sc->kernel)
		send_head(sc);
	else
		sf_writable(sc);
}
