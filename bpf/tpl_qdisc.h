/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's side of tpl_qdisc.bpf.c: the fields it touches, as CO-RE
 * declarations (libbpf relocates them against the running kernel's BTF),
 * and the kfuncs of BPF qdiscs and of BPF-allocated objects.  Only what
 * the qdisc uses is declared; the build host's UAPI (Debian 12's 6.1)
 * predates the rbtree types, so they are declared here too.
 */
#ifndef PLASMATIC_BPF_TPL_QDISC_H
#define PLASMATIC_BPF_TPL_QDISC_H

#define NET_XMIT_SUCCESS	0x00
#define NET_XMIT_DROP		0x01
#define ENOMEM			12
#define ENOSPC			28

/* include/uapi/linux/bpf.h */
#define BPF_MAP_TYPE_HASH	1
#define BPF_NOEXIST		1

#define CORE __attribute__((preserve_access_index))
#define __kptr __attribute__((btf_type_tag("kptr")))
#define __contains(type, member) \
	__attribute__((btf_decl_tag("contains:" #type ":" #member)))

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((void *)(ptr) - __builtin_offsetof(type, member)))
#endif

/* include/uapi/linux/bpf.h of 6.5 and later: the sizes must match. */
struct bpf_spin_lock {
	__u32 val;
};

struct bpf_rb_root {
	__u64 __opaque[2];
} __attribute__((aligned(8)));

struct bpf_rb_node {
	__u64 __opaque[4];
} __attribute__((aligned(8)));

struct net_device {
	int ifindex;
} CORE;

struct netdev_queue {
	struct net_device *dev;
} CORE;

struct sk_buff {
	__u64 tstamp;
	char cb[48];
} CORE;

struct qdisc_skb_cb {
	unsigned int pkt_len;
} CORE;

struct qdisc_skb_head {
	__u32 qlen;
} CORE;

struct gnet_stats_queue {
	__u32 backlog;
	__u32 drops;
} CORE;

struct Qdisc {
	__u32 handle;
	__u32 limit;
	struct netdev_queue *dev_queue;
	struct qdisc_skb_head q;
	struct gnet_stats_queue qstats;
} CORE;

/* Complete, not declared: libbpf matches the kfuncs' types by kind. */
struct bpf_sk_buff_ptr {
	struct sk_buff *skb;
};

struct nlattr;
struct netlink_ext_ack;

/* Matched to the kernel's struct Qdisc_ops member by member, by name. */
struct Qdisc_ops {
	int (*enqueue)(struct sk_buff *skb, struct Qdisc *sch,
		       struct bpf_sk_buff_ptr *to_free);
	struct sk_buff *(*dequeue)(struct Qdisc *sch);
	int (*init)(struct Qdisc *sch, struct nlattr *arg,
		    struct netlink_ext_ack *extack);
	void (*reset)(struct Qdisc *sch);
	void (*destroy)(struct Qdisc *sch);
	char id[16];
};

extern void *bpf_obj_new_impl(__u64 local_type_id, void *meta) __ksym;
extern void bpf_obj_drop_impl(void *kptr, void *meta) __ksym;
extern int bpf_rbtree_add_impl(struct bpf_rb_root *root, struct bpf_rb_node *node,
			       bool (*less)(struct bpf_rb_node *a,
					    const struct bpf_rb_node *b),
			       void *meta, __u64 off) __ksym;
extern struct bpf_rb_node *bpf_rbtree_first(struct bpf_rb_root *root) __ksym;
extern struct bpf_rb_node *bpf_rbtree_remove(struct bpf_rb_root *root,
					     struct bpf_rb_node *node) __ksym;

extern void bpf_qdisc_skb_drop(struct sk_buff *skb,
			       struct bpf_sk_buff_ptr *to_free) __ksym;
extern void bpf_qdisc_watchdog_schedule(struct Qdisc *sch, __u64 expire,
					__u64 delta_ns) __ksym;
extern void bpf_qdisc_bstats_update(struct Qdisc *sch,
				    const struct sk_buff *skb) __ksym;
extern void bpf_kfree_skb(struct sk_buff *skb) __ksym;

#define bpf_obj_new(type) \
	((type *)bpf_obj_new_impl(bpf_core_type_id_local(type), NULL))
#define bpf_obj_drop(kptr) bpf_obj_drop_impl(kptr, NULL)
#define bpf_rbtree_add(root, node, less) \
	bpf_rbtree_add_impl(root, node, less, NULL, 0)

#endif /* PLASMATIC_BPF_TPL_QDISC_H */
