/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the engine's files only; not installed. */
#ifndef PL_INTERNAL_H
#define PL_INTERNAL_H

#include <openssl/evp.h>

#include "pl_engine.h"

#define PL_CT_ALERT		PLASMATIC_CT_ALERT
#define PL_CT_HANDSHAKE		PLASMATIC_CT_HANDSHAKE
#define PL_CT_APP		PLASMATIC_CT_APPLICATION_DATA
#define PL_MAX_INNER		(PL_MAX_CONTENT + 1)
/* Largest header length a receiver accepts, in both framings (SPEC 6). */
#define PL_MAX_LENGTH		(PL_MAX_CONTENT + 256)

/* ---- algs.c: fetched once per process, shared by every thread ---- */
const EVP_CIPHER *pl_alg_suite_cipher(uint16_t suite);
const EVP_CIPHER *pl_alg_eem_cipher(void);
EVP_MAC_CTX *pl_alg_hmac_new(const char *digest);	/* digest set, no key */

/* ---- kdf.c ---- */
int pl_hkdf_extract(const uint8_t *salt, size_t salt_len,
		    const uint8_t *ikm, size_t ikm_len, uint8_t prk[32]);
int pl_hkdf_expand(const char *digest, const uint8_t *prk, size_t prk_len,
		   const uint8_t *info, size_t info_len,
		   uint8_t *out, size_t out_len);
int pl_hkdf_expand_label(const char *digest, const uint8_t *secret,
			 size_t secret_len, const char *label,
			 uint8_t *out, size_t out_len);
/* Several expansions of one PRK / secret: the HMAC key is set once. */
struct pl_hkdf {
	EVP_MAC_CTX *ctx;
};
int pl_hkdf_begin(struct pl_hkdf *h, const char *digest, const uint8_t *prk,
		  size_t prk_len);
int pl_hkdf_step(struct pl_hkdf *h, const uint8_t *info, size_t info_len,
		 uint8_t *out, size_t out_len);
int pl_hkdf_step_label(struct pl_hkdf *h, const char *label, uint8_t *out,
		       size_t out_len);
void pl_hkdf_end(struct pl_hkdf *h);
const char *pl_suite_digest(uint16_t suite);

/* ---- record.c: TLS 1.3 record protection of one direction ---- */
struct pl_record_key {
	uint16_t suite;
	bool encrypt;
	uint8_t iv[PL_IV_LEN];
	uint64_t seq;
	uint64_t seq_limit;		/* first sequence number not allowed */
	bool has_secret;
	size_t secret_len;
	uint8_t secret[PL_MAX_SECRET_LEN];
	const EVP_CIPHER *cipher;	/* algs.c's: not freed */
	EVP_CIPHER_CTX *ctx;
};

int pl_record_key_init(struct pl_record_key *rk, const struct pl_dir_config *cfg,
		       bool encrypt);
void pl_record_key_fini(struct pl_record_key *rk);
int pl_record_key_install(struct pl_record_key *rk, const uint8_t *secret,
			  size_t secret_len);
int pl_record_key_update(struct pl_record_key *rk);
/* In place: buf holds inner_len plaintext bytes, gets the tag after it. */
int pl_record_encrypt(struct pl_record_key *rk, const uint8_t hdr[PL_HEADER_LEN],
		      uint8_t *buf, size_t inner_len);
/* In place: buf holds ct_len bytes of encrypted_record (tag included). */
int pl_record_decrypt(struct pl_record_key *rk, const uint8_t hdr[PL_HEADER_LEN],
		      uint8_t *buf, size_t ct_len);

/* ---- eem.c ---- */
struct pl_eem {
	uint8_t framing;
	uint8_t eem_len;
	bool exhausted;			/* nonce counter went past 2^64 - 1 */
	uint8_t nonce[PLASMATIC_EEM_NONCE_SIZE];
	const EVP_CIPHER *cipher;	/* algs.c's: not freed */
	EVP_CIPHER_CTX *ctx;
};

int pl_eem_init(struct pl_eem *e, const struct pl_dir_config *cfg,
		bool encrypt);
void pl_eem_fini(struct pl_eem *e);
/* Seal the EEM of a record (encrypted_record = enc, enc_len >= 17). */
int pl_eem_seal(struct pl_eem *e, const uint8_t hdr[PL_HEADER_LEN],
		const uint8_t *enc, size_t enc_len,
		const struct pl_seed_update *su, const uint8_t *padding,
		uint8_t *out);
/* Open and check; on success *su holds the decoded Seed Update. */
int pl_eem_open(struct pl_eem *e, const uint8_t hdr[PL_HEADER_LEN],
		const uint8_t *enc, size_t enc_len, const uint8_t *eem,
		struct pl_seed_update *su);
void pl_eem_advance(struct pl_eem *e);
void pl_su_encode(const struct pl_seed_update *su, uint8_t out[PL_SU_LEN]);
int pl_su_decode(const uint8_t in[PL_SU_LEN], struct pl_seed_update *su);
bool pl_su_valid(const struct pl_seed_update *su);

/* Big-endian helpers. */
static inline void pl_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t pl_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void pl_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline uint64_t pl_get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

#endif /* PL_INTERNAL_H */
