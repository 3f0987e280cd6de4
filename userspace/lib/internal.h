/* SPDX-License-Identifier: GPL-2.0 */
/* libplasmatic internals. */
#ifndef PLASMATIC_LIB_INTERNAL_H
#define PLASMATIC_LIB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "plasmatic.h"
#include "pl_engine.h"

#define PL_HIDDEN __attribute__((visibility("hidden")))

/* error.c */
PL_HIDDEN void pl_err_set(struct pl_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
PL_HIDDEN void pl_err_clear(struct pl_error *err);
/* Append OpenSSL's error queue (first entry) to err->msg and clear it. */
PL_HIDDEN void pl_err_append_ssl(struct pl_error *err);

/* The engine's, from userspace/engine/internal.h (RFC 8446 7.1, empty
 * context): the IVs that wipe_ssl_secrets() looks for. */
int pl_hkdf_expand_label(const char *digest, const uint8_t *secret,
			 size_t secret_len, const char *label,
			 uint8_t *out, size_t out_len);

/* psk.c */
PL_HIDDEN const uint8_t *pl_psk_bytes(const struct pl_psk *psk);
/* The key file's text (format in plasmatic.h) into key: 0 or -1 (key may
 * then hold part of it).  pl_psk_load()'s parser; fuzz/ calls it alone. */
PL_HIDDEN int pl_psk_parse(const char *text, size_t len,
			   uint8_t key[PL_PSK_BYTES]);

struct pl_ctx {
	SSL_CTX *ssl_ctx;
	enum pl_role role;
	uint8_t framing;
	uint8_t eem_len;
	enum pl_datapath datapath;
	int verify;
	int close_notify;
	const struct pl_psk *psk;
	char *hostname;
	char *sni;
	unsigned char *alpn_wire;	/* ALPN protocol list, wire format */
	size_t alpn_wire_len;
	char *fallback;			/* server: "HOST:PORT" or NULL */
	char *fallback_dir;		/* server: built-in responder's files */
	int handshake_timeout;		/* seconds, 0 none */
	int open_timeout;		/* seconds, 0 none */
	uint8_t tpl_mode;		/* our initial TX mode (SPEC 9) */
	bool tpl_lock;
	int peer_mode;			/* -1 or the mode asked of the peer */
};

/* What the handshake hands to the upgrade; wiped right after. */
struct pl_hs_secrets {
	uint8_t client[PL_MAX_SECRET_LEN];	/* CLIENT_TRAFFIC_SECRET_0 */
	uint8_t server[PL_MAX_SECRET_LEN];	/* SERVER_TRAFFIC_SECRET_0 */
	uint8_t exporter[PL_MAX_SECRET_LEN];	/* EXPORTER_SECRET: only to
						 * find OpenSSL's copy */
	size_t client_len, server_len, exporter_len;
	uint8_t exp[PL_EXPORTER_LEN];
};

/* Handshake state shared with the OpenSSL callbacks. */
struct pl_hs {
	struct pl_hs_secrets *sec;
	bool peer_finished;		/* peer's Finished processed */
	bool own_finished;		/* our Finished written */
	unsigned int records_read_after;	/* records read after peer Finished */
	unsigned int records_written_after;	/* written after our Finished */
	unsigned int tickets;		/* NewSessionTickets read or written */
	int alert_received;		/* -1 or description */
	int alert_sent;
	bool keylog_bad;
};

struct pl_conn {
	int fd;
	enum pl_role role;
	enum pl_datapath datapath;
	uint16_t suite;
	uint8_t framing, eem_len;
	int psk;
	int close_notify;
	int kernel_secrets;		/* kernel holds the traffic secrets */
	char alpn[64];

	struct pl_error err;		/* sticky failure, code 0 if none */
	int end;			/* PLASMATIC_END_* */
	atomic_bool failed;
	bool wr_shut;

	/* kernel datapath */
	bool k_any_read;		/* some bytes were received */

	/* userspace datapath: TX shaping (SPEC 9), under tpl_mu: the reader
	 * applies received Seed Updates, the writer draws, any thread may
	 * queue a Seed Update to send. */
	pthread_mutex_t tpl_mu;
	struct pl_tpl *tpl;
	struct pl_seed_update su_out;	/* queued for our next record */
	bool su_queued;
	struct pl_seed_update su_in;	/* received, for our next draw */
	bool su_in_pending;
	uint64_t tpl_records, tpl_pad, su_sent, su_applied;
	/* pl_conn_error() of a call that failed without failing the
	 * connection (conn_note), against the reader's conn_fail */
	pthread_mutex_t err_mu;

	/* userspace datapath: receive side (reader thread) */
	struct pl_rx *rx;
	uint8_t *inbuf;			/* PL_MAX_WIRE_LEN + slack */
	size_t in_off, in_len;
	size_t in_hwm;			/* bytes of inbuf ever used */
	const uint8_t *pend;		/* plaintext of the last record */
	size_t pend_len;
	uint8_t hsbuf[64];		/* post-handshake message reassembly */
	size_t hs_len;
	uint64_t records_in, key_updates_in;

	/* userspace datapath: send side (under tx_lock) */
	pthread_mutex_t tx_lock;
	struct pl_tx *tx;
	uint8_t *outbuf;
	size_t outcap;
	size_t out_hwm;			/* bytes of outbuf ever used */
	/*
	 * Sealed bytes an O_NONBLOCK socket has not taken yet: outbuf
	 * [out_off, out_len), sent with out_flags (pl_conn_flush()).
	 */
	size_t out_off, out_len;
	int out_flags;
	uint64_t records_out, key_updates_out;
	atomic_int ku_reply;		/* peer asked: KeyUpdate before next data */
	atomic_bool fatal_posted;	/* the reader failed: alert posted */
	atomic_int fatal_alert;		/* -1 or alert the writer must still send */
};

/* Zero padding of the client's opening record (SPEC 2.3). */
#define PL_OPEN_PAD_MIN		64
#define PL_OPEN_PAD_MAX		511

/* Where each direction starts after the handshake (SPEC 2, opening
 * record): TLS sequence numbers and the next EEM nonces. */
struct pl_start {
	uint64_t tx_seq, rx_seq;
	struct pl_eem_secrets tx_eem, rx_eem;	/* nonce: the next one */
	/* The engine state of the opening, if any (client TX, server RX):
	 * the userspace datapath takes it over, saving a second setup. */
	struct pl_tx *tx;
	struct pl_rx *rx;
	/* A Seed Update in the opening record (SPEC 2.3): the client's,
	 * sent; the server's, received (its initial TX state).  Kind 0: none. */
	struct pl_seed_update open_su;
};

/* tls.c: one NSS key log line from OpenSSL's keylog callback into
 * hs->sec (hs->keylog_bad if malformed); fuzz/ calls it alone. */
PL_HIDDEN void pl_keylog_line(struct pl_hs *hs, const char *line);

/* conn.c */
PL_HIDDEN struct pl_conn *pl_conn_upgrade(struct pl_ctx *ctx, SSL *ssl, int fd,
					  struct pl_hs_secrets *sec,
					  struct pl_start *st,
					  struct pl_error *err);

/* The Seed Update of ctx->peer_mode, with a random seed; 0 or -1. */
PL_HIDDEN int pl_peer_su(const struct pl_ctx *ctx, struct pl_seed_update *su);

/* fallback.c: a client that is not Plasmatic (SPEC 7.1). */
PL_HIDDEN int pl_fallback_check(const char *spec);
PL_HIDDEN void pl_fallback_tls(struct pl_ctx *ctx, SSL *ssl, int fd);
PL_HIDDEN void pl_fallback_raw(struct pl_ctx *ctx, int fd, bool http);
/* Shut our sending half, read until the peer ends (nginx's lingering
 * close), so that the caller's close() sends FIN, not RST. */
PL_HIDDEN void pl_linger_close(int fd);

/* mimic.c: the handshake's shape, curl's ClientHello and nginx's answers
 * (after pl_ctx_new()'s own settings, before the user's ALPN); 0 or -1. */
PL_HIDDEN int pl_mimic_client(SSL_CTX *sc);
PL_HIDDEN int pl_mimic_server(SSL_CTX *sc);

#endif
