/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kernel pair selftests (plasmatic_test.c, observe_test.c) share.
 * Their fixtures hold a TCP pair over loopback (sockpair.h), a connecting
 * and b accepted, the key material of each direction, ab (a->b) and ba
 * (b->a), and, when a test wants one, a raw peer on b (plpeer.h):
 *
 *  - PL_PAIR_FIELDS: those members, in the FIXTURE();
 *  - PL_PAIR_SETUP(seed) in FIXTURE_SETUP(): the pair, no peer, and keys
 *    for the variant (key material from seed for ab, seed + 0x100 for ba);
 *  - PL_PAIR_TEARDOWN() in FIXTURE_TEARDOWN(): closes and frees them;
 *  - UPGRADE_BOTH(), UPGRADE_RAW() in tests: both ends upgraded, or a
 *    upgraded and b driven by the raw peer;
 *  - PL_VARIANT(fixture): the variant (cipher, framing, EEM length), and
 *    PL_VARIANT_ADD() / PL_VARIANTS() to add instances of it;
 *  - xmalloc(), send_type() / recv_type() (a record of a given content
 *    type), hs_msg (handshake content for control records), PEER_TMO;
 *  - stat_get(): a counter of /proc/net/plasmatic_stat (STAT_FILE);
 *  - PL_HARNESS_MAIN (plmain.h): main(), with the subset named by
 *    PLASMATIC_TESTS and PLASMATIC_VARIANTS, for development.
 *
 * The macros use the harness's self, variant and _metadata; include this
 * after kselftest_harness.h.
 */
#ifndef PLASMATIC_SELFTEST_PLFIXTURE_H
#define PLASMATIC_SELFTEST_PLFIXTURE_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "sockpair.h"
#include "plpeer.h"
#include "plmain.h"

#define PEER_TMO	10000	/* ms: a record that has not come by then never will */

static inline void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		perror("malloc");
		abort();
	}
	return p;
}

/* sendmsg with a PLASMATIC_RECORD_TYPE cmsg. */
static inline ssize_t send_type(int fd, uint8_t type, const void *data, size_t len,
				int flags)
{
	char cbuf[CMSG_SPACE(1)] = { 0 };
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = getenv("PLASMATIC_TEST_KTLS") ? 282 /* SOL_TLS */ : SOL_PLASMATIC;
	cm->cmsg_type = PLASMATIC_RECORD_TYPE;	/* = TLS_SET_RECORD_TYPE */
	cm->cmsg_len = CMSG_LEN(1);
	*CMSG_DATA(cm) = type;
	msg.msg_controllen = cm->cmsg_len;
	return sendmsg(fd, &msg, flags);
}

/*
 * recvmsg with room for a record-type cmsg (which control records need);
 * *type is the cmsg's content type, or -1 if no such cmsg came.
 */
static inline ssize_t recv_type(int fd, int *type, void *data, size_t len, int flags)
{
	char cbuf[CMSG_SPACE(16)];
	struct iovec iov = { .iov_base = data, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	ssize_t n = recvmsg(fd, &msg, flags);

	*type = -1;
	if (n < 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if ((cm->cmsg_level == SOL_PLASMATIC &&
		     cm->cmsg_type == PLASMATIC_RECORD_TYPE) ||
		    (getenv("PLASMATIC_TEST_KTLS") && cm->cmsg_level == 282 &&
		     cm->cmsg_type == TLS_GET_RECORD_TYPE))
			*type = *CMSG_DATA(cm);
	return n;
}

/* Handshake content for control records: a NewSessionTicket-shaped message. */
static const uint8_t hs_msg[] = { 0x04, 0x00, 0x00, 0x09, 0x00, 0x00, 0x0e, 0x10,
				  0x01, 0x02, 0x03, 0x04, 0x00 };

/* ---- variants: cipher suite, framing, EEM length ---- */

#define PL_VARIANT(fixture) \
	FIXTURE_VARIANT(fixture) \
	{ \
		uint16_t cipher; \
		uint8_t framing; \
		uint8_t eem_len; \
	}

#define PL_VARIANT_ADD(fixture, name, cipher_, framing_, eem_len_) \
	FIXTURE_VARIANT_ADD(fixture, name) \
	{ \
		.cipher = (cipher_), \
		.framing = PLASMATIC_FRAMING_##framing_, \
		.eem_len = (eem_len_), \
	}

/* Each cipher suite with each framing, in this order, with their EEM lengths. */
#define PL_VARIANTS(fixture, l128d, l128c, l256d, l256c, lchd, lchc) \
	PL_VARIANT_ADD(fixture, aes128gcm_detached, TLS_CIPHER_AES_GCM_128, DETACHED, l128d); \
	PL_VARIANT_ADD(fixture, aes128gcm_covered, TLS_CIPHER_AES_GCM_128, COVERED, l128c); \
	PL_VARIANT_ADD(fixture, aes256gcm_detached, TLS_CIPHER_AES_GCM_256, DETACHED, l256d); \
	PL_VARIANT_ADD(fixture, aes256gcm_covered, TLS_CIPHER_AES_GCM_256, COVERED, l256c); \
	PL_VARIANT_ADD(fixture, chacha20_detached, TLS_CIPHER_CHACHA20_POLY1305, DETACHED, lchd); \
	PL_VARIANT_ADD(fixture, chacha20_covered, TLS_CIPHER_CHACHA20_POLY1305, COVERED, lchc)

/* ---- the pair ---- */

#define PL_PAIR_FIELDS \
	int a, b;		/* a: connecting side, b: accepted side */ \
	struct pl_keys ab, ba;	/* key material of a->b and of b->a */ \
	struct pl_peer *peer	/* raw peer on b, when a test uses one */

#define PL_PAIR_SETUP(seed) do { \
	struct pl_sockpair __sp; \
	\
	signal(SIGPIPE, SIG_IGN); \
	self->a = self->b = -1; \
	self->peer = NULL; \
	ASSERT_EQ(0, pl_sockpair_tcp(&__sp)); \
	self->a = __sp.a; \
	self->b = __sp.b; \
	pl_keys_init(&self->ab, variant->cipher, variant->framing, variant->eem_len, \
		     (seed) + variant->cipher * 2 + variant->framing); \
	pl_keys_init(&self->ba, variant->cipher, variant->framing, variant->eem_len, \
		     (seed) + 0x100 + variant->cipher * 2 + variant->framing); \
} while (0)

#define PL_PAIR_TEARDOWN() do { \
	if (self->a >= 0) \
		close(self->a); \
	if (self->b >= 0) \
		close(self->b); \
	if (self->peer) { \
		pl_peer_free(self->peer); \
		free(self->peer); \
	} \
} while (0)

/* Both ends upgraded: a sends with ab and receives with ba, b the reverse. */
#define UPGRADE_BOTH() do { \
	ASSERT_EQ(0, pl_upgrade(self->a, &self->ab, &self->ba)); \
	ASSERT_EQ(0, pl_upgrade(self->b, &self->ba, &self->ab)); \
} while (0)

/* a upgraded (TX ab, RX ba); b raw, with an engine peer. */
#define UPGRADE_RAW() do { \
	ASSERT_EQ(0, pl_upgrade(self->a, &self->ab, &self->ba)); \
	self->peer = xmalloc(sizeof(*self->peer)); \
	ASSERT_EQ(0, pl_peer_init(self->peer, self->b, &self->ab, &self->ba)); \
} while (0)

#define STAT_FILE "/proc/net/plasmatic_stat"

/* Value of counter `name` in STAT_FILE, or -1 if absent. */
static inline long stat_get(const char *name)
{
	char line[256], key[128];
	unsigned long val;
	long ret = -1;
	FILE *f = fopen(STAT_FILE, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %lu", key, &val) == 2 && !strcmp(key, name))
			ret = val;
	fclose(f);
	return ret;
}

#endif
