// SPDX-License-Identifier: GPL-2.0
/*
 * kmod_smoke: kernel <-> kernel over loopback, every suite x framing.
 *
 * Upgrades both ends of a TCP pair with plasmatic.ko (already loaded),
 * sends 1 MiB each way with mixed write sizes and checks it byte for
 * byte.  With an argument, keeps the last pair open that many seconds
 * (for ss -tie and the tracepoints).  Exit status 0 if all passed.
 *
 *   gcc -O2 -Wall -Iinclude/uapi -o build/selftests/kmod_smoke \
 *       selftests/kmod_smoke.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/plasmatic.h>

#define XFER (1 << 20)

static void pair(int *a, int *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (void *)&sin, len) || listen(l, 1) ||
	    getsockname(l, (void *)&sin, &len))
		exit(2);
	*a = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*a, (void *)&sin, len))
		exit(2);
	*b = accept(l, NULL, NULL);
	close(l);
}

static void fill(unsigned char *p, size_t n, unsigned char seed)
{
	while (n--)
		*p++ = seed++;
}

/* EEM and record keys for one direction; both ends derive the same. */
static int set_dir(int fd, int tx, unsigned short cipher, int framing,
		   unsigned char seed)
{
	struct plasmatic_eem_info e = {
		.version = PLASMATIC_EEM_VERSION_1,
		.framing = framing,
		.eem_len = PLASMATIC_EEM_LEN_DEFAULT,
	};
	union {
		struct tls_crypto_info info;
		struct tls12_crypto_info_aes_gcm_128 g128;
		struct tls12_crypto_info_aes_gcm_256 g256;
		struct tls12_crypto_info_chacha20_poly1305 c;
	} ci;
	size_t len;

	fill(e.key, sizeof(e.key), seed);
	fill(e.nonce, sizeof(e.nonce), seed + 100);
	e.nonce[4] &= 0x7f;
	memset(&ci, 0, sizeof(ci));
	fill((unsigned char *)&ci, sizeof(ci), seed + 50);
	memset(&ci.g128.rec_seq, 0, sizeof(ci.g128.rec_seq));
	switch (cipher) {
	case TLS_CIPHER_AES_GCM_128:
		len = sizeof(ci.g128);
		memset(ci.g128.rec_seq, 0, sizeof(ci.g128.rec_seq));
		break;
	case TLS_CIPHER_AES_GCM_256:
		len = sizeof(ci.g256);
		memset(ci.g256.rec_seq, 0, sizeof(ci.g256.rec_seq));
		break;
	default:
		len = sizeof(ci.c);
		memset(ci.c.rec_seq, 0, sizeof(ci.c.rec_seq));
		break;
	}
	ci.info.version = TLS_1_3_VERSION;
	ci.info.cipher_type = cipher;
	if (setsockopt(fd, SOL_PLASMATIC, tx ? PLASMATIC_EEM_TX : PLASMATIC_EEM_RX,
		       &e, sizeof(e)))
		return -1;
	return setsockopt(fd, SOL_PLASMATIC, tx ? PLASMATIC_TX : PLASMATIC_RX,
			  &ci, len);
}

static int upgrade(int fd, unsigned short cipher, int framing, int client)
{
	if (setsockopt(fd, SOL_TCP, TCP_ULP, PLASMATIC_ULP_NAME,
		       sizeof(PLASMATIC_ULP_NAME)))
		return -1;
	if (set_dir(fd, 1, cipher, framing, client ? 1 : 2))
		return -1;
	return set_dir(fd, 0, cipher, framing, client ? 2 : 1);
}

/* Send XFER bytes in writes of varying size while the child reads. */
static int one_way(int tx, int rx)
{
	unsigned char *out = malloc(XFER), *in = malloc(XFER);
	size_t off = 0, got = 0;
	pid_t pid;
	int st;

	fill(out, XFER, 7);
	pid = fork();
	if (!pid) {
		for (size_t n = 1; off < XFER; n = n * 3 + 1) {
			ssize_t r = send(tx, out + off,
					 n % 40000 < XFER - off ? n % 40000 + 1 : XFER - off,
					 n & 1 ? MSG_MORE : 0);

			if (r <= 0)
				_exit(1);
			off += r;
		}
		send(tx, "", 0, 0);
		_exit(0);
	}
	while (got < XFER) {
		ssize_t r = recv(rx, in + got, XFER - got, 0);

		if (r <= 0) {
			fprintf(stderr, "recv: %s\n", r ? strerror(errno) : "EOF");
			break;
		}
		got += r;
	}
	waitpid(pid, &st, 0);
	st = got == XFER && !memcmp(in, out, XFER) && WIFEXITED(st) &&
	     !WEXITSTATUS(st);
	free(in);
	free(out);
	return st ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct { unsigned short cipher; const char *name; } s[] = {
		{ TLS_CIPHER_AES_GCM_128, "aes128gcm" },
		{ TLS_CIPHER_AES_GCM_256, "aes256gcm" },
		{ TLS_CIPHER_CHACHA20_POLY1305, "chacha20" },
	};
	int fails = 0, passes = 0, a = -1, b = -1;

	for (int i = 0; i < 3; i++) {
		for (int framing = 0; framing < 2; framing++) {
			int ok;

			if (a >= 0) {
				close(a);
				close(b);
			}
			pair(&a, &b);
			ok = !upgrade(a, s[i].cipher, framing, 1) &&
			     !upgrade(b, s[i].cipher, framing, 0) &&
			     !one_way(a, b) && !one_way(b, a);
			printf("%s %s %s\n", ok ? "ok" : "not ok", s[i].name,
			       framing ? "covered" : "detached");
			ok ? passes++ : fails++;
		}
	}
	if (argc > 1)
		sleep(atoi(argv[1]));
	printf("%d passed, %d failed\n", passes, fails);
	return fails ? 1 : 0;
}
