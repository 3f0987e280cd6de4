// SPDX-License-Identifier: GPL-2.0
/* Traffic Pattern Library (SPEC 9): SipHash-2-4 draws, modes, rotation. */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>

#include "internal.h"

#define RECORDS_PER_MODE	1024
#define DRAWS_PER_RECORD	2

struct pl_tpl {
	uint64_t seed;
	uint64_t counter;	/* next draw index */
	uint8_t mode;
	bool lock;
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

struct range {
	uint32_t lo, hi;
};

/* SPEC 9.2; mode 4's sizes are special-cased, mode 0 has no delay. */
static const struct range sizes[PL_TPL_MODES] = {
	{ 16384, 16384 }, { 100, 1500 }, { 1000, 16000 }, { 10, 60 },
	{ 50, 250 }, { 100, 500 }, { 16384, 16384 }, { 200, 2000 }, { 50, 150 },
};
static const struct range delays_ms[PL_TPL_MODES] = {
	{ 0, 0 }, { 10, 110 }, { 1, 5 }, { 500, 1000 }, { 5, 25 }, { 10, 20 },
	{ 1, 5 }, { 1000, 5000 }, { 50, 550 },
};
static const struct range gaming_big = { 500, 2000 };

/* Rotation order 1, 2, 4, 5, 6, 7, 8, 3; 0 does not rotate. */
static const uint8_t rotation_next[PL_TPL_MODES] = {
	0, 2, 4, 1, 5, 6, 7, 8, 3,
};

static uint32_t pick(uint64_t r, struct range rg)
{
	return rg.lo + (uint32_t)(r & 0xffffffffu) % (rg.hi - rg.lo + 1);
}

uint32_t pl_tpl_size(uint8_t mode, uint64_t r)
{
	if (mode >= PL_TPL_MODES)
		return 0;
	if (mode == 4 && (r >> 32) % 100 >= 70)
		return pick(r, gaming_big);
	return pick(r, sizes[mode]);
}

uint32_t pl_tpl_delay_us(uint8_t mode, uint64_t r)
{
	struct range us;

	if (mode >= PL_TPL_MODES)
		return 0;
	us.lo = delays_ms[mode].lo * 1000;
	us.hi = delays_ms[mode].hi * 1000;
	return pick(r, us);
}

struct pl_tpl *pl_tpl_new(uint8_t mode, uint64_t seed, bool lock, int *err)
{
	struct pl_tpl *tpl = NULL;
	int ret = PL_ERR_INVAL;

	if (mode >= PL_TPL_MODES)
		goto out;
	ret = PL_ERR_NOMEM;
	tpl = calloc(1, sizeof(*tpl));
	if (!tpl)
		goto out;
	ret = PL_ERR_CRYPTO;
	tpl->mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_SIPHASH, NULL);
	if (tpl->mac)
		tpl->ctx = EVP_MAC_CTX_new(tpl->mac);
	if (!tpl->ctx) {
		pl_tpl_free(tpl);
		tpl = NULL;
		goto out;
	}
	ret = pl_tpl_set(tpl, mode, seed, lock);
out:
	if (err)
		*err = ret;
	return tpl;
}

void pl_tpl_free(struct pl_tpl *tpl)
{
	if (!tpl)
		return;
	EVP_MAC_CTX_free(tpl->ctx);
	EVP_MAC_free(tpl->mac);
	OPENSSL_cleanse(tpl, sizeof(*tpl));
	free(tpl);
}

int pl_tpl_set(struct pl_tpl *tpl, uint8_t mode, uint64_t seed, bool lock)
{
	if (mode >= PL_TPL_MODES)
		return PL_ERR_INVAL;
	tpl->mode = mode;
	tpl->seed = seed;
	tpl->lock = lock;
	tpl->counter = 0;
	return PL_OK;
}

int pl_tpl_apply(struct pl_tpl *tpl, const struct pl_seed_update *su)
{
	if (!pl_su_valid(su))
		return PL_ERR_INVAL;
	if (su->kind == PL_SU_NONE)
		return PL_OK;
	return pl_tpl_set(tpl, su->mode, su->seed, su->flags & PL_SU_FLAG_LOCK);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

int pl_tpl_prf(struct pl_tpl *tpl, uint64_t seed, uint8_t mode, uint64_t i,
	       uint64_t *r)
{
	uint8_t key[16], msg[8], out[8];
	size_t size = sizeof(out), outl = 0;
	OSSL_PARAM params[2];
	int ok;

	put_le64(key, seed);
	put_le64(key + 8, mode);
	put_le64(msg, i);
	params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size);
	params[1] = OSSL_PARAM_construct_end();
	ok = EVP_MAC_init(tpl->ctx, key, sizeof(key), params) == 1 &&
	     EVP_MAC_update(tpl->ctx, msg, sizeof(msg)) == 1 &&
	     EVP_MAC_final(tpl->ctx, out, &outl, sizeof(out)) == 1 &&
	     outl == sizeof(out);
	OPENSSL_cleanse(key, sizeof(key));
	if (!ok)
		return PL_ERR_CRYPTO;
	/* SipHash's 64-bit result is output little-endian. */
	*r = 0;
	for (int b = 7; b >= 0; b--)
		*r = *r << 8 | out[b];
	return PL_OK;
}

int pl_tpl_next(struct pl_tpl *tpl, struct pl_tpl_draw *out)
{
	uint64_t rs, rd;
	int ret;

	if (!tpl->lock && rotation_next[tpl->mode] &&
	    tpl->counter >= RECORDS_PER_MODE * DRAWS_PER_RECORD) {
		tpl->mode = rotation_next[tpl->mode];
		tpl->counter = 0;
	}
	if (tpl->mode == 0) {
		/* Constant size and delay (SPEC 9.2): the draws only count. */
		rs = rd = 0;
	} else {
		ret = pl_tpl_prf(tpl, tpl->seed, tpl->mode, tpl->counter, &rs);
		if (!ret)
			ret = pl_tpl_prf(tpl, tpl->seed, tpl->mode,
					 tpl->counter + 1, &rd);
		if (ret)
			return ret;
	}
	tpl->counter += DRAWS_PER_RECORD;
	out->mode = tpl->mode;
	out->size = pl_tpl_size(tpl->mode, rs);
	out->delay_us = pl_tpl_delay_us(tpl->mode, rd);
	return PL_OK;
}

uint8_t pl_tpl_mode(const struct pl_tpl *tpl)
{
	return tpl->mode;
}

uint64_t pl_tpl_counter(const struct pl_tpl *tpl)
{
	return tpl->counter;
}

bool pl_tpl_locked(const struct pl_tpl *tpl)
{
	return tpl->lock;
}
