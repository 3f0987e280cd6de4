/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The HTTP/1.1 of 'plasmatic serve' and 'plasmatic get' (http.c): request
 * parsing, the request target to a path under the served directory,
 * Range, dates, response heads.  No I/O but http_open(); unit tested by
 * tests/http_test.c.
 */
#ifndef PLASMATIC_CLI_HTTP_H
#define PLASMATIC_CLI_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#define HTTP_HEAD_MAX	8192	/* request head, request line included */

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_OTHER };

struct http_req {
	enum http_method method;
	const char *target;	/* into the caller's buffer, not terminated */
	size_t target_len;
	int minor;		/* HTTP/1.minor */
	bool keep_alive;	/* the client lets the connection go on */
	const char *range;	/* the Range value or NULL (terminated copy) */
	bool has_ims;
	time_t ims;		/* If-Modified-Since */
	char range_buf[128];
	char line[256];		/* the request line, for the access log */
	char referer[256], agent[256];
};

/*
 * The request head at the start of buf[0..len): its length (through the
 * empty line) with *r filled, 0 if it is not complete yet (and may still
 * fit: len < HTTP_HEAD_MAX), or minus a status: -400 malformed, -431 head
 * longer than HTTP_HEAD_MAX, -505 not HTTP/1.x, -501 a request body
 * (Transfer-Encoding, Content-Length > 0), which serve does not take.
 */
long http_parse(const char *buf, size_t len, struct http_req *r);

/*
 * The request target (path, "?query" dropped) as a path relative to the
 * served directory in out: percent-decoded, empty and "." segments
 * dropped ("" is the directory itself, "."). 0, or a status: 400 (bad
 * escape, NUL, not starting with '/'), 403 (a ".." segment, an encoded
 * '/' or '\\'), 414 (longer than outlen).
 */
int http_path(const char *target, size_t len, char *out, size_t outlen);

/*
 * Open rel (from http_path) under the directory dirfd for reading, never
 * leaving it (openat2 RESOLVE_BENEATH: "..", absolute symlinks and
 * symlinks that lead outside fail; RESOLVE_NO_MAGICLINKS).  The fd with
 * *st, or minus a status: -404 missing, -403 outside, a directory (no
 * index), not a regular file, no permission; -500 other errors.
 */
int http_open(int dirfd, const char *rel, struct stat *st);

/*
 * A Range value for a resource of size bytes: 0 no usable range (absent,
 * not "bytes=", several ranges, malformed: the whole resource, RFC 9110
 * 14.2), 1 one range [*first, *last], or -416 unsatisfiable.
 */
int http_range(const char *spec, uint64_t size, uint64_t *first,
	       uint64_t *last);

/* IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"): 0, or -1. */
int http_parse_date(const char *s, time_t *t);
void http_date(time_t t, char *out, size_t len);

const char *http_reason(int status);

/*
 * A response head into out: status line, Date, Server, then extra (whole
 * header lines, may be ""), Content-Length unless clen < 0, Connection:
 * close unless keep_alive, the empty line.  Its length, or 0 if it does
 * not fit.
 */
size_t http_head(char *out, size_t len, int status, const char *extra,
		 long long clen, bool keep_alive);

/*
 * The access log line (combined log format, with its newline) of a
 * request from peer (an address, or "-") into out; the request line's
 * quotes and control bytes are escaped (\xHH).
 */
void http_log_line(char *out, size_t len, const char *peer,
		   const struct http_req *r, int status, uint64_t bytes,
		   time_t when);

/* A response head (get): status, Content-Length (-1: none), the first
 * byte and the total of Content-Range ("bytes F-L/T" or "bytes * /T";
 * -1: none or "*"). */
struct http_resp {
	int status;
	long long clen;
	long long range_first, range_total;
};

/* As http_parse, for a response head: its length, 0, or -400/-431. */
long http_parse_response(const char *buf, size_t len, struct http_resp *r);

#endif
