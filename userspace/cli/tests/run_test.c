// SPDX-License-Identifier: GPL-2.0
/*
 * plasmatic_run() (cli.h), the parser's seam, several command lines in one
 * process, TAP:
 *   run_test DIR     (a scratch directory)
 * parse_only touches no file (keygen -o, --config, inspect's capture,
 * check-config's file) nor device (shape), still refuses bad command lines; each run starts
 * afresh (verbose, inspect's message tag, a --config file's strings).
 * Linked with the plasmatic objects, main.c's main() renamed.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int n, failed;
static char err[4096];		/* stderr of the last run */

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	n++;
	failed += !ok;
	printf("%sok %d ", ok ? "" : "not ", n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!ok && err[0])
		printf("#   stderr: %s", err);
}

/* plasmatic_run() of the NULL-ended words, its stderr in err. */
static int run(bool parse_only, ...)
{
	char *argv[16] = { "plasmatic" };
	int argc = 1, rc, saved, fd;
	FILE *f = tmpfile();
	va_list ap;
	size_t len;

	va_start(ap, parse_only);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	fflush(stderr);
	saved = dup(2);
	fd = f ? fileno(f) : -1;
	if (fd < 0 || saved < 0 || dup2(fd, 2) < 0) {
		printf("Bail out! cannot redirect stderr\n");
		exit(1);
	}
	rc = plasmatic_run(argc, argv, parse_only);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	len = fread(err, 1, sizeof(err) - 1, f);
	err[len] = 0;
	fclose(f);
	return rc;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

int main(int argc, char **argv)
{
	char key[512], conf[512], missing[512];
	FILE *f;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: run_test DIR\n");
		return 2;
	}
	snprintf(key, sizeof(key), "%s/run_test.psk", argv[1]);
	snprintf(conf, sizeof(conf), "%s/run_test.conf", argv[1]);
	snprintf(missing, sizeof(missing), "%s/no-such-file", argv[1]);
	unlink(key);
	printf("TAP version 13\n");

	rc = run(true, "keygen", "-o", key, NULL);
	check(rc == 0 && !exists(key),
	      "parse_only: keygen -o FILE exits 0 and writes nothing (%d)", rc);
	rc = run(true, "keygen", "-o", key, "extra", NULL);
	check(rc == 2, "parse_only: keygen with an extra argument exits 2 (%d)",
	      rc);
	rc = run(true, "connect", "127.0.0.1:1", "--config", missing, NULL);
	check(rc == 0, "parse_only: connect --config MISSING reads no file (%d)",
	      rc);
	rc = run(true, "connect", "127.0.0.1:1", "--framing", "x", NULL);
	check(rc == 2 && strstr(err, "bad --framing 'x'"),
	      "parse_only: a bad value exits 2 with its message (%d)", rc);
	rc = run(true, "listen", "0", "--once", "--cert", "a", "--key", "b",
		 NULL);
	check(rc == 2 && strstr(err, "--once goes with --exec"),
	      "parse_only: listen's checks still run (%d)", rc);
	rc = run(true, "inspect", missing, NULL);
	check(rc == 0, "parse_only: inspect opens no capture (%d)", rc);
	rc = run(true, "check-config", missing, NULL);
	check(rc == 0, "parse_only: check-config reads no file (%d)", rc);
	rc = run(true, "shape", "--dev", "lo", "--time-scale", "100", NULL);
	check(rc == 0, "parse_only: shape touches no device (%d)", rc);
	rc = run(true, "shape", "--off", NULL);
	check(rc == 2 && strstr(err, "--dev DEV is required"),
	      "parse_only: shape without --dev exits 2 (%d)", rc);
	rc = run(true, "shape", "--dev", "lo", "--qdisc", "plasmatic_tpl", NULL);
	check(rc == 0, "parse_only: shape --qdisc plasmatic_tpl is accepted (%d)", rc);
	rc = run(true, "shape", "--dev", "lo", "--qdisc", "pfifo", NULL);
	check(rc == 2 && strstr(err, "--qdisc must be fq or plasmatic_tpl"),
	      "parse_only: shape --qdisc with another qdisc exits 2 (%d)", rc);

	/* Afresh each run: inspect's tag, verbose. */
	run(true, "inspect", "--bogus", NULL);
	check(!strncmp(err, "plasmatic: inspect: unknown option", 34),
	      "inspect's messages say 'inspect: '");
	rc = run(true, "connect", "--bogus", NULL);
	check(rc == 2 && !strncmp(err, "plasmatic: unknown option", 25),
	      "the next command's do not");
	run(true, "connect", "127.0.0.1:1", "-v", NULL);
	check(verbose == 1, "connect -v sets verbose");
	run(true, "keygen", "--bogus", NULL);
	check(verbose == 0, "the next run starts with verbose 0");

	/* A real run reads --config, and its strings go at its end (the ASan
	 * build's leak check); the next run reads it again. */
	f = fopen(conf, "w");
	if (!f) {
		printf("Bail out! cannot write %s\n", conf);
		return 1;
	}
	fprintf(f, "[listen]\ncert = %s\nkey = %s\nframing = sideways\n",
		missing, missing);
	fclose(f);
	for (int i = 0; i < 2; i++) {
		rc = run(false, "listen", "0", "--config", conf, NULL);
		check(rc == 2 && strstr(err, "run_test.conf:4: bad framing"),
		      "run %d: listen --config reads the file: FILE:4 (%d)", i,
		      rc);
	}
	rc = run(false, "check-config", missing, NULL);
	check(rc == 3, "check-config MISSING exits 3 (%d)", rc);
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
