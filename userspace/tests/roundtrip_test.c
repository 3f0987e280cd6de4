// SPDX-License-Identifier: GPL-2.0
/* Encoder -> decoder round trips in every suite and framing. */
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

#include "testutil.h"
#include "variants.h"

FIXTURE(rt) {
	struct tu_conn c;
	struct pl_tx *tx;
	struct pl_rx *rx;
	struct tu_buf stream;
	struct tu_sink sent, got;
};

FIXTURE_VARIANT(rt) {
	uint16_t suite;
	uint8_t framing, eem_len;
};

PL_SUITE_VARIANTS(rt);

FIXTURE_SETUP(rt)
{
	ASSERT_EQ(PL_OK, tu_conn_init(&self->c, variant->suite,
				      variant->framing, variant->eem_len));
	self->tx = tu_conn_tx(&self->c);
	self->rx = tu_conn_rx(&self->c);
	ASSERT_NE(NULL, self->tx);
	ASSERT_NE(NULL, self->rx);
	memset(&self->stream, 0, sizeof(self->stream));
	memset(&self->sent, 0, sizeof(self->sent));
	memset(&self->got, 0, sizeof(self->got));
}

FIXTURE_TEARDOWN(rt)
{
	pl_tx_free(self->tx);
	pl_rx_free(self->rx);
	tu_buf_free(&self->stream);
	tu_sink_free(&self->sent);
	tu_sink_free(&self->got);
	EXPECT_EQ(0, tu_leaks());
}

/* Seal one record into the stream and remember what was sent. */
static int send_rec(FIXTURE_DATA(rt) *self, uint8_t type, const uint8_t *p,
		    size_t len, size_t pad, const struct pl_seed_update *su)
{
	struct pl_seal_opts o = { .pad_len = pad, .su = su };
	struct pl_record rec = {
		.content_type = type, .content = p, .len = len,
	};
	int ret = tu_seal(self->tx, &self->stream, type, p, len, &o);

	if (!ret) {
		if (su)
			rec.su = *su;
		tu_sink_add(&self->sent, &rec);
	}
	return ret;
}

static bool same_records(const struct tu_sink *a, const struct tu_sink *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->r[i].type != b->r[i].type || a->r[i].len != b->r[i].len ||
		    memcmp(a->r[i].data, b->r[i].data, a->r[i].len) ||
		    !tu_su_eq(&a->r[i].su, &b->r[i].su))
			return false;
	return true;
}

static void random_su(struct pl_seed_update *su)
{
	su->kind = PL_SU_SEED;
	su->mode = (uint8_t)tu_rand_below(PL_TPL_MODES);
	su->flags = (uint8_t)(tu_rand() & PL_SU_FLAG_LOCK);
	su->seed = tu_rand();
}

static void sizes_roundtrip(struct __test_metadata *_metadata,
			    FIXTURE_DATA(rt) *self, enum tu_split split)
{
	/* Up to the sender's cap: 2^14, less the EEM in covered framing. */
	const size_t max = pl_tx_max_content(self->tx);
	const size_t fixed[] = { 0, 1, 2, max - 1, max };
	static uint8_t data[PL_MAX_CONTENT];
	uint8_t nonce[12], want_nonce[12];
	size_t n = 0;

	tu_rand_bytes(data, sizeof(data));
	for (size_t i = 0; i < 5 + 20; i++) {
		size_t len = i < 5 ? fixed[i] : tu_rand_below(max + 1);
		size_t pad = tu_rand_below(4) ? 0 : tu_rand_below(max - len + 1);
		struct pl_seed_update su;
		const uint8_t *p = data + tu_rand_below(PL_MAX_CONTENT - len + 1);

		random_su(&su);
		ASSERT_EQ(PL_OK, send_rec(self, PLASMATIC_CT_APPLICATION_DATA,
					  p, len, pad,
					  tu_rand_below(3) ? NULL : &su));
		n++;
	}
	ASSERT_EQ(n, pl_tx_seq(self->tx));
	ASSERT_EQ(0, tu_feed(self->rx, self->stream.p, self->stream.len, split,
			     &self->got));
	ASSERT_TRUE(same_records(&self->sent, &self->got));
	ASSERT_EQ(n, pl_rx_seq(self->rx));
	tu_nonce_add(self->c.eem.nonce, n, want_nonce);
	pl_rx_eem_nonce(self->rx, nonce);
	ASSERT_EQ(0, memcmp(want_nonce, nonce, 12));
	ASSERT_TRUE(pl_rx_at_boundary(self->rx));
	ASSERT_EQ(PL_OK, pl_rx_end(self->rx));
}

TEST_F(rt, sizes_whole)
{
	sizes_roundtrip(_metadata, self, TU_WHOLE);
}

TEST_F(rt, sizes_byte_by_byte)
{
	sizes_roundtrip(_metadata, self, TU_BYTES);
}

TEST_F(rt, sizes_random_splits)
{
	for (int round = 0; round < 3; round++) {
		sizes_roundtrip(_metadata, self, TU_RANDOM);
		tu_buf_free(&self->stream);
		tu_sink_free(&self->sent);
		tu_sink_free(&self->got);
		pl_tx_free(self->tx);
		pl_rx_free(self->rx);
		self->tx = tu_conn_tx(&self->c);
		self->rx = tu_conn_rx(&self->c);
		ASSERT_TRUE(self->tx && self->rx);
	}
}

TEST_F(rt, wire_lengths)
{
	uint8_t out[PL_MAX_WIRE_LEN], data[100] = { 0 };
	size_t len, want_length;

	ASSERT_EQ(PL_OK, pl_tx_seal(self->tx, PLASMATIC_CT_APPLICATION_DATA,
				    data, 100, NULL, out, sizeof(out), &len));
	ASSERT_EQ(5 + 100 + 1 + 16 + variant->eem_len, len);
	want_length = 117 + (variant->framing ? variant->eem_len : 0);
	ASSERT_EQ(0x17, out[0]);
	ASSERT_EQ(0x03, out[1]);
	ASSERT_EQ(0x03, out[2]);
	ASSERT_EQ(want_length, (size_t)(out[3] << 8 | out[4]));
}

TEST_F(rt, seal_in_place)
{
	uint8_t out[PL_MAX_WIRE_LEN], copy[3000];
	size_t len;

	tu_rand_bytes(copy, sizeof(copy));
	memcpy(out + PL_HEADER_LEN, copy, sizeof(copy));
	ASSERT_EQ(PL_OK, pl_tx_seal(self->tx, PLASMATIC_CT_APPLICATION_DATA,
				    out + PL_HEADER_LEN, sizeof(copy), NULL, out,
				    sizeof(out), &len));
	ASSERT_NE(0, memcmp(out + PL_HEADER_LEN, copy, sizeof(copy)));
	ASSERT_EQ(0, tu_feed(self->rx, out, len, TU_RANDOM, &self->got));
	ASSERT_EQ(1, self->got.n);
	ASSERT_EQ(sizeof(copy), self->got.r[0].len);
	ASSERT_EQ(0, memcmp(copy, self->got.r[0].data, sizeof(copy)));
}

/* The largest records a sender may make: content and padding at the cap. */
TEST_F(rt, max_inner_plaintext)
{
	const size_t max = pl_tx_max_content(self->tx);
	static uint8_t data[PL_MAX_CONTENT];

	tu_rand_bytes(data, sizeof(data));
	ASSERT_EQ(PL_OK, send_rec(self, 23, data, max, 0, NULL));
	ASSERT_EQ(PL_OK, send_rec(self, 23, NULL, 0, max, NULL));
	ASSERT_EQ(PL_OK, send_rec(self, 22, data, 1, max - 1, NULL));
	ASSERT_EQ(0, tu_feed(self->rx, self->stream.p, self->stream.len,
			     TU_RANDOM, &self->got));
	ASSERT_TRUE(same_records(&self->sent, &self->got));
}

/*
 * SPEC 8.1: a sender's content plus padding per record is at most 2^14 in
 * detached framing and 2^14 - eem_len in covered framing, so that a full
 * record's header length is 16401 (2^14 + 17, a stock TLS 1.3 stack's) in
 * either framing, for every EEM length.
 */
TEST_F(rt, max_content_per_framing)
{
	static uint8_t data[PL_MAX_CONTENT + 1], out[PL_MAX_WIRE_LEN];
	const size_t max = pl_tx_max_content(self->tx);
	size_t len = 0;

	for (unsigned int e = 0; e <= 255; e++) {
		size_t want = e < PLASMATIC_EEM_LEN_MIN ? 0 : PL_MAX_CONTENT;

		ASSERT_EQ(want, pl_max_content(PLASMATIC_FRAMING_DETACHED,
					       (uint8_t)e));
		ASSERT_EQ(want ? want - e : 0,
			  pl_max_content(PLASMATIC_FRAMING_COVERED,
					 (uint8_t)e)) TH_LOG("eem_len %u", e);
		ASSERT_EQ(0, pl_max_content(2, (uint8_t)e));
	}
	ASSERT_EQ(16129, pl_max_content(PLASMATIC_FRAMING_COVERED, 255));
	ASSERT_EQ(pl_max_content(variant->framing, variant->eem_len), max);
	ASSERT_EQ(variant->framing ? PL_MAX_CONTENT - variant->eem_len :
				     PL_MAX_CONTENT, max);

	tu_rand_bytes(data, sizeof(data));
	/* Beyond the cap, by content or by padding: refused. */
	ASSERT_EQ(PL_ERR_INVAL, pl_tx_seal(self->tx, 23, data, max + 1, NULL,
					   out, sizeof(out), &len));
	ASSERT_EQ(PL_ERR_INVAL, send_rec(self, 23, data, max, 1, NULL));
	ASSERT_EQ(PL_ERR_INVAL, send_rec(self, 23, NULL, 0, max + 1, NULL));
	if (variant->framing == PLASMATIC_FRAMING_COVERED) {
		ASSERT_EQ(PL_ERR_INVAL, send_rec(self, 23, data,
						 PL_MAX_CONTENT, 0, NULL));
	}
	ASSERT_EQ(0, pl_tx_seq(self->tx));

	/* At the cap: header length 16401 in either framing. */
	ASSERT_EQ(PL_OK, pl_tx_seal(self->tx, 23, data, max, NULL, out,
				    sizeof(out), &len));
	ASSERT_EQ(PL_HEADER_LEN + 16401 +
		  (variant->framing ? 0 : variant->eem_len), len);
	ASSERT_EQ(16401, (size_t)(out[3] << 8 | out[4]));
	tu_buf_append(&self->stream, out, len);
	ASSERT_EQ(0, tu_feed(self->rx, self->stream.p, self->stream.len,
			     TU_RANDOM, &self->got));
	ASSERT_EQ(1, self->got.n);
	ASSERT_EQ(max, self->got.r[0].len);
	ASSERT_EQ(0, memcmp(data, self->got.r[0].data, max));
}

/*
 * A large write split at pl_tx_max_content(), as libplasmatic and the
 * kernel split one (SPEC 8.1), in the variant's suite and framing with EEM
 * lengths 48, 80 and 255: every full record carries exactly the cap, no
 * header length is above 16401, and the stream reads back.
 */
static void large_write(struct __test_metadata *_metadata, uint16_t suite,
			uint8_t framing, uint8_t eem_len, const uint8_t *data,
			size_t total)
{
	const size_t e = framing ? eem_len : 0, tail = framing ? 0 : eem_len;
	struct tu_buf b = { 0 }, got = { 0 };
	struct tu_sink sink = { 0 };
	size_t max, off, records = 0;
	struct pl_tx *tx;
	struct pl_rx *rx;
	struct tu_conn c;

	ASSERT_EQ(PL_OK, tu_conn_init(&c, suite, framing, eem_len));
	tx = tu_conn_tx(&c);
	rx = tu_conn_rx(&c);
	ASSERT_TRUE(tx && rx);
	max = pl_tx_max_content(tx);
	ASSERT_EQ(PL_MAX_CONTENT - e, max);
	for (off = 0; off < total; off += max) {
		size_t n = total - off < max ? total - off : max;

		ASSERT_EQ(PL_OK, tu_seal(tx, &b, 23, data + off, n, NULL));
	}
	/* Walk the record headers of the stream. */
	for (off = 0; off < b.len; records++) {
		size_t length = (size_t)(b.p[off + 3] << 8 | b.p[off + 4]);
		bool last = off + PL_HEADER_LEN + length + tail == b.len;

		ASSERT_GE(16401, length)
			TH_LOG("framing %u eem_len %u record %zu: length %zu",
			       framing, eem_len, records, length);
		if (!last) {
			ASSERT_EQ(16401, length);
			ASSERT_EQ(max, length - 17 - e);
		}
		off += PL_HEADER_LEN + length + tail;
	}
	ASSERT_EQ(b.len, off);
	ASSERT_EQ((total + max - 1) / max, records);
	ASSERT_EQ(0, tu_feed(rx, b.p, b.len, TU_RANDOM, &sink));
	ASSERT_EQ(records, sink.n);
	for (size_t i = 0; i < sink.n; i++)
		tu_buf_append(&got, sink.r[i].data, sink.r[i].len);
	ASSERT_EQ(total, got.len);
	ASSERT_EQ(0, memcmp(data, got.p, total));
	tu_sink_free(&sink);
	tu_buf_free(&got);
	tu_buf_free(&b);
	pl_tx_free(tx);
	pl_rx_free(rx);
}

TEST_F(rt, large_write_records_no_longer_than_stock)
{
	static const uint8_t eem_lens[] = { 48, 80, 255 };
	const size_t total = 1 << 20;
	uint8_t *data = malloc(total);

	ASSERT_NE(NULL, data);
	tu_rand_bytes(data, total);
	for (size_t k = 0; k < sizeof(eem_lens); k++)
		large_write(_metadata, variant->suite, variant->framing,
			    eem_lens[k], data, total);
	free(data);
}

TEST_F(rt, seal_rejects_bad_arguments)
{
	static uint8_t data[PL_MAX_CONTENT + 1], out[PL_MAX_WIRE_LEN];
	struct pl_seed_update su = { .kind = PL_SU_SEED, .mode = 9 };
	struct pl_seal_opts o = { .su = &su };
	uint8_t nonce[12], after[12];
	size_t len = 12345;

	pl_tx_eem_nonce(self->tx, nonce);
	ASSERT_EQ(PL_ERR_INVAL, pl_tx_seal(self->tx, 23, data,
					   pl_tx_max_content(self->tx) + 1,
					   NULL, out, sizeof(out), &len));
	o.pad_len = 2;
	su.mode = 0;
	ASSERT_EQ(PL_ERR_INVAL, pl_tx_seal(self->tx, 23, data,
					   pl_tx_max_content(self->tx) - 1,
					   &o, out, sizeof(out), &len));
	o.pad_len = 0;
	su.mode = 9;		/* unknown mode */
	ASSERT_EQ(PL_ERR_INVAL, pl_tx_seal(self->tx, 23, data, 1, &o, out,
					   sizeof(out), &len));
	su.mode = 1;
	su.flags = 2;		/* unknown flag */
	ASSERT_EQ(PL_ERR_INVAL, pl_tx_seal(self->tx, 23, data, 1, &o, out,
					   sizeof(out), &len));
	su.kind = 2;
	su.flags = 0;
	ASSERT_EQ(PL_ERR_INVAL, pl_tx_seal(self->tx, 23, data, 1, &o, out,
					   sizeof(out), &len));
	su.kind = PL_SU_NONE;	/* kind 0 with a seed */
	su.mode = 0;
	su.seed = 1;
	ASSERT_EQ(PL_ERR_INVAL, pl_tx_seal(self->tx, 23, data, 1, &o, out,
					   sizeof(out), &len));
	ASSERT_EQ(PL_ERR_INVAL, pl_tx_seal(self->tx, 24, data, 1, NULL, out,
					   sizeof(out), &len));
	ASSERT_EQ(PL_ERR_INVAL, pl_tx_seal(self->tx, 20, data, 1, NULL, out,
					   sizeof(out), &len));
	ASSERT_EQ(PL_ERR_INVAL, pl_tx_seal(self->tx, 21, data, 0, NULL, out,
					   sizeof(out), &len));
	ASSERT_EQ(PL_ERR_INVAL, pl_tx_seal(self->tx, 22, data, 0, NULL, out,
					   sizeof(out), &len));
	ASSERT_EQ(PL_ERR_SPACE, pl_tx_seal(self->tx, 23, data, 10, NULL, out,
					   pl_tx_record_len(self->tx, 10, 0) - 1,
					   &len));
	ASSERT_EQ(12345, len);
	/* Refused seals consume neither a sequence number nor a nonce. */
	ASSERT_EQ(0, pl_tx_seq(self->tx));
	pl_tx_eem_nonce(self->tx, after);
	ASSERT_EQ(0, memcmp(nonce, after, 12));
	ASSERT_EQ(PL_OK, send_rec(self, 23, data, 10, 0, NULL));
	ASSERT_EQ(0, tu_feed(self->rx, self->stream.p, self->stream.len,
			     TU_WHOLE, &self->got));
	ASSERT_TRUE(same_records(&self->sent, &self->got));
}

TEST_F(rt, bad_config)
{
	struct pl_dir_config cfg = self->c.cfg;
	int err = 0;

	cfg.eem_len = 47;
	ASSERT_EQ(NULL, pl_tx_new(&cfg, &err));
	ASSERT_EQ(PL_ERR_INVAL, err);
	cfg = self->c.cfg;
	cfg.framing = 2;
	ASSERT_EQ(NULL, pl_rx_new(&cfg, &err));
	ASSERT_EQ(PL_ERR_INVAL, err);
	cfg = self->c.cfg;
	cfg.suite = 0x1304;
	ASSERT_EQ(NULL, pl_rx_new(&cfg, &err));
	ASSERT_EQ(PL_ERR_INVAL, err);
	cfg = self->c.cfg;
	cfg.secret_len--;
	ASSERT_EQ(NULL, pl_tx_new(&cfg, &err));
	ASSERT_EQ(PL_ERR_INVAL, err);
}

/* KeyUpdate: handshake record under the old key, then the next secret. */
TEST_F(rt, key_update)
{
	static const uint8_t ku[5] = { 24, 0, 0, 1, 0 };
	uint8_t data[700], fresh[PL_MAX_SECRET_LEN];
	size_t expect = 0;

	tu_rand_bytes(data, sizeof(data));
	tu_rand_bytes(fresh, sizeof(fresh));
	for (int i = 0; i < 12; i++) {
		if (i % 4 == 3) {
			ASSERT_EQ(PL_OK, send_rec(self, 22, ku, sizeof(ku), 0,
						  NULL));
			if (i == 7) {
				ASSERT_EQ(PL_OK, pl_tx_rekey(self->tx, fresh,
							     self->c.secret_len));
			} else {
				ASSERT_EQ(PL_OK, pl_tx_key_update(self->tx));
			}
			ASSERT_EQ(0, pl_tx_seq(self->tx));
		} else {
			ASSERT_EQ(PL_OK, send_rec(self, 23, data,
						  tu_rand_below(sizeof(data)),
						  0, NULL));
		}
	}
	/* The receiver switches keys right after each KeyUpdate record. */
	for (size_t off = 0; off < self->stream.len;) {
		struct pl_record rec;
		size_t used, chunk = 1 + tu_rand_below(300);
		int r;

		if (chunk > self->stream.len - off)
			chunk = self->stream.len - off;
		r = pl_rx_feed(self->rx, self->stream.p + off, chunk, &used,
			       &rec);
		ASSERT_GE(r, 0) TH_LOG("%s", pl_strerror(r));
		off += used;
		if (r == 1) {
			tu_sink_add(&self->got, &rec);
			expect++;
			if (rec.content_type == 22) {
				ASSERT_EQ(PL_OK, expect == 8 ?
					  pl_rx_rekey(self->rx, fresh,
						      self->c.secret_len) :
					  pl_rx_key_update(self->rx));
				ASSERT_EQ(0, pl_rx_seq(self->rx));
			}
		}
	}
	ASSERT_TRUE(same_records(&self->sent, &self->got));
	ASSERT_EQ(PL_OK, pl_rx_end(self->rx));
}

/* Without the update the receiver fails on the first new-key record. */
TEST_F(rt, key_update_missed)
{
	ASSERT_EQ(PL_OK, send_rec(self, 23, (const uint8_t *)"old", 3, 0, NULL));
	ASSERT_EQ(PL_OK, pl_tx_key_update(self->tx));
	ASSERT_EQ(PL_OK, send_rec(self, 23, (const uint8_t *)"new", 3, 0, NULL));
	ASSERT_EQ(PL_ERR_TLS_TAG, tu_feed(self->rx, self->stream.p,
					  self->stream.len, TU_RANDOM,
					  &self->got));
	ASSERT_EQ(1, self->got.n);
	ASSERT_EQ(0, memcmp("old", self->got.r[0].data, 3));
}

TEST_F(rt, key_update_needs_secret)
{
	struct pl_dir_config cfg = self->c.cfg;
	struct pl_tx *tx;

	cfg.secret = NULL;
	cfg.key = self->c.key;
	cfg.iv = self->c.iv;
	tx = pl_tx_new(&cfg, NULL);
	ASSERT_NE(NULL, tx);
	ASSERT_EQ(PL_ERR_NO_SECRET, pl_tx_key_update(tx));
	/* A tx made from key/iv speaks to an rx made from the secret. */
	ASSERT_EQ(PL_OK, tu_seal(tx, &self->stream, 23,
				 (const uint8_t *)"k", 1, NULL));
	ASSERT_EQ(0, tu_feed(self->rx, self->stream.p, self->stream.len,
			     TU_WHOLE, &self->got));
	ASSERT_EQ(1, self->got.n);
	pl_tx_free(tx);
}

static int feed_and_end(struct pl_rx *rx, const struct tu_buf *b,
			struct tu_sink *sink)
{
	int r = tu_feed(rx, b->p, b->len, TU_WHOLE, sink);

	return r ? r : pl_rx_end(rx);
}

TEST_F(rt, wrong_eem_key_or_params)
{
	struct pl_dir_config cfg = self->c.cfg;
	uint8_t key[32];
	struct pl_rx *rx;

	ASSERT_EQ(PL_OK, send_rec(self, 23, (const uint8_t *)"x", 1, 0, NULL));

	memcpy(key, self->c.eem.key, 32);
	key[tu_rand_below(32)] ^= 1;
	cfg.eem_key = key;
	rx = pl_rx_new(&cfg, NULL);
	ASSERT_EQ(PL_ERR_EEM_TAG, tu_feed(rx, self->stream.p, self->stream.len,
					  TU_WHOLE, &self->got));
	pl_rx_free(rx);

	cfg = self->c.cfg;
	cfg.framing ^= 1;
	rx = pl_rx_new(&cfg, NULL);
	ASSERT_GT(0, feed_and_end(rx, &self->stream, &self->got));
	pl_rx_free(rx);

	cfg = self->c.cfg;
	cfg.eem_len = (uint8_t)(cfg.eem_len == 255 ? 254 : cfg.eem_len + 1);
	rx = pl_rx_new(&cfg, NULL);
	ASSERT_GT(0, feed_and_end(rx, &self->stream, &self->got));
	pl_rx_free(rx);
	ASSERT_EQ(0, self->got.n);
}

TEST_F(rt, eem_nonce_exhaustion)
{
	struct pl_dir_config cfg = self->c.cfg;
	uint8_t nonce[12], wrapped[12], out[512];
	struct pl_tx *tx, *tx2;
	struct pl_rx *rx;
	size_t len;

	memcpy(nonce, self->c.eem.nonce, 4);
	memset(nonce + 4, 0xff, 8);
	nonce[11] = 0xfe;
	cfg.eem_nonce = nonce;
	tx = pl_tx_new(&cfg, NULL);
	rx = pl_rx_new(&cfg, NULL);
	ASSERT_TRUE(tx && rx);
	ASSERT_EQ(PL_OK, tu_seal(tx, &self->stream, 23, NULL, 0, NULL));
	ASSERT_EQ(PL_OK, tu_seal(tx, &self->stream, 23, NULL, 0, NULL));
	ASSERT_EQ(PL_ERR_NONCE_EXHAUSTED, pl_tx_seal(tx, 23, NULL, 0, NULL,
						     out, sizeof(out), &len));
	ASSERT_EQ(2, pl_tx_seq(tx));
	ASSERT_EQ(0, tu_feed(rx, self->stream.p, self->stream.len, TU_WHOLE,
			     &self->got));
	ASSERT_EQ(2, self->got.n);

	/* A record at the wrapped nonce (salt || 0) with seq 2 is refused. */
	memcpy(wrapped, nonce, 4);
	memset(wrapped + 4, 0, 8);
	cfg.eem_nonce = wrapped;
	cfg.seq = 2;
	tx2 = pl_tx_new(&cfg, NULL);
	ASSERT_NE(NULL, tx2);
	ASSERT_EQ(PL_OK, pl_tx_seal(tx2, 23, NULL, 0, NULL, out, sizeof(out),
				    &len));
	ASSERT_EQ(PL_ERR_NONCE_EXHAUSTED, tu_feed(rx, out, len, TU_WHOLE,
						  &self->got));
	ASSERT_EQ(2, self->got.n);
	pl_tx_free(tx);
	pl_tx_free(tx2);
	pl_rx_free(rx);
}

TEST_F(rt, sequence_limit)
{
	struct pl_dir_config cfg = self->c.cfg;
	uint64_t limit = variant->suite == PL_TLS_CHACHA20_POLY1305_SHA256 ?
			 UINT64_MAX : 23726566;
	uint8_t out[512];
	struct pl_tx *tx;
	size_t len;

	cfg.seq = limit - 2;
	tx = pl_tx_new(&cfg, NULL);
	ASSERT_NE(NULL, tx);
	ASSERT_EQ(2, pl_tx_records_left(tx));
	ASSERT_EQ(PL_OK, pl_tx_seal(tx, 23, NULL, 0, NULL, out, sizeof(out),
				    &len));
	ASSERT_EQ(PL_OK, pl_tx_seal(tx, 22, (const uint8_t *)"k", 1, NULL, out,
				    sizeof(out), &len));
	ASSERT_EQ(0, pl_tx_records_left(tx));
	ASSERT_EQ(PL_ERR_SEQ_EXHAUSTED, pl_tx_seal(tx, 23, NULL, 0, NULL, out,
						   sizeof(out), &len));
	ASSERT_EQ(PL_OK, pl_tx_key_update(tx));
	ASSERT_EQ(limit == UINT64_MAX ? UINT64_MAX : limit,
		  pl_tx_records_left(tx));
	ASSERT_EQ(PL_OK, pl_tx_seal(tx, 23, NULL, 0, NULL, out, sizeof(out),
				    &len));
	pl_tx_free(tx);
}

TEST_HARNESS_MAIN
