// SPDX-License-Identifier: GPL-2.0
/*
 * Every modification of a valid stream is refused: nothing of the bad
 * record (or after it) is delivered, everything before it is, and the
 * failure is sticky.
 */
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

#include "testutil.h"
#include "variants.h"

#define NREC	4
#define ANY_ERR	1	/* any negative cause is right */

FIXTURE(tamper) {
	struct tu_conn c;
	struct pl_tx *tx;
	struct tu_buf stream;
	struct tu_sink sent;
	size_t off[NREC + 1];	/* record i is stream[off[i] .. off[i+1]) */
};

FIXTURE_VARIANT(tamper) {
	uint16_t suite;
	uint8_t framing, eem_len;
};

PL_SUITE_VARIANTS(tamper);

FIXTURE_SETUP(tamper)
{
	uint8_t data[64];

	memset(&self->stream, 0, sizeof(self->stream));
	memset(&self->sent, 0, sizeof(self->sent));
	ASSERT_EQ(PL_OK, tu_conn_init(&self->c, variant->suite,
				      variant->framing, variant->eem_len));
	self->tx = tu_conn_tx(&self->c);
	ASSERT_NE(NULL, self->tx);
	for (int i = 0; i < NREC; i++) {
		size_t len = 1 + tu_rand_below(sizeof(data));
		struct pl_record rec = { .content_type = 23, .content = data,
					 .len = len };

		tu_rand_bytes(data, len);
		self->off[i] = self->stream.len;
		ASSERT_EQ(PL_OK, tu_seal(self->tx, &self->stream, 23, data, len,
					 NULL));
		tu_sink_add(&self->sent, &rec);
	}
	self->off[NREC] = self->stream.len;
}

FIXTURE_TEARDOWN(tamper)
{
	pl_tx_free(self->tx);
	tu_buf_free(&self->stream);
	tu_sink_free(&self->sent);
	EXPECT_EQ(0, tu_leaks());
}

/*
 * Feed p (then EOF) to a fresh receiver: it must fail with want (or any
 * cause for ANY_ERR) after delivering exactly the first `good` records.
 */
static void expect_reject(struct __test_metadata *_metadata,
			  FIXTURE_DATA(tamper) *self, const uint8_t *p,
			  size_t len, size_t good, int want, const char *what)
{
	struct pl_rx *rx = tu_conn_rx(&self->c);
	struct tu_sink got = { 0 };
	struct pl_record rec;
	size_t used;
	int r;

	ASSERT_NE(NULL, rx);
	r = tu_feed(rx, p, len, TU_RANDOM, &got);
	if (!r)
		r = pl_rx_end(rx);
	ASSERT_GT(0, r) TH_LOG("%s: accepted", what);
	if (want != ANY_ERR) {
		ASSERT_EQ(want, r) TH_LOG("%s: %s instead of %s", what,
					  pl_strerror(r), pl_strerror(want));
	}
	ASSERT_NE(TU_ERR_STALL, r);
	ASSERT_EQ(good, got.n) TH_LOG("%s", what);
	for (size_t i = 0; i < good; i++) {
		ASSERT_EQ(self->sent.r[i].len, got.r[i].len);
		ASSERT_EQ(0, memcmp(self->sent.r[i].data, got.r[i].data,
				    got.r[i].len));
	}
	/* Sticky: valid bytes, EOF and rekeying fail the same way. */
	ASSERT_EQ(r, pl_rx_error(rx));
	ASSERT_EQ(r, pl_rx_feed(rx, self->stream.p, self->stream.len, &used,
				&rec));
	ASSERT_EQ(0, used);
	ASSERT_EQ(r, pl_rx_end(rx));
	ASSERT_EQ(r, pl_rx_key_update(rx));
	ASSERT_FALSE(pl_rx_at_boundary(rx));
	tu_sink_free(&got);
	pl_rx_free(rx);
}

/* Flip bit `bit` of stream byte `at` and expect a rejection of record 1. */
static void flip(struct __test_metadata *_metadata,
		 FIXTURE_DATA(tamper) *self, size_t at, int bit, int want,
		 const char *what)
{
	self->stream.p[at] ^= (uint8_t)(1u << bit);
	expect_reject(_metadata, self, self->stream.p, self->stream.len, 1,
		      want, what);
	self->stream.p[at] ^= (uint8_t)(1u << bit);
}

TEST_F(tamper, untouched_stream_is_accepted)
{
	struct pl_rx *rx = tu_conn_rx(&self->c);
	struct tu_sink got = { 0 };

	ASSERT_EQ(0, tu_feed(rx, self->stream.p, self->stream.len, TU_RANDOM,
			     &got));
	ASSERT_EQ(NREC, got.n);
	ASSERT_EQ(PL_OK, pl_rx_end(rx));
	tu_sink_free(&got);
	pl_rx_free(rx);
}

TEST_F(tamper, header_bits)
{
	size_t h = self->off[1];

	for (int i = 0; i < PL_HEADER_LEN; i++)
		for (int bit = 0; bit < 8; bit++)
			flip(_metadata, self, h + i, bit,
			     i < 3 ? PL_ERR_HEADER : ANY_ERR, "header");
}

static size_t lc_of(FIXTURE_DATA(tamper) *self, int i)
{
	return self->off[i + 1] - self->off[i] - PL_HEADER_LEN -
	       self->c.eem_len;
}

TEST_F(tamper, ciphertext_bits)
{
	size_t enc = self->off[1] + PL_HEADER_LEN, lc = lc_of(self, 1);

	/* The first two bytes are also the EEM's fragment. */
	for (size_t i = 0; i < lc - PL_TLS_TAG_LEN; i++)
		flip(_metadata, self, enc + i, (int)tu_rand_below(8),
		     i < 2 ? PL_ERR_EEM_FRAGMENT : PL_ERR_TLS_TAG, "ciphertext");
}

TEST_F(tamper, tls_tag_bits)
{
	size_t tag = self->off[1] + PL_HEADER_LEN + lc_of(self, 1) -
		     PL_TLS_TAG_LEN;

	/* The TLS tag is in the EEM's AAD: the EEM check catches it. */
	for (size_t i = 0; i < PL_TLS_TAG_LEN; i++)
		flip(_metadata, self, tag + i, (int)tu_rand_below(8),
		     PL_ERR_EEM_TAG, "tls tag");
}

TEST_F(tamper, eem_bits)
{
	size_t eem = self->off[2] - self->c.eem_len;

	for (size_t i = 0; i < self->c.eem_len; i++)
		flip(_metadata, self, eem + i, (int)tu_rand_below(8),
		     PL_ERR_EEM_TAG, "eem");
}

/* Build a stream from records of self->stream in the given order. */
static void reorder(FIXTURE_DATA(tamper) *self, const int *order, int n,
		    struct tu_buf *out)
{
	for (int i = 0; i < n; i++)
		tu_buf_append(out, self->stream.p + self->off[order[i]],
			      self->off[order[i] + 1] - self->off[order[i]]);
}

TEST_F(tamper, replay_swap_drop)
{
	static const struct {
		int order[NREC + 1], n, good;
		const char *what;
	} cases[] = {
		{ { 0, 1, 1, 2, 3 }, 5, 2, "replay of the last record" },
		{ { 0, 1, 2, 3, 0 }, 5, 4, "replay of an old record" },
		{ { 0, 2, 1, 3 }, 4, 1, "two records swapped" },
		{ { 0, 2, 3 }, 3, 1, "record dropped" },
		{ { 1, 2, 3 }, 3, 0, "first record dropped" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tu_buf b = { 0 };

		reorder(self, cases[i].order, cases[i].n, &b);
		expect_reject(_metadata, self, b.p, b.len, cases[i].good,
			      PL_ERR_EEM_TAG, cases[i].what);
		tu_buf_free(&b);
	}
}

/*
 * An EEM moved onto another record sealed at the same position (same
 * sequence number and EEM nonce, same length or not) does not open: its
 * AAD holds the header and TLS tag of its own record.
 */
TEST_F(tamper, eem_moved_to_other_record)
{
	for (int same_len = 0; same_len < 2; same_len++) {
		struct pl_tx *other = tu_conn_tx(&self->c);
		size_t len = self->sent.r[0].len, olen = len;
		struct tu_buf ob = { 0 }, b = { 0 };
		uint8_t data[80];
		size_t eem;

		ASSERT_NE(NULL, other);
		if (!same_len)
			olen = len % 64 + 1 + tu_rand_below(8);
		tu_rand_bytes(data, olen);
		ASSERT_EQ(PL_OK, tu_seal(other, &ob, 23, data, olen, NULL));
		/* other's record 0 body with the real record 0's EEM */
		eem = ob.len - self->c.eem_len;
		tu_buf_append(&b, ob.p, eem);
		tu_buf_append(&b, self->stream.p + self->off[1] - self->c.eem_len,
			      self->c.eem_len);
		tu_buf_append(&b, self->stream.p + self->off[1],
			      self->stream.len - self->off[1]);
		expect_reject(_metadata, self, b.p, b.len, 0,
			      same_len ? PL_ERR_EEM_TAG : ANY_ERR, "moved eem");
		tu_buf_free(&b);
		tu_buf_free(&ob);
		pl_tx_free(other);
	}

	/* Record 2's EEM on record 1 (and the reverse). */
	for (int k = 0; k < 2; k++) {
		struct tu_buf b = { 0 };
		int body = 1 + k, mount = 2 - k;

		tu_buf_append(&b, self->stream.p, self->off[1]);
		tu_buf_append(&b, self->stream.p + self->off[body],
			      lc_of(self, body) + PL_HEADER_LEN);
		tu_buf_append(&b, self->stream.p + self->off[mount + 1] -
				  self->c.eem_len, self->c.eem_len);
		expect_reject(_metadata, self, b.p, b.len, 1, PL_ERR_EEM_TAG,
			      "eem of a neighbour");
		tu_buf_free(&b);
	}
}

TEST_F(tamper, truncation_at_every_offset)
{
	for (size_t cut = self->off[1]; cut <= self->off[2]; cut++) {
		struct pl_rx *rx = tu_conn_rx(&self->c);
		struct tu_sink got = { 0 };
		bool boundary = cut == self->off[1] || cut == self->off[2];

		ASSERT_EQ(0, tu_feed(rx, self->stream.p, cut,
				     cut & 1 ? TU_RANDOM : TU_BYTES, &got));
		ASSERT_EQ(cut == self->off[2] ? 2 : 1, got.n);
		ASSERT_EQ(boundary, pl_rx_at_boundary(rx));
		ASSERT_EQ(boundary ? PL_OK : PL_ERR_TRUNCATED, pl_rx_end(rx))
			TH_LOG("cut at %zu", cut - self->off[1]);
		if (!boundary) {
			ASSERT_EQ(PL_ERR_TRUNCATED, pl_rx_error(rx));
		}
		tu_sink_free(&got);
		pl_rx_free(rx);
	}
}

/* Record 0 from the engine, then record 1 crafted independently. */
static void crafted(struct __test_metadata *_metadata,
		    FIXTURE_DATA(tamper) *self, const uint8_t *inner,
		    size_t inner_len, const uint8_t su[PL_SU_LEN], int want,
		    const char *what)
{
	uint8_t nonce[12];
	struct tu_buf b = { 0 };
	size_t len;

	tu_nonce_add(self->c.eem.nonce, 1, nonce);
	tu_buf_append(&b, self->stream.p, self->off[1]);
	len = tu_craft(&self->c, 1, nonce, inner, inner_len, su,
		       tu_buf_grow(&b, PL_MAX_WIRE_LEN + 16));
	b.len = self->off[1] + len;
	if (want == PL_OK) {
		struct pl_rx *rx = tu_conn_rx(&self->c);
		struct tu_sink got = { 0 };

		ASSERT_EQ(0, tu_feed(rx, b.p, b.len, TU_RANDOM, &got))
			TH_LOG("%s", what);
		ASSERT_EQ(2, got.n) TH_LOG("%s", what);
		ASSERT_EQ(PL_OK, pl_rx_end(rx));
		tu_sink_free(&got);
		pl_rx_free(rx);
	} else {
		expect_reject(_metadata, self, b.p, b.len, 1, want, what);
	}
	tu_buf_free(&b);
}

TEST_F(tamper, seed_update_fields)
{
	static const struct {
		uint8_t su[PL_SU_LEN];
		int want;
	} cases[] = {
		{ { 0 }, PL_OK },
		{ { 1, 0, 0, 0 }, PL_OK },
		{ { 1, 8, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		  PL_OK },
		{ { 2 }, PL_ERR_SEED_UPDATE },			/* kind */
		{ { 0xff, 1 }, PL_ERR_SEED_UPDATE },
		{ { 1, 9 }, PL_ERR_SEED_UPDATE },		/* mode */
		{ { 1, 0xff }, PL_ERR_SEED_UPDATE },
		{ { 1, 1, 2 }, PL_ERR_SEED_UPDATE },		/* flags */
		{ { 1, 1, 0x81 }, PL_ERR_SEED_UPDATE },
		{ { 1, 1, 1, 1 }, PL_ERR_SEED_UPDATE },		/* reserved */
		{ { 0, 1 }, PL_ERR_SEED_UPDATE },		/* kind 0 ... */
		{ { 0, 0, 1 }, PL_ERR_SEED_UPDATE },
		{ { 0, 0, 0, 1 }, PL_ERR_SEED_UPDATE },
		{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, PL_ERR_SEED_UPDATE },
		{ { 0, 0, 0, 0, 0x80 }, PL_ERR_SEED_UPDATE },
	};
	const uint8_t inner[] = { 'h', 'i', 23 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		crafted(_metadata, self, inner, sizeof(inner), cases[i].su,
			cases[i].want, "seed update");
}

TEST_F(tamper, content_type_and_size)
{
	static uint8_t inner[PL_MAX_CONTENT + 256];
	static const uint8_t no_su[PL_SU_LEN];
	static const struct {
		size_t content, pad;
		int type;	/* -1: no type byte at all (all zeros) */
		int want;
		const char *what;
	} cases[] = {
		{ 5, 0, 23, PL_OK, "app data" },
		{ 0, 0, 23, PL_OK, "empty app data" },
		{ 0, 30, 23, PL_OK, "empty padded app data" },
		{ 1, 0, 22, PL_OK, "handshake" },
		{ 2, 7, 21, PL_OK, "padded alert" },
		{ PL_MAX_CONTENT, 0, 23, PL_OK, "2^14 content" },
		{ 100, PL_MAX_CONTENT - 100, 23, PL_OK, "2^14 + 1 inner" },
		{ 5, 0, 24, PL_ERR_CONTENT_TYPE, "type 24" },
		{ 5, 0, 20, PL_ERR_CONTENT_TYPE, "type 20 (change_cipher_spec)" },
		{ 5, 3, 255, PL_ERR_CONTENT_TYPE, "type 255" },
		{ 0, 0, -1, PL_ERR_CONTENT_TYPE, "one zero byte" },
		{ 0, 40, -1, PL_ERR_CONTENT_TYPE, "all zeros" },
		{ 0, 0, 21, PL_ERR_EMPTY, "empty alert" },
		{ 0, 9, 22, PL_ERR_EMPTY, "empty padded handshake" },
		{ PL_MAX_CONTENT + 1, 0, 23, PL_ERR_OVERFLOW, "2^14 + 1 content" },
		{ PL_MAX_CONTENT, 1, 23, PL_ERR_OVERFLOW, "2^14 + 2 inner" },
		{ 10, PL_MAX_CONTENT + 200, 23, PL_ERR_OVERFLOW,
		  "padding to the length limit" },
	};

	size_t e = self->c.framing ? self->c.eem_len : 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = cases[i].content;
		int want = cases[i].want;

		tu_rand_bytes(inner, n);
		if (cases[i].type >= 0)
			inner[n++] = (uint8_t)cases[i].type;
		memset(inner + n, 0, cases[i].pad);
		n += cases[i].pad;
		if (cases[i].type < 0 && !n)
			inner[n++] = 0;
		/*
		 * In covered framing the EEM counts in the header length,
		 * capped at 2^14 + 256 like the detached one (SPEC 6): a
		 * large inner plaintext fails there first.
		 */
		if (n + PL_TLS_TAG_LEN + e > PL_MAX_CONTENT + 256)
			want = PL_ERR_LENGTH;
		crafted(_metadata, self, inner, n, no_su, want, cases[i].what);
	}
}

/*
 * Well-sealed records at the header length limit, 2^14 + 256 in both
 * framings (SPEC 6): one above it is refused for its length (before the
 * body: PL_ERR_LENGTH, not a TLS check) even where its TLSInnerPlaintext
 * would be within 2^14 + 1 (covered, eem_len >= 240); one at it is
 * accepted where its TLSInnerPlaintext is within 2^14 + 1 (covered,
 * eem_len >= 239), else refused for that (PL_ERR_OVERFLOW).
 */
TEST_F(tamper, length_limit_sealed_records)
{
	static uint8_t inner[PL_MAX_CONTENT + 512];
	static const uint8_t no_su[PL_SU_LEN];
	size_t e = self->c.framing ? self->c.eem_len : 0;

	for (size_t length = PL_MAX_CONTENT + 256;
	     length <= PL_MAX_CONTENT + 257; length++) {
		size_t n = length - PL_TLS_TAG_LEN - e;
		int want = length > PL_MAX_CONTENT + 256 ? PL_ERR_LENGTH :
			   n > PL_MAX_CONTENT + 1 ? PL_ERR_OVERFLOW : PL_OK;

		/* Content up to the type byte... */
		tu_rand_bytes(inner, n);
		for (size_t i = 0; i < n; i++)
			inner[i] |= 1;
		inner[n - 1] = 23;
		crafted(_metadata, self, inner, n, no_su, want,
			length > PL_MAX_CONTENT + 256 ? "length 2^14 + 257" :
			"length 2^14 + 256");
		/* ... or a short content and zero padding. */
		memset(inner + 101, 0, n - 101);
		inner[100] = 23;
		crafted(_metadata, self, inner, n, no_su, want,
			length > PL_MAX_CONTENT + 256 ?
			"length 2^14 + 257, padded" :
			"length 2^14 + 256, padded");
	}
}

/*
 * SPEC 6: 17 (+ eem_len in covered framing) .. 2^14 + 256 in both
 * framings; covered framing no longer adds eem_len to the maximum.
 */
TEST_F(tamper, length_out_of_range)
{
	size_t e = self->c.framing ? self->c.eem_len : 0;
	const size_t lo = 17 + e, hi = 16384 + 256;
	const size_t lengths[] = { 0, 1, lo - 1, hi + 1, hi + e + 1, 0xffff };

	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		uint8_t hdr[5] = { 0x17, 3, 3, (uint8_t)(lengths[i] >> 8),
				   (uint8_t)lengths[i] };
		struct pl_rx *rx = tu_conn_rx(&self->c);
		struct pl_record rec;
		size_t used;

		/* Refused from the header alone, before any body byte. */
		ASSERT_EQ(PL_ERR_LENGTH, pl_rx_feed(rx, hdr, 5, &used, &rec))
			TH_LOG("length %zu", lengths[i]);
		ASSERT_EQ(5, used);
		pl_rx_free(rx);
	}
	for (size_t len = lo; len <= hi; len += hi - lo) {
		uint8_t hdr[5] = { 0x17, 3, 3, (uint8_t)(len >> 8),
				   (uint8_t)len };
		struct pl_rx *rx = tu_conn_rx(&self->c);
		struct pl_record rec;
		size_t used;

		ASSERT_EQ(0, pl_rx_feed(rx, hdr, 5, &used, &rec));
		ASSERT_EQ(PL_ERR_TRUNCATED, pl_rx_end(rx));
		pl_rx_free(rx);
	}
}

TEST_F(tamper, other_header_fields)
{
	static const uint8_t bad[][3] = {
		{ 0x16, 3, 3 }, { 0x15, 3, 3 }, { 0x14, 3, 3 }, { 0x17, 3, 1 },
		{ 0x17, 3, 4 }, { 0x17, 2, 3 }, { 0x17, 3, 0 },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *h = self->stream.p + self->off[1], save[3];

		memcpy(save, h, 3);
		memcpy(h, bad[i], 3);
		expect_reject(_metadata, self, self->stream.p, self->stream.len,
			      1, PL_ERR_HEADER, "header type/version");
		memcpy(h, save, 3);
	}
}

TEST_HARNESS_MAIN
