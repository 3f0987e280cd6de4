// SPDX-License-Identifier: GPL-2.0
/*
 * Algorithms fetched once per process.
 *
 * An OpenSSL 3 fetch is a lookup in the providers' method store under a
 * lock; crypto(7), "Performance", asks code that uses an algorithm often to
 * fetch it once and keep it.  A server makes many connections, each with
 * four cipher contexts and a dozen HKDF steps, from several threads: they
 * share what is fetched here instead of fetching it again each time.
 *
 * Fetched on first use (pthread_once), never changed afterwards and kept
 * until the process exits (they hold no key): any thread reads them without
 * a lock.  The HMAC templates have their digest set and no key; they are
 * only read, by EVP_MAC_CTX_dup.  A failed fetch stays NULL and makes each
 * user fail with PL_ERR_CRYPTO.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>

#include "internal.h"

enum { ALG_AES128GCM, ALG_AES256GCM, ALG_CHACHA, ALG_NCIPHERS };

static const char *const cipher_names[ALG_NCIPHERS] = {
	[ALG_AES128GCM] = "AES-128-GCM",
	[ALG_AES256GCM] = "AES-256-GCM",
	[ALG_CHACHA] = "ChaCha20-Poly1305",
};

static const char *const digest_names[] = { "SHA256", "SHA384" };

static struct {
	EVP_CIPHER *cipher[ALG_NCIPHERS];
	EVP_MAC_CTX *hmac[2];		/* as digest_names */
} algs;

static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

static EVP_MAC_CTX *hmac_template(EVP_MAC *mac, const char *digest)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx && EVP_MAC_CTX_set_params(ctx, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

static void algs_fetch(void)
{
	EVP_MAC *mac;

	for (int i = 0; i < ALG_NCIPHERS; i++)
		algs.cipher[i] = EVP_CIPHER_fetch(NULL, cipher_names[i], NULL);
	mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	if (!mac)
		return;
	for (int i = 0; i < 2; i++)
		algs.hmac[i] = hmac_template(mac, digest_names[i]);
	EVP_MAC_free(mac);	/* the contexts hold their own reference */
}

const EVP_CIPHER *pl_alg_suite_cipher(uint16_t suite)
{
	pthread_once(&algs_once, algs_fetch);
	switch (suite) {
	case PL_TLS_AES_128_GCM_SHA256:
		return algs.cipher[ALG_AES128GCM];
	case PL_TLS_AES_256_GCM_SHA384:
		return algs.cipher[ALG_AES256GCM];
	case PL_TLS_CHACHA20_POLY1305_SHA256:
		return algs.cipher[ALG_CHACHA];
	}
	return NULL;
}

const EVP_CIPHER *pl_alg_eem_cipher(void)
{
	pthread_once(&algs_once, algs_fetch);
	return algs.cipher[ALG_CHACHA];
}

EVP_MAC_CTX *pl_alg_hmac_new(const char *digest)
{
	pthread_once(&algs_once, algs_fetch);
	for (size_t i = 0; i < sizeof(digest_names) / sizeof(digest_names[0]);
	     i++)
		if (!strcmp(digest, digest_names[i]))
			return algs.hmac[i] ? EVP_MAC_CTX_dup(algs.hmac[i]) :
					      NULL;
	return NULL;
}
