// SPDX-License-Identifier: GPL-2.0
/* The sock_diag dump of sockdiag.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "sockdiag.h"

int pl_nla_each(const void *p, int len,
		void (*fn)(const struct nlattr *a, void *arg), void *arg)
{
	const struct nlattr *a = p;

	while (len >= (int)sizeof(*a)) {
		if (a->nla_len < sizeof(*a) || a->nla_len > len)
			return -1;
		fn(a, arg);
		len -= NLA_ALIGN(a->nla_len);
		a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
	return 0;
}

int pl_sock_diag_dump(int family,
		      void (*fn)(const struct inet_diag_msg *m, const void *attrs,
				 int len, void *arg),
		      void *arg)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = 1,
		},
		.r = {
			.sdiag_family = family,
			.sdiag_protocol = IPPROTO_TCP,
			.idiag_ext = 1 << (INET_DIAG_INFO - 1),
			.idiag_states = ~0U,
		},
	};
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	size_t cap = 1 << 16;
	long *buf = malloc(cap);
	int fd = -1, err = 0, done = 0;

	if (!buf)
		return -ENOMEM;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0 ||
	    sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&nl, sizeof(nl)) < 0) {
		err = -errno;
		goto out;
	}
	while (!done) {
		ssize_t n = recv(fd, buf, cap, 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n ? -errno : -EPIPE;
			goto out;
		}
		for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			const struct inet_diag_msg *m = NLMSG_DATA(h);

			if (h->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
				goto out;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) ||
			    m->idiag_family != family)
				continue;
			fn(m, (const char *)m + NLMSG_ALIGN(sizeof(*m)),
			   h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)), arg);
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}
