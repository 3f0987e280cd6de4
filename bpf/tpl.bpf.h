/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Traffic Pattern Library (SPEC section 9) for BPF programs.
 *
 *   r(i) = SipHash-2-4(k, LE64(i)),  k = LE64(seed) || LE64(mode)
 *
 * Everything here is straight-line code: SipHash's rounds are unrolled,
 * the message is one 8-byte word (plus SipHash's length block), and the
 * per-mode tables are switch statements, so the 6.1 verifier sees no loop
 * and no map or helper call.  All functions are __always_inline.
 *
 * Because the key and message are little-endian encodings of 64-bit
 * integers and SipHash reads its input as little-endian words, the SipHash
 * key words are just k0 = seed, k1 = mode and the message word is i: no
 * byte loads are needed and the code is the same on any host byte order.
 *
 * Only <linux/types.h> and libbpf's <bpf/bpf_helpers.h> are needed.
 */
#ifndef PLASMATIC_TPL_BPF_H
#define PLASMATIC_TPL_BPF_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#define TPL_MODE_MAX		8	/* modes are 0 .. TPL_MODE_MAX (9.2) */
#define TPL_ROTATE_RECORDS	1024	/* records per mode when unlocked (9.4) */
#define TPL_SIZE_BULK		16384	/* modes 0 and 6 */

static __always_inline __u64 tpl_rotl64(__u64 x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define TPL_SIPROUND(v0, v1, v2, v3)				\
	do {							\
		v0 += v1;					\
		v1 = tpl_rotl64(v1, 13);			\
		v1 ^= v0;					\
		v0 = tpl_rotl64(v0, 32);			\
		v2 += v3;					\
		v3 = tpl_rotl64(v3, 16);			\
		v3 ^= v2;					\
		v0 += v3;					\
		v3 = tpl_rotl64(v3, 21);			\
		v3 ^= v0;					\
		v2 += v1;					\
		v1 = tpl_rotl64(v1, 17);			\
		v1 ^= v2;					\
		v2 = tpl_rotl64(v2, 32);			\
	} while (0)

/*
 * SipHash-2-4 of the 8-byte message LE64(m) under the key LE64(k0)||LE64(k1).
 * An 8-byte message is one full block followed by the final block, which
 * holds only the length (8) in its top byte.
 */
static __always_inline __u64 tpl_siphash24_u64(__u64 k0, __u64 k1, __u64 m)
{
	const __u64 b = 8ULL << 56;
	__u64 v0 = k0 ^ 0x736f6d6570736575ULL;
	__u64 v1 = k1 ^ 0x646f72616e646f6dULL;
	__u64 v2 = k0 ^ 0x6c7967656e657261ULL;
	__u64 v3 = k1 ^ 0x7465646279746573ULL;

	/* The message block: 2 compression rounds. */
	v3 ^= m;
	TPL_SIPROUND(v0, v1, v2, v3);
	TPL_SIPROUND(v0, v1, v2, v3);
	v0 ^= m;
	/* The length block: 2 compression rounds. */
	v3 ^= b;
	TPL_SIPROUND(v0, v1, v2, v3);
	TPL_SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	/* Finalization: 4 rounds. */
	v2 ^= 0xff;
	TPL_SIPROUND(v0, v1, v2, v3);
	TPL_SIPROUND(v0, v1, v2, v3);
	TPL_SIPROUND(v0, v1, v2, v3);
	TPL_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* The draw r(counter) of the generator keyed by (seed, mode) (9.1). */
static __always_inline __u64 tpl_draw(__u64 seed, __u64 mode, __u64 counter)
{
	return tpl_siphash24_u64(seed, mode, counter);
}

static __always_inline int tpl_mode_valid(__u64 mode)
{
	return mode <= TPL_MODE_MAX;
}

/* A uniform pick in lo .. hi (inclusive): lo + u % (hi - lo + 1), u = r & 0xffffffff. */
static __always_inline __u32 tpl_pick(__u64 r, __u32 lo, __u32 hi)
{
	return lo + (__u32)((r & 0xffffffffULL) % ((__u64)hi - lo + 1));
}

/*
 * The record size (content bytes) a draw r gives in a mode (9.2), or 0 for
 * an unknown mode (every valid size is at least 10).
 */
static __always_inline __u32 tpl_size(__u64 mode, __u64 r)
{
	switch (mode) {
	case 0:
		return TPL_SIZE_BULK;
	case 1:
		return tpl_pick(r, 100, 1500);
	case 2:
		return tpl_pick(r, 1000, 16000);
	case 3:
		return tpl_pick(r, 10, 60);
	case 4:
		/* p = (r >> 32) % 100 */
		if ((r >> 32) % 100 < 70)
			return tpl_pick(r, 50, 250);
		return tpl_pick(r, 500, 2000);
	case 5:
		return tpl_pick(r, 100, 500);
	case 6:
		return TPL_SIZE_BULK;
	case 7:
		return tpl_pick(r, 200, 2000);
	case 8:
		return tpl_pick(r, 50, 150);
	default:
		return 0;
	}
}

/*
 * The delay in microseconds a draw r gives in a mode (9.2): the table's
 * milliseconds times 1000, picked uniformly.  0 for mode 0 and for an
 * unknown mode (check tpl_mode_valid()).
 */
static __always_inline __u32 tpl_delay_us(__u64 mode, __u64 r)
{
	switch (mode) {
	case 1:
		return tpl_pick(r, 10 * 1000, 110 * 1000);
	case 2:
		return tpl_pick(r, 1 * 1000, 5 * 1000);
	case 3:
		return tpl_pick(r, 500 * 1000, 1000 * 1000);
	case 4:
		return tpl_pick(r, 5 * 1000, 25 * 1000);
	case 5:
		return tpl_pick(r, 10 * 1000, 20 * 1000);
	case 6:
		return tpl_pick(r, 1 * 1000, 5 * 1000);
	case 7:
		return tpl_pick(r, 1000 * 1000, 5000 * 1000);
	case 8:
		return tpl_pick(r, 50 * 1000, 550 * 1000);
	default:
		return 0;
	}
}

/*
 * The mode after `mode` in the rotation order 1, 2, 4, 5, 6, 7, 8, 3, 1, ...
 * (9.4); a mode not in the order (0) stays.
 */
static __always_inline __u32 tpl_next_mode(__u32 mode)
{
	switch (mode) {
	case 1:
		return 2;
	case 2:
		return 4;
	case 4:
		return 5;
	case 5:
		return 6;
	case 6:
		return 7;
	case 7:
		return 8;
	case 8:
		return 3;
	case 3:
		return 1;
	default:
		return mode;
	}
}

/*
 * A sender's TX shaping state (9.4).  Set it with counter 0 at the start of
 * the connection and on every Seed Update applied.
 */
struct tpl_state {
	__u64 seed;
	__u64 counter;	/* draws taken since the state was set or rotated */
	__u32 mode;
	__u32 lock;	/* non-zero: no rotation */
};

/*
 * The next record's target size and delay (9.1, 9.3, 9.4): an unlocked
 * state in a rotating mode that has taken 1024 records' draws first moves to
 * the next mode with the counter reset; then the record takes the size draw
 * r(counter) and the delay draw r(counter + 1).  Mode 0 computes no SipHash
 * (its size and delay are constant) but still counts its two draws.
 *
 * Returns 0, or -1 for an unknown mode (the state is left unchanged).
 */
static __always_inline int tpl_next(struct tpl_state *st, __u32 *size, __u32 *delay_us)
{
	__u64 mode = st->mode;

	if (!tpl_mode_valid(mode))
		return -1;
	if (!st->lock && mode != 0 && st->counter >= 2 * TPL_ROTATE_RECORDS) {
		mode = tpl_next_mode(mode);
		st->mode = mode;
		st->counter = 0;
	}
	if (mode == 0) {
		*size = TPL_SIZE_BULK;
		*delay_us = 0;
	} else {
		*size = tpl_size(mode, tpl_draw(st->seed, mode, st->counter));
		*delay_us = tpl_delay_us(mode, tpl_draw(st->seed, mode, st->counter + 1));
	}
	st->counter += 2;
	return 0;
}

#endif /* PLASMATIC_TPL_BPF_H */
