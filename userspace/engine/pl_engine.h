/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Plasmatic userspace reference engine (SPEC.md, wire version 1).
 *
 * Engine API.  A byte-level codec with no I/O, no globals and no
 * allocation per record: every object owns its OpenSSL contexts, made once
 * at creation, and is used by one thread at a time.
 *
 *  - Key schedule: pl_eem_schedule() turns the TLS exporter output (label
 *    PL_EXPORTER_LABEL, context pl_params_encode(), 32 bytes) and the
 *    optional PSK into each direction's EEM key, first EEM nonce and TPL
 *    seed.  pl_traffic_keys() turns a TLS 1.3 traffic secret into the
 *    record key and IV, pl_traffic_update() gives the next secret
 *    (KeyUpdate).
 *  - Sending: a struct pl_tx per direction (pl_tx_new() from a struct
 *    pl_dir_config).  pl_tx_seal() writes one complete record plus EEM
 *    into the caller's buffer (pl_tx_record_len() bytes) and advances the
 *    TLS sequence number and the EEM nonce.  The content may already sit at
 *    out + PL_HEADER_LEN: it is then encrypted in place, without a copy.
 *  - Receiving: a struct pl_rx per direction.  pl_rx_feed() takes bytes in
 *    any split and returns 1 each time a whole record has passed every
 *    check of SPEC section 7; nothing of a failed record is ever returned.
 *    Failures are sticky: the cause stays in pl_rx_error() and every later
 *    call fails.  On transport EOF, pl_rx_end() tells a record boundary
 *    (PL_OK) from a cut record (PL_ERR_TRUNCATED).  After any failure send
 *    pl_tx_seal_alert(tx, PL_ALERT_FATAL, PL_ALERT_BAD_RECORD_MAC) and close.
 *  - KeyUpdate: pl_tx_key_update() / pl_rx_key_update() move one direction
 *    to the next traffic secret (sequence number back to 0, EEM state kept);
 *    pl_*_rekey() installs a secret given by the caller.
 *  - Seed Updates received (struct pl_record.su) are applied by the caller
 *    to its own TX shaping with pl_tpl_apply(): SPEC 9.4.
 *  - TPL: struct pl_tpl draws each application record's target size and
 *    delay (SPEC 9), with mode rotation and Seed Updates.
 *
 * Functions returning int give PL_OK (0) or a negative enum pl_err unless
 * documented otherwise; pl_strerror() names them.  Secrets are wiped with
 * OPENSSL_cleanse when objects are freed.
 */
#ifndef PL_ENGINE_H
#define PL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/plasmatic.h>

#define PL_EXPORTER_LABEL	"EXPORTER-plasmatic-eem-v1"
#define PL_EXPORTER_LEN		32
#define PL_PARAMS_LEN		2
#define PL_PSK_LEN		32
#define PL_PRK_LEN		32

#define PL_HEADER_LEN		5
#define PL_TLS_TAG_LEN		16
#define PL_IV_LEN		12
#define PL_MAX_KEY_LEN		32
#define PL_MAX_SECRET_LEN	48
/*
 * 2^14: the TLSPlaintext limit (RFC 8446 5.1), the largest content of a
 * record a receiver accepts.  A sender's limit is pl_max_content(): lower
 * in covered framing, so that no full record is longer on the wire than a
 * stock TLS stack's (SPEC 8.1).
 */
#define PL_MAX_CONTENT		16384
/*
 * Largest record on the wire a peer may send: header, length 2^14 + 256,
 * and the EEM after it (detached framing; covered counts it in the 2^14 +
 * 256).
 */
#define PL_MAX_WIRE_LEN		(PL_HEADER_LEN + PL_MAX_CONTENT + 256 + \
				 PLASMATIC_EEM_LEN_MAX)
#define PL_SU_LEN		12
#define PL_EEM_FIXED_LEN	26	/* nonce, fragment, seed update */
#define PL_TPL_MODES		9

#define PL_ALERT_WARNING	1
#define PL_ALERT_FATAL		2
#define PL_ALERT_CLOSE_NOTIFY	0
#define PL_ALERT_BAD_RECORD_MAC	20

enum pl_err {
	PL_OK = 0,
	PL_ERR_INVAL = -1,		/* bad argument or configuration */
	PL_ERR_NOMEM = -2,
	PL_ERR_CRYPTO = -3,		/* OpenSSL failed internally */
	PL_ERR_SPACE = -4,		/* output buffer too small */
	PL_ERR_SEQ_EXHAUSTED = -5,	/* key's record limit: KeyUpdate first */
	PL_ERR_NONCE_EXHAUSTED = -6,	/* EEM counter would wrap: close */
	PL_ERR_NO_SECRET = -7,		/* key_update without a traffic secret */
	/* Receive failures (SPEC 7); each is answered with bad_record_mac. */
	PL_ERR_HEADER = -10,		/* type not 0x17 or version not 0x0303 */
	PL_ERR_LENGTH = -11,		/* length out of the range of SPEC 6 */
	PL_ERR_EEM_TAG = -12,		/* EEM does not open */
	PL_ERR_EEM_NONCE = -13,		/* EEM nonce field not the expected one */
	PL_ERR_EEM_FRAGMENT = -14,	/* fragment differs from ciphertext */
	PL_ERR_SEED_UPDATE = -15,	/* malformed Seed Update */
	PL_ERR_TLS_TAG = -16,		/* record does not decrypt */
	PL_ERR_CONTENT_TYPE = -17,	/* not alert, handshake or app data */
	PL_ERR_OVERFLOW = -18,		/* TLSInnerPlaintext above 2^14 + 1 */
	PL_ERR_EMPTY = -19,		/* empty alert or handshake record */
	PL_ERR_TRUNCATED = -20,		/* stream ended inside a record */
};

const char *pl_strerror(int err);

/* TLS 1.3 cipher suites (SPEC 2). */
enum pl_suite {
	PL_TLS_AES_128_GCM_SHA256 = 0x1301,
	PL_TLS_AES_256_GCM_SHA384 = 0x1302,
	PL_TLS_CHACHA20_POLY1305_SHA256 = 0x1303,
};

/* Key and hash lengths of a suite; 0 for an unsupported suite. */
size_t pl_suite_key_len(uint16_t suite);
size_t pl_suite_hash_len(uint16_t suite);

/* ---- Key schedule (SPEC 4; RFC 8446 7.1-7.3) ---- */

enum pl_direction { PL_C2S = 0, PL_S2C = 1 };

struct pl_eem_secrets {
	uint8_t key[PLASMATIC_EEM_KEY_SIZE];
	uint8_t nonce[PLASMATIC_EEM_NONCE_SIZE];	/* first EEM nonce */
	uint64_t seed;		/* initial TPL seed of the direction's sender */
};

/* true if framing and eem_len are allowed values (SPEC 3). */
bool pl_params_valid(uint8_t framing, uint8_t eem_len);
/*
 * Most content plus TLS 1.3 padding one record may carry (SPEC 8.1):
 * 2^14 - eem_len in covered framing, so that a full record's header length
 * is at most 2^14 + 17 (16401) as a stock TLS 1.3 stack's, and 2^14 in
 * detached framing.  A sender splits writes into records of at most this
 * many bytes.  0 if the parameters are not valid.
 */
size_t pl_max_content(uint8_t framing, uint8_t eem_len);
/* The exporter context: framing || eem_len. */
int pl_params_encode(uint8_t framing, uint8_t eem_len,
		     uint8_t out[PL_PARAMS_LEN]);

/* psk is NULL (absent) or PL_PSK_LEN bytes. */
int pl_eem_extract(const uint8_t exp[PL_EXPORTER_LEN], const uint8_t *psk,
		   uint8_t prk[PL_PRK_LEN]);
int pl_eem_expand(const uint8_t prk[PL_PRK_LEN], enum pl_direction dir,
		  struct pl_eem_secrets *out);
int pl_eem_schedule(const uint8_t exp[PL_EXPORTER_LEN], const uint8_t *psk,
		    struct pl_eem_secrets *c2s, struct pl_eem_secrets *s2c);

/* secret is pl_suite_hash_len(suite) bytes; key gets pl_suite_key_len(). */
int pl_traffic_keys(uint16_t suite, const uint8_t *secret, size_t secret_len,
		    uint8_t *key, uint8_t iv[PL_IV_LEN]);
/* next = HKDF-Expand-Label(secret, "traffic upd", "", Hash.length) */
int pl_traffic_update(uint16_t suite, const uint8_t *secret,
		      size_t secret_len, uint8_t *next);

/* ---- Direction state ---- */

/*
 * One direction of a connection.  Give either the traffic secret (then
 * KeyUpdate works) or the record key and IV.  The pointers are only read
 * during pl_tx_new()/pl_rx_new().
 */
struct pl_dir_config {
	uint16_t suite;			/* enum pl_suite */
	const uint8_t *secret;		/* traffic secret or NULL */
	size_t secret_len;		/* pl_suite_hash_len(suite) */
	const uint8_t *key;		/* if secret == NULL */
	const uint8_t *iv;		/* if secret == NULL */
	uint64_t seq;			/* first TLS sequence number, usually 0 */
	const uint8_t *eem_key;		/* PLASMATIC_EEM_KEY_SIZE bytes */
	const uint8_t *eem_nonce;	/* PLASMATIC_EEM_NONCE_SIZE bytes */
	uint8_t framing;		/* PLASMATIC_FRAMING_* */
	uint8_t eem_len;		/* PLASMATIC_EEM_LEN_MIN .. _MAX */
};

/* Seed Update as carried in an EEM (SPEC 5.3). */
#define PL_SU_NONE		0
#define PL_SU_SEED		1
#define PL_SU_FLAG_LOCK		0x01
struct pl_seed_update {
	uint8_t kind;		/* PL_SU_NONE or PL_SU_SEED */
	uint8_t mode;		/* 0 .. PL_TPL_MODES - 1 */
	uint8_t flags;		/* PL_SU_FLAG_LOCK */
	uint64_t seed;
};

/* ---- Encoder ---- */

struct pl_tx;

struct pl_seal_opts {
	size_t pad_len;				/* TLS 1.3 zero padding */
	const struct pl_seed_update *su;	/* NULL: kind 0 */
	const uint8_t *eem_padding;	/* NULL: random; else eem_len - 42 */
};

struct pl_tx *pl_tx_new(const struct pl_dir_config *cfg, int *err);
void pl_tx_free(struct pl_tx *tx);

/* Bytes on the wire of a record with this content and padding length. */
size_t pl_tx_record_len(const struct pl_tx *tx, size_t content_len,
			size_t pad_len);
/* pl_max_content() of the direction's framing and EEM length. */
size_t pl_tx_max_content(const struct pl_tx *tx);
/*
 * Seal one record of content_type (21, 22 or 23; 21 and 22 non-empty)
 * with len + pad_len <= pl_tx_max_content(tx) (else PL_ERR_INVAL).
 * opts may be NULL.  On success *out_len = pl_tx_record_len(); the
 * sequence number and EEM nonce have advanced.
 */
int pl_tx_seal(struct pl_tx *tx, uint8_t content_type,
	       const uint8_t *content, size_t len,
	       const struct pl_seal_opts *opts,
	       uint8_t *out, size_t out_cap, size_t *out_len);
/* An alert record: content level || description. */
int pl_tx_seal_alert(struct pl_tx *tx, uint8_t level, uint8_t description,
		     uint8_t *out, size_t out_cap, size_t *out_len);
int pl_tx_rekey(struct pl_tx *tx, const uint8_t *secret, size_t secret_len);
int pl_tx_key_update(struct pl_tx *tx);
uint64_t pl_tx_seq(const struct pl_tx *tx);
/* Records that may still be sealed under the current key (SPEC 8.3). */
uint64_t pl_tx_records_left(const struct pl_tx *tx);
void pl_tx_eem_nonce(const struct pl_tx *tx,
		     uint8_t nonce[PLASMATIC_EEM_NONCE_SIZE]);

/* ---- Decoder ---- */

struct pl_rx;

struct pl_record {
	uint8_t content_type;
	const uint8_t *content;		/* valid until the next pl_rx_* call */
	size_t len;
	struct pl_seed_update su;	/* kind PL_SU_NONE if none */
};

struct pl_rx *pl_rx_new(const struct pl_dir_config *cfg, int *err);
void pl_rx_free(struct pl_rx *rx);
/*
 * Consume up to len bytes, stopping right after a complete record.
 * Returns 1 with *rec filled when a record was accepted, 0 when all the
 * input was consumed without completing one, or a negative pl_err (then
 * and forever after).  *consumed is always set.
 */
int pl_rx_feed(struct pl_rx *rx, const uint8_t *data, size_t len,
	       size_t *consumed, struct pl_record *rec);
/* Transport EOF: PL_OK at a record boundary, else PL_ERR_TRUNCATED. */
int pl_rx_end(struct pl_rx *rx);
/* PL_OK or the sticky failure cause. */
int pl_rx_error(const struct pl_rx *rx);
bool pl_rx_at_boundary(const struct pl_rx *rx);
int pl_rx_rekey(struct pl_rx *rx, const uint8_t *secret, size_t secret_len);
int pl_rx_key_update(struct pl_rx *rx);
uint64_t pl_rx_seq(const struct pl_rx *rx);
void pl_rx_eem_nonce(const struct pl_rx *rx,
		     uint8_t nonce[PLASMATIC_EEM_NONCE_SIZE]);

/* ---- Traffic Pattern Library (SPEC 9) ---- */

struct pl_tpl;

struct pl_tpl_draw {
	uint8_t mode;		/* mode the record was drawn in */
	uint32_t size;		/* target content bytes */
	uint32_t delay_us;
};

struct pl_tpl *pl_tpl_new(uint8_t mode, uint64_t seed, bool lock, int *err);
void pl_tpl_free(struct pl_tpl *tpl);
/* Set the state (SPEC 9.4): draw counter back to 0. */
int pl_tpl_set(struct pl_tpl *tpl, uint8_t mode, uint64_t seed, bool lock);
/* Apply a received Seed Update; kind PL_SU_NONE changes nothing. */
int pl_tpl_apply(struct pl_tpl *tpl, const struct pl_seed_update *su);
/* The two draws of the next application record, rotating modes. */
int pl_tpl_next(struct pl_tpl *tpl, struct pl_tpl_draw *out);
/* r(i) = SipHash-2-4(LE64(seed) || LE64(mode), LE64(i)) */
int pl_tpl_prf(struct pl_tpl *tpl, uint64_t seed, uint8_t mode, uint64_t i,
	       uint64_t *r);
uint8_t pl_tpl_mode(const struct pl_tpl *tpl);
uint64_t pl_tpl_counter(const struct pl_tpl *tpl);
bool pl_tpl_locked(const struct pl_tpl *tpl);
/* Size and delay of a mode for a draw r (SPEC 9.2); 0 for a bad mode. */
uint32_t pl_tpl_size(uint8_t mode, uint64_t r);
uint32_t pl_tpl_delay_us(uint8_t mode, uint64_t r);

/* The value of hex digit c (either case), or -1: for key files and logs. */
static inline int pl_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif /* PL_ENGINE_H */
