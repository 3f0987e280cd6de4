// SPDX-License-Identifier: GPL-2.0
/*
 * serve: a request's response.  The status from the request (http.c), the
 * head, then the body:
 *  - kernel datapath: the socket (plasmatic.ko frames the records) takes
 *    the head by IORING_OP_SEND and the body by two linked
 *    IORING_OP_SPLICE (file -> pipe, pipe -> socket), no copy through
 *    userspace; if the socket refuses splice, as the userspace path;
 *  - userspace datapath: pread + pl_conn_write (the engine seals the
 *    records) on the O_NONBLOCK socket, head and body, a chunk each time
 *    the ring says the socket is writable; what the socket did not take
 *    stays sealed in the connection until pl_conn_flush() sends it, so a
 *    client that reads slowly never holds the worker.
 * On the kernel datapath the socket is blocking while a response is sent
 * (the ring's SEND and SPLICE do not wait in the worker) and O_NONBLOCK
 * again while the next request is read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "serve.h"

#define CHUNK	(64 * 1024)
/*
 * A large body is spliced through a pipe of this size (F_SETPIPE_SZ, at
 * most /proc/sys/fs/pipe-max-size without privilege; 1 MiB by default):
 * each chunk is two splices run by an io-wq thread, so 16 times fewer
 * chunks save that many hand-offs.  The pipe's pages count against the
 * user's pipe-user-pages-soft only while the response lasts.  Over that
 * limit the kernel refuses the size (the default 64 KiB pipe does) and
 * gives new pipes two pages: splices into them come short, and the chain
 * goes on from what they moved (sf_complete()).
 */
#define BIG_CHUNK	(1024 * 1024)

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
	if (sc->pipe[0] >= 0) {
		close(sc->pipe[0]);
		close(sc->pipe[1]);
	}
	sc->file = sc->pipe[0] = sc->pipe[1] = -1;
	sc->inpipe = 0;
	sc->chunk = 0;
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

static void send_head(struct sconn *sc)
{
	struct io_uring_sqe *sqe = sq_get(sc->w);

	io_uring_prep_send(sqe, sc->fd, sc->head + sc->hoff, sc->hlen - sc->hoff,
			   MSG_NOSIGNAL);
	io_uring_sqe_set_data(sqe, (void *)((uintptr_t)sc | SQ_SEND));
	sc->inflight++;
}

static void splice_chain(struct sconn *sc)
{
	struct io_uring_sqe *sqe;
	unsigned int n = sc->left < sc->chunk ? (unsigned int)sc->left :
					       sc->chunk;

	if (sc->inpipe) {
		/* What the socket did not take last time. */
		sqe = sq_get(sc->w);
		io_uring_prep_splice(sqe, sc->pipe[0], -1, sc->fd, -1,
				     (unsigned int)sc->inpipe, 0);
		io_uring_sqe_set_data(sqe, (void *)((uintptr_t)sc | SQ_SPLICE_OUT));
		sc->inflight++;
		return;
	}
	sqe = sq_get(sc->w);
	io_uring_prep_splice(sqe, sc->file, (int64_t)sc->off, sc->pipe[1], -1,
			     n, 0);
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_sqe_set_data(sqe, (void *)((uintptr_t)sc | SQ_SPLICE_IN));
	sc->inflight++;
	/* A short splice in breaks the link: this one is then cancelled. */
	sqe = sq_get(sc->w);
	io_uring_prep_splice(sqe, sc->pipe[0], -1, sc->fd, -1, n, 0);
	io_uring_sqe_set_data(sqe, (void *)((uintptr_t)sc | SQ_SPLICE_OUT));
	sc->inflight++;
}

/* The next piece of the body, or the end of the response. */
static void body_next(struct sconn *sc)
{
	if (!sc->left && !sc->inpipe) {
		sc_next(sc);
		return;
	}
	if (sc->copy) {
		sc_poll(sc, POLLOUT);
		return;
	}
	if (sc->pipe[0] < 0 && pipe2(sc->pipe, O_CLOEXEC)) {
		sc->pipe[0] = sc->pipe[1] = -1;
		sc->copy = true;	/* out of fds: copy instead */
		sc_poll(sc, POLLOUT);
		return;
	}
	if (!sc->chunk) {
		int sz = -1;

		if (sc->left >= BIG_CHUNK)
			sz = fcntl(sc->pipe[1], F_SETPIPE_SZ, BIG_CHUNK);
		sc->chunk = sz >= CHUNK ? (unsigned int)sz : CHUNK;
	}
	splice_chain(sc);
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
 * Userspace datapath, the socket writable: what was sealed and not sent,
 * then the rest of the head, or the next piece of the body.
 */
void sf_writable(struct sconn *sc)
{
	static __thread char buf[CHUNK];
	size_t want = pl_conn_record_max(sc->c) * 4;
	ssize_t n;

	/* Also the kernel datapath's copy (no splice): never wait here. */
	if (sc->kernel)
		sc_set_blocking(sc, false);
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

void sf_complete(struct sconn *sc, int tag, int res)
{
	switch (tag) {
	case SQ_SEND:
		if (res <= 0) {
			sc_close(sc);
			return;
		}
		sc->hoff += (size_t)res;
		progress(sc);
		if (sc->hoff < sc->hlen)
			send_head(sc);
		else
			body_next(sc);
		return;
	case SQ_SPLICE_IN:
		if (res > 0) {
			sc->inpipe += (size_t)res;
			sc->off += (uint64_t)res;
			sc->left -= (uint64_t)res;
		} else if (res != -ECANCELED) {
			msg("%s: splice from the file: %s", sc->peer,
			    res ? strerror(-res) : "it became shorter");
			sc->file_failed = true;
		}
		break;
	case SQ_SPLICE_OUT:
		if (res > 0) {
			sc->inpipe -= (size_t)res;
			sc->body += (uint64_t)res;
			progress(sc);
		} else if ((res == -EINVAL || res == -EOPNOTSUPP) && !sc->body) {
			/* No splice into this socket: copy instead. */
			sc->off -= sc->inpipe;
			sc->left += sc->inpipe;
			close(sc->pipe[0]);
			close(sc->pipe[1]);
			sc->pipe[0] = sc->pipe[1] = -1;
			sc->inpipe = 0;
			sc->copy = true;
		} else if (res != -ECANCELED) {
			if (verbose)
				msg("%s: splice to the socket: %s", sc->peer,
				    strerror(-res));
			sc_close(sc);
			return;
		}
		break;
	default:
		sc_close(sc);
		return;
	}
	if (sc->inflight)
		return;		/* the other half of the chain */
	if (sc->file_failed) {
		sc_close(sc);	/* the client sees the body end short */
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
	sc->file_failed = false;
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
	if (sc->kernel) {
		sc_set_blocking(sc, true);
		send_head(sc);
		return;
	}
	/* Userspace datapath: the socket stays O_NONBLOCK (sf_writable()). */
	sf_writable(sc);
}
