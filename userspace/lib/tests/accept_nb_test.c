// SPDX-License-Identifier: GPL-2.0
/*
 * The non-blocking server handshake (pl_accept_start, pl_handshake_step):
 * many handshakes driven by one poll loop against blocking pl_connect
 * clients, with data both ways afterwards on the datapaths of
 * PL_TEST_CLIENT_DATAPATH / PL_TEST_SERVER_DATAPATH; a prober served by
 * pl_handshake_fallback; peers that close in each phase; bad arguments;
 * reads and writes on an O_NONBLOCK socket.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>

#include <openssl/ssl.h>

#include "kselftest_harness.h"
#include "testpair.h"

#define NCLIENTS	16

struct client {
	struct pl_ctx *ctx;
	int fd;
	struct pl_conn *conn;
	struct pl_error err;
	char reply[16];
	ssize_t got;
};

/* A blocking client: handshake, "ping", read the server's "pong". */
static void *client_main(void *arg)
{
	struct client *cl = arg;

	cl->conn = pl_connect(cl->ctx, cl->fd, NULL, &cl->err);
	if (!cl->conn) {
		shutdown(cl->fd, SHUT_RDWR);
		return NULL;
	}
	if (pl_conn_write(cl->conn, "ping", 4) != 4)
		return NULL;
	cl->got = pl_conn_read(cl->conn, cl->reply, sizeof(cl->reply));
	return NULL;
}

static void set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/*
 * Step every handshake of hs[] from one poll loop until each ends; the
 * results in rc[] (PL_HS_DONE, PL_HS_PROBE or -1), errors in err[].
 * Returns the number of steps that said WANT_*.
 */
static int drive(struct pl_handshake **hs, int n, int *rc,
		 struct pl_error *err)
{
	struct pollfd p[NCLIENTS];
	int left = n, waits = 0;

	for (int i = 0; i < n; i++) {
		rc[i] = PL_HS_WANT_READ;
		p[i].fd = pl_handshake_fd(hs[i]);
		p[i].events = POLLIN;
	}
	while (left) {
		if (poll(p, (nfds_t)n, 20000) <= 0)
			return -1;	/* 20 s without progress: fail */
		for (int i = 0; i < n; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			rc[i] = pl_handshake_step(hs[i], &err[i]);
			if (rc[i] == PL_HS_WANT_READ || rc[i] == PL_HS_WANT_WRITE) {
				p[i].events = rc[i] == PL_HS_WANT_READ ? POLLIN : POLLOUT;
				waits++;
				continue;
			}
			p[i].fd = -1;
			left--;
		}
	}
	return waits;
}

TEST(many_from_one_loop)
{
	struct client cl[NCLIENTS];
	struct pl_handshake *hs[NCLIENTS];
	struct pl_error err[NCLIENTS];
	struct pl_config cc, sc;
	struct pl_ctx *cctx, *sctx;
	pthread_t th[NCLIENTS];
	int sfd[NCLIENTS], rc[NCLIENTS], waits;

	test_configs(&cc, &sc);
	cctx = pl_ctx_new(&cc, &err[0]);
	ASSERT_NE(NULL, cctx) TH_LOG("%s", err[0].msg);
	sctx = pl_ctx_new(&sc, &err[0]);
	ASSERT_NE(NULL, sctx) TH_LOG("%s", err[0].msg);
	for (int i = 0; i < NCLIENTS; i++) {
		memset(&cl[i], 0, sizeof(cl[i]));
		cl[i].ctx = cctx;
		ASSERT_EQ(0, tcp_pair(&cl[i].fd, &sfd[i]));
		set_nonblock(sfd[i], true);
		hs[i] = pl_accept_start(sctx, sfd[i], &err[i]);
		ASSERT_NE(NULL, hs[i]) TH_LOG("%s", err[i].msg);
		ASSERT_EQ(0, pthread_create(&th[i], NULL, client_main, &cl[i]));
	}
	waits = drive(hs, NCLIENTS, rc, err);
	ASSERT_LT(0, waits);	/* the steps did wait for the clients */
	for (int i = 0; i < NCLIENTS; i++) {
		struct pl_conn *c;
		char buf[8];

		ASSERT_EQ(PL_HS_DONE, rc[i]) TH_LOG("server %d: %s", i, err[i].msg);
		c = pl_handshake_conn(hs[i]);
		ASSERT_NE(NULL, c);
		ASSERT_EQ(NULL, pl_handshake_conn(hs[i]));	/* taken */
		/* The same result again after the end. */
		ASSERT_EQ(PL_HS_DONE, pl_handshake_step(hs[i], NULL));
		pl_handshake_free(hs[i]);
		if (sc.datapath != PL_DATAPATH_AUTO)
			ASSERT_EQ(sc.datapath, pl_conn_datapath(c));
		set_nonblock(sfd[i], false);
		ASSERT_EQ(4, pl_conn_read(c, buf, sizeof(buf)));
		ASSERT_EQ(0, memcmp(buf, "ping", 4));
		ASSERT_EQ(4, pl_conn_write(c, "pong", 4));
		pthread_join(th[i], NULL);
		ASSERT_NE(NULL, cl[i].conn) TH_LOG("client %d: %s", i, cl[i].err.msg);
		ASSERT_EQ(4, cl[i].got);
		ASSERT_EQ(0, memcmp(cl[i].reply, "pong", 4));
		ends_free(cl[i].conn, c, cl[i].fd, sfd[i], NULL, NULL);
	}
	pl_ctx_free(cctx);
	pl_ctx_free(sctx);
}

/* One server handshake against a raw peer run by fn in a thread. */
struct raw {
	int fd;
	void (*fn)(struct raw *r);
	char buf[4096];
	ssize_t got;
};

static void *raw_main(void *arg)
{
	struct raw *r = arg;

	r->fn(r);
	return NULL;
}

static int one_raw(struct pl_ctx *sctx, void (*fn)(struct raw *),
		   struct raw *r, int *sfd, struct pl_handshake **h,
		   struct pl_error *err)
{
	pthread_t th;
	int rc;

	memset(r, 0, sizeof(*r));
	r->fn = fn;
	if (tcp_pair(&r->fd, sfd))
		return -100;
	set_nonblock(*sfd, true);
	*h = pl_accept_start(sctx, *sfd, err);
	if (!*h)
		return -101;
	if (pthread_create(&th, NULL, raw_main, r))
		return -102;
	if (drive(h, 1, &rc, err) < 0)
		rc = -103;
	if (rc == PL_HS_PROBE && pl_handshake_fallback(*h))
		rc = -104;
	pthread_join(th, NULL);
	return rc;
}

static void read_all(struct raw *r)
{
	ssize_t n;

	set_rcvtimeo(r->fd, 10);
	while (r->got < (ssize_t)sizeof(r->buf) - 1 &&
	       (n = recv(r->fd, r->buf + r->got,
			 sizeof(r->buf) - 1 - (size_t)r->got, 0)) > 0)
		r->got += n;
}

static void http_prober(struct raw *r)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

	send(r->fd, req, sizeof(req) - 1, MSG_NOSIGNAL);
	shutdown(r->fd, SHUT_WR);
	read_all(r);
}

/* A plain TLS 1.3 client (not Plasmatic): its first record is a request. */
static void tls_prober(struct raw *r)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	SSL_CTX *sc = SSL_CTX_new(TLS_client_method());
	SSL *ssl = sc ? SSL_new(sc) : NULL;
	int n;

	if (!ssl || !SSL_set_fd(ssl, r->fd) || SSL_connect(ssl) != 1 ||
	    SSL_write(ssl, req, sizeof(req) - 1) != (int)sizeof(req) - 1)
		goto out;
	while (r->got < (ssize_t)sizeof(r->buf) - 1 &&
	       (n = SSL_read(ssl, r->buf + r->got,
			     (int)(sizeof(r->buf) - 1 - (size_t)r->got))) > 0)
		r->got += n;
out:
	SSL_free(ssl);
	SSL_CTX_free(sc);
}

static struct pl_ctx *server_ctx(void)
{
	struct pl_config c, unused;

	test_configs(&unused, &c);
	return pl_ctx_new(&c, NULL);
}

TEST(prober_cleartext_http)
{
	struct pl_ctx *sctx = server_ctx();
	struct pl_handshake *h;
	struct pl_error err;
	struct raw r;
	int sfd;

	ASSERT_NE(NULL, sctx);
	ASSERT_EQ(PL_HS_PROBE, one_raw(sctx, http_prober, &r, &sfd, &h, &err));
	ASSERT_EQ(PL_E_PROBE, err.code);
	ASSERT_NE(NULL, strstr(err.msg, "cleartext HTTP")) TH_LOG("%s", err.msg);
	ASSERT_EQ(NULL, pl_handshake_conn(h));
	/* The built-in responder's answer, as nginx's to cleartext HTTP. */
	r.buf[r.got] = 0;
	ASSERT_EQ(0, strncmp(r.buf, "HTTP/1.1 400 ", 13)) TH_LOG("got: %s", r.buf);
	/* Served once. */
	ASSERT_EQ(-1, pl_handshake_fallback(h));
	pl_handshake_free(h);
	close(r.fd);
	close(sfd);
	pl_ctx_free(sctx);
}

TEST(prober_plain_tls)
{
	struct pl_ctx *sctx = server_ctx();
	struct pl_handshake *h;
	struct pl_error err;
	struct raw r;
	int sfd;

	ASSERT_NE(NULL, sctx);
	ASSERT_EQ(PL_HS_PROBE, one_raw(sctx, tls_prober, &r, &sfd, &h, &err));
	ASSERT_EQ(PL_E_PROBE, err.code);
	ASSERT_NE(NULL, strstr(err.msg, "opening record")) TH_LOG("%s", err.msg);
	r.buf[r.got] = 0;
	ASSERT_EQ(0, strncmp(r.buf, "HTTP/1.1 200 ", 13)) TH_LOG("got: %s", r.buf);
	pl_handshake_free(h);
	close(r.fd);
	close(sfd);
	pl_ctx_free(sctx);
}

static void close_at_once(struct raw *r)
{
	shutdown(r->fd, SHUT_WR);
	read_all(r);
}

/* A ClientHello's first bytes, then the end. */
static void close_in_hello(struct raw *r)
{
	static const uint8_t part[] = { 0x16, 0x03, 0x01, 0x01, 0x00, 0x01, 0x00 };

	send(r->fd, part, sizeof(part), MSG_NOSIGNAL);
	usleep(50 * 1000);
	shutdown(r->fd, SHUT_WR);
	read_all(r);
}

/* The TLS handshake, then the end instead of the opening record. */
static void close_before_opening(struct raw *r)
{
	SSL_CTX *sc = SSL_CTX_new(TLS_client_method());
	SSL *ssl = sc ? SSL_new(sc) : NULL;

	if (ssl && SSL_set_fd(ssl, r->fd))
		SSL_connect(ssl);
	shutdown(r->fd, SHUT_WR);
	read_all(r);
	SSL_free(ssl);
	SSL_CTX_free(sc);
}

/* Half an opening record's header: the server waits for the rest. */
static void close_in_opening(struct raw *r)
{
	static const uint8_t part[] = { 0x17, 0x03, 0x03 };
	SSL_CTX *sc = SSL_CTX_new(TLS_client_method());
	SSL *ssl = sc ? SSL_new(sc) : NULL;

	if (ssl && SSL_set_fd(ssl, r->fd) && SSL_connect(ssl) == 1) {
		send(r->fd, part, sizeof(part), MSG_NOSIGNAL);
		usleep(50 * 1000);
	}
	shutdown(r->fd, SHUT_WR);
	read_all(r);
	SSL_free(ssl);
	SSL_CTX_free(sc);
}

TEST(peer_closes)
{
	static const struct {
		void (*fn)(struct raw *r);
		int code;
		const char *name;
	} cases[] = {
		{ close_at_once, PL_E_PEER_CLOSED, "before the ClientHello" },
		/* OpenSSL: "unexpected eof while reading", as pl_accept says */
		{ close_in_hello, PL_E_HANDSHAKE, "inside the ClientHello" },
		{ close_before_opening, PL_E_PEER_CLOSED, "before the opening" },
		{ close_in_opening, PL_E_PEER_CLOSED, "inside the opening" },
	};
	struct pl_ctx *sctx = server_ctx();

	ASSERT_NE(NULL, sctx);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pl_handshake *h;
		struct pl_error err;
		struct raw r;
		int sfd;

		ASSERT_EQ(-1, one_raw(sctx, cases[i].fn, &r, &sfd, &h, &err))
			TH_LOG("%s", cases[i].name);
		ASSERT_EQ(cases[i].code, err.code)
			TH_LOG("%s: %s", cases[i].name, err.msg);
		/* The server shut its side: the peer read its end, no RST. */
		ASSERT_LE(0, r.got) TH_LOG("%s", cases[i].name);
		ASSERT_EQ(-1, pl_handshake_step(h, &err));
		ASSERT_EQ(PL_E_INVAL, err.code);
		pl_handshake_free(h);
		close(r.fd);
		close(sfd);
	}
	pl_ctx_free(sctx);
}

TEST(bad_args)
{
	struct pl_config cc, sc;
	struct pl_ctx *cctx, *sctx;
	struct pl_error err;
	int cfd, sfd;

	test_configs(&cc, &sc);
	cctx = pl_ctx_new(&cc, NULL);
	sctx = pl_ctx_new(&sc, NULL);
	ASSERT_NE(NULL, cctx);
	ASSERT_NE(NULL, sctx);
	ASSERT_EQ(0, tcp_pair(&cfd, &sfd));
	ASSERT_EQ(NULL, pl_accept_start(NULL, sfd, &err));
	ASSERT_EQ(PL_E_INVAL, err.code);
	ASSERT_EQ(NULL, pl_accept_start(sctx, -1, &err));
	ASSERT_EQ(PL_E_INVAL, err.code);
	/* A blocking socket. */
	ASSERT_EQ(NULL, pl_accept_start(sctx, sfd, &err));
	ASSERT_EQ(PL_E_INVAL, err.code);
	ASSERT_NE(NULL, strstr(err.msg, "O_NONBLOCK"));
	set_nonblock(sfd, true);
	/* A client context. */
	ASSERT_EQ(NULL, pl_accept_start(cctx, sfd, &err));
	ASSERT_EQ(PL_E_INVAL, err.code);
	ASSERT_EQ(NULL, pl_accept_start(cctx, sfd, NULL));
	ASSERT_EQ(-1, pl_handshake_step(NULL, &err));
	ASSERT_EQ(PL_E_INVAL, err.code);
	ASSERT_EQ(-1, pl_handshake_step(NULL, NULL));
	ASSERT_EQ(NULL, pl_handshake_conn(NULL));
	ASSERT_EQ(-1, pl_handshake_fd(NULL));
	ASSERT_EQ(-1, pl_handshake_fallback(NULL));
	pl_handshake_free(NULL);
	{
		/* Nothing sent yet: wants to read, and no probe to serve. */
		struct pl_handshake *h = pl_accept_start(sctx, sfd, &err);

		ASSERT_NE(NULL, h);
		ASSERT_EQ(sfd, pl_handshake_fd(h));
		ASSERT_EQ(PL_HS_WANT_READ, pl_handshake_step(h, &err));
		ASSERT_EQ(-1, pl_handshake_fallback(h));
		pl_handshake_free(h);	/* mid-handshake */
	}
	ends_free(NULL, NULL, cfd, sfd, cctx, sctx);
}

/* pl_conn_read on an O_NONBLOCK socket: EAGAIN, not a failure. */
TEST(nonblocking_read)
{
	struct pl_config cc, sc;
	struct pl_error cerr, serr;
	struct pl_ctx *cctx, *sctx;
	struct pl_conn *c, *s;
	struct pollfd p;
	char buf[16];
	int cfd, sfd;

	test_configs(&cc, &sc);
	cctx = pl_ctx_new(&cc, &cerr);
	sctx = pl_ctx_new(&sc, &serr);
	ASSERT_NE(NULL, cctx);
	ASSERT_NE(NULL, sctx);
	ASSERT_EQ(0, tcp_pair(&cfd, &sfd));
	ASSERT_EQ(0, connect_pair(cctx, sctx, cfd, sfd, &c, &s, &cerr, &serr))
		TH_LOG("client: %s; server: %s", cerr.msg, serr.msg);
	set_nonblock(sfd, true);
	errno = 0;
	ASSERT_EQ(-1, pl_conn_read(s, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, pl_conn_error(s)->code) TH_LOG("%s", pl_conn_error(s)->msg);
	ASSERT_EQ(5, pl_conn_write(c, "hello", 5));
	p.fd = sfd;
	p.events = POLLIN;
	ASSERT_EQ(1, poll(&p, 1, 10000));
	ASSERT_EQ(5, pl_conn_read(s, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "hello", 5));
	ASSERT_EQ(-1, pl_conn_read(s, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, pl_conn_shutdown(c));
	ASSERT_EQ(1, poll(&p, 1, 10000));
	ASSERT_EQ(0, pl_conn_read(s, buf, sizeof(buf)));
	ends_free(c, s, cfd, sfd, cctx, sctx);
}

#define NB_TOTAL	(4u << 20)

static uint8_t nb_byte(size_t i)
{
	return (uint8_t)(i * 131 + (i >> 11));
}

/* The client: waits for go, then reads everything, checking each byte. */
struct nb_reader {
	struct pl_conn *c;
	int go;
	size_t got;
	size_t bad;		/* first wrong offset + 1, 0: none */
	ssize_t last;		/* the read that ended it */
};

static void *nb_reader_main(void *arg)
{
	static uint8_t buf[64 * 1024];
	struct nb_reader *r = arg;

	while (!__atomic_load_n(&r->go, __ATOMIC_ACQUIRE))
		usleep(1000);
	for (;;) {
		ssize_t n = pl_conn_read(r->c, buf, sizeof(buf));

		if (n <= 0) {
			r->last = n;
			return NULL;
		}
		for (ssize_t i = 0; i < n && !r->bad; i++)
			if (buf[i] != nb_byte(r->got + (size_t)i))
				r->bad = r->got + (size_t)i + 1;
		r->got += (size_t)n;
	}
}

/*
 * pl_conn_write on an O_NONBLOCK socket whose peer does not read yet:
 * it takes what it can and says EAGAIN, not a failure; what it sealed
 * and the socket did not take waits for pl_conn_flush (userspace
 * datapath: pl_conn_want_write, and shutdown says EAGAIN meanwhile).
 * Driven by poll until the peer has read it all: every byte arrives
 * once, in order, then the end.
 */
TEST(nonblocking_write)
{
	static uint8_t src[NB_TOTAL];
	struct nb_reader r = { .go = 0 };
	struct pl_config cc, sc;
	struct pl_error cerr, serr;
	struct pl_ctx *cctx, *sctx;
	struct pl_conn *c, *s;
	size_t sent = 0;
	int cfd, sfd, eagain = 0, waited = 0;
	struct pollfd p;
	pthread_t th;

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = nb_byte(i);
	test_configs(&cc, &sc);
	cctx = pl_ctx_new(&cc, &cerr);
	sctx = pl_ctx_new(&sc, &serr);
	ASSERT_NE(NULL, cctx);
	ASSERT_NE(NULL, sctx);
	ASSERT_EQ(0, tcp_pair_bufs(&cfd, &sfd, 32768));
	ASSERT_EQ(0, connect_pair(cctx, sctx, cfd, sfd, &c, &s, &cerr, &serr))
		TH_LOG("client: %s; server: %s", cerr.msg, serr.msg);
	set_nonblock(sfd, true);
	r.c = c;
	ASSERT_EQ(0, pthread_create(&th, NULL, nb_reader_main, &r));

	p.fd = sfd;
	p.events = POLLOUT;
	while (sent < NB_TOTAL || pl_conn_want_write(s)) {
		ssize_t n;

		if (pl_conn_want_write(s)) {
			if (pl_conn_flush(s) == 0)
				continue;
			ASSERT_EQ(EAGAIN, errno);
		} else {
			size_t want = NB_TOTAL - sent < 100000 ? NB_TOTAL - sent : 100000;

			n = pl_conn_write(s, src + sent, want);
			if (n > 0) {
				ASSERT_GE(want, (size_t)n);
				sent += (size_t)n;
				continue;
			}
			ASSERT_EQ(-1, n);
			ASSERT_EQ(EAGAIN, errno)
				TH_LOG("%s", pl_conn_error(s)->msg);
		}
		ASSERT_EQ(0, pl_conn_error(s)->code)
			TH_LOG("%s", pl_conn_error(s)->msg);
		if (!eagain++ && pl_conn_datapath(s) == PL_DATAPATH_USERSPACE &&
		    pl_conn_want_write(s)) {
			/* Unsent records: no close_notify behind them yet. */
			EXPECT_EQ(-1, pl_conn_shutdown(s));
			EXPECT_EQ(EAGAIN, errno);
		}
		/* The peer starts reading once we have been told to wait. */
		__atomic_store_n(&r.go, 1, __ATOMIC_RELEASE);
		ASSERT_EQ(1, poll(&p, 1, 20000)) TH_LOG("no room for 20 s");
		waited++;
	}
	EXPECT_LT(0, eagain);
	EXPECT_EQ(0, pl_conn_want_write(s));
	set_nonblock(sfd, false);
	ASSERT_EQ(0, pl_conn_shutdown(s));
	__atomic_store_n(&r.go, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	EXPECT_EQ(0, r.bad) TH_LOG("first wrong byte at %zu", r.bad - 1);
	EXPECT_EQ(NB_TOTAL, r.got);
	EXPECT_EQ(0, r.last) TH_LOG("%s", pl_conn_error(c)->msg);
	TH_LOG("%d EAGAIN, %d polls", eagain, waited);
	ends_free(c, s, cfd, sfd, cctx, sctx);
}

TEST_HARNESS_MAIN
