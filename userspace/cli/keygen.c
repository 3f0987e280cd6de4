// SPDX-License-Identifier: GPL-2.0
/* plasmatic keygen [-o FILE]: a new pre-shared key file. */
#define _GNU_SOURCE
#include <string.h>

#include "plasmatic.h"
#include "cli.h"

static void usage_keygen(FILE *f)
{
	fprintf(f,
"usage: plasmatic keygen [-o FILE]\n"
"\n"
"Make a new random 32-byte pre-shared key. The file holds one line\n"
"\"" PL_PSK_FILE_TAG " <64 hex digits>\" and is created with mode 0600; an\n"
"existing file is never overwritten. Without -o (or with -o -) the key goes\n"
"to stdout. Give the same file to both ends with --psk.\n"
"\n"
"  -o, --output FILE   write the key to FILE\n"
"  -h, --help          this text\n");
}

struct keygen_opts {
	const char *out;
};

static const struct optdef keygen_opts[] = {
	{ .name = "output", .letter = 'o', .kind = OPT_STR,
	  OPT_FIELD(struct keygen_opts, out) },
	{ .name = NULL },
};

static int run_keygen(int argc, char **argv)
{
	struct keygen_opts o = { 0 };
	struct pl_error err;
	int rc, first;

	rc = opt_parse(&cmd_keygen, argc, argv, &o, &first);
	if (!rc)
		rc = opt_args(&cmd_keygen, argc, argv, first, 0, NULL);
	if (rc || cli_parse_only)
		return rc < 0 ? 0 : rc;
	if (pl_psk_generate(o.out, &err)) {
		msg("%s", err.msg);
		return code_to_exit(err.code) == EX_IO ? EX_FILE :
		       code_to_exit(err.code);
	}
	if (o.out && strcmp(o.out, "-") && verbose)
		msg("wrote %s", o.out);
	return 0;
}

const struct command cmd_keygen = {
	.name = "keygen",
	.run = run_keygen,
	.usage = usage_keygen,
	.tables = (const struct optdef *const[]){ opt_help, keygen_opts, NULL },
};
