// SPDX-License-Identifier: GPL-2.0
/* TLS 1.3 record protection (RFC 8446 5.2, 5.3) of one direction. */
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

/* floor(2^24.5): RFC 8446 5.5 limit for the AES-GCM suites. */
#define PL_GCM_RECORD_LIMIT	23726566ULL

static int set_key(struct pl_record_key *rk, const uint8_t *key,
		   const uint8_t *iv)
{
	int ok;

	if (rk->encrypt)
		ok = EVP_EncryptInit_ex2(rk->ctx, rk->cipher, key, NULL, NULL);
	else
		ok = EVP_DecryptInit_ex2(rk->ctx, rk->cipher, key, NULL, NULL);
	if (ok != 1)
		return PL_ERR_CRYPTO;
	memcpy(rk->iv, iv, PL_IV_LEN);
	/* Receivers only refuse a wrap; senders also honour RFC 8446 5.5. */
	rk->seq_limit = UINT64_MAX;
	if (rk->encrypt && rk->suite != PL_TLS_CHACHA20_POLY1305_SHA256)
		rk->seq_limit = PL_GCM_RECORD_LIMIT;
	return PL_OK;
}

int pl_record_key_install(struct pl_record_key *rk, const uint8_t *secret,
			  size_t secret_len)
{
	uint8_t key[PL_MAX_KEY_LEN], iv[PL_IV_LEN];
	int ret;

	ret = pl_traffic_keys(rk->suite, secret, secret_len, key, iv);
	if (!ret)
		ret = set_key(rk, key, iv);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(iv, sizeof(iv));
	if (ret)
		return ret;
	if (secret != rk->secret)
		memcpy(rk->secret, secret, secret_len);
	rk->secret_len = secret_len;
	rk->has_secret = true;
	rk->seq = 0;
	return PL_OK;
}

int pl_record_key_update(struct pl_record_key *rk)
{
	uint8_t next[PL_MAX_SECRET_LEN];
	int ret;

	if (!rk->has_secret)
		return PL_ERR_NO_SECRET;
	ret = pl_traffic_update(rk->suite, rk->secret, rk->secret_len, next);
	if (!ret)
		ret = pl_record_key_install(rk, next, rk->secret_len);
	OPENSSL_cleanse(next, sizeof(next));
	return ret;
}

int pl_record_key_init(struct pl_record_key *rk, const struct pl_dir_config *cfg,
		       bool encrypt)
{
	int ret;

	memset(rk, 0, sizeof(*rk));
	if (!pl_suite_key_len(cfg->suite) ||
	    (!cfg->secret && (!cfg->key || !cfg->iv)) ||
	    (cfg->secret && cfg->secret_len != pl_suite_hash_len(cfg->suite)))
		return PL_ERR_INVAL;
	rk->suite = cfg->suite;
	rk->encrypt = encrypt;
	rk->cipher = pl_alg_suite_cipher(cfg->suite);
	if (!rk->cipher)
		return PL_ERR_CRYPTO;
	rk->ctx = EVP_CIPHER_CTX_new();
	if (!rk->ctx) {
		pl_record_key_fini(rk);
		return PL_ERR_NOMEM;
	}
	if (cfg->secret)
		ret = pl_record_key_install(rk, cfg->secret, cfg->secret_len);
	else
		ret = set_key(rk, cfg->key, cfg->iv);
	if (ret) {
		pl_record_key_fini(rk);
		return ret;
	}
	rk->seq = cfg->seq;
	return PL_OK;
}

void pl_record_key_fini(struct pl_record_key *rk)
{
	EVP_CIPHER_CTX_free(rk->ctx);	/* cleanses the key schedule */
	OPENSSL_cleanse(rk, sizeof(*rk));
}

static void record_nonce(const struct pl_record_key *rk, uint8_t n[PL_IV_LEN])
{
	memcpy(n, rk->iv, PL_IV_LEN);
	for (int i = 0; i < 8; i++)
		n[PL_IV_LEN - 1 - i] ^= (uint8_t)(rk->seq >> (8 * i));
}

int pl_record_encrypt(struct pl_record_key *rk, const uint8_t hdr[PL_HEADER_LEN],
		      uint8_t *buf, size_t inner_len)
{
	uint8_t nonce[PL_IV_LEN];
	int n, ok;

	if (rk->seq >= rk->seq_limit)
		return PL_ERR_SEQ_EXHAUSTED;
	record_nonce(rk, nonce);
	ok = EVP_EncryptInit_ex2(rk->ctx, NULL, NULL, nonce, NULL) == 1 &&
	     EVP_EncryptUpdate(rk->ctx, NULL, &n, hdr, PL_HEADER_LEN) == 1 &&
	     EVP_EncryptUpdate(rk->ctx, buf, &n, buf, (int)inner_len) == 1 &&
	     EVP_EncryptFinal_ex(rk->ctx, buf + n, &n) == 1 &&
	     EVP_CIPHER_CTX_ctrl(rk->ctx, EVP_CTRL_AEAD_GET_TAG, PL_TLS_TAG_LEN,
				 buf + inner_len) == 1;
	if (!ok)
		return PL_ERR_CRYPTO;
	rk->seq++;
	return PL_OK;
}

int pl_record_decrypt(struct pl_record_key *rk, const uint8_t hdr[PL_HEADER_LEN],
		      uint8_t *buf, size_t ct_len)
{
	uint8_t nonce[PL_IV_LEN], tag[PL_TLS_TAG_LEN];
	size_t len = ct_len - PL_TLS_TAG_LEN;
	int n;

	if (rk->seq >= rk->seq_limit)
		return PL_ERR_SEQ_EXHAUSTED;
	record_nonce(rk, nonce);
	memcpy(tag, buf + len, PL_TLS_TAG_LEN);
	if (EVP_DecryptInit_ex2(rk->ctx, NULL, NULL, nonce, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(rk->ctx, EVP_CTRL_AEAD_SET_TAG, PL_TLS_TAG_LEN,
				tag) != 1 ||
	    EVP_DecryptUpdate(rk->ctx, NULL, &n, hdr, PL_HEADER_LEN) != 1 ||
	    EVP_DecryptUpdate(rk->ctx, buf, &n, buf, (int)len) != 1)
		return PL_ERR_CRYPTO;
	if (EVP_DecryptFinal_ex(rk->ctx, buf + n, &n) != 1)
		return PL_ERR_TLS_TAG;
	/* The caller advances seq only once the whole record is accepted. */
	return PL_OK;
}
