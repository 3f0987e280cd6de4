// SPDX-License-Identifier: GPL-2.0
/*
 * plbench: one throughput measurement over a loopback TCP pair.
 *
 *   plbench mkfile PATH MIB
 *	write a MIB MiB file with a known pattern (u64 word k = k * PHI).
 *   plbench tx IMPL CIPHER FILE [options]
 *	IMPL tcp | ktls | plasmatic | engine.  The sender sends FILE: sendfile
 *	of the whole file (tcp, ktls, plasmatic) or read + pl_tx_seal + send
 *	(engine).  The receiver is a plain TCP socket that only counts the
 *	raw bytes, so only the sender's cost is measured.
 *   plbench spin CPU SECS
 *	busy loop on one CPU for SECS seconds between marks (--marks below):
 *	lets the host tell which of its threads runs which vCPU.
 *   plbench rx IMPL CIPHER MIB [options]
 *	IMPL ktls | plasmatic.  The stream of MIB MiB of application data is
 *	sealed into memory first by the userspace engine (not timed; for
 *	ktls it is sealed in detached framing and the EEMs dropped, which
 *	leaves a plain TLS 1.3 stream).  The sender writes it raw; the
 *	receiver, with the kernel decrypting, recv()s into a buffer and is
 *	timed.
 *
 * CIPHER: chacha20-poly1305 | aes-128-gcm.  Options:
 *   --record N      content bytes per record (default 16384; engine, rx
 *                   streams and --write; sendfile lets the kernel make full
 *                   records)
 *   --write         tx tcp, ktls, plasmatic: instead of sendfile, read()
 *                   --record bytes of the file and send() them without
 *                   MSG_MORE, which makes one record per send
 *   --framing F     detached | covered (plasmatic and engine; default detached)
 *   --eem-len N     EEM bytes on the wire (default 80)
 *   --rbuf N        receiver's recv buffer (default 65536)
 *   --cpus S,R      pin sender and receiver threads (default 0,1; -1 = none)
 *   --tpl-mode N    tx plasmatic: shape the records in TPL mode N (SPEC 9,
 *                   locked, a fixed seed) with PLASMATIC_TPL_TX; the wire
 *                   check then counts the records and padding the socket
 *                   reports (struct plasmatic_tpl_state)
 *   --verify        tx: the receiver keeps every byte (in a buffer faulted
 *                   in beforehand, recv() of the same sizes) and, after the
 *                   timing, decodes and checks it against the file: kTLS
 *                   records with OpenSSL, plasmatic ones with the engine
 *   --marks         print "PLBENCH-MARK begin" and "PLBENCH-MARK end" around
 *                   the timed part, each followed by 0.4 s of idle time
 *                   (for tools/bench/sendfile.sh, which samples the host CPU
 *                   time of the VM's vCPU threads at each mark)
 *   --no-pad        rx ktls, plasmatic: TLS_RX_EXPECT_NO_PAD or
 *                   PLASMATIC_RX_EXPECT_NO_PAD on the receiver (the stream
 *                   is unpadded: records decrypted into the recv buffer);
 *                   impl is reported as ktls-nopad, plasmatic-nopad
 *   --stream PATH   rx: take the sealed stream from PATH if it exists, else
 *                   seal it and keep it in PATH (the caller names PATH after
 *                   every argument that changes the stream)
 *
 * Prints one line:
 *   RESULT dir=tx|tx-write|rx impl=ktls cipher=... bytes=N wire=N records=N
 *          record=N secs=S
 *          e2e_secs=S mbps=M
 * bytes = application bytes, wire = bytes on the wire, secs = the measured
 * side's time (sender: around the send loop; receiver: around the recv
 * loop), e2e_secs = first send to last byte received, cpu_send and
 * cpu_recv = the CPU time of the two threads in their loops (system time
 * included, and softirq work the kernel did in their context), mbps = bytes / secs
 * in 10^6 bytes per second; verified = yes (tx --verify: every record
 * decoded and compared), no, or sampled (rx: one word per 4 KiB of the
 * plaintext compared).  Exits non-zero if anything failed, including a
 * wrong byte count or a plaintext mismatch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/tls.h>
#include <linux/plasmatic.h>
#include <openssl/evp.h>

#include "pl_engine.h"
#include "sockpair.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

#define PHI 0x9e3779b97f4a7c15ULL
#define MIB (1024ULL * 1024)

enum impl { I_TCP, I_KTLS, I_PLASMATIC, I_ENGINE };
static const char *const impl_names[] = { "tcp", "ktls", "plasmatic", "engine" };

struct opts {
	bool tx;
	enum impl impl;
	uint16_t cipher;		/* TLS_CIPHER_* */
	const char *cipher_name;
	const char *file;
	const char *stream;		/* rx: sealed stream file (cache) */
	bool verify;			/* tx: keep and decode the wire bytes */
	bool write;			/* tx: read + send instead of sendfile */
	int tpl_mode;			/* tx plasmatic: -1 unshaped */
	bool no_pad;			/* rx: *_RX_EXPECT_NO_PAD */
	uint64_t bytes;			/* application bytes */
	size_t record;
	uint8_t framing;
	uint8_t eem_len;
	size_t rbuf;
	int cpu_send, cpu_recv;
};

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "plbench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pin(int cpu)
{
	cpu_set_t set;
	int err;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (err)
		die("pin to cpu %d: %s", cpu, strerror(err));
}

/*
 * --marks: tell the host (tools/bench/sendfile.sh reads our output as it
 * streams out of the VM) that the timed part begins or ends, then stay idle
 * a moment so that its sample of the vCPU threads' CPU time falls in idle
 * time on both sides of the timed part.
 */
static bool marks;

static void mark(const char *what)
{
	if (!marks)
		return;
	printf("PLBENCH-MARK %s\n", what);
	fflush(stdout);
	usleep(400000);
}

/* plbench spin CPU SECS: busy on one CPU, between marks (calibration). */
static int cmd_spin(int cpu, double secs)
{
	volatile uint64_t x = 0;
	double end;

	marks = true;
	pin(cpu);
	mark("begin");
	for (end = now() + secs; now() < end;)
		for (int i = 0; i < 100000; i++)
			x += i;
	mark("end");
	return 0;
}

/* ---- pattern ---- */

static void pattern_fill(uint8_t *p, uint64_t off, size_t n)
{
	/* off and n are multiples of 8; p need not be aligned */
	for (size_t i = 0; i < n; i += 8) {
		uint64_t w = ((off + i) / 8) * PHI;

		memcpy(p + i, &w, 8);
	}
}

/* Check one word per 4 KiB of stream that lies inside [off, off + n). */
static bool pattern_check(const uint8_t *p, uint64_t off, size_t n)
{
	uint64_t pos = (off + 4095) & ~4095ULL, w;

	for (; pos + 8 <= off + n; pos += 4096) {
		memcpy(&w, p + (pos - off), 8);
		if (w != (pos / 8) * PHI)
			return false;
	}
	return true;
}

static int cmd_mkfile(const char *path, uint64_t mib)
{
	size_t chunk = MIB;
	uint8_t *buf = malloc(chunk);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (!buf || fd < 0)
		die("mkfile %s: %s", path, strerror(errno));
	for (uint64_t off = 0; off < mib * MIB; off += chunk) {
		pattern_fill(buf, off, chunk);
		for (size_t done = 0; done < chunk;) {
			ssize_t w = write(fd, buf + done, chunk - done);

			if (w < 0)
				die("write %s: %s", path, strerror(errno));
			done += w;
		}
	}
	if (close(fd))
		die("close %s: %s", path, strerror(errno));
	free(buf);
	return 0;
}

/* ---- keys: fixed, deterministic; the same for every implementation ---- */

struct keys {
	uint8_t key[32];
	uint8_t iv[PL_IV_LEN];
	uint8_t eem_key[PLASMATIC_EEM_KEY_SIZE];
	uint8_t eem_nonce[PLASMATIC_EEM_NONCE_SIZE];
};

static void keys_init(struct keys *k)
{
	for (size_t i = 0; i < sizeof(k->key); i++)
		k->key[i] = 0x10 + i;
	for (size_t i = 0; i < sizeof(k->iv); i++)
		k->iv[i] = 0x50 + i;
	for (size_t i = 0; i < sizeof(k->eem_key); i++)
		k->eem_key[i] = 0x80 + i;
	for (size_t i = 0; i < sizeof(k->eem_nonce); i++)
		k->eem_nonce[i] = 0xc0 + i;
	k->eem_nonce[4] &= 0x7f;
}

union crypto_info {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 aes128;
	struct tls12_crypto_info_chacha20_poly1305 chacha;
};

/* rec_seq 0 for every implementation. */
static socklen_t crypto_info_init(union crypto_info *c, const struct opts *o,
				  const struct keys *k)
{
	socklen_t len;

	memset(c, 0, sizeof(*c));
	if (o->cipher == TLS_CIPHER_AES_GCM_128) {
		memcpy(c->aes128.salt, k->iv, 4);
		memcpy(c->aes128.iv, k->iv + 4, 8);
		memcpy(c->aes128.key, k->key, 16);
		len = sizeof(c->aes128);
	} else {
		memcpy(c->chacha.iv, k->iv, 12);
		memcpy(c->chacha.key, k->key, 32);
		len = sizeof(c->chacha);
	}
	c->info.version = TLS_1_3_VERSION;
	c->info.cipher_type = o->cipher;
	return len;
}

static void dir_config_init(struct pl_dir_config *d, const struct opts *o,
			    const struct keys *k, uint8_t framing)
{
	memset(d, 0, sizeof(*d));
	d->suite = o->cipher == TLS_CIPHER_AES_GCM_128 ?
		   PL_TLS_AES_128_GCM_SHA256 : PL_TLS_CHACHA20_POLY1305_SHA256;
	d->key = k->key;
	d->iv = k->iv;
	d->seq = 0;
	d->eem_key = k->eem_key;
	d->eem_nonce = k->eem_nonce;
	d->framing = framing;
	d->eem_len = o->eem_len;
}

/* Upgrade fd to kTLS or plasmatic in one direction. */
static void upgrade(int fd, const struct opts *o, const struct keys *k, bool tx)
{
	union crypto_info c;
	socklen_t clen = crypto_info_init(&c, o, k);
	int one = 1;

	if (o->impl == I_KTLS) {
		if (setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")))
			die("TCP_ULP tls: %s (modprobe tls?)", strerror(errno));
		if (setsockopt(fd, SOL_TLS, tx ? TLS_TX : TLS_RX, &c, clen))
			die("SOL_TLS %s: %s", tx ? "TLS_TX" : "TLS_RX", strerror(errno));
		if (!tx && o->no_pad &&
		    setsockopt(fd, SOL_TLS, TLS_RX_EXPECT_NO_PAD, &one, sizeof(one)))
			die("TLS_RX_EXPECT_NO_PAD: %s", strerror(errno));
	} else if (o->impl == I_PLASMATIC) {
		struct plasmatic_eem_info e = {
			.version = PLASMATIC_EEM_VERSION_1,
			.framing = o->framing,
			.eem_len = o->eem_len,
		};

		memcpy(e.key, k->eem_key, sizeof(e.key));
		memcpy(e.nonce, k->eem_nonce, sizeof(e.nonce));
		if (setsockopt(fd, SOL_TCP, TCP_ULP, PLASMATIC_ULP_NAME,
			       sizeof(PLASMATIC_ULP_NAME)))
			die("TCP_ULP plasmatic: %s (insmod kmod/plasmatic.ko?)",
			    strerror(errno));
		if (setsockopt(fd, SOL_PLASMATIC,
			       tx ? PLASMATIC_EEM_TX : PLASMATIC_EEM_RX, &e, sizeof(e)))
			die("PLASMATIC_EEM_%s: %s", tx ? "TX" : "RX", strerror(errno));
		if (setsockopt(fd, SOL_PLASMATIC, tx ? PLASMATIC_TX : PLASMATIC_RX,
			       &c, clen))
			die("PLASMATIC_%s: %s", tx ? "TX" : "RX", strerror(errno));
		if (!tx && o->no_pad &&
		    setsockopt(fd, SOL_PLASMATIC, PLASMATIC_RX_EXPECT_NO_PAD, &one,
			       sizeof(one)))
			die("PLASMATIC_RX_EXPECT_NO_PAD: %s", strerror(errno));
		if (tx && o->tpl_mode >= 0) {
			struct plasmatic_tpl t = {
				.mode = o->tpl_mode,
				.flags = PLASMATIC_TPL_LOCK,
				.seed = 0x706c61736d617469ULL,
			};

			if (setsockopt(fd, SOL_PLASMATIC, PLASMATIC_TPL_TX, &t,
				       sizeof(t)))
				die("PLASMATIC_TPL_TX: %s", strerror(errno));
		}
	}
}

/* ---- the two threads ---- */

struct run {
	const struct opts *o;
	struct keys keys;
	struct pl_sockpair sp;		/* a: sender, b: receiver */
	pthread_barrier_t ready;	/* both ends set up */
	double t_send0, t_send1;	/* sender's loop */
	double t_recv0, t_recv1;	/* receiver's loop */
	double cpu_send, cpu_recv;	/* their threads' CPU time in it */
	uint64_t received;		/* bytes returned by recv */
	bool mismatch;
	/* tx --verify: everything the receiver got */
	uint8_t *wire;
	size_t wire_cap;
	/* rx: the stream to write raw */
	uint8_t *stream;
	size_t stream_len, stream_map;
	uint64_t stream_records;
	/* tx: the file */
	int ffd;
};

static void send_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, 0);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("send: %s", strerror(errno));
		}
		p += w;
		n -= w;
	}
}

static void *receiver(void *arg)
{
	struct run *r = arg;
	const struct opts *o = r->o;
	uint8_t *buf = aligned_alloc(4096, o->rbuf);
	int fd = r->sp.b;

	if (!buf)
		die("receive buffer: %s", strerror(errno));
	pin(o->cpu_recv);
	if (!o->tx)
		upgrade(fd, o, &r->keys, false);
	if (!o->tx)
		mark("begin");
	pthread_barrier_wait(&r->ready);
	r->t_recv0 = now();
	r->cpu_recv = thread_cpu();
	for (;;) {
		uint8_t *dst = buf;
		size_t want = o->rbuf;
		ssize_t n;

		if (r->wire) {
			dst = r->wire + r->received;
			if (want > r->wire_cap - r->received)
				want = r->wire_cap - r->received;
			if (!want)
				die("tx --verify: more than %zu bytes on the wire",
				    r->wire_cap);
		}
		n = recv(fd, dst, want, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("recv after %" PRIu64 " bytes: %s", r->received,
			    strerror(errno));
		}
		if (!n)
			break;
		if (!o->tx && !pattern_check(dst, r->received, n))
			r->mismatch = true;
		r->received += n;
		/* rx: the sender does not close; stop at the expected size. */
		if (!o->tx && r->received >= o->bytes)
			break;
	}
	r->t_recv1 = now();
	r->cpu_recv = thread_cpu() - r->cpu_recv;
	if (!o->tx)
		mark("end");
	free(buf);
	return NULL;
}

static void sender_sendfile(struct run *r)
{
	off_t off = 0;

	while ((uint64_t)off < r->o->bytes) {
		ssize_t n = sendfile(r->sp.a, r->ffd, &off, r->o->bytes - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("sendfile at %lld: %s", (long long)off, strerror(errno));
		}
		if (!n)
			die("sendfile: early end of file at %lld", (long long)off);
	}
}

static struct pl_tx *engine_tx(const struct opts *o, const struct keys *k,
			       uint8_t framing)
{
	struct pl_dir_config d;
	struct pl_tx *tx;
	int err;

	dir_config_init(&d, o, k, framing);
	tx = pl_tx_new(&d, &err);
	if (!tx)
		die("pl_tx_new: %s", pl_strerror(err));
	return tx;
}

/* --write: read + send, one record's worth per send (no MSG_MORE). */
static void sender_write(struct run *r)
{
	const struct opts *o = r->o;
	uint8_t *buf = aligned_alloc(4096, (o->record + 4095) & ~(size_t)4095);
	uint64_t left = o->bytes;

	if (!buf)
		die("write buffer: %s", strerror(errno));
	while (left) {
		size_t want = left < o->record ? left : o->record, got = 0;

		while (got < want) {
			ssize_t n = read(r->ffd, buf + got, want - got);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				die("read: %s", n ? strerror(errno) : "early end of file");
			got += n;
		}
		send_all(r->sp.a, buf, got);
		left -= got;
	}
	free(buf);
}

/* read + seal in place + send, one record at a time. */
static void sender_engine(struct run *r)
{
	const struct opts *o = r->o;
	struct pl_tx *tx = engine_tx(o, &r->keys, o->framing);
	size_t cap = pl_tx_record_len(tx, o->record, 0);
	uint8_t *buf = aligned_alloc(4096, (cap + 4095) & ~(size_t)4095);
	uint64_t left = o->bytes;

	if (!buf)
		die("engine buffer: %s", strerror(errno));
	while (left) {
		size_t want = left < o->record ? left : o->record, got = 0, len;
		int err;

		while (got < want) {
			ssize_t n = read(r->ffd, buf + PL_HEADER_LEN + got, want - got);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				die("read: %s", n ? strerror(errno) : "early end of file");
			got += n;
		}
		err = pl_tx_seal(tx, PLASMATIC_CT_APPLICATION_DATA,
				 buf + PL_HEADER_LEN, got, NULL, buf, cap, &len);
		if (err)
			die("pl_tx_seal: %s", pl_strerror(err));
		send_all(r->sp.a, buf, len);
		left -= got;
	}
	free(buf);
	pl_tx_free(tx);
}

/*
 * rx: seal o->bytes of pattern into memory.  keep_eem false: detached
 * framing with the EEMs dropped, i.e. plain TLS 1.3 records.
 */
static void preseal(struct run *r, uint8_t framing, bool keep_eem)
{
	const struct opts *o = r->o;
	struct pl_tx *tx = engine_tx(o, &r->keys, framing);
	size_t full = pl_tx_record_len(tx, o->record, 0);
	uint64_t nrec = (o->bytes + o->record - 1) / o->record;
	size_t cap = nrec * full, pos = 0;
	uint8_t *s = mmap(NULL, cap, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (s == MAP_FAILED)
		die("stream of %zu bytes: %s", cap, strerror(errno));
	for (uint64_t off = 0; off < o->bytes; off += o->record) {
		size_t n = o->bytes - off < o->record ? o->bytes - off : o->record;
		size_t len;
		int err;

		pattern_fill(s + pos + PL_HEADER_LEN, off, n);
		err = pl_tx_seal(tx, PLASMATIC_CT_APPLICATION_DATA,
				 s + pos + PL_HEADER_LEN, n, NULL, s + pos,
				 cap - pos, &len);
		if (err)
			die("pl_tx_seal: %s", pl_strerror(err));
		pos += keep_eem ? len : len - o->eem_len;
	}
	pl_tx_free(tx);
	r->stream = s;
	r->stream_len = pos;
	r->stream_map = cap;
	r->stream_records = nrec;
}

/*
 * rx with --stream PATH: use the stream sealed earlier into PATH, or seal
 * it now and keep it there (the same arguments give the same bytes).
 */
static void stream_load(struct run *r, const char *path, uint8_t framing,
			bool keep_eem)
{
	const struct opts *o = r->o;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	r->stream_records = (o->bytes + o->record - 1) / o->record;
	if (fd >= 0) {
		if (fstat(fd, &st))
			die("%s: %s", path, strerror(errno));
		r->stream_len = r->stream_map = st.st_size;
		r->stream = mmap(NULL, st.st_size, PROT_READ,
				 MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (r->stream == MAP_FAILED)
			die("mmap %s: %s", path, strerror(errno));
		close(fd);
		return;
	}
	if (errno != ENOENT)
		die("%s: %s", path, strerror(errno));
	preseal(r, framing, keep_eem);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	for (size_t done = 0; done < r->stream_len;) {
		ssize_t w = write(fd, r->stream + done, r->stream_len - done);

		if (w < 0)
			die("write %s: %s", path, strerror(errno));
		done += w;
	}
	if (close(fd))
		die("close %s: %s", path, strerror(errno));
}

/* ---- tx --verify: decode what the receiver got, after the timing ---- */

/* content of record bytes [off, off + n) must be the file's */
static void content_check(const uint8_t *p, uint64_t off, size_t n,
			  const char *what)
{
	uint8_t want[64];

	for (size_t i = 0; i < n; i += sizeof(want)) {
		size_t k = n - i < sizeof(want) ? n - i : sizeof(want);
		uint64_t at = off + i;

		/* pattern words are 8-aligned in the file; fill around at */
		uint8_t tmp[sizeof(want) + 8];

		pattern_fill(tmp, at & ~7ULL, sizeof(tmp));
		memcpy(want, tmp + (at & 7), k);
		if (memcmp(p + i, want, k))
			die("%s: content differs from the file at byte %" PRIu64,
			    what, at);
	}
}

/* Plain TLS 1.3 records (kTLS): decrypt each with OpenSSL. */
static void verify_tls(const struct opts *o, const struct keys *k,
		       uint8_t *w, size_t len)
{
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, o->cipher == TLS_CIPHER_AES_GCM_128 ?
					 "AES-128-GCM" : "ChaCha20-Poly1305", NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint64_t seq = 0, off = 0;
	size_t pos = 0;

	if (!c || !ctx ||
	    !EVP_DecryptInit_ex2(ctx, c, k->key, NULL, NULL))
		die("verify: OpenSSL setup failed");
	while (pos < len) {
		uint8_t nonce[PL_IV_LEN], *hdr = w + pos, *body = hdr + PL_HEADER_LEN;
		size_t lc, inner;
		int n;

		if (len - pos < PL_HEADER_LEN)
			die("verify: stream ends inside a header");
		lc = (size_t)hdr[3] << 8 | hdr[4];
		if (hdr[0] != 0x17 || hdr[1] != 3 || hdr[2] != 3 ||
		    lc < PL_TLS_TAG_LEN + 1 || len - pos - PL_HEADER_LEN < lc)
			die("verify: bad record header at wire byte %zu", pos);
		memcpy(nonce, k->iv, sizeof(nonce));
		for (int i = 0; i < 8; i++)
			nonce[PL_IV_LEN - 1 - i] ^= seq >> (8 * i);
		if (!EVP_DecryptInit_ex2(ctx, NULL, NULL, nonce, NULL) ||
		    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, PL_TLS_TAG_LEN,
					 body + lc - PL_TLS_TAG_LEN) ||
		    !EVP_DecryptUpdate(ctx, NULL, &n, hdr, PL_HEADER_LEN) ||
		    !EVP_DecryptUpdate(ctx, body, &n, body, lc - PL_TLS_TAG_LEN) ||
		    EVP_DecryptFinal_ex(ctx, body + n, &n) != 1)
			die("verify: record %" PRIu64 " does not decrypt", seq);
		inner = lc - PL_TLS_TAG_LEN;
		while (inner && !body[inner - 1])
			inner--;
		if (!inner || body[inner - 1] != PLASMATIC_CT_APPLICATION_DATA)
			die("verify: record %" PRIu64 " is not application data", seq);
		content_check(body, off, inner - 1, "verify");
		off += inner - 1;
		pos += PL_HEADER_LEN + lc;
		seq++;
	}
	if (off != o->bytes)
		die("verify: %" PRIu64 " bytes of content, expected %" PRIu64,
		    off, o->bytes);
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
}

/* Plasmatic records: the engine's decoder checks everything (SPEC 7). */
static void verify_plasmatic(const struct opts *o, const struct keys *k,
			     const uint8_t *w, size_t len)
{
	struct pl_dir_config d;
	struct pl_record rec;
	struct pl_rx *rx;
	uint64_t off = 0;
	size_t pos = 0;
	int err;

	dir_config_init(&d, o, k, o->framing);
	rx = pl_rx_new(&d, &err);
	if (!rx)
		die("pl_rx_new: %s", pl_strerror(err));
	while (pos < len) {
		size_t used;

		err = pl_rx_feed(rx, w + pos, len - pos, &used, &rec);
		if (err < 0)
			die("verify: wire byte %zu: %s", pos, pl_strerror(err));
		pos += used;
		if (err == 1) {
			if (rec.content_type != PLASMATIC_CT_APPLICATION_DATA)
				die("verify: record of type %u", rec.content_type);
			content_check(rec.content, off, rec.len, "verify");
			off += rec.len;
		}
	}
	err = pl_rx_end(rx);
	if (err)
		die("verify: end of stream: %s", pl_strerror(err));
	if (off != o->bytes)
		die("verify: %" PRIu64 " bytes of content, expected %" PRIu64,
		    off, o->bytes);
	pl_rx_free(rx);
}

static void verify(const struct opts *o, const struct run *r)
{
	switch (o->impl) {
	case I_TCP:
		content_check(r->wire, 0, r->received, "verify");
		break;
	case I_KTLS:
		verify_tls(o, &r->keys, r->wire, r->received);
		break;
	default:
		verify_plasmatic(o, &r->keys, r->wire, r->received);
	}
}

static int cmd_run(struct opts *o)
{
	struct run r = { .o = o, .ffd = -1 };
	uint64_t wire, secs_bytes, rec_overhead = 0, nrec;
	struct plasmatic_tpl_state tpl = { 0 };
	pthread_t th;
	double secs, e2e;
	int err;

	keys_init(&r.keys);
	if (o->tx) {
		struct stat st;

		r.ffd = open(o->file, O_RDONLY | O_CLOEXEC);
		if (r.ffd < 0 || fstat(r.ffd, &st))
			die("%s: %s", o->file, strerror(errno));
		o->bytes = st.st_size;
	} else {
		uint8_t framing = o->impl == I_PLASMATIC ? o->framing :
				  PLASMATIC_FRAMING_DETACHED;

		if (o->stream)
			stream_load(&r, o->stream, framing, o->impl == I_PLASMATIC);
		else
			preseal(&r, framing, o->impl == I_PLASMATIC);
	}
	if (o->verify) {
		/* room for records down to 4 KiB with the largest EEM */
		r.wire_cap = o->bytes + o->bytes / 8 + MIB;
		r.wire = mmap(NULL, r.wire_cap, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (r.wire == MAP_FAILED)
			die("--verify buffer: %s", strerror(errno));
	}
	err = pl_sockpair_tcp(&r.sp);
	if (err)
		die("loopback TCP pair: %s", strerror(-err));
	pthread_barrier_init(&r.ready, NULL, 2);
	err = pthread_create(&th, NULL, receiver, &r);
	if (err)
		die("pthread_create: %s", strerror(err));

	pin(o->cpu_send);
	if (o->tx && o->impl != I_ENGINE)
		upgrade(r.sp.a, o, &r.keys, true);
	pthread_barrier_wait(&r.ready);
	if (o->tx)
		mark("begin");
	r.t_send0 = now();
	r.cpu_send = thread_cpu();
	if (!o->tx)
		send_all(r.sp.a, r.stream, r.stream_len);
	else if (o->impl == I_ENGINE)
		sender_engine(&r);
	else if (o->write)
		sender_write(&r);
	else
		sender_sendfile(&r);
	r.t_send1 = now();
	r.cpu_send = thread_cpu() - r.cpu_send;
	if (o->tx && o->tpl_mode >= 0) {
		socklen_t len = sizeof(tpl);

		if (getsockopt(r.sp.a, SOL_PLASMATIC, PLASMATIC_TPL_TX, &tpl, &len))
			die("PLASMATIC_TPL_TX: %s", strerror(errno));
	}
	if (o->tx && shutdown(r.sp.a, SHUT_WR))
		die("shutdown: %s", strerror(errno));
	if (o->tx)
		mark("end");
	pthread_join(th, NULL);

	/* What the receiver must have seen. */
	nrec = (o->bytes + o->record - 1) / o->record;
	if (o->impl != I_TCP)
		rec_overhead = PL_HEADER_LEN + 1 + PL_TLS_TAG_LEN;
	if (o->impl == I_PLASMATIC || o->impl == I_ENGINE)
		rec_overhead += o->eem_len;
	if (o->tx) {
		wire = r.received;
		if (o->tpl_mode > 0)
			/* every record took a draw; padding as counted */
			nrec = tpl.records;
		else if (o->impl != I_TCP && r.received > o->bytes)
			/* records the kernel made, if all but the last are full */
			nrec = (r.received - o->bytes) / rec_overhead;
		if (r.received != o->bytes + tpl.pad_bytes + nrec * rec_overhead)
			die("%s tx: received %" PRIu64 " bytes on the wire, expected %"
			    PRIu64 " (%" PRIu64 " records of %zu bytes)", impl_names[o->impl],
			    r.received, o->bytes + nrec * rec_overhead, nrec, o->record);
		if (o->impl != I_TCP && o->tpl_mode <= 0 &&
		    nrec != (o->bytes + o->record - 1) / o->record)
			fprintf(stderr, "plbench: note: %s made %" PRIu64
				" records for %" PRIu64 " bytes (avg %.0f bytes of content)\n",
				impl_names[o->impl], nrec, o->bytes, (double)o->bytes / nrec);
		secs = r.t_send1 - r.t_send0;
		e2e = r.t_recv1 - r.t_send0;
		if (o->verify)
			verify(o, &r);
	} else {
		wire = r.stream_len;
		nrec = r.stream_records;
		if (r.received != o->bytes)
			die("%s rx: received %" PRIu64 " bytes, expected %" PRIu64,
			    impl_names[o->impl], r.received, o->bytes);
		if (r.mismatch)
			die("%s rx: plaintext differs from what was sealed",
			    impl_names[o->impl]);
		secs = r.t_recv1 - r.t_recv0;
		e2e = r.t_recv1 - r.t_send0;
	}
	secs_bytes = o->bytes;
	printf("RESULT dir=%s impl=%s%s cipher=%s bytes=%" PRIu64 " wire=%" PRIu64
	       " records=%" PRIu64 " record=%zu secs=%.3f e2e_secs=%.3f cpu_send=%.3f"
	       " cpu_recv=%.3f mbps=%.1f tpl_mode=%d pad=%" PRIu64 "%s\n",
	       o->tx ? (o->write ? "tx-write" : "tx") : "rx",
	       impl_names[o->impl], o->no_pad ? "-nopad" : "", o->cipher_name,
	       secs_bytes, wire, nrec, o->record, secs, e2e, r.cpu_send, r.cpu_recv,
	       secs_bytes / secs / 1e6, o->tpl_mode, (uint64_t)tpl.pad_bytes,
	       o->tx ? (o->verify ? " verified=yes" : " verified=no") :
	       " verified=sampled");
	pl_sockpair_close(&r.sp);
	if (r.stream)
		munmap(r.stream, r.stream_map);
	if (r.wire)
		munmap(r.wire, r.wire_cap);
	if (r.ffd >= 0)
		close(r.ffd);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: plbench mkfile PATH MIB\n"
		"       plbench tx tcp|ktls|plasmatic|engine CIPHER FILE [options]\n"
		"       plbench rx ktls|plasmatic CIPHER MIB [options]\n"
		"CIPHER: chacha20-poly1305 | aes-128-gcm\n"
		"options: --record N  --framing detached|covered  --eem-len N\n"
		"         --rbuf N  --cpus SEND,RECV  --stream PATH (rx)  --verify (tx)\n"
		"         --write (tx: read + send of --record bytes, not sendfile)\n"
		"         --tpl-mode N (tx plasmatic: TPL mode N, locked)\n"
		"         --no-pad (rx ktls, plasmatic: *_RX_EXPECT_NO_PAD)\n"
		"         --marks (print PLBENCH-MARK begin/end around the timed part)\n"
		"       plbench spin CPU SECS  (busy on CPU between marks)\n");
	exit(2);
}

static uint64_t number(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.record = PL_MAX_CONTENT,
		.framing = PLASMATIC_FRAMING_DETACHED,
		.eem_len = PLASMATIC_EEM_LEN_DEFAULT,
		.rbuf = 65536,
		.cpu_send = 0,
		.cpu_recv = 1,
		.tpl_mode = -1,
	};
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "mkfile"))
		return cmd_mkfile(argv[2], number(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "spin"))
		return cmd_spin(number(argv[2]), number(argv[3]));
	if (argc < 5)
		usage();
	if (!strcmp(argv[1], "tx"))
		o.tx = true;
	else if (strcmp(argv[1], "rx"))
		usage();
	for (i = 0; i < 4; i++)
		if (!strcmp(argv[2], impl_names[i]))
			break;
	if (i == 4 || (!o.tx && i != I_KTLS && i != I_PLASMATIC))
		usage();
	o.impl = i;
	o.cipher_name = argv[3];
	if (!strcmp(argv[3], "chacha20-poly1305"))
		o.cipher = TLS_CIPHER_CHACHA20_POLY1305;
	else if (!strcmp(argv[3], "aes-128-gcm"))
		o.cipher = TLS_CIPHER_AES_GCM_128;
	else
		usage();
	if (o.tx)
		o.file = argv[4];
	else
		o.bytes = number(argv[4]) * MIB;
	for (i = 5; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--verify") && o.tx) {
			o.verify = true;
			continue;
		}
		if (!strcmp(a, "--write") && o.tx) {
			o.write = true;
			continue;
		}
		if (!strcmp(a, "--no-pad") && !o.tx &&
		    (o.impl == I_KTLS || o.impl == I_PLASMATIC)) {
			o.no_pad = true;
			continue;
		}
		if (!strcmp(a, "--marks")) {
			marks = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--record")) {
			o.record = number(v);
			if (!o.record || o.record > PL_MAX_CONTENT || o.record % 8)
				usage();
		} else if (!strcmp(a, "--framing")) {
			if (!strcmp(v, "detached"))
				o.framing = PLASMATIC_FRAMING_DETACHED;
			else if (!strcmp(v, "covered"))
				o.framing = PLASMATIC_FRAMING_COVERED;
			else
				usage();
		} else if (!strcmp(a, "--eem-len")) {
			uint64_t n = number(v);

			if (n < PLASMATIC_EEM_LEN_MIN || n > PLASMATIC_EEM_LEN_MAX)
				usage();
			o.eem_len = n;
		} else if (!strcmp(a, "--tpl-mode") && o.tx && o.impl == I_PLASMATIC) {
			o.tpl_mode = number(v);
			if (o.tpl_mode >= PLASMATIC_TPL_MODES)
				usage();
		} else if (!strcmp(a, "--rbuf")) {
			o.rbuf = number(v);
			if (o.rbuf < 4096 || o.rbuf % 4096)
				usage();
		} else if (!strcmp(a, "--stream")) {
			o.stream = v;
		} else if (!strcmp(a, "--cpus")) {
			if (sscanf(v, "%d,%d", &o.cpu_send, &o.cpu_recv) != 2)
				usage();
		} else {
			usage();
		}
	}
	/* A record's content cap (SPEC 6: 2^14 - eem_len in covered framing). */
	if (o.record > pl_max_content(o.framing, o.eem_len))
		o.record = pl_max_content(o.framing, o.eem_len) / 8 * 8;
	return cmd_run(&o);
}
