/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the libplasmatic tests (lib_test, ku_sendfile_test, secrets_test)
 * share, header only: each test includes it once.
 *
 *   dir, ca_pem, other_ca_pem, srv_pem, srv_key
 *                  the throw-away PKI (pki.c), made before main() in
 *                  PL_TEST_DIR or else next to the binary in lib_test-files
 *   test_bytes()   PL_TEST_BYTES (K, M, G suffixes; default 4M)
 *   env_datapath() PL_TEST_CLIENT_DATAPATH / PL_TEST_SERVER_DATAPATH
 *                  (auto|kernel|userspace) as a pl_datapath
 *   test_configs() the client and server configurations of a pair: the
 *                  test CA and "localhost", the server's certificate,
 *                  each end's datapath from the environment
 *   either_config() one end's configuration, either role: the test CA,
 *                  "localhost" and the server's certificate (the datapath
 *                  is the caller's), for an end whose peer is no pair end
 *   tcp_pair(), tcp_pair_bufs()
 *                  a connected TCP pair over loopback (optionally with
 *                  small socket buffers)
 *   ends_free()    frees a pair's connections, sockets and contexts
 *   connect_pair() the handshake of both ends of a TCP pair (the server's
 *                  in a thread)
 *   set_rcvtimeo() SO_RCVTIMEO in seconds
 *   gen(), fnv()   the data streams: byte i of stream seed is byte i%8 of
 *                  splitmix(seed ^ i/8); FNV-1a sums from FNV_INIT
 *   stream_chunk() the size of a sender's next write (random)
 *   struct stream_in, stream_in_start(), stream_in_read()
 *                  a receiver's check of the peer's stream: bytes, sum,
 *                  where it first differed
 */
#ifndef PLASMATIC_LIB_TESTPAIR_H
#define PLASMATIC_LIB_TESTPAIR_H

#include <libgen.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "pki.h"
#include "plasmatic.h"

static char dir[2048], ca_pem[2100], other_ca_pem[2100], srv_pem[2100],
	    srv_key[2100];

__attribute__((constructor)) static void make_pki(void)
{
	const char *d = getenv("PL_TEST_DIR");
	char exe[2048];
	ssize_t n;

	if (d) {
		snprintf(dir, sizeof(dir), "%s", d);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n < 0)
			n = 0;
		exe[n] = 0;
		snprintf(dir, sizeof(dir), "%s/lib_test-files", dirname(exe));
	}
	mkdir(dir, 0700);
	snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", dir);
	snprintf(other_ca_pem, sizeof(other_ca_pem), "%s/other-ca.pem", dir);
	snprintf(srv_pem, sizeof(srv_pem), "%s/server.pem", dir);
	snprintf(srv_key, sizeof(srv_key), "%s/server.key", dir);
	if (pki_make(dir)) {
		fprintf(stderr, "cannot make the test PKI in %s\n", dir);
		ERR_print_errors_fp(stderr);
		exit(1);
	}
}

static inline uint64_t test_bytes(void)
{
	const char *s = getenv("PL_TEST_BYTES");
	char *end;
	uint64_t v;

	if (!s || !*s)
		return 4 << 20;
	v = strtoull(s, &end, 0);
	switch (*end) {
	case 'k': case 'K': v <<= 10; break;
	case 'm': case 'M': v <<= 20; break;
	case 'g': case 'G': v <<= 30; break;
	}
	return v;
}

static inline enum pl_datapath env_datapath(const char *name)
{
	const char *s = getenv(name);

	if (s && !strcmp(s, "kernel"))
		return PL_DATAPATH_KERNEL;
	if (s && !strcmp(s, "userspace"))
		return PL_DATAPATH_USERSPACE;
	return PL_DATAPATH_AUTO;
}

static inline void test_configs(struct pl_config *c, struct pl_config *s)
{
	pl_config_init(c, PL_ROLE_CLIENT);
	c->ca_file = ca_pem;
	c->hostname = "localhost";
	c->datapath = env_datapath("PL_TEST_CLIENT_DATAPATH");
	pl_config_init(s, PL_ROLE_SERVER);
	s->cert_file = srv_pem;
	s->key_file = srv_key;
	s->datapath = env_datapath("PL_TEST_SERVER_DATAPATH");
}

/* The datapath is left to the caller (pl_config_init's default). */
static inline void either_config(struct pl_config *cfg, enum pl_role role)
{
	pl_config_init(cfg, role);
	cfg->ca_file = ca_pem;
	cfg->hostname = "localhost";
	cfg->cert_file = srv_pem;
	cfg->key_file = srv_key;
}

/* SO_SNDBUF and SO_RCVBUF (the kernel doubles them). */
static inline void set_bufs(int fd, int bytes)
{
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

/*
 * A connected TCP pair over loopback: 0, or -1 with both fds -1.
 * bufs > 0: the listener's and the client's socket buffers, set before
 * the connection (the accepted socket inherits the listener's).
 */
static inline int tcp_pair_bufs(int *cfd, int *sfd, int bufs)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	*cfd = *sfd = -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0)
		return -1;
	if (bufs > 0)
		set_bufs(l, bufs);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &len))
		goto fail;
	*cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*cfd < 0)
		goto fail;
	if (bufs > 0)
		set_bufs(*cfd, bufs);
	if (connect(*cfd, (struct sockaddr *)&a, sizeof(a)))
		goto fail;
	*sfd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (*sfd < 0)
		goto fail;
	close(l);
	return 0;
fail:
	if (*cfd >= 0)
		close(*cfd);
	*cfd = -1;
	close(l);
	return -1;
}

static inline int tcp_pair(int *cfd, int *sfd)
{
	return tcp_pair_bufs(cfd, sfd, 0);
}

/* A pair's connections, sockets and contexts (NULL or -1: none). */
static inline void ends_free(struct pl_conn *cc, struct pl_conn *sc, int cfd,
			     int sfd, struct pl_ctx *cctx, struct pl_ctx *sctx)
{
	pl_conn_free(cc);
	pl_conn_free(sc);
	if (cfd >= 0)
		close(cfd);
	if (sfd >= 0)
		close(sfd);
	pl_ctx_free(cctx);
	pl_ctx_free(sctx);
}

static inline void set_rcvtimeo(int fd, int sec)
{
	struct timeval tv = { .tv_sec = sec };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* ------------------------------------------------- the data streams */

static inline uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Byte i of stream seed: byte i%8 of splitmix(seed ^ i/8). */
static inline void gen(uint64_t seed, uint64_t off, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t pos = off + i;

		buf[i] = (uint8_t)(splitmix(seed ^ (pos >> 3)) >> (8 * (pos & 7)));
	}
}

static inline uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

/* A sender's next write: 16 KiB, 1..100 or 1..max bytes, at most left. */
static inline size_t stream_chunk(uint64_t *rnd, size_t max, uint64_t left)
{
	size_t chunk;

	*rnd = splitmix(*rnd);
	switch (*rnd % 4) {
	case 0: chunk = 16384; break;
	case 1: chunk = 1 + (*rnd >> 8) % 100; break;
	default: chunk = 1 + (*rnd >> 8) % max; break;
	}
	return chunk > left ? (size_t)left : chunk;
}

/* A receiver's view of the peer's stream. */
struct stream_in {
	uint64_t seed;		/* the stream expected */
	uint64_t bytes, sum;	/* received so far and their FNV-1a */
	bool mismatch;
	uint64_t mismatch_at;	/* start of the first read that differed */
};

static inline void stream_in_start(struct stream_in *in)
{
	in->sum = FNV_INIT;
}

/* One pl_conn_read() of the stream: its result; the bytes read are
 * checked against the pattern, summed and counted. */
static inline ssize_t stream_in_read(struct stream_in *in, struct pl_conn *c)
{
	static __thread uint8_t buf[65536], want[65536];
	ssize_t n = pl_conn_read(c, buf, sizeof(buf));

	if (n <= 0)
		return n;
	gen(in->seed, in->bytes, want, (size_t)n);
	if (!in->mismatch && memcmp(buf, want, (size_t)n)) {
		in->mismatch = true;
		in->mismatch_at = in->bytes;
	}
	in->sum = fnv(in->sum, buf, (size_t)n);
	in->bytes += (uint64_t)n;
	return n;
}

struct acceptor {
	struct pl_ctx *ctx;
	int fd;
	struct pl_conn *conn;
	struct pl_error err;
};

static inline void *acceptor_main(void *arg)
{
	struct acceptor *a = arg;

	a->conn = pl_accept(a->ctx, a->fd, &a->err);
	if (!a->conn)
		shutdown(a->fd, SHUT_RDWR);	/* unblock the client */
	return NULL;
}

/*
 * pl_connect on cfd and pl_accept on sfd at once; *cc and *sc get the
 * connections (NULL on failure, with *cerr / *serr).  0 if both succeed.
 */
static inline int connect_pair(struct pl_ctx *cctx, struct pl_ctx *sctx,
			       int cfd, int sfd, struct pl_conn **cc,
			       struct pl_conn **sc, struct pl_error *cerr,
			       struct pl_error *serr)
{
	struct acceptor a = { .ctx = sctx, .fd = sfd };
	pthread_t th;

	*cc = *sc = NULL;
	memset(cerr, 0, sizeof(*cerr));
	memset(serr, 0, sizeof(*serr));
	if (pthread_create(&th, NULL, acceptor_main, &a)) {
		snprintf(cerr->msg, sizeof(cerr->msg), "pthread_create failed");
		return -1;
	}
	*cc = pl_connect(cctx, cfd, NULL, cerr);
	if (!*cc)
		shutdown(cfd, SHUT_RDWR);	/* unblock the server */
	pthread_join(th, NULL);
	*sc = a.conn;
	*serr = a.err;
	return *cc && *sc ? 0 : -1;
}

#endif
