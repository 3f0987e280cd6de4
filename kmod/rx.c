// SPDX-License-Identifier: GPL-2.0
/*
 * Receive: TCP -> record parser -> EEM and record checks -> application.
 *
 * A record whose bytes have all arrived when the parser gets to it is
 * left where it lies in TCP's receive queue, and is decrypted from there
 * (as kTLS does).  One still arriving is copied out of TCP into an skb of
 * page fragments (@cur, carved from the socket's page_frag) as its bytes
 * come: in data_ready (softirq, GFP_ATOMIC) or in the reader's context.
 * Taking them out keeps the TCP window open for records larger than the
 * receive buffer.  Either way the parser stops at a whole record, so TCP
 * keeps the rest and its flow control applies; readers are woken only
 * then, which makes poll readable exactly when a whole record can be
 * read.
 *
 * A reader opens that record (EEM, then record): in place in @cur, or
 * from TCP into a buffer of its plaintext, and queues it on @done, where
 * it is read from; MSG_PEEK may open and queue several.  With
 * PLASMATIC_RX_EXPECT_NO_PAD a data record may instead be decrypted into
 * the reader's buffer (pl_rx_open_direct()): from TCP, no copy at all.
 *
 * A KeyUpdate opened under PLASMATIC_RX keys (kTLS 6.14 behaviour) stops
 * the parser behind it: it is delivered like any handshake record, then
 * reads fail with EKEYEXPIRED until PLASMATIC_RX is set again
 * (pl_rx_rekey()); what follows it waits in TCP for the new key.
 */
#include <linux/sched/signal.h>
#include <linux/splice.h>
#include <net/inet_common.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "proc.h"
#include "rx.h"
#include "tpl.h"
#include "trace.h"
#include "tx.h"

#define PL_ALERT_CLOSE_NOTIFY	0
#define PL_RX_EOF		1

/*
 * In skb->cb of a record: where its content is, once opened, and how many
 * of its bytes are charged to the socket (pl_rx_charge()).
 */
struct pl_rx_msg {
	unsigned int off;
	unsigned int len;
	unsigned int charged;
	u8 type;
};

static struct pl_rx_msg *pl_rx_msg(struct sk_buff *skb)
{
	BUILD_BUG_ON(sizeof(struct pl_rx_msg) > sizeof(skb->cb));
	return (struct pl_rx_msg *)skb->cb;
}

struct pl_rx_reader {
	struct sock *sk;
	struct plasmatic_context *ctx;
	gfp_t gfp;
};

/*
 * The stream failed (SPEC section 7): nothing more is delivered past the
 * records already opened, and the peer gets bad_record_mac from the
 * transmit side's work.  Reads then fail with @err: as kTLS's, it tells
 * the local application the cause (EINVAL: a header that is not TLS
 * 1.3's, EMSGSIZE: a length beyond the largest record, EBADMSG: any
 * other), while the wire has one alert for all.  Any context.
 */
static int pl_rx_fail_errno(struct sock *sk, struct plasmatic_context *ctx,
			    enum pl_fail cause, u64 seq, u64 eem_counter,
			    int err)
{
	struct pl_rx *rx = &ctx->rx;

	trace_plasmatic_rx_fail(sk, cause, seq, eem_counter);
	pl_stat_inc(sk, PL_STAT_RX_FAIL + cause);

	rx->fail = cause;
	WRITE_ONCE(rx->err, err);
	WRITE_ONCE(rx->end, PLASMATIC_END_ERROR);
	kfree_skb(rx->cur);
	rx->cur = NULL;
	WRITE_ONCE(rx->ready, false);
	/* Not once close() stopped us: the transmit work is cancelled. */
	if (pl_tx_ready(ctx) && !rx->closing) {
		WRITE_ONCE(rx->alert_due, true);
		pl_tx_schedule(ctx);
	}
	return err;
}

static int pl_rx_fail_at(struct sock *sk, struct plasmatic_context *ctx,
			 enum pl_fail cause, u64 seq, u64 eem_counter)
{
	return pl_rx_fail_errno(sk, ctx, cause, seq, eem_counter, -EBADMSG);
}

/* A failure found before the record's checks began: its numbers are current. */
static int pl_rx_fail(struct sock *sk, struct plasmatic_context *ctx,
		      enum pl_fail cause)
{
	return pl_rx_fail_at(sk, ctx, cause, ctx->rx.cipher.seq,
			     ctx->rx.eem.counter);
}

/*
 * Check header @hdr (SPEC 6) and set rx->cur_need to the record's length
 * on the wire, header included.  Returns the failure's errno and sets
 * @cause, or 0.
 */
static int pl_rx_check_header(struct pl_rx *rx, const u8 *hdr,
			      enum pl_fail *cause)
{
	unsigned int len = get_unaligned_be16(hdr + 3);
	unsigned int min = 17;

	if (hdr[0] != PLASMATIC_CT_APPLICATION_DATA ||
	    hdr[1] != 3 || hdr[2] != 3) {
		*cause = PL_FAIL_HEADER;
		return -EINVAL;
	}

	/* Covered: the EEM counts in the length, under the same cap. */
	if (rx->eem.framing == PLASMATIC_FRAMING_COVERED) {
		min += rx->eem.len;
		rx->cur_need = PL_HDR_LEN + len;
	} else {
		rx->cur_need = PL_HDR_LEN + len + rx->eem.len;
	}
	*cause = PL_FAIL_LENGTH;
	if (len > PL_MAX_LENGTH)
		return -EMSGSIZE;
	if (len < min)
		return -EBADMSG;
	return 0;
}

static int pl_rx_parse_header(struct sock *sk, struct plasmatic_context *ctx)
{
	struct pl_rx *rx = &ctx->rx;
	enum pl_fail cause;
	int err;

	err = pl_rx_check_header(rx, rx->hdr, &cause);
	if (err)
		return pl_rx_fail_errno(sk, ctx, cause, rx->cipher.seq,
					rx->eem.counter, err);
	return 0;
}

/* Copy @len bytes at @soff of @src into our record @dst at @doff. */
static int pl_rx_copy(struct sk_buff *dst, unsigned int doff,
		      const struct sk_buff *src, unsigned int soff,
		      unsigned int len)
{
	unsigned int start = 0;
	int i, err;

	for (i = 0; len && i < skb_shinfo(dst)->nr_frags; i++) {
		skb_frag_t *frag = &skb_shinfo(dst)->frags[i];
		unsigned int end = start + skb_frag_size(frag);
		unsigned int n;

		if (doff < end) {
			n = min(len, end - doff);
			/* Our own lowmem pages: always mapped. */
			err = skb_copy_bits(src, soff,
					    skb_frag_address(frag) + doff - start,
					    n);
			if (err)
				return err;
			doff += n;
			soff += n;
			len -= n;
		}
		start = end;
	}
	return len ? -EFAULT : 0;
}

/*
 * The record being read is an skb of page fragments carved from the
 * socket's page_frag (sk->sk_frag, never current->task_frag: this may run
 * in softirq), one page reference per fragment, as TX carves its records.
 * Small records then share a page instead of each taking a new one.
 * Every user of sk->sk_frag holds the socket: its owner (TX, TCP's own
 * sends, our reader) or softirq with the socket spinlock and no owner
 * (data_ready), which excludes the others (context.h).  TX gives back
 * room only when nothing was carved after it.  Pages of a page_frag are
 * never highmem.
 *
 * Memory (review finding 5): the skb grows a page at a time as bytes
 * arrive, not to the length a header claims, so that a peer sending
 * headers only gets a page per socket; and it is charged to the socket's
 * protocol memory as TCP charges its receive skbs (sk_rmem_schedule(),
 * the forward allocation, so tcp_mem and memcg), and counted in
 * rx.mem and PlasmaticCurrRxBufferBytes.  Under memory pressure the
 * record being read may go uncharged (pl_rx_charge()).  Not in
 * sk_rmem_alloc: TCP's window is computed from that and only updated when
 * TCP itself reads, so a record freed by our reader would leave the
 * window closed until a timer.  pl_rx_rfree() gives the charge back;
 * every skb is freed under the socket lock and before close ends
 * (pl_rx_stop()).
 */
static void pl_rx_rfree(struct sk_buff *skb)
{
	struct sock *sk = skb->sk;

	pl_ctx(sk)->rx.mem -= skb->truesize;
	pl_stat_add(sk, PL_STAT_CURR_RX_MEM, -(long)skb->truesize);
	sk_mem_uncharge(sk, pl_rx_msg(skb)->charged);
}

/*
 * Account @n more bytes of @skb, the record being read, to @sk.  When the
 * socket may not have them (tcp_mem's hard limit, or memcg's), they go
 * uncharged if this is the only record the socket holds: its bytes move
 * out of TCP's receive queue, whose charge drops as they do, so the
 * total does not grow, and a socket holds at most one record so (kTLS
 * charges none of its copies).  Failing instead stalled a reader for good
 * under pressure (recv() gave ENOMEM: stress_test's tcp_mem_pressure).
 * Returns false only if the socket holds opened records: the reader
 * frees those first (a peek ahead stops there).
 */
static bool pl_rx_charge(struct sock *sk, struct sk_buff *skb, unsigned int n)
{
	struct plasmatic_context *ctx = pl_ctx(sk);

	if (sk_rmem_schedule(sk, skb, n)) {
		sk_mem_charge(sk, n);
		pl_rx_msg(skb)->charged += n;
	} else if (!skb_queue_empty(&ctx->rx.done)) {
		return false;
	}
	ctx->rx.mem += n;
	pl_stat_add(sk, PL_STAT_CURR_RX_MEM, n);
	return true;
}

/* An empty record buffer: -ENOMEM, or -ENOBUFS from pl_rx_charge(). */
static struct sk_buff *pl_rx_alloc(struct sock *sk, gfp_t gfp)
{
	struct sk_buff *skb;

	skb = alloc_skb(0, gfp);
	if (!skb)
		return ERR_PTR(-ENOMEM);
	if (!pl_rx_charge(sk, skb, skb->truesize)) {
		kfree_skb(skb);
		return ERR_PTR(-ENOBUFS);
	}
	skb->sk = sk;
	skb->destructor = pl_rx_rfree;
	return skb;
}

/*
 * Grow @skb to hold at least @want of the record's @need bytes, by pieces
 * of up to a page (at most DIV_ROUND_UP(need, PAGE_SIZE) fragments, 5 for
 * the largest record), each charged to the socket.  -ENOMEM if a piece
 * could not be had, -ENOBUFS if not charged; what was added stays.
 */
static int pl_rx_grow(struct sock *sk, struct sk_buff *skb, unsigned int want,
		      unsigned int need, gfp_t gfp)
{
	struct page_frag *pfrag = &sk->sk_frag;
	unsigned int n;
	int i;

	while (skb->len < want) {
		i = skb_shinfo(skb)->nr_frags;
		n = min_t(unsigned int, need - skb->len, PAGE_SIZE);
		if (i == MAX_SKB_FRAGS || !skb_page_frag_refill(n, pfrag, gfp))
			return -ENOMEM;
		if (!pl_rx_charge(sk, skb, n))
			return -ENOBUFS;
		get_page(pfrag->page);
		skb_fill_page_desc(skb, i, pfrag->page, pfrag->offset, n);
		pfrag->offset += n;
		skb->len += n;
		skb->data_len += n;
		skb->truesize += n;
	}
	return 0;
}

static int pl_rx_actor(read_descriptor_t *desc, struct sk_buff *skb,
		       unsigned int offset, size_t len)
{
	struct pl_rx_reader *r = desc->arg.data;
	struct pl_rx *rx = &r->ctx->rx;
	unsigned int start;
	size_t used = 0;
	unsigned int n;
	int err;

	/*
	 * __tcp_read_sock() calls us again for the rest of an skb even
	 * after we stopped (desc->count 0): take nothing more once the
	 * stream failed or a whole record waits (review finding 8: a
	 * record buffer was allocated and filled from stale lengths after
	 * a bad header).
	 */
	if (rx->err || rx->end || rx->ready) {
		desc->count = 0;
		return 0;
	}

	if (rx->hdr_len < PL_HDR_LEN) {
		n = min_t(size_t, len, PL_HDR_LEN - rx->hdr_len);
		err = skb_copy_bits(skb, offset, rx->hdr + rx->hdr_len, n);
		if (err)
			goto stop;
		rx->hdr_len += n;
		used += n;
		if (rx->hdr_len < PL_HDR_LEN)
			return used;
		err = pl_rx_parse_header(r->sk, r->ctx);
		if (err)
			goto stop;
	}

	if (!rx->cur) {
		struct sk_buff *rec = pl_rx_alloc(r->sk, r->gfp);

		if (IS_ERR(rec)) {
			err = PTR_ERR(rec);
			goto stop;
		}
		rx->cur = rec;
		rx->cur_len = 0;
	}
	/* The header goes in first, then what has arrived of the rest. */
	start = max_t(unsigned int, rx->cur_len, PL_HDR_LEN);
	n = min_t(size_t, len - used, rx->cur_need - start);
	err = pl_rx_grow(r->sk, rx->cur, start + n, rx->cur_need, r->gfp);
	if (err)
		goto stop;
	if (!rx->cur_len) {
		err = skb_store_bits(rx->cur, 0, rx->hdr, PL_HDR_LEN);
		if (err)
			goto stop;
		rx->cur_len = PL_HDR_LEN;
	}

	err = pl_rx_copy(rx->cur, rx->cur_len, skb, offset + used, n);
	if (err)
		goto stop;
	rx->cur_len += n;
	used += n;
	if (rx->cur_len == rx->cur_need) {
		WRITE_ONCE(rx->ready, true);
		desc->count = 0;
	}
	return used;

stop:
	desc->error = err;
	desc->count = 0;
	return used;
}

/* The skb after @skb in TCP's receive queue, or NULL. */
static struct sk_buff *pl_rx_tcp_next(struct sock *sk, struct sk_buff *skb)
{
	return skb_queue_is_last(&sk->sk_receive_queue, skb) ? NULL :
	       skb->next;
}

/*
 * Copy the first @len bytes TCP holds for the reader to @buf, leaving
 * them there.  -EAGAIN if fewer have arrived.
 */
static int pl_rx_tcp_peek(struct sock *sk, u8 *buf, unsigned int len)
{
	struct sk_buff *skb;
	unsigned int n;
	u32 off;

	skb = tcp_recv_skb(sk, tcp_sk(sk)->copied_seq, &off);
	for (; len; skb = pl_rx_tcp_next(sk, skb), off = 0) {
		if (!skb || off >= skb->len)
			return -EAGAIN;
		n = min(len, skb->len - off);
		if (skb_copy_bits(skb, off, buf, n))
			return -EFAULT;
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * A record whose bytes have all arrived is opened where it lies in TCP's
 * receive queue, as kTLS does (pl_rx_open()): decrypted from there into
 * the reader's pages or a buffer of its plaintext, then taken from TCP.
 * Without the copy out of TCP into @cur; a record still arriving is
 * copied as before, which keeps the window open for records larger than
 * the receive buffer.  Returns whether the record at the head of the
 * stream is such a one (then it is ready).  A header that fails its
 * checks is left to the copying parser, to fail the stream as it does.
 */
static bool pl_rx_take_in_tcp(struct sock *sk, struct plasmatic_context *ctx)
{
	struct pl_rx *rx = &ctx->rx;
	enum pl_fail cause;

	if (!rx->tcp_sg || rx->hdr_len || rx->cur || tcp_inq(sk) < PL_HDR_LEN ||
	    pl_rx_tcp_peek(sk, rx->hdr, PL_HDR_LEN) ||
	    pl_rx_check_header(rx, rx->hdr, &cause) ||
	    tcp_inq(sk) < rx->cur_need)
		return false;
	rx->hdr_len = PL_HDR_LEN;
	rx->in_tcp = true;
	WRITE_ONCE(rx->ready, true);
	return true;
}

/*
 * The scatterlist of the record @in_tcp, all its rx->cur_need bytes, in
 * rx->tcp_sg: its number of entries, or -E2BIG if it spans more pieces
 * than that holds (or an skb with a frag_list).  Socket lock owned: TCP
 * changes its queue only then.
 */
static int pl_rx_tcp_sg(struct sock *sk, struct pl_rx *rx)
{
	unsigned int len = rx->cur_need, n;
	struct sk_buff *skb;
	int nsg = 0, ret;
	u32 off;

	sg_init_table(rx->tcp_sg, PL_RX_TCP_SG);
	skb = tcp_recv_skb(sk, tcp_sk(sk)->copied_seq, &off);
	for (; len; skb = pl_rx_tcp_next(sk, skb), off = 0) {
		if (!skb || off >= skb->len || skb_has_frag_list(skb) ||
		    nsg + 1 + skb_shinfo(skb)->nr_frags > PL_RX_TCP_SG)
			return -E2BIG;
		n = min(len, skb->len - off);
		ret = skb_to_sgvec_nomark(skb, rx->tcp_sg + nsg, off, n);
		if (ret < 0)
			return ret;
		nsg += ret;
		len -= n;
	}
	sg_mark_end(&rx->tcp_sg[nsg - 1]);
	return nsg;
}

/*
 * Move bytes of the current record from TCP into @cur, up to its end.
 * Returns -ENOMEM if a record buffer could not be had, -ENOBUFS if memory
 * pressure stopped a read ahead of the opened records (pl_rx_charge()).
 */
static int pl_rx_pull(struct sock *sk, struct plasmatic_context *ctx,
		      gfp_t gfp)
{
	struct pl_rx_reader r = { .sk = sk, .ctx = ctx, .gfp = gfp };
	read_descriptor_t desc = { .arg.data = &r, .count = 1 };
	struct pl_rx *rx = &ctx->rx;

	if (rx->err || rx->end || rx->ready || rx->key_update_pending ||
	    pl_rx_take_in_tcp(sk, ctx))
		return 0;
	tcp_read_sock(sk, &desc, pl_rx_actor);
	return desc.error == -ENOMEM || desc.error == -ENOBUFS ? desc.error : 0;
}

/*
 * The record @in_tcp could not be mapped (pl_rx_tcp_sg()): take its
 * header out of TCP, whose bytes rx->hdr holds, and let the parser copy
 * the rest into @cur.  The record is then ready again, or the reader gets
 * the parser's error.
 */
static int pl_rx_copy_out(struct sock *sk, struct plasmatic_context *ctx)
{
	struct pl_rx *rx = &ctx->rx;

	tcp_read_done(sk, PL_HDR_LEN);
	rx->in_tcp = false;
	WRITE_ONCE(rx->ready, false);
	return pl_rx_pull(sk, ctx, GFP_KERNEL);
}

/*
 * The inner content type: the last non-zero byte of TLSInnerPlaintext, in
 * [@start, @end) of a record of ours (no linear data, lowmem pages: read
 * in place, from the end).
 */
static u8 pl_rx_inner_type(struct sk_buff *skb, unsigned int start,
			   unsigned int end, unsigned int *pos)
{
	unsigned int fend = skb->len;
	int i;

	for (i = skb_shinfo(skb)->nr_frags - 1; i >= 0 && end > start; i--) {
		const skb_frag_t *frag = &skb_shinfo(skb)->frags[i];
		unsigned int fstart = fend - skb_frag_size(frag);
		const u8 *p = skb_frag_address(frag);

		for (; end > max(start, fstart); end--) {
			if (p[end - 1 - fstart]) {
				*pos = end - 1;
				return p[end - 1 - fstart];
			}
		}
		fend = fstart;
	}
	return 0;
}

static enum pl_fail pl_rx_eem_fail(enum pl_eem_result res)
{
	switch (res) {
	case PL_EEM_BAD_TAG:
		return PL_FAIL_EEM_TAG;
	case PL_EEM_BAD_NONCE:
		return PL_FAIL_EEM_NONCE;
	case PL_EEM_BAD_FRAGMENT:
		return PL_FAIL_FRAGMENT;
	default:
		return PL_FAIL_SEED_UPDATE;
	}
}

/* A received alert: close_notify ends the stream, others are fatal. */
static bool pl_rx_alert(struct sock *sk, struct plasmatic_context *ctx,
			struct sk_buff *skb)
{
	struct pl_rx_msg *rxm = pl_rx_msg(skb);
	struct pl_rx *rx = &ctx->rx;
	u8 alert[2] = {};

	skb_copy_bits(skb, rxm->off, alert, min(rxm->len, 2U));
	trace_plasmatic_alert(sk, false, alert[0], alert[1]);
	if (rxm->len == sizeof(alert) && alert[1] == PL_ALERT_CLOSE_NOTIFY) {
		pl_stat_inc(sk, PL_STAT_CLOSE_NOTIFY_RECV);
		WRITE_ONCE(rx->end, PLASMATIC_END_CLOSE_NOTIFY);
		return true;
	}
	/* Delivered to the application, then the stream is over. */
	pl_stat_inc(sk, PL_STAT_ALERTS_RECV);
	WRITE_ONCE(rx->err, -ECONNRESET);
	WRITE_ONCE(rx->end, PLASMATIC_END_ERROR);
	return false;
}

/* Whether handshake record @skb is one whole KeyUpdate message. */
static bool pl_rx_is_key_update(struct sk_buff *skb, u8 *requested)
{
	struct pl_rx_msg *rxm = pl_rx_msg(skb);
	u8 msg[5];

	if (rxm->len != sizeof(msg) ||
	    skb_copy_bits(skb, rxm->off, msg, sizeof(msg)))
		return false;
	if (msg[0] != PL_HS_KEY_UPDATE || msg[1] || msg[2] || msg[3] != 1 ||
	    msg[4] > PLASMATIC_KU_REQUESTED)
		return false;
	*requested = msg[4];
	return true;
}

/* Whether handshake record @skb starts with a KeyUpdate message. */
static bool pl_rx_starts_key_update(struct sk_buff *skb)
{
	struct pl_rx_msg *rxm = pl_rx_msg(skb);
	u8 type;

	return rxm->len && !skb_copy_bits(skb, rxm->off, &type, 1) &&
	       type == PL_HS_KEY_UPDATE;
}

/*
 * A KeyUpdate from the peer.  With RX keys from a traffic secret the next
 * records use the next secret and the record is not delivered: returns
 * true.  With PLASMATIC_RX keys the record is delivered and the parser
 * stops behind it until the application sets the next key; as kTLS, any
 * handshake record whose first byte is the KeyUpdate type stops it (the
 * application parses the record and answers it; with anything after the
 * message, the record was not one the peer's new key could follow, and
 * the application sees that rather than EBADMSG on the next record).
 *
 * update_requested asks for our KeyUpdate before our next data (SPEC
 * 8.4).  The kernel sends it if it has the TX traffic secret; if not (TX
 * keys from PLASMATIC_TX, or none yet) only the application can, so the
 * KeyUpdate is delivered as a handshake record although RX has moved on.
 */
static bool pl_rx_key_update(struct sock *sk, struct plasmatic_context *ctx,
			     struct sk_buff *skb, int *err)
{
	u8 requested;

	if (!ctx->by_secret[PL_DIR_RX]) {
		if (!pl_rx_starts_key_update(skb))
			return false;
		WRITE_ONCE(ctx->rx.key_update_pending, true);
		/* Other readers waiting for a record: EKEYEXPIRED now. */
		ctx->sk_data_ready(sk);
		return false;
	}

	if (!pl_rx_is_key_update(skb, &requested))
		return false;
	*err = pl_cipher_update(&ctx->rx.cipher);
	if (*err) {
		*err = pl_rx_fail(sk, ctx, PL_FAIL_INTERNAL);
		return true;
	}
	if (requested != PLASMATIC_KU_REQUESTED)
		return true;
	if (!ctx->by_secret[PL_DIR_TX])
		return false;
	ctx->tx.key_update_due = true;
	return true;
}

/*
 * PLASMATIC_RX_EXPECT_NO_PAD (kTLS's TLS_RX_EXPECT_NO_PAD): a reader that
 * takes at least a record's content lets pl_rx_open() decrypt it from TCP
 * or the record buffer straight into its pages, skipping the copy out of
 * a decrypted buffer.  Set up by pl_rx_read() for the next record.
 */
struct pl_rx_direct {
	struct iov_iter *to;
	size_t room;		/* bytes the reader still takes */
	bool hit;		/* the record went into @to */
	size_t len;		/* its content, then */
};

/*
 * Decrypt the record in @src (header, ciphertext and tag: @ct_len bytes
 * after the header) into @d->to, its last byte, the inner content type,
 * into rx.direct_type.  Only a data record without padding (the type in
 * the last byte) counts: then @d->to has moved past the content.  Returns
 * -EAGAIN when the record is to be opened in place instead: another type
 * or padding (both counted, as kTLS counts a retry), or a buffer whose
 * pages could not be had (a fault is then the in-place copy's to report)
 * or need more than PL_RX_DIRECT_PAGES; @d->to is back where it was.
 * -EBADMSG for a bad tag.
 */
static int pl_rx_open_direct(struct sock *sk, struct plasmatic_context *ctx,
			     struct scatterlist *src, unsigned int ct_len,
			     struct pl_rx_direct *d)
{
	const size_t len = ct_len - PL_TAG_LEN - 1;
	struct page *pages[PL_RX_DIRECT_PAGES];
	struct pl_rx *rx = &ctx->rx;
	struct scatterlist *dst = rx->direct_sg;
	unsigned int nsg = 1;
	size_t got = 0;
	int err = -EAGAIN;

	sg_init_table(dst, ARRAY_SIZE(rx->direct_sg));
	memcpy(rx->direct_aad, rx->hdr, PL_HDR_LEN);
	sg_set_buf(&dst[0], rx->direct_aad, PL_HDR_LEN);
	while (got < len) {
		unsigned int max = PL_RX_DIRECT_PAGES + 1 - nsg;
		ssize_t n;
		size_t off;
		int i;

		if (!max)
			goto out;
		n = iov_iter_get_pages2(d->to, pages, len - got, max, &off);
		if (n <= 0)
			goto out;
		got += n;
		for (i = 0; n; i++) {
			unsigned int use = min_t(size_t, n, PAGE_SIZE - off);

			sg_set_page(&dst[nsg++], pages[i], use, off);
			n -= use;
			off = 0;
		}
	}
	sg_set_buf(&dst[nsg], &rx->direct_type, 1);
	sg_mark_end(&dst[nsg]);

	err = pl_cipher_decrypt(&rx->cipher, src, dst, ct_len);
	if (!err && rx->direct_type != PLASMATIC_CT_APPLICATION_DATA) {
		if (!rx->direct_type)
			pl_stat_inc(sk, PL_STAT_RX_NO_PAD_VIOL);
		pl_stat_inc(sk, PL_STAT_RX_DECRYPT_RETRY);
		err = -EAGAIN;
	}
out:
	while (--nsg)
		put_page(sg_page(&dst[nsg]));
	if (err) {
		iov_iter_revert(d->to, got);
		return err;
	}
	rx->cipher.seq++;
	d->hit = true;
	d->len = len;
	pl_stat_inc(sk, PL_STAT_RX_DIRECT);
	return 0;
}

/*
 * A buffer for the plaintext of the record @in_tcp, of @ct_len bytes of
 * ciphertext: its header, then the inner plaintext, as in @cur.
 */
static struct sk_buff *pl_rx_plain_skb(struct sock *sk, struct pl_rx *rx,
				       unsigned int ct_len)
{
	unsigned int len = PL_HDR_LEN + ct_len - PL_TAG_LEN;
	struct sk_buff *skb;
	int err;

	skb = pl_rx_alloc(sk, GFP_KERNEL);
	if (IS_ERR(skb))
		return skb;
	err = pl_rx_grow(sk, skb, len, len, GFP_KERNEL) ?:
	      skb_store_bits(skb, 0, rx->hdr, PL_HDR_LEN);
	if (err) {
		kfree_skb(skb);
		return ERR_PTR(err);
	}
	return skb;
}

/* Copy @len bytes at @off of the record in @sg to @buf. */
static int pl_rx_sg_read(struct scatterlist *sg, int nsg, unsigned int off,
			 void *buf, unsigned int len)
{
	return sg_pcopy_to_buffer(sg, nsg, buf, len, off) == len ? 0 : -EFAULT;
}

/*
 * Decrypt the record @src of @ct_len bytes of ciphertext: in place in
 * @cur, or from TCP's queue into @skb (pl_rx_plain_skb()), with @sg
 * (MAX_SKB_FRAGS + 1 entries) for it.
 */
static int pl_rx_decrypt(struct pl_rx *rx, struct scatterlist *src,
			 struct sk_buff *skb, struct scatterlist *sg,
			 unsigned int ct_len)
{
	int nsg;

	if (!rx->in_tcp)
		return pl_cipher_open(&rx->cipher, src, src, ct_len);
	sg_init_table(sg, MAX_SKB_FRAGS + 1);
	nsg = skb_to_sgvec(skb, sg, 0, skb->len);
	if (nsg < 0)
		return nsg;
	return pl_cipher_open(&rx->cipher, src, sg, ct_len);
}

/* The record @in_tcp has been opened, or failed: take it from TCP. */
static void pl_rx_tcp_done(struct sock *sk, struct pl_rx *rx, bool opened)
{
	if (rx->in_tcp) {
		tcp_read_done(sk, rx->cur_need);
		rx->in_tcp = false;
		if (opened)
			pl_stat_inc(sk, PL_STAT_RX_IN_TCP);
	}
}

/*
 * Check and decrypt the whole record (SPEC section 7), in @cur or still
 * in TCP (@in_tcp): into the reader's pages with @d (then not queued),
 * else in place in @cur or into a buffer of its own, queued on @done.
 */
static int pl_rx_open(struct sock *sk, struct plasmatic_context *ctx,
		      struct pl_rx_direct *d)
{
	struct scatterlist sg[MAX_SKB_FRAGS + 1];
	struct pl_rx *rx = &ctx->rx;
	struct sk_buff *skb = rx->cur;
	struct scatterlist *src = sg;
	const bool in_tcp = rx->in_tcp;
	u64 eem_counter = rx->eem.counter;
	bool eem_spent = rx->eem.spent;
	u64 seq = rx->cipher.seq;
	u8 eem[PLASMATIC_EEM_LEN_MAX];
	u8 su[PL_SEED_UPDATE_LEN];
	enum pl_eem_result res;
	unsigned int ct_len, pos;
	struct pl_rx_msg *rxm;
	enum pl_fail cause;
	u8 hdr[PL_HDR_LEN];
	u8 tag[PL_TAG_LEN];
	u8 fragment[2];
	int nsg, err, type;
	bool direct;

	ct_len = get_unaligned_be16(rx->hdr + 3);
	if (rx->eem.framing == PLASMATIC_FRAMING_COVERED)
		ct_len -= rx->eem.len;
	memcpy(hdr, rx->hdr, sizeof(hdr));
	/* Into the reader's buffer if all of a lawful record's content fits. */
	direct = d && ct_len - PL_TAG_LEN <= PL_MAX_CONTENT + 1 &&
		 ct_len - PL_TAG_LEN - 1 <= d->room;

	if (in_tcp) {
		nsg = pl_rx_tcp_sg(sk, rx);
		if (nsg < 0)
			return pl_rx_copy_out(sk, ctx);
		src = rx->tcp_sg;
		if (!direct) {
			skb = pl_rx_plain_skb(sk, rx, ct_len);
			if (IS_ERR(skb))
				return PTR_ERR(skb);
		}
	} else {
		sg_init_table(sg, ARRAY_SIZE(sg));
		nsg = skb_to_sgvec(skb, sg, 0, rx->cur_need);
	}

	cause = PL_FAIL_INTERNAL;
	if (nsg < 0 ||
	    pl_rx_sg_read(src, nsg, PL_HDR_LEN, fragment, sizeof(fragment)) ||
	    pl_rx_sg_read(src, nsg, PL_HDR_LEN + ct_len - PL_TAG_LEN, tag,
			  sizeof(tag)) ||
	    pl_rx_sg_read(src, nsg, PL_HDR_LEN + ct_len, eem, rx->eem.len) ||
	    pl_eem_open(&rx->eem, eem, hdr, tag, fragment, su, &res))
		goto fail;
	if (res != PL_EEM_OK) {
		cause = pl_rx_eem_fail(res);
		goto fail;
	}

	err = -EAGAIN;
	if (direct)
		err = pl_rx_open_direct(sk, ctx, src, ct_len, d);
	if (err == -EAGAIN && !skb) {
		/* Not for the reader's pages after all: a buffer of its own. */
		skb = pl_rx_plain_skb(sk, rx, ct_len);
		if (IS_ERR(skb)) {
			/* Left in TCP, to be opened again: the EEM too. */
			rx->eem.counter = eem_counter;
			rx->eem.spent = eem_spent;
			return PTR_ERR(skb);
		}
	}
	if (err == -EAGAIN)
		err = pl_rx_decrypt(rx, src, skb, sg, ct_len);
	if (err) {
		cause = err == -EBADMSG ? PL_FAIL_TLS_TAG : PL_FAIL_INTERNAL;
		goto fail;
	}

	/* RFC 8446 5.4: TLSInnerPlaintext of at most 2^14 + 1 bytes. */
	cause = PL_FAIL_LENGTH;
	if (ct_len - PL_TAG_LEN > PL_MAX_CONTENT + 1)
		goto fail;

	if (d && d->hit) {
		type = PLASMATIC_CT_APPLICATION_DATA;
		pos = PL_HDR_LEN + d->len;
	} else {
		type = pl_rx_inner_type(skb, PL_HDR_LEN,
					PL_HDR_LEN + ct_len - PL_TAG_LEN, &pos);
	}
	cause = PL_FAIL_CONTENT_TYPE;
	if (type != PLASMATIC_CT_ALERT && type != PLASMATIC_CT_HANDSHAKE &&
	    type != PLASMATIC_CT_APPLICATION_DATA)
		goto fail;
	cause = PL_FAIL_EMPTY;
	if (type != PLASMATIC_CT_APPLICATION_DATA && pos == PL_HDR_LEN)
		goto fail;

	/* Accepted: the record is ours now, the parser may go on. */
	pl_rx_tcp_done(sk, rx, true);
	rx->cur = NULL;
	rx->hdr_len = 0;
	WRITE_ONCE(rx->ready, false);

	trace_plasmatic_rx_record(sk, type, pos - PL_HDR_LEN, seq, eem_counter);
	pl_stat_inc(sk, PL_STAT_RX_RECORDS);
	pl_stat_add(sk, PL_STAT_RX_BYTES, pos - PL_HDR_LEN);
	/* A Seed Update shapes our transmit side from its next draw (9.4). */
	pl_tpl_su_received(&ctx->tx.tpl, su);

	if (d && d->hit) {
		/* @cur, or nothing if the record was opened in TCP. */
		consume_skb(skb);
	} else {
		rxm = pl_rx_msg(skb);
		rxm->off = PL_HDR_LEN;
		rxm->len = pos - PL_HDR_LEN;
		rxm->type = type;
		err = 0;
		if ((type == PLASMATIC_CT_ALERT && pl_rx_alert(sk, ctx, skb)) ||
		    (type == PLASMATIC_CT_HANDSHAKE &&
		     pl_rx_key_update(sk, ctx, skb, &err))) {
			consume_skb(skb);
			return err;
		}
		__skb_queue_tail(&rx->done, skb);
	}
	/*
	 * The key's last sequence number, and no KeyUpdate to a next key:
	 * what follows could only be opened with a wrapped one (RFC 8446
	 * 5.3 forbids it).  As kTLS, this record is delivered and the stream
	 * fails behind it.
	 */
	if (seq == U64_MAX && !rx->key_update_pending && !rx->end)
		pl_rx_fail_at(sk, ctx, PL_FAIL_SEQ_WRAP, seq, eem_counter);
	return 0;

fail:
	/* As a record in @cur is: its bytes are taken, its buffer freed. */
	if (in_tcp) {
		pl_rx_tcp_done(sk, rx, false);
		kfree_skb(skb);
	}
	return pl_rx_fail_at(sk, ctx, cause, seq, eem_counter);
}

/*
 * Make one more record available on @done, or with @d in the reader's
 * buffer.  Returns 0 if something changed (a record was opened),
 * PL_RX_EOF at the end of the stream, -EAGAIN if the reader has to wait,
 * -EKEYEXPIRED behind a KeyUpdate until the next key is set, or an error.
 */
static int pl_rx_next(struct sock *sk, struct plasmatic_context *ctx,
		      struct pl_rx_direct *d)
{
	struct pl_rx *rx = &ctx->rx;
	int err;

	if (rx->err)
		return rx->err;
	if (rx->end)
		return PL_RX_EOF;
	if (rx->key_update_pending)
		return -EKEYEXPIRED;

	err = pl_rx_pull(sk, ctx, GFP_KERNEL);
	if (rx->ready) {
		err = pl_rx_open(sk, ctx, d);
		if (!err)
			pl_rx_pull(sk, ctx, GFP_KERNEL);
		return err;
	}
	if (rx->err)
		return rx->err;
	if (err)
		return err;
	if (sk->sk_err)
		return sock_error(sk);

	if ((sk->sk_shutdown & RCV_SHUTDOWN) && !tcp_inq(sk)) {
		if (rx->hdr_len || rx->cur)
			return pl_rx_fail(sk, ctx, PL_FAIL_TRUNCATED);
		WRITE_ONCE(rx->end, PLASMATIC_END_TRUNCATED);
		return PL_RX_EOF;
	}
	return -EAGAIN;
}

static bool pl_rx_can_go_on(struct sock *sk, struct plasmatic_context *ctx)
{
	return READ_ONCE(ctx->rx.ready) || READ_ONCE(ctx->rx.err) ||
	       READ_ONCE(ctx->rx.end) || READ_ONCE(sk->sk_err) ||
	       (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN);
}

static int pl_rx_wait(struct sock *sk, struct plasmatic_context *ctx,
		      long *timeo)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);

	if (!*timeo)
		return -EAGAIN;
	if (signal_pending(current))
		return sock_intr_errno(*timeo);

	add_wait_queue(sk_sleep(sk), &wait);
	sk_set_bit(SOCKWQ_ASYNC_WAITDATA, sk);
	sk_wait_event(sk, timeo, pl_rx_can_go_on(sk, ctx) ||
		      READ_ONCE(ctx->rx.key_update_pending), &wait);
	sk_clear_bit(SOCKWQ_ASYNC_WAITDATA, sk);
	remove_wait_queue(sk_sleep(sk), &wait);
	return 0;
}

static struct sk_buff *pl_rx_nth(struct sk_buff_head *list, unsigned int nth)
{
	struct sk_buff *skb;

	skb_queue_walk(list, skb)
		if (!nth--)
			return skb;
	return NULL;
}

/*
 * The @nth opened record, opening and waiting as needed.  NULL with
 * *err == 0 is the end of the stream, or with @d a record that went
 * straight into the reader's buffer (d->hit).  The socket lock may be
 * dropped while waiting: callers hold no record across this call.
 */
static struct sk_buff *pl_rx_record(struct sock *sk,
				    struct plasmatic_context *ctx,
				    unsigned int nth, struct pl_rx_direct *d,
				    long *timeo, int *err)
{
	struct sk_buff *skb;
	int ret;

	for (;;) {
		skb = pl_rx_nth(&ctx->rx.done, nth);
		if (skb)
			return skb;
		ret = pl_rx_next(sk, ctx, d);
		if (!ret && d && d->hit) {
			*err = 0;
			return NULL;
		}
		if (!ret)
			continue;
		if (ret == -EAGAIN)
			ret = pl_rx_wait(sk, ctx, timeo);
		if (ret) {
			*err = ret == PL_RX_EOF ? 0 : ret;
			return NULL;
		}
	}
}

static void pl_rx_consume(struct plasmatic_context *ctx, struct sk_buff *skb,
			  unsigned int n)
{
	struct pl_rx_msg *rxm = pl_rx_msg(skb);

	rxm->off += n;
	rxm->len -= n;
	if (!rxm->len) {
		__skb_unlink(skb, &ctx->rx.done);
		consume_skb(skb);
	}
}

static int pl_rx_read(struct sock *sk, struct plasmatic_context *ctx,
		      struct msghdr *msg, size_t len, int flags)
{
	long timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	int target = sock_rcvlowat(sk, flags & MSG_WAITALL, len);
	bool peek = flags & MSG_PEEK;
	/* As kTLS: not for peeking, nor for in-kernel readers' buffers. */
	bool direct = ctx->rx.no_pad && !peek &&
		      user_backed_iter(&msg->msg_iter);
	struct pl_rx_direct d = { .to = &msg->msg_iter };
	unsigned int nth = 0;
	size_t copied = 0;
	int type = 0;
	int err = 0;

	while (copied < len) {
		struct pl_rx_msg *rxm;
		struct sk_buff *skb;
		long no_wait = 0;
		size_t n;

		/*
		 * MSG_PEEK opens records ahead and keeps them: look no
		 * further once the records held take the receive buffer
		 * (review finding 5: a huge peek queued the whole stream).
		 * The rest waits in TCP, under its own window.
		 */
		if (peek && copied &&
		    ctx->rx.mem >= (unsigned int)READ_ONCE(sk->sk_rcvbuf))
			break;
		d.room = len - copied;
		d.hit = false;
		skb = pl_rx_record(sk, ctx, nth, direct ? &d : NULL,
				   copied >= target ? &no_wait : &timeo, &err);
		if (d.hit) {
			/* A data record, and so far only data in this call. */
			type = PLASMATIC_CT_APPLICATION_DATA;
			copied += d.len;
			continue;
		}
		if (!skb)
			break;
		rxm = pl_rx_msg(skb);

		/* One call returns records of one type (as kTLS). */
		if (!type) {
			type = rxm->type;
			if (type != PLASMATIC_CT_APPLICATION_DATA) {
				err = put_cmsg(msg, SOL_PLASMATIC,
					       PLASMATIC_RECORD_TYPE,
					       sizeof(rxm->type), &rxm->type);
				if (err || msg->msg_flags & MSG_CTRUNC) {
					err = -EIO;
					break;
				}
			}
		} else if (type != rxm->type) {
			break;
		}

		n = min_t(size_t, rxm->len, len - copied);
		err = skb_copy_datagram_msg(skb, rxm->off, msg, n);
		if (err)
			break;
		copied += n;
		if (peek)
			nth++;
		else
			pl_rx_consume(ctx, skb, n);

		if (type != PLASMATIC_CT_APPLICATION_DATA)
			break;
	}
	/* An error after data is reported by the next call. */
	return copied ?: err;
}

/* Plaintext to read before RX keys, or the keys, or the end. */
static bool pl_rx_plain_go_on(struct sock *sk, struct plasmatic_context *ctx)
{
	return pl_rx_ready(ctx) || tcp_inq(sk) || READ_ONCE(sk->sk_err) ||
	       (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN);
}

/*
 * recvmsg before RX keys: TCP's, but never asleep inside it.  A reader
 * asleep in tcp_recvmsg() while another thread set PLASMATIC_RX woke up
 * to copy what the record parser had left in TCP: bytes of the record
 * stream, never authenticated, returned as plaintext, and the stream
 * behind them out of step (found by sockopt_fuzz_test).  So TCP's
 * recvmsg runs only without waiting, with rx.upgrade read-held, which
 * setting RX keys write-holds; the waiting is done here, and ends when
 * keys come too: then *records is set if nothing was copied, and the
 * caller reads records instead.  TCP's SO_RCVLOWAT is not waited for here: a
 * read returns what there is, as poll would have it.
 */
static int pl_recvmsg_plain(struct sock *sk, struct plasmatic_context *ctx,
			    struct msghdr *msg, size_t len, int flags,
			    int *addr_len, bool *records)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	long timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	int copied = 0;
	int ret;

	for (;;) {
		ret = down_read_interruptible(&ctx->rx.upgrade);
		if (ret)
			return copied ?: sock_intr_errno(timeo);
		if (pl_rx_ready(ctx)) {
			up_read(&ctx->rx.upgrade);
			*records = !copied;
			return copied;
		}
		ret = pl_proto_recvmsg_al(ctx->sk_proto, sk, msg, len - copied,
					  flags | MSG_DONTWAIT, addr_len);
		up_read(&ctx->rx.upgrade);
		if (ret > 0) {
			copied += ret;
			if (!(flags & MSG_WAITALL) || (flags & MSG_PEEK) ||
			    copied >= len)
				return copied;
			continue;
		}
		if (ret != -EAGAIN || !timeo)
			return copied ?: ret;
		if (signal_pending(current))
			return copied ?: sock_intr_errno(timeo);

		lock_sock(sk);
		add_wait_queue(sk_sleep(sk), &wait);
		sk_set_bit(SOCKWQ_ASYNC_WAITDATA, sk);
		sk_wait_event(sk, &timeo, pl_rx_plain_go_on(sk, ctx), &wait);
		sk_clear_bit(SOCKWQ_ASYNC_WAITDATA, sk);
		remove_wait_queue(sk_sleep(sk), &wait);
		release_sock(sk);
		if (signal_pending(current))
			return copied ?: sock_intr_errno(timeo);
		if (!timeo && !pl_rx_plain_go_on(sk, ctx))
			return copied ?: -EAGAIN;
	}
}

int pl_recvmsg(struct sock *sk, struct msghdr *msg, size_t len, int flags
	       PL_RECVMSG_ADDR_LEN_ARG)
{
	struct plasmatic_context *ctx = pl_ctx(sk);
	bool records = false;
	int ret;

	if (flags & MSG_ERRQUEUE)
		return pl_proto_recvmsg(ctx->sk_proto, sk, msg, len, flags);
	if (!pl_rx_ready(ctx)) {
		if (flags & MSG_OOB)
			return pl_proto_recvmsg(ctx->sk_proto, sk, msg, len,
						flags);
		ret = pl_recvmsg_plain(sk, ctx, msg, len, flags,
				       PL_RECVMSG_ADDR_LEN_VAL, &records);
		if (!records)
			return ret;
	}
	if (flags & MSG_OOB)
		return -EINVAL;

	lock_sock(sk);
	ret = pl_rx_read(sk, ctx, msg, len, flags);
	release_sock(sk);
	return ret;
}

ssize_t pl_splice_read(struct socket *sock, loff_t *ppos,
		       struct pipe_inode_info *pipe, size_t len,
		       unsigned int flags)
{
	struct sock *sk = sock->sk;
	struct plasmatic_context *ctx = pl_ctx(sk);
	bool nonblock = (sock->file->f_flags & O_NONBLOCK) ||
			(flags & SPLICE_F_NONBLOCK);
	struct pl_rx_msg *rxm;
	struct sk_buff *skb;
	long timeo;
	int err = 0;
	int ret;

	if (!pl_rx_ready(ctx))
		return ctx->sk_ops->splice_read(sock, ppos, pipe, len, flags);

	lock_sock(sk);
	timeo = sock_rcvtimeo(sk, nonblock);
	for (;;) {
		skb = pl_rx_record(sk, ctx, 0, NULL, &timeo, &err);
		if (!skb) {
			ret = err;
			break;
		}
		rxm = pl_rx_msg(skb);
		if (rxm->type != PLASMATIC_CT_APPLICATION_DATA) {
			ret = -EINVAL;
			break;
		}
		if (!rxm->len) {
			pl_rx_consume(ctx, skb, 0);
			continue;
		}
		ret = skb_splice_bits(skb, sk, rxm->off, pipe,
				      min_t(size_t, len, rxm->len), flags);
		if (ret > 0)
			pl_rx_consume(ctx, skb, ret);
		break;
	}
	release_sock(sk);
	return ret;
}

__poll_t pl_poll(struct file *file, struct socket *sock,
		 struct poll_table_struct *wait)
{
	struct sock *sk = sock->sk;
	struct plasmatic_context *ctx = pl_ctx(sk);
	__poll_t mask;

	mask = ctx->sk_ops->poll(file, sock, wait);
	if (!pl_rx_ready(ctx))
		return mask;

	/*
	 * Behind a KeyUpdate, readable only while records up to it are left
	 * to read: kTLS 6.14 is never readable then, even with the KeyUpdate
	 * still queued, which a reader driven by poll would never see.
	 */
	mask &= ~(EPOLLIN | EPOLLRDNORM);
	if (!skb_queue_empty_lockless(&ctx->rx.done) ||
	    (!READ_ONCE(ctx->rx.key_update_pending) &&
	     pl_rx_can_go_on(sk, ctx)))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

/* TCP has new bytes (softirq, or the owner's release_sock()). */
void pl_rx_data_ready(struct sock *sk)
{
	struct plasmatic_context *ctx = pl_ctx(sk);

	if (pl_rx_pull(sk, ctx, GFP_ATOMIC) == -ENOMEM) {
		/* No memory here: fetch the record in process context. */
		schedule_work(&ctx->rx.work);
		return;
	}
	if (pl_rx_can_go_on(sk, ctx))
		ctx->sk_data_ready(sk);
}

static void pl_rx_work(struct work_struct *work)
{
	struct plasmatic_context *ctx = container_of(work,
						     struct plasmatic_context,
						     rx.work);
	struct sock *sk = ctx->sk;

	lock_sock(sk);
	/* After pl_rx_stop() the socket is TCP's again: leave it alone. */
	if (!ctx->rx.closing) {
		pl_rx_pull(sk, ctx, GFP_KERNEL);
		if (pl_rx_can_go_on(sk, ctx))
			ctx->sk_data_ready(sk);
	}
	release_sock(sk);
}

/* Keys are in: take over data_ready and parse what TCP already holds. */
void pl_rx_start(struct sock *sk, struct plasmatic_context *ctx)
{
	ctx->rx.tcp_sg = kmalloc_array(PL_RX_TCP_SG, sizeof(*ctx->rx.tcp_sg),
				       GFP_KERNEL);
	write_lock_bh(&sk->sk_callback_lock);
	ctx->sk_data_ready = sk->sk_data_ready;
	sk->sk_data_ready = pl_rx_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);

	pl_rx_pull(sk, ctx, GFP_KERNEL);
	if (pl_rx_can_go_on(sk, ctx))
		ctx->sk_data_ready(sk);
}

/*
 * PLASMATIC_RX set again behind a KeyUpdate: @next, a key of the same
 * cipher, opens what follows; the EEM goes on (SPEC 4).  Takes @next over.
 */
void pl_rx_rekey(struct sock *sk, struct plasmatic_context *ctx,
		 struct pl_cipher *next)
{
	struct pl_rx *rx = &ctx->rx;

	pl_cipher_free(&rx->cipher);
	rx->cipher = *next;
	memzero_explicit(next, sizeof(*next));
	WRITE_ONCE(rx->key_update_pending, false);

	if (pl_rx_pull(sk, ctx, GFP_KERNEL))
		schedule_work(&rx->work);
	/* Wake poll (not readable while stopped) and readers, as kTLS. */
	ctx->sk_data_ready(sk);
}

void pl_rx_init(struct plasmatic_context *ctx)
{
	__skb_queue_head_init(&ctx->rx.done);
	init_rwsem(&ctx->rx.upgrade);
	INIT_WORK(&ctx->rx.work, pl_rx_work);
}

/*
 * close(): from here on the receive work does nothing (it may still run
 * once) and fails nothing, so it schedules no transmit work either
 * (review finding 4), and the record buffers, charged to the socket, go
 * back while we hold its lock.  Caller holds the socket lock.
 */
void pl_rx_stop(struct sock *sk, struct plasmatic_context *ctx)
{
	struct pl_rx *rx = &ctx->rx;

	rx->closing = true;
	kfree_skb(rx->cur);
	rx->cur = NULL;
	rx->in_tcp = false;
	WRITE_ONCE(rx->ready, false);
	__skb_queue_purge(&rx->done);
}

/*
 * Free the receive state; pl_rx_stop() ran, callbacks are restored and
 * the work cancelled.
 */
void pl_rx_release(struct plasmatic_context *ctx)
{
	struct pl_rx *rx = &ctx->rx;

	WARN_ON_ONCE(rx->cur || !skb_queue_empty(&rx->done));
	kfree(rx->tcp_sg);
	pl_cipher_free(&rx->cipher);
	pl_eem_free(&rx->eem);
}
