// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of the relay's address policy (netpolicy.c), TAP lines
 * ("ok N ..." / "not ok N ..."): every refused range at its edges,
 * IPv4-mapped and NAT64/6to4 forms, public addresses, --allow overriding,
 * and malformed CIDRs refused with their reason.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "netpolicy.h"

static int n, failed;

static void result(int good, const char *fmt, const char *a, const char *b)
{
	n++;
	failed += !good;
	printf("%sok %d ", good ? "" : "not ", n);
	printf(fmt, a, b);
	printf("\n");
}

static int to_sa(const char *ip, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (void *)ss;
	struct sockaddr_in6 *s6 = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

/* want: a substring of the reason, or NULL for allowed. */
static void expect(const char *ip, const char *want, const struct np_cidr *allow,
		   size_t nallow)
{
	struct sockaddr_storage ss;
	const char *why;

	if (to_sa(ip, &ss)) {
		result(0, "%s parses%s", ip, "");
		return;
	}
	why = np_check((struct sockaddr *)&ss, allow, nallow);
	if (!want)
		result(!why, "%s allowed%s", ip, nallow ? " (--allow)" : "");
	else
		result(why && strstr(why, want), "%s refused: %s", ip,
		       why ? why : "(allowed!)");
}

static void bad_cidr(const char *s, const char *want)
{
	struct np_cidr c;
	char err[160] = "";

	result(np_parse_cidr(s, &c, err, sizeof(err)) && strstr(err, want),
	       "malformed CIDR '%s' rejected: %s", s, err);
}

int main(void)
{
	static const struct { const char *ip, *why; } cases[] = {
		/* IPv4: each range at its first and last address */
		{ "0.0.0.0", "this network" }, { "0.255.255.255", "this network" },
		{ "10.0.0.0", "RFC 1918" }, { "10.255.255.255", "RFC 1918" },
		{ "100.64.0.0", "CGNAT" }, { "100.127.255.255", "CGNAT" },
		{ "127.0.0.1", "loopback" }, { "127.255.255.254", "loopback" },
		{ "169.254.0.1", "link-local" }, { "169.254.255.255", "link-local" },
		{ "172.16.0.0", "RFC 1918" }, { "172.31.255.255", "RFC 1918" },
		{ "192.0.0.8", "IETF" }, { "192.0.2.1", "TEST-NET-1" },
		{ "192.168.0.1", "RFC 1918" }, { "192.168.255.255", "RFC 1918" },
		{ "198.18.0.1", "benchmarking" }, { "198.19.255.255", "benchmarking" },
		{ "198.51.100.7", "TEST-NET-2" }, { "203.0.113.9", "TEST-NET-3" },
		{ "224.0.0.1", "multicast" }, { "239.255.255.255", "multicast" },
		{ "240.0.0.1", "reserved" }, { "255.255.255.255", "reserved" },
		/* IPv4: just outside them */
		{ "1.1.1.1", NULL }, { "9.255.255.255", NULL }, { "11.0.0.0", NULL },
		{ "100.63.255.255", NULL }, { "100.128.0.0", NULL },
		{ "126.255.255.255", NULL }, { "128.0.0.0", NULL },
		{ "169.253.255.255", NULL }, { "172.15.255.255", NULL },
		{ "172.32.0.0", NULL }, { "192.167.255.255", NULL },
		{ "192.169.0.0", NULL }, { "223.255.255.255", NULL },
		{ "8.8.8.8", NULL },
		/* IPv6 */
		{ "::", "unspecified" }, { "::1", "loopback" },
		{ "::10.0.0.1", "IPv4-compatible" },
		{ "fc00::1", "unique local" }, { "fdff:ffff::1", "unique local" },
		{ "fe80::1", "link-local" }, { "febf:ffff::1", "link-local" },
		{ "fec0::1", "site-local" }, { "ff02::1", "multicast" },
		{ "ff0e::1", "multicast" }, { "2001:db8::1", "documentation" },
		{ "100::1", "discard" }, { "2001::1", "Teredo" },
		{ "64:ff9b:1::1", "NAT64" },
		{ "2606:4700::1111", NULL }, { "2a00:1450::1", NULL },
		{ "fbff:ffff::1", NULL }, { "fe00::1", NULL },
		/* IPv4-mapped IPv6 of the IPv4 ranges, and embedded IPv4 */
		{ "::ffff:127.0.0.1", "loopback" }, { "::ffff:10.1.2.3", "RFC 1918" },
		{ "::ffff:169.254.169.254", "link-local" },
		{ "::ffff:0.0.0.0", "this network" }, { "::ffff:100.64.0.1", "CGNAT" },
		{ "::ffff:8.8.8.8", NULL },
		{ "64:ff9b::127.0.0.1", "loopback" }, { "64:ff9b::10.0.0.1", "RFC 1918" },
		{ "64:ff9b::8.8.8.8", NULL },
		{ "2002:7f00:1::1", "loopback" }, { "2002:a00:1::", "RFC 1918" },
		{ "2002:808:808::1", NULL },
	};
	struct np_cidr allow[4];
	char err[160];
	int ok = 1;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect(cases[i].ip, cases[i].why, NULL, 0);

	/* --allow: overrides exactly its networks, both forms of IPv4 */
	ok &= !np_parse_cidr("10.1.0.0/16", &allow[0], err, sizeof(err));
	ok &= !np_parse_cidr("fd00:1::/32", &allow[1], err, sizeof(err));
	ok &= !np_parse_cidr("127.0.0.1", &allow[2], err, sizeof(err));
	ok &= !np_parse_cidr("::ffff:192.168.7.0/120", &allow[3], err,
			     sizeof(err));
	result(ok, "good CIDRs parse%s%s", "", "");
	expect("10.1.0.1", NULL, allow, 4);
	expect("10.1.255.255", NULL, allow, 4);
	expect("::ffff:10.1.2.3", NULL, allow, 4);
	expect("10.2.0.1", "RFC 1918", allow, 4);
	expect("10.0.255.255", "RFC 1918", allow, 4);
	expect("fd00:1:ffff::1", NULL, allow, 4);
	expect("fd00:2::1", "unique local", allow, 4);
	expect("127.0.0.1", NULL, allow, 4);
	expect("127.0.0.2", "loopback", allow, 4);
	expect("192.168.7.200", NULL, allow, 4);
	expect("192.168.8.1", "RFC 1918", allow, 4);
	expect("64:ff9b::10.1.0.5", NULL, allow, 4);
	expect("8.8.8.8", NULL, allow, 4);

	/* malformed */
	bad_cidr("10.0.0.0/33", "bad prefix length");
	bad_cidr("10.0.0.0/", "bad prefix length");
	bad_cidr("10.0.0.0/-1", "bad prefix length");
	bad_cidr("10.0.0.0/8x", "bad prefix length");
	bad_cidr("10.0.0.0/08", "bad prefix length");
	bad_cidr("fd00::/129", "bad prefix length");
	bad_cidr("10.0.0.1/8", "host bits set");
	bad_cidr("fd00::1/8", "host bits set");
	bad_cidr("10.0.0", "not an IPv4 or IPv6 address");
	bad_cidr("example.com/24", "not an IPv4 or IPv6 address");
	bad_cidr("", "not an IPv4 or IPv6 address");
	bad_cidr("1.2.3.4.5/32", "not an IPv4 or IPv6 address");
	bad_cidr("::g/64", "not an IPv4 or IPv6 address");
	bad_cidr("0123456789012345678901234567890123456789012345678901234567890123/8",
		 "too long");

	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
