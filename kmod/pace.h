/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pacer's view of a socket's shaped records (SPEC 9.5): where each
 * starts in the TCP sequence space and its delay draw, kept from the
 * moment the record is queued to TCP until its first byte leaves through
 * the qdisc.  A BPF program at tc egress (bpf/pace.bpf.c) or a BPF qdisc
 * asks bpf_plasmatic_departure() for each TCP segment's departure time;
 * the module answers from this queue, so the draw taken when the record
 * was opened stays the one source of truth for both its size and its
 * timing.
 *
 * Locking: pace->lock, a BH spinlock: the sender adds under the socket
 * lock in process context, the pacer takes records in the transmit path
 * (BH off, socket lock possibly held by anyone).  The structure is freed
 * after an RCU grace period: the pacer finds it through the socket's ULP
 * data under rcu_read_lock().
 */
#ifndef _PLASMATIC_PACE_H
#define _PLASMATIC_PACE_H

#include <linux/types.h>

struct sock;
struct pl_pace;
struct __sk_buff;
struct plasmatic_pace_state;

struct pl_pace *pl_pace_alloc(gfp_t gfp);
void pl_pace_free(struct pl_pace *pace);
void pl_pace_add(struct sock *sk, struct pl_pace *pace, u32 seq, u32 delay_us);
void pl_pace_remove_last(struct pl_pace *pace, u32 seq);
void pl_pace_state(struct pl_pace *pace, struct plasmatic_pace_state *s);

int pl_pace_register(void);

/*
 * After close the context is gone but TCP may still hold shaped records
 * that have not left: the pacer state outlives the context as the
 * socket's ULP data, tagged with bit 0, until the socket is destroyed
 * (the ULP's release).  Untagged ULP data is a struct plasmatic_context.
 */
#define PL_ULP_DATA_PACE	1UL

static inline void *pl_pace_ulp_data(struct pl_pace *pace)
{
	return pace ? (void *)((unsigned long)pace | PL_ULP_DATA_PACE) : NULL;
}

static inline struct pl_pace *pl_pace_from_ulp_data(void *p)
{
	unsigned long v = (unsigned long)p;

	return v & PL_ULP_DATA_PACE ?
	       (struct pl_pace *)(v & ~PL_ULP_DATA_PACE) : NULL;
}

/* The kfunc (BPF programs of type SCHED_CLS and, from 6.16, qdiscs). */
u64 bpf_plasmatic_departure(struct __sk_buff *skb_ctx, u32 scale);

#endif /* _PLASMATIC_PACE_H */
