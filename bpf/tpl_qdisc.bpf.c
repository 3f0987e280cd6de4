// SPDX-License-Identifier: GPL-2.0
/*
 * plasmatic_tpl: the pacer's qdisc for kernels with BPF qdiscs (6.16 and
 * later, CONFIG_NET_SCH_BPF), in place of fq.
 *
 * It does the one job the pacer needs from fq: hold each packet until
 * skb->tstamp (its earliest departure time).  pace.bpf.c at tc egress sets
 * that time for the segments of shaped records, as on 6.1 with fq; TCP's
 * own pacing sets it for the rest.  Packets wait in one tree ordered by
 * departure time (equal times keep their arrival order, so the segments of
 * a record stay in sequence); dequeue hands out the earliest when it is
 * due and otherwise arms the qdisc watchdog for it.  Unlike fq there is no
 * per-flow round robin: flows share the device in departure-time order.
 *
 * One instance at a time: the queue is the program's global data, so a
 * second device is refused with EBUSY rather than mixing two devices'
 * packets.  Registered and attached by `plasmatic shape` (userspace/cli/
 * shape_qdisc.c); written against the kernel's types through CO-RE, so the
 * object built on Debian 12 loads on any kernel that has BPF qdiscs.
 */
#include <linux/types.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "tpl_qdisc.h"

char LICENSE[] SEC("license") = "GPL";

/* Departure times further ahead than this are capped to it (fq's horizon_cap). */
#define HORIZON_NS	(60ULL * 1000000000ULL)
/* Timer slack for the watchdog, as fq's default. */
#define SLACK_NS	(10ULL * 1000ULL)
/* Packets held at most, as fq's default limit. */
#define QUEUE_LIMIT	10000

struct held {
	__u64 when;
	struct sk_buff __kptr *skb;
	struct bpf_rb_node node;
};

#define private(n) SEC(".data." #n) __hidden __attribute__((aligned(8)))

private(Q) struct bpf_spin_lock q_lock;
private(Q) struct bpf_rb_root q_tree __contains(held, node);

/* The instance that owns the queue: ifindex << 32 | handle, 0 for none. */
__u64 owner;

static __u64 instance(struct Qdisc *sch)
{
	return (__u64)sch->dev_queue->dev->ifindex << 32 | sch->handle;
}

static bool earlier(struct bpf_rb_node *a, const struct bpf_rb_node *b)
{
	struct held *x = container_of(a, struct held, node);
	struct held *y = container_of(b, struct held, node);

	return x->when < y->when;
}

static __u32 pkt_len(struct sk_buff *skb)
{
	return ((struct qdisc_skb_cb *)skb->cb)->pkt_len;
}

SEC("struct_ops/tpl_enqueue")
int BPF_PROG(tpl_enqueue, struct sk_buff *skb, struct Qdisc *sch,
	     struct bpf_sk_buff_ptr *to_free)
{
	__u64 now, when = skb->tstamp;
	struct held *h;
	__u32 len;

	if (sch->q.qlen >= sch->limit)
		goto drop;
	now = bpf_ktime_get_ns();
	/*
	 * Due packets keep their arrival order among themselves: a time in
	 * the past (or none) counts as now.
	 */
	if (when < now)
		when = now;
	else if (when - now > HORIZON_NS)
		when = now + HORIZON_NS;
	h = bpf_obj_new(typeof(*h));
	if (!h)
		goto drop;
	h->when = when;
	len = pkt_len(skb);
	skb = bpf_kptr_xchg(&h->skb, skb);
	if (skb)	/* h was new: never */
		bpf_qdisc_skb_drop(skb, to_free);

	bpf_spin_lock(&q_lock);
	bpf_rbtree_add(&q_tree, &h->node, earlier);
	bpf_spin_unlock(&q_lock);

	sch->q.qlen++;
	sch->qstats.backlog += len;
	return NET_XMIT_SUCCESS;
drop:
	sch->qstats.drops++;
	bpf_qdisc_skb_drop(skb, to_free);
	return NET_XMIT_DROP;
}

SEC("struct_ops/tpl_dequeue")
struct sk_buff *BPF_PROG(tpl_dequeue, struct Qdisc *sch)
{
	__u64 when, now = bpf_ktime_get_ns();	/* no helper calls under the lock */
	struct sk_buff *skb = NULL;
	struct bpf_rb_node *n;
	struct held *h;

	bpf_spin_lock(&q_lock);
	n = bpf_rbtree_first(&q_tree);
	if (!n) {
		bpf_spin_unlock(&q_lock);
		return NULL;
	}
	h = container_of(n, struct held, node);
	when = h->when;
	if (when > now) {
		bpf_spin_unlock(&q_lock);
		bpf_qdisc_watchdog_schedule(sch, when, SLACK_NS);
		return NULL;
	}
	n = bpf_rbtree_remove(&q_tree, n);
	bpf_spin_unlock(&q_lock);
	if (!n)
		return NULL;
	h = container_of(n, struct held, node);
	skb = bpf_kptr_xchg(&h->skb, skb);
	bpf_obj_drop(h);
	if (!skb)
		return NULL;

	sch->q.qlen--;
	sch->qstats.backlog -= pkt_len(skb);
	bpf_qdisc_bstats_update(sch, skb);
	return skb;
}

/* bpf_loop() callback: free the earliest held packet; 1 once none is left. */
static int drop_one(__u32 i, void *ctx)
{
	struct sk_buff *skb = NULL;
	struct bpf_rb_node *n;
	struct held *h;

	bpf_spin_lock(&q_lock);
	n = bpf_rbtree_first(&q_tree);
	if (n)
		n = bpf_rbtree_remove(&q_tree, n);
	bpf_spin_unlock(&q_lock);
	if (!n)
		return 1;
	h = container_of(n, struct held, node);
	skb = bpf_kptr_xchg(&h->skb, skb);
	if (skb)
		bpf_kfree_skb(skb);
	bpf_obj_drop(h);
	return 0;
}

SEC("struct_ops/tpl_reset")
void BPF_PROG(tpl_reset, struct Qdisc *sch)
{
	if (owner != instance(sch))
		return;
	bpf_loop(QUEUE_LIMIT + 1, drop_one, NULL, 0);
	sch->q.qlen = 0;
	sch->qstats.backlog = 0;
}

/* init and destroy run under RTNL: owner needs no atomics. */
SEC("struct_ops/tpl_init")
int BPF_PROG(tpl_init, struct Qdisc *sch, struct nlattr *opt,
	     struct netlink_ext_ack *extack)
{
	if (owner)
		return -EBUSY;
	owner = instance(sch);
	sch->limit = QUEUE_LIMIT;
	return 0;
}

SEC("struct_ops/tpl_destroy")
void BPF_PROG(tpl_destroy, struct Qdisc *sch)
{
	if (owner == instance(sch))
		owner = 0;
}

SEC(".struct_ops")
struct Qdisc_ops plasmatic_tpl = {
	.enqueue	= (void *)tpl_enqueue,
	.dequeue	= (void *)tpl_dequeue,
	.init		= (void *)tpl_init,
	.reset		= (void *)tpl_reset,
	.destroy	= (void *)tpl_destroy,
	.id		= "plasmatic_tpl",
};
