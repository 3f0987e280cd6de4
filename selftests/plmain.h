/* SPDX-License-Identifier: GPL-2.0 */
/*
 * main() of the selftests, after kselftest_harness.h and every TEST:
 *
 *  - PLASMATIC_TESTS, PLASMATIC_VARIANTS (comma-separated substrings)
 *    keep only the tests and variants they name, for development;
 *    PLASMATIC_SKIP_TESTS drops the tests it names (run_vm.sh);
 *  - PL_TIMEOUT_SCALE (an integer, default 1) multiplies every test's
 *    time limit: make check-debug sets it, as the debug kernel (KASAN,
 *    lockdep) under TCG runs the same tests several times slower.
 *
 * PL_HARNESS_MAIN defines main(); a test with its own main() calls
 * pl_harness_prepare() before test_harness_run().
 */
#ifndef PLASMATIC_SELFTEST_PLMAIN_H
#define PLASMATIC_SELFTEST_PLMAIN_H

#include <stdlib.h>
#include <string.h>

/* 1 if list is empty or a comma-separated substring in it occurs in name. */
static inline int pl_listed(const char *list, const char *name)
{
	char *copy, *tok, *save = NULL;
	int hit = 0;

	if (!list || !*list)
		return 1;
	copy = strdup(list);
	for (tok = strtok_r(copy, ",", &save); tok && !hit; tok = strtok_r(NULL, ",", &save))
		hit = strstr(name, tok) != NULL;
	free(copy);
	return hit;
}

/* Drop the tests and variants not selected by the environment. */
static inline void pl_select_tests(void)
{
	const char *tests = getenv("PLASMATIC_TESTS");
	const char *skip = getenv("PLASMATIC_SKIP_TESTS");
	const char *variants = getenv("PLASMATIC_VARIANTS");

	for (struct __fixture_metadata *f = __fixture_list; f; f = f->next) {
		struct __test_metadata **tp = &f->tests;
		struct __fixture_variant_metadata **vp = &f->variant;

		while (*tp) {
			if (pl_listed(tests, (*tp)->name) &&
			    !(skip && *skip && pl_listed(skip, (*tp)->name)))
				tp = &(*tp)->next;
			else
				*tp = (*tp)->next;
		}
		while (*vp) {
			if (pl_listed(variants, (*vp)->name))
				vp = &(*vp)->next;
			else
				*vp = (*vp)->next;
		}
	}
}

static inline void pl_scale_timeouts(void)
{
	const char *e = getenv("PL_TIMEOUT_SCALE");
	long scale = e ? strtol(e, NULL, 10) : 1;

	if (scale <= 1 || scale > 100)
		return;
	for (struct __fixture_metadata *f = __fixture_list; f; f = f->next)
		for (struct __test_metadata *t = f->tests; t; t = t->next)
			t->timeout *= scale;
}

static inline void pl_harness_prepare(void)
{
	pl_select_tests();
	pl_scale_timeouts();
}

#define PL_HARNESS_MAIN \
	int main(int argc, char **argv) \
	{ \
		pl_harness_prepare(); \
		return test_harness_run(argc, argv); \
	}

#endif
