// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of http.c (serve's and get's HTTP): request parsing, the
 * target to a path, opening under a directory (path escapes), Range,
 * dates.  TAP.  Built with the plasmatic command (plain and ASan):
 * build/userspace/cli{,-san}/http_test [SCRATCH_DIR].
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"

static int n, failed;

static void check(int cond, const char *what)
{
	n++;
	if (!cond)
		failed++;
	printf("%sok %d %s\n", cond ? "" : "not ", n, what);
}

static long parse(const char *s, struct http_req *r)
{
	return http_parse(s, strlen(s), r);
}

static void test_parse(void)
{
	struct http_req r;
	char big[HTTP_HEAD_MAX + 64];
	const char *ok = "GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\nRange: bytes=1-2\r\n"
			 "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
			 "User-Agent: t \"q\"\r\n\r\nGET /next";
	long rc = parse(ok, &r);

	check(rc == (long)(strstr(ok, "\r\n\r\n") + 4 - ok), "parse: head length");
	check(r.method == HTTP_GET && r.minor == 1 && r.keep_alive,
	      "parse: GET HTTP/1.1 keep-alive");
	check(r.target_len == 8 && !memcmp(r.target, "/a/b?x=1", 8),
	      "parse: target");
	check(r.range && !strcmp(r.range, "bytes=1-2"), "parse: Range");
	check(r.has_ims && r.ims == 784111777, "parse: If-Modified-Since");
	check(parse("GET / HTTP/1.1\r\nHost: h\r\n", &r) == 0,
	      "parse: incomplete head: 0");
	check(parse("HEAD / HTTP/1.0\n\n", &r) > 0 && r.method == HTTP_HEAD &&
	      !r.keep_alive, "parse: bare LF, HTTP/1.0 closes");
	check(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r) > 0 &&
	      r.keep_alive, "parse: HTTP/1.0 keep-alive");
	check(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n",
		    &r) > 0 && !r.keep_alive, "parse: Connection: close");
	check(parse("POST / HTTP/1.1\r\nHost: h\r\n\r\n", &r) > 0 &&
	      r.method == HTTP_OTHER, "parse: other method parsed (405 later)");
	check(parse("GET / HTTP/1.1\r\n\r\n", &r) == -400, "parse: no Host: 400");
	check(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &r) == -400,
	      "parse: two Hosts: 400");
	check(parse("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", &r) == -400,
	      "parse: double space: 400");
	check(parse("GET / HTTP/1.1\r\nHost : h\r\n\r\n", &r) == -400,
	      "parse: space before colon: 400");
	check(parse("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", &r) == -400,
	      "parse: obsolete folding: 400");
	check(parse("GET / HTTP/2.0\r\nHost: h\r\n\r\n", &r) == -505,
	      "parse: HTTP/2.0: 505");
	check(parse("GET / HTTX/1.1\r\nHost: h\r\n\r\n", &r) == -400,
	      "parse: bad version: 400");
	check(parse("GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n", &r) == -400,
	      "parse: control byte in target: 400");
	check(parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n",
		    &r) == -501, "parse: request body: 501");
	check(parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
		    &r) > 0, "parse: Content-Length 0 is fine");
	check(parse("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
		    &r) == -501, "parse: Transfer-Encoding: 501");
	check(parse("\r\n\r\n", &r) == -400, "parse: empty request: 400");
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	check(http_parse(big, HTTP_HEAD_MAX, &r) == -431,
	      "parse: 8 KiB without its end: 431");
	check(http_parse(big, HTTP_HEAD_MAX - 1, &r) == 0,
	      "parse: just under 8 KiB: wait for more");
	memcpy(big + HTTP_HEAD_MAX, "\r\n\r\n", 4);
	check(http_parse(big, HTTP_HEAD_MAX + 4, &r) == -431,
	      "parse: head ending after 8 KiB: 431");
}

static int path(const char *t, char *out)
{
	return http_path(t, strlen(t), out, 256);
}

static void test_path(void)
{
	char p[256];

	check(!path("/", p) && !strcmp(p, "."), "path: / is the directory");
	check(!path("/a//b/./c?q=/../x", p) && !strcmp(p, "a/b/c"),
	      "path: empty and . segments, query dropped");
	check(!path("/a%20b%41", p) && !strcmp(p, "a bA"), "path: decoding");
	check(path("/../etc/passwd", p) == 403, "path: .. 403");
	check(path("/a/..", p) == 403, "path: trailing .. 403");
	check(path("/%2e%2e/etc/passwd", p) == 403, "path: %2e%2e 403");
	check(path("/.%2E/x", p) == 403, "path: .%2E 403");
	check(path("/a%2fb", p) == 403, "path: %2f 403");
	check(path("/a%2F..%2Fb", p) == 403, "path: %2F.. 403");
	check(path("/a%5cb", p) == 403, "path: %5c 403");
	check(path("/a%00b", p) == 400, "path: %00 400");
	check(path("/a%zz", p) == 400, "path: bad escape 400");
	check(path("/a%4", p) == 400, "path: short escape 400");
	check(path("a", p) == 400, "path: not starting with / 400");
	check(http_path("/aaaa", 5, p, 3) == 414, "path: too long 414");
}

static void test_open(const char *scratch)
{
	char root[1024], out[1024], f[1100];
	struct stat st;
	int d, fd;

	snprintf(root, sizeof(root), "%s/root", scratch);
	snprintf(out, sizeof(out), "%s/secret", scratch);
	mkdir(scratch, 0755);
	mkdir(root, 0755);
	snprintf(f, sizeof(f), "%s/sub", root);
	mkdir(f, 0755);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	check(fd >= 0 && write(fd, "secret", 6) == 6, "open: setup");
	close(fd);
	snprintf(f, sizeof(f), "%s/sub/file", root);
	fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	check(fd >= 0 && write(fd, "hello", 5) == 5, "open: setup file");
	close(fd);
	snprintf(f, sizeof(f), "%s/out", root);
	unlink(f);
	check(!symlink(out, f), "open: setup absolute symlink out");
	snprintf(f, sizeof(f), "%s/up", root);
	unlink(f);
	check(!symlink("../secret", f), "open: setup relative symlink out");
	snprintf(f, sizeof(f), "%s/in", root);
	unlink(f);
	check(!symlink("sub/file", f), "open: setup symlink inside");
	snprintf(f, sizeof(f), "%s/fifo", root);
	unlink(f);
	check(!mkfifo(f, 0644), "open: setup fifo");

	d = open(root, O_RDONLY | O_DIRECTORY);
	check(d >= 0, "open: root");
	fd = http_open(d, "sub/file", &st);
	check(fd >= 0 && st.st_size == 5, "open: file");
	if (fd >= 0)
		close(fd);
	fd = http_open(d, "in", &st);
	check(fd >= 0 && st.st_size == 5, "open: symlink inside: followed");
	if (fd >= 0)
		close(fd);
	check(http_open(d, "out", &st) == -403, "open: absolute symlink out: 403");
	check(http_open(d, "up", &st) == -403, "open: symlink to ../: 403");
	check(http_open(d, "up/x", &st) == -403 || http_open(d, "up/x", &st) == -404,
	      "open: through a symlink out: 403 or 404");
	check(http_open(d, "../secret", &st) == -403, "open: ../ (raw): 403");
	check(http_open(d, "missing", &st) == -404, "open: missing: 404");
	check(http_open(d, "sub/file/x", &st) == -404, "open: file as dir: 404");
	check(http_open(d, ".", &st) == -403, "open: directory: 403");
	check(http_open(d, "sub", &st) == -403, "open: subdirectory: 403");
	check(http_open(d, "fifo", &st) == -403, "open: fifo: 403 (no hang)");
	close(d);
}

static void test_range(void)
{
	uint64_t a = 0, b = 0;

	check(http_range(NULL, 10, &a, &b) == 0, "range: none");
	check(http_range("bytes=2-5", 10, &a, &b) == 1 && a == 2 && b == 5,
	      "range: 2-5");
	check(http_range("bytes=2-", 10, &a, &b) == 1 && a == 2 && b == 9,
	      "range: open end");
	check(http_range("bytes=2-100", 10, &a, &b) == 1 && b == 9,
	      "range: end clamped");
	check(http_range("bytes=-3", 10, &a, &b) == 1 && a == 7 && b == 9,
	      "range: suffix");
	check(http_range("bytes=-30", 10, &a, &b) == 1 && a == 0 && b == 9,
	      "range: suffix longer than the file");
	check(http_range("bytes=10-", 10, &a, &b) == -416, "range: start at size: 416");
	check(http_range("bytes=-0", 10, &a, &b) == -416, "range: -0: 416");
	check(http_range("bytes=0-", 0, &a, &b) == -416, "range: empty file: 416");
	check(http_range("bytes=5-2", 10, &a, &b) == 0, "range: reversed: ignored");
	check(http_range("bytes=1-2,4-5", 10, &a, &b) == 0, "range: several: ignored");
	check(http_range("items=1-2", 10, &a, &b) == 0, "range: other unit: ignored");
	check(http_range("bytes=x-2", 10, &a, &b) == 0, "range: junk: ignored");
	check(http_range("bytes=99999999999999999999-", 10, &a, &b) == 0,
	      "range: overflow: ignored");
}

static void test_dates(void)
{
	char d[64], line[2048];
	struct http_req r;
	time_t t;

	http_date(784111777, d, sizeof(d));
	check(!strcmp(d, "Sun, 06 Nov 1994 08:49:37 GMT"), "date: format");
	check(!http_parse_date(d, &t) && t == 784111777, "date: round trip");
	check(http_parse_date("Sunday, 06-Nov-94 08:49:37 GMT", &t) == -1,
	      "date: RFC 850 refused");
	check(http_head(line, sizeof(line), 404, "", 3, false) > 0 &&
	      !strncmp(line, "HTTP/1.1 404 Not Found\r\n", 24) &&
	      strstr(line, "Content-Length: 3\r\n") &&
	      strstr(line, "Connection: close\r\n\r\n"), "head: 404");
	parse("GET /\"x HTTP/1.1\r\nHost: h\r\nUser-Agent: a\"b\r\n\r\n", &r);
	http_log_line(line, sizeof(line), "127.0.0.1", &r, 200, 12, 0);
	check(strstr(line, "127.0.0.1 - - [") == line &&
	      strstr(line, "\"GET /\\x22x HTTP/1.1\" 200 12 \"-\" \"a\\x22b\"\n"),
	      "log: combined format, quotes escaped");
}

int main(int argc, char **argv)
{
	char scratch[900];

	const char *arg = argc > 1 ? argv[1] : "/tmp/plasmatic-http-test";
	char cwd[512];

	/* Absolute: the symlink planted "out" points to it. */
	if (arg[0] != '/' && getcwd(cwd, sizeof(cwd)))
		snprintf(scratch, sizeof(scratch), "%s/%s", cwd, arg);
	else
		snprintf(scratch, sizeof(scratch), "%s", arg);
	printf("TAP version 13\n");
	test_parse();
	test_path();
	test_open(scratch);
	test_range();
	test_dates();
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
