// SPDX-License-Identifier: GPL-2.0
/*
 * plasmatic sockets: the upgraded sockets of this network namespace, with
 * what plasmatic.ko reports of each through sock_diag (the attributes
 * `ss -tie` would print: iproute2 decodes the ULP info of tls and mptcp
 * only, so for us it shows "tcp-ulp-plasmatic" and nothing more).
 *
 * One NETLINK_SOCK_DIAG dump per address family with INET_DIAG_INFO, which
 * makes tcp_diag add INET_DIAG_ULP_INFO; the kernel gives that to
 * CAP_NET_ADMIN only, and without it no socket can be told to be ours.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/plasmatic.h>

#include "cli.h"
#include "sockdiag.h"

struct sock_info {
	int have;			/* PLASMATIC_INFO_* seen, as bits */
	uint16_t version, tx_cipher, rx_cipher;
	uint8_t framing, eem_len, mode;
	uint64_t records, pad, su_sent, su_applied;
};

#define HAVE(a)		(1 << (a))

/* An attribute's u8, u16, u32 or u64 value (0 for another size). */
static uint64_t attr_uint(const struct nlattr *a)
{
	const unsigned char *d = PL_NLA_DATA(a);
	uint16_t v16;
	uint32_t v32;
	uint64_t v = 0;

	switch (PL_NLA_PAYLOAD(a)) {
	case 1:
		v = d[0];
		break;
	case 2:
		memcpy(&v16, d, 2);
		v = v16;
		break;
	case 4:
		memcpy(&v32, d, 4);
		v = v32;
		break;
	case 8:
		memcpy(&v, d, 8);
		break;
	}
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
	const char *d = PL_NLA_DATA(a);
	int n = PL_NLA_PAYLOAD(a);

	switch (a->nla_type & NLA_TYPE_MASK) {
	case INET_ULP_INFO_NAME:
		u->ours = n >= 9 && !strncmp(d, "plasmatic", n);
		break;
	case PLASMATIC_INET_ULP_INFO:
		pl_nla_each(d, n, plasmatic_attr, &u->si);
		break;
	}
}

static void diag_attr(const struct nlattr *a, void *arg)
{
	if ((a->nla_type & NLA_TYPE_MASK) == INET_DIAG_ULP_INFO)
		pl_nla_each(PL_NLA_DATA(a), PL_NLA_PAYLOAD(a), ulp_attr, arg);
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
		printf(" (not upgraded yet)\n");
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
	if (si->have & HAVE(PLASMATIC_INFO_RX_NO_PAD))
		printf(" rx-no-pad");
	printf("\n");
}

/* pl_sock_diag_dump()'s callback: print the socket if it is ours. */
static void one(const struct inet_diag_msg *m, const void *attrs, int len, void *arg)
{
	struct ulp u = { 0 };

	pl_nla_each(attrs, len, diag_attr, &u);
	if (u.ours) {
		print_sock(m, &u.si);
		++*(int *)arg;
	}
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: plasmatic sockets\n"
"\n"
"List the Plasmatic sockets (kernel datapath) of this network namespace: state,\n"
"addresses, cipher suites, framing, EEM length, and the traffic pattern:\n"
"TX mode, records shaped, padding bytes, Seed Updates sent/applied.  Needs\n"
"CAP_NET_ADMIN: the kernel shows a socket's ULP to no one else.\n"
"(`ss -tie` shows only \"tcp-ulp-plasmatic\": iproute2 decodes tls and mptcp.)\n"
"\n"
"  -h, --help   this text\n");
}

static int run_sockets(int argc, char **argv)
{
	int rc, first, n = 0;

	rc = opt_parse(&cmd_sockets, argc, argv, NULL, &first);
	if (!rc)
		rc = opt_args(&cmd_sockets, argc, argv, first, 0, NULL);
	if (rc || cli_parse_only)
		return rc < 0 ? 0 : rc;
	rc = pl_sock_diag_dump(AF_INET, one, &n);
	if (!rc)
		rc = pl_sock_diag_dump(AF_INET6, one, &n);
	if (rc) {
		msg("cannot read the socket table (sock_diag): %s", strerror(-rc));
		return 1;
	}
	if (!n && geteuid())
		msg("none seen: without CAP_NET_ADMIN the kernel hides which sockets "
		    "are Plasmatic's (run as root)");
	return 0;
}

const struct command cmd_sockets = {
	.name = "sockets",
	.run = run_sockets,
	.usage = usage,
	.tables = (const struct optdef *const[]){ opt_help, NULL },
	.tagged = true,
};
