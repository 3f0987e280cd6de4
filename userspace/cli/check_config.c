// SPDX-License-Identifier: GPL-2.0
/* plasmatic check-config FILE: is a configuration file valid? */
#define _GNU_SOURCE
#include "cli.h"

static void usage_check_config(FILE *f)
{
	fprintf(f,
"usage: plasmatic check-config FILE\n"
"\n"
"Check a configuration file as 'plasmatic listen --config FILE' (and\n"
"connect, proxy, relay) read it: print \"FILE: ok\" and exit 0\n"
"if it is valid; else print its first error as FILE:LINE: and exit 2 (3 if\n"
"FILE cannot be read). The files it names (certificate, key, PSK) are not\n"
"opened, nor is what the command line must add (listen's --cert, --key)\n"
"checked: the command does that when it starts.\n"
"\n"
"The format (INI):\n"
"  # a comment: a line that starts with # or ;\n"
"  [listen]                      the options of 'plasmatic listen'\n"
"  address = 0.0.0.0:443         its [ADDR:]PORT argument\n"
"  cert = /etc/plasmatic/server.pem      --cert FILE\n"
"  once = no                     a flag: yes or no (true/false, on/off, 1/0)\n"
"  [connect]                     the options of 'plasmatic connect'\n"
"  address = example.com:443     its HOST:PORT argument\n"
"  [proxy]                       the options of 'plasmatic proxy'\n"
"  relay = relay.example.org:443 --relay HOST:PORT\n"
"  [relay]                       the options of 'plasmatic relay'\n"
"  allow = 10.1.0.0/16, fd00::/8 --allow: a list of CIDRs\n"
"\n"
"Every option --NAME of the command is the key NAME of its section, with\n"
"the same values (--help and --config excepted); the address argument is\n"
"the key address. A value runs to the end of its line (no comment after\n"
"it), spaces around it stripped. Each key at most once in a section; an\n"
"unknown section or key, a key outside a section, an empty or bad value\n"
"is an error. Options on the command line override the file's.\n"
"\n"
"  -h, --help   this text\n");
}

static int run_check_config(int argc, char **argv)
{
	int rc, first;

	rc = opt_parse(&cmd_check_config, argc, argv, NULL, &first);
	if (!rc)
		rc = opt_args(&cmd_check_config, argc, argv, first, 1, "FILE");
	if (rc || cli_parse_only)
		return rc < 0 ? 0 : rc;
	rc = config_load(argv[first], NULL, NULL, NULL, 0);
	if (!rc)
		printf("%s: ok\n", argv[first]);
	return rc;
}

const struct command cmd_check_config = {
	.name = "check-config",
	.run = run_check_config,
	.usage = usage_check_config,
	.tables = (const struct optdef *const[]){ opt_help, NULL },
};
