// SPDX-License-Identifier: GPL-2.0
/*
 * After the handshake: EEM key schedule, then either the kernel datapath
 * (TCP_ULP "plasmatic" + socket options) or the userspace engine over the
 * same socket.  Read/write/shutdown/KeyUpdate for both.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/tls.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "internal.h"

#define HS_KEY_UPDATE		24
#define HS_NEW_SESSION_TICKET	4
#define ALERT_UNEXPECTED_MESSAGE 10
#define ALERT_DECODE_ERROR	50
#define ALERT_USER_CANCELED	90

#define OUT_RECORDS		4	/* records sealed per send() */
#define IN_CAP			(64 * 1024)
/* An alert record: header, level and description, type, tag, EEM. */
#define ALERT_WIRE_MAX		(PL_HEADER_LEN + 3 + PL_TLS_TAG_LEN + \
				 PLASMATIC_EEM_LEN_MAX)

/* ---------------------------------------------------------------- errors */

/* Record the first failure of a connection (sticky). */
static void conn_fail(struct pl_conn *c, int code, int sys_errno,
		      int engine_err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void conn_fail(struct pl_conn *c, int code, int sys_errno,
		      int engine_err, const char *fmt, ...)
{
	va_list ap;
	bool expected = false;

	pthread_mutex_lock(&c->err_mu);
	if (!atomic_compare_exchange_strong(&c->failed, &expected, true)) {
		pthread_mutex_unlock(&c->err_mu);
		return;
	}
	c->err.code = code;
	c->err.sys_errno = sys_errno;
	c->err.engine_err = engine_err;
	va_start(ap, fmt);
	vsnprintf(c->err.msg, sizeof(c->err.msg), fmt, ap);
	va_end(ap);
	if (c->end == PLASMATIC_END_NONE)
		c->end = PLASMATIC_END_ERROR;
	pthread_mutex_unlock(&c->err_mu);
}

/* A call failed, the connection did not: its cause in pl_conn_error()
 * unless the connection has failed (then that stays). */
static void conn_note(struct pl_conn *c, int code, int sys_errno,
		      const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void conn_note(struct pl_conn *c, int code, int sys_errno,
		      const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&c->err_mu);
	if (!atomic_load(&c->failed)) {
		c->err.code = code;
		c->err.sys_errno = sys_errno;
		c->err.engine_err = 0;
		c->err.alert = -1;
		va_start(ap, fmt);
		vsnprintf(c->err.msg, sizeof(c->err.msg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&c->err_mu);
}

/*
 * A recv() said EAGAIN on a socket the caller made O_NONBLOCK (not a
 * blocking one's SO_RCVTIMEO expiring): nothing to read yet, and the
 * connection is fine.  errno stays EAGAIN.
 */
static bool would_block(int fd)
{
	int fl;

	if (errno != EAGAIN && errno != EWOULDBLOCK)
		return false;
	fl = fcntl(fd, F_GETFL);
	errno = EAGAIN;
	return fl >= 0 && (fl & O_NONBLOCK);
}

static ssize_t fail_ret(struct pl_conn *c)
{
	if (c->err.code == PL_E_NOMEM)
		errno = ENOMEM;
	else
		errno = c->err.code == PL_E_SYS && c->err.sys_errno ?
			c->err.sys_errno : EPROTO;
	return -1;
}

/* --------------------------------------------------------------- upgrade */

static int suite_cipher_type(uint16_t suite)
{
	switch (suite) {
	case PL_TLS_AES_128_GCM_SHA256:		return TLS_CIPHER_AES_GCM_128;
	case PL_TLS_AES_256_GCM_SHA384:		return TLS_CIPHER_AES_GCM_256;
	case PL_TLS_CHACHA20_POLY1305_SHA256:	return TLS_CIPHER_CHACHA20_POLY1305;
	}
	return -1;
}

union ktls_crypto {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 aes128;
	struct tls12_crypto_info_aes_gcm_256 aes256;
	struct tls12_crypto_info_chacha20_poly1305 chacha;
};

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* kTLS structure from a traffic secret: key/iv by HKDF-Expand-Label. */
static int ktls_fill(uint16_t suite, const uint8_t *secret, size_t secret_len,
		     uint64_t seq, union ktls_crypto *k, socklen_t *len)
{
	uint8_t key[PL_MAX_KEY_LEN], iv[PL_IV_LEN];
	int rc;

	memset(k, 0, sizeof(*k));
	rc = pl_traffic_keys(suite, secret, secret_len, key, iv);
	if (rc)
		goto out;
	k->info.version = TLS_1_3_VERSION;
	k->info.cipher_type = (uint16_t)suite_cipher_type(suite);
	switch (suite) {
	case PL_TLS_AES_128_GCM_SHA256:
		memcpy(k->aes128.key, key, sizeof(k->aes128.key));
		memcpy(k->aes128.salt, iv, 4);
		memcpy(k->aes128.iv, iv + 4, 8);
		put_be64(k->aes128.rec_seq, seq);
		*len = sizeof(k->aes128);
		break;
	case PL_TLS_AES_256_GCM_SHA384:
		memcpy(k->aes256.key, key, sizeof(k->aes256.key));
		memcpy(k->aes256.salt, iv, 4);
		memcpy(k->aes256.iv, iv + 4, 8);
		put_be64(k->aes256.rec_seq, seq);
		*len = sizeof(k->aes256);
		break;
	default:
		/* ChaCha20-Poly1305: the whole 12-byte IV, no salt. */
		memcpy(k->chacha.key, key, sizeof(k->chacha.key));
		memcpy(k->chacha.iv, iv, sizeof(k->chacha.iv));
		put_be64(k->chacha.rec_seq, seq);
		*len = sizeof(k->chacha);
		break;
	}
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(iv, sizeof(iv));
	return rc;
}

/* One direction's keys into the kernel: EEM first, then the record keys. */
static int kernel_dir(struct pl_conn *c, bool tx, const struct pl_eem_secrets *eem,
		      uint64_t seq, const uint8_t *secret, size_t secret_len,
		      bool *got_secret, struct pl_error *err)
{
	struct plasmatic_eem_info ei;
	struct plasmatic_secret_info si;
	union ktls_crypto k;
	socklen_t klen = 0;
	const char *dir = tx ? "TX" : "RX";
	int rc = 0;

	memset(&ei, 0, sizeof(ei));
	ei.version = PLASMATIC_EEM_VERSION_1;
	ei.framing = c->framing;
	ei.eem_len = c->eem_len;
	memcpy(ei.key, eem->key, sizeof(ei.key));
	memcpy(ei.nonce, eem->nonce, sizeof(ei.nonce));
	if (setsockopt(c->fd, SOL_PLASMATIC, tx ? PLASMATIC_EEM_TX : PLASMATIC_EEM_RX,
		       &ei, sizeof(ei))) {
		err->sys_errno = errno;
		pl_err_set(err, PL_E_KERNEL, "setsockopt PLASMATIC_EEM_%s: %s",
			   dir, strerror(errno));
		rc = -1;
		goto out;
	}

	/* Prefer the secret: the kernel can then do KeyUpdate itself. */
	memset(&si, 0, sizeof(si));
	si.version = TLS_1_3_VERSION;
	si.cipher_type = (uint16_t)suite_cipher_type(c->suite);
	memcpy(si.secret, secret, secret_len);
	put_be64(si.rec_seq, seq);
	*got_secret = false;
	if (!setsockopt(c->fd, SOL_PLASMATIC,
			tx ? PLASMATIC_TX_SECRET : PLASMATIC_RX_SECRET,
			&si, sizeof(si))) {
		*got_secret = true;
		goto out;
	}
	if (errno != ENOPROTOOPT && errno != EINVAL && errno != EOPNOTSUPP) {
		err->sys_errno = errno;
		pl_err_set(err, PL_E_KERNEL, "setsockopt PLASMATIC_%s_SECRET: %s",
			   dir, strerror(errno));
		rc = -1;
		goto out;
	}
	if (ktls_fill(c->suite, secret, secret_len, seq, &k, &klen)) {
		pl_err_set(err, PL_E_ENGINE, "cannot derive the %s record key", dir);
		rc = -1;
		goto out;
	}
	if (setsockopt(c->fd, SOL_PLASMATIC, tx ? PLASMATIC_TX : PLASMATIC_RX,
		       &k, klen)) {
		err->sys_errno = errno;
		pl_err_set(err, PL_E_KERNEL, "setsockopt PLASMATIC_%s: %s", dir,
			   strerror(errno));
		rc = -1;
	}
out:
	OPENSSL_cleanse(&ei, sizeof(ei));
	OPENSSL_cleanse(&si, sizeof(si));
	OPENSSL_cleanse(&k, sizeof(k));
	return rc;
}

/* Our initial TX shaping (SPEC 9.4): the Seed Update of the client's
 * opening record on a server, else the configuration's. */
static void tpl_initial(const struct pl_ctx *ctx, const struct pl_start *st,
			struct pl_seed_update *init)
{
	if (ctx->role == PL_ROLE_SERVER && st->open_su.kind == PL_SU_SEED) {
		*init = st->open_su;
		return;
	}
	init->kind = PL_SU_SEED;
	init->mode = ctx->tpl_mode;
	init->flags = ctx->tpl_lock ? PL_SU_FLAG_LOCK : 0;
	init->seed = st->tx_eem.seed;
}

int pl_peer_su(const struct pl_ctx *ctx, struct pl_seed_update *su)
{
	uint8_t r[8];

	memset(su, 0, sizeof(*su));
	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	su->kind = PL_SU_SEED;
	su->mode = (uint8_t)ctx->peer_mode;
	su->flags = ctx->tpl_lock ? PL_SU_FLAG_LOCK : 0;
	for (size_t i = 0; i < sizeof(r); i++)
		su->seed = su->seed << 8 | r[i];
	OPENSSL_cleanse(r, sizeof(r));
	return 0;
}

static void uapi_tpl(const struct pl_seed_update *su, struct plasmatic_tpl *t)
{
	memset(t, 0, sizeof(*t));
	t->mode = su->mode;
	t->flags = (su->flags & PL_SU_FLAG_LOCK) ? PLASMATIC_TPL_LOCK : 0;
	t->seed = su->seed;
}

/* PLASMATIC_TPL_TX or PLASMATIC_SEED_UPDATE; 0 or -1 (err filled). */
static int kernel_tpl(struct pl_conn *c, int opt,
		      const struct pl_seed_update *su, struct pl_error *err)
{
	struct plasmatic_tpl t;
	int rc;

	uapi_tpl(su, &t);
	rc = setsockopt(c->fd, SOL_PLASMATIC, opt, &t, sizeof(t));
	if (rc) {
		int e = errno;

		err->sys_errno = e;
		pl_err_set(err, PL_E_KERNEL, "setsockopt PLASMATIC_%s (mode %u): %s%s",
			   opt == PLASMATIC_TPL_TX ? "TPL_TX" : "SEED_UPDATE",
			   su->mode, strerror(e),
			   e == ENOPROTOOPT || e == EINVAL ?
			   " (this plasmatic.ko has no TPL shaping: load a newer module, or use the userspace datapath)" : "");
		errno = e;
	}
	OPENSSL_cleanse(&t, sizeof(t));
	return rc ? -1 : 0;
}

/*
 * 0 done, 1 module missing, 2 socket no longer ESTABLISHED (the peer sent
 * its data and FIN before we attached: the ULP refuses CLOSE_WAIT, as kTLS
 * does), -1 error.  On 1 and 2 nothing changed on the socket.
 *
 * The TX shaping is set before the RX keys, so that a Seed Update of the
 * peer's that the module accepts is never overwritten by it; our own Seed
 * Update for the peer is queued once the TX keys are there.
 */
static int kernel_upgrade(struct pl_conn *c, const struct pl_start *st,
			  const struct pl_seed_update *init,
			  const struct pl_seed_update *peer_su,
			  const uint8_t *tx_secret, const uint8_t *rx_secret,
			  size_t secret_len, struct pl_error *err)
{
	bool tx_sec = false, rx_sec = false;

	if (setsockopt(c->fd, SOL_TCP, TCP_ULP, PLASMATIC_ULP_NAME,
		       sizeof(PLASMATIC_ULP_NAME))) {
		if (errno == ENOENT)
			return 1;
		if (errno == ENOTCONN)
			return 2;
		err->sys_errno = errno;
		pl_err_set(err, PL_E_KERNEL, "setsockopt TCP_ULP \"%s\": %s",
			   PLASMATIC_ULP_NAME, strerror(errno));
		return -1;
	}
	if (kernel_tpl(c, PLASMATIC_TPL_TX, init, err)) {
		/* A module without TPL shaping sends as mode 0 would. */
		if (init->mode != 0 || peer_su->kind ||
		    (errno != ENOPROTOOPT && errno != EINVAL))
			return -1;
		pl_err_clear(err);
	}
	if (kernel_dir(c, true, &st->tx_eem, st->tx_seq, tx_secret, secret_len,
		       &tx_sec, err) ||
	    (peer_su->kind &&
	     kernel_tpl(c, PLASMATIC_SEED_UPDATE, peer_su, err)) ||
	    kernel_dir(c, false, &st->rx_eem, st->rx_seq, rx_secret, secret_len,
		       &rx_sec, err))
		return -1;
	c->kernel_secrets = tx_sec && rx_sec;
	return 0;
}

static int userspace_upgrade(struct pl_conn *c, struct pl_start *st,
			     const struct pl_seed_update *init,
			     const struct pl_seed_update *peer_su,
			     const uint8_t *tx_secret, const uint8_t *rx_secret,
			     size_t secret_len, struct pl_error *err)
{
	struct pl_dir_config dc = {
		.suite = c->suite,
		.secret_len = secret_len,
		.seq = st->tx_seq,
		.framing = c->framing,
		.eem_len = c->eem_len,
	};
	int rc;

	dc.secret = tx_secret;
	dc.eem_key = st->tx_eem.key;
	dc.eem_nonce = st->tx_eem.nonce;
	c->tx = st->tx ? st->tx : pl_tx_new(&dc, &rc);
	st->tx = NULL;
	if (!c->tx)
		goto fail;
	dc.seq = st->rx_seq;
	dc.secret = rx_secret;
	dc.eem_key = st->rx_eem.key;
	dc.eem_nonce = st->rx_eem.nonce;
	c->rx = st->rx ? st->rx : pl_rx_new(&dc, &rc);
	st->rx = NULL;
	if (!c->rx)
		goto fail;
	c->tpl = pl_tpl_new(init->mode, init->seed,
			    init->flags & PL_SU_FLAG_LOCK, &rc);
	if (!c->tpl)
		goto fail;
	if (peer_su->kind) {
		c->su_out = *peer_su;
		c->su_queued = true;
	}
	/* outbuf and inbuf come with the first data (buf_get). */
	c->outcap = OUT_RECORDS * PL_MAX_WIRE_LEN;
	return 0;
fail:
	err->engine_err = rc;
	pl_err_set(err, rc == PL_ERR_NOMEM ? PL_E_NOMEM : PL_E_ENGINE,
		   "engine setup failed: %s", pl_strerror(rc));
	return -1;
}

struct pl_conn *pl_conn_upgrade(struct pl_ctx *ctx, SSL *ssl, int fd,
				struct pl_hs_secrets *sec,
				struct pl_start *st, struct pl_error *err)
{
	const uint8_t *tx_secret, *rx_secret;
	const unsigned char *alpn = NULL;
	unsigned int alpn_len = 0;
	struct pl_seed_update init, peer_su = { 0 };
	struct pl_conn *c;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c) {
		pl_err_set(err, PL_E_NOMEM, NULL);
		return NULL;
	}
	pthread_mutex_init(&c->tx_lock, NULL);
	pthread_mutex_init(&c->tpl_mu, NULL);
	pthread_mutex_init(&c->err_mu, NULL);
	pl_err_clear(&c->err);
	c->fd = fd;
	c->role = ctx->role;
	c->suite = (uint16_t)SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(ssl));
	c->framing = ctx->framing;
	c->eem_len = ctx->eem_len;
	c->psk = ctx->psk != NULL;
	c->close_notify = ctx->close_notify;
	c->end = PLASMATIC_END_NONE;
	c->fatal_alert = -1;
	SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
	if (alpn && alpn_len < sizeof(c->alpn)) {
		memcpy(c->alpn, alpn, alpn_len);
		c->alpn[alpn_len] = 0;
	}

	if (c->role == PL_ROLE_CLIENT) {
		tx_secret = sec->client;
		rx_secret = sec->server;
	} else {
		tx_secret = sec->server;
		rx_secret = sec->client;
	}
	/* TX shaping (SPEC 9.4): the opening's Seed Update counts as one
	 * sent (client) or applied (server). */
	tpl_initial(ctx, st, &init);
	if (st->open_su.kind == PL_SU_SEED) {
		if (c->role == PL_ROLE_CLIENT)
			c->su_sent = 1;
		else
			c->su_applied = 1;
	}
	if (c->role == PL_ROLE_SERVER && ctx->peer_mode >= 0 &&
	    pl_peer_su(ctx, &peer_su)) {
		pl_err_set(err, PL_E_ENGINE, "no random bytes");
		goto fail;
	}

	rc = 1;
	if (ctx->datapath != PL_DATAPATH_USERSPACE)
		rc = kernel_upgrade(c, st, &init, &peer_su, tx_secret, rx_secret,
				    sec->client_len, err);
	if (rc < 0)
		goto fail;
	if (rc == 0) {
		c->datapath = PL_DATAPATH_KERNEL;
	} else if (rc == 2 && ctx->datapath == PL_DATAPATH_KERNEL) {
		err->sys_errno = ENOTCONN;
		pl_err_set(err, PL_E_KERNEL,
			   "setsockopt TCP_ULP \"%s\": the connection is no longer established (the peer already closed its side)",
			   PLASMATIC_ULP_NAME);
		goto fail;
	} else if (ctx->datapath == PL_DATAPATH_KERNEL) {
		pl_err_set(err, PL_E_MODULE_MISSING,
			   "the kernel datapath was required but TCP_ULP \"%s\" is not available (load plasmatic.ko)",
			   PLASMATIC_ULP_NAME);
		goto fail;
	} else {
		c->datapath = PL_DATAPATH_USERSPACE;
		if (userspace_upgrade(c, st, &init, &peer_su, tx_secret,
				      rx_secret, sec->client_len, err))
			goto fail;
	}
	OPENSSL_cleanse(&init, sizeof(init));
	OPENSSL_cleanse(&peer_su, sizeof(peer_su));
	return c;
fail:
	OPENSSL_cleanse(&init, sizeof(init));
	OPENSSL_cleanse(&peer_su, sizeof(peer_su));
	pl_conn_free(c);
	return NULL;
}

/* ------------------------------------------------------------ accessors */

size_t pl_conn_record_max(const struct pl_conn *c)
{
	return c ? pl_max_content(c->framing, c->eem_len) : 0;
}

int pl_conn_fd(const struct pl_conn *c)
{
	return c ? c->fd : -1;
}

enum pl_datapath pl_conn_datapath(const struct pl_conn *c)
{
	return c ? c->datapath : PL_DATAPATH_AUTO;
}

int pl_conn_end(const struct pl_conn *c)
{
	return c ? c->end : PLASMATIC_END_NONE;
}

const struct pl_error *pl_conn_error(const struct pl_conn *c)
{
	return c ? &c->err : NULL;
}

int pl_conn_pending(const struct pl_conn *c)
{
	if (!c || c->datapath != PL_DATAPATH_USERSPACE)
		return 0;
	return c->pend_len > 0 || c->in_off < c->in_len || c->failed ||
	       c->end != PLASMATIC_END_NONE;
}

static const char *suite_name(uint16_t suite)
{
	switch (suite) {
	case PL_TLS_AES_128_GCM_SHA256:		return "TLS_AES_128_GCM_SHA256";
	case PL_TLS_AES_256_GCM_SHA384:		return "TLS_AES_256_GCM_SHA384";
	case PL_TLS_CHACHA20_POLY1305_SHA256:	return "TLS_CHACHA20_POLY1305_SHA256";
	}
	return "?";
}

int pl_conn_info(const struct pl_conn *c, struct pl_conn_info *info)
{
	if (!c || !info)
		return -1;
	memset(info, 0, sizeof(*info));
	info->datapath = c->datapath;
	info->suite = c->suite;
	info->suite_name = suite_name(c->suite);
	info->framing = c->framing;
	info->eem_len = c->eem_len;
	info->psk = c->psk;
	info->kernel_key_update = c->kernel_secrets;
	memcpy(info->alpn, c->alpn, sizeof(info->alpn));
	info->records_in = c->records_in;
	info->records_out = c->records_out;
	info->key_updates_in = c->key_updates_in;
	info->key_updates_out = c->key_updates_out;
	return 0;
}

void pl_conn_free(struct pl_conn *c)
{
	if (!c)
		return;
	pl_tx_free(c->tx);
	pl_rx_free(c->rx);
	pl_tpl_free(c->tpl);
	/* Only what was used: the rest was never touched (no page faults
	 * for nothing at every connection's end). */
	if (c->inbuf) {
		OPENSSL_cleanse(c->inbuf, c->in_hwm);
		free(c->inbuf);
	}
	if (c->outbuf) {
		OPENSSL_cleanse(c->outbuf, c->out_hwm);
		free(c->outbuf);
	}
	pthread_mutex_destroy(&c->tx_lock);
	pthread_mutex_destroy(&c->tpl_mu);
	pthread_mutex_destroy(&c->err_mu);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

/* ------------------------------------------------ userspace: sending */

static int send_all(struct pl_conn *c, const uint8_t *p, size_t n, int flags)
{
	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | flags);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			conn_fail(c, PL_E_SYS, errno, 0, "send: %s", strerror(errno));
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Send what outbuf holds, [out_off, out_len): 0 once all of it is sent,
 * 1 if an O_NONBLOCK socket took only part (the rest waits for
 * pl_conn_flush(); errno EAGAIN), -1 on failure.  tx_lock held.
 */
static int out_flush(struct pl_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->outbuf + c->out_off,
				 c->out_len - c->out_off,
				 MSG_NOSIGNAL | c->out_flags);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && would_block(c->fd))
			return 1;
		if (w < 0) {
			conn_fail(c, PL_E_SYS, errno, 0, "send: %s", strerror(errno));
			return -1;
		}
		c->out_off += (size_t)w;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

/* Send the @len bytes just sealed at the start of outbuf: as out_flush(). */
static int out_send(struct pl_conn *c, size_t len, int flags)
{
	c->out_off = 0;
	c->out_len = len;
	c->out_flags = flags;
	return out_flush(c);
}

/*
 * Before sealing more (tx_lock held): 0 when nothing is left unsent, 1
 * (errno EAGAIN) if an O_NONBLOCK socket still has no room for it.
 */
static int out_drain(struct pl_conn *c)
{
	return c->out_len ? out_flush(c) : 0;
}

/* outbuf holds data up to end: remember how far to wipe it. */
static void out_used(struct pl_conn *c, size_t end)
{
	if (end > c->out_hwm)
		c->out_hwm = end;
}

/*
 * The userspace datapath's buffers (128 KiB) are allocated at the first
 * data or KeyUpdate that needs them, not at the upgrade: a server holding
 * many idle connections pays for the ones that move data.  Alerts use a
 * small buffer on the stack.  outbuf under tx_lock, inbuf by the reader.
 */
static int buf_get(struct pl_conn *c, uint8_t **buf, size_t cap)
{
	if (*buf)
		return 0;
	*buf = malloc(cap);
	if (!*buf) {
		conn_fail(c, PL_E_NOMEM, ENOMEM, 0,
			  "no memory for the connection's buffers");
		return -1;
	}
	return 0;
}

/*
 * Seal one record of any type into out; tx_lock held.  A queued Seed
 * Update rides in its EEM (SPEC 5.3).  The engine's code.
 */
static int seal_rec(struct pl_conn *c, uint8_t type, const uint8_t *data,
		    size_t len, size_t pad, uint8_t *out, size_t cap, size_t *n)
{
	struct pl_seal_opts so = { .pad_len = pad };
	struct pl_seed_update su;
	int rc;

	pthread_mutex_lock(&c->tpl_mu);
	if (c->su_queued) {
		su = c->su_out;
		so.su = &su;
		c->su_queued = false;
	}
	pthread_mutex_unlock(&c->tpl_mu);
	rc = pl_tx_seal(c->tx, type, data, len, &so, out, cap, n);
	if (so.su) {
		pthread_mutex_lock(&c->tpl_mu);
		if (!rc)
			c->su_sent++;
		pthread_mutex_unlock(&c->tpl_mu);
		OPENSSL_cleanse(&su, sizeof(su));
	}
	return rc;
}

/* Seal one record at c->outbuf + *used; tx_lock held. */
static int seal_at(struct pl_conn *c, size_t *used, uint8_t type,
		   const uint8_t *data, size_t len, size_t pad)
{
	size_t n = 0;
	int rc;

	if (buf_get(c, &c->outbuf, c->outcap))
		return -1;
	rc = seal_rec(c, type, data, len, pad, c->outbuf + *used,
		      c->outcap - *used, &n);
	if (rc) {
		conn_fail(c, PL_E_ENGINE, 0, rc, "sealing a record failed: %s",
			  pl_strerror(rc));
		return -1;
	}
	*used += n;
	out_used(c, *used);
	c->records_out++;
	return 0;
}

/* A KeyUpdate record under the old key, then the new key; tx_lock held.
 * The record is left in outbuf at *used (caller sends). */
static int seal_key_update(struct pl_conn *c, size_t *used, int request)
{
	const uint8_t msg[5] = { HS_KEY_UPDATE, 0, 0, 1, request ? 1 : 0 };
	int rc;

	if (seal_at(c, used, PLASMATIC_CT_HANDSHAKE, msg, sizeof(msg), 0))
		return -1;
	rc = pl_tx_key_update(c->tx);
	if (rc) {
		conn_fail(c, PL_E_ENGINE, 0, rc, "KeyUpdate failed: %s",
			  pl_strerror(rc));
		return -1;
	}
	c->key_updates_out++;
	return 0;
}

/* Before application data: an owed KeyUpdate, or one the limit needs. */
static int tx_housekeeping(struct pl_conn *c, size_t *used)
{
	if (atomic_exchange(&c->ku_reply, 0) || pl_tx_records_left(c->tx) <= 1)
		return seal_key_update(c, used, 0);
	return 0;
}

/*
 * The reader failed.  The alert is posted before the failure is marked, so
 * that whoever holds the send side next (this thread, the writer, or
 * pl_conn_shutdown) sends it before anything else (SPEC 7).
 */
static void post_fatal(struct pl_conn *c, int alert)
{
	c->err.alert = alert;
	atomic_store(&c->fatal_posted, true);
	atomic_store(&c->fatal_alert, alert);
}

/* tx_lock held: send a posted fatal alert, then close. */
static void writer_check_fatal(struct pl_conn *c)
{
	int alert = atomic_exchange(&c->fatal_alert, -1);
	uint8_t rec[ALERT_WIRE_MAX], a[2] = { PL_ALERT_FATAL };
	size_t used = 0;

	if (alert < 0)
		return;
	a[1] = (uint8_t)alert;
	/*
	 * Sealed bytes not sent: dropped, the stream is over.  If part of
	 * them went out, a record is cut on the wire and no alert can follow.
	 */
	if (c->out_off)
		c->wr_shut = true;
	c->out_off = c->out_len = 0;
	if (!c->wr_shut &&
	    seal_rec(c, PLASMATIC_CT_ALERT, a, sizeof(a), 0, rec, sizeof(rec),
		     &used) == PL_OK)
		(void)!send(c->fd, rec, used, MSG_NOSIGNAL | MSG_DONTWAIT);
	c->wr_shut = true;
	shutdown(c->fd, SHUT_RDWR);
}

/* After post_fatal() and conn_fail(): send the alert if we can, close. */
static void us_fatal(struct pl_conn *c)
{
	struct timespec until;

	/* The writer holds the lock only while it seals and sends: wait a
	 * little for it rather than lose the alert. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	if (pthread_mutex_timedlock(&c->tx_lock, &until) == 0) {
		writer_check_fatal(c);
		pthread_mutex_unlock(&c->tx_lock);
		shutdown(c->fd, SHUT_RDWR);
	} else {
		/* The writer is stuck in send(): it sends the alert when it
		 * returns. */
		shutdown(c->fd, SHUT_RD);
	}
}

/* A write after the end: the reader's failure, or a use after shutdown. */
static void write_refused(struct pl_conn *c, const char *what)
{
	if (!c->failed && !atomic_load(&c->fatal_posted))
		conn_fail(c, PL_E_CLOSED, 0, 0, "%s after shutdown", what);
}

/*
 * One application_data record of the next TPL draw (SPEC 9.3) from the
 * left bytes at data: its target T is the size draw, capped at the
 * record's limit; in modes 1..8 the record is exactly T (content, then
 * zero padding when fewer bytes are left), in mode 0 it takes what there
 * is up to the limit.  *took: the bytes it holds; *shaped: modes 1..8.
 * tx_lock held.
 */
static int seal_data(struct pl_conn *c, size_t *used, const uint8_t *data,
		     size_t left, size_t *took, bool *shaped)
{
	size_t t, chunk, pad = 0, max = pl_tx_max_content(c->tx);
	struct pl_tpl_draw d;
	int rc;

	pthread_mutex_lock(&c->tpl_mu);
	if (c->su_in_pending) {
		/* SPEC 9.4: from the first record drawn after it arrived. */
		if (!pl_tpl_apply(c->tpl, &c->su_in))
			c->su_applied++;
		c->su_in_pending = false;
	}
	rc = pl_tpl_next(c->tpl, &d);
	if (!rc) {
		t = d.size < max ? d.size : max;
		chunk = left < t ? left : t;
		if (d.mode) {
			pad = t - chunk;
			c->tpl_records++;
			c->tpl_pad += pad;
		}
	}
	pthread_mutex_unlock(&c->tpl_mu);
	if (rc) {
		conn_fail(c, PL_E_ENGINE, 0, rc, "TPL draw failed: %s",
			  pl_strerror(rc));
		return -1;
	}
	if (seal_at(c, used, PLASMATIC_CT_APPLICATION_DATA, data, chunk, pad))
		return -1;
	*took = chunk;
	*shaped = d.mode != 0;
	return 0;
}

/*
 * Mode 0 sends up to OUT_RECORDS full records per send(); a shaped record
 * goes alone, with MSG_EOR, so that it starts a TCP segment of its own as
 * on the kernel datapath.
 */
static ssize_t us_write(struct pl_conn *c, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	int r;

	pthread_mutex_lock(&c->tx_lock);
	writer_check_fatal(c);
	if (c->failed || c->wr_shut) {
		write_refused(c, "write");
		goto fail;
	}
	r = out_drain(c);
	if (r < 0)
		goto fail;
	if (r > 0) {
		pthread_mutex_unlock(&c->tx_lock);
		return -1;	/* errno EAGAIN: not a failure */
	}
	do {
		size_t used = 0;
		int flags = 0;

		if (tx_housekeeping(c, &used))
			goto fail;
		while (off < len && c->outcap - used >= PL_MAX_WIRE_LEN) {
			size_t chunk;
			bool shaped;

			if (seal_data(c, &used, buf + off, len - off, &chunk,
				      &shaped))
				goto fail;
			off += chunk;
			if (shaped) {
				flags = MSG_EOR;
				break;
			}
			if (pl_tx_records_left(c->tx) <= 1)
				break;
		}
		r = out_send(c, used, flags);
		if (r < 0)
			goto fail;
		if (r > 0)
			break;	/* O_NONBLOCK: the rest is pl_conn_flush()'s */
		writer_check_fatal(c);
	} while (off < len);
	pthread_mutex_unlock(&c->tx_lock);
	return (ssize_t)off;
fail:
	pthread_mutex_unlock(&c->tx_lock);
	return fail_ret(c);
}

/* --------------------------------------------- userspace: receiving */

static void record_failed(struct pl_conn *c, int rc)
{
	post_fatal(c, PL_ALERT_BAD_RECORD_MAC);
	if (!c->records_in)
		conn_fail(c, PL_E_PSK_MISMATCH, 0, rc,
			  "the first record from the peer failed its checks (%s): the PSK or the connection parameters (framing %s, EEM length %u) differ from the peer's, or the peer does not speak Plasmatic",
			  pl_strerror(rc), pl_framing_name(c->framing), c->eem_len);
	else
		conn_fail(c, PL_E_BAD_RECORD, 0, rc,
			  "a record from the peer failed its checks (%s)",
			  pl_strerror(rc));
	us_fatal(c);
}

static void protocol_failed(struct pl_conn *c, int alert, const char *what)
{
	post_fatal(c, alert);
	conn_fail(c, PL_E_PROTOCOL, 0, 0, "protocol error: %s", what);
	us_fatal(c);
}

/* A post-handshake handshake record: KeyUpdate, or a ticket to ignore. */
static int handle_handshake(struct pl_conn *c, const uint8_t *p, size_t len)
{
	while (len) {
		size_t take, mlen;

		/* Collect the 4-byte header, then (for KeyUpdate) the body. */
		if (c->hs_len < 4) {
			take = 4 - c->hs_len;
			if (take > len)
				take = len;
			memcpy(c->hsbuf + c->hs_len, p, take);
			c->hs_len += take;
			p += take;
			len -= take;
			if (c->hs_len < 4)
				break;
		}
		mlen = (size_t)c->hsbuf[1] << 16 | (size_t)c->hsbuf[2] << 8 |
		       c->hsbuf[3];
		if (c->hsbuf[0] == HS_NEW_SESSION_TICKET &&
		    c->role == PL_ROLE_CLIENT) {
			/* SPEC 2: ignored; skip its body. */
			size_t done = c->hs_len - 4;

			take = mlen - done;
			if (take > len)
				take = len;
			c->hs_len += take;
			p += take;
			len -= take;
			if (c->hs_len - 4 == mlen)
				c->hs_len = 0;
			continue;
		}
		if (c->hsbuf[0] != HS_KEY_UPDATE) {
			protocol_failed(c, ALERT_UNEXPECTED_MESSAGE,
					"unexpected post-handshake message");
			return -1;
		}
		if (mlen != 1) {
			protocol_failed(c, ALERT_DECODE_ERROR, "bad KeyUpdate length");
			return -1;
		}
		if (c->hs_len < 5) {
			c->hsbuf[4] = *p++;
			len--;
			c->hs_len = 5;
		}
		if (c->hsbuf[4] > 1) {
			protocol_failed(c, ALERT_DECODE_ERROR, "bad KeyUpdate value");
			return -1;
		}
		/* RFC 8446 5.1: a key change must end its record. */
		if (len) {
			protocol_failed(c, ALERT_UNEXPECTED_MESSAGE,
					"data after KeyUpdate in its record");
			return -1;
		}
		c->hs_len = 0;
		{
			int rc = pl_rx_key_update(c->rx);

			if (rc) {
				post_fatal(c, ALERT_UNEXPECTED_MESSAGE);
				conn_fail(c, PL_E_ENGINE, 0, rc,
					  "receive KeyUpdate failed: %s",
					  pl_strerror(rc));
				us_fatal(c);
				return -1;
			}
		}
		c->key_updates_in++;
		if (c->hsbuf[4])
			atomic_store(&c->ku_reply, 1);
	}
	return 0;
}

/* 1 data pending, 0 continue, -1 failed, 2 end of data. */
static int handle_record(struct pl_conn *c, const struct pl_record *rec)
{
	c->records_in++;
	/* SPEC 9.4: our TX shaping from the next record we draw (a later
	 * update before then replaces it), as the kernel does. */
	if (rec->su.kind == PL_SU_SEED) {
		pthread_mutex_lock(&c->tpl_mu);
		c->su_in = rec->su;
		c->su_in_pending = true;
		pthread_mutex_unlock(&c->tpl_mu);
	}
	switch (rec->content_type) {
	case PLASMATIC_CT_APPLICATION_DATA:
		if (c->hs_len) {
			protocol_failed(c, ALERT_UNEXPECTED_MESSAGE,
					"application data inside a handshake message");
			return -1;
		}
		c->pend = rec->content;
		c->pend_len = rec->len;
		return rec->len ? 1 : 0;
	case PLASMATIC_CT_ALERT:
		if (rec->len != 2) {
			protocol_failed(c, ALERT_DECODE_ERROR, "malformed alert");
			return -1;
		}
		if (rec->content[1] == PL_ALERT_CLOSE_NOTIFY) {
			c->end = PLASMATIC_END_CLOSE_NOTIFY;
			return 2;
		}
		/* RFC 8446 6.1: not fatal; a close_notify follows. */
		if (rec->content[1] == ALERT_USER_CANCELED)
			return 0;
		conn_fail(c, PL_E_PEER_ALERT, 0, 0, "the peer sent alert %s (%d)%s",
			  SSL_alert_desc_string_long(rec->content[1]),
			  rec->content[1],
			  rec->content[1] == PL_ALERT_BAD_RECORD_MAC ?
			  ": it rejected a record of ours" : "");
		c->err.alert = rec->content[1];
		shutdown(c->fd, SHUT_RDWR);
		return -1;
	case PLASMATIC_CT_HANDSHAKE:
		return handle_handshake(c, rec->content, rec->len) ? -1 : 0;
	}
	protocol_failed(c, ALERT_UNEXPECTED_MESSAGE, "bad content type");
	return -1;
}

static ssize_t us_read(struct pl_conn *c, uint8_t *buf, size_t len)
{
	for (;;) {
		struct pl_record rec;
		size_t consumed = 0;
		ssize_t n;
		int rc;

		if (c->pend_len) {
			size_t k = len < c->pend_len ? len : c->pend_len;

			memcpy(buf, c->pend, k);
			c->pend += k;
			c->pend_len -= k;
			return (ssize_t)k;
		}
		if (c->failed)
			return fail_ret(c);
		if (c->end != PLASMATIC_END_NONE)
			return 0;
		if (c->in_off < c->in_len) {
			rc = pl_rx_feed(c->rx, c->inbuf + c->in_off,
					c->in_len - c->in_off, &consumed, &rec);
			c->in_off += consumed;
			if (rc < 0) {
				record_failed(c, rc);
				return fail_ret(c);
			}
			if (rc == 1) {
				rc = handle_record(c, &rec);
				if (rc < 0)
					return fail_ret(c);
				if (rc == 2)
					return 0;
			}
			continue;
		}
		c->in_off = c->in_len = 0;
		if (buf_get(c, &c->inbuf, IN_CAP))
			return fail_ret(c);
		n = recv(c->fd, c->inbuf, IN_CAP, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && would_block(c->fd))
			return -1;	/* errno EAGAIN: not a failure */
		if (n < 0) {
			conn_fail(c, PL_E_SYS, errno, 0, "recv: %s", strerror(errno));
			return fail_ret(c);
		}
		if (n == 0) {
			rc = pl_rx_end(c->rx);
			if (rc || c->hs_len) {
				conn_fail(c, PL_E_BAD_RECORD, 0, rc,
					  "the connection was cut inside a record");
				return fail_ret(c);
			}
			c->end = PLASMATIC_END_TRUNCATED;
			return 0;
		}
		c->in_len = (size_t)n;
		if (c->in_len > c->in_hwm)
			c->in_hwm = c->in_len;
	}
}

/* --------------------------------------------------- kernel datapath */

/*
 * Whether the module's errno @e for a read says that a record from the
 * peer failed its checks (SPEC 7), answered with bad_record_mac: EBADMSG,
 * or as kTLS tells causes apart, EINVAL (a header that is not TLS 1.3's)
 * and EMSGSIZE (a length beyond the largest record).
 */
static int k_record_failed(int e)
{
	return e == EBADMSG || e == EINVAL || e == EMSGSIZE;
}

/*
 * A call on the kernel datapath failed with @e (a read's errno mapped to
 * EBADMSG by k_record_failed()).  EBADMSG: a record from the peer failed
 * its checks; on the very first record that means a PSK or parameter
 * mismatch.
 */
static void k_fail_errno(struct pl_conn *c, int e, const char *call)
{
	if (e == EBADMSG && !c->k_any_read)
		conn_fail(c, PL_E_PSK_MISMATCH, e, 0,
			  "the first record from the peer failed its checks: the PSK or the connection parameters (framing %s, EEM length %u) differ from the peer's, or the peer does not speak Plasmatic",
			  pl_framing_name(c->framing), c->eem_len);
	else if (e == EBADMSG)
		conn_fail(c, PL_E_BAD_RECORD, e, 0,
			  "a record from the peer failed its checks");
	else if (e == EAGAIN || e == EWOULDBLOCK)
		conn_fail(c, PL_E_SYS, e, 0, "%s: timed out", call);
	else
		conn_fail(c, PL_E_SYS, e, 0, "%s: %s", call, strerror(e));
	if (e == EBADMSG)
		c->err.alert = PL_ALERT_BAD_RECORD_MAC;
}

static ssize_t k_read(struct pl_conn *c, uint8_t *buf, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(uint8_t))];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	ssize_t n;

	if (c->failed)
		return fail_ret(c);
	if (c->end != PLASMATIC_END_NONE)
		return 0;
	do {
		n = recvmsg(c->fd, &msg, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && would_block(c->fd))
		return -1;	/* errno EAGAIN: not a failure */
	if (n < 0) {
		k_fail_errno(c, k_record_failed(errno) ? EBADMSG : errno, "recv");
		return fail_ret(c);
	}
	if (n == 0) {
		int end = PLASMATIC_END_TRUNCATED;
		socklen_t sl = sizeof(end);

		if (getsockopt(c->fd, SOL_PLASMATIC, PLASMATIC_RX_END, &end, &sl) ||
		    end == PLASMATIC_END_NONE)
			end = PLASMATIC_END_TRUNCATED;
		c->end = end;
		return 0;
	}
	c->k_any_read = true;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		uint8_t type;

		if (cm->cmsg_level != SOL_PLASMATIC ||
		    cm->cmsg_type != PLASMATIC_RECORD_TYPE)
			continue;
		type = *CMSG_DATA(cm);
		if (type == PLASMATIC_CT_APPLICATION_DATA)
			break;
		if (type == PLASMATIC_CT_ALERT && n == 2) {
			if (buf[1] == PL_ALERT_CLOSE_NOTIFY) {
				c->end = PLASMATIC_END_CLOSE_NOTIFY;
				return 0;
			}
			c->err.alert = buf[1];
			conn_fail(c, PL_E_PEER_ALERT, 0, 0,
				  "the peer sent alert %s (%d)",
				  SSL_alert_desc_string_long(buf[1]), buf[1]);
			return fail_ret(c);
		}
		conn_fail(c, PL_E_PROTOCOL, 0, 0,
			  "unexpected record of type %u on the kernel datapath",
			  type);
		return fail_ret(c);
	}
	return n;
}

/*
 * A send on the kernel path failed.  When the peer reset or closed the
 * connection, the reason is usually waiting on the receive side (its
 * bad_record_mac alert, or a first record our keys cannot open: a PSK
 * mismatch); peek at it, without consuming anything a reader may want, so
 * that the error says why rather than "Broken pipe".
 */
static void k_write_failed(struct pl_conn *c, int e)
{
	char cbuf[CMSG_SPACE(sizeof(uint8_t))];
	uint8_t rec[2];
	struct iovec iov = { .iov_base = rec, .iov_len = sizeof(rec) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	ssize_t n;

	if (e == EPIPE || e == ECONNRESET) {
		n = recvmsg(c->fd, &msg, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && k_record_failed(errno))
			e = EBADMSG;
		cm = n == 2 ? CMSG_FIRSTHDR(&msg) : NULL;
		if (cm && cm->cmsg_level == SOL_PLASMATIC &&
		    cm->cmsg_type == PLASMATIC_RECORD_TYPE &&
		    *CMSG_DATA(cm) == PLASMATIC_CT_ALERT &&
		    rec[0] == PL_ALERT_FATAL) {
			c->err.alert = rec[1];
			conn_fail(c, PL_E_PEER_ALERT, 0, 0,
				  "the peer sent alert %s (%d)",
				  SSL_alert_desc_string_long(rec[1]), rec[1]);
			return;
		}
	}
	k_fail_errno(c, e, "send");
}

static ssize_t k_write(struct pl_conn *c, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	if (c->failed)
		return fail_ret(c);
	while (off < len) {
		ssize_t w = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && would_block(c->fd))
			return off ? (ssize_t)off : -1;	/* EAGAIN */
		if (w < 0) {
			k_write_failed(c, errno);
			return fail_ret(c);
		}
		off += (size_t)w;
	}
	return (ssize_t)len;
}

/* ------------------------------------------------------------ public */

ssize_t pl_conn_read(struct pl_conn *c, void *buf, size_t len)
{
	if (!c || (!buf && len)) {
		errno = EINVAL;
		return -1;
	}
	if (!len)
		return 0;
	return c->datapath == PL_DATAPATH_KERNEL ? k_read(c, buf, len) :
						   us_read(c, buf, len);
}

ssize_t pl_conn_write(struct pl_conn *c, const void *buf, size_t len)
{
	if (!c || (!buf && len)) {
		errno = EINVAL;
		return -1;
	}
	if (!len)
		return 0;
	return c->datapath == PL_DATAPATH_KERNEL ? k_write(c, buf, len) :
						   us_write(c, buf, len);
}

int pl_conn_flush(struct pl_conn *c)
{
	int r;

	if (!c) {
		errno = EINVAL;
		return -1;
	}
	if (c->datapath == PL_DATAPATH_KERNEL)
		return c->failed ? (int)fail_ret(c) : 0;
	pthread_mutex_lock(&c->tx_lock);
	writer_check_fatal(c);
	r = c->failed ? -1 : out_drain(c);
	pthread_mutex_unlock(&c->tx_lock);
	if (r > 0)
		return -1;	/* errno EAGAIN */
	return r ? (int)fail_ret(c) : 0;
}

int pl_conn_want_write(struct pl_conn *c)
{
	int r;

	if (!c || c->datapath != PL_DATAPATH_USERSPACE)
		return 0;
	pthread_mutex_lock(&c->tx_lock);
	r = c->out_len > 0 && !c->failed;
	pthread_mutex_unlock(&c->tx_lock);
	return r;
}

int pl_conn_key_update(struct pl_conn *c, int request_peer)
{
	int rc = -1;

	if (!c) {
		errno = EINVAL;
		return -1;
	}
	if (c->datapath == PL_DATAPATH_KERNEL) {
		int v = request_peer ? PLASMATIC_KU_REQUESTED :
				       PLASMATIC_KU_NOT_REQUESTED;

		if (!c->kernel_secrets) {
			/* Not sticky: the connection itself is fine. */
			errno = EOPNOTSUPP;
			return -1;
		}
		if (setsockopt(c->fd, SOL_PLASMATIC, PLASMATIC_KEY_UPDATE, &v,
			       sizeof(v))) {
			conn_fail(c, PL_E_KERNEL, errno, 0,
				  "setsockopt PLASMATIC_KEY_UPDATE: %s",
				  strerror(errno));
			return (int)fail_ret(c);
		}
		c->key_updates_out++;
		return 0;
	}
	pthread_mutex_lock(&c->tx_lock);
	writer_check_fatal(c);
	if (!c->failed && !c->wr_shut) {
		size_t used = 0;
		int r = out_drain(c);

		if (r > 0) {
			pthread_mutex_unlock(&c->tx_lock);
			return -1;	/* errno EAGAIN: flush first */
		}
		atomic_store(&c->ku_reply, 0);	/* this one answers too */
		if (!r && !seal_key_update(c, &used, request_peer)) {
			/* An O_NONBLOCK socket may take it later. */
			if (out_send(c, used, 0) >= 0)
				rc = 0;
		}
	} else {
		write_refused(c, "KeyUpdate");
	}
	pthread_mutex_unlock(&c->tx_lock);
	return rc ? (int)fail_ret(c) : 0;
}

int pl_conn_seed_update(struct pl_conn *c, int mode, uint64_t seed, int lock)
{
	struct pl_seed_update su = {
		.kind = PL_SU_SEED, .mode = (uint8_t)mode,
		.flags = lock ? PL_SU_FLAG_LOCK : 0, .seed = seed,
	};
	int rc = 0;

	if (!c) {
		errno = EINVAL;
		return -1;
	}
	if (mode < 0 || mode > PL_TPL_MODE_MAX) {
		conn_note(c, PL_E_INVAL, 0,
			  "bad Seed Update mode %d: a mode from 0 to %d", mode,
			  PL_TPL_MODE_MAX);
		errno = EINVAL;
		return -1;
	}
	if (c->failed)
		return (int)fail_ret(c);
	if (c->datapath == PL_DATAPATH_KERNEL) {
		struct pl_error e;

		pl_err_clear(&e);
		if (kernel_tpl(c, PLASMATIC_SEED_UPDATE, &su, &e)) {
			conn_note(c, e.code, e.sys_errno, "%s", e.msg);
			errno = e.sys_errno;
			rc = -1;
		}
	} else {
		pthread_mutex_lock(&c->tpl_mu);
		c->su_out = su;
		c->su_queued = true;
		pthread_mutex_unlock(&c->tpl_mu);
	}
	OPENSSL_cleanse(&su, sizeof(su));
	return rc;
}

int pl_conn_tpl_state(struct pl_conn *c, struct pl_tpl_state *st)
{
	if (!c || !st) {
		errno = EINVAL;
		return -1;
	}
	memset(st, 0, sizeof(*st));
	if (c->datapath == PL_DATAPATH_KERNEL) {
		struct plasmatic_tpl_state k;
		socklen_t len = sizeof(k);

		memset(&k, 0, sizeof(k));
		if (getsockopt(c->fd, SOL_PLASMATIC, PLASMATIC_TPL_TX, &k, &len)) {
			int e = errno;

			conn_note(c, PL_E_KERNEL, e,
				  "getsockopt PLASMATIC_TPL_TX: %s", strerror(e));
			errno = e;
			return -1;
		}
		st->mode = k.mode;
		st->lock = !!(k.flags & PLASMATIC_TPL_LOCK);
		st->su_queued = k.su_queued;
		st->draws = k.draws;
		st->records = k.records;
		st->pad_bytes = k.pad_bytes;
		/* The opening record's, sent or applied by the library. */
		st->su_sent = k.su_sent + c->su_sent;
		st->su_applied = k.su_applied + c->su_applied;
		return 0;
	}
	pthread_mutex_lock(&c->tpl_mu);
	st->mode = pl_tpl_mode(c->tpl);
	st->lock = pl_tpl_locked(c->tpl);
	st->su_queued = c->su_queued;
	st->draws = pl_tpl_counter(c->tpl);
	st->records = c->tpl_records;
	st->pad_bytes = c->tpl_pad;
	st->su_sent = c->su_sent;
	st->su_applied = c->su_applied;
	pthread_mutex_unlock(&c->tpl_mu);
	return 0;
}

int pl_conn_shutdown(struct pl_conn *c)
{
	int rc = 0;

	if (!c) {
		errno = EINVAL;
		return -1;
	}
	if (c->datapath == PL_DATAPATH_KERNEL) {
		int one = 1;

		if (c->close_notify)
			(void)setsockopt(c->fd, SOL_PLASMATIC, PLASMATIC_CLOSE_NOTIFY,
					 &one, sizeof(one));
		c->wr_shut = true;
		return shutdown(c->fd, SHUT_WR);
	}
	pthread_mutex_lock(&c->tx_lock);
	writer_check_fatal(c);
	if (!c->wr_shut && !c->failed) {
		int r = out_drain(c);

		if (r) {
			pthread_mutex_unlock(&c->tx_lock);
			return -1;	/* EAGAIN: flush first; or failed */
		}
	}
	if (!c->wr_shut) {
		if (c->close_notify && !c->failed) {
			const uint8_t a[2] = { PL_ALERT_WARNING,
					       PL_ALERT_CLOSE_NOTIFY };
			uint8_t rec[ALERT_WIRE_MAX];
			size_t used = 0;
			int e = seal_rec(c, PLASMATIC_CT_ALERT, a, sizeof(a), 0,
					 rec, sizeof(rec), &used);

			if (e)
				conn_fail(c, PL_E_ENGINE, 0, e,
					  "sealing close_notify failed: %s",
					  pl_strerror(e));
			if (e || send_all(c, rec, used, 0))
				rc = -1;
		}
		c->wr_shut = true;
		if (shutdown(c->fd, SHUT_WR) && !rc && errno != ENOTCONN)
			rc = -1;
	}
	pthread_mutex_unlock(&c->tx_lock);
	return rc;
}
