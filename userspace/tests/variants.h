/* SPDX-License-Identifier: GPL-2.0 */
/* The 3 suites x 2 framings, with EEM lengths at both ends of the range. */
#ifndef PL_TEST_VARIANTS_H
#define PL_TEST_VARIANTS_H

#define PL_SUITE_VARIANTS(f)						\
FIXTURE_VARIANT_ADD(f, aes128gcm_detached) {				\
	.suite = PL_TLS_AES_128_GCM_SHA256, .framing = 0, .eem_len = 48, \
};									\
FIXTURE_VARIANT_ADD(f, aes128gcm_covered) {				\
	.suite = PL_TLS_AES_128_GCM_SHA256, .framing = 1, .eem_len = 80, \
};									\
FIXTURE_VARIANT_ADD(f, aes256gcm_detached) {				\
	.suite = PL_TLS_AES_256_GCM_SHA384, .framing = 0, .eem_len = 80, \
};									\
FIXTURE_VARIANT_ADD(f, aes256gcm_covered) {				\
	.suite = PL_TLS_AES_256_GCM_SHA384, .framing = 1, .eem_len = 255, \
};									\
FIXTURE_VARIANT_ADD(f, chacha20_detached) {				\
	.suite = PL_TLS_CHACHA20_POLY1305_SHA256, .framing = 0,		\
	.eem_len = 255,							\
};									\
FIXTURE_VARIANT_ADD(f, chacha20_covered) {				\
	.suite = PL_TLS_CHACHA20_POLY1305_SHA256, .framing = 1,		\
	.eem_len = 48,							\
}

#endif
