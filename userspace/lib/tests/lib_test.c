// SPDX-License-Identifier: GPL-2.0
/*
 * libplasmatic tests: handshake, upgrade, data both ways, failures.
 *
 * Runs natively (userspace <-> userspace: no module needed) and, unchanged,
 * in the VM with plasmatic.ko loaded:
 *   PL_TEST_CLIENT_DATAPATH, PL_TEST_SERVER_DATAPATH = auto|kernel|userspace
 *     (default auto: kernel when the module is there)
 *   PL_TEST_BYTES   bytes each way per transfer test (default 4M; K, M, G)
 *   PL_TEST_DIR     where the throw-away PKI goes (default: next to the
 *                   test binary)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <malloc.h>

#include <openssl/ssl.h>
#ifdef __SANITIZE_ADDRESS__
/* ASan's allocator (sanitizer/allocator_interface.h, not in gcc 12). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#include "kselftest_harness.h"
#include "plasmatic.h"
#include "pl_engine.h"
#include "testpair.h"

/* ------------------------------------------------ data stream + checks */

struct side {
	struct pl_conn *conn;
	/* sending */
	uint64_t nbytes, seed, sent_sum;
	int ku_every;
	bool no_shutdown;
	int write_err;
	/* receiving */
	struct stream_in rx;	/* the peer's stream */
	int read_err, read_alert;
};

static void *writer(void *arg)
{
	struct side *s = arg;
	static __thread uint8_t buf[70000];
	uint64_t off = 0, rnd = s->seed, writes = 0;

	s->sent_sum = FNV_INIT;
	while (off < s->nbytes) {
		size_t chunk;

		chunk = stream_chunk(&rnd, sizeof(buf), s->nbytes - off);
		gen(s->seed, off, buf, chunk);
		s->sent_sum = fnv(s->sent_sum, buf, chunk);
		if (pl_conn_write(s->conn, buf, chunk) != (ssize_t)chunk) {
			s->write_err = pl_conn_error(s->conn)->code;
			return NULL;
		}
		off += chunk;
		if (s->ku_every && ++writes % (uint64_t)s->ku_every == 0 &&
		    pl_conn_key_update(s->conn, (int)(writes / (uint64_t)s->ku_every) & 1)) {
			s->write_err = pl_conn_error(s->conn)->code;
			return NULL;
		}
	}
	if (!s->no_shutdown && pl_conn_shutdown(s->conn))
		s->write_err = pl_conn_error(s->conn)->code ?
			       pl_conn_error(s->conn)->code : PL_E_SYS;
	return NULL;
}

static void reader(struct side *s)
{
	ssize_t n;

	stream_in_start(&s->rx);
	while ((n = stream_in_read(&s->rx, s->conn)) > 0)
		;
	if (n < 0) {
		s->read_err = pl_conn_error(s->conn)->code;
		s->read_alert = pl_conn_error(s->conn)->alert;
	}
}

/* Send and receive at once on one connection. */
static void duplex(struct side *s)
{
	pthread_t th;

	if (pthread_create(&th, NULL, writer, s)) {
		s->write_err = PL_E_SYS;
		return;
	}
	reader(s);
	pthread_join(th, NULL);
}

struct pair {
	pthread_barrier_t ready;	/* both handshakes over (or failed) */
	bool want_ku;			/* KeyUpdates if both ends can */
	struct pl_config ccfg, scfg;
	const char *host;		/* for pl_connect, else ccfg.hostname */
	struct pl_ctx *cctx, *sctx;
	int cfd, sfd;
	struct pl_error cerr, serr;	/* handshake or ctx errors */
	struct side cli, srv;
	struct pl_conn_info cinfo, sinfo;
	int cend, send;
	bool server_only_reads;
};

static void pair_init(struct pair *p)
{
	memset(p, 0, sizeof(*p));
	test_configs(&p->ccfg, &p->scfg);
	p->cli.seed = 0x1111;
	p->srv.rx.seed = 0x1111;
	p->srv.seed = 0x2222;
	p->cli.rx.seed = 0x2222;
	p->cfd = p->sfd = -1;
}

/* Can this end send and receive KeyUpdates? */
static bool ku_capable(const struct pl_conn_info *in)
{
	return in->datapath == PL_DATAPATH_USERSPACE || in->kernel_key_update;
}

static void *server_main(void *arg)
{
	struct pair *p = arg;

	p->srv.conn = pl_accept(p->sctx, p->sfd, &p->serr);
	if (p->srv.conn)
		pl_conn_info(p->srv.conn, &p->sinfo);
	pthread_barrier_wait(&p->ready);
	if (!p->srv.conn)
		return NULL;
	if (p->want_ku && ku_capable(&p->cinfo) && ku_capable(&p->sinfo))
		p->srv.ku_every = 7;
	duplex(&p->srv);
	p->send = pl_conn_end(p->srv.conn);
	return NULL;
}

/* Handshake both ends, move the data, record everything; 0 or -1 (setup). */
static int pair_run(struct pair *p, uint64_t c2s, uint64_t s2c)
{
	pthread_t th;

	p->cli.nbytes = c2s;
	p->srv.nbytes = s2c;
	p->cctx = pl_ctx_new(&p->ccfg, &p->cerr);
	p->sctx = pl_ctx_new(&p->scfg, &p->serr);
	if (!p->cctx || !p->sctx)
		return -1;
	if (tcp_pair(&p->cfd, &p->sfd))
		return -1;
	set_rcvtimeo(p->cfd, 60);
	set_rcvtimeo(p->sfd, 60);
	pthread_barrier_init(&p->ready, NULL, 2);
	if (pthread_create(&th, NULL, server_main, p))
		return -1;
	p->cli.conn = pl_connect(p->cctx, p->cfd, p->host, &p->cerr);
	if (p->cli.conn)
		pl_conn_info(p->cli.conn, &p->cinfo);
	else
		shutdown(p->cfd, SHUT_RDWR);	/* unblock the server */
	pthread_barrier_wait(&p->ready);
	if (p->want_ku && ku_capable(&p->cinfo) && ku_capable(&p->sinfo))
		p->cli.ku_every = 5;
	if (p->cli.conn) {
		duplex(&p->cli);
		p->cend = pl_conn_end(p->cli.conn);
	}
	pthread_join(th, NULL);
	pthread_barrier_destroy(&p->ready);
	return 0;
}

static void pair_free(struct pair *p)
{
	ends_free(p->cli.conn, p->srv.conn, p->cfd, p->sfd, p->cctx, p->sctx);
}

static struct pl_psk *psk_of(uint8_t fill)
{
	uint8_t k[PL_PSK_BYTES];

	memset(k, fill, sizeof(k));
	return pl_psk_from_bytes(k, NULL);
}

/* ------------------------------------------------------------- tests */

FIXTURE(xfer) {
	struct pair p;
};

FIXTURE_VARIANT(xfer) {
	const char *suite;
	uint16_t id;
	uint8_t framing;
};

/* Each suite in both framings: xfer.NAME_covered and xfer.NAME_detached. */
#define XFER_SUITE(name, str, suite_id)					\
	FIXTURE_VARIANT_ADD(xfer, name##_covered) {			\
		.suite = str, .id = suite_id,				\
		.framing = PLASMATIC_FRAMING_COVERED,			\
	};								\
	FIXTURE_VARIANT_ADD(xfer, name##_detached) {			\
		.suite = str, .id = suite_id,				\
		.framing = PLASMATIC_FRAMING_DETACHED,			\
	}

XFER_SUITE(aes128, "TLS_AES_128_GCM_SHA256", 0x1301);
XFER_SUITE(aes256, "TLS_AES_256_GCM_SHA384", 0x1302);
XFER_SUITE(chacha20, "TLS_CHACHA20_POLY1305_SHA256", 0x1303);

FIXTURE_SETUP(xfer)
{
	pair_init(&self->p);
	self->p.ccfg.ciphersuites = variant->suite;
	self->p.ccfg.framing = variant->framing;
	self->p.scfg.framing = variant->framing;
}

FIXTURE_TEARDOWN(xfer)
{
	pair_free(&self->p);
}

static void check_clean(struct __test_metadata *_metadata, struct pair *p,
			uint64_t c2s, uint64_t s2c)
{
	ASSERT_EQ(PL_E_OK, p->cerr.code) TH_LOG("client: %s", p->cerr.msg);
	ASSERT_EQ(PL_E_OK, p->serr.code) TH_LOG("server: %s", p->serr.msg);
	ASSERT_EQ(0, p->cli.write_err) TH_LOG("client write: %s",
					       pl_conn_error(p->cli.conn)->msg);
	ASSERT_EQ(0, p->srv.write_err) TH_LOG("server write: %s",
					       pl_conn_error(p->srv.conn)->msg);
	ASSERT_EQ(0, p->cli.read_err) TH_LOG("client read: %s",
					      pl_conn_error(p->cli.conn)->msg);
	ASSERT_EQ(0, p->srv.read_err) TH_LOG("server read: %s",
					      pl_conn_error(p->srv.conn)->msg);
	ASSERT_FALSE(p->srv.rx.mismatch) TH_LOG("c2s differs at %llu",
					     (unsigned long long)p->srv.rx.mismatch_at);
	ASSERT_FALSE(p->cli.rx.mismatch) TH_LOG("s2c differs at %llu",
					     (unsigned long long)p->cli.rx.mismatch_at);
	ASSERT_EQ(c2s, p->srv.rx.bytes);
	ASSERT_EQ(s2c, p->cli.rx.bytes);
	ASSERT_EQ(p->cli.sent_sum, p->srv.rx.sum);
	ASSERT_EQ(p->srv.sent_sum, p->cli.rx.sum);
	ASSERT_EQ(PLASMATIC_END_CLOSE_NOTIFY, p->cend);
	ASSERT_EQ(PLASMATIC_END_CLOSE_NOTIFY, p->send);
}

TEST_F_TIMEOUT(xfer, both_ways, 600)
{
	struct pair *p = &self->p;
	uint64_t n = test_bytes();

	ASSERT_EQ(0, pair_run(p, n, n - 12345 % (n + 1)))
		TH_LOG("setup: %s / %s", p->cerr.msg, p->serr.msg);
	check_clean(_metadata, p, n, n - 12345 % (n + 1));
	ASSERT_EQ(variant->id, p->cinfo.suite);
	ASSERT_EQ(variant->id, p->sinfo.suite);
	ASSERT_EQ(variant->framing, p->cinfo.framing);
	ASSERT_EQ(variant->framing, p->sinfo.framing);
	ASSERT_EQ(PLASMATIC_EEM_LEN_DEFAULT, p->cinfo.eem_len);
	ASSERT_NE(PL_DATAPATH_AUTO, p->cinfo.datapath);
	ASSERT_NE(PL_DATAPATH_AUTO, p->sinfo.datapath);
	if (p->ccfg.datapath != PL_DATAPATH_AUTO)
		ASSERT_EQ(p->ccfg.datapath, p->cinfo.datapath);
	if (p->scfg.datapath != PL_DATAPATH_AUTO)
		ASSERT_EQ(p->scfg.datapath, p->sinfo.datapath);
	TH_LOG("%s %s: %llu bytes each way, client %s, server %s",
	       variant->suite, pl_framing_name(variant->framing),
	       (unsigned long long)n, pl_datapath_name(p->cinfo.datapath),
	       pl_datapath_name(p->sinfo.datapath));
}

/* With a PSK, odd EEM lengths, KeyUpdates both ways. */
TEST_F_TIMEOUT(xfer, psk_eem_keyupdate, 300)
{
	struct pair *p = &self->p;
	struct pl_psk *psk = psk_of(0x42);
	uint64_t n = test_bytes() / 4 + 777;

	ASSERT_NE(NULL, psk);
	p->ccfg.psk = p->scfg.psk = psk;
	p->ccfg.eem_len = p->scfg.eem_len =
		variant->framing ? PLASMATIC_EEM_LEN_MAX : PLASMATIC_EEM_LEN_MIN;
	p->want_ku = true;
	ASSERT_EQ(0, pair_run(p, n, n));
	check_clean(_metadata, p, n, n);
	ASSERT_EQ(1, p->cinfo.psk);
	ASSERT_EQ(p->ccfg.eem_len, p->cinfo.eem_len);
	if (p->cli.ku_every) {
		struct pl_conn_info ci, si;

		pl_conn_info(p->cli.conn, &ci);
		pl_conn_info(p->srv.conn, &si);
		ASSERT_GT(ci.key_updates_out, 0);
		ASSERT_GT(si.key_updates_out, 0);
		if (ci.datapath == PL_DATAPATH_USERSPACE)
			ASSERT_GT(ci.key_updates_in, 0);
		if (si.datapath == PL_DATAPATH_USERSPACE)
			ASSERT_GT(si.key_updates_in, 0);
		TH_LOG("KeyUpdates: client %s sent %llu got %llu, server %s sent %llu got %llu",
		       pl_datapath_name(ci.datapath),
		       (unsigned long long)ci.key_updates_out,
		       (unsigned long long)ci.key_updates_in,
		       pl_datapath_name(si.datapath),
		       (unsigned long long)si.key_updates_out,
		       (unsigned long long)si.key_updates_in);
	} else {
		TH_LOG("no KeyUpdate: a kernel end without the traffic secrets");
	}
	pl_psk_free(psk);
}

/* A PSK on one side only, or different PSKs: both ends fail at the first
 * record, and say why. */
FIXTURE(fail) {
	struct pair p;
	struct pl_psk *a, *b;
};

FIXTURE_SETUP(fail)
{
	pair_init(&self->p);
	self->a = psk_of(0xaa);
	self->b = psk_of(0xbb);
}

FIXTURE_TEARDOWN(fail)
{
	pair_free(&self->p);
	pl_psk_free(self->a);
	pl_psk_free(self->b);
}

/*
 * SPEC 2.3 and 7.1: the server takes a client whose opening record fails
 * for a plain TLS client and serves it as a web server would (pl_accept:
 * PL_E_PROBE, no data of the server's application); the client fails at
 * the first record it reads (the plain TLS alert has no EEM).
 */
static void expect_mismatch(struct __test_metadata *_metadata, struct pair *p)
{
	ASSERT_EQ(0, pair_run(p, 1000, 0));
	ASSERT_EQ(PL_E_PROBE, p->serr.code) TH_LOG("%s", p->serr.msg);
	ASSERT_EQ(NULL, p->srv.conn);
	TH_LOG("server: %s", p->serr.msg);
	/*
	 * The server may answer (alert, FIN) before a kernel client has
	 * attached the ULP, which refuses a socket past ESTABLISHED (as
	 * kTLS does): the client with the kernel datapath required then
	 * fails there, clearly; else at its first read.
	 */
	if (p->ccfg.datapath == PL_DATAPATH_KERNEL && p->cerr.code) {
		ASSERT_EQ(PL_E_KERNEL, p->cerr.code) TH_LOG("%s", p->cerr.msg);
		ASSERT_EQ(ENOTCONN, p->cerr.sys_errno);
		TH_LOG("client: %s", p->cerr.msg);
		return;
	}
	ASSERT_EQ(PL_E_OK, p->cerr.code) TH_LOG("%s", p->cerr.msg);
	ASSERT_EQ(PL_E_PSK_MISMATCH, p->cli.read_err)
		TH_LOG("client: %s", pl_conn_error(p->cli.conn)->msg);
	ASSERT_EQ(0, p->cli.rx.bytes);
	ASSERT_NE(NULL, strstr(pl_conn_error(p->cli.conn)->msg, "PSK"));
	TH_LOG("client: %s", pl_conn_error(p->cli.conn)->msg);
}

TEST_F(fail, wrong_psk)
{
	self->p.ccfg.psk = self->a;
	self->p.scfg.psk = self->b;
	self->p.srv.no_shutdown = true;
	expect_mismatch(_metadata, &self->p);
}

/* The server ends at once (close_notify right after the handshake): its
 * record or the client's may come first; both ends still fail clearly. */
TEST_F(fail, wrong_psk_server_closes_first)
{
	self->p.ccfg.psk = self->a;
	self->p.scfg.psk = self->b;
	expect_mismatch(_metadata, &self->p);
}

TEST_F(fail, psk_one_side)
{
	self->p.scfg.psk = self->b;
	self->p.srv.no_shutdown = true;
	expect_mismatch(_metadata, &self->p);
}

/* A detached server waits for an EEM after the covered opening record
 * until its open timeout, then serves a plain TLS client. */
TEST_F(fail, framing_mismatch)
{
	self->p.scfg.framing = PLASMATIC_FRAMING_DETACHED;
	self->p.scfg.open_timeout = 1;
	self->p.srv.no_shutdown = true;
	expect_mismatch(_metadata, &self->p);
}

TEST_F(fail, eem_len_mismatch)
{
	self->p.scfg.eem_len = 81;
	self->p.srv.no_shutdown = true;
	expect_mismatch(_metadata, &self->p);
}

/* A handshake that fails: what each end reports (0: not checked). */
struct hs_fail {
	int cerr, serr;		/* pl_code */
	int calert, salert;	/* the peer's alert */
};

static void expect_hs_fail(struct __test_metadata *_metadata, struct pair *p,
			   struct hs_fail want)
{
	ASSERT_EQ(0, pair_run(p, 10, 10));
	if (want.cerr)
		ASSERT_EQ(want.cerr, p->cerr.code) TH_LOG("%s", p->cerr.msg);
	if (want.serr)
		ASSERT_EQ(want.serr, p->serr.code) TH_LOG("%s", p->serr.msg);
	if (want.calert)
		ASSERT_EQ(want.calert, p->cerr.alert);
	if (want.salert)
		ASSERT_EQ(want.salert, p->serr.alert);
	TH_LOG("client: %s", p->cerr.msg);
	TH_LOG("server: %s", p->serr.msg);
}

TEST_F(fail, untrusted_ca)
{
	self->p.ccfg.ca_file = other_ca_pem;
	expect_hs_fail(_metadata, &self->p, (struct hs_fail){
		.cerr = PL_E_CERT_VERIFY, .serr = PL_E_PEER_ALERT,
		.salert = SSL_AD_UNKNOWN_CA });
}

TEST_F(fail, wrong_hostname)
{
	self->p.host = "wrong.example";
	expect_hs_fail(_metadata, &self->p, (struct hs_fail){
		.cerr = PL_E_HOSTNAME, .serr = PL_E_PEER_ALERT });
}

TEST_F(fail, wrong_ip)
{
	self->p.host = "127.0.0.2";
	expect_hs_fail(_metadata, &self->p, (struct hs_fail){
		.cerr = PL_E_HOSTNAME });
}

TEST_F(fail, system_store_rejects_test_ca)
{
	self->p.ccfg.ca_file = NULL;
	expect_hs_fail(_metadata, &self->p, (struct hs_fail){
		.cerr = PL_E_CERT_VERIFY });
}

TEST_F(fail, no_common_suite)
{
	self->p.ccfg.ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
	self->p.scfg.ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";
	expect_hs_fail(_metadata, &self->p, (struct hs_fail){
		.cerr = PL_E_PEER_ALERT, .serr = PL_E_CIPHER,
		.calert = SSL_AD_HANDSHAKE_FAILURE });
}

/* FIN without close_notify: end of data, marked truncated. */
TEST_F(fail, truncated_end)
{
	struct pair *p = &self->p;

	p->scfg.close_notify = 0;
	ASSERT_EQ(0, pair_run(p, 1000, 5000));
	ASSERT_EQ(0, p->cli.read_err);
	ASSERT_EQ(5000, p->cli.rx.bytes);
	ASSERT_EQ(PLASMATIC_END_TRUNCATED, p->cend);
	ASSERT_EQ(PLASMATIC_END_CLOSE_NOTIFY, p->send);
}

/* IP address literal checked against the certificate's IP SAN; ALPN. */
TEST_F(fail, ip_host_and_alpn)
{
	struct pair *p = &self->p;

	p->host = "127.0.0.1";
	p->ccfg.alpn = "h2,http/1.1";
	p->scfg.alpn = "http/1.1";
	ASSERT_EQ(0, pair_run(p, 100, 100));
	check_clean(_metadata, p, 100, 100);
	ASSERT_STREQ("http/1.1", p->cinfo.alpn);
	ASSERT_STREQ("http/1.1", p->sinfo.alpn);
}

/* --------------------------------------- raw wire checks (client side) */

/*
 * Read the raw bytes the server sends after the tickets: with a wrong PSK
 * the server is a plain TLS server that cannot decrypt our opening record
 * (its EEM makes it longer): exactly one TLS alert record without an EEM
 * (header, alert(2) type(1) tag(16)), then its close.
 */
TEST(wrong_psk_plain_alert_on_wire)
{
	struct pair p;
	struct pl_psk *a = psk_of(1), *b = psk_of(2);
	struct pl_ctx *cctx, *sctx;
	struct pl_conn *c;
	pthread_t th;
	uint8_t buf[4096];
	size_t got = 0;
	ssize_t n;

	pair_init(&p);
	p.ccfg.psk = a;
	p.scfg.psk = b;
	p.ccfg.datapath = PL_DATAPATH_USERSPACE;
	p.srv.no_shutdown = true;
	cctx = pl_ctx_new(&p.ccfg, &p.cerr);
	sctx = pl_ctx_new(&p.scfg, &p.serr);
	ASSERT_NE(NULL, cctx);
	ASSERT_NE(NULL, sctx);
	p.sctx = sctx;
	ASSERT_EQ(0, tcp_pair(&p.cfd, &p.sfd));
	set_rcvtimeo(p.cfd, 10);
	pthread_barrier_init(&p.ready, NULL, 1);	/* the server alone */
	ASSERT_EQ(0, pthread_create(&th, NULL, server_main, &p));
	c = pl_connect(cctx, p.cfd, NULL, &p.cerr);
	ASSERT_NE(NULL, c) TH_LOG("%s", p.cerr.msg);
	while ((n = recv(p.cfd, buf + got, sizeof(buf) - got, 0)) > 0)
		got += (size_t)n;
	ASSERT_EQ(0, n);		/* FIN, not RST */
	pthread_join(th, NULL);
	ASSERT_EQ(PL_E_PROBE, p.serr.code);
	ASSERT_EQ(NULL, p.srv.conn);
	ASSERT_EQ(5 + 2 + 1 + 16, got);
	ASSERT_EQ(0x17, buf[0]);
	ASSERT_EQ(0x03, buf[1]);
	ASSERT_EQ(0x03, buf[2]);
	ASSERT_EQ(2 + 1 + 16, buf[3] << 8 | buf[4]);
	pl_conn_free(c);
	close(p.cfd);
	close(p.sfd);
	pl_ctx_free(cctx);
	pl_ctx_free(sctx);
	pl_psk_free(a);
	pl_psk_free(b);
}

/* A forged record after a good one: the server fails it with
 * bad_record_mac, which the client (same keys) reads as the peer's alert. */
TEST(forged_record)
{
	static const uint8_t junk[5 + 100] = { 0x17, 3, 3, 0, 100, 1, 2, 3 };
	struct pair p;
	struct pl_conn *c;
	pthread_t th;
	char buf[64];

	pair_init(&p);
	p.ccfg.datapath = PL_DATAPATH_USERSPACE;
	p.srv.no_shutdown = true;
	p.cctx = pl_ctx_new(&p.ccfg, &p.cerr);
	p.sctx = pl_ctx_new(&p.scfg, &p.serr);
	ASSERT_EQ(0, tcp_pair(&p.cfd, &p.sfd));
	set_rcvtimeo(p.cfd, 10);
	p.srv.rx.seed = 0x77;
	pthread_barrier_init(&p.ready, NULL, 1);	/* the server alone */
	ASSERT_EQ(0, pthread_create(&th, NULL, server_main, &p));
	c = pl_connect(p.cctx, p.cfd, NULL, &p.cerr);
	ASSERT_NE(NULL, c) TH_LOG("%s", p.cerr.msg);
	gen(0x77, 0, (uint8_t *)buf, 10);
	ASSERT_EQ(10, pl_conn_write(c, buf, 10));
	usleep(100000);
	ASSERT_EQ(sizeof(junk), send(p.cfd, junk, sizeof(junk), 0));
	ASSERT_EQ(-1, pl_conn_read(c, buf, sizeof(buf)));
	ASSERT_EQ(PL_E_PEER_ALERT, pl_conn_error(c)->code);
	ASSERT_EQ(PL_ALERT_BAD_RECORD_MAC, pl_conn_error(c)->alert);
	pthread_join(th, NULL);
	ASSERT_EQ(10, p.srv.rx.bytes);
	ASSERT_FALSE(p.srv.rx.mismatch);
	ASSERT_EQ(PL_E_BAD_RECORD, p.srv.read_err);
	ASSERT_EQ(-1, pl_conn_write(c, buf, 1));
	TH_LOG("client: %s", pl_conn_error(c)->msg);
	TH_LOG("server: %s", pl_conn_error(p.srv.conn)->msg);
	pl_conn_free(c);
	p.cli.conn = NULL;
	pair_free(&p);
}

/* ------------------------- an independent peer: raw OpenSSL + the engine */

struct raw_peer {
	int role;			/* PL_ROLE_* of the raw side */
	int fd;
	uint8_t framing, eem_len;
	int max_version;		/* 0: TLS 1.3 */
	bool shut_at_end;		/* shutdown(fd) when done */
	/* results */
	int ok;
	char msg[256];
	char got[256];
	size_t got_len;
	uint8_t csecret[48], ssecret[48];
	size_t secret_len;
};

static void raw_keylog(const SSL *ssl, const char *line)
{
	struct raw_peer *r = SSL_get_app_data(ssl);
	uint8_t *dst = NULL;
	const char *p;
	size_t n = 0;

	if (!strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24))
		dst = r->csecret;
	else if (!strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24))
		dst = r->ssecret;
	if (!dst)
		return;
	p = strchr(line + 24, ' ') + 1;
	while (p[0] && p[1] && n < 48) {
		unsigned int v;

		sscanf(p, "%2x", &v);
		dst[n++] = (uint8_t)v;
		p += 2;
	}
	r->secret_len = n;
}

/* Read exactly len bytes; 0 or -1. */
static int read_full(int fd, uint8_t *p, size_t len)
{
	while (len) {
		ssize_t k = recv(fd, p, len, 0);

		if (k <= 0)
			return -1;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

/*
 * The raw peer: OpenSSL handshake, then the engine built by hand from the
 * SPEC (exporter, schedule, traffic secrets, SPEC 2.2 and 2.3: a server
 * sends two tickets and takes the client's opening record first; a client
 * sends its opening record and skips the two ticket records).  It reads
 * one record of data, answers "pong:" + what it got, then close_notify.
 */
static void *raw_peer_main(void *arg)
{
	struct raw_peer *r = arg;
	SSL_CTX *ctx = SSL_CTX_new(r->role == PL_ROLE_SERVER ? TLS_server_method() :
				   TLS_client_method());
	struct pl_eem_secrets c2s, s2c;
	struct pl_dir_config dc = { 0 };
	struct pl_tx *tx = NULL;
	struct pl_rx *rx = NULL;
	struct pl_record rec;
	uint8_t exp[32], params[2], in[PL_MAX_WIRE_LEN], out[2 * PL_MAX_WIRE_LEN];
	size_t have = 0, used = 0, n;
	bool server = r->role == PL_ROLE_SERVER;
	SSL *ssl = NULL;
	int rc, got_rec = 0;

	SSL_CTX_set_min_proto_version(ctx, r->max_version ? TLS1_VERSION :
				      TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(ctx, r->max_version ? r->max_version :
				      TLS1_3_VERSION);
	SSL_CTX_set_num_tickets(ctx, server ? 2 : 0);
	SSL_CTX_set_keylog_callback(ctx, raw_keylog);
	if (server) {
		SSL_CTX_use_certificate_chain_file(ctx, srv_pem);
		SSL_CTX_use_PrivateKey_file(ctx, srv_key, SSL_FILETYPE_PEM);
	}
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, r->fd);
	SSL_set_app_data(ssl, r);
	rc = server ? SSL_accept(ssl) : SSL_connect(ssl);
	if (rc != 1) {
		snprintf(r->msg, sizeof(r->msg), "raw handshake failed");
		goto out;
	}
	pl_params_encode(r->framing, r->eem_len, params);
	if (SSL_export_keying_material(ssl, exp, 32, PL_EXPORTER_LABEL,
				       strlen(PL_EXPORTER_LABEL), params, 2, 1) != 1 ||
	    pl_eem_schedule(exp, NULL, &c2s, &s2c)) {
		snprintf(r->msg, sizeof(r->msg), "raw exporter failed");
		goto out;
	}
	dc.suite = (uint16_t)SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(ssl));
	dc.secret_len = r->secret_len;
	dc.framing = r->framing;
	dc.eem_len = r->eem_len;
	dc.secret = server ? r->ssecret : r->csecret;
	dc.eem_key = server ? s2c.key : c2s.key;
	dc.eem_nonce = server ? s2c.nonce : c2s.nonce;
	dc.seq = server ? 2 : 0;		/* after the two tickets */
	tx = pl_tx_new(&dc, NULL);
	dc.secret = server ? r->csecret : r->ssecret;
	dc.eem_key = server ? c2s.key : s2c.key;
	dc.eem_nonce = server ? c2s.nonce : s2c.nonce;
	dc.seq = server ? 0 : 2;
	rx = pl_rx_new(&dc, NULL);
	if (!tx || !rx) {
		snprintf(r->msg, sizeof(r->msg), "raw engine setup failed");
		goto out;
	}
	if (!server) {
		struct pl_seal_opts so = { .pad_len = 100 };

		if (pl_tx_seal(tx, PLASMATIC_CT_APPLICATION_DATA, NULL, 0, &so,
			       out, sizeof(out), &n) ||
		    send(r->fd, out, n, 0) != (ssize_t)n) {
			snprintf(r->msg, sizeof(r->msg), "raw opening failed");
			goto out;
		}
		for (int i = 0; i < 2; i++) {
			if (read_full(r->fd, in, 5) ||
			    read_full(r->fd, in + 5, (size_t)in[3] << 8 | in[4])) {
				snprintf(r->msg, sizeof(r->msg), "raw tickets: recv ended");
				goto out;
			}
		}
	}
	while (!got_rec) {
		ssize_t k;

		if (used == have) {
			k = recv(r->fd, in, sizeof(in), 0);
			if (k <= 0) {
				snprintf(r->msg, sizeof(r->msg), "raw recv ended");
				goto out;
			}
			have = (size_t)k;
			used = 0;
		}
		rc = pl_rx_feed(rx, in + used, have - used, &n, &rec);
		used += n;
		if (rc < 0) {
			snprintf(r->msg, sizeof(r->msg), "raw rx: %s", pl_strerror(rc));
			goto out;
		}
		if (rc == 1 && server && pl_rx_seq(rx) == 1 &&
		    (rec.content_type != PLASMATIC_CT_APPLICATION_DATA || rec.len)) {
			snprintf(r->msg, sizeof(r->msg), "raw rx: no opening record");
			goto out;
		}
		if (rc == 1 && rec.content_type == PLASMATIC_CT_APPLICATION_DATA &&
		    rec.len) {
			memcpy(r->got, "pong:", 5);
			memcpy(r->got + 5, rec.content, rec.len);
			r->got_len = 5 + rec.len;
			got_rec = 1;
		}
	}
	if (pl_tx_seal(tx, PLASMATIC_CT_APPLICATION_DATA, (uint8_t *)r->got,
		       r->got_len, NULL, out, sizeof(out), &n))
		goto out;
	used = n;
	if (pl_tx_seal_alert(tx, PL_ALERT_WARNING, PL_ALERT_CLOSE_NOTIFY,
			     out + used, sizeof(out) - used, &n))
		goto out;
	used += n;
	if (send(r->fd, out, used, 0) != (ssize_t)used)
		goto out;
	r->ok = 1;
out:
	if (r->shut_at_end)
		shutdown(r->fd, SHUT_RDWR);
	pl_tx_free(tx);
	pl_rx_free(rx);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return NULL;
}

FIXTURE(engine_peer) {
	int cfd, sfd;
	struct raw_peer r;
};

FIXTURE_VARIANT(engine_peer) {
	int raw_role;
	uint8_t framing;
};

FIXTURE_VARIANT_ADD(engine_peer, raw_server_covered) {
	.raw_role = PL_ROLE_SERVER, .framing = PLASMATIC_FRAMING_COVERED,
};
FIXTURE_VARIANT_ADD(engine_peer, raw_server_detached) {
	.raw_role = PL_ROLE_SERVER, .framing = PLASMATIC_FRAMING_DETACHED,
};
FIXTURE_VARIANT_ADD(engine_peer, raw_client_covered) {
	.raw_role = PL_ROLE_CLIENT, .framing = PLASMATIC_FRAMING_COVERED,
};

FIXTURE_SETUP(engine_peer)
{
	ASSERT_EQ(0, tcp_pair(&self->cfd, &self->sfd));
	set_rcvtimeo(self->cfd, 10);
	set_rcvtimeo(self->sfd, 10);
	memset(&self->r, 0, sizeof(self->r));
}

FIXTURE_TEARDOWN(engine_peer)
{
	close(self->cfd);
	close(self->sfd);
}

/* Our bytes agree with the engine driven from the SPEC by an independent
 * peer (catches a swapped direction or a wrong exporter context). */
TEST_F(engine_peer, ping_pong)
{
	struct pl_config cfg;
	struct pl_error err;
	struct pl_ctx *ctx;
	struct pl_conn *c;
	pthread_t th;
	char buf[300];
	ssize_t n;
	size_t got = 0;

	self->r.role = variant->raw_role;
	self->r.framing = variant->framing;
	self->r.eem_len = 80;
	self->r.fd = variant->raw_role == PL_ROLE_SERVER ? self->sfd : self->cfd;
	either_config(&cfg, variant->raw_role == PL_ROLE_SERVER ?
			    PL_ROLE_CLIENT : PL_ROLE_SERVER);
	cfg.framing = variant->framing;
	cfg.datapath = env_datapath(variant->raw_role == PL_ROLE_SERVER ?
				    "PL_TEST_CLIENT_DATAPATH" :
				    "PL_TEST_SERVER_DATAPATH");
	ctx = pl_ctx_new(&cfg, &err);
	ASSERT_NE(NULL, ctx) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, pthread_create(&th, NULL, raw_peer_main, &self->r));
	c = variant->raw_role == PL_ROLE_SERVER ? pl_connect(ctx, self->cfd, NULL, &err) :
						  pl_accept(ctx, self->sfd, &err);
	ASSERT_NE(NULL, c) TH_LOG("%s", err.msg);
	ASSERT_EQ(4, pl_conn_write(c, "ping", 4));
	while ((n = pl_conn_read(c, buf + got, sizeof(buf) - got)) > 0)
		got += (size_t)n;
	pthread_join(th, NULL);
	ASSERT_EQ(0, n) TH_LOG("%s", pl_conn_error(c)->msg);
	ASSERT_TRUE(self->r.ok) TH_LOG("raw peer: %s", self->r.msg);
	ASSERT_EQ(9, got);
	ASSERT_EQ(0, memcmp(buf, "pong:ping", 9));
	ASSERT_EQ(PLASMATIC_END_CLOSE_NOTIFY, pl_conn_end(c));
	pl_conn_free(c);
	pl_ctx_free(ctx);
}

/*
 * TLS 1.2 never makes a Plasmatic connection (SPEC 2): a raw OpenSSL peer
 * capped at TLS 1.2.  Our client refuses the server; our server completes
 * the handshake, as Debian's nginx would, and serves the client as a plain
 * TLS client (PL_E_PROBE), never as a Plasmatic one.
 */
static void tls12_refused(struct __test_metadata *_metadata, int raw_role)
{
	struct raw_peer r = { .role = raw_role, .max_version = TLS1_2_VERSION,
			      .shut_at_end = true };
	struct pl_config cfg;
	struct pl_error err;
	struct pl_ctx *ctx;
	pthread_t th;
	int cfd, sfd, ours;

	ASSERT_EQ(0, tcp_pair(&cfd, &sfd));
	set_rcvtimeo(cfd, 10);
	set_rcvtimeo(sfd, 10);
	r.fd = raw_role == PL_ROLE_SERVER ? sfd : cfd;
	ours = raw_role == PL_ROLE_SERVER ? cfd : sfd;
	either_config(&cfg, raw_role == PL_ROLE_SERVER ? PL_ROLE_CLIENT :
			    PL_ROLE_SERVER);
	ctx = pl_ctx_new(&cfg, &err);
	ASSERT_NE(NULL, ctx);
	ASSERT_EQ(0, pthread_create(&th, NULL, raw_peer_main, &r));
	ASSERT_EQ(NULL, raw_role == PL_ROLE_SERVER ? pl_connect(ctx, ours, NULL, &err) :
						    pl_accept(ctx, ours, &err));
	shutdown(ours, SHUT_RDWR);
	pthread_join(th, NULL);
	ASSERT_EQ(raw_role == PL_ROLE_SERVER ? PL_E_VERSION : PL_E_PROBE, err.code)
		TH_LOG("%s", err.msg);
	ASSERT_FALSE(r.ok);
	TH_LOG("%s", err.msg);
	pl_ctx_free(ctx);
	close(cfd);
	close(sfd);
}

TEST(tls12_server_refused)
{
	tls12_refused(_metadata, PL_ROLE_SERVER);
}

TEST(tls12_client_refused)
{
	tls12_refused(_metadata, PL_ROLE_CLIENT);
}

/* ------------------------------------------------- configuration errors */

/* pl_ctx_new refuses each of these (code 0: any error). */
static const struct bad_config {
	enum pl_role role;
	uint8_t eem_len, framing;	/* 0: the default */
	const char *ciphersuites, *alpn, *ca_file, *cert_file, *key_file;
	int code;
} bad_configs[] = {
	{ PL_ROLE_CLIENT, .eem_len = 47, .code = PL_E_INVAL },
	{ PL_ROLE_CLIENT, .framing = 2, .code = PL_E_INVAL },
	{ PL_ROLE_CLIENT, .ciphersuites = "TLS_AES_128_CCM_SHA256",
	  .code = PL_E_INVAL },
	{ PL_ROLE_CLIENT, .ciphersuites = "TLS_AES_128_GCM_SHA256:" },
	{ PL_ROLE_CLIENT, .alpn = "h2,,x", .code = PL_E_INVAL },
	{ PL_ROLE_CLIENT, .ca_file = "/nonexistent/ca.pem", .code = PL_E_CONFIG },
	{ PL_ROLE_SERVER, .code = PL_E_INVAL },
	{ PL_ROLE_SERVER, .cert_file = srv_pem, .key_file = "/nonexistent/key",
	  .code = PL_E_CONFIG },
	/* the wrong key for the certificate */
	{ PL_ROLE_SERVER, .cert_file = ca_pem, .key_file = srv_key,
	  .code = PL_E_CONFIG },
};

TEST(config_errors)
{
	struct pl_config cfg;
	struct pl_error err;

	for (size_t i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]); i++) {
		const struct bad_config *b = &bad_configs[i];

		pl_config_init(&cfg, b->role);
		if (b->eem_len)
			cfg.eem_len = b->eem_len;
		if (b->framing)
			cfg.framing = b->framing;
		cfg.ciphersuites = b->ciphersuites;
		cfg.alpn = b->alpn;
		cfg.ca_file = b->ca_file;
		cfg.cert_file = b->cert_file;
		cfg.key_file = b->key_file;
		ASSERT_EQ(NULL, pl_ctx_new(&cfg, &err)) TH_LOG("config %zu", i);
		if (b->code)
			ASSERT_EQ(b->code, err.code) TH_LOG("config %zu: %s", i, err.msg);
		TH_LOG("config %zu: %s", i, err.msg);
	}
	/* Verifying needs a name. */
	{
		struct pl_ctx *ctx;
		int a, b;

		pl_config_init(&cfg, PL_ROLE_CLIENT);
		cfg.ca_file = ca_pem;
		ctx = pl_ctx_new(&cfg, &err);
		ASSERT_NE(NULL, ctx);
		ASSERT_EQ(0, tcp_pair(&a, &b));
		ASSERT_EQ(NULL, pl_connect(ctx, a, NULL, &err));
		ASSERT_EQ(PL_E_INVAL, err.code);
		close(a);
		close(b);
		pl_ctx_free(ctx);
	}
}

/* Bytes the process holds from malloc now. */
static size_t heap_in_use(void)
{
#ifdef __SANITIZE_ADDRESS__
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
#endif
}

/* Connect a new pair over the userspace datapath; 0 or -1. */
static int idle_pair(struct pl_ctx *cctx, struct pl_ctx *sctx,
		     struct pl_conn **cc, struct pl_conn **sc, int *cfd,
		     int *sfd)
{
	struct pl_error cerr, serr;

	*cc = *sc = NULL;
	if (tcp_pair(cfd, sfd))
		return -1;
	return connect_pair(cctx, sctx, *cfd, *sfd, cc, sc, &cerr, &serr);
}

/*
 * Upgraded connections that move no data do not hold the userspace
 * datapath's 128 KiB of send and receive buffers per end (a server keeps
 * many idle connections); they still work when data comes.
 */
TEST(idle_connections_memory)
{
	enum { N = 16 };
	struct pl_conn *cc[N + 1], *sc[N + 1];
	int cfd[N + 1], sfd[N + 1];
	struct pl_config ccfg, scfg;
	struct pl_ctx *cctx, *sctx;
	struct pl_error err;
	size_t before, per;
	char buf[8];

	test_configs(&ccfg, &scfg);
	ccfg.datapath = PL_DATAPATH_USERSPACE;
	scfg.datapath = PL_DATAPATH_USERSPACE;
	cctx = pl_ctx_new(&ccfg, &err);
	ASSERT_NE(NULL, cctx) TH_LOG("%s", err.msg);
	sctx = pl_ctx_new(&scfg, &err);
	ASSERT_NE(NULL, sctx) TH_LOG("%s", err.msg);
	/* The first one pays OpenSSL's and the engine's one-time setup. */
	ASSERT_EQ(0, idle_pair(cctx, sctx, &cc[N], &sc[N], &cfd[N], &sfd[N]));
	before = heap_in_use();
	for (int i = 0; i < N; i++)
		ASSERT_EQ(0, idle_pair(cctx, sctx, &cc[i], &sc[i], &cfd[i],
				       &sfd[i]));
	per = (heap_in_use() - before) / N;
	TH_LOG("%zu bytes per idle connection (both ends)", per);
	ASSERT_LT(per, 2 * 48 * 1024);

	for (int i = 0; i <= N; i++) {
		ASSERT_EQ(PL_DATAPATH_USERSPACE, pl_conn_datapath(cc[i]));
		ASSERT_EQ(5, pl_conn_write(cc[i], "hello", 5));
		ASSERT_EQ(5, pl_conn_read(sc[i], buf, sizeof(buf)));
		ASSERT_EQ(0, memcmp(buf, "hello", 5));
		ASSERT_EQ(3, pl_conn_write(sc[i], "hi!", 3));
		ASSERT_EQ(3, pl_conn_read(cc[i], buf, sizeof(buf)));
		ASSERT_EQ(0, memcmp(buf, "hi!", 3));
	}
	for (int i = 0; i <= N; i++)
		ends_free(cc[i], sc[i], cfd[i], sfd[i], NULL, NULL);
	pl_ctx_free(cctx);
	pl_ctx_free(sctx);
}

/* A peer that accepts but never speaks: the socket's timeout ends it. */
TEST(handshake_timeout)
{
	struct pl_config cfg;
	struct pl_error err;
	struct pl_ctx *ctx;
	struct timeval t0, t1;
	int a, b;

	pl_config_init(&cfg, PL_ROLE_CLIENT);
	cfg.ca_file = ca_pem;
	cfg.hostname = "localhost";
	cfg.handshake_timeout = 1;
	ctx = pl_ctx_new(&cfg, &err);
	ASSERT_NE(NULL, ctx);
	ASSERT_EQ(0, tcp_pair(&a, &b));
	gettimeofday(&t0, NULL);
	ASSERT_EQ(NULL, pl_connect(ctx, a, NULL, &err));
	gettimeofday(&t1, NULL);
	ASSERT_EQ(PL_E_SYS, err.code) TH_LOG("%s", err.msg);
	ASSERT_EQ(ETIMEDOUT, err.sys_errno);
	ASSERT_LT(t1.tv_sec - t0.tv_sec, 5);
	TH_LOG("%s", err.msg);
	close(a);
	close(b);
	pl_ctx_free(ctx);
}

/*
 * The handshake and the opening also work on non-blocking sockets (the
 * library waits with poll, for at most its timeouts); the data moves once
 * the sockets are blocking again.
 */
TEST(nonblocking_handshake)
{
	struct pl_config cc, sc;
	struct pl_error cerr, serr;
	struct pl_ctx *cctx, *sctx;
	struct pl_conn *c, *s;
	char buf[16];
	int cfd, sfd;

	test_configs(&cc, &sc);
	cctx = pl_ctx_new(&cc, &cerr);
	sctx = pl_ctx_new(&sc, &serr);
	ASSERT_NE(NULL, cctx);
	ASSERT_NE(NULL, sctx);
	ASSERT_EQ(0, tcp_pair(&cfd, &sfd));
	fcntl(cfd, F_SETFL, fcntl(cfd, F_GETFL) | O_NONBLOCK);
	fcntl(sfd, F_SETFL, fcntl(sfd, F_GETFL) | O_NONBLOCK);
	ASSERT_EQ(0, connect_pair(cctx, sctx, cfd, sfd, &c, &s, &cerr, &serr))
		TH_LOG("client: %s; server: %s", cerr.msg, serr.msg);
	fcntl(cfd, F_SETFL, fcntl(cfd, F_GETFL) & ~O_NONBLOCK);
	fcntl(sfd, F_SETFL, fcntl(sfd, F_GETFL) & ~O_NONBLOCK);
	ASSERT_EQ(5, pl_conn_write(c, "hello", 5));
	ASSERT_EQ(5, pl_conn_read(s, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "hello", 5));
	ASSERT_EQ(3, pl_conn_write(s, "hey", 3));
	ASSERT_EQ(3, pl_conn_read(c, buf, sizeof(buf)));
	ends_free(c, s, cfd, sfd, cctx, sctx);
}

TEST(error_strings)
{
	for (int c = PL_E_PROBE; c <= PL_E_INVAL; c++) {
		const char *s = pl_error_string(c);

		ASSERT_NE(NULL, s);
		ASSERT_STRNE("unknown error", s);
		for (int d = c + 1; d <= PL_E_INVAL; d++)
			ASSERT_STRNE(s, pl_error_string(d));
	}
	/* Engine codes are passed through. */
	ASSERT_STREQ(pl_strerror(PL_ERR_EEM_TAG), pl_error_string(PL_ERR_EEM_TAG));
}

/* --------------------------------------------------------- PSK files */

TEST(psk_files)
{
	char path[2200], bad[2200];
	struct pl_error err;
	struct pl_psk *psk;
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/psk-%d", dir, getpid());
	snprintf(bad, sizeof(bad), "%s/psk-bad-%d", dir, getpid());
	unlink(path);
	unlink(bad);
	ASSERT_EQ(0, pl_psk_generate(path, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, stat(path, &st));
	ASSERT_EQ(0600, st.st_mode & 0777);
	ASSERT_EQ(strlen(PL_PSK_FILE_TAG) + 1 + 64 + 1, st.st_size);
	/* Never overwritten. */
	ASSERT_EQ(-1, pl_psk_generate(path, &err));
	ASSERT_EQ(PL_E_PSK_FILE, err.code);
	psk = pl_psk_load(path, &err);
	ASSERT_NE(NULL, psk) TH_LOG("%s", err.msg);
	pl_psk_free(psk);
	/* Group or others: refused, clearly. */
	ASSERT_EQ(0, chmod(path, 0640));
	ASSERT_EQ(NULL, pl_psk_load(path, &err));
	ASSERT_EQ(PL_E_PSK_PERM, err.code);
	ASSERT_NE(NULL, strstr(err.msg, "chmod 600"));
	TH_LOG("%s", err.msg);
	ASSERT_EQ(0, chmod(path, 0604));
	ASSERT_EQ(NULL, pl_psk_load(path, &err));
	ASSERT_EQ(PL_E_PSK_PERM, err.code);
	/* Malformed. */
	f = fopen(bad, "w");
	ASSERT_NE(NULL, f);
	fprintf(f, "plasmatic-psk-v1 0011\n");
	fclose(f);
	chmod(bad, 0600);
	ASSERT_EQ(NULL, pl_psk_load(bad, &err));
	ASSERT_EQ(PL_E_PSK_FILE, err.code);
	f = fopen(bad, "w");
	fprintf(f, "# comment\nplasmatic-psk-v1 %s\n",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
	fclose(f);
	psk = pl_psk_load(bad, &err);
	ASSERT_NE(NULL, psk) TH_LOG("%s", err.msg);
	pl_psk_free(psk);
	f = fopen(bad, "w");
	fprintf(f, "plasmatic-psk-v1 %s\n",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1eZZ");
	fclose(f);
	ASSERT_EQ(NULL, pl_psk_load(bad, &err));
	ASSERT_EQ(PL_E_PSK_FILE, err.code);
	ASSERT_EQ(NULL, pl_psk_load("/nonexistent/psk", &err));
	ASSERT_EQ(PL_E_PSK_FILE, err.code);
	unlink(path);
	unlink(bad);
}

TEST_HARNESS_MAIN
