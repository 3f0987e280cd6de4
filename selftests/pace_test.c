// SPDX-License-Identifier: GPL-2.0
/*
 * TPL timing at the qdisc (SPEC 9.5, issue 10): bpf/pace.bpf.c at tc
 * egress with the fq qdisc, asking plasmatic.ko (kmod/pace.c) for each
 * segment's departure.  On kernels with BPF qdiscs (6.16 and later) the
 * root qdisc is our plasmatic_tpl (bpf/tpl_qdisc.bpf.c) instead of fq;
 * PACE_QDISC=fq or =plasmatic_tpl chooses.
 *
 * A plasmatic.ko sender in the test's network namespace sends to a
 * receiver in another over veth; fq and the program sit on the sender's
 * veth, and an AF_PACKET tap on it timestamps what leaves (the tap sees
 * packets as the device transmits them, after fq released them).  The
 * record starts are found in the captured stream by their headers.
 *
 *  - every mode 1..8: 300 gaps between record departures against the
 *    same records' delay draws (the engine's generator, two-sample KS
 *    D < 0.1), and every record's size as drawn;
 *  - a Seed Update from the receiver switches sizes and timing at the
 *    same record, and so does the rotation of an unlocked mode;
 *  - 1% loss on the link: the receiver gets every byte, in order
 *    (it decrypts and checks the stream), retransmissions pass unpaced,
 *    and close() returns at once;
 *  - mode 0 under the pacer: nothing queued, nothing paced;
 *  - without a pacer the queue keeps only what TCP has not sent;
 *  - plasmatic shape, and listen --tpl-mode putting the pacer on itself.
 *
 * Time base: the program's time_scale multiplies each delay; every mode
 * is scaled so that its mean delay is about 60 ms (mode 7, 1..5 s, runs
 * 50x faster; mode 2, 1..5 ms, 20x slower), which keeps a mode to ~18 s
 * and the gaps well above the TCG guest's timer jitter.  The KS test
 * compares the gaps with the scaled draws, so the scale cancels out.
 *
 * Runs as root in the test VM with plasmatic.ko loaded (run_vm.sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <grp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kselftest_harness.h"
#include "plfixture.h"
#include "plnet.h"
#include "pace.h"
#include "pace.skel.h"
#include "shape.h"

/* The sender's root qdisc: fq, or PL_QDISC_KIND where the kernel has BPF qdiscs. */
static const char *root_qdisc = "fq";

#define SEED		0x5eed5eed12345678ULL
#define PORT		7801
#define NET		78		/* 10.78.0.0/24 (plnet.h) */
#define NREC		301		/* 300 gaps */
#define MAX_PKTS	60000
#define MEAN_GAP_US	60000

static int pace_state(int fd, struct plasmatic_pace_state *s)
{
	socklen_t len = sizeof(*s);

	return getsockopt(fd, SOL_PLASMATIC, PLASMATIC_PACE, s, &len) ? -errno : 0;
}

/* ---- the receiver: another network namespace ---- */

enum rx_mode { RX_DRAIN, RX_CHECK, RX_SEED_UPDATE };

struct rx_cfg {
	enum rx_mode mode;
	const struct pl_keys *tx, *rx;	/* its keys (RX_CHECK, RX_SEED_UPDATE) */
	size_t len;			/* RX_CHECK: stream length to check;
					 * RX_SEED_UPDATE: bytes before the update */
	unsigned int stall_ms;		/* before the first read */
	uint64_t fill;			/* pl_fill() seed of the stream */
	uint8_t su_mode;
	const char *ingress;		/* tc ingress filter on its veth */
};

static void rx_child(const struct rx_cfg *cfg, int up, int down)
{
	uint8_t *want = NULL, *buf = malloc(1 << 16);
	size_t got = 0;
	ssize_t n;
	int l, c;

	l = plnet_child_listen(up, down, NET, PORT, cfg->ingress);
	if (!buf || l < 0)
		_exit(l < 0 ? -l : 1);
	c = accept(l, NULL, NULL);
	if (c < 0)
		_exit(5);
	if (cfg->mode != RX_DRAIN && pl_upgrade(c, cfg->tx, cfg->rx))
		_exit(6);
	if (cfg->stall_ms)
		usleep(cfg->stall_ms * 1000);
	if (cfg->mode == RX_CHECK) {
		want = malloc(cfg->len);
		if (!want)
			_exit(8);
		pl_fill(want, cfg->len, cfg->fill);
	}
	while ((n = read(c, buf, 1 << 16)) > 0) {
		if (want && (got + n > cfg->len || memcmp(want + got, buf, n)))
			_exit(9);
		/* The sender waits for this update before its second part. */
		if (cfg->mode == RX_SEED_UPDATE && got < cfg->len && got + n >= cfg->len &&
		    (tpl_set(c, PLASMATIC_SEED_UPDATE, cfg->su_mode, PLASMATIC_TPL_LOCK,
			     SEED + 1) || send(c, "s", 1, 0) != 1))
			_exit(7);
		got += n;
	}
	if (n < 0 || (want && got != cfg->len))
		_exit(10);
	_exit(plnet_child_end(up, down) ? 11 : 0);
}

/* ---- the link, the pacer and the capture ---- */

struct pkt {
	double t;
	uint32_t seq, len;
};

FIXTURE(pace)
{
	PL_PAIR_FIELDS;
	struct pace *skel;
	struct bpf_tc_hook hook;
	int up[2], down[2];
	pid_t child;
	int ps, fd;
	uint32_t isn;
	int have_isn, fin;
	struct pkt *pkts;
	size_t npkt, stream_len;
	uint8_t *stream;
};

PL_VARIANT(pace);
PL_VARIANT_ADD(pace, chacha20_covered, TLS_CIPHER_CHACHA20_POLY1305, COVERED, 48);

FIXTURE_SETUP(pace)
{
	PL_PAIR_SETUP(0xa00);
	self->skel = NULL;
	self->child = -1;
	self->ps = self->fd = -1;
	self->pkts = xmalloc(MAX_PKTS * sizeof(*self->pkts));
	self->stream = NULL;
	self->npkt = self->stream_len = 0;
	self->have_isn = self->fin = 0;
}

FIXTURE_TEARDOWN(pace)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->ps >= 0)
		close(self->ps);
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	if (self->skel) {
		bpf_tc_hook_destroy(&self->hook);
		pace__destroy(self->skel);
	}
	sh("ip link del va 2>/dev/null");
	free(self->pkts);
	free(self->stream);
	PL_PAIR_TEARDOWN();
}

static int tc_attach(struct bpf_tc_hook *hook, struct pace *skel)
{
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(skel->progs.plasmatic_pace));

	return bpf_tc_attach(hook, &opts);
}

/*
 * The receiver's namespace and the veth, fq and (scale > 0) the pacer on
 * our end, a tap on it, and a plasmatic.ko socket connected over it.
 */
static void link_up(struct __test_metadata *_metadata, FIXTURE_DATA(pace) *self,
		    const struct rx_cfg *cfg, uint32_t scale)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	struct sockaddr_ll ll = { .sll_family = AF_PACKET };
	int rcvbuf = 64 << 20, on = 1;

	ASSERT_EQ(0, pipe(self->up));
	ASSERT_EQ(0, pipe(self->down));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child)
		rx_child(cfg, self->up[1], self->down[0]);
	if (strcmp(root_qdisc, "fq")) {
		char err[256];

		ASSERT_EQ(0, pl_qdisc_register(err, sizeof(err))) TH_LOG("%s", err);
	}
	ASSERT_EQ(0, plnet_link(self->up[0], self->down[1], self->child, NET));
	ASSERT_EQ(0, sh("tc qdisc replace dev va root %s", strcmp(root_qdisc, "fq") ? root_qdisc :
			"fq horizon 60s horizon_cap flow_limit 1000"));
	if (scale) {
		self->skel = pace__open();
		ASSERT_NE(NULL, self->skel);
		self->skel->rodata->time_scale = scale;
		ASSERT_EQ(0, pace__load(self->skel));
		memset(&self->hook, 0, sizeof(self->hook));
		self->hook.sz = sizeof(self->hook);
		self->hook.ifindex = if_nametoindex("va");
		self->hook.attach_point = BPF_TC_EGRESS;
		ASSERT_EQ(0, bpf_tc_hook_create(&self->hook));
		ASSERT_EQ(0, tc_attach(&self->hook, self->skel));
	}

	/* ETH_P_ALL: only such taps see outgoing packets (dev_queue_xmit_nit). */
	self->ps = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	ASSERT_LE(0, self->ps);
	setsockopt(self->ps, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	ASSERT_EQ(0, setsockopt(self->ps, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)));
	ll.sll_protocol = htons(ETH_P_ALL);
	ll.sll_ifindex = if_nametoindex("va");
	ASSERT_EQ(0, bind(self->ps, (void *)&ll, sizeof(ll)));

	self->fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = plnet_addr(NET, 2);
	ASSERT_EQ(0, connect(self->fd, (void *)&sa, sizeof(sa)));
	ASSERT_EQ(0, pl_upgrade(self->fd, &self->ab, &self->ba));
}

/* Undo link_up(); the receiver's exit status. */
static int link_down(FIXTURE_DATA(pace) *self)
{
	int status = -1;

	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
	if (write(self->down[1], "q", 1) == 1)
		waitpid(self->child, &status, 0);
	self->child = -1;
	close(self->up[0]);
	close(self->up[1]);
	close(self->down[0]);
	close(self->down[1]);
	close(self->ps);
	self->ps = -1;
	if (self->skel) {
		bpf_tc_hook_destroy(&self->hook);
		pace__destroy(self->skel);
		self->skel = NULL;
	}
	sh("ip link del va 2>/dev/null");
	free(self->stream);
	self->stream = NULL;
	self->npkt = self->stream_len = 0;
	self->have_isn = self->fin = 0;
	return status;
}

/*
 * PACE_PCAP=FILE: the data packets of the last capture() as a pcap file
 * (Ethernet framing made up, no SYN), for plasmatic inspect (README).
 */
static FILE *pcap_open(void)
{
	const char *path = getenv("PACE_PCAP");
	struct {
		uint32_t magic;
		uint16_t major, minor;
		int32_t zone;
		uint32_t sigfigs, snaplen, linktype;
	} h = { 0xa1b23c4d, 2, 4, 0, 0, 1 << 18, 1 };
	FILE *f;

	if (!path)
		return NULL;
	f = fopen(path, "w");
	if (f && fwrite(&h, sizeof(h), 1, f) != 1) {
		fclose(f);
		f = NULL;
	}
	return f;
}

static void pcap_put(FILE *f, const struct timespec *ts, const uint8_t *ip, size_t n)
{
	static const uint8_t eth[14] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00 };
	uint32_t rec[4] = { ts->tv_sec, ts->tv_nsec, n + 14, n + 14 };

	if (f) {
		fwrite(rec, sizeof(rec), 1, f);
		fwrite(eth, sizeof(eth), 1, f);
		fwrite(ip, n, 1, f);
	}
}

/* Read the tap until our FIN went out: timestamps and the stream. */
static void capture(struct __test_metadata *_metadata, FIXTURE_DATA(pace) *self,
		    size_t cap)
{
	uint8_t *pkt = xmalloc(1 << 17);
	FILE *pcap = pcap_open();
	char cbuf[256];

	self->stream = xmalloc(cap);
	while (!self->fin && pl_readable(self->ps, 5000) > 0) {
		struct sockaddr_ll from;
		struct iovec iov = { .iov_base = pkt, .iov_len = 1 << 17 };
		struct msghdr m = {
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		ssize_t n = recvmsg(self->ps, &m, 0);
		struct iphdr *ip = (void *)pkt;
		struct timespec ts = { 0 };
		struct cmsghdr *c;
		struct tcphdr *th;
		size_t hl, rel;

		ASSERT_LT(0, n) TH_LOG("capture: %s", strerror(errno));
		if (from.sll_pkttype != PACKET_OUTGOING ||
		    from.sll_protocol != htons(ETH_P_IP) || ip->protocol != IPPROTO_TCP)
			continue;
		th = (void *)(pkt + ip->ihl * 4);
		if (th->dest != htons(PORT))
			continue;
		if (th->syn) {
			self->isn = ntohl(th->seq);
			self->have_isn = 1;
			continue;
		}
		if (th->fin)
			self->fin = 1;
		hl = ip->ihl * 4 + th->doff * 4;
		for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS)
				memcpy(&ts, CMSG_DATA(c), sizeof(ts));
		if (self->have_isn)
			pcap_put(pcap, &ts, pkt, n);
		if ((size_t)n <= hl || !self->have_isn)
			continue;
		ASSERT_NE(0, ts.tv_sec) TH_LOG("no timestamp on a packet");
		ASSERT_GT(MAX_PKTS, self->npkt);
		rel = ntohl(th->seq) - self->isn - 1;
		ASSERT_GE(cap, rel + (n - hl));
		memcpy(self->stream + rel, pkt + hl, n - hl);
		self->pkts[self->npkt].t = ts.tv_sec + ts.tv_nsec / 1e9;
		self->pkts[self->npkt].seq = rel;
		self->pkts[self->npkt].len = n - hl;
		self->npkt++;
		if (rel + (n - hl) > self->stream_len)
			self->stream_len = rel + (n - hl);
	}
	free(pkt);
	if (pcap)
		fclose(pcap);
	ASSERT_TRUE(self->have_isn);
	ASSERT_TRUE(self->fin) TH_LOG("capture incomplete: %zu packets", self->npkt);
}

/* The records of the captured stream: offset, length, first departure. */
struct rec {
	size_t off, len;
	double t;
};

static size_t records(FIXTURE_DATA(pace) *self, const FIXTURE_VARIANT(pace) *variant,
		      struct rec *r, size_t max)
{
	size_t off = 0, k = 0;

	while (off + 5 <= self->stream_len && k < max) {
		r[k].off = off;
		r[k].len = pl_wire_len(self->stream + off, variant->framing, variant->eem_len);
		r[k].t = 0;
		for (size_t i = 0; i < self->npkt; i++)
			if (self->pkts[i].seq == off) {
				r[k].t = self->pkts[i].t;
				break;
			}
		off += r[k].len;
		k++;
	}
	return k;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Two-sample Kolmogorov-Smirnov distance. */
static double ks2(double *a, size_t na, double *b, size_t nb)
{
	size_t i = 0, j = 0;
	double d = 0;

	qsort(a, na, sizeof(*a), cmp_double);
	qsort(b, nb, sizeof(*b), cmp_double);
	while (i < na && j < nb) {
		double x = a[i] < b[j] ? a[i] : b[j];

		while (i < na && a[i] <= x)
			i++;
		while (j < nb && b[j] <= x)
			j++;
		d = fmax(d, fabs((double)i / na - (double)j / nb));
	}
	return d;
}

/* The next n records' draws for (mode, SEED + mode, locked). */
static void draws(struct __test_metadata *_metadata, struct pl_tpl *tpl, size_t n,
		  struct pl_tpl_draw *out)
{
	for (size_t i = 0; i < n; i++)
		ASSERT_EQ(0, pl_tpl_next(tpl, &out[i]));
}

/* Our socket in @mode (@flags, @seed), then @total bytes of pl_fill(@fill) in one send(). */
static void send_shaped(struct __test_metadata *_metadata, int fd, uint8_t mode, uint8_t flags,
			uint64_t seed, size_t total, uint64_t fill)
{
	uint8_t *buf = xmalloc(total);

	ASSERT_EQ(0, tpl_set(fd, PLASMATIC_TPL_TX, mode, flags, seed));
	pl_fill(buf, total, fill);
	ASSERT_EQ((ssize_t)total, send(fd, buf, total, 0));
	free(buf);
}

static uint32_t scale_for(const struct pl_tpl_draw *d, size_t n)
{
	double mean = 0;

	for (size_t i = 0; i < n; i++)
		mean += d[i].delay_us;
	mean /= n;
	if (mean * PACE_SCALE_MAX / PACE_SCALE_REAL < MEAN_GAP_US)
		return PACE_SCALE_MAX;
	return (uint32_t)(MEAN_GAP_US * (double)PACE_SCALE_REAL / mean);
}

/*
 * Gaps between the departures of records [from, to) and their scaled
 * delay draws: the KS distance between the two.
 */
static double gap_ks(const struct rec *r, const struct pl_tpl_draw *d, size_t from,
		     size_t to, uint32_t scale)
{
	size_t n = to - from - 1;
	double *g = calloc(n, sizeof(*g)), *w = calloc(n, sizeof(*w)), ks;

	for (size_t k = from + 1; k < to; k++) {
		g[k - from - 1] = r[k].t - r[k - 1].t;
		w[k - from - 1] = d[k].delay_us * 1e-6 * scale / PACE_SCALE_REAL;
	}
	if (getenv("PACE_DEBUG"))
		for (size_t i = 0; i < n; i++)
			printf("#  gap %zu: %.2f ms, delay %.2f ms\n", i + from + 1, g[i] * 1e3, w[i] * 1e3);
	ks = ks2(g, n, w, n);
	free(g);
	free(w);
	return ks;
}

static size_t content_of(const FIXTURE_VARIANT(pace) *variant, uint32_t size)
{
	size_t max = pl_max_content(variant->framing, variant->eem_len);

	return size < max ? size : max;
}

/* Header to EEM: content, inner type, AEAD tag, the EEM. */
static size_t wire_of(const FIXTURE_VARIANT(pace) *variant, uint32_t size)
{
	return PL_HEADER_LEN + content_of(variant, size) + 1 + 16 + variant->eem_len;
}

/*
 * Every mode 1..8, each on a connection of its own: the first NREC
 * records' sizes as drawn, and their departure gaps against the draws.
 */
TEST_F_TIMEOUT(pace, gaps_follow_draws, 600)
{
	struct pl_tpl_draw *d = xmalloc(NREC * sizeof(*d));
	struct rec *r = xmalloc((NREC + 8) * sizeof(*r));

	for (uint8_t mode = 1; mode < PLASMATIC_TPL_MODES; mode++) {
		struct rx_cfg cfg = { .mode = RX_DRAIN };
		struct plasmatic_pace_state ps;
		struct pl_tpl *tpl;
		size_t total = 0, n;
		uint32_t scale;
		double ks;
		int err = 0;

		/* PACE_MODE=N: that mode alone (to look at one). */
		if (getenv("PACE_MODE") && atoi(getenv("PACE_MODE")) != mode)
			continue;
		tpl = pl_tpl_new(mode, SEED + mode, true, &err);
		ASSERT_NE(NULL, tpl);
		draws(_metadata, tpl, NREC, d);
		pl_tpl_free(tpl);
		scale = getenv("PACE_SCALE") ? (uint32_t)atoi(getenv("PACE_SCALE")) :
					       scale_for(d, NREC);
		for (size_t i = 0; i < NREC; i++)
			total += content_of(variant, d[i].size);

		link_up(_metadata, self, &cfg, scale);
		send_shaped(_metadata, self->fd, mode, PLASMATIC_TPL_LOCK, SEED + mode, total, mode);
		ASSERT_EQ(0, pace_state(self->fd, &ps));
		close(self->fd);
		self->fd = -1;
		capture(_metadata, self, total + NREC * 512 + 4096);

		n = records(self, variant, r, NREC + 8);
		ASSERT_EQ(NREC, n) TH_LOG("mode %u: records on the wire", mode);
		for (size_t k = 0; k < n; k++) {
			ASSERT_EQ(wire_of(variant, d[k].size), r[k].len)
				TH_LOG("mode %u record %zu: size", mode, k);
			ASSERT_NE(0, r[k].t) TH_LOG("mode %u record %zu: no departure", mode, k);
		}
		ks = gap_ks(r, d, 0, n, scale);
		printf("# mode %u: scale %u/1000, %zu gaps, KS D = %.3f, paced %llu\n",
		       mode, scale, n - 1, ks, (unsigned long long)ps.paced);
		EXPECT_GT(0.1, ks) TH_LOG("mode %u: gaps do not follow the delays", mode);
		EXPECT_EQ(0, ps.overflow);

		EXPECT_EQ(0, link_down(self));
	}
	free(d);
	free(r);
}

/* Until TCP has nothing unacknowledged (or 30 s): the pacer is done. */
static void wait_acked(int fd)
{
	for (int i = 0; i < 3000; i++) {
		struct tcp_info ti;
		socklen_t l = sizeof(ti);

		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) || !ti.tcpi_unacked)
			return;
		usleep(10000);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The receiver's Seed Update (mode 5 to mode 1) reaches us between two
 * parts of the stream: the record after it is the first in the new mode,
 * in its size and in its timing.
 */
TEST_F_TIMEOUT(pace, seed_update_switches_timing, 300)
{
	enum { H = 150, SCALE = 2000 };
	struct pl_tpl_draw *a = xmalloc(H * sizeof(*a)), *b = xmalloc(H * sizeof(*b));
	struct pl_tpl_draw *d = xmalloc(2 * H * sizeof(*d));
	struct rec *r = xmalloc((2 * H + 8) * sizeof(*r));
	size_t la = 0, lb = 0, n;
	struct pl_tpl *tpl;
	double ks_a, ks_b, ks_ab;
	uint8_t *buf;
	int err = 0;
	char ch;

	tpl = pl_tpl_new(5, SEED + 5, true, &err);
	ASSERT_NE(NULL, tpl);
	draws(_metadata, tpl, H, a);
	pl_tpl_free(tpl);
	tpl = pl_tpl_new(1, SEED + 1, true, &err);
	ASSERT_NE(NULL, tpl);
	draws(_metadata, tpl, H, b);
	pl_tpl_free(tpl);
	for (size_t i = 0; i < H; i++) {
		la += content_of(variant, a[i].size);
		lb += content_of(variant, b[i].size);
		d[i] = a[i];
		d[H + i] = b[i];
	}
	{
		struct rx_cfg cfg = {
			.mode = RX_SEED_UPDATE, .tx = &self->ba, .rx = &self->ab,
			.len = la, .su_mode = 1,
		};

		link_up(_metadata, self, &cfg, SCALE);
	}
	ASSERT_EQ(0, tpl_set(self->fd, PLASMATIC_TPL_TX, 5, PLASMATIC_TPL_LOCK, SEED + 5));
	buf = xmalloc(la + lb);
	pl_fill(buf, la + lb, 3);
	ASSERT_EQ((ssize_t)la, send(self->fd, buf, la, 0));
	ASSERT_EQ(1, recv(self->fd, &ch, 1, 0));
	ASSERT_EQ('s', ch);
	ASSERT_EQ((ssize_t)lb, send(self->fd, buf + la, lb, 0));
	free(buf);
	shutdown(self->fd, SHUT_WR);
	capture(_metadata, self, la + lb + 2 * H * 512 + 4096);

	n = records(self, variant, r, 2 * H + 8);
	ASSERT_EQ(2 * H, n);
	for (size_t k = 0; k < n; k++) {
		ASSERT_EQ(wire_of(variant, d[k].size), r[k].len) TH_LOG("record %zu: size", k);
	}
	/* The gap before record H includes our wait for the update. */
	ks_a = gap_ks(r, d, 0, H, SCALE);
	ks_b = gap_ks(r, d, H, 2 * H, SCALE);
	for (size_t i = 0; i < H; i++)
		d[H + i] = a[i];
	ks_ab = gap_ks(r, d, H, 2 * H, SCALE);
	printf("# KS D: mode 5 part %.3f, mode 1 part %.3f, mode 1 part against mode 5 %.3f\n",
	       ks_a, ks_b, ks_ab);
	EXPECT_GT(0.15, ks_a);
	EXPECT_GT(0.15, ks_b);
	EXPECT_LT(0.4, ks_ab);
	EXPECT_EQ(0, link_down(self));
	free(a);
	free(b);
	free(d);
	free(r);
}

/*
 * Unlocked, mode 2 rotates to mode 4 after 1024 records (SPEC 9.4): the
 * 300 gaps from the rotation on follow mode 4's draws, not what mode 2
 * would have drawn, and every record's size is the rotating engine's.
 * Scale 4x, so that mode 4's gaps (20..100 ms) have the other tests' mean
 * of 60 ms: mode 2's 1024 records (4..20 ms apart) take about 12 s, mode
 * 4's 300 about 18 s.  The gaps before the rotation are only printed:
 * mode 2's own timing is gaps_follow_draws' (at 20x).
 */
TEST_F_TIMEOUT(pace, rotation_switches_timing, 300)
{
	enum { R = 1024, H = 300, SCALE = 4000 };
	struct pl_tpl_draw *d = xmalloc((R + H) * sizeof(*d));
	struct pl_tpl_draw *old = xmalloc((R + H) * sizeof(*old));
	struct rec *r = xmalloc((R + H + 8) * sizeof(*r));
	struct rx_cfg cfg = { .mode = RX_DRAIN };
	struct plasmatic_pace_state ps;
	double ks_before, ks_new, ks_old;
	struct pl_tpl *tpl;
	size_t total = 0, n;
	int err = 0;

	tpl = pl_tpl_new(2, SEED + 2, false, &err);
	ASSERT_NE(NULL, tpl);
	draws(_metadata, tpl, R + H, d);
	pl_tpl_free(tpl);
	/* Mode 2 locked: what the records after the rotation would be without it. */
	tpl = pl_tpl_new(2, SEED + 2, true, &err);
	ASSERT_NE(NULL, tpl);
	draws(_metadata, tpl, R + H, old);
	pl_tpl_free(tpl);
	ASSERT_EQ(2, d[R - 1].mode);
	ASSERT_EQ(4, d[R].mode);
	for (size_t i = 0; i < R + H; i++)
		total += content_of(variant, d[i].size);

	link_up(_metadata, self, &cfg, SCALE);
	send_shaped(_metadata, self->fd, 2, 0, SEED + 2, total, 8);
	wait_acked(self->fd);
	ASSERT_EQ(0, pace_state(self->fd, &ps));
	close(self->fd);
	self->fd = -1;
	capture(_metadata, self, total + (R + H) * 512 + 4096);

	n = records(self, variant, r, R + H + 8);
	ASSERT_EQ(R + H, n);
	for (size_t k = 0; k < n; k++) {
		ASSERT_EQ(wire_of(variant, d[k].size), r[k].len) TH_LOG("record %zu: size", k);
		ASSERT_NE(0, r[k].t) TH_LOG("record %zu: no departure", k);
	}
	/* Gaps before records R..R+H-1: the first is mode 4's first draw. */
	ks_before = gap_ks(r, d, R - H - 1, R, SCALE);
	ks_new = gap_ks(r, d, R - 1, R + H, SCALE);
	ks_old = gap_ks(r, old, R - 1, R + H, SCALE);
	printf("# KS D: mode 2 before the rotation %.3f; after it against mode 4 %.3f, "
	       "against mode 2 %.3f; paced %llu\n", ks_before, ks_new, ks_old,
	       (unsigned long long)ps.paced);
	EXPECT_GT(0.1, ks_new);
	EXPECT_LT(0.4, ks_old);
	EXPECT_EQ(R + H, ps.paced);
	EXPECT_EQ(0, ps.overflow);
	EXPECT_EQ(0, link_down(self));
	free(d);
	free(old);
	free(r);
}

/*
 * 1% of the packets lost on the way (every 100th: a random 1% of the
 * stream's 600-odd packets was sometimes none, and then there was nothing
 * to retransmit) and a receiver that starts reading a second late: it gets every byte in order (it decrypts and compares),
 * the pacer let retransmissions through without a delay of their own,
 * every record was paced once, and close() does not wait.
 */
TEST_F_TIMEOUT(pace, loss_and_stall, 300)
{
	enum { NR = 600 };
	struct pl_tpl_draw *d = xmalloc(NR * sizeof(*d));
	struct plasmatic_pace_state ps;
	struct rx_cfg cfg = {
		.mode = RX_CHECK, .tx = &self->ba, .rx = &self->ab, .fill = 4,
		.stall_ms = 1000,
		.ingress = "matchall action gact pass random determ drop 100",
	};
	struct pl_tpl *tpl;
	size_t total = 0;
	double t0;
	int err = 0;

	tpl = pl_tpl_new(4, SEED + 4, true, &err);
	ASSERT_NE(NULL, tpl);
	draws(_metadata, tpl, NR, d);
	pl_tpl_free(tpl);
	for (size_t i = 0; i < NR; i++)
		total += content_of(variant, d[i].size);
	cfg.len = total;

	link_up(_metadata, self, &cfg, PACE_SCALE_REAL);
	send_shaped(_metadata, self->fd, 4, PLASMATIC_TPL_LOCK, SEED + 4, total, 4);
	wait_acked(self->fd);
	ASSERT_EQ(0, pace_state(self->fd, &ps));
	printf("# paced %llu, retransmissions %llu, late %llu, queued %llu\n",
	       (unsigned long long)ps.paced, (unsigned long long)ps.retrans,
	       (unsigned long long)ps.late, (unsigned long long)ps.queued);
	EXPECT_EQ(NR, ps.paced);
	EXPECT_LT(0, ps.retrans);
	EXPECT_EQ(0, ps.queued);
	EXPECT_EQ(0, ps.overflow);
	t0 = now_s();
	close(self->fd);
	self->fd = -1;
	EXPECT_GT(1.0, now_s() - t0) TH_LOG("close() waited");
	capture(_metadata, self, total + NR * 512 + 4096);
	EXPECT_EQ(0, link_down(self)) TH_LOG("the receiver's stream is not what was sent");
	free(d);
}

/* Mode 0 under the pacer: no record is queued or paced. */
TEST_F_TIMEOUT(pace, mode0_not_paced, 120)
{
	struct rx_cfg cfg = { .mode = RX_DRAIN };
	struct plasmatic_pace_state ps;
	size_t total = 4 << 20;
	uint8_t *buf = xmalloc(total);

	link_up(_metadata, self, &cfg, PACE_SCALE_REAL);
	pl_fill(buf, total, 5);
	ASSERT_EQ((ssize_t)total, send(self->fd, buf, total, 0));
	free(buf);
	wait_acked(self->fd);
	ASSERT_EQ(0, pace_state(self->fd, &ps));
	EXPECT_EQ(0, ps.paced);
	EXPECT_EQ(0, ps.queued);
	EXPECT_EQ(0, ps.retrans);
	EXPECT_EQ(0, link_down(self));
}

/*
 * No pacer: the queue holds only records TCP has not sent, so it stays
 * small however long the stream; the others are counted as late.
 */
TEST_F_TIMEOUT(pace, no_pacer_queue_bounded, 120)
{
	enum { NR = 3000 };
	struct plasmatic_pace_state ps;
	size_t total = NR * 100, got = 0;
	uint8_t *buf = xmalloc(total), *in = xmalloc(total);

	UPGRADE_BOTH();
	/* Mode 3: records of 10..60 bytes, the most per byte. */
	ASSERT_EQ(0, tpl_set(self->a, PLASMATIC_TPL_TX, 3, PLASMATIC_TPL_LOCK, SEED));
	pl_fill(buf, total, 6);
	for (size_t off = 0; off < total; off += 1000) {
		ASSERT_EQ(1000, send(self->a, buf + off, 1000, 0));
		while (got < off) {
			ssize_t n = recv(self->b, in + got, total - got, 0);

			ASSERT_LT(0, n);
			got += n;
		}
	}
	while (got < total) {
		ssize_t n = recv(self->b, in + got, total - got, 0);

		ASSERT_LT(0, n);
		got += n;
	}
	ASSERT_EQ(0, memcmp(buf, in, total));
	ASSERT_EQ(0, pace_state(self->a, &ps));
	printf("# records late %llu, queued %llu\n", (unsigned long long)ps.late,
	       (unsigned long long)ps.queued);
	EXPECT_EQ(0, ps.paced);
	EXPECT_EQ(0, ps.overflow);
	EXPECT_LT(NR, ps.late + ps.queued);
	EXPECT_GT(64, ps.queued);
	free(buf);
	free(in);
}

#define CLI "build/userspace/plasmatic"
/* A copy nobody can run: it may not search the tree CLI is in. */
#define CLI_ANYONE "/tmp/pace-cli/plasmatic"
#define NOBODY 65534

/*
 * Run a shell command as root (uid < 0) or as user and group @uid: its
 * standard output (first 4 KiB; the command redirects its stderr there
 * if it wants it) and its exit status in *rc.
 */
static char *run(int *rc, int uid, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static char *run(int *rc, int uid, const char *fmt, ...)
{
	static char out[4096];
	char cmd[1024];
	int p[2], status;
	size_t got = 0;
	ssize_t n;
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = 0;
	*rc = -1;
	if (pipe(p))
		return out;
	pid = fork();
	if (!pid) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		if (uid >= 0 && (setgroups(0, NULL) || setgid(uid) || setuid(uid)))
			_exit(100);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (got + 1 < sizeof(out) && (n = read(p[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += n;
	out[got] = 0;
	close(p[0]);
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		*rc = WEXITSTATUS(status);
	return out;
}

/* The packets @dev's root qdisc holds ("backlog 123b 4p"), or -1. */
static long root_backlog(const char *dev)
{
	int rc;
	char *out = run(&rc, -1, "tc -s qdisc show dev %s root", dev);
	char *b = strstr(out, "backlog ");
	long bytes, pkts;

	if (rc || !b || sscanf(b, "backlog %ldb %ldp", &bytes, &pkts) != 2)
		return -1;
	return pkts;
}

/*
 * The root qdisc (fq, or plasmatic_tpl's tree) holds a record until its
 * departure, seconds ahead in mode 7 at real time, and gives the held
 * packets back when the device goes down (the qdisc's reset): backlog
 * first, then none, and close() stays prompt.
 */
TEST_F_TIMEOUT(pace, held_then_reset, 60)
{
	struct rx_cfg cfg = { .mode = RX_DRAIN };
	struct plasmatic_pace_state ps;
	struct timespec t0, t1;
	uint8_t buf[4000];
	long held;

	link_up(_metadata, self, &cfg, PACE_SCALE_REAL);
	/* Mode 7: 1..5 s between records; the second and later wait. */
	ASSERT_EQ(0, tpl_set(self->fd, PLASMATIC_TPL_TX, 7, PLASMATIC_TPL_LOCK, SEED));
	pl_fill(buf, sizeof(buf), 9);
	ASSERT_EQ((ssize_t)sizeof(buf), send(self->fd, buf, sizeof(buf), 0));
	usleep(300 * 1000);
	held = root_backlog("va");
	EXPECT_LT(0, held) TH_LOG("root qdisc %s holds nothing", root_qdisc);
	ASSERT_EQ(0, pace_state(self->fd, &ps));
	EXPECT_LT(1, ps.paced);

	ASSERT_EQ(0, sh("ip link set va down"));
	EXPECT_EQ(0, root_backlog("va"));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	close(self->fd);
	self->fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	EXPECT_GT(1.0, t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	/* The receiver never sees the end of a stream cut off like this. */
	kill(self->child, SIGKILL);
	waitpid(self->child, NULL, 0);
	self->child = -1;
	link_down(self);
}

/*
 * plasmatic shape: attaching twice is attaching once, the records of a
 * shaped connection are then paced, --off leaves the device as it was
 * (no fq, no clsact), twice too, and a user without root gets an error.
 */
TEST_F_TIMEOUT(pace, cli_shape, 120)
{
	enum { NR = 100 };
	struct rx_cfg cfg = { .mode = RX_DRAIN };
	struct plasmatic_pace_state ps;
	size_t total = NR * 500;
	uint8_t *buf = xmalloc(total);
	char *out;
	int rc;

	link_up(_metadata, self, &cfg, 0);
	out = run(&rc, -1, CLI " shape --dev va --status 2>&1");
	EXPECT_EQ(1, rc) TH_LOG("%s", out);
	for (int i = 0; i < 2; i++) {
		out = run(&rc, -1, CLI " shape --dev va --time-scale 100 2>&1");
		ASSERT_EQ(0, rc) TH_LOG("%s", out);
	}
	out = run(&rc, -1, CLI " shape --dev va --status 2>&1");
	EXPECT_EQ(0, rc) TH_LOG("%s", out);
	out = run(&rc, -1, "tc filter show dev va egress");
	ASSERT_NE(NULL, strstr(out, "handle 0x504c plasmatic_pace")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(strstr(out, "handle 0x504c") + 1, "handle 0x504c"))
		TH_LOG("attached twice: %s", out);
	out = run(&rc, -1, "tc qdisc show dev va root");
	EXPECT_EQ(0, strncmp(out, "qdisc ", 6)) TH_LOG("%s", out);
	EXPECT_EQ(0, strncmp(out + 6, root_qdisc, strlen(root_qdisc))) TH_LOG("%s", out);

	/*
	 * A second device gets a root qdisc of its own (plasmatic_tpl keeps
	 * a queue per instance), and taking it off leaves the first alone.
	 */
	ASSERT_EQ(0, sh("ip link add vx type veth peer name vy && ip link set vx up"));
	out = run(&rc, -1, CLI " shape --dev vx --qdisc %s 2>&1", root_qdisc);
	EXPECT_EQ(0, rc) TH_LOG("%s", out);
	out = run(&rc, -1, "tc qdisc show dev vx root");
	EXPECT_EQ(0, strncmp(out + 6, root_qdisc, strlen(root_qdisc))) TH_LOG("%s", out);
	out = run(&rc, -1, CLI " shape --dev vx --off 2>&1");
	EXPECT_EQ(0, rc) TH_LOG("%s", out);
	sh("ip link del vx");
	out = run(&rc, -1, "tc qdisc show dev va root");
	EXPECT_EQ(0, strncmp(out + 6, root_qdisc, strlen(root_qdisc))) TH_LOG("%s", out);

	/* Mode 5 records, 10..20 ms apart drawn, 1..2 ms with the scale. */
	ASSERT_EQ(0, tpl_set(self->fd, PLASMATIC_TPL_TX, 5, PLASMATIC_TPL_LOCK, SEED));
	pl_fill(buf, total, 7);
	ASSERT_EQ((ssize_t)total, send(self->fd, buf, total, 0));
	wait_acked(self->fd);
	ASSERT_EQ(0, pace_state(self->fd, &ps));
	EXPECT_LT(NR, ps.paced) TH_LOG("paced %llu", (unsigned long long)ps.paced);

	ASSERT_EQ(0, sh("mkdir -p -m 777 /tmp/pace-cli && cp " CLI " " CLI_ANYONE));
	out = run(&rc, NOBODY, CLI_ANYONE " shape --dev va --off 2>&1");
	EXPECT_EQ(1, rc) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "root")) TH_LOG("%s", out);
	for (int i = 0; i < 2; i++) {
		out = run(&rc, -1, CLI " shape --dev va --off 2>&1");
		EXPECT_EQ(0, rc) TH_LOG("%s", out);
	}
	out = run(&rc, -1, CLI " shape --dev va --status 2>&1");
	EXPECT_EQ(1, rc) TH_LOG("%s", out);
	out = run(&rc, -1, "tc qdisc show dev va");
	EXPECT_EQ(NULL, strstr(out, "fq ")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, PL_QDISC_KIND)) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, "clsact")) TH_LOG("%s", out);
	free(buf);
	EXPECT_EQ(0, link_down(self));
}

/*
 * One connection to `listen --tpl-mode 5 ARGS` on our end of the veth
 * (port @port) as @uid, from `connect` in the receiver's namespace: 0 if
 * the client got its line back.  The server's stderr in *err.
 */
static int cli_conn(FIXTURE_DATA(pace) *self, int uid, int port, const char *args,
		    char *err, size_t len)
{
	char *out;
	int rc;
	FILE *f;

	unlink("/tmp/pace-cli/srv.err");	/* the last one's, maybe another user's */
	run(&rc, uid, "%s listen 10.%d.0.1:%d --cert /tmp/pace-cli/c.pem --key /tmp/pace-cli/k.pem "
	    "--tpl-mode 5 --tpl-lock -v --exec cat --once %s </dev/null >/dev/null "
	    "2>/tmp/pace-cli/srv.err &", uid < 0 ? CLI : CLI_ANYONE, NET, port, args);
	if (rc)
		return -1;
	/* Until the server listens. */
	out = run(&rc, -1, "i=0; while [ $i -lt 100 ]; do echo hello | busybox nsenter -t %d -n "
		  CLI " connect 10.%d.0.1:%d --ca /tmp/pace-cli/c.pem --sni pace 2>/dev/null && "
		  "exit 0; i=$((i + 1)); sleep 0.1; done; exit 1", self->child, NET, port);
	if (rc || strcmp(out, "hello\n"))
		return -1;
	/* The server said what it did with the pacer before the handshake. */
	*err = 0;
	f = fopen("/tmp/pace-cli/srv.err", "r");
	if (f) {
		err[fread(err, 1, len - 1, f)] = 0;
		fclose(f);
	}
	return 0;
}

/* The id of our program on va's egress hook ("" if none). */
static void prog_id(char *id, size_t len)
{
	char *out, *p;
	int rc;

	out = run(&rc, -1, "tc filter show dev va egress");
	p = strstr(out, "handle 0x504c plasmatic_pace");
	p = p ? strstr(p, " id ") : NULL;
	snprintf(id, len, "%.*s", p ? (int)strcspn(p + 4, " \n") : 0, p ? p + 4 : "");
}

/*
 * listen --tpl-mode: the pacer goes on the device the connection leaves
 * by (va, the route to the client) when it is missing; a second server
 * finds it there and leaves it (the same program, once); --no-shape
 * leaves the device alone; as nobody, one warning line, and the
 * connection goes on.
 */
TEST_F_TIMEOUT(pace, cli_auto_shape, 180)
{
	struct rx_cfg cfg = { .mode = RX_DRAIN };
	char err[4096], id[32], id2[32], *out, *w;
	int rc;

	link_up(_metadata, self, &cfg, 0);
	/* The receiver drains to the end; its namespace stays for connect. */
	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(0, sh("mkdir -p -m 777 /tmp/pace-cli && cp " CLI " " CLI_ANYONE " && "
			"cd /tmp/pace-cli && openssl req -x509 -newkey ec -pkeyopt "
			"ec_paramgen_curve:prime256v1 -nodes -keyout k.pem -out c.pem -subj /CN=pace "
			"-addext subjectAltName=DNS:pace -days 1 2>/dev/null && chmod 644 k.pem"));
	out = run(&rc, -1, CLI " shape --dev va --status 2>&1");
	ASSERT_EQ(1, rc) TH_LOG("%s", out);

	ASSERT_EQ(0, cli_conn(self, -1, PORT + 1, "", err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "plasmatic: pacer attached to va\n")) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "tpl_mode=5 (locked)")) TH_LOG("%s", err);
	out = run(&rc, -1, CLI " shape --dev va --status 2>&1");
	EXPECT_EQ(0, rc) TH_LOG("%s", out);
	prog_id(id, sizeof(id));
	ASSERT_NE(0, id[0]);

	ASSERT_EQ(0, cli_conn(self, -1, PORT + 2, "", err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "plasmatic: pacer already on va\n")) TH_LOG("%s", err);
	prog_id(id2, sizeof(id2));
	EXPECT_STREQ(id, id2) TH_LOG("the program was replaced");
	out = run(&rc, -1, "tc filter show dev va egress");
	EXPECT_EQ(NULL, strstr(strstr(out, "handle 0x504c") + 1, "handle 0x504c"))
		TH_LOG("attached twice: %s", out);

	out = run(&rc, -1, CLI " shape --dev va --off 2>&1");
	ASSERT_EQ(0, rc) TH_LOG("%s", out);
	ASSERT_EQ(0, cli_conn(self, -1, PORT + 3, "--no-shape", err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(NULL, strstr(err, "pacer")) TH_LOG("%s", err);
	out = run(&rc, -1, CLI " shape --dev va --status 2>&1");
	EXPECT_EQ(1, rc) TH_LOG("%s", out);
	out = run(&rc, -1, "tc qdisc show dev va");
	EXPECT_EQ(NULL, strstr(out, "clsact")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, "qdisc fq ")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, PL_QDISC_KIND)) TH_LOG("%s", out);

	ASSERT_EQ(0, cli_conn(self, NOBODY, PORT + 4, "", err, sizeof(err))) TH_LOG("%s", err);
	w = strstr(err, "plasmatic: warning: no pacer on va: the pacer needs root (CAP_BPF and "
		    "CAP_NET_ADMIN); record sizes are still shaped, their timing is not");
	EXPECT_NE(NULL, w) TH_LOG("%s", err);
	w = strstr(err, "warning");
	EXPECT_EQ(NULL, w ? strstr(w + 1, "warning") : NULL) TH_LOG("one warning: %s", err);
	out = run(&rc, -1, CLI " shape --dev va --status 2>&1");
	EXPECT_EQ(1, rc) TH_LOG("%s", out);
	EXPECT_EQ(0, link_down(self));
}

int main(int argc, char **argv)
{
	const char *q = getenv("PACE_QDISC");

	root_qdisc = q && *q ? q : pl_qdisc_supported() ? PL_QDISC_KIND : "fq";
	printf("# root qdisc: %s\n", root_qdisc);
	pl_harness_prepare();
	return test_harness_run(argc, argv);
}
