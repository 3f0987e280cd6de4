/* SPDX-License-Identifier: GPL-2.0 */
/* A connected TCP pair over loopback (IPv4 or IPv6), for the selftests. */
#ifndef PLASMATIC_SELFTEST_SOCKPAIR_H
#define PLASMATIC_SELFTEST_SOCKPAIR_H

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct pl_sockpair {
	int a;	/* connecting side */
	int b;	/* accepted side */
};

/*
 * A connected TCP pair over the loopback address of @family (AF_INET:
 * 127.0.0.1, AF_INET6: ::1).  Returns 0 or -errno; on success both ends
 * are connected and blocking.
 */
static inline int pl_sockpair_tcp_af(struct pl_sockpair *sp, int family)
{
	struct sockaddr_storage addr = { .ss_family = family };
	socklen_t len = family == AF_INET6 ? sizeof(struct sockaddr_in6) :
					     sizeof(struct sockaddr_in);
	int lfd, err = 0;

	sp->a = sp->b = -1;
	if (family == AF_INET6)
		((struct sockaddr_in6 *)&addr)->sin6_addr = in6addr_loopback;
	else
		((struct sockaddr_in *)&addr)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	if (bind(lfd, (struct sockaddr *)&addr, len) ||
	    listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &len))
		goto fail;
	sp->a = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sp->a < 0 || connect(sp->a, (struct sockaddr *)&addr, len))
		goto fail;
	sp->b = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (sp->b < 0)
		goto fail;
	close(lfd);
	return 0;
fail:
	err = -errno;
	if (sp->a >= 0)
		close(sp->a);
	close(lfd);
	sp->a = sp->b = -1;
	return err;
}

/* Over 127.0.0.1. */
static inline int pl_sockpair_tcp(struct pl_sockpair *sp)
{
	return pl_sockpair_tcp_af(sp, AF_INET);
}

static inline void pl_sockpair_close(struct pl_sockpair *sp)
{
	if (sp->a >= 0)
		close(sp->a);
	if (sp->b >= 0)
		close(sp->b);
	sp->a = sp->b = -1;
}

#endif
