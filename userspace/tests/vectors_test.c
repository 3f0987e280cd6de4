// SPDX-License-Identifier: GPL-2.0
/*
 * Every test vector of SPEC.md section 13 (made by tools/specvectors.py,
 * an independent Python implementation) reproduced by the engine.
 * SPEC.md is read at run time: $PL_SPEC_MD or the source tree's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "kselftest_harness.h"

#include "internal.h"
#include "spec.h"
#include "testutil.h"

FIXTURE(vec) {
	struct spec s;
};

FIXTURE_SETUP(vec)
{
	ASSERT_EQ(0, spec_load(&self->s, spec_path()))
		TH_LOG("cannot load vectors from %s", spec_path());
}

FIXTURE_TEARDOWN(vec)
{
	spec_free(&self->s);
	EXPECT_EQ(0, tu_leaks());
}

#define HEX(v, name, buf, lenp) \
	ASSERT_EQ(0, spec_hex(v, name, buf, sizeof(buf), lenp)) \
		TH_LOG("%s: field %s missing or malformed", (v)->id, name)

#define U64(v, name, out) \
	ASSERT_EQ(0, spec_u64(v, name, out)) \
		TH_LOG("%s: field %s missing or malformed", (v)->id, name)

#define ASSERT_BYTES(want, got, n, what) \
	ASSERT_EQ(0, memcmp(want, got, n)) \
		TH_LOG("%s: %s differs from SPEC.md", v->id, what)

#define FOR_EACH_VEC(s, prefix, v) \
	for (const struct spec_vec *v = (s)->v; v < (s)->v + (s)->n; v++) \
		if (!strncmp(v->id, prefix, strlen(prefix)))

/* One direction keyed by record key and IV, as the vectors give them. */
static struct pl_dir_config keyed_dir(uint64_t suite, const uint8_t *key,
				      const uint8_t *iv, uint64_t seq,
				      const uint8_t *ekey, const uint8_t *enonce,
				      uint64_t framing, uint64_t eem_len)
{
	struct pl_dir_config cfg = {
		.suite = (uint16_t)suite, .key = key, .iv = iv, .seq = seq,
		.eem_key = ekey, .eem_nonce = enonce,
		.framing = (uint8_t)framing, .eem_len = (uint8_t)eem_len,
	};

	return cfg;
}

TEST_F(vec, keysched)
{
	ASSERT_EQ(2, spec_count(&self->s, "keysched-"));
	FOR_EACH_VEC(&self->s, "keysched-", v) {
		uint8_t exp[64], psk[64], params[8], prk[64], want[64], got[2];
		uint8_t seed_be[8];
		size_t exp_len, psk_len, params_len, len;
		uint64_t framing, eem_len, seed_int;
		struct pl_eem_secrets sec[2], both[2];
		static const char *const dn[2] = { "c2s", "s2c" };
		char name[32];

		HEX(v, "exp", exp, &exp_len);
		HEX(v, "psk", psk, &psk_len);
		HEX(v, "params", params, &params_len);
		U64(v, "framing", &framing);
		U64(v, "eem_len", &eem_len);
		ASSERT_EQ(PL_EXPORTER_LEN, exp_len);
		ASSERT_TRUE(psk_len == 0 || psk_len == PL_PSK_LEN);
		ASSERT_EQ(2, params_len);
		ASSERT_EQ(PL_OK, pl_params_encode((uint8_t)framing,
						  (uint8_t)eem_len, got));
		ASSERT_BYTES(params, got, 2, "params");

		HEX(v, "prk", want, &len);
		ASSERT_EQ(PL_PRK_LEN, len);
		ASSERT_EQ(PL_OK, pl_eem_extract(exp, psk_len ? psk : NULL, prk));
		ASSERT_BYTES(want, prk, PL_PRK_LEN, "prk");
		ASSERT_EQ(PL_OK, pl_eem_schedule(exp, psk_len ? psk : NULL,
						 &both[0], &both[1]));
		for (int d = 0; d < 2; d++) {
			ASSERT_EQ(PL_OK, pl_eem_expand(prk, d, &sec[d]));
			snprintf(name, sizeof(name), "%s_key", dn[d]);
			HEX(v, name, want, &len);
			ASSERT_EQ(32, len);
			ASSERT_BYTES(want, sec[d].key, 32, name);
			snprintf(name, sizeof(name), "%s_nonce", dn[d]);
			HEX(v, name, want, &len);
			ASSERT_EQ(12, len);
			ASSERT_BYTES(want, sec[d].nonce, 12, name);
			ASSERT_EQ(0, sec[d].nonce[4] & 0x80);
			snprintf(name, sizeof(name), "%s_seed", dn[d]);
			HEX(v, name, want, &len);
			ASSERT_EQ(8, len);
			pl_put_be64(seed_be, sec[d].seed);
			ASSERT_BYTES(want, seed_be, 8, name);
			snprintf(name, sizeof(name), "%s_seed_int", dn[d]);
			U64(v, name, &seed_int);
			ASSERT_EQ(seed_int, sec[d].seed);
			ASSERT_EQ(0, memcmp(sec[d].key, both[d].key, 32));
			ASSERT_EQ(0, memcmp(sec[d].nonce, both[d].nonce, 12));
			ASSERT_EQ(sec[d].seed, both[d].seed);
		}
	}
}

static const struct pl_seal_opts *opts_for(const uint8_t *padding,
					   const struct pl_seed_update *su,
					   size_t pad_len,
					   struct pl_seal_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->pad_len = pad_len;
	o->su = su;
	o->eem_padding = padding;
	return o;
}

TEST_F(vec, traffic)
{
	ASSERT_EQ(3, spec_count(&self->s, "traffic-"));
	FOR_EACH_VEC(&self->s, "traffic-", v) {
		uint8_t secret[64], want[64], key[32], iv[12], next[48];
		uint8_t nkey[32], niv[12], eem_key[32] = { 1 }, nonce[12] = { 0 };
		uint8_t pad[256] = { 0 }, rec_a[256], rec_b[256], rec_c[256];
		size_t slen, len, la, lb, lc;
		uint64_t suite;
		struct pl_dir_config cfg = { 0 };
		struct pl_seal_opts o;
		struct pl_tx *a, *b, *c;
		struct pl_rx *rx;
		struct tu_sink sink = { 0 };

		U64(v, "suite", &suite);
		HEX(v, "secret", secret, &slen);
		ASSERT_EQ(pl_suite_hash_len((uint16_t)suite), slen);
		ASSERT_EQ(PL_OK, pl_traffic_keys((uint16_t)suite, secret, slen,
						 key, iv));
		HEX(v, "key", want, &len);
		ASSERT_EQ(pl_suite_key_len((uint16_t)suite), len);
		ASSERT_BYTES(want, key, len, "key");
		HEX(v, "iv", want, &len);
		ASSERT_EQ(12, len);
		ASSERT_BYTES(want, iv, 12, "iv");
		ASSERT_EQ(PL_OK, pl_traffic_update((uint16_t)suite, secret,
						   slen, next));
		HEX(v, "next_secret", want, &len);
		ASSERT_EQ(slen, len);
		ASSERT_BYTES(want, next, slen, "next_secret");
		ASSERT_EQ(PL_OK, pl_traffic_keys((uint16_t)suite, next, slen,
						 nkey, niv));
		HEX(v, "next_key", want, &len);
		ASSERT_BYTES(want, nkey, len, "next_key");
		HEX(v, "next_iv", want, &len);
		ASSERT_BYTES(want, niv, 12, "next_iv");

		/* KeyUpdate through the API: a (secret, updated) == b (keys). */
		cfg.suite = (uint16_t)suite;
		cfg.eem_key = eem_key;
		cfg.eem_nonce = nonce;
		cfg.framing = 1;
		cfg.eem_len = 80;
		cfg.secret = secret;
		cfg.secret_len = slen;
		cfg.seq = 77;
		a = pl_tx_new(&cfg, NULL);
		c = pl_tx_new(&cfg, NULL);
		rx = pl_rx_new(&cfg, NULL);
		cfg.secret = NULL;
		cfg.key = nkey;
		cfg.iv = niv;
		cfg.seq = 0;
		b = pl_tx_new(&cfg, NULL);
		ASSERT_TRUE(a && b && c && rx);
		ASSERT_EQ(77, pl_tx_seq(a));
		ASSERT_EQ(PL_OK, pl_tx_key_update(a));
		ASSERT_EQ(0, pl_tx_seq(a));
		opts_for(pad, NULL, 0, &o);
		ASSERT_EQ(PL_OK, pl_tx_seal(a, 23, (const uint8_t *)"ku", 2, &o,
					    rec_a, sizeof(rec_a), &la));
		ASSERT_EQ(PL_OK, pl_tx_seal(b, 23, (const uint8_t *)"ku", 2, &o,
					    rec_b, sizeof(rec_b), &lb));
		ASSERT_EQ(PL_OK, pl_tx_seal(c, 23, (const uint8_t *)"ku", 2, &o,
					    rec_c, sizeof(rec_c), &lc));
		ASSERT_EQ(la, lb);
		ASSERT_EQ(0, memcmp(rec_a, rec_b, la));
		ASSERT_NE(0, memcmp(rec_a, rec_c, la));
		ASSERT_EQ(PL_OK, pl_rx_key_update(rx));
		ASSERT_EQ(0, tu_feed(rx, rec_a, la, TU_WHOLE, &sink));
		ASSERT_EQ(1, sink.n);
		ASSERT_EQ(2, sink.r[0].len);
		ASSERT_EQ(0, memcmp(sink.r[0].data, "ku", 2));
		tu_sink_free(&sink);
		pl_tx_free(a);
		pl_tx_free(b);
		pl_tx_free(c);
		pl_rx_free(rx);
	}
}

TEST_F(vec, eem)
{
	ASSERT_EQ(2, spec_count(&self->s, "eem-"));
	FOR_EACH_VEC(&self->s, "eem-", v) {
		uint8_t key[32], hdr[5], tag[16], frag[2], nonce[12], su_raw[16];
		uint8_t pad[256], want[256], got[256], enc[PL_MAX_WIRE_LEN];
		size_t len, lc;
		uint64_t framing, eem_len;
		struct pl_dir_config cfg = { 0 };
		struct pl_seed_update su, su2;
		struct pl_eem e;

		HEX(v, "eem_key", key, &len);
		ASSERT_EQ(32, len);
		U64(v, "framing", &framing);
		U64(v, "eem_len", &eem_len);
		HEX(v, "header", hdr, &len);
		ASSERT_EQ(5, len);
		HEX(v, "tls_tag", tag, &len);
		ASSERT_EQ(16, len);
		HEX(v, "fragment", frag, &len);
		ASSERT_EQ(2, len);
		HEX(v, "nonce", nonce, &len);
		ASSERT_EQ(12, len);
		HEX(v, "su", su_raw, &len);
		ASSERT_EQ(PL_SU_LEN, len);
		HEX(v, "eem_padding", pad, &len);
		ASSERT_EQ(eem_len - 42, len);
		HEX(v, "eem", want, &len);
		ASSERT_EQ(eem_len, len);

		lc = pl_get_be16(hdr + 3) - (framing ? eem_len : 0);
		ASSERT_TRUE(lc >= 17 && lc <= sizeof(enc));
		tu_rand_bytes(enc, lc);
		memcpy(enc, frag, 2);
		memcpy(enc + lc - 16, tag, 16);
		ASSERT_EQ(PL_OK, pl_su_decode(su_raw, &su));

		cfg.eem_key = key;
		cfg.eem_nonce = nonce;
		cfg.framing = (uint8_t)framing;
		cfg.eem_len = (uint8_t)eem_len;
		ASSERT_EQ(PL_OK, pl_eem_init(&e, &cfg, true));
		ASSERT_EQ(PL_OK, pl_eem_seal(&e, hdr, enc, lc, &su, pad, got));
		pl_eem_fini(&e);
		ASSERT_BYTES(want, got, eem_len, "eem");

		ASSERT_EQ(PL_OK, pl_eem_init(&e, &cfg, false));
		ASSERT_EQ(PL_OK, pl_eem_open(&e, hdr, enc, lc, want, &su2));
		ASSERT_TRUE(tu_su_eq(&su, &su2));
		want[tu_rand_below(eem_len)] ^= (uint8_t)(1u << tu_rand_below(8));
		ASSERT_EQ(PL_ERR_EEM_TAG, pl_eem_open(&e, hdr, enc, lc, want,
						      &su2));
		pl_eem_fini(&e);
	}
}

TEST_F(vec, records)
{
	static const char *const required[] = {
		"record-aes128gcm-detached", "record-aes128gcm-covered",
		"record-aes256gcm-detached", "record-aes256gcm-covered",
		"record-chacha20-detached", "record-chacha20-covered",
	};
	int padded = 0, alerts = 0, pairs = 0;

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		ASSERT_NE(NULL, spec_find(&self->s, required[i]))
			TH_LOG("missing vector %s", required[i]);
	}
	FOR_EACH_VEC(&self->s, "record-", v) {
		uint8_t key[32], iv[12], ekey[32], enonce[12], su_raw[16];
		uint8_t pad[256], content[2][PL_MAX_CONTENT], wire[2][2048];
		uint8_t out[2048];
		size_t key_len, len, clen[2], wlen[2], olen;
		uint64_t suite, framing, eem_len, seq, ct, pad_len, nrec;
		struct pl_dir_config cfg = { 0 };
		struct pl_seed_update su;
		struct pl_seal_opts o;
		struct tu_sink sink = { 0 };
		struct tu_buf stream = { 0 };
		uint8_t nonce_after[12], want_nonce[12];
		struct pl_tx *tx;
		struct pl_rx *rx;

		U64(v, "suite", &suite);
		U64(v, "framing", &framing);
		U64(v, "eem_len", &eem_len);
		U64(v, "seq", &seq);
		U64(v, "content_type", &ct);
		U64(v, "pad_len", &pad_len);
		U64(v, "records", &nrec);
		ASSERT_TRUE(nrec == 1 || nrec == 2);
		HEX(v, "key", key, &key_len);
		ASSERT_EQ(pl_suite_key_len((uint16_t)suite), key_len);
		HEX(v, "iv", iv, &len);
		ASSERT_EQ(12, len);
		HEX(v, "eem_key", ekey, &len);
		ASSERT_EQ(32, len);
		HEX(v, "eem_nonce", enonce, &len);
		ASSERT_EQ(12, len);
		HEX(v, "su", su_raw, &len);
		ASSERT_EQ(PL_SU_LEN, len);
		HEX(v, "eem_padding", pad, &len);
		ASSERT_EQ(eem_len - 42, len);
		HEX(v, "content", content[0], &clen[0]);
		HEX(v, "wire", wire[0], &wlen[0]);
		if (nrec == 2) {
			HEX(v, "content_1", content[1], &clen[1]);
			HEX(v, "wire_1", wire[1], &wlen[1]);
		}
		ASSERT_EQ(PL_OK, pl_su_decode(su_raw, &su));
		padded += pad_len > 0;
		alerts += ct == 21;
		pairs += nrec == 2;

		cfg = keyed_dir(suite, key, iv, seq, ekey, enonce, framing, eem_len);
		tx = pl_tx_new(&cfg, NULL);
		rx = pl_rx_new(&cfg, NULL);
		ASSERT_TRUE(tx && rx);
		opts_for(pad, &su, pad_len, &o);
		for (size_t j = 0; j < nrec; j++) {
			ASSERT_EQ(wlen[j], pl_tx_record_len(tx, clen[j], pad_len));
			ASSERT_EQ(PL_OK, pl_tx_seal(tx, (uint8_t)ct, content[j],
						    clen[j], &o, out, sizeof(out),
						    &olen));
			ASSERT_EQ(wlen[j], olen);
			ASSERT_BYTES(wire[j], out, olen, j ? "wire_1" : "wire");
			tu_buf_append(&stream, wire[j], wlen[j]);
		}
		ASSERT_EQ(seq + nrec, pl_tx_seq(tx));
		tu_nonce_add(enonce, nrec, want_nonce);
		pl_tx_eem_nonce(tx, nonce_after);
		ASSERT_EQ(0, memcmp(want_nonce, nonce_after, 12));

		/* And the decoder takes the Python records back. */
		ASSERT_EQ(0, tu_feed(rx, stream.p, stream.len, TU_RANDOM, &sink));
		ASSERT_EQ(nrec, sink.n);
		for (size_t j = 0; j < nrec; j++) {
			ASSERT_EQ(ct, sink.r[j].type);
			ASSERT_EQ(clen[j], sink.r[j].len);
			ASSERT_EQ(0, memcmp(content[j], sink.r[j].data, clen[j]));
			ASSERT_TRUE(tu_su_eq(&su, &sink.r[j].su));
		}
		ASSERT_EQ(seq + nrec, pl_rx_seq(rx));
		pl_rx_eem_nonce(rx, nonce_after);
		ASSERT_EQ(0, memcmp(want_nonce, nonce_after, 12));
		ASSERT_EQ(PL_OK, pl_rx_end(rx));
		tu_sink_free(&sink);
		tu_buf_free(&stream);
		pl_tx_free(tx);
		pl_rx_free(rx);
	}
	ASSERT_GE(padded, 1);
	ASSERT_GE(alerts, 1);
	ASSERT_GE(pairs, 1);
}

/* Parse up to max "a,b[,c]" groups separated by spaces. */
static size_t parse_tuples(const char *s, uint64_t (*out)[3], size_t max)
{
	size_t n = 0;
	char *end;

	while (s && *s && n < max) {
		for (int k = 0; k < 3; k++) {
			out[n][k] = strtoull(s, &end, 0);
			if (end == s)
				return (size_t)-1;
			s = end;
			if (*s != ',')
				break;
			s++;
		}
		n++;
		while (*s == ' ')
			s++;
	}
	return n;
}

TEST_F(vec, tpl)
{
	ASSERT_EQ(PL_TPL_MODES, spec_count(&self->s, "tpl-mode-"));
	FOR_EACH_VEC(&self->s, "tpl-mode-", v) {
		uint64_t mode, seed, lock, r, t[8][3];
		const char *rs = spec_get(v, "r"), *ps = spec_get(v, "pairs");
		struct pl_tpl *tpl;
		struct pl_tpl_draw d;
		char *end;

		U64(v, "mode", &mode);
		U64(v, "seed", &seed);
		U64(v, "lock", &lock);
		ASSERT_NE(NULL, rs);
		ASSERT_NE(NULL, ps);
		tpl = pl_tpl_new((uint8_t)mode, seed, lock, NULL);
		ASSERT_NE(NULL, tpl);
		for (uint64_t i = 0; i < 4; i++) {
			uint64_t want = strtoull(rs, &end, 16);

			ASSERT_EQ(16, end - rs) TH_LOG("%s: bad r list", v->id);
			rs = end + (*end == ' ');
			ASSERT_EQ(PL_OK, pl_tpl_prf(tpl, seed, (uint8_t)mode, i,
						    &r));
			ASSERT_EQ(want, r) TH_LOG("%s: r(%llu)", v->id,
						  (unsigned long long)i);
		}
		ASSERT_EQ(8, parse_tuples(ps, t, 8));
		for (int j = 0; j < 8; j++) {
			ASSERT_EQ(PL_OK, pl_tpl_next(tpl, &d));
			ASSERT_EQ(mode, d.mode);
			ASSERT_EQ(t[j][0], d.size) TH_LOG("%s: size %d", v->id, j);
			ASSERT_EQ(t[j][1], d.delay_us)
				TH_LOG("%s: delay %d", v->id, j);
		}
		ASSERT_EQ(16, pl_tpl_counter(tpl));
		pl_tpl_free(tpl);
	}
}

TEST_F(vec, tpl_rotation)
{
	const struct spec_vec *v = spec_find(&self->s, "tpl-rotation");
	static const int at[8] = { 1022, 1023, 1024, 1025, 2046, 2047, 2048,
				   2049 };
	uint64_t mode, seed, lock, t[8][3];
	struct pl_tpl *tpl;
	struct pl_tpl_draw d;
	int k = 0;

	ASSERT_NE(NULL, v);
	U64(v, "mode", &mode);
	U64(v, "seed", &seed);
	U64(v, "lock", &lock);
	ASSERT_EQ(8, parse_tuples(spec_get(v, "draws"), t, 8));
	tpl = pl_tpl_new((uint8_t)mode, seed, lock, NULL);
	ASSERT_NE(NULL, tpl);
	for (int j = 0; j <= 2049; j++) {
		ASSERT_EQ(PL_OK, pl_tpl_next(tpl, &d));
		if (k < 8 && j == at[k]) {
			ASSERT_EQ(t[k][0], d.mode) TH_LOG("record %d", j);
			ASSERT_EQ(t[k][1], d.size) TH_LOG("record %d", j);
			ASSERT_EQ(t[k][2], d.delay_us) TH_LOG("record %d", j);
			k++;
		}
	}
	ASSERT_EQ(8, k);
	pl_tpl_free(tpl);
}

/* RFC 8446 7.1 HKDF-Expand-Label with a context, from HKDF-Expand alone. */
static int expand_label_ctx(const char *digest, const uint8_t *secret,
			    size_t secret_len, const uint8_t *label,
			    size_t label_len, const uint8_t *ctx, size_t ctx_len,
			    uint8_t *out, size_t out_len)
{
	uint8_t info[2 + 1 + 255 + 1 + 255];
	size_t n = 0;

	if (label_len > 255 - 6 || ctx_len > 255)
		return -1;
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)(6 + label_len);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, label_len);
	n += label_len;
	info[n++] = (uint8_t)ctx_len;
	memcpy(info + n, ctx, ctx_len);
	n += ctx_len;
	return pl_hkdf_expand(digest, secret, secret_len, info, n, out, out_len);
}

/* SPEC 4 step 1: the TLS 1.3 exporter with the suite's hash. */
TEST_F(vec, exporter)
{
	ASSERT_EQ(3, spec_count(&self->s, "exporter-"));
	FOR_EACH_VEC(&self->s, "exporter-", v) {
		uint8_t ems[64], label[64], params[8], want[64], empty_hash[64];
		uint8_t ctx_hash[64], derived[64], exp[PL_EXPORTER_LEN];
		size_t ems_len, label_len, params_len, len, hlen;
		const char *digest;
		uint64_t suite;

		U64(v, "suite", &suite);
		HEX(v, "exporter_master_secret", ems, &ems_len);
		HEX(v, "label", label, &label_len);
		HEX(v, "params", params, &params_len);
		hlen = pl_suite_hash_len((uint16_t)suite);
		ASSERT_EQ(hlen, ems_len);
		ASSERT_EQ(strlen(PL_EXPORTER_LABEL), label_len);
		ASSERT_BYTES(PL_EXPORTER_LABEL, label, label_len, "label");
		ASSERT_EQ(PL_PARAMS_LEN, params_len);
		digest = pl_suite_digest((uint16_t)suite);
		ASSERT_EQ(1, EVP_Q_digest(NULL, digest, NULL, "", 0, empty_hash,
					  &len));
		ASSERT_EQ(hlen, len);
		ASSERT_EQ(1, EVP_Q_digest(NULL, digest, NULL, params, params_len,
					  ctx_hash, &len));
		HEX(v, "context_hash", want, &len);
		ASSERT_EQ(hlen, len);
		ASSERT_BYTES(want, ctx_hash, hlen, "context_hash");
		ASSERT_EQ(0, expand_label_ctx(digest, ems, ems_len, label,
					      label_len, empty_hash, hlen,
					      derived, hlen));
		HEX(v, "derived", want, &len);
		ASSERT_EQ(hlen, len);
		ASSERT_BYTES(want, derived, hlen, "derived");
		ASSERT_EQ(0, expand_label_ctx(digest, derived, hlen,
					      (const uint8_t *)"exporter", 8,
					      ctx_hash, hlen, exp, sizeof(exp)));
		HEX(v, "exp", want, &len);
		ASSERT_EQ(PL_EXPORTER_LEN, len);
		ASSERT_BYTES(want, exp, PL_EXPORTER_LEN, "exp");
	}
}

/* A record of a stream vector (SPEC 13.6). */
struct stream_rec {
	uint64_t type, pad, seq;
	size_t clen, wlen;
	uint8_t *content, *wire;
	uint8_t su_raw[PL_SU_LEN], nonce[12];
	struct pl_seed_update su;
};

#define STREAM_MAX	8

static int hex_alloc(const struct spec_vec *v, const char *name, uint8_t **out,
		     size_t *len)
{
	const char *s = spec_get(v, name);
	size_t cap = s ? strlen(s) / 2 + 1 : 0;

	*out = NULL;
	if (!s)
		return -1;
	*out = malloc(cap);
	if (!*out || spec_unhex(s, *out, cap, len)) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static bool is_key_update(const struct stream_rec *r)
{
	return r->type == PLASMATIC_CT_HANDSHAKE && r->clen == 5 &&
	       r->content[0] == 24;
}

TEST_F(vec, streams)
{
	int ku = 0, carry = 0, drawn = 0, capped = 0;

	ASSERT_GE(spec_count(&self->s, "stream-"), 6);
	FOR_EACH_VEC(&self->s, "stream-", v) {
		uint8_t secret[PL_MAX_SECRET_LEN], ekey[32], enonce[12];
		uint8_t pad[256], got_nonce[12], *out;
		size_t slen, len, olen, off, n = 0;
		uint64_t suite, framing, eem_len, seq, nrec;
		struct stream_rec r[STREAM_MAX] = { 0 };
		struct pl_seed_update last_su = { 0 };
		struct pl_dir_config cfg = { 0 };
		struct tu_buf stream = { 0 };
		struct pl_seal_opts o;
		const char *draws;
		struct pl_tx *tx;
		struct pl_rx *rx;
		char name[32];

		U64(v, "suite", &suite);
		U64(v, "framing", &framing);
		U64(v, "eem_len", &eem_len);
		U64(v, "seq", &seq);
		U64(v, "records", &nrec);
		ASSERT_TRUE(nrec >= 1 && nrec <= STREAM_MAX);
		HEX(v, "secret", secret, &slen);
		ASSERT_EQ(pl_suite_hash_len((uint16_t)suite), slen);
		HEX(v, "eem_key", ekey, &len);
		ASSERT_EQ(32, len);
		HEX(v, "eem_nonce", enonce, &len);
		ASSERT_EQ(12, len);
		HEX(v, "eem_padding", pad, &len);
		ASSERT_EQ(eem_len - 42, len);
		for (size_t j = 0; j < nrec; j++) {
			snprintf(name, sizeof(name), "type_%zu", j);
			U64(v, name, &r[j].type);
			snprintf(name, sizeof(name), "pad_%zu", j);
			U64(v, name, &r[j].pad);
			snprintf(name, sizeof(name), "seq_%zu", j);
			U64(v, name, &r[j].seq);
			snprintf(name, sizeof(name), "su_%zu", j);
			HEX(v, name, r[j].su_raw, &len);
			ASSERT_EQ(PL_SU_LEN, len);
			ASSERT_EQ(PL_OK, pl_su_decode(r[j].su_raw, &r[j].su));
			snprintf(name, sizeof(name), "eem_nonce_%zu", j);
			HEX(v, name, r[j].nonce, &len);
			ASSERT_EQ(12, len);
			snprintf(name, sizeof(name), "content_%zu", j);
			ASSERT_EQ(0, hex_alloc(v, name, &r[j].content, &r[j].clen))
				TH_LOG("%s: %s", v->id, name);
			snprintf(name, sizeof(name), "wire_%zu", j);
			ASSERT_EQ(0, hex_alloc(v, name, &r[j].wire, &r[j].wlen))
				TH_LOG("%s: %s", v->id, name);
			/* SPEC 8.1: a full record's header length is 16401. */
			ASSERT_LE(pl_get_be16(r[j].wire + 3), 16401);
			ASSERT_LE(r[j].clen + r[j].pad,
				  pl_max_content((uint8_t)framing,
						 (uint8_t)eem_len));
		}

		cfg.suite = (uint16_t)suite;
		cfg.secret = secret;
		cfg.secret_len = slen;
		cfg.seq = seq;
		cfg.eem_key = ekey;
		cfg.eem_nonce = enonce;
		cfg.framing = (uint8_t)framing;
		cfg.eem_len = (uint8_t)eem_len;
		tx = pl_tx_new(&cfg, NULL);
		rx = pl_rx_new(&cfg, NULL);
		out = malloc(PL_MAX_WIRE_LEN);
		ASSERT_TRUE(tx && rx && out);

		/* The engine seals the same bytes, KeyUpdate included. */
		for (size_t j = 0; j < nrec; j++) {
			ASSERT_EQ(r[j].seq, pl_tx_seq(tx))
				TH_LOG("%s: seq_%zu", v->id, j);
			pl_tx_eem_nonce(tx, got_nonce);
			ASSERT_BYTES(r[j].nonce, got_nonce, 12, "eem_nonce_j");
			ASSERT_EQ(r[j].wlen, pl_tx_record_len(tx, r[j].clen,
							      r[j].pad));
			opts_for(pad, &r[j].su, r[j].pad, &o);
			ASSERT_EQ(PL_OK, pl_tx_seal(tx, (uint8_t)r[j].type,
						    r[j].content, r[j].clen, &o,
						    out, PL_MAX_WIRE_LEN, &olen));
			ASSERT_EQ(r[j].wlen, olen);
			ASSERT_BYTES(r[j].wire, out, olen, "wire_j");
			tu_buf_append(&stream, r[j].wire, r[j].wlen);
			if (is_key_update(&r[j])) {
				ASSERT_EQ(PL_OK, pl_tx_key_update(tx));
				ku++;
			}
			if (j && r[j].nonce[7] != r[j - 1].nonce[7])
				carry++;	/* past 32 bits */
			if (r[j].clen + r[j].pad ==
			    pl_max_content((uint8_t)framing, (uint8_t)eem_len))
				capped++;
		}

		/* And the decoder takes them back, in random pieces. */
		for (off = 0; off < stream.len;) {
			struct pl_record rec;
			size_t used = 0, chunk = 1 + tu_rand_below(3000);
			int ret;

			if (chunk > stream.len - off)
				chunk = stream.len - off;
			ret = pl_rx_feed(rx, stream.p + off, chunk, &used, &rec);
			ASSERT_GE(ret, 0) TH_LOG("%s: record %zu: %s", v->id, n,
						 pl_strerror(ret));
			off += used;
			if (!ret)
				continue;
			ASSERT_LT(n, nrec);
			ASSERT_EQ(r[n].type, rec.content_type);
			ASSERT_EQ(r[n].clen, rec.len);
			ASSERT_EQ(0, memcmp(r[n].content, rec.content, rec.len));
			ASSERT_TRUE(tu_su_eq(&r[n].su, &rec.su));
			ASSERT_EQ(r[n].seq + 1, pl_rx_seq(rx));
			if (rec.su.kind == PL_SU_SEED)
				last_su = rec.su;
			if (is_key_update(&r[n])) {
				ASSERT_EQ(PL_OK, pl_rx_key_update(rx));
				ASSERT_EQ(0, pl_rx_seq(rx));
			}
			n++;
		}
		ASSERT_EQ(nrec, n);
		ASSERT_EQ(PL_OK, pl_rx_end(rx));

		/* SPEC 9.4: the receiver's own records after the Seed Update. */
		draws = spec_get(v, "draws");
		if (draws) {
			uint64_t t[8][3];
			size_t nd = parse_tuples(draws, t, 8);
			struct pl_tpl *tpl = pl_tpl_new(0, 0, false, NULL);
			struct pl_tpl_draw d;

			ASSERT_NE(NULL, tpl);
			ASSERT_EQ(PL_SU_SEED, last_su.kind);
			ASSERT_TRUE(nd >= 1 && nd <= 8);
			ASSERT_EQ(PL_OK, pl_tpl_apply(tpl, &last_su));
			for (size_t k = 0; k < nd; k++) {
				ASSERT_EQ(PL_OK, pl_tpl_next(tpl, &d));
				ASSERT_EQ(t[k][0], d.mode);
				ASSERT_EQ(t[k][1], d.size);
				ASSERT_EQ(t[k][2], d.delay_us);
			}
			pl_tpl_free(tpl);
			drawn++;
		}
		for (size_t j = 0; j < nrec; j++) {
			free(r[j].content);
			free(r[j].wire);
		}
		free(out);
		tu_buf_free(&stream);
		pl_tx_free(tx);
		pl_rx_free(rx);
	}
	ASSERT_GE(ku, 1);
	ASSERT_GE(carry, 1);
	ASSERT_GE(drawn, 1);
	ASSERT_GE(capped, 1);
}

/* SPEC 2.2 and 2.3: the first records of each direction. */
TEST_F(vec, opening)
{
	static const struct {
		const char *id;
		int dir;
		uint64_t seq;
	} first[] = {
		{ "stream-opening", PL_C2S, 0 },
		{ "stream-server-first", PL_S2C, 2 },
	};

	for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++) {
		const struct spec_vec *v = spec_find(&self->s, first[i].id);
		uint8_t exp[64], psk[64], params[8], key[32], nonce[12];
		struct pl_eem_secrets sec[2];
		uint64_t framing, eem_len, seq, nrec, type, pad;
		size_t exp_len, psk_len, params_len, len;
		const char *content;

		ASSERT_NE(NULL, v) TH_LOG("missing vector %s", first[i].id);
		HEX(v, "exp", exp, &exp_len);
		HEX(v, "psk", psk, &psk_len);
		HEX(v, "params", params, &params_len);
		U64(v, "framing", &framing);
		U64(v, "eem_len", &eem_len);
		ASSERT_EQ(PL_EXPORTER_LEN, exp_len);
		ASSERT_EQ(2, params_len);
		ASSERT_EQ(framing, params[0]);
		ASSERT_EQ(eem_len, params[1]);
		ASSERT_EQ(PL_OK, pl_eem_schedule(exp, psk_len ? psk : NULL,
						 &sec[PL_C2S], &sec[PL_S2C]));
		HEX(v, "eem_key", key, &len);
		ASSERT_BYTES(sec[first[i].dir].key, key, 32, "eem_key");
		HEX(v, "eem_nonce", nonce, &len);
		ASSERT_BYTES(sec[first[i].dir].nonce, nonce, 12, "eem_nonce");
		U64(v, "seq", &seq);
		ASSERT_EQ(first[i].seq, seq);
		U64(v, "records", &nrec);
		ASSERT_EQ(1, nrec);
		if (first[i].dir != PL_C2S)
			continue;
		/* Empty application data, padding 64 .. 511 (SPEC 2.3). */
		U64(v, "type_0", &type);
		U64(v, "pad_0", &pad);
		content = spec_get(v, "content_0");
		ASSERT_EQ(PLASMATIC_CT_APPLICATION_DATA, type);
		ASSERT_NE(NULL, content);
		ASSERT_EQ(0, strlen(content));
		ASSERT_TRUE(pad >= 64 && pad <= 511);
	}
}

/* Cause names of SPEC section 7, as the vectors of 13.7 give them. */
static const struct {
	const char *name;
	int err;
} causes[] = {
	{ "header", PL_ERR_HEADER },
	{ "length", PL_ERR_LENGTH },
	{ "eem_tag", PL_ERR_EEM_TAG },
	{ "eem_nonce", PL_ERR_EEM_NONCE },
	{ "eem_fragment", PL_ERR_EEM_FRAGMENT },
	{ "seed_update", PL_ERR_SEED_UPDATE },
	{ "tls_tag", PL_ERR_TLS_TAG },
	{ "content_type", PL_ERR_CONTENT_TYPE },
	{ "overflow", PL_ERR_OVERFLOW },
	{ "empty", PL_ERR_EMPTY },
	{ "truncated", PL_ERR_TRUNCATED },
};
#define N_CAUSES	(sizeof(causes) / sizeof(causes[0]))

TEST_F(vec, rejects)
{
	int seen[N_CAUSES] = { 0 };

	ASSERT_GE(spec_count(&self->s, "reject-"), N_CAUSES);
	FOR_EACH_VEC(&self->s, "reject-", v) {
		uint8_t key[32], iv[12], ekey[32], enonce[12], *wire;
		uint64_t suite, framing, eem_len, seq, eof, accepted;
		const char *cause = spec_get(v, "cause");
		size_t key_len, len, wlen, off, n, c;
		struct pl_dir_config cfg = { 0 };
		struct tu_sink sink = { 0 };
		struct pl_rx *rx;
		int want = 1, ret = 0;

		U64(v, "suite", &suite);
		U64(v, "framing", &framing);
		U64(v, "eem_len", &eem_len);
		U64(v, "seq", &seq);
		U64(v, "eof", &eof);
		U64(v, "accepted", &accepted);
		HEX(v, "key", key, &key_len);
		HEX(v, "iv", iv, &len);
		HEX(v, "eem_key", ekey, &len);
		HEX(v, "eem_nonce", enonce, &len);
		ASSERT_EQ(0, hex_alloc(v, "wire", &wire, &wlen));
		ASSERT_NE(NULL, cause);
		for (c = 0; c < N_CAUSES; c++)
			if (!strcmp(cause, causes[c].name))
				break;
		ASSERT_LT(c, N_CAUSES) TH_LOG("%s: unknown cause %s", v->id,
					      cause);
		seen[c]++;
		want = causes[c].err;

		cfg = keyed_dir(suite, key, iv, seq, ekey, enonce, framing, eem_len);

		/* Whole: the exact cause, found where SPEC 7 says. */
		rx = pl_rx_new(&cfg, NULL);
		ASSERT_NE(NULL, rx);
		for (off = 0, n = 0; off < wlen;) {
			struct pl_record rec;
			size_t used = 0, start = off;

			ret = pl_rx_feed(rx, wire + off, wlen - off, &used, &rec);
			off += used;
			if (ret < 0) {
				/* header and length: from the header alone. */
				if (want == PL_ERR_HEADER || want == PL_ERR_LENGTH)
					ASSERT_EQ(PL_HEADER_LEN, off - start);
				break;
			}
			if (ret == 1)
				n++;
			else
				ASSERT_EQ(wlen, off);
		}
		if (ret >= 0) {
			ASSERT_EQ(1, eof) TH_LOG("%s: not rejected", v->id);
			ret = pl_rx_end(rx);
		}
		EXPECT_EQ(want, ret)
			TH_LOG("%s: got %s (%d), SPEC says %s", v->id,
			       pl_strerror(ret), ret, cause);
		EXPECT_EQ(accepted, n) TH_LOG("%s: records accepted", v->id);
		EXPECT_EQ(want, pl_rx_error(rx));
		pl_rx_free(rx);

		/* Byte by byte: the same cause. */
		rx = pl_rx_new(&cfg, NULL);
		ASSERT_NE(NULL, rx);
		ret = tu_feed(rx, wire, wlen, TU_BYTES, &sink);
		if (!ret && eof)
			ret = pl_rx_end(rx);
		EXPECT_EQ(want, ret) TH_LOG("%s: byte by byte: %s", v->id,
					    pl_strerror(ret));
		EXPECT_EQ(accepted, sink.n);
		tu_sink_free(&sink);
		pl_rx_free(rx);
		free(wire);
	}
	for (size_t k = 0; k < N_CAUSES; k++) {
		const char *name = causes[k].name;

		EXPECT_GE(seen[k], 1) TH_LOG("no vector for cause %s", name);
	}
}

/*
 * RFC 5869 A.1 and A.3 (SHA-256): not SPEC vectors, but the only ones that
 * expand past one hash block, and an absent salt.
 */
static const struct {
	const char *salt, *info, *prk, *okm;
} rfc5869[] = {
	{ "000102030405060708090a0b0c", "f0f1f2f3f4f5f6f7f8f9",
	  "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
	  "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	  "34007208d5b887185865" },
	{ "", "",
	  "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
	  "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	  "9d201395faa4b61a96c8" },
};

TEST_F(vec, rfc5869_hkdf)
{
	uint8_t ikm[22], salt[16], info[16], want_prk[32], want[42];
	uint8_t prk[32], okm[42 + 1];
	size_t salt_len, info_len, len;

	memset(ikm, 0x0b, sizeof(ikm));
	for (size_t i = 0; i < sizeof(rfc5869) / sizeof(rfc5869[0]); i++) {
		ASSERT_EQ(0, spec_unhex(rfc5869[i].salt, salt, sizeof(salt),
					&salt_len));
		ASSERT_EQ(0, spec_unhex(rfc5869[i].info, info, sizeof(info),
					&info_len));
		ASSERT_EQ(0, spec_unhex(rfc5869[i].prk, want_prk,
					sizeof(want_prk), &len));
		ASSERT_EQ(0, spec_unhex(rfc5869[i].okm, want, sizeof(want),
					&len));
		ASSERT_EQ(0, pl_hkdf_extract(salt_len ? salt : NULL, salt_len,
					     ikm, sizeof(ikm), prk));
		ASSERT_EQ(0, memcmp(prk, want_prk, sizeof(prk)))
			TH_LOG("RFC 5869 case %zu: PRK differs", i);
		okm[42] = 0xa5;
		ASSERT_EQ(0, pl_hkdf_expand("SHA256", prk, sizeof(prk),
					    info_len ? info : NULL, info_len,
					    okm, 42));
		ASSERT_EQ(0, memcmp(okm, want, 42))
			TH_LOG("RFC 5869 case %zu: OKM differs", i);
		ASSERT_EQ(0xa5, okm[42]);	/* nothing written past L */
	}

	/* More than 255 blocks, or an unknown digest: refused. */
	ASSERT_NE(0, pl_hkdf_expand("SHA256", prk, sizeof(prk), NULL, 0,
				    okm, 255 * 32 + 1));
	ASSERT_NE(0, pl_hkdf_expand("MD5", prk, sizeof(prk), NULL, 0, okm, 16));
	EXPECT_EQ(0, tu_leaks());
}

TEST_HARNESS_MAIN
