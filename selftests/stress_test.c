// SPDX-License-Identifier: GPL-2.0
/*
 * Stress (issue 13, "Then prove it"): many kernel-to-kernel connections at
 * once, over loopback, each upgraded on both ends and doing its own mix:
 *
 *  - writes by send (with and without MSG_MORE), sendfile and splice from
 *    a pipe; reads by recv and by splice into a pipe;
 *  - keys from traffic secrets with KeyUpdates (requested or not) sent
 *    between writes, or from kTLS structures; Seed Updates for the peer
 *    and TPL shaping of our own records;
 *  - a quarter of them both ways at once (the peer answers a requested
 *    KeyUpdate before its next data);
 *  - kinds by index i % 8: 5 a reader that stalls before it reads, 6 the
 *    reader resets the connection (SO_LINGER 0, close) a third of the way
 *    in, 7 the writer closes in the middle of a record (MSG_MORE).
 *
 * What must hold: every connection of kinds 0-5 delivers its exact byte
 * stream each way, ended by close_notify (PLASMATIC_RX_END); kind 6's
 * writer fails with ECONNRESET or EPIPE, never hangs; kind 7's reader gets
 * a prefix of the stream, then the end; once all are closed, every gauge
 * of /proc/net/plasmatic_stat (PlasmaticCurr*) is back to 0.  The VM run
 * fails on any kernel report (tools/vm).
 *
 * STRESS_CONNS (default 64) connections of STRESS_BYTES (default 256 KiB,
 * the vm suite's run) each way; `make stress-long` runs 64 x 8 MiB.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <linux/tls.h>
#include <linux/plasmatic.h>

#include "kselftest_harness.h"
#include "plmain.h"
#include "sockpair.h"
#include "plrandkeys.h"

#define ST_CHUNK	(32 << 10)
#define ST_TMO_S	60	/* SO_RCVTIMEO / SO_SNDTIMEO: a stall is a failure */
#define STAT_FILE	"/proc/net/plasmatic_stat"

enum st_kind { ST_STALL = 5, ST_RST = 6, ST_CLOSE_MID = 7 };

struct st_global {
	size_t bytes;		/* per direction and connection */
	uint8_t *pat;		/* 2 x bytes: stream j of a conn is pat + shift */
	int memfd;		/* the same bytes, for sendfile */
};

struct st_conn;

struct st_dir {
	struct st_conn *c;
	int w, r;		/* writer's and reader's sockets */
	size_t shift;		/* the stream: pat + shift */
	size_t total;
	uint64_t rng;
	/* results */
	size_t sent, got;
	int werr, rerr, eof, rx_end;
	char fail[256];
	pthread_t wth, rth;
	int running;
};

struct st_conn {
	const struct st_global *g;
	int i, kind;
	int a, b;
	int secret;		/* keys from traffic secrets (KeyUpdate) */
	int both;		/* b writes to a too */
	int a_closed, b_closed;
	struct st_dir ab, ba;
};

static void st_fail(struct st_dir *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void st_fail(struct st_dir *d, const char *fmt, ...)
{
	va_list ap;

	if (d->fail[0])
		return;
	va_start(ap, fmt);
	vsnprintf(d->fail, sizeof(d->fail), fmt, ap);
	va_end(ap);
}

/* ---- upgrade ---- */

static int st_upgrade(struct st_conn *c, uint64_t *s)
{
	static const uint16_t ciphers[] = { TLS_CIPHER_AES_GCM_128, TLS_CIPHER_AES_GCM_256,
					    TLS_CIPHER_CHACHA20_POLY1305 };
	int one = 1;
	int ends[2] = { c->a, c->b };

	for (int e = 0; e < 2; e++)
		if (setsockopt(ends[e], SOL_TCP, TCP_ULP, PLASMATIC_ULP_NAME,
			       sizeof(PLASMATIC_ULP_NAME)) ||
		    setsockopt(ends[e], SOL_PLASMATIC, PLASMATIC_CLOSE_NOTIFY, &one, sizeof(one)))
			return -errno;
	return pl_random_keys(c->a, c->b, s, ciphers[c->i % 3], (c->i / 3) % 2, c->secret, 1);
}

/* ---- writer ---- */

static ssize_t st_splice_out(int sock, const uint8_t *p, size_t n)
{
	int pfd[2];
	ssize_t done = 0;

	if (pipe(pfd))
		return -1;
	if (write(pfd[1], p, n) != (ssize_t)n) {
		done = -1;
		goto out;
	}
	while ((size_t)done < n) {
		ssize_t k = splice(pfd[0], NULL, sock, NULL, n - done, 0);

		if (k <= 0) {
			if (!done)
				done = -1;
			break;
		}
		done += k;
	}
out:
	close(pfd[0]);
	close(pfd[1]);
	return done;
}

static void *st_writer(void *arg)
{
	struct st_dir *d = arg;
	struct st_conn *c = d->c;
	const uint8_t *pat = c->g->pat + d->shift;
	int kind = d == &c->ab ? c->kind : 0;
	size_t stop = kind == ST_CLOSE_MID ? d->total / 3 : d->total;

	if (d == &c->ab && c->i % 4 == 1) {
		struct plasmatic_tpl t = { .mode = 1 + c->i % 8, .seed = c->i };

		if (setsockopt(d->w, SOL_PLASMATIC, PLASMATIC_TPL_TX, &t, sizeof(t)))
			st_fail(d, "TPL_TX: %s", strerror(errno));
	}
	if (kind == ST_RST) {
		/* Until the reset: the stream over and over, 64 MiB at most. */
		while (d->sent < (64 << 20)) {
			size_t off = d->sent % d->total;
			size_t n = 1 + pl_rand64(&d->rng) % ST_CHUNK;
			ssize_t k;

			if (n > d->total - off)
				n = d->total - off;
			k = send(d->w, pat + off, n, MSG_NOSIGNAL);
			if (k < 0) {
				d->werr = errno;
				break;
			}
			d->sent += k;
		}
		stop = 0;
	}
	while (d->sent < stop) {
		size_t n = 1 + pl_rand64(&d->rng) % ST_CHUNK;
		int how = pl_rand64(&d->rng) % 5;
		ssize_t k;

		if (n > stop - d->sent)
			n = stop - d->sent;
		if (how == 1 && d->sent + n == d->total)
			how = 0;	/* the last write ends its record */
		switch (how) {
		case 0:
		case 1:
			k = send(d->w, pat + d->sent, n, MSG_NOSIGNAL | (how ? MSG_MORE : 0));
			break;
		case 2:
		case 3: {
			off_t off = d->shift + d->sent;

			k = sendfile(d->w, c->g->memfd, &off, n);
			break;
		}
		default:
			k = st_splice_out(d->w, pat + d->sent, n);
		}
		if (k < 0) {
			d->werr = errno;
			break;
		}
		d->sent += k;
		if ((size_t)k < n) {
			d->werr = EAGAIN;
			break;
		}
		/* Now and then a KeyUpdate (secrets) and a Seed Update. */
		if (c->secret && pl_rand64(&d->rng) % 4 == 0) {
			int ku = pl_rand64(&d->rng) % 2;

			if (setsockopt(d->w, SOL_PLASMATIC, PLASMATIC_KEY_UPDATE, &ku,
				       sizeof(ku))) {
				d->werr = errno;
				break;
			}
		}
		if (pl_rand64(&d->rng) % 8 == 0) {
			struct plasmatic_tpl t = { .mode = pl_rand64(&d->rng) % PLASMATIC_TPL_MODES,
						   .seed = pl_rand64(&d->rng) };

			if (setsockopt(d->w, SOL_PLASMATIC, PLASMATIC_SEED_UPDATE, &t,
				       sizeof(t))) {
				d->werr = errno;
				break;
			}
		}
	}
	if (kind == ST_CLOSE_MID && !d->werr) {
		/* Half a record held open, then gone. */
		if (send(d->w, pat + d->sent, 100, MSG_NOSIGNAL | MSG_MORE) == 100)
			d->sent += 100;
		close(d->w);
		c->a_closed = 1;
		return NULL;
	}
	if (kind == ST_RST) {
		if (d->werr != ECONNRESET && d->werr != EPIPE)
			st_fail(d, "writer after the peer's RST: %s at %zu",
				d->werr ? strerror(d->werr) : "no error", d->sent);
		return NULL;
	}
	if (d->werr)
		st_fail(d, "send at %zu: %s", d->sent, strerror(d->werr));
	else if (shutdown(d->w, SHUT_WR))
		st_fail(d, "shutdown: %s", strerror(errno));
	return NULL;
}

/* ---- reader ---- */

static void *st_reader(void *arg)
{
	struct st_dir *d = arg;
	struct st_conn *c = d->c;
	const uint8_t *pat = c->g->pat + d->shift;
	int kind = d == &c->ab ? c->kind : 0;
	int use_splice = c->i % 4 == 2, pfd[2] = { -1, -1 };
	uint8_t buf[ST_CHUNK];

	if (kind == ST_STALL)
		sleep(1);
	if (use_splice && pipe(pfd))
		use_splice = 0;
	for (;;) {
		size_t want = 1 + pl_rand64(&d->rng) % sizeof(buf);
		ssize_t n;

		if (kind == ST_RST && d->got >= d->total / 3) {
			struct linger l = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(d->r, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
			close(d->r);
			c->b_closed = 1;
			break;
		}
		if (use_splice) {
			n = splice(d->r, NULL, pfd[1], NULL, want, 0);
			if (n > 0 && read(pfd[0], buf, n) != n) {
				st_fail(d, "read from the pipe");
				break;
			}
		} else {
			n = recv(d->r, buf, want, 0);
		}
		if (n < 0) {
			d->rerr = errno;
			break;
		}
		if (!n) {
			d->eof = 1;
			break;
		}
		if (kind == ST_RST) {
			d->got += n;	/* the stream wraps: checked by kinds 0-5 */
			continue;
		}
		if (d->got + n > d->total || memcmp(buf, pat + d->got, n)) {
			st_fail(d, "%zd bytes at %zu are not those sent", n, d->got);
			break;
		}
		d->got += n;
	}
	if (pfd[0] >= 0) {
		close(pfd[0]);
		close(pfd[1]);
	}
	if (kind == ST_RST || d->fail[0])
		return NULL;
	if (d->eof) {
		socklen_t l = sizeof(d->rx_end);

		getsockopt(d->r, SOL_PLASMATIC, PLASMATIC_RX_END, &d->rx_end, &l);
	}
	if (kind == ST_CLOSE_MID) {
		/* A prefix (checked above), then the end: EOF or a reset. */
		if (!d->eof && d->rerr != ECONNRESET)
			st_fail(d, "after the writer's close: %s at %zu",
				d->rerr ? strerror(d->rerr) : "?", d->got);
		return NULL;
	}
	if (d->rerr)
		st_fail(d, "recv at %zu of %zu: %s", d->got, d->total, strerror(d->rerr));
	else if (d->got != d->total)
		st_fail(d, "EOF at %zu of %zu", d->got, d->total);
	else if (d->rx_end != PLASMATIC_END_CLOSE_NOTIFY)
		st_fail(d, "stream ended by %d, not close_notify", d->rx_end);
	return NULL;
}

/* ---- gauges ---- */

/* Sum of the PlasmaticCurr* gauges, their names and values in @what. */
static long st_gauges(char *what, size_t len)
{
	char line[256], key[128];
	unsigned long val;
	long sum = 0;
	size_t wl = 0;
	FILE *f = fopen(STAT_FILE, "re");

	what[0] = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %lu", key, &val) == 2 &&
		    !strncmp(key, "PlasmaticCurr", 13) && val) {
			sum += val;
			if (wl < len)
				wl += snprintf(what + wl, len - wl, " %s %lu", key, val);
		}
	fclose(f);
	return sum;
}

static size_t st_env(const char *name, size_t dflt)
{
	const char *e = getenv(name);
	char *end;
	size_t v;

	if (!e || !*e)
		return dflt;
	v = strtoull(e, &end, 0);
	if (*end == 'K' || *end == 'k')
		v <<= 10;
	else if (*end == 'M' || *end == 'm')
		v <<= 20;
	return v;
}

/* Run @nconn connections of @bytes each way, and check them (above). */
static void st_run(struct __test_metadata *_metadata, size_t nconn, size_t bytes)
{
	struct timeval tmo = { .tv_sec = ST_TMO_S };
	struct st_global g = { .bytes = bytes };
	struct st_conn *conns;
	uint64_t s = 0x5eed ^ nconn ^ bytes;
	char what[512];
	long gauges = -1, ok = 0;

	signal(SIGPIPE, SIG_IGN);
	ASSERT_LE(0, st_gauges(what, sizeof(what)));
	ASSERT_EQ(0, st_gauges(what, sizeof(what))) TH_LOG("gauges before:%s", what);

	g.pat = malloc(2 * bytes + 1);
	ASSERT_NE(NULL, g.pat);
	pl_rand_bytes(&s, g.pat, 2 * bytes + 1);
	g.memfd = memfd_create("stress", MFD_CLOEXEC);
	ASSERT_LE(0, g.memfd);
	ASSERT_EQ((ssize_t)(2 * bytes + 1), pwrite(g.memfd, g.pat, 2 * bytes + 1, 0));
	conns = calloc(nconn, sizeof(*conns));
	ASSERT_NE(NULL, conns);

	for (size_t i = 0; i < nconn; i++) {
		struct st_conn *c = &conns[i];
		struct pl_sockpair sp;

		c->g = &g;
		c->i = i;
		c->kind = i % 8;
		c->secret = c->kind != 3;
		c->both = c->kind == 0 || c->kind == 2 || c->kind == 4;
		ASSERT_EQ(0, pl_sockpair_tcp(&sp));
		c->a = sp.a;
		c->b = sp.b;
		for (int e = 0; e < 2; e++) {
			setsockopt(e ? c->b : c->a, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
			setsockopt(e ? c->b : c->a, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
		}
		ASSERT_EQ(0, st_upgrade(c, &s)) TH_LOG("connection %zu: %s", i, strerror(errno));
		c->ab = (struct st_dir){ .c = c, .w = c->a, .r = c->b, .total = bytes,
					 .shift = pl_rand64(&s) % bytes, .rng = pl_rand64(&s) };
		c->ba = (struct st_dir){ .c = c, .w = c->b, .r = c->a,
					 .total = c->both ? bytes : 0,
					 .shift = pl_rand64(&s) % bytes, .rng = pl_rand64(&s) };
	}
	/* The gauges count them (so that 0 below means something). */
	gauges = st_gauges(what, sizeof(what));
	EXPECT_LE(4 * (long)nconn, gauges) TH_LOG("gauges while open:%s", what);
	for (size_t i = 0; i < nconn; i++) {
		struct st_conn *c = &conns[i];

		ASSERT_EQ(0, pthread_create(&c->ab.wth, NULL, st_writer, &c->ab));
		ASSERT_EQ(0, pthread_create(&c->ab.rth, NULL, st_reader, &c->ab));
		if (c->both) {
			ASSERT_EQ(0, pthread_create(&c->ba.wth, NULL, st_writer, &c->ba));
			ASSERT_EQ(0, pthread_create(&c->ba.rth, NULL, st_reader, &c->ba));
		}
	}
	for (size_t i = 0; i < nconn; i++) {
		struct st_conn *c = &conns[i];

		pthread_join(c->ab.wth, NULL);
		pthread_join(c->ab.rth, NULL);
		if (c->both) {
			pthread_join(c->ba.wth, NULL);
			pthread_join(c->ba.rth, NULL);
		}
		EXPECT_EQ(0, c->ab.fail[0]) TH_LOG("connection %zu (kind %d) a->b: %s", i,
						   c->kind, c->ab.fail);
		EXPECT_EQ(0, c->ba.fail[0]) TH_LOG("connection %zu (kind %d) b->a: %s", i,
						   c->kind, c->ba.fail);
		if (!c->ab.fail[0] && !c->ba.fail[0])
			ok++;
		if (!c->b_closed)
			close(c->b);
		if (!c->a_closed)
			close(c->a);
	}
	TH_LOG("%zu connections of %zu bytes each way: %ld as expected", nconn, bytes, ok);

	/* Everything closed: the gauges go back to 0 (closing is not instant). */
	for (int t = 0; t < 100; t++) {
		gauges = st_gauges(what, sizeof(what));
		if (!gauges)
			break;
		usleep(100000);
	}
	EXPECT_EQ(0, gauges) TH_LOG("gauges after close:%s", what);
	free(conns);
	close(g.memfd);
	free(g.pat);
}

FIXTURE(st) {
	char tcp_mem[128];	/* net.ipv4.tcp_mem before the test */
};

#define TCP_MEM	"/proc/sys/net/ipv4/tcp_mem"

static int st_sysctl(const char *path, char *old, size_t len, const char *val)
{
	FILE *f = fopen(path, "re");
	int ok;

	if (!f)
		return -1;
	ok = fgets(old, len, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	f = fopen(path, "we");
	if (!f)
		return -1;
	ok = fputs(val, f) >= 0;
	return fclose(f) || !ok ? -1 : 0;
}

FIXTURE_SETUP(st)
{
}

FIXTURE_TEARDOWN(st)
{
	char cur[128];

	if (self->tcp_mem[0])
		st_sysctl(TCP_MEM, cur, sizeof(cur), self->tcp_mem);
}

TEST_F_TIMEOUT(st, many_connections_mixed, 7200)
{
	st_run(_metadata, st_env("STRESS_CONNS", 64), st_env("STRESS_BYTES", 256 << 10));
}

/*
 * TCP's memory over its hard limit (tcp_mem, in pages, a few hundred KiB
 * here): TCP drops what it cannot charge and the senders retransmit, and
 * records must still arrive whole once readers drain TCP, never an error
 * (recv gave ENOMEM: the record being read could not be charged).
 */
TEST_F_TIMEOUT(st, tcp_mem_pressure, 1200)
{
	ASSERT_EQ(0, st_sysctl(TCP_MEM, self->tcp_mem, sizeof(self->tcp_mem), "32 64 96"));
	st_run(_metadata, 8, 256 << 10);
}

PL_HARNESS_MAIN
