// SPDX-License-Identifier: GPL-2.0
/*
 * A SOCKS5 client for proxy_test.sh, for what curl does not do: half-close
 * (stdin's end is passed on with shutdown(SHUT_WR) while the answer is
 * still read), a chosen address type, a stream held open.
 *
 *   socks_client PROXY-IP PROXY-PORT DEST DEST-PORT [hold]
 *
 * DEST is sent as IPv4 or IPv6 if it is one, else as a name.  After the
 * reply, stdin goes to the stream (then SHUT_WR) and the stream to stdout,
 * until both ended; with "hold", "open" is printed on stdout and the
 * stream is held until stdin ends.  Exit status: 0, 1 on an I/O error,
 * 2 for bad arguments, 10 + the reply code when the reply is not 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int read_full(int fd, unsigned char *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);

		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (void *)&ss;
	struct sockaddr_in6 *s6 = (void *)&ss;
	unsigned char req[300], rep[262];
	size_t n = 0;
	int fd, port, dport, in_open = 1, out_open = 1;
	int hold = argc == 6 && !strcmp(argv[5], "hold");
	char buf[65536];

	if (argc != 5 && !hold) {
		fprintf(stderr, "usage: socks_client PROXY-IP PROXY-PORT DEST DEST-PORT [hold]\n");
		return 2;
	}
	port = atoi(argv[2]);
	dport = atoi(argv[4]);
	if (inet_pton(AF_INET, argv[1], &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, argv[1], &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
	} else {
		return 2;
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sizeof(ss))) {
		perror("socks_client: connect");
		return 1;
	}
	if (write_full(fd, "\x05\x01\x00", 3) || read_full(fd, rep, 2) ||
	    rep[0] != 5 || rep[1] != 0) {
		fprintf(stderr, "socks_client: method negotiation failed\n");
		return 1;
	}
	req[n++] = 5;
	req[n++] = 1;
	req[n++] = 0;
	if (inet_pton(AF_INET, argv[3], req + n + 1) == 1) {
		req[n] = 1;
		n += 5;
	} else if (inet_pton(AF_INET6, argv[3], req + n + 1) == 1) {
		req[n] = 4;
		n += 17;
	} else {
		size_t len = strlen(argv[3]);

		if (len > 255)
			return 2;
		req[n++] = 3;
		req[n++] = (unsigned char)len;
		memcpy(req + n, argv[3], len);
		n += len;
	}
	req[n++] = (unsigned char)(dport >> 8);
	req[n++] = (unsigned char)dport;
	if (write_full(fd, req, n) || read_full(fd, rep, 4)) {
		fprintf(stderr, "socks_client: no reply\n");
		return 1;
	}
	fprintf(stderr, "socks_client: reply %u\n", rep[1]);
	if (rep[1])
		return 10 + rep[1];
	/* BND.ADDR and BND.PORT */
	if (read_full(fd, rep + 4, rep[3] == 4 ? 18 : rep[3] == 1 ? 6 : 0))
		return 1;
	if (hold) {
		printf("open\n");
		fflush(stdout);
		while (read(0, buf, sizeof(buf)) > 0)
			;
		return 0;
	}
	while (in_open || out_open) {
		struct pollfd p[2] = {
			{ .fd = in_open ? 0 : -1, .events = POLLIN },
			{ .fd = out_open ? fd : -1, .events = POLLIN },
		};
		ssize_t r;

		if (poll(p, 2, -1) < 0)
			return 1;
		if (p[0].revents) {
			r = read(0, buf, sizeof(buf));
			if (r < 0)
				return 1;
			if (r == 0) {
				shutdown(fd, SHUT_WR);
				in_open = 0;
			} else if (write_full(fd, buf, (size_t)r)) {
				return 1;
			}
		}
		if (p[1].revents) {
			r = read(fd, buf, sizeof(buf));
			if (r < 0)
				return 1;
			if (r == 0)
				out_open = 0;
			else if (write_full(1, buf, (size_t)r))
				return 1;
		}
	}
	return 0;
}
