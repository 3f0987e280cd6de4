// SPDX-License-Identifier: GPL-2.0
/*
 * The TPL generator for BPF programs (bpf/tpl.bpf.h) against the SPEC.
 *
 * Loads bpf/tpl_test.bpf.c (a tc program) through its libbpf skeleton,
 * so the 6.1 verifier must accept the generator, and runs it with
 * BPF_PROG_TEST_RUN:
 *
 *  - every TPL vector of SPEC.md section 13.5 (r values, the first records'
 *    size and delay per mode, the rotation vector), parsed at run time;
 *  - many draws per mode against a reference computed here (SipHash-2-4 on
 *    bytes, and the size/delay table of SPEC 9.2 parsed from SPEC.md), with
 *    the table's bounds checked on every draw;
 *  - rotation (SPEC 9.4) through a whole cycle of the order parsed from
 *    SPEC.md, locked states and mode 0 not rotating, and error returns.
 *
 * Runs as root inside the test VM (tools/vm).  PLASMATIC_SPEC names the
 * spec (default SPEC.md, relative to the repository root, the VM's cwd).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kselftest_harness.h"
#include "plmain.h"
#include "tpl_test.h"
#include "tpl_test.skel.h"

/* ---- SPEC.md ----------------------------------------------------------- */

#define MAX_MODES	32
#define MAX_VECS	32
#define MAX_ITEMS	64

enum { KIND_CONST, KIND_RANGE, KIND_SPLIT };

/* A row of the SPEC 9.2 table. */
struct tpl_row {
	int present;
	int size_kind;		/* CONST: lo; RANGE: lo..hi; SPLIT: p < p_lt ? lo..hi : lo2..hi2 */
	uint64_t size_lo, size_hi, size_lo2, size_hi2, p_lt;
	int delay_kind;		/* CONST: lo; RANGE: lo..hi (ms) */
	uint64_t delay_lo, delay_hi;
};

/* A TPL vector of SPEC 13.5. */
struct tpl_vec {
	char name[64];
	uint64_t mode, seed, lock;
	int has_mode, has_seed, has_lock;
	uint64_t r[MAX_ITEMS];
	int nr;
	uint64_t pairs[MAX_ITEMS][2];	/* size, delay_us */
	int npairs;
	uint64_t draws[MAX_ITEMS][3];	/* mode, size, delay_us */
	int ndraws;
};

struct spec {
	struct tpl_row rows[MAX_MODES];
	int nmodes;			/* rows 0 .. nmodes-1 */
	uint64_t order[MAX_MODES];	/* rotation cycle, first mode not repeated */
	int norder;
	uint64_t interval;		/* records per mode when unlocked */
	uint64_t rot_idx[2][2];		/* records of the rotation vector: two ranges */
	struct tpl_vec vecs[MAX_VECS];
	int nvecs;
};

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		if (!n)
			break;
		len += n;
	}
	fclose(f);
	buf[len] = 0;
	return buf;
}

/* Unsigned decimal numbers in s[0..len), at most max; returns the count. */
static int numbers(const char *s, size_t len, uint64_t *out, int max)
{
	const char *end = s + len;
	int n = 0;

	while (s < end) {
		if (!isdigit((unsigned char)*s)) {
			s++;
			continue;
		}
		if (n == max)
			return -1;
		out[n++] = strtoull(s, (char **)&s, 10);
	}
	return n;
}

/* The section that starts at the heading `head` and ends at the next "\n#". */
static int section(const char *text, const char *head, const char **b, const char **e)
{
	const char *s = strstr(text, head), *t;

	if (!s)
		return -1;
	t = s + strlen(head);
	while ((t = strchr(t, '\n')) && t[1] != '#')
		t++;
	*b = s;
	*e = t ? t : s + strlen(s);
	return 0;
}

/* n numbers v of a cell: one is a constant, two a range lo..hi; else -1. */
static int const_or_range(int n, const uint64_t *v, int *kind, uint64_t *lo, uint64_t *hi)
{
	if (n == 1) {
		*kind = KIND_CONST;
		*lo = *hi = v[0];
	} else if (n == 2) {
		*kind = KIND_RANGE;
		*lo = v[0];
		*hi = v[1];
	} else {
		return -1;
	}
	return 0;
}

/* SPEC 9.2: "| id | mode | size | delay (ms) |" rows. */
static int parse_table(struct spec *sp, const char *text)
{
	const char *b, *e, *line, *nl;

	if (section(text, "### 9.2", &b, &e))
		return -1;
	for (line = b; line < e; line = nl + 1) {
		const char *cell[6];
		uint64_t id, sz[8], dl[4];
		int nc = 0, ns, nd;
		const char *p;
		struct tpl_row *row;

		nl = strchr(line, '\n');
		if (!nl || nl > e)
			nl = e;
		if (line[0] != '|' || !isdigit((unsigned char)line[2]))
			continue;
		for (p = line; p < nl && nc < 6; p++)
			if (*p == '|')
				cell[nc++] = p;
		if (nc != 5)
			return -1;
		id = strtoull(cell[0] + 1, NULL, 10);
		if (id >= MAX_MODES)
			return -1;
		row = &sp->rows[id];
		if (row->present)
			return -1;
		row->present = 1;
		/*
		 * A note in parentheses ("16384 (capped, 9.3)": the draw is
		 * 16384, a sender clamps it to its cap) is not part of the size.
		 */
		p = memchr(cell[2], '(', cell[3] - cell[2]);
		ns = numbers(cell[2] + 1, (p ? p : cell[3]) - cell[2] - 1, sz, 8);
		nd = numbers(cell[3] + 1, cell[4] - cell[3] - 1, dl, 4);
		if (ns == 5 && memmem(cell[2], cell[3] - cell[2], "p <", 3)) {
			row->size_kind = KIND_SPLIT;
			row->p_lt = sz[0];
			row->size_lo = sz[1];
			row->size_hi = sz[2];
			row->size_lo2 = sz[3];
			row->size_hi2 = sz[4];
		} else if (const_or_range(ns, sz, &row->size_kind, &row->size_lo,
					  &row->size_hi)) {
			return -1;
		}
		if (const_or_range(nd, dl, &row->delay_kind, &row->delay_lo, &row->delay_hi))
			return -1;
		if (row->size_lo > row->size_hi || row->delay_lo > row->delay_hi ||
		    (row->size_kind == KIND_SPLIT && row->size_lo2 > row->size_hi2))
			return -1;
	}
	while (sp->nmodes < MAX_MODES && sp->rows[sp->nmodes].present)
		sp->nmodes++;
	for (int i = sp->nmodes; i < MAX_MODES; i++)
		if (sp->rows[i].present)
			return -1;	/* ids not contiguous */
	return sp->nmodes ? 0 : -1;
}

/* SPEC 9.4: "after every N records" and "rotation order 1, 2, ..., 1, ...". */
static int parse_rotation(struct spec *sp, const char *text)
{
	const char *b, *e, *p;

	if (section(text, "### 9.4", &b, &e))
		return -1;
	p = memmem(b, e - b, "after every ", 12);
	if (!p)
		return -1;
	sp->interval = strtoull(p + 12, NULL, 10);
	p = memmem(b, e - b, "rotation order", 14);
	if (!p)
		return -1;
	p += 14;
	for (;;) {
		uint64_t m;

		while (*p == ' ' || *p == '\n')
			p++;
		if (!isdigit((unsigned char)*p))
			break;
		m = strtoull(p, (char **)&p, 10);
		if (sp->norder && m == sp->order[0])
			break;		/* back at the start: the cycle is complete */
		if (sp->norder == MAX_MODES)
			return -1;
		sp->order[sp->norder++] = m;
		if (*p != ',')
			return -1;	/* the order must come back to its start */
		p++;
	}
	return sp->interval && sp->norder > 1 ? 0 : -1;
}

static int parse_vec_line(struct tpl_vec *v, const char *key, char *val)
{
	char *tok, *save = NULL;

	if (!strcmp(key, "vector")) {
		snprintf(v->name, sizeof(v->name), "%s", val);
	} else if (!strcmp(key, "mode")) {
		v->mode = strtoull(val, NULL, 0);
		v->has_mode = 1;
	} else if (!strcmp(key, "seed")) {
		v->seed = strtoull(val, NULL, 0);
		v->has_seed = 1;
	} else if (!strcmp(key, "lock")) {
		v->lock = strtoull(val, NULL, 0);
		v->has_lock = 1;
	} else if (!strcmp(key, "r")) {
		for (tok = strtok_r(val, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			if (v->nr == MAX_ITEMS || strlen(tok) != 16)
				return -1;
			v->r[v->nr++] = strtoull(tok, NULL, 16);
		}
	} else if (!strcmp(key, "pairs")) {
		for (tok = strtok_r(val, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			uint64_t *pr = v->pairs[v->npairs];
			char *c;

			if (v->npairs == MAX_ITEMS)
				return -1;
			pr[0] = strtoull(tok, &c, 0);
			if (*c != ',')
				return -1;
			pr[1] = strtoull(c + 1, &c, 0);
			if (*c)
				return -1;
			v->npairs++;
		}
	} else if (!strcmp(key, "draws")) {
		for (tok = strtok_r(val, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			uint64_t *d = v->draws[v->ndraws];
			char *c = tok;

			if (v->ndraws == MAX_ITEMS)
				return -1;
			for (int k = 0; k < 3; k++) {
				d[k] = strtoull(c, &c, 0);
				if (*c != (k < 2 ? ',' : 0))
					return -1;
				c++;
			}
			v->ndraws++;
		}
	}
	return 0;
}

/* Fenced blocks of "key: value" lines whose "vector:" starts with "tpl-". */
static int parse_vectors(struct spec *sp, const char *text)
{
	char *copy = strdup(text), *line, *save = NULL;
	struct tpl_vec cur;
	int in = 0, err = 0;

	if (!copy)
		return -1;
	for (line = strtok_r(copy, "\n", &save); line && !err; line = strtok_r(NULL, "\n", &save)) {
		char *colon;

		if (!strncmp(line, "```", 3)) {
			if (in && !strncmp(cur.name, "tpl-", 4)) {
				if (sp->nvecs == MAX_VECS)
					err = -1;
				else
					sp->vecs[sp->nvecs++] = cur;
			}
			in = !in;
			memset(&cur, 0, sizeof(cur));
			continue;
		}
		if (!in)
			continue;
		colon = strstr(line, ": ");
		if (!colon) {
			/* an empty value: "key:" */
			continue;
		}
		*colon = 0;
		err = parse_vec_line(&cur, line, colon + 2);
	}
	free(copy);
	return err;
}

/* The rotation vector's records: "records A to B and C to D". */
static int parse_rotation_records(struct spec *sp, const char *text)
{
	const char *p = strstr(text, "### 13.5");
	unsigned long long a, b, c, d;

	for (p = p ? strstr(p, "records ") : NULL; p; p = strstr(p + 1, "records "))
		if (sscanf(p, "records %llu to %llu and %llu to %llu", &a, &b, &c, &d) == 4) {
			if (a > b || b >= c || c > d)
				return -1;
			sp->rot_idx[0][0] = a;
			sp->rot_idx[0][1] = b;
			sp->rot_idx[1][0] = c;
			sp->rot_idx[1][1] = d;
			return 0;
		}
	return -1;
}

static const char *spec_path(void)
{
	const char *p = getenv("PLASMATIC_SPEC");

	return p ? p : "SPEC.md";
}

static const struct tpl_vec *find_vec(const struct spec *sp, const char *name)
{
	for (int i = 0; i < sp->nvecs; i++)
		if (!strcmp(sp->vecs[i].name, name))
			return &sp->vecs[i];
	return NULL;
}

/* ---- reference (independent of bpf/tpl.bpf.h) -------------------------- */

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

/* SipHash-2-4 of a byte string, straight from the paper. */
static uint64_t ref_siphash(const uint8_t key[16], const uint8_t *m, size_t len)
{
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v[4] = { k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL,
			  k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL };
	uint8_t last[8] = { 0 };
	size_t off;
	uint64_t w;

#define REF_ROUND() do { \
	v[0] += v[1]; v[1] = rotl(v[1], 13); v[1] ^= v[0]; v[0] = rotl(v[0], 32); \
	v[2] += v[3]; v[3] = rotl(v[3], 16); v[3] ^= v[2]; \
	v[0] += v[3]; v[3] = rotl(v[3], 21); v[3] ^= v[0]; \
	v[2] += v[1]; v[1] = rotl(v[1], 17); v[1] ^= v[2]; v[2] = rotl(v[2], 32); \
} while (0)

	for (off = 0; off + 8 <= len; off += 8) {
		w = le64(m + off);
		v[3] ^= w;
		REF_ROUND();
		REF_ROUND();
		v[0] ^= w;
	}
	memcpy(last, m + off, len - off);
	last[7] = len & 0xff;
	w = le64(last);
	v[3] ^= w;
	REF_ROUND();
	REF_ROUND();
	v[0] ^= w;
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		REF_ROUND();
#undef REF_ROUND
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* SPEC 9.1: r(i) = SipHash-2-4(LE64(seed) || LE64(mode), LE64(i)). */
static uint64_t ref_draw(uint64_t seed, uint64_t mode, uint64_t i)
{
	uint8_t key[16], msg[8];

	put_le64(key, seed);
	put_le64(key + 8, mode);
	put_le64(msg, i);
	return ref_siphash(key, msg, 8);
}

static uint64_t ref_pick(uint64_t r, uint64_t lo, uint64_t hi)
{
	return lo + (r & 0xffffffffULL) % (hi - lo + 1);
}

/* SPEC 9.2, from the parsed table. */
static uint64_t ref_size(const struct tpl_row *row, uint64_t r)
{
	switch (row->size_kind) {
	case KIND_CONST:
		return row->size_lo;
	case KIND_RANGE:
		return ref_pick(r, row->size_lo, row->size_hi);
	default:
		if ((r >> 32) % 100 < row->p_lt)
			return ref_pick(r, row->size_lo, row->size_hi);
		return ref_pick(r, row->size_lo2, row->size_hi2);
	}
}

static uint64_t ref_delay_us(const struct tpl_row *row, uint64_t r)
{
	if (row->delay_kind == KIND_CONST)
		return row->delay_lo * 1000;
	return ref_pick(r, row->delay_lo * 1000, row->delay_hi * 1000);
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* ---- the BPF program ---------------------------------------------------- */

/* One test run: returns the program's TPL_TEST_* code or -errno. */
static int tpl_run(int fd, struct tpl_test_msg *m)
{
	uint8_t in[TPL_TEST_HDR + sizeof(*m)] = { 0 }, out[sizeof(in) + 64];
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = in,
		.data_size_in = sizeof(in),
		.data_out = out,
		.data_size_out = sizeof(out),
	);
	int err;

	memcpy(in + TPL_TEST_HDR, m, sizeof(*m));
	err = bpf_prog_test_run_opts(fd, &opts);
	if (err)
		return err < 0 ? err : -errno;
	if (opts.data_size_out != sizeof(in))
		return -EPROTO;
	memcpy(m, out + TPL_TEST_HDR, sizeof(*m));
	return opts.retval;
}

static int bpf_draw(int fd, uint64_t seed, uint64_t mode, uint64_t counter,
		    struct tpl_test_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->op = TPL_TEST_OP_DRAW;
	m->seed = seed;
	m->mode = mode;
	m->counter = counter;
	return tpl_run(fd, m);
}

/* One record from the state in *m (seed, mode, counter, lock), updating it. */
static int bpf_next(int fd, struct tpl_test_msg *m)
{
	m->op = TPL_TEST_OP_NEXT;
	m->r = m->size = m->delay_us = 0;
	return tpl_run(fd, m);
}

static void init_state(struct tpl_test_msg *m, uint64_t seed, uint64_t mode, uint64_t lock)
{
	memset(m, 0, sizeof(*m));
	m->seed = seed;
	m->mode = mode;
	m->lock = lock;
}

/* ---- tests -------------------------------------------------------------- */

FIXTURE(tpl) {
	struct spec *sp;
	struct tpl_test *skel;
	int fd;
};

FIXTURE_SETUP(tpl)
{
	char *text = read_file(spec_path());

	ASSERT_NE(NULL, text) TH_LOG("cannot read %s: %s", spec_path(), strerror(errno));
	self->sp = calloc(1, sizeof(*self->sp));
	ASSERT_NE(NULL, self->sp);
	ASSERT_EQ(0, parse_table(self->sp, text)) TH_LOG("SPEC 9.2 table not understood");
	ASSERT_EQ(0, parse_rotation(self->sp, text)) TH_LOG("SPEC 9.4 rotation not understood");
	ASSERT_EQ(0, parse_vectors(self->sp, text)) TH_LOG("SPEC 13.5 vectors not understood");
	ASSERT_EQ(0, parse_rotation_records(self->sp, text))
		TH_LOG("SPEC 13.5 rotation records not understood");
	free(text);

	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	self->skel = tpl_test__open_and_load();
	ASSERT_NE(NULL, self->skel) TH_LOG("loading bpf/tpl_test.bpf.c failed (verifier?)");
	self->fd = bpf_program__fd(self->skel->progs.tpl_run);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(tpl)
{
	tpl_test__destroy(self->skel);
	free(self->sp);
}

/* The parsed SPEC is what this test expects to exercise. */
TEST_F(tpl, spec_parsed)
{
	const struct spec *sp = self->sp;
	int modes = 0;

	for (int i = 0; i < sp->nvecs; i++) {
		const struct tpl_vec *v = &sp->vecs[i];

		char want[64];

		ASSERT_TRUE(v->has_mode && v->has_seed && v->has_lock) TH_LOG("%s", v->name);
		if (strncmp(v->name, "tpl-mode-", 9))
			continue;
		snprintf(want, sizeof(want), "tpl-mode-%llu", (unsigned long long)v->mode);
		EXPECT_STREQ(want, v->name);
		EXPECT_NE(0ULL, (unsigned long long)v->lock);
		EXPECT_LT(0, v->nr);
		EXPECT_LT(0, v->npairs);
		modes++;
	}
	/* One vector per mode of the table, and the rotation vector. */
	EXPECT_EQ(sp->nmodes, modes);
	for (int m = 0; m < sp->nmodes; m++) {
		char name[64];

		snprintf(name, sizeof(name), "tpl-mode-%d", m);
		EXPECT_NE(NULL, find_vec(sp, name)) TH_LOG("%s missing", name);
	}
	ASSERT_NE(NULL, find_vec(sp, "tpl-rotation"));
	EXPECT_EQ(sp->rot_idx[0][1] - sp->rot_idx[0][0] + sp->rot_idx[1][1] - sp->rot_idx[1][0] + 2,
		  (uint64_t)find_vec(sp, "tpl-rotation")->ndraws);
	/* Every rotating mode is a mode of the table. */
	for (int i = 0; i < sp->norder; i++)
		EXPECT_GT((uint64_t)sp->nmodes, sp->order[i]);
	TH_LOG("SPEC: %d modes, rotation of %d modes every %llu records, %d TPL vectors",
	       sp->nmodes, sp->norder, (unsigned long long)sp->interval, sp->nvecs);
}

/* The loaded program: what the verifier made of it. */
TEST_F(tpl, verifier_accepts)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, bpf_obj_get_info_by_fd(self->fd, &info, &len));
	EXPECT_EQ((__u32)BPF_PROG_TYPE_SCHED_CLS, info.type);
	TH_LOG("tpl_run: %u xlated insns, %u insns verified, jited %u bytes",
	       info.xlated_prog_len / 8, info.verified_insns, info.jited_prog_len);
}

/* SPEC 13.5: r(0..3) per mode; the reference agrees too. */
TEST_F(tpl, spec_r)
{
	const struct spec *sp = self->sp;
	struct tpl_test_msg m;

	for (int i = 0; i < sp->nvecs; i++) {
		const struct tpl_vec *v = &sp->vecs[i];

		for (int k = 0; k < v->nr; k++) {
			ASSERT_EQ(TPL_TEST_OK, bpf_draw(self->fd, v->seed, v->mode, k, &m));
			EXPECT_EQ(v->r[k], m.r) TH_LOG("%s r(%d): bpf %016llx spec %016llx",
				v->name, k, (unsigned long long)m.r, (unsigned long long)v->r[k]);
			EXPECT_EQ(v->r[k], ref_draw(v->seed, v->mode, k));
		}
	}
}

/* SPEC 13.5 pairs: record j's size from r(2j), delay from r(2j+1). */
TEST_F(tpl, spec_pairs_draw)
{
	const struct spec *sp = self->sp;
	struct tpl_test_msg ms, md;

	for (int i = 0; i < sp->nvecs; i++) {
		const struct tpl_vec *v = &sp->vecs[i];

		for (int j = 0; j < v->npairs; j++) {
			ASSERT_EQ(TPL_TEST_OK, bpf_draw(self->fd, v->seed, v->mode, 2 * j, &ms));
			ASSERT_EQ(TPL_TEST_OK, bpf_draw(self->fd, v->seed, v->mode, 2 * j + 1, &md));
			EXPECT_EQ(v->pairs[j][0], ms.size) TH_LOG("%s record %d size", v->name, j);
			EXPECT_EQ(v->pairs[j][1], md.delay_us) TH_LOG("%s record %d delay", v->name, j);
		}
	}
}

/* SPEC 13.5 pairs through the state machine (tpl_next), locked. */
TEST_F(tpl, spec_pairs_state)
{
	const struct spec *sp = self->sp;
	struct tpl_test_msg m;

	for (int i = 0; i < sp->nvecs; i++) {
		const struct tpl_vec *v = &sp->vecs[i];

		init_state(&m, v->seed, v->mode, v->lock);
		for (int j = 0; j < v->npairs; j++) {
			ASSERT_EQ(TPL_TEST_OK, bpf_next(self->fd, &m));
			EXPECT_EQ(v->mode, m.mode);
			EXPECT_EQ((uint64_t)2 * (j + 1), m.counter);
			EXPECT_EQ(v->pairs[j][0], m.size) TH_LOG("%s record %d size", v->name, j);
			EXPECT_EQ(v->pairs[j][1], m.delay_us) TH_LOG("%s record %d delay", v->name, j);
		}
	}
}

/* SPEC 13.5 tpl-rotation: records around the first two rotations. */
TEST_F(tpl, spec_rotation)
{
	const struct spec *sp = self->sp;
	const struct tpl_vec *v = find_vec(sp, "tpl-rotation");
	struct tpl_test_msg m;
	int k = 0;

	ASSERT_NE(NULL, v);
	init_state(&m, v->seed, v->mode, v->lock);
	for (uint64_t j = 0; j <= sp->rot_idx[1][1]; j++) {
		ASSERT_EQ(TPL_TEST_OK, bpf_next(self->fd, &m));
		if (!((j >= sp->rot_idx[0][0] && j <= sp->rot_idx[0][1]) ||
		      (j >= sp->rot_idx[1][0] && j <= sp->rot_idx[1][1])))
			continue;
		ASSERT_GT(v->ndraws, k);
		EXPECT_EQ(v->draws[k][0], m.mode) TH_LOG("record %llu mode", (unsigned long long)j);
		EXPECT_EQ(v->draws[k][1], m.size) TH_LOG("record %llu size", (unsigned long long)j);
		EXPECT_EQ(v->draws[k][2], m.delay_us) TH_LOG("record %llu delay", (unsigned long long)j);
		k++;
	}
	EXPECT_EQ(v->ndraws, k);
}

/*
 * Many draws per mode, with seeds and counters spread over 64 bits: r equals
 * the reference, size and delay equal the table's mapping and lie within
 * its bounds, and the draws cover the ranges.
 */
TEST_F(tpl, draws_within_bounds)
{
	const struct spec *sp = self->sp;
	const int n = 3000;
	uint64_t rng = 0x706c61736d617469ULL;
	struct tpl_test_msg m;

	for (int mode = 0; mode < sp->nmodes; mode++) {
		const struct tpl_row *row = &sp->rows[mode];
		uint64_t smin = UINT64_MAX, smax = 0, s2min = UINT64_MAX, s2max = 0;
		uint64_t dmin = UINT64_MAX, dmax = 0, low = 0, bad = 0;

		for (int i = 0; i < n; i++) {
			uint64_t seed = splitmix64(&rng);
			uint64_t ctr = i < n / 3 ? (uint64_t)i : splitmix64(&rng) >> (i % 64);
			uint64_t r = ref_draw(seed, mode, ctr);
			int second;

			ASSERT_EQ(TPL_TEST_OK, bpf_draw(self->fd, seed, mode, ctr, &m));
			if (m.r != r || m.size != ref_size(row, r) || m.delay_us != ref_delay_us(row, r)) {
				if (bad++ < 5)
					TH_LOG("mode %d seed %016llx ctr %llu: bpf r %016llx size %llu delay %llu",
					       mode, (unsigned long long)seed, (unsigned long long)ctr,
					       (unsigned long long)m.r, (unsigned long long)m.size,
					       (unsigned long long)m.delay_us);
				continue;
			}
			second = row->size_kind == KIND_SPLIT && (r >> 32) % 100 >= row->p_lt;
			if (row->size_kind == KIND_SPLIT && !second)
				low++;
			if (second) {
				s2min = m.size < s2min ? m.size : s2min;
				s2max = m.size > s2max ? m.size : s2max;
			} else {
				smin = m.size < smin ? m.size : smin;
				smax = m.size > smax ? m.size : smax;
			}
			dmin = m.delay_us < dmin ? m.delay_us : dmin;
			dmax = m.delay_us > dmax ? m.delay_us : dmax;
		}
		EXPECT_EQ((uint64_t)0, bad) TH_LOG("mode %d: %llu of %d draws differ from the reference",
					 mode, (unsigned long long)bad, n);

		/* Bounds. */
		EXPECT_LE(row->size_lo, smin) TH_LOG("mode %d", mode);
		EXPECT_GE(row->size_hi, smax) TH_LOG("mode %d", mode);
		EXPECT_LE(row->delay_lo * 1000, dmin) TH_LOG("mode %d", mode);
		EXPECT_GE(row->delay_hi * 1000, dmax) TH_LOG("mode %d", mode);
		/* Coverage: within 1/32 of each end of each range. */
		EXPECT_GE(row->size_lo + (row->size_hi - row->size_lo) / 32, smin) TH_LOG("mode %d", mode);
		EXPECT_LE(row->size_hi - (row->size_hi - row->size_lo) / 32, smax) TH_LOG("mode %d", mode);
		EXPECT_GE(row->delay_lo * 1000 + (row->delay_hi - row->delay_lo) * 1000 / 32, dmin)
			TH_LOG("mode %d", mode);
		EXPECT_LE(row->delay_hi * 1000 - (row->delay_hi - row->delay_lo) * 1000 / 32, dmax)
			TH_LOG("mode %d", mode);
		if (row->size_kind == KIND_SPLIT) {
			uint64_t pct = low * 100 / n;

			EXPECT_LE(row->size_lo2, s2min) TH_LOG("mode %d", mode);
			EXPECT_GE(row->size_hi2, s2max) TH_LOG("mode %d", mode);
			EXPECT_GE(row->size_lo2 + (row->size_hi2 - row->size_lo2) / 32, s2min);
			EXPECT_LE(row->size_hi2 - (row->size_hi2 - row->size_lo2) / 32, s2max);
			/* The split's share, within 5 points (sd about 0.8). */
			EXPECT_LE(row->p_lt - 5, pct) TH_LOG("mode %d: %llu%% small", mode,
							     (unsigned long long)pct);
			EXPECT_GE(row->p_lt + 5, pct) TH_LOG("mode %d: %llu%% small", mode,
							     (unsigned long long)pct);
		}
		if (row->size_kind == KIND_SPLIT)
			TH_LOG("mode %d: %d draws, size %llu..%llu (%llu%%) or %llu..%llu, delay %llu..%llu us",
			       mode, n, (unsigned long long)smin, (unsigned long long)smax,
			       (unsigned long long)(low * 100 / n), (unsigned long long)s2min,
			       (unsigned long long)s2max, (unsigned long long)dmin,
			       (unsigned long long)dmax);
		else
			TH_LOG("mode %d: %d draws, size %llu..%llu, delay %llu..%llu us", mode, n,
			       (unsigned long long)smin, (unsigned long long)smax,
			       (unsigned long long)dmin, (unsigned long long)dmax);
	}
}

/*
 * Unlocked from the first mode of the rotation order: every record of a
 * whole cycle (and the first after it) has the mode of the order and the
 * reference's size and delay from the counter reset at each rotation.
 */
TEST_F(tpl, rotation_full_cycle)
{
	const struct spec *sp = self->sp;
	const uint64_t seed = 0xfedcba9876543210ULL;
	const uint64_t total = sp->norder * sp->interval + 1;
	struct tpl_test_msg m;
	uint64_t bad = 0;

	init_state(&m, seed, sp->order[0], 0);
	for (uint64_t j = 0; j < total; j++) {
		uint64_t mode = sp->order[(j / sp->interval) % sp->norder];
		uint64_t k = j % sp->interval;
		const struct tpl_row *row = &sp->rows[mode];

		ASSERT_EQ(TPL_TEST_OK, bpf_next(self->fd, &m));
		if (m.mode != mode || m.counter != 2 * (k + 1) ||
		    m.size != ref_size(row, ref_draw(seed, mode, 2 * k)) ||
		    m.delay_us != ref_delay_us(row, ref_draw(seed, mode, 2 * k + 1))) {
			if (bad++ < 5)
				TH_LOG("record %llu: mode %llu counter %llu size %llu delay %llu",
				       (unsigned long long)j, (unsigned long long)m.mode,
				       (unsigned long long)m.counter, (unsigned long long)m.size,
				       (unsigned long long)m.delay_us);
		}
	}
	EXPECT_EQ((uint64_t)0, bad);
}

/*
 * Locked states never rotate, nor do unlocked modes outside the rotation
 * order (0): past the point where an unlocked rotating mode would move on,
 * the mode stays and the counter keeps counting.
 */
TEST_F(tpl, no_rotation)
{
	const struct spec *sp = self->sp;
	const uint64_t seed = 0x0011223344556677ULL;
	const uint64_t total = sp->interval + 2;
	struct tpl_test_msg m;

	for (uint64_t mode = 0; mode < (uint64_t)sp->nmodes; mode++) {
		const struct tpl_row *row = &sp->rows[mode];
		int rotating = 0;

		for (int i = 0; i < sp->norder; i++)
			rotating |= sp->order[i] == mode;
		for (int lock = 1; lock >= rotating; lock--) {
			uint64_t bad = 0;

			init_state(&m, seed, mode, lock);
			for (uint64_t j = 0; j < total; j++) {
				ASSERT_EQ(TPL_TEST_OK, bpf_next(self->fd, &m));
				if (m.mode != mode || m.counter != 2 * (j + 1) ||
				    m.size != ref_size(row, ref_draw(seed, mode, 2 * j)) ||
				    m.delay_us != ref_delay_us(row, ref_draw(seed, mode, 2 * j + 1)))
					bad++;
			}
			EXPECT_EQ((uint64_t)0, bad) TH_LOG("mode %llu lock %d", (unsigned long long)mode, lock);
		}
	}
}

/* Unknown modes, unknown ops and short packets are refused. */
TEST_F(tpl, errors)
{
	const uint64_t bad_modes[] = { self->sp->nmodes, 255, 1ULL << 32, UINT64_MAX };
	struct tpl_test_msg m;
	uint8_t in[TPL_TEST_HDR + sizeof(m) - 1] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = sizeof(in));

	for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
		EXPECT_EQ(TPL_TEST_ERR_MODE, bpf_draw(self->fd, 1, bad_modes[i], 0, &m));
		init_state(&m, 1, bad_modes[i], 0);
		m.counter = 42;
		EXPECT_EQ(TPL_TEST_ERR_MODE, bpf_next(self->fd, &m));
		/* The state is left as it was. */
		EXPECT_EQ(bad_modes[i], m.mode);
		EXPECT_EQ((__u64)42, m.counter);
	}
	memset(&m, 0, sizeof(m));
	m.op = 99;
	EXPECT_EQ(TPL_TEST_ERR_OP, tpl_run(self->fd, &m));
	ASSERT_EQ(0, bpf_prog_test_run_opts(self->fd, &opts));
	EXPECT_EQ((__u32)TPL_TEST_ERR_SHORT, opts.retval);
}

PL_HARNESS_MAIN
