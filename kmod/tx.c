// SPDX-License-Identifier: GPL-2.0
/*
 * Transmit: application data -> records of at most pl_tx_max_content()
 * bytes (2^14, less the EEM in covered framing: SPEC 8.1), each sealed and
 * followed by its EEM -> TCP.
 *
 * A record is built in fragments of the socket's page_frag, as kTLS builds
 * its records, so that small records share a page instead of each taking
 * an allocation of its own: the content is copied in at PL_HDR_LEN, then
 * the record is encrypted in place, its EEM appended, and the pages are
 * handed to TCP without another copy.  At most one
 * record is open (collecting data under MSG_MORE) and at most one is
 * pending (sealed, partly taken by TCP); a pending record is always
 * finished before another is sealed, so records leave in sequence order.
 *
 * A splice (sendfile, splice(2)) in mode 0 does not copy: the record links
 * the spliced pages, taking a reference to each, and is encrypted from
 * them into its own page_frag pieces when it is sealed, as kTLS encrypts
 * sendpage data out of place.  Record boundaries are those of a copy; a
 * record that meets data it cannot link (a sendmsg under MSG_MORE, more
 * than PL_TX_LINKS pieces) copies what it linked and goes on copying.
 * As with TCP's own sendfile, a page cache page changed before the record
 * is sealed is sent as it is then.
 *
 * TPL (SPEC 9, tpl.c): each application_data record takes its two draws
 * when it is opened.  In mode 0 it is sized by the send as it always was;
 * in modes 1..8 it is opened with room for exactly its size draw, data
 * beyond that goes to the next record, and it is sealed full or padded to
 * the draw with TLS 1.3 zero padding.  Its end is then marked as MSG_EOR
 * marks it, so that the next record starts a TCP segment of its own.
 */
#include <linux/highmem.h>
#include <linux/sched/signal.h>
#include <net/sock.h>

#include "proc.h"
#include "rx.h"
#include "trace.h"
#include "tx.h"

#define PL_TX_MSG_FLAGS		(MSG_MORE | MSG_DONTWAIT | MSG_NOSIGNAL | \
				 MSG_EOR | MSG_CMSG_COMPAT | PL_MSG_SPLICE)
#define PL_TX_PUSH_FLAGS	(MSG_DONTWAIT | MSG_NOSIGNAL)

#define PL_ALERT_LEVEL_WARNING	1
#define PL_ALERT_LEVEL_FATAL	2
#define PL_ALERT_CLOSE_NOTIFY	0
#define PL_ALERT_BAD_RECORD_MAC	20

static void pl_rec_put_links(struct pl_tx_rec *rec)
{
	unsigned int i;

	for (i = 0; i < rec->nr_links; i++)
		put_page(rec->links[i].page);
	rec->nr_links = 0;
}

/* Drop the page references of @rec (which may be NULL). */
static void pl_rec_free(struct pl_tx_rec *rec)
{
	unsigned int i;

	if (!rec)
		return;
	for (i = 0; i < rec->nr; i++)
		put_page(rec->frags[i].page);
	rec->nr = 0;
	rec->len = 0;
	pl_rec_put_links(rec);
}

/*
 * Take @len bytes for @rec from the socket's page_frag, one page reference
 * per fragment (TCP takes its own when it is handed the pages).  Pages of
 * a page_frag are never highmem.
 */
static int pl_rec_alloc(struct sock *sk, struct pl_tx_rec *rec,
			unsigned int len)
{
	struct page_frag *pfrag = sk_page_frag(sk);

	rec->nr = 0;
	rec->len = 0;
	while (rec->len < len) {
		struct pl_tx_frag *f = &rec->frags[rec->nr];
		unsigned int n;

		if (rec->nr == PL_TX_FRAGS || !sk_page_frag_refill(sk, pfrag)) {
			pl_rec_free(rec);
			return -ENOMEM;
		}
		n = min(len - rec->len, pfrag->size - pfrag->offset);
		get_page(pfrag->page);
		f->page = pfrag->page;
		f->off = pfrag->offset;
		f->len = n;
		pfrag->offset += n;
		rec->len += n;
		rec->nr++;
	}
	return 0;
}

/*
 * Shorten @rec to @len bytes.  What it took last from the page_frag and
 * does not need goes back there for the next record.
 */
static void pl_rec_trim(struct sock *sk, struct pl_tx_rec *rec,
			unsigned int len)
{
	struct page_frag *pfrag = sk_page_frag(sk);

	while (rec->len > len) {
		struct pl_tx_frag *f = &rec->frags[rec->nr - 1];
		unsigned int cut = min(f->len, rec->len - len);

		if (f->page == pfrag->page && f->off + f->len == pfrag->offset)
			pfrag->offset -= cut;
		f->len -= cut;
		rec->len -= cut;
		if (!f->len) {
			put_page(f->page);
			rec->nr--;
		}
	}
}

/* The fragment of @rec holding byte @off, and *off made relative to it. */
static struct pl_tx_frag *pl_rec_find(struct pl_tx_rec *rec,
				      unsigned int *off)
{
	struct pl_tx_frag *f = rec->frags;

	while (*off >= f->len) {
		*off -= f->len;
		f++;
	}
	return f;
}

static void *pl_frag_addr(const struct pl_tx_frag *f, unsigned int off)
{
	return page_address(f->page) + f->off + off;
}

/* Copy @len bytes between @buf and @rec at @off, into @rec if @store. */
static void pl_rec_bits(struct pl_tx_rec *rec, unsigned int off, u8 *buf,
			unsigned int len, bool store)
{
	struct pl_tx_frag *f = pl_rec_find(rec, &off);

	while (len) {
		unsigned int n = min(len, f->len - off);

		if (store)
			memcpy(pl_frag_addr(f, off), buf, n);
		else
			memcpy(buf, pl_frag_addr(f, off), n);
		buf += n;
		len -= n;
		off = 0;
		f++;
	}
}

static void pl_rec_store(struct pl_tx_rec *rec, unsigned int off,
			 const void *buf, unsigned int len)
{
	pl_rec_bits(rec, off, (u8 *)buf, len, true);
}

/*
 * TLS 1.3 padding of a shaped record: zeros written in the record's own
 * pages, behind the content type.  The AEAD encrypts in place, so the
 * plaintext zeros must be there; the record was allocated with room for
 * them (pl_tx_open() takes the size draw as its capacity), so padding
 * costs neither an allocation nor a copy from the user, only this memset.
 */
static void pl_rec_zero(struct pl_tx_rec *rec, unsigned int off,
			unsigned int len)
{
	struct pl_tx_frag *f = pl_rec_find(rec, &off);

	while (len) {
		unsigned int n = min(len, f->len - off);

		memset(pl_frag_addr(f, off), 0, n);
		len -= n;
		off = 0;
		f++;
	}
}

/*
 * Copy the content in.  Non-temporal stores, as kTLS copies its plaintext
 * (sk_msg_memcopy_from_iter()): measured, this beats a cached copy at
 * 16 KiB records and is even at 1 KiB.
 */
static int pl_rec_copy_from_iter(struct pl_tx_rec *rec, unsigned int off,
				 struct iov_iter *from, unsigned int len)
{
	struct pl_tx_frag *f;

	if (!len)
		return 0;
	f = pl_rec_find(rec, &off);
	while (len) {
		unsigned int n = min(len, f->len - off);

		if (copy_from_iter_nocache(pl_frag_addr(f, off), n, from) != n)
			return -EFAULT;
		len -= n;
		off = 0;
		f++;
	}
	return 0;
}

/*
 * Link up to @len bytes of @from, a bio_vec iterator (a splice), as the
 * next content of @rec, one piece per page.  Stops at a page TCP would
 * not take either (sendpage_ok(): slab memory) and when @rec has no room
 * for another piece.  Returns the bytes linked; @from is advanced by them.
 */
static unsigned int pl_rec_link(struct pl_tx_rec *rec, struct iov_iter *from,
				unsigned int len)
{
	unsigned int done = 0;

	while (done < len) {
		const struct bio_vec *bv = from->bvec;
		size_t off = bv->bv_offset + from->iov_offset;
		struct page *page = pl_nth_page(bv->bv_page, off / PAGE_SIZE);
		struct pl_tx_frag *l = &rec->links[rec->nr_links];
		unsigned int n;

		off %= PAGE_SIZE;
		n = min_t(size_t, len - done, bv->bv_len - from->iov_offset);
		n = min_t(size_t, n, PAGE_SIZE - off);
		if (!n || !sendpage_ok(page))
			break;
		if (rec->nr_links && l[-1].page == page &&
		    l[-1].off + l[-1].len == off) {
			l[-1].len += n;
		} else {
			if (rec->nr_links == PL_TX_LINKS)
				break;
			get_page(page);
			l->page = page;
			l->off = off;
			l->len = n;
			rec->nr_links++;
		}
		iov_iter_advance(from, n);
		done += n;
	}
	return done;
}

/*
 * The open record takes data it cannot link: copy what it linked into
 * its own pages, after the header, and let the pages go.  From here on
 * it is a record like any other.
 */
static void pl_tx_unlink(struct pl_tx *tx)
{
	struct pl_tx_rec *rec = tx->open;
	unsigned int at = PL_HDR_LEN;
	unsigned int i;

	for (i = 0; i < rec->nr_links; i++) {
		const struct pl_tx_frag *l = &rec->links[i];
		u8 *src = kmap_local_page(l->page);

		pl_rec_store(rec, at, src + l->off, l->len);
		kunmap_local(src);
		at += l->len;
	}
	pl_rec_put_links(rec);
	tx->open_linked = false;
}

/*
 * The plaintext of a linked record, for an out-of-place seal: its header
 * (the AAD, in its first fragment, which is never shorter than 32
 * bytes), its links, then its inner content type.
 */
static struct scatterlist *pl_tx_link_sg(struct pl_tx *tx)
{
	struct pl_tx_rec *rec = tx->open;
	struct scatterlist *sg = tx->link_sg;
	unsigned int i;

	sg_init_table(sg, rec->nr_links + 2);
	sg_set_page(sg, rec->frags[0].page, PL_HDR_LEN, rec->frags[0].off);
	for (i = 0; i < rec->nr_links; i++)
		sg_set_page(&sg[i + 1], rec->links[i].page,
			    rec->links[i].len, rec->links[i].off);
	sg_set_buf(&sg[i + 1], &tx->open_type, 1);
	return sg;
}

static void pl_tx_fail(struct sock *sk, struct plasmatic_context *ctx, int err)
{
	struct pl_tx *tx = &ctx->tx;

	tx->err = err;
	pl_rec_free(tx->open);
	tx->open = NULL;
	trace_plasmatic_tx_fail(sk, err);
}

/*
 * Open a record with room for @cap content bytes; what it does not fill
 * is given back when it is sealed.
 */
static int pl_tx_open(struct sock *sk, struct plasmatic_context *ctx, u8 type,
		      unsigned int cap)
{
	struct pl_tx *tx = &ctx->tx;
	unsigned int len = PL_HDR_LEN + cap + 1 + PL_TAG_LEN + tx->eem.len;
	struct pl_tx_rec *rec;
	int err;

	rec = tx->pending == &tx->recs[0] ? &tx->recs[1] : &tx->recs[0];
	err = pl_rec_alloc(sk, rec, len);
	if (err)
		return err;

	tx->open = rec;
	tx->open_len = 0;
	tx->open_cap = cap;
	tx->open_type = type;
	tx->open_shaped = false;
	tx->open_linked = false;
	return 0;
}

/* Count a shaped record being sealed with @pad bytes of padding. */
static void pl_tx_shaped(struct sock *sk, struct pl_tx *tx, unsigned int pad,
			 unsigned int wire_len)
{
	struct pl_tpl *t = &tx->tpl;

	tx->open_sched.index = t->records;
	tx->open_sched.len = wire_len;
	WRITE_ONCE(t->records, t->records + 1);
	WRITE_ONCE(t->pad_bytes, t->pad_bytes + pad);
	pl_stat_inc(sk, PL_STAT_TPL_RECORDS);
	pl_stat_add(sk, PL_STAT_TPL_PAD_BYTES, pad);
	trace_plasmatic_tx_tpl(sk, tx->open_sched.index, tx->open_sched.mode,
			       tx->open_cap, pad, tx->open_sched.delay_us);
}

/* Seal the open record: header, inner content type, AEAD, then the EEM. */
static int pl_tx_seal(struct sock *sk, struct plasmatic_context *ctx)
{
	struct scatterlist sg[PL_TX_FRAGS];
	struct pl_tx *tx = &ctx->tx;
	struct pl_tx_rec *rec = tx->open;
	unsigned int pad = tx->open_shaped ? tx->open_cap - tx->open_len : 0;
	unsigned int pt_len = tx->open_len + 1 + pad;
	unsigned int ct_len = pt_len + PL_TAG_LEN;
	unsigned int left = PL_HDR_LEN + ct_len;
	bool su_queued = tx->tpl.su_queued;
	u8 su[PL_SEED_UPDATE_LEN];
	u8 eem[PLASMATIC_EEM_LEN_MAX];
	u8 hdr[PL_HDR_LEN];
	u8 tag[PL_TAG_LEN];
	u64 seq = tx->cipher.seq;
	u64 eem_counter = tx->eem.counter;
	u8 fragment[2];
	unsigned int i;
	int err;

	pl_rec_trim(sk, rec, PL_HDR_LEN + ct_len + tx->eem.len);
	hdr[0] = PLASMATIC_CT_APPLICATION_DATA;
	hdr[1] = 3;
	hdr[2] = 3;
	put_unaligned_be16(pl_hdr_length(&tx->eem, ct_len), hdr + 3);
	pl_rec_store(rec, 0, hdr, sizeof(hdr));
	if (!tx->open_linked)
		pl_rec_store(rec, PL_HDR_LEN + tx->open_len, &tx->open_type, 1);
	if (pad)
		pl_rec_zero(rec, PL_HDR_LEN + tx->open_len + 1, pad);

	sg_init_table(sg, rec->nr);
	for (i = 0; left; i++) {
		const struct pl_tx_frag *f = &rec->frags[i];
		unsigned int n = min(left, f->len);

		sg_set_page(&sg[i], f->page, n, f->off);
		left -= n;
	}
	sg_mark_end(&sg[i - 1]);
	err = pl_cipher_seal(&tx->cipher,
			     tx->open_linked ? pl_tx_link_sg(tx) : sg, sg, pt_len);
	if (err)
		goto fail;
	pl_rec_put_links(rec);

	pl_rec_bits(rec, PL_HDR_LEN, fragment, sizeof(fragment), false);
	pl_rec_bits(rec, PL_HDR_LEN + ct_len - PL_TAG_LEN, tag, sizeof(tag),
		    false);
	if (su_queued)
		pl_tpl_su_encode(&tx->tpl.su_out, su);
	err = pl_eem_seal(&tx->eem, eem, hdr, tag, fragment,
			  su_queued ? su : NULL);
	if (err)
		goto fail;
	pl_rec_store(rec, PL_HDR_LEN + ct_len, eem, tx->eem.len);
	if (su_queued) {
		tx->tpl.su_queued = false;
		WRITE_ONCE(tx->tpl.su_sent, tx->tpl.su_sent + 1);
		pl_stat_inc(sk, PL_STAT_TPL_SU_SENT);
	}

	trace_plasmatic_tx_record(sk, tx->open_type, tx->open_len, seq,
				  eem_counter);
	pl_stat_inc(sk, PL_STAT_TX_RECORDS);
	pl_stat_add(sk, PL_STAT_TX_BYTES, tx->open_len);
	if (tx->open_linked)
		pl_stat_inc(sk, PL_STAT_TX_LINKED);

	tx->pending = rec;
	tx->pending_off = 0;
	tx->pending_len = PL_HDR_LEN + ct_len + tx->eem.len;
	tx->pending_shaped = tx->open_shaped;
	if (tx->open_shaped) {
		pl_tx_shaped(sk, tx, pad, tx->pending_len);
		tx->pending_sched = tx->open_sched;
	}
	tx->open = NULL;
	return 0;

fail:
	pl_tx_fail(sk, ctx, err);
	return err;
}

/*
 * Hand the rest of the pending record to TCP.  Returns 0 once all of it
 * is queued there, else TCP's error (-EAGAIN: no room in time).  A shaped
 * record starts a new skb (the one before it is marked as ended) and
 * ends its last one, so that it starts a TCP segment and TCP never joins
 * it with its neighbours; its schedule entry takes the TCP sequence
 * number of its first byte.  tx.lock keeps other senders out, so
 * write_seq before the first bytes are queued is that number.
 */
static int pl_tx_push(struct sock *sk, struct plasmatic_context *ctx,
		      int flags)
{
	struct pl_tx *tx = &ctx->tx;
	struct pl_tx_rec *rec = tx->pending;

	while (tx->pending_off < tx->pending_len) {
		unsigned int off = tx->pending_off;
		const struct pl_tx_frag *f = pl_rec_find(rec, &off);
		unsigned int n = f->len - off;
		int sflags = flags;
		int ret;

		if (tx->pending_off + n < tx->pending_len)
			sflags |= PL_MSG_MORE_PAGES;
		if (tx->pending_shaped && !tx->pending_off) {
			pl_tcp_mark_eor(sk);
			tx->pending_sched.seq = tcp_sk(sk)->write_seq;
			/* TCP may send the first bytes before it returns. */
			pl_tpl_pace_queue(sk, &tx->tpl, &tx->pending_sched);
		}
		WRITE_ONCE(tx->in_tcp, !(flags & MSG_DONTWAIT));
		ret = pl_tcp_sendpage(sk, f->page, f->off + off, n, sflags);
		WRITE_ONCE(tx->in_tcp, false);
		if (ret <= 0) {
			if (tx->pending_shaped && !tx->pending_off)
				pl_tpl_pace_unqueue(&tx->tpl,
						    &tx->pending_sched);
			return ret ?: -EAGAIN;
		}
		if (tx->pending_shaped && !tx->pending_off)
			pl_tpl_sched_add(&tx->tpl, &tx->pending_sched);
		tx->pending_off += ret;
	}

	if (tx->pending_shaped)
		pl_tcp_mark_eor(sk);
	pl_rec_free(rec);
	tx->pending = NULL;
	return 0;
}

static int pl_tx_check(struct sock *sk, struct plasmatic_context *ctx,
		       int flags)
{
	if (ctx->tx.err)
		return ctx->tx.err;
	/*
	 * After close_notify, a record of the peer failed (SPEC 7), or as
	 * TCP: an error such as the peer's RST (reported once, then EPIPE)
	 * or shutdown(SHUT_WR).
	 */
	if (ctx->tx.closed || pl_rx_failed(ctx) ||
	    READ_ONCE(sk->sk_err) || (sk->sk_shutdown & SEND_SHUTDOWN))
		return sk_stream_error(sk, flags, -EPIPE);
	return 0;
}

/* Push the pending record, then seal and push the open one. */
int pl_tx_flush(struct sock *sk, struct plasmatic_context *ctx, int flags)
{
	struct pl_tx *tx = &ctx->tx;
	int err;

	if (tx->pending) {
		err = pl_tx_push(sk, ctx, flags);
		if (err)
			return err;
	}
	if (!tx->open)
		return 0;
	err = pl_tx_seal(sk, ctx);
	if (err)
		return err;
	return pl_tx_push(sk, ctx, flags);
}

/*
 * Send an alert record after everything queued before it.  Returns 0 once
 * the alert is sealed (it may still be pending in us), -EAGAIN if what
 * was queued before it could not be pushed yet.
 */
int pl_tx_alert(struct sock *sk, struct plasmatic_context *ctx, u8 level,
		u8 desc, int flags)
{
	struct pl_tx *tx = &ctx->tx;
	u8 alert[2] = { level, desc };
	int err;

	if (tx->err)
		return tx->err;
	if (tx->closed)
		return -EPIPE;
	err = pl_tx_flush(sk, ctx, flags);
	if (err)
		return err;

	err = pl_tx_open(sk, ctx, PLASMATIC_CT_ALERT, sizeof(alert));
	if (err)
		return err;
	pl_rec_store(tx->open, PL_HDR_LEN, alert, sizeof(alert));
	tx->open_len = sizeof(alert);
	err = pl_tx_seal(sk, ctx);
	if (err)
		return err;

	tx->closed = true;
	trace_plasmatic_alert(sk, true, level, desc);
	pl_stat_inc(sk, desc == PL_ALERT_CLOSE_NOTIFY ?
			PL_STAT_CLOSE_NOTIFY_SENT : PL_STAT_ALERTS_SENT);

	err = pl_tx_push(sk, ctx, flags);
	return err == -EAGAIN ? 0 : err;
}

/*
 * KeyUpdate (SPEC 8.4): the handshake message under the old key, then
 * everything after it under the next traffic secret, from sequence 0.
 */
static int __pl_tx_key_update(struct sock *sk, struct plasmatic_context *ctx,
			      u8 requested, int flags)
{
	u8 msg[5] = { PL_HS_KEY_UPDATE, 0, 0, 1, requested };
	struct pl_tx *tx = &ctx->tx;
	int err;

	err = pl_tx_flush(sk, ctx, flags) ?:
	      pl_tx_open(sk, ctx, PLASMATIC_CT_HANDSHAKE, sizeof(msg));
	if (err)
		return err;
	pl_rec_store(tx->open, PL_HDR_LEN, msg, sizeof(msg));
	tx->open_len = sizeof(msg);
	err = pl_tx_seal(sk, ctx);
	if (err)
		return err;
	err = pl_cipher_update(&tx->cipher);
	if (err) {
		pl_tx_fail(sk, ctx, err);
		return err;
	}
	tx->key_update_due = false;

	err = pl_tx_push(sk, ctx, flags);
	return err == -EAGAIN ? 0 : err;
}

/*
 * tx.lock is held across sends that wait in TCP for room, for as long as
 * the peer does not read.  Waiting for it must not put a task in D state
 * for that long (hung-task reports), as kTLS learned ("net: tls: avoid
 * hanging tasks on the tx_lock"): senders and socket options wait
 * interruptibly, and the transmit work never waits (pl_tx_work()).
 */
int pl_tx_lock(struct plasmatic_context *ctx)
{
	return mutex_lock_interruptible(&ctx->tx.lock);
}

/* Let go of tx.lock; run the work it turned away. */
void pl_tx_unlock(struct plasmatic_context *ctx)
{
	mutex_unlock(&ctx->tx.lock);
	if (test_and_clear_bit(0, &ctx->tx.work_deferred))
		schedule_work(&ctx->tx.work);
}

int pl_tx_key_update(struct sock *sk, struct plasmatic_context *ctx,
		     int requested)
{
	int err;

	err = pl_tx_lock(ctx);
	if (err)
		return err;
	lock_sock(sk);
	if (!pl_tx_ready(ctx))
		err = -ENOKEY;
	else if (!ctx->by_secret[PL_DIR_TX])
		err = -EOPNOTSUPP;
	else
		err = pl_tx_check(sk, ctx, MSG_NOSIGNAL) ?:
		      __pl_tx_key_update(sk, ctx, requested, MSG_NOSIGNAL);
	release_sock(sk);
	pl_tx_unlock(ctx);
	return err;
}

/*
 * PLASMATIC_TX set again (kTLS 6.14 rekey; the application has sent its
 * KeyUpdate): a record still open under MSG_MORE is sealed under the old
 * key, then @next, a key of the same cipher, protects what follows.  The
 * EEM nonce sequence goes on (SPEC 4).  Takes @next over on success.
 * Caller holds tx.lock and the socket lock.
 */
int pl_tx_rekey(struct sock *sk, struct plasmatic_context *ctx,
		struct pl_cipher *next)
{
	struct pl_tx *tx = &ctx->tx;
	int err;

	/* A record is only ever open with nothing pending before it. */
	if (tx->open) {
		err = pl_tx_seal(sk, ctx);
		if (err)
			return err;
		/* What TCP cannot take now goes with the work or next send. */
		pl_tx_push(sk, ctx, PL_TX_PUSH_FLAGS);
	}
	pl_cipher_free(&tx->cipher);
	tx->cipher = *next;
	memzero_explicit(next, sizeof(*next));
	return 0;
}

/* The receive side failed: tell the peer, if TCP can still take it. */
static void pl_tx_due_alert(struct sock *sk, struct plasmatic_context *ctx,
			    int flags)
{
	int err;

	if (!ctx->rx.alert_due)
		return;
	err = pl_tx_alert(sk, ctx, PL_ALERT_LEVEL_FATAL,
			  PL_ALERT_BAD_RECORD_MAC, flags);
	if (err != -EAGAIN)
		ctx->rx.alert_due = false;
}

void pl_tx_schedule(struct plasmatic_context *ctx)
{
	schedule_work(&ctx->tx.work);
}

static void pl_tx_work(struct work_struct *work)
{
	struct plasmatic_context *ctx = container_of(work,
						     struct plasmatic_context,
						     tx.work);
	struct sock *sk = ctx->sk;

	/*
	 * Never wait for the lock: its holder may be a sender blocked in TCP
	 * on a peer that does not read.  Leave a note for the holder; look
	 * again after it, in case the holder let go before seeing the note.
	 */
	if (!mutex_trylock(&ctx->tx.lock)) {
		set_bit(0, &ctx->tx.work_deferred);
		if (!mutex_trylock(&ctx->tx.lock))
			return;
		clear_bit(0, &ctx->tx.work_deferred);
	}
	lock_sock(sk);
	if (pl_tx_ready(ctx)) {
		if (ctx->tx.pending)
			pl_tx_push(sk, ctx, PL_TX_PUSH_FLAGS);
		if (!ctx->tx.pending)
			pl_tx_due_alert(sk, ctx, PL_TX_PUSH_FLAGS);
	}
	release_sock(sk);
	pl_tx_unlock(ctx);
}

/*
 * TCP has room again: finish a pending record in process context.  Runs
 * in softirq or in the lock owner's release_sock(), so it only looks.
 */
void pl_tx_write_space(struct sock *sk)
{
	struct plasmatic_context *ctx = pl_ctx(sk);

	if (READ_ONCE(ctx->tx.pending) || READ_ONCE(ctx->rx.alert_due))
		pl_tx_schedule(ctx);
	ctx->sk_write_space(sk);
}

/* The record type of a sendmsg: the PLASMATIC_RECORD_TYPE cmsg, if any. */
static int pl_tx_cmsg(struct msghdr *msg, u8 *type)
{
	struct cmsghdr *cmsg;

	if (!msg->msg_controllen)
		return 0;
	for_each_cmsghdr(cmsg, msg) {
		if (!CMSG_OK(msg, cmsg))
			return -EINVAL;
		if (cmsg->cmsg_level != SOL_PLASMATIC)
			continue;
		if (cmsg->cmsg_type != PLASMATIC_RECORD_TYPE ||
		    cmsg->cmsg_len < CMSG_LEN(sizeof(u8)))
			return -EINVAL;
		*type = *(u8 *)CMSG_DATA(cmsg);
		switch (*type) {
		case PLASMATIC_CT_APPLICATION_DATA:
			break;
		case PLASMATIC_CT_ALERT:
		case PLASMATIC_CT_HANDSHAKE:
			/* A non-data record ends with its sendmsg. */
			if (msg->msg_flags & MSG_MORE)
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Open the next record of @type, for @cap content bytes unless the TPL
 * sizes it.  Application data takes its two draws here (SPEC 9.1): in
 * mode 0 nothing else changes (the fast path: no SipHash, no schedule),
 * in modes 1..8 the record gets exactly its size draw.  The draws are
 * committed only once the record is open, so a failure leaves the
 * generator where it was.  With @link (the data is spliced), a mode 0
 * application data record links it instead of copying.
 */
static int pl_tx_open_next(struct sock *sk, struct plasmatic_context *ctx,
			   u8 type, unsigned int cap, bool link)
{
	struct pl_tx *tx = &ctx->tx;
	struct pl_tpl_draw d;
	int err;

	if (type != PLASMATIC_CT_APPLICATION_DATA)
		return pl_tx_open(sk, ctx, type, cap);
	if (likely(pl_tpl_plain(&tx->tpl))) {
		err = pl_tx_open(sk, ctx, type, cap);
		if (err)
			return err;
		tx->tpl.draws += PL_TPL_DRAWS_PER_RECORD;
		tx->open_linked = link;
		return 0;
	}

	pl_tpl_next(&tx->tpl, pl_tx_max_content(&tx->eem), &d);
	err = pl_tpl_prepare(&tx->tpl, &d) ?:
	      pl_tx_open(sk, ctx, type, d.mode ? d.size : cap);
	if (err)
		return err;
	pl_tpl_take(&tx->tpl, &d);
	if (d.applied)
		pl_stat_inc(sk, PL_STAT_TPL_SU_APPLIED);
	if (d.mode) {
		tx->open_shaped = true;
		memset(&tx->open_sched, 0, sizeof(tx->open_sched));
		tx->open_sched.delay_us = d.delay_us;
		tx->open_sched.mode = d.mode;
	}
	return 0;
}

/*
 * Copy @from into records of @type, or link it if @link (@from is then a
 * bio_vec iterator of spliced pages).  A record is sealed when full, or
 * at the end of the data unless @more.  *copied counts what was taken: it
 * is in a record that will be sent, even if pushing it failed.
 */
static int pl_tx_append(struct sock *sk, struct plasmatic_context *ctx,
			struct iov_iter *from, u8 type, int flags, bool more,
			bool link, size_t *copied)
{
	unsigned int max = pl_tx_max_content(&ctx->tx.eem);
	int pflags = flags & PL_TX_PUSH_FLAGS;
	struct pl_tx *tx = &ctx->tx;
	int err = 0;

	while (iov_iter_count(from)) {
		size_t left = iov_iter_count(from);
		size_t n;

		if (tx->pending) {
			err = pl_tx_push(sk, ctx, pflags);
			if (err)
				break;
		}
		if (!tx->open) {
			/* The key's last record: rotate first (SPEC 8.3). */
			if (tx->cipher.secret_len &&
			    tx->cipher.seq + 1 >= tx->cipher.seq_limit) {
				err = __pl_tx_key_update(sk, ctx,
							 PLASMATIC_KU_NOT_REQUESTED,
							 pflags);
				if (err)
					break;
			}
			/* Never take data that could not be sent (SPEC 5.2). */
			if (!pl_can_seal(&tx->cipher, &tx->eem)) {
				err = -EKEYEXPIRED;
				break;
			}
			err = pl_tx_open_next(sk, ctx, type, more ? max :
					      min_t(size_t, left, max), link);
			if (err)
				break;
		}

		n = min_t(size_t, left, tx->open_cap - tx->open_len);
		if (tx->open_linked) {
			size_t linked = link ? pl_rec_link(tx->open, from, n) : 0;

			tx->open_len += linked;
			*copied += linked;
			left -= linked;
			n -= linked;
			if (n)
				pl_tx_unlink(tx);
		}
		err = pl_rec_copy_from_iter(tx->open, PL_HDR_LEN + tx->open_len,
					    from, n);
		if (err) {
			iov_iter_revert(from, left - iov_iter_count(from));
			/*
			 * An alert or handshake record may not be empty
			 * (SPEC 7): one that got no byte is not sent.
			 */
			if (!tx->open_len &&
			    type != PLASMATIC_CT_APPLICATION_DATA) {
				pl_rec_free(tx->open);
				tx->open = NULL;
			}
			break;
		}
		tx->open_len += n;
		*copied += n;

		if (tx->open_len == tx->open_cap ||
		    (!more && !iov_iter_count(from))) {
			err = pl_tx_seal(sk, ctx);
			if (err)
				break;
			err = pl_tx_push(sk, ctx, pflags |
					 (more || iov_iter_count(from) ?
					  PL_MSG_MORE_PAGES : 0));
			if (err)
				break;
		}
	}
	return err;
}

static int pl_tx_send(struct sock *sk, struct plasmatic_context *ctx,
		      struct iov_iter *from, u8 type, int flags, bool more,
		      bool link)
{
	int pflags = flags & PL_TX_PUSH_FLAGS;
	size_t copied = 0;
	int err;

	err = pl_tx_check(sk, ctx, flags);
	if (err)
		return err;

	if (ctx->tx.open && ctx->tx.open_type != type) {
		err = pl_tx_flush(sk, ctx, pflags);
		if (err)
			return err;
	}
	if (type != PLASMATIC_CT_APPLICATION_DATA && !iov_iter_count(from))
		return -EINVAL;
	if (ctx->tx.key_update_due) {
		err = __pl_tx_key_update(sk, ctx, PLASMATIC_KU_NOT_REQUESTED,
					 pflags);
		if (err)
			return err;
	}

	err = pl_tx_append(sk, ctx, from, type, flags, more, link, &copied);
	if (!err && !more && ctx->tx.open)
		err = pl_tx_flush(sk, ctx, pflags);
	return copied ?: err;
}

int pl_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
{
	struct plasmatic_context *ctx = pl_ctx(sk);
	u8 type = PLASMATIC_CT_APPLICATION_DATA;
	int flags = msg->msg_flags;
	bool more;
	int ret;

	if (!pl_tx_ready(ctx))
		return ctx->sk_proto->sendmsg(sk, msg, size);
	if (flags & ~PL_TX_MSG_FLAGS)
		return -EOPNOTSUPP;
	ret = pl_tx_cmsg(msg, &type);
	if (ret)
		return ret;
	more = pl_msg_more(flags);

	ret = pl_tx_lock(ctx);
	if (ret)
		return ret;
	lock_sock(sk);
	ret = pl_tx_send(sk, ctx, &msg->msg_iter, type, flags, more,
			 (flags & PL_MSG_SPLICE) &&
			 iov_iter_is_bvec(&msg->msg_iter));
	release_sock(sk);
	pl_tx_unlock(ctx);
	return ret;
}

#if PL_HAVE_SENDPAGE
int pl_sendpage(struct sock *sk, struct page *page, int offset, size_t size,
		int flags)
{
	struct plasmatic_context *ctx = pl_ctx(sk);
	struct iov_iter from;
	struct bio_vec bvec;
	int ret;

	if (!pl_tx_ready(ctx))
		return ctx->sk_proto->sendpage(sk, page, offset, size, flags);
	if (flags & ~(MSG_MORE | MSG_DONTWAIT | MSG_NOSIGNAL |
		      MSG_SENDPAGE_NOTLAST | MSG_SENDPAGE_NOPOLICY))
		return -EOPNOTSUPP;

	bvec_set_page(&bvec, page, size, offset);
	iov_iter_bvec(&from, ITER_SOURCE, &bvec, 1, size);

	ret = pl_tx_lock(ctx);
	if (ret)
		return ret;
	lock_sock(sk);
	ret = pl_tx_send(sk, ctx, &from, PLASMATIC_CT_APPLICATION_DATA, flags,
			 flags & (MSG_MORE | MSG_SENDPAGE_NOTLAST), true);
	release_sock(sk);
	pl_tx_unlock(ctx);
	return ret;
}
#endif

/* A splice into the socket ended: send what it left in the open record. */
void pl_splice_eof(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct plasmatic_context *ctx = pl_ctx(sk);

	if (!pl_tx_ready(ctx)) {
		if (ctx->sk_proto->splice_eof)
			ctx->sk_proto->splice_eof(sock);
		return;
	}
	if (!READ_ONCE(ctx->tx.open))
		return;

	/* No way to report a signal here: the next send flushes. */
	if (pl_tx_lock(ctx))
		return;
	lock_sock(sk);
	if (!ctx->tx.err)
		pl_tx_flush(sk, ctx, PL_TX_PUSH_FLAGS);
	release_sock(sk);
	pl_tx_unlock(ctx);
}

/*
 * shutdown(SHUT_WR) and close: send what is queued, then close_notify if
 * asked for, or a bad_record_mac the receive side still owes.  With
 * MSG_DONTWAIT in @flags only what TCP takes at once; else it blocks up
 * to the send timeout.  Caller holds tx.lock and the socket lock.
 */
void pl_tx_close(struct sock *sk, struct plasmatic_context *ctx, int flags)
{
	flags |= MSG_NOSIGNAL;
	if (!pl_tx_ready(ctx) || ctx->tx.err)
		return;
	if (pl_tx_flush(sk, ctx, flags))
		return;
	if (ctx->rx.alert_due)
		pl_tx_due_alert(sk, ctx, flags);
	else if (ctx->close_notify && !ctx->tx.closed)
		pl_tx_alert(sk, ctx, PL_ALERT_LEVEL_WARNING,
			    PL_ALERT_CLOSE_NOTIFY, flags);
	if (ctx->tx.pending)
		pl_tx_push(sk, ctx, flags);
	ctx->tx.closed = true;
}

void pl_tx_init(struct plasmatic_context *ctx)
{
	mutex_init(&ctx->tx.lock);
	INIT_WORK(&ctx->tx.work, pl_tx_work);
}

/* Free the transmit state; the work is cancelled and the lock not held. */
void pl_tx_release(struct plasmatic_context *ctx)
{
	struct pl_tx *tx = &ctx->tx;

	pl_rec_free(tx->open);
	tx->open = NULL;
	pl_rec_free(tx->pending);
	tx->pending = NULL;
	pl_cipher_free(&tx->cipher);
	pl_eem_free(&tx->eem);
	pl_tpl_release(&tx->tpl);
	mutex_destroy(&tx->lock);
}
