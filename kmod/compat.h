/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few kernel interfaces that differ between the releases plasmatic.ko
 * builds for (6.1 and later).  Everything version-specific lives here.
 */
#ifndef _PLASMATIC_COMPAT_H
#define _PLASMATIC_COMPAT_H

#include <linux/bvec.h>
#include <linux/uio.h>
#include <net/tcp.h>

/*
 * 6.12 moved <asm/unaligned.h> to <linux/unaligned.h>; kmod/Kbuild looks
 * at the headers and defines PL_HAVE_LINUX_UNALIGNED then (sparse has no
 * __has_include).
 */
#ifdef PL_HAVE_LINUX_UNALIGNED
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/*
 * Until 6.5 pages reach TCP through do_tcp_sendpages() and struct proto
 * has ->sendpage; later kernels take them as MSG_SPLICE_PAGES sendmsg.
 * MSG_SENDPAGE_NOTLAST went away with ->sendpage.
 */
#ifdef MSG_SENDPAGE_NOTLAST
#define PL_HAVE_SENDPAGE	1
#define PL_MSG_MORE_PAGES	MSG_SENDPAGE_NOTLAST
#else
#define PL_HAVE_SENDPAGE	0
#define PL_MSG_MORE_PAGES	MSG_MORE
#endif

/*
 * The page @n pages after @page in a compound page or folio; nth_page()
 * went away once such pages were always contiguous in the memmap (6.18).
 */
#ifdef nth_page
#define pl_nth_page(page, n)	nth_page(page, n)
#else
#define pl_nth_page(page, n)	((page) + (n))
#endif

#ifdef MSG_SPLICE_PAGES
#define PL_MSG_SPLICE		MSG_SPLICE_PAGES
#else
#define PL_MSG_SPLICE		0
#endif

/* Hand one page range to TCP; the caller holds the socket lock. */
static inline int pl_tcp_sendpage(struct sock *sk, struct page *page,
				  int offset, size_t size, int flags)
{
#if PL_HAVE_SENDPAGE
	return do_tcp_sendpages(sk, page, offset, size, flags);
#else
	struct msghdr msg = { .msg_flags = flags | MSG_SPLICE_PAGES };
	struct bio_vec bvec;

	bvec_set_page(&bvec, page, size, offset);
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, &bvec, 1, size);
	return tcp_sendmsg_locked(sk, &msg, size);
#endif
}

/*
 * End the skb holding the last byte queued to TCP, as tcp_sendmsg_locked()
 * does for MSG_EOR: TCP then puts the next bytes in a new skb (a new
 * segment) and never joins the two (tcp_skb_can_collapse_to() and
 * tcp_skb_can_collapse() look at the bit, for new data, retransmission
 * collapsing and MTU probes; tcp_fragment() moves it to the tail part).
 * Checked in the sources: 6.1's do_tcp_sendpages() (tcp_build_frag())
 * and, from 6.5, tcp_sendmsg_locked() with MSG_SPLICE_PAGES (6.12) both
 * start a new skb behind a tail with the bit set; but only the latter
 * sets it for MSG_EOR (6.1's sendpage ignores that flag).  So the bit is
 * set here on every version.  Once TCP has sent all it had, the skb with
 * our last byte is the retransmit queue's tail.
 */
static inline void pl_tcp_mark_eor(struct sock *sk)
{
	struct sk_buff *skb = tcp_write_queue_tail(sk);

	if (!skb)
		skb = tcp_rtx_queue_tail(sk);
	if (skb)
		TCP_SKB_CB(skb)->eor = 1;
}

/*
 * Whether a sendmsg with @flags asks us to hold its last record open for
 * more data.  Until 6.5 splice comes through ->sendpage, whose
 * MSG_SENDPAGE_NOTLAST is exact.  Since then it comes as MSG_SPLICE_PAGES
 * sendmsg calls of up to 16 pipe buffers each, and splice(2) from a pipe
 * (splice_to_socket()) sets MSG_MORE on a batch that filled its 16
 * buffers and did not reach the length asked for even when that batch
 * empties the pipe, then returns without a ->splice_eof(): the record
 * would wait for data that never comes (kTLS stalls the same way).  So
 * there a spliced send ends its records: each batch is packed into full
 * records and its tail is sent, and SPLICE_F_MORE does not hold a record
 * across splice calls.  sendfile() batches are 64 KiB of the file, page
 * aligned after the first: in detached framing that is four full records,
 * in covered framing (records of 2^14 - eem_len, pl_tx_max_content())
 * four full records and a short one per batch.
 */
static inline bool pl_msg_more(int flags)
{
	if (!(flags & MSG_MORE) || (flags & MSG_EOR))
		return false;
	return PL_HAVE_SENDPAGE || !(flags & PL_MSG_SPLICE);
}

/*
 * tcp_ulp_ops.get_info and .get_info_size gained a last net_admin argument
 * after 6.12; kmod/Kbuild looks at the headers and defines
 * PL_DIAG_NET_ADMIN then.  Written after the other arguments, no comma.
 */
#ifndef PL_DIAG_NET_ADMIN
#define PL_DIAG_NET_ADMIN_ARG
#else
#define PL_DIAG_NET_ADMIN_ARG	\
	, bool net_admin
#endif

/*
 * kfuncs: __bpf_kfunc and __bpf_kfunc_{start,end}_defs() came with 6.3
 * and 6.7 ("bpf: Add __bpf_kfunc tag for marking kernel functions as
 * kfuncs"; "bpf: Add __bpf_kfunc_{start,end}_defs macros"); 6.9 wants a
 * kfunc set to be declared as one ("bpf: treewide: Annotate BPF kfuncs in
 * BTF": BTF_KFUNCS_START).  Before, a set was a plain BTF_SET8 and any
 * non-inlined global function could be listed.
 */
#include <linux/btf.h>
#include <linux/btf_ids.h>

/* A global function is kept without callers; it must not be inlined. */
#ifndef __bpf_kfunc
#define __bpf_kfunc	noinline
#endif
#ifndef __bpf_kfunc_start_defs
#define __bpf_kfunc_start_defs()
#define __bpf_kfunc_end_defs()
#endif
#ifndef BTF_KFUNCS_START
#define BTF_KFUNCS_START(name)	BTF_SET8_START(name)
#define BTF_KFUNCS_END(name)	BTF_SET8_END(name)
#endif

/*
 * struct proto's recvmsg lost its last argument, int *addr_len, in 7.1:
 * upstream commit 8341c989ac77 ("net: remove addr_len argument of
 * recvmsg() handlers", net-next of March 2026).  kmod/Kbuild looks at the
 * headers and defines PL_RECVMSG_ADDR_LEN while it is there.
 * PL_RECVMSG_ADDR_LEN_ARG ends pl_recvmsg()'s prototype (written after
 * the flags argument, no comma); pl_proto_recvmsg() calls TCP's handler
 * from pl_recvmsg(), passing its addr_len on where there is one.  A
 * helper gets PL_RECVMSG_ADDR_LEN_VAL (addr_len, or NULL) and calls
 * pl_proto_recvmsg_al(), which passes it on or drops it.
 */
#ifdef PL_RECVMSG_ADDR_LEN
#define PL_RECVMSG_ADDR_LEN_ARG	\
	, int *addr_len
#define PL_RECVMSG_ADDR_LEN_VAL		addr_len
#define pl_proto_recvmsg_al(prot, sk, msg, len, flags, al)	\
	((prot)->recvmsg(sk, msg, len, flags, al))
#define pl_proto_recvmsg(prot, sk, msg, len, flags)	\
	((prot)->recvmsg(sk, msg, len, flags, addr_len))
#else
#define PL_RECVMSG_ADDR_LEN_ARG
#define PL_RECVMSG_ADDR_LEN_VAL		NULL
#define pl_proto_recvmsg_al(prot, sk, msg, len, flags, al)	\
	((prot)->recvmsg(sk, msg, len, flags))
#define pl_proto_recvmsg(prot, sk, msg, len, flags)	\
	((prot)->recvmsg(sk, msg, len, flags))
#endif

#endif /* _PLASMATIC_COMPAT_H */
