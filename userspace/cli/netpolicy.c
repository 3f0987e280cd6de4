// SPDX-License-Identifier: GPL-2.0
/*
 * The relay's destination policy (netpolicy.h): the address ranges that
 * are not the public Internet (IANA's special-purpose registries, RFC 6890
 * and its updates), refused unless an --allow CIDR covers the address.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netpolicy.h"

struct range {
	const char *cidr;
	const char *why;
};

/* First match names the reason: the narrower ranges come first. */
static const struct range blocked[] = {
	{ "0.0.0.0/8", "this network (0.0.0.0/8)" },
	{ "10.0.0.0/8", "private (RFC 1918)" },
	{ "100.64.0.0/10", "shared address space (CGNAT, 100.64.0.0/10)" },
	{ "127.0.0.0/8", "loopback" },
	{ "169.254.0.0/16", "link-local" },
	{ "172.16.0.0/12", "private (RFC 1918)" },
	{ "192.0.0.0/24", "IETF protocol assignments (192.0.0.0/24)" },
	{ "192.0.2.0/24", "documentation (TEST-NET-1)" },
	{ "192.88.99.0/24", "6to4 relay anycast" },
	{ "192.168.0.0/16", "private (RFC 1918)" },
	{ "198.18.0.0/15", "benchmarking (198.18.0.0/15)" },
	{ "198.51.100.0/24", "documentation (TEST-NET-2)" },
	{ "203.0.113.0/24", "documentation (TEST-NET-3)" },
	{ "224.0.0.0/4", "multicast" },
	{ "240.0.0.0/4", "reserved (240.0.0.0/4, broadcast)" },
	{ "::/128", "unspecified" },
	{ "::1/128", "loopback" },
	{ "::/96", "IPv4-compatible IPv6 (deprecated)" },
	{ "64:ff9b:1::/48", "local-use NAT64 (64:ff9b:1::/48)" },
	{ "100::/64", "discard-only (100::/64)" },
	{ "2001::/32", "Teredo (2001::/32)" },
	{ "2001:db8::/32", "documentation (2001:db8::/32)" },
	{ "2001:10::/28", "ORCHID (2001:10::/28)" },
	{ "2001:20::/28", "ORCHIDv2 (2001:20::/28)" },
	{ "fc00::/7", "unique local (fc00::/7)" },
	{ "fe80::/10", "link-local" },
	{ "fec0::/10", "site-local (deprecated)" },
	{ "ff00::/8", "multicast" },
};

#define NBLOCKED (sizeof(blocked) / sizeof(blocked[0]))

static const uint8_t v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

static bool in_cidr(const uint8_t a[16], const struct np_cidr *c)
{
	unsigned int full = c->prefix / 8, rest = c->prefix % 8;

	if (memcmp(a, c->addr, full))
		return false;
	if (!rest)
		return true;
	return ((a[full] ^ c->addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

int np_parse_cidr(const char *s, struct np_cidr *out, char *err,
		  size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	struct in_addr a4;
	struct in6_addr a6;
	unsigned int max;
	long prefix;
	bool v4;

	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "too long for an address/prefix");
		return -1;
	}
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		v4 = true;
		memcpy(out->addr, v4mapped, 12);
		memcpy(out->addr + 12, &a4, 4);
		max = 32;
	} else if (inet_pton(AF_INET6, buf, &a6) == 1) {
		v4 = false;
		memcpy(out->addr, &a6, 16);
		max = 128;
	} else {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address",
			 buf);
		return -1;
	}
	prefix = max;
	if (slash) {
		prefix = *slash >= '0' && *slash <= '9' ?
			 strtol(slash, &end, 10) : -1;
		if (prefix < 0 || *end || prefix > (long)max ||
		    (end - slash > 1 && *slash == '0')) {
			snprintf(err, errlen, "bad prefix length '/%s': 0 to %u",
				 slash, max);
			return -1;
		}
	}
	out->prefix = (unsigned int)prefix + (v4 ? 96 : 0);
	for (unsigned int bit = out->prefix; bit < 128; bit++) {
		if (out->addr[bit / 8] & (0x80 >> (bit % 8))) {
			snprintf(err, errlen, "host bits set after /%ld "
				 "(the network is written with them zero)",
				 prefix);
			return -1;
		}
	}
	return 0;
}

int np_addr16(const struct sockaddr *sa, uint8_t out[16])
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		memcpy(out, v4mapped, 12);
		memcpy(out + 12, &s4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		memcpy(out, &s6->sin6_addr, 16);
		return 0;
	}
	return -1;
}

static const struct np_cidr *builtin(size_t i)
{
	static struct np_cidr table[NBLOCKED];
	static bool ready;
	char err[128];

	/* Parsed on first use; the table is constant and valid (the unit
	 * test checks every entry), so a race writes the same bytes. */
	if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
		for (size_t k = 0; k < NBLOCKED; k++)
			if (np_parse_cidr(blocked[k].cidr, &table[k], err,
					  sizeof(err)))
				abort();
		__atomic_store_n(&ready, true, __ATOMIC_RELEASE);
	}
	return &table[i];
}

/* The IPv4 address an IPv6 one embeds (NAT64's well-known prefix, 6to4),
 * as ::ffff:a.b.c.d: true if there is one. */
static bool embedded_v4(const uint8_t a[16], uint8_t out[16])
{
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };

	memcpy(out, v4mapped, 12);
	if (!memcmp(a, nat64, 12)) {
		memcpy(out + 12, a + 12, 4);
		return true;
	}
	if (a[0] == 0x20 && a[1] == 0x02) {
		memcpy(out + 12, a + 2, 4);
		return true;
	}
	return false;
}

static bool allowed(const uint8_t a[16], const struct np_cidr *allow,
		    size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (in_cidr(a, &allow[i]))
			return true;
	return false;
}

static const char *forbidden(const uint8_t a[16])
{
	for (size_t i = 0; i < NBLOCKED; i++)
		if (in_cidr(a, builtin(i)))
			return blocked[i].why;
	return NULL;
}

const char *np_check(const struct sockaddr *sa, const struct np_cidr *allow,
		     size_t n)
{
	uint8_t a[16], e[16];
	const char *why;

	if (np_addr16(sa, a))
		return "not an IP address";
	if (allowed(a, allow, n))
		return NULL;
	why = forbidden(a);
	if (!why && embedded_v4(a, e) && !allowed(e, allow, n))
		why = forbidden(e);
	return why;
}
