// SPDX-License-Identifier: GPL-2.0
/*
 * Observability of plasmatic.ko: what ss and the tracepoints say.
 *
 *  - diag: INET_DIAG_ULP_INFO over NETLINK_SOCK_DIAG (what ss -tie reads):
 *    INET_ULP_INFO_NAME "plasmatic" and the PLASMATIC_INET_ULP_INFO nest
 *    (version, TX and RX cipher, framing, EEM length) as set, at each step
 *    of an upgrade, for both ends of a kernel pair, over IPv4 and IPv6;
 *    and ss -tie itself, which must print "tcp-ulp-plasmatic".
 *  - trace: the events of events/plasmatic/ in a tracefs instance of our
 *    own (removed in teardown): plasmatic_tx_record / plasmatic_rx_record
 *    with the type, length, TLS sequence number and EEM counter of every
 *    record of a kernel pair; plasmatic_rx_fail with its cause and the
 *    failing record's numbers when a raw peer (plpeer.h) sends a bad
 *    record, with the bad_record_mac that follows (plasmatic_alert and
 *    its record); alerts sent and received.
 *
 * Runs as root in the test VM with plasmatic.ko loaded (selftests/run_vm.sh).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "kselftest_harness.h"
#include "plfixture.h"
#include "sockdiag.h"

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	return ntohs(ss.ss_family == AF_INET6 ?
		     ((struct sockaddr_in6 *)&ss)->sin6_port :
		     ((struct sockaddr_in *)&ss)->sin_port);
}

static uint16_t other_cipher(uint16_t cipher)
{
	return cipher == TLS_CIPHER_CHACHA20_POLY1305 ? TLS_CIPHER_AES_GCM_128 :
							TLS_CIPHER_CHACHA20_POLY1305;
}

/* ==== INET_DIAG ==== */

/* What the diag dump said about one socket. */
struct ulp_info {
	int found;		/* times the socket was in the dump */
	int ulp;		/* INET_DIAG_ULP_INFO present */
	char name[64];		/* its INET_ULP_INFO_NAME */
	int nest;		/* PLASMATIC_INET_ULP_INFO present */
	int has[PLASMATIC_INFO_MAX + 1];
	unsigned long long val[PLASMATIC_INFO_MAX + 1];
	int bad;		/* attributes of a wrong size or unknown type */
};

#define NLA_DATA(a)	PL_NLA_DATA(a)
#define NLA_PAYLOAD(a)	PL_NLA_PAYLOAD(a)

static void plasmatic_attr(const struct nlattr *a, void *arg)
{
	struct ulp_info *ui = arg;
	int type = a->nla_type & NLA_TYPE_MASK;
	int want;

	switch (type) {
	case PLASMATIC_INFO_VERSION:
	case PLASMATIC_INFO_TX_CIPHER:
	case PLASMATIC_INFO_RX_CIPHER:
		want = 2;
		break;
	case PLASMATIC_INFO_FRAMING:
	case PLASMATIC_INFO_EEM_LEN:
	case PLASMATIC_INFO_TPL_MODE:
		want = 1;
		break;
	case PLASMATIC_INFO_TPL_RECORDS:
	case PLASMATIC_INFO_TPL_PAD:
	case PLASMATIC_INFO_SU_SENT:
	case PLASMATIC_INFO_SU_APPLIED:
		want = 8;
		break;
	case PLASMATIC_INFO_RX_NO_PAD:
		want = 0;	/* a flag */
		break;
	case PLASMATIC_INFO_UNSPEC:
		return;		/* alignment padding of the u64 attributes */
	default:
		ui->bad++;
		return;
	}
	if (NLA_PAYLOAD(a) != want || ui->has[type]) {
		ui->bad++;
		return;
	}
	ui->has[type] = 1;
	if (!want)
		ui->val[type] = 1;
	else if (want == 8)
		memcpy(&ui->val[type], NLA_DATA(a), 8);
	else
		ui->val[type] = want == 2 ? *(const uint16_t *)NLA_DATA(a) :
					    *(const uint8_t *)NLA_DATA(a);
}

static void ulp_attr(const struct nlattr *a, void *arg)
{
	struct ulp_info *ui = arg;
	int len = NLA_PAYLOAD(a);

	switch (a->nla_type & NLA_TYPE_MASK) {
	case INET_ULP_INFO_NAME:
		if (len <= 0 || len >= (int)sizeof(ui->name)) {
			ui->bad++;
			return;
		}
		memcpy(ui->name, NLA_DATA(a), len);
		ui->name[len] = 0;
		if (strlen(ui->name) != (size_t)len - 1)
			ui->bad++;	/* not one NUL-terminated string */
		break;
	case PLASMATIC_INET_ULP_INFO:
		ui->nest++;
		if (pl_nla_each(NLA_DATA(a), len, plasmatic_attr, ui))
			ui->bad++;
		break;
	default:
		ui->bad++;
	}
}

static void diag_attr(const struct nlattr *a, void *arg)
{
	struct ulp_info *ui = arg;
	if ((a->nla_type & NLA_TYPE_MASK) != INET_DIAG_ULP_INFO)
		return;
	ui->ulp++;
	if (pl_nla_each(NLA_DATA(a), NLA_PAYLOAD(a), ulp_attr, ui))
		ui->bad++;
}

struct lookup {
	uint16_t sport, dport;
	struct ulp_info *ui;
};

static void lookup_one(const struct inet_diag_msg *m, const void *attrs, int len, void *arg)
{
	struct lookup *l = arg;

	if (ntohs(m->id.idiag_sport) != l->sport || ntohs(m->id.idiag_dport) != l->dport)
		return;
	l->ui->found++;
	if (pl_nla_each(attrs, len, diag_attr, l->ui))
		l->ui->bad++;
}

/*
 * Dump the TCP sockets of @family with the extension that carries
 * INET_DIAG_ULP_INFO (INET_DIAG_INFO: net/ipv4/tcp_diag.c puts the ULP
 * info with it, for CAP_NET_ADMIN) and describe the one whose local port
 * is @sport and remote port @dport.  Returns 0 or -errno.
 */
static int diag_lookup(int family, uint16_t sport, uint16_t dport,
		       struct ulp_info *ui)
{
	struct lookup l = { .sport = sport, .dport = dport, .ui = ui };

	memset(ui, 0, sizeof(*ui));
	return pl_sock_diag_dump(family, lookup_one, &l);
}

/* The diag view of fd (its local and remote ports). */
#define DIAG(family, fd, peer_fd, ui) do { \
	ASSERT_EQ(0, diag_lookup((family), local_port(fd), local_port(peer_fd), (ui))); \
	ASSERT_EQ(1, (ui)->found) TH_LOG("socket %u -> %u not in the dump exactly once", \
					 local_port(fd), local_port(peer_fd)); \
	EXPECT_EQ(0, (ui)->bad) TH_LOG("malformed or unknown attributes"); \
} while (0)

/* The socket is ours, with exactly the PLASMATIC_INFO_* attributes in mask. */
#define EXPECT_ULP(ui, mask) do { \
	EXPECT_EQ(1, (ui)->ulp) TH_LOG("no INET_DIAG_ULP_INFO"); \
	EXPECT_STREQ(PLASMATIC_ULP_NAME, (ui)->name); \
	EXPECT_EQ(1, (ui)->nest) TH_LOG("no PLASMATIC_INET_ULP_INFO nest"); \
	for (int __i = 1; __i <= PLASMATIC_INFO_MAX; __i++) { \
		EXPECT_EQ(!!((mask) & (1 << __i)), (ui)->has[__i]) \
			TH_LOG("PLASMATIC_INFO attribute %d %s", __i, \
			       (ui)->has[__i] ? "present" : "missing"); \
	} \
} while (0)

#define BIT(i)		(1 << (i))
/* The TPL attributes come with TX keys. */
#define TPL_INFO	(BIT(PLASMATIC_INFO_TPL_MODE) | BIT(PLASMATIC_INFO_TPL_RECORDS) | \
			 BIT(PLASMATIC_INFO_TPL_PAD) | BIT(PLASMATIC_INFO_SU_SENT) | \
			 BIT(PLASMATIC_INFO_SU_APPLIED))
#define ALL_INFO	(BIT(PLASMATIC_INFO_VERSION) | BIT(PLASMATIC_INFO_TX_CIPHER) | \
			 BIT(PLASMATIC_INFO_RX_CIPHER) | BIT(PLASMATIC_INFO_FRAMING) | \
			 BIT(PLASMATIC_INFO_EEM_LEN) | TPL_INFO)

FIXTURE(diag)
{
	PL_PAIR_FIELDS;
};

PL_VARIANT(diag);

/* EEM lengths: others than plasmatic_test's, for the covered framing. */
PL_VARIANTS(diag, 80, 200, 255, 64, 48, 123);

FIXTURE_SETUP(diag)
{
	PL_PAIR_SETUP(0x300);
}

FIXTURE_TEARDOWN(diag)
{
	PL_PAIR_TEARDOWN();
}

/* Every attribute of a fully upgraded socket, as set. */
#define EXPECT_FULL(ui, tx_cipher, rx_cipher) do { \
	EXPECT_ULP(ui, ALL_INFO); \
	EXPECT_EQ(TLS_1_3_VERSION, (ui)->val[PLASMATIC_INFO_VERSION]); \
	EXPECT_EQ((tx_cipher), (ui)->val[PLASMATIC_INFO_TX_CIPHER]); \
	EXPECT_EQ((rx_cipher), (ui)->val[PLASMATIC_INFO_RX_CIPHER]); \
	EXPECT_EQ(variant->framing, (ui)->val[PLASMATIC_INFO_FRAMING]); \
	EXPECT_EQ(variant->eem_len, (ui)->val[PLASMATIC_INFO_EEM_LEN]); \
} while (0)

/*
 * Both ends of a kernel pair, with records exchanged: each reports
 * version, ciphers, framing and EEM length.  A plain TCP pair next to it
 * has no ULP info at all (and so shows the lookup tells them apart).
 */
TEST_F(diag, both_ends_of_a_kernel_pair)
{
	struct pl_sockpair plain;
	struct ulp_info ui;
	char buf[16];

	UPGRADE_BOTH();
	ASSERT_EQ(5, send(self->a, "hello", 5, 0));
	ASSERT_EQ(5, recv(self->b, buf, 5, MSG_WAITALL));
	ASSERT_EQ(3, send(self->b, "bye", 3, 0));
	ASSERT_EQ(3, recv(self->a, buf, 3, MSG_WAITALL));

	DIAG(AF_INET, self->a, self->b, &ui);
	EXPECT_FULL(&ui, variant->cipher, variant->cipher);
	DIAG(AF_INET, self->b, self->a, &ui);
	EXPECT_FULL(&ui, variant->cipher, variant->cipher);

	ASSERT_EQ(0, pl_sockpair_tcp(&plain));
	DIAG(AF_INET, plain.a, plain.b, &ui);
	EXPECT_EQ(0, ui.ulp);
	EXPECT_EQ(0, ui.nest);
	pl_sockpair_close(&plain);
}

/*
 * Both ends upgraded; a shapes in mode 1 (locked) and sends b a Seed Update
 * to mode 5 with 3000 bytes, and b answers, so that b has applied it.
 */
static void tpl_exchange(struct __test_metadata *_metadata, FIXTURE_DATA(diag) *self)
{
	struct plasmatic_tpl t = { .mode = 1, .flags = PLASMATIC_TPL_LOCK, .seed = 9 };
	char buf[3000];

	ASSERT_EQ(0, pl_upgrade(self->a, &self->ab, &self->ba));
	ASSERT_EQ(0, pl_upgrade(self->b, &self->ba, &self->ab));
	ASSERT_EQ(0, setsockopt(self->a, SOL_PLASMATIC, PLASMATIC_TPL_TX, &t, sizeof(t)));
	t.mode = 5;
	ASSERT_EQ(0, setsockopt(self->a, SOL_PLASMATIC, PLASMATIC_SEED_UPDATE, &t,
				sizeof(t)));
	memset(buf, 'x', sizeof(buf));
	ASSERT_EQ(3000, send(self->a, buf, 3000, 0));
	ASSERT_EQ(3000, recv(self->b, buf, 3000, MSG_WAITALL));
	ASSERT_EQ(3, send(self->b, "bye", 3, 0));
	ASSERT_EQ(3, recv(self->a, buf, 3, MSG_WAITALL));
}

/*
 * The TPL attributes: a shapes in mode 1 and sends b a Seed Update
 * (mode 5, locked); once b has read it and sent, b counts it applied.
 * The numbers are those of getsockopt PLASMATIC_TPL_TX and of
 * /proc/net/plasmatic_stat.
 */
TEST_F(diag, tpl_counters)
{
	long recs0 = stat_get("PlasmaticTplRecords");
	long pad0 = stat_get("PlasmaticTplPadBytes");
	long sent0 = stat_get("PlasmaticTplSeedUpdatesSent");
	long applied0 = stat_get("PlasmaticTplSeedUpdatesApplied");
	struct plasmatic_tpl_state st;
	socklen_t len = sizeof(st);
	struct ulp_info ui;

	tpl_exchange(_metadata, self);

	ASSERT_EQ(0, getsockopt(self->a, SOL_PLASMATIC, PLASMATIC_TPL_TX, &st, &len));
	ASSERT_LT(1, st.records);
	DIAG(AF_INET, self->a, self->b, &ui);
	EXPECT_FULL(&ui, variant->cipher, variant->cipher);
	EXPECT_EQ(1, ui.val[PLASMATIC_INFO_TPL_MODE]);
	EXPECT_EQ(st.records, ui.val[PLASMATIC_INFO_TPL_RECORDS]);
	EXPECT_EQ(st.pad_bytes, ui.val[PLASMATIC_INFO_TPL_PAD]);
	EXPECT_EQ(1, ui.val[PLASMATIC_INFO_SU_SENT]);
	EXPECT_EQ(0, ui.val[PLASMATIC_INFO_SU_APPLIED]);
	DIAG(AF_INET, self->b, self->a, &ui);
	EXPECT_FULL(&ui, variant->cipher, variant->cipher);
	EXPECT_EQ(5, ui.val[PLASMATIC_INFO_TPL_MODE]);
	EXPECT_EQ(1, ui.val[PLASMATIC_INFO_TPL_RECORDS]);
	EXPECT_EQ(0, ui.val[PLASMATIC_INFO_SU_SENT]);
	EXPECT_EQ(1, ui.val[PLASMATIC_INFO_SU_APPLIED]);
	/* Tests run one at a time: the counters moved by exactly these. */
	EXPECT_EQ(recs0 + (long)st.records + 1, stat_get("PlasmaticTplRecords"));
	EXPECT_LE(pad0 + (long)st.pad_bytes, stat_get("PlasmaticTplPadBytes"));
	EXPECT_EQ(sent0 + 1, stat_get("PlasmaticTplSeedUpdatesSent"));
	EXPECT_EQ(applied0 + 1, stat_get("PlasmaticTplSeedUpdatesApplied"));
}

/* The line of `plasmatic sockets` for local @l and peer @p (in @out), or NULL. */
static char *sockets_line(const char *l, const char *p, char *out, size_t len)
{
	FILE *f = popen("build/userspace/plasmatic sockets", "r");
	char *found = NULL;

	if (!f)
		return NULL;
	while (fgets(out, len, f)) {
		char *a = strstr(out, l);

		if (a && strstr(a + strlen(l), p)) {
			found = out;
			break;
		}
	}
	while (!found && fgetc(f) != EOF)
		;
	pclose(f);
	return found;
}

/*
 * plasmatic sockets prints what diag says (ss -tie cannot: iproute2
 * decodes only tls and mptcp): each end's ciphers, framing, EEM length and
 * TPL numbers as tpl_counters sets them up; plain TCP is not listed.
 */
TEST_F(diag, sockets_command)
{
	const char *cipher = variant->cipher == TLS_CIPHER_AES_GCM_128 ? "aes-128-gcm" :
			     variant->cipher == TLS_CIPHER_AES_GCM_256 ? "aes-256-gcm" :
			     "chacha20-poly1305";
	const char *framing = variant->framing == PLASMATIC_FRAMING_COVERED ? "covered" :
			      "detached";
	char l[64], p[64], want[256], line[512];
	struct plasmatic_tpl_state st;
	socklen_t len = sizeof(st);
	struct pl_sockpair plain;

	tpl_exchange(_metadata, self);
	ASSERT_EQ(0, pl_sockpair_tcp(&plain));
	ASSERT_EQ(0, getsockopt(self->a, SOL_PLASMATIC, PLASMATIC_TPL_TX, &st, &len));

	snprintf(l, sizeof(l), "127.0.0.1:%u ", local_port(self->a));
	snprintf(p, sizeof(p), "127.0.0.1:%u ", local_port(self->b));
	ASSERT_NE(NULL, sockets_line(l, p, line, sizeof(line))) TH_LOG("%s -> %s not listed", l, p);
	printf("# plasmatic sockets: %s", line);
	EXPECT_EQ(0, strncmp(line, "ESTAB ", 6)) TH_LOG("%s", line);
	snprintf(want, sizeof(want), " tx %s rx %s %s eem %u mode 1 records %llu pad %llu su 1/0\n",
		 cipher, cipher, framing, variant->eem_len, (unsigned long long)st.records,
		 (unsigned long long)st.pad_bytes);
	EXPECT_NE(NULL, strstr(line, want)) TH_LOG("want '%s' in '%s'", want, line);
	ASSERT_NE(NULL, sockets_line(p, l, line, sizeof(line))) TH_LOG("%s -> %s not listed", p, l);
	snprintf(want, sizeof(want), " eem %u mode 5 records 1 pad ", variant->eem_len);
	EXPECT_NE(NULL, strstr(line, want)) TH_LOG("want '%s' in '%s'", want, line);
	EXPECT_NE(NULL, strstr(line, " su 0/1\n")) TH_LOG("%s", line);

	snprintf(l, sizeof(l), "127.0.0.1:%u ", local_port(plain.a));
	snprintf(p, sizeof(p), "127.0.0.1:%u ", local_port(plain.b));
	EXPECT_EQ(NULL, sockets_line(l, p, line, sizeof(line))) TH_LOG("plain TCP listed: %s", line);
	pl_sockpair_close(&plain);
}

/*
 * PLASMATIC_RX_EXPECT_NO_PAD shows as the PLASMATIC_INFO_RX_NO_PAD flag
 * while it is on, and `plasmatic sockets` says rx-no-pad.
 */
TEST_F(diag, rx_no_pad_flag)
{
	char l[64], p[64], line[512];
	struct ulp_info ui;
	int one = 1, zero = 0;

	UPGRADE_BOTH();
	DIAG(AF_INET, self->b, self->a, &ui);
	EXPECT_FULL(&ui, variant->cipher, variant->cipher);
	ASSERT_EQ(0, setsockopt(self->b, SOL_PLASMATIC, PLASMATIC_RX_EXPECT_NO_PAD,
				&one, sizeof(one)));
	DIAG(AF_INET, self->b, self->a, &ui);
	EXPECT_ULP(&ui, ALL_INFO | BIT(PLASMATIC_INFO_RX_NO_PAD));
	DIAG(AF_INET, self->a, self->b, &ui);
	EXPECT_ULP(&ui, ALL_INFO);

	snprintf(l, sizeof(l), "127.0.0.1:%u ", local_port(self->b));
	snprintf(p, sizeof(p), "127.0.0.1:%u ", local_port(self->a));
	ASSERT_NE(NULL, sockets_line(l, p, line, sizeof(line))) TH_LOG("%s -> %s not listed", l, p);
	EXPECT_NE(NULL, strstr(line, " rx-no-pad\n")) TH_LOG("%s", line);
	ASSERT_NE(NULL, sockets_line(p, l, line, sizeof(line)));
	EXPECT_EQ(NULL, strstr(line, "rx-no-pad")) TH_LOG("%s", line);

	ASSERT_EQ(0, setsockopt(self->b, SOL_PLASMATIC, PLASMATIC_RX_EXPECT_NO_PAD,
				&zero, sizeof(zero)));
	DIAG(AF_INET, self->b, self->a, &ui);
	EXPECT_ULP(&ui, ALL_INFO);
}

/*
 * Step by step: the ULP alone gives the name and an empty nest; an EEM
 * gives framing and EEM length; keys of a direction give the version and
 * that direction's cipher only.  TX uses another cipher than RX here, so
 * that the two cannot be mixed up.
 */
TEST_F(diag, each_step_of_an_upgrade)
{
	struct pl_keys tx;
	struct ulp_info ui;
	struct plasmatic_eem_info e;
	struct pl_crypto c;

	pl_keys_init(&tx, other_cipher(variant->cipher), variant->framing,
		     variant->eem_len, 0x500 + variant->cipher);

	DIAG(AF_INET, self->a, self->b, &ui);
	EXPECT_EQ(0, ui.ulp) TH_LOG("ULP info before the ULP");

	ASSERT_EQ(0, pl_ulp(self->a));
	DIAG(AF_INET, self->a, self->b, &ui);
	EXPECT_ULP(&ui, 0);

	pl_eem_init(&e, &self->ba);
	ASSERT_EQ(0, setsockopt(self->a, SOL_PLASMATIC, PLASMATIC_EEM_RX, &e, sizeof(e)));
	DIAG(AF_INET, self->a, self->b, &ui);
	EXPECT_ULP(&ui, BIT(PLASMATIC_INFO_FRAMING) | BIT(PLASMATIC_INFO_EEM_LEN));
	EXPECT_EQ(variant->framing, ui.val[PLASMATIC_INFO_FRAMING]);
	EXPECT_EQ(variant->eem_len, ui.val[PLASMATIC_INFO_EEM_LEN]);

	pl_crypto_init(&c, &self->ba);
	ASSERT_EQ(0, setsockopt(self->a, SOL_PLASMATIC, PLASMATIC_RX, &c, c.len));
	DIAG(AF_INET, self->a, self->b, &ui);
	EXPECT_ULP(&ui, ALL_INFO & ~BIT(PLASMATIC_INFO_TX_CIPHER) & ~TPL_INFO);
	EXPECT_EQ(TLS_1_3_VERSION, ui.val[PLASMATIC_INFO_VERSION]);
	EXPECT_EQ(variant->cipher, ui.val[PLASMATIC_INFO_RX_CIPHER]);
	EXPECT_EQ(variant->framing, ui.val[PLASMATIC_INFO_FRAMING]);
	EXPECT_EQ(variant->eem_len, ui.val[PLASMATIC_INFO_EEM_LEN]);

	ASSERT_EQ(0, pl_set_dir(self->a, &tx, 1));
	DIAG(AF_INET, self->a, self->b, &ui);
	EXPECT_FULL(&ui, tx.cipher, variant->cipher);

	/* The peer end was never upgraded. */
	DIAG(AF_INET, self->b, self->a, &ui);
	EXPECT_EQ(0, ui.ulp);
}

/* The same over IPv6 (the module keeps one set of operations per family). */
TEST_F(diag, ipv6)
{
	struct pl_sockpair sp;
	struct ulp_info ui;
	char buf[8];

	ASSERT_EQ(0, pl_sockpair_tcp_af(&sp, AF_INET6));
	ASSERT_EQ(0, pl_upgrade(sp.a, &self->ab, &self->ba));
	ASSERT_EQ(0, pl_upgrade(sp.b, &self->ba, &self->ab));
	ASSERT_EQ(2, send(sp.a, "v6", 2, 0));
	ASSERT_EQ(2, recv(sp.b, buf, 2, MSG_WAITALL));
	DIAG(AF_INET6, sp.a, sp.b, &ui);
	EXPECT_FULL(&ui, variant->cipher, variant->cipher);
	DIAG(AF_INET6, sp.b, sp.a, &ui);
	EXPECT_FULL(&ui, variant->cipher, variant->cipher);
	/* Not in the IPv4 dump. */
	ASSERT_EQ(0, diag_lookup(AF_INET, local_port(sp.a), local_port(sp.b), &ui));
	EXPECT_EQ(0, ui.found);
	pl_sockpair_close(&sp);
}

/* ==== ss -tie ==== */

/*
 * Run ss -tie and collect the text of the socket local -> peer (its first
 * line and the indented lines that follow).  Returns how many sockets
 * matched, or -1 if ss could not be run or failed.
 */
static int ss_socket(const char *local, const char *peer, char *out, size_t cap)
{
	FILE *f = popen("ss -tie 2>&1", "re");
	char line[4096], *ret;
	int in = 0, matches = 0;
	size_t used = 0;

	out[0] = 0;
	if (!f)
		return -1;
	while ((ret = fgets(line, sizeof(line), f))) {
		if (line[0] != ' ' && line[0] != '\t') {
			char l[128], p[128];

			in = sscanf(line, "%*s %*s %*s %127s %127s", l, p) == 2 &&
			     !strcmp(l, local) && !strcmp(p, peer);
			matches += in;
		}
		if (in && used + strlen(line) < cap) {
			strcpy(out + used, line);
			used += strlen(line);
		}
	}
	return pclose(f) == 0 ? matches : -1;
}

#define SS_TEXT	8192

/* ss -tie names the ULP of both ends ("tcp-ulp-plasmatic"), not of plain TCP. */
TEST_F(diag, ss_tie_lists_plasmatic)
{
	char *text = xmalloc(SS_TEXT), l[64], p[64];
	struct pl_sockpair plain;
	struct pl_sockpair v6;

	UPGRADE_BOTH();
	ASSERT_EQ(0, pl_sockpair_tcp(&plain));
	ASSERT_EQ(0, pl_sockpair_tcp_af(&v6, AF_INET6));
	ASSERT_EQ(0, pl_upgrade(v6.a, &self->ab, &self->ba));

	snprintf(l, sizeof(l), "127.0.0.1:%u", local_port(self->a));
	snprintf(p, sizeof(p), "127.0.0.1:%u", local_port(self->b));
	ASSERT_EQ(1, ss_socket(l, p, text, SS_TEXT)) TH_LOG("ss: %s -> %s not listed once", l, p);
	EXPECT_NE(NULL, strstr(text, " tcp-ulp-" PLASMATIC_ULP_NAME)) TH_LOG("%s", text);
	ASSERT_EQ(1, ss_socket(p, l, text, SS_TEXT)) TH_LOG("ss: %s -> %s not listed once", p, l);
	EXPECT_NE(NULL, strstr(text, " tcp-ulp-" PLASMATIC_ULP_NAME)) TH_LOG("%s", text);

	snprintf(l, sizeof(l), "[::1]:%u", local_port(v6.a));
	snprintf(p, sizeof(p), "[::1]:%u", local_port(v6.b));
	ASSERT_EQ(1, ss_socket(l, p, text, SS_TEXT)) TH_LOG("ss: %s -> %s not listed once", l, p);
	EXPECT_NE(NULL, strstr(text, " tcp-ulp-" PLASMATIC_ULP_NAME)) TH_LOG("%s", text);
	/* Its peer is plain TCP. */
	ASSERT_EQ(1, ss_socket(p, l, text, SS_TEXT));
	EXPECT_EQ(NULL, strstr(text, "tcp-ulp")) TH_LOG("%s", text);

	snprintf(l, sizeof(l), "127.0.0.1:%u", local_port(plain.a));
	snprintf(p, sizeof(p), "127.0.0.1:%u", local_port(plain.b));
	ASSERT_EQ(1, ss_socket(l, p, text, SS_TEXT));
	EXPECT_EQ(NULL, strstr(text, "tcp-ulp")) TH_LOG("%s", text);

	pl_sockpair_close(&plain);
	pl_sockpair_close(&v6);
	free(text);
}

/* ==== Tracepoints ==== */

#define TRACEFS		"/sys/kernel/tracing"

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	n = n < 0 ? -errno : n == (ssize_t)strlen(s) ? 0 : -EIO;
	close(fd);
	return n;
}

/* One line of the trace buffer. */
struct ev {
	char name[32];		/* plasmatic_tx_record, ... */
	char sk[32];		/* the hashed socket pointer */
	char cause[32];		/* plasmatic_rx_fail */
	long type, len;		/* records */
	unsigned long long seq, eem;
	long sent, level, desc;	/* plasmatic_alert */
	long err;		/* plasmatic_tx_fail */
};

static int ev_field(const char *s, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);
	const char *p = s;

	while ((p = strstr(p, key))) {
		if ((p == s || p[-1] == ' ') && p[kl] == '=') {
			size_t n = strcspn(p + kl + 1, " \n");

			if (n >= cap)
				return -1;
			memcpy(out, p + kl + 1, n);
			out[n] = 0;
			return 0;
		}
		p += kl;
	}
	return -1;
}

static long ev_num(const char *s, const char *key)
{
	char v[32];

	return ev_field(s, key, v, sizeof(v)) ? -1 : strtol(v, NULL, 10);
}

static unsigned long long ev_u64(const char *s, const char *key)
{
	char v[32];

	return ev_field(s, key, v, sizeof(v)) ? ~0ULL : strtoull(v, NULL, 10);
}

/*
 * The plasmatic events in the trace buffer of instance @dir, in order;
 * returns their number (at most cap) or -1 if the buffer cannot be read.
 */
static int trace_events(const char *dir, struct ev *evs, int cap)
{
	char path[256], line[1024];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/trace", dir);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, ": plasmatic_"), *rest;
		struct ev *e;

		if (line[0] == '#' || !p)
			continue;
		if (n == cap) {
			n = -1;
			break;
		}
		e = &evs[n++];
		memset(e, 0, sizeof(*e));
		p += 2;
		rest = strchr(p, ':');
		if (!rest || rest - p >= (long)sizeof(e->name)) {
			n = -1;
			break;
		}
		memcpy(e->name, p, rest - p);
		ev_field(rest, "sk", e->sk, sizeof(e->sk));
		ev_field(rest, "cause", e->cause, sizeof(e->cause));
		e->type = ev_num(rest, "type");
		e->len = ev_num(rest, "len");
		e->seq = ev_u64(rest, "seq");
		e->eem = ev_u64(rest, "eem");
		e->sent = ev_num(rest, "sent");
		e->level = ev_num(rest, "level");
		e->desc = ev_num(rest, "desc");
		e->err = ev_num(rest, "err");
	}
	fclose(f);
	return n;
}

static int count_events(const struct ev *evs, int n, const char *name)
{
	int c = 0;

	for (int i = 0; i < n; i++)
		c += !strcmp(evs[i].name, name);
	return c;
}

/*
 * Index of the first event @name of socket @sk (any if NULL) with TLS
 * sequence number @seq, or -1.
 */
static int find_event(const struct ev *evs, int n, const char *name,
		      const char *sk, unsigned long long seq)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(evs[i].name, name) && (!sk || !strcmp(evs[i].sk, sk)) &&
		    evs[i].seq == seq)
			return i;
	return -1;
}

static int find_named(const struct ev *evs, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(evs[i].name, name))
			return i;
	return -1;
}

/* The first EEM nonce's counter (SPEC 5.2), as the events print it. */
static unsigned long long eem0(const struct pl_keys *k)
{
	unsigned long long c = 0;

	for (int i = 4; i < 12; i++)
		c = c << 8 | k->eem_nonce[i];
	return c;
}

#define MAX_EVENTS	256

FIXTURE(trace)
{
	PL_PAIR_FIELDS;
	char dir[128];		/* our tracefs instance */
	int instance;		/* it exists */
	struct ev *evs;
};

PL_VARIANT(trace);

PL_VARIANT_ADD(trace, aes256gcm_detached, TLS_CIPHER_AES_GCM_256, DETACHED, 255);
PL_VARIANT_ADD(trace, chacha20_covered, TLS_CIPHER_CHACHA20_POLY1305, COVERED, 48);
PL_VARIANT_ADD(trace, aes128gcm_covered, TLS_CIPHER_AES_GCM_128, COVERED, 80);

/* Our own instance: its buffer holds only events from this test. */
static int trace_instance_up(const char *dir)
{
	char path[256];
	int err;

	rmdir(dir);	/* left by a killed run */
	if (mkdir(dir, 0755))
		return -errno;
	snprintf(path, sizeof(path), "%s/trace_clock", dir);
	err = write_str(path, "global");	/* one order across CPUs */
	snprintf(path, sizeof(path), "%s/events/plasmatic/enable", dir);
	err = err ?: write_str(path, "1");
	snprintf(path, sizeof(path), "%s/tracing_on", dir);
	err = err ?: write_str(path, "1");
	if (err)
		rmdir(dir);
	return err;
}

/* Events off, buffer cleared, instance gone: 0 or the first -errno. */
static int trace_instance_down(const char *dir)
{
	char path[256];
	int err;

	snprintf(path, sizeof(path), "%s/events/plasmatic/enable", dir);
	err = write_str(path, "0");
	snprintf(path, sizeof(path), "%s/trace", dir);
	err = write_str(path, "") ?: err;	/* O_TRUNC clears the buffer */
	if (rmdir(dir) && !err)
		err = -errno;
	return err;
}

FIXTURE_SETUP(trace)
{
	self->instance = 0;
	self->evs = xmalloc(MAX_EVENTS * sizeof(*self->evs));
	PL_PAIR_SETUP(0x600);
	snprintf(self->dir, sizeof(self->dir), TRACEFS "/instances/observe_test_%d",
		 getpid());
	ASSERT_EQ(0, trace_instance_up(self->dir))
		TH_LOG("cannot set up %s with events/plasmatic (module loaded?)", self->dir);
	self->instance = 1;
}

FIXTURE_TEARDOWN(trace)
{
	if (self->instance)
		EXPECT_EQ(0, trace_instance_down(self->dir))
			TH_LOG("cleaning up %s", self->dir);
	PL_PAIR_TEARDOWN();
	free(self->evs);
}

/* Read the buffer into self->evs; n is set to the number of events. */
#define READ_EVENTS(n) do { \
	(n) = trace_events(self->dir, self->evs, MAX_EVENTS); \
	ASSERT_LE(0, (n)) TH_LOG("trace buffer unreadable or over %d events", MAX_EVENTS); \
} while (0)

/* Event @name of the record with sequence number seq: type, length, EEM. */
#define EXPECT_RECORD(evs, n, name, sk_, seq_, eem_, type_, len_) do { \
	int __i = find_event(evs, n, name, sk_, seq_); \
	ASSERT_LE(0, __i) TH_LOG("no %s of sk=%s with seq=%llu", name, sk_, \
				 (unsigned long long)(seq_)); \
	EXPECT_EQ((unsigned long long)(eem_), (evs)[__i].eem) TH_LOG("%s seq=%llu", name, \
					(unsigned long long)(seq_)); \
	EXPECT_EQ((long)(type_), (evs)[__i].type); \
	EXPECT_EQ((long)(len_), (evs)[__i].len) TH_LOG("%s seq=%llu", name, \
					(unsigned long long)(seq_)); \
} while (0)

/*
 * Kernel to kernel both ways: one plasmatic_tx_record on the sender and
 * one plasmatic_rx_record on the receiver per record, with its content
 * type, content length, TLS sequence number and EEM counter; a
 * zero-length send makes no record and no event; nothing else is traced.
 */
TEST_F(trace, records_kernel_to_kernel)
{
	/* The last: a full record, 2^14 less the EEM in covered framing. */
	const size_t sizes[] = { 1, 100, 1000,
				 pl_max_content(self->ab.framing, self->ab.eem_len) };
	const size_t ns = sizeof(sizes) / sizeof(sizes[0]);
	static const size_t back[] = { 50, 7 };
	uint8_t *buf = xmalloc(16384), *got = xmalloc(16384);
	const char *ska, *skb;
	struct ev *evs = self->evs;
	int n, i, type;

	UPGRADE_BOTH();
	pl_fill(buf, 16384, 9);
	EXPECT_EQ(0, send(self->a, buf, 0, 0));
	for (i = 0; i < (int)ns; i++) {
		ASSERT_EQ((ssize_t)sizes[i], send(self->a, buf, sizes[i], 0));
		ASSERT_EQ((ssize_t)sizes[i], recv(self->b, got, sizes[i], MSG_WAITALL));
	}
	ASSERT_EQ((ssize_t)sizeof(hs_msg),
		  send_type(self->a, PLASMATIC_CT_HANDSHAKE, hs_msg, sizeof(hs_msg), 0));
	ASSERT_EQ((ssize_t)sizeof(hs_msg), recv_type(self->b, &type, got, 16384, 0));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ((ssize_t)back[i], send(self->b, buf, back[i], 0));
		ASSERT_EQ((ssize_t)back[i], recv(self->a, got, back[i], MSG_WAITALL));
	}

	READ_EVENTS(n);
	/* a's first record is the first event: a's socket. */
	i = find_named(evs, n, "plasmatic_tx_record");
	ASSERT_LE(0, i);
	ska = evs[i].sk;
	ASSERT_EQ(self->ab.seq, evs[i].seq) TH_LOG("first tx_record is not a's first");
	i = find_named(evs, n, "plasmatic_rx_record");
	ASSERT_LE(0, i);
	skb = evs[i].sk;
	EXPECT_STRNE(ska, skb);

	EXPECT_EQ(ns + 1 + 2, count_events(evs, n, "plasmatic_tx_record"));
	EXPECT_EQ(ns + 1 + 2, count_events(evs, n, "plasmatic_rx_record"));
	EXPECT_EQ(n, count_events(evs, n, "plasmatic_tx_record") +
		     count_events(evs, n, "plasmatic_rx_record"))
		TH_LOG("other events than records");
	for (i = 0; i <= (int)ns; i++) {
		long type = i < (int)ns ? PLASMATIC_CT_APPLICATION_DATA : PLASMATIC_CT_HANDSHAKE;
		size_t len = i < (int)ns ? sizes[i] : sizeof(hs_msg);

		EXPECT_RECORD(evs, n, "plasmatic_tx_record", ska, self->ab.seq + i,
			      eem0(&self->ab) + i, type, len);
		EXPECT_RECORD(evs, n, "plasmatic_rx_record", skb, self->ab.seq + i,
			      eem0(&self->ab) + i, type, len);
		/* Sealed before it was opened. */
		EXPECT_LT(find_event(evs, n, "plasmatic_tx_record", ska, self->ab.seq + i),
			  find_event(evs, n, "plasmatic_rx_record", skb, self->ab.seq + i));
	}
	for (i = 0; i < 2; i++) {
		EXPECT_RECORD(evs, n, "plasmatic_tx_record", skb, self->ba.seq + i,
			      eem0(&self->ba) + i, PLASMATIC_CT_APPLICATION_DATA, back[i]);
		EXPECT_RECORD(evs, n, "plasmatic_rx_record", ska, self->ba.seq + i,
			      eem0(&self->ba) + i, PLASMATIC_CT_APPLICATION_DATA, back[i]);
	}
	free(buf);
	free(got);
}

/*
 * close_notify between two kernels: the sender traces its alert record
 * and plasmatic_alert sent=1, the receiver the record and sent=0.
 */
TEST_F(trace, close_notify_both_ends)
{
	struct ev *evs = self->evs;
	int n, i, j, one = 1;
	char buf[8];

	UPGRADE_BOTH();
	ASSERT_EQ(0, setsockopt(self->a, SOL_PLASMATIC, PLASMATIC_CLOSE_NOTIFY, &one,
				sizeof(one)));
	ASSERT_EQ(2, send(self->a, "hi", 2, 0));
	ASSERT_EQ(0, shutdown(self->a, SHUT_WR));
	ASSERT_EQ(2, recv(self->b, buf, 2, MSG_WAITALL));
	ASSERT_EQ(0, recv(self->b, buf, sizeof(buf), 0));

	READ_EVENTS(n);
	ASSERT_EQ(2, count_events(evs, n, "plasmatic_tx_record"));
	ASSERT_EQ(2, count_events(evs, n, "plasmatic_rx_record"));
	ASSERT_EQ(2, count_events(evs, n, "plasmatic_alert"));
	EXPECT_EQ(6, n);
	i = find_event(evs, n, "plasmatic_tx_record", NULL, self->ab.seq);
	ASSERT_LE(0, i);
	j = find_event(evs, n, "plasmatic_rx_record", NULL, self->ab.seq);
	ASSERT_LE(0, j);
	EXPECT_STRNE(evs[i].sk, evs[j].sk);
	EXPECT_RECORD(evs, n, "plasmatic_tx_record", evs[i].sk, self->ab.seq + 1,
		      eem0(&self->ab) + 1, PLASMATIC_CT_ALERT, 2);
	EXPECT_RECORD(evs, n, "plasmatic_rx_record", evs[j].sk, self->ab.seq + 1,
		      eem0(&self->ab) + 1, PLASMATIC_CT_ALERT, 2);
	for (int k = 0; k < n; k++) {
		if (strcmp(evs[k].name, "plasmatic_alert"))
			continue;
		EXPECT_EQ(PL_ALERT_WARNING, evs[k].level);
		EXPECT_EQ(PL_ALERT_CLOSE_NOTIFY, evs[k].desc);
		/* sent=1 on a's socket, sent=0 on b's. */
		EXPECT_EQ(!strcmp(evs[k].sk, evs[i].sk), evs[k].sent)
			TH_LOG("alert sent=%ld on the %s socket", evs[k].sent,
			       strcmp(evs[k].sk, evs[i].sk) ? "receiving" : "sending");
		EXPECT_TRUE(!strcmp(evs[k].sk, evs[i].sk) || !strcmp(evs[k].sk, evs[j].sk));
	}
}

/* A fatal alert from a raw peer: its record, then plasmatic_alert sent=0. */
TEST_F(trace, fatal_alert_received)
{
	static const uint8_t alert[2] = { PL_ALERT_FATAL, 40 };	/* handshake_failure */
	uint8_t *w = xmalloc(PL_MAX_WIRE_LEN);
	struct ev *evs = self->evs;
	char buf[16];
	long wl;
	int n, i, type;

	UPGRADE_RAW();
	wl = pl_peer_seal(self->peer, PLASMATIC_CT_ALERT, alert, 2, NULL, w);
	ASSERT_LT(0, wl);
	ASSERT_EQ(wl, pl_write_all(self->b, w, wl));
	ASSERT_EQ(2, recv_type(self->a, &type, buf, sizeof(buf), 0));

	READ_EVENTS(n);
	ASSERT_EQ(2, n);
	i = find_named(evs, n, "plasmatic_rx_record");
	ASSERT_EQ(0, i);
	EXPECT_RECORD(evs, n, "plasmatic_rx_record", evs[0].sk, self->ba.seq,
		      eem0(&self->ba), PLASMATIC_CT_ALERT, 2);
	EXPECT_STREQ("plasmatic_alert", evs[1].name);
	EXPECT_STREQ(evs[0].sk, evs[1].sk);
	EXPECT_EQ(0, evs[1].sent);
	EXPECT_EQ(PL_ALERT_FATAL, evs[1].level);
	EXPECT_EQ(40, evs[1].desc);
	free(w);
}

/* ---- a bad record from a raw peer ---- */

enum bad {
	BAD_HEADER, BAD_LENGTH, BAD_EEM_TAG, BAD_EEM_NONCE, BAD_FRAGMENT,
	BAD_SEED_UPDATE, BAD_TLS_TAG, BAD_CONTENT_TYPE, BAD_EMPTY, BAD_TRUNCATED,
};

/* The cause plasmatic_rx_fail prints (kmod/trace.h). */
static const char *const bad_cause[] = {
	[BAD_HEADER] = "header",
	[BAD_LENGTH] = "length",
	[BAD_EEM_TAG] = "eem_tag",
	[BAD_EEM_NONCE] = "eem_nonce",
	[BAD_FRAGMENT] = "eem_fragment",
	[BAD_SEED_UPDATE] = "eem_seed_update",
	[BAD_TLS_TAG] = "tls_tag",
	[BAD_CONTENT_TYPE] = "content_type",
	[BAD_EMPTY] = "empty_record",
	[BAD_TRUNCATED] = "truncated",
};

static const uint8_t good_data[] = "a good record first";

/*
 * The peer sends a good record, then a record that fails with @kind.
 * a reads the good one, then the cause's errno (EBADMSG but for a bad
 * header, EINVAL, and a length too big, EMSGSIZE); the peer gets
 * bad_record_mac.
 * Traced on a's socket, in this order: plasmatic_rx_record of the good
 * record; plasmatic_rx_fail with the cause, and the failing record's TLS
 * sequence number and EEM counter (the ones after the good record's);
 * plasmatic_tx_record of the alert record (a's first record) and
 * plasmatic_alert sent=1 level=2 desc=20.  Nothing else.
 */
static void bad_record(struct __test_metadata *_metadata,
		       FIXTURE_DATA(trace) *self, enum bad kind)
{
	uint8_t *w = xmalloc(2 * PL_MAX_WIRE_LEN), *r, buf[256], type;
	const struct pl_keys *k = &self->ba;
	size_t wl, rl, len;
	struct pl_eem_fields f;
	struct ev *evs = self->evs;
	uint8_t nonce1[12];
	int n, i;
	long l;

	UPGRADE_RAW();
	l = pl_peer_seal(self->peer, PLASMATIC_CT_APPLICATION_DATA, good_data,
			 sizeof(good_data), NULL, w);
	ASSERT_LT(0, l);
	wl = l;
	r = w + wl;
	l = pl_peer_seal(self->peer, PLASMATIC_CT_APPLICATION_DATA, "second", 6, NULL, r);
	ASSERT_LT(0, l);
	rl = l;
	pl_nonce_add(nonce1, k->eem_nonce, 1);
	switch (kind) {
	case BAD_HEADER:
		r[0] ^= 0x01;
		break;
	case BAD_LENGTH: {	/* one more than the largest: just a header */
		size_t max = 16384 + 256;	/* either framing (SPEC 6) */

		r[3] = (max + 1) >> 8;
		r[4] = (max + 1) & 0xff;
		rl = PL_HEADER_LEN;
		break;
	}
	case BAD_EEM_TAG:
		r[rl - 1] ^= 0x01;
		break;
	case BAD_EEM_NONCE:
	case BAD_FRAGMENT:
	case BAD_SEED_UPDATE:
		ASSERT_EQ(0, pl_eem_open(r, rl, k->framing, k->eem_len, k->eem_key,
					 nonce1, &f));
		if (kind == BAD_EEM_NONCE)
			pl_nonce_add(f.nonce, k->eem_nonce, 2);
		else if (kind == BAD_FRAGMENT)
			f.fragment[1] ^= 0x01;
		else	/* unknown kind */
			memcpy(f.su, "\x02\x01\x00\x00\0\0\0\0\0\0\0\x07", PL_SU_LEN);
		ASSERT_EQ(0, pl_eem_reseal(r, rl, k->eem_len, k->eem_key, nonce1, &f));
		break;
	case BAD_TLS_TAG:
		/* A ciphertext bit past the fragment: the EEM still opens. */
		r[PL_HEADER_LEN + 3] ^= 0x10;
		break;
	case BAD_CONTENT_TYPE:	/* "data" || 24 */
	case BAD_EMPTY: {	/* an alert with no content */
		static const uint8_t ct[] = { 'd', 'a', 't', 'a', 24 };
		static const uint8_t empty[] = { PLASMATIC_CT_ALERT, 0, 0 };

		l = kind == BAD_EMPTY ?
			pl_raw_seal(k, k->seq + 1, nonce1, empty, sizeof(empty), r) :
			pl_raw_seal(k, k->seq + 1, nonce1, ct, sizeof(ct), r);
		ASSERT_LT(0, l);
		rl = l;
		break;
	}
	case BAD_TRUNCATED:
		rl /= 2;
		break;
	}
	wl += rl;
	ASSERT_EQ((ssize_t)wl, pl_write_all(self->b, w, wl));
	if (kind == BAD_TRUNCATED)
		ASSERT_EQ(0, shutdown(self->b, SHUT_WR));

	ASSERT_EQ((ssize_t)sizeof(good_data),
		  recv(self->a, buf, sizeof(good_data), MSG_WAITALL));
	EXPECT_EQ(0, memcmp(buf, good_data, sizeof(good_data)));
	EXPECT_EQ(-1, recv(self->a, buf, sizeof(buf), 0));
	/* The cause's errno, as kTLS's (the wire has one alert for all). */
	EXPECT_EQ(kind == BAD_HEADER ? EINVAL : kind == BAD_LENGTH ? EMSGSIZE : EBADMSG, errno);
	ASSERT_EQ(1, pl_peer_recv(self->peer, &type, buf, sizeof(buf), &len, PEER_TMO));
	ASSERT_EQ(PLASMATIC_CT_ALERT, type);
	ASSERT_EQ(2, len);
	ASSERT_EQ(PL_ALERT_BAD_RECORD_MAC, buf[1]);

	READ_EVENTS(n);
	ASSERT_EQ(4, n) TH_LOG("%d events", n);
	/* All on a's socket. */
	for (i = 1; i < n; i++)
		EXPECT_STREQ(evs[0].sk, evs[i].sk);
	/* The good record was accepted before the bad one failed. */
	EXPECT_STREQ("plasmatic_rx_record", evs[0].name);
	EXPECT_RECORD(evs, n, "plasmatic_rx_record", evs[0].sk, k->seq, eem0(k),
		      PLASMATIC_CT_APPLICATION_DATA, sizeof(good_data));
	EXPECT_STREQ("plasmatic_rx_fail", evs[1].name);
	EXPECT_STREQ(bad_cause[kind], evs[1].cause);
	EXPECT_EQ(k->seq + 1, evs[1].seq) TH_LOG("rx_fail seq=%llu: not the failing record's",
						 evs[1].seq);
	EXPECT_EQ(eem0(k) + 1, evs[1].eem) TH_LOG("rx_fail eem=%llu: not the failing record's",
						  evs[1].eem);
	/* Then bad_record_mac: sealed as a's first record, and the alert. */
	EXPECT_STREQ("plasmatic_tx_record", evs[2].name);
	EXPECT_RECORD(evs, n, "plasmatic_tx_record", evs[0].sk, self->ab.seq, eem0(&self->ab),
		      PLASMATIC_CT_ALERT, 2);
	EXPECT_STREQ("plasmatic_alert", evs[3].name);
	EXPECT_EQ(1, evs[3].sent);
	EXPECT_EQ(PL_ALERT_FATAL, evs[3].level);
	EXPECT_EQ(PL_ALERT_BAD_RECORD_MAC, evs[3].desc);
	free(w);
}

#define BAD_TEST(name, kind) \
	TEST_F(trace, rx_fail_##name) { bad_record(_metadata, self, kind); }

BAD_TEST(header, BAD_HEADER)
BAD_TEST(length, BAD_LENGTH)
BAD_TEST(eem_tag, BAD_EEM_TAG)
BAD_TEST(eem_nonce, BAD_EEM_NONCE)
BAD_TEST(eem_fragment, BAD_FRAGMENT)
BAD_TEST(eem_seed_update, BAD_SEED_UPDATE)
BAD_TEST(tls_tag, BAD_TLS_TAG)
BAD_TEST(content_type, BAD_CONTENT_TYPE)
BAD_TEST(empty_record, BAD_EMPTY)
BAD_TEST(truncated, BAD_TRUNCATED)

PL_HARNESS_MAIN
