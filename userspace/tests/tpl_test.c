// SPDX-License-Identifier: GPL-2.0
/* TPL (SPEC 9): ranges of every mode, rotation, Seed Updates. */
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

#include "testutil.h"

#define DRAWS	20000

/* SPEC 9.2, written out again here on purpose. */
static const struct {
	uint32_t size_lo, size_hi, delay_lo_ms, delay_hi_ms;
} modes[PL_TPL_MODES] = {
	{ 16384, 16384, 0, 0 },
	{ 100, 1500, 10, 110 },
	{ 1000, 16000, 1, 5 },
	{ 10, 60, 500, 1000 },
	{ 50, 2000, 5, 25 },		/* two ranges, checked below */
	{ 100, 500, 10, 20 },
	{ 16384, 16384, 1, 5 },
	{ 200, 2000, 1000, 5000 },
	{ 50, 150, 50, 550 },
};

FIXTURE(tpl) {
	struct pl_tpl *t;
};

FIXTURE_SETUP(tpl)
{
	self->t = pl_tpl_new(0, tu_rand(), false, NULL);
	ASSERT_NE(NULL, self->t);
}

FIXTURE_TEARDOWN(tpl)
{
	pl_tpl_free(self->t);
	EXPECT_EQ(0, tu_leaks());
}

TEST_F(tpl, ranges_of_every_mode)
{
	for (uint8_t m = 0; m < PL_TPL_MODES; m++) {
		uint32_t smin = UINT32_MAX, smax = 0, dmin = UINT32_MAX, dmax = 0;
		uint32_t dlo = modes[m].delay_lo_ms * 1000;
		uint32_t dhi = modes[m].delay_hi_ms * 1000;
		unsigned int big = 0;
		struct pl_tpl_draw d;

		ASSERT_EQ(PL_OK, pl_tpl_set(self->t, m, tu_rand(), true));
		for (int i = 0; i < DRAWS; i++) {
			ASSERT_EQ(PL_OK, pl_tpl_next(self->t, &d));
			ASSERT_EQ(m, d.mode);
			ASSERT_GE(d.size, modes[m].size_lo);
			ASSERT_LE(d.size, modes[m].size_hi);
			ASSERT_GE(d.delay_us, dlo);
			ASSERT_LE(d.delay_us, dhi);
			if (m == 4) {
				/* 50 .. 250 or 500 .. 2000, nothing between */
				ASSERT_TRUE(d.size <= 250 || d.size >= 500);
				big += d.size >= 500;
			}
			smin = d.size < smin ? d.size : smin;
			smax = d.size > smax ? d.size : smax;
			dmin = d.delay_us < dmin ? d.delay_us : dmin;
			dmax = d.delay_us > dmax ? d.delay_us : dmax;
		}
		ASSERT_EQ(2ull * DRAWS, pl_tpl_counter(self->t));
		/* The ranges are covered, not just respected. */
		ASSERT_LE(smin, modes[m].size_lo + (modes[m].size_hi -
						    modes[m].size_lo) / 100);
		ASSERT_GE(smax, modes[m].size_hi - (modes[m].size_hi -
						    modes[m].size_lo) / 100);
		ASSERT_LE(dmin, dlo + (dhi - dlo) / 100);
		ASSERT_GE(dmax, dhi - (dhi - dlo) / 100);
		if (m == 3) {	/* small range: both ends are drawn */
			ASSERT_EQ(10, smin);
			ASSERT_EQ(60, smax);
		}
		if (m == 4) {	/* p < 70: small */
			ASSERT_GT(big, DRAWS * 27 / 100);
			ASSERT_LT(big, DRAWS * 33 / 100);
		}
	}
}

TEST_F(tpl, size_and_delay_functions)
{
	/* u = low 32 bits, p = (r >> 32) % 100 */
	ASSERT_EQ(100, pl_tpl_size(1, 0));
	ASSERT_EQ(1500, pl_tpl_size(1, 1400));
	ASSERT_EQ(100, pl_tpl_size(1, 1401));
	ASSERT_EQ(50, pl_tpl_size(4, 69ull << 32));
	ASSERT_EQ(500, pl_tpl_size(4, 70ull << 32));
	ASSERT_EQ(50, pl_tpl_size(4, 100ull << 32));
	ASSERT_EQ(501, pl_tpl_size(4, 99ull << 32 | 1));
	ASSERT_EQ(16384, pl_tpl_size(0, tu_rand()));
	ASSERT_EQ(16384, pl_tpl_size(6, tu_rand()));
	ASSERT_EQ(0, pl_tpl_delay_us(0, tu_rand()));
	ASSERT_EQ(1000000 + 4000000, pl_tpl_delay_us(7, 4000000));
	ASSERT_EQ(0, pl_tpl_size(9, 0));
}

TEST_F(tpl, draws_are_the_prf)
{
	uint64_t seed = tu_rand(), rs, rd;
	struct pl_tpl_draw d;

	ASSERT_EQ(PL_OK, pl_tpl_set(self->t, 7, seed, true));
	for (uint64_t j = 0; j < 50; j++) {
		ASSERT_EQ(PL_OK, pl_tpl_prf(self->t, seed, 7, 2 * j, &rs));
		ASSERT_EQ(PL_OK, pl_tpl_prf(self->t, seed, 7, 2 * j + 1, &rd));
		ASSERT_EQ(PL_OK, pl_tpl_next(self->t, &d));
		ASSERT_EQ(pl_tpl_size(7, rs), d.size);
		ASSERT_EQ(pl_tpl_delay_us(7, rd), d.delay_us);
	}
	/* The mode is part of the key. */
	ASSERT_EQ(PL_OK, pl_tpl_prf(self->t, seed, 1, 0, &rs));
	ASSERT_EQ(PL_OK, pl_tpl_prf(self->t, seed, 2, 0, &rd));
	ASSERT_NE(rs, rd);
}

TEST_F(tpl, rotation_order)
{
	static const uint8_t order[] = { 1, 2, 4, 5, 6, 7, 8, 3, 1 };
	uint64_t seed = tu_rand();
	struct pl_tpl_draw d;

	ASSERT_EQ(PL_OK, pl_tpl_set(self->t, 1, seed, false));
	for (size_t k = 0; k < sizeof(order); k++) {
		for (int j = 0; j < 1024; j++) {
			ASSERT_EQ(PL_OK, pl_tpl_next(self->t, &d));
			ASSERT_EQ(order[k], d.mode) TH_LOG("step %zu record %d",
							   k, j);
		}
		ASSERT_EQ(2048, pl_tpl_counter(self->t));
	}
	/* Rotation keeps the seed and restarts the counter. */
	{
		struct pl_tpl *fresh = pl_tpl_new(2, seed, true, NULL);
		struct pl_tpl_draw a, b;

		ASSERT_NE(NULL, fresh);
		ASSERT_EQ(PL_OK, pl_tpl_next(self->t, &a));	/* mode 2 */
		ASSERT_EQ(PL_OK, pl_tpl_next(fresh, &b));
		ASSERT_EQ(2, a.mode);
		ASSERT_EQ(b.size, a.size);
		ASSERT_EQ(b.delay_us, a.delay_us);
		pl_tpl_free(fresh);
	}
}

TEST_F(tpl, lock_and_mode0_do_not_rotate)
{
	struct pl_tpl_draw d;

	ASSERT_EQ(PL_OK, pl_tpl_set(self->t, 5, 1, true));
	for (int j = 0; j < 3000; j++) {
		ASSERT_EQ(PL_OK, pl_tpl_next(self->t, &d));
		ASSERT_EQ(5, d.mode);
	}
	ASSERT_EQ(PL_OK, pl_tpl_set(self->t, 0, 1, false));
	for (int j = 0; j < 3000; j++) {
		ASSERT_EQ(PL_OK, pl_tpl_next(self->t, &d));
		ASSERT_EQ(0, d.mode);
		ASSERT_EQ(16384, d.size);
		ASSERT_EQ(0, d.delay_us);
	}
	ASSERT_EQ(6000, pl_tpl_counter(self->t));
}

TEST_F(tpl, seed_updates)
{
	struct pl_seed_update none = { 0 };
	struct pl_seed_update su = { .kind = PL_SU_SEED, .mode = 8,
				     .flags = PL_SU_FLAG_LOCK, .seed = 42 };
	struct pl_seed_update bad = { .kind = PL_SU_SEED, .mode = 9 };
	struct pl_tpl *ref = pl_tpl_new(8, 42, true, NULL);
	struct pl_tpl_draw d, e;

	ASSERT_NE(NULL, ref);
	ASSERT_EQ(PL_OK, pl_tpl_set(self->t, 3, 7, false));
	ASSERT_EQ(PL_OK, pl_tpl_next(self->t, &d));
	ASSERT_EQ(PL_OK, pl_tpl_apply(self->t, &none));
	ASSERT_EQ(3, pl_tpl_mode(self->t));
	ASSERT_EQ(2, pl_tpl_counter(self->t));
	ASSERT_EQ(PL_ERR_INVAL, pl_tpl_apply(self->t, &bad));
	bad.mode = 1;
	bad.flags = 4;
	ASSERT_EQ(PL_ERR_INVAL, pl_tpl_apply(self->t, &bad));
	ASSERT_EQ(3, pl_tpl_mode(self->t));
	ASSERT_EQ(PL_OK, pl_tpl_apply(self->t, &su));
	ASSERT_EQ(8, pl_tpl_mode(self->t));
	ASSERT_EQ(0, pl_tpl_counter(self->t));
	for (int j = 0; j < 2000; j++) {	/* LOCK: no rotation */
		ASSERT_EQ(PL_OK, pl_tpl_next(self->t, &d));
		ASSERT_EQ(PL_OK, pl_tpl_next(ref, &e));
		ASSERT_EQ(8, d.mode);
		ASSERT_EQ(e.size, d.size);
		ASSERT_EQ(e.delay_us, d.delay_us);
	}
	su.flags = 0;
	ASSERT_EQ(PL_OK, pl_tpl_apply(self->t, &su));
	for (int j = 0; j <= 1024; j++)
		ASSERT_EQ(PL_OK, pl_tpl_next(self->t, &d));
	ASSERT_EQ(3, d.mode);	/* 8 rotates to 3 */
	ASSERT_EQ(NULL, pl_tpl_new(9, 0, false, NULL));
	ASSERT_EQ(PL_ERR_INVAL, pl_tpl_set(self->t, 9, 0, false));
	pl_tpl_free(ref);
}

TEST_HARNESS_MAIN
