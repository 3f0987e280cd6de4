// SPDX-License-Identifier: GPL-2.0
/*
 * secrets_test: once a connection is upgraded to the kernel, the memory of
 * the process holds neither that connection's traffic secrets, nor the
 * record keys and IVs derived from them, nor the exporter output, nor the
 * EEM keys and nonces.  Checked for the client and for the server, each in
 * its own process, on the kernel datapath (plasmatic.ko; without the module
 * every case is skipped).
 *
 * How the test learns the secrets without the scanned process keeping a
 * copy: each child wraps the library's OpenSSL keylog callback (through
 * the library's internal struct pl_ctx) so that every NSS key log line goes
 * with one writev(2) from OpenSSL's own buffer (which OpenSSL wipes after
 * the callback) into a pipe to the parent, before the library's callback
 * parses it.  The child keeps nothing of it.  The parent parses
 * CLIENT_TRAFFIC_SECRET_0, SERVER_TRAFFIC_SECRET_0 and EXPORTER_SECRET and
 * derives the rest itself: record keys and IVs and the exporter output
 * (RFC 8446 7.3 and 7.5, with OpenSSL's HKDF, independently of the
 * library), the EEM keys and nonces (SPEC 4, the engine's schedule with the
 * PSK the parent gave the children).
 *
 * The scan: every readable and writable mapping of the child (heap, main
 * and thread stacks in full, anonymous maps, .data and .bss of libssl,
 * libcrypto, libc and the program) read through /proc/PID/mem while the
 * child is blocked on a pipe, looking for any 8 consecutive bytes of any
 * item (so a copy partly overwritten by malloc's free-list pointers is
 * still found), and any 16 consecutive hex digits (lower or upper case) of
 * the traffic and exporter secrets (a key log line left in a buffer).
 *
 * Required absent: the two traffic secrets, the four record keys and IVs,
 * the exporter output, the two EEM keys and nonces.  Also required absent,
 * because each of them gives the ones above: the exporter master secret,
 * the exporter's intermediate secret and the EEM PRK.  Reported but not
 * required: the handshake traffic secrets (they protected the handshake
 * only).  Secrets no key log line gives (OpenSSL's handshake and master
 * secrets) cannot be looked for from outside; the library wipes them with
 * the block that holds the traffic secrets.
 *
 * Four cases: three suites (32- and 48-byte secrets), both framings, with
 * and without a PSK, and one where each child runs the handshake and the
 * data on a thread of its own with a 128 KiB stack (the stack wipe's bound).
 *
 * secrets_test-leak is this file built with -DSECRETS_TEST_LEAK and linked
 * with --wrap=pl_eem_schedule,--wrap=setsockopt: the wrappers keep an
 * unwiped heap copy of the exporter output, the EEM secrets and the traffic
 * secrets the library hands to the kernel (plus the record keys and IVs
 * derived from those).  That run must find every planted item in both
 * processes: the scan does find a leak, and the parent's derivation gives
 * the library's values.
 *
 * PL_SECRETS_TEST_USERSPACE=1 (diagnostics only) runs it on the userspace
 * datapath, where the engine holds the keys: the test then fails, listing
 * where they are.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/tls.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include "kselftest_harness.h"
#include "internal.h"		/* struct pl_ctx: the keylog tee */
#include "plasmatic.h"
#include "pl_engine.h"
#include "testpair.h"

#ifdef SECRETS_TEST_LEAK
#define LEAK 1
#else
#define LEAK 0
#endif

/* ------------------------------------------------ the leak control */

#if LEAK
/*
 * Deliberately unwiped copies, in one heap buffer that is never freed
 * (a static pointer keeps it reachable).
 */
static uint8_t *leak_buf;
static size_t leak_len;

static void leak(const void *p, size_t n)
{
	uint8_t *b = realloc(leak_buf, leak_len + n);

	if (!b)
		abort();
	memcpy(b + leak_len, p, n);
	leak_buf = b;
	leak_len += n;
}

int __real_pl_eem_schedule(const uint8_t exp[PL_EXPORTER_LEN],
			   const uint8_t *psk, struct pl_eem_secrets *c2s,
			   struct pl_eem_secrets *s2c);
int __wrap_pl_eem_schedule(const uint8_t exp[PL_EXPORTER_LEN],
			   const uint8_t *psk, struct pl_eem_secrets *c2s,
			   struct pl_eem_secrets *s2c);
int __real_setsockopt(int fd, int level, int name, const void *val,
		      socklen_t len);
int __wrap_setsockopt(int fd, int level, int name, const void *val,
		      socklen_t len);

int __wrap_pl_eem_schedule(const uint8_t exp[PL_EXPORTER_LEN],
			   const uint8_t *psk, struct pl_eem_secrets *c2s,
			   struct pl_eem_secrets *s2c)
{
	int rc = __real_pl_eem_schedule(exp, psk, c2s, s2c);

	leak(exp, PL_EXPORTER_LEN);
	leak(c2s, sizeof(*c2s));
	leak(s2c, sizeof(*s2c));
	return rc;
}

int __wrap_setsockopt(int fd, int level, int name, const void *val,
		      socklen_t len)
{
	if (level == SOL_PLASMATIC && val &&
	    (name == PLASMATIC_TX_SECRET || name == PLASMATIC_RX_SECRET) &&
	    len == sizeof(struct plasmatic_secret_info)) {
		const struct plasmatic_secret_info *si = val;
		uint16_t suite = si->cipher_type == TLS_CIPHER_AES_GCM_128 ?
				 PL_TLS_AES_128_GCM_SHA256 :
				 si->cipher_type == TLS_CIPHER_AES_GCM_256 ?
				 PL_TLS_AES_256_GCM_SHA384 :
				 PL_TLS_CHACHA20_POLY1305_SHA256;
		size_t hl = pl_suite_hash_len(suite);
		uint8_t key[PL_MAX_KEY_LEN], iv[PL_IV_LEN];

		leak(si->secret, hl);
		if (!pl_traffic_keys(suite, si->secret, hl, key, iv)) {
			leak(key, pl_suite_key_len(suite));
			leak(iv, sizeof(iv));
		}
	}
	return __real_setsockopt(fd, level, name, val, len);
}
#endif

/* --------------------------------------------------- the children */

struct child_status {
	int ok;			/* 1: upgraded, data checked, waiting */
	int code;		/* pl_code of a failure */
	int datapath;
	char msg[400];
};

struct child_args {
	enum pl_role role;
	int fd;
	int keylog_fd, status_fd, go_fd;
	const char *suites;
	uint8_t framing;
	const uint8_t *psk;	/* PL_PSK_BYTES or NULL */
	bool thread;		/* on a thread of its own (128 KiB stack) */
};

static int keylog_fd = -1;
static SSL_CTX_keylog_cb_func lib_keylog;

/* The tee: OpenSSL's line to the pipe, untouched, then to the library. */
static void tee_keylog(const SSL *ssl, const char *line)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)line, .iov_len = strlen(line) },
		{ .iov_base = "\n", .iov_len = 1 },
	};

	if (keylog_fd >= 0 && writev(keylog_fd, iov, 2) < 0)
		_exit(90);
	lib_keylog(ssl, line);
}

#define XFER	(64 * 1024)

static void fill(uint8_t *b, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

static int read_full(struct pl_conn *c, uint8_t *b, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pl_conn_read(c, b + got, n - got);

		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void child_report(int fd, struct child_status *st)
{
	if (write(fd, st, sizeof(*st)) != (ssize_t)sizeof(*st))
		_exit(91);
}

static int child_run(const struct child_args *a)
{
	static uint8_t buf[XFER], want[XFER];
	struct child_status st = { 0 };
	struct pl_psk *psk = NULL;
	struct pl_config cfg;
	struct pl_error err;
	struct pl_ctx *ctx;
	struct pl_conn *c;
	char go;

	set_rcvtimeo(a->fd, 30);
	if (a->psk) {
		psk = pl_psk_from_bytes(a->psk, &err);
		if (!psk) {
			snprintf(st.msg, sizeof(st.msg), "psk: %s", err.msg);
			goto report;
		}
	}
	either_config(&cfg, a->role);
	cfg.ciphersuites = a->suites;
	cfg.framing = a->framing;
	cfg.psk = psk;
	cfg.datapath = PL_DATAPATH_KERNEL;
	/* Diagnostics only: on the userspace datapath the engine holds the
	 * keys, and the test lists where. */
	if (getenv("PL_SECRETS_TEST_USERSPACE"))
		cfg.datapath = PL_DATAPATH_USERSPACE;
	ctx = pl_ctx_new(&cfg, &err);
	if (!ctx) {
		st.code = err.code;
		snprintf(st.msg, sizeof(st.msg), "ctx: %s", err.msg);
		goto report;
	}
	lib_keylog = SSL_CTX_get_keylog_callback(ctx->ssl_ctx);
	if (!lib_keylog) {
		snprintf(st.msg, sizeof(st.msg), "the library set no keylog callback");
		goto report;
	}
	keylog_fd = a->keylog_fd;
	SSL_CTX_set_keylog_callback(ctx->ssl_ctx, tee_keylog);

	c = a->role == PL_ROLE_CLIENT ? pl_connect(ctx, a->fd, NULL, &err) :
					pl_accept(ctx, a->fd, &err);
	close(keylog_fd);
	keylog_fd = -1;
	if (!c) {
		st.code = err.code;
		snprintf(st.msg, sizeof(st.msg), "handshake: %s", err.msg);
		goto report;
	}
	st.datapath = pl_conn_datapath(c);

	/* Some data each way over the kernel datapath, checked. */
	if (a->role == PL_ROLE_CLIENT) {
		fill(buf, XFER, 1);
		if (pl_conn_write(c, buf, XFER) != XFER || read_full(c, buf, XFER))
			goto conn_fail;
		fill(want, XFER, 2);
	} else {
		if (read_full(c, buf, XFER))
			goto conn_fail;
		fill(want, XFER, 1);
		if (memcmp(buf, want, XFER)) {
			snprintf(st.msg, sizeof(st.msg), "the data from the client differs");
			goto report;
		}
		fill(buf, XFER, 2);
		if (pl_conn_write(c, buf, XFER) != XFER)
			goto conn_fail;
		fill(want, XFER, 2);
	}
	if (memcmp(buf, want, XFER)) {
		snprintf(st.msg, sizeof(st.msg), "the data from the server differs");
		goto report;
	}

	/* Ready to be scanned: wait, doing nothing, for the parent. */
	st.ok = 1;
	child_report(a->status_fd, &st);
	if (read(a->go_fd, &go, 1) != 1)
		_exit(92);
	pl_conn_shutdown(c);
	while (pl_conn_read(c, buf, sizeof(buf)) > 0)
		;
	pl_conn_free(c);
	pl_ctx_free(ctx);
	pl_psk_free(psk);
	return 0;

conn_fail:
	st.code = pl_conn_error(c)->code;
	snprintf(st.msg, sizeof(st.msg), "data: %s", pl_conn_error(c)->msg);
report:
	child_report(a->status_fd, &st);
	return 1;
}

static void *child_thread(void *arg)
{
	return (void *)(intptr_t)child_run(arg);
}

/* The handshake on the main thread, or on a thread with a small stack. */
static int child_main(const struct child_args *a)
{
	pthread_attr_t at;
	pthread_t th;
	void *rc;

	if (!a->thread)
		return child_run(a);
	if (pthread_attr_init(&at) || pthread_attr_setstacksize(&at, 128 * 1024) ||
	    pthread_create(&th, &at, child_thread, (void *)a) ||
	    pthread_join(th, &rc))
		return 93;
	return (int)(intptr_t)rc;
}

/* ------------------------------------------- the parent's derivation */

static int hkdf_expand_label(const char *md, const uint8_t *secret,
			     size_t secret_len, const char *label,
			     const uint8_t *ctx, size_t ctx_len,
			     uint8_t *out, size_t out_len)
{
	uint8_t info[2 + 1 + 255 + 1 + 255];
	OSSL_PARAM params[5], *p = params;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY, ok;
	size_t ll = strlen("tls13 ") + strlen(label), n = 0;
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;

	EVP_KDF_free(kdf);
	if (!kctx || ll > 255 || ctx_len > 255)
		return -1;
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)ll;
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, strlen(label));
	n += strlen(label);
	info[n++] = (uint8_t)ctx_len;
	memcpy(info + n, ctx, ctx_len);
	n += ctx_len;
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						(char *)md, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						 (void *)secret, secret_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	*p = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(kctx, out, out_len, params) == 1;
	EVP_KDF_CTX_free(kctx);
	return ok ? 0 : -1;
}

/* ------------------------------------------------------ the needles */

#define MAX_NEEDLES	40
#define WIN		8	/* bytes compared at once */

struct needle {
	char name[48];
	uint8_t b[128];
	size_t len;
	size_t min;		/* shortest run that counts */
	bool required;
	bool planted;		/* the leak control copies it */
	int hits[2];		/* per process: client, server */
};

struct hit {
	int needle;
	uint64_t addr;
	size_t len, at;		/* run length, offset in the needle */
	char where[96];
};

struct scan {
	struct needle n[MAX_NEEDLES];
	int count;
	/* 8-byte windows of every needle, open addressing */
	struct { uint64_t key; int needle; int off; bool used; } tab[8192];
	uint8_t filter[1 << 13];	/* 2^16 bits */
	struct hit hits[64];
	int nhits;
	uint64_t bytes, regions;
};

static uint32_t win_hash(uint64_t k)
{
	return (uint32_t)((k * 0x9e3779b97f4a7c15ULL) >> 40);	/* 24 bits */
}

static void add_needle(struct scan *s, const char *name, const uint8_t *b,
		       size_t len, bool required, bool planted, bool hex)
{
	static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";

	for (int v = 0; v < (hex ? 2 : 1); v++) {
		struct needle *n = &s->n[s->count++];

		memset(n, 0, sizeof(*n));
		n->required = required;
		n->planted = planted && !hex;
		if (!hex) {
			snprintf(n->name, sizeof(n->name), "%s", name);
			memcpy(n->b, b, len);
			n->len = len;
			n->min = WIN;
			continue;
		}
		snprintf(n->name, sizeof(n->name), "%s (hex, %s case)", name,
			 v ? "upper" : "lower");
		for (size_t i = 0; i < len; i++) {
			n->b[2 * i] = (uint8_t)(v ? up : lo)[b[i] >> 4];
			n->b[2 * i + 1] = (uint8_t)(v ? up : lo)[b[i] & 15];
		}
		n->len = 2 * len;
		n->min = 2 * WIN;
	}
}

static void build_index(struct scan *s)
{
	size_t mask = sizeof(s->tab) / sizeof(s->tab[0]) - 1;

	for (int i = 0; i < s->count; i++) {
		for (size_t o = 0; o + WIN <= s->n[i].len; o++) {
			uint64_t k;
			uint32_t h;
			size_t j;

			memcpy(&k, s->n[i].b + o, WIN);
			h = win_hash(k);
			s->filter[(h & 0xffff) >> 3] |= (uint8_t)(1 << (h & 7));
			for (j = h & mask; s->tab[j].used; j = (j + 1) & mask)
				;
			s->tab[j].key = k;
			s->tab[j].needle = i;
			s->tab[j].off = (int)o;
			s->tab[j].used = true;
		}
	}
}

/* One chunk of a region: buf holds [addr, addr + len). */
static void scan_chunk(struct scan *s, int proc, const uint8_t *buf,
		       size_t len, uint64_t addr, const char *where)
{
	size_t mask = sizeof(s->tab) / sizeof(s->tab[0]) - 1;

	for (size_t i = 0; i + WIN <= len; i++) {
		uint64_t k;
		uint32_t h;

		memcpy(&k, buf + i, WIN);
		h = win_hash(k);
		if (!(s->filter[(h & 0xffff) >> 3] & (1 << (h & 7))))
			continue;
		for (size_t j = h & mask; s->tab[j].used; j = (j + 1) & mask) {
			struct needle *n;
			size_t back = 0, fwd = WIN, o;
			uint64_t start;
			bool dup = false;

			if (s->tab[j].key != k)
				continue;
			n = &s->n[s->tab[j].needle];
			o = (size_t)s->tab[j].off;
			while (back < o && back < i &&
			       buf[i - back - 1] == n->b[o - back - 1])
				back++;
			while (o + fwd < n->len && i + fwd < len &&
			       buf[i + fwd] == n->b[o + fwd])
				fwd++;
			if (back + fwd < n->min)
				continue;
			start = addr + i - back;
			for (int h2 = 0; h2 < s->nhits; h2++)
				if (s->hits[h2].needle == s->tab[j].needle &&
				    s->hits[h2].addr == start)
					dup = true;
			if (dup)
				continue;
			n->hits[proc]++;
			if (s->nhits < (int)(sizeof(s->hits) / sizeof(s->hits[0]))) {
				struct hit *h3 = &s->hits[s->nhits++];

				h3->needle = s->tab[j].needle;
				h3->addr = start;
				h3->len = back + fwd;
				h3->at = o - back;
				snprintf(h3->where, sizeof(h3->where), "%s %.80s",
					 proc ? "server" : "client", where);
			}
		}
	}
}

/*
 * Every rw mapping of pid.  Returns 0, or -1 with msg set if the memory
 * could not be read.
 */
static int scan_process(struct scan *s, int proc, pid_t pid, char *msg,
			size_t msg_cap)
{
	enum { CHUNK = 1 << 20, OVERLAP = 256 };
	char path[64], line[512];
	uint8_t *buf = malloc(CHUNK + OVERLAP);
	FILE *maps;
	int mem, rc = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = fopen(path, "re");
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	mem = open(path, O_RDONLY | O_CLOEXEC);
	if (!buf || !maps || mem < 0) {
		snprintf(msg, msg_cap, "cannot open /proc/%d/{maps,mem}: %s", pid,
			 strerror(errno));
		rc = -1;
		goto out;
	}
	while (fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char perms[8], name[300] = "", where[96];
		int pos = 0;

		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s%n", &lo, &hi, perms,
			   &pos) < 3)
			continue;
		if (perms[0] != 'r' || perms[1] != 'w')
			continue;
		sscanf(line + pos, " %299[^\n]", name);
		snprintf(where, sizeof(where), "%s",
			 *name ? basename(name) : "[anon]");
		s->regions++;
		for (unsigned long a = lo; a < hi; a += CHUNK) {
			size_t n = hi - a < CHUNK + OVERLAP ? hi - a : CHUNK + OVERLAP;
			ssize_t r = pread(mem, buf, n, (off_t)a);

			if (r != (ssize_t)n) {
				snprintf(msg, msg_cap,
					 "reading %lx-%lx (%s) of pid %d: %s", lo, hi,
					 where, pid, r < 0 ? strerror(errno) : "short");
				rc = -1;
				goto out;
			}
			scan_chunk(s, proc, buf, n, a, where);
			s->bytes += n < CHUNK ? n : CHUNK;
		}
	}
out:
	free(buf);
	if (maps)
		fclose(maps);
	if (mem >= 0)
		close(mem);
	return rc;
}

/* ------------------------------------------------------- the parent */

struct keylog {
	uint8_t cts[48], sts[48], ems[48], chts[48], shts[48];
	size_t cts_len, sts_len, ems_len, chts_len, shts_len;
};

static size_t unhex(const char *p, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (n < cap && p[0] && p[1] && p[0] != '\n') {
		unsigned int v;

		if (sscanf(p, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
		p += 2;
	}
	return n;
}

/* Read a child's key log to EOF and pick the lines we use. */
static int read_keylog(int fd, struct keylog *k)
{
	static char text[16384];
	size_t len = 0;
	ssize_t r;
	char *line, *save = NULL;

	memset(k, 0, sizeof(*k));
	while ((r = read(fd, text + len, sizeof(text) - 1 - len)) > 0)
		len += (size_t)r;
	text[len] = 0;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char label[64];
		int pos = 0;
		uint8_t *dst = NULL;
		size_t *dlen = NULL;

		if (sscanf(line, "%63s %*s %n", label, &pos) < 1 || !pos)
			continue;
		if (!strcmp(label, "CLIENT_TRAFFIC_SECRET_0")) {
			dst = k->cts; dlen = &k->cts_len;
		} else if (!strcmp(label, "SERVER_TRAFFIC_SECRET_0")) {
			dst = k->sts; dlen = &k->sts_len;
		} else if (!strcmp(label, "EXPORTER_SECRET")) {
			dst = k->ems; dlen = &k->ems_len;
		} else if (!strcmp(label, "CLIENT_HANDSHAKE_TRAFFIC_SECRET")) {
			dst = k->chts; dlen = &k->chts_len;
		} else if (!strcmp(label, "SERVER_HANDSHAKE_TRAFFIC_SECRET")) {
			dst = k->shts; dlen = &k->shts_len;
		}
		if (dst)
			*dlen = unhex(line + pos, dst, 48);
	}
	return k->cts_len && k->sts_len && k->ems_len ? 0 : -1;
}

struct run {
	const char *suites;
	uint16_t suite;
	uint8_t framing;
	bool psk;
	bool thread;		/* each child: handshake and data on a thread */
};

static const uint8_t the_psk[PL_PSK_BYTES] = {
	0x3c, 0x91, 0x07, 0xee, 0x52, 0x1d, 0xa8, 0x64, 0xf0, 0x2b, 0x99,
	0x4e, 0x13, 0xc7, 0x7a, 0x05, 0xd6, 0x88, 0x21, 0xbf, 0x6c, 0x30,
	0xe5, 0x4a, 0x97, 0x1e, 0x73, 0xdb, 0x08, 0xa2, 0x5f, 0xc4,
};

/* A child keeps its four descriptors only (the pipes' other ends must
 * see EOF when their owner closes them). */
static pid_t spawn(const struct child_args *a)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (int fd = 3; fd < 1024; fd++)
			if (fd != a->fd && fd != a->keylog_fd &&
			    fd != a->status_fd && fd != a->go_fd)
				close(fd);
		_exit(child_main(a));
	}
	return pid;
}

static void run_scan(struct __test_metadata *_metadata, const struct run *v)
{
	int cfd, sfd, kl[2][2], st[2][2], go[2][2];
	struct child_args ca, sa;
	struct child_status cs[2];
	struct keylog k[2];
	struct scan *s = calloc(1, sizeof(*s));
	const char *md = v->suite == PL_TLS_AES_256_GCM_SHA384 ? "SHA384" :
			 "SHA256";
	size_t hl = pl_suite_hash_len(v->suite), kl_len = pl_suite_key_len(v->suite);
	uint8_t ckey[32], civ[12], skey[32], siv[12], params[2], empty[48],
		ctxh[48], ds[48], exp[PL_EXPORTER_LEN], prk[PL_PRK_LEN];
	struct pl_eem_secrets c2s, s2c;
	unsigned int mdlen;
	pid_t pid[2];
	char msg[300];
	int missing = 0, found = 0;

	ASSERT_NE(NULL, s);
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, tcp_pair(&cfd, &sfd));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, pipe2(kl[i], O_CLOEXEC));
		ASSERT_EQ(0, pipe2(st[i], O_CLOEXEC));
		ASSERT_EQ(0, pipe2(go[i], O_CLOEXEC));
	}
	ca = (struct child_args){
		.role = PL_ROLE_CLIENT, .fd = cfd, .keylog_fd = kl[0][1],
		.status_fd = st[0][1], .go_fd = go[0][0], .suites = v->suites,
		.framing = v->framing, .psk = v->psk ? the_psk : NULL,
		.thread = v->thread,
	};
	sa = ca;
	sa.role = PL_ROLE_SERVER;
	sa.fd = sfd;
	sa.keylog_fd = kl[1][1];
	sa.status_fd = st[1][1];
	sa.go_fd = go[1][0];
	pid[0] = spawn(&ca);
	pid[1] = spawn(&sa);
	ASSERT_LT(0, pid[0]);
	ASSERT_LT(0, pid[1]);
	close(cfd);
	close(sfd);
	for (int i = 0; i < 2; i++) {
		close(kl[i][1]);
		close(st[i][1]);
		close(go[i][0]);
	}

	/* Both children: key log to EOF, then their status. */
	for (int i = 0; i < 2; i++) {
		ssize_t r;

		read_keylog(kl[i][0], &k[i]);
		memset(&cs[i], 0, sizeof(cs[i]));
		r = read(st[i][0], &cs[i], sizeof(cs[i]));
		if (r != (ssize_t)sizeof(cs[i]))
			snprintf(cs[i].msg, sizeof(cs[i].msg), "died (status %zd)", r);
	}
	if (!cs[0].ok || !cs[1].ok) {
		for (int i = 0; i < 2; i++) {
			close(go[i][1]);
			waitpid(pid[i], NULL, 0);
		}
		if (cs[0].code == PL_E_MODULE_MISSING ||
		    cs[1].code == PL_E_MODULE_MISSING)
			SKIP(return, "no kernel datapath: %s", cs[0].msg);
		ASSERT_TRUE(cs[0].ok) TH_LOG("client: %s", cs[0].msg);
		ASSERT_TRUE(cs[1].ok) TH_LOG("server: %s", cs[1].msg);
	}
	if (!getenv("PL_SECRETS_TEST_USERSPACE")) {
		ASSERT_EQ(PL_DATAPATH_KERNEL, cs[0].datapath);
		ASSERT_EQ(PL_DATAPATH_KERNEL, cs[1].datapath);
	}

	/* The two key logs agree; the secrets have the suite's length. */
	ASSERT_EQ(hl, k[0].cts_len);
	ASSERT_EQ(hl, k[0].sts_len);
	ASSERT_EQ(hl, k[0].ems_len);
	ASSERT_EQ(0, memcmp(&k[0], &k[1], sizeof(k[0])));

	/* What the parent derives (RFC 8446 7.3, 7.5; SPEC 4). */
	ASSERT_EQ(0, hkdf_expand_label(md, k[0].cts, hl, "key", NULL, 0, ckey, kl_len));
	ASSERT_EQ(0, hkdf_expand_label(md, k[0].cts, hl, "iv", NULL, 0, civ, 12));
	ASSERT_EQ(0, hkdf_expand_label(md, k[0].sts, hl, "key", NULL, 0, skey, kl_len));
	ASSERT_EQ(0, hkdf_expand_label(md, k[0].sts, hl, "iv", NULL, 0, siv, 12));
	ASSERT_EQ(0, pl_params_encode(v->framing, PLASMATIC_EEM_LEN_DEFAULT, params));
	ASSERT_EQ(1, EVP_Digest("", 0, empty, &mdlen, EVP_get_digestbyname(md), NULL));
	ASSERT_EQ(1, EVP_Digest(params, 2, ctxh, &mdlen, EVP_get_digestbyname(md), NULL));
	ASSERT_EQ(0, hkdf_expand_label(md, k[0].ems, hl, PL_EXPORTER_LABEL, empty,
				       hl, ds, hl));
	ASSERT_EQ(0, hkdf_expand_label(md, ds, hl, "exporter", ctxh, hl, exp,
				       sizeof(exp)));
	ASSERT_EQ(0, pl_eem_extract(exp, v->psk ? the_psk : NULL, prk));
	ASSERT_EQ(0, pl_eem_schedule(exp, v->psk ? the_psk : NULL, &c2s, &s2c));

	add_needle(s, "client traffic secret", k[0].cts, hl, true, true, false);
	add_needle(s, "server traffic secret", k[0].sts, hl, true, true, false);
	add_needle(s, "client traffic secret", k[0].cts, hl, true, false, true);
	add_needle(s, "server traffic secret", k[0].sts, hl, true, false, true);
	add_needle(s, "client record key", ckey, kl_len, true, true, false);
	add_needle(s, "client record IV", civ, 12, true, true, false);
	add_needle(s, "server record key", skey, kl_len, true, true, false);
	add_needle(s, "server record IV", siv, 12, true, true, false);
	add_needle(s, "exporter output", exp, sizeof(exp), true, true, false);
	add_needle(s, "EEM key c2s", c2s.key, sizeof(c2s.key), true, true, false);
	add_needle(s, "EEM nonce c2s", c2s.nonce, sizeof(c2s.nonce), true, true, false);
	add_needle(s, "EEM key s2c", s2c.key, sizeof(s2c.key), true, true, false);
	add_needle(s, "EEM nonce s2c", s2c.nonce, sizeof(s2c.nonce), true, true, false);
	add_needle(s, "exporter master secret", k[0].ems, hl, true, false, false);
	add_needle(s, "exporter master secret", k[0].ems, hl, true, false, true);
	add_needle(s, "exporter intermediate secret", ds, hl, true, false, false);
	add_needle(s, "EEM PRK", prk, sizeof(prk), true, false, false);
	if (k[0].chts_len)
		add_needle(s, "client handshake traffic secret", k[0].chts,
			   k[0].chts_len, false, false, false);
	if (k[0].shts_len)
		add_needle(s, "server handshake traffic secret", k[0].shts,
			   k[0].shts_len, false, false, false);
	build_index(s);

	for (int i = 0; i < 2; i++) {
		int rc = scan_process(s, i, pid[i], msg, sizeof(msg));

		EXPECT_EQ(0, rc) TH_LOG("%s", msg);
	}
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(1, write(go[i][1], "g", 1));
		close(go[i][1]);
	}
	for (int i = 0; i < 2; i++) {
		int status = -1;

		close(kl[i][0]);
		close(st[i][0]);
		waitpid(pid[i], &status, 0);
		EXPECT_EQ(0, status) TH_LOG("%s exited with status %#x",
					    i ? "server" : "client", status);
	}
	TH_LOG("%s %s%s%s: scanned %llu rw mappings, %llu MiB, of the client and server processes",
	       v->suites, pl_framing_name(v->framing), v->psk ? " psk" : "",
	       v->thread ? " (on threads)" : "",
	       (unsigned long long)s->regions,
	       (unsigned long long)(s->bytes >> 20));
	for (int h = 0; h < s->nhits; h++) {
		const struct hit *x = &s->hits[h];
		const struct needle *n = &s->n[x->needle];

		TH_LOG("%s: %s, %zu of its %zu bytes (from byte %zu), at %#llx in %s",
		       n->required ? "FOUND" : "found (not required)", n->name,
		       x->len, n->len, x->at, (unsigned long long)x->addr, x->where);
	}
	for (int i = 0; i < s->count; i++) {
		const struct needle *n = &s->n[i];

		for (int p = 0; p < 2; p++) {
			if (LEAK && n->planted && !n->hits[p]) {
				TH_LOG("control: %s not found in the %s", n->name,
				       p ? "server" : "client");
				missing++;
			}
			if (!LEAK && n->required && n->hits[p])
				found++;
		}
	}
	if (LEAK)
		TH_LOG("control: every planted item %s in both processes",
		       missing ? "NOT found" : "found");
	EXPECT_EQ(0, missing);
	EXPECT_EQ(0, found);
	free(s);
}

/* ------------------------------------------------------------ tests */

FIXTURE(secrets) {
	int unused;
};

FIXTURE_VARIANT(secrets) {
	struct run r;
};

FIXTURE_VARIANT_ADD(secrets, aes128_covered_psk) {
	.r = { "TLS_AES_128_GCM_SHA256", PL_TLS_AES_128_GCM_SHA256,
	       PLASMATIC_FRAMING_COVERED, true },
};
FIXTURE_VARIANT_ADD(secrets, aes256_detached) {
	.r = { "TLS_AES_256_GCM_SHA384", PL_TLS_AES_256_GCM_SHA384,
	       PLASMATIC_FRAMING_DETACHED, false },
};
FIXTURE_VARIANT_ADD(secrets, chacha20_covered_psk) {
	.r = { "TLS_CHACHA20_POLY1305_SHA256", PL_TLS_CHACHA20_POLY1305_SHA256,
	       PLASMATIC_FRAMING_COVERED, true },
};
FIXTURE_VARIANT_ADD(secrets, aes128_detached_psk_thread) {
	.r = { "TLS_AES_128_GCM_SHA256", PL_TLS_AES_128_GCM_SHA256,
	       PLASMATIC_FRAMING_DETACHED, true, true },
};

FIXTURE_SETUP(secrets)
{
}

FIXTURE_TEARDOWN(secrets)
{
}

TEST_F_TIMEOUT(secrets, kernel_upgrade_leaves_none, 300)
{
	run_scan(_metadata, &variant->r);
}

TEST_HARNESS_MAIN
