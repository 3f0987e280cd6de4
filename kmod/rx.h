/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _PLASMATIC_RX_H
#define _PLASMATIC_RX_H

#include <linux/poll.h>

#include "compat.h"
#include "context.h"

struct pipe_inode_info;

void pl_rx_init(struct plasmatic_context *ctx);
void pl_rx_start(struct sock *sk, struct plasmatic_context *ctx);
void pl_rx_rekey(struct sock *sk, struct plasmatic_context *ctx,
		 struct pl_cipher *next);
void pl_rx_stop(struct sock *sk, struct plasmatic_context *ctx);
void pl_rx_release(struct plasmatic_context *ctx);
void pl_rx_data_ready(struct sock *sk);
int pl_recvmsg(struct sock *sk, struct msghdr *msg, size_t len, int flags
	       PL_RECVMSG_ADDR_LEN_ARG);
ssize_t pl_splice_read(struct socket *sock, loff_t *ppos,
		       struct pipe_inode_info *pipe, size_t len,
		       unsigned int flags);
__poll_t pl_poll(struct file *file, struct socket *sock,
		 struct poll_table_struct *wait);

/*
 * Whether a record of the peer failed its checks (SPEC 7): rx.err is then
 * the cause's errno (EBADMSG, EINVAL, EMSGSIZE), not a received alert's
 * ECONNRESET.  Lockless.
 */
static inline bool pl_rx_failed(const struct plasmatic_context *ctx)
{
	int err = READ_ONCE(ctx->rx.err);

	return err && err != -ECONNRESET;
}

#endif /* _PLASMATIC_RX_H */
