// SPDX-License-Identifier: GPL-2.0
#include "pl_engine.h"

const char *pl_strerror(int err)
{
	switch (err) {
	case PL_OK:			return "success";
	case PL_ERR_INVAL:		return "invalid argument";
	case PL_ERR_NOMEM:		return "out of memory";
	case PL_ERR_CRYPTO:		return "crypto library failure";
	case PL_ERR_SPACE:		return "output buffer too small";
	case PL_ERR_SEQ_EXHAUSTED:	return "record limit of the key reached";
	case PL_ERR_NONCE_EXHAUSTED:	return "EEM nonce exhausted";
	case PL_ERR_NO_SECRET:		return "no traffic secret for KeyUpdate";
	case PL_ERR_HEADER:		return "bad record header";
	case PL_ERR_LENGTH:		return "record length out of range";
	case PL_ERR_EEM_TAG:		return "EEM tag mismatch";
	case PL_ERR_EEM_NONCE:		return "EEM nonce mismatch";
	case PL_ERR_EEM_FRAGMENT:	return "EEM fragment mismatch";
	case PL_ERR_SEED_UPDATE:	return "malformed seed update";
	case PL_ERR_TLS_TAG:		return "record tag mismatch";
	case PL_ERR_CONTENT_TYPE:	return "bad content type";
	case PL_ERR_OVERFLOW:		return "record plaintext too long";
	case PL_ERR_EMPTY:		return "empty alert or handshake record";
	case PL_ERR_TRUNCATED:		return "stream ended inside a record";
	}
	return "unknown error";
}
