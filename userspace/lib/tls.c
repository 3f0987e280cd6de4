// SPDX-License-Identifier: GPL-2.0
/*
 * TLS 1.3 handshake with OpenSSL 3, and what it hands to the upgrade:
 * the two application traffic secrets (from the keylog callback: OpenSSL
 * 3.0 has no other API), the exporter output of SPEC section 4, and proof
 * that OpenSSL neither read nor wrote any record under the application
 * keys (the read and write sequence numbers are 0).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "internal.h"

#define PL_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:" \
		  "TLS_CHACHA20_POLY1305_SHA256"

void pl_config_init(struct pl_config *cfg, enum pl_role role)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->role = role;
	cfg->verify = 1;
	cfg->framing = PLASMATIC_FRAMING_COVERED;
	cfg->eem_len = PLASMATIC_EEM_LEN_DEFAULT;
	cfg->datapath = PL_DATAPATH_AUTO;
	cfg->close_notify = 1;
	cfg->handshake_timeout = PL_TIMEOUT_DEFAULT;
	cfg->open_timeout = PL_TIMEOUT_DEFAULT;
	cfg->tpl_mode = 0;
	cfg->tpl_lock = 0;
	cfg->peer_mode = -1;
}

const char *pl_datapath_name(enum pl_datapath dp)
{
	switch (dp) {
	case PL_DATAPATH_AUTO:		return "auto";
	case PL_DATAPATH_KERNEL:	return "kernel";
	case PL_DATAPATH_USERSPACE:	return "userspace";
	}
	return "?";
}

const char *pl_framing_name(uint8_t framing)
{
	switch (framing) {
	case PLASMATIC_FRAMING_DETACHED:	return "detached";
	case PLASMATIC_FRAMING_COVERED:		return "covered";
	}
	return "?";
}

/* "a,b" -> wire format (length-prefixed); 0 or -1. */
static int alpn_encode(const char *list, unsigned char **out, size_t *out_len)
{
	size_t n = strlen(list), pos = 0;
	unsigned char *w = malloc(n + 1);
	const char *p = list, *q;

	if (!w)
		return -1;
	while (*p) {
		q = strchr(p, ',');
		if (!q)
			q = p + strlen(p);
		if (q == p || q - p > 255) {
			free(w);
			return -1;
		}
		w[pos++] = (unsigned char)(q - p);
		memcpy(w + pos, p, (size_t)(q - p));
		pos += (size_t)(q - p);
		p = *q ? q + 1 : q;
		if (*q && !*p) {	/* trailing comma */
			free(w);
			return -1;
		}
	}
	if (!pos) {
		free(w);
		return -1;
	}
	*out = w;
	*out_len = pos;
	return 0;
}

static int alpn_select_cb(SSL *ssl, const unsigned char **out,
			  unsigned char *outlen, const unsigned char *in,
			  unsigned int inlen, void *arg)
{
	struct pl_ctx *ctx = arg;
	unsigned char *sel;

	(void)ssl;
	if (SSL_select_next_proto(&sel, outlen, ctx->alpn_wire,
				  (unsigned int)ctx->alpn_wire_len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;	/* no_application_protocol */
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* Only the three suites of SPEC section 2, in OpenSSL's syntax. */
static int suites_valid(const char *list)
{
	static const char *const ok[] = {
		"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
		"TLS_CHACHA20_POLY1305_SHA256",
	};
	const char *p = list, *q;
	int n = 0;

	while (*p) {
		size_t len;
		int good = 0;

		q = strchr(p, ':');
		if (!q)
			q = p + strlen(p);
		len = (size_t)(q - p);
		if (!len || (*q && !q[1]))
			return 0;	/* empty name */
		for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
			if (strlen(ok[i]) == len && !memcmp(ok[i], p, len))
				good = 1;
		if (!good)
			return 0;
		n++;
		p = *q ? q + 1 : q;
	}
	return n > 0;
}

void pl_keylog_line(struct pl_hs *hs, const char *line)
{
	uint8_t *dst;
	size_t *dst_len, n = 0;
	const char *p;

	if (!hs || !hs->sec)
		return;
	if (!strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24)) {
		dst = hs->sec->client;
		dst_len = &hs->sec->client_len;
	} else if (!strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24)) {
		dst = hs->sec->server;
		dst_len = &hs->sec->server_len;
	} else if (!strncmp(line, "EXPORTER_SECRET ", 16)) {
		dst = hs->sec->exporter;
		dst_len = &hs->sec->exporter_len;
	} else {
		return;
	}
	p = strchr(strchr(line, ' ') + 1, ' ');	/* skip the client random */
	if (!p) {
		hs->keylog_bad = true;
		return;
	}
	p++;
	while (p[0] && p[1]) {
		int hi = pl_hex_digit(p[0]), lo = pl_hex_digit(p[1]);

		if (n == PL_MAX_SECRET_LEN || hi < 0 || lo < 0) {
			hs->keylog_bad = true;
			break;
		}
		dst[n++] = (uint8_t)(hi << 4 | lo);
		p += 2;
	}
	if (*p && *p != '\n')
		hs->keylog_bad = true;
	*dst_len = n;
}

/* OpenSSL calls this with each secret line (NSS key log format). */
static void keylog_cb(const SSL *ssl, const char *line)
{
	pl_keylog_line(SSL_get_app_data(ssl), line);
}

/*
 * Watch the records OpenSSL reads and writes: any record header after the
 * peer's Finished (read) or after ours (written) is a record under the
 * application keys, whose sequence number would then not be 0.
 */
static void msg_cb(int write_p, int version, int content_type,
		   const void *buf, size_t len, SSL *ssl, void *arg)
{
	struct pl_hs *hs = arg;
	const unsigned char *b = buf;

	(void)version;
	(void)ssl;
	switch (content_type) {
	case SSL3_RT_HEADER:
		if (!write_p && hs->peer_finished)
			hs->records_read_after++;
		if (write_p && hs->own_finished)
			hs->records_written_after++;
		break;
	case SSL3_RT_HANDSHAKE:
		if (len >= 1 && b[0] == SSL3_MT_NEWSESSION_TICKET)
			hs->tickets++;
		if (len >= 1 && b[0] == SSL3_MT_FINISHED) {
			if (write_p)
				hs->own_finished = true;
			else
				hs->peer_finished = true;
		}
		break;
	case SSL3_RT_ALERT:
		if (len == 2) {
			if (write_p)
				hs->alert_sent = b[1];
			else
				hs->alert_received = b[1];
		}
		break;
	}
}

/*
 * nginx gives every server a 16-byte session id context (an MD5 over its
 * certificates), which its tickets carry: so do we, from the certificate,
 * so that our tickets have nginx's length (SPEC 2.2).
 */
static int set_session_id_context(SSL_CTX *sc)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	X509 *cert = SSL_CTX_get0_certificate(sc);
	unsigned int mdlen = 0;
	int len, ok;

	len = cert ? i2d_X509(cert, &der) : -1;
	if (len <= 0)
		return -1;
	ok = EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) &&
	     SSL_CTX_set_session_id_context(sc, md, 16);
	OPENSSL_free(der);
	return ok ? 0 : -1;
}

static char *dup_or_null(const char *s, bool *fail)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*fail = true;
	return d;
}

struct pl_ctx *pl_ctx_new(const struct pl_config *cfg, struct pl_error *err)
{
	struct pl_ctx *ctx;
	SSL_CTX *sc;
	bool fail = false;

	pl_err_clear(err);
	ERR_clear_error();
	if (!cfg || (cfg->role != PL_ROLE_CLIENT && cfg->role != PL_ROLE_SERVER)) {
		pl_err_set(err, PL_E_INVAL, "no configuration or bad role");
		return NULL;
	}
	if (!pl_params_valid(cfg->framing, cfg->eem_len)) {
		pl_err_set(err, PL_E_INVAL,
			   "bad connection parameters: framing %u (0 detached, 1 covered), EEM length %u (%d..%d)",
			   cfg->framing, cfg->eem_len, PLASMATIC_EEM_LEN_MIN,
			   PLASMATIC_EEM_LEN_MAX);
		return NULL;
	}
	if (cfg->datapath != PL_DATAPATH_AUTO &&
	    cfg->datapath != PL_DATAPATH_KERNEL &&
	    cfg->datapath != PL_DATAPATH_USERSPACE) {
		pl_err_set(err, PL_E_INVAL, "bad datapath %d", cfg->datapath);
		return NULL;
	}
	if (cfg->ciphersuites && !suites_valid(cfg->ciphersuites)) {
		pl_err_set(err, PL_E_INVAL,
			   "bad cipher suite list \"%s\": use a ':'-separated subset of %s",
			   cfg->ciphersuites, PL_SUITES);
		return NULL;
	}
	if (cfg->handshake_timeout < 0 || cfg->open_timeout < 0) {
		pl_err_set(err, PL_E_INVAL, "timeouts are seconds, 0 or more");
		return NULL;
	}
	if (cfg->tpl_mode < 0 || cfg->tpl_mode > PL_TPL_MODE_MAX) {
		pl_err_set(err, PL_E_INVAL, "bad TPL mode %d: a mode from 0 to %d",
			   cfg->tpl_mode, PL_TPL_MODE_MAX);
		return NULL;
	}
	if (cfg->peer_mode < -1 || cfg->peer_mode > PL_TPL_MODE_MAX) {
		pl_err_set(err, PL_E_INVAL,
			   "bad peer TPL mode %d: a mode from 0 to %d, or -1 for none",
			   cfg->peer_mode, PL_TPL_MODE_MAX);
		return NULL;
	}
	if (cfg->tpl_lock != 0 && cfg->tpl_lock != 1) {
		pl_err_set(err, PL_E_INVAL, "bad tpl_lock %d: 0 or 1",
			   cfg->tpl_lock);
		return NULL;
	}
	if (cfg->fallback && pl_fallback_check(cfg->fallback)) {
		pl_err_set(err, PL_E_INVAL,
			   "bad fallback \"%s\": use HOST:PORT or [IPv6]:PORT",
			   cfg->fallback);
		return NULL;
	}
	if (cfg->role == PL_ROLE_SERVER && (!cfg->cert_file || !cfg->key_file)) {
		pl_err_set(err, PL_E_INVAL, "a server needs a certificate and a key file");
		return NULL;
	}

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		pl_err_set(err, PL_E_NOMEM, NULL);
		return NULL;
	}
	ctx->role = cfg->role;
	ctx->framing = cfg->framing;
	ctx->eem_len = cfg->eem_len;
	ctx->datapath = cfg->datapath;
	ctx->verify = cfg->verify;
	ctx->close_notify = cfg->close_notify;
	ctx->psk = cfg->psk;
	ctx->hostname = dup_or_null(cfg->hostname, &fail);
	ctx->sni = dup_or_null(cfg->sni, &fail);
	ctx->fallback = dup_or_null(cfg->fallback, &fail);
	ctx->fallback_dir = dup_or_null(cfg->fallback_dir, &fail);
	ctx->handshake_timeout = cfg->handshake_timeout;
	ctx->open_timeout = cfg->open_timeout;
	ctx->tpl_mode = (uint8_t)cfg->tpl_mode;
	ctx->tpl_lock = cfg->tpl_lock;
	ctx->peer_mode = cfg->peer_mode;
	if (fail) {
		pl_err_set(err, PL_E_NOMEM, NULL);
		goto fail;
	}
	if (cfg->alpn && alpn_encode(cfg->alpn, &ctx->alpn_wire,
				     &ctx->alpn_wire_len)) {
		pl_err_set(err, PL_E_INVAL,
			   "bad ALPN list \"%s\": comma separated names of 1..255 bytes",
			   cfg->alpn);
		goto fail;
	}

	sc = SSL_CTX_new(cfg->role == PL_ROLE_CLIENT ? TLS_client_method() :
			 TLS_server_method());
	if (!sc) {
		pl_err_set(err, PL_E_NOMEM, "SSL_CTX_new failed");
		pl_err_append_ssl(err);
		goto fail;
	}
	ctx->ssl_ctx = sc;
	/*
	 * SPEC 2: TLS 1.3 only, three suites, no early data; the server
	 * sends two tickets as OpenSSL's default server does (the client
	 * reads them and never resumes).
	 */
	if (!SSL_CTX_set_min_proto_version(sc, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(sc, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(sc, cfg->ciphersuites ? cfg->ciphersuites :
				      PL_SUITES) ||
	    !SSL_CTX_set_num_tickets(sc, cfg->role == PL_ROLE_SERVER ?
				     PL_TICKETS : 0) ||
	    !SSL_CTX_set_max_early_data(sc, 0) ||
	    !SSL_CTX_set_recv_max_early_data(sc, 0)) {
		pl_err_set(err, PL_E_HANDSHAKE, "cannot configure OpenSSL");
		pl_err_append_ssl(err);
		goto fail;
	}
	SSL_CTX_set_options(sc, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
			    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_clear_options(sc, SSL_OP_NO_TICKET);
	SSL_CTX_clear_options(sc, SSL_OP_ENABLE_KTLS);
	SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_OFF);
	/* Never read beyond the record OpenSSL needs. */
	SSL_CTX_set_read_ahead(sc, 0);
	/* The handshake of curl (client) or nginx (server) on this host. */
	if (cfg->role == PL_ROLE_CLIENT ? pl_mimic_client(sc) :
	    pl_mimic_server(sc)) {
		pl_err_set(err, PL_E_HANDSHAKE, "cannot configure OpenSSL");
		pl_err_append_ssl(err);
		goto fail;
	}
	SSL_CTX_set_keylog_callback(sc, keylog_cb);

	if (cfg->role == PL_ROLE_CLIENT) {
		if (cfg->verify) {
			int ok;

			if (cfg->ca_file || cfg->ca_path)
				ok = SSL_CTX_load_verify_locations(sc, cfg->ca_file,
								   cfg->ca_path);
			else
				ok = SSL_CTX_set_default_verify_paths(sc);
			if (!ok) {
				pl_err_set(err, PL_E_CONFIG, "cannot load CA %s%s%s",
					   cfg->ca_file ? cfg->ca_file : "",
					   cfg->ca_file && cfg->ca_path ? " / " : "",
					   cfg->ca_path ? cfg->ca_path :
					   (cfg->ca_file ? "" : "system store"));
				pl_err_append_ssl(err);
				goto fail;
			}
			SSL_CTX_set_verify(sc, SSL_VERIFY_PEER, NULL);
		} else {
			SSL_CTX_set_verify(sc, SSL_VERIFY_NONE, NULL);
		}
		if (ctx->alpn_wire &&
		    SSL_CTX_set_alpn_protos(sc, ctx->alpn_wire,
					    (unsigned int)ctx->alpn_wire_len)) {
			pl_err_set(err, PL_E_INVAL, "cannot set ALPN");
			pl_err_append_ssl(err);
			goto fail;
		}
	} else {
		if (SSL_CTX_use_certificate_chain_file(sc, cfg->cert_file) != 1) {
			pl_err_set(err, PL_E_CONFIG, "cannot load certificate %s",
				   cfg->cert_file);
			pl_err_append_ssl(err);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(sc, cfg->key_file,
						SSL_FILETYPE_PEM) != 1) {
			pl_err_set(err, PL_E_CONFIG, "cannot load private key %s",
				   cfg->key_file);
			pl_err_append_ssl(err);
			goto fail;
		}
		if (SSL_CTX_check_private_key(sc) != 1) {
			pl_err_set(err, PL_E_CONFIG,
				   "private key %s does not match certificate %s",
				   cfg->key_file, cfg->cert_file);
			pl_err_append_ssl(err);
			goto fail;
		}
		/*
		 * A TLS 1.2 client is never Plasmatic: accept it as Debian's
		 * nginx does (its ssl_protocols and default ssl_ciphers) and
		 * serve it as a plain TLS client (SPEC 7.1).
		 */
		if (!SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION) ||
		    !SSL_CTX_set_cipher_list(sc, "HIGH:!aNULL:!MD5") ||
		    set_session_id_context(sc)) {
			pl_err_set(err, PL_E_HANDSHAKE, "cannot configure OpenSSL");
			pl_err_append_ssl(err);
			goto fail;
		}
		SSL_CTX_set_verify(sc, SSL_VERIFY_NONE, NULL);
		if (ctx->alpn_wire)
			SSL_CTX_set_alpn_select_cb(sc, alpn_select_cb, ctx);
	}
	return ctx;
fail:
	pl_ctx_free(ctx);
	return NULL;
}

void pl_ctx_free(struct pl_ctx *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx->hostname);
	free(ctx->sni);
	free(ctx->fallback);
	free(ctx->fallback_dir);
	free(ctx->alpn_wire);
	free(ctx);
}

/*
 * OpenSSL 3.0 keeps the TLS 1.3 secrets in the SSL object and frees it
 * without wiping them (openssl/openssl#30849): twelve arrays of
 * EVP_MAX_MD_SIZE bytes in a row (early, handshake, master and resumption
 * secrets, finished secrets and hashes, the two application traffic
 * secrets, the exporter master secret, the early exporter secret), and
 * the static read and write IVs next to them.  Wipe them before SSL_free().
 *
 * The block is recognised by three values we know, at the distances its
 * layout puts them: the client traffic secret (array 8), the server one
 * (9) and the exporter master secret (10); the whole block is then wiped.
 * Otherwise every copy of those three values in the object is wiped.  The
 * IVs (derived again here) are looked for right after the block, else in
 * the whole object.  The object is bounded by malloc_usable_size(), so
 * this is only done while OpenSSL allocates with malloc (no
 * CRYPTO_set_mem_functions()).  secrets_test checks the result.
 */
#define OSSL_TLS13_SECRETS	12	/* arrays in the block */
#define OSSL_TLS13_CLIENT_APP	8	/* client_app_traffic_secret */

/* Wipe every copy of v in [p, end); how many there were. */
static int wipe_value(uint8_t *p, const uint8_t *end, const uint8_t *v,
		      size_t len)
{
	int n = 0;

	while (len && p < end && (p = memmem(p, (size_t)(end - p), v, len))) {
		OPENSSL_cleanse(p, len);
		p += len;
		n++;
	}
	return n;
}

static void wipe_ssl_secrets(SSL *ssl, const struct pl_hs_secrets *sec,
			     uint16_t suite)
{
	CRYPTO_malloc_fn m;
	CRYPTO_realloc_fn r;
	CRYPTO_free_fn f;
	uint8_t *obj = (uint8_t *)ssl, *end, *p, iv[2][PL_IV_LEN];
	size_t hl = sec->client_len;
	const char *md = hl == 48 ? "SHA384" : "SHA256";
	bool ivs, block = false, near = false;

	CRYPTO_get_mem_functions(&m, &r, &f);
	if (!ssl || !suite || m != CRYPTO_malloc || f != CRYPTO_free || !hl ||
	    sec->server_len != hl)
		return;
	end = obj + malloc_usable_size(ssl);
	ivs = !pl_hkdf_expand_label(md, sec->client, hl, "iv", iv[0], PL_IV_LEN) &&
	      !pl_hkdf_expand_label(md, sec->server, hl, "iv", iv[1], PL_IV_LEN);

	p = memmem(obj, (size_t)(end - obj), sec->client, hl);
	if (p && sec->exporter_len == hl &&
	    p - obj >= OSSL_TLS13_CLIENT_APP * EVP_MAX_MD_SIZE &&
	    end - p >= (OSSL_TLS13_SECRETS - OSSL_TLS13_CLIENT_APP) *
		       EVP_MAX_MD_SIZE &&
	    !memcmp(p + EVP_MAX_MD_SIZE, sec->server, hl) &&
	    !memcmp(p + 2 * EVP_MAX_MD_SIZE, sec->exporter, hl)) {
		OPENSSL_cleanse(p - OSSL_TLS13_CLIENT_APP * EVP_MAX_MD_SIZE,
				OSSL_TLS13_SECRETS * EVP_MAX_MD_SIZE);
		block = true;
		/* The IVs follow the block (3.0): look there first. */
		p += (OSSL_TLS13_SECRETS - OSSL_TLS13_CLIENT_APP) * EVP_MAX_MD_SIZE;
		if (ivs && end - p > 256)
			near = wipe_value(p, p + 256, iv[0], PL_IV_LEN) &&
			       wipe_value(p, p + 256, iv[1], PL_IV_LEN);
	}
	/* Any copy left anywhere in the object. */
	if (!block) {
		wipe_value(obj, end, sec->client, hl);
		wipe_value(obj, end, sec->server, hl);
		wipe_value(obj, end, sec->exporter, sec->exporter_len);
	}
	if (ivs && !near) {
		wipe_value(obj, end, iv[0], PL_IV_LEN);
		wipe_value(obj, end, iv[1], PL_IV_LEN);
	}
	OPENSSL_cleanse(iv, sizeof(iv));
}

/*
 * Wipe the stack below the caller, where the frames of OpenSSL's handshake
 * and of the key schedule were (OpenSSL and its providers leave some
 * intermediate values there; the handshake goes about 7 KiB deep with
 * OpenSSL 3.0).  At most PL_STACK_WIPE bytes, and never closer than 16 KiB
 * to the end of this thread's stack.
 */
#define PL_STACK_WIPE	(32 * 1024)

static __thread uintptr_t stack_low;	/* lowest address of our stack */

static __attribute__((noinline)) void wipe_below(size_t n)
{
	uint8_t *buf = alloca(n);

	OPENSSL_cleanse(buf, n);
	__asm__ volatile("" : : "r"(buf) : "memory");
}

static __attribute__((noinline)) void wipe_stack(void)
{
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	size_t n = PL_STACK_WIPE;

	if (!stack_low) {
		pthread_attr_t at;
		void *addr;
		size_t size;

		if (pthread_getattr_np(pthread_self(), &at))
			return;
		if (!pthread_attr_getstack(&at, &addr, &size))
			stack_low = (uintptr_t)addr;
		pthread_attr_destroy(&at);
	}
	if (!stack_low || here < stack_low + 16 * 1024)
		return;
	if (here - stack_low - 16 * 1024 < n)
		n = here - stack_low - 16 * 1024;
	wipe_below(n);
}

static bool is_ip_literal(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Wait until fd is ready for what OpenSSL wants (non-blocking sockets). */
static int wait_fd(int fd, int ssl_err)
{
	struct pollfd p = { .fd = fd };

	p.events = ssl_err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
	for (;;) {
		int rc = poll(&p, 1, -1);

		if (rc >= 0 || errno != EINTR)
			return rc < 0 ? -1 : 0;
	}
}

/* Turn a failed SSL_connect/SSL_accept into an error code and message. */
static void handshake_error(SSL *ssl, int rc, const struct pl_hs *hs,
			    int saved_errno, struct pl_error *err)
{
	int ssl_err = SSL_get_error(ssl, rc);
	unsigned long e = ERR_peek_error();
	int reason = ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0;
	long vr = SSL_get_verify_result(ssl);

	if (hs->alert_received >= 0) {
		int a = hs->alert_received;

		err->alert = a;
		pl_err_set(err, a == SSL_AD_PROTOCOL_VERSION ? PL_E_VERSION :
			   PL_E_PEER_ALERT,
			   "TLS handshake failed: the peer sent alert %s (%d)%s",
			   SSL_alert_desc_string_long(a), a,
			   a == SSL_AD_PROTOCOL_VERSION ?
			   ": it does not accept TLS 1.3" : "");
	} else if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED ||
		   (vr != X509_V_OK && hs->alert_sent >= 0)) {
		bool name = vr == X509_V_ERR_HOSTNAME_MISMATCH ||
			    vr == X509_V_ERR_IP_ADDRESS_MISMATCH;

		pl_err_set(err, name ? PL_E_HOSTNAME : PL_E_CERT_VERIFY,
			   "TLS handshake failed: %s: %s",
			   name ? "certificate does not match the host name" :
			   "certificate verification failed",
			   X509_verify_cert_error_string(vr));
	} else if (reason == SSL_R_UNSUPPORTED_PROTOCOL ||
		   reason == SSL_R_WRONG_VERSION_NUMBER ||
		   reason == SSL_R_NO_PROTOCOLS_AVAILABLE ||
		   reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION) {
		pl_err_set(err, PL_E_VERSION,
			   "TLS handshake failed: the peer does not speak TLS 1.3");
	} else if (reason == SSL_R_NO_SHARED_CIPHER ||
		   reason == SSL_R_NO_CIPHERS_AVAILABLE) {
		pl_err_set(err, PL_E_CIPHER,
			   "TLS handshake failed: no cipher suite in common");
	} else if (ssl_err == SSL_ERROR_SYSCALL && !e) {
		if (saved_errno) {
			err->sys_errno = saved_errno;
			pl_err_set(err, PL_E_SYS, "TLS handshake failed: %s",
				   strerror(saved_errno));
		} else {
			pl_err_set(err, PL_E_PEER_CLOSED,
				   "TLS handshake failed: the peer closed the connection");
		}
	} else {
		pl_err_set(err, PL_E_HANDSHAKE, "TLS handshake failed");
	}
	if (hs->alert_sent >= 0 && hs->alert_received < 0) {
		size_t n = strlen(err->msg);

		err->alert = hs->alert_sent;
		snprintf(err->msg + n, sizeof(err->msg) - n, "; sent alert %s",
			 SSL_alert_desc_string_long(hs->alert_sent));
	}
	pl_err_append_ssl(err);
}

/* ------------------------------------------------ around the handshake */

/*
 * The caller's socket timeouts and TCP_NODELAY, and ours while the
 * library runs: no Nagle delay in the handshake and the opening (the
 * server's second ticket would otherwise wait for the client's delayed
 * ACK of the first, 40 ms).
 */
struct sock_timeouts {
	struct timeval rcv, snd;
	int nodelay;
	bool saved;
};

static void timeouts_save(int fd, struct sock_timeouts *t)
{
	socklen_t l1 = sizeof(t->rcv), l2 = sizeof(t->snd), l3 = sizeof(int);
	int one = 1;

	t->saved = !getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t->rcv, &l1) &&
		   !getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &t->snd, &l2);
	if (!getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &t->nodelay, &l3) &&
	    !t->nodelay)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	else
		t->nodelay = 1;		/* not TCP, or already set: keep */
}

/* sec > 0: that many seconds; 0: the caller's own values. */
static void timeouts_set(int fd, const struct sock_timeouts *t, int sec)
{
	struct timeval tv = { .tv_sec = sec };

	if (!sec && !t->nodelay)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &t->nodelay,
			   sizeof(t->nodelay));
	if (!t->saved)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, sec ? &tv : &t->rcv,
		   sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, sec ? &tv : &t->snd,
		   sizeof(tv));
}

/*
 * A non-blocking socket: wait until it has want bytes to read (peek needs
 * them all at once: SO_RCVLOWAT) or room to write, for at most the
 * socket's own SO_RCVTIMEO/SO_SNDTIMEO (which the library set), as a
 * blocking socket would.  0 ready; -1 with errno EAGAIN on timeout.
 */
static int wait_nonblock(int fd, short events, int want)
{
	struct pollfd p = { .fd = fd, .events = events };
	struct timeval tv = { 0 };
	socklen_t l = sizeof(tv);
	int rc, fl = fcntl(fd, F_GETFL), one = 1, ms;

	if (fl < 0 || !(fl & O_NONBLOCK)) {
		errno = EAGAIN;
		return -1;	/* a blocking socket timed out */
	}
	getsockopt(fd, SOL_SOCKET, events == POLLIN ? SO_RCVTIMEO : SO_SNDTIMEO,
		   &tv, &l);
	ms = tv.tv_sec || tv.tv_usec ?
	     (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000) : -1;
	if (want > 1)
		setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &want, sizeof(want));
	do {
		rc = poll(&p, 1, ms);
	} while (rc < 0 && errno == EINTR);
	if (want > 1)
		setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
	if (rc == 0)
		errno = EAGAIN;
	return rc == 1 ? 0 : -1;
}

/*
 * Exactly len bytes (peek: without taking them); what recv got (less at
 * the end of the stream, or -1 with EAGAIN on timeout).  Blocking or not.
 */
static ssize_t recv_exact(int fd, void *buf, size_t len, int flags)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n;

		if (flags & MSG_PEEK)
			n = recv(fd, buf, len, MSG_PEEK | MSG_WAITALL);
		else
			n = recv(fd, (uint8_t *)buf + got, len - got, MSG_WAITALL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return (ssize_t)got;
		if (n > 0 && (flags & MSG_PEEK)) {
			if ((size_t)n == got)
				return (ssize_t)got;	/* no more: EOF */
			got = (size_t)n;
		} else if (n > 0) {
			got += (size_t)n;
		}
		if (got == len)
			break;
		if ((n < 0 && errno != EAGAIN) ||
		    wait_nonblock(fd, POLLIN, (flags & MSG_PEEK) ? (int)len :
				  (int)(len - got)))
			return got ? (ssize_t)got : -1;
	}
	return (ssize_t)got;
}

static int send_exact(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0 || errno != EAGAIN || wait_nonblock(fd, POLLOUT, 0))
			return -1;
	}
	return 0;
}

/* Why a read of the handshake's neighbourhood came back short. */
static void short_read(ssize_t n, const char *what, struct pl_error *err)
{
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		err->sys_errno = ETIMEDOUT;
		pl_err_set(err, PL_E_SYS, "%s: timed out", what);
	} else if (n < 0) {
		err->sys_errno = errno;
		pl_err_set(err, PL_E_SYS, "%s: %s", what, strerror(errno));
	} else {
		pl_err_set(err, PL_E_PEER_CLOSED, "%s: the peer closed the connection",
			   what);
	}
}

/*
 * Peek at exactly len bytes.  Blocking (nb false): recv_exact()'s result.
 * nb: without waiting: len, fewer at the end of the stream, -1 on error,
 * or PEEK_WANT after setting SO_RCVLOWAT to len, so that poll (or an
 * io_uring poll) reports the socket readable only once they are all there
 * or the stream ended.
 */
#define PEEK_WANT	(-2)

static ssize_t peek(int fd, void *buf, size_t len, bool nb)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	int lowat = (int)len;
	ssize_t n;

	if (!nb)
		return recv_exact(fd, buf, len, MSG_PEEK);
	do {
		n = recv(fd, buf, len, MSG_PEEK | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len || n == 0 ||
	    (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		goto done;
	/* Short: the end of the stream, or more to come. */
	if (n > 0 && poll(&p, 1, 0) == 1 &&
	    (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		goto done;
	setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat));
	return PEEK_WANT;
done:
	lowat = 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat));
	return n;
}

/* Server, before the handshake: what the client's first bytes are
 * (FB_WANT: not there yet, nb only). */
enum first_bytes { FB_TLS, FB_HTTP, FB_OTHER, FB_NONE, FB_WANT };

static enum first_bytes first_bytes(int fd, ssize_t *got, bool nb)
{
	static const char *const methods[] = {
		"GET ", "HEAD", "POST", "PUT ", "DELE", "OPTI", "PATC", "CONN",
		"TRAC", "PRI ",
	};
	unsigned char b[4];
	ssize_t n = peek(fd, b, sizeof(b), nb);

	*got = n;
	if (n == PEEK_WANT)
		return FB_WANT;
	if (n <= 0)
		return FB_NONE;
	/* A TLS handshake record: 0x16 0x03 (any minor version). */
	if (b[0] == 0x16 && (n < 2 || b[1] == 0x03))
		return FB_TLS;
	for (size_t i = 0; n == 4 && i < sizeof(methods) / sizeof(methods[0]); i++)
		if (!memcmp(b, methods[i], 4))
			return FB_HTTP;
	return FB_OTHER;
}

/*
 * Client: the opening record (SPEC 2.3), an empty application_data
 * record with 64..511 bytes of zero padding, sealed under sequence 0 and
 * the first EEM nonce; then the server's two NewSessionTickets, each
 * given to OpenSSL alone through a memory BIO so that it reads no byte
 * of what follows them.
 */
static int client_open(struct pl_ctx *ctx, SSL *ssl, int fd, struct pl_hs *hs,
		       uint16_t suite, const struct pl_hs_secrets *sec,
		       struct pl_start *st, struct pl_error *err)
{
	struct pl_dir_config dc = {
		.suite = suite, .secret = sec->client,
		.secret_len = sec->client_len, .eem_key = st->tx_eem.key,
		.eem_nonce = st->tx_eem.nonce, .framing = ctx->framing,
		.eem_len = ctx->eem_len,
	};
	struct pl_seal_opts so = { 0 };
	uint8_t rec[PL_MAX_WIRE_LEN], r16[2];
	size_t len;
	struct pl_tx *tx;
	BIO *mem;
	int rc;

	tx = pl_tx_new(&dc, &rc);
	if (!tx) {
		err->engine_err = rc;
		pl_err_set(err, PL_E_ENGINE, "engine setup failed: %s",
			   pl_strerror(rc));
		return -1;
	}
	if (RAND_bytes(r16, sizeof(r16)) != 1) {
		pl_tx_free(tx);
		pl_err_set(err, PL_E_ENGINE, "no random bytes");
		return -1;
	}
	so.pad_len = PL_OPEN_PAD_MIN + ((size_t)r16[0] << 8 | r16[1]) %
		     (PL_OPEN_PAD_MAX - PL_OPEN_PAD_MIN + 1);
	/* peer_mode: the server's shaping from its first record (SPEC 9.4). */
	if (ctx->peer_mode >= 0) {
		if (pl_peer_su(ctx, &st->open_su)) {
			pl_tx_free(tx);
			pl_err_set(err, PL_E_ENGINE, "no random bytes");
			return -1;
		}
		so.su = &st->open_su;
	}
	rc = pl_tx_seal(tx, PLASMATIC_CT_APPLICATION_DATA, NULL, 0, &so, rec,
			sizeof(rec), &len);
	if (!rc) {
		pl_tx_eem_nonce(tx, st->tx_eem.nonce);
		st->tx_seq = pl_tx_seq(tx);
		st->tx = tx;	/* the userspace datapath goes on with it */
	} else {
		pl_tx_free(tx);
	}
	if (rc) {
		err->engine_err = rc;
		pl_err_set(err, PL_E_ENGINE, "cannot seal the opening record: %s",
			   pl_strerror(rc));
		return -1;
	}
	if (send_exact(fd, rec, len)) {
		err->sys_errno = errno;
		pl_err_set(err, PL_E_SYS, "sending the opening record: %s",
			   strerror(errno));
		return -1;
	}

	mem = BIO_new(BIO_s_mem());
	if (!mem) {
		pl_err_set(err, PL_E_NOMEM, NULL);
		return -1;
	}
	SSL_set0_rbio(ssl, mem);
	for (unsigned int i = 0; i < PL_TICKETS; i++) {
		unsigned int before = hs->tickets;
		ssize_t n = recv_exact(fd, rec, PL_HEADER_LEN, 0);
		size_t body;
		uint8_t one;
		int r;

		if (n != PL_HEADER_LEN) {
			short_read(n, "reading the server's tickets", err);
			return -1;
		}
		body = (size_t)rec[3] << 8 | rec[4];
		if (body > PL_MAX_CONTENT + 256) {
			pl_err_set(err, PL_E_PROTOCOL,
				   "the server's ticket record is %zu bytes long", body);
			return -1;
		}
		n = recv_exact(fd, rec + PL_HEADER_LEN, body, 0);
		if (n != (ssize_t)body) {
			short_read(n, "reading the server's tickets", err);
			return -1;
		}
		if (BIO_write(mem, rec, (int)(PL_HEADER_LEN + body)) !=
		    (int)(PL_HEADER_LEN + body)) {
			pl_err_set(err, PL_E_NOMEM, NULL);
			return -1;
		}
		r = SSL_read(ssl, &one, 1);
		if (r > 0 || SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ ||
		    hs->tickets != before + 1 || BIO_ctrl_pending(mem)) {
			if (hs->alert_received >= 0) {
				err->alert = hs->alert_received;
				pl_err_set(err, PL_E_PEER_ALERT,
					   "the server sent alert %s after the handshake",
					   SSL_alert_desc_string_long(hs->alert_received));
			} else {
				pl_err_set(err, PL_E_PROTOCOL,
					   "record %u after the handshake is not a NewSessionTicket (the server is not Plasmatic v1.1)",
					   i + 1);
			}
			pl_err_append_ssl(err);
			return -1;
		}
	}
	st->rx_seq = PL_TICKETS;
	return 0;
}

/*
 * Server: wait for the client's opening record, only peeking, and check
 * it (SPEC 2.3).  0: accepted and taken from the socket; 1: not an
 * opening record, the bytes are still there (a plain TLS client: the
 * fallback's); 2: not all there yet (nb only: see peek()); -1: error
 * (closed, timed out).
 */
static int server_open(struct pl_ctx *ctx, int fd, uint16_t suite,
		       const struct pl_hs_secrets *sec, struct pl_start *st,
		       bool nb, struct pl_error *err)
{
	struct pl_dir_config dc = {
		.suite = suite, .secret = sec->client,
		.secret_len = sec->client_len, .eem_key = st->rx_eem.key,
		.eem_nonce = st->rx_eem.nonce, .framing = ctx->framing,
		.eem_len = ctx->eem_len,
	};
	uint8_t *rec = NULL;
	struct pl_record r;
	struct pl_rx *rx = NULL;
	size_t need, used;
	ssize_t n;
	int rc, ret = 1;

	rec = malloc(PL_MAX_WIRE_LEN);
	if (!rec) {
		pl_err_set(err, PL_E_NOMEM, NULL);
		return -1;
	}
	n = peek(fd, rec, PL_HEADER_LEN, nb);
	if (n == PEEK_WANT) {
		ret = 2;
		goto out;
	}
	if (n != PL_HEADER_LEN) {
		short_read(n, "waiting for the client's first record", err);
		ret = -1;
		goto out;
	}
	need = PL_HEADER_LEN + ((size_t)rec[3] << 8 | rec[4]);
	if (rec[0] != PLASMATIC_CT_APPLICATION_DATA || rec[1] != 3 || rec[2] != 3 ||
	    need > PL_MAX_WIRE_LEN - PLASMATIC_EEM_LEN_MAX)
		goto out;	/* not ours: OpenSSL answers it */
	if (ctx->framing == PLASMATIC_FRAMING_DETACHED)
		need += ctx->eem_len;
	n = peek(fd, rec, need, nb);
	if (n == PEEK_WANT) {
		ret = 2;
		goto out;
	}
	if (n != (ssize_t)need) {
		/* Detached: a plain client's record, and no EEM after it. */
		if (n > 0 && ctx->framing == PLASMATIC_FRAMING_DETACHED &&
		    (size_t)n >= need - ctx->eem_len)
			goto out;
		short_read(n, "waiting for the client's first record", err);
		ret = -1;
		goto out;
	}
	rx = pl_rx_new(&dc, &rc);
	if (!rx) {
		err->engine_err = rc;
		pl_err_set(err, PL_E_ENGINE, "engine setup failed: %s",
			   pl_strerror(rc));
		ret = -1;
		goto out;
	}
	rc = pl_rx_feed(rx, rec, need, &used, &r);
	if (rc != 1 || used != need || r.content_type != PLASMATIC_CT_APPLICATION_DATA ||
	    r.len)
		goto out;	/* no PSK, or not Plasmatic: the fallback's */
	n = recv_exact(fd, rec, need, 0);
	if (n != (ssize_t)need) {
		short_read(n, "reading the client's opening record", err);
		ret = -1;
		goto out;
	}
	st->rx_seq = pl_rx_seq(rx);
	st->open_su = r.su;	/* our initial TX shaping, if kind 1 */
	pl_rx_eem_nonce(rx, st->rx_eem.nonce);
	st->rx = rx;	/* the userspace datapath goes on with it */
	rx = NULL;
	ret = 0;
out:
	pl_rx_free(rx);
	free(rec);	/* ciphertext only */
	return ret;
}

/*
 * The handshake as a state machine (struct pl_handshake, plasmatic.h):
 * pl_connect/pl_accept run it to its end on the caller's socket, blocking
 * (nb false: the library waits, for at most its timeouts); the
 * non-blocking API (pl_accept_start) steps it as the socket becomes
 * ready.  The same phases either way:
 *   HS_FIRST  server: the client's first bytes (TLS, HTTP, other)
 *   HS_TLS    SSL_accept/SSL_connect, then the keys (hs_keys)
 *   HS_OPEN   server: the client's opening record (SPEC 2.3)
 * then the handover and the upgrade (hs_upgrade); a client sends its
 * opening record right after HS_TLS (blocking only).
 */
enum hs_state { HS_FIRST, HS_TLS, HS_OPEN, HS_END };
enum hs_probe { PROBE_NONE, PROBE_RAW, PROBE_HTTP, PROBE_TLS };

struct pl_handshake {
	struct pl_ctx *ctx;
	int fd;
	bool nb;			/* pl_accept_start(): never wait */
	bool server;
	enum hs_state state;
	enum hs_probe probe;		/* PL_HS_PROBE: what the fallback serves */
	SSL *ssl;
	struct pl_hs hs;
	struct pl_hs_secrets sec;
	struct pl_start st;
	struct pl_eem_secrets c2s, s2c;
	struct sock_timeouts tmo;
	uint16_t suite;
	struct pl_conn *conn;		/* PL_HS_DONE, until taken */
	bool released;			/* hs_release() done: fd untouched */
	int result;			/* at HS_END: PL_HS_DONE, _PROBE or -1 */
};

/* The secrets, the engine states and the SSL object: gone. */
static void hs_release(struct pl_handshake *h)
{
	if (h->released)
		return;
	h->released = true;
	timeouts_set(h->fd, &h->tmo, 0);
	pl_tx_free(h->st.tx);
	pl_rx_free(h->st.rx);
	OPENSSL_cleanse(&h->c2s, sizeof(h->c2s));
	OPENSSL_cleanse(&h->s2c, sizeof(h->s2c));
	OPENSSL_cleanse(&h->st, sizeof(h->st));
	if (h->ssl) {
		SSL_set_app_data(h->ssl, NULL);
		/* The SSL object holds the handshake's secrets: drop them. */
		wipe_ssl_secrets(h->ssl, &h->sec, h->suite);
		SSL_free(h->ssl);
		h->ssl = NULL;
	}
	OPENSSL_cleanse(&h->sec, sizeof(h->sec));
	ERR_clear_error();
}

/*
 * The handshake failed (err filled).  linger: a server's socket has its
 * sending half shut and (blocking) is read to its end, so that close()
 * sends FIN, not RST; the non-blocking caller's loop does the reading.
 */
static int hs_fail(struct pl_handshake *h, bool linger)
{
	h->state = HS_END;
	timeouts_set(h->fd, &h->tmo, 0);
	if (linger && h->nb)
		shutdown(h->fd, SHUT_WR);
	else if (linger)
		pl_linger_close(h->fd);
	return -1;
}

static int hs_probe(struct pl_handshake *h, enum hs_probe probe,
		    struct pl_error *err)
{
	const char *what = h->ctx->fallback ? "relayed to the fallback" :
			   "answered as a web server would";

	h->state = HS_END;
	h->probe = probe;
	if (probe == PROBE_TLS && SSL_version(h->ssl) != TLS1_3_VERSION)
		pl_err_set(err, PL_E_PROBE,
			   "the client negotiated %s, so it is not Plasmatic: %s",
			   SSL_get_version(h->ssl), what);
	else if (probe == PROBE_TLS)
		pl_err_set(err, PL_E_PROBE,
			   "the client is not Plasmatic (its first record is not an opening record): %s",
			   what);
	else
		pl_err_set(err, PL_E_PROBE, "the client sent %s: %s",
			   probe == PROBE_HTTP ? "cleartext HTTP" :
			   "bytes that are not TLS", what);
	return PL_HS_PROBE;
}

/* SSL_accept/SSL_connect: 0 done, PL_HS_WANT_* (nb), or -1. */
static int hs_tls(struct pl_handshake *h, struct pl_error *err)
{
	for (;;) {
		int rc, ssl_err, saved;

		errno = 0;
		rc = h->server ? SSL_accept(h->ssl) : SSL_connect(h->ssl);
		if (rc == 1)
			return 0;
		saved = errno;
		ssl_err = SSL_get_error(h->ssl, rc);
		if (ssl_err == SSL_ERROR_WANT_READ ||
		    ssl_err == SSL_ERROR_WANT_WRITE) {
			int fl = fcntl(h->fd, F_GETFL);

			if (h->nb)
				return ssl_err == SSL_ERROR_WANT_WRITE ?
				       PL_HS_WANT_WRITE : PL_HS_WANT_READ;
			/* A blocking socket only says "again" when its
			 * SO_RCVTIMEO/SO_SNDTIMEO expired. */
			if (fl >= 0 && !(fl & O_NONBLOCK)) {
				err->sys_errno = ETIMEDOUT;
				pl_err_set(err, PL_E_SYS,
					   "TLS handshake timed out: the peer did not answer in time");
				return hs_fail(h, h->server);
			}
			if (!wait_fd(h->fd, ssl_err))
				continue;
		}
		handshake_error(h->ssl, rc, &h->hs, saved, err);
		return hs_fail(h, h->server);
	}
}

/* After the TLS handshake: its checks and the EEM key schedule; 0, -1,
 * or PL_HS_PROBE (a server's TLS 1.2 client). */
static int hs_keys(struct pl_handshake *h, struct pl_error *err)
{
	uint8_t params[PL_PARAMS_LEN];
	const SSL_CIPHER *cipher;
	SSL *ssl = h->ssl;
	int rc;

	if (h->server && SSL_version(ssl) != TLS1_3_VERSION)
		return hs_probe(h, PROBE_TLS, err);
	if (SSL_version(ssl) != TLS1_3_VERSION) {
		pl_err_set(err, PL_E_VERSION, "negotiated %s, not TLS 1.3",
			   SSL_get_version(ssl));
		return hs_fail(h, false);
	}
	cipher = SSL_get_current_cipher(ssl);
	h->suite = cipher ? (uint16_t)SSL_CIPHER_get_protocol_id(cipher) : 0;
	if (!pl_suite_hash_len(h->suite)) {
		pl_err_set(err, PL_E_CIPHER, "negotiated suite 0x%04x is not allowed",
			   h->suite);
		return hs_fail(h, false);
	}
	if (h->hs.keylog_bad || h->sec.client_len != pl_suite_hash_len(h->suite) ||
	    h->sec.server_len != pl_suite_hash_len(h->suite)) {
		pl_err_set(err, PL_E_HANDSHAKE,
			   "could not capture the traffic secrets from OpenSSL");
		return hs_fail(h, false);
	}
	if (pl_params_encode(h->ctx->framing, h->ctx->eem_len, params) ||
	    SSL_export_keying_material(ssl, h->sec.exp, sizeof(h->sec.exp),
				       PL_EXPORTER_LABEL,
				       strlen(PL_EXPORTER_LABEL), params,
				       sizeof(params), 1) != 1) {
		pl_err_set(err, PL_E_HANDSHAKE, "TLS exporter failed");
		pl_err_append_ssl(err);
		return hs_fail(h, false);
	}
	rc = pl_eem_schedule(h->sec.exp, pl_psk_bytes(h->ctx->psk), &h->c2s,
			     &h->s2c);
	if (rc) {
		err->engine_err = rc;
		pl_err_set(err, PL_E_ENGINE, "EEM key schedule failed: %s",
			   pl_strerror(rc));
		return hs_fail(h, false);
	}
	h->st.tx_eem = h->server ? h->s2c : h->c2s;
	h->st.rx_eem = h->server ? h->c2s : h->s2c;
	return 0;
}

/*
 * The handover: OpenSSL read (client) or wrote (server) the two tickets
 * under the application keys and nothing else, and holds no byte of what
 * follows; then the upgrade.  PL_HS_DONE or -1.
 */
static int hs_upgrade(struct pl_handshake *h, struct pl_error *err)
{
	struct pl_hs *hs = &h->hs;

	if (SSL_pending(h->ssl) || SSL_has_pending(h->ssl) ||
	    hs->records_read_after != (h->server ? 0 : PL_TICKETS) ||
	    hs->records_written_after != (h->server ? PL_TICKETS : 0) ||
	    hs->tickets != PL_TICKETS) {
		pl_err_set(err, PL_E_HANDOVER,
			   "OpenSSL read %u and wrote %u record(s) (%u tickets) under the application keys before the handover, pending %d",
			   hs->records_read_after, hs->records_written_after,
			   hs->tickets, SSL_pending(h->ssl));
		return hs_fail(h, false);
	}
	h->conn = pl_conn_upgrade(h->ctx, h->ssl, h->fd, &h->sec, &h->st, err);
	if (!h->conn)
		return hs_fail(h, h->server);
	h->state = HS_END;
	return PL_HS_DONE;
}

static int hs_run(struct pl_handshake *h, struct pl_error *err)
{
	ssize_t got;
	int rc;

	switch (h->state) {
	case HS_FIRST:
		switch (first_bytes(h->fd, &got, h->nb)) {
		case FB_WANT:
			return PL_HS_WANT_READ;
		case FB_NONE:
			short_read(got, "waiting for the ClientHello", err);
			return hs_fail(h, true);
		case FB_HTTP:
			return hs_probe(h, PROBE_HTTP, err);
		case FB_OTHER:
			return hs_probe(h, PROBE_RAW, err);
		case FB_TLS:
			break;
		}
		h->state = HS_TLS;
		/* fallthrough */
	case HS_TLS:
		rc = hs_tls(h, err);
		if (!rc)
			rc = hs_keys(h, err);
		if (rc)
			return rc;
		/* The opening (SPEC 2.3): the client speaks first. */
		if (!h->server) {
			if (client_open(h->ctx, h->ssl, h->fd, &h->hs, h->suite,
					&h->sec, &h->st, err))
				return hs_fail(h, false);
			return hs_upgrade(h, err);
		}
		/* OpenSSL sent the tickets after its Finished. */
		h->st.tx_seq = h->hs.records_written_after;
		if (!h->nb)
			timeouts_set(h->fd, &h->tmo, h->ctx->open_timeout);
		h->state = HS_OPEN;
		/* fallthrough */
	case HS_OPEN:
		rc = SSL_session_reused(h->ssl) ? 1 :
		     server_open(h->ctx, h->fd, h->suite, &h->sec, &h->st,
				 h->nb, err);
		if (rc == 2)
			return PL_HS_WANT_READ;
		if (rc < 0)
			return hs_fail(h, true);
		/* A plain TLS client: no EEM, no alert, a web page. */
		if (rc > 0)
			return hs_probe(h, PROBE_TLS, err);
		return hs_upgrade(h, err);
	case HS_END:
		break;
	}
	if (h->result == -1)
		pl_err_set(err, PL_E_INVAL, "the handshake already failed");
	else if (h->result == PL_HS_PROBE)
		pl_err_set(err, PL_E_PROBE, "the client is not Plasmatic");
	return h->result;
}

static struct pl_handshake *hs_new(struct pl_ctx *ctx, int fd,
				   const char *hostname, bool nb,
				   struct pl_error *err)
{
	struct pl_handshake *h;
	SSL *ssl;

	pl_err_clear(err);
	ERR_clear_error();
	if (!ctx || fd < 0) {
		pl_err_set(err, PL_E_INVAL, "no context or bad file descriptor");
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		pl_err_set(err, PL_E_NOMEM, NULL);
		return NULL;
	}
	h->ctx = ctx;
	h->fd = fd;
	h->nb = nb;
	h->server = ctx->role == PL_ROLE_SERVER;
	h->state = h->server ? HS_FIRST : HS_TLS;
	h->hs.sec = &h->sec;
	h->hs.alert_received = -1;
	h->hs.alert_sent = -1;
	timeouts_save(fd, &h->tmo);
	if (!nb)
		timeouts_set(fd, &h->tmo, ctx->handshake_timeout);

	ssl = h->ssl = SSL_new(ctx->ssl_ctx);
	if (!ssl || !SSL_set_fd(ssl, fd) || !SSL_set_app_data(ssl, &h->hs)) {
		pl_err_set(err, PL_E_NOMEM, "SSL_new failed");
		pl_err_append_ssl(err);
		goto fail;
	}
	SSL_set_msg_callback(ssl, msg_cb);
	SSL_set_msg_callback_arg(ssl, &h->hs);

	if (!h->server) {
		const char *host = hostname ? hostname : ctx->hostname;
		const char *sni = ctx->sni ? ctx->sni : host;
		bool ip = host && is_ip_literal(host);

		if (ctx->verify && (!host || !*host)) {
			pl_err_set(err, PL_E_INVAL,
				   "certificate verification needs a host name to check");
			goto fail;
		}
		if (ctx->verify) {
			int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) :
				      SSL_set1_host(ssl, host);

			if (!ok) {
				pl_err_set(err, PL_E_INVAL, "bad host name \"%s\"", host);
				pl_err_append_ssl(err);
				goto fail;
			}
		}
		/* SNI carries a DNS name, never an address (RFC 6066). */
		if (sni && *sni && !is_ip_literal(sni) &&
		    !SSL_set_tlsext_host_name(ssl, sni)) {
			pl_err_set(err, PL_E_INVAL, "bad SNI \"%s\"", sni);
			pl_err_append_ssl(err);
			goto fail;
		}
	}
	return h;
fail:
	hs_release(h);
	free(h);
	return NULL;
}

int pl_handshake_step(struct pl_handshake *h, struct pl_error *err)
{
	struct pl_error e;
	int rc;

	pl_err_clear(&e);
	if (!h) {
		pl_err_set(&e, PL_E_INVAL, "no handshake");
		rc = -1;
	} else {
		ERR_clear_error();
		rc = hs_run(h, &e);
		if (h->state == HS_END) {
			h->result = rc;
			if (rc != PL_HS_PROBE)
				hs_release(h);
		}
		wipe_stack();
	}
	if (err)
		*err = e;
	return rc;
}

struct pl_handshake *pl_accept_start(struct pl_ctx *ctx, int fd,
				     struct pl_error *err)
{
	int fl;

	if (ctx && ctx->role != PL_ROLE_SERVER) {
		pl_err_clear(err);
		pl_err_set(err, PL_E_INVAL, "pl_accept_start needs a server context");
		return NULL;
	}
	fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
	if (ctx && fd >= 0 && (fl < 0 || !(fl & O_NONBLOCK))) {
		pl_err_clear(err);
		if (fl < 0 && err)
			err->sys_errno = errno;
		pl_err_set(err, PL_E_INVAL,
			   "pl_accept_start needs a non-blocking socket (O_NONBLOCK)");
		return NULL;
	}
	return hs_new(ctx, fd, NULL, true, err);
}

struct pl_conn *pl_handshake_conn(struct pl_handshake *h)
{
	struct pl_conn *c;

	if (!h)
		return NULL;
	c = h->conn;
	h->conn = NULL;
	return c;
}

int pl_handshake_fd(const struct pl_handshake *h)
{
	return h ? h->fd : -1;
}

int pl_handshake_fallback(struct pl_handshake *h)
{
	int fl;

	if (!h || h->probe == PROBE_NONE) {
		errno = EINVAL;
		return -1;
	}
	fl = fcntl(h->fd, F_GETFL);
	if (h->nb && fl >= 0)
		fcntl(h->fd, F_SETFL, fl & ~O_NONBLOCK);
	/* As before the state machine: a TLS client is served under the
	 * caller's socket timeouts, other bytes under the handshake's. */
	if (h->probe == PROBE_TLS) {
		timeouts_set(h->fd, &h->tmo, 0);
		pl_fallback_tls(h->ctx, h->ssl, h->fd);
	} else {
		timeouts_set(h->fd, &h->tmo, h->ctx->handshake_timeout);
		pl_fallback_raw(h->ctx, h->fd, h->probe == PROBE_HTTP);
	}
	if (h->nb && fl >= 0)
		fcntl(h->fd, F_SETFL, fl);
	h->probe = PROBE_NONE;
	hs_release(h);
	wipe_stack();
	return 0;
}

void pl_handshake_free(struct pl_handshake *h)
{
	if (!h)
		return;
	pl_conn_free(h->conn);
	hs_release(h);
	OPENSSL_cleanse(h, sizeof(*h));
	free(h);
}

/* pl_connect, pl_accept: the state machine, run to its end. */
static struct pl_conn *handshake(struct pl_ctx *ctx, int fd,
				 const char *hostname, struct pl_error *err)
{
	struct pl_handshake *h = hs_new(ctx, fd, hostname, false, err);
	struct pl_conn *c = NULL;
	struct pl_error e;
	int rc;

	if (!h)
		return NULL;
	rc = pl_handshake_step(h, &e);
	if (rc == PL_HS_PROBE)
		pl_handshake_fallback(h);
	else if (rc == PL_HS_DONE)
		c = pl_handshake_conn(h);
	pl_handshake_free(h);
	if (err)
		*err = e;
	return c;
}

struct pl_conn *pl_connect(struct pl_ctx *ctx, int fd, const char *hostname,
			   struct pl_error *err)
{
	if (ctx && ctx->role != PL_ROLE_CLIENT) {
		pl_err_clear(err);
		pl_err_set(err, PL_E_INVAL, "pl_connect needs a client context");
		return NULL;
	}
	return handshake(ctx, fd, hostname, err);
}

struct pl_conn *pl_accept(struct pl_ctx *ctx, int fd, struct pl_error *err)
{
	if (ctx && ctx->role != PL_ROLE_SERVER) {
		pl_err_clear(err);
		pl_err_set(err, PL_E_INVAL, "pl_accept needs a server context");
		return NULL;
	}
	return handshake(ctx, fd, NULL, err);
}
