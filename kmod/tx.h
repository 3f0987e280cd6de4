/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _PLASMATIC_TX_H
#define _PLASMATIC_TX_H

#include "compat.h"
#include "context.h"

void pl_tx_init(struct plasmatic_context *ctx);
void pl_tx_release(struct plasmatic_context *ctx);
int pl_sendmsg(struct sock *sk, struct msghdr *msg, size_t size);
#if PL_HAVE_SENDPAGE
int pl_sendpage(struct sock *sk, struct page *page, int offset, size_t size,
		int flags);
#endif
void pl_splice_eof(struct socket *sock);
void pl_tx_write_space(struct sock *sk);
int pl_tx_flush(struct sock *sk, struct plasmatic_context *ctx, int flags);
int pl_tx_alert(struct sock *sk, struct plasmatic_context *ctx, u8 level,
		u8 desc, int flags);
void pl_tx_schedule(struct plasmatic_context *ctx);
int pl_tx_lock(struct plasmatic_context *ctx);
void pl_tx_unlock(struct plasmatic_context *ctx);
void pl_tx_close(struct sock *sk, struct plasmatic_context *ctx, int flags);
int pl_tx_key_update(struct sock *sk, struct plasmatic_context *ctx,
		     int requested);
int pl_tx_rekey(struct sock *sk, struct plasmatic_context *ctx,
		struct pl_cipher *next);

#endif /* _PLASMATIC_TX_H */
