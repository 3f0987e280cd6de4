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
 * Each instance (device) has its own tree, kept in a map by instance.
 * Registered and attached by `plasmatic shape` (userspace/cli/
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
/* Devices (instances) at once. */
#define MAX_INSTANCES	256

struct held {
	__u64 when;
	struct sk_buff __kptr *skb;
	struct bpf_rb_node node;
};

/* One instance's queue: its held packets by departure time. */
struct queue {
	struct bpf_spin_lock lock;
	struct bpf_rb_root tree __contains(held, node);
};

struct queue_slot {
	struct queue __kptr *q;
};

/*
 * The queues of the instances, by instance (ifindex << 32 | handle).  A
 * queue is taken out of its slot for the length of one operation and put
 * back: an instance's enqueue, dequeue and reset run under its root lock,
 * so nothing else looks for it meanwhile; init and destroy run under RTNL.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, struct queue_slot);
	__uint(max_entries, MAX_INSTANCES);
} queues SEC(".maps");

static __u64 instance(struct Qdisc *sch)
{
	return (__u64)sch->dev_queue->dev->ifindex << 32 | sch->handle;
}

/* Take @sch's queue out of its slot (*slot), or NULL. */
static struct queue *take(struct Qdisc *sch, struct queue_slot **slot)
{
	__u64 key = instance(sch);

	*slot = bpf_map_lookup_elem(&queues, &key);
	if (!*slot)
		return NULL;
	return bpf_kptr_xchg(&(*slot)->q, NULL);
}

/* Put a queue back where take() found it. */
static void put_back(struct queue_slot *slot, struct queue *q)
{
	q = bpf_kptr_xchg(&slot->q, q);
	if (q)		/* the slot was empty: never */
		bpf_obj_drop(q);
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
	struct queue_slot *slot;
	struct queue *q;
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
	q = take(sch, &slot);
	if (!q) {
		bpf_obj_drop(h);
		goto drop;
	}
	h->when = when;
	len = pkt_len(skb);
	skb = bpf_kptr_xchg(&h->skb, skb);
	if (skb)	/* h was new: never */
		bpf_qdisc_skb_drop(skb, to_free);

	bpf_spin_lock(&q->lock);
	bpf_rbtree_add(&q->tree, &h->node, earlier);
	bpf_spin_unlock(&q->lock);
	put_back(slot, q);

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
	struct queue_slot *slot;
	struct bpf_rb_node *n;
	struct queue *q;
	struct held *h;

	q = take(sch, &slot);
	if (!q)
		return NULL;
	bpf_spin_lock(&q->lock);
	n = bpf_rbtree_first(&q->tree);
	if (!n) {
		bpf_spin_unlock(&q->lock);
		put_back(slot, q);
		return NULL;
	}
	h = container_of(n, struct held, node);
	when = h->when;
	if (when > now) {
		bpf_spin_unlock(&q->lock);
		put_back(slot, q);
		bpf_qdisc_watchdog_schedule(sch, when, SLACK_NS);
		return NULL;
	}
	n = bpf_rbtree_remove(&q->tree, n);
	bpf_spin_unlock(&q->lock);
	put_back(slot, q);
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

/*
 * bpf_loop() callback: free the earliest packet of the instance *ctx (its
 * key: bpf_loop() passes only stack pointers); 1 once none is left.
 */
static int drop_one(__u32 i, void *ctx)
{
	struct sk_buff *skb = NULL;
	struct queue_slot *slot;
	struct bpf_rb_node *n;
	struct queue *q;
	struct held *h;

	slot = bpf_map_lookup_elem(&queues, ctx);
	if (!slot)
		return 1;
	q = bpf_kptr_xchg(&slot->q, NULL);
	if (!q)
		return 1;
	bpf_spin_lock(&q->lock);
	n = bpf_rbtree_first(&q->tree);
	if (n)
		n = bpf_rbtree_remove(&q->tree, n);
	bpf_spin_unlock(&q->lock);
	put_back(slot, q);
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
	__u64 key = instance(sch);

	bpf_loop(QUEUE_LIMIT + 1, drop_one, &key, 0);
	sch->q.qlen = 0;
	sch->qstats.backlog = 0;
}

SEC("struct_ops/tpl_init")
int BPF_PROG(tpl_init, struct Qdisc *sch, struct nlattr *opt,
	     struct netlink_ext_ack *extack)
{
	struct queue_slot empty = {}, *slot;
	__u64 key = instance(sch);
	struct queue *q;

	q = bpf_obj_new(typeof(*q));
	if (!q)
		return -ENOMEM;
	if (bpf_map_update_elem(&queues, &key, &empty, BPF_NOEXIST)) {
		bpf_obj_drop(q);
		return -ENOSPC;
	}
	slot = bpf_map_lookup_elem(&queues, &key);
	if (!slot) {
		bpf_obj_drop(q);
		return -ENOMEM;
	}
	put_back(slot, q);
	sch->limit = QUEUE_LIMIT;
	return 0;
}

/* Deleting the slot frees the queue, and with it anything still held. */
SEC("struct_ops/tpl_destroy")
void BPF_PROG(tpl_destroy, struct Qdisc *sch)
{
	__u64 key = instance(sch);

	bpf_map_delete_elem(&queues, &key);
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
