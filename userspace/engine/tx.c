// SPDX-License-Identifier: GPL-2.0
/* Encoder: content -> header || encrypted_record || eem (SPEC 6, 8). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

struct pl_tx {
	struct pl_record_key rk;
	struct pl_eem eem;
	int failed;		/* sticky PL_ERR_CRYPTO: state is unknown */
};

struct pl_tx *pl_tx_new(const struct pl_dir_config *cfg, int *err)
{
	struct pl_tx *tx = calloc(1, sizeof(*tx));
	int ret;

	if (!tx) {
		ret = PL_ERR_NOMEM;
		goto out;
	}
	ret = pl_record_key_init(&tx->rk, cfg, true);
	if (ret)
		goto out_free;
	ret = pl_eem_init(&tx->eem, cfg, true);
	if (ret)
		goto out_rk;
	goto out;

out_rk:
	pl_record_key_fini(&tx->rk);
out_free:
	free(tx);
	tx = NULL;
out:
	if (err)
		*err = ret;
	return tx;
}

void pl_tx_free(struct pl_tx *tx)
{
	if (!tx)
		return;
	pl_record_key_fini(&tx->rk);
	pl_eem_fini(&tx->eem);
	free(tx);
}

size_t pl_tx_record_len(const struct pl_tx *tx, size_t content_len,
			size_t pad_len)
{
	return PL_HEADER_LEN + content_len + 1 + pad_len + PL_TLS_TAG_LEN +
	       tx->eem.eem_len;
}

size_t pl_max_content(uint8_t framing, uint8_t eem_len)
{
	if (!pl_params_valid(framing, eem_len))
		return 0;
	return framing == PLASMATIC_FRAMING_COVERED ?
	       PL_MAX_CONTENT - eem_len : PL_MAX_CONTENT;
}

size_t pl_tx_max_content(const struct pl_tx *tx)
{
	return pl_max_content(tx->eem.framing, tx->eem.eem_len);
}

int pl_tx_seal(struct pl_tx *tx, uint8_t content_type,
	       const uint8_t *content, size_t len,
	       const struct pl_seal_opts *opts,
	       uint8_t *out, size_t out_cap, size_t *out_len)
{
	static const struct pl_seal_opts no_opts;
	size_t inner_len, lc, wire_len, max = pl_tx_max_content(tx);
	uint8_t *hdr = out, *enc = out + PL_HEADER_LEN;
	uint16_t length;
	int ret;

	if (tx->failed)
		return tx->failed;
	if (!opts)
		opts = &no_opts;
	if (content_type != PL_CT_ALERT && content_type != PL_CT_HANDSHAKE &&
	    content_type != PL_CT_APP)
		return PL_ERR_INVAL;
	if ((!len && content_type != PL_CT_APP) || (len && !content) ||
	    len > max || opts->pad_len > max - len ||
	    (opts->su && !pl_su_valid(opts->su)))
		return PL_ERR_INVAL;
	if (tx->eem.exhausted)
		return PL_ERR_NONCE_EXHAUSTED;
	if (tx->rk.seq >= tx->rk.seq_limit)
		return PL_ERR_SEQ_EXHAUSTED;

	inner_len = len + 1 + opts->pad_len;
	lc = inner_len + PL_TLS_TAG_LEN;
	wire_len = PL_HEADER_LEN + lc + tx->eem.eem_len;
	if (!out || out_cap < wire_len)
		return PL_ERR_SPACE;

	length = (uint16_t)(lc + (tx->eem.framing == PLASMATIC_FRAMING_COVERED ?
				  tx->eem.eem_len : 0));
	if (len)
		memmove(enc, content, len);
	enc[len] = content_type;
	memset(enc + len + 1, 0, opts->pad_len);
	hdr[0] = 0x17;
	hdr[1] = 0x03;
	hdr[2] = 0x03;
	pl_put_be16(hdr + 3, length);

	ret = pl_record_encrypt(&tx->rk, hdr, enc, inner_len);
	if (!ret)
		ret = pl_eem_seal(&tx->eem, hdr, enc, lc, opts->su,
				  opts->eem_padding, enc + lc);
	if (ret) {
		/* Limits were checked above: only the crypto library fails. */
		tx->failed = ret;
		OPENSSL_cleanse(out, wire_len);
		return ret;
	}
	if (out_len)
		*out_len = wire_len;
	return PL_OK;
}

int pl_tx_seal_alert(struct pl_tx *tx, uint8_t level, uint8_t description,
		     uint8_t *out, size_t out_cap, size_t *out_len)
{
	const uint8_t alert[2] = { level, description };

	return pl_tx_seal(tx, PL_CT_ALERT, alert, sizeof(alert), NULL, out,
			  out_cap, out_len);
}

int pl_tx_rekey(struct pl_tx *tx, const uint8_t *secret, size_t secret_len)
{
	int ret;

	if (tx->failed)
		return tx->failed;
	if (!secret || secret_len != pl_suite_hash_len(tx->rk.suite))
		return PL_ERR_INVAL;
	ret = pl_record_key_install(&tx->rk, secret, secret_len);
	if (ret == PL_ERR_CRYPTO)
		tx->failed = ret;
	return ret;
}

int pl_tx_key_update(struct pl_tx *tx)
{
	int ret;

	if (tx->failed)
		return tx->failed;
	ret = pl_record_key_update(&tx->rk);
	if (ret == PL_ERR_CRYPTO)
		tx->failed = ret;
	return ret;
}

uint64_t pl_tx_seq(const struct pl_tx *tx)
{
	return tx->rk.seq;
}

uint64_t pl_tx_records_left(const struct pl_tx *tx)
{
	return tx->rk.seq < tx->rk.seq_limit ? tx->rk.seq_limit - tx->rk.seq
					     : 0;
}

void pl_tx_eem_nonce(const struct pl_tx *tx,
		     uint8_t nonce[PLASMATIC_EEM_NONCE_SIZE])
{
	memcpy(nonce, tx->eem.nonce, PLASMATIC_EEM_NONCE_SIZE);
}
