// SPDX-License-Identifier: GPL-2.0
/*
 * The handshake's shape: a Plasmatic client's ClientHello is the one curl
 * (7.88, OpenSSL 3.0, Debian 12) sends from the same host, and a Plasmatic
 * server answers like nginx (1.22, Debian 12's stock nginx.conf, "listen
 * 443 ssl", no http2) with the same certificate.  tools/stealth/run.sh
 * checks both on the wire (JA3, JA4, JA3S, record sizes).
 *
 * Called by pl_ctx_new() after its own settings (TLS 1.3 only, the allowed
 * suites, options) and before the user's ALPN is applied, so a configured
 * ALPN list replaces what is set here.  What stays as SPEC section 2 wants:
 *
 *  - the client offers TLS 1.3 and 1.2 and curl's TLS 1.2 suites, as curl
 *    does, but a handshake that did not negotiate TLS 1.3 with one of the
 *    three suites fails in pl_connect() right after it (PL_E_VERSION /
 *    PL_E_CIPHER); a 1.3-capable server cannot be made to pick 1.2 (RFC
 *    8446 4.1.3 downgrade sentinel, checked by OpenSSL);
 *  - the server: pl_ctx_new() lowers its minimum to TLS 1.2 with nginx's
 *    default ciphers after this, as Debian's stock nginx.conf does, and a
 *    client that negotiates TLS 1.2 is served as a plain TLS client (SPEC
 *    7.1), never as a Plasmatic one;
 *  - the TLS 1.3 suites are the configured subset of the three, reordered
 *    only; tickets, early data and the keylog callback are not touched.
 */
#include <string.h>

#include <openssl/ssl.h>

#include "internal.h"

/*
 * OpenSSL 3.0's default TLS 1.3 order (curl and nginx keep the default):
 * the configured ones among these, in this order.
 */
static const struct {
	uint16_t id;
	const char *name;
} tls13_order[] = {
	{ 0x1302, "TLS_AES_256_GCM_SHA384" },
	{ 0x1303, "TLS_CHACHA20_POLY1305_SHA256" },
	{ 0x1301, "TLS_AES_128_GCM_SHA256" },
};

static int reorder_tls13_suites(SSL_CTX *sc)
{
	STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(sc);
	bool have[3] = { false, false, false };
	char list[128] = "";
	size_t i;
	int j;

	if (!sk)
		return -1;
	for (j = 0; j < sk_SSL_CIPHER_num(sk); j++) {
		uint16_t id = (uint16_t)SSL_CIPHER_get_protocol_id(
			sk_SSL_CIPHER_value(sk, j));

		for (i = 0; i < 3; i++)
			if (tls13_order[i].id == id)
				have[i] = true;
	}
	for (i = 0; i < 3; i++) {
		if (!have[i])
			continue;
		if (*list)
			strcat(list, ":");
		strcat(list, tls13_order[i].name);
	}
	if (!*list)
		return -1;
	return SSL_CTX_set_ciphersuites(sc, list) == 1 ? 0 : -1;
}

/* "h2,http/1.1" in ALPN's wire format. */
static const unsigned char client_alpn[] = "\x02h2\x08http/1.1";

int pl_mimic_client(SSL_CTX *sc)
{
	if (!sc || reorder_tls13_suites(sc))
		return -1;
	/*
	 * curl: TLS_client_method(), minimum TLS 1.2 (its default since
	 * 7.54), the host's default TLS 1.2 cipher list (openssl.cnf's
	 * CipherString: SSL_CTX_new() applied it, pl_ctx_new() does not
	 * change it), SSL_OP_ALL without DONT_INSERT_EMPTY_FRAGMENTS (so
	 * TLSEXT_PADDING: the hello is padded to 512 bytes), NO_TICKET,
	 * NO_COMPRESSION, post-handshake auth offered, ALPN h2,http/1.1.
	 * Supported groups, signature algorithms, key share (x25519) and
	 * point formats are OpenSSL's defaults for a 1.2-1.3 client.
	 */
	if (!SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(sc, TLS1_3_VERSION))
		return -1;
	SSL_CTX_set_options(sc, (SSL_OP_ALL & ~SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS) |
			    SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_post_handshake_auth(sc, 1);
	/* pl_ctx_new() applies cfg->alpn after this, replacing it. */
	if (SSL_CTX_set_alpn_protos(sc, client_alpn, sizeof(client_alpn) - 1))
		return -1;
	return 0;
}

/*
 * nginx 1.22 without http2 on the listen socket: its list, in its order,
 * the first of them the client offers; none in common is a fatal
 * no_application_protocol alert.  No ALPN extension from the client: the
 * callback is not called and none is selected.
 */
static const unsigned char nginx_alpn[] =
	"\x08http/1.1\x08http/1.0\x08http/0.9";

static int nginx_alpn_select(SSL *ssl, const unsigned char **out,
			     unsigned char *outlen, const unsigned char *in,
			     unsigned int inlen, void *arg)
{
	unsigned char *sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, nginx_alpn,
				  sizeof(nginx_alpn) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/*
 * nginx always installs a servername callback that accepts any name
 * (ngx_http_ssl_servername: an unknown name goes to the default server),
 * so OpenSSL acknowledges SNI with an empty server_name extension in
 * EncryptedExtensions; without a callback it would not.
 */
static int nginx_servername(SSL *ssl, int *alert, void *arg)
{
	(void)ssl;
	(void)alert;
	(void)arg;
	return SSL_TLSEXT_ERR_OK;
}

int pl_mimic_server(SSL_CTX *sc)
{
	if (!sc || reorder_tls13_suites(sc))
		return -1;
	/*
	 * Debian 12's /etc/nginx/nginx.conf sets "ssl_prefer_server_ciphers
	 * on": the server's order (OpenSSL's default, above) wins, so a
	 * client offering AES-128 first still gets AES-256, like from nginx.
	 * Options nginx sets that show on the wire: NO_COMPRESSION,
	 * NO_CLIENT_RENEGOTIATION (1.2 only), the server preference.
	 */
	SSL_CTX_set_options(sc, SSL_OP_CIPHER_SERVER_PREFERENCE |
			    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_tlsext_servername_callback(sc, nginx_servername);
	/* pl_ctx_new() installs its own callback after this for cfg->alpn. */
	SSL_CTX_set_alpn_select_cb(sc, nginx_alpn_select, NULL);
	return 0;
}
