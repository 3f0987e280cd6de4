// SPDX-License-Identifier: GPL-2.0
/*
 * Traffic Pattern Library (SPEC 9): draws, modes, rotation, Seed Updates
 * and the schedule ring.  Locking: see tpl.h.
 *
 * r(i) = SipHash-2-4(LE64(seed) || LE64(mode), LE64(i)) is the kernel's
 * siphash_1u64(i, {seed, mode}): lib/siphash.c takes the key as two u64
 * words k0, k1 (the little-endian reading of the 16-byte key) and the
 * message word as the little-endian reading of its 8 bytes.
 */
#include <linux/siphash.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "compat.h"
#include "pace.h"
#include "tpl.h"

#define PL_TPL_RECORDS_PER_MODE	1024
#define PL_SU_KIND_UPDATE	1

struct pl_tpl_range {
	u32 lo, hi;
};

/* SPEC 9.2: sizes in bytes, delays in milliseconds. */
static const struct pl_tpl_range pl_tpl_sizes[PLASMATIC_TPL_MODES] = {
	{ 16384, 16384 }, { 100, 1500 }, { 1000, 16000 }, { 10, 60 },
	{ 50, 250 }, { 100, 500 }, { 16384, 16384 }, { 200, 2000 },
	{ 50, 150 },
};

static const struct pl_tpl_range pl_tpl_delays_ms[PLASMATIC_TPL_MODES] = {
	{ 0, 0 }, { 10, 110 }, { 1, 5 }, { 500, 1000 }, { 5, 25 },
	{ 10, 20 }, { 1, 5 }, { 1000, 5000 }, { 50, 550 },
};

/* Mode 4 above p = 70: the large sizes. */
static const struct pl_tpl_range pl_tpl_gaming_big = { 500, 2000 };

/* Rotation order 1, 2, 4, 5, 6, 7, 8, 3, 1...; 0 does not rotate. */
static const u8 pl_tpl_rotation[PLASMATIC_TPL_MODES] = {
	0, 2, 4, 1, 5, 6, 7, 8, 3,
};

static u32 pl_tpl_pick(u64 r, u32 lo, u32 hi)
{
	return lo + (u32)r % (hi - lo + 1);
}

static u32 pl_tpl_size(u8 mode, u64 r)
{
	const struct pl_tpl_range *rg = &pl_tpl_sizes[mode];

	if (mode == 4 && (u32)(r >> 32) % 100 >= 70)
		rg = &pl_tpl_gaming_big;
	return pl_tpl_pick(r, rg->lo, rg->hi);
}

static u32 pl_tpl_delay_us(u8 mode, u64 r)
{
	const struct pl_tpl_range *rg = &pl_tpl_delays_ms[mode];

	return pl_tpl_pick(r, rg->lo * 1000, rg->hi * 1000);
}

/* A struct plasmatic_tpl from userspace: 0 or -EINVAL. */
int pl_tpl_check(const struct plasmatic_tpl *p)
{
	if (p->mode >= PLASMATIC_TPL_MODES ||
	    (p->flags & ~PLASMATIC_TPL_LOCK) ||
	    memchr_inv(p->reserved, 0, sizeof(p->reserved)))
		return -EINVAL;
	return 0;
}

/*
 * PLASMATIC_TPL_TX: our state, draw counter 0.  A Seed Update received
 * and not yet applied is dropped: the later setting wins.
 */
void pl_tpl_set(struct pl_tpl *t, const struct plasmatic_tpl *p)
{
	t->seed = p->seed;
	WRITE_ONCE(t->mode, p->mode);
	t->lock = p->flags & PLASMATIC_TPL_LOCK;
	t->draws = 0;
	t->su_pending = false;
}

/*
 * The draws of the next application_data record (SPEC 9.1, 9.4): a
 * pending Seed Update first, then rotation, then size and delay.  @cap is
 * pl_tx_max_content(), the clamp of SPEC 9.3.  Changes nothing:
 * pl_tpl_take() commits once the record is open.
 */
void pl_tpl_next(const struct pl_tpl *t, unsigned int cap,
		 struct pl_tpl_draw *d)
{
	siphash_key_t key;

	d->seed = t->seed;
	d->mode = t->mode;
	d->lock = t->lock;
	d->draws = t->draws;
	d->applied = t->su_pending;
	if (d->applied) {
		d->seed = t->su_in.seed;
		d->mode = t->su_in.mode;
		d->lock = t->su_in.flags & PLASMATIC_TPL_LOCK;
		d->draws = 0;
	}
	if (!d->lock && pl_tpl_rotation[d->mode] &&
	    d->draws >= PL_TPL_RECORDS_PER_MODE * PL_TPL_DRAWS_PER_RECORD) {
		d->mode = pl_tpl_rotation[d->mode];
		d->draws = 0;
	}

	if (!d->mode) {
		/* Constant size and no delay: no SipHash needed. */
		d->size = cap;
		d->delay_us = 0;
	} else {
		key.key[0] = d->seed;
		key.key[1] = d->mode;
		d->size = min_t(u32, cap,
				pl_tpl_size(d->mode,
					    siphash_1u64(d->draws, &key)));
		d->delay_us = pl_tpl_delay_us(d->mode,
					      siphash_1u64(d->draws + 1, &key));
		memzero_explicit(&key, sizeof(key));
	}
	d->draws += PL_TPL_DRAWS_PER_RECORD;
}

/*
 * What a shaped record drawn as @d needs before it is opened: the
 * schedule ring, allocated on the first one (mode 0 sockets never pay for
 * it).  Process context.
 */
int pl_tpl_prepare(struct pl_tpl *t, const struct pl_tpl_draw *d)
{
	struct pl_pace *pace;

	if (!d->mode || t->sched)
		return 0;
	pace = pl_pace_alloc(GFP_KERNEL);
	if (!pace)
		return -ENOMEM;
	t->sched = kcalloc(PLASMATIC_TPL_SCHED_LEN, sizeof(*t->sched),
			   GFP_KERNEL);
	if (!t->sched) {
		pl_pace_free(pace);
		return -ENOMEM;
	}
	rcu_assign_pointer(t->pace, pace);
	return 0;
}

/* The record drawn as @d is open: the state moves on. */
void pl_tpl_take(struct pl_tpl *t, const struct pl_tpl_draw *d)
{
	t->seed = d->seed;
	WRITE_ONCE(t->mode, d->mode);
	t->lock = d->lock;
	t->draws = d->draws;
	if (d->applied) {
		t->su_pending = false;
		WRITE_ONCE(t->su_applied, t->su_applied + 1);
	}
}

/* Record @r's schedule entry, overwriting the oldest once full. */
void pl_tpl_sched_add(struct pl_tpl *t, const struct plasmatic_tpl_rec *r)
{
	if (!t->sched)
		return;
	t->sched[t->sched_count % PLASMATIC_TPL_SCHED_LEN] = *r;
	t->sched_count++;
}

/*
 * The shaped record @r is about to be queued to TCP (socket lock held):
 * the pacer gets it first, as TCP may send its first segment at once.
 */
void pl_tpl_pace_queue(struct sock *sk, struct pl_tpl *t,
		       const struct plasmatic_tpl_rec *r)
{
	struct pl_pace *pace = rcu_dereference_protected(t->pace,
							 lockdep_sock_is_held(sk));

	if (pace)
		pl_pace_add(sk, pace, r->seq, r->delay_us);
}

/* TCP took none of @r after all: the pacer forgets it. */
void pl_tpl_pace_unqueue(struct pl_tpl *t, const struct plasmatic_tpl_rec *r)
{
	struct pl_pace *pace = rcu_dereference_protected(t->pace, true);

	if (pace)
		pl_pace_remove_last(pace, r->seq);
}

/* The pacer's counters; the caller holds the socket lock. */
void pl_tpl_pace_state(struct pl_tpl *t, struct plasmatic_pace_state *s)
{
	pl_pace_state(rcu_dereference_protected(t->pace, true), s);
}

/* The newest @n entries at most, oldest first; returns how many. */
unsigned int pl_tpl_sched_copy(const struct pl_tpl *t,
			       struct plasmatic_tpl_rec *out, unsigned int n)
{
	u64 first, i;

	if (!t->sched)
		return 0;
	n = min_t(u64, n, min_t(u64, t->sched_count, PLASMATIC_TPL_SCHED_LEN));
	first = t->sched_count - n;
	for (i = 0; i < n; i++)
		out[i] = t->sched[(first + i) % PLASMATIC_TPL_SCHED_LEN];
	return n;
}

void pl_tpl_state(const struct pl_tpl *t, struct plasmatic_tpl_state *s)
{
	memset(s, 0, sizeof(*s));
	s->mode = t->mode;
	s->flags = t->lock ? PLASMATIC_TPL_LOCK : 0;
	s->su_queued = t->su_queued;
	s->draws = t->draws;
	s->records = t->records;
	s->pad_bytes = t->pad_bytes;
	s->su_sent = t->su_sent;
	s->su_applied = t->su_applied;
}

/* The EEM seed_update field (SPEC 5.3): the seed is big endian. */
void pl_tpl_su_encode(const struct plasmatic_tpl *p,
		      u8 out[PL_SEED_UPDATE_LEN])
{
	out[0] = PL_SU_KIND_UPDATE;
	out[1] = p->mode;
	out[2] = p->flags;
	out[3] = 0;
	put_unaligned_be64(p->seed, out + 4);
}

/*
 * The peer's record carrying @su (checked by pl_eem_open()) was accepted:
 * our next draw applies it; a later one replaces it.
 */
void pl_tpl_su_received(struct pl_tpl *t, const u8 su[PL_SEED_UPDATE_LEN])
{
	if (su[0] != PL_SU_KIND_UPDATE)
		return;
	memset(&t->su_in, 0, sizeof(t->su_in));
	t->su_in.mode = su[1];
	t->su_in.flags = su[2];
	t->su_in.seed = get_unaligned_be64(su + 4);
	t->su_pending = true;
}

/* The pacer state, to outlive us (close, socket lock held). */
struct pl_pace *pl_tpl_take_pace(struct pl_tpl *t)
{
	return rcu_replace_pointer(t->pace, NULL, true);
}

void pl_tpl_release(struct pl_tpl *t)
{
	kfree(t->sched);
	t->sched = NULL;
	pl_pace_free(rcu_replace_pointer(t->pace, NULL, true));
	memzero_explicit(&t->seed, sizeof(t->seed));
	memzero_explicit(&t->su_out, sizeof(t->su_out));
	memzero_explicit(&t->su_in, sizeof(t->su_in));
}
