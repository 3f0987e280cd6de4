// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the PSK file parser (userspace/lib/psk.c).
 *
 * pl_psk_parse() on the input; its answer is checked against a model of
 * the format of plasmatic.h written here (one line "plasmatic-psk-v1 " and
 * 64 hex digits, optional CR, blank and '#' lines around it).  Inputs of
 * 1020..1030 bytes, and one in 8 of the others up to 1100, also go through
 * pl_psk_load() from a file of mode 0600, which must agree (and refuse a
 * file of 1024 bytes or more).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "fuzz.h"

static char path[] = "/tmp/plasmatic-fuzz-psk-XXXXXX";
static int fd = -1;

static void cleanup(void)
{
	if (fd >= 0)
		unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fd = mkstemp(path);	/* mode 0600 */
	NEED(fd >= 0);
	atexit(cleanup);
	return 0;
}

/* The format, independently: 0 and key, or -1. */
static int model(const uint8_t *d, size_t n, uint8_t key[PL_PSK_BYTES])
{
	static const char tag[] = PL_PSK_FILE_TAG " ";
	size_t i = 0, tl = strlen(tag);
	int lines = 0;

	while (i < n) {
		size_t e = i, l;

		while (e < n && d[e] != '\n')
			e++;
		l = e - i;
		if (l && d[e - 1] == '\r')
			l--;
		if (l && d[i] != '#') {
			if (lines++ || l != tl + 2 * PL_PSK_BYTES ||
			    memcmp(d + i, tag, tl))
				return -1;
			for (size_t k = 0; k < PL_PSK_BYTES; k++) {
				int hi = pl_hex_digit(d[i + tl + 2 * k]);
				int lo = pl_hex_digit(d[i + tl + 2 * k + 1]);

				if (hi < 0 || lo < 0)
					return -1;
				key[k] = (uint8_t)(hi << 4 | lo);
			}
		}
		i = e + 1;
	}
	return lines ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[PL_PSK_BYTES], want[PL_PSK_BYTES];
	char *text = malloc(size ? size : 1);	/* exact size: ASan bounds */
	int rc, m;

	NEED(text);
	memcpy(text, data, size);
	rc = pl_psk_parse(text, size, key);
	m = model(data, size, want);
	NEED(rc == m);
	if (!rc)
		NEED(!memcmp(key, want, sizeof(key)));
	free(text);

	/* The file path is slow (open, mmap, mlock): one input in 8, and
	 * every size around the 1024-byte limit. */
	if ((size <= 1100 && !(size % 8)) || (size >= 1020 && size <= 1030)) {
		struct pl_error err;
		struct pl_psk *psk;

		NEED(ftruncate(fd, 0) == 0);
		NEED(pwrite(fd, data, size, 0) == (ssize_t)size);
		psk = pl_psk_load(path, &err);
		if (size >= 1024 || m) {
			NEED(!psk && err.code == PL_E_PSK_FILE);
		} else {
			NEED(psk);
			NEED(!memcmp(pl_psk_bytes(psk), want, sizeof(want)));
		}
		pl_psk_free(psk);
	}
	return 0;
}
