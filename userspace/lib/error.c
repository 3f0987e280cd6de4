// SPDX-License-Identifier: GPL-2.0
/* Error codes and messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "internal.h"

const char *pl_error_string(int code)
{
	switch (code) {
	case PL_E_OK:		return "success";
	case PL_E_INVAL:	return "invalid argument or configuration";
	case PL_E_NOMEM:	return "out of memory";
	case PL_E_SYS:		return "system call failed";
	case PL_E_CONFIG:	return "certificate, key or CA file unusable";
	case PL_E_PSK_FILE:	return "PSK file unreadable or malformed";
	case PL_E_PSK_PERM:	return "PSK file is accessible by group or others";
	case PL_E_HANDSHAKE:	return "TLS handshake failed";
	case PL_E_PEER_ALERT:	return "peer sent a fatal TLS alert";
	case PL_E_CERT_VERIFY:	return "peer certificate verification failed";
	case PL_E_HOSTNAME:	return "peer certificate does not match the host name";
	case PL_E_VERSION:	return "TLS version mismatch: TLS 1.3 is required";
	case PL_E_CIPHER:	return "no cipher suite in common";
	case PL_E_HANDOVER:	return "post-handshake data already consumed by OpenSSL";
	case PL_E_MODULE_MISSING: return "kernel module plasmatic.ko missing";
	case PL_E_KERNEL:	return "kernel module refused the keys";
	case PL_E_PSK_MISMATCH:	return "first record failed: PSK or connection parameters differ";
	case PL_E_BAD_RECORD:	return "record failed authentication (bad_record_mac)";
	case PL_E_PROTOCOL:	return "unexpected post-handshake message";
	case PL_E_CLOSED:	return "connection already failed or shut down";
	case PL_E_ENGINE:	return "record engine failure";
	case PL_E_PEER_CLOSED:	return "peer closed the connection during the handshake";
	case PL_E_PROBE:	return "the client is not Plasmatic: the fallback served it";
	case PL_E_UNSUPPORTED:	return "operation not supported on this datapath";
	}
	if (code < 0 && code > -100)
		return pl_strerror(code);	/* an engine code */
	return "unknown error";
}

void pl_err_clear(struct pl_error *err)
{
	if (!err)
		return;
	memset(err, 0, sizeof(*err));
	err->alert = -1;
}

void pl_err_set(struct pl_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->code = code;
	if (!fmt) {
		snprintf(err->msg, sizeof(err->msg), "%s", pl_error_string(code));
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void pl_err_append_ssl(struct pl_error *err)
{
	unsigned long e = ERR_peek_error();
	char buf[200];
	size_t n;

	if (err && e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		n = strlen(err->msg);
		if (n + 3 < sizeof(err->msg))
			snprintf(err->msg + n, sizeof(err->msg) - n, " (%s)", buf);
	}
	ERR_clear_error();
}
