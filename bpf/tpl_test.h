/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The request/response of bpf/tpl_test.bpf.c, shared with its userspace
 * test (selftests/bpf_tpl_test.c).
 *
 * The program is a SCHED_CLS ("tc") program run with BPF_PROG_TEST_RUN: the
 * packet (data_in) is TPL_TEST_HDR bytes that are ignored (an Ethernet
 * header, which the test run needs, and 2 bytes so that the message is
 * 8-byte aligned) followed by a struct tpl_test_msg.  The program rewrites
 * the message in place; data_out returns it.  The program's return value
 * (test run retval) is one of TPL_TEST_*.
 */
#ifndef PLASMATIC_TPL_TEST_H
#define PLASMATIC_TPL_TEST_H

#include <linux/types.h>

#define TPL_TEST_HDR	16

enum {
	/* r = r(counter) for (seed, mode); size and delay_us = both mappings of r. */
	TPL_TEST_OP_DRAW = 1,
	/*
	 * One record from the state (seed, mode, counter, lock): tpl_next().
	 * mode and counter are updated (mode is the one the record was drawn
	 * in), size and delay_us are the record's.
	 */
	TPL_TEST_OP_NEXT = 2,
};

enum {
	TPL_TEST_OK = 0,
	TPL_TEST_ERR_SHORT = 1,	/* packet shorter than header + message */
	TPL_TEST_ERR_OP = 2,	/* unknown op */
	TPL_TEST_ERR_MODE = 3,	/* unknown TPL mode */
};

struct tpl_test_msg {
	__u64 op;	/* in */
	__u64 seed;	/* in */
	__u64 mode;	/* in; out for NEXT */
	__u64 counter;	/* in; out for NEXT */
	__u64 lock;	/* in, NEXT only */
	__u64 r;	/* out, DRAW only */
	__u64 size;	/* out */
	__u64 delay_us;	/* out */
};

#endif /* PLASMATIC_TPL_TEST_H */
