// SPDX-License-Identifier: GPL-2.0
/*
 * Every test vector of SPEC.md section 13 (made by tools/specvectors.py,
 * an independent Python implementation) reproduced by the engine.
 * SPEC.md is read at run time: $PL_SPEC_MD or the source tree's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

		cfg.suite = (uint16_t)suite;
		cfg.key = key;
		cfg.iv = iv;
		cfg.seq = seq;
		cfg.eem_key = ekey;
		cfg.eem_nonce = enonce;
		cfg.framing = (uint8_t)framing;
		cfg.eem_len = (uint8_t)eem_len;
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

/*
 * RFC 5869 A.1 and A.3 (SHA-256): not SPEC vectors, but the only ones that
 * expand past one hash block, and an absent salt.
 */
TEST_F(vec, rfc5869_hkdf)
{
	static const uint8_t salt[13] = {
		0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
		0x0a, 0x0b, 0x0c };
	static const uint8_t info[10] = {
		0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9 };
	static const uint8_t prk1[32] = {
		0x07, 0x77, 0x09, 0x36, 0x2c, 0x2e, 0x32, 0xdf, 0x0d, 0xdc,
		0x3f, 0x0d, 0xc4, 0x7b, 0xba, 0x63, 0x90, 0xb6, 0xc7, 0x3b,
		0xb5, 0x0f, 0x9c, 0x31, 0x22, 0xec, 0x84, 0x4a, 0xd7, 0xc2,
		0xb3, 0xe5 };
	static const uint8_t okm1[42] = {
		0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a, 0x90, 0x43,
		0x4f, 0x64, 0xd0, 0x36, 0x2f, 0x2a, 0x2d, 0x2d, 0x0a, 0x90,
		0xcf, 0x1a, 0x5a, 0x4c, 0x5d, 0xb0, 0x2d, 0x56, 0xec, 0xc4,
		0xc5, 0xbf, 0x34, 0x00, 0x72, 0x08, 0xd5, 0xb8, 0x87, 0x18,
		0x58, 0x65 };
	static const uint8_t prk3[32] = {
		0x19, 0xef, 0x24, 0xa3, 0x2c, 0x71, 0x7b, 0x16, 0x7f, 0x33,
		0xa9, 0x1d, 0x6f, 0x64, 0x8b, 0xdf, 0x96, 0x59, 0x67, 0x76,
		0xaf, 0xdb, 0x63, 0x77, 0xac, 0x43, 0x4c, 0x1c, 0x29, 0x3c,
		0xcb, 0x04 };
	static const uint8_t okm3[42] = {
		0x8d, 0xa4, 0xe7, 0x75, 0xa5, 0x63, 0xc1, 0x8f, 0x71, 0x5f,
		0x80, 0x2a, 0x06, 0x3c, 0x5a, 0x31, 0xb8, 0xa1, 0x1f, 0x5c,
		0x5e, 0xe1, 0x87, 0x9e, 0xc3, 0x45, 0x4e, 0x5f, 0x3c, 0x73,
		0x8d, 0x2d, 0x9d, 0x20, 0x13, 0x95, 0xfa, 0xa4, 0xb6, 0x1a,
		0x96, 0xc8 };
	uint8_t ikm[22], prk[32], okm[42 + 1];

	memset(ikm, 0x0b, sizeof(ikm));
	ASSERT_EQ(0, pl_hkdf_extract(salt, sizeof(salt), ikm, sizeof(ikm),
				     prk));
	ASSERT_EQ(0, memcmp(prk, prk1, sizeof(prk)));
	okm[42] = 0xa5;
	ASSERT_EQ(0, pl_hkdf_expand("SHA256", prk, sizeof(prk), info,
				    sizeof(info), okm, 42));
	ASSERT_EQ(0, memcmp(okm, okm1, 42));
	ASSERT_EQ(0xa5, okm[42]);	/* nothing written past L */

	ASSERT_EQ(0, pl_hkdf_extract(NULL, 0, ikm, sizeof(ikm), prk));
	ASSERT_EQ(0, memcmp(prk, prk3, sizeof(prk)));
	ASSERT_EQ(0, pl_hkdf_expand("SHA256", prk, sizeof(prk), NULL, 0,
				    okm, 42));
	ASSERT_EQ(0, memcmp(okm, okm3, 42));

	/* More than 255 blocks, or an unknown digest: refused. */
	ASSERT_NE(0, pl_hkdf_expand("SHA256", prk, sizeof(prk), NULL, 0,
				    okm, 255 * 32 + 1));
	ASSERT_NE(0, pl_hkdf_expand("MD5", prk, sizeof(prk), NULL, 0, okm, 16));
	EXPECT_EQ(0, tu_leaks());
}

TEST_HARNESS_MAIN
