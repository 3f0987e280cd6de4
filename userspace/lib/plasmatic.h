/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libplasmatic: TLS 1.3 handshake (OpenSSL 3) and upgrade of a connected
 * TCP socket to Plasmatic (SPEC.md), in the kernel (plasmatic.ko, a TCP
 * ULP) when it is there, else by the userspace engine over the same socket
 * with the same bytes on the wire.
 *
 *	struct pl_config cfg;
 *	struct pl_error err;
 *	pl_config_init(&cfg, PL_ROLE_CLIENT);
 *	cfg.ca_file = "ca.pem";			// NULL: system store
 *	cfg.hostname = "example.org";		// checked, and sent as SNI
 *	struct pl_ctx *ctx = pl_ctx_new(&cfg, &err);
 *	struct pl_conn *c = pl_connect(ctx, fd, NULL, &err);
 *	pl_conn_write(c, "hello", 5);
 *	n = pl_conn_read(c, buf, sizeof(buf));	// 0: end of data
 *	pl_conn_shutdown(c);			// close_notify
 *	pl_conn_free(c); close(fd);
 *
 * Threads: a struct pl_ctx may be shared by threads once made.  A
 * struct pl_conn may have one thread reading and one thread writing at the
 * same time; other calls need external locking.  The socket must be
 * blocking.  The library never closes the caller's fd.
 *
 * Errors: functions returning a pointer give NULL and fill *err (err may be
 * NULL); pl_conn_* functions return -1 and leave the cause in
 * pl_conn_error().  Codes are the negative enum pl_code below, disjoint
 * from the engine's codes (-1 .. -99) that may appear as a detail.
 */
#ifndef PLASMATIC_LIB_H
#define PLASMATIC_LIB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PL_LIB_VERSION	"1.0"

enum pl_role { PL_ROLE_CLIENT = 0, PL_ROLE_SERVER = 1 };

/* Where records are framed after the handshake. */
enum pl_datapath {
	PL_DATAPATH_AUTO = 0,		/* kernel if plasmatic.ko, else userspace */
	PL_DATAPATH_KERNEL = 1,		/* kernel or fail (PL_E_MODULE_MISSING) */
	PL_DATAPATH_USERSPACE = 2,	/* always the userspace engine */
};

enum pl_code {
	PL_E_OK = 0,
	PL_E_INVAL = -100,		/* bad argument or configuration */
	PL_E_NOMEM = -101,
	PL_E_SYS = -102,		/* system call failed: see sys_errno */
	PL_E_CONFIG = -103,		/* certificate, key or CA file unusable */
	PL_E_PSK_FILE = -104,		/* PSK file unreadable or malformed */
	PL_E_PSK_PERM = -105,		/* PSK file open to group/others */
	PL_E_HANDSHAKE = -106,		/* TLS handshake failed (other cause) */
	PL_E_PEER_ALERT = -107,		/* peer sent a fatal alert: see alert */
	PL_E_CERT_VERIFY = -108,	/* peer certificate not trusted */
	PL_E_HOSTNAME = -109,		/* certificate does not match the name */
	PL_E_VERSION = -110,		/* peer does not speak TLS 1.3 */
	PL_E_CIPHER = -111,		/* no cipher suite in common */
	PL_E_HANDOVER = -112,		/* OpenSSL read or holds post-handshake data */
	PL_E_MODULE_MISSING = -113,	/* plasmatic.ko not available */
	PL_E_KERNEL = -114,		/* the module refused the keys */
	PL_E_PSK_MISMATCH = -115,	/* first record failed: PSK or params differ */
	PL_E_BAD_RECORD = -116,		/* a record failed its checks (SPEC 7) */
	PL_E_PROTOCOL = -117,		/* unexpected post-handshake message */
	PL_E_CLOSED = -118,		/* connection failed or shut down before */
	PL_E_ENGINE = -119,		/* engine failure: see engine_err */
	PL_E_PEER_CLOSED = -120,	/* peer closed during the handshake */
	PL_E_UNSUPPORTED = -121,	/* not possible on this datapath */
	PL_E_PROBE = -122,		/* server: the client is not Plasmatic;
					 * the fallback served it (SPEC 7.1) */
};

struct pl_error {
	int code;		/* enum pl_code */
	int sys_errno;		/* errno for PL_E_SYS, PL_E_KERNEL, ... or 0 */
	int alert;		/* TLS alert description sent/received, or -1 */
	int engine_err;		/* engine's enum pl_err, or 0 */
	char msg[320];		/* one line, human readable, with details */
};

/* A short fixed description of a code (library or engine code). */
const char *pl_error_string(int code);

/* ---- Pre-shared key (SPEC 3) ---- */

/*
 * Key file format: one line "plasmatic-psk-v1 <64 hex digits>" (32 bytes),
 * optionally preceded by lines starting with '#'.  The file must be a
 * regular file owned by the user (or root) and not accessible to group or
 * others (mode 0600 or stricter), else PL_E_PSK_PERM.
 */
#define PL_PSK_FILE_TAG	"plasmatic-psk-v1"
#define PL_PSK_BYTES	32

/* The key lives in one mlock'ed, MADV_DONTDUMP page, wiped when freed.
 * A forked child keeps a copy (not mlock'ed there): a server that forks per
 * connection can use the key in the child. */
struct pl_psk;
struct pl_psk *pl_psk_load(const char *path, struct pl_error *err);
struct pl_psk *pl_psk_from_bytes(const uint8_t key[PL_PSK_BYTES],
				 struct pl_error *err);
void pl_psk_free(struct pl_psk *psk);
/* 1 if the page could be mlock'ed (RLIMIT_MEMLOCK permitting). */
int pl_psk_locked(const struct pl_psk *psk);
/* Write a new random key to path (created 0600, never overwritten);
 * path NULL or "-" writes to stdout. */
int pl_psk_generate(const char *path, struct pl_error *err);

/* ---- Configuration ---- */

struct pl_config {
	enum pl_role role;
	/* Client: peer verification (on by default). */
	int verify;			/* 1 (default); 0 disables: tests only */
	const char *ca_file;		/* PEM; NULL: system store */
	const char *ca_path;		/* hashed dir; NULL: none */
	const char *hostname;		/* name checked in the certificate and
					 * sent as SNI (unless sni is set) */
	const char *sni;		/* SNI to send, if other than hostname;
					 * "" sends none */
	/* Server. */
	const char *cert_file;		/* PEM chain */
	const char *key_file;		/* PEM private key */
	/* Both. */
	const char *alpn;		/* comma separated, e.g. "h2,http/1.1";
					 * server: the ones it accepts */
	const char *ciphersuites;	/* OpenSSL syntax, a subset of the 3
					 * SPEC suites; NULL: all three */
	uint8_t framing;		/* PLASMATIC_FRAMING_*: default covered */
	uint8_t eem_len;		/* 48 .. 255, default 80 */
	const struct pl_psk *psk;	/* NULL: none; must outlive the ctx */
	enum pl_datapath datapath;	/* default PL_DATAPATH_AUTO */
	int close_notify;		/* 1 (default): pl_conn_shutdown sends it */
	/*
	 * Timeouts in seconds, default PL_TIMEOUT_DEFAULT as nginx's: the
	 * handshake, and (server) the wait for the client's opening record
	 * after it.  Set on the socket as SO_RCVTIMEO/SO_SNDTIMEO while
	 * pl_connect/pl_accept run (TCP_NODELAY too); the caller's values
	 * are back when they return.  0: none of the library's (the
	 * socket's own SO_RCVTIMEO/SO_SNDTIMEO, if any, apply).
	 */
	int handshake_timeout;
	int open_timeout;
	/*
	 * Server: what a client that is not Plasmatic gets (SPEC 7.1), so
	 * that a prober sees an ordinary HTTPS server.  pl_accept serves
	 * such a client itself, for as long as it stays, then fails with
	 * PL_E_PROBE (the caller just closes the socket):
	 *  - fallback "HOST:PORT" (e.g. nginx on loopback): a plain TLS
	 *    client's plaintext is relayed to it and its answers back as
	 *    ordinary TLS records; bytes that are not TLS go to it as they
	 *    are (when it cannot be reached, the built-in responder answers);
	 *  - else a built-in HTTP/1.1 responder answers as nginx would:
	 *    GET/HEAD of the files under fallback_dir (NULL: one page at
	 *    "/"), cleartext HTTP gets nginx's 400 page, other bytes are
	 *    read and the connection closed with FIN.
	 * Not for detached framing, where a plain client's first record
	 * waits for an EEM until open_timeout (SPEC 6).
	 */
	const char *fallback;
	const char *fallback_dir;
	/*
	 * Traffic shaping (SPEC 9): the sizes of the records this end sends.
	 *  - tpl_mode 0..8: the TPL mode we send in from the start (default 0:
	 *    records as written, unpadded), with the TPL seed of our sending
	 *    direction from the EEM key schedule.  In modes 1..8 every
	 *    application_data record is exactly its size draw (content plus
	 *    TLS 1.3 zero padding): a write is split into records of the
	 *    drawn sizes and its last record padded.
	 *  - tpl_lock 1: our mode does not rotate (SPEC 9.4), and the Seed
	 *    Update sent for peer_mode carries LOCK too.  Default 0.
	 *  - peer_mode -1 (default: none) or 0..8: ask the peer to send in
	 *    that mode, with a random seed: a client's Seed Update rides in
	 *    its opening record (SPEC 2.3), a server's in its first record.
	 *    A server whose client's opening record carries a Seed Update
	 *    starts its transmit shaping from it (instead of tpl_mode).
	 * Both datapaths shape identically on the wire; the kernel datapath
	 * needs a plasmatic.ko with PLASMATIC_TPL_TX (else, unless tpl_mode
	 * is 0 and there is no peer_mode, the upgrade fails with PL_E_KERNEL).
	 * Other values: PL_E_INVAL from pl_ctx_new.
	 */
	int tpl_mode;
	int tpl_lock;
	int peer_mode;
};

#define PL_TIMEOUT_DEFAULT	60	/* nginx: client_header_timeout */
#define PL_TICKETS		2	/* NewSessionTickets, as OpenSSL's */

void pl_config_init(struct pl_config *cfg, enum pl_role role);

struct pl_ctx;
struct pl_ctx *pl_ctx_new(const struct pl_config *cfg, struct pl_error *err);
void pl_ctx_free(struct pl_ctx *ctx);

/* ---- Connections ---- */

struct pl_conn;

/*
 * TLS 1.3 handshake over the connected, blocking socket fd, then the
 * opening (SPEC 2.3: the client speaks first: pl_connect sends the
 * opening record and reads the server's two tickets; pl_accept returns
 * only once the client's opening record passed its checks, so a server
 * never sends application data to a client without the PSK), then the
 * upgrade.  hostname overrides cfg->hostname (client only; may be NULL).
 * On failure the client's socket is left as it is; a server's has had
 * its sending half shut and been read to its end (close it: FIN, not
 * RST).  The caller closes the socket.
 */
struct pl_conn *pl_connect(struct pl_ctx *ctx, int fd, const char *hostname,
			   struct pl_error *err);
struct pl_conn *pl_accept(struct pl_ctx *ctx, int fd, struct pl_error *err);

/*
 * Non-blocking server handshake, for a server that drives many handshakes
 * from one event loop (poll, epoll, io_uring):
 *
 *	fcntl(fd, F_SETFL, O_NONBLOCK | ...);
 *	struct pl_handshake *h = pl_accept_start(ctx, fd, &err);
 *	for (;;) {			// in the loop, on each readiness
 *		rc = pl_handshake_step(h, &err);
 *		if (rc == PL_HS_WANT_READ)  { wait for POLLIN;  continue; }
 *		if (rc == PL_HS_WANT_WRITE) { wait for POLLOUT; continue; }
 *		break;
 *	}
 *	PL_HS_DONE:  c = pl_handshake_conn(h); pl_handshake_free(h);
 *	PL_HS_PROBE: hand h to a thread: pl_handshake_fallback(h) (blocking,
 *		     as pl_accept serves a prober), pl_handshake_free(h),
 *		     close(fd);
 *	-1:	     err says why; pl_handshake_free(h), close(fd).
 *
 * The same phases as pl_accept (which runs this state machine to its end,
 * blocking): the client's first bytes, SSL_accept, the wait for the
 * client's opening record (SPEC 2.3), the upgrade (kernel or userspace
 * datapath as cfg->datapath says).  A step never blocks: it returns
 * PL_HS_WANT_READ or PL_HS_WANT_WRITE when it needs the socket readable or
 * writable (while it waits for a whole record it sets SO_RCVLOWAT, so
 * that level-triggered poll reports the socket readable only once the
 * record is all there or the stream ended; back to 1 when done).
 * Timeouts are the caller's: handshake_timeout and open_timeout of the
 * configuration do not apply (the loop drops a handshake that takes too
 * long with pl_handshake_free and close).  On -1 the library has shut the
 * socket's sending half (no RST; reading it to its end before close() is
 * the caller's choice).  The socket stays O_NONBLOCK after PL_HS_DONE:
 * pl_conn_read and pl_conn_write then say EAGAIN where a blocking socket
 * would wait (below), or the caller makes it blocking again (on the
 * kernel datapath it may also use the fd directly).
 * pl_accept_start needs a server context and an O_NONBLOCK socket
 * (PL_E_INVAL).  A handshake is used by one thread at a time.
 */
enum {
	PL_HS_DONE = 0,			/* pl_handshake_conn() has the conn */
	PL_HS_WANT_READ = 1,		/* step again once fd is readable */
	PL_HS_WANT_WRITE = 2,		/* step again once fd is writable */
	PL_HS_PROBE = 3,		/* not a Plasmatic client: err says
					 * what it sent (PL_E_PROBE) */
};
struct pl_handshake;
struct pl_handshake *pl_accept_start(struct pl_ctx *ctx, int fd,
				     struct pl_error *err);
/* PL_HS_* or -1 (err filled; err may be NULL).  After the end, the same
 * result again (-1: PL_E_INVAL). */
int pl_handshake_step(struct pl_handshake *h, struct pl_error *err);
/* After PL_HS_DONE: the connection, once (then NULL); the caller frees it. */
struct pl_conn *pl_handshake_conn(struct pl_handshake *h);
int pl_handshake_fd(const struct pl_handshake *h);
/* After PL_HS_PROBE: serve the client as pl_accept would (blocking, the
 * socket made blocking meanwhile; may take as long as the client stays:
 * run it in a thread).  0, or -1 (EINVAL: no probe to serve). */
int pl_handshake_fallback(struct pl_handshake *h);
/* Frees the state (and a conn not taken); never closes the fd. */
void pl_handshake_free(struct pl_handshake *h);

/*
 * Read application data: > 0 bytes, 0 at the end of data (close_notify or
 * FIN at a record boundary: see pl_conn_end()), -1 on error.  On a socket
 * the caller made O_NONBLOCK: -1 with errno EAGAIN when no data is there
 * yet (userspace datapath: no whole record), and the connection goes on
 * (for event loops: read again once the socket is readable, or
 * pl_conn_pending() says so).
 */
ssize_t pl_conn_read(struct pl_conn *c, void *buf, size_t len);
/*
 * Write len bytes (records of at most pl_conn_record_max()): len, or -1.
 * On a socket the caller made O_NONBLOCK it may take fewer: it returns how
 * many (> 0), or -1 with errno EAGAIN when the socket has no room, and the
 * connection goes on.  On the userspace datapath the records it sealed
 * and the socket did not take yet stay in the connection:
 * pl_conn_want_write() is 1 until pl_conn_flush() has sent them (poll for
 * POLLOUT meanwhile); a write, KeyUpdate or shutdown says EAGAIN until
 * then.  On the kernel datapath the module holds them.
 */
ssize_t pl_conn_write(struct pl_conn *c, const void *buf, size_t len);
/* Send what pl_conn_write left: 0 when nothing is left, -1 with errno
 * EAGAIN if the socket has no room yet, -1 on failure. */
int pl_conn_flush(struct pl_conn *c);
/* 1 if sealed bytes wait for pl_conn_flush() (userspace datapath). */
int pl_conn_want_write(struct pl_conn *c);
/*
 * Content bytes of a full record: 2^14 - eem_len in covered framing (so
 * that a full record is as long on the wire as a stock TLS stack's,
 * SPEC 6), 2^14 in detached.  Writes of a multiple of it leave no short
 * record behind (in both datapaths).
 */
size_t pl_conn_record_max(const struct pl_conn *c);
/* Send close_notify (if cfg->close_notify) and shut the sending half. */
int pl_conn_shutdown(struct pl_conn *c);
/* Send a KeyUpdate, asking the peer for one too if request_peer. */
int pl_conn_key_update(struct pl_conn *c, int request_peer);
/* 1 if pl_conn_read can return data or an event without the socket
 * becoming readable (for poll loops on the userspace datapath). */
int pl_conn_pending(const struct pl_conn *c);
/* The socket.  On the kernel datapath it may be used directly (send,
 * recv, sendfile, splice); on the userspace one it must not be. */
int pl_conn_fd(const struct pl_conn *c);
enum pl_datapath pl_conn_datapath(const struct pl_conn *c);
/* PLASMATIC_END_* of <linux/plasmatic.h>: how the receive stream ended. */
int pl_conn_end(const struct pl_conn *c);
const struct pl_error *pl_conn_error(const struct pl_conn *c);
void pl_conn_free(struct pl_conn *c);

/* ---- Traffic shaping (SPEC 9; struct pl_config tpl_mode) ---- */

#define PL_TPL_MODE_MAX	8	/* modes 0 .. 8 */

/*
 * Ask the peer to shape its records: a Seed Update (mode 0..8, seed, LOCK
 * if lock) rides in the EEM of the next record this end seals, of any type
 * (a later call before then replaces it).  The peer sends in that mode from
 * the first record it draws after it has read that record.  A Seed Update
 * the peer sends us is applied to our own sending the same way.  0, or -1:
 * a bad mode (PL_E_INVAL), the connection failed, or (kernel datapath) the
 * module refused it (PL_E_KERNEL, errno set); only the failed connection's
 * error is sticky.  Safe to call while another thread reads or writes.
 */
int pl_conn_seed_update(struct pl_conn *c, int mode, uint64_t seed, int lock);

struct pl_tpl_state {
	int mode;		/* mode of our next record (before rotation) */
	int lock;		/* 1: no rotation */
	int su_queued;		/* a Seed Update waits for our next record */
	uint64_t draws;		/* draw counter since the state was set */
	uint64_t records;	/* records shaped (sent in modes 1..8) */
	uint64_t pad_bytes;	/* TLS 1.3 padding bytes in them */
	uint64_t su_sent;	/* Seed Updates sent (the opening's too) */
	uint64_t su_applied;	/* Seed Updates received and applied (at
				 * our first draw after they arrived) */
};
/* Our transmit shaping state: 0, or -1 (kernel datapath: a module
 * without PLASMATIC_TPL_TX; not sticky). */
int pl_conn_tpl_state(struct pl_conn *c, struct pl_tpl_state *st);

struct pl_conn_info {
	enum pl_datapath datapath;	/* KERNEL or USERSPACE */
	uint16_t suite;			/* 0x1301, 0x1302, 0x1303 */
	const char *suite_name;		/* "TLS_AES_128_GCM_SHA256", ... */
	uint8_t framing;
	uint8_t eem_len;
	int psk;			/* 1 if a PSK is mixed in */
	int kernel_key_update;		/* kernel got the secrets (KeyUpdate) */
	char alpn[64];			/* negotiated protocol or "" */
	uint64_t records_in, records_out; /* userspace datapath only */
	uint64_t key_updates_in, key_updates_out;
};
int pl_conn_info(const struct pl_conn *c, struct pl_conn_info *info);

const char *pl_datapath_name(enum pl_datapath dp);
const char *pl_framing_name(uint8_t framing);

#ifdef __cplusplus
}
#endif
#endif /* PLASMATIC_LIB_H */
