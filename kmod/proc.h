/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per network namespace counters, shown in /proc/net/plasmatic_stat.
 */
#ifndef _PLASMATIC_PROC_H
#define _PLASMATIC_PROC_H

#include <linux/percpu.h>
#include <net/net_namespace.h>

#include "context.h"

enum pl_stat {
	PL_STAT_TX_RECORDS,
	PL_STAT_TX_BYTES,
	PL_STAT_RX_RECORDS,
	PL_STAT_RX_BYTES,
	PL_STAT_RX_FAIL,		/* PL_NUM_FAILS counters, by cause */
	PL_STAT_ALERTS_SENT = PL_STAT_RX_FAIL + PL_NUM_FAILS,
	PL_STAT_CLOSE_NOTIFY_SENT,
	PL_STAT_CLOSE_NOTIFY_RECV,
	PL_STAT_ALERTS_RECV,
	PL_STAT_TPL_RECORDS,		/* shaped records (TPL modes 1..8) */
	PL_STAT_TPL_PAD_BYTES,		/* their TLS 1.3 padding */
	PL_STAT_TPL_SU_SENT,		/* Seed Updates sent */
	PL_STAT_TPL_SU_APPLIED,		/* Seed Updates received and applied */
	/* PLASMATIC_RX_EXPECT_NO_PAD (kTLS's TlsRxNoPadViolation, ...). */
	PL_STAT_RX_DIRECT,		/* decrypted into the reader's pages */
	PL_STAT_RX_NO_PAD_VIOL,		/* a padded data record came */
	PL_STAT_RX_DECRYPT_RETRY,	/* decrypted again, in place */
	PL_STAT_TX_LINKED,		/* sealed from spliced pages, no copy */
	PL_STAT_RX_IN_TCP,		/* opened in TCP's queue, not copied */
	/* Gauges: sockets now using a cipher per direction, a framing. */
	PL_STAT_CURR_TX_AES_GCM_128,
	PL_STAT_CURR_TX_AES_GCM_256,
	PL_STAT_CURR_TX_CHACHA20_POLY1305,
	PL_STAT_CURR_RX_AES_GCM_128,
	PL_STAT_CURR_RX_AES_GCM_256,
	PL_STAT_CURR_RX_CHACHA20_POLY1305,
	PL_STAT_CURR_DETACHED,
	PL_STAT_CURR_COVERED,
	PL_STAT_CURR_RX_MEM,		/* bytes of RX record buffers */
	PL_NUM_STATS,
};

struct pl_mib {
	unsigned long v[PL_NUM_STATS];
};

struct pl_mib __percpu *pl_net_mib(const struct net *net);

static inline void pl_stat_add(const struct sock *sk, enum pl_stat i, long n)
{
	this_cpu_add(pl_net_mib(sock_net(sk))->v[i], n);
}

static inline void pl_stat_inc(const struct sock *sk, enum pl_stat i)
{
	pl_stat_add(sk, i, 1);
}

/* The gauge of @type in direction @dir, PL_NUM_STATS for none. */
enum pl_stat pl_stat_cipher(enum pl_dir dir, u16 type);

static inline enum pl_stat pl_stat_framing(u8 framing)
{
	return framing == PLASMATIC_FRAMING_COVERED ? PL_STAT_CURR_COVERED :
						      PL_STAT_CURR_DETACHED;
}

int plasmatic_proc_init(void);
void plasmatic_proc_exit(void);

#endif /* _PLASMATIC_PROC_H */
