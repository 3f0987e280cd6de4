// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/plasmatic_stat: per network namespace counters, summed over
 * CPUs when read.  Gauges are kept as increments and decrements that may
 * land on different CPUs; their sum is exact.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/netns/generic.h>

#include "proc.h"

struct pl_net {
	struct pl_mib __percpu *mib;
};

static unsigned int pl_net_id __read_mostly;

static const char *const pl_stat_names[PL_NUM_STATS] = {
	[PL_STAT_TX_RECORDS]			= "PlasmaticTxRecords",
	[PL_STAT_TX_BYTES]			= "PlasmaticTxBytes",
	[PL_STAT_RX_RECORDS]			= "PlasmaticRxRecords",
	[PL_STAT_RX_BYTES]			= "PlasmaticRxBytes",
	[PL_STAT_RX_FAIL + PL_FAIL_HEADER]	= "PlasmaticRxFailHeader",
	[PL_STAT_RX_FAIL + PL_FAIL_LENGTH]	= "PlasmaticRxFailLength",
	[PL_STAT_RX_FAIL + PL_FAIL_EEM_TAG]	= "PlasmaticRxFailEemTag",
	[PL_STAT_RX_FAIL + PL_FAIL_EEM_NONCE]	= "PlasmaticRxFailEemNonce",
	[PL_STAT_RX_FAIL + PL_FAIL_FRAGMENT]	= "PlasmaticRxFailEemFragment",
	[PL_STAT_RX_FAIL + PL_FAIL_SEED_UPDATE]	= "PlasmaticRxFailEemSeedUpdate",
	[PL_STAT_RX_FAIL + PL_FAIL_TLS_TAG]	= "PlasmaticRxFailTlsTag",
	[PL_STAT_RX_FAIL + PL_FAIL_CONTENT_TYPE] = "PlasmaticRxFailContentType",
	[PL_STAT_RX_FAIL + PL_FAIL_EMPTY]	= "PlasmaticRxFailEmptyRecord",
	[PL_STAT_RX_FAIL + PL_FAIL_TRUNCATED]	= "PlasmaticRxFailTruncated",
	[PL_STAT_RX_FAIL + PL_FAIL_INTERNAL]	= "PlasmaticRxFailInternal",
	[PL_STAT_RX_FAIL + PL_FAIL_SEQ_WRAP]	= "PlasmaticRxFailSeqWrap",
	[PL_STAT_ALERTS_SENT]			= "PlasmaticAlertsSent",
	[PL_STAT_CLOSE_NOTIFY_SENT]		= "PlasmaticCloseNotifySent",
	[PL_STAT_CLOSE_NOTIFY_RECV]		= "PlasmaticCloseNotifyRecv",
	[PL_STAT_ALERTS_RECV]			= "PlasmaticAlertsRecv",
	[PL_STAT_TPL_RECORDS]			= "PlasmaticTplRecords",
	[PL_STAT_TPL_PAD_BYTES]			= "PlasmaticTplPadBytes",
	[PL_STAT_TPL_SU_SENT]			= "PlasmaticTplSeedUpdatesSent",
	[PL_STAT_TPL_SU_APPLIED]		= "PlasmaticTplSeedUpdatesApplied",
	[PL_STAT_RX_DIRECT]			= "PlasmaticRxDirectRecords",
	[PL_STAT_RX_NO_PAD_VIOL]		= "PlasmaticRxNoPadViolation",
	[PL_STAT_RX_DECRYPT_RETRY]		= "PlasmaticRxDecryptRetry",
	[PL_STAT_TX_LINKED]			= "PlasmaticTxLinkedRecords",
	[PL_STAT_RX_IN_TCP]			= "PlasmaticRxInTcpRecords",
	[PL_STAT_CURR_TX_AES_GCM_128]		= "PlasmaticCurrTxAesGcm128",
	[PL_STAT_CURR_TX_AES_GCM_256]		= "PlasmaticCurrTxAesGcm256",
	[PL_STAT_CURR_TX_CHACHA20_POLY1305]	= "PlasmaticCurrTxChacha20Poly1305",
	[PL_STAT_CURR_RX_AES_GCM_128]		= "PlasmaticCurrRxAesGcm128",
	[PL_STAT_CURR_RX_AES_GCM_256]		= "PlasmaticCurrRxAesGcm256",
	[PL_STAT_CURR_RX_CHACHA20_POLY1305]	= "PlasmaticCurrRxChacha20Poly1305",
	[PL_STAT_CURR_DETACHED]			= "PlasmaticCurrDetached",
	[PL_STAT_CURR_COVERED]			= "PlasmaticCurrCovered",
	[PL_STAT_CURR_RX_MEM]			= "PlasmaticCurrRxBufferBytes",
};

struct pl_mib __percpu *pl_net_mib(const struct net *net)
{
	struct pl_net *pn = net_generic(net, pl_net_id);

	return pn->mib;
}

enum pl_stat pl_stat_cipher(enum pl_dir dir, u16 type)
{
	enum pl_stat base = dir == PL_DIR_TX ? PL_STAT_CURR_TX_AES_GCM_128 :
					       PL_STAT_CURR_RX_AES_GCM_128;

	switch (type) {
	case TLS_CIPHER_AES_GCM_128:
		return base;
	case TLS_CIPHER_AES_GCM_256:
		return base + 1;
	case TLS_CIPHER_CHACHA20_POLY1305:
		return base + 2;
	default:
		return PL_NUM_STATS;
	}
}

static int pl_stat_show(struct seq_file *seq, void *v)
{
	struct net *net = seq->private;
	struct pl_mib __percpu *mib = pl_net_mib(net);
	int i, cpu;

	for (i = 0; i < PL_NUM_STATS; i++) {
		unsigned long sum = 0;

		for_each_possible_cpu(cpu)
			sum += per_cpu_ptr(mib, cpu)->v[i];
		seq_printf(seq, "%-32s\t%lu\n", pl_stat_names[i], sum);
	}
	return 0;
}

static int __net_init pl_net_init(struct net *net)
{
	struct pl_net *pn = net_generic(net, pl_net_id);

	pn->mib = alloc_percpu(struct pl_mib);
	if (!pn->mib)
		return -ENOMEM;
	if (!proc_create_net_single("plasmatic_stat", 0444, net->proc_net,
				    pl_stat_show, NULL)) {
		free_percpu(pn->mib);
		return -ENOMEM;
	}
	return 0;
}

static void __net_exit pl_net_exit(struct net *net)
{
	struct pl_net *pn = net_generic(net, pl_net_id);

	remove_proc_entry("plasmatic_stat", net->proc_net);
	free_percpu(pn->mib);
}

static struct pernet_operations pl_net_ops = {
	.init = pl_net_init,
	.exit = pl_net_exit,
	.id   = &pl_net_id,
	.size = sizeof(struct pl_net),
};

int plasmatic_proc_init(void)
{
	return register_pernet_subsys(&pl_net_ops);
}

void plasmatic_proc_exit(void)
{
	unregister_pernet_subsys(&pl_net_ops);
}
