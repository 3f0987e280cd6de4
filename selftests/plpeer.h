/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the datapath selftests (plasmatic_test.c, observe_test.c):
 *
 *  - struct pl_keys: the key material of one direction, turned into the
 *    socket options of plasmatic.ko (kTLS crypto_info + plasmatic_eem_info)
 *    and into a struct pl_dir_config of the userspace reference engine;
 *  - struct pl_peer: a raw TCP peer (no ULP) that seals what it sends and
 *    decodes what it receives with the engine (pl_engine.h);
 *  - EEM open/re-seal with OpenSSL's ChaCha20-Poly1305 (SPEC 5.4), to read
 *    the EEM fields of a record and to forge EEMs whose tag is valid but
 *    whose fields are not (bad nonce field, fragment, Seed Update).
 *
 * Functions return 0 / a count on success and a negative value on failure;
 * the tests assert on them.
 */
#ifndef PLASMATIC_SELFTEST_PLPEER_H
#define PLASMATIC_SELFTEST_PLPEER_H

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <linux/tls.h>
#include <linux/plasmatic.h>
#include <openssl/evp.h>

#include "pl_engine.h"

#include "plrand.h"

/* ---- key material of one direction ---- */

struct pl_keys {
	uint16_t cipher;		/* TLS_CIPHER_* */
	size_t key_len;
	uint8_t key[32];
	uint8_t iv[PL_IV_LEN];		/* full 12-byte TLS 1.3 IV */
	uint64_t seq;			/* first TLS sequence number */
	uint8_t eem_key[PLASMATIC_EEM_KEY_SIZE];
	uint8_t eem_nonce[PLASMATIC_EEM_NONCE_SIZE];
	uint8_t framing;
	uint8_t eem_len;
};

static inline uint16_t pl_cipher_suite(uint16_t cipher)
{
	switch (cipher) {
	case TLS_CIPHER_AES_GCM_128: return PL_TLS_AES_128_GCM_SHA256;
	case TLS_CIPHER_AES_GCM_256: return PL_TLS_AES_256_GCM_SHA384;
	case TLS_CIPHER_CHACHA20_POLY1305: return PL_TLS_CHACHA20_POLY1305_SHA256;
	}
	return 0;
}

static inline void pl_keys_init(struct pl_keys *k, uint16_t cipher,
				uint8_t framing, uint8_t eem_len, uint64_t seed)
{
	memset(k, 0, sizeof(*k));
	k->cipher = cipher;
	k->key_len = cipher == TLS_CIPHER_AES_GCM_128 ? 16 : 32;
	k->framing = framing;
	k->eem_len = eem_len;
	pl_fill(k->key, sizeof(k->key), seed + 1);
	pl_fill(k->iv, sizeof(k->iv), seed + 2);
	pl_fill(k->eem_key, sizeof(k->eem_key), seed + 3);
	pl_fill(k->eem_nonce, sizeof(k->eem_nonce), seed + 4);
	k->eem_nonce[4] &= 0x7f;	/* as derived (SPEC 4) */
	/* A non-zero first sequence number: rec_seq must be honoured. */
	k->seq = seed & 0xff;
}

/* kTLS crypto_info for PLASMATIC_TX / PLASMATIC_RX. */
struct pl_crypto {
	union {
		struct tls_crypto_info info;
		struct tls12_crypto_info_aes_gcm_128 aes128;
		struct tls12_crypto_info_aes_gcm_256 aes256;
		struct tls12_crypto_info_chacha20_poly1305 chacha;
	};
	socklen_t len;
};

static inline void pl_be64(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = v;
}

static inline void pl_crypto_init(struct pl_crypto *c, const struct pl_keys *k)
{
	memset(c, 0, sizeof(*c));
	switch (k->cipher) {
	case TLS_CIPHER_AES_GCM_128:
		c->len = sizeof(c->aes128);
		memcpy(c->aes128.salt, k->iv, 4);
		memcpy(c->aes128.iv, k->iv + 4, 8);
		memcpy(c->aes128.key, k->key, 16);
		pl_be64(c->aes128.rec_seq, k->seq);
		break;
	case TLS_CIPHER_AES_GCM_256:
		c->len = sizeof(c->aes256);
		memcpy(c->aes256.salt, k->iv, 4);
		memcpy(c->aes256.iv, k->iv + 4, 8);
		memcpy(c->aes256.key, k->key, 32);
		pl_be64(c->aes256.rec_seq, k->seq);
		break;
	case TLS_CIPHER_CHACHA20_POLY1305:
		c->len = sizeof(c->chacha);
		memcpy(c->chacha.iv, k->iv, 12);
		memcpy(c->chacha.key, k->key, 32);
		pl_be64(c->chacha.rec_seq, k->seq);
		break;
	}
	c->info.version = TLS_1_3_VERSION;
	c->info.cipher_type = k->cipher;
}

static inline void pl_eem_init(struct plasmatic_eem_info *e,
			       const struct pl_keys *k)
{
	memset(e, 0, sizeof(*e));
	e->version = PLASMATIC_EEM_VERSION_1;
	e->framing = k->framing;
	e->eem_len = k->eem_len;
	memcpy(e->key, k->eem_key, sizeof(e->key));
	memcpy(e->nonce, k->eem_nonce, sizeof(e->nonce));
}

static inline void pl_dir_init(struct pl_dir_config *d, const struct pl_keys *k)
{
	memset(d, 0, sizeof(*d));
	d->suite = pl_cipher_suite(k->cipher);
	d->key = k->key;
	d->iv = k->iv;
	d->seq = k->seq;
	d->eem_key = k->eem_key;
	d->eem_nonce = k->eem_nonce;
	d->framing = k->framing;
	d->eem_len = k->eem_len;
}

/* ---- socket upgrade ---- */

static inline int pl_ulp(int fd)
{
	return setsockopt(fd, SOL_TCP, TCP_ULP, PLASMATIC_ULP_NAME,
			  sizeof(PLASMATIC_ULP_NAME)) ? -errno : 0;
}

/* EEM then keys of one direction (tx = 1: PLASMATIC_*TX). */
static inline int pl_set_dir(int fd, const struct pl_keys *k, int tx)
{
	struct plasmatic_eem_info e;
	struct pl_crypto c;

	pl_eem_init(&e, k);
	pl_crypto_init(&c, k);
	if (setsockopt(fd, SOL_PLASMATIC, tx ? PLASMATIC_EEM_TX : PLASMATIC_EEM_RX,
		       &e, sizeof(e)))
		return -errno;
	if (setsockopt(fd, SOL_PLASMATIC, tx ? PLASMATIC_TX : PLASMATIC_RX,
		       &c, c.len))
		return -errno;
	return 0;
}

/*
 * Calibration aid: with PLASMATIC_TEST_KTLS=1 in the environment,
 * pl_upgrade() installs the kernel's own kTLS (same keys, no EEM) instead,
 * so that the kernel-to-kernel tests' expectations can be checked against
 * net/tls.  Tests that look at the wire fail in that mode, as they should.
 */
static inline int pl_upgrade_ktls(int fd, const struct pl_keys *tx,
				  const struct pl_keys *rx)
{
	struct pl_crypto c;

	if (setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")))
		return -errno;
	if (tx) {
		pl_crypto_init(&c, tx);
		if (setsockopt(fd, 282 /* SOL_TLS */, TLS_TX, &c, c.len))
			return -errno;
	}
	if (rx) {
		pl_crypto_init(&c, rx);
		if (setsockopt(fd, 282 /* SOL_TLS */, TLS_RX, &c, c.len))
			return -errno;
	}
	return 0;
}

/* ULP, then TX with tx keys (may be NULL), then RX with rx keys (or NULL). */
static inline int pl_upgrade(int fd, const struct pl_keys *tx,
			     const struct pl_keys *rx)
{
	int err;

	if (getenv("PLASMATIC_TEST_KTLS"))
		return pl_upgrade_ktls(fd, tx, rx);
	err = pl_ulp(fd);

	if (!err && tx)
		err = pl_set_dir(fd, tx, 1);
	if (!err && rx)
		err = pl_set_dir(fd, rx, 0);
	/*
	 * PLASMATIC_NO_PAD=1 in the environment: every receiver also sets
	 * PLASMATIC_RX_EXPECT_NO_PAD, so that a whole test binary reads
	 * through the direct decryption (selftests/run_vm.sh).
	 */
	if (!err && rx && getenv("PLASMATIC_NO_PAD")) {
		int one = 1;

		if (setsockopt(fd, SOL_PLASMATIC, PLASMATIC_RX_EXPECT_NO_PAD,
			       &one, sizeof(one)))
			err = -errno;
	}
	return err;
}

/* ---- plain socket I/O ---- */

static inline ssize_t pl_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, p + done, len - done, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += n;
	}
	return done;
}

/* Read exactly len bytes from a socket or pipe (0 < return < len on EOF). */
static inline ssize_t pl_read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return done ? (ssize_t)done : -errno;
		}
		if (!n)
			break;
		done += n;
	}
	return done;
}

/* 1 if fd is readable within ms milliseconds, 0 if not, -errno. */
static inline int pl_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = poll(&p, 1, ms);

	return n < 0 ? -errno : n;
}

/* ---- EEM (SPEC 5) with OpenSSL ---- */

struct pl_eem_fields {
	uint8_t nonce[12];
	uint8_t fragment[2];
	uint8_t su[PL_SU_LEN];
	uint8_t padding[PLASMATIC_EEM_LEN_MAX];
	size_t padding_len;
};

/* Offsets of a record of wire length len: header, ciphertext, EEM. */
static inline size_t pl_wire_len(const uint8_t *w, uint8_t framing,
				 uint8_t eem_len)
{
	size_t l = (size_t)w[3] << 8 | w[4];

	return PL_HEADER_LEN + l + (framing == PLASMATIC_FRAMING_DETACHED ? eem_len : 0);
}

static inline int pl_chacha_aead(int enc, const uint8_t key[32],
				 const uint8_t nonce[12], const uint8_t *aad,
				 size_t aad_len, const uint8_t *in, size_t len,
				 uint8_t *out, uint8_t tag[16])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int ok, n = 0, m = 0;

	if (!ctx)
		return -1;
	ok = EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL, enc) &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) &&
	     EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) &&
	     (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag)) &&
	     EVP_CipherUpdate(ctx, NULL, &n, aad, aad_len) &&
	     EVP_CipherUpdate(ctx, out, &n, in, len) &&
	     EVP_CipherFinal_ex(ctx, out + n, &m) &&
	     (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag));
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

/*
 * Open the EEM of the record w[0..wlen) (a whole record of this framing)
 * with EEM nonce `nonce`.  Returns 0 and fills f, or -1 if the tag fails.
 */
static inline int pl_eem_open(const uint8_t *w, size_t wlen, uint8_t framing,
			      uint8_t eem_len, const uint8_t key[32],
			      const uint8_t nonce[12], struct pl_eem_fields *f)
{
	uint8_t aad[PL_HEADER_LEN + PL_TLS_TAG_LEN], pt[PLASMATIC_EEM_LEN_MAX];
	uint8_t tag[16];
	size_t pt_len = eem_len - 16, eem_off = wlen - eem_len;

	(void)framing;
	if (wlen < PL_HEADER_LEN + 17 + (size_t)eem_len)
		return -1;
	memcpy(aad, w, PL_HEADER_LEN);
	memcpy(aad + PL_HEADER_LEN, w + eem_off - PL_TLS_TAG_LEN, PL_TLS_TAG_LEN);
	memcpy(tag, w + wlen - 16, 16);
	if (pl_chacha_aead(0, key, nonce, aad, sizeof(aad), w + eem_off, pt_len,
			   pt, tag))
		return -1;
	memcpy(f->nonce, pt, 12);
	memcpy(f->fragment, pt + 12, 2);
	memcpy(f->su, pt + 14, PL_SU_LEN);
	f->padding_len = pt_len - PL_EEM_FIXED_LEN;
	memcpy(f->padding, pt + PL_EEM_FIXED_LEN, f->padding_len);
	return 0;
}

/* Re-seal the EEM of record w with the fields f (tag valid, fields as given). */
static inline int pl_eem_reseal(uint8_t *w, size_t wlen, uint8_t eem_len,
				const uint8_t key[32], const uint8_t nonce[12],
				const struct pl_eem_fields *f)
{
	uint8_t aad[PL_HEADER_LEN + PL_TLS_TAG_LEN], pt[PLASMATIC_EEM_LEN_MAX];
	size_t pt_len = eem_len - 16, eem_off = wlen - eem_len;

	memcpy(aad, w, PL_HEADER_LEN);
	memcpy(aad + PL_HEADER_LEN, w + eem_off - PL_TLS_TAG_LEN, PL_TLS_TAG_LEN);
	memcpy(pt, f->nonce, 12);
	memcpy(pt + 12, f->fragment, 2);
	memcpy(pt + 14, f->su, PL_SU_LEN);
	memcpy(pt + PL_EEM_FIXED_LEN, f->padding, pt_len - PL_EEM_FIXED_LEN);
	return pl_chacha_aead(1, key, nonce, aad, sizeof(aad), pt, pt_len,
			      w + eem_off, w + wlen - 16);
}

/* nonce + n (carried into the 8-byte counter only, SPEC 5.2). */
static inline void pl_nonce_add(uint8_t out[12], const uint8_t in[12], uint64_t n)
{
	uint64_t c = 0;

	memcpy(out, in, 4);
	for (int i = 4; i < 12; i++)
		c = c << 8 | in[i];
	pl_be64(out + 4, c + n);
}

/*
 * Seal a record from a raw TLSInnerPlaintext (content || type || zeros, as
 * given, unchecked) with TLS sequence number `seq` and EEM nonce `nonce`,
 * so that the tests can build records the engine refuses to make (bad or
 * missing content type, empty alert, oversized plaintext).  The EEM carries
 * an empty Seed Update and zero padding.  Returns the wire length or -1.
 */
static inline long pl_raw_seal(const struct pl_keys *k, uint64_t seq,
			       const uint8_t nonce[12], const uint8_t *inner,
			       size_t inner_len, uint8_t *out)
{
	const EVP_CIPHER *cipher = k->cipher == TLS_CIPHER_AES_GCM_128 ? EVP_aes_128_gcm() :
				   k->cipher == TLS_CIPHER_AES_GCM_256 ? EVP_aes_256_gcm() :
				   EVP_chacha20_poly1305();
	size_t lc = inner_len + 16, wl = PL_HEADER_LEN + lc + k->eem_len;
	size_t hl = lc + (k->framing == PLASMATIC_FRAMING_COVERED ? k->eem_len : 0);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	struct pl_eem_fields f;
	uint8_t iv[12];
	int n = 0, m = 0, ok;

	if (!ctx || hl > 0xffff)
		return -1;
	memcpy(iv, k->iv, 12);
	for (int i = 0; i < 8; i++)
		iv[4 + i] ^= seq >> (56 - 8 * i);
	out[0] = 0x17;
	out[1] = out[2] = 0x03;
	out[3] = hl >> 8;
	out[4] = hl & 0xff;
	ok = EVP_EncryptInit_ex(ctx, cipher, NULL, NULL, NULL) &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) &&
	     EVP_EncryptInit_ex(ctx, NULL, NULL, k->key, iv) &&
	     EVP_EncryptUpdate(ctx, NULL, &n, out, PL_HEADER_LEN) &&
	     EVP_EncryptUpdate(ctx, out + PL_HEADER_LEN, &n, inner, inner_len) &&
	     EVP_EncryptFinal_ex(ctx, out + PL_HEADER_LEN + n, &m) &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16,
				 out + PL_HEADER_LEN + inner_len);
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		return -1;
	memset(&f, 0, sizeof(f));
	memcpy(f.nonce, nonce, 12);
	memcpy(f.fragment, out + PL_HEADER_LEN, 2);
	if (pl_eem_reseal(out, wl, k->eem_len, k->eem_key, nonce, &f))
		return -1;
	return wl;
}

/* ---- raw peer ---- */

#define PL_PEER_BUF	(4 * PL_MAX_WIRE_LEN)

struct pl_peer {
	int fd;
	struct pl_rx *rx;	/* decodes the kernel's TX */
	struct pl_tx *tx;	/* seals records for the kernel's RX */
	int eof;
	size_t off, len;
	uint8_t in[PL_PEER_BUF];
	uint8_t wire[PL_MAX_WIRE_LEN];	/* scratch for sealing */
	uint8_t rec[PL_MAX_WIRE_LEN];	/* scratch for receiving */
};

/* rx_keys: the kernel's TX keys; tx_keys: the kernel's RX keys (or NULL). */
static inline int pl_peer_init(struct pl_peer *p, int fd,
			       const struct pl_keys *rx_keys,
			       const struct pl_keys *tx_keys)
{
	struct pl_dir_config d;
	int err = 0;

	memset(p, 0, sizeof(*p));
	p->fd = fd;
	if (rx_keys) {
		pl_dir_init(&d, rx_keys);
		p->rx = pl_rx_new(&d, &err);
		if (!p->rx)
			return err ? err : -1;
	}
	if (tx_keys) {
		pl_dir_init(&d, tx_keys);
		p->tx = pl_tx_new(&d, &err);
		if (!p->tx)
			return err ? err : -1;
	}
	return 0;
}

static inline void pl_peer_free(struct pl_peer *p)
{
	if (p->rx)
		pl_rx_free(p->rx);
	if (p->tx)
		pl_tx_free(p->tx);
	p->rx = NULL;
	p->tx = NULL;
}

#define PL_PEER_TIMEOUT	(-1000)		/* nothing came within the time limit */
#define PL_PEER_EOF_ERR	(-1001)		/* read() failed */

/*
 * Next record the kernel sent: returns 1 and fills type/content/len,
 * 0 on EOF at a record boundary, a negative pl_err on a failed record or
 * cut stream, PL_PEER_TIMEOUT if nothing arrives within ms milliseconds.
 */
static inline int pl_peer_recv(struct pl_peer *p, uint8_t *type, void *content,
			       size_t cap, size_t *len, int ms)
{
	struct pl_record rec;

	for (;;) {
		if (p->off < p->len) {
			size_t used = 0;
			int r = pl_rx_feed(p->rx, p->in + p->off, p->len - p->off,
					   &used, &rec);

			p->off += used;
			if (r < 0)
				return r;
			if (r == 1) {
				*type = rec.content_type;
				*len = rec.len;
				if (rec.len > cap)
					return PL_ERR_SPACE;
				memcpy(content, rec.content, rec.len);
				return 1;
			}
		}
		if (p->eof)
			return pl_rx_end(p->rx) ? PL_ERR_TRUNCATED : 0;
		p->off = p->len = 0;
		if (pl_readable(p->fd, ms) <= 0)
			return PL_PEER_TIMEOUT;
		ssize_t n = recv(p->fd, p->in, sizeof(p->in), 0);

		if (n < 0)
			return PL_PEER_EOF_ERR;
		if (!n)
			p->eof = 1;
		p->len = n;
	}
}

/*
 * Read application data until `want` content bytes have come; other
 * record types fail (-2).  Returns the number of records, or < 0.
 */
static inline long pl_peer_recv_data(struct pl_peer *p, uint8_t *buf,
				     size_t want, int ms)
{
	uint8_t *rec = p->rec;
	size_t got = 0, len;
	long records = 0;
	uint8_t type;

	while (got < want) {
		int r = pl_peer_recv(p, &type, rec, sizeof(p->rec), &len, ms);

		if (r <= 0)
			return r ? r : -3;
		if (type != PLASMATIC_CT_APPLICATION_DATA)
			return -2;
		if (len > want - got)
			return -4;
		memcpy(buf + got, rec, len);
		got += len;
		records++;
	}
	return records;
}

/* Read exactly n raw bytes from the wire (no decoding). */
static inline int pl_peer_read_raw(struct pl_peer *p, uint8_t *buf, size_t n, int ms)
{
	size_t got = 0;

	while (got < n) {
		if (pl_readable(p->fd, ms) <= 0)
			return PL_PEER_TIMEOUT;
		ssize_t r = recv(p->fd, buf + got, n - got, 0);

		if (r <= 0)
			return PL_PEER_EOF_ERR;
		got += r;
	}
	return 0;
}

/* Seal one record into out (PL_MAX_WIRE_LEN); returns its length or < 0. */
static inline long pl_peer_seal(struct pl_peer *p, uint8_t type, const void *data,
				size_t len, const struct pl_seal_opts *opts,
				uint8_t *out)
{
	size_t out_len = 0;
	int r = pl_tx_seal(p->tx, type, data, len, opts, out, PL_MAX_WIRE_LEN,
			   &out_len);

	return r ? r : (long)out_len;
}

/*
 * Seal and write application data as records of at most `chunk` bytes,
 * and at most the sender's cap (pl_tx_max_content(), SPEC 8.1).
 */
static inline long pl_peer_send_data(struct pl_peer *p, const void *data,
				     size_t len, size_t chunk)
{
	const uint8_t *d = data;
	long records = 0;

	if (chunk > pl_tx_max_content(p->tx))
		chunk = pl_tx_max_content(p->tx);

	do {
		size_t n = len < chunk ? len : chunk;
		long w = pl_peer_seal(p, PLASMATIC_CT_APPLICATION_DATA, d, n, NULL,
				      p->wire);

		if (w < 0)
			return w;
		ssize_t wr = pl_write_all(p->fd, p->wire, w);

		if (wr != w)
			return wr < 0 ? wr : -1;
		d += n;
		len -= n;
		records++;
	} while (len);
	return records;
}

#endif
