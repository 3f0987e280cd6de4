// SPDX-License-Identifier: GPL-2.0
/*
 * INET_DIAG_ULP_INFO for ss -tie: version, ciphers, framing, EEM length,
 * and with TX keys the TPL mode and counters.
 * Runs without the socket lock: the context is freed after an RCU grace
 * period and its fields only ever go from unset to set; the TPL fields
 * are read with READ_ONCE (a dump may see them one record apart).
 */
#include <net/netlink.h>

#include "context.h"
#include "pace.h"
#include "diag.h"

/*
 * The u64 counters: padded to 8 bytes where the architecture needs it,
 * with PLASMATIC_INFO_UNSPEC as the pad attribute (no attribute of its
 * own in the UAPI; readers skip type 0).
 */
static int pl_diag_put_tpl(struct sk_buff *skb, const struct pl_tpl *t)
{
	return nla_put_u8(skb, PLASMATIC_INFO_TPL_MODE, READ_ONCE(t->mode)) ?:
	       nla_put_u64_64bit(skb, PLASMATIC_INFO_TPL_RECORDS,
				 READ_ONCE(t->records), PLASMATIC_INFO_UNSPEC) ?:
	       nla_put_u64_64bit(skb, PLASMATIC_INFO_TPL_PAD,
				 READ_ONCE(t->pad_bytes),
				 PLASMATIC_INFO_UNSPEC) ?:
	       nla_put_u64_64bit(skb, PLASMATIC_INFO_SU_SENT,
				 READ_ONCE(t->su_sent), PLASMATIC_INFO_UNSPEC) ?:
	       nla_put_u64_64bit(skb, PLASMATIC_INFO_SU_APPLIED,
				 READ_ONCE(t->su_applied),
				 PLASMATIC_INFO_UNSPEC);
}

int pl_diag_get_info(struct sock *sk,
		     struct sk_buff *skb PL_DIAG_NET_ADMIN_ARG)
{
	const struct plasmatic_context *ctx;
	struct nlattr *start;
	int dir, err = 0;

	start = nla_nest_start_noflag(skb, PLASMATIC_INET_ULP_INFO);
	if (!start)
		return -EMSGSIZE;

	rcu_read_lock();
	ctx = rcu_dereference(inet_csk(sk)->icsk_ulp_data);
	/* Closed: only the pacer state is left (pace.h). */
	if (!ctx || pl_pace_from_ulp_data((void *)ctx))
		goto out;

	if (READ_ONCE(ctx->keys_set[PL_DIR_TX]) ||
	    READ_ONCE(ctx->keys_set[PL_DIR_RX])) {
		err = nla_put_u16(skb, PLASMATIC_INFO_VERSION, TLS_1_3_VERSION);
		if (err)
			goto out;
	}
	if (READ_ONCE(ctx->keys_set[PL_DIR_TX])) {
		err = nla_put_u16(skb, PLASMATIC_INFO_TX_CIPHER,
				  ctx->tx.cipher.type);
		if (err)
			goto out;
	}
	if (READ_ONCE(ctx->keys_set[PL_DIR_TX])) {
		err = pl_diag_put_tpl(skb, &ctx->tx.tpl);
		if (err)
			goto out;
	}
	if (READ_ONCE(ctx->keys_set[PL_DIR_RX])) {
		err = nla_put_u16(skb, PLASMATIC_INFO_RX_CIPHER,
				  ctx->rx.cipher.type);
		if (!err && READ_ONCE(ctx->rx.no_pad))
			err = nla_put_flag(skb, PLASMATIC_INFO_RX_NO_PAD);
		if (err)
			goto out;
	}
	for (dir = 0; dir < PL_NUM_DIRS; dir++) {
		if (!READ_ONCE(ctx->eem_set[dir]))
			continue;
		err = nla_put_u8(skb, PLASMATIC_INFO_FRAMING,
				 ctx->eem_info[dir].framing) ?:
		      nla_put_u8(skb, PLASMATIC_INFO_EEM_LEN,
				 ctx->eem_info[dir].eem_len);
		break;
	}
out:
	rcu_read_unlock();
	if (err) {
		nla_nest_cancel(skb, start);
		return err;
	}
	nla_nest_end(skb, start);
	return 0;
}

size_t pl_diag_get_info_size(const struct sock *sk PL_DIAG_NET_ADMIN_ARG)
{
	return nla_total_size(0) +			/* nest */
	       nla_total_size(sizeof(u16)) * 3 +	/* version, ciphers */
	       nla_total_size(sizeof(u8)) * 3 +	/* framing, EEM, mode */
	       nla_total_size(0) +			/* RX_NO_PAD */
	       nla_total_size_64bit(sizeof(u64)) * 4;	/* TPL counters */
}
