/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Plasmatic: TLS 1.3 records followed by an Encrypted External Mount (EEM).
 *
 * The one header shared by plasmatic.ko, the userspace library and the tests.
 * SPEC.md in the source tree is the normative description of the wire format.
 *
 * Upgrade of an established TCP socket (kTLS users will feel at home):
 *
 *   setsockopt(fd, SOL_TCP, TCP_ULP, "plasmatic", sizeof("plasmatic"));
 *   setsockopt(fd, SOL_PLASMATIC, PLASMATIC_EEM_TX, &eem_tx, sizeof(eem_tx));
 *   setsockopt(fd, SOL_PLASMATIC, PLASMATIC_TX, &crypto_tx, sizeof(crypto_tx));
 *   setsockopt(fd, SOL_PLASMATIC, PLASMATIC_EEM_RX, &eem_rx, sizeof(eem_rx));
 *   setsockopt(fd, SOL_PLASMATIC, PLASMATIC_RX, &crypto_rx, sizeof(crypto_rx));
 *
 * PLASMATIC_TX and PLASMATIC_RX take the kTLS structures of <linux/tls.h>
 * (tls12_crypto_info_aes_gcm_128, _aes_gcm_256, _chacha20_poly1305) with
 * info.version == TLS_1_3_VERSION.  Order rules, per direction:
 *   - SOL_PLASMATIC options need the ULP first (else TCP answers ENOPROTOOPT);
 *   - keys (PLASMATIC_TX/RX or *_SECRET) need the EEM of the same direction
 *     first: without it they fail with ENOKEY;
 *   - every option may be set once: a second set gives EBUSY, but for
 *     the rekey of PLASMATIC_TX / PLASMATIC_RX (KeyUpdate, below);
 *   - a bad size gives EINVAL, an unknown cipher or a version other than
 *     TLS_1_3_VERSION gives EINVAL, a NULL optval gives EFAULT.
 *   - PLASMATIC_CLOSE_NOTIFY may be changed at any time;
 *   - PLASMATIC_KEY_UPDATE needs TX keys from PLASMATIC_TX_SECRET: without
 *     TX keys ENOKEY, with PLASMATIC_TX keys EOPNOTSUPP, a value other
 *     than PLASMATIC_KU_* EINVAL.
 * getsockopt returns what was set, with key material (keys, IVs, salts,
 * secrets, the EEM key and nonce) zeroed (kTLS returns keys; we
 * deliberately do not: no process needs them back); ENOENT if not set.
 *
 * Data path, once a direction has keys (as kTLS where not said otherwise):
 *   - sendmsg takes a PLASMATIC_RECORD_TYPE cmsg for other record types;
 *     such a record ends with its sendmsg (MSG_MORE with it: EINVAL);
 *   - sendfile makes full records.  splice into the socket on kernels
 *     from 6.5 on: what one call takes is sealed before it returns, in
 *     full records but for the last; SPLICE_F_MORE does not hold a
 *     record open across calls as it does with kTLS (there the kernel
 *     also sets it where no data follows, see kmod/compat.h);
 *   - recvmsg returns records of one type per call; a non-data record
 *     needs room for the cmsg, else EIO and the record stays;
 *   - a received close_notify ends the stream (0), FIN at a record
 *     boundary too (PLASMATIC_RX_END tells them apart); another alert is
 *     delivered as a record, then reads fail with ECONNRESET;
 *   - a record that fails a check (SPEC section 7): the kernel sends
 *     bad_record_mac, records before it are still read, then every read
 *     fails with the cause's errno, as kTLS's: EINVAL for a header that
 *     is not TLS 1.3's, EMSGSIZE for a length beyond the largest record,
 *     EBADMSG for any other (authentication, EEM, padding, ...); sends
 *     fail with EPIPE.
 *
 * KeyUpdate (SPEC.md 8.4), per direction by how its keys were set:
 *   - *_SECRET: the kernel rotates.  A received KeyUpdate is handled and
 *     not delivered (update_requested: the kernel sends its own before
 *     its next data if its TX keys are from a secret too; else, TX keys
 *     from PLASMATIC_TX or none yet, that KeyUpdate is delivered as a
 *     handshake record for the application to answer, RX having moved
 *     on already); PLASMATIC_KEY_UPDATE sends one.  Setting keys again:
 *     EBUSY.
 *   - PLASMATIC_TX / PLASMATIC_RX (kTLS structures): the application
 *     rotates, as with kTLS 6.14.  A received KeyUpdate (a handshake
 *     record whose first byte is the KeyUpdate type, as kTLS tells it) is
 *     delivered like any handshake record and no record behind it is
 *     opened: once it and
 *     everything before it have been read, recvmsg (MSG_PEEK too) and
 *     splice_read fail with EKEYEXPIRED and poll reports no POLLIN, until
 *     PLASMATIC_RX is set again with the next key; the records behind it
 *     wait in TCP and are opened with that key.  PLASMATIC_RX may be set
 *     again only while so stopped (at the latest from when a read or
 *     peek returns the KeyUpdate), else EBUSY; PLASMATIC_TX at any time,
 *     normally right after sending a KeyUpdate with the
 *     PLASMATIC_RECORD_TYPE cmsg (a record left open by MSG_MORE is
 *     sealed under the old key first).  The version and cipher must stay
 *     (else EINVAL); key, IV, salt and rec_seq (normally 0) are new; the
 *     EEM goes on (its nonces continue).  A failed set keeps the old key.
 *
 * PLASMATIC_RX_EXPECT_NO_PAD (int 0 or 1; set and get once RX keys are
 * set, EINVAL before), as kTLS's TLS_RX_EXPECT_NO_PAD: the application
 * expects the peer not to pad its records (TPL mode 0, SPEC section 9).
 * recvmsg into a user buffer with room for a whole record's content then
 * decrypts the record straight into that buffer, without the copy out of
 * a decrypted one.  A record that turns out to be padded or not data is
 * decrypted again in place and read as usual (correct, at twice the
 * decryption: PlasmaticRxNoPadViolation and PlasmaticRxDecryptRetry in
 * /proc/net/plasmatic_stat; PlasmaticRxDirectRecords counts the others).
 * As with kTLS, the buffer past what recvmsg returns may have been
 * written.  Not for MSG_PEEK, splice or in-kernel readers.
 *
 * Where plasmatic.ko deliberately differs from kTLS (6.1 .. 6.14):
 *   - TLS 1.3 only: TLS_1_2_VERSION keys are refused (EINVAL);
 *   - getsockopt never returns key material (zeroed, above);
 *   - PLASMATIC_RECORD_TYPE takes only alert (21), handshake (22) and
 *     application data (23): other types are refused with EINVAL (kTLS
 *     sends any type);
 *   - received records are parsed by the module from TCP's queue (a copy
 *     per record) rather than by kTLS's strparser; the options are at
 *     SOL_PLASMATIC (PLASMATIC_RX_EXPECT_NO_PAD for kTLS's), and there is
 *     no TLS_TX_ZEROCOPY_RO;
 *   - SPLICE_F_MORE does not hold a record open across splice calls
 *     (above);
 *   - no TLS device offload (TLS_HW): the EEM is sealed in software.
 */
#ifndef _UAPI_LINUX_PLASMATIC_H
#define _UAPI_LINUX_PLASMATIC_H

#include <linux/types.h>

#define PLASMATIC_ULP_NAME		"plasmatic"

/* Socket option level; far from the kernel's SOL_* numbers. */
#define SOL_PLASMATIC			0x504c

/* Socket options (setsockopt and getsockopt at SOL_PLASMATIC). */
#define PLASMATIC_TX			1	/* struct tls12_crypto_info_* */
#define PLASMATIC_RX			2	/* struct tls12_crypto_info_* */
#define PLASMATIC_EEM_TX		3	/* struct plasmatic_eem_info */
#define PLASMATIC_EEM_RX		4	/* struct plasmatic_eem_info */
#define PLASMATIC_TX_SECRET		5	/* struct plasmatic_secret_info */
#define PLASMATIC_RX_SECRET		6	/* struct plasmatic_secret_info */
#define PLASMATIC_CLOSE_NOTIFY		7	/* int: send close_notify */
#define PLASMATIC_KEY_UPDATE		8	/* int: PLASMATIC_KU_* (set only) */
#define PLASMATIC_RX_END		9	/* int: PLASMATIC_END_* (get only) */
/* PLASMATIC_TPL_TX: set struct plasmatic_tpl, get plasmatic_tpl_state */
#define PLASMATIC_TPL_TX		10
#define PLASMATIC_SEED_UPDATE		11	/* struct plasmatic_tpl (set only) */
#define PLASMATIC_TPL_SCHED		12	/* struct plasmatic_tpl_rec[] (get) */
#define PLASMATIC_PACE			13	/* struct plasmatic_pace_state (get) */
#define PLASMATIC_RX_EXPECT_NO_PAD	14	/* int: 0 or 1 (below) */

/* cmsg at SOL_PLASMATIC: __u8 TLS content type of a record. */
#define PLASMATIC_RECORD_TYPE		1

/* TLS 1.3 content types carried inside protected records. */
#define PLASMATIC_CT_ALERT		21
#define PLASMATIC_CT_HANDSHAKE		22
#define PLASMATIC_CT_APPLICATION_DATA	23

/* EEM framing (SPEC.md "Framings"). */
#define PLASMATIC_FRAMING_DETACHED	0	/* header length excludes EEM */
#define PLASMATIC_FRAMING_COVERED	1	/* header length includes EEM */

#define PLASMATIC_EEM_VERSION_1		1
#define PLASMATIC_EEM_KEY_SIZE		32
#define PLASMATIC_EEM_NONCE_SIZE	12
#define PLASMATIC_EEM_TAG_SIZE		16
#define PLASMATIC_EEM_LEN_DEFAULT	80
#define PLASMATIC_EEM_LEN_MIN		48
#define PLASMATIC_EEM_LEN_MAX		255

/* PLASMATIC_EEM_TX / PLASMATIC_EEM_RX */
struct plasmatic_eem_info {
	__u16 version;		/* PLASMATIC_EEM_VERSION_1 */
	__u8 framing;		/* PLASMATIC_FRAMING_* */
	__u8 eem_len;		/* bytes on the wire, tag included */
	__u8 key[PLASMATIC_EEM_KEY_SIZE];
	__u8 nonce[PLASMATIC_EEM_NONCE_SIZE];	/* first EEM nonce */
	__u8 reserved[4];	/* must be zero */
};

/*
 * PLASMATIC_TX_SECRET / PLASMATIC_RX_SECRET: the kernel derives the record
 * key and IV from the TLS 1.3 application traffic secret itself and can
 * then perform KeyUpdate without userspace.
 */
#define PLASMATIC_SECRET_MAX		48
struct plasmatic_secret_info {
	__u16 version;		/* TLS_1_3_VERSION */
	__u16 cipher_type;	/* TLS_CIPHER_* of <linux/tls.h> */
	__u8 rec_seq[8];	/* big endian record sequence number */
	__u8 secret[PLASMATIC_SECRET_MAX];	/* hash length used */
};

/* PLASMATIC_KEY_UPDATE values. */
#define PLASMATIC_KU_NOT_REQUESTED	0
#define PLASMATIC_KU_REQUESTED		1

/* PLASMATIC_RX_END values: how the receive stream ended. */
#define PLASMATIC_END_NONE		0	/* not ended */
#define PLASMATIC_END_CLOSE_NOTIFY	1	/* clean: close_notify seen */
#define PLASMATIC_END_TRUNCATED		2	/* TCP FIN without close_notify */
#define PLASMATIC_END_ERROR		3	/* record failed; fatal */

/*
 * Traffic Pattern Library (SPEC.md section 9): the sizes of the records we
 * send, and the delay before each (computed here, enforced by the pacer).
 *
 *   - PLASMATIC_TPL_TX sets our transmit shaping state (mode, seed, LOCK),
 *     draw counter 0, from the next record on (a record already open under
 *     MSG_MORE keeps its size).  It may be set before or after the keys and
 *     any number of times.  Without it a socket sends in mode 0 (records
 *     as written, unpadded) with seed 0, unlocked.  getsockopt returns
 *     struct plasmatic_tpl_state (the seed is not returned).
 *   - In modes 1..8 every application_data record is exactly its size
 *     draw on the wire (content plus TLS 1.3 zero padding): a send is split
 *     into records of the drawn sizes, the last one padded unless MSG_MORE
 *     holds it open.  How data is written (send sizes, MSG_MORE, sendfile,
 *     splice, a sender blocked on TCP) changes what a record holds, never
 *     its size.  Each record starts a TCP segment of its own (the socket
 *     marks the end of each record as MSG_EOR does).  Mode 0 is unshaped
 *     and unchanged.  Alerts, KeyUpdates and other non-data records take no
 *     draw and are never padded.
 *   - PLASMATIC_SEED_UPDATE asks the peer to shape its own transmit
 *     direction: the update rides in the EEM of the next record we seal
 *     (whatever its type; a later set before then replaces it).  Needs TX
 *     keys (else ENOKEY).  A Seed Update the peer sends us is applied to
 *     our transmit state from the first record we draw after the kernel
 *     has accepted the record carrying it (SPEC 9.4).
 *   - Unlocked, a shaped mode rotates every 1024 shaped records (SPEC 9.4).
 *   - PLASMATIC_TPL_SCHED returns the schedule of the most recent shaped
 *     records, oldest first, as many as fit in optlen (up to
 *     PLASMATIC_TPL_SCHED_LEN; optlen is set to what was written): where
 *     each lies in the TCP sequence space and its delay draw, for a pacer
 *     at the qdisc.  A segment below the end of the highest sequence range
 *     already sent is a retransmission, and gets no delay of its own.
 *   - Errors: a mode above 8, a flag other than PLASMATIC_TPL_LOCK or a
 *     non-zero reserved byte gives EINVAL, as does a wrong optlen.
 */
#define PLASMATIC_TPL_MODES		9	/* modes 0 .. 8 */
#define PLASMATIC_TPL_LOCK		0x01	/* no rotation (SPEC 9.4) */
#define PLASMATIC_TPL_SCHED_LEN		64	/* entries kept per socket */

struct plasmatic_tpl {
	__u8 mode;		/* 0 .. PLASMATIC_TPL_MODES - 1 */
	__u8 flags;		/* PLASMATIC_TPL_LOCK */
	__u8 reserved[6];	/* must be zero */
	__u64 seed;
};

struct plasmatic_tpl_state {
	__u8 mode;		/* mode of the next record (before rotation) */
	__u8 flags;		/* PLASMATIC_TPL_LOCK */
	__u8 su_queued;		/* a Seed Update waits for our next record */
	__u8 reserved[5];
	__u64 draws;		/* draw counter since the state was set */
	__u64 records;		/* records shaped (that took draws) */
	__u64 pad_bytes;	/* TLS 1.3 padding bytes sent in them */
	__u64 su_sent;		/* Seed Updates sent */
	__u64 su_applied;	/* Seed Updates received and applied */
};

struct plasmatic_tpl_rec {
	__u64 index;		/* shaped record number on this socket, from 0 */
	__u32 seq;		/* TCP sequence number of its first byte */
	__u32 len;		/* bytes on the wire: header to EEM */
	__u32 delay_us;		/* delay draw: gap before it departs */
	__u8 mode;		/* mode it was drawn in */
	__u8 reserved[3];
};

/*
 * Pacing at the qdisc (SPEC 9.5; bpf/README.md).  The delay of each shaped
 * record is enforced by a BPF program in the transmit path (tc egress with
 * the fq qdisc, or a BPF qdisc), which asks the module for each TCP
 * segment's departure time through the kfunc
 *
 *	u64 bpf_plasmatic_departure(struct __sk_buff *skb, u32 scale);
 *
 * It returns a CLOCK_MONOTONIC time in ns, or 0 when the segment is not
 * ours to time: another socket, no payload, a retransmission (a segment
 * that ends at or below the highest sequence number already seen leaving,
 * which goes out at once), or data of no shaped record.  A segment that
 * starts a shaped record departs at max(now, departure of the previous
 * shaped record + its delay draw x scale / 1000); the other segments of
 * the record take the same time.  scale is 1000 for the drawn delays;
 * tests use others to fit long modes in a short run.  Records are queued
 * for the pacer when they reach TCP and dropped once TCP has sent past
 * them, so a socket without a pacer keeps only the records not yet sent.
 *
 * PLASMATIC_PACE returns the counters below (all zero before the first
 * shaped record).
 */
struct plasmatic_pace_state {
	__u64 queued;		/* shaped records waiting for their first byte */
	__u64 paced;		/* records given a departure time */
	__u64 retrans;		/* segments let through as retransmissions */
	__u64 late;		/* records sent before a pacer saw them */
	__u64 overflow;		/* records not queued: queue at its limit */
	__u64 last_departure_ns;	/* of the newest paced record */
};

/*
 * INET_DIAG_ULP_INFO carries INET_ULP_INFO_NAME ("plasmatic") and a nest of
 * this type holding the PLASMATIC_INFO_* attributes (ss -tie).
 */
#define PLASMATIC_INET_ULP_INFO		0x50

/* INET_DIAG_ULP_INFO nested attributes (ss -tie). */
enum {
	PLASMATIC_INFO_UNSPEC,
	PLASMATIC_INFO_VERSION,		/* u16 */
	PLASMATIC_INFO_TX_CIPHER,	/* u16 TLS_CIPHER_* */
	PLASMATIC_INFO_RX_CIPHER,	/* u16 TLS_CIPHER_* */
	PLASMATIC_INFO_FRAMING,		/* u8 PLASMATIC_FRAMING_* */
	PLASMATIC_INFO_EEM_LEN,		/* u8 */
	PLASMATIC_INFO_TPL_MODE,	/* u8: TX mode */
	PLASMATIC_INFO_TPL_RECORDS,	/* u64: records shaped */
	PLASMATIC_INFO_TPL_PAD,		/* u64: padding bytes sent */
	PLASMATIC_INFO_SU_SENT,		/* u64 */
	PLASMATIC_INFO_SU_APPLIED,	/* u64 */
	PLASMATIC_INFO_RX_NO_PAD,	/* flag: PLASMATIC_RX_EXPECT_NO_PAD */
	__PLASMATIC_INFO_MAX,
};

#define PLASMATIC_INFO_MAX (__PLASMATIC_INFO_MAX - 1)

#endif /* _UAPI_LINUX_PLASMATIC_H */
