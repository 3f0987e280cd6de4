// SPDX-License-Identifier: GPL-2.0
/*
 * TPL generator test program: computes draws, sizes and delays of
 * bpf/tpl.bpf.h on request, through BPF_PROG_TEST_RUN (see tpl_test.h).
 * A tc program, as the TPL's eventual user (tc egress) is one, so the
 * generator is verified in the same program type.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "tpl.bpf.h"
#include "tpl_test.h"

SEC("tc")
int tpl_run(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct tpl_test_msg *msg = data + TPL_TEST_HDR;
	struct tpl_state st;
	__u32 size, delay_us;
	__u64 mode;

	if ((void *)(msg + 1) > data_end)
		return TPL_TEST_ERR_SHORT;
	mode = msg->mode;

	switch (msg->op) {
	case TPL_TEST_OP_DRAW:
		if (!tpl_mode_valid(mode))
			return TPL_TEST_ERR_MODE;
		msg->r = tpl_draw(msg->seed, mode, msg->counter);
		msg->size = tpl_size(mode, msg->r);
		msg->delay_us = tpl_delay_us(mode, msg->r);
		return TPL_TEST_OK;
	case TPL_TEST_OP_NEXT:
		if (!tpl_mode_valid(mode))
			return TPL_TEST_ERR_MODE;
		st.seed = msg->seed;
		st.counter = msg->counter;
		st.mode = mode;
		st.lock = msg->lock != 0;
		if (tpl_next(&st, &size, &delay_us))
			return TPL_TEST_ERR_MODE;
		msg->mode = st.mode;
		msg->counter = st.counter;
		msg->size = size;
		msg->delay_us = delay_us;
		return TPL_TEST_OK;
	default:
		return TPL_TEST_ERR_OP;
	}
}

char LICENSE[] SEC("license") = "GPL";
