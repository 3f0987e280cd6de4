// SPDX-License-Identifier: GPL-2.0
/*
 * plasmatic sockets: the upgraded sockets of this network namespace, with
 * what plasmatic.ko reports of each through sock_diag (the attributes
 * `ss -tie` would print: iproute2 decodes the ULP info of tls and mptcp
 * only, so for us it shows "tcp-ulp-plasmatic" and nothing more).
 *
 * One NETLINK_SOCK_DIAG dump per address family with INET_DIAG_INFO, which
 * makes tcp_diag add INET_DIAG_ULP_INFO; the kernel gives that to
 * CAP_NET_ADMIN only, so without it the sockets show without their
 * numbers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/plasmatic.h>

#include "cli.h"

struct sock_info {
	int have;			/* PLASMATIC_INFO_* seen, as bits */
	uint16_t version, tx_cipher, rx_cipher;
	uint8_t framing, eem_len, mode;
	uint64_t records, pad, su_sent, su_applied;
};

#define HAVE(a)		(1 << (a))

/* Calls @fn on each attribute of [p, p + len); -1 if one is malformed. */
static int each_attr(const void *p, int len, void (*fn)(const struct nlattr *, void *),
		     void *arg)
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

static uint64_t attr_uint(const struct nlattr *a)
{
	const unsigned char *d = (const unsigned char *)a + NLA_HDRLEN;
	int n = a->nla_len - NLA_HDRLEN;
	uint64_t v = 0;

	if (n == 1)
		v = d[0];
	else if (n == 2)
		v = *(const uint16_t *)(const void *)d;
	else if (n == 4)
		v = *(const uint32_t *)(const void *)d;
	else if (n == 8)
		memcpy(&v, d, 8);
	return v;
}

static void plasmatic_attr(const struct nlattr *a, void *arg)
{
	struct sock_info *si = arg;
	int t = a->nla_type & NLA_TYPE_MASK;
	uint64_t v = attr_uint(a);

	if (t <= 0 || t > PLASMATIC_INFO_MAX)
		return;
	si->have |= HAVE(t);
	switch (t) {
	case PLASMATIC_INFO_VERSION: si->version = v; break;
	case PLASMATIC_INFO_TX_CIPHER: si->tx_cipher = v; break;
	case PLASMATIC_INFO_RX_CIPHER: si->rx_cipher = v; break;
	case PLASMATIC_INFO_FRAMING: si->framing = v; break;
	case PLASMATIC_INFO_EEM_LEN: si->eem_len = v; break;
	case PLASMATIC_INFO_TPL_MODE: si->mode = v; break;
	case PLASMATIC_INFO_TPL_RECORDS: si->records = v; break;
	case PLASMATIC_INFO_TPL_PAD: si->pad = v; break;
	case PLASMATIC_INFO_SU_SENT: si->su_sent = v; break;
	case PLASMATIC_INFO_SU_APPLIED: si->su_applied = v; break;
	}
}

struct ulp {
	int ours;
	struct sock_info si;
};

static void ulp_attr(const struct nlattr *a, void *arg)
{
	struct ulp *u = arg;
	const char *d = (const char *)a + NLA_HDRLEN;
	int n = a->nla_len - NLA_HDRLEN;

	switch (a->nla_type & NLA_TYPE_MASK) {
	case INET_ULP_INFO_NAME:
		u->ours = n >= 9 && !strncmp(d, "plasmatic", n);
		break;
	case PLASMATIC_INET_ULP_INFO:
		each_attr(d, n, plasmatic_attr, &u->si);
		break;
	}
}

static void diag_attr(const struct nlattr *a, void *arg)
{
	if ((a->nla_type & NLA_TYPE_MASK) == INET_DIAG_ULP_INFO)
		each_attr((const char *)a + NLA_HDRLEN, a->nla_len - NLA_HDRLEN,
			  ulp_attr, arg);
}

static const char *cipher_name(uint16_t c)
{
	switch (c) {
	case TLS_CIPHER_AES_GCM_128: return "aes-128-gcm";
	case TLS_CIPHER_AES_GCM_256: return "aes-256-gcm";
	case TLS_CIPHER_CHACHA20_POLY1305: return "chacha20-poly1305";
	case 0: return "-";
	}
	return "?";
}

static const char *state_name(int s)
{
	static const char *const n[] = {
		"?", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
		"TIME-WAIT", "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING",
	};

	return s > 0 && s < (int)(sizeof(n) / sizeof(n[0])) ? n[s] : "?";
}

static void addr(char *out, size_t len, int family, const __be32 *a, __be16 port)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(family, a, ip, sizeof(ip));
	snprintf(out, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, ntohs(port));
}

static void print_sock(const struct inet_diag_msg *m, const struct sock_info *si)
{
	char l[64], p[64];

	addr(l, sizeof(l), m->idiag_family, m->id.idiag_src, m->id.idiag_sport);
	addr(p, sizeof(p), m->idiag_family, m->id.idiag_dst, m->id.idiag_dport);
	printf("%-11s %-24s %-24s", state_name(m->idiag_state), l, p);
	if (!(si->have & HAVE(PLASMATIC_INFO_VERSION))) {
		printf(" (no details: needs CAP_NET_ADMIN)\n");
		return;
	}
	printf(" tx %s rx %s %s eem %u", cipher_name(si->tx_cipher),
	       cipher_name(si->rx_cipher),
	       si->framing == PLASMATIC_FRAMING_COVERED ? "covered" : "detached",
	       si->eem_len);
	if (si->have & HAVE(PLASMATIC_INFO_TPL_MODE))
		printf(" mode %u records %llu pad %llu su %llu/%llu", si->mode,
		       (unsigned long long)si->records, (unsigned long long)si->pad,
		       (unsigned long long)si->su_sent, (unsigned long long)si->su_applied);
	printf("\n");
}

/* Dump @family's TCP sockets and print ours; the count, or -errno. */
static int dump(int family)
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
	static long buf[1 << 14];
	int fd, err = 0, count = 0, done = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&nl, sizeof(nl)) < 0) {
		err = -errno;
		goto out;
	}
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n ? -errno : -EPIPE;
			goto out;
		}
		for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			const struct inet_diag_msg *m = NLMSG_DATA(h);
			struct ulp u = { 0 };

			if (h->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
				goto out;
			}
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
				continue;
			each_attr((const char *)m + NLMSG_ALIGN(sizeof(*m)),
				  h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)), diag_attr, &u);
			if (!u.ours)
				continue;
			print_sock(m, &u.si);
			count++;
		}
	}
out:
	close(fd);
	return err ? err : count;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: plasmatic sockets\n"
"\n"
"List the Plasmatic sockets (kernel datapath) of this network namespace: state,\n"
"addresses, cipher suites, framing, EEM length, and the traffic pattern:\n"
"TX mode, records shaped, padding bytes, Seed Updates sent/applied.  The\n"
"details need CAP_NET_ADMIN (the kernel's rule for sock_diag's ULP info).\n"
"(`ss -tie` shows only \"tcp-ulp-plasmatic\": iproute2 decodes tls and mptcp.)\n"
"\n"
"  -h, --help   this text\n");
}

static int run_sockets(int argc, char **argv)
{
	int rc, first, n4, n6;

	rc = opt_parse(&cmd_sockets, argc, argv, NULL, &first);
	if (!rc)
		rc = opt_args(&cmd_sockets, argc, argv, first, 0, NULL);
	if (rc || cli_parse_only)
		return rc < 0 ? 0 : rc;
	n4 = dump(AF_INET);
	n6 = dump(AF_INET6);
	if (n4 < 0 || n6 < 0) {
		msg("cannot read the socket table (sock_diag): %s",
		    strerror(-(n4 < 0 ? n4 : n6)));
		return 1;
	}
	return 0;
}

const struct command cmd_sockets = {
	.name = "sockets",
	.run = run_sockets,
	.usage = usage,
	.tables = (const struct optdef *const[]){ opt_help, NULL },
	.tagged = true,
};
