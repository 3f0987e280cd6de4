// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the NSS key log line parser that takes the traffic and
 * exporter secrets from OpenSSL's keylog callback (userspace/lib/tls.c,
 * pl_keylog_line()).
 *
 * The input is cut after each '\n' into lines, each given as a C string
 * (OpenSSL's have no newline; one at the end is allowed).  Checked against
 * a model written here: a line that names
 * CLIENT_TRAFFIC_SECRET_0, SERVER_TRAFFIC_SECRET_0 or EXPORTER_SECRET,
 * then a field and a space, then an even number of hex digits (at most
 * PL_MAX_SECRET_LEN bytes), optionally a newline, sets that secret;
 * anything else about those names marks the key log bad; other lines are
 * ignored.  No secret is ever longer than its buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "fuzz.h"

static const char *const names[3] = {
	"CLIENT_TRAFFIC_SECRET_0 ", "SERVER_TRAFFIC_SECRET_0 ",
	"EXPORTER_SECRET ",
};

struct model {
	uint8_t v[3][PL_MAX_SECRET_LEN];
	size_t len[3];
	bool set[3];
	bool bad;
};

static void model_line(struct model *m, const char *line)
{
	const char *p;
	size_t n = 0;
	int w = -1;

	for (int i = 0; i < 3; i++)
		if (!strncmp(line, names[i], strlen(names[i])))
			w = i;
	if (w < 0)
		return;
	p = strchr(line + strlen(names[w]), ' ');
	if (!p) {
		m->bad = true;
		return;
	}
	p++;
	m->set[w] = true;
	for (; p[0] && p[1]; p += 2) {
		int hi = pl_hex_digit(p[0]), lo = pl_hex_digit(p[1]);

		if (n == PL_MAX_SECRET_LEN || hi < 0 || lo < 0) {
			m->bad = true;
			break;
		}
		m->v[w][n++] = (uint8_t)(hi << 4 | lo);
	}
	if (*p && *p != '\n')
		m->bad = true;
	m->len[w] = n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pl_hs_secrets sec;
	struct pl_hs hs;
	struct model m;
	size_t i = 0;

	memset(&sec, 0, sizeof(sec));
	memset(&hs, 0, sizeof(hs));
	memset(&m, 0, sizeof(m));
	hs.sec = &sec;
	while (i < size) {
		size_t e = i;
		char *line;

		while (e < size && data[e] != '\n')
			e++;
		if (e < size)
			e++;	/* with its newline: the parser allows one */
		/* Exactly the line and its NUL: ASan sees any overread. */
		line = malloc(e - i + 1);
		NEED(line);
		memcpy(line, data + i, e - i);
		line[e - i] = 0;
		pl_keylog_line(&hs, line);
		model_line(&m, line);
		free(line);
		i = e;
	}
	NEED(hs.keylog_bad == m.bad);
	{
		const uint8_t *v[3] = { sec.client, sec.server, sec.exporter };
		const size_t len[3] = { sec.client_len, sec.server_len,
					sec.exporter_len };

		for (int w = 0; w < 3; w++) {
			NEED(len[w] <= PL_MAX_SECRET_LEN);
			if (!m.set[w])
				continue;
			NEED(len[w] == m.len[w]);
			NEED(!memcmp(v[w], m.v[w], len[w]));
		}
	}
	/* Without a secrets buffer a line is ignored. */
	hs.sec = NULL;
	pl_keylog_line(&hs, "CLIENT_TRAFFIC_SECRET_0 00 00");
	return 0;
}
