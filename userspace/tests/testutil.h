/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the engine tests. */
#ifndef PL_TESTUTIL_H
#define PL_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pl_engine.h"

/* Deterministic PRNG; the seed ($PL_TEST_SEED or time) is printed once. */
uint64_t tu_rand(void);
uint64_t tu_rand_below(uint64_t n);
void tu_rand_bytes(uint8_t *p, size_t n);

/* A growable byte string. */
struct tu_buf {
	uint8_t *p;
	size_t len, cap;
};
uint8_t *tu_buf_grow(struct tu_buf *b, size_t n);	/* appends n bytes */
void tu_buf_append(struct tu_buf *b, const void *p, size_t n);
void tu_buf_free(struct tu_buf *b);

/* Records delivered by the decoder, copied out. */
struct tu_rec {
	uint8_t type;
	size_t len;
	uint8_t *data;
	struct pl_seed_update su;
};
struct tu_sink {
	size_t n, cap;
	struct tu_rec *r;
};
void tu_sink_add(struct tu_sink *s, const struct pl_record *rec);
void tu_sink_free(struct tu_sink *s);

enum tu_split {
	TU_WHOLE,	/* one feed */
	TU_BYTES,	/* 1-byte feeds */
	TU_RANDOM,	/* random sizes, with runs of 1-byte feeds */
};
#define TU_ERR_STALL	(-1000)	/* decoder returned 0 but left input */
/* Feed len bytes; 0 if all were consumed, else the decoder's error. */
int tu_feed(struct pl_rx *rx, const uint8_t *p, size_t len,
	    enum tu_split split, struct tu_sink *sink);

/* One direction of a connection with random keys, and its peers. */
struct tu_conn {
	uint16_t suite;
	uint8_t framing, eem_len;
	size_t secret_len, key_len;
	uint8_t secret[PL_MAX_SECRET_LEN];
	uint8_t key[PL_MAX_KEY_LEN], iv[PL_IV_LEN];
	struct pl_eem_secrets eem;
	struct pl_dir_config cfg;
};
int tu_conn_init(struct tu_conn *c, uint16_t suite, uint8_t framing,
		 uint8_t eem_len);
struct pl_tx *tu_conn_tx(const struct tu_conn *c);
struct pl_rx *tu_conn_rx(const struct tu_conn *c);

/*
 * An independent sealer (OpenSSL EVP only): a record of the connection
 * with any TLSInnerPlaintext and any raw Seed Update field, for records
 * the engine refuses to produce.  Returns the wire length.
 */
size_t tu_craft(const struct tu_conn *c, uint64_t seq,
		const uint8_t eem_nonce[12], const uint8_t *inner,
		size_t inner_len, const uint8_t su[PL_SU_LEN], uint8_t *out);
/* The EEM nonce of the n-th record of the connection. */
void tu_nonce_add(const uint8_t in[12], uint64_t n, uint8_t out[12]);

/* Seal content into b (appended); returns the pl_tx_seal() result. */
int tu_seal(struct pl_tx *tx, struct tu_buf *b, uint8_t type,
	    const uint8_t *content, size_t len,
	    const struct pl_seal_opts *opts);

/* Under ASan: leaks so far (0 if none); always 0 otherwise. */
int tu_leaks(void);

static inline bool tu_su_eq(const struct pl_seed_update *a,
			    const struct pl_seed_update *b)
{
	return a->kind == b->kind && a->mode == b->mode &&
	       a->flags == b->flags && a->seed == b->seed;
}

#endif
