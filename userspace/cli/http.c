// SPDX-License-Identifier: GPL-2.0
/* HTTP/1.1 for serve and get: parsing, paths, ranges, dates (http.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "http.h"

static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || strchr("!#$%&'*+-.^_`|~", c);
}

/* The value of line[0..len) copied, control bytes as '?', terminated. */
static void copy_clean(char *out, size_t outlen, const char *p, size_t len)
{
	size_t n = len < outlen - 1 ? len : outlen - 1;

	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)p[i] < 0x20 || p[i] == 0x7f ? '?' : p[i];
	out[n] = 0;
}

/* "keep-alive", "close" among the comma separated tokens of v. */
static void connection_tokens(const char *v, size_t len, bool *close,
			      bool *keep)
{
	size_t i = 0;

	while (i < len) {
		size_t s, e;

		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == 5 && !strncasecmp(v + s, "close", 5))
			*close = true;
		if (e - s == 10 && !strncasecmp(v + s, "keep-alive", 10))
			*keep = true;
	}
}

static int request_line(const char *p, size_t len, struct http_req *r)
{
	const char *sp1, *sp2, *end = p + len;

	copy_clean(r->line, sizeof(r->line), p, len);
	sp1 = memchr(p, ' ', len);
	if (!sp1 || sp1 == p)
		return -400;
	for (const char *q = p; q < sp1; q++)
		if (!is_tchar((unsigned char)*q))
			return -400;
	if (sp1 - p == 3 && !memcmp(p, "GET", 3))
		r->method = HTTP_GET;
	else if (sp1 - p == 4 && !memcmp(p, "HEAD", 4))
		r->method = HTTP_HEAD;
	else
		r->method = HTTP_OTHER;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (!sp2 || sp2 == sp1 + 1)
		return -400;
	r->target = sp1 + 1;
	r->target_len = (size_t)(sp2 - sp1 - 1);
	for (size_t i = 0; i < r->target_len; i++)
		if ((unsigned char)r->target[i] <= ' ' || r->target[i] == 0x7f)
			return -400;
	if (end - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/", 5) ||
	    sp2[7] != '.' || sp2[6] < '0' || sp2[6] > '9' || sp2[8] < '0' ||
	    sp2[8] > '9')
		return -400;
	if (sp2[6] != '1')
		return -505;
	r->minor = sp2[8] - '0';
	return 0;
}

static bool name_is(const char *n, size_t nlen, const char *want)
{
	return strlen(want) == nlen && !strncasecmp(n, want, nlen);
}

long http_parse(const char *buf, size_t len, struct http_req *r)
{
	const char *p = buf, *end;
	bool close = false, keep = false, first = true;
	int hosts = 0, rc;

	memset(r, 0, sizeof(*r));
	/* The head's end: an empty line (CRLF, or a bare LF as nginx takes). */
	end = NULL;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n') {
			end = buf + i + 2;
			break;
		}
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
			end = buf + i + 3;
			break;
		}
	}
	if (!end)
		return len >= HTTP_HEAD_MAX ? -431 : 0;
	if (end - buf > HTTP_HEAD_MAX)
		return -431;
	/* RFC 9112 2.2: empty lines before the request line are ignored. */
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = (size_t)(nl - p);
		const char *colon, *v, *ve;

		if (l && p[l - 1] == '\r')
			l--;
		if (!l)
			break;		/* the empty line */
		if (memchr(p, 0, l))
			return -400;
		if (first) {
			rc = request_line(p, l, r);
			if (rc)
				return rc;
			first = false;
			p = nl + 1;
			continue;
		}
		colon = memchr(p, ':', l);
		if (!colon || colon == p)
			return -400;
		for (const char *q = p; q < colon; q++)
			if (!is_tchar((unsigned char)*q))
				return -400;	/* also "Name :" and folding */
		v = colon + 1;
		ve = p + l;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (name_is(p, (size_t)(colon - p), "host")) {
			hosts++;
		} else if (name_is(p, (size_t)(colon - p), "connection")) {
			connection_tokens(v, (size_t)(ve - v), &close, &keep);
		} else if (name_is(p, (size_t)(colon - p), "range")) {
			if (r->range || (size_t)(ve - v) >= sizeof(r->range_buf))
				r->range_buf[0] = 0;	/* twice or huge: ignore */
			else
				copy_clean(r->range_buf, sizeof(r->range_buf), v,
					   (size_t)(ve - v));
			r->range = r->range_buf;
		} else if (name_is(p, (size_t)(colon - p), "if-modified-since")) {
			char d[64];

			copy_clean(d, sizeof(d), v, (size_t)(ve - v));
			r->has_ims = !http_parse_date(d, &r->ims);
		} else if (name_is(p, (size_t)(colon - p), "referer")) {
			copy_clean(r->referer, sizeof(r->referer), v, (size_t)(ve - v));
		} else if (name_is(p, (size_t)(colon - p), "user-agent")) {
			copy_clean(r->agent, sizeof(r->agent), v, (size_t)(ve - v));
		} else if (name_is(p, (size_t)(colon - p), "transfer-encoding")) {
			return -501;
		} else if (name_is(p, (size_t)(colon - p), "content-length")) {
			for (const char *q = v; q < ve; q++)
				if (*q < '0' || *q > '9')
					return -400;
			for (const char *q = v; q < ve; q++)
				if (*q != '0')
					return -501;
		}
		p = nl + 1;
	}
	if (first)
		return -400;
	/* RFC 9112 3.2: HTTP/1.1 needs exactly one Host. */
	if (hosts > 1 || (r->minor >= 1 && hosts != 1))
		return -400;
	if (r->range && !r->range[0])
		r->range = NULL;
	r->keep_alive = r->minor >= 1 ? !close : keep && !close;
	return end - buf;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int http_path(const char *target, size_t len, char *out, size_t outlen)
{
	size_t o = 0, i = 0;

	if (!len || target[0] != '/')
		return 400;
	if (outlen < 2)
		return 414;
	while (i < len && target[i] != '?' && target[i] != '#') {
		char seg[256];
		size_t s = 0;

		while (i < len && target[i] == '/')
			i++;
		/* One segment, decoded. */
		while (i < len && target[i] != '/' && target[i] != '?' &&
		       target[i] != '#') {
			char c = target[i];

			if (c == '%') {
				int hi = i + 2 < len ? hexval(target[i + 1]) : -1;
				int lo = i + 2 < len ? hexval(target[i + 2]) : -1;

				if (hi < 0 || lo < 0)
					return 400;
				c = (char)(hi << 4 | lo);
				i += 2;
				if (!c)
					return 400;
				if (c == '/' || c == '\\')
					return 403;
			}
			if (s + 1 >= sizeof(seg))
				return 414;
			seg[s++] = c;
			i++;
		}
		if (!s || (s == 1 && seg[0] == '.'))
			continue;
		if (s == 2 && seg[0] == '.' && seg[1] == '.')
			return 403;
		if (o + s + 2 > outlen)
			return 414;
		if (o)
			out[o++] = '/';
		memcpy(out + o, seg, s);
		o += s;
	}
	if (!o)
		out[o++] = '.';
	out[o] = 0;
	return 0;
}

int http_open(int dirfd, const char *rel, struct stat *st)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	int e = errno;

	if (fd < 0) {
		switch (e) {
		case ENOENT: case ENOTDIR: case ENAMETOOLONG:
			return -404;
		case EXDEV: case ELOOP: case EACCES: case EPERM:
			return -403;
		}
		return -500;
	}
	if (fstat((int)fd, st)) {
		close((int)fd);
		return -500;
	}
	if (!S_ISREG(st->st_mode)) {
		close((int)fd);
		return -403;	/* a directory (no index), a device, a FIFO */
	}
	/* Back to blocking reads (O_NONBLOCK only kept a FIFO from hanging). */
	fcntl((int)fd, F_SETFL, O_RDONLY);
	return (int)fd;
}

static int parse_u64(const char *s, const char *e, uint64_t *v)
{
	uint64_t x = 0;

	if (s == e)
		return -1;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9' || x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	return 0;
}

int http_range(const char *spec, uint64_t size, uint64_t *first,
	       uint64_t *last)
{
	const char *p, *dash, *e;
	uint64_t a, b;

	if (!spec || strncasecmp(spec, "bytes=", 6) || strchr(spec, ','))
		return 0;
	p = spec + 6;
	while (*p == ' ')
		p++;
	e = p + strlen(p);
	while (e > p && e[-1] == ' ')
		e--;
	dash = memchr(p, '-', (size_t)(e - p));
	if (!dash)
		return 0;
	if (dash == p) {		/* "-N": the last N bytes */
		if (parse_u64(dash + 1, e, &b))
			return 0;
		if (!b || !size)
			return -416;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 1;
	}
	if (parse_u64(p, dash, &a))
		return 0;
	if (dash + 1 == e) {
		b = UINT64_MAX;
	} else if (parse_u64(dash + 1, e, &b) || b < a) {
		return 0;
	}
	if (a >= size)
		return -416;
	*first = a;
	*last = b >= size ? size - 1 : b;
	return 1;
}

int http_parse_date(const char *s, time_t *t)
{
	struct tm tm;
	const char *e;

	memset(&tm, 0, sizeof(tm));
	e = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!e || *e)
		return -1;
	*t = timegm(&tm);
	return *t == (time_t)-1 ? -1 : 0;
}

void http_date(time_t t, char *out, size_t len)
{
	static const char *const days[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mons[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
		"Oct", "Nov", "Dec" };
	struct tm tm;

	gmtime_r(&t, &tm);
	/* Not strftime: the names must not follow the locale. */
	snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d GMT",
		 days[tm.tm_wday % 7], tm.tm_mday, mons[tm.tm_mon % 12],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 206: return "Partial Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	}
	return "Unknown";
}

size_t http_head(char *out, size_t len, int status, const char *extra,
		 long long clen, bool keep_alive)
{
	char date[64], cl[48] = "";
	int n;

	http_date(time(NULL), date, sizeof(date));
	if (clen >= 0)
		snprintf(cl, sizeof(cl), "Content-Length: %lld\r\n", clen);
	n = snprintf(out, len,
		     "HTTP/1.1 %d %s\r\nServer: plasmatic\r\nDate: %s\r\n%s%s%s\r\n",
		     status, http_reason(status), date, extra, cl,
		     keep_alive ? "" : "Connection: close\r\n");
	return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

static size_t esc(char *out, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, len - o, "\\x%02X", c);
		else
			out[o++] = (char)c;
	}
	out[o] = 0;
	return o;
}

void http_log_line(char *out, size_t len, const char *peer,
		   const struct http_req *r, int status, uint64_t bytes,
		   time_t when)
{
	char t[64], line[4 * sizeof(r->line) + 1], ref[4 * sizeof(r->referer) + 1],
	     ua[4 * sizeof(r->agent) + 1], b[24];
	struct tm tm;

	localtime_r(&when, &tm);
	strftime(t, sizeof(t), "%d/%b/%Y:%H:%M:%S %z", &tm);
	esc(line, sizeof(line), r->line);
	esc(ref, sizeof(ref), r->referer[0] ? r->referer : "-");
	esc(ua, sizeof(ua), r->agent[0] ? r->agent : "-");
	if (bytes)
		snprintf(b, sizeof(b), "%" PRIu64, bytes);
	else
		snprintf(b, sizeof(b), "-");
	snprintf(out, len, "%s - - [%s] \"%s\" %d %s \"%s\" \"%s\"\n",
		 peer && *peer ? peer : "-", t, line, status, b, ref, ua);
}

long http_parse_response(const char *buf, size_t len, struct http_resp *r)
{
	const char *end = NULL, *p;
	long long v;

	r->status = 0;
	r->clen = r->range_first = r->range_total = -1;
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] == '\n' && buf[i + 1] == '\n') {
			end = buf + i + 2;
			break;
		}
		if (buf[i] == '\n' && i + 2 < len && buf[i + 1] == '\r' &&
		    buf[i + 2] == '\n') {
			end = buf + i + 3;
			break;
		}
	}
	if (!end)
		return len >= HTTP_HEAD_MAX ? -431 : 0;
	if (end - buf < 12 || memcmp(buf, "HTTP/1.", 7) || buf[8] != ' ' ||
	    buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
	    buf[11] < '0' || buf[11] > '9')
		return -400;
	r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + buf[11] - '0';
	for (p = memchr(buf, '\n', (size_t)(end - buf)) + 1; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *colon = memchr(p, ':', (size_t)(nl - p)), *v0;
		char val[128];

		if (colon) {
			const char *ve = nl;

			v0 = colon + 1;
			while (v0 < ve && (*v0 == ' ' || *v0 == '\t'))
				v0++;
			while (ve > v0 && (ve[-1] == '\r' || ve[-1] == ' ' ||
					   ve[-1] == '\t'))
				ve--;
			copy_clean(val, sizeof(val), v0, (size_t)(ve - v0));
			if (name_is(p, (size_t)(colon - p), "content-length")) {
				char *e;

				v = strtoll(val, &e, 10);
				if (e == val || *e || v < 0)
					return -400;
				r->clen = v;
			} else if (name_is(p, (size_t)(colon - p), "content-range") &&
				   !strncasecmp(val, "bytes ", 6)) {
				long long a, b, t;

				if (sscanf(val + 6, "%lld-%lld/%lld", &a, &b, &t) == 3) {
					r->range_first = a;
					r->range_total = t;
				} else if (sscanf(val + 6, "*/%lld", &t) == 1) {
					r->range_total = t;
				}
			}
		}
		p = nl + 1;
	}
	return end - buf;
}
