/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Record protection (TLS 1.3 AEAD) and EEM sealing and opening.
 */
#ifndef _PLASMATIC_CRYPTO_H
#define _PLASMATIC_CRYPTO_H

#include <linux/types.h>
#include <linux/scatterlist.h>
#include <linux/plasmatic.h>

#define PL_NONCE_LEN		12
#define PL_EEM_AAD_LEN		(5 + 16)	/* header || TLS tag */
#define PL_EEM_POOL_LEN		512		/* see pl_eem_padding() */

struct crypto_aead;
struct aead_request;

/* One direction's TLS 1.3 record key. */
struct pl_cipher {
	struct crypto_aead *aead;
	struct aead_request *req;
	u8 iv[PL_NONCE_LEN];		/* the key's static IV */
	u8 nonce[PL_NONCE_LEN];		/* @req's, while it runs */
	u64 seq;			/* next record sequence number */
	u64 seq_limit;			/* records allowed under this key */
	u16 type;			/* TLS_CIPHER_* */
	/* Set when the key comes from a traffic secret: KeyUpdate works. */
	u8 secret[PLASMATIC_SECRET_MAX];
	unsigned int secret_len;
};

/* One direction's EEM key and nonce sequence. */
struct pl_eem {
	/*
	 * ChaCha20 and Poly1305 as the crypto API offers them where it does
	 * (pl_eem_compose()); else the AEAD template, @aead and @req.
	 */
	struct crypto_sync_skcipher *chacha;
	struct crypto_shash *poly;
	u8 *scratch;			/* theirs: keystream, MAC input */
	struct crypto_aead *aead;
	struct aead_request *req;
	u8 *buf;			/* AAD || EEM, for the scatterlist */
	/*
	 * Random bytes for the padding of the EEMs we seal, at the end of
	 * @buf (PL_EEM_POOL_LEN bytes): @pool_left of them not yet used.
	 */
	unsigned int pool_left;
	u8 salt[4];
	u8 nonce[PL_NONCE_LEN];		/* @req's, while it runs */
	u64 counter;			/* next nonce's counter part */
	bool spent;			/* the counter has been used up */
	u8 framing;			/* PLASMATIC_FRAMING_* */
	u8 len;				/* EEM bytes on the wire */
};

enum pl_eem_result {
	PL_EEM_OK,
	PL_EEM_BAD_TAG,
	PL_EEM_BAD_NONCE,
	PL_EEM_BAD_FRAGMENT,
	PL_EEM_BAD_SEED_UPDATE,
};

int pl_cipher_init(struct pl_cipher *c, u16 type, const u8 *key,
		   unsigned int key_len, const u8 *salt, unsigned int salt_len,
		   const u8 *iv, unsigned int iv_len, const u8 *rec_seq);
int pl_cipher_init_secret(struct pl_cipher *c, u16 type, const u8 *secret,
			  const u8 *rec_seq);
int pl_cipher_update(struct pl_cipher *c);
void pl_cipher_free(struct pl_cipher *c);
int pl_cipher_seal(struct pl_cipher *c, struct scatterlist *src,
		   struct scatterlist *dst, unsigned int pt_len);
int pl_cipher_open(struct pl_cipher *c, struct scatterlist *src,
		   struct scatterlist *dst, unsigned int ct_len);
int pl_cipher_decrypt(struct pl_cipher *c, struct scatterlist *src,
		      struct scatterlist *dst, unsigned int ct_len);

/* Whether one more record may be sealed under @c and @e. */
static inline bool pl_can_seal(const struct pl_cipher *c,
			       const struct pl_eem *e)
{
	return c->seq < c->seq_limit && !e->spent;
}

int pl_eem_init(struct pl_eem *e, const struct plasmatic_eem_info *info);
void pl_eem_free(struct pl_eem *e);
int pl_eem_seal(struct pl_eem *e, u8 *out, const u8 *hdr, const u8 *tag,
		const u8 *fragment, const u8 *su);
int pl_eem_open(struct pl_eem *e, const u8 *in, const u8 *hdr,
		const u8 *tag, const u8 *fragment, u8 *su,
		enum pl_eem_result *res);

#endif /* _PLASMATIC_CRYPTO_H */
