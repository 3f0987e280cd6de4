/* SPDX-License-Identifier: GPL-2.0 */
/* Deterministic pseudo-random numbers and bytes for the selftests. */
#ifndef PLASMATIC_SELFTEST_PLRAND_H
#define PLASMATIC_SELFTEST_PLRAND_H

#include <stddef.h>
#include <stdint.h>

/* xorshift64* */

static inline uint64_t pl_rand64(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* @n pseudo-random bytes at @p from the state *@s. */
static inline void pl_rand_bytes(uint64_t *s, void *p, size_t n)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = pl_rand64(s);
}

static inline void pl_fill(void *p, size_t n, uint64_t seed)
{
	uint8_t *b = p;
	uint64_t s = seed * 0x100000001b3ULL + 1, r = 0;

	for (size_t i = 0; i < n; i++) {
		if (!(i & 7))
			r = pl_rand64(&s);
		b[i] = r >> ((i & 7) * 8);
	}
}

#endif
