/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _PLASMATIC_DIAG_H
#define _PLASMATIC_DIAG_H

#include "compat.h"

int pl_diag_get_info(struct sock *sk,
		     struct sk_buff *skb PL_DIAG_NET_ADMIN_ARG);
size_t pl_diag_get_info_size(const struct sock *sk PL_DIAG_NET_ADMIN_ARG);

#endif /* _PLASMATIC_DIAG_H */
