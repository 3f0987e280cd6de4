// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel RX under a man in the middle (issue 13, "Kernel RX mutation"):
 * a relay between two plasmatic.ko sockets changes one place of a live
 * stream, in every cipher suite and framing:
 *
 *  - flip:     one byte XORed with a non-zero value;
 *  - insert:   1..64 random bytes inserted;
 *  - delete:   1..64 bytes dropped;
 *  - truncate: the stream cut there (the relay half-closes);
 *  - reorder:  two adjacent runs of 1..64 bytes swapped.
 *
 * Every byte of a record is authenticated (the header as the AEAD's
 * additional data, the EEM under its own key and bound to the record), so
 * the receiver must deliver exactly a prefix of the sent stream, no byte of
 * the record the change falls in or of anything after it, and then fail
 * (or, cut off, end).  The sender writes records of REC bytes, so the
 * records before the change carry (index of the changed record) x REC
 * bytes: the most the receiver may deliver.  A kernel report (KASAN,
 * lockdep, WARN) fails the run in tools/vm.
 *
 * MUTATE_ROUNDS (default 3) rounds per test and variant, at random places
 * (MUTATE_SEED, printed, to repeat a run); `make mutate-long` runs many.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/tcp.h>

#include "kselftest_harness.h"
#include "plfixture.h"

#define REC		4096		/* bytes per send(), so per record */
#define STREAM		(24 * REC)	/* per round */
#define MAX_RUN		64		/* inserted, dropped or swapped bytes */

enum kind { FLIP, INSERT, DELETE, TRUNCATE, REORDER };

static uint64_t seed;

/* The relay's view: the sender's stream as it came, and the change. */
struct relay {
	int from_a, to_b;		/* r1 (a's peer), r2 (b's peer) */
	enum kind kind;
	size_t at, run;			/* where, and how many bytes */
	uint8_t xor;			/* FLIP */
	uint8_t ins[MAX_RUN];		/* INSERT */
	uint8_t *orig;			/* everything a sent */
	size_t len, cap;
	size_t fwd;			/* next byte of orig to forward */
	int state;			/* 0 before the change, 1 after, 2 cut */
};

static int put(int fd, const void *p, size_t n)
{
	return pl_write_all(fd, p, n) == (ssize_t)n ? 0 : -1;
}

/*
 * Forward what can be forwarded of orig[fwd, len).  A failed write means
 * b is gone (it failed and closed): from then on the rest is dropped, so
 * that the sender never blocks.
 */
static void forward(struct relay *r, int eof)
{
	size_t end;

	if (r->state == 0) {
		end = r->len < r->at ? r->len : r->at;
		if (end > r->fwd && put(r->to_b, r->orig + r->fwd, end - r->fwd))
			r->state = 2;
		r->fwd = end;
		if (r->state || r->fwd < r->at)
			return;
		switch (r->kind) {
		case FLIP:
			if (r->len <= r->at)
				return;
			r->orig[r->at] ^= r->xor;
			if (put(r->to_b, r->orig + r->at, 1))
				r->state = 2;
			r->orig[r->at] ^= r->xor;
			r->fwd = r->at + 1;
			break;
		case INSERT:
			if (put(r->to_b, r->ins, r->run))
				r->state = 2;
			break;
		case DELETE:
			if (r->len < r->at + r->run)
				return;
			r->fwd = r->at + r->run;
			break;
		case TRUNCATE:
			shutdown(r->to_b, SHUT_WR);
			r->state = 2;
			return;
		case REORDER:
			if (r->len < r->at + 2 * r->run)
				return;
			if (put(r->to_b, r->orig + r->at + r->run, r->run) ||
			    put(r->to_b, r->orig + r->at, r->run))
				r->state = 2;
			r->fwd = r->at + 2 * r->run;
			break;
		}
		if (!r->state)
			r->state = 1;
	}
	if (r->state == 1 && r->len > r->fwd) {
		if (put(r->to_b, r->orig + r->fwd, r->len - r->fwd))
			r->state = 2;
		r->fwd = r->len;
	}
	if (eof && r->state != 2)
		shutdown(r->to_b, SHUT_WR);
}

static void *relay_main(void *arg)
{
	struct relay *r = arg;
	struct pollfd p[2] = {
		{ .fd = r->from_a, .events = POLLIN },
		{ .fd = r->to_b, .events = POLLIN },
	};
	uint8_t back[4096];
	ssize_t n;

	while (p[0].fd >= 0) {
		if (poll(p, 2, 30000) <= 0)
			break;
		if (p[0].revents) {
			if (r->cap - r->len < 65536)
				break;	/* cannot happen: cap covers the stream */
			n = read(r->from_a, r->orig + r->len, 65536);
			if (n <= 0) {
				forward(r, 1);
				p[0].fd = -1;
			} else {
				r->len += n;
				forward(r, 0);
			}
		}
		/* b's alerts go back to a as they are. */
		if (p[1].fd >= 0 && p[1].revents) {
			n = read(r->to_b, back, sizeof(back));
			if (n <= 0 || put(r->from_a, back, n))
				p[1].fd = -1;
		}
	}
	return NULL;
}

struct sender {
	int fd;
	const uint8_t *buf;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;

	for (size_t off = 0; off < STREAM; off += REC)
		if (send(s->fd, s->buf + off, REC, MSG_NOSIGNAL) != REC)
			break;
	shutdown(s->fd, SHUT_WR);
	return NULL;
}

/*
 * Byte @pos (>= r->at) of what b was sent, or -1 past its end: what the
 * change put there, or a byte of a's stream.
 */
static int sent_byte(const struct relay *r, size_t pos)
{
	size_t j = pos - r->at, src = pos;

	switch (r->kind) {
	case FLIP:
		if (!j)
			return r->orig[pos] ^ r->xor;
		break;
	case INSERT:
		if (j < r->run)
			return r->ins[j];
		src = pos - r->run;
		break;
	case DELETE:
		src = pos + r->run;
		break;
	case REORDER:
		if (j < 2 * r->run)
			src = j < r->run ? pos + r->run : pos - r->run;
		break;
	case TRUNCATE:
		return -1;
	}
	return src < r->len ? r->orig[src] : -1;
}

/*
 * Where what b was sent first differs from a's stream: the change's place,
 * or later when the changed bytes happen to repeat those they displaced
 * (an inserted byte equal to the one it pushes on, for one; where that is
 * a record's last byte, the record arrives intact).  No receiver can tell
 * before there.
 */
static size_t first_difference(const struct relay *r)
{
	size_t pos = r->at;

	while (pos < r->len && sent_byte(r, pos) == r->orig[pos])
		pos++;
	return pos;
}

/* Index of the record (in a's original stream) that holds byte @at. */
static size_t record_of(const struct relay *r, size_t at, uint8_t framing,
			uint8_t eem_len)
{
	size_t off = 0, i = 0;

	while (off + PL_HEADER_LEN <= r->len) {
		size_t w = pl_wire_len(r->orig + off, framing, eem_len);

		if (at < off + w)
			break;
		off += w;
		i++;
	}
	return i;
}

FIXTURE(mut)
{
	PL_PAIR_FIELDS;
	int r1, r2;		/* a's and b's peers: the relay */
};

PL_VARIANT(mut);
PL_VARIANTS(mut, 80, 64, 255, 48, 48, 123);

FIXTURE_SETUP(mut)
{
	struct pl_sockpair sp;

	/* a - r1 is the fixture's pair; r2 - b a second one. */
	PL_PAIR_SETUP(0xe00);
	self->r1 = self->b;
	ASSERT_EQ(0, pl_sockpair_tcp(&sp));
	self->r2 = sp.a;
	self->b = sp.b;
}

FIXTURE_TEARDOWN(mut)
{
	PL_PAIR_TEARDOWN();
	close(self->r1);
	close(self->r2);
}

static uint64_t next(void)
{
	return pl_rand64(&seed);
}

/* One round: a sends, the relay changes one place, b must stop before it. */
static void round_one(struct __test_metadata *_metadata, FIXTURE_DATA(mut) *self,
		      const FIXTURE_VARIANT(mut) *variant, enum kind kind)
{
	struct timeval tmo = { .tv_sec = 20 };
	struct relay r = { .from_a = self->r1, .to_b = self->r2, .kind = kind };
	uint8_t *want = xmalloc(STREAM), *got = xmalloc(STREAM + 1);
	struct sender s = { .fd = self->a, .buf = want };
	pthread_t tr, ts;
	size_t delivered = 0, allowed;
	uint64_t round_seed = seed;
	ssize_t n = 0;
	int err = 0;

	r.cap = 2 * STREAM + 65536;
	r.orig = xmalloc(r.cap);
	/* Somewhere in the first 90% of the wire: records are about REC + 100. */
	r.at = next() % (STREAM * 9 / 10);
	r.run = 1 + next() % MAX_RUN;
	r.xor = 1 + next() % 255;
	pl_fill(r.ins, sizeof(r.ins), next());
	pl_fill(want, STREAM, next());

	ASSERT_EQ(0, setsockopt(self->b, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)));
	ASSERT_EQ(0, pthread_create(&tr, NULL, relay_main, &r));
	ASSERT_EQ(0, pthread_create(&ts, NULL, sender_main, &s));
	while (delivered <= STREAM) {
		n = recv(self->b, got + delivered, STREAM + 1 - delivered, 0);
		if (n <= 0)
			break;
		delivered += n;
	}
	err = n < 0 ? errno : 0;
	/* b is done: the relay drops the rest and the sender finishes. */
	shutdown(self->b, SHUT_RDWR);
	pthread_join(ts, NULL);
	pthread_join(tr, NULL);

	allowed = record_of(&r, first_difference(&r), variant->framing, variant->eem_len) * REC;
	EXPECT_GE(allowed, delivered)
		TH_LOG("kind %d at %zu run %zu: %zu bytes delivered, %zu allowed (seed %#llx)",
		       kind, r.at, r.run, delivered, allowed, (unsigned long long)round_seed);
	EXPECT_EQ(0, memcmp(got, want, delivered < STREAM ? delivered : STREAM))
		TH_LOG("kind %d at %zu: delivered bytes differ (seed %#llx)", kind, r.at,
		       (unsigned long long)round_seed);
	/* Changed: an error; cut off: an error or the end. */
	if (kind != TRUNCATE)
		EXPECT_NE(0, err) TH_LOG("kind %d at %zu: recv ended with %zd (seed %#llx)",
					 kind, r.at, n, (unsigned long long)round_seed);
	EXPECT_NE(EAGAIN, err) TH_LOG("kind %d at %zu: b waited 20 s for nothing", kind, r.at);
	free(r.orig);
	free(want);
	free(got);
}

static void rounds(struct __test_metadata *_metadata, FIXTURE_DATA(mut) *self,
		   const FIXTURE_VARIANT(mut) *variant, enum kind kind)
{
	const char *e = getenv("MUTATE_ROUNDS");
	long n = e ? atol(e) : 3;

	for (long i = 0; i < n && _metadata->passed; i++) {
		struct pl_sockpair ab, rb;

		/* A fresh connection per round: the last one failed on purpose. */
		if (i) {
			close(self->a);
			close(self->r1);
			close(self->r2);
			close(self->b);
			ASSERT_EQ(0, pl_sockpair_tcp(&ab));
			ASSERT_EQ(0, pl_sockpair_tcp(&rb));
			self->a = ab.a;
			self->r1 = ab.b;
			self->r2 = rb.a;
			self->b = rb.b;
		}
		ASSERT_EQ(0, pl_upgrade(self->a, &self->ab, &self->ba));
		ASSERT_EQ(0, pl_upgrade(self->b, &self->ba, &self->ab));
		round_one(_metadata, self, variant, kind);
	}
}

TEST_F_TIMEOUT(mut, flip, 300) { rounds(_metadata, self, variant, FLIP); }
TEST_F_TIMEOUT(mut, insert, 300) { rounds(_metadata, self, variant, INSERT); }
TEST_F_TIMEOUT(mut, delete, 300) { rounds(_metadata, self, variant, DELETE); }
TEST_F_TIMEOUT(mut, truncate, 300) { rounds(_metadata, self, variant, TRUNCATE); }
TEST_F_TIMEOUT(mut, reorder, 300) { rounds(_metadata, self, variant, REORDER); }

int main(int argc, char **argv)
{
	const char *e = getenv("MUTATE_SEED");

	seed = e ? strtoull(e, NULL, 0) : (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL;
	printf("# MUTATE_SEED=%#llx\n", (unsigned long long)seed);
	pl_harness_prepare();
	return test_harness_run(argc, argv);
}
