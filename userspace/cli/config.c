// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration files: INI, read with libinih (Debian's libinih-dev).
 *
 *   # a comment (a line starting with # or ;)
 *   [listen]
 *   address = 0.0.0.0:443
 *   cert = /etc/plasmatic/server.pem
 *   once = no
 *
 * A section per command that reads configuration files; its keys are the
 * command's long options ("--open-timeout 30" is "open-timeout = 30", a
 * flag takes yes or no), and address is the command's address argument.
 * Values are taken as written, to the end of the line (no inline comments:
 * a shell command for exec may hold ';'), spaces around them stripped.
 * Reading stops at the first error, reported as FILE:LINE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define LINE_MAX_ 4096		/* characters of a line, newline aside */

struct seen {
	const struct command *cmd;
	const struct optdef *def;
	int line;
};

struct scratch {
	const struct command *cmd;
	void *opts;
};

struct reading {
	const char *file;
	FILE *f;
	int line;			/* the line read last */
	char *text;			/* its text */
	size_t cap;
	char where[256];		/* "FILE:LINE: " */
	int rc;				/* after a message: EX_USAGE_/EX_FILE */
	const struct command *cmd;	/* whose section goes into base */
	void *base;
	const struct optdef *const *given;
	size_t ngiven;
	struct seen *seen;
	size_t nseen;
	struct scratch scratch[8];
	size_t nscratch;
};

/* The values of the files read, until config_release(). */
static char **kept;
static size_t nkept;

void config_release(void)
{
	for (size_t i = 0; i < nkept; i++)
		free(kept[i]);
	free(kept);
	kept = NULL;
	nkept = 0;
}

static char *keep(const char *s)
{
	char *copy = strdup(s);
	char **k = realloc(kept, (nkept + 1) * sizeof(*kept));

	if (k)
		kept = k;
	if (!copy || !k) {
		free(copy);
		return NULL;
	}
	kept[nkept++] = copy;
	return copy;
}

static void at_line(struct reading *r, int line)
{
	snprintf(r->where, sizeof(r->where), "%s:%d: ", r->file, line);
	msg_where = r->where;
}

/* libinih's reader: fgets() that counts lines and refuses what it cannot
 * take whole (a line longer than num - 2 characters, a NUL byte). */
static char *read_line(char *str, int num, void *stream)
{
	struct reading *r = stream;
	ssize_t n;

	if (r->rc)
		return NULL;
	errno = 0;
	n = getline(&r->text, &r->cap, r->f);
	if (n < 0) {
		if (ferror(r->f) || errno == ENOMEM) {
			msg_where = NULL;
			msg("cannot read %s: %s", r->file, strerror(errno));
			r->rc = EX_FILE;
		}
		return NULL;
	}
	at_line(r, ++r->line);
	if (memchr(r->text, 0, (size_t)n)) {
		msg("a NUL byte: not a text file");
		r->rc = EX_USAGE_;
		return NULL;
	}
	while (n && (r->text[n - 1] == '\n' || r->text[n - 1] == '\r'))
		n--;
	if (n > LINE_MAX_ || n > num - 3) {
		msg("line longer than %d characters", LINE_MAX_);
		r->rc = EX_USAGE_;
		return NULL;
	}
	memcpy(str, r->text, (size_t)n);
	str[n] = '\n';
	str[n + 1] = 0;
	return str;
}

/* Where a value of cmd's section goes: base, or a scratch struct when it
 * is another command's section or the command line gave the option. */
static void *target(struct reading *r, const struct command *cmd,
		    const struct optdef *d)
{
	struct scratch *s;

	if (cmd == r->cmd) {
		size_t i;

		for (i = 0; i < r->ngiven && r->given[i] != d; i++)
			;
		if (i == r->ngiven)
			return r->base;
	}
	for (size_t i = 0; i < r->nscratch; i++)
		if (r->scratch[i].cmd == cmd)
			return r->scratch[i].opts;
	if (r->nscratch == sizeof(r->scratch) / sizeof(r->scratch[0]))
		return NULL;
	s = &r->scratch[r->nscratch];
	s->opts = calloc(1, cmd->opts_size);
	if (!s->opts)
		return NULL;
	s->cmd = cmd;
	r->nscratch++;
	return s->opts;
}

/* "[listen] or [connect]": the sections there can be. */
static const char *sections(void)
{
	static char buf[256];
	size_t n = 0, k = 0, len = 0;

	for (const struct command *const *c = commands; *c; c++)
		n += (*c)->config;
	buf[0] = 0;
	for (const struct command *const *c = commands; *c; c++) {
		if (!(*c)->config)
			continue;
		k++;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s[%s]",
					k == 1 ? "" : k == n ? " or " : ", ",
					(*c)->name);
		if (len >= sizeof(buf))
			break;
	}
	return buf;
}

static int on_key(void *user, const char *section, const char *name,
		  const char *value)
{
	struct reading *r = user;
	const struct command *cmd = command_find(section);
	const struct optdef *d;
	struct seen *s;
	const char *v;
	void *base;

	if (!*section) {
		msg("'%s' is outside a section: put it under %s", name,
		    sections());
		goto bad;
	}
	if (!cmd || !cmd->config) {
		msg("unknown section [%s]: expected %s", section, sections());
		goto bad;
	}
	d = opt_key(cmd, name);
	if (!d) {
		msg("unknown key '%s' in [%s] (the keys are the options of "
		    "'plasmatic %s --help' and address)", name, section,
		    section);
		goto bad;
	}
	for (size_t i = 0; i < r->nseen; i++) {
		if (r->seen[i].cmd == cmd && r->seen[i].def == d) {
			msg("'%s' is set again in [%s] (first on line %d)",
			    name, section, r->seen[i].line);
			goto bad;
		}
	}
	s = realloc(r->seen, (r->nseen + 1) * sizeof(*s));
	if (!s)
		goto nomem;
	r->seen = s;
	r->seen[r->nseen++] = (struct seen){ cmd, d, r->line };
	if (!*value) {
		msg("'%s' has no value", name);
		goto bad;
	}
	v = keep(value);
	base = target(r, cmd, d);
	if (!v || !base)
		goto nomem;
	if (opt_set(d, base, v, name))
		goto bad;
	return 1;
nomem:
	msg("out of memory");
bad:
	r->rc = EX_USAGE_;
	return 0;
}

/* What libinih found wrong on a line that never reached on_key(). */
static void syntax_error(struct reading *r, int line)
{
	const char *t = r->text ? r->text : "";

	at_line(r, line);
	t += strspn(t, " \t");
	if (*t == '[')
		msg("a section header without ']'");
	else
		msg("expected 'KEY = VALUE', '[SECTION]' or a comment");
}

int config_load(const char *file, const struct command *cmd, void *base,
		const struct optdef *const *given, size_t ngiven)
{
	struct reading r = {
		.file = file, .cmd = cmd, .base = base,
		.given = given, .ngiven = ngiven,
	};
	int rc;

	r.f = fopen(file, "re");
	if (!r.f) {
		msg("cannot read %s: %s", file, strerror(errno));
		return EX_FILE;
	}
	/* libinih's run-time options (Debian builds it with them). */
	ini_allow_multiline = false;	/* an indented line is a line */
	ini_allow_inline_comments = false;
	ini_stop_on_first_error = true;
	ini_allow_no_value = false;
	ini_use_stack = true;
	ini_max_line = LINE_MAX_ + 3;	/* "\r\n" and the NUL */
	rc = ini_parse_stream(read_line, &r, on_key, &r);
	if (rc == -2) {
		msg("out of memory");
		r.rc = EX_IO;
	} else if (rc > 0 && !r.rc) {
		syntax_error(&r, rc);
		r.rc = EX_USAGE_;
	}
	msg_where = NULL;
	for (size_t i = 0; i < r.nscratch; i++) {
		if (r.scratch[i].cmd->opts_free)
			r.scratch[i].cmd->opts_free(r.scratch[i].opts);
		free(r.scratch[i].opts);
	}
	free(r.seen);
	free(r.text);
	fclose(r.f);
	return r.rc;
}
