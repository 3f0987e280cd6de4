/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Random key material installed on a connected pair for tests that need
 * working keys but no particular ones (sockopt_fuzz_test, stress_test).
 */
#ifndef PLASMATIC_SELFTEST_PLRANDKEYS_H
#define PLASMATIC_SELFTEST_PLRANDKEYS_H

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/tls.h>
#include <linux/plasmatic.h>

#include "plrand.h"

/* An EEM of the default length, from @key and @nonce (nonce's bit as derived). */
static inline int pl_set_eem_raw(int fd, int opt, const uint8_t *key, const uint8_t *nonce,
				 int framing)
{
	struct plasmatic_eem_info e = { .version = PLASMATIC_EEM_VERSION_1,
					.framing = framing,
					.eem_len = PLASMATIC_EEM_LEN_DEFAULT };

	memcpy(e.key, key, sizeof(e.key));
	memcpy(e.nonce, nonce, sizeof(e.nonce));
	e.nonce[4] &= 0x7f;
	return setsockopt(fd, SOL_PLASMATIC, opt, &e, sizeof(e));
}

/*
 * EEMs and keys for a->b and b->a, random from *@s, on two ends that have
 * the ULP: traffic secrets (@secret) or kTLS structures, these with the
 * record sequence number 0 (@zero_seq) or random.  0 or -errno.
 */
static inline int pl_random_keys(int a, int b, uint64_t *s, uint16_t cipher, int framing,
				 int secret, int zero_seq)
{
	int ends[2] = { a, b };

	for (int dir = 0; dir < 2; dir++) {
		int tx = ends[dir], rx = ends[!dir];
		uint8_t ek[32], en[12], k[64] = { 0 };
		int len, ktx, krx;

		pl_rand_bytes(s, ek, sizeof(ek));
		pl_rand_bytes(s, en, sizeof(en));
		if (secret) {
			struct plasmatic_secret_info *si = (void *)k;

			si->version = TLS_1_3_VERSION;
			si->cipher_type = cipher;
			pl_rand_bytes(s, si->secret, sizeof(si->secret));
			len = sizeof(*si);
			ktx = PLASMATIC_TX_SECRET;
			krx = PLASMATIC_RX_SECRET;
		} else {
			struct tls_crypto_info *ci = (void *)k;

			/* ChaCha20-Poly1305's structure is as long as AES-256's. */
			len = cipher == TLS_CIPHER_AES_GCM_128 ?
			      sizeof(struct tls12_crypto_info_aes_gcm_128) :
			      sizeof(struct tls12_crypto_info_aes_gcm_256);
			pl_rand_bytes(s, k, len);
			if (zero_seq)
				memset(k + len - 8, 0, 8);
			ci->version = TLS_1_3_VERSION;
			ci->cipher_type = cipher;
			ktx = PLASMATIC_TX;
			krx = PLASMATIC_RX;
		}
		if (pl_set_eem_raw(tx, PLASMATIC_EEM_TX, ek, en, framing) ||
		    pl_set_eem_raw(rx, PLASMATIC_EEM_RX, ek, en, framing) ||
		    setsockopt(tx, SOL_PLASMATIC, ktx, k, len) ||
		    setsockopt(rx, SOL_PLASMATIC, krx, k, len))
			return -errno;
	}
	return 0;
}

#endif
