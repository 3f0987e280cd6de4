// SPDX-License-Identifier: GPL-2.0
/*
 * SOL_PLASMATIC socket options; other levels go to TCP.  The order rules
 * and errno values are those of the comment in <linux/plasmatic.h>.
 */
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/uaccess.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <crypto/algapi.h>

#include "context.h"
#include "proc.h"
#include "rx.h"
#include "sockopt.h"
#include "tx.h"

/* Where the fields of each kTLS crypto_info structure are. */
struct pl_cipher_layout {
	u16 type;
	unsigned int size;
	unsigned int key, key_len;
	unsigned int salt, salt_len;
	unsigned int iv, iv_len;
	unsigned int rec_seq;
};

static const struct pl_cipher_layout pl_layouts[] = {
	{
		.type = TLS_CIPHER_AES_GCM_128,
		.size = sizeof(struct tls12_crypto_info_aes_gcm_128),
		.key = offsetof(struct tls12_crypto_info_aes_gcm_128, key),
		.key_len = TLS_CIPHER_AES_GCM_128_KEY_SIZE,
		.salt = offsetof(struct tls12_crypto_info_aes_gcm_128, salt),
		.salt_len = TLS_CIPHER_AES_GCM_128_SALT_SIZE,
		.iv = offsetof(struct tls12_crypto_info_aes_gcm_128, iv),
		.iv_len = TLS_CIPHER_AES_GCM_128_IV_SIZE,
		.rec_seq = offsetof(struct tls12_crypto_info_aes_gcm_128,
				    rec_seq),
	},
	{
		.type = TLS_CIPHER_AES_GCM_256,
		.size = sizeof(struct tls12_crypto_info_aes_gcm_256),
		.key = offsetof(struct tls12_crypto_info_aes_gcm_256, key),
		.key_len = TLS_CIPHER_AES_GCM_256_KEY_SIZE,
		.salt = offsetof(struct tls12_crypto_info_aes_gcm_256, salt),
		.salt_len = TLS_CIPHER_AES_GCM_256_SALT_SIZE,
		.iv = offsetof(struct tls12_crypto_info_aes_gcm_256, iv),
		.iv_len = TLS_CIPHER_AES_GCM_256_IV_SIZE,
		.rec_seq = offsetof(struct tls12_crypto_info_aes_gcm_256,
				    rec_seq),
	},
	{
		.type = TLS_CIPHER_CHACHA20_POLY1305,
		.size = sizeof(struct tls12_crypto_info_chacha20_poly1305),
		.key = offsetof(struct tls12_crypto_info_chacha20_poly1305,
				key),
		.key_len = TLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE,
		.salt = offsetof(struct tls12_crypto_info_chacha20_poly1305,
				 salt),
		.salt_len = TLS_CIPHER_CHACHA20_POLY1305_SALT_SIZE,
		.iv = offsetof(struct tls12_crypto_info_chacha20_poly1305, iv),
		.iv_len = TLS_CIPHER_CHACHA20_POLY1305_IV_SIZE,
		.rec_seq = offsetof(struct tls12_crypto_info_chacha20_poly1305,
				    rec_seq),
	},
};

static const struct pl_cipher_layout *pl_layout(u16 type)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(pl_layouts); i++)
		if (pl_layouts[i].type == type)
			return &pl_layouts[i];
	return NULL;
}

static int pl_set_eem(struct sock *sk, struct plasmatic_context *ctx,
		      enum pl_dir dir, sockptr_t optval, unsigned int optlen)
{
	struct pl_eem *eem = dir == PL_DIR_TX ? &ctx->tx.eem : &ctx->rx.eem;
	struct plasmatic_eem_info info;
	int err;

	if (ctx->eem_set[dir])
		return -EBUSY;
	if (optlen != sizeof(info))
		return -EINVAL;
	if (copy_from_sockptr(&info, optval, sizeof(info)))
		return -EFAULT;

	err = -EINVAL;
	if (info.version != PLASMATIC_EEM_VERSION_1 ||
	    info.framing > PLASMATIC_FRAMING_COVERED ||
	    info.eem_len < PLASMATIC_EEM_LEN_MIN ||
	    memchr_inv(info.reserved, 0, sizeof(info.reserved)))
		goto out;

	err = pl_eem_init(eem, &info);
	if (err)
		goto out;

	memzero_explicit(info.key, sizeof(info.key));
	memzero_explicit(info.nonce, sizeof(info.nonce));
	ctx->eem_info[dir] = info;
	/* One gauge per socket: the first framing set, given back on close. */
	if (!ctx->eem_set[!dir]) {
		ctx->framing_stat = pl_stat_framing(info.framing);
		pl_stat_inc(sk, ctx->framing_stat);
	}
	WRITE_ONCE(ctx->eem_set[dir], true);
out:
	memzero_explicit(&info, sizeof(info));
	return err;
}

/* A direction has keys: count it and start its datapath. */
static void pl_keys_installed(struct sock *sk, struct plasmatic_context *ctx,
			      enum pl_dir dir)
{
	enum pl_stat s = pl_stat_cipher(dir,
					ctx->crypto_info[dir].info.cipher_type);

	if (s < PL_NUM_STATS)
		pl_stat_inc(sk, s);
	WRITE_ONCE(ctx->keys_set[dir], true);

	if (dir == PL_DIR_TX) {
		write_lock_bh(&sk->sk_callback_lock);
		ctx->sk_write_space = sk->sk_write_space;
		sk->sk_write_space = pl_tx_write_space;
		write_unlock_bh(&sk->sk_callback_lock);
	} else {
		pl_rx_start(sk, ctx);
	}
}

/*
 * Whether PLASMATIC_TX / PLASMATIC_RX may be set again (kTLS 6.14 rekey):
 * never over keys from a traffic secret (the kernel rotates those
 * itself); TX at any time; RX only once stopped behind a KeyUpdate.
 */
static bool pl_may_rekey(const struct plasmatic_context *ctx, enum pl_dir dir)
{
	if (ctx->by_secret[dir])
		return false;
	return dir == PL_DIR_TX || ctx->rx.key_update_pending;
}

static int pl_set_keys(struct sock *sk, struct plasmatic_context *ctx,
		       enum pl_dir dir, sockptr_t optval, unsigned int optlen)
{
	struct pl_cipher *c = dir == PL_DIR_TX ? &ctx->tx.cipher :
						 &ctx->rx.cipher;
	bool rekey = ctx->keys_set[dir];
	const struct pl_cipher_layout *l;
	struct pl_cipher next = {};
	union pl_crypto_info ci;
	u8 *p = (u8 *)&ci;
	int err;

	if (rekey && !pl_may_rekey(ctx, dir))
		return -EBUSY;
	if (!ctx->eem_set[dir])
		return -ENOKEY;
	if (optlen < sizeof(ci.info))
		return -EINVAL;
	if (copy_from_sockptr(&ci.info, optval, sizeof(ci.info)))
		return -EFAULT;
	if (ci.info.version != TLS_1_3_VERSION)
		return -EINVAL;
	/* A rekey changes the key, never the cipher. */
	if (rekey &&
	    ci.info.cipher_type != ctx->crypto_info[dir].info.cipher_type)
		return -EINVAL;
	l = pl_layout(ci.info.cipher_type);
	if (!l || optlen != l->size)
		return -EINVAL;
	/*
	 * Only the rest: the header stays the one checked above.  Reading
	 * the whole structure again would let another thread of the caller
	 * change the cipher type in between, and an unchecked type would
	 * reach getsockopt and the per-cipher gauges.
	 */
	if (copy_from_sockptr_offset(p + sizeof(ci.info), optval,
				     sizeof(ci.info),
				     l->size - sizeof(ci.info))) {
		err = -EFAULT;
		goto out;
	}

	err = pl_cipher_init(rekey ? &next : c, l->type, p + l->key,
			     l->key_len, p + l->salt, l->salt_len, p + l->iv,
			     l->iv_len, p + l->rec_seq);
	if (err)
		goto out;
	if (rekey) {
		/* Either takes @next over, or leaves the old key in place. */
		if (dir == PL_DIR_TX) {
			err = pl_tx_rekey(sk, ctx, &next);
			if (err) {
				pl_cipher_free(&next);
				goto out;
			}
		} else {
			pl_rx_rekey(sk, ctx, &next);
		}
	}

	memzero_explicit(p + l->key, l->key_len);
	memzero_explicit(p + l->salt, l->salt_len);
	memzero_explicit(p + l->iv, l->iv_len);
	ctx->crypto_info[dir] = ci;
	if (!rekey)
		pl_keys_installed(sk, ctx, dir);
out:
	memzero_explicit(&ci, sizeof(ci));
	return err;
}

static int pl_set_secret(struct sock *sk, struct plasmatic_context *ctx,
			 enum pl_dir dir, sockptr_t optval, unsigned int optlen)
{
	struct pl_cipher *c = dir == PL_DIR_TX ? &ctx->tx.cipher :
						 &ctx->rx.cipher;
	struct plasmatic_secret_info si;
	int err;

	if (ctx->keys_set[dir])
		return -EBUSY;
	if (!ctx->eem_set[dir])
		return -ENOKEY;
	if (optlen != sizeof(si))
		return -EINVAL;
	if (copy_from_sockptr(&si, optval, sizeof(si)))
		return -EFAULT;

	err = -EINVAL;
	if (si.version != TLS_1_3_VERSION || !pl_layout(si.cipher_type))
		goto out;
	err = pl_cipher_init_secret(c, si.cipher_type, si.secret, si.rec_seq);
	if (err)
		goto out;

	memzero_explicit(si.secret, sizeof(si.secret));
	ctx->secret_info[dir] = si;
	ctx->crypto_info[dir].info.cipher_type = si.cipher_type;
	ctx->by_secret[dir] = true;
	pl_keys_installed(sk, ctx, dir);
out:
	memzero_explicit(&si, sizeof(si));
	return err;
}

/*
 * PLASMATIC_TPL_TX: our transmit shaping state, from the next record on.
 * PLASMATIC_SEED_UPDATE: queue a Seed Update for the peer, carried by the
 * next record we seal (a later one replaces it); needs TX keys.
 */
static int pl_set_tpl(struct plasmatic_context *ctx, int optname,
		      sockptr_t optval, unsigned int optlen)
{
	struct pl_tpl *t = &ctx->tx.tpl;
	struct plasmatic_tpl p;
	int err;

	if (optname == PLASMATIC_SEED_UPDATE && !pl_tx_ready(ctx))
		return -ENOKEY;
	if (optlen != sizeof(p))
		return -EINVAL;
	if (copy_from_sockptr(&p, optval, sizeof(p)))
		return -EFAULT;
	err = pl_tpl_check(&p);
	if (err)
		goto out;
	if (optname == PLASMATIC_TPL_TX) {
		pl_tpl_set(t, &p);
	} else {
		t->su_out = p;
		t->su_queued = true;
	}
out:
	memzero_explicit(&p, sizeof(p));
	return err;
}

/*
 * PLASMATIC_KEY_UPDATE.  Once the KeyUpdate is sealed and the key rotated
 * the call has done its work, even if a signal (or the send timeout)
 * stops the push of the record: what TCP did not take goes with the
 * transmit work or the next send.  Reporting -ERESTARTSYS then had the
 * call restarted, and a second KeyUpdate sent (review finding 10); -EINTR
 * told the caller it failed.  Whether the key rotated during the call is
 * told by the TX traffic secret, which changes with each KeyUpdate (and
 * under the socket lock only).  An interrupted call that rotated nothing
 * keeps its error: restarting it sends the one KeyUpdate.
 */
static int pl_key_update(struct sock *sk, struct plasmatic_context *ctx,
			 int requested)
{
	u8 secret[PLASMATIC_SECRET_MAX];
	int err;

	lock_sock(sk);
	memcpy(secret, ctx->tx.cipher.secret, sizeof(secret));
	release_sock(sk);

	err = pl_tx_key_update(sk, ctx, requested);
	if (err == -ERESTARTSYS || err == -EINTR) {
		lock_sock(sk);
		if (crypto_memneq(secret, ctx->tx.cipher.secret,
				  sizeof(secret)))
			err = 0;
		release_sock(sk);
	}
	memzero_explicit(secret, sizeof(secret));
	return err;
}

static bool pl_rx_keys_opt(int optname)
{
	return optname == PLASMATIC_RX || optname == PLASMATIC_RX_SECRET;
}

static int pl_set_int(sockptr_t optval, unsigned int optlen, int *val)
{
	if (optlen < sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(val, optval, sizeof(int)))
		return -EFAULT;
	return 0;
}

/*
 * PLASMATIC_RX_EXPECT_NO_PAD, as kTLS's TLS_RX_EXPECT_NO_PAD: 0 or 1 in an
 * int (longer only with zeros), once RX keys are set (EINVAL before).
 */
static int pl_set_no_pad(struct plasmatic_context *ctx, sockptr_t optval,
			 unsigned int optlen)
{
	int err, val;

	err = pl_set_int(optval, optlen, &val);
	if (err)
		return err;
	if (val != 0 && val != 1)
		return -EINVAL;
	err = check_zeroed_sockptr(optval, sizeof(val), optlen - sizeof(val));
	if (err < 1)
		return err ?: -EINVAL;
	if (!pl_rx_ready(ctx))
		return -EINVAL;
	WRITE_ONCE(ctx->rx.no_pad, val);
	return 0;
}

int pl_setsockopt(struct sock *sk, int level, int optname, sockptr_t optval,
		  unsigned int optlen)
{
	struct plasmatic_context *ctx = pl_ctx(sk);
	int err, val;

	if (level != SOL_PLASMATIC)
		return ctx->sk_proto->setsockopt(sk, level, optname, optval,
						 optlen);
	if (sockptr_is_null(optval))
		return -EFAULT;
	if (!optlen)
		return -EINVAL;
	if (optname == PLASMATIC_KEY_UPDATE) {
		err = pl_set_int(optval, optlen, &val);
		if (err)
			return err;
		if (val != PLASMATIC_KU_NOT_REQUESTED &&
		    val != PLASMATIC_KU_REQUESTED)
			return -EINVAL;
		return pl_key_update(sk, ctx, val);
	}

	/*
	 * Setting TX keys again seals the open record: exclude senders,
	 * interruptibly (a sender may hold the lock while TCP has no room).
	 * Setting RX keys: no reader in TCP's recvmsg (pl_recvmsg_plain()).
	 */
	if (optname == PLASMATIC_TX) {
		err = pl_tx_lock(ctx);
		if (err)
			return err;
	} else if (pl_rx_keys_opt(optname)) {
		err = down_write_killable(&ctx->rx.upgrade);
		if (err)
			return err;
	}
	lock_sock(sk);
	switch (optname) {
	case PLASMATIC_EEM_TX:
	case PLASMATIC_EEM_RX:
		err = pl_set_eem(sk, ctx, optname == PLASMATIC_EEM_TX ?
				 PL_DIR_TX : PL_DIR_RX, optval, optlen);
		break;
	case PLASMATIC_TX:
	case PLASMATIC_RX:
		err = pl_set_keys(sk, ctx, optname == PLASMATIC_TX ?
				  PL_DIR_TX : PL_DIR_RX, optval, optlen);
		break;
	case PLASMATIC_CLOSE_NOTIFY:
		err = pl_set_int(optval, optlen, &val);
		if (!err)
			ctx->close_notify = !!val;
		break;
	case PLASMATIC_TX_SECRET:
	case PLASMATIC_RX_SECRET:
		err = pl_set_secret(sk, ctx, optname == PLASMATIC_TX_SECRET ?
				    PL_DIR_TX : PL_DIR_RX, optval, optlen);
		break;
	case PLASMATIC_TPL_TX:
	case PLASMATIC_SEED_UPDATE:
		err = pl_set_tpl(ctx, optname, optval, optlen);
		break;
	case PLASMATIC_RX_EXPECT_NO_PAD:
		err = pl_set_no_pad(ctx, optval, optlen);
		break;
	default:
		err = -ENOPROTOOPT;
		break;
	}
	release_sock(sk);
	if (optname == PLASMATIC_TX)
		pl_tx_unlock(ctx);
	else if (pl_rx_keys_opt(optname))
		up_write(&ctx->rx.upgrade);
	return err;
}

static int pl_get_value(char __user *optval, int __user *optlen,
			const void *val, int size)
{
	int len;

	if (get_user(len, optlen))
		return -EFAULT;
	if (len < size)
		return -EINVAL;
	if (put_user(size, optlen) || copy_to_user(optval, val, size))
		return -EFAULT;
	return 0;
}

/*
 * PLASMATIC_TPL_SCHED: the newest schedule entries that fit in *optlen,
 * oldest first; *optlen becomes the bytes written.
 */
static int pl_get_sched(const struct plasmatic_context *ctx,
			char __user *optval, int __user *optlen)
{
	struct plasmatic_tpl_rec *recs;
	unsigned int n;
	int len, err = 0;

	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	n = min_t(unsigned int, len / sizeof(*recs), PLASMATIC_TPL_SCHED_LEN);
	recs = kcalloc(PLASMATIC_TPL_SCHED_LEN, sizeof(*recs), GFP_KERNEL);
	if (!recs)
		return -ENOMEM;
	n = pl_tpl_sched_copy(&ctx->tx.tpl, recs, n);
	if (put_user(n * sizeof(*recs), optlen) ||
	    copy_to_user(optval, recs, n * sizeof(*recs)))
		err = -EFAULT;
	kfree(recs);
	return err;
}

int pl_getsockopt(struct sock *sk, int level, int optname,
		  char __user *optval, int __user *optlen)
{
	struct plasmatic_context *ctx = pl_ctx(sk);
	struct plasmatic_secret_info si;
	struct plasmatic_tpl_state state;
	struct plasmatic_eem_info eem;
	union pl_crypto_info ci;
	enum pl_dir dir;
	int err, val;

	if (level != SOL_PLASMATIC) {
		/* It would map the ciphertext under us. */
		if (level == SOL_TCP && optname == TCP_ZEROCOPY_RECEIVE &&
		    pl_rx_ready(ctx))
			return -EOPNOTSUPP;
		return ctx->sk_proto->getsockopt(sk, level, optname, optval,
						 optlen);
	}
	if (!optval || !optlen)
		return -EFAULT;

	lock_sock(sk);
	switch (optname) {
	case PLASMATIC_EEM_TX:
	case PLASMATIC_EEM_RX:
		dir = optname == PLASMATIC_EEM_TX ? PL_DIR_TX : PL_DIR_RX;
		err = -ENOENT;
		if (!ctx->eem_set[dir])
			break;
		eem = ctx->eem_info[dir];
		err = pl_get_value(optval, optlen, &eem, sizeof(eem));
		break;
	case PLASMATIC_TX_SECRET:
	case PLASMATIC_RX_SECRET:
		dir = optname == PLASMATIC_TX_SECRET ? PL_DIR_TX : PL_DIR_RX;
		err = -ENOENT;
		if (!ctx->keys_set[dir] || !ctx->by_secret[dir])
			break;
		si = ctx->secret_info[dir];
		err = pl_get_value(optval, optlen, &si, sizeof(si));
		break;
	case PLASMATIC_TX:
	case PLASMATIC_RX:
		dir = optname == PLASMATIC_TX ? PL_DIR_TX : PL_DIR_RX;
		err = -ENOENT;
		if (!ctx->keys_set[dir] || ctx->by_secret[dir])
			break;
		ci = ctx->crypto_info[dir];
		err = pl_get_value(optval, optlen, &ci,
				   pl_layout(ci.info.cipher_type)->size);
		break;
	case PLASMATIC_CLOSE_NOTIFY:
		val = ctx->close_notify;
		err = pl_get_value(optval, optlen, &val, sizeof(val));
		break;
	case PLASMATIC_RX_END:
		val = ctx->rx.end;
		err = pl_get_value(optval, optlen, &val, sizeof(val));
		break;
	case PLASMATIC_TPL_TX:
		pl_tpl_state(&ctx->tx.tpl, &state);
		err = pl_get_value(optval, optlen, &state, sizeof(state));
		break;
	case PLASMATIC_TPL_SCHED:
		err = pl_get_sched(ctx, optval, optlen);
		break;
	case PLASMATIC_RX_EXPECT_NO_PAD:
		err = -EINVAL;
		if (!pl_rx_ready(ctx))
			break;
		val = ctx->rx.no_pad;
		err = pl_get_value(optval, optlen, &val, sizeof(val));
		break;
	case PLASMATIC_PACE: {
		struct plasmatic_pace_state pace;

		pl_tpl_pace_state(&ctx->tx.tpl, &pace);
		err = pl_get_value(optval, optlen, &pace, sizeof(pace));
		break;
	}
	default:
		err = -ENOPROTOOPT;
		break;
	}
	release_sock(sk);
	return err;
}
