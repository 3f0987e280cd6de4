// SPDX-License-Identifier: GPL-2.0
/* What proxy and relay share (tunreq.h): the stream request, the copying. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tunnel.h"
#include "tunreq.h"

size_t tr_encode(const struct tunreq *r, uint8_t *out)
{
	size_t n = 0;

	out[n++] = TR_VERSION;
	out[n++] = r->atyp;
	switch (r->atyp) {
	case TR_IPV4:
		memcpy(out + n, r->addr, 4);
		n += 4;
		break;
	case TR_IPV6:
		memcpy(out + n, r->addr, 16);
		n += 16;
		break;
	default:
		out[n++] = r->len;
		memcpy(out + n, r->addr, r->len);
		n += r->len;
		break;
	}
	out[n++] = (uint8_t)(r->port >> 8);
	out[n++] = (uint8_t)r->port;
	return n;
}

int tr_read_fd(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int tr_read_conn(struct pl_conn *c, void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		ssize_t r = pl_conn_read(c, p, n);

		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int tr_write_fd(int fd, const void *buf, size_t n)
{
	return write_all(fd, buf, n, true);
}

int tr_accept(int lfd, struct sockaddr_storage *ss, socklen_t *sl)
{
	for (;;) {
		int fd;

		*sl = sizeof(*ss);
		fd = accept4(lfd, (struct sockaddr *)ss, sl, SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno == EMFILE || errno == ENFILE)
			usleep(100000);
		else if (errno != EINTR && errno != ECONNABORTED)
			break;
	}
	msg("accept: %s", strerror(errno));
	return -1;
}

int tr_read(struct pl_conn *c, struct tunreq *r)
{
	uint8_t hdr[2], port[2];

	memset(r, 0, sizeof(*r));
	if (tr_read_conn(c, hdr, 2))
		return -1;
	if (hdr[0] != TR_VERSION)
		return TR_FAIL;
	r->atyp = hdr[1];
	switch (r->atyp) {
	case TR_IPV4:
		r->len = 4;
		break;
	case TR_IPV6:
		r->len = 16;
		break;
	case TR_NAME:
		if (tr_read_conn(c, &r->len, 1))
			return -1;
		if (!r->len)
			return TR_FAIL;
		break;
	default:
		return TR_BAD_ATYP;
	}
	if (tr_read_conn(c, r->addr, r->len) || tr_read_conn(c, port, 2))
		return -1;
	r->port = (uint16_t)(port[0] << 8 | port[1]);
	if (r->atyp == TR_NAME && memchr(r->addr, 0, r->len))
		return TR_FAIL;
	return 0;
}

void tr_str(const struct tunreq *r, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	switch (r->atyp) {
	case TR_IPV4:
		inet_ntop(AF_INET, r->addr, a, sizeof(a));
		snprintf(out, len, "%s:%u", a, r->port);
		break;
	case TR_IPV6:
		inet_ntop(AF_INET6, r->addr, a, sizeof(a));
		snprintf(out, len, "[%s]:%u", a, r->port);
		break;
	default:
		snprintf(out, len, "%.*s:%u", (int)r->len, (const char *)r->addr,
			 r->port);
		break;
	}
}

const char *tr_status_str(int st)
{
	switch (st) {
	case TR_OK:
		return "succeeded";
	case TR_NOT_ALLOWED:
		return "not allowed by the relay's address policy";
	case TR_NET_UNREACH:
		return "network unreachable";
	case TR_HOST_UNREACH:
		return "host unreachable";
	case TR_REFUSED:
		return "connection refused";
	case TR_BAD_CMD:
		return "command not supported";
	case TR_BAD_ATYP:
		return "address type not supported";
	}
	return "general failure";
}

void tr_rcvtimeo(int fd, int sec)
{
	struct timeval tv = { .tv_sec = sec };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

int tr_thread(void *(*fn)(void *), void *arg)
{
	pthread_attr_t at;
	pthread_t th;
	int rc;

	if (pthread_attr_init(&at))
		return -1;
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 512 * 1024);
	rc = pthread_create(&th, &at, fn, arg);
	pthread_attr_destroy(&at);
	return rc ? -1 : 0;
}

#define PUMP_BUF	(64 * 1024)

struct pump {
	struct pl_conn *c;
	int fd;
	int failed;		/* fd -> c ended in an error */
};

/* Both sockets shut: whichever direction still blocks returns. */
static void pump_abort(struct pump *p)
{
	shutdown(p->fd, SHUT_RDWR);
	shutdown(pl_conn_fd(p->c), SHUT_RDWR);
}

/* fd -> c: whole records where the data comes fast enough. */
static void *pump_up(void *arg)
{
	struct pump *p = arg;
	size_t rec = pl_conn_record_max(p->c);
	size_t want = PUMP_BUF / rec * rec;
	char *buf = malloc(PUMP_BUF);
	ssize_t n;

	if (!buf) {
		p->failed = 1;
		pump_abort(p);
		return NULL;
	}
	for (;;) {
		n = read(p->fd, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			p->failed = 1;
			pump_abort(p);
			break;
		}
		if (n == 0) {
			if (pl_conn_shutdown(p->c) && pl_conn_error(p->c)->code) {
				p->failed = 1;
				pump_abort(p);
			}
			break;
		}
		if (pl_conn_write(p->c, buf, (size_t)n) < 0) {
			p->failed = 1;
			pump_abort(p);
			break;
		}
	}
	free(buf);
	return NULL;
}

int tr_pump(struct pl_conn *c, int fd)
{
	struct pump p = { .c = c, .fd = fd };
	char *buf = malloc(PUMP_BUF);
	pthread_attr_t at;
	pthread_t th;
	int failed = 0, one = 1;
	ssize_t n;

	/*
	 * What a read gives goes out at once, on both sockets (as nginx's
	 * tcp_nodelay): Nagle would hold a record's tail for the peer's
	 * delayed ACK.
	 */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(pl_conn_fd(c), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	if (!buf || pthread_attr_init(&at)) {
		free(buf);
		return -1;
	}
	pthread_attr_setstacksize(&at, 256 * 1024);
	if (pthread_create(&th, &at, pump_up, &p)) {
		pthread_attr_destroy(&at);
		free(buf);
		return -1;
	}
	pthread_attr_destroy(&at);
	for (;;) {
		n = pl_conn_read(c, buf, PUMP_BUF);
		if (n < 0) {
			failed = 1;
			pump_abort(&p);
			break;
		}
		if (n == 0) {
			shutdown(fd, SHUT_WR);
			break;
		}
		if (tr_write_fd(fd, buf, (size_t)n)) {
			failed = 1;
			pump_abort(&p);
			break;
		}
	}
	pthread_join(th, NULL);
	free(buf);
	return failed || p.failed ? -1 : 0;
}
