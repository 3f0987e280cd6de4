// SPDX-License-Identifier: GPL-2.0
/*
 * The ULP: per-socket context, the protocol operations we put in front of
 * TCP's, and the socket's lifecycle from upgrade to close.
 *
 * A socket gets our struct proto and proto_ops as soon as the ULP is set;
 * each operation passes through to TCP until its direction has keys.  The
 * TCP ULP core holds a module reference per upgraded socket until the
 * socket is destroyed, so the module cannot go while any uses it.
 */
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <net/inet_common.h>
#include <net/tcp.h>

#include "context.h"
#include "pace.h"
#include "diag.h"
#include "proc.h"
#include "rx.h"
#include "sockopt.h"
#include "tx.h"

enum {
	PL_IPV4,
	PL_IPV6,
	PL_NUM_FAMILIES,
};

/*
 * One copy of TCP's operations per address family, built when the first
 * socket of the family upgrades (tcpv6_prot lives in the ipv6 module) and
 * rebuilt should the base change, as net/tls does; hence not const.
 */
static struct pl_family {
	struct proto prot;
	struct proto_ops ops;		/* built at run time: not const */
	const struct proto *base;	/* what @prot was built from */
} pl_families[PL_NUM_FAMILIES];
static DEFINE_MUTEX(pl_prot_mutex);

static int pl_disconnect(struct sock *sk, int flags)
{
	return -EOPNOTSUPP;
}

static void pl_close(struct sock *sk, long timeout);
static int pl_shutdown(struct socket *sock, int how);

static void pl_build_ops(int family, const struct proto *base,
			 const struct proto_ops *base_ops)
{
	struct pl_family *f = &pl_families[family];

	f->prot = *base;
	f->prot.close = pl_close;
	f->prot.disconnect = pl_disconnect;
	f->prot.setsockopt = pl_setsockopt;
	f->prot.getsockopt = pl_getsockopt;
	f->prot.sendmsg = pl_sendmsg;
	f->prot.recvmsg = pl_recvmsg;
#if PL_HAVE_SENDPAGE
	f->prot.sendpage = pl_sendpage;
#endif
	f->prot.splice_eof = pl_splice_eof;

	f->ops = *base_ops;
	f->ops.poll = pl_poll;
	f->ops.shutdown = pl_shutdown;
	f->ops.splice_read = pl_splice_read;
	/* Nothing may read or write the TCP stream around us. */
	f->ops.mmap = sock_no_mmap;
	f->ops.sendmsg_locked = NULL;
#if PL_HAVE_SENDPAGE
	f->ops.sendpage_locked = NULL;
#endif
	f->ops.read_sock = NULL;
	f->ops.read_skb = NULL;
	f->ops.peek_len = NULL;
}

static int pl_build_proto(struct sock *sk)
{
	int family = sk->sk_family == AF_INET6 ? PL_IPV6 : PL_IPV4;
	const struct proto *prot = READ_ONCE(sk->sk_prot);

	/* Pairs with the release below: a seen base has its copy built. */
	if (likely(prot == smp_load_acquire(&pl_families[family].base)))
		return family;

	mutex_lock(&pl_prot_mutex);
	if (prot != pl_families[family].base) {
		pl_build_ops(family, prot, sk->sk_socket->ops);
		/* Publish the base only once its copy is complete. */
		smp_store_release(&pl_families[family].base, prot);
	}
	mutex_unlock(&pl_prot_mutex);
	return family;
}

static void pl_ctx_free(struct sock *sk, struct plasmatic_context *ctx)
{
	enum pl_dir dir;
	enum pl_stat s;

	for (dir = 0; dir < PL_NUM_DIRS; dir++) {
		if (!ctx->keys_set[dir])
			continue;
		s = pl_stat_cipher(dir, ctx->crypto_info[dir].info.cipher_type);
		if (s < PL_NUM_STATS)
			pl_stat_add(sk, s, -1);
	}
	/* The gauge counted at the first PLASMATIC_EEM_*, whichever. */
	if (ctx->framing_stat < PL_NUM_STATS)
		pl_stat_add(sk, ctx->framing_stat, -1);

	pl_tx_release(ctx);
	pl_rx_release(ctx);
	/*
	 * The EEM nonce counters and salts and the record sequence numbers
	 * (diag reads neither until the grace period ends).
	 */
	memzero_explicit(&ctx->tx.eem, sizeof(ctx->tx.eem));
	memzero_explicit(&ctx->rx.eem, sizeof(ctx->rx.eem));
	memzero_explicit(&ctx->tx.cipher.seq, sizeof(ctx->tx.cipher.seq));
	memzero_explicit(&ctx->rx.cipher.seq, sizeof(ctx->rx.cipher.seq));
	kfree_rcu(ctx, rcu);
}

/*
 * Send what is queued (blocking up to the send timeout, as kTLS does),
 * give the socket back to TCP, free our state, and let TCP close.
 */
/* The socket's file was opened or set O_NONBLOCK. */
static bool pl_nonblock(const struct socket *sock)
{
	return sock && sock->file && (sock->file->f_flags & O_NONBLOCK);
}

/*
 * close(): what is queued and close_notify go out as TCP's close treats
 * its queue: a non-blocking socket, or SO_LINGER with a zero time, never
 * waits; SO_LINGER waits at most its time, shared with TCP's wait that
 * follows (the time left is returned); else up to the send timeout.  A
 * peer that holds its window at zero then cannot hold close() forever.
 */
static long pl_close_tx(struct sock *sk, struct plasmatic_context *ctx,
			long timeout)
{
	long sndtimeo = sk->sk_sndtimeo;
	unsigned long start = jiffies;
	int flags = 0;

	if (pl_nonblock(sk->sk_socket) ||
	    (sock_flag(sk, SOCK_LINGER) && !timeout))
		flags = MSG_DONTWAIT;
	else if (sock_flag(sk, SOCK_LINGER))
		WRITE_ONCE(sk->sk_sndtimeo, min(sndtimeo, timeout));
	pl_tx_close(sk, ctx, flags);
	WRITE_ONCE(sk->sk_sndtimeo, sndtimeo);
	/* What is left of the linger time is TCP's to wait with. */
	return max_t(long, timeout - (long)(jiffies - start), 0);
}

static void pl_close(struct sock *sk, long timeout)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct plasmatic_context *ctx = pl_ctx(sk);
	struct proto *base = ctx->sk_proto;

	mutex_lock(&ctx->tx.lock);
	lock_sock(sk);
	timeout = pl_close_tx(sk, ctx, timeout);
	pl_rx_stop(sk, ctx);

	write_lock_bh(&sk->sk_callback_lock);
	/* What TCP still holds of our records keeps its pacing (pace.h). */
	rcu_assign_pointer(icsk->icsk_ulp_data,
			   pl_pace_ulp_data(pl_tpl_take_pace(&ctx->tx.tpl)));
	WRITE_ONCE(sk->sk_prot, base);
	if (sk->sk_data_ready == pl_rx_data_ready)
		sk->sk_data_ready = ctx->sk_data_ready;
	if (sk->sk_write_space == pl_tx_write_space)
		sk->sk_write_space = ctx->sk_write_space;
	write_unlock_bh(&sk->sk_callback_lock);
	release_sock(sk);
	mutex_unlock(&ctx->tx.lock);

	/*
	 * Our callbacks are gone, and nothing schedules the works again:
	 * the receive work first, which could schedule the transmit work
	 * (a record failing), though after pl_rx_stop() it does not (review
	 * finding 4: with the transmit work cancelled first, a receive work
	 * running meanwhile queued it again on a context about to be freed).
	 */
	cancel_work_sync(&ctx->rx.work);
	cancel_work_sync(&ctx->tx.work);
	pl_ctx_free(sk, ctx);

	base->close(sk, timeout);
}

/*
 * The transmit lock for shutdown.  A sender blocked in TCP holds it, and
 * shutdown is how another thread gets that one out: do not wait for it.
 * Other holders (the transmit work, a KeyUpdate, a send that is not
 * waiting for room) let go soon: wait for them (at most a second), or the
 * close_notify would be lost.
 */
static bool pl_shutdown_lock_tx(struct plasmatic_context *ctx)
{
	unsigned long until = jiffies + HZ;

	while (!mutex_trylock(&ctx->tx.lock)) {
		if (READ_ONCE(ctx->tx.in_tcp) || time_after(jiffies, until))
			return false;
		usleep_range(50, 500);
	}
	return true;
}

/* SHUT_WR: flush and, if asked for, close_notify before TCP's FIN. */
static int pl_shutdown(struct socket *sock, int how)
{
	struct sock *sk = sock->sk;
	struct plasmatic_context *ctx = pl_ctx(sk);

	if ((how == SHUT_WR || how == SHUT_RDWR) && pl_tx_ready(ctx) &&
	    pl_shutdown_lock_tx(ctx)) {
		lock_sock(sk);
		if ((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT))
			pl_tx_close(sk, ctx, pl_nonblock(sock) ?
					     MSG_DONTWAIT : 0);
		release_sock(sk);
		mutex_unlock(&ctx->tx.lock);
	}
	return ctx->sk_ops->shutdown(sock, how);
}

static int pl_init(struct sock *sk)
{
	struct plasmatic_context *ctx;
	int family;

	if (sk->sk_state != TCP_ESTABLISHED)
		return -ENOTCONN;
	if (!sk->sk_socket)
		return -EINVAL;
	/*
	 * Someone else owns the socket's callbacks: a BPF sockmap (whose
	 * verdict and redirect programs would see and send our records'
	 * plaintext) or an in-kernel user.  We replace those callbacks too.
	 */
	if (READ_ONCE(sk->sk_user_data))
		return -EBUSY;

	family = pl_build_proto(sk);
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;

	ctx->sk = sk;
	ctx->sk_proto = sk->sk_prot;
	ctx->sk_ops = sk->sk_socket->ops;
	ctx->sk_data_ready = sk->sk_data_ready;
	ctx->sk_write_space = sk->sk_write_space;
	ctx->framing_stat = PL_NUM_STATS;
	pl_tx_init(ctx);
	pl_rx_init(ctx);

	rcu_assign_pointer(inet_csk(sk)->icsk_ulp_data, ctx);
	WRITE_ONCE(sk->sk_prot, &pl_families[family].prot);
	WRITE_ONCE(sk->sk_socket->ops, &pl_families[family].ops);
	return 0;
}

/* The socket is being destroyed: what close left for the pacer goes. */
static void pl_release(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	void *data = rcu_dereference_protected(icsk->icsk_ulp_data, true);

	rcu_assign_pointer(icsk->icsk_ulp_data, NULL);
	pl_pace_free(pl_pace_from_ulp_data(data));
}

static struct tcp_ulp_ops pl_ulp_ops __read_mostly = {
	.name		= PLASMATIC_ULP_NAME,
	.owner		= THIS_MODULE,
	.init		= pl_init,
	.release	= pl_release,
	.get_info	= pl_diag_get_info,
	.get_info_size	= pl_diag_get_info_size,
};

/*
 * The ULP data of @sk if our ULP is on it, from any context under
 * rcu_read_lock(): a context, or after close the pacer state (pace.h),
 * freed a grace period after it is replaced.  @sk is a full TCP socket.
 */
void *pl_ulp_data_rcu(const struct sock *sk)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);

	if (READ_ONCE(icsk->icsk_ulp_ops) != &pl_ulp_ops)
		return NULL;
	return rcu_dereference(icsk->icsk_ulp_data);
}

int plasmatic_ulp_register(void)
{
	return tcp_register_ulp(&pl_ulp_ops);
}

void plasmatic_ulp_unregister(void)
{
	tcp_unregister_ulp(&pl_ulp_ops);
}
