// SPDX-License-Identifier: GPL-2.0
/*
 * setsockopt/getsockopt fuzz (issue 13, "Then prove it").
 *
 * Each round makes a TCP pair a-b over loopback in one of four states
 * (the variants): plain TCP (the fuzzers may install the ULP themselves),
 * the ULP only, or both ends upgraded with kTLS structures or with traffic
 * secrets.  Three threads then issue random options on a: SOL_PLASMATIC
 * (every option, unknown numbers too), SOL_TLS, and in the plain state
 * TCP_ULP "plasmatic"; set and get; values made to pass the first checks
 * (valid headers, ciphers, EEM lengths) or random bytes or bit-flipped;
 * lengths 0, short, exact, long and huge (and negative for get); NULL,
 * bad and page-straddling pointers.  Meanwhile a stream of known bytes
 * goes each way (send, MSG_MORE, sendfile, writev), a on both ends of it.
 * Then, the fuzzers stopped, a second transfer.
 *
 * What must hold: every call returns success or an errno of the option
 * API (EINVAL, EFAULT, ENOPROTOOPT, EBUSY, ENOKEY, ENOENT, EOPNOTSUPP,
 * EEXIST, and the stream's own EPIPE, ECONNRESET, EBADMSG, EKEYEXPIRED,
 * EAGAIN for a sender's timeout); getsockopt writes nothing past the
 * length it was given and returns a length no larger; a reader gets
 * exactly the bytes sent, in order, or a clear error (EBADMSG and the
 * like, or an alert record) and nothing after it; an upgraded direction
 * whose sender succeeded delivers everything; nothing hangs.  Kernel
 * reports (KASAN, lockdep, WARN, ...) fail the VM run (tools/vm).
 *
 * Rounds per variant: SOCKOPT_FUZZ_ROUNDS (default 8, the vm suite's short
 * run); seed: SOCKOPT_FUZZ_SEED (default from the clock), printed at the
 * start of each test and with any failure.  The option sequence of each
 * thread follows from the seed; the threads' interleaving does not.
 * `make fuzz-kernel-long` runs 500 rounds per variant.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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
#include <sys/uio.h>

#include <linux/tls.h>
#include <linux/plasmatic.h>

#include "kselftest_harness.h"
#include "plmain.h"
#include "sockpair.h"
#include "plrandkeys.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

#define FZ_THREADS	3
#define FZ_OPS		200		/* per thread and round */
#define FZ_BUF		(64 << 10)	/* option buffer, a guard page behind */
#define FZ_PHASE1	(96 << 10)	/* bytes each way while fuzzing */
#define FZ_PHASE2	(16 << 10)	/* and after */
#define FZ_STREAM	(FZ_PHASE1 + FZ_PHASE2)
#define FZ_ROUND_LIMIT	120		/* s: a round taking longer hangs */
#define FZ_ERRNO_MAX	200
#define FZ_VAL		128		/* largest exact option length */

enum fz_state { FZ_PLAIN, FZ_ULP, FZ_KTLS, FZ_SECRET };
enum fz_kind { K_CRYPTO, K_EEM, K_SECRET, K_INT, K_TPL, K_GET, K_ULP };

static const struct fz_opt {
	int level, name, kind, size;
	const char *desc;
} fz_opts[] = {
	{ SOL_PLASMATIC, PLASMATIC_TX, K_CRYPTO, 0, "PLASMATIC_TX" },
	{ SOL_PLASMATIC, PLASMATIC_RX, K_CRYPTO, 0, "PLASMATIC_RX" },
	{ SOL_PLASMATIC, PLASMATIC_EEM_TX, K_EEM, sizeof(struct plasmatic_eem_info), "EEM_TX" },
	{ SOL_PLASMATIC, PLASMATIC_EEM_RX, K_EEM, sizeof(struct plasmatic_eem_info), "EEM_RX" },
	{ SOL_PLASMATIC, PLASMATIC_TX_SECRET, K_SECRET, sizeof(struct plasmatic_secret_info),
	  "TX_SECRET" },
	{ SOL_PLASMATIC, PLASMATIC_RX_SECRET, K_SECRET, sizeof(struct plasmatic_secret_info),
	  "RX_SECRET" },
	{ SOL_PLASMATIC, PLASMATIC_CLOSE_NOTIFY, K_INT, sizeof(int), "CLOSE_NOTIFY" },
	{ SOL_PLASMATIC, PLASMATIC_KEY_UPDATE, K_INT, sizeof(int), "KEY_UPDATE" },
	{ SOL_PLASMATIC, PLASMATIC_RX_END, K_INT, sizeof(int), "RX_END" },
	{ SOL_PLASMATIC, PLASMATIC_TPL_TX, K_TPL, sizeof(struct plasmatic_tpl), "TPL_TX" },
	{ SOL_PLASMATIC, PLASMATIC_SEED_UPDATE, K_TPL, sizeof(struct plasmatic_tpl),
	  "SEED_UPDATE" },
	{ SOL_PLASMATIC, PLASMATIC_TPL_SCHED, K_GET, 4 * sizeof(struct plasmatic_tpl_rec),
	  "TPL_SCHED" },
	{ SOL_PLASMATIC, PLASMATIC_PACE, K_GET, sizeof(struct plasmatic_pace_state), "PACE" },
	{ SOL_PLASMATIC, 0, K_INT, sizeof(int), "option 0" },
	{ SOL_PLASMATIC, 14, K_GET, 64, "option 14" },
	{ SOL_PLASMATIC, 255, K_GET, 64, "option 255" },
	{ SOL_PLASMATIC, -1, K_INT, sizeof(int), "option -1" },
	{ SOL_TLS, TLS_TX, K_CRYPTO, 0, "TLS_TX" },
	{ SOL_TLS, TLS_RX, K_CRYPTO, 0, "TLS_RX" },
	{ SOL_TLS, TLS_TX_ZEROCOPY_RO, K_INT, sizeof(int), "TLS_TX_ZEROCOPY_RO" },
	{ SOL_TLS, TLS_RX_EXPECT_NO_PAD, K_INT, sizeof(int), "TLS_RX_EXPECT_NO_PAD" },
	{ SOL_TCP, TCP_ULP, K_ULP, sizeof(PLASMATIC_ULP_NAME), "TCP_ULP" },
};
#define FZ_NOPTS (sizeof(fz_opts) / sizeof(fz_opts[0]))
_Static_assert(4 * sizeof(struct plasmatic_tpl_rec) <= FZ_VAL &&
	       sizeof(struct plasmatic_pace_state) <= FZ_VAL, "FZ_VAL");

/* errnos of the option API and of a failed stream. */
static int fz_setsockopt_errno_ok(int e)
{
	switch (e) {
	case EINVAL: case EFAULT: case ENOPROTOOPT: case EBUSY: case ENOKEY:
	case ENOENT: case EOPNOTSUPP: case EEXIST:
	/* KEY_UPDATE and a TX rekey send: the stream's errors. */
	case EPIPE: case ECONNRESET: case EBADMSG: case EKEYEXPIRED: case EAGAIN:
		return 1;
	}
	return 0;
}

static int fz_getsockopt_errno_ok(int e)
{
	return e == EINVAL || e == EFAULT || e == ENOPROTOOPT || e == ENOENT ||
	       e == EOPNOTSUPP;
}

static int fz_stream_errno_ok(int e)
{
	return e == EPIPE || e == ECONNRESET || e == EBADMSG || e == EKEYEXPIRED ||
	       e == EAGAIN || e == EMSGSIZE || e == EINVAL;
}

struct fz_round;

/* One direction of the known stream: w writes, r reads. */
struct fz_dir {
	struct fz_round *rd;
	const char *name;
	int w, r;
	int r_upgraded;		/* r decrypts: a record type per read */
	int r_poll;		/* r waits in poll, reads with MSG_DONTWAIT */
	int online;		/* r's bytes can be checked as they come */
	int memfd;		/* the pattern, for sendfile */
	uint64_t rng;
	size_t until;		/* write up to this stream offset */
	size_t sent, got;
	int werr, rerr, reof, rtype;
	volatile int wdone;
	uint8_t *got_buf;	/* what r read, for the checks after */
	pthread_t wth, rth;
};

struct fz_round {
	struct __test_metadata *md;
	int a, b;
	enum fz_state state;
	uint64_t seed;
	int round;
	volatile int stop;
	const uint8_t *pat;
	pthread_mutex_t lock;
	char fail[512];
	long ops, ok, errs[FZ_ERRNO_MAX];
};

static void fz_fail(struct fz_round *rd, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&rd->lock);
	if (!rd->fail[0]) {
		va_start(ap, fmt);
		vsnprintf(rd->fail, sizeof(rd->fail), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&rd->lock);
}

static void fz_count(struct fz_round *rd, int err)
{
	pthread_mutex_lock(&rd->lock);
	rd->ops++;
	if (!err)
		rd->ok++;
	else if (err < FZ_ERRNO_MAX)
		rd->errs[err]++;
	pthread_mutex_unlock(&rd->lock);
}

/* ---- the option fuzzers ---- */

struct fz_thread {
	struct fz_round *rd;
	uint64_t rng;
	uint8_t *map;		/* FZ_BUF bytes, then a PROT_NONE page */
	pthread_t th;
};

static const uint16_t fz_ciphers[] = {
	TLS_CIPHER_AES_GCM_128, TLS_CIPHER_AES_GCM_256, TLS_CIPHER_CHACHA20_POLY1305,
};

static int fz_crypto_size(uint16_t cipher)
{
	switch (cipher) {
	case TLS_CIPHER_AES_GCM_128:
		return sizeof(struct tls12_crypto_info_aes_gcm_128);
	case TLS_CIPHER_AES_GCM_256:
		return sizeof(struct tls12_crypto_info_aes_gcm_256);
	case TLS_CIPHER_CHACHA20_POLY1305:
		return sizeof(struct tls12_crypto_info_chacha20_poly1305);
	}
	return sizeof(struct tls12_crypto_info_aes_gcm_128);
}

/* A value of @o's kind in @v, mostly one that passes the first checks. */
static int fz_value(uint64_t *s, const struct fz_opt *o, uint8_t *v)
{
	int exact = o->size;

	pl_rand_bytes(s, v, FZ_VAL);
	switch (o->kind) {
	case K_CRYPTO: {
		struct tls_crypto_info *ci = (void *)v;

		ci->cipher_type = pl_rand64(s) % 8 ? fz_ciphers[pl_rand64(s) % 3] : pl_rand64(s);
		ci->version = pl_rand64(s) % 8 ? TLS_1_3_VERSION :
			      pl_rand64(s) % 2 ? TLS_1_2_VERSION : pl_rand64(s);
		exact = fz_crypto_size(ci->cipher_type);
		break;
	}
	case K_EEM: {
		struct plasmatic_eem_info *e = (void *)v;

		e->version = pl_rand64(s) % 8 ? PLASMATIC_EEM_VERSION_1 : pl_rand64(s);
		e->framing = pl_rand64(s) % 3;
		e->eem_len = pl_rand64(s) % 4 ? PLASMATIC_EEM_LEN_MIN +
			     pl_rand64(s) % (PLASMATIC_EEM_LEN_MAX - PLASMATIC_EEM_LEN_MIN + 1) :
			     pl_rand64(s);
		if (pl_rand64(s) % 8)
			memset(e->reserved, 0, sizeof(e->reserved));
		break;
	}
	case K_SECRET: {
		struct plasmatic_secret_info *si = (void *)v;

		si->version = pl_rand64(s) % 8 ? TLS_1_3_VERSION : pl_rand64(s);
		si->cipher_type = pl_rand64(s) % 8 ? fz_ciphers[pl_rand64(s) % 3] : pl_rand64(s);
		if (pl_rand64(s) % 2)
			memset(si->rec_seq, 0, sizeof(si->rec_seq));
		break;
	}
	case K_INT: {
		static const int vals[] = { 0, 1, 2, -1, INT_MAX };
		int x = pl_rand64(s) % 4 ? vals[pl_rand64(s) % 5] : (int)pl_rand64(s);

		memcpy(v, &x, sizeof(x));
		break;
	}
	case K_TPL: {
		struct plasmatic_tpl *t = (void *)v;

		t->mode = pl_rand64(s) % (PLASMATIC_TPL_MODES + 1);
		t->flags = pl_rand64(s) % 3;
		if (pl_rand64(s) % 8)
			memset(t->reserved, 0, sizeof(t->reserved));
		break;
	}
	case K_ULP:
		memcpy(v, PLASMATIC_ULP_NAME, sizeof(PLASMATIC_ULP_NAME));
		break;
	}
	/*
	 * Sometimes random bytes instead, sometimes a few bits flipped; not
	 * the ULP's name: an unknown one makes the kernel run modprobe.
	 */
	if (o->kind == K_ULP)
		return exact;
	switch (pl_rand64(s) % 8) {
	case 0:
		pl_rand_bytes(s, v, exact);
		break;
	case 1:
		for (int i = 0; i < 3; i++)
			v[pl_rand64(s) % exact] ^= 1 << (pl_rand64(s) % 8);
		break;
	}
	return exact;
}

/* A length around @exact: 0, short, exact, long or huge. */
static long fz_len(uint64_t *s, int exact, int get)
{
	switch (pl_rand64(s) % 10) {
	case 0:
		return 0;
	case 1:
		return exact > 1 ? 1 + pl_rand64(s) % (exact - 1) : 1;
	case 2:
		return exact + 1 + pl_rand64(s) % 64;
	case 3:
		return pl_rand64(s) % 2 ? FZ_BUF : 1 << 20;
	case 4:
		return get ? (pl_rand64(s) % 2 ? -1L : (long)INT_MAX) : (long)UINT_MAX;
	default:
		return exact;
	}
}

static void fz_one(struct fz_thread *t)
{
	struct fz_round *rd = t->rd;
	const struct fz_opt *o;
	uint8_t v[FZ_VAL], *p;
	int exact, get, fd = rd->a, err = 0;
	long len;
	size_t at;

	do
		o = &fz_opts[pl_rand64(&t->rng) % FZ_NOPTS];
	while (o->kind == K_ULP && rd->state != FZ_PLAIN);
	exact = fz_value(&t->rng, o, v);
	get = o->kind == K_GET || (o->kind != K_ULP && pl_rand64(&t->rng) % 3 == 0);
	len = o->kind == K_ULP ? exact : fz_len(&t->rng, exact, get);

	/* Where the value goes: mostly the buffer's start, or its end. */
	at = pl_rand64(&t->rng) % 4 ? 0 : FZ_BUF - (pl_rand64(&t->rng) % (exact + 1));
	p = t->map + at;
	switch (pl_rand64(&t->rng) % 32) {
	case 0:
		p = NULL;
		break;
	case 1:
		p = (uint8_t *)16;
		break;
	default:
		memcpy(p, v, FZ_BUF - at < (size_t)exact ? FZ_BUF - at : (size_t)exact);
	}

	if (!get) {
		if (setsockopt(fd, o->level, o->name, p, (socklen_t)len))
			err = errno;
		if (err && !fz_setsockopt_errno_ok(err))
			fz_fail(rd, "setsockopt(%s, len %ld, at %zu): %s", o->desc, len, at,
				strerror(err));
	} else {
		socklen_t l = (socklen_t)len;
		int canary = p && p != (uint8_t *)16 && len >= 0 &&
			     at + len + 64 <= FZ_BUF;

		if (canary)
			memset(p + len, 0xa5, 64);
		if (getsockopt(fd, o->level, o->name, p, &l))
			err = errno;
		if (err && !fz_getsockopt_errno_ok(err))
			fz_fail(rd, "getsockopt(%s, len %ld, at %zu): %s", o->desc, len, at,
				strerror(err));
		if (!err && len >= 0 && (l > (socklen_t)len || (int)l < 0))
			fz_fail(rd, "getsockopt(%s, len %ld): returned length %u", o->desc, len,
				l);
		if (canary) {
			for (int i = 0; i < 64; i++) {
				if (p[len + i] != 0xa5) {
					fz_fail(rd, "getsockopt(%s, len %ld) wrote past it",
						o->desc, len);
					break;
				}
			}
		}
	}
	fz_count(rd, err);
}

static void *fz_thread_fn(void *arg)
{
	struct fz_thread *t = arg;

	for (int i = 0; i < FZ_OPS && !t->rd->stop; i++)
		fz_one(t);
	return NULL;
}

/* ---- the known streams ---- */

static void *fz_writer(void *arg)
{
	struct fz_dir *d = arg;
	const uint8_t *pat = d->rd->pat;

	while (d->sent < d->until) {
		size_t n = 1 + pl_rand64(&d->rng) % (16 << 10);
		int how = pl_rand64(&d->rng) % 4;
		ssize_t k;

		if (n > d->until - d->sent)
			n = d->until - d->sent;
		if (how == 1 && d->sent + n == d->until)
			how = 0;	/* the last write ends the record */
		switch (how) {
		case 0:
		case 1:
			k = send(d->w, pat + d->sent, n, MSG_NOSIGNAL | (how ? MSG_MORE : 0));
			break;
		case 2: {
			off_t off = d->sent;

			k = sendfile(d->w, d->memfd, &off, n);
			break;
		}
		default: {
			struct iovec iov[2] = {
				{ (void *)(pat + d->sent), n / 2 },
				{ (void *)(pat + d->sent + n / 2), n - n / 2 },
			};
			struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

			k = sendmsg(d->w, &m, MSG_NOSIGNAL);
		}
		}
		if (k < 0) {
			d->werr = errno;
			break;
		}
		d->sent += k;
		if ((size_t)k < n) {
			d->werr = EAGAIN;	/* SO_SNDTIMEO */
			break;
		}
	}
	d->wdone = 1;
	return NULL;
}

static long fz_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void *fz_reader(void *arg)
{
	struct fz_dir *d = arg;
	long idle_since = 0;
	uint8_t buf[16 << 10];

	while (!d->rerr && !d->reof && !d->rtype) {
		char cbuf[CMSG_SPACE(16)];
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct pollfd pfd = { .fd = d->r, .events = POLLIN };
		ssize_t n;

		if (d->r_poll)
			poll(&pfd, 1, 200);
		n = recvmsg(d->r, &m, d->r_poll ? MSG_DONTWAIT : 0);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			long now = fz_now_ms();

			if (!d->wdone) {
				idle_since = 0;
				continue;
			}
			if (!idle_since)
				idle_since = now;
			/* All there, or the writer failed and nothing more comes. */
			if (d->online && d->got >= d->sent)
				break;
			if ((!d->online || d->werr) && now - idle_since > 500)
				break;
			if (now - idle_since > 20000) {
				fz_fail(d->rd, "%s: stalled at %zu of %zu bytes sent", d->name,
					d->got, d->sent);
				break;
			}
			continue;
		}
		if (n < 0) {
			d->rerr = errno;
			if (!fz_stream_errno_ok(errno))
				fz_fail(d->rd, "%s: recv: %s", d->name, strerror(errno));
			break;
		}
		if (!n) {
			d->reof = 1;
			break;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == SOL_PLASMATIC &&
			    c->cmsg_type == PLASMATIC_RECORD_TYPE &&
			    *CMSG_DATA(c) != PLASMATIC_CT_APPLICATION_DATA)
				d->rtype = *CMSG_DATA(c);
		if (d->rtype)
			break;	/* an alert: the stream ends here */
		idle_since = 0;
		if (d->online && (d->got + n > FZ_STREAM ||
				  memcmp(buf, d->rd->pat + d->got, n))) {
			const uint8_t *hit = memmem(d->rd->pat, FZ_STREAM, buf, n < 16 ? n : 16);
			size_t same = 0;

			while (same < (size_t)n && d->got + same < FZ_STREAM &&
			       buf[same] == d->rd->pat[d->got + same])
				same++;
			fz_fail(d->rd, "%s: %zd bytes at %zu differ from those sent from byte %zu "
				"(%02x%02x%02x%02x%02x%02x, found at %ld)", d->name, n, d->got, same,
				buf[same], buf[same + 1], buf[same + 2], buf[same + 3], buf[same + 4],
				buf[same + 5], hit ? (long)(hit - d->rd->pat) : -1L);
			d->rerr = -1;
			break;
		}
		if (d->got + n <= FZ_STREAM)
			memcpy(d->got_buf + d->got, buf, n);
		d->got += n;
	}
	return NULL;
}

/* A direction is alive while neither end has failed. */
static int fz_alive(const struct fz_dir *d)
{
	return !d->werr && !d->rerr && !d->reof && !d->rtype;
}

static void fz_io_start(struct fz_dir *d, size_t until)
{
	d->until = until;
	d->wdone = 0;
	pthread_create(&d->wth, NULL, fz_writer, d);
	pthread_create(&d->rth, NULL, fz_reader, d);
}

static void fz_io_join(struct fz_dir *d)
{
	pthread_join(d->wth, NULL);
	pthread_join(d->rth, NULL);
}

/* ---- setting up a round ---- */

/* Both ends upgraded, the same random keys for a->b and for b->a each. */
static int fz_upgrade(int a, int b, uint64_t *s, int secret)
{
	uint16_t cipher = fz_ciphers[pl_rand64(s) % 3];
	int framing = pl_rand64(s) % 2;

	return pl_random_keys(a, b, s, cipher, framing, secret, 0);
}

static int fz_ulp(int fd)
{
	return setsockopt(fd, SOL_TCP, TCP_ULP, PLASMATIC_ULP_NAME,
			  sizeof(PLASMATIC_ULP_NAME)) ? -errno : 0;
}

/* Whether a has keys for direction @opt (kTLS structure or secret). */
static int fz_has_keys(int fd, int opt, int sopt)
{
	uint8_t v[128];
	socklen_t l = sizeof(v);

	if (!getsockopt(fd, SOL_PLASMATIC, opt, v, &l))
		return 1;
	l = sizeof(v);
	return !getsockopt(fd, SOL_PLASMATIC, sopt, v, &l);
}

static struct fz_round *fz_current;

static void fz_on_alarm(int sig)
{
	char msg[256];
	int n;

	(void)sig;
	n = snprintf(msg, sizeof(msg),
		     "# sockopt fuzz: round %d hung (> %d s); SOCKOPT_FUZZ_SEED=%llu\n",
		     fz_current ? fz_current->round : -1, FZ_ROUND_LIMIT,
		     fz_current ? (unsigned long long)fz_current->seed : 0ULL);
	if (write(2, msg, n) < 0)
		_exit(3);
	_exit(2);
}

struct fz_totals {
	long rounds, ops, ok, usable[2], failed[2], unchecked[2];
	long errs[FZ_ERRNO_MAX];
};

/* One round; returns 0, or -1 with rd->fail set. */
static int fz_round(struct __test_metadata *_metadata, enum fz_state state, uint64_t seed,
		    int round, const uint8_t *pat, int memfd, uint8_t **maps,
		    struct fz_totals *tot)
{
	struct fz_round rd = { .md = _metadata, .state = state, .seed = seed, .round = round,
			       .pat = pat, .lock = PTHREAD_MUTEX_INITIALIZER };
	struct timeval tmo = { .tv_sec = 2 };
	struct fz_thread th[FZ_THREADS];
	struct fz_dir d[2];
	struct pl_sockpair sp;
	uint64_t s = seed ^ ((uint64_t)state << 56) ^ ((uint64_t)round << 24);
	int upgraded = state == FZ_KTLS || state == FZ_SECRET, err;

	pl_rand64(&s);
	fz_current = &rd;
	alarm(FZ_ROUND_LIMIT);
	err = pl_sockpair_tcp(&sp);
	if (err) {
		snprintf(rd.fail, sizeof(rd.fail), "socket pair: %s", strerror(-err));
		goto out;
	}
	rd.a = sp.a;
	rd.b = sp.b;
	for (int i = 0; i < 2; i++) {
		setsockopt(i ? sp.b : sp.a, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){
			   .tv_usec = 200000 }, sizeof(struct timeval));
		setsockopt(i ? sp.b : sp.a, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
	}
	if (state == FZ_ULP)
		err = fz_ulp(sp.a);
	else if (upgraded)
		err = fz_ulp(sp.a) ?: fz_ulp(sp.b) ?:
		      fz_upgrade(sp.a, sp.b, &s, state == FZ_SECRET);
	if (err) {
		snprintf(rd.fail, sizeof(rd.fail), "upgrade: %s", strerror(-err));
		goto close;
	}

	memset(d, 0, sizeof(d));
	for (int i = 0; i < 2; i++) {
		d[i].rd = &rd;
		d[i].name = i ? "b->a" : "a->b";
		d[i].w = i ? sp.b : sp.a;
		d[i].r = i ? sp.a : sp.b;
		d[i].r_upgraded = upgraded;
		/*
		 * a's reader sees b's bytes or fails; b's reader can check
		 * a's bytes as they come only if a encrypts from the start.
		 */
		d[i].online = upgraded || i == 1;
		/*
		 * A reader asleep in TCP's recvmsg since before the fuzzers
		 * installed the ULP is beyond the module's reach (as with
		 * kTLS): it may wake after RX keys and read what the record
		 * parser left in TCP.  On the plain socket, a waits in poll.
		 */
		d[i].r_poll = state == FZ_PLAIN && i == 1;
		d[i].memfd = memfd;
		d[i].rng = pl_rand64(&s);
		d[i].got_buf = malloc(FZ_STREAM);
	}

	/* Phase 1: the fuzzers on a, both streams going. */
	for (int i = 0; i < FZ_THREADS; i++) {
		th[i].rd = &rd;
		th[i].rng = pl_rand64(&s);
		th[i].map = maps[i];
		pthread_create(&th[i].th, NULL, fz_thread_fn, &th[i]);
	}
	for (int i = 0; i < 2; i++)
		fz_io_start(&d[i], FZ_PHASE1);
	for (int i = 0; i < FZ_THREADS; i++)
		pthread_join(th[i].th, NULL);
	for (int i = 0; i < 2; i++)
		fz_io_join(&d[i]);

	/* Phase 2: no fuzzer; what is still alive must still carry bytes. */
	for (int i = 0; i < 2; i++)
		if (fz_alive(&d[i]))
			fz_io_start(&d[i], FZ_STREAM);
	for (int i = 0; i < 2; i++)
		if (d[i].until == FZ_STREAM)
			fz_io_join(&d[i]);

	for (int i = 0; i < 2 && !rd.fail[0]; i++) {
		int verifiable = d[i].online ||
				 !fz_has_keys(sp.a, PLASMATIC_TX, PLASMATIC_TX_SECRET);

		if (!d[i].werr && d[i].online && d[i].got < d[i].sent && fz_alive(&d[i]))
			fz_fail(&rd, "%s: %zu of %zu bytes delivered, no error", d[i].name,
				d[i].got, d[i].sent);
		else if (verifiable && !d[i].online &&
			 (d[i].got != d[i].sent ||
			  memcmp(d[i].got_buf, pat, d[i].got)))
			fz_fail(&rd, "%s: plain bytes %zu of %zu sent, or differ", d[i].name,
				d[i].got, d[i].sent);
		if (!verifiable)
			tot->unchecked[i]++;
		else if (fz_alive(&d[i]))
			tot->usable[i]++;
		else
			tot->failed[i]++;
	}
	for (int i = 0; i < 2; i++)
		free(d[i].got_buf);
close:
	/* b first: a then closes without waiting for a reader. */
	close(sp.b);
	close(sp.a);
out:
	alarm(0);
	fz_current = NULL;
	tot->rounds++;
	tot->ops += rd.ops;
	tot->ok += rd.ok;
	for (int e = 0; e < FZ_ERRNO_MAX; e++)
		tot->errs[e] += rd.errs[e];
	if (rd.fail[0]) {
		TH_LOG("round %d: %s; SOCKOPT_FUZZ_SEED=%llu", round, rd.fail,
		       (unsigned long long)seed);
		return -1;
	}
	return 0;
}

FIXTURE(fz) {
	uint8_t *pat;
	int memfd;
	uint8_t *maps[FZ_THREADS];
};

FIXTURE_VARIANT(fz) {
	enum fz_state state;
};

FIXTURE_VARIANT_ADD(fz, plain_tcp) { .state = FZ_PLAIN };
FIXTURE_VARIANT_ADD(fz, ulp_only) { .state = FZ_ULP };
FIXTURE_VARIANT_ADD(fz, upgraded_ktls) { .state = FZ_KTLS };
FIXTURE_VARIANT_ADD(fz, upgraded_secret) { .state = FZ_SECRET };

FIXTURE_SETUP(fz)
{
	long page = sysconf(_SC_PAGESIZE);

	signal(SIGPIPE, SIG_IGN);
	self->pat = malloc(FZ_STREAM);
	ASSERT_NE(NULL, self->pat);
	self->memfd = memfd_create("fz", MFD_CLOEXEC);
	ASSERT_LE(0, self->memfd);
	for (int i = 0; i < FZ_THREADS; i++) {
		self->maps[i] = mmap(NULL, FZ_BUF + page, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, self->maps[i]);
		ASSERT_EQ(0, mprotect(self->maps[i] + FZ_BUF, page, PROT_NONE));
	}
}

FIXTURE_TEARDOWN(fz)
{
	long page = sysconf(_SC_PAGESIZE);

	for (int i = 0; i < FZ_THREADS; i++)
		munmap(self->maps[i], FZ_BUF + page);
	close(self->memfd);
	free(self->pat);
}

static const char *fz_state_name(enum fz_state s)
{
	static const char *const names[] = { "plain TCP", "ULP only", "kTLS keys",
					     "traffic secrets" };

	return names[s];
}

TEST_F_TIMEOUT(fz, random_options, 36000)
{
	const char *e = getenv("SOCKOPT_FUZZ_ROUNDS");
	int rounds = e ? atoi(e) : 8;
	uint64_t seed;
	struct fz_totals tot = { 0 };
	char errs[512];
	size_t el = 0;
	int failed = 0;

	e = getenv("SOCKOPT_FUZZ_SEED");
	seed = e ? strtoull(e, NULL, 0) : (uint64_t)time(NULL) * 1000003 + getpid();
	TH_LOG("%s: %d rounds, SOCKOPT_FUZZ_SEED=%llu", fz_state_name(variant->state), rounds,
	       (unsigned long long)seed);
	signal(SIGALRM, fz_on_alarm);

	for (int r = 0; r < rounds && !failed; r++) {
		uint64_t ps = seed + r;

		/* The stream: never a TLS header by chance (it fails anyway). */
		pl_rand_bytes(&ps, self->pat, FZ_STREAM);
		ASSERT_EQ(0, ftruncate(self->memfd, 0));
		ASSERT_EQ(FZ_STREAM, pwrite(self->memfd, self->pat, FZ_STREAM, 0));
		failed = fz_round(_metadata, variant->state, seed, r, self->pat, self->memfd,
				  self->maps, &tot);
	}
	for (int i = 1; i < FZ_ERRNO_MAX && el < sizeof(errs) - 32; i++)
		if (tot.errs[i])
			el += snprintf(errs + el, sizeof(errs) - el, " %s %ld",
				       strerrorname_np(i) ?: "?", tot.errs[i]);
	errs[el] = 0;
	TH_LOG("%ld rounds, %ld calls, %ld succeeded; errnos:%s", tot.rounds, tot.ops, tot.ok,
	       errs);
	TH_LOG("a->b usable %ld, failed clearly %ld, not checkable %ld; "
	       "b->a usable %ld, failed clearly %ld",
	       tot.usable[0], tot.failed[0], tot.unchecked[0], tot.usable[1], tot.failed[1]);
	EXPECT_EQ(0, failed);
	EXPECT_EQ(rounds, tot.rounds);
}

PL_HARNESS_MAIN
