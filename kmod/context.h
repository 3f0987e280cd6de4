/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-socket state of a Plasmatic socket and its lifecycle.
 *
 * Locking: everything below is protected by the socket lock (lock_sock),
 * except where a field says otherwise.  The TCP callbacks we install
 * (data_ready, write_space) run either in softirq with the socket spinlock
 * held and no owner, or in the owner's context from release_sock(); both
 * exclude any other process-context user, so they may touch the RX reader
 * state.  Code therefore keeps that state consistent whenever it may drop
 * the lock (sk_wait_event(), a blocking TCP send).
 */
#ifndef _PLASMATIC_CONTEXT_H
#define _PLASMATIC_CONTEXT_H

#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/scatterlist.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>
#include <linux/tls.h>
#include <linux/plasmatic.h>
#include <net/inet_connection_sock.h>

#include "crypto.h"
#include "tpl.h"

#define PL_HDR_LEN		5
/* Pages of a reader's buffer one record may be decrypted into (rx.c). */
#define PL_RX_DIRECT_PAGES	8
/*
 * Scatterlist entries for a record opened where it lies in TCP's receive
 * queue (rx.c): one per skb head and page fragment it spans.
 */
#define PL_RX_TCP_SG		48
#define PL_TAG_LEN		16
/*
 * 2^14: the most content a received record may carry.  What we send per
 * record is pl_tx_max_content(), lower in covered framing.
 */
#define PL_MAX_CONTENT		16384U
/* Largest header length a receiver accepts, either framing (SPEC 6). */
#define PL_MAX_LENGTH		(PL_MAX_CONTENT + 256)
/* Largest record we send: content, type byte, tag, EEM (detached). */
#define PL_TX_MAX_WIRE		(PL_HDR_LEN + PL_MAX_CONTENT + 1 + PL_TAG_LEN + \
				 PLASMATIC_EEM_LEN_MAX)

#define PL_HS_KEY_UPDATE	24	/* handshake message type */

enum pl_dir {
	PL_DIR_TX,
	PL_DIR_RX,
	PL_NUM_DIRS,
};

/* Why a received record was refused; indexes counters and trace output. */
enum pl_fail {
	PL_FAIL_HEADER,		/* type or version of the record header */
	PL_FAIL_LENGTH,		/* length out of range */
	PL_FAIL_EEM_TAG,	/* EEM does not authenticate */
	PL_FAIL_EEM_NONCE,	/* EEM nonce is not the expected one */
	PL_FAIL_FRAGMENT,	/* EEM fragment differs from the record */
	PL_FAIL_SEED_UPDATE,	/* malformed Seed Update */
	PL_FAIL_TLS_TAG,	/* record does not authenticate */
	PL_FAIL_CONTENT_TYPE,	/* unknown inner content type */
	PL_FAIL_EMPTY,		/* empty alert or handshake record */
	PL_FAIL_TRUNCATED,	/* stream ended inside a record */
	PL_FAIL_INTERNAL,	/* out of memory or crypto error */
	PL_FAIL_SEQ_WRAP,	/* record sequence number used up */
	PL_NUM_FAILS,
};

union pl_crypto_info {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 aes_gcm_128;
	struct tls12_crypto_info_aes_gcm_256 aes_gcm_256;
	struct tls12_crypto_info_chacha20_poly1305 chacha20_poly1305;
};

/*
 * Page fragments a record can span: it is carved from the socket's
 * page_frag, where only the first piece can be short (at least 32 bytes),
 * and every later one starts a page of at least PAGE_SIZE.
 */
#define PL_TX_FRAGS		(DIV_ROUND_UP(PL_TX_MAX_WIRE, PAGE_SIZE) + 1)

/* Pieces of spliced pages a record can link (more are copied). */
#define PL_TX_LINKS		16

/* A record's bytes, in order; each fragment holds a page reference. */
struct pl_tx_rec {
	unsigned int nr;
	unsigned int len;		/* bytes in @frags */
	struct pl_tx_frag {
		struct page *page;
		unsigned int off;
		unsigned int len;
	} frags[PL_TX_FRAGS];
	/*
	 * A linked record's content so far: pieces of the sender's pages,
	 * each within one page and holding a reference to it (pl_rec_link()).
	 */
	unsigned int nr_links;
	struct pl_tx_frag links[PL_TX_LINKS];
};

struct pl_tx {
	struct pl_cipher cipher;
	struct pl_eem eem;
	/*
	 * Record being filled: content from PL_HDR_LEN on, open_len bytes.
	 * @open and @pending point into @recs, or are NULL.
	 */
	struct pl_tx_rec *open;
	unsigned int open_len;
	/* Sealed record that TCP has only partly taken. */
	struct pl_tx_rec *pending;
	unsigned int pending_off;
	unsigned int pending_len;
	struct pl_tx_rec recs[2];
	unsigned int open_cap;		/* content room in @open */
	u8 open_type;
	/*
	 * @open is a shaped record (TPL modes 1..8): it is sealed with
	 * content plus zero padding of exactly @open_cap bytes.
	 */
	bool open_shaped;
	/*
	 * @open links its content (open->links) instead of holding a copy
	 * in its own pages: it is encrypted from there into them when it is
	 * sealed.  Only mode 0 application data opened by a splice.
	 */
	bool open_linked;
	bool pending_shaped;		/* @pending is a shaped record */
	/* Schedule entry of the shaped @open, then of @pending. */
	struct plasmatic_tpl_rec open_sched;
	struct plasmatic_tpl_rec pending_sched;
	struct pl_tpl tpl;	/* TX shaping (SPEC 9); locking: tpl.h */
	int err;		/* sticky; later sends fail with it */
	bool closed;		/* close_notify sent, or shut down */
	bool key_update_due;	/* the peer asked for our KeyUpdate */
	/*
	 * A sender holding @lock is in a blocking send to TCP, where it may
	 * wait for room for as long as the peer does not read: shutdown does
	 * not wait for @lock then (pl_shutdown()).
	 */
	bool in_tcp;
	/*
	 * Serializes senders: TCP drops the socket lock while it waits for
	 * memory, and no other sender may touch @pending meanwhile.  Taken
	 * before the socket lock.
	 */
	struct mutex lock;
	/*
	 * A linked record's plaintext: header, links, then the content type
	 * (@open_type itself).
	 */
	struct scatterlist link_sg[PL_TX_LINKS + 2];
	struct work_struct work;	/* pushes @pending on write space */
	/*
	 * The work found @lock taken and left: whoever holds it schedules
	 * the work again when it lets go (pl_tx_unlock()).
	 */
	unsigned long work_deferred;	/* bit 0 */
};

struct pl_rx {
	struct pl_cipher cipher;
	struct pl_eem eem;
	/* Record being read from TCP: its header, then its skb. */
	u8 hdr[PL_HDR_LEN];
	unsigned int hdr_len;
	struct sk_buff *cur;
	unsigned int cur_len;
	unsigned int cur_need;
	bool ready;		/* a whole record waits; READ_ONCE */
	/*
	 * With @ready: the record, header included, is still all in TCP's
	 * receive queue and @cur is NULL; it is opened from there
	 * (pl_rx_open()).  Socket lock (or softirq with no owner).
	 */
	bool in_tcp;
	/* Opened records not yet fully read; the socket lock only. */
	struct sk_buff_head done;
	int err;		/* sticky; READ_ONCE */
	u8 end;			/* PLASMATIC_END_*; READ_ONCE */
	enum pl_fail fail;
	bool alert_due;		/* bad_record_mac still to be sent */
	bool retry;		/* softirq could not allocate; work retries */
	/*
	 * close() has begun (pl_rx_stop()): the work does nothing and a
	 * failure schedules no transmit work.
	 */
	bool closing;
	/* Bytes charged for @cur and @done (rx.c); the socket lock. */
	unsigned int mem;
	/*
	 * A KeyUpdate was opened under PLASMATIC_RX keys: nothing behind it
	 * is taken from TCP until PLASMATIC_RX is set again; READ_ONCE.
	 */
	bool key_update_pending;
	/*
	 * Read-held around TCP's recvmsg before RX keys (which then never
	 * waits inside), write-held while PLASMATIC_RX / _RX_SECRET are set;
	 * taken before the socket lock.  See pl_recvmsg_plain().
	 */
	struct rw_semaphore upgrade;
	struct work_struct work;
	/*
	 * PLASMATIC_RX_EXPECT_NO_PAD: records may be decrypted straight into
	 * the reader's pages (pl_rx_open_direct()), with this destination:
	 * room for the AAD, up to PL_RX_DIRECT_PAGES pages, then the inner
	 * content type.  The socket lock (@no_pad: WRITE_ONCE, as diag
	 * reads it without).
	 */
	bool no_pad;
	u8 direct_aad[PL_HDR_LEN];
	u8 direct_type;
	struct scatterlist direct_sg[PL_RX_DIRECT_PAGES + 2];
	/*
	 * PL_RX_TCP_SG entries for the record @in_tcp while it is opened;
	 * the socket lock.  NULL if they could not be had: every record is
	 * then copied.
	 */
	struct scatterlist *tcp_sg;
};

struct plasmatic_context {
	struct sock *sk;
	struct proto *sk_proto;			/* TCP's, restored on close */
	const struct proto_ops *sk_ops;		/* the socket's base ops */
	void (*sk_data_ready)(struct sock *sk);
	void (*sk_write_space)(struct sock *sk);

	/* What setsockopt installed, secrets zeroed, for getsockopt. */
	struct plasmatic_eem_info eem_info[PL_NUM_DIRS];
	union pl_crypto_info crypto_info[PL_NUM_DIRS];
	struct plasmatic_secret_info secret_info[PL_NUM_DIRS];
	bool eem_set[PL_NUM_DIRS];
	bool keys_set[PL_NUM_DIRS];
	bool by_secret[PL_NUM_DIRS];	/* keys from *_SECRET */
	/* The framing gauge counted for this socket, PL_NUM_STATS if none. */
	int framing_stat;
	bool close_notify;

	struct pl_tx tx;
	struct pl_rx rx;
	struct rcu_head rcu;
};

static inline struct plasmatic_context *pl_ctx(const struct sock *sk)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);

	/* Only the socket's owner and our own callbacks get here. */
	return (__force struct plasmatic_context *)icsk->icsk_ulp_data;
}

void *pl_ulp_data_rcu(const struct sock *sk);

static inline bool pl_tx_ready(const struct plasmatic_context *ctx)
{
	return ctx->keys_set[PL_DIR_TX];
}

static inline bool pl_rx_ready(const struct plasmatic_context *ctx)
{
	return ctx->keys_set[PL_DIR_RX];
}

/* Bytes on the wire after the header for an encrypted_record of @ct_len. */
static inline unsigned int pl_hdr_length(const struct pl_eem *eem,
					 unsigned int ct_len)
{
	return eem->framing == PLASMATIC_FRAMING_COVERED ?
	       ct_len + eem->len : ct_len;
}

/*
 * Content (plus padding) of one record we send (SPEC 8.1): 2^14 less the
 * EEM in covered framing, so that a full record's header length is 16401
 * as a stock TLS 1.3 stack's; 2^14 in detached framing.
 */
static inline unsigned int pl_tx_max_content(const struct pl_eem *eem)
{
	return eem->framing == PLASMATIC_FRAMING_COVERED ?
	       PL_MAX_CONTENT - eem->len : PL_MAX_CONTENT;
}

int plasmatic_ulp_register(void);
void plasmatic_ulp_unregister(void);

#endif /* _PLASMATIC_CONTEXT_H */
