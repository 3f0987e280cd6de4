// SPDX-License-Identifier: GPL-2.0
/*
 * shape_test: TPL shaping and Seed Updates (SPEC 9) of libplasmatic, seen
 * on the wire.  The two ends of a pair talk through a relay thread that
 * keeps every byte each way; at the end the bytes are decoded with the
 * engine (keys from the library's own handshake: this binary is linked
 * with --wrap=pl_eem_schedule,--wrap=SSL_CTX_set_keylog_callback, whose
 * wrappers keep the EEM secrets and the traffic secrets), and the record
 * sizes are compared with draws computed here from SipHash (pl_tpl_prf)
 * and the rotation order of SPEC 9.4, independently of pl_tpl_next().
 *
 * Runs natively (userspace <-> userspace) and in the VM across datapath
 * pairings (PL_TEST_CLIENT_DATAPATH, PL_TEST_SERVER_DATAPATH).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "kselftest_harness.h"
#include "plasmatic.h"
#include "pl_engine.h"
#include "testpair.h"

/* ------------------------------------------- secrets from the library */

static pthread_mutex_t cap_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pl_eem_secrets cap_c2s, cap_s2c;
static uint8_t cap_csecret[48], cap_ssecret[48];
static size_t cap_secret_len;
static SSL_CTX_keylog_cb_func lib_keylog;

int __real_pl_eem_schedule(const uint8_t exp[PL_EXPORTER_LEN],
			   const uint8_t *psk, struct pl_eem_secrets *c2s,
			   struct pl_eem_secrets *s2c);
int __wrap_pl_eem_schedule(const uint8_t exp[PL_EXPORTER_LEN],
			   const uint8_t *psk, struct pl_eem_secrets *c2s,
			   struct pl_eem_secrets *s2c);
void __real_SSL_CTX_set_keylog_callback(SSL_CTX *ctx,
					SSL_CTX_keylog_cb_func cb);
void __wrap_SSL_CTX_set_keylog_callback(SSL_CTX *ctx,
					SSL_CTX_keylog_cb_func cb);

int __wrap_pl_eem_schedule(const uint8_t exp[PL_EXPORTER_LEN],
			   const uint8_t *psk, struct pl_eem_secrets *c2s,
			   struct pl_eem_secrets *s2c)
{
	int rc = __real_pl_eem_schedule(exp, psk, c2s, s2c);

	pthread_mutex_lock(&cap_mu);
	cap_c2s = *c2s;
	cap_s2c = *s2c;
	pthread_mutex_unlock(&cap_mu);
	return rc;
}

static void tee_keylog(const SSL *ssl, const char *line)
{
	uint8_t *dst = NULL;
	const char *p;
	size_t n = 0;

	if (!strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24))
		dst = cap_csecret;
	else if (!strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24))
		dst = cap_ssecret;
	if (dst) {
		pthread_mutex_lock(&cap_mu);
		p = strchr(line + 24, ' ') + 1;
		while (p[0] && p[1] && n < 48) {
			dst[n++] = (uint8_t)(pl_hex_digit(p[0]) << 4 |
					     pl_hex_digit(p[1]));
			p += 2;
		}
		cap_secret_len = n;
		pthread_mutex_unlock(&cap_mu);
	}
	lib_keylog(ssl, line);
}

void __wrap_SSL_CTX_set_keylog_callback(SSL_CTX *ctx,
					SSL_CTX_keylog_cb_func cb)
{
	lib_keylog = cb;
	__real_SSL_CTX_set_keylog_callback(ctx, cb ? tee_keylog : NULL);
}

/* ------------------------------------------------------------ relay */

struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void bytes_add(struct bytes *b, const uint8_t *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* cfd (client) <-> a ... relay ... b <-> sfd (server) */
struct relay {
	int a, b;
	struct bytes c2s, s2c;
	pthread_t th;
};

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void *relay_main(void *arg)
{
	struct relay *r = arg;
	bool a_open = true, b_open = true;
	static __thread uint8_t buf[65536];

	while (a_open || b_open) {
		struct pollfd pf[2] = {
			{ .fd = a_open ? r->a : -1, .events = POLLIN },
			{ .fd = b_open ? r->b : -1, .events = POLLIN },
		};

		if (poll(pf, 2, 60000) <= 0)
			break;
		for (int i = 0; i < 2; i++) {
			int from = i ? r->b : r->a, to = i ? r->a : r->b;
			ssize_t n;

			if (!pf[i].revents)
				continue;
			n = recv(from, buf, sizeof(buf), 0);
			if (n <= 0) {
				shutdown(to, SHUT_WR);
				if (i)
					b_open = false;
				else
					a_open = false;
				continue;
			}
			bytes_add(i ? &r->s2c : &r->c2s, buf, (size_t)n);
			if (write_all(to, buf, (size_t)n))
				return NULL;
		}
	}
	return NULL;
}

/* ------------------------------------------------------------ decode */

struct rec {
	uint8_t type;
	size_t len;		/* content */
	size_t t;		/* content + padding */
	struct pl_seed_update su;
};

struct dir_recs {
	struct rec *r;
	size_t n;
	struct bytes data;	/* application data, in order */
	int err;		/* engine error, or 0 */
};

/* The records of one direction: c2s from the opening record on, s2c
 * after the two tickets. */
static void decode(const struct bytes *in, bool s2c, uint16_t suite,
		   uint8_t framing, uint8_t eem_len, struct dir_recs *out)
{
	struct pl_dir_config dc = {
		.suite = suite, .secret_len = cap_secret_len,
		.secret = s2c ? cap_ssecret : cap_csecret,
		.eem_key = s2c ? cap_s2c.key : cap_c2s.key,
		.eem_nonce = s2c ? cap_s2c.nonce : cap_c2s.nonce,
		.seq = s2c ? 2 : 0, .framing = framing, .eem_len = eem_len,
	};
	size_t off = 0, start;
	struct pl_rx *rx;

	memset(out, 0, sizeof(*out));
	/* The handshake and the tickets are OpenSSL's records, with no EEM:
	 * the first record that opens under these keys is ours. */
	for (;;) {
		struct pl_record pr;
		size_t used;
		int rc;

		if (off + 5 > in->len) {
			out->err = PL_ERR_TRUNCATED;
			return;
		}
		rx = pl_rx_new(&dc, &out->err);
		if (!rx)
			return;
		rc = pl_rx_feed(rx, in->p + off, in->len - off, &used, &pr);
		pl_rx_free(rx);
		if (rc == 1)
			break;
		off += 5 + ((size_t)in->p[off + 3] << 8 | in->p[off + 4]);
	}
	rx = pl_rx_new(&dc, &out->err);
	if (!rx)
		return;
	start = off;
	while (off < in->len) {
		struct pl_record pr;
		size_t used = 0;
		int rc = pl_rx_feed(rx, in->p + off, in->len - off, &used, &pr);

		off += used;
		if (rc < 0) {
			out->err = rc;
			break;
		}
		if (rc == 0)
			break;
		out->r = realloc(out->r, (out->n + 1) * sizeof(*out->r));
		out->r[out->n] = (struct rec){
			.type = pr.content_type, .len = pr.len,
			.t = off - start - PL_HEADER_LEN - 1 - PL_TLS_TAG_LEN -
			     eem_len,
			.su = pr.su,
		};
		out->n++;
		if (pr.content_type == PLASMATIC_CT_APPLICATION_DATA && pr.len)
			bytes_add(&out->data, pr.content, pr.len);
		start = off;
	}
	if (!out->err && off != in->len)
		out->err = PL_ERR_TRUNCATED;
	pl_rx_free(rx);
}

static void dir_free(struct dir_recs *d)
{
	free(d->r);
	free(d->data.p);
}

/* ------------------------------------------------- expected draws */

/* SPEC 9.4 rotation order, written out here. */
static uint8_t next_mode(uint8_t m)
{
	static const uint8_t order[] = { 1, 2, 4, 5, 6, 7, 8, 3 };

	for (size_t i = 0; i < sizeof(order); i++)
		if (order[i] == m)
			return order[(i + 1) % sizeof(order)];
	return m;	/* 0 does not rotate */
}

/* Size (capped) of record j since (mode, seed, lock) was set. */
static size_t want_size(struct pl_tpl *tpl, uint8_t mode, uint64_t seed,
			bool lock, uint64_t j, size_t max)
{
	uint64_t r = 0;
	size_t t;

	while (!lock && mode && j >= 1024) {
		mode = next_mode(mode);
		j -= 1024;
	}
	if (pl_tpl_prf(tpl, seed, mode, 2 * j, &r))
		return 0;
	t = pl_tpl_size(mode, r);
	return t < max ? t : max;
}

/* ----------------------------------------------------------- a pair */

struct tpair {
	struct pl_config ccfg, scfg;
	struct pl_ctx *cctx, *sctx;
	int cfd, sfd;
	struct relay rl;
	struct pl_conn *cc, *sc;
	struct pl_error cerr, serr;
	struct pl_conn_info ci;
	struct dir_recs up, down;	/* c2s, s2c */
	struct pl_tpl *tpl;		/* for pl_tpl_prf only */
	size_t max;
};

static void tpair_init(struct tpair *t)
{
	memset(t, 0, sizeof(*t));
	test_configs(&t->ccfg, &t->scfg);
	t->cfd = t->sfd = t->rl.a = t->rl.b = -1;
	t->tpl = pl_tpl_new(0, 0, false, NULL);
}

static int tpair_start(struct tpair *t)
{
	t->cctx = pl_ctx_new(&t->ccfg, &t->cerr);
	t->sctx = pl_ctx_new(&t->scfg, &t->serr);
	if (!t->cctx || !t->sctx)
		return -1;
	if (tcp_pair(&t->cfd, &t->rl.a) || tcp_pair(&t->rl.b, &t->sfd))
		return -1;
	set_rcvtimeo(t->cfd, 60);
	set_rcvtimeo(t->sfd, 60);
	if (pthread_create(&t->rl.th, NULL, relay_main, &t->rl))
		return -1;
	if (connect_pair(t->cctx, t->sctx, t->cfd, t->sfd, &t->cc, &t->sc,
			 &t->cerr, &t->serr))
		return -1;
	pl_conn_info(t->cc, &t->ci);
	t->max = pl_conn_record_max(t->cc);
	return 0;
}

/* Both ends end their data and read the other's end; the relay ends; the
 * bytes are decoded.  0 or -1. */
static int tpair_finish(struct tpair *t)
{
	uint8_t b[256];

	if (pl_conn_shutdown(t->cc) || pl_conn_shutdown(t->sc))
		return -1;
	if (pl_conn_read(t->sc, b, sizeof(b)) != 0 ||
	    pl_conn_read(t->cc, b, sizeof(b)) != 0)
		return -1;
	pthread_join(t->rl.th, NULL);
	t->rl.th = 0;
	decode(&t->rl.c2s, false, t->ci.suite, t->ci.framing, t->ci.eem_len,
	       &t->up);
	decode(&t->rl.s2c, true, t->ci.suite, t->ci.framing, t->ci.eem_len,
	       &t->down);
	return t->up.err || t->down.err ? -1 : 0;
}

static void tpair_free(struct tpair *t)
{
	if (t->rl.th) {
		shutdown(t->rl.a, SHUT_RDWR);
		shutdown(t->rl.b, SHUT_RDWR);
		pthread_join(t->rl.th, NULL);
	}
	if (t->rl.a >= 0)
		close(t->rl.a);
	if (t->rl.b >= 0)
		close(t->rl.b);
	ends_free(t->cc, t->sc, t->cfd, t->sfd, t->cctx, t->sctx);
	free(t->rl.c2s.p);
	free(t->rl.s2c.p);
	dir_free(&t->up);
	dir_free(&t->down);
	pl_tpl_free(t->tpl);
}

/* ------------------------------------------------ writes and reads */

struct xfer {
	struct pl_conn *w;
	uint64_t seed;		/* the stream */
	const size_t *sizes;	/* each write's length */
	size_t nwrites;
	int werr;
};

static void *xfer_writer(void *arg)
{
	struct xfer *x = arg;
	static __thread uint8_t buf[40000];
	uint64_t off = 0;

	for (size_t i = 0; i < x->nwrites; i++) {
		gen(x->seed, off, buf, x->sizes[i]);
		if (pl_conn_write(x->w, buf, x->sizes[i]) != (ssize_t)x->sizes[i]) {
			x->werr = pl_conn_error(x->w)->code;
			shutdown(pl_conn_fd(x->w), SHUT_RDWR);
			return NULL;
		}
		off += x->sizes[i];
	}
	return NULL;
}

/*
 * nwrites writes on w (each fixed bytes, or random: mostly 1..3000, one in
 * eight 20000..34999), all read on r and checked; *sizes (if given) gets
 * the lengths.  0 or -1.
 */
static int write_n(struct pl_conn *w, struct pl_conn *r, uint64_t seed,
		   size_t nwrites, size_t fixed, size_t **sizes)
{
	struct xfer x = { .w = w, .seed = seed, .nwrites = nwrites };
	struct stream_in in = { .seed = seed };
	size_t *sz = calloc(nwrites + 1, sizeof(*sz));
	uint64_t total = 0, rnd = seed;
	pthread_t th;

	for (size_t i = 0; i < nwrites; i++) {
		rnd = splitmix(rnd);
		sz[i] = fixed ? fixed : rnd % 8 == 0 ? 20000 + rnd % 15000 :
			1 + (rnd >> 8) % 3000;
		total += sz[i];
	}
	x.sizes = sz;
	if (pthread_create(&th, NULL, xfer_writer, &x))
		return -1;
	stream_in_start(&in);
	while (in.bytes < total && stream_in_read(&in, r) > 0)
		;
	pthread_join(th, NULL);
	if (sizes)
		*sizes = sz;
	else
		free(sz);
	if (x.werr || in.mismatch || in.bytes != total)
		fprintf(stderr, "# write_n: write error %d, mismatch %d, %llu of %llu bytes: %s\n",
			x.werr, in.mismatch, (unsigned long long)in.bytes,
			(unsigned long long)total, pl_conn_error(r)->msg);
	return x.werr || in.mismatch || in.bytes != total ? -1 : 0;
}

/* ------------------------------------------------------- checkers */

/* The data records of a direction, from index from: app data, non-empty. */
static size_t data_recs(const struct dir_recs *d, size_t from, size_t *idx,
			size_t cap)
{
	size_t n = 0;

	for (size_t i = from; i < d->n && n < cap; i++)
		if (d->r[i].type == PLASMATIC_CT_APPLICATION_DATA && d->r[i].len)
			idx[n++] = i;
	return n;
}

/*
 * Records idx[0..n) of d: sizes are the draws j0.. of (mode, seed, lock);
 * 0 or the first record (1-based) that differs.
 */
static size_t sizes_follow(struct tpair *t, const struct dir_recs *d,
			   const size_t *idx, size_t n, uint8_t mode,
			   uint64_t seed, bool lock, uint64_t j0)
{
	for (size_t k = 0; k < n; k++) {
		const struct rec *r = &d->r[idx[k]];
		size_t want = mode ? want_size(t->tpl, mode, seed, lock, j0 + k,
					       t->max) : r->len;

		if (r->t != want || r->len > r->t || (!mode && r->t != r->len)) {
			fprintf(stderr, "# record %zu: %zu bytes (%zu content), want %zu (mode %u)\n",
				k, r->t, r->len, want, mode);
			return k + 1;
		}
	}
	return 0;
}

/* Each write fills records: a record's content is the rest of the write
 * or its size, whichever is less (mode 0: the record cap). */
static bool contents_follow(const struct tpair *t, const struct dir_recs *d,
			    const size_t *idx, size_t n, const size_t *sizes,
			    size_t nwrites, bool shaped)
{
	size_t k = 0;

	for (size_t w = 0; w < nwrites; w++) {
		size_t left = sizes[w];

		while (left) {
			size_t cap = shaped ? d->r[idx[k]].t : t->max;
			size_t want = left < cap ? left : cap;

			if (k >= n || d->r[idx[k]].len != want)
				return false;
			left -= want;
			k++;
		}
	}
	return k == n;
}

/* ----------------------------------------------------------- tests */

/* Every mode: the client in m, the server in the next one; each record is
 * its draw, content split and padded as SPEC 9.3 says; mode 0 as written. */

/* The stream seed w wrote is what the decoded records carry. */
static bool data_is(const struct dir_recs *d, uint64_t seed, uint64_t len)
{
	uint8_t *want = malloc(len + 1);
	bool ok;

	gen(seed, 0, want, len);
	ok = d->data.len == len && !memcmp(d->data.p, want, len);
	free(want);
	return ok;
}

static uint64_t sum(const size_t *v, size_t n)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s;
}

/* Draw counter after n records since the state was set (SPEC 9.4). */
static uint64_t draws_after(uint8_t mode, bool lock, uint64_t n)
{
	if (lock || !mode || n <= 1024)
		return 2 * n;
	return 2 * ((n - 1) % 1024 + 1);
}

/* Padding and shaped records of idx[0..n) of d. */
static uint64_t pad_of(const struct dir_recs *d, const size_t *idx, size_t n)
{
	uint64_t p = 0;

	for (size_t k = 0; k < n; k++)
		p += d->r[idx[k]].t - d->r[idx[k]].len;
	return p;
}

#define NW	24	/* random writes each way */
#define MAXR	20000	/* records a test looks at, per direction */

/* One direction's checks: data records follow (mode, seed), contents
 * split by the writes, the data intact, the state's numbers. */
static void check_dir(struct __test_metadata *_metadata, struct tpair *t,
		      const struct dir_recs *d, struct pl_conn *c,
		      uint8_t mode, uint64_t seed, uint64_t stream,
		      const size_t *sizes, size_t nw)
{
	static size_t idx[MAXR];
	struct pl_tpl_state st;
	size_t n = data_recs(d, 0, idx, MAXR);

	ASSERT_EQ(0, sizes_follow(t, d, idx, n, mode, seed, false, 0))
		TH_LOG("mode %u: record sizes are not the draws", mode);
	/* The kernel may seal a record early when the send blocks (its size
	 * stays the draw): the split of each write is the userspace's. */
	if (pl_conn_datapath(c) == PL_DATAPATH_USERSPACE)
		ASSERT_TRUE(contents_follow(t, d, idx, n, sizes, nw, mode != 0))
			TH_LOG("mode %u: writes not split as SPEC 9.3 says", mode);
	ASSERT_TRUE(data_is(d, stream, sum(sizes, nw)));
	/* The last record: close_notify, unpadded. */
	ASSERT_EQ(PLASMATIC_CT_ALERT, d->r[d->n - 1].type);
	ASSERT_EQ(2, d->r[d->n - 1].t);
	ASSERT_EQ(0, pl_conn_tpl_state(c, &st)) TH_LOG("%s", pl_conn_error(c)->msg);
	ASSERT_EQ(draws_after(mode, false, n), st.draws);
	if (mode) {
		ASSERT_EQ(n, st.records);
		ASSERT_EQ(pad_of(d, idx, n), st.pad_bytes);
	}
	ASSERT_EQ(0, st.su_sent);
	ASSERT_EQ(0, st.su_applied);
	ASSERT_EQ(0, st.lock);
	TH_LOG("mode %u: %zu records, %llu padding bytes", mode, n,
	       (unsigned long long)pad_of(d, idx, n));
}

/* The harness's timeouts need a fixture. */
FIXTURE(shape) {
	int unused;
};

FIXTURE_SETUP(shape)
{
}

FIXTURE_TEARDOWN(shape)
{
}

/* Every mode (tpl_mode): the client sends in m, the server in m + 1. */
TEST_F_TIMEOUT(shape, every_mode_sizes_are_draws, 600)
{
	for (int m = 0; m <= PL_TPL_MODE_MAX; m++) {
		int sm = (m + 1) % (PL_TPL_MODE_MAX + 1);
		struct tpair t;
		size_t *up, *down;

		tpair_init(&t);
		t.ccfg.tpl_mode = m;
		t.scfg.tpl_mode = sm;
		ASSERT_EQ(0, tpair_start(&t)) TH_LOG("%s / %s", t.cerr.msg, t.serr.msg);
		ASSERT_EQ(0, write_n(t.cc, t.sc, 100 + m, NW, 0, &up));
		ASSERT_EQ(0, write_n(t.sc, t.cc, 200 + m, NW, 0, &down));
		ASSERT_EQ(0, tpair_finish(&t)) TH_LOG("decode: %s / %s",
						     pl_strerror(t.up.err),
						     pl_strerror(t.down.err));
		/* The opening record: empty, padded, no Seed Update. */
		ASSERT_EQ(PLASMATIC_CT_APPLICATION_DATA, t.up.r[0].type);
		ASSERT_EQ(0, t.up.r[0].len);
		ASSERT_EQ(PL_SU_NONE, t.up.r[0].su.kind);
		check_dir(_metadata, &t, &t.up, t.cc, (uint8_t)m, cap_c2s.seed,
			  100 + m, up, NW);
		check_dir(_metadata, &t, &t.down, t.sc, (uint8_t)sm,
			  cap_s2c.seed, 200 + m, down, NW);
		free(up);
		free(down);
		tpair_free(&t);
	}
}

/* The records of d carrying a Seed Update: how many, and the last one. */
static size_t su_count(const struct dir_recs *d, struct pl_seed_update *last)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++)
		if (d->r[i].su.kind) {
			n++;
			*last = d->r[i].su;
		}
	return n;
}

/*
 * A (client or server) sends a Seed Update (mode 8) with one byte; B, in
 * mode 2 until then, sends nrec one-byte records after reading it: the
 * first 5 records of B are its mode 2 draws, the rest (mode 8, seed X)
 * from draw 0, rotating to mode 3 after 1024 unless locked.
 */
static void su_case(struct __test_metadata *_metadata, bool from_server,
		    bool lock, size_t nrec)
{
	const uint64_t X = 0x5eed0123456789abULL;
	static size_t idx[MAXR];
	struct pl_tpl_state st;
	struct pl_seed_update su = { 0 };
	struct pl_conn *a, *b;
	struct dir_recs *bd, *ad;
	uint64_t bseed;
	struct tpair t;
	size_t n;

	tpair_init(&t);
	(from_server ? &t.ccfg : &t.scfg)->tpl_mode = 2;
	ASSERT_EQ(0, tpair_start(&t)) TH_LOG("%s / %s", t.cerr.msg, t.serr.msg);
	a = from_server ? t.sc : t.cc;
	b = from_server ? t.cc : t.sc;
	ASSERT_EQ(0, write_n(b, a, 1, 5, 1, NULL));
	ASSERT_EQ(0, pl_conn_seed_update(a, 8, X, lock));
	ASSERT_EQ(0, pl_conn_tpl_state(a, &st));
	ASSERT_EQ(1, st.su_queued);
	ASSERT_EQ(0, st.su_sent);
	ASSERT_EQ(0, write_n(a, b, 2, 1, 1, NULL));
	ASSERT_EQ(0, pl_conn_tpl_state(a, &st));
	ASSERT_EQ(0, st.su_queued);
	ASSERT_EQ(1, st.su_sent);
	ASSERT_EQ(0, st.su_applied);
	/* B has read the record: the update waits for B's next draw. */
	ASSERT_EQ(0, pl_conn_tpl_state(b, &st));
	ASSERT_EQ(0, st.su_applied);
	ASSERT_EQ(2, st.mode);
	ASSERT_EQ(10, st.draws);
	ASSERT_EQ(5, st.records);
	ASSERT_EQ(0, write_n(b, a, 3, nrec, 1, NULL));
	ASSERT_EQ(0, pl_conn_tpl_state(b, &st));
	ASSERT_EQ(1, st.su_applied);
	ASSERT_EQ(lock, st.lock);
	ASSERT_EQ(lock || nrec <= 1024 ? 8 : 3, st.mode);
	ASSERT_EQ(draws_after(8, lock, nrec), st.draws);
	ASSERT_EQ(5 + nrec, st.records);
	ASSERT_EQ(0, tpair_finish(&t)) TH_LOG("decode: %s / %s",
					     pl_strerror(t.up.err),
					     pl_strerror(t.down.err));
	ad = from_server ? &t.down : &t.up;
	bd = from_server ? &t.up : &t.down;
	bseed = from_server ? cap_c2s.seed : cap_s2c.seed;
	/* A: exactly one record carried it, the one-byte record. */
	ASSERT_EQ(1, su_count(ad, &su));
	ASSERT_EQ(PL_SU_SEED, su.kind);
	ASSERT_EQ(8, su.mode);
	ASSERT_EQ(lock ? PL_SU_FLAG_LOCK : 0, su.flags);
	ASSERT_EQ(X, su.seed);
	ASSERT_EQ(0, su_count(bd, &su));
	n = data_recs(bd, 0, idx, MAXR);
	ASSERT_EQ(5 + nrec, n);
	ASSERT_EQ(0, sizes_follow(&t, bd, idx, 5, 2, bseed, false, 0))
		TH_LOG("before the update");
	ASSERT_EQ(0, sizes_follow(&t, bd, idx + 5, nrec, 8, X, lock, 0))
		TH_LOG("from the first record after the update");
	if (!lock && nrec > 1024) {
		/* Record 1024 is already mode 3's (10..60 bytes), 1023 mode 8's. */
		ASSERT_GE(bd->r[idx[5 + 1024]].t, 10);
		ASSERT_LE(bd->r[idx[5 + 1024]].t, 60);
		ASSERT_GE(bd->r[idx[5 + 1023]].t, 50);
	}
	tpair_free(&t);
}

TEST_F_TIMEOUT(shape, seed_update_from_client_locked, 300)
{
	su_case(_metadata, false, true, 1030);
}

TEST_F_TIMEOUT(shape, seed_update_from_client_rotates, 300)
{
	su_case(_metadata, false, false, 1030);
}

TEST_F_TIMEOUT(shape, seed_update_from_server_locked, 300)
{
	su_case(_metadata, true, true, 40);
}

TEST_F_TIMEOUT(shape, seed_update_from_server_rotates, 300)
{
	su_case(_metadata, true, false, 1030);
}

/* peer_mode on a client: its opening record carries the update; the
 * server's very first data record already follows it. */
static void peer_mode_client(struct __test_metadata *_metadata, bool lock)
{
	static size_t idx[MAXR];
	struct pl_tpl_state st;
	struct pl_seed_update su = { 0 };
	struct tpair t;
	size_t *down, n;

	tpair_init(&t);
	t.ccfg.peer_mode = 5;
	t.ccfg.tpl_lock = lock;
	t.scfg.tpl_mode = 1;	/* overridden by the client's update */
	ASSERT_EQ(0, tpair_start(&t)) TH_LOG("%s / %s", t.cerr.msg, t.serr.msg);
	ASSERT_EQ(0, pl_conn_tpl_state(t.sc, &st)) TH_LOG("%s", pl_conn_error(t.sc)->msg);
	ASSERT_EQ(5, st.mode);
	ASSERT_EQ(lock, st.lock);
	ASSERT_EQ(1, st.su_applied);
	ASSERT_EQ(0, st.draws);
	ASSERT_EQ(0, pl_conn_tpl_state(t.cc, &st));
	ASSERT_EQ(1, st.su_sent);
	ASSERT_EQ(lock, st.lock);
	ASSERT_EQ(0, write_n(t.sc, t.cc, 7, NW, 0, &down));
	ASSERT_EQ(0, pl_conn_tpl_state(t.sc, &st));
	ASSERT_EQ(0, tpair_finish(&t));
	su = t.up.r[0].su;
	ASSERT_EQ(0, t.up.r[0].len);
	ASSERT_EQ(PL_SU_SEED, su.kind) TH_LOG("no update in the opening record");
	ASSERT_EQ(5, su.mode);
	ASSERT_EQ(lock ? PL_SU_FLAG_LOCK : 0, su.flags);
	ASSERT_EQ(1, su_count(&t.up, &su));
	n = data_recs(&t.down, 0, idx, MAXR);
	ASSERT_EQ(0, sizes_follow(&t, &t.down, idx, n, 5, su.seed, lock, 0));
	if (pl_conn_datapath(t.sc) == PL_DATAPATH_USERSPACE)
		ASSERT_TRUE(contents_follow(&t, &t.down, idx, n, down, NW, true));
	ASSERT_TRUE(data_is(&t.down, 7, sum(down, NW)));
	ASSERT_EQ(n, st.records);
	ASSERT_EQ(pad_of(&t.down, idx, n), st.pad_bytes);
	ASSERT_EQ(draws_after(5, lock, n), st.draws);
	free(down);
	tpair_free(&t);
}

TEST_F_TIMEOUT(shape, peer_mode_in_opening_record, 300)
{
	peer_mode_client(_metadata, false);
}

TEST_F_TIMEOUT(shape, peer_mode_in_opening_record_locked, 300)
{
	peer_mode_client(_metadata, true);
}

/* peer_mode on a server: its first record carries the update. */
TEST_F_TIMEOUT(shape, peer_mode_server, 300)
{
	static size_t idx[MAXR];
	struct pl_tpl_state st;
	struct pl_seed_update su = { 0 }, st_su;
	struct tpair t;
	size_t *up, n;

	tpair_init(&t);
	t.scfg.peer_mode = 7;
	ASSERT_EQ(0, tpair_start(&t)) TH_LOG("%s / %s", t.cerr.msg, t.serr.msg);
	ASSERT_EQ(0, pl_conn_tpl_state(t.sc, &st));
	ASSERT_EQ(1, st.su_queued);
	ASSERT_EQ(0, write_n(t.sc, t.cc, 9, 1, 1, NULL));
	ASSERT_EQ(0, write_n(t.cc, t.sc, 10, NW, 0, &up));
	ASSERT_EQ(0, pl_conn_tpl_state(t.cc, &st));
	ASSERT_EQ(1, st.su_applied);
	ASSERT_EQ(7, st.mode);
	ASSERT_EQ(0, pl_conn_tpl_state(t.sc, &st));
	ASSERT_EQ(1, st.su_sent);
	ASSERT_EQ(0, st.su_queued);
	ASSERT_EQ(0, tpair_finish(&t));
	ASSERT_EQ(1, su_count(&t.down, &su));
	ASSERT_EQ(7, su.mode);
	ASSERT_EQ(0, su.flags);
	n = data_recs(&t.down, 0, idx, MAXR);
	ASSERT_EQ(1, n);
	ASSERT_EQ(PL_SU_SEED, t.down.r[idx[0]].su.kind) TH_LOG("not in its first record");
	ASSERT_EQ(0, su_count(&t.up, &st_su));
	n = data_recs(&t.up, 0, idx, MAXR);
	ASSERT_EQ(0, sizes_follow(&t, &t.up, idx, n, 7, su.seed, false, 0));
	if (pl_conn_datapath(t.cc) == PL_DATAPATH_USERSPACE)
		ASSERT_TRUE(contents_follow(&t, &t.up, idx, n, up, NW, true));
	ASSERT_TRUE(data_is(&t.up, 10, sum(up, NW)));
	free(up);
	tpair_free(&t);
}

/* Bad modes: refused with PL_E_INVAL, nothing sent, the connection goes on. */
TEST_F_TIMEOUT(shape, bad_input, 300)
{
	static const struct { int tpl_mode, peer_mode, lock; } bad[] = {
		{ 9, -1, 0 }, { -1, -1, 0 }, { 0, 9, 0 }, { 0, -2, 0 },
		{ 0, -1, 2 }, { 100, -1, 0 },
	};
	struct pl_tpl_state st;
	struct pl_seed_update su = { 0 };
	struct pl_config cfg;
	struct pl_error err;
	struct tpair t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int role = 0; role < 2; role++) {
			either_config(&cfg, role ? PL_ROLE_SERVER : PL_ROLE_CLIENT);
			cfg.tpl_mode = bad[i].tpl_mode;
			cfg.peer_mode = bad[i].peer_mode;
			cfg.tpl_lock = bad[i].lock;
			ASSERT_EQ(NULL, pl_ctx_new(&cfg, &err)) TH_LOG("case %zu", i);
			ASSERT_EQ(PL_E_INVAL, err.code);
			TH_LOG("case %zu: %s", i, err.msg);
		}
	}
	tpair_init(&t);
	ASSERT_EQ(0, tpair_start(&t)) TH_LOG("%s / %s", t.cerr.msg, t.serr.msg);
	for (int e = 0; e < 2; e++) {
		struct pl_conn *c = e ? t.sc : t.cc;

		ASSERT_EQ(-1, pl_conn_seed_update(c, 9, 1, 0));
		ASSERT_EQ(PL_E_INVAL, pl_conn_error(c)->code);
		ASSERT_EQ(-1, pl_conn_seed_update(c, -1, 1, 1));
		ASSERT_EQ(PL_E_INVAL, pl_conn_error(c)->code);
		TH_LOG("%s", pl_conn_error(c)->msg);
		ASSERT_EQ(0, pl_conn_tpl_state(c, &st));
		ASSERT_EQ(0, st.su_queued);
	}
	ASSERT_EQ(0, write_n(t.cc, t.sc, 11, 3, 0, NULL));
	ASSERT_EQ(0, write_n(t.sc, t.cc, 12, 3, 0, NULL));
	for (int e = 0; e < 2; e++) {
		ASSERT_EQ(0, pl_conn_tpl_state(e ? t.sc : t.cc, &st));
		ASSERT_EQ(0, st.su_sent);
		ASSERT_EQ(0, st.su_applied);
		ASSERT_EQ(0, st.mode);
	}
	ASSERT_EQ(0, tpair_finish(&t));
	ASSERT_EQ(0, su_count(&t.up, &su));
	ASSERT_EQ(0, su_count(&t.down, &su));
	tpair_free(&t);
}

TEST_HARNESS_MAIN
