// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the command line of the plasmatic command, every
 * command's options and arguments (userspace/cli/: opts.c and the
 * commands' tables, configuration files not read).
 *
 * The input is split at NUL bytes into argv[1..] (argv[0] "plasmatic"),
 * each argument in a buffer of its exact size, and run through
 * plasmatic_run(argc, argv, parse_only = true): main()'s own path, stopped
 * before any file, socket or key is touched.  The exit status must be 0
 * (good, --help, --version) or 2 (usage); ASan's leak check sees anything
 * the parser leaves allocated.  Run with -close_fd_mask=3 to keep the
 * usage texts and messages off the terminal.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fuzz.h"

#define MAX_ARGS	64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char prog[] = "plasmatic";
	char *argv[MAX_ARGS + 2], *dummy[2] = { prog, NULL };
	size_t i = 0;
	int argc = 1, rc;

	argv[0] = prog;
	while (i < size && argc <= MAX_ARGS) {
		size_t e = i;

		while (e < size && data[e])
			e++;
		argv[argc] = malloc(e - i + 1);
		NEED(argv[argc]);
		memcpy(argv[argc], data + i, e - i);
		argv[argc][e - i] = 0;
		argc++;
		i = e + 1;
	}
	argv[argc] = NULL;
	/*
	 * A process parses one command line; this one parses millions.
	 * Should any code use glibc's getopt, which keeps a pointer into the
	 * last argv, optind = 0 starts it afresh, as a new process.
	 */
	optind = 0;
	NEED(getopt(1, dummy, "") == -1);
	rc = plasmatic_run(argc, argv, true);
	NEED(rc == 0 || rc == 2);
	for (int k = 1; k < argc; k++)
		free(argv[k]);
	return 0;
}
