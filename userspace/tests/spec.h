/* SPDX-License-Identifier: GPL-2.0 */
/* Reader of the test vectors in SPEC.md section 13. */
#ifndef PL_TEST_SPEC_H
#define PL_TEST_SPEC_H

#include <stddef.h>
#include <stdint.h>

#define SPEC_MAX_FIELDS	96
#define SPEC_MAX_VECS	128

struct spec_field {
	const char *name;
	const char *value;
};

struct spec_vec {
	const char *id;
	size_t n;
	struct spec_field f[SPEC_MAX_FIELDS];
};

struct spec {
	char *text;
	size_t n;
	struct spec_vec v[SPEC_MAX_VECS];
};

/* $PL_SPEC_MD, else the SPEC.md of the source tree. */
const char *spec_path(void);
/* 0 on success, -1 (with a message on stderr) on failure. */
int spec_load(struct spec *s, const char *path);
void spec_free(struct spec *s);
const struct spec_vec *spec_find(const struct spec *s, const char *id);
/* Number of vectors whose id starts with prefix. */
size_t spec_count(const struct spec *s, const char *prefix);
const char *spec_get(const struct spec_vec *v, const char *name);
/* A hex string into out: 0 on success; -1 if not hex or longer than cap. */
int spec_unhex(const char *s, uint8_t *out, size_t cap, size_t *len);
/* 0 on success; -1 if missing, not hex or longer than cap. */
int spec_hex(const struct spec_vec *v, const char *name, uint8_t *out,
	     size_t cap, size_t *len);
int spec_u64(const struct spec_vec *v, const char *name, uint64_t *out);

#endif
