/* SPDX-License-Identifier: GPL-2.0 */
/*
 * plasmatic serve DIR [ADDR:]PORT: static files over Plasmatic, HTTP/1.1.
 *
 *   serve.c       the command: options, listening sockets (one per worker,
 *                 SO_REUSEPORT), workers, signals, the per-address limit
 *   serve_loop.c  a worker: one io_uring loop for accepts, handshake
 *                 readiness (IORING_OP_POLL_ADD), request reads, the idle
 *                 timeouts (a periodic IORING_OP_TIMEOUT sweep)
 *   serve_file.c  a request's response: path, status, head, body (kernel
 *                 datapath: sendfile(2) when the socket is writable;
 *                 userspace datapath: pl_conn_write)
 *   http.c        parsing, paths, ranges, dates (no I/O)
 */
#ifndef PLASMATIC_CLI_SERVE_H
#define PLASMATIC_CLI_SERVE_H

#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#include "http.h"
#include "tunnel.h"

struct serve {
	struct tunnel t;	/* first: the option tables' base is &t.o */
	const char *dir;
	int idle_timeout;	/* seconds: a request's head, a stalled send */
	int per_ip;		/* connections per client address, 0: any */
	int workers;		/* 0: one per CPU */
	int no_log;		/* no access log */
	/* at run time */
	int dirfd;
	_Atomic(struct pl_ctx *) ctx;	/* for new connections (SIGHUP) */
	int nworkers;
	struct worker *w;
	atomic_int probes;	/* fallback threads running */
};

extern atomic_bool serve_stopping;	/* SIGTERM, SIGHUP, SIGINT */

struct worker {
	struct serve *s;
	int id, lfd;
	struct io_uring ring;
	struct sconn *conns;	/* all of this worker's, doubly linked */
	int nconns;
	bool accepting, accept_armed, tick_armed;
	struct sconn *runq, *runq_tail;	/* reads to run (sc_next()) */
	pthread_t th;
};

enum sc_state { SC_HS, SC_READ, SC_SEND, SC_DEAD };

struct sconn {
	struct worker *w;
	struct sconn *prev, *next;
	struct sconn *runq_next;	/* in w->runq */
	int fd;
	enum sc_state st;
	int inflight;		/* ring operations not completed */
	long long deadline;	/* CLOCK_MONOTONIC ms */
	struct pl_handshake *hs;
	struct pl_conn *c;
	bool kernel;		/* kernel datapath */
	bool keep;		/* keep-alive after this response */
	char peer[ADDR_STR_LEN], ip[ADDR_STR_LEN];
	/* the request head (and pipelined bytes after it) */
	char buf[HTTP_HEAD_MAX];
	size_t blen, used;	/* used: the current request's head */
	struct http_req req;
	int status;
	/* the response */
	char head[1024];
	size_t hlen, hoff;
	int file;
	uint64_t off, left, body;	/* body: bytes of body sent */
	bool copy;		/* body by pl_conn_write (userspace, no sendfile) */
};

/* user_data of the ring: a struct sconn pointer | an SQ_* tag, or UD_*. */
enum { SQ_POLL = 1, SQ_CANCEL = 2, SQ_TAGS = 3 };
#define UD_ACCEPT	1
#define UD_TICK		2

/* A worker's submission entry (submitting when the queue is full). */
struct io_uring_sqe *sq_get(struct worker *w);

/* serve.c: the per-address limit; 0 taken, -1 over it. */
int ip_take(struct serve *s, const char *ip);
void ip_release(struct serve *s, const char *ip);

/* serve_loop.c */
void *worker_main(void *arg);
/* Poll for events (POLLIN, POLLOUT) on the connection's socket. */
void sc_poll(struct sconn *sc, unsigned int events);
/* The connection is over: closed once nothing is in flight. */
void sc_close(struct sconn *sc);
/* After a response: next request (keep-alive) or close. */
void sc_next(struct sconn *sc);

/* serve_file.c */
/* The head of sc->buf holds a request (parse result rc): respond. */
void sf_respond(struct sconn *sc, long rc);
/* SQ_POLL completion while sending (POLLOUT). */
void sf_writable(struct sconn *sc);
/* The access log line of the response (if on). */
void sf_log(struct sconn *sc);
/* Free what the response holds (the file). */
void sf_release(struct sconn *sc);

#endif
