/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A NETLINK_SOCK_DIAG dump of TCP sockets with INET_DIAG_INFO (which makes
 * tcp_diag add INET_DIAG_ULP_INFO, for CAP_NET_ADMIN), and a walk over
 * netlink attributes: what `plasmatic sockets` and selftests/observe_test.c
 * read plasmatic.ko's per-socket numbers with.
 */
#ifndef PLASMATIC_CLI_SOCKDIAG_H
#define PLASMATIC_CLI_SOCKDIAG_H

#include <linux/inet_diag.h>
#include <linux/netlink.h>

#define PL_NLA_DATA(a)		((const void *)((const char *)(a) + NLA_HDRLEN))
#define PL_NLA_PAYLOAD(a)	((int)(a)->nla_len - NLA_HDRLEN)

/* @fn on each attribute of [p, p + len); -1 if one is malformed, else 0. */
int pl_nla_each(const void *p, int len,
		void (*fn)(const struct nlattr *a, void *arg), void *arg);

/*
 * @fn on every TCP socket of @family in this network namespace, with its
 * attributes [attrs, attrs + len).  0, or -errno (-EPIPE: the dump ended
 * early).
 */
int pl_sock_diag_dump(int family,
		      void (*fn)(const struct inet_diag_msg *m, const void *attrs,
				 int len, void *arg),
		      void *arg);

#endif
