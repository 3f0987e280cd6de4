// SPDX-License-Identifier: GPL-2.0
/*
 * The option parser of every command.  A command declares its options in
 * tables of struct optdef (cli.h); opt_parse() builds getopt_long()'s
 * table from them (so "--name=value", "--name value", unambiguous
 * abbreviations and options after arguments work as with any GNU tool),
 * and stores each value where its entry says.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

const struct optdef opt_help[] = {
	{ .name = "help", .letter = 'h', .kind = OPT_HELP },
	{ .name = NULL },
};

int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static void *field(const struct optdef *d, void *base)
{
	return d->var ? d->var : (char *)base + d->off;
}

/* v into d's integer field of d->size bytes (two's complement). */
static void store(const struct optdef *d, void *base, long v)
{
	void *p = field(d, base);
	uint8_t v8 = (uint8_t)v;
	uint16_t v16 = (uint16_t)v;
	uint32_t v32 = (uint32_t)v;
	uint64_t v64 = (uint64_t)v;

	switch (d->size) {
	case 1:
		memcpy(p, &v8, 1);
		break;
	case 2:
		memcpy(p, &v16, 2);
		break;
	case 4:
		memcpy(p, &v32, 4);
		break;
	default:
		memcpy(p, &v64, 8);
		break;
	}
}

int opt_set(const struct optdef *d, void *base, const char *val,
	    const char *what)
{
	const struct opt_word *w;
	char hint[160];
	long v;

	switch (d->kind) {
	case OPT_FLAG:
		store(d, base, d->lo);
		return 0;
	case OPT_STR:
		memcpy(field(d, base), &val, sizeof(val));
		return 0;
	case OPT_INT:
		if (!parse_long(val, d->lo, d->hi, &v)) {
			store(d, base, v);
			return 0;
		}
		snprintf(hint, sizeof(hint),
			 d->hint ? d->hint : "a number from %ld to %ld",
			 d->lo, d->hi);
		msg("bad %s '%s': %s", what, val, hint);
		return -1;
	case OPT_CHOICE:
		for (w = d->words; w->name; w++) {
			if (!strcmp(val, w->name)) {
				store(d, base, w->value);
				return 0;
			}
		}
		msg("bad %s '%s': %s", what, val, d->hint);
		return -1;
	case OPT_FUNC:
		return d->fn(base, val, what);
	case OPT_HELP:
		break;
	}
	return 0;
}

/* Whether commands a and b share a table (help aside). */
static bool siblings(const struct command *a, const struct command *b)
{
	for (const struct optdef *const *x = a->tables; *x; x++)
		for (const struct optdef *const *y = b->tables; *y; y++)
			if (*x == *y && *x != opt_help)
				return true;
	return false;
}

/*
 * The entries argv is parsed with: cmd's own, then (own[i] false) those of
 * the commands that share a table with it, so that an option of listen
 * given to connect is named as such.  NULL if out of memory.
 */
/* Room for more entries in gather(); -1 (all freed) if out of memory. */
static int grow(const struct optdef ***defs, bool **own, size_t *cap)
{
	size_t nc = *cap ? 2 * *cap : 32;
	const struct optdef **nd = realloc(*defs, nc * sizeof(**defs));
	bool *no;

	if (nd)
		*defs = nd;
	no = nd ? realloc(*own, nc * sizeof(**own)) : NULL;
	if (no)
		*own = no;
	if (!nd || !no) {
		free(*defs);
		free(*own);
		*defs = NULL;
		*own = NULL;
		return -1;
	}
	*cap = nc;
	return 0;
}

static const struct optdef **gather(const struct command *cmd, bool **own,
				    size_t *n)
{
	const struct optdef **defs = NULL;
	size_t cap = 0;

	*n = 0;
	*own = NULL;
	for (int pass = 0; pass < 2; pass++) {
		for (const struct command *const *c = commands; *c; c++) {
			if (pass ? *c == cmd || !siblings(cmd, *c) : *c != cmd)
				continue;
			for (const struct optdef *const *t = (*c)->tables; *t;
			     t++) {
				for (const struct optdef *d = *t; d->name; d++) {
					size_t i;

					for (i = 0; i < *n; i++)
						if (!strcmp(defs[i]->name, d->name))
							break;
					if (i < *n)
						continue;
					if (*n == cap && grow(&defs, own, &cap))
						return NULL;
					defs[*n] = d;
					(*own)[(*n)++] = !pass;
				}
			}
		}
	}
	return defs;
}

int opt_parse(const struct command *cmd, int argc, char **argv, void *base,
	      int *first)
{
	const struct optdef **defs;
	struct option *lo = NULL;
	char *shortopts = NULL, what[64];
	size_t n, k = 0;
	bool *own;
	int c, rc = 0;

	defs = gather(cmd, &own, &n);
	if (defs) {
		lo = calloc(n + 1, sizeof(*lo));
		shortopts = calloc(2 * n + 2, 1);
	}
	if (!defs || !lo || !shortopts) {
		msg("out of memory");
		rc = EX_IO;
		goto out;
	}
	shortopts[k++] = ':';
	for (size_t i = 0; i < n; i++) {
		bool arg = defs[i]->kind != OPT_FLAG &&
			   defs[i]->kind != OPT_HELP;

		lo[i].name = defs[i]->name;
		lo[i].has_arg = arg ? required_argument : no_argument;
		lo[i].val = defs[i]->letter ? defs[i]->letter : 256 + (int)i;
		if (defs[i]->letter) {
			shortopts[k++] = (char)defs[i]->letter;
			if (arg)
				shortopts[k++] = ':';
		}
	}

	optind = 0;	/* glibc: start afresh, as for a new argv */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
		const struct optdef *d = NULL;
		size_t i, at = n;

		for (i = 0; i < n; i++)
			if (lo[i].val == (c == '?' ? optopt : c))
				at = i;
		if (c != '?' && at < n)
			d = defs[at];
		if (c == ':') {
			msg("option '%s' needs an argument", argv[optind - 1]);
		} else if (!d && at < n) {
			msg("option '--%s' takes no value", lo[at].name);
		} else if (!d && optopt && optopt < 256) {
			msg("unknown option '-%c' (see plasmatic %s --help)",
			    optopt, cmd->name);
		} else if (!d) {
			msg("unknown option '%s' (see plasmatic %s --help)",
			    argv[optind - 1], cmd->name);
		} else if (!own[at]) {
			msg("option '--%s' is not for '%s' (see --help)",
			    d->name, cmd->name);
		} else if (d->kind == OPT_HELP) {
			cmd->usage(stdout);
			rc = -1;
			goto out;
		} else {
			snprintf(what, sizeof(what), "--%s", d->name);
			if (!opt_set(d, base, optarg, what))
				continue;
		}
		rc = EX_USAGE_;
		goto out;
	}
	*first = optind;
out:
	free(defs);
	free(own);
	free(lo);
	free(shortopts);
	return rc;
}

int opt_args(const struct command *cmd, int argc, char **argv, int first,
	     int n, const char *what)
{
	const char *name = cmd->tagged ? "" : cmd->name;
	const char *sep = cmd->tagged ? "" : ": ";

	if (argc - first < n) {
		msg("%s%smissing %s (see plasmatic %s --help)", name, sep,
		    what, cmd->name);
		return EX_USAGE_;
	}
	if (argc - first > n) {
		msg("%s%sunexpected argument '%s' (see plasmatic %s --help)",
		    name, sep, argv[first + n], cmd->name);
		return EX_USAGE_;
	}
	return 0;
}
