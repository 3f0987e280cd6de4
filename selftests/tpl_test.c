// SPDX-License-Identifier: GPL-2.0
/*
 * TPL record sizing in plasmatic.ko (SPEC 9, issue 9), against the
 * userspace reference engine as the oracle:
 *
 *  - streams in every mode: each record's header length is its size draw
 *    (pl_tpl_next(), clamped to pl_tx_max_content()), the content is what
 *    was sent, and the engine re-seals the record byte for byte with the
 *    padding the draw implies (the EEM's own random padding read back);
 *  - how the data is written (send sizes, MSG_MORE, sendfile, splice)
 *    never changes the sizes;
 *  - rotation, locked and unlocked; the state getsockopt;
 *  - Seed Updates kernel to kernel and engine to kernel;
 *  - PLASMATIC_TPL_SCHED against the draws and the wire;
 *  - bad arguments;
 *  - segments: over veth between two network namespaces, every record of
 *    a shaped stream starts a packet of its own (AF_PACKET capture).
 *
 * Runs as root in the test VM with plasmatic.ko loaded (run_vm.sh).
 * PLASMATIC_TESTS / PLASMATIC_VARIANTS select a subset (plfixture.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "plfixture.h"
#include "plnet.h"

#define MIB		(1 << 20)
#define SEED		0x0123456789abcdefULL
#define SCHED_KEEP	PLASMATIC_TPL_SCHED_LEN

/* ---- socket options ---- */

static int tpl_state(int fd, struct plasmatic_tpl_state *st)
{
	socklen_t len = sizeof(*st);

	if (getsockopt(fd, SOL_PLASMATIC, PLASMATIC_TPL_TX, st, &len))
		return -errno;
	return len == sizeof(*st) ? 0 : -EMSGSIZE;
}

/* Up to n schedule entries into r; returns how many, or -errno. */
static int tpl_sched(int fd, struct plasmatic_tpl_rec *r, int n)
{
	socklen_t len = n * sizeof(*r);

	if (getsockopt(fd, SOL_PLASMATIC, PLASMATIC_TPL_SCHED, r, &len))
		return -errno;
	return len / sizeof(*r);
}

/* ---- ways of writing a stream ---- */

/*
 * send()s of 1 .. max bytes, some with MSG_MORE (all with all_more); the
 * last without.
 */
static int send_chunks(int fd, const uint8_t *p, size_t len, uint64_t seed,
		       size_t max, int all_more)
{
	uint64_t s = seed;

	while (len) {
		size_t n = 1 + pl_rand64(&s) % max;
		int more = all_more || pl_rand64(&s) % 3 == 0;
		ssize_t r;

		if (n > len)
			n = len;
		if (n == len)
			more = 0;
		r = send(fd, p, n, (more ? MSG_MORE : 0) | MSG_NOSIGNAL);
		if (r < 0)
			return -errno;
		p += r;
		len -= r;
	}
	return 0;
}

static int send_mixed(int fd, const uint8_t *p, size_t len, uint64_t seed)
{
	return send_chunks(fd, p, len, seed, 40000, 0);
}

static int send_file(int fd, const uint8_t *p, size_t len)
{
	int mfd = memfd_create("tpl", 0);
	off_t off = 0;

	if (mfd < 0 || write(mfd, p, len) != (ssize_t)len)
		return -1;
	while ((size_t)off < len) {
		ssize_t r = sendfile(fd, mfd, &off, len - off);

		if (r <= 0) {
			close(mfd);
			return -1;
		}
	}
	close(mfd);
	return 0;
}

static int send_splice(int fd, const uint8_t *p, size_t len)
{
	int pfd[2];

	if (pipe(pfd))
		return -1;
	while (len) {
		size_t n = len < 65536 ? len : 65536;
		ssize_t w = write(pfd[1], p, n);

		if (w <= 0)
			break;
		p += w;
		len -= w;
		while (w) {
			ssize_t r = splice(pfd[0], NULL, fd, NULL, w, 0);

			if (r <= 0)
				goto out;
			w -= r;
		}
	}
out:
	close(pfd[0]);
	close(pfd[1]);
	return len ? -1 : 0;
}

/*
 * A sender thread: the stream in quarters, sent, sendfile'd, spliced,
 * sent; or in one send(); or in small sends all under MSG_MORE.
 */
enum { SEND_MIXED, SEND_ONE, SEND_MORE };

struct sender {
	int fd;
	const uint8_t *buf;
	size_t len;
	int how;
	int ret;
	pthread_t th;
};

static void *sender_fn(void *arg)
{
	struct sender *s = arg;
	size_t q = s->len / 4;

	if (s->how == SEND_ONE)
		s->ret = pl_write_all(s->fd, s->buf, s->len) == (ssize_t)s->len ? 0 : -1;
	else if (s->how == SEND_MORE)
		s->ret = send_chunks(s->fd, s->buf, s->len, 3, 3000, 1);
	else
		s->ret = send_mixed(s->fd, s->buf, q, s->len) ?:
		 send_file(s->fd, s->buf + q, q) ?:
		 send_splice(s->fd, s->buf + 2 * q, q) ?:
		 send_mixed(s->fd, s->buf + 3 * q, s->len - 3 * q, s->len + 1);
	if (s->ret)
		printf("# sender of %zu bytes failed: %s\n", s->len, strerror(errno));
	return NULL;
}

static int sender_start(struct sender *s, int fd, const uint8_t *buf,
			size_t len, int how)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->buf = buf;
	s->len = len;
	s->how = how;
	return pthread_create(&s->th, NULL, sender_fn, s);
}

static int sender_wait(struct sender *s)
{
	pthread_join(s->th, NULL);
	return s->ret;
}

/* ---- fixture: a upgraded, b a raw engine peer ---- */

FIXTURE(tpl)
{
	PL_PAIR_FIELDS;
	struct pl_tx *reseal;	/* engine with a's TX keys */
	struct pl_tpl *draws;	/* the oracle's draws */
	uint64_t nrec;		/* records of a read so far */
	uint8_t *wire, *mine;
	/* The last SCHED_KEEP shaped records seen, by index modulo. */
	struct plasmatic_tpl_rec seen[SCHED_KEEP];
	uint64_t shaped, pad;
	uint16_t hdrs[1024];	/* header lengths of the first records */
	size_t nhdrs;
};

PL_VARIANT(tpl);
PL_VARIANT_ADD(tpl, aes128gcm_detached, TLS_CIPHER_AES_GCM_128, DETACHED, 80);
PL_VARIANT_ADD(tpl, chacha20_covered, TLS_CIPHER_CHACHA20_POLY1305, COVERED, 48);

FIXTURE_SETUP(tpl)
{
	struct pl_dir_config d;
	int err = 0;

	PL_PAIR_SETUP(0x900);
	pl_dir_init(&d, &self->ab);
	self->reseal = pl_tx_new(&d, &err);
	ASSERT_NE(NULL, self->reseal);
	self->draws = NULL;
	self->nrec = self->shaped = self->pad = 0;
	self->nhdrs = 0;
	self->wire = xmalloc(PL_MAX_WIRE_LEN);
	self->mine = xmalloc(PL_MAX_WIRE_LEN);
}

FIXTURE_TEARDOWN(tpl)
{
	pl_tx_free(self->reseal);
	if (self->draws)
		pl_tpl_free(self->draws);
	free(self->wire);
	free(self->mine);
	PL_PAIR_TEARDOWN();
}

#define TX_MAX	pl_max_content(self->ab.framing, self->ab.eem_len)

/* Header length of a record of content plus padding n. */
static size_t hdr_len_of(const struct pl_keys *k, size_t n)
{
	return n + 1 + 16 + (k->framing == PLASMATIC_FRAMING_COVERED ? k->eem_len : 0);
}

/* The oracle's state: as PLASMATIC_TPL_TX (mode, flags, seed) sets it. */
static void oracle_set(struct __test_metadata *_metadata, FIXTURE_DATA(tpl) *self,
		       uint8_t mode, uint8_t flags, uint64_t seed)
{
	int err = 0;

	if (!self->draws)
		self->draws = pl_tpl_new(mode, seed, flags & PLASMATIC_TPL_LOCK, &err);
	else
		err = pl_tpl_set(self->draws, mode, seed, flags & PLASMATIC_TPL_LOCK);
	ASSERT_NE(NULL, self->draws);
	ASSERT_EQ(0, err);
}

/*
 * Read a's next record raw off the wire and check it: the engine opens it;
 * application data has the header length of its draw (modes 1..8) or at
 * most the cap (mode 0); the engine re-seals the same bytes.  The content
 * goes to buf (room for the cap), its length to *len; *su gets the EEM's
 * Seed Update.  Returns the content type.
 */
static int check_record(struct __test_metadata *_metadata, FIXTURE_DATA(tpl) *self,
			uint8_t *buf, size_t *len, struct pl_seed_update *su)
{
	const struct pl_keys *k = &self->ab;
	uint8_t *w = self->wire, nonce[12];
	size_t wlen, used = 0, mlen = 0, pad = 0;
	struct pl_tpl_draw d = { 0 };
	struct pl_seal_opts o = { 0 };
	struct pl_eem_fields f;
	struct pl_record rec;

	ASSERT_EQ(0, pl_peer_read_raw(self->peer, w, PL_HEADER_LEN, PEER_TMO))
		TH_LOG("record %llu did not come", (unsigned long long)self->nrec);
	wlen = pl_wire_len(w, k->framing, k->eem_len);
	if (self->nhdrs < sizeof(self->hdrs) / sizeof(self->hdrs[0]))
		self->hdrs[self->nhdrs++] = w[3] << 8 | w[4];
	ASSERT_EQ(0, pl_peer_read_raw(self->peer, w + PL_HEADER_LEN,
				      wlen - PL_HEADER_LEN, PEER_TMO));
	ASSERT_EQ(1, pl_rx_feed(self->peer->rx, w, wlen, &used, &rec))
		TH_LOG("record %llu: engine refuses it", (unsigned long long)self->nrec);
	ASSERT_EQ(wlen, used);
	*len = rec.len;
	*su = rec.su;
	memcpy(buf, rec.content, rec.len);

	if (rec.content_type == PLASMATIC_CT_APPLICATION_DATA) {
		size_t t;

		ASSERT_EQ(0, pl_tpl_next(self->draws, &d));
		t = d.size < TX_MAX ? d.size : TX_MAX;
		if (d.mode) {
			EXPECT_EQ(hdr_len_of(k, t), (size_t)(w[3] << 8 | w[4]))
				TH_LOG("record %llu (mode %u): content %zu, draw %zu",
				       (unsigned long long)self->nrec, d.mode, rec.len, t);
			ASSERT_LE(rec.len, t);
			pad = t - rec.len;
			self->seen[self->shaped % SCHED_KEEP] = (struct plasmatic_tpl_rec){
				.index = self->shaped, .len = wlen,
				.delay_us = d.delay_us, .mode = d.mode,
			};
			self->shaped++;
			self->pad += pad;
		} else {
			ASSERT_LE(rec.len, TX_MAX);
			EXPECT_NE(0, rec.len);
		}
	}
	pl_nonce_add(nonce, k->eem_nonce, self->nrec);
	ASSERT_EQ(0, pl_eem_open(w, wlen, k->framing, k->eem_len, k->eem_key,
				 nonce, &f));
	o.pad_len = pad;
	o.su = su->kind ? su : NULL;
	o.eem_padding = f.padding;
	ASSERT_EQ(0, pl_tx_seal(self->reseal, rec.content_type, buf, *len, &o,
				self->mine, PL_MAX_WIRE_LEN, &mlen));
	ASSERT_EQ(wlen, mlen);
	EXPECT_EQ(0, memcmp(w, self->mine, wlen))
		TH_LOG("record %llu differs from the engine's", (unsigned long long)self->nrec);
	self->nrec++;
	return rec.content_type;
}

/* Read application data records until len bytes came; they must be buf. */
static void check_data(struct __test_metadata *_metadata, FIXTURE_DATA(tpl) *self,
		       const uint8_t *buf, size_t len)
{
	uint8_t *got = xmalloc(PL_MAX_CONTENT);
	struct pl_seed_update su;
	size_t off = 0, n;

	while (off < len) {
		ASSERT_EQ(PLASMATIC_CT_APPLICATION_DATA,
			  check_record(_metadata, self, got, &n, &su));
		ASSERT_LE(off + n, len);
		ASSERT_EQ(0, memcmp(buf + off, got, n))
			TH_LOG("content differs at %zu", off);
		off += n;
	}
	free(got);
}

/* The schedule holds the shaped records seen, newest last. */
static void check_sched(struct __test_metadata *_metadata, FIXTURE_DATA(tpl) *self)
{
	struct plasmatic_tpl_rec r[SCHED_KEEP];
	int n = tpl_sched(self->a, r, SCHED_KEEP);
	uint64_t want = self->shaped < SCHED_KEEP ? self->shaped : SCHED_KEEP;

	ASSERT_EQ((int)want, n);
	for (int i = 0; i < n; i++) {
		const struct plasmatic_tpl_rec *e =
			&self->seen[(self->shaped - n + i) % SCHED_KEEP];

		EXPECT_EQ(e->index, r[i].index);
		EXPECT_EQ(e->len, r[i].len);
		EXPECT_EQ(e->delay_us, r[i].delay_us);
		EXPECT_EQ(e->mode, r[i].mode);
		/* Shaped records back to back: each starts where the last ended. */
		if (i)
			EXPECT_EQ(r[i - 1].seq + r[i - 1].len, r[i].seq);
	}
	/* A short buffer gets the newest entries. */
	if (n >= 3) {
		ASSERT_EQ(2, tpl_sched(self->a, r, 2));
		EXPECT_EQ(self->shaped - 2, r[0].index);
		EXPECT_EQ(self->shaped - 1, r[1].index);
	}
}

/*
 * A stream of len bytes in (mode, flags, seed), written by a sender thread
 * in all the ways there are (or in one send), checked record by record.
 */
static void run_stream(struct __test_metadata *_metadata, FIXTURE_DATA(tpl) *self,
		       uint8_t mode, uint8_t flags, uint64_t seed, size_t len,
		       int how)
{
	uint8_t *buf = xmalloc(len);
	struct sender s;

	pl_fill(buf, len, seed + len);
	ASSERT_EQ(0, tpl_set(self->a, PLASMATIC_TPL_TX, mode, flags, seed));
	oracle_set(_metadata, self, mode, flags, seed);
	ASSERT_EQ(0, sender_start(&s, self->a, buf, len, how));
	check_data(_metadata, self, buf, len);
	ASSERT_EQ(0, sender_wait(&s));
	/* Nothing more: the last record was padded and sent. */
	EXPECT_EQ(0, pl_readable(self->b, 0));
	free(buf);
}

static void check_state(struct __test_metadata *_metadata, FIXTURE_DATA(tpl) *self)
{
	struct plasmatic_tpl_state st;

	ASSERT_EQ(0, tpl_state(self->a, &st));
	EXPECT_EQ(pl_tpl_mode(self->draws), st.mode);
	EXPECT_EQ(pl_tpl_counter(self->draws), st.draws);
	EXPECT_EQ(self->shaped, st.records);
	EXPECT_EQ(self->pad, st.pad_bytes);
}

/* ==== every mode, both framings ==== */

static void mode_streams(struct __test_metadata *_metadata, FIXTURE_DATA(tpl) *self,
			 uint8_t mode, const size_t *lens, int n)
{
	UPGRADE_RAW();
	for (int i = 0; i < n; i++)
		run_stream(_metadata, self, mode, PLASMATIC_TPL_LOCK, SEED + i, lens[i],
			   SEND_MIXED);
	check_state(_metadata, self);
	if (mode)
		check_sched(_metadata, self);
}

#define MODE_TEST(m, tmo, ...) \
	TEST_F_TIMEOUT(tpl, mode_##m, tmo) \
	{ \
		static const size_t lens[] = { __VA_ARGS__ }; \
		mode_streams(_metadata, self, m, lens, sizeof(lens) / sizeof(lens[0])); \
	}

/* Lengths from 0 to 20 MiB; small-record modes get small streams. */
MODE_TEST(0, 200, 0, 1, 100000, 3 * MIB)
MODE_TEST(1, 200, 1, 1499, 1500, 1501, 200000)
MODE_TEST(2, 300, 0, 16000, 16001, 2 * MIB)
MODE_TEST(3, 200, 1, 59, 60, 30000)
MODE_TEST(4, 200, 1, 100000)
MODE_TEST(5, 200, 7, 100000)
MODE_TEST(6, 600, 1, 16383, 16384, 16385, 20 * MIB)
MODE_TEST(7, 200, 1999, 2000, 150000)
MODE_TEST(8, 200, 150, 50000)

/*
 * The same data written as one send() (the sender blocks on TCP) and as
 * small sends under MSG_MORE gives the same records on the wire: the
 * same header lengths, in the same number.
 */
TEST_F_TIMEOUT(tpl, writes_do_not_change_sizes, 200)
{
	uint16_t first[400];
	size_t n1;

	UPGRADE_RAW();
	run_stream(_metadata, self, 2, PLASMATIC_TPL_LOCK, 77, 600000, SEND_ONE);
	n1 = self->nhdrs;
	ASSERT_GE(400, n1);
	ASSERT_LT(10, n1);
	memcpy(first, self->hdrs, n1 * sizeof(first[0]));
	self->nhdrs = 0;
	run_stream(_metadata, self, 2, PLASMATIC_TPL_LOCK, 77, 600000, SEND_MORE);
	ASSERT_EQ(n1, self->nhdrs);
	EXPECT_EQ(0, memcmp(first, self->hdrs, n1 * sizeof(first[0])));
}

/* ==== rotation and state ==== */

/*
 * Unlocked, mode 3 moves to mode 1 at record 1024 (SPEC 9.4): the oracle
 * rotates too, and the sizes from record 1024 are mode 1's.
 */
TEST_F_TIMEOUT(tpl, rotation_unlocked, 300)
{
	struct plasmatic_tpl_state st;
	size_t len = 20000;
	uint8_t *buf = xmalloc(len);

	UPGRADE_RAW();
	ASSERT_EQ(0, tpl_state(self->a, &st));
	EXPECT_EQ(0, st.mode);
	EXPECT_EQ(0, st.flags);
	EXPECT_EQ(0, st.draws);
	ASSERT_EQ(0, tpl_set(self->a, PLASMATIC_TPL_TX, 3, 0, SEED));
	oracle_set(_metadata, self, 3, 0, SEED);
	pl_fill(buf, len, 5);
	while (self->shaped < 1100) {
		ASSERT_EQ((ssize_t)len, send(self->a, buf, len, 0));
		check_data(_metadata, self, buf, len);
	}
	EXPECT_EQ(1, pl_tpl_mode(self->draws));
	check_state(_metadata, self);
	ASSERT_EQ(0, tpl_state(self->a, &st));
	EXPECT_EQ(1, st.mode);
	EXPECT_EQ(0, st.flags);
	EXPECT_EQ(2 * (self->shaped - 1024), st.draws);
	check_sched(_metadata, self);
	free(buf);
}

/* Locked, mode 8 stays after 1024 records. */
TEST_F_TIMEOUT(tpl, rotation_locked, 300)
{
	struct plasmatic_tpl_state st;
	size_t len = 20000;
	uint8_t *buf = xmalloc(len);

	UPGRADE_RAW();
	ASSERT_EQ(0, tpl_set(self->a, PLASMATIC_TPL_TX, 8, PLASMATIC_TPL_LOCK, SEED));
	oracle_set(_metadata, self, 8, PLASMATIC_TPL_LOCK, SEED);
	pl_fill(buf, len, 6);
	while (self->shaped < 1100) {
		ASSERT_EQ((ssize_t)len, send(self->a, buf, len, 0));
		check_data(_metadata, self, buf, len);
	}
	ASSERT_EQ(0, tpl_state(self->a, &st));
	EXPECT_EQ(8, st.mode);
	EXPECT_EQ(PLASMATIC_TPL_LOCK, st.flags);
	EXPECT_EQ(2 * self->shaped, st.draws);
	check_state(_metadata, self);
	free(buf);
}

/* Non-data records take no draw and no padding; an open record is padded first. */
TEST_F(tpl, control_records_not_shaped)
{
	static const char data[] = "open under MSG_MORE";
	uint8_t got[PL_MAX_CONTENT];
	struct pl_seed_update su;
	size_t n;

	UPGRADE_RAW();
	ASSERT_EQ(0, tpl_set(self->a, PLASMATIC_TPL_TX, 1, PLASMATIC_TPL_LOCK, SEED));
	oracle_set(_metadata, self, 1, PLASMATIC_TPL_LOCK, SEED);
	ASSERT_EQ((ssize_t)sizeof(data), send(self->a, data, sizeof(data), MSG_MORE));
	ASSERT_EQ((ssize_t)sizeof(hs_msg), send_type(self->a, PLASMATIC_CT_HANDSHAKE,
						      hs_msg, sizeof(hs_msg), 0));
	/* The cmsg with type 23 is shaped like a plain send. */
	ASSERT_EQ((ssize_t)sizeof(data), send_type(self->a, PLASMATIC_CT_APPLICATION_DATA,
						    data, sizeof(data), 0));
	ASSERT_EQ(PLASMATIC_CT_APPLICATION_DATA, check_record(_metadata, self, got, &n, &su));
	ASSERT_EQ(sizeof(data), n);
	ASSERT_EQ(PLASMATIC_CT_HANDSHAKE, check_record(_metadata, self, got, &n, &su));
	ASSERT_EQ(sizeof(hs_msg), n);
	EXPECT_EQ(0, memcmp(got, hs_msg, n));
	ASSERT_EQ(PLASMATIC_CT_APPLICATION_DATA, check_record(_metadata, self, got, &n, &su));
	ASSERT_EQ(sizeof(data), n);
	EXPECT_EQ(2, self->shaped);
	check_state(_metadata, self);
	EXPECT_EQ(0, pl_readable(self->b, 0));
}

/* ==== Seed Updates ==== */

/*
 * a queues a Seed Update: it rides in the EEM of a's next record (the
 * engine decodes it, big-endian seed) and is counted once.
 */
TEST_F(tpl, seed_update_on_the_wire)
{
	struct plasmatic_tpl_state st;
	uint8_t got[PL_MAX_CONTENT];
	struct pl_seed_update su;
	size_t n;

	UPGRADE_RAW();
	oracle_set(_metadata, self, 0, 0, 0);
	ASSERT_EQ(0, tpl_set(self->a, PLASMATIC_SEED_UPDATE, 6, 0, 0x1122334455667788ULL));
	/* A later one replaces it. */
	ASSERT_EQ(0, tpl_set(self->a, PLASMATIC_SEED_UPDATE, 5, PLASMATIC_TPL_LOCK,
			     0x8877665544332211ULL));
	ASSERT_EQ(0, tpl_state(self->a, &st));
	EXPECT_EQ(1, st.su_queued);
	EXPECT_EQ(0, st.su_sent);
	/* Any record type carries it: here an alert-free handshake record. */
	ASSERT_EQ((ssize_t)sizeof(hs_msg), send_type(self->a, PLASMATIC_CT_HANDSHAKE,
						      hs_msg, sizeof(hs_msg), 0));
	ASSERT_EQ(4, send(self->a, "next", 4, 0));
	ASSERT_EQ(PLASMATIC_CT_HANDSHAKE, check_record(_metadata, self, got, &n, &su));
	EXPECT_EQ(PL_SU_SEED, su.kind);
	EXPECT_EQ(5, su.mode);
	EXPECT_EQ(PL_SU_FLAG_LOCK, su.flags);
	EXPECT_EQ(0x8877665544332211ULL, su.seed);
	ASSERT_EQ(PLASMATIC_CT_APPLICATION_DATA, check_record(_metadata, self, got, &n, &su));
	EXPECT_EQ(PL_SU_NONE, su.kind);
	ASSERT_EQ(0, tpl_state(self->a, &st));
	EXPECT_EQ(0, st.su_queued);
	EXPECT_EQ(1, st.su_sent);
	/* Our own shaping did not change. */
	EXPECT_EQ(0, st.mode);
	EXPECT_EQ(0, st.su_applied);
}

/* The engine's record carries a Seed Update: a's TX follows it from draw 0. */
TEST_F(tpl, seed_update_from_engine)
{
	struct pl_seed_update in = {
		.kind = PL_SU_SEED, .mode = 4, .flags = 0, .seed = 0xfeedfacecafef00dULL,
	};
	struct pl_seal_opts o = { .su = &in };
	struct plasmatic_tpl_state st;
	size_t len = 30000, w;
	uint8_t *buf = xmalloc(len);
	char tmp[16];

	UPGRADE_RAW();
	ASSERT_EQ(0, tpl_set(self->a, PLASMATIC_TPL_TX, 7, PLASMATIC_TPL_LOCK, 1));
	w = pl_peer_seal(self->peer, PLASMATIC_CT_APPLICATION_DATA, "su!", 3, &o,
			 self->peer->wire);
	ASSERT_LT(0, (long)w);
	ASSERT_EQ((ssize_t)w, pl_write_all(self->b, self->peer->wire, w));
	/* Accepted once read. */
	ASSERT_EQ(3, recv(self->a, tmp, sizeof(tmp), 0));
	ASSERT_EQ(0, tpl_state(self->a, &st));
	EXPECT_EQ(0, st.su_applied);	/* applied at the next draw */
	oracle_set(_metadata, self, 4, 0, 0xfeedfacecafef00dULL);
	pl_fill(buf, len, 9);
	ASSERT_EQ((ssize_t)len, send(self->a, buf, len, 0));
	check_data(_metadata, self, buf, len);
	ASSERT_EQ(0, tpl_state(self->a, &st));
	EXPECT_EQ(1, st.su_applied);
	EXPECT_EQ(4, st.mode);
	EXPECT_EQ(0, st.flags);
	check_state(_metadata, self);
	check_sched(_metadata, self);
	free(buf);
}

/*
 * Kernel to kernel: a asks b for (mode 5, seed, LOCK); once b has read
 * a's record, b's records follow those draws from draw 0 (b's schedule).
 */
TEST_F(tpl, seed_update_kernel_to_kernel)
{
	struct plasmatic_tpl_rec r[SCHED_KEEP];
	struct plasmatic_tpl_state st;
	size_t len = 5000, got = 0;
	uint8_t *buf = xmalloc(len), *in = xmalloc(len);
	struct pl_tpl *o;
	int n, err = 0;
	char tmp[8];

	UPGRADE_BOTH();
	ASSERT_EQ(0, tpl_set(self->a, PLASMATIC_SEED_UPDATE, 5, PLASMATIC_TPL_LOCK,
			     0x5eed5eed5eedULL));
	ASSERT_EQ(2, send(self->a, "hi", 2, 0));
	ASSERT_EQ(2, recv(self->b, tmp, sizeof(tmp), 0));
	pl_fill(buf, len, 10);
	ASSERT_EQ((ssize_t)len, send(self->b, buf, len, 0));
	while (got < len) {
		ssize_t k = recv(self->a, in + got, len - got, 0);

		ASSERT_LT(0, k);
		got += k;
	}
	EXPECT_EQ(0, memcmp(buf, in, len));
	ASSERT_EQ(0, tpl_state(self->a, &st));
	EXPECT_EQ(1, st.su_sent);
	ASSERT_EQ(0, tpl_state(self->b, &st));
	EXPECT_EQ(1, st.su_applied);
	EXPECT_EQ(5, st.mode);
	EXPECT_EQ(PLASMATIC_TPL_LOCK, st.flags);
	n = tpl_sched(self->b, r, SCHED_KEEP);
	ASSERT_LT(0, n);
	EXPECT_EQ((uint64_t)n * 2, st.draws);
	o = pl_tpl_new(5, 0x5eed5eed5eedULL, true, &err);
	ASSERT_NE(NULL, o);
	for (int i = 0; i < n; i++) {
		struct pl_tpl_draw d;

		ASSERT_EQ(0, pl_tpl_next(o, &d));
		EXPECT_EQ((uint64_t)i, r[i].index);
		EXPECT_EQ(5, r[i].mode);
		EXPECT_EQ(d.delay_us, r[i].delay_us);
		EXPECT_EQ(PL_HEADER_LEN + hdr_len_of(&self->ba, d.size) +
			  (self->ba.framing == PLASMATIC_FRAMING_DETACHED ? self->ba.eem_len : 0),
			  r[i].len);
	}
	pl_tpl_free(o);
	free(buf);
	free(in);
}

/* ==== bad arguments ==== */

static int set_raw(int fd, int opt, const void *p, socklen_t len)
{
	return setsockopt(fd, SOL_PLASMATIC, opt, p, len) ? -errno : 0;
}

static void bad_args(struct __test_metadata *_metadata, int fd, int opt)
{
	struct plasmatic_tpl t = { .mode = 1, .seed = 1 };
	uint8_t big[sizeof(t) + 1] = { 0 };

	t.mode = 9;
	EXPECT_EQ(-EINVAL, set_raw(fd, opt, &t, sizeof(t)));
	t.mode = 1;
	t.flags = 0x2;
	EXPECT_EQ(-EINVAL, set_raw(fd, opt, &t, sizeof(t)));
	t.flags = 0;
	t.reserved[5] = 1;
	EXPECT_EQ(-EINVAL, set_raw(fd, opt, &t, sizeof(t)));
	t.reserved[5] = 0;
	EXPECT_EQ(-EINVAL, set_raw(fd, opt, &t, sizeof(t) - 1));
	EXPECT_EQ(-EINVAL, set_raw(fd, opt, big, sizeof(big)));
	EXPECT_EQ(-EFAULT, set_raw(fd, opt, NULL, sizeof(t)));
}

TEST_F(tpl, bad_arguments)
{
	struct plasmatic_tpl_state st;

	/* Before TX keys: a Seed Update has nothing to ride in. */
	ASSERT_EQ(0, pl_ulp(self->a));
	EXPECT_EQ(-ENOKEY, tpl_set(self->a, PLASMATIC_SEED_UPDATE, 1, 0, 1));
	bad_args(_metadata, self->a, PLASMATIC_TPL_TX);
	/* TPL_TX is fine before the keys. */
	EXPECT_EQ(0, tpl_set(self->a, PLASMATIC_TPL_TX, 2, 0, 3));
	ASSERT_EQ(0, pl_set_dir(self->a, &self->ab, 1));
	ASSERT_EQ(0, pl_set_dir(self->a, &self->ba, 0));
	bad_args(_metadata, self->a, PLASMATIC_TPL_TX);
	bad_args(_metadata, self->a, PLASMATIC_SEED_UPDATE);
	ASSERT_EQ(0, tpl_state(self->a, &st));
	EXPECT_EQ(2, st.mode);
	EXPECT_EQ(0, st.su_queued);
	EXPECT_EQ(0, st.draws);
	/* Nothing went out. */
	EXPECT_EQ(0, pl_readable(self->b, 200));
}

/* ==== segments on the wire: veth between two network namespaces ==== */

#define CAP_PORT	7799
#define CAP_NET		77	/* 10.77.0.0/24 (plnet.h) */
#define CAP_MAX_PKTS	20000

struct seg {
	uint32_t seq, len;
};

/* Child: the receiver in its own netns; reads until EOF, then waits. */
static void cap_child(int up, int down)
{
	int l = plnet_child_listen(up, down, CAP_NET, CAP_PORT, NULL), c;
	char buf[65536];

	if (l < 0)
		_exit(-l);
	c = accept(l, NULL, NULL);
	if (c < 0)
		_exit(5);
	while (read(c, buf, sizeof(buf)) > 0)
		;
	_exit(plnet_child_end(up, down) ? 6 : 0);
}

/*
 * Every mode 1..8 in turn on one connection over veth (TSO and GSO as
 * they come): in the capture of the sender's packets (pre-segmentation
 * skbs on AF_PACKET, the coarsest unit TCP sends), every record starts a
 * packet, no packet holds the end of one record and the start of another,
 * and PLASMATIC_TPL_SCHED's seq and len are the captured records'.
 */
TEST_F_TIMEOUT(tpl, records_start_segments, 300)
{
	static const size_t lens[PLASMATIC_TPL_MODES] = {
		0, 20000, 150000, 1000, 10000, 5000, 200000, 20000, 2000,
	};
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(CAP_PORT) };
	struct plasmatic_tpl_rec *sched = xmalloc(CAP_MAX_PKTS * sizeof(*sched));
	struct sockaddr_ll ll = { .sll_family = AF_PACKET };
	int up[2], down[2], fd, ps, status, rcvbuf = 32 << 20;
	size_t total = 0, nseg = 0, nsched = 0, stream_len = 0, cap, npkt = 0;
	uint8_t *pkt, *stream, *buf, *starts, *inner;
	int have_isn = 0, fin = 0;
	struct plasmatic_tpl_state st;
	uint64_t before = 0;
	struct seg *segs;
	uint32_t isn = 0;
	pid_t pid;
	char ch;

	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		cap_child(up[1], down[0]);
	ASSERT_EQ(0, plnet_link(up[0], down[1], pid, CAP_NET));

	/* ETH_P_ALL: only such taps see outgoing packets (dev_queue_xmit_nit). */
	ps = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	ASSERT_LE(0, ps);
	setsockopt(ps, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	ll.sll_protocol = htons(ETH_P_ALL);
	ll.sll_ifindex = if_nametoindex("va");
	ASSERT_EQ(0, bind(ps, (void *)&ll, sizeof(ll)));

	fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = plnet_addr(CAP_NET, 2);
	ASSERT_EQ(0, connect(fd, (void *)&sa, sizeof(sa)));
	ASSERT_EQ(0, pl_upgrade(fd, &self->ab, NULL));
	for (int m = 1; m < PLASMATIC_TPL_MODES; m++)
		total += lens[m];
	buf = xmalloc(total);
	pl_fill(buf, total, 11);
	for (size_t m = 1, off = 0; m < PLASMATIC_TPL_MODES; off += lens[m], m++) {
		int n;

		ASSERT_EQ(0, tpl_set(fd, PLASMATIC_TPL_TX, m, PLASMATIC_TPL_LOCK, SEED + m));
		ASSERT_EQ(0, send_mixed(fd, buf + off, lens[m], m));
		ASSERT_EQ(0, tpl_state(fd, &st));
		ASSERT_GT(before + SCHED_KEEP, st.records) TH_LOG("mode %zu: too many records", m);
		n = tpl_sched(fd, sched + nsched, st.records - before);
		ASSERT_EQ((int)(st.records - before), n);
		EXPECT_EQ(before, sched[nsched].index);
		EXPECT_EQ(m, sched[nsched].mode);
		nsched += n;
		before = st.records;
	}
	close(fd);
	ASSERT_EQ(1, read(up[0], &ch, 1));

	/* Outgoing TCP payload to :CAP_PORT, placed by sequence number. */
	cap = total + (4 << 20);
	segs = xmalloc(CAP_MAX_PKTS * sizeof(*segs));
	stream = xmalloc(cap);
	pkt = xmalloc(1 << 17);
	while (!fin && pl_readable(ps, 3000) > 0) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(ps, pkt, 1 << 17, 0, (void *)&from, &fl);
		struct iphdr *ip = (void *)pkt;
		struct tcphdr *th;
		size_t hl, rel;

		ASSERT_LT(0, n) TH_LOG("capture: %s", strerror(errno));
		npkt++;
		if (from.sll_pkttype != PACKET_OUTGOING ||
		    from.sll_protocol != htons(ETH_P_IP) || ip->protocol != IPPROTO_TCP)
			continue;
		th = (void *)(pkt + ip->ihl * 4);
		if (th->dest != htons(CAP_PORT))
			continue;
		if (th->syn) {
			isn = ntohl(th->seq);
			have_isn = 1;
			continue;
		}
		hl = ip->ihl * 4 + th->doff * 4;
		if (th->fin)
			fin = 1;
		if ((size_t)n <= hl || !have_isn)
			continue;
		ASSERT_GT(CAP_MAX_PKTS, nseg);
		rel = ntohl(th->seq) - isn - 1;
		segs[nseg].seq = rel;
		segs[nseg].len = n - hl;
		ASSERT_GE(cap, rel + segs[nseg].len);
		memcpy(stream + rel, pkt + hl, segs[nseg].len);
		if (rel + segs[nseg].len > stream_len)
			stream_len = rel + segs[nseg].len;
		nseg++;
	}
	ASSERT_EQ(1, write(down[1], "q", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	sh("ip link del va 2>/dev/null");
	ASSERT_TRUE(have_isn) TH_LOG("no SYN among %zu packets", npkt);
	ASSERT_TRUE(fin) TH_LOG("capture incomplete: %zu packets", nseg);

	/* Where packets start, and the bytes strictly inside one. */
	starts = calloc(stream_len + 1, 1);
	inner = calloc(stream_len + 1, 1);
	ASSERT_NE(NULL, starts);
	ASSERT_NE(NULL, inner);
	for (size_t i = 0; i < nseg; i++) {
		starts[segs[i].seq] = 1;
		memset(inner + segs[i].seq + 1, 1, segs[i].len - 1);
	}
	{
		size_t off = 0, k = 0;

		while (off < stream_len) {
			size_t wl = pl_wire_len(stream + off, self->ab.framing,
						self->ab.eem_len);

			EXPECT_TRUE(starts[off] && !inner[off])
				TH_LOG("record %zu at %zu does not start a packet", k, off);
			ASSERT_GT(nsched, k);
			EXPECT_EQ((uint32_t)(isn + 1 + off), sched[k].seq)
				TH_LOG("record %zu: schedule seq", k);
			EXPECT_EQ(wl, sched[k].len);
			off += wl;
			k++;
		}
		EXPECT_EQ(stream_len, off);
		EXPECT_EQ(nsched, k);
		printf("# %zu records in %zu packets\n", k, nseg);
	}
	free(starts);
	free(inner);
	free(stream);
	free(segs);
	free(pkt);
	free(buf);
	free(sched);
	close(ps);
}

int main(int argc, char **argv)
{
	pl_harness_prepare();
	return test_harness_run(argc, argv);
}
