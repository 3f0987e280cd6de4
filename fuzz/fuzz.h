/* SPDX-License-Identifier: GPL-2.0 */
/* What the libFuzzer targets share. */
#ifndef PLASMATIC_FUZZ_H
#define PLASMATIC_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

/* A property of the code under test: abort (a crash libFuzzer keeps) if false. */
#define NEED(x)								\
	do {								\
		if (!(x)) {						\
			fprintf(stderr, "check failed: %s (%s:%d)\n", \
				#x, __FILE__, __LINE__);		\
			abort();					\
		}							\
	} while (0)

#endif
