// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the engine's record/EEM decoder (pl_rx_feed, SPEC 6-7).
 *
 * Input: byte 0 picks a receiver state (keys, sequence number, EEM nonce,
 * framing, eem_len) from cfgs[], each a SPEC.md section 13 vector's; byte
 * 1 holds the mode (bit 0), the number of split points (bits 1-4) and
 * whether to feed byte by byte too (bit 5); then the split points (2 bytes
 * each), then the payload:
 *
 *  - raw (bit 0 clear): the payload is the byte stream itself;
 *  - script (bit 0 set): the payload is a list of operations that build
 *    the stream: records sealed by the engine's TX side (pl_tx_seal, with
 *    KeyUpdates), records crafted with any inner plaintext, Seed Update,
 *    EEM nonce or fragment field (to reach every check after decryption),
 *    then mutations of the sealed bytes (flip, truncate, insert, delete,
 *    replay).
 *
 * The stream is decoded three ways: in one feed, cut at the fuzzer's split
 * points, and (short streams) byte by byte.  All must agree on every
 * accepted record, the failure cause, where it was found, and pl_rx_end().
 * In script mode the accepted records must moreover be a prefix of those
 * sealed; every record sealed before the first mutated byte must be
 * accepted, and with no mutation all of them, then a clean end.  A handshake
 * record starting with a KeyUpdate (24) moves both sides to the next
 * traffic secret, as libplasmatic does.
 *
 * PL_FUZZ_RX_REPORT=1 prints "accepted=N err=E end=E" per input on stderr
 * (E an enum pl_err): the fuzz suite checks the SPEC seeds with it
 * (fuzz/run.sh, against build/fuzz/corpus/rx.expect).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "internal.h"
#include "fuzz.h"

#define MAX_STREAM	(256 * 1024)
#define MAX_SPLITS	15
#define BYTEWISE_MAX	4096

/* ---- receiver states, from SPEC.md section 13 ---- */

struct cfg {
	const char *vector;	/* the SPEC vector it is taken from */
	uint16_t suite;
	uint8_t framing, eem_len;
	uint8_t key_start;	/* record key pattern(klen, key_start), or */
	uint8_t secret_start, secret_step;	/* secret pattern(hlen, ...) */
	uint64_t seq;
	const char *eem_nonce;	/* hex, or "c2s"/"s2c": SPEC 4 schedule */
};

static const struct cfg cfgs[] = {
	/* 0: 13.7, every reject-* vector (covered) */
	{ "reject-*", 0x1301, 1, 80, 0x10, 0, 0, 3, "0a0b0c0d0000000000000009" },
	/* 1-6: 13.4 */
	{ "record-aes128gcm-detached", 0x1301, 0, 80, 0x10, 0, 0, 5,
	  "0a0b0c0d0000000000000003" },
	{ "record-aes128gcm-covered", 0x1301, 1, 80, 0x10, 0, 0, 5,
	  "0a0b0c0d0000000000000003" },
	{ "record-aes256gcm-detached", 0x1302, 0, 80, 0x11, 0, 0, 5,
	  "0a0b0c0d0000000000000003" },
	{ "record-aes256gcm-covered", 0x1302, 1, 80, 0x11, 0, 0, 5,
	  "0a0b0c0d0000000000000003" },
	{ "record-chacha20-detached", 0x1303, 0, 80, 0x12, 0, 0, 5,
	  "0a0b0c0d0000000000000003" },
	{ "record-chacha20-covered", 0x1303, 1, 80, 0x12, 0, 0, 5,
	  "0a0b0c0d0000000000000003" },
	/* 7, 8 */
	{ "record-aes128gcm-detached-alert", 0x1301, 0, 48, 0x10, 0, 0, 5,
	  "0a0b0c0d0000000000000003" },
	{ "record-aes256gcm-covered-empty-2", 0x1302, 1, 255, 0x11, 0, 0, 0x1ff,
	  "1122334400000000fffffffe" },
	/* 9-12: 13.6, from a traffic secret (KeyUpdate works) */
	{ "stream-keyupdate", 0x1302, 1, 80, 0, 0x41, 3, 7,
	  "0a0b0c0d00000000000000fe" },
	{ "stream-nonce-carry", 0x1303, 1, 80, 0, 0x42, 3, 100,
	  "5a5a5a5a00000000ffffffff" },
	{ "stream-seed-update", 0x1301, 1, 80, 0, 0x40, 3, 32,
	  "0a0b0c0d0000000000000020" },
	{ "stream-covered-cap", 0x1303, 1, 80, 0, 0x42, 3, 0,
	  "0a0b0c0d0000000000000000" },
	/* 13, 14: 13.6, EEM key and nonce from the key schedule (13.1) */
	{ "stream-opening", 0x1301, 1, 80, 0, 0x50, 3, 0, "c2s" },
	{ "stream-server-first", 0x1301, 1, 80, 0, 0x60, 3, 2, "s2c" },
	/* 15, 16: not in SPEC: the ends of the counters, detached eem_len 255 */
	{ "edge-counters", 0x1303, 0, 255, 0, 0x42, 3, UINT64_MAX - 3,
	  "0a0b0c0dfffffffffffffffc" },
	{ "edge-covered-255", 0x1301, 1, 255, 0, 0x40, 3, 0,
	  "0a0b0c0d0000000000000000" },
};
#define NCFG	(sizeof(cfgs) / sizeof(cfgs[0]))

struct state {
	uint8_t key[PL_MAX_KEY_LEN], iv[PL_IV_LEN];
	uint8_t secret[PL_MAX_SECRET_LEN];
	uint8_t eem_key[PLASMATIC_EEM_KEY_SIZE];
	uint8_t eem_nonce[PLASMATIC_EEM_NONCE_SIZE];
	struct pl_dir_config dc;
	bool has_secret;
};

static struct state states[NCFG];

static void pattern(uint8_t *out, size_t n, uint8_t start, uint8_t step)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(start + i * step);
}

static void unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(pl_hex_digit(s[2 * i]) << 4 |
				   pl_hex_digit(s[2 * i + 1]));
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pl_eem_secrets c2s, s2c;
	uint8_t exp[PL_EXPORTER_LEN], psk[PL_PSK_LEN];

	(void)argc;
	(void)argv;
	/* stream-opening / stream-server-first: exp 00.., psk a0.. */
	pattern(exp, sizeof(exp), 0x00, 1);
	pattern(psk, sizeof(psk), 0xa0, 1);
	NEED(pl_eem_schedule(exp, psk, &c2s, &s2c) == PL_OK);
	for (size_t i = 0; i < NCFG; i++) {
		const struct cfg *c = &cfgs[i];
		struct state *s = &states[i];

		memset(&s->dc, 0, sizeof(s->dc));
		s->dc.suite = c->suite;
		s->dc.framing = c->framing;
		s->dc.eem_len = c->eem_len;
		s->dc.seq = c->seq;
		if (c->secret_start) {
			s->dc.secret_len = pl_suite_hash_len(c->suite);
			pattern(s->secret, s->dc.secret_len, c->secret_start,
				c->secret_step);
			s->dc.secret = s->secret;
			s->has_secret = true;
		} else {
			pattern(s->key, pl_suite_key_len(c->suite), c->key_start, 1);
			pattern(s->iv, PL_IV_LEN, 0x30, 7);
			s->dc.key = s->key;
			s->dc.iv = s->iv;
		}
		if (!strcmp(c->eem_nonce, "c2s") || !strcmp(c->eem_nonce, "s2c")) {
			const struct pl_eem_secrets *e =
				c->eem_nonce[0] == 'c' ? &c2s : &s2c;

			memcpy(s->eem_key, e->key, sizeof(s->eem_key));
			memcpy(s->eem_nonce, e->nonce, sizeof(s->eem_nonce));
		} else {
			pattern(s->eem_key, sizeof(s->eem_key), 0x80, 1);
			unhex(c->eem_nonce, s->eem_nonce, sizeof(s->eem_nonce));
		}
		s->dc.eem_key = s->eem_key;
		s->dc.eem_nonce = s->eem_nonce;
	}
	return 0;
}

/* ---- input reader: zeros once it runs out ---- */

struct rd {
	const uint8_t *p;
	size_t n;
};

static uint8_t get8(struct rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static uint16_t get16(struct rd *r)
{
	uint16_t hi = get8(r);

	return (uint16_t)(hi << 8 | get8(r));
}

static uint64_t get64(struct rd *r)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | get8(r);
	return v;
}

/* n bytes of input into out, the rest a filler pattern. */
static void take(struct rd *r, uint8_t *out, size_t n, uint8_t fill)
{
	size_t k = n < r->n ? n : r->n;

	memcpy(out, r->p, k);
	r->p += k;
	r->n -= k;
	for (size_t i = k; i < n; i++)
		out[i] = (uint8_t)(fill + i);
}

/* ---- records ---- */

struct rec {
	uint8_t type;
	size_t off, len;	/* content in a side buffer */
	struct pl_seed_update su;
	size_t wire_end;	/* script: end of the record in the stream */
};

struct recs {
	struct rec *r;
	size_t n, cap;
	uint8_t *data;
	size_t used, data_cap;
};

static void recs_init(struct recs *l, size_t max_recs, size_t data_cap)
{
	l->r = calloc(max_recs ? max_recs : 1, sizeof(*l->r));
	l->cap = max_recs;
	l->n = 0;
	l->data = malloc(data_cap ? data_cap : 1);
	l->data_cap = data_cap;
	l->used = 0;
	NEED(l->r && l->data);
}

static void recs_free(struct recs *l)
{
	free(l->r);
	free(l->data);
}

static void recs_add(struct recs *l, uint8_t type, const uint8_t *c, size_t len,
		     const struct pl_seed_update *su, size_t wire_end)
{
	struct rec *r;

	NEED(l->n < l->cap && l->used + len <= l->data_cap);
	r = &l->r[l->n++];
	r->type = type;
	r->off = l->used;
	r->len = len;
	r->su = *su;
	r->wire_end = wire_end;
	memcpy(l->data + l->used, c, len);
	l->used += len;
}

static bool rec_eq(const struct recs *a, size_t i, const struct recs *b,
		   size_t j)
{
	const struct rec *x = &a->r[i], *y = &b->r[j];

	return x->type == y->type && x->len == y->len &&
	       !memcmp(a->data + x->off, b->data + y->off, x->len) &&
	       x->su.kind == y->su.kind && x->su.mode == y->su.mode &&
	       x->su.flags == y->su.flags && x->su.seed == y->su.seed;
}

static bool is_key_update(uint8_t type, const uint8_t *c, size_t len)
{
	return type == PL_CT_HANDSHAKE && len && c[0] == 24;
}

/* ---- decoding ---- */

struct result {
	struct recs recs;
	int err;		/* first failure, PL_OK if none */
	size_t err_at;		/* stream offset consumed when it failed */
	int end;		/* pl_rx_end() */
};

/* Decode stream cut at cuts[0..ncuts) (ascending offsets). */
static void decode(const struct state *st, const uint8_t *stream, size_t len,
		   const size_t *cuts, size_t ncuts, struct result *res)
{
	struct pl_rx *rx;
	size_t pos = 0, ci = 0;
	int ret;

	/* Each record takes at least 5 + 17 + 48 bytes of the stream. */
	recs_init(&res->recs, len / (PL_HEADER_LEN + PL_TLS_TAG_LEN + 1 +
				     PLASMATIC_EEM_LEN_MIN) + 1, len);
	res->err = PL_OK;
	res->err_at = 0;
	rx = pl_rx_new(&st->dc, &ret);
	NEED(rx && ret == PL_OK);
	while (pos <= len && !res->err) {
		size_t stop = ci < ncuts ? cuts[ci++] : len;
		size_t chunk = stop - pos, done = 0;

		NEED(stop >= pos && stop <= len);
		do {
			struct pl_record rec;
			size_t used = SIZE_MAX;

			ret = pl_rx_feed(rx, stream + pos + done, chunk - done,
					 &used, &rec);
			NEED(used <= chunk - done);
			done += used;
			if (ret < 0) {
				res->err = ret;
				res->err_at = pos + done;
				NEED(pl_rx_error(rx) == ret);
				NEED(!pl_rx_at_boundary(rx));
				/* Sticky: nothing more is taken. */
				ret = pl_rx_feed(rx, stream, len, &used, &rec);
				NEED(ret == res->err && used == 0);
				break;
			}
			if (ret == 0) {
				NEED(done == chunk);
				break;
			}
			NEED(ret == 1);
			NEED(pl_rx_at_boundary(rx));
			NEED(rec.content_type == PL_CT_APP ||
			     rec.content_type == PL_CT_HANDSHAKE ||
			     rec.content_type == PL_CT_ALERT);
			NEED(rec.len <= PL_MAX_CONTENT);
			NEED(rec.len || rec.content_type == PL_CT_APP);
			NEED(rec.su.kind == PL_SU_NONE ||
			     (rec.su.kind == PL_SU_SEED &&
			      rec.su.mode < PL_TPL_MODES));
			recs_add(&res->recs, rec.content_type, rec.content,
				 rec.len, &rec.su, pos + done);
			if (st->has_secret &&
			    is_key_update(rec.content_type, rec.content,
					  rec.len))
				NEED(pl_rx_key_update(rx) == PL_OK);
		} while (done < chunk);
		if (stop == len)
			break;
		pos = stop;
	}
	res->end = pl_rx_end(rx);
	NEED(!res->err || res->end == res->err);
	pl_rx_free(rx);
}

static void same(const struct result *a, const struct result *b)
{
	NEED(a->recs.n == b->recs.n);
	for (size_t i = 0; i < a->recs.n; i++) {
		NEED(rec_eq(&a->recs, i, &b->recs, i));
		NEED(a->recs.r[i].wire_end == b->recs.r[i].wire_end);
	}
	NEED(a->err == b->err);
	NEED(a->err_at == b->err_at);
	NEED(a->end == b->end);
}

/* ---- script mode: build the stream with the engine's TX side ---- */

struct builder {
	const struct state *st;
	struct pl_tx *tx;
	struct pl_record_key crk;	/* crafting: the TX record key */
	EVP_CIPHER_CTX *eem;		/* crafting: ChaCha20-Poly1305 */
	uint8_t *buf;
	size_t len;
	size_t dirty;		/* first byte changed after sealing */
	uint8_t *clean;		/* the stream without the changes */
	size_t clean_len;
	bool holed;		/* a crafted record no receiver may accept */
	bool stopped;		/* TX refused (counters at their end) */
	struct recs sent;	/* records that a decoder may accept */
	uint8_t padding[PLASMATIC_EEM_LEN_MAX];
};

/* Bytes from off on are about to change, or are a record to refuse. */
static void mark(struct builder *b, size_t off)
{
	if (off < b->dirty)
		b->dirty = off;
}

/* Room for n more bytes in the stream and in its clean copy? */
static bool room(struct builder *b, size_t n)
{
	if (b->len + n <= MAX_STREAM && b->clean_len + n <= MAX_STREAM)
		return true;
	b->stopped = true;
	return false;
}

/* The record just written at the end of the stream goes in the copy. */
static void sealed(struct builder *b, size_t start)
{
	memcpy(b->clean + b->clean_len, b->buf + start, b->len - start);
	b->clean_len += b->len - start;
}

static void after_ku(struct builder *b)
{
	NEED(pl_tx_key_update(b->tx) == PL_OK);
	NEED(pl_record_key_update(&b->crk) == PL_OK);
}

/* Seal with pl_tx_seal at the end of the stream. */
static void op_seal(struct builder *b, uint8_t type, const uint8_t *c,
		    size_t len, size_t pad, const struct pl_seed_update *su)
{
	static const struct pl_seed_update none;
	struct pl_seal_opts o = { .pad_len = pad, .su = su,
				  .eem_padding = b->padding };
	size_t wire = pl_tx_record_len(b->tx, len, pad), out = 0;
	int ret;

	if (!room(b, wire))
		return;
	ret = pl_tx_seal(b->tx, type, c, len, &o, b->buf + b->len,
			 MAX_STREAM - b->len, &out);
	if (ret == PL_ERR_SEQ_EXHAUSTED || ret == PL_ERR_NONCE_EXHAUSTED) {
		b->stopped = true;
		return;
	}
	NEED(ret == PL_OK && out == wire);
	b->len += wire;
	sealed(b, b->len - wire);
	if (!b->holed)
		recs_add(&b->sent, type, c, len, su ? su : &none, b->clean_len);
	if (b->st->has_secret && is_key_update(type, c, len))
		after_ku(b);
}

/* The EEM of a crafted record, fields as given (SPEC 5). */
static void craft_eem(struct builder *b, const uint8_t *hdr, const uint8_t *enc,
		      size_t lc, const uint8_t *nonce_field,
		      const uint8_t frag[2], const uint8_t su[PL_SU_LEN],
		      uint8_t *out)
{
	size_t pt_len = b->st->dc.eem_len - PLASMATIC_EEM_TAG_SIZE;
	uint8_t aad[PL_HEADER_LEN + PL_TLS_TAG_LEN], nonce[12];
	int n;

	pl_tx_eem_nonce(b->tx, nonce);
	memcpy(out, nonce_field, 12);
	memcpy(out + 12, frag, 2);
	memcpy(out + 14, su, PL_SU_LEN);
	memcpy(out + PL_EEM_FIXED_LEN, b->padding, pt_len - PL_EEM_FIXED_LEN);
	memcpy(aad, hdr, PL_HEADER_LEN);
	memcpy(aad + PL_HEADER_LEN, enc + lc - PL_TLS_TAG_LEN, PL_TLS_TAG_LEN);
	NEED(EVP_EncryptInit_ex2(b->eem, EVP_chacha20_poly1305(),
				 b->st->eem_key, nonce, NULL) == 1);
	NEED(EVP_EncryptUpdate(b->eem, NULL, &n, aad, sizeof(aad)) == 1);
	NEED(EVP_EncryptUpdate(b->eem, out, &n, out, (int)pt_len) == 1);
	NEED(EVP_EncryptFinal_ex(b->eem, out + n, &n) == 1);
	NEED(EVP_CIPHER_CTX_ctrl(b->eem, EVP_CTRL_AEAD_GET_TAG,
				 PLASMATIC_EEM_TAG_SIZE, out + pt_len) == 1);
}

/* SPEC 5.3, written here again: is the Seed Update field valid? */
static bool su_model(const uint8_t f[PL_SU_LEN], struct pl_seed_update *su)
{
	uint64_t seed = 0;

	for (int i = 4; i < PL_SU_LEN; i++)
		seed = seed << 8 | f[i];
	*su = (struct pl_seed_update){ .kind = f[0], .mode = f[1],
				       .flags = f[2], .seed = seed };
	if (f[3])
		return false;
	if (f[0] == 0)
		return !f[1] && !f[2] && !seed;
	return f[0] == 1 && f[1] < 9 && !(f[2] & ~1);
}

/*
 * A record with any inner plaintext and EEM fields, sealed under the
 * current TX keys; a throw-away pl_tx_seal() then moves the TX side past
 * the sequence number and EEM nonce it used.
 */
static void op_craft(struct builder *b, struct rd *r)
{
	size_t inner_len = get16(r) % (PL_MAX_CONTENT + 300);
	uint8_t nonce_x = get8(r), frag_x = get8(r), sux[PL_SU_LEN];
	uint8_t nonce_field[12], frag[2], *hdr, *enc, scratch[512];
	const struct state *st = b->st;
	size_t lc = inner_len + PL_TLS_TAG_LEN, eem_len = st->dc.eem_len;
	size_t length = lc + (st->dc.framing ? eem_len : 0), start = b->len;
	size_t wire = PL_HEADER_LEN + lc + eem_len, i, out;
	struct pl_seed_update su;
	bool good;
	int ret;

	take(r, sux, sizeof(sux), 0);
	if (!room(b, wire))
		return;
	if (length > 0xffff) {
		b->stopped = true;
		return;
	}
	hdr = b->buf + start;
	enc = hdr + PL_HEADER_LEN;
	/* Inner plaintext: input bytes, then zeros (TLS 1.3 padding). */
	i = inner_len < r->n ? inner_len : r->n;
	memcpy(enc, r->p, i);
	r->p += i;
	r->n -= i;
	memset(enc + i, 0, inner_len - i);
	hdr[0] = 0x17;
	hdr[1] = 0x03;
	hdr[2] = 0x03;
	pl_put_be16(hdr + 3, (uint16_t)length);
	b->crk.seq = pl_tx_seq(b->tx);
	if (b->crk.seq >= b->crk.seq_limit) {
		b->stopped = true;
		return;
	}
	NEED(pl_record_encrypt(&b->crk, hdr, enc, inner_len) == PL_OK);
	pl_tx_eem_nonce(b->tx, nonce_field);
	nonce_field[11] ^= nonce_x;
	frag[0] = enc[0];
	frag[1] = (uint8_t)(enc[1] ^ frag_x);
	craft_eem(b, hdr, enc, lc, nonce_field, frag, sux, enc + lc);

	/* Would a correct receiver accept it?  SPEC 7, in its order. */
	good = length >= PL_TLS_TAG_LEN + 1 + (st->dc.framing ? eem_len : 0) &&
	       length <= PL_MAX_CONTENT + 256 && !nonce_x && !frag_x &&
	       su_model(sux, &su) && inner_len <= PL_MAX_INNER;
	/* The inner plaintext is still in the clear in a copy: decrypt. */
	if (good) {
		uint8_t *pt = malloc(inner_len ? inner_len : 1);
		size_t k;
		uint8_t type;

		NEED(pt);
		memcpy(pt, r->p - i, i);
		memset(pt + i, 0, inner_len - i);
		for (k = inner_len; k > 0 && !pt[k - 1]; k--)
			;
		type = k ? pt[k - 1] : 0;
		good = k && (type == PL_CT_APP ||
			     ((type == PL_CT_ALERT || type == PL_CT_HANDSHAKE) &&
			      k > 1));
		/* The TX side moves on with a throw-away record. */
		ret = pl_tx_seal(b->tx, PL_CT_APP, NULL, 0, NULL, scratch,
				 sizeof(scratch), &out);
		if (ret) {
			free(pt);
			b->stopped = true;
			return;
		}
		b->len += wire;
		sealed(b, start);
		if (good && !b->holed)
			recs_add(&b->sent, type, pt, k - 1, &su, b->clean_len);
		if (!good) {
			mark(b, start);
			b->holed = true;
		}
		if (good && st->has_secret && is_key_update(type, pt, k - 1))
			after_ku(b);
		free(pt);
		return;
	}
	ret = pl_tx_seal(b->tx, PL_CT_APP, NULL, 0, NULL, scratch,
			 sizeof(scratch), &out);
	if (ret) {
		b->stopped = true;
		return;
	}
	b->len += wire;
	sealed(b, start);
	mark(b, start);
	b->holed = true;
}

#define MAX_RECS	(MAX_STREAM / (PL_HEADER_LEN + PL_TLS_TAG_LEN + 1 + \
				       PLASMATIC_EEM_LEN_MIN) + 1)

static void build(const struct state *st, struct rd *r, struct builder *b)
{
	/* Allocated once: large blocks cost ASan a map each time. */
	static uint8_t content[PL_MAX_CONTENT], buf[MAX_STREAM];
	static uint8_t clean[MAX_STREAM], sent_data[MAX_STREAM];
	static struct rec sent[MAX_RECS];
	size_t max;
	int ret;

	b->st = st;
	b->len = 0;
	b->dirty = SIZE_MAX;
	b->clean = clean;
	b->clean_len = 0;
	b->holed = false;
	b->stopped = false;
	pattern(b->padding, sizeof(b->padding), 0x70, 5);
	b->sent = (struct recs){ .r = sent, .cap = MAX_RECS, .data = sent_data,
				 .data_cap = sizeof(sent_data) };
	b->buf = buf;
	b->tx = pl_tx_new(&st->dc, &ret);
	NEED(b->tx && ret == PL_OK);
	NEED(pl_record_key_init(&b->crk, &st->dc, true) == PL_OK);
	b->eem = EVP_CIPHER_CTX_new();
	NEED(b->eem);
	max = pl_tx_max_content(b->tx);

	while (r->n && !b->stopped) {
		uint8_t op = get8(r) % 8;

		switch (op) {
		case 0: {	/* seal a record of input content */
			static const uint8_t types[3] = {
				PL_CT_ALERT, PL_CT_HANDSHAKE, PL_CT_APP };
			uint8_t type = types[get8(r) % 3];
			size_t len = get16(r) % (max + 1), pad;
			struct pl_seed_update su = { 0 };

			pad = get16(r) % (max - len + 1);
			if (!len && type != PL_CT_APP)
				len = 1;
			if (len + pad > max)
				pad = max - len;
			if (get8(r) & 1) {
				su.kind = PL_SU_SEED;
				su.mode = get8(r) % PL_TPL_MODES;
				su.flags = get8(r) & PL_SU_FLAG_LOCK;
				su.seed = get64(r);
			}
			take(r, content, len, (uint8_t)b->len);
			op_seal(b, type, content, len, pad, &su);
			break;
		}
		case 1:
			op_craft(b, r);
			break;
		case 2: {	/* flip bits of one byte */
			size_t off = ((size_t)get16(r) << 8 | get8(r));
			uint8_t x = get8(r) | 1;

			if (b->len) {
				off %= b->len;
				mark(b, off);
				b->buf[off] ^= x;
			}
			break;
		}
		case 3: {	/* cut the stream */
			size_t off = get16(r) % (b->len + 1);

			if (off < b->len) {
				mark(b, off);
				b->len = off;
			}
			break;
		}
		case 4: {	/* insert input bytes */
			size_t off = get16(r) % (b->len + 1), n = get8(r) + 1;

			if (!room(b, n))
				break;
			mark(b, off);
			memmove(b->buf + off + n, b->buf + off, b->len - off);
			take(r, b->buf + off, n, 0x17);
			b->len += n;
			break;
		}
		case 5: {	/* delete a range */
			size_t off = get16(r) % (b->len + 1), n = get16(r);

			if (n > b->len - off)
				n = b->len - off;
			if (n) {
				mark(b, off);
				memmove(b->buf + off, b->buf + off + n,
					b->len - off - n);
				b->len -= n;
			}
			break;
		}
		case 6: {	/* replay: append a copy of an earlier span */
			size_t off = get16(r) % (b->len + 1), n = get16(r);

			if (n > b->len - off)
				n = b->len - off;
			if (!n || !room(b, n))
				break;
			memcpy(b->buf + b->len, b->buf + off, n);
			mark(b, b->len);
			b->len += n;
			break;
		}
		default: {	/* a KeyUpdate record (RFC 8446 4.6.3) */
			uint8_t ku[5] = { 24, 0, 0, 1, get8(r) & 1 };

			op_seal(b, PL_CT_HANDSHAKE, ku, sizeof(ku), 0, NULL);
			break;
		}
		}
	}
	EVP_CIPHER_CTX_free(b->eem);
	pl_record_key_fini(&b->crk);
	pl_tx_free(b->tx);
}

/* ---- the target ---- */

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = { data, size };
	const struct state *st;
	struct builder b = { 0 };
	struct result whole, cut, bytewise;
	size_t cuts[MAX_SPLITS], ncuts, *each = NULL;
	uint16_t raw_cuts[MAX_SPLITS];
	const uint8_t *stream;
	size_t len;
	uint8_t flags;
	bool script;

	if (size < 2)
		return 0;
	st = &states[get8(&r) % NCFG];
	flags = get8(&r);
	script = flags & 1;
	ncuts = (flags >> 1) & 15;
	for (size_t i = 0; i < ncuts; i++)
		raw_cuts[i] = get16(&r);

	if (script) {
		build(st, &r, &b);
		stream = b.buf;
		len = b.len;
	} else {
		stream = r.p;
		len = r.n;
	}
	for (size_t i = 0; i < ncuts; i++)
		cuts[i] = raw_cuts[i] % (len + 1);
	qsort(cuts, ncuts, sizeof(cuts[0]), cmp_size);

	decode(st, stream, len, NULL, 0, &whole);
	if (ncuts) {
		decode(st, stream, len, cuts, ncuts, &cut);
		same(&whole, &cut);
		recs_free(&cut.recs);
	}
	if ((flags & 0x20) && len <= BYTEWISE_MAX) {
		each = malloc((len ? len : 1) * sizeof(*each));
		NEED(each);
		for (size_t i = 0; i < len; i++)
			each[i] = i;
		decode(st, stream, len, each, len, &bytewise);
		same(&whole, &bytewise);
		recs_free(&bytewise.recs);
		free(each);
	}

	if (script) {
		size_t at = 0;

		/*
		 * Only what was sealed, in order, from its very bytes, at
		 * its place in the stream as sealed (b.clean: mutations
		 * that undo each other give a stream a decoder must take).
		 */
		NEED(whole.recs.n <= b.sent.n);
		for (size_t i = 0; i < whole.recs.n; i++) {
			size_t end = whole.recs.r[i].wire_end;

			NEED(rec_eq(&whole.recs, i, &b.sent, i));
			NEED(end == b.sent.r[i].wire_end);
			NEED(!memcmp(stream + at, b.clean + at, end - at));
			at = end;
		}
		/* Everything sealed before the first changed byte. */
		for (size_t i = 0; i < b.sent.n; i++)
			if (b.sent.r[i].wire_end <= b.dirty)
				NEED(i < whole.recs.n &&
				     whole.recs.r[i].wire_end ==
				     b.sent.r[i].wire_end);
		if (b.dirty == SIZE_MAX)
			NEED(whole.recs.n == b.sent.n && whole.err == PL_OK &&
			     whole.end == PL_OK);
	}
	if (getenv("PL_FUZZ_RX_REPORT"))
		fprintf(stderr, "fuzz_rx: cfg=%s accepted=%zu err=%d end=%d\n",
			cfgs[st - states].vector, whole.recs.n, whole.err,
			whole.end);
	recs_free(&whole.recs);
	return 0;
}
