/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where `plasmatic relay` may connect to (netpolicy.c): no address of the
 * relay's own networks (loopback, RFC 1918, ULA, link-local, ...) unless an
 * --allow CIDR covers it, so that a client cannot reach into them (SSRF).
 *
 * Addresses are compared as IPv6: an IPv4 address a.b.c.d is
 * ::ffff:a.b.c.d, an IPv4 CIDR a.b.c.d/n is ::ffff:a.b.c.d/(96 + n), so a
 * rule for IPv4 covers the IPv4-mapped IPv6 form of its addresses too.  An
 * IPv6 address that embeds an IPv4 one (NAT64 64:ff9b::/96, 6to4
 * 2002::/16) is checked for that IPv4 address as well.
 */
#ifndef PLASMATIC_CLI_NETPOLICY_H
#define PLASMATIC_CLI_NETPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct np_cidr {
	uint8_t addr[16];	/* network address, host bits zero */
	unsigned int prefix;	/* 0..128, of the IPv6 form */
};

/*
 * "10.0.0.0/8", "fd00::/8", "192.0.2.1" (a /32), "::1" (a /128).  Host
 * bits set in the address ("10.0.0.1/8") are an error: the rule would not
 * say what it looks like.  0, or -1 with the reason in err.
 */
int np_parse_cidr(const char *s, struct np_cidr *out, char *err,
		  size_t errlen);

/* A sockaddr_in or sockaddr_in6 as 16 bytes of IPv6: 0, or -1 for
 * another family. */
int np_addr16(const struct sockaddr *sa, uint8_t out[16]);

/*
 * Whether the relay may connect to sa: NULL if so; else what forbids it
 * ("loopback", "private (RFC 1918)", ...), a static string.  The allow
 * rules (n of them) override the built-in ranges.
 */
const char *np_check(const struct sockaddr *sa, const struct np_cidr *allow,
		     size_t n);

#endif
