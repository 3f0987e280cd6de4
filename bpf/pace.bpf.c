// SPDX-License-Identifier: GPL-2.0
/*
 * The TPL pacer at tc egress (6.1 and later, with the fq qdisc): every
 * TCP segment of a Plasmatic socket leaves at the departure time the
 * module computed for its record (kmod/pace.c), never earlier than TCP's
 * own pacing time.  fq holds each packet until skb->tstamp.
 *
 * The program only carries the module's answer into the packet: the
 * schedule (which record a segment starts, its delay draw, whether it is
 * a retransmission) is the module's, from the draw it took when it sized
 * the record.  See bpf/README.md.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "pace.h"

/* Delay factor in thousandths; set by the loader before load. */
const volatile __u32 time_scale = PACE_SCALE_REAL;

SEC("tc")
int plasmatic_pace(struct __sk_buff *skb)
{
	__u64 dep = bpf_plasmatic_departure(skb, time_scale);

	if (dep > skb->tstamp)
		skb->tstamp = dep;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
