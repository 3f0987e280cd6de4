/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Traffic Pattern Library (SPEC 9): the transmit shaping state of a
 * socket, its SipHash-2-4 draws, mode rotation, Seed Updates both ways
 * and the schedule of the shaped records for a pacer.
 *
 * Locking: the socket lock.  Draws happen in the sender's context, which
 * also holds tx.lock; setsockopt and getsockopt take the socket lock only,
 * so a change of state lands between two records.  A received Seed Update
 * is stored by the reader that opens the record (pl_rx_open(), owner
 * context under the socket lock) and applied by the next draw.  The diag
 * dump reads the counters without the lock (READ_ONCE/WRITE_ONCE).
 */
#ifndef _PLASMATIC_TPL_H
#define _PLASMATIC_TPL_H

#include <linux/types.h>
#include <linux/plasmatic.h>

struct sock;
struct pl_pace;

#define PL_SEED_UPDATE_LEN	12	/* EEM seed_update field (SPEC 5.3) */
#define PL_TPL_DRAWS_PER_RECORD	2	/* size, then delay (SPEC 9.1) */

struct pl_tpl {
	u64 seed;
	u64 draws;		/* draw counter since the state was set */
	u8 mode;
	bool lock;
	/* Our Seed Update for the peer, sent in the next record sealed. */
	bool su_queued;
	/* The peer's Seed Update, applied by our next draw. */
	bool su_pending;
	struct plasmatic_tpl su_out;
	struct plasmatic_tpl su_in;
	/* Counters; READ_ONCE outside the socket lock. */
	u64 records;		/* shaped records sealed (modes 1..8) */
	u64 pad_bytes;
	u64 su_sent;
	u64 su_applied;
	/*
	 * The last PLASMATIC_TPL_SCHED_LEN shaped records, by record index
	 * modulo the length; allocated with the first shaped record.
	 */
	struct plasmatic_tpl_rec *sched;
	u64 sched_count;	/* entries ever written */
	/* The records not yet seen leaving, for the pacer (pace.h). */
	struct pl_pace __rcu *pace;
};

/* The two draws of one record, and the state they leave. */
struct pl_tpl_draw {
	u64 seed;
	u64 draws;		/* counter after this record's draws */
	u32 size;		/* target, clamped to the cap */
	u32 delay_us;
	u8 mode;
	bool lock;
	bool applied;		/* the pending Seed Update was applied */
};

/* Whether the next record is surely unshaped: mode 0, nothing to apply. */
static inline bool pl_tpl_plain(const struct pl_tpl *t)
{
	return !t->mode && !t->su_pending;
}

int pl_tpl_check(const struct plasmatic_tpl *p);
void pl_tpl_set(struct pl_tpl *t, const struct plasmatic_tpl *p);
void pl_tpl_next(const struct pl_tpl *t, unsigned int cap,
		 struct pl_tpl_draw *d);
int pl_tpl_prepare(struct pl_tpl *t, const struct pl_tpl_draw *d);
void pl_tpl_take(struct pl_tpl *t, const struct pl_tpl_draw *d);
void pl_tpl_sched_add(struct pl_tpl *t, const struct plasmatic_tpl_rec *r);
void pl_tpl_pace_queue(struct sock *sk, struct pl_tpl *t,
		       const struct plasmatic_tpl_rec *r);
void pl_tpl_pace_unqueue(struct pl_tpl *t, const struct plasmatic_tpl_rec *r);
unsigned int pl_tpl_sched_copy(const struct pl_tpl *t,
			       struct plasmatic_tpl_rec *out, unsigned int n);
void pl_tpl_state(const struct pl_tpl *t, struct plasmatic_tpl_state *s);
void pl_tpl_pace_state(struct pl_tpl *t, struct plasmatic_pace_state *s);
void pl_tpl_su_encode(const struct plasmatic_tpl *p,
		      u8 out[PL_SEED_UPDATE_LEN]);
void pl_tpl_su_received(struct pl_tpl *t, const u8 su[PL_SEED_UPDATE_LEN]);
struct pl_pace *pl_tpl_take_pace(struct pl_tpl *t);
void pl_tpl_release(struct pl_tpl *t);

#endif /* _PLASMATIC_TPL_H */
