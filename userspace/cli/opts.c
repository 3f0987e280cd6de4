// SPDX-License-Identifier: GPL-2.0
/*
 * The option parser of every command.  A command declares its options in
 * tables of struct optdef (cli.h); opt_parse() builds getopt_long()'s
 * table from them (so "--name=value", "--name value", unambiguous
 * abbreviations and options after arguments work as with any GNU tool),
 * stores each value where its entry says, and reads --config FILE's
 * section for what the command line did not give.  The same entries check
 * the keys and values of configuration files (config.c).
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
	{ .name = "help", .letter = 'h', .kind = OPT_HELP,
	  .flags = OPTF_ARGV_ONLY },
	{ .name = NULL },
};

const struct optdef opt_config[] = {
	{ .name = "config", .kind = OPT_CONFIG, .flags = OPTF_ARGV_ONLY },
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
	return (char *)base + d->off;
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

/* yes/no and its synonyms: 1, 0, or -1. */
static int bool_word(const char *s)
{
	static const char *const on[] = { "yes", "true", "on", "1" };
	static const char *const off[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		if (!strcasecmp(s, on[i]))
			return 1;
		if (!strcasecmp(s, off[i]))
			return 0;
	}
	return -1;
}

int opt_set(const struct optdef *d, void *base, const char *val,
	    const char *what)
{
	const struct opt_word *w;
	char hint[160];
	long v;

	switch (d->kind) {
	case OPT_FLAG:
		v = val ? bool_word(val) : 1;
		if (v < 0) {
			msg("bad %s '%s': yes or no", what, val);
			return -1;
		}
		store(d, base, v ? d->lo : d->hi);
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
	case OPT_HELP: case OPT_CONFIG:
		break;
	}
	return 0;
}

static bool is_common(const struct optdef *t)
{
	return t == opt_help || t == opt_config;
}

/* Whether commands a and b share a table (help and config aside). */
static bool siblings(const struct command *a, const struct command *b)
{
	for (const struct optdef *const *x = a->tables; *x; x++)
		for (const struct optdef *const *y = b->tables; *y; y++)
			if (*x == *y && !is_common(*x))
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
					if (i < *n || (d->flags & OPTF_FILE_ONLY))
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
	const struct optdef **defs, **given = NULL;
	struct option *lo = NULL;
	const char *config = NULL;
	char *shortopts = NULL, what[64];
	size_t n, ngiven = 0, k = 0;
	bool *own;
	int c, rc = 0;

	defs = gather(cmd, &own, &n);
	if (defs) {
		lo = calloc(n + 1, sizeof(*lo));
		shortopts = calloc(2 * n + 2, 1);
		given = calloc(n + 1, sizeof(*given));
	}
	if (!defs || !lo || !shortopts || !given) {
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
		} else if (d->kind == OPT_CONFIG) {
			config = optarg;
			continue;
		} else {
			snprintf(what, sizeof(what), "--%s", d->name);
			if (!opt_set(d, base, optarg, what)) {
				/* Each once: "-vvv" is three of one. */
				for (i = 0; i < ngiven && given[i] != d; i++)
					;
				if (i == ngiven)
					given[ngiven++] = d;
				continue;
			}
		}
		rc = EX_USAGE_;
		goto out;
	}
	*first = optind;
	if (config && !cli_parse_only)
		rc = config_load(config, cmd, base, given, ngiven);
out:
	free(defs);
	free(own);
	free(lo);
	free(shortopts);
	free(given);
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

const struct optdef *opt_key(const struct command *cmd, const char *key)
{
	for (const struct optdef *const *t = cmd->tables; *t; t++)
		for (const struct optdef *d = *t; d->name; d++)
			if (!strcmp(d->name, key) &&
			    !(d->flags & OPTF_ARGV_ONLY))
				return d;
	return NULL;
}
