// SPDX-License-Identifier: GPL-2.0
/*
 * Throw-away PKI for the tests, made with OpenSSL's APIs (ECDSA P-256):
 *   DIR/ca.pem             test CA
 *   DIR/server.pem/.key    server certificate (localhost, 127.0.0.1, ::1)
 *   DIR/other-ca.pem       a CA that signed nothing we use (untrusted)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki.h"

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return 0;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* issuer == NULL: self-signed.  san may be NULL. */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer,
		       EVP_PKEY *issuer_key, int ca, const char *san)
{
	X509 *x = X509_new();
	X509_NAME *name;
	BIGNUM *bn = BN_new();
	unsigned char serial[16];

	if (!x || !bn || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	if (!X509_set_version(x, 2) ||
	    !BN_bin2bn(serial, sizeof(serial), bn) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 2 * 86400) ||
	    !X509_set_pubkey(x, key))
		goto fail;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
					(const unsigned char *)"Plasmatic tests",
					-1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)cn, -1, -1, 0))
		goto fail;
	if (!X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name))
		goto fail;
	if (!issuer) {
		issuer = x;
		issuer_key = key;
	}
	if (!add_ext(x, issuer, NID_basic_constraints,
		     ca ? "critical,CA:TRUE" : "critical,CA:FALSE") ||
	    !add_ext(x, issuer, NID_key_usage,
		     ca ? "critical,keyCertSign,cRLSign" :
			  "critical,digitalSignature") ||
	    !add_ext(x, issuer, NID_subject_key_identifier, "hash") ||
	    (!ca && !add_ext(x, issuer, NID_ext_key_usage, "serverAuth")) ||
	    (san && !add_ext(x, issuer, NID_subject_alt_name, san)))
		goto fail;
	if (!X509_sign(x, issuer_key, EVP_sha256()))
		goto fail;
	BN_free(bn);
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

/* A certificate (x) or a private key (k, mode 0600) as DIR/FILE. */
static int write_pem(const char *dir, const char *file, X509 *x, EVP_PKEY *k)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	if (!f)
		return 0;
	if (k)
		chmod(path, 0600);
	ok = k ? PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) :
		 PEM_write_X509(f, x);
	return fclose(f) == 0 && ok;
}

int pki_make(const char *dir)
{
	EVP_PKEY *ca_key = EVP_EC_gen("P-256");
	EVP_PKEY *srv_key = EVP_EC_gen("P-256");
	EVP_PKEY *other_key = EVP_EC_gen("P-256");
	X509 *ca = NULL, *srv = NULL, *other = NULL;
	int ok = 0;

	mkdir(dir, 0700);
	if (!ca_key || !srv_key || !other_key)
		goto out;
	ca = make_cert("Plasmatic test CA", ca_key, NULL, NULL, 1, NULL);
	other = make_cert("Plasmatic untrusted CA", other_key, NULL, NULL, 1, NULL);
	if (!ca || !other)
		goto out;
	srv = make_cert("localhost", srv_key, ca, ca_key, 0,
			"DNS:localhost,DNS:plasmatic.test,IP:127.0.0.1,IP:::1");
	if (!srv)
		goto out;
	ok = write_pem(dir, "ca.pem", ca, NULL) &&
	     write_pem(dir, "other-ca.pem", other, NULL) &&
	     write_pem(dir, "server.pem", srv, NULL) &&
	     write_pem(dir, "server.key", NULL, srv_key) &&
	     write_pem(dir, "ca.key", NULL, ca_key);
out:
	X509_free(ca);
	X509_free(srv);
	X509_free(other);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(other_key);
	return ok ? 0 : -1;
}
