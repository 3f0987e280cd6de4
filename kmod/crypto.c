// SPDX-License-Identifier: GPL-2.0
/*
 * Record protection and the EEM, through the crypto_aead interface.
 *
 * The EEM is ChaCha20-Poly1305 with a 96-bit nonce whose first 4 bytes are
 * a per-session salt (SPEC section 5.2).  The chacha20poly1305 library only
 * takes 64-bit nonces with those bytes zero.  The EEM is put together from
 * the crypto API's "chacha20" skcipher and "poly1305" shash, one call of
 * each (pl_eem_compose()): for its 80 bytes the steps of the
 * "rfc7539(chacha20,poly1305)" template cost more than the arithmetic.
 * Kernels whose crypto API no longer offers those two (they became
 * library-only) get the template, as the ChaCha20 record cipher does.
 *
 * All functions run in process context under the socket lock; requests
 * may complete asynchronously and are waited for.  The nonce of a request
 * lives beside the request (struct pl_cipher, struct pl_eem), not on the
 * stack: an asynchronous implementation may read it, or DMA-map it, from
 * another context (a stack with CONFIG_VMAP_STACK cannot be DMA-mapped),
 * as net/tls keeps its IVs in its records and requests.  One request per
 * key and direction, used under that direction's locks, so one nonce.
 */
#include <linux/errno.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tls.h>
#include <crypto/aead.h>
#include <crypto/algapi.h>
#include <crypto/chacha.h>
#include <crypto/hash.h>
#include <crypto/poly1305.h>
#include <crypto/sha2.h>
#include <crypto/skcipher.h>

#include "compat.h"
#include "crypto.h"
#include "tpl.h"

#define PL_TAG_SIZE		16

/* RFC 8446 section 5.5: 2^24.5 full-size records per AES-GCM key. */
#define PL_GCM_RECORD_LIMIT	23726566ULL

/* EEM plaintext layout (SPEC section 5.1). */
#define PL_EEM_OFF_NONCE	0
#define PL_EEM_OFF_FRAGMENT	12
#define PL_EEM_OFF_SEED		14
#define PL_EEM_OFF_PADDING	26
#define PL_SEED_KIND_NONE	0
#define PL_SEED_KIND_UPDATE	1
#define PL_SEED_MODE_MAX	8
#define PL_SEED_FLAG_LOCK	BIT(0)

static struct crypto_aead *pl_aead_alloc(const char *name, const u8 *key,
					 unsigned int key_len,
					 struct aead_request **req)
{
	struct crypto_aead *aead;
	int err;

	aead = crypto_alloc_aead(name, 0, 0);
	if (IS_ERR(aead))
		return aead;

	err = crypto_aead_setkey(aead, key, key_len);
	if (err)
		goto free_aead;
	err = crypto_aead_setauthsize(aead, PL_TAG_SIZE);
	if (err)
		goto free_aead;
	*req = aead_request_alloc(aead, GFP_KERNEL);
	if (!*req) {
		err = -ENOMEM;
		goto free_aead;
	}
	return aead;

free_aead:
	crypto_free_aead(aead);
	return ERR_PTR(err);
}

static int pl_aead_run_to(struct aead_request *req, struct scatterlist *src,
			  struct scatterlist *dst, unsigned int assoc_len,
			  unsigned int len, u8 *nonce, bool enc)
{
	DECLARE_CRYPTO_WAIT(wait);

	aead_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG |
				  CRYPTO_TFM_REQ_MAY_SLEEP,
				  crypto_req_done, &wait);
	aead_request_set_ad(req, assoc_len);
	aead_request_set_crypt(req, src, dst, len, nonce);
	return crypto_wait_req(enc ? crypto_aead_encrypt(req) :
				     crypto_aead_decrypt(req), &wait);
}

static int pl_aead_run(struct aead_request *req, struct scatterlist *sg,
		       unsigned int assoc_len, unsigned int len, u8 *nonce,
		       bool enc)
{
	return pl_aead_run_to(req, sg, sg, assoc_len, len, nonce, enc);
}

int pl_cipher_init(struct pl_cipher *c, u16 type, const u8 *key,
		   unsigned int key_len, const u8 *salt, unsigned int salt_len,
		   const u8 *iv, unsigned int iv_len, const u8 *rec_seq)
{
	const char *name;

	if (salt_len + iv_len != PL_NONCE_LEN)
		return -EINVAL;

	switch (type) {
	case TLS_CIPHER_AES_GCM_128:
	case TLS_CIPHER_AES_GCM_256:
		name = "gcm(aes)";
		c->seq_limit = PL_GCM_RECORD_LIMIT;
		break;
	case TLS_CIPHER_CHACHA20_POLY1305:
		name = "rfc7539(chacha20,poly1305)";
		c->seq_limit = U64_MAX;
		break;
	default:
		return -EINVAL;
	}

	c->aead = pl_aead_alloc(name, key, key_len, &c->req);
	if (IS_ERR(c->aead)) {
		int err = PTR_ERR(c->aead);

		c->aead = NULL;
		return err;
	}
	memcpy(c->iv, salt, salt_len);
	memcpy(c->iv + salt_len, iv, iv_len);
	c->seq = get_unaligned_be64(rec_seq);
	c->type = type;
	return 0;
}

static unsigned int pl_cipher_key_len(u16 type)
{
	switch (type) {
	case TLS_CIPHER_AES_GCM_128:
		return TLS_CIPHER_AES_GCM_128_KEY_SIZE;
	case TLS_CIPHER_AES_GCM_256:
		return TLS_CIPHER_AES_GCM_256_KEY_SIZE;
	case TLS_CIPHER_CHACHA20_POLY1305:
		return TLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE;
	default:
		return 0;
	}
}

/*
 * HKDF-Expand-Label(secret, label, "", len) of RFC 8446 section 7.1 for
 * len up to the hash length, which is all TLS 1.3 record keys need: one
 * HMAC block.
 */
static int pl_expand_label(struct crypto_shash *hmac, const char *label,
			   u8 *out, unsigned int len)
{
	unsigned int label_len = strlen(label);
	u8 digest[SHA512_DIGEST_SIZE];
	u8 info[2 + 1 + 6 + 16 + 1 + 1];
	unsigned int n = 0;
	int err;

	if (len > crypto_shash_digestsize(hmac) ||
	    label_len > sizeof(info) - 10)
		return -EINVAL;
	put_unaligned_be16(len, info);
	n += 2;
	info[n++] = 6 + label_len;
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, label_len);
	n += label_len;
	info[n++] = 0;		/* empty context */
	info[n++] = 1;		/* HKDF-Expand block counter */

	{
		SHASH_DESC_ON_STACK(desc, hmac);

		desc->tfm = hmac;
		err = crypto_shash_digest(desc, info, n, digest);
		shash_desc_zero(desc);
	}
	if (!err)
		memcpy(out, digest, len);
	memzero_explicit(digest, sizeof(digest));
	return err;
}

/*
 * The record key and IV of @secret (and, with @next, the secret that
 * follows it on KeyUpdate), into @key and @iv.
 */
static int pl_derive(u16 type, const u8 *secret, unsigned int secret_len,
		     u8 *key, u8 *iv, u8 *next)
{
	struct crypto_shash *hmac;
	int err;

	hmac = crypto_alloc_shash(secret_len == SHA384_DIGEST_SIZE ?
				  "hmac(sha384)" : "hmac(sha256)", 0, 0);
	if (IS_ERR(hmac))
		return PTR_ERR(hmac);
	err = crypto_shash_setkey(hmac, secret, secret_len);
	if (!err && next)
		err = pl_expand_label(hmac, "traffic upd", next, secret_len) ?:
		      crypto_shash_setkey(hmac, next, secret_len);
	if (!err)
		err = pl_expand_label(hmac, "key", key,
				      pl_cipher_key_len(type)) ?:
		      pl_expand_label(hmac, "iv", iv, PL_NONCE_LEN);
	crypto_free_shash(hmac);
	return err;
}

static unsigned int pl_secret_len(u16 type)
{
	return type == TLS_CIPHER_AES_GCM_256 ? SHA384_DIGEST_SIZE :
						SHA256_DIGEST_SIZE;
}

int pl_cipher_init_secret(struct pl_cipher *c, u16 type, const u8 *secret,
			  const u8 *rec_seq)
{
	unsigned int secret_len = pl_secret_len(type);
	u8 key[TLS_CIPHER_AES_GCM_256_KEY_SIZE];
	u8 iv[PL_NONCE_LEN];
	int err;

	if (!pl_cipher_key_len(type))
		return -EINVAL;
	err = pl_derive(type, secret, secret_len, key, iv, NULL) ?:
	      pl_cipher_init(c, type, key, pl_cipher_key_len(type), iv,
			     sizeof(iv), iv + sizeof(iv), 0, rec_seq);
	if (!err) {
		memcpy(c->secret, secret, secret_len);
		c->secret_len = secret_len;
	}
	memzero_explicit(key, sizeof(key));
	memzero_explicit(iv, sizeof(iv));
	return err;
}

/* KeyUpdate (RFC 8446 section 4.6.3): the next secret, key and IV. */
int pl_cipher_update(struct pl_cipher *c)
{
	u8 key[TLS_CIPHER_AES_GCM_256_KEY_SIZE];
	u8 next[PLASMATIC_SECRET_MAX];
	u8 iv[PL_NONCE_LEN];
	int err;

	if (!c->secret_len)
		return -EOPNOTSUPP;
	err = pl_derive(c->type, c->secret, c->secret_len, key, iv, next) ?:
	      crypto_aead_setkey(c->aead, key, pl_cipher_key_len(c->type));
	if (!err) {
		memcpy(c->secret, next, c->secret_len);
		memcpy(c->iv, iv, sizeof(iv));
		c->seq = 0;
	}
	memzero_explicit(key, sizeof(key));
	memzero_explicit(next, sizeof(next));
	memzero_explicit(iv, sizeof(iv));
	return err;
}

void pl_cipher_free(struct pl_cipher *c)
{
	if (!c->aead)
		return;
	aead_request_free(c->req);
	crypto_free_aead(c->aead);
	c->aead = NULL;
	memzero_explicit(c->iv, sizeof(c->iv));
	memzero_explicit(c->nonce, sizeof(c->nonce));
	memzero_explicit(c->secret, sizeof(c->secret));
}

/* RFC 8446 section 5.3: the static IV xor the sequence number. */
static u8 *pl_cipher_nonce(struct pl_cipher *c)
{
	u8 seq[8];

	memcpy(c->nonce, c->iv, PL_NONCE_LEN);
	put_unaligned_be64(c->seq, seq);
	crypto_xor(c->nonce + PL_NONCE_LEN - sizeof(seq), seq, sizeof(seq));
	return c->nonce;
}

/*
 * @src covers the header (the AAD) and @pt_len bytes of TLSInnerPlaintext;
 * @dst the same header and room for the ciphertext and the tag.  They are
 * the same list to encrypt in place; when they differ, the header is the
 * same memory in both, as the crypto API expects of the AAD.
 */
int pl_cipher_seal(struct pl_cipher *c, struct scatterlist *src,
		   struct scatterlist *dst, unsigned int pt_len)
{
	int err;

	if (c->seq >= c->seq_limit)
		return -EKEYEXPIRED;
	err = pl_aead_run_to(c->req, src, dst, 5, pt_len, pl_cipher_nonce(c),
			     true);
	if (!err)
		c->seq++;
	return err;
}

/*
 * @src covers header and the @ct_len bytes of encrypted_record, decrypted
 * into @dst (@src itself in place); the sequence number advances.
 */
int pl_cipher_open(struct pl_cipher *c, struct scatterlist *src,
		   struct scatterlist *dst, unsigned int ct_len)
{
	int err;

	err = pl_cipher_decrypt(c, src, dst, ct_len);
	if (!err)
		c->seq++;
	return err;
}

/*
 * Decrypt the record of sequence number c->seq from @src into @dst (each
 * the 5-byte header, then the record's bytes); the number is not
 * advanced.
 */
int pl_cipher_decrypt(struct pl_cipher *c, struct scatterlist *src,
		      struct scatterlist *dst, unsigned int ct_len)
{
	return pl_aead_run_to(c->req, src, dst, 5, ct_len, pl_cipher_nonce(c),
			      false);
}

/*
 * pl_eem_compose()'s scratch for an EEM of @len bytes: the keystream
 * block and the text, then the MAC input (key, AAD padded to 32 bytes,
 * ciphertext padded to 16, the two lengths).
 */
#define PL_EEM_MAC_AAD_LEN	ALIGN(PL_EEM_AAD_LEN, POLY1305_BLOCK_SIZE)

static unsigned int pl_eem_scratch_len(unsigned int len)
{
	return CHACHA_BLOCK_SIZE + len + POLY1305_KEY_SIZE +
	       PL_EEM_MAC_AAD_LEN + ALIGN(len, POLY1305_BLOCK_SIZE) + 16;
}

static void pl_eem_free_compose(struct pl_eem *e)
{
	if (e->chacha)
		crypto_free_sync_skcipher(e->chacha);
	if (e->poly)
		crypto_free_shash(e->poly);
	kfree_sensitive(e->scratch);
	e->chacha = NULL;
	e->poly = NULL;
	e->scratch = NULL;
}

/* The primitives for pl_eem_compose(), if the crypto API has them. */
static int pl_eem_init_compose(struct pl_eem *e, const u8 *key,
			       unsigned int len)
{
	struct crypto_sync_skcipher *chacha;
	struct crypto_shash *poly;
	int err;

	chacha = crypto_alloc_sync_skcipher("chacha20", 0, 0);
	if (IS_ERR(chacha))
		return PTR_ERR(chacha);
	e->chacha = chacha;
	poly = crypto_alloc_shash("poly1305", 0, 0);
	if (IS_ERR(poly)) {
		err = PTR_ERR(poly);
		goto fail;
	}
	e->poly = poly;
	err = crypto_sync_skcipher_setkey(chacha, key, CHACHA_KEY_SIZE);
	if (err)
		goto fail;
	e->scratch = kmalloc(pl_eem_scratch_len(len), GFP_KERNEL);
	if (!e->scratch) {
		err = -ENOMEM;
		goto fail;
	}
	return 0;

fail:
	pl_eem_free_compose(e);
	return err;
}

int pl_eem_init(struct pl_eem *e, const struct plasmatic_eem_info *info)
{
	e->buf = kmalloc(PL_EEM_AAD_LEN + info->eem_len + PL_EEM_POOL_LEN,
			 GFP_KERNEL);
	if (!e->buf)
		return -ENOMEM;

	if (pl_eem_init_compose(e, info->key, info->eem_len)) {
		e->aead = pl_aead_alloc("rfc7539(chacha20,poly1305)",
					info->key, sizeof(info->key), &e->req);
		if (IS_ERR(e->aead)) {
			int err = PTR_ERR(e->aead);

			e->aead = NULL;
			kfree(e->buf);
			e->buf = NULL;
			return err;
		}
	}
	memcpy(e->salt, info->nonce, sizeof(e->salt));
	e->counter = get_unaligned_be64(info->nonce + sizeof(e->salt));
	e->spent = false;
	e->pool_left = 0;
	e->framing = info->framing;
	e->len = info->eem_len;
	return 0;
}

void pl_eem_free(struct pl_eem *e)
{
	if (!e->buf)
		return;
	pl_eem_free_compose(e);
	if (e->aead) {
		aead_request_free(e->req);
		crypto_free_aead(e->aead);
		e->aead = NULL;
	}
	kfree_sensitive(e->buf);
	e->buf = NULL;
	memzero_explicit(e->salt, sizeof(e->salt));
	memzero_explicit(e->nonce, sizeof(e->nonce));
}

static u8 *pl_eem_nonce(struct pl_eem *e)
{
	memcpy(e->nonce, e->salt, sizeof(e->salt));
	put_unaligned_be64(e->counter, e->nonce + sizeof(e->salt));
	return e->nonce;
}

/*
 * @len random bytes for the padding of an EEM.  Each get_random_bytes()
 * call costs a ChaCha20 block (the fast key erasure) and a lock besides
 * its output, as much again as an EEM's padding: they are taken from a
 * pool refilled PL_EEM_POOL_LEN bytes at a time, and wiped once used.
 */
static void pl_eem_padding(struct pl_eem *e, u8 *out, unsigned int len)
{
	u8 *pool = e->buf + PL_EEM_AAD_LEN + e->len;
	u8 *p;

	if (len > PL_EEM_POOL_LEN) {
		get_random_bytes(out, len);
		return;
	}
	if (e->pool_left < len) {
		get_random_bytes(pool, PL_EEM_POOL_LEN);
		e->pool_left = PL_EEM_POOL_LEN;
	}
	p = pool + PL_EEM_POOL_LEN - e->pool_left;
	memcpy(out, p, len);
	memzero_explicit(p, len);
	e->pool_left -= len;
}

/*
 * ChaCha20-Poly1305 (RFC 8439 section 2.8) of e->buf, AAD || text || tag,
 * in place, as the template would do it: encrypt the text and write the
 * tag, or check the tag (-EBADMSG) and only then decrypt.  One ChaCha20
 * call from block counter 0 over a zero block and the text gives the
 * Poly1305 key and the other text; one Poly1305 digest over a buffer laid
 * out as its input.  The scratch is wiped after.
 */
static int pl_eem_compose(struct pl_eem *e, const u8 *nonce, bool enc)
{
	SYNC_SKCIPHER_REQUEST_ON_STACK(req, e->chacha);
	SHASH_DESC_ON_STACK(desc, e->poly);
	unsigned int ct_len = e->len - PL_TAG_SIZE;
	unsigned int ks_len = CHACHA_BLOCK_SIZE + ct_len;
	u8 *text = e->buf + PL_EEM_AAD_LEN;
	u8 *ks = e->scratch, *mac = ks + ks_len, *p;
	u8 iv[CHACHA_IV_SIZE] = { 0 };	/* block counter 0, then the nonce */
	u8 tag[PL_TAG_SIZE];
	struct scatterlist sg;
	int err;

	memcpy(iv + 4, nonce, PL_NONCE_LEN);
	memset(ks, 0, CHACHA_BLOCK_SIZE);
	memcpy(ks + CHACHA_BLOCK_SIZE, text, ct_len);
	sg_init_one(&sg, ks, ks_len);
	skcipher_request_set_sync_tfm(req, e->chacha);
	skcipher_request_set_callback(req, 0, NULL, NULL);
	skcipher_request_set_crypt(req, &sg, &sg, ks_len, iv);
	err = crypto_skcipher_encrypt(req);
	skcipher_request_zero(req);
	if (err)
		goto out;

	/* The "poly1305" shash takes its key as its first 32 bytes. */
	memcpy(mac, ks, POLY1305_KEY_SIZE);
	p = mac + POLY1305_KEY_SIZE;
	memcpy(p, e->buf, PL_EEM_AAD_LEN);
	memset(p + PL_EEM_AAD_LEN, 0, PL_EEM_MAC_AAD_LEN - PL_EEM_AAD_LEN);
	p += PL_EEM_MAC_AAD_LEN;
	memcpy(p, enc ? ks + CHACHA_BLOCK_SIZE : text, ct_len);
	memset(p + ct_len, 0, ALIGN(ct_len, POLY1305_BLOCK_SIZE) - ct_len);
	p += ALIGN(ct_len, POLY1305_BLOCK_SIZE);
	put_unaligned_le64(PL_EEM_AAD_LEN, p);
	put_unaligned_le64(ct_len, p + 8);
	p += 16;
	desc->tfm = e->poly;
	err = crypto_shash_digest(desc, mac, p - mac, tag);
	shash_desc_zero(desc);
	if (err)
		goto out;

	if (!enc && crypto_memneq(tag, text + ct_len, PL_TAG_SIZE)) {
		err = -EBADMSG;
		goto out;
	}
	memcpy(text, ks + CHACHA_BLOCK_SIZE, ct_len);
	if (enc)
		memcpy(text + ct_len, tag, PL_TAG_SIZE);
out:
	memzero_explicit(ks, pl_eem_scratch_len(e->len));
	return err;
}

static int pl_eem_aead(struct pl_eem *e, const u8 *nonce, bool enc)
{
	struct scatterlist sg;

	if (e->chacha)
		return pl_eem_compose(e, nonce, enc);
	sg_init_one(&sg, e->buf, PL_EEM_AAD_LEN + e->len);
	return pl_aead_run(e->req, &sg, PL_EEM_AAD_LEN,
			   enc ? e->len - PL_TAG_SIZE : e->len, (u8 *)nonce,
			   enc);
}

/* The nonce is used: move on, and note when none is left. */
static void pl_eem_advance(struct pl_eem *e)
{
	if (e->counter == U64_MAX)
		e->spent = true;
	else
		e->counter++;
}

/*
 * Seal the EEM of a record whose header is @hdr, whose TLS tag is @tag and
 * whose encrypted_record starts with @fragment; write e->len bytes to @out.
 * @su is the seed_update field (PL_SEED_UPDATE_LEN bytes), NULL for none.
 * The nonce advances as soon as it has been used, whatever happens next.
 */
int pl_eem_seal(struct pl_eem *e, u8 *out, const u8 *hdr, const u8 *tag,
		const u8 *fragment, const u8 *su)
{
	unsigned int pt_len = e->len - PL_TAG_SIZE;
	u8 *pt = e->buf + PL_EEM_AAD_LEN;
	u8 *nonce;
	int err;

	if (e->spent)
		return -EKEYEXPIRED;

	memcpy(e->buf, hdr, 5);
	memcpy(e->buf + 5, tag, PL_TAG_SIZE);
	nonce = pl_eem_nonce(e);
	memcpy(pt + PL_EEM_OFF_NONCE, nonce, PL_NONCE_LEN);
	memcpy(pt + PL_EEM_OFF_FRAGMENT, fragment, 2);
	if (su)
		memcpy(pt + PL_EEM_OFF_SEED, su, PL_SEED_UPDATE_LEN);
	else
		memset(pt + PL_EEM_OFF_SEED, 0, PL_SEED_UPDATE_LEN);
	pl_eem_padding(e, pt + PL_EEM_OFF_PADDING, pt_len - PL_EEM_OFF_PADDING);

	err = pl_eem_aead(e, nonce, true);
	pl_eem_advance(e);
	if (err)
		return err;
	memcpy(out, pt, e->len);
	return 0;
}

static bool pl_seed_update_ok(const u8 *su)
{
	switch (su[0]) {
	case PL_SEED_KIND_NONE:
		return !memchr_inv(su + 1, 0, PL_SEED_UPDATE_LEN - 1);
	case PL_SEED_KIND_UPDATE:
		return su[1] <= PL_SEED_MODE_MAX &&
		       !(su[2] & ~PL_SEED_FLAG_LOCK) && !su[3];
	default:
		return false;
	}
}

/*
 * Open the EEM @in (e->len bytes) of a record and check it (SPEC section
 * 7 step 2).  Returns 0 with *res == PL_EEM_OK if the record may proceed,
 * 0 with another *res if the record is bad, or an error.  The expected
 * nonce advances only on success, and only then is the (valid)
 * seed_update field copied to @su (PL_SEED_UPDATE_LEN bytes).
 */
int pl_eem_open(struct pl_eem *e, const u8 *in, const u8 *hdr,
		const u8 *tag, const u8 *fragment, u8 *su,
		enum pl_eem_result *res)
{
	u8 *pt = e->buf + PL_EEM_AAD_LEN;
	u8 *nonce;
	int err;

	*res = PL_EEM_BAD_NONCE;
	if (e->spent)
		return 0;

	memcpy(e->buf, hdr, 5);
	memcpy(e->buf + 5, tag, PL_TAG_SIZE);
	memcpy(pt, in, e->len);
	nonce = pl_eem_nonce(e);

	err = pl_eem_aead(e, nonce, false);
	if (err == -EBADMSG) {
		*res = PL_EEM_BAD_TAG;
		return 0;
	}
	if (err)
		return err;

	if (crypto_memneq(pt + PL_EEM_OFF_NONCE, nonce, PL_NONCE_LEN))
		*res = PL_EEM_BAD_NONCE;
	else if (crypto_memneq(pt + PL_EEM_OFF_FRAGMENT, fragment, 2))
		*res = PL_EEM_BAD_FRAGMENT;
	else if (!pl_seed_update_ok(pt + PL_EEM_OFF_SEED))
		*res = PL_EEM_BAD_SEED_UPDATE;
	else
		*res = PL_EEM_OK;

	if (*res == PL_EEM_OK) {
		memcpy(su, pt + PL_EEM_OFF_SEED, PL_SEED_UPDATE_LEN);
		pl_eem_advance(e);
	}
	return 0;
}
