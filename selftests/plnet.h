/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What tpl_test and pace_test share: sh(), tpl_set(), and a veth between
 * our network namespace and a child's, for a receiver the tests capture
 * the traffic to:
 *
 *   ours:  va, 10.NET.0.1/24        the child's:  vb, 10.NET.0.2/24
 *
 *   parent                              child (fork()ed)
 *                                       l = plnet_child_listen(up, down, NET, PORT, NULL);
 *   plnet_link(up, down, pid, NET);     (unshares, waits for vb, listens)
 *   connect to plnet_addr(NET, 2)       accept(l), read...
 *   ...                                 plnet_child_end(up, down);
 *   write(down, "q"); waitpid(pid)      (its namespace lives until then)
 *   sh("ip link del va")
 *
 * up and down are the two ends a pipe() each: up[1], down[0] for the
 * child, up[0], down[1] for the parent.
 */
#ifndef PLNET_H
#define PLNET_H

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/plasmatic.h>

/* system() of a formatted command. */
static inline int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static inline int tpl_set(int fd, int opt, uint8_t mode, uint8_t flags, uint64_t seed)
{
	struct plasmatic_tpl t = { .mode = mode, .flags = flags, .seed = seed };

	return setsockopt(fd, SOL_PLASMATIC, opt, &t, sizeof(t)) ? -errno : 0;
}

/* 10.NET.0.HOST, in network order. */
static inline uint32_t plnet_addr(int net, int host)
{
	return htonl(0x0a000000u | (uint32_t)net << 16 | (uint32_t)host);
}

/*
 * Child: into a network namespace of its own, vb up as 10.NET.0.2 once the
 * parent moved it there, @ingress (if any) as a tc ingress filter on vb,
 * and a socket listening on @port.  The socket, or -1..-4 (which step
 * failed, for an exit status).
 */
static inline int plnet_child_listen(int up, int down, int net, uint16_t port,
				     const char *ingress)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET, .sin_port = htons(port),
		.sin_addr.s_addr = plnet_addr(net, 2),
	};
	int one = 1, l;
	char ch;

	if (unshare(CLONE_NEWNET) || write(up, "u", 1) != 1 || read(down, &ch, 1) != 1)
		return -1;
	if (sh("ip link set lo up && ip addr add 10.%d.0.2/24 dev vb && ip link set vb up", net))
		return -2;
	if (ingress && sh("tc qdisc add dev vb ingress && tc filter add dev vb ingress %s",
			  ingress))
		return -3;
	l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (void *)&sa, sizeof(sa)) || listen(l, 1) || write(up, "l", 1) != 1)
		return -4;
	return l;
}

/*
 * Child, done receiving: say so ("d") and keep the namespace (and the
 * veth in it) until the parent has read its capture.  0, or -1.
 */
static inline int plnet_child_end(int up, int down)
{
	char ch;

	return write(up, "d", 1) == 1 && read(down, &ch, 1) == 1 ? 0 : -1;
}

/*
 * Parent: once the child @pid has its namespace, the veth va (10.NET.0.1,
 * ours) - vb (its), then wait until it listens.  0, or -1.
 */
static inline int plnet_link(int up, int down, pid_t pid, int net)
{
	char ch;

	if (read(up, &ch, 1) != 1)
		return -1;
	sh("ip link del va 2>/dev/null");
	if (sh("ip link add va type veth peer name vb && ip link set vb netns %d && "
	       "ip addr add 10.%d.0.1/24 dev va && ip link set va up", (int)pid, net))
		return -1;
	if (write(down, "v", 1) != 1 || read(up, &ch, 1) != 1)
		return -1;
	return 0;
}

#endif
