// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define TU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TU_ASAN 1
#endif
#endif

#ifdef TU_ASAN
#include <sanitizer/lsan_interface.h>

/* The harness ends each test with _exit(): LeakSanitizer never runs. */
int tu_leaks(void)
{
	return __lsan_do_recoverable_leak_check();
}
#else
int tu_leaks(void)
{
	return 0;
}
#endif

static uint64_t rng_state;

__attribute__((constructor)) static void tu_rand_init(void)
{
	const char *s = getenv("PL_TEST_SEED");
	uint64_t seed = s && *s ? strtoull(s, NULL, 0)
				: (uint64_t)time(NULL) * 2654435761u;

	rng_state = seed ? seed : 1;
	/* Rerun a failure with PL_TEST_SEED set to this. */
	fprintf(stderr, "# PL_TEST_SEED=%llu\n", (unsigned long long)seed);
}

uint64_t tu_rand(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

uint64_t tu_rand_below(uint64_t n)
{
	return n ? tu_rand() % n : 0;
}

void tu_rand_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(tu_rand() >> 56);
}

uint8_t *tu_buf_grow(struct tu_buf *b, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			abort();
		b->cap = cap;
	}
	b->len += n;
	return b->p + b->len - n;
}

void tu_buf_append(struct tu_buf *b, const void *p, size_t n)
{
	uint8_t *dst = tu_buf_grow(b, n);

	if (n)
		memcpy(dst, p, n);
}

void tu_buf_free(struct tu_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void tu_sink_free(struct tu_sink *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->r[i].data);
	free(s->r);
	memset(s, 0, sizeof(*s));
}

void tu_sink_add(struct tu_sink *s, const struct pl_record *rec)
{
	struct tu_rec *r;

	if (!s)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->r = realloc(s->r, s->cap * sizeof(*s->r));
		if (!s->r)
			abort();
	}
	r = &s->r[s->n++];
	r->type = rec->content_type;
	r->len = rec->len;
	r->su = rec->su;
	r->data = malloc(rec->len + 1);
	if (!r->data)
		abort();
	if (rec->len)
		memcpy(r->data, rec->content, rec->len);
}

static size_t chunk_size(enum tu_split split, size_t left, int *ones)
{
	size_t n;

	switch (split) {
	case TU_WHOLE:
		return left;
	case TU_BYTES:
		return 1;
	case TU_RANDOM:
		break;
	}
	if (*ones > 0) {
		(*ones)--;
		return 1;
	}
	switch (tu_rand_below(4)) {
	case 0:
		*ones = (int)tu_rand_below(64);
		n = 1;
		break;
	case 1:
		n = 1 + tu_rand_below(8);
		break;
	case 2:
		n = 1 + tu_rand_below(600);
		break;
	default:
		n = 1 + tu_rand_below(40000);
		break;
	}
	return n < left ? n : left;
}

int tu_feed(struct pl_rx *rx, const uint8_t *p, size_t len,
	    enum tu_split split, struct tu_sink *sink)
{
	size_t off = 0;
	int ones = 0;

	while (off < len) {
		size_t chunk = chunk_size(split, len - off, &ones);
		const uint8_t *c = p + off;
		size_t left = chunk;

		while (left) {
			struct pl_record rec;
			size_t used = 0;
			int r = pl_rx_feed(rx, c, left, &used, &rec);

			if (r < 0)
				return r;
			if (used > left)
				return TU_ERR_STALL;
			c += used;
			left -= used;
			if (r == 1)
				tu_sink_add(sink, &rec);
			else if (left)
				return TU_ERR_STALL;
		}
		off += chunk;
	}
	return 0;
}

int tu_conn_init(struct tu_conn *c, uint16_t suite, uint8_t framing,
		 uint8_t eem_len)
{
	uint8_t exp[PL_EXPORTER_LEN], psk[PL_PSK_LEN];
	struct pl_eem_secrets s2c;
	int ret;

	memset(c, 0, sizeof(*c));
	c->suite = suite;
	c->framing = framing;
	c->eem_len = eem_len;
	c->secret_len = pl_suite_hash_len(suite);
	c->key_len = pl_suite_key_len(suite);
	tu_rand_bytes(exp, sizeof(exp));
	tu_rand_bytes(psk, sizeof(psk));
	tu_rand_bytes(c->secret, c->secret_len);
	ret = pl_eem_schedule(exp, tu_rand() & 1 ? psk : NULL, &c->eem, &s2c);
	if (!ret)
		ret = pl_traffic_keys(suite, c->secret, c->secret_len, c->key,
				      c->iv);
	c->cfg.suite = suite;
	c->cfg.secret = c->secret;
	c->cfg.secret_len = c->secret_len;
	c->cfg.eem_key = c->eem.key;
	c->cfg.eem_nonce = c->eem.nonce;
	c->cfg.framing = framing;
	c->cfg.eem_len = eem_len;
	return ret;
}

struct pl_tx *tu_conn_tx(const struct tu_conn *c)
{
	return pl_tx_new(&c->cfg, NULL);
}

struct pl_rx *tu_conn_rx(const struct tu_conn *c)
{
	return pl_rx_new(&c->cfg, NULL);
}

void tu_nonce_add(const uint8_t in[12], uint64_t n, uint8_t out[12])
{
	uint64_t ctr = 0;

	memcpy(out, in, 4);
	for (int i = 4; i < 12; i++)
		ctr = ctr << 8 | in[i];
	ctr += n;
	for (int i = 11; i >= 4; i--, ctr >>= 8)
		out[i] = (uint8_t)ctr;
}

static const char *cipher_of(uint16_t suite)
{
	return suite == PL_TLS_AES_128_GCM_SHA256 ? "AES-128-GCM" :
	       suite == PL_TLS_AES_256_GCM_SHA384 ? "AES-256-GCM" :
						    "ChaCha20-Poly1305";
}

/* out gets len ciphertext bytes then the 16-byte tag. */
static void aead_seal(const char *name, const uint8_t *key,
		      const uint8_t nonce[12], const uint8_t *aad,
		      size_t aad_len, const uint8_t *pt, size_t len,
		      uint8_t *out)
{
	EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, name, NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n;

	if (!cipher || !ctx ||
	    EVP_EncryptInit_ex2(ctx, cipher, key, nonce, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1 ||
	    (len && EVP_EncryptUpdate(ctx, out, &n, pt, (int)len) != 1) ||
	    EVP_EncryptFinal_ex(ctx, out + len, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + len) != 1)
		abort();
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(cipher);
}

size_t tu_craft(const struct tu_conn *c, uint64_t seq,
		const uint8_t eem_nonce[12], const uint8_t *inner,
		size_t inner_len, const uint8_t su[PL_SU_LEN], uint8_t *out)
{
	size_t lc = inner_len + 16, pt_len = c->eem_len - 16u;
	size_t length = lc + (c->framing ? c->eem_len : 0);
	uint8_t nonce[12], aad[21], pt[256];

	out[0] = 0x17;
	out[1] = 0x03;
	out[2] = 0x03;
	out[3] = (uint8_t)(length >> 8);
	out[4] = (uint8_t)length;
	memcpy(nonce, c->iv, 12);
	for (int i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(seq >> (8 * i));
	aead_seal(cipher_of(c->suite), c->key, nonce, out, 5, inner, inner_len,
		  out + 5);

	memcpy(pt, eem_nonce, 12);
	memcpy(pt + 12, out + 5, 2);
	memcpy(pt + 14, su, PL_SU_LEN);
	tu_rand_bytes(pt + 26, pt_len - 26);
	memcpy(aad, out, 5);
	memcpy(aad + 5, out + 5 + lc - 16, 16);
	aead_seal("ChaCha20-Poly1305", c->eem.key, eem_nonce, aad, sizeof(aad),
		  pt, pt_len, out + 5 + lc);
	return 5 + lc + c->eem_len;
}

int tu_seal(struct pl_tx *tx, struct tu_buf *b, uint8_t type,
	    const uint8_t *content, size_t len,
	    const struct pl_seal_opts *opts)
{
	size_t need = pl_tx_record_len(tx, len, opts ? opts->pad_len : 0);
	size_t start = b->len, out_len = 0;
	int ret;

	tu_buf_grow(b, need);
	ret = pl_tx_seal(tx, type, content, len, opts, b->p + start, need,
			 &out_len);
	b->len = start + (ret ? 0 : out_len);
	if (!ret && out_len != need)
		return TU_ERR_STALL;
	return ret;
}
