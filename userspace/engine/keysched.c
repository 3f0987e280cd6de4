// SPDX-License-Identifier: GPL-2.0
/* EEM key schedule (SPEC 4) and TLS 1.3 traffic keys (RFC 8446 7.2, 7.3). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

size_t pl_suite_key_len(uint16_t suite)
{
	switch (suite) {
	case PL_TLS_AES_128_GCM_SHA256:
		return 16;
	case PL_TLS_AES_256_GCM_SHA384:
	case PL_TLS_CHACHA20_POLY1305_SHA256:
		return 32;
	}
	return 0;
}

size_t pl_suite_hash_len(uint16_t suite)
{
	switch (suite) {
	case PL_TLS_AES_128_GCM_SHA256:
	case PL_TLS_CHACHA20_POLY1305_SHA256:
		return 32;
	case PL_TLS_AES_256_GCM_SHA384:
		return 48;
	}
	return 0;
}

const char *pl_suite_digest(uint16_t suite)
{
	return suite == PL_TLS_AES_256_GCM_SHA384 ? "SHA384" : "SHA256";
}

bool pl_params_valid(uint8_t framing, uint8_t eem_len)
{
	return (framing == PLASMATIC_FRAMING_DETACHED ||
		framing == PLASMATIC_FRAMING_COVERED) &&
	       eem_len >= PLASMATIC_EEM_LEN_MIN;
}

int pl_params_encode(uint8_t framing, uint8_t eem_len,
		     uint8_t out[PL_PARAMS_LEN])
{
	if (!pl_params_valid(framing, eem_len))
		return PL_ERR_INVAL;
	out[0] = framing;
	out[1] = eem_len;
	return PL_OK;
}

int pl_eem_extract(const uint8_t exp[PL_EXPORTER_LEN], const uint8_t *psk,
		   uint8_t prk[PL_PRK_LEN])
{
	return pl_hkdf_extract(psk, psk ? PL_PSK_LEN : 0, exp, PL_EXPORTER_LEN,
			       prk);
}

static int expand_dir(struct pl_hkdf *h, const char *what,
		      enum pl_direction dir, uint8_t *out, size_t len)
{
	char label[48];
	size_t n = (size_t)snprintf(label, sizeof(label), "plasmatic v1 %s %s",
				    what, dir == PL_C2S ? "c2s" : "s2c");

	return pl_hkdf_step(h, (const uint8_t *)label, n, out, len);
}

static int eem_expand(struct pl_hkdf *h, enum pl_direction dir,
		      struct pl_eem_secrets *out)
{
	uint8_t seed[8];
	int ret;

	if (dir != PL_C2S && dir != PL_S2C)
		return PL_ERR_INVAL;
	ret = expand_dir(h, "eem key", dir, out->key, sizeof(out->key));
	if (!ret)
		ret = expand_dir(h, "eem nonce", dir, out->nonce,
				 sizeof(out->nonce));
	if (!ret)
		ret = expand_dir(h, "tpl seed", dir, seed, sizeof(seed));
	if (ret) {
		OPENSSL_cleanse(out, sizeof(*out));
		return ret;
	}
	out->nonce[4] &= 0x7f;
	out->seed = pl_get_be64(seed);
	OPENSSL_cleanse(seed, sizeof(seed));
	return PL_OK;
}

int pl_eem_expand(const uint8_t prk[PL_PRK_LEN], enum pl_direction dir,
		  struct pl_eem_secrets *out)
{
	struct pl_hkdf h;
	int ret;

	ret = pl_hkdf_begin(&h, "SHA256", prk, PL_PRK_LEN);
	if (ret)
		return ret;
	ret = eem_expand(&h, dir, out);
	pl_hkdf_end(&h);
	return ret;
}

int pl_eem_schedule(const uint8_t exp[PL_EXPORTER_LEN], const uint8_t *psk,
		    struct pl_eem_secrets *c2s, struct pl_eem_secrets *s2c)
{
	uint8_t prk[PL_PRK_LEN];
	struct pl_hkdf h;
	int ret;

	ret = pl_eem_extract(exp, psk, prk);
	if (!ret)
		ret = pl_hkdf_begin(&h, "SHA256", prk, PL_PRK_LEN);
	OPENSSL_cleanse(prk, sizeof(prk));
	if (ret)
		return ret;
	ret = eem_expand(&h, PL_C2S, c2s);
	if (!ret)
		ret = eem_expand(&h, PL_S2C, s2c);
	pl_hkdf_end(&h);
	if (ret) {
		OPENSSL_cleanse(c2s, sizeof(*c2s));
		OPENSSL_cleanse(s2c, sizeof(*s2c));
	}
	return ret;
}

int pl_traffic_keys(uint16_t suite, const uint8_t *secret, size_t secret_len,
		    uint8_t *key, uint8_t iv[PL_IV_LEN])
{
	size_t klen = pl_suite_key_len(suite);
	struct pl_hkdf h;
	int ret;

	if (!klen || secret_len != pl_suite_hash_len(suite))
		return PL_ERR_INVAL;
	ret = pl_hkdf_begin(&h, pl_suite_digest(suite), secret, secret_len);
	if (ret)
		return ret;
	ret = pl_hkdf_step_label(&h, "key", key, klen);
	if (!ret)
		ret = pl_hkdf_step_label(&h, "iv", iv, PL_IV_LEN);
	pl_hkdf_end(&h);
	if (ret) {
		OPENSSL_cleanse(key, klen);
		OPENSSL_cleanse(iv, PL_IV_LEN);
	}
	return ret;
}

int pl_traffic_update(uint16_t suite, const uint8_t *secret,
		      size_t secret_len, uint8_t *next)
{
	size_t hlen = pl_suite_hash_len(suite);

	if (!hlen || secret_len != hlen)
		return PL_ERR_INVAL;
	return pl_hkdf_expand_label(pl_suite_digest(suite), secret, secret_len,
				    "traffic upd", next, hlen);
}
