// SPDX-License-Identifier: GPL-2.0
/*
 * many_get: hold N Plasmatic connections to a `plasmatic serve` at once,
 * then ask each for one file (serve_test.sh's thousand connections).
 *
 *   many_get HOST PORT CA_FILE N PATH EXPECT [kernel|userspace|auto]
 *
 * One thread per connection, with a small stack: TCP connect and
 * pl_connect (at most 32 handshakes under way at a time, so that the
 * server's accept queue is not what is tested), then every thread waits
 * until all N are connected, so that N are held at once; then each sends
 * "GET PATH" with Connection: close and reads to the end, and the body
 * must be EXPECT.  Prints how many connected and how many were answered,
 * and the first failures; exits 0 only if all N were answered.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plasmatic.h"

struct shared {
	struct pl_ctx *ctx;
	struct sockaddr_in addr;
	const char *path, *expect;
	sem_t handshakes;		/* at most 32 under way */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int n, done;			/* threads, and those past the handshake */
	int connected, answered, reported;
};

struct one {
	struct shared *sh;
	int i;
};

static void report(struct shared *sh, int i, const char *what, const char *why)
{
	pthread_mutex_lock(&sh->mu);
	if (sh->reported++ < 5)
		fprintf(stderr, "many_get: connection %d: %s: %s\n", i, what, why);
	pthread_mutex_unlock(&sh->mu);
}

/* Past the handshake (ok or not); wait until every thread is. */
static void arrive(struct shared *sh, int ok)
{
	pthread_mutex_lock(&sh->mu);
	sh->done++;
	sh->connected += ok;
	if (sh->done == sh->n)
		pthread_cond_broadcast(&sh->cv);
	while (sh->done < sh->n)
		pthread_cond_wait(&sh->cv, &sh->mu);
	pthread_mutex_unlock(&sh->mu);
}

static void *one_main(void *arg)
{
	struct one *o = arg;
	struct shared *sh = o->sh;
	struct pl_conn *c = NULL;
	char req[512], resp[4096];
	struct pl_error err;
	size_t got = 0;
	const char *body;
	int fd, ok = 0;

	sem_wait(&sh->handshakes);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sh->addr, sizeof(sh->addr))) {
		report(sh, o->i, "connect", strerror(errno));
	} else {
		c = pl_connect(sh->ctx, fd, NULL, &err);
		if (!c)
			report(sh, o->i, "handshake", err.msg);
		ok = c != NULL;
	}
	sem_post(&sh->handshakes);
	arrive(sh, ok);
	if (!c)
		goto out;

	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		 sh->path);
	if (pl_conn_write(c, req, strlen(req)) != (ssize_t)strlen(req)) {
		report(sh, o->i, "write", pl_conn_error(c)->msg);
		goto out;
	}
	for (;;) {
		ssize_t n = pl_conn_read(c, resp + got, sizeof(resp) - 1 - got);

		if (n < 0) {
			report(sh, o->i, "read", pl_conn_error(c)->msg);
			goto out;
		}
		if (!n || got + (size_t)n == sizeof(resp) - 1)
			break;
		got += (size_t)n;
	}
	resp[got] = 0;
	body = strstr(resp, "\r\n\r\n");
	if (strncmp(resp, "HTTP/1.1 200 ", 13) || !body ||
	    strcmp(body + 4, sh->expect)) {
		report(sh, o->i, "answer", resp);
		goto out;
	}
	pthread_mutex_lock(&sh->mu);
	sh->answered++;
	pthread_mutex_unlock(&sh->mu);
out:
	pl_conn_free(c);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static enum pl_datapath datapath(const char *s)
{
	if (!s || !strcmp(s, "auto"))
		return PL_DATAPATH_AUTO;
	return strcmp(s, "kernel") ? PL_DATAPATH_USERSPACE : PL_DATAPATH_KERNEL;
}

int main(int argc, char **argv)
{
	struct shared sh = { .path = NULL };
	struct pl_config cfg;
	struct pl_error err;
	pthread_attr_t attr;
	struct one *ones;
	pthread_t *th;
	struct rlimit rl;
	int n, started = 0;

	if (argc < 7 || argc > 8) {
		fprintf(stderr, "usage: many_get HOST PORT CA_FILE N PATH EXPECT [DATAPATH]\n");
		return 2;
	}
	n = atoi(argv[4]);
	if (n < 1 || n > 100000) {
		fprintf(stderr, "many_get: N from 1 to 100000\n");
		return 2;
	}
	/* N sockets, and the library's own. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < (rlim_t)n + 64) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)n + 64 ? rl.rlim_max : (rlim_t)n + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	sh.addr.sin_family = AF_INET;
	sh.addr.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sh.addr.sin_addr) != 1) {
		fprintf(stderr, "many_get: HOST: an IPv4 address\n");
		return 2;
	}
	pl_config_init(&cfg, PL_ROLE_CLIENT);
	cfg.ca_file = argv[3];
	cfg.hostname = "localhost";
	cfg.datapath = datapath(argc > 7 ? argv[7] : NULL);
	sh.ctx = pl_ctx_new(&cfg, &err);
	if (!sh.ctx) {
		fprintf(stderr, "many_get: %s\n", err.msg);
		return 1;
	}
	sh.path = argv[5];
	sh.expect = argv[6];
	sh.n = n;
	sem_init(&sh.handshakes, 0, 32);
	pthread_mutex_init(&sh.mu, NULL);
	pthread_cond_init(&sh.cv, NULL);
	ones = calloc((size_t)n, sizeof(*ones));
	th = calloc((size_t)n, sizeof(*th));
	if (!ones || !th)
		return 1;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 0; i < n; i++) {
		ones[i].sh = &sh;
		ones[i].i = i;
		if (pthread_create(&th[i], &attr, one_main, &ones[i])) {
			fprintf(stderr, "many_get: thread %d: %s\n", i, strerror(errno));
			/* The ones started must not wait for the others. */
			pthread_mutex_lock(&sh.mu);
			sh.n = started;
			pthread_cond_broadcast(&sh.cv);
			pthread_mutex_unlock(&sh.mu);
			break;
		}
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	printf("many_get: %d connections held at once, %d answered\n",
	       sh.connected, sh.answered);
	pl_ctx_free(sh.ctx);
	free(ones);
	free(th);
	return sh.connected == n && sh.answered == n ? 0 : 1;
}
