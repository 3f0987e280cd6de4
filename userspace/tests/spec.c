// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_engine.h"
#include "spec.h"

#ifndef SPEC_MD_DEFAULT
#define SPEC_MD_DEFAULT "SPEC.md"
#endif

static const char begin_marker[] = "<!-- VECTORS BEGIN -->";
static const char end_marker[] = "<!-- VECTORS END -->";

const char *spec_path(void)
{
	const char *p = getenv("PL_SPEC_MD");

	return p && *p ? p : SPEC_MD_DEFAULT;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET))
		goto out;
	buf = malloc((size_t)len + 1);
	if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[len] = 0;
out:
	fclose(f);
	return buf;
}

/* Fenced blocks of "name: value" lines, the first being "vector: id". */
int spec_load(struct spec *s, const char *path)
{
	char *p, *end, *line, *next;
	struct spec_vec *cur = NULL;

	memset(s, 0, sizeof(*s));
	s->text = slurp(path);
	if (!s->text) {
		fprintf(stderr, "spec: cannot read %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	p = strstr(s->text, begin_marker);
	end = p ? strstr(p, end_marker) : NULL;
	if (!end) {
		fprintf(stderr, "spec: no vectors section in %s\n", path);
		return -1;
	}
	*end = 0;
	for (line = p + sizeof(begin_marker) - 1; line; line = next) {
		char *colon;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!strncmp(line, "```", 3)) {
			cur = NULL;	/* a fence opens or closes a block */
			continue;
		}
		colon = strstr(line, ": ");
		if (!colon) {
			colon = strchr(line, ':');	/* "name:" empty */
			if (!colon || colon[1])
				continue;
		}
		*colon = 0;
		if (!strcmp(line, "vector")) {
			if (s->n == SPEC_MAX_VECS) {
				fprintf(stderr, "spec: too many vectors\n");
				return -1;
			}
			cur = &s->v[s->n++];
			cur->id = colon + 2;
			continue;
		}
		if (!cur)
			continue;
		if (cur->n == SPEC_MAX_FIELDS) {
			fprintf(stderr, "spec: too many fields in %s\n", cur->id);
			return -1;
		}
		cur->f[cur->n].name = line;
		cur->f[cur->n].value = colon[1] ? colon + 2 : colon + 1;
		cur->n++;
	}
	return 0;
}

void spec_free(struct spec *s)
{
	free(s->text);
	memset(s, 0, sizeof(*s));
}

const struct spec_vec *spec_find(const struct spec *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].id, id))
			return &s->v[i];
	return NULL;
}

size_t spec_count(const struct spec *s, const char *prefix)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += !strncmp(s->v[i].id, prefix, strlen(prefix));
	return n;
}

const char *spec_get(const struct spec_vec *v, const char *name)
{
	for (size_t i = 0; v && i < v->n; i++)
		if (!strcmp(v->f[i].name, name))
			return v->f[i].value;
	return NULL;
}

int spec_hex(const struct spec_vec *v, const char *name, uint8_t *out,
	     size_t cap, size_t *len)
{
	const char *s = spec_get(v, name);

	return s ? spec_unhex(s, out, cap, len) : -1;
}

int spec_unhex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(s);

	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = pl_hex_digit(s[2 * i]), lo = pl_hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	if (len)
		*len = n / 2;
	return 0;
}

int spec_u64(const struct spec_vec *v, const char *name, uint64_t *out)
{
	const char *s = spec_get(v, name);
	char *end;

	if (!s || !*s)
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}
