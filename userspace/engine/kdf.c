// SPDX-License-Identifier: GPL-2.0
/*
 * HKDF (RFC 5869) over OpenSSL's HMAC, and TLS 1.3 HKDF-Expand-Label.
 *
 * Not EVP_KDF "HKDF": in OpenSSL 3.0 an HKDF context fetches its digest by
 * name each time one is set and cannot be duplicated (EVP_KDF_CTX_dup gives
 * NULL before 3.1), so each step paid a fetch, two locks and a context: a
 * third of the key schedule's cost, a dozen steps per handshake side.  The
 * HMAC contexts here are duplicated from per-digest templates (algs.c).
 * The SPEC vectors and RFC 5869's check this in the engine's tests.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

/* A new HMAC context for digest, keyed with key. */
static int hmac_init(EVP_MAC_CTX **ctx, const char *digest,
		     const uint8_t *key, size_t key_len)
{
	*ctx = pl_alg_hmac_new(digest);
	if (!*ctx)
		return PL_ERR_CRYPTO;
	if (EVP_MAC_init(*ctx, key, key_len, NULL) != 1) {
		EVP_MAC_CTX_free(*ctx);
		*ctx = NULL;
		return PL_ERR_CRYPTO;
	}
	return PL_OK;
}

int pl_hkdf_extract(const uint8_t *salt, size_t salt_len,
		    const uint8_t *ikm, size_t ikm_len, uint8_t prk[32])
{
	static const uint8_t zeros[32];
	uint8_t out[EVP_MAX_MD_SIZE];
	EVP_MAC_CTX *ctx;
	size_t len = 0;
	int ret;

	/* An absent salt is HashLen zero bytes (RFC 5869 2.2). */
	if (!salt_len)
		salt = zeros, salt_len = sizeof(zeros);
	ret = hmac_init(&ctx, "SHA256", salt, salt_len);
	if (ret)
		return ret;
	if (EVP_MAC_update(ctx, ikm, ikm_len) != 1 ||
	    EVP_MAC_final(ctx, out, &len, sizeof(out)) != 1 || len != 32)
		ret = PL_ERR_CRYPTO;
	else
		memcpy(prk, out, 32);
	EVP_MAC_CTX_free(ctx);		/* cleanses the keyed state */
	OPENSSL_cleanse(out, sizeof(out));
	return ret;
}

/*
 * HKDF-Expand steps under one PRK: the HMAC key is set once (begin), each
 * step and each of its blocks restarts the MAC from the keyed state.
 */
int pl_hkdf_begin(struct pl_hkdf *h, const char *digest, const uint8_t *prk,
		  size_t prk_len)
{
	return hmac_init(&h->ctx, digest, prk, prk_len);
}

void pl_hkdf_end(struct pl_hkdf *h)
{
	EVP_MAC_CTX_free(h->ctx);	/* cleanses the keyed state */
	h->ctx = NULL;
}

int pl_hkdf_step(struct pl_hkdf *h, const uint8_t *info, size_t info_len,
		 uint8_t *out, size_t out_len)
{
	uint8_t t[EVP_MAX_MD_SIZE];
	size_t t_len = 0, done = 0;
	uint8_t i = 0;
	int ret = PL_OK;

	if (!h->ctx)
		return PL_ERR_CRYPTO;
	if (out_len > 255 * EVP_MAC_CTX_get_mac_size(h->ctx))
		return PL_ERR_INVAL;
	/* T(i) = HMAC(PRK, T(i - 1) || info || i), T(0) empty (2.3). */
	while (done < out_len) {
		size_t n;

		i++;
		/* A NULL key restarts the MAC with the key it has. */
		if (EVP_MAC_init(h->ctx, NULL, 0, NULL) != 1 ||
		    EVP_MAC_update(h->ctx, t, t_len) != 1 ||
		    EVP_MAC_update(h->ctx, info, info_len) != 1 ||
		    EVP_MAC_update(h->ctx, &i, 1) != 1 ||
		    EVP_MAC_final(h->ctx, t, &t_len, sizeof(t)) != 1) {
			ret = PL_ERR_CRYPTO;
			OPENSSL_cleanse(out, done);
			break;
		}
		n = out_len - done < t_len ? out_len - done : t_len;
		memcpy(out + done, t, n);
		done += n;
	}
	OPENSSL_cleanse(t, sizeof(t));
	return ret;
}

int pl_hkdf_expand(const char *digest, const uint8_t *prk, size_t prk_len,
		   const uint8_t *info, size_t info_len,
		   uint8_t *out, size_t out_len)
{
	struct pl_hkdf h;
	int ret;

	ret = pl_hkdf_begin(&h, digest, prk, prk_len);
	if (ret)
		return ret;
	ret = pl_hkdf_step(&h, info, info_len, out, out_len);
	pl_hkdf_end(&h);
	return ret;
}

/* RFC 8446 7.1's HkdfLabel, with an empty context; its length or 0. */
static size_t label_info(uint8_t info[2 + 1 + 255 + 1], const char *label,
			 size_t out_len)
{
	static const char prefix[] = "tls13 ";
	size_t llen = strlen(label), n = 0;

	if (sizeof(prefix) - 1 + llen > 255 || out_len > 0xffff)
		return 0;
	pl_put_be16(info, (uint16_t)out_len);
	n = 2;
	info[n++] = (uint8_t)(sizeof(prefix) - 1 + llen);
	memcpy(info + n, prefix, sizeof(prefix) - 1);
	n += sizeof(prefix) - 1;
	memcpy(info + n, label, llen);
	n += llen;
	info[n++] = 0;		/* context length */
	return n;
}

int pl_hkdf_step_label(struct pl_hkdf *h, const char *label, uint8_t *out,
		       size_t out_len)
{
	uint8_t info[2 + 1 + 255 + 1];
	size_t n = label_info(info, label, out_len);

	return n ? pl_hkdf_step(h, info, n, out, out_len) : PL_ERR_INVAL;
}

int pl_hkdf_expand_label(const char *digest, const uint8_t *secret,
			 size_t secret_len, const char *label,
			 uint8_t *out, size_t out_len)
{
	uint8_t info[2 + 1 + 255 + 1];
	size_t n = label_info(info, label, out_len);

	if (!n)
		return PL_ERR_INVAL;
	return pl_hkdf_expand(digest, secret, secret_len, info, n, out,
			      out_len);
}
