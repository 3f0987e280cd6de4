/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM plasmatic

#if !defined(_PLASMATIC_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PLASMATIC_TRACE_H

#include <linux/tracepoint.h>

#include "context.h"

TRACE_DEFINE_ENUM(PL_FAIL_HEADER);
TRACE_DEFINE_ENUM(PL_FAIL_LENGTH);
TRACE_DEFINE_ENUM(PL_FAIL_EEM_TAG);
TRACE_DEFINE_ENUM(PL_FAIL_EEM_NONCE);
TRACE_DEFINE_ENUM(PL_FAIL_FRAGMENT);
TRACE_DEFINE_ENUM(PL_FAIL_SEED_UPDATE);
TRACE_DEFINE_ENUM(PL_FAIL_TLS_TAG);
TRACE_DEFINE_ENUM(PL_FAIL_CONTENT_TYPE);
TRACE_DEFINE_ENUM(PL_FAIL_EMPTY);
TRACE_DEFINE_ENUM(PL_FAIL_TRUNCATED);
TRACE_DEFINE_ENUM(PL_FAIL_INTERNAL);

/* A record sealed for sending, or received and accepted. */
DECLARE_EVENT_CLASS(plasmatic_record,
		    TP_PROTO(const struct sock *sk, u8 type, unsigned int len,
			     u64 seq, u64 eem_counter),
		    TP_ARGS(sk, type, len, seq, eem_counter),
		    TP_STRUCT__entry(__field(const void *, sk)
				     __field(u8, type)
				     __field(unsigned int, len)
				     __field(u64, seq)
				     __field(u64, eem_counter)),
		    TP_fast_assign(__entry->sk = sk;
				   __entry->type = type;
				   __entry->len = len;
				   __entry->seq = seq;
				   __entry->eem_counter = eem_counter;),
		    TP_printk("sk=%p type=%u len=%u seq=%llu eem=%llu",
			      __entry->sk, __entry->type, __entry->len,
			      __entry->seq, __entry->eem_counter)
);

DEFINE_EVENT(plasmatic_record, plasmatic_tx_record,
	     TP_PROTO(const struct sock *sk, u8 type, unsigned int len,
		      u64 seq, u64 eem_counter),
	     TP_ARGS(sk, type, len, seq, eem_counter)
);

DEFINE_EVENT(plasmatic_record, plasmatic_rx_record,
	     TP_PROTO(const struct sock *sk, u8 type, unsigned int len,
		      u64 seq, u64 eem_counter),
	     TP_ARGS(sk, type, len, seq, eem_counter)
);

/* A shaped record sealed: its TPL mode, size draw, padding and delay. */
TRACE_EVENT(plasmatic_tx_tpl,
	    TP_PROTO(const struct sock *sk, u64 index, u8 mode,
		     unsigned int size, unsigned int pad, u32 delay_us),
	    TP_ARGS(sk, index, mode, size, pad, delay_us),
	    TP_STRUCT__entry(__field(const void *, sk)
			     __field(u64, index)
			     __field(u8, mode)
			     __field(unsigned int, size)
			     __field(unsigned int, pad)
			     __field(u32, delay_us)),
	    TP_fast_assign(__entry->sk = sk;
			   __entry->index = index;
			   __entry->mode = mode;
			   __entry->size = size;
			   __entry->pad = pad;
			   __entry->delay_us = delay_us;),
	    TP_printk("sk=%p index=%llu mode=%u size=%u pad=%u delay_us=%u",
		      __entry->sk, __entry->index, __entry->mode,
		      __entry->size, __entry->pad, __entry->delay_us)
);

/* A received record failed a check: the stream is over. */
TRACE_EVENT(plasmatic_rx_fail,
	    TP_PROTO(const struct sock *sk, enum pl_fail cause, u64 seq,
		     u64 eem_counter),
	    TP_ARGS(sk, cause, seq, eem_counter),
	    TP_STRUCT__entry(__field(const void *, sk)
			     __field(int, cause)
			     __field(u64, seq)
			     __field(u64, eem_counter)),
	    TP_fast_assign(__entry->sk = sk;
			   __entry->cause = cause;
			   __entry->seq = seq;
			   __entry->eem_counter = eem_counter;),
	    TP_printk("sk=%p cause=%s seq=%llu eem=%llu", __entry->sk,
		      __print_symbolic(__entry->cause,
				       { PL_FAIL_HEADER, "header" },
				       { PL_FAIL_LENGTH, "length" },
				       { PL_FAIL_EEM_TAG, "eem_tag" },
				       { PL_FAIL_EEM_NONCE, "eem_nonce" },
				       { PL_FAIL_FRAGMENT, "eem_fragment" },
				       { PL_FAIL_SEED_UPDATE, "eem_seed_update" },
				       { PL_FAIL_TLS_TAG, "tls_tag" },
				       { PL_FAIL_CONTENT_TYPE, "content_type" },
				       { PL_FAIL_EMPTY, "empty_record" },
				       { PL_FAIL_TRUNCATED, "truncated" },
				       { PL_FAIL_INTERNAL, "internal" }),
		      __entry->seq, __entry->eem_counter)
);

/* Sending failed for good: later sends return @err. */
TRACE_EVENT(plasmatic_tx_fail,
	    TP_PROTO(const struct sock *sk, int err),
	    TP_ARGS(sk, err),
	    TP_STRUCT__entry(__field(const void *, sk)
			     __field(int, err)),
	    TP_fast_assign(__entry->sk = sk;
			   __entry->err = err;),
	    TP_printk("sk=%p err=%d", __entry->sk, __entry->err)
);

/* An alert we sent (sent=1) or received (sent=0). */
TRACE_EVENT(plasmatic_alert,
	    TP_PROTO(const struct sock *sk, bool sent, u8 level, u8 desc),
	    TP_ARGS(sk, sent, level, desc),
	    TP_STRUCT__entry(__field(const void *, sk)
			     __field(bool, sent)
			     __field(u8, level)
			     __field(u8, desc)),
	    TP_fast_assign(__entry->sk = sk;
			   __entry->sent = sent;
			   __entry->level = level;
			   __entry->desc = desc;),
	    TP_printk("sk=%p sent=%d level=%u desc=%u", __entry->sk,
		      __entry->sent, __entry->level, __entry->desc)
);

#endif /* _PLASMATIC_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
