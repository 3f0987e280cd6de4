/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the pacer's BPF programs and their loaders share: the module's
 * kfunc (kmod/pace.c; declared for BPF only) and the time scale.
 */
#ifndef PLASMATIC_BPF_PACE_H
#define PLASMATIC_BPF_PACE_H

/* time_scale: delays as drawn. */
#define PACE_SCALE_REAL		1000
/* The largest factor a loader accepts (delays x 100). */
#define PACE_SCALE_MAX		100000

#ifdef __bpf__
extern __u64 bpf_plasmatic_departure(struct __sk_buff *skb, __u32 scale) __ksym;
#endif

#endif /* PLASMATIC_BPF_PACE_H */
