// SPDX-License-Identifier: GPL-2.0
/* Decoder: a byte stream in any split -> verified records (SPEC 6, 7). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

struct pl_rx {
	struct pl_record_key rk;
	struct pl_eem eem;
	int error;		/* sticky failure cause, PL_OK while healthy */
	size_t have;		/* bytes of the current record in buf */
	size_t need;		/* its wire length, 0 until the header is in */
	uint8_t buf[PL_MAX_WIRE_LEN];
};

struct pl_rx *pl_rx_new(const struct pl_dir_config *cfg, int *err)
{
	struct pl_rx *rx = malloc(sizeof(*rx));
	int ret;

	if (!rx) {
		ret = PL_ERR_NOMEM;
		goto out;
	}
	rx->error = PL_OK;
	rx->have = 0;
	rx->need = 0;
	ret = pl_record_key_init(&rx->rk, cfg, false);
	if (ret)
		goto out_free;
	ret = pl_eem_init(&rx->eem, cfg, false);
	if (ret)
		goto out_rk;
	goto out;

out_rk:
	pl_record_key_fini(&rx->rk);
out_free:
	free(rx);
	rx = NULL;
out:
	if (err)
		*err = ret;
	return rx;
}

void pl_rx_free(struct pl_rx *rx)
{
	if (!rx)
		return;
	pl_record_key_fini(&rx->rk);
	pl_eem_fini(&rx->eem);
	OPENSSL_cleanse(rx->buf, sizeof(rx->buf));
	free(rx);
}

static int fail(struct pl_rx *rx, int err)
{
	OPENSSL_cleanse(rx->buf, rx->have);
	rx->error = err;
	return err;
}

/* Step 1: the header alone decides the record's wire length. */
static int parse_header(struct pl_rx *rx)
{
	size_t length = pl_get_be16(rx->buf + 3), eem_len = rx->eem.eem_len;
	size_t lo = PL_TLS_TAG_LEN + 1;

	if (rx->buf[0] != 0x17 || rx->buf[1] != 0x03 || rx->buf[2] != 0x03)
		return PL_ERR_HEADER;
	/* Covered: the EEM is inside the length, within the same cap. */
	if (rx->eem.framing == PLASMATIC_FRAMING_COVERED)
		lo += eem_len;
	if (length < lo || length > PL_MAX_LENGTH)
		return PL_ERR_LENGTH;
	rx->need = PL_HEADER_LEN + length;
	if (rx->eem.framing == PLASMATIC_FRAMING_DETACHED)
		rx->need += eem_len;
	return PL_OK;
}

/* Steps 2 to 4 on the whole record in buf. */
static int open_record(struct pl_rx *rx, struct pl_record *rec)
{
	const uint8_t *hdr = rx->buf;
	uint8_t *enc = rx->buf + PL_HEADER_LEN;
	size_t lc = rx->need - PL_HEADER_LEN - rx->eem.eem_len;
	size_t inner_len = lc - PL_TLS_TAG_LEN, i;
	struct pl_seed_update su;
	uint8_t type;
	int ret;

	ret = pl_eem_open(&rx->eem, hdr, enc, lc, enc + lc, &su);
	if (ret)
		return ret;
	ret = pl_record_decrypt(&rx->rk, hdr, enc, lc);
	if (ret)
		return ret;
	if (inner_len > PL_MAX_INNER)
		return PL_ERR_OVERFLOW;
	for (i = inner_len; i > 0 && !enc[i - 1]; i--)
		;
	if (!i)
		return PL_ERR_CONTENT_TYPE;	/* all zeros: no type */
	type = enc[--i];
	if (type != PL_CT_ALERT && type != PL_CT_HANDSHAKE && type != PL_CT_APP)
		return PL_ERR_CONTENT_TYPE;
	if (!i && type != PL_CT_APP)
		return PL_ERR_EMPTY;

	/* Step 4: accepted. */
	rx->rk.seq++;
	pl_eem_advance(&rx->eem);
	rec->content_type = type;
	rec->content = enc;
	rec->len = i;
	rec->su = su;
	return PL_OK;
}

int pl_rx_feed(struct pl_rx *rx, const uint8_t *data, size_t len,
	       size_t *consumed, struct pl_record *rec)
{
	size_t used = 0;
	int ret;

	*consumed = 0;
	if (rx->error)
		return rx->error;
	if (len && !data)
		return PL_ERR_INVAL;
	/* The previous record's plaintext is no longer the caller's. */
	if (!rx->have && rx->need) {
		OPENSSL_cleanse(rx->buf, rx->need);
		rx->need = 0;
	}
	while (used < len) {
		size_t target = rx->need ? rx->need : PL_HEADER_LEN;
		size_t take = target - rx->have;

		if (take > len - used)
			take = len - used;
		memcpy(rx->buf + rx->have, data + used, take);
		rx->have += take;
		used += take;
		*consumed = used;
		if (rx->have < target)
			break;
		if (!rx->need) {
			ret = parse_header(rx);
			if (ret)
				return fail(rx, ret);
			continue;
		}
		ret = open_record(rx, rec);
		if (ret)
			return fail(rx, ret);
		rx->have = 0;	/* need stays set until the next call */
		return 1;
	}
	return 0;
}

int pl_rx_end(struct pl_rx *rx)
{
	if (rx->error)
		return rx->error;
	if (rx->have)
		return fail(rx, PL_ERR_TRUNCATED);
	return PL_OK;
}

int pl_rx_error(const struct pl_rx *rx)
{
	return rx->error;
}

bool pl_rx_at_boundary(const struct pl_rx *rx)
{
	return !rx->error && !rx->have;
}

int pl_rx_rekey(struct pl_rx *rx, const uint8_t *secret, size_t secret_len)
{
	int ret;

	if (rx->error)
		return rx->error;
	if (rx->have || !secret ||
	    secret_len != pl_suite_hash_len(rx->rk.suite))
		return PL_ERR_INVAL;
	ret = pl_record_key_install(&rx->rk, secret, secret_len);
	if (ret == PL_ERR_CRYPTO)
		fail(rx, ret);
	return ret;
}

int pl_rx_key_update(struct pl_rx *rx)
{
	int ret;

	if (rx->error)
		return rx->error;
	if (rx->have)
		return PL_ERR_INVAL;	/* only between records */
	ret = pl_record_key_update(&rx->rk);
	if (ret == PL_ERR_CRYPTO)
		fail(rx, ret);
	return ret;
}

uint64_t pl_rx_seq(const struct pl_rx *rx)
{
	return rx->rk.seq;
}

void pl_rx_eem_nonce(const struct pl_rx *rx,
		     uint8_t nonce[PLASMATIC_EEM_NONCE_SIZE])
{
	memcpy(nonce, rx->eem.nonce, PLASMATIC_EEM_NONCE_SIZE);
}
