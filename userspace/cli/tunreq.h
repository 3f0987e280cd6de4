/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What `plasmatic proxy` and `plasmatic relay` share (tunreq.c): the
 * request a stream starts with inside its Plasmatic connection, the
 * relay's one-byte answer, and the copying of a stream's bytes both ways.
 *
 * The request (proxy -> relay, the first application bytes; SOCKS5's
 * address encoding after a version byte, README "plasmatic proxy"):
 *
 *	VER (1 byte, 0x01) | ATYP (1) | ADDR | PORT (2, big endian)
 *	ATYP 0x01: ADDR is 4 bytes of IPv4
 *	ATYP 0x03: ADDR is 1 byte N (1..255) and N bytes of a host name
 *	ATYP 0x04: ADDR is 16 bytes of IPv6
 *
 * The answer (relay -> proxy): one byte, a SOCKS5 reply code (enum
 * tr_status).  After 0x00 the connection carries the stream's bytes both
 * ways; after another the relay closes it.
 */
#ifndef PLASMATIC_CLI_TUNREQ_H
#define PLASMATIC_CLI_TUNREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "plasmatic.h"

#define TR_VERSION	1
#define TR_MAX		(1 + 1 + 1 + 255 + 2)	/* longest request */

enum { TR_IPV4 = 1, TR_NAME = 3, TR_IPV6 = 4 };

enum tr_status {
	TR_OK = 0x00,
	TR_FAIL = 0x01,		/* general failure */
	TR_NOT_ALLOWED = 0x02,	/* the relay's address policy refused it */
	TR_NET_UNREACH = 0x03,
	TR_HOST_UNREACH = 0x04,	/* also: no address, or connect timed out */
	TR_REFUSED = 0x05,
	TR_BAD_CMD = 0x07,	/* SOCKS only: not CONNECT */
	TR_BAD_ATYP = 0x08,
};

struct tunreq {
	uint8_t atyp;
	uint8_t len;		/* TR_NAME: the name's length */
	uint8_t addr[256];	/* 4 or 16 bytes, or the name (NUL ended) */
	uint16_t port;		/* host order */
};

/* The request's bytes: their number (at most TR_MAX). */
size_t tr_encode(const struct tunreq *r, uint8_t *out);
/*
 * Read a request from c: 0; -1 if the connection failed or ended; or a
 * tr_status (TR_FAIL: not version 1, a name of length 0 or with a NUL;
 * TR_BAD_ATYP) after which the relay answers and closes.
 */
int tr_read(struct pl_conn *c, struct tunreq *r);
/* "1.2.3.4:80", "[::1]:80", "name:80". */
void tr_str(const struct tunreq *r, char *out, size_t len);
/* A short text for a status ("not allowed by the relay's policy"). */
const char *tr_status_str(int st);

/* Read exactly n bytes: 0, or -1 (error, or end of data first). */
int tr_read_fd(int fd, void *buf, size_t n);
int tr_read_conn(struct pl_conn *c, void *buf, size_t n);
/*
 * The next connection on the listening socket lfd (close-on-exec), its
 * address in ss and sl: again after EINTR and ECONNABORTED, and 100 ms
 * later when out of descriptors (EMFILE, ENFILE).  -1 after a message on
 * any other error.
 */
int tr_accept(int lfd, struct sockaddr_storage *ss, socklen_t *sl);
/* Write all n bytes to fd (a socket: without SIGPIPE): write_all(, true). */
int tr_write_fd(int fd, const void *buf, size_t n);

/*
 * Copy fd -> c (in a second thread) and c -> fd (here) until both
 * directions ended: the end of one side's data is passed on as such
 * (pl_conn_shutdown: close_notify and FIN; shutdown(fd, SHUT_WR)), so a
 * half-closed stream keeps flowing the other way.  On an error both
 * sockets are shut down, which ends the other direction too.  0 if both
 * ended cleanly, else -1.  The caller frees c and closes fd.
 */
int tr_pump(struct pl_conn *c, int fd);

/* A detached thread running fn(arg) with a stack of 512 KiB: 0, or -1. */
int tr_thread(void *(*fn)(void *), void *arg);

/* Socket receive timeout, seconds (0: none). */
void tr_rcvtimeo(int fd, int sec);

#endif
