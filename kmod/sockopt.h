/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _PLASMATIC_SOCKOPT_H
#define _PLASMATIC_SOCKOPT_H

#include <linux/sockptr.h>

struct sock;

int pl_setsockopt(struct sock *sk, int level, int optname, sockptr_t optval,
		  unsigned int optlen);
int pl_getsockopt(struct sock *sk, int level, int optname,
		  char __user *optval, int __user *optlen);

#endif /* _PLASMATIC_SOCKOPT_H */
