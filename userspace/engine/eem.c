// SPDX-License-Identifier: GPL-2.0
/* The Encrypted External Mount (SPEC 5): nonce, Seed Update, seal, open. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "internal.h"

#define EEM_TAG		PLASMATIC_EEM_TAG_SIZE
#define EEM_NONCE	PLASMATIC_EEM_NONCE_SIZE
#define EEM_MAX_PT	(PLASMATIC_EEM_LEN_MAX - EEM_TAG)

int pl_eem_init(struct pl_eem *e, const struct pl_dir_config *cfg,
		bool encrypt)
{
	int ok;

	memset(e, 0, sizeof(*e));
	if (!pl_params_valid(cfg->framing, cfg->eem_len) || !cfg->eem_key ||
	    !cfg->eem_nonce)
		return PL_ERR_INVAL;
	e->framing = cfg->framing;
	e->eem_len = cfg->eem_len;
	memcpy(e->nonce, cfg->eem_nonce, EEM_NONCE);
	e->cipher = pl_alg_eem_cipher();
	e->ctx = EVP_CIPHER_CTX_new();
	if (!e->cipher || !e->ctx) {
		pl_eem_fini(e);
		return PL_ERR_CRYPTO;
	}
	if (encrypt)
		ok = EVP_EncryptInit_ex2(e->ctx, e->cipher, cfg->eem_key, NULL,
					 NULL);
	else
		ok = EVP_DecryptInit_ex2(e->ctx, e->cipher, cfg->eem_key, NULL,
					 NULL);
	if (ok != 1) {
		pl_eem_fini(e);
		return PL_ERR_CRYPTO;
	}
	return PL_OK;
}

void pl_eem_fini(struct pl_eem *e)
{
	EVP_CIPHER_CTX_free(e->ctx);
	OPENSSL_cleanse(e, sizeof(*e));
}

/* +1 on the 64-bit counter part only; the salt never changes (5.2). */
void pl_eem_advance(struct pl_eem *e)
{
	for (int i = EEM_NONCE - 1; i >= 4; i--)
		if (++e->nonce[i])
			return;
	e->exhausted = true;
}

bool pl_su_valid(const struct pl_seed_update *su)
{
	if (su->kind == PL_SU_NONE)
		return !su->mode && !su->flags && !su->seed;
	return su->kind == PL_SU_SEED && su->mode < PL_TPL_MODES &&
	       !(su->flags & ~PL_SU_FLAG_LOCK);
}

void pl_su_encode(const struct pl_seed_update *su, uint8_t out[PL_SU_LEN])
{
	out[0] = su->kind;
	out[1] = su->mode;
	out[2] = su->flags;
	out[3] = 0;
	pl_put_be64(out + 4, su->seed);
}

int pl_su_decode(const uint8_t in[PL_SU_LEN], struct pl_seed_update *su)
{
	su->kind = in[0];
	su->mode = in[1];
	su->flags = in[2];
	su->seed = pl_get_be64(in + 4);
	if (in[3] || !pl_su_valid(su)) {
		memset(su, 0, sizeof(*su));
		return PL_ERR_SEED_UPDATE;
	}
	return PL_OK;
}

static void eem_aad(uint8_t aad[PL_HEADER_LEN + PL_TLS_TAG_LEN],
		    const uint8_t hdr[PL_HEADER_LEN], const uint8_t *enc,
		    size_t enc_len)
{
	memcpy(aad, hdr, PL_HEADER_LEN);
	memcpy(aad + PL_HEADER_LEN, enc + enc_len - PL_TLS_TAG_LEN,
	       PL_TLS_TAG_LEN);
}

int pl_eem_seal(struct pl_eem *e, const uint8_t hdr[PL_HEADER_LEN],
		const uint8_t *enc, size_t enc_len,
		const struct pl_seed_update *su, const uint8_t *padding,
		uint8_t *out)
{
	static const struct pl_seed_update none;
	uint8_t aad[PL_HEADER_LEN + PL_TLS_TAG_LEN];
	size_t pt_len = (size_t)e->eem_len - EEM_TAG;
	size_t pad_len = pt_len - PL_EEM_FIXED_LEN;
	uint8_t *pt = out;
	int n, ok;

	if (e->exhausted)
		return PL_ERR_NONCE_EXHAUSTED;
	if (!su)
		su = &none;
	if (!pl_su_valid(su))
		return PL_ERR_INVAL;
	/* The plaintext is built in out and encrypted in place. */
	memcpy(pt, e->nonce, EEM_NONCE);
	memcpy(pt + 12, enc, 2);
	pl_su_encode(su, pt + 14);
	if (padding)
		memcpy(pt + PL_EEM_FIXED_LEN, padding, pad_len);
	else if (RAND_bytes(pt + PL_EEM_FIXED_LEN, (int)pad_len) != 1)
		return PL_ERR_CRYPTO;
	eem_aad(aad, hdr, enc, enc_len);
	ok = EVP_EncryptInit_ex2(e->ctx, NULL, NULL, e->nonce, NULL) == 1 &&
	     EVP_EncryptUpdate(e->ctx, NULL, &n, aad, sizeof(aad)) == 1 &&
	     EVP_EncryptUpdate(e->ctx, out, &n, pt, (int)pt_len) == 1 &&
	     EVP_EncryptFinal_ex(e->ctx, out + n, &n) == 1 &&
	     EVP_CIPHER_CTX_ctrl(e->ctx, EVP_CTRL_AEAD_GET_TAG, EEM_TAG,
				 out + pt_len) == 1;
	if (!ok)
		return PL_ERR_CRYPTO;
	pl_eem_advance(e);
	return PL_OK;
}

int pl_eem_open(struct pl_eem *e, const uint8_t hdr[PL_HEADER_LEN],
		const uint8_t *enc, size_t enc_len, const uint8_t *eem,
		struct pl_seed_update *su)
{
	uint8_t aad[PL_HEADER_LEN + PL_TLS_TAG_LEN];
	uint8_t pt[EEM_MAX_PT], tag[EEM_TAG];
	size_t pt_len = (size_t)e->eem_len - EEM_TAG;
	int n, ret;

	if (e->exhausted)
		return PL_ERR_NONCE_EXHAUSTED;
	eem_aad(aad, hdr, enc, enc_len);
	memcpy(tag, eem + pt_len, EEM_TAG);
	if (EVP_DecryptInit_ex2(e->ctx, NULL, NULL, e->nonce, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(e->ctx, EVP_CTRL_AEAD_SET_TAG, EEM_TAG,
				tag) != 1 ||
	    EVP_DecryptUpdate(e->ctx, NULL, &n, aad, sizeof(aad)) != 1 ||
	    EVP_DecryptUpdate(e->ctx, pt, &n, eem, (int)pt_len) != 1)
		return PL_ERR_CRYPTO;
	if (EVP_DecryptFinal_ex(e->ctx, pt + n, &n) != 1)
		ret = PL_ERR_EEM_TAG;
	else if (CRYPTO_memcmp(pt, e->nonce, EEM_NONCE))
		ret = PL_ERR_EEM_NONCE;
	else if (pt[12] != enc[0] || pt[13] != enc[1])
		ret = PL_ERR_EEM_FRAGMENT;
	else
		ret = pl_su_decode(pt + 14, su);
	OPENSSL_cleanse(pt, sizeof(pt));
	return ret;
}
