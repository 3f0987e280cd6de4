// SPDX-License-Identifier: GPL-2.0
/*
 * ku_sendfile_test: KeyUpdates in both directions in the middle of a
 * duplex transfer, several times, with data in flight, while the kernel
 * datapath sends its stream with one sendfile() of a file.
 *
 * Each end sends N bytes (PL_TEST_BYTES, at least 4M) of a known pattern
 * and reads the peer's N bytes at the same time, checking every byte and
 * the FNV-1a sum.  An end on the kernel datapath sends its stream with a
 * single sendfile() on pl_conn_fd() of a file holding the pattern; an end
 * on the userspace datapath with pl_conn_write() in chunks of random size.
 * Small socket buffers (SO_SNDBUF and SO_RCVBUF 64 KiB) keep each sender
 * far from done while its peer has read only part of the stream.
 *
 * KeyUpdates are triggered by the receiver's progress: each time the
 * receiver B of a stream from A has read another N/6 (4 times, the last
 * with a third of the stream still to come):
 *   peer_asks_c2s, peer_asks_s2c
 *                  B sends a KeyUpdate with update_requested: A must
 *                  answer it before its next record, i.e. in the middle of
 *                  its sendfile() when A is on the kernel datapath (the
 *                  module answers by itself).  One stream at a time, so
 *                  that B's requests are not queued behind data of B's;
 *   sender_updates A sends a KeyUpdate (update_not_requested) in the middle
 *                  of its own stream: on the kernel datapath from another
 *                  thread, during A's sendfile(); both streams at once;
 *   both           both at once, both streams (A's own KeyUpdates request
 *                  one too).
 * Each end issues its KeyUpdates from the thread that writes (userspace
 * datapath: between two pl_conn_write()s) or, on the kernel datapath, from
 * a thread of its own while the writer is inside sendfile().
 *
 * Checked: both streams arrive whole and right (bytes, pattern, sum), end
 * with close_notify, and carry at least 4 KeyUpdates strictly inside the
 * data (data records before and after them):
 *   - a receiver on the userspace datapath records the stream offset of
 *     every KeyUpdate it processes (pl_conn_info's key_updates_in);
 *   - on the kernel datapath the plasmatic tracepoints (a tracefs instance
 *     of our own) show, per socket, the KeyUpdate records sent between two
 *     data records of the sendfile (nothing else sends data on it) and
 *     those received between two data records.
 * Pairings come from PL_TEST_CLIENT_DATAPATH / PL_TEST_SERVER_DATAPATH
 * (run_vm.sh: kernel<->kernel, kernel<->userspace both ways); without the
 * module both ends are userspace (no sendfile) and the offsets are checked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>


#include "kselftest_harness.h"
#include "plasmatic.h"
#include "pl_engine.h"
#include "testpair.h"

#define KUS		4	/* KeyUpdates at 1/6 .. 4/6 of each stream */
#define PARTS		(KUS + 2)
#define SOCKBUF		(64 * 1024)	/* the kernel doubles it */
#define TRACEFS		"/sys/kernel/tracing"

/* PL_TEST_BYTES, but far more than the socket buffers, so that every
 * KeyUpdate falls inside the sender's stream. */
static uint64_t stream_bytes(void)
{
	uint64_t v = test_bytes();

	return v < (4 << 20) ? 4 << 20 : v;
}

/* A connected TCP pair over loopback with small buffers and timeouts. */
static int ku_tcp_pair(int *cfd, int *sfd)
{
	struct timeval tv = { .tv_sec = 60 };

	if (tcp_pair_bufs(cfd, sfd, SOCKBUF))
		return -1;
	for (int i = 0; i < 2; i++) {
		int fd = i ? *sfd : *cfd;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	return 0;
}

/* ------------------------------------------------ data stream + checks */

enum mode { PEER_ASKS = 1, SENDER_UPDATES = 2, BOTH = 3 };

/* Who issues the KeyUpdates of an end, and what is left to do. */
struct agent {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int pending[2];		/* [request_peer] */
	int expected, done;	/* in this run, and done so far */
	int err;		/* pl_code of a failed KeyUpdate */
	bool stop;
	pthread_t th;		/* kernel datapath: the KeyUpdate thread */
	bool th_started;
};

struct end {
	const char *name;
	struct pl_conn *c;
	struct end *peer;
	enum mode mode;
	bool kernel;
	struct agent ag;
	/* sending */
	uint64_t n, seed, sent_sum;
	int file_fd;
	int sendfile_calls;
	int write_err;
	char write_msg[400];
	/* receiving (this end reads the peer's stream) */
	struct stream_in rx;	/* the peer's stream */
	int fired;		/* progress points passed */
	int read_err;
	char read_msg[400];
	int end_how;
	uint64_t ku_seen;	/* userspace: KeyUpdates processed */
	uint64_t ku_at[64];	/* ... and their stream offsets */
	int ku_at_n;
};

static void agent_init(struct agent *a)
{
	memset(a, 0, sizeof(*a));
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
}

static void agent_queue(struct agent *a, int request)
{
	pthread_mutex_lock(&a->mu);
	a->pending[request]++;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

/* One pending KeyUpdate, issued now (called by the end's KeyUpdate issuer). */
static bool agent_do_one(struct end *e)
{
	struct agent *a = &e->ag;
	int req = -1;

	pthread_mutex_lock(&a->mu);
	if (a->pending[1])
		req = 1;
	else if (a->pending[0])
		req = 0;
	if (req >= 0)
		a->pending[req]--;
	pthread_mutex_unlock(&a->mu);
	if (req < 0)
		return false;
	if (pl_conn_key_update(e->c, req) && !a->err)
		a->err = pl_conn_error(e->c)->code ? pl_conn_error(e->c)->code :
			 PL_E_SYS;
	pthread_mutex_lock(&a->mu);
	a->done++;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return true;
}

/* Kernel datapath: KeyUpdates from their own thread, during sendfile. */
static void *agent_thread(void *arg)
{
	struct end *e = arg;
	struct agent *a = &e->ag;

	for (;;) {
		pthread_mutex_lock(&a->mu);
		while (!a->stop && !a->pending[0] && !a->pending[1])
			pthread_cond_wait(&a->cv, &a->mu);
		if (a->stop && !a->pending[0] && !a->pending[1]) {
			pthread_mutex_unlock(&a->mu);
			return NULL;
		}
		pthread_mutex_unlock(&a->mu);
		agent_do_one(e);
	}
}

/*
 * The writer waits, before its close_notify, until every KeyUpdate this
 * end owes in the run is done (their triggers depend on the progress of
 * both streams).  Userspace: it issues them itself.
 */
static int agent_finish(struct end *e)
{
	struct agent *a = &e->ag;
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 120;
	for (;;) {
		pthread_mutex_lock(&a->mu);
		while (a->done < a->expected && !(!e->kernel &&
		       (a->pending[0] || a->pending[1])) && rc == 0)
			rc = pthread_cond_timedwait(&a->cv, &a->mu, &until);
		if (a->done >= a->expected || rc) {
			pthread_mutex_unlock(&a->mu);
			break;
		}
		pthread_mutex_unlock(&a->mu);
		agent_do_one(e);
	}
	if (e->kernel && a->th_started) {
		pthread_mutex_lock(&a->mu);
		a->stop = true;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->th, NULL);
		a->th_started = false;
	}
	return rc ? -1 : 0;
}

/*
 * The receiver of a stream passed another N/6: queue the KeyUpdates.  A
 * userspace receiver that only asks waits for the answer to its last
 * request before the next one: a sender answers all the requests it got
 * before its next record with one KeyUpdate (RFC 8446 4.6.3), and the
 * test counts one answer per request.
 */
static void progress(struct end *rcv)
{
	struct end *snd = rcv->peer;

	while (snd->n && rcv->fired < KUS &&
	       rcv->rx.bytes >= (uint64_t)(rcv->fired + 1) * snd->n / PARTS &&
	       (rcv->kernel || rcv->mode != PEER_ASKS ||
		rcv->ku_seen >= (uint64_t)rcv->fired)) {
		rcv->fired++;
		if (rcv->mode & PEER_ASKS)
			agent_queue(&rcv->ag, 1);
		if (rcv->mode & SENDER_UPDATES)
			agent_queue(&snd->ag, rcv->mode == BOTH ? 1 : 0);
	}
}

static void *writer(void *arg)
{
	struct end *e = arg;
	static __thread uint8_t buf[70000];
	uint64_t off = 0, rnd = e->seed;

	if (e->kernel && e->n) {
		/* One sendfile() for the whole stream (again only if it
		 * returns short). */
		off_t pos = 0;

		while ((uint64_t)pos < e->n) {
			ssize_t w = sendfile(pl_conn_fd(e->c), e->file_fd, &pos,
					     (size_t)(e->n - (uint64_t)pos));

			e->sendfile_calls++;
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				e->write_err = PL_E_SYS;
				snprintf(e->write_msg, sizeof(e->write_msg),
					 "sendfile after %lld bytes: %s", (long long)pos,
					 w < 0 ? strerror(errno) : "returned 0");
				break;
			}
		}
	} else if (!e->kernel) {
		while (off < e->n && !e->write_err) {
			size_t chunk;

			while (agent_do_one(e))
				;
			chunk = stream_chunk(&rnd, sizeof(buf), e->n - off);
			gen(e->seed, off, buf, chunk);
			if (pl_conn_write(e->c, buf, chunk) != (ssize_t)chunk) {
				e->write_err = pl_conn_error(e->c)->code;
				snprintf(e->write_msg, sizeof(e->write_msg), "write: %s",
					 pl_conn_error(e->c)->msg);
			}
			off += chunk;
		}
	}
	if (!e->write_err && agent_finish(e)) {
		e->write_err = PL_E_SYS;
		snprintf(e->write_msg, sizeof(e->write_msg),
			 "KeyUpdates owed not done in time (%d of %d)", e->ag.done,
			 e->ag.expected);
	}
	if (!e->write_err && pl_conn_shutdown(e->c)) {
		e->write_err = pl_conn_error(e->c)->code ? pl_conn_error(e->c)->code :
			       PL_E_SYS;
		snprintf(e->write_msg, sizeof(e->write_msg), "shutdown: %s",
			 pl_conn_error(e->c)->msg);
	}
	return NULL;
}

static void reader(struct end *e)
{
	ssize_t n;

	stream_in_start(&e->rx);
	for (;;) {
		uint64_t before = e->rx.bytes;

		n = stream_in_read(&e->rx, e->c);
		if (!e->kernel) {
			struct pl_conn_info in;

			pl_conn_info(e->c, &in);
			while (e->ku_seen < in.key_updates_in) {
				if (e->ku_at_n < 64)
					e->ku_at[e->ku_at_n++] = before;
				e->ku_seen++;
			}
		}
		if (n < 0) {
			e->read_err = pl_conn_error(e->c)->code;
			snprintf(e->read_msg, sizeof(e->read_msg), "%s",
				 pl_conn_error(e->c)->msg);
			break;
		}
		if (n == 0)
			break;
		progress(e);
	}
	e->end_how = pl_conn_end(e->c);
}

/* The end's stream as a file, for sendfile (unlinked at once). */
static int make_file(struct end *e)
{
	char path[2200];
	uint8_t *buf = malloc(1 << 20);
	uint64_t off = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/ku-sendfile-%d-%s", dir, getpid(),
		 e->name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	unlink(path);
	if (fd < 0 || !buf)
		goto fail;
	e->sent_sum = FNV_INIT;
	while (off < e->n) {
		size_t chunk = e->n - off < (1 << 20) ? (size_t)(e->n - off) : 1 << 20;

		gen(e->seed, off, buf, chunk);
		e->sent_sum = fnv(e->sent_sum, buf, chunk);
		if (write(fd, buf, chunk) != (ssize_t)chunk)
			goto fail;
		off += chunk;
	}
	free(buf);
	return fd;
fail:
	free(buf);
	if (fd >= 0)
		close(fd);
	return -1;
}

static uint64_t stream_sum(uint64_t seed, uint64_t n)
{
	static __thread uint8_t buf[65536];
	uint64_t h = FNV_INIT, off = 0;

	while (off < n) {
		size_t k = n - off < sizeof(buf) ? (size_t)(n - off) : sizeof(buf);

		gen(seed, off, buf, k);
		h = fnv(h, buf, k);
		off += k;
	}
	return h;
}

/* ------------------------------------------------------ the tracepoints */

struct trace {
	char dir[160];
	bool on;
};

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	n = n < 0 ? -errno : n == (ssize_t)strlen(s) ? 0 : -EIO;
	close(fd);
	return (int)n;
}

static int trace_up(struct trace *t)
{
	char path[256];
	int err;

	snprintf(t->dir, sizeof(t->dir), TRACEFS "/instances/ku_sendfile_%d",
		 getpid());
	rmdir(t->dir);
	if (mkdir(t->dir, 0755))
		return -errno;
	snprintf(path, sizeof(path), "%s/buffer_size_kb", t->dir);
	err = write_str(path, "8192");
	snprintf(path, sizeof(path), "%s/trace_clock", t->dir);
	err = err ?: write_str(path, "global");
	snprintf(path, sizeof(path), "%s/events/plasmatic/plasmatic_tx_record/enable",
		 t->dir);
	err = err ?: write_str(path, "1");
	snprintf(path, sizeof(path), "%s/events/plasmatic/plasmatic_rx_record/enable",
		 t->dir);
	err = err ?: write_str(path, "1");
	snprintf(path, sizeof(path), "%s/tracing_on", t->dir);
	err = err ?: write_str(path, "1");
	if (err)
		rmdir(t->dir);
	else
		t->on = true;
	return err;
}

static void trace_down(struct trace *t)
{
	char path[256];

	if (!t->on)
		return;
	snprintf(path, sizeof(path), "%s/events/plasmatic/enable", t->dir);
	write_str(path, "0");
	snprintf(path, sizeof(path), "%s/trace", t->dir);
	write_str(path, "");
	rmdir(t->dir);
	t->on = false;
}

/* Per socket and direction: records of the stream in trace order. */
struct dirstat {
	uint64_t data;		/* data records */
	uint64_t data_after_ku;	/* data records since the last KeyUpdate */
	int ku_mid;		/* KeyUpdates with data before and after */
	int ku_pending;		/* KeyUpdates after the last data so far */
	int ku_total;
};

struct sockstat {
	char sk[32];
	struct dirstat d[2];	/* [0] tx, [1] rx */
};

static void dir_event(struct dirstat *d, long type, long len)
{
	if (type == 23) {
		if (d->ku_pending && d->data)
			d->ku_mid += d->ku_pending;
		d->ku_pending = 0;
		d->data++;
	} else if (type == 22 && len == 5) {
		d->ku_total++;
		d->ku_pending++;
	}
}

/* Parse the instance's buffer; returns the number of sockets or -1. */
static int trace_stats(struct trace *t, struct sockstat *s, int cap,
		       unsigned long long *lost)
{
	char path[256], line[512];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/per_cpu/cpu0/stats", t->dir);
	*lost = 0;
	for (int cpu = 0; cpu < 64; cpu++) {
		unsigned long long v;

		snprintf(path, sizeof(path), "%s/per_cpu/cpu%d/stats", t->dir, cpu);
		f = fopen(path, "re");
		if (!f)
			break;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "overrun: %llu", &v) == 1 ||
			    sscanf(line, "dropped events: %llu", &v) == 1)
				*lost += v;
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/trace", t->dir);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, ": plasmatic_"), sk[32];
		long type, len;
		int dirn, i;

		if (line[0] == '#' || !p)
			continue;
		if (!strncmp(p, ": plasmatic_tx_record:", 22))
			dirn = 0;
		else if (!strncmp(p, ": plasmatic_rx_record:", 22))
			dirn = 1;
		else
			continue;
		p = strstr(p, "sk=");
		if (!p || sscanf(p, "sk=%31s type=%ld len=%ld", sk, &type, &len) != 3)
			continue;
		for (i = 0; i < n && strcmp(s[i].sk, sk); i++)
			;
		if (i == n) {
			if (n == cap)
				continue;
			memset(&s[n], 0, sizeof(s[n]));
			snprintf(s[n].sk, sizeof(s[n].sk), "%s", sk);
			n++;
		}
		dir_event(&s[i].d[dirn], type, len);
	}
	fclose(f);
	return n;
}

/* ---------------------------------------------------------------- run */

FIXTURE(ku) {
	struct pl_ctx *cctx, *sctx;
	struct end cli, srv;
	int cfd, sfd;
	struct trace tr;
};

FIXTURE_VARIANT(ku) {
	enum mode mode;
	const char *suite;
	bool c2s, s2c;		/* which streams carry data */
};

/* One stream at a time: the receiver's requests are not queued behind
 * data of its own, so they reach the sender while it sends. */
FIXTURE_VARIANT_ADD(ku, peer_asks_c2s) {
	.mode = PEER_ASKS, .suite = "TLS_AES_128_GCM_SHA256", .c2s = true,
};
FIXTURE_VARIANT_ADD(ku, peer_asks_s2c) {
	.mode = PEER_ASKS, .suite = "TLS_AES_128_GCM_SHA256", .s2c = true,
};
FIXTURE_VARIANT_ADD(ku, sender_updates) {
	.mode = SENDER_UPDATES, .suite = "TLS_CHACHA20_POLY1305_SHA256",
	.c2s = true, .s2c = true,
};
FIXTURE_VARIANT_ADD(ku, both) {
	.mode = BOTH, .suite = "TLS_AES_256_GCM_SHA384", .c2s = true, .s2c = true,
};

FIXTURE_SETUP(ku)
{
	memset(&self->cli, 0, sizeof(self->cli));
	memset(&self->srv, 0, sizeof(self->srv));
	self->cli.file_fd = self->srv.file_fd = -1;
	self->cfd = self->sfd = -1;
	self->tr.on = false;
}

FIXTURE_TEARDOWN(ku)
{
	trace_down(&self->tr);
	if (self->cli.file_fd >= 0)
		close(self->cli.file_fd);
	if (self->srv.file_fd >= 0)
		close(self->srv.file_fd);
	ends_free(self->cli.c, self->srv.c, self->cfd, self->sfd, self->cctx,
		  self->sctx);
}

static void *end_main(void *arg)
{
	struct end *e = arg;
	pthread_t w;

	if (pthread_create(&w, NULL, writer, e)) {
		e->write_err = PL_E_SYS;
		return NULL;
	}
	reader(e);
	pthread_join(w, NULL);
	return NULL;
}

static void end_setup(struct end *e, const char *name, struct pl_conn *c,
		      struct end *peer, enum mode mode, uint64_t n,
		      uint64_t seed, uint64_t peer_n)
{
	struct pl_conn_info in;

	e->name = name;
	e->c = c;
	e->peer = peer;
	e->mode = mode;
	e->n = n;
	e->seed = seed;
	pl_conn_info(c, &in);
	e->kernel = in.datapath == PL_DATAPATH_KERNEL;
	agent_init(&e->ag);
	/* Owed: our requests to the peer, and our own updates. */
	e->ag.expected = (mode & PEER_ASKS && peer_n ? KUS : 0) +
			 (mode & SENDER_UPDATES && n ? KUS : 0);
}

TEST_F_TIMEOUT(ku, mid_transfer, 900)
{
	struct pl_config cc, sc;
	struct pl_error err, serr;
	struct end *ends[2] = { &self->cli, &self->srv };
	pthread_t th[2];
	uint64_t n = stream_bytes();
	struct sockstat st[8];
	unsigned long long lost = 0;
	int kernels = 0, nst;

	test_configs(&cc, &sc);
	cc.ciphersuites = variant->suite;
	self->cctx = pl_ctx_new(&cc, &err);
	ASSERT_NE(NULL, self->cctx) TH_LOG("%s", err.msg);
	self->sctx = pl_ctx_new(&sc, &err);
	ASSERT_NE(NULL, self->sctx) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, ku_tcp_pair(&self->cfd, &self->sfd));

	connect_pair(self->cctx, self->sctx, self->cfd, self->sfd,
		     &self->cli.c, &self->srv.c, &err, &serr);
	ASSERT_NE(NULL, self->cli.c) TH_LOG("client: %s", err.msg);
	ASSERT_NE(NULL, self->srv.c) TH_LOG("server: %s", serr.msg);

	end_setup(&self->cli, "client", self->cli.c, &self->srv, variant->mode,
		  variant->c2s ? n : 0, 0x5151, variant->s2c ? n - 4321 : 0);
	end_setup(&self->srv, "server", self->srv.c, &self->cli, variant->mode,
		  variant->s2c ? n - 4321 : 0, 0x7272, variant->c2s ? n : 0);
	self->cli.rx.seed = self->srv.seed;
	self->srv.rx.seed = self->cli.seed;
	for (int i = 0; i < 2; i++) {
		struct end *e = ends[i];
		struct pl_conn_info in;

		pl_conn_info(e->c, &in);
		if (e->kernel && !in.kernel_key_update)
			SKIP(return, "%s: the kernel has no traffic secret (no KeyUpdate)",
			     e->name);
		if (e->kernel) {
			kernels++;
			e->sent_sum = FNV_INIT;
			e->file_fd = e->n ? make_file(e) : -1;
			ASSERT_TRUE(!e->n || e->file_fd >= 0)
				TH_LOG("%s: stream file", e->name);
			ASSERT_EQ(0, pthread_create(&e->ag.th, NULL, agent_thread, e));
			e->ag.th_started = true;
		} else {
			e->sent_sum = stream_sum(e->seed, e->n);
		}
	}
	if (kernels) {
		int terr = trace_up(&self->tr);

		if (terr)
			TH_LOG("no tracefs instance (%s): the kernel side of the KeyUpdates is not traced",
			       strerror(-terr));
	}

	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, end_main, ends[i]));
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 2; i++) {
		/* A writer that failed early may have left its thread. */
		ends[i]->ag.expected = 0;
		agent_finish(ends[i]);
	}

	/* Both streams whole and right, both ends closed cleanly. */
	for (int i = 0; i < 2; i++) {
		struct end *e = ends[i], *p = e->peer;
		struct pl_conn_info in;

		EXPECT_EQ(0, e->write_err) TH_LOG("%s: %s", e->name, e->write_msg);
		EXPECT_EQ(0, e->ag.err) TH_LOG("%s: KeyUpdate: %s", e->name,
					       pl_conn_error(e->c)->msg);
		EXPECT_EQ(0, e->read_err) TH_LOG("%s: read: %s", e->name, e->read_msg);
		EXPECT_FALSE(e->rx.mismatch) TH_LOG("%s: stream differs at %llu", e->name,
						 (unsigned long long)e->rx.mismatch_at);
		EXPECT_EQ(p->n, e->rx.bytes) TH_LOG("%s received", e->name);
		EXPECT_EQ(p->sent_sum, e->rx.sum) TH_LOG("%s: checksum", e->name);
		EXPECT_EQ(PLASMATIC_END_CLOSE_NOTIFY, e->end_how) TH_LOG("%s", e->name);
		EXPECT_EQ(p->n ? KUS : 0, e->fired);
		if (e->kernel && e->n)
			EXPECT_EQ(1, e->sendfile_calls);
		pl_conn_info(e->c, &in);
		TH_LOG("%s (%s): sent %llu bytes%s, %llu KeyUpdates; received %llu",
		       e->name, pl_datapath_name(in.datapath),
		       (unsigned long long)e->n,
		       !e->n ? "" : e->kernel ? " by one sendfile" :
		       " by pl_conn_write",
		       (unsigned long long)in.key_updates_out,
		       (unsigned long long)e->rx.bytes);
	}

	/* The KeyUpdates fell inside the streams. */
	for (int i = 0; i < 2; i++) {
		struct end *e = ends[i];
		int inside = 0;
		char offs[256] = "";
		size_t used = 0;

		if (e->kernel || !e->peer->n)
			continue;
		for (int k = 0; k < e->ku_at_n; k++) {
			if (e->ku_at[k] > 0 && e->ku_at[k] < e->peer->n)
				inside++;
			if (used < sizeof(offs) - 24)
				used += (size_t)snprintf(offs + used, sizeof(offs) - used,
							 " %llu",
							 (unsigned long long)e->ku_at[k]);
		}
		TH_LOG("%s (userspace) got %llu KeyUpdates from the %s (%s), %d inside its %llu bytes, at:%s",
		       e->name, (unsigned long long)e->ku_seen, e->peer->name,
		       e->peer->kernel ? "kernel, during its sendfile" : "userspace",
		       inside, (unsigned long long)e->peer->n, offs);
		EXPECT_LE(KUS, inside);
	}
	if (!self->tr.on)
		return;
	nst = trace_stats(&self->tr, st, 8, &lost);
	ASSERT_EQ(kernels, nst) TH_LOG("sockets in the trace");
	EXPECT_EQ(0, lost) TH_LOG("trace events lost");
	for (int i = 0; i < nst; i++) {
		const struct dirstat *tx = &st[i].d[0], *rx = &st[i].d[1];

		TH_LOG("kernel socket %d: sent %llu data records%s with %d KeyUpdates, %d between two of them; received %llu with %d KeyUpdates, %d between two",
		       i, (unsigned long long)tx->data,
		       tx->data ? " (one sendfile)" : "", tx->ku_total, tx->ku_mid,
		       (unsigned long long)rx->data, rx->ku_total, rx->ku_mid);
		if (tx->data)
			EXPECT_LE(KUS, tx->ku_mid);
		if (rx->data)
			EXPECT_LE(KUS, rx->ku_mid);
	}
}

TEST_HARNESS_MAIN
