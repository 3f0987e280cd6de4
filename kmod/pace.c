// SPDX-License-Identifier: GPL-2.0
/*
 * Departure times of shaped records for a pacer at the qdisc (see pace.h
 * and bpf/README.md).
 *
 * Each socket that sends shaped records keeps a ring of (first sequence
 * number, delay draw), one entry per record queued to TCP and not yet
 * seen leaving.  The pacer calls bpf_plasmatic_departure() on every TCP
 * segment of the socket at tc egress (or in a BPF qdisc's enqueue):
 *
 *  - a segment that ends at or below the highest sequence number seen
 *    leaving is a retransmission: 0, it goes out at TCP's own time;
 *  - a segment whose first byte starts the oldest queued record takes the
 *    record's departure, max(now, previous departure + delay), and the
 *    record leaves the ring;
 *  - any other new segment is a later part of the current record (each
 *    shaped record starts an skb of its own, so TSO and GSO split records
 *    but never join them) and takes the same departure.
 *
 * Entries whose record TCP has already sent are dropped by the sender
 * when it adds the next one, so without a pacer the ring holds only what
 * is still unsent; with one, what TCP holds back (TSQ and the send
 * buffer).  The ring grows as needed up to PL_PACE_MAX; past that a record
 * is sent unpaced and counted.
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>
#include <net/tcp.h>

#include <linux/plasmatic.h>

#include "compat.h"
#include "context.h"
#include "pace.h"

#define PL_PACE_MIN	64
#define PL_PACE_MAX	16384	/* records in flight to the qdisc, per socket */
/*
 * TCP Small Queues lets a socket have max(two skbs, pacing rate >> shift)
 * in the qdisc (default shift 10: 1 ms of its rate).  For a paced socket
 * that is hundreds of small records, each scheduled from the one before,
 * long before they leave: a host stall then releases them all at once,
 * and fq's horizon and flow limit drop the farthest.  A shift of 20 keeps
 * it to about two records, so each is scheduled when the one two before
 * it leaves.  sk_pacing_shift_update() is the knob drivers use for this.
 */
#define PL_PACE_SHIFT	20

struct pl_pace_rec {
	u32 seq;
	u32 delay_us;
};

struct pl_pace {
	spinlock_t lock;		/* all below; see pace.h */
	struct pl_pace_rec *ring;	/* size entries, a power of two */
	u32 size;
	u32 head;			/* next to add; free running */
	u32 tail;			/* oldest queued */
	bool started;			/* sent_nxt is valid */
	u32 sent_nxt;			/* end of the highest segment seen */
	u64 last_dep;			/* departure of the newest paced record */
	u64 paced, retrans, late, overflow;
	struct rcu_head rcu;
};

struct pl_pace *pl_pace_alloc(gfp_t gfp)
{
	struct pl_pace *pace = kzalloc(sizeof(*pace), gfp);

	if (!pace)
		return NULL;
	pace->ring = kcalloc(PL_PACE_MIN, sizeof(*pace->ring), gfp);
	if (!pace->ring) {
		kfree(pace);
		return NULL;
	}
	pace->size = PL_PACE_MIN;
	spin_lock_init(&pace->lock);
	return pace;
}

static void pl_pace_free_rcu(struct rcu_head *head)
{
	struct pl_pace *pace = container_of(head, struct pl_pace, rcu);

	kvfree(pace->ring);
	kfree(pace);
}

/* After the socket's pointer to @pace is gone: readers may still hold it. */
void pl_pace_free(struct pl_pace *pace)
{
	if (pace)
		call_rcu(&pace->rcu, pl_pace_free_rcu);
}

/*
 * Make @ring (@size entries, bigger than the ring) @pace's ring, with the
 * queued records in it; the old ring, for the caller to free once it has
 * dropped the lock (the pacer reads the ring under the lock only).
 */
static struct pl_pace_rec *pl_pace_swap(struct pl_pace *pace,
					struct pl_pace_rec *ring, u32 size)
	__must_hold(&pace->lock)
{
	struct pl_pace_rec *old = pace->ring;
	u32 i, n = pace->head - pace->tail;

	for (i = 0; i < n; i++)
		ring[i] = old[(pace->tail + i) & (pace->size - 1)];
	pace->ring = ring;
	pace->size = size;
	pace->tail = 0;
	pace->head = n;
	return old;
}

/*
 * A shaped record starting at @seq is about to be queued to TCP.  The caller
 * holds the socket lock, so snd_nxt is stable: records below it have been
 * sent, with or without a pacer, and are dropped.
 *
 * One lock section per record.  A bigger ring is allocated before it (we
 * may sleep, the lock is a spinlock) when the ring looks full: only the
 * sender, under the socket lock, moves head and changes the size, and the
 * pacer only moves tail forward, so the ring is at most as full as it
 * looks without the lock.  Under the lock the new ring replaces the old if
 * the ring is still full once the sent records are dropped; whichever ring
 * is left over is freed after it.
 */
void pl_pace_add(struct sock *sk, struct pl_pace *pace, u32 seq, u32 delay_us)
{
	u32 snd_nxt = tcp_sk(sk)->snd_nxt, size = pace->size;
	struct pl_pace_rec *spare = NULL;

	sk_pacing_shift_update(sk, PL_PACE_SHIFT);
	/* Racing the pacer's tail++ on purpose: a stale tail only errs full. */
	if (data_race(pace->head - pace->tail) == size && size < PL_PACE_MAX) {
		size *= 2;
		spare = kvcalloc(size, sizeof(*spare), GFP_KERNEL);
	}

	spin_lock_bh(&pace->lock);
	while (pace->tail != pace->head &&
	       before(pace->ring[pace->tail & (pace->size - 1)].seq, snd_nxt)) {
		pace->tail++;
		pace->late++;
	}
	if (pace->head - pace->tail == pace->size) {
		if (!spare) {
			pace->overflow++;
			goto out;
		}
		spare = pl_pace_swap(pace, spare, size);
	}
	pace->ring[pace->head & (pace->size - 1)] =
		(struct pl_pace_rec){ .seq = seq, .delay_us = delay_us };
	pace->head++;
out:
	spin_unlock_bh(&pace->lock);
	kvfree(spare);
}

/* Undo the last pl_pace_add() of @seq, if the pacer has not taken it. */
void pl_pace_remove_last(struct pl_pace *pace, u32 seq)
{
	spin_lock_bh(&pace->lock);
	if (pace->head != pace->tail &&
	    pace->ring[(pace->head - 1) & (pace->size - 1)].seq == seq)
		pace->head--;
	spin_unlock_bh(&pace->lock);
}

void pl_pace_state(struct pl_pace *pace, struct plasmatic_pace_state *s)
{
	memset(s, 0, sizeof(*s));
	if (!pace)
		return;
	spin_lock_bh(&pace->lock);
	s->queued = pace->head - pace->tail;
	s->paced = pace->paced;
	s->retrans = pace->retrans;
	s->late = pace->late;
	s->overflow = pace->overflow;
	s->last_departure_ns = pace->last_dep;
	spin_unlock_bh(&pace->lock);
}

/* The pacer state of the socket sending @skb, if it is one of ours. */
static struct pl_pace *pl_pace_of(const struct sk_buff *skb)
{
	struct sock *sk = skb->sk;
	struct plasmatic_context *ctx;
	void *data;

	if (!sk || !sk_fullsock(sk) || sk->sk_type != SOCK_STREAM ||
	    sk->sk_protocol != IPPROTO_TCP)
		return NULL;
	data = pl_ulp_data_rcu(sk);
	if (!data || pl_pace_from_ulp_data(data))
		return pl_pace_from_ulp_data(data);
	ctx = data;
	return rcu_dereference(ctx->tx.tpl.pace);
}

/* The departure of the segment [@seq, @end) of @pace's socket. */
static u64 pl_pace_segment(struct pl_pace *pace, u32 seq, u32 end, u32 scale)
{
	struct pl_pace_rec *r;
	u64 dep, delay;

	if (pace->started && !after(end, pace->sent_nxt)) {
		pace->retrans++;
		return 0;
	}
	pace->started = true;
	pace->sent_nxt = end;

	/* Records whose start we did not see (the pacer came late). */
	while (pace->tail != pace->head &&
	       before(pace->ring[pace->tail & (pace->size - 1)].seq, seq)) {
		pace->tail++;
		pace->late++;
	}
	if (pace->tail == pace->head)
		return pace->last_dep;
	r = &pace->ring[pace->tail & (pace->size - 1)];
	if (r->seq != seq)
		return pace->last_dep;

	pace->tail++;
	pace->paced++;
	dep = ktime_get_ns();
	delay = div_u64((u64)r->delay_us * NSEC_PER_USEC * scale, 1000);
	if (pace->last_dep && pace->last_dep + delay > dep)
		dep = pace->last_dep + delay;
	pace->last_dep = dep;
	return dep;
}

__bpf_kfunc_start_defs();

/**
 * bpf_plasmatic_departure - departure time of a TCP segment of ours
 * @skb_ctx: the segment, at tc egress or a qdisc's enqueue
 * @scale: delay factor in thousandths (1000: the drawn delays)
 *
 * Return: CLOCK_MONOTONIC ns, or 0 for a segment we do not time (see
 * <linux/plasmatic.h>, PLASMATIC_PACE).
 */
__bpf_kfunc u64 bpf_plasmatic_departure(struct __sk_buff *skb_ctx, u32 scale)
{
	struct sk_buff *skb = (struct sk_buff *)skb_ctx;
	struct tcphdr _th;
	const struct tcphdr *th;
	struct pl_pace *pace;
	int off, len;
	u32 seq;
	u64 dep;

	if (!skb_transport_header_was_set(skb))
		return 0;
	off = skb_transport_offset(skb);
	th = skb_header_pointer(skb, off, sizeof(_th), &_th);
	if (!th || th->doff < 5)
		return 0;
	len = skb->len - off - th->doff * 4;
	if (len <= 0)
		return 0;
	seq = ntohl(th->seq);

	rcu_read_lock();
	pace = pl_pace_of(skb);
	if (!pace) {
		rcu_read_unlock();
		return 0;
	}
	spin_lock_bh(&pace->lock);
	dep = pl_pace_segment(pace, seq, seq + len, scale);
	spin_unlock_bh(&pace->lock);
	rcu_read_unlock();
	return dep;
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(pl_pace_kfunc_ids)
BTF_ID_FLAGS(func, bpf_plasmatic_departure)
BTF_KFUNCS_END(pl_pace_kfunc_ids)

static const struct btf_kfunc_id_set pl_pace_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &pl_pace_kfunc_ids,
};

/*
 * The kfunc stays registered until the module goes: a program that calls
 * it holds a reference on the module, so it cannot unload under one.
 * Without BTF for the module (built without tools/kbtf.sh, or a kernel
 * without CONFIG_DEBUG_INFO_BTF_MODULES) registration fails and the
 * module works unpaced.
 */
int pl_pace_register(void)
{
	int err = register_btf_kfunc_id_set(BPF_PROG_TYPE_SCHED_CLS,
					    &pl_pace_kfunc_set);

	if (err)
		pr_info("plasmatic: no pacer kfunc (%d): records are sized, not timed\n",
			err);
	return 0;
}
