// SPDX-License-Identifier: GPL-2.0
/* HKDF (RFC 5869) through EVP_KDF "HKDF", and TLS 1.3 HKDF-Expand-Label. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>

#include "internal.h"

static int hkdf(int mode, const char *digest, const uint8_t *salt,
		size_t salt_len, const uint8_t *key, size_t key_len,
		const uint8_t *info, size_t info_len,
		uint8_t *out, size_t out_len)
{
	OSSL_PARAM params[6], *p = params;
	EVP_KDF_CTX *kctx;
	EVP_KDF *kdf;
	int ret = PL_ERR_CRYPTO;

	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	if (!kdf)
		return PL_ERR_CRYPTO;
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (!kctx)
		return PL_ERR_NOMEM;

	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						(char *)digest, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						 (void *)key, key_len);
	/* An absent salt is HashLen zero bytes (RFC 5869 2.2). */
	if (salt_len)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
							 (void *)salt, salt_len);
	if (info_len)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
							 (void *)info, info_len);
	*p = OSSL_PARAM_construct_end();

	if (EVP_KDF_derive(kctx, out, out_len, params) == 1)
		ret = PL_OK;
	EVP_KDF_CTX_free(kctx);
	return ret;
}

int pl_hkdf_extract(const uint8_t *salt, size_t salt_len,
		    const uint8_t *ikm, size_t ikm_len, uint8_t prk[32])
{
	return hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, "SHA256", salt, salt_len,
		    ikm, ikm_len, NULL, 0, prk, 32);
}

int pl_hkdf_expand(const char *digest, const uint8_t *prk, size_t prk_len,
		   const uint8_t *info, size_t info_len,
		   uint8_t *out, size_t out_len)
{
	return hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, digest, NULL, 0,
		    prk, prk_len, info, info_len, out, out_len);
}

/* RFC 8446 7.1, with an empty context. */
int pl_hkdf_expand_label(const char *digest, const uint8_t *secret,
			 size_t secret_len, const char *label,
			 uint8_t *out, size_t out_len)
{
	static const char prefix[] = "tls13 ";
	uint8_t info[2 + 1 + 255 + 1];
	size_t llen = strlen(label), n = 0;
	int ret;

	if (sizeof(prefix) - 1 + llen > 255 || out_len > 0xffff)
		return PL_ERR_INVAL;
	pl_put_be16(info, (uint16_t)out_len);
	n = 2;
	info[n++] = (uint8_t)(sizeof(prefix) - 1 + llen);
	memcpy(info + n, prefix, sizeof(prefix) - 1);
	n += sizeof(prefix) - 1;
	memcpy(info + n, label, llen);
	n += llen;
	info[n++] = 0;		/* context length */
	ret = pl_hkdf_expand(digest, secret, secret_len, info, n, out, out_len);
	OPENSSL_cleanse(info, sizeof(info));
	return ret;
}
