// SPDX-License-Identifier: GPL-2.0
/*
 * A serve worker: one io_uring for everything of its connections.
 *
 * Each connection has one operation in flight at most: a poll in the
 * ring, or its place in the worker's run queue (sc_next()); and the
 * cancel while it is being closed.  It is freed once it is over and
 * nothing of it is in flight (a timed-out connection's poll is cancelled
 * first).
 *   accept (IORING_OP_ACCEPT, re-armed) -> per-address limit ->
 *   handshake: pl_accept_start, pl_handshake_step on each readiness
 *     (IORING_OP_POLL_ADD); a prober goes to a thread of its own that
 *     runs the library's blocking fallback;
 *   request: readiness (POLL_ADD POLLIN), then pl_conn_read on the
 *     O_NONBLOCK socket (it says EAGAIN without a whole record), until a
 *     head is complete (http_parse);
 *   response: serve_file.c; then the next request, or close.
 * A tick (IORING_OP_TIMEOUT, 250 ms) closes the connections past their
 * deadline: the handshake timeout (--timeout), a request head not
 * complete within --idle-timeout of its first byte being awaited (a
 * slowloris), a send making no progress as long; and on SIGTERM/SIGINT
 * stops accepting and closes the idle connections; the worker ends when
 * none is left.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"

#define TICK_MS		250

struct io_uring_sqe *sq_get(struct worker *w)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);

	if (!sqe) {
		io_uring_submit(&w->ring);
		sqe = io_uring_get_sqe(&w->ring);
	}
	if (!sqe)
		abort();	/* the queue was just emptied */
	return sqe;
}

static void *ud(struct sconn *sc, int tag)
{
	return (void *)((uintptr_t)sc | (uintptr_t)tag);
}

static void arm_accept(struct worker *w)
{
	struct io_uring_sqe *sqe = sq_get(w);

	io_uring_prep_accept(sqe, w->lfd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, UD_ACCEPT);
	w->accept_armed = true;
}

static void arm_tick(struct worker *w)
{
	static struct __kernel_timespec ts = { .tv_nsec = TICK_MS * 1000000L };
	struct io_uring_sqe *sqe = sq_get(w);

	io_uring_prep_timeout(sqe, &ts, 0, 0);
	io_uring_sqe_set_data64(sqe, UD_TICK);
	w->tick_armed = true;
}

void sc_poll(struct sconn *sc, unsigned int events)
{
	struct io_uring_sqe *sqe = sq_get(sc->w);

	io_uring_prep_poll_add(sqe, sc->fd, events);
	io_uring_sqe_set_data(sqe, ud(sc, SQ_POLL));
	sc->inflight++;
}

static void sc_free(struct sconn *sc)
{
	struct worker *w = sc->w;

	sf_release(sc);
	pl_handshake_free(sc->hs);
	if (sc->c) {
		/* close_notify (the socket is O_NONBLOCK: no wait for room). */
		pl_conn_shutdown(sc->c);
		pl_conn_free(sc->c);
	}
	if (sc->fd >= 0) {
		shutdown(sc->fd, SHUT_WR);
		close(sc->fd);
		ip_release(w->s, sc->ip);
	}
	if (sc->prev)
		sc->prev->next = sc->next;
	else
		w->conns = sc->next;
	if (sc->next)
		sc->next->prev = sc->prev;
	w->nconns--;
	free(sc);
}

void sc_close(struct sconn *sc)
{
	if (sc->st != SC_DEAD && sc->inflight) {
		struct io_uring_sqe *sqe = sq_get(sc->w);

		/* The poll under way on it ends now. */
		shutdown(sc->fd, SHUT_RDWR);

		io_uring_prep_cancel_fd(sqe, sc->fd, IORING_ASYNC_CANCEL_ALL);
		io_uring_sqe_set_data(sqe, ud(sc, SQ_CANCEL));
		sc->inflight++;
	}
	sc->st = SC_DEAD;
	if (!sc->inflight)
		sc_free(sc);
}

/* A prober: the library's fallback, in a thread of its own. */
struct probe {
	struct serve *s;
	struct pl_handshake *hs;
	int fd;
	char ip[ADDR_STR_LEN];
};

static void *probe_main(void *arg)
{
	struct probe *p = arg;

	pl_handshake_fallback(p->hs);
	pl_handshake_free(p->hs);
	close(p->fd);
	ip_release(p->s, p->ip);
	atomic_fetch_sub(&p->s->probes, 1);
	free(p);
	return NULL;
}

static void to_probe(struct sconn *sc, const struct pl_error *err)
{
	struct serve *s = sc->w->s;
	struct probe *p = calloc(1, sizeof(*p));
	pthread_attr_t at;
	pthread_t th;

	if (verbose)
		msg("%s: %s", sc->peer, err->msg);
	if (!p)
		goto fail;
	p->s = s;
	p->hs = sc->hs;
	p->fd = sc->fd;
	memcpy(p->ip, sc->ip, sizeof(p->ip));
	atomic_fetch_add(&s->probes, 1);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &at, probe_main, p)) {
		atomic_fetch_sub(&s->probes, 1);
		pthread_attr_destroy(&at);
		free(p);
		goto fail;
	}
	pthread_attr_destroy(&at);
	/* The thread owns the fd, the handshake and the address count. */
	sc->hs = NULL;
	sc->fd = -1;
	sc_close(sc);
	return;
fail:
	sc_close(sc);
}

static void sc_read(struct sconn *sc);

static void sc_handshake(struct sconn *sc)
{
	struct pl_error err;
	int rc = pl_handshake_step(sc->hs, &err);

	switch (rc) {
	case PL_HS_WANT_READ:
		sc_poll(sc, POLLIN);
		return;
	case PL_HS_WANT_WRITE:
		sc_poll(sc, POLLOUT);
		return;
	case PL_HS_PROBE:
		to_probe(sc, &err);
		return;
	case PL_HS_DONE:
		sc->c = pl_handshake_conn(sc->hs);
		pl_handshake_free(sc->hs);
		sc->hs = NULL;
		sc->kernel = pl_conn_datapath(sc->c) == PL_DATAPATH_KERNEL;
		print_info(sc->c, sc->peer);
		sc->st = SC_READ;
		sc->deadline = now_ms() + sc->w->s->idle_timeout * 1000LL;
		sc_read(sc);
		return;
	}
	if (verbose)
		msg("%s: %s", sc->peer, err.msg);
	sc_close(sc);
}

/* Read until a request head is there, then respond. */
static void sc_read(struct sconn *sc)
{
	for (;;) {
		long rc = http_parse(sc->buf, sc->blen, &sc->req);
		ssize_t n;

		if (rc) {
			sc->used = rc > 0 ? (size_t)rc : sc->blen;
			sc->st = SC_SEND;
			sf_respond(sc, rc);
			return;
		}
		n = pl_conn_read(sc->c, sc->buf + sc->blen,
				 sizeof(sc->buf) - sc->blen);
		if (n > 0) {
			sc->blen += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			if (serve_stopping && !sc->blen) {
				sc_close(sc);	/* idle: stop now */
				return;
			}
			sc_poll(sc, POLLIN);
			return;
		}
		/* The end of the client's data, or a failure. */
		if (n < 0 && verbose)
			msg("%s: %s", sc->peer, pl_conn_error(sc->c)->msg);
		sc_close(sc);
		return;
	}
}

void sc_next(struct sconn *sc)
{
	sf_log(sc);
	sf_release(sc);
	if (!sc->keep || serve_stopping) {
		sc_close(sc);
		return;
	}
	/* Pipelined bytes after the head stay for the next request. */
	memmove(sc->buf, sc->buf + sc->used, sc->blen - sc->used);
	sc->blen -= sc->used;
	sc->used = 0;
	sc->st = SC_READ;
	sc->deadline = now_ms() + sc->w->s->idle_timeout * 1000LL;
	/*
	 * Not sc_read() from here: a response can end without waiting
	 * (sendfile took it all), and a client whose next request is always
	 * there by then would make the recursion as deep as its requests.
	 * The worker's loop reads next (run_deferred()); the entry counts as
	 * an operation in flight, so that a close meanwhile frees it later.
	 */
	sc->inflight++;
	sc->runq_next = NULL;
	if (sc->w->runq_tail)
		sc->w->runq_tail->runq_next = sc;
	else
		sc->w->runq = sc;
	sc->w->runq_tail = sc;
}

/* The reads sc_next() deferred, those queued before this call only. */
static void run_deferred(struct worker *w)
{
	struct sconn *sc = w->runq, *next;

	w->runq = w->runq_tail = NULL;
	for (; sc; sc = next) {
		next = sc->runq_next;
		sc->inflight--;
		if (sc->st == SC_DEAD) {
			if (!sc->inflight)
				sc_free(sc);
			continue;
		}
		sc_read(sc);
	}
}

static void on_accept(struct worker *w, int fd)
{
	struct serve *s = w->s;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct pl_error err;
	struct sconn *sc;
	char *colon;
	int one = 1;

	sc = calloc(1, sizeof(*sc));
	if (!sc) {
		close(fd);
		return;
	}
	sc->w = w;
	sc->fd = -1;
	sc->file = -1;
	if (!getpeername(fd, (struct sockaddr *)&ss, &sl))
		addr_str((struct sockaddr *)&ss, sl, sc->peer, sizeof(sc->peer));
	/* The address without the port: "1.2.3.4", "[::1]". */
	memcpy(sc->ip, sc->peer, sizeof(sc->ip));
	colon = strrchr(sc->ip, ':');
	if (colon)
		*colon = 0;
	if (ip_take(s, sc->ip)) {
		if (verbose)
			msg("%s: over --max-per-ip %d: closed", sc->peer, s->per_ip);
		close(fd);
		free(sc);
		return;
	}
	sc->fd = fd;
	sc->next = w->conns;
	if (w->conns)
		w->conns->prev = sc;
	w->conns = sc;
	w->nconns++;
	/*
	 * As nginx's tcp_nodelay (on by default): a response's head and body
	 * go out in separate writes, and Nagle would hold the body's last
	 * segment until the client's delayed ACK of the head, 40 ms on every
	 * keep-alive request.
	 */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	tunnel_shape(&s->t.o, fd);
	sc->st = SC_HS;
	sc->deadline = s->t.o.cfg.handshake_timeout ?
		       now_ms() + s->t.o.cfg.handshake_timeout * 1000LL : 0;
	/* O_NONBLOCK for good: nothing waits in the worker (serve_file.c). */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	sc->hs = pl_accept_start(atomic_load(&s->ctx), fd, &err);
	if (!sc->hs) {
		msg("%s: %s", sc->peer, err.msg);
		sc_close(sc);
		return;
	}
	sc_handshake(sc);
}

static void on_tick(struct worker *w)
{
	long long now = now_ms();
	struct sconn *sc, *next;

	if (serve_stopping && w->accepting) {
		w->accepting = false;
		if (w->accept_armed) {
			struct io_uring_sqe *sqe = sq_get(w);

			io_uring_prep_cancel64(sqe, UD_ACCEPT, 0);
			io_uring_sqe_set_data64(sqe, 0);
		}
	}
	for (sc = w->conns; sc; sc = next) {
		next = sc->next;
		if (sc->st == SC_DEAD)
			continue;
		if (sc->deadline && now >= sc->deadline) {
			if (verbose)
				msg("%s: timed out (%s)", sc->peer,
				    sc->st == SC_HS ? "handshake" :
				    sc->st == SC_READ ? "request head" : "send");
			sc_close(sc);
		} else if (serve_stopping &&
			   (sc->st == SC_HS || (sc->st == SC_READ && !sc->blen))) {
			sc_close(sc);
		}
	}
}

static void on_cqe(struct worker *w, struct io_uring_cqe *cqe)
{
	uint64_t d = cqe->user_data;
	struct sconn *sc;
	int tag, res = cqe->res;

	if (d == 0)
		return;
	if (d == UD_ACCEPT) {
		w->accept_armed = false;
		if (res >= 0 && w->accepting)
			on_accept(w, res);
		else if (res >= 0)
			close(res);
		else if (res != -ECANCELED && res != -EINTR && res != -EAGAIN &&
			 res != -ECONNABORTED)
			msg("accept: %s", strerror(-res));
		if (w->accepting)
			arm_accept(w);
		return;
	}
	if (d == UD_TICK) {
		w->tick_armed = false;
		on_tick(w);
		if (w->nconns || w->accepting || w->accept_armed)
			arm_tick(w);
		return;
	}
	sc = (struct sconn *)(uintptr_t)(d & ~(uint64_t)SQ_TAGS);
	tag = (int)(d & SQ_TAGS);
	sc->inflight--;
	if (sc->st == SC_DEAD) {
		if (!sc->inflight)
			sc_free(sc);
		return;
	}
	if (tag == SQ_CANCEL)
		return;
	switch (sc->st) {
	case SC_HS:
		if (res < 0)
			sc_close(sc);
		else
			sc_handshake(sc);
		break;
	case SC_READ:
		if (res < 0)
			sc_close(sc);
		else
			sc_read(sc);
		break;
	case SC_SEND:
		if (res < 0)
			sc_close(sc);
		else
			sf_writable(sc);
		break;
	case SC_DEAD:
		break;
	}
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct io_uring_cqe *cqe;

	w->accepting = true;
	arm_accept(w);
	arm_tick(w);
	while (w->accepting || w->accept_armed || w->nconns || w->tick_armed) {
		unsigned int head, n = 0;
		int rc;

		run_deferred(w);
		/* Requests read just now may have queued more: no wait then. */
		rc = w->runq ? io_uring_submit(&w->ring) :
			       io_uring_submit_and_wait(&w->ring, 1);

		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			msg("io_uring: %s", strerror(-rc));
			break;
		}
		io_uring_for_each_cqe(&w->ring, head, cqe) {
			on_cqe(w, cqe);
			n++;
		}
		io_uring_cq_advance(&w->ring, n);
		if (!w->accepting && !w->accept_armed && !w->nconns)
			break;
	}
	return NULL;
}
