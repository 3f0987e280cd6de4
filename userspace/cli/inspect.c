// SPDX-License-Identifier: GPL-2.0
/*
 * plasmatic inspect CAPTURE: what an observer of a packet capture sees of
 * Plasmatic (or any TLS) connections.
 *
 * libpcap reads the capture (pcap or pcapng).  Every TCP connection is
 * followed; each direction is reassembled in sequence order: a byte seen
 * twice (retransmission, overlap) counts once, from the first packet that
 * carried it in sequence order, and a hole in the sequence space stops the
 * direction with an error.  The TLS record headers are then walked across
 * the stream.
 *
 * Handshake records, counted apart from the application records, for a
 * connection whose SYN (or SYN-ACK) is in the capture:
 *   client -> server: every record up to and including its first record of
 *     type 23 (its encrypted Finished; before it the ClientHello(s) and a
 *     ChangeCipherSpec), and the record after it, the opening record
 *     (SPEC.md 2.3: padding only, no TPL draw);
 *   server -> client: every record that starts in a packet captured before
 *     the packet that carries the start of the client's Finished
 *     (ServerHello, ChangeCipherSpec, EncryptedExtensions .. Finished in
 *     however many records), and the two records after them, the
 *     NewSessionTickets of SPEC.md 2.2.
 * In detached framing exactly these records, the opening record excepted,
 * carry no EEM after them (SPEC.md 2.2, 6).  Without the SYN the stream is
 * read from the first byte seen (it must start a record), nothing is
 * skipped, and the client is taken to be the side with the higher port.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/plasmatic.h>

#include "cli.h"

enum { EXI_OK = 0, EXI_CAPTURE = 1, EXI_USAGE = 2 };

#define TLS_OVERHEAD	17	/* content type byte + 16-byte AEAD tag */
#define REC_CAP		16384	/* 2^14 */
#define REC_LEN_MAX	(16384 + 256)
#define NBUCKETS	4096
#define TCP_FIN		0x01
#define TCP_SYN		0x02
#define TCP_ACK		0x10

/* A TCP segment's payload, at its stream offset. */
struct seg {
	int64_t off;
	int64_t ts;		/* capture time, ns */
	uint32_t len, frame;
	unsigned char *data;
};

/* A piece of the reassembled stream: the new bytes of one segment. */
struct chunk {
	int64_t off;
	int64_t ts;
	uint32_t len, frame;
	bool seg_start;		/* off is the first byte of its segment */
	const unsigned char *data;
};

struct rec {
	int64_t off;
	int64_t ts;		/* of the packet carrying the header's first byte */
	uint32_t frame;
	uint16_t len;		/* header length */
	uint8_t type;
	bool seg_start, hs, eem;
};

struct dir {
	uint32_t base;		/* sequence number of stream offset 0 */
	bool based;
	int64_t last;		/* highest offset seen: unwraps sequence numbers */
	struct seg *segs;
	size_t nsegs, segcap;
	struct chunk *chunks;
	size_t nchunks, chunkcap;
	int64_t stream_len;	/* bytes in order from offset 0 */
	struct rec *recs;
	size_t nrecs, reccap;
	size_t nhs, hs_flight, hs_tickets;
	bool not_tls;
	char err[240];		/* the first error: the walk is incomplete */
	char note[240];
	/* application records: sizes in order, gaps in ms; sorted copies */
	double *sizes, *gaps, *ssizes, *sgaps;
	size_t n, ngaps, midseg;
	double d_size, d_gap;
};

struct conn {
	struct conn *next;	/* hash chain */
	size_t index;		/* 1.., in order of first packet */
	int af;
	unsigned char addr[2][16];	/* [0] client, [1] server */
	uint16_t port[2];
	bool syn, guessed, selected;
	struct dir d[2];	/* [0] client -> server, [1] server -> client */
};

struct iopts {
	const char *capture, *plot;
	uint8_t framing;	/* PLASMATIC_FRAMING_* */
	bool detached, json;
	int eem_len, mode;	/* mode -1: none */
	long conn, port;	/* 0, -1: any */
	int dirs;		/* bit 0: client -> server, bit 1: server -> client */
};

struct insp {
	struct iopts o;
	struct conn *buckets[NBUCKETS];
	struct conn **all;
	size_t nall, allcap;
	uint64_t packets, tcp, cut, frags;
	int linktype;
};

/* A parsed TCP packet. */
struct pkt {
	int af;
	const unsigned char *src, *dst, *data;
	uint16_t sp, dp;
	uint32_t seq, ack, len;
	uint8_t flags;
	bool cut;
};

/* Distributions of SPEC.md 9.2 and their CDFs. */
enum { DIST_UNIF, DIST_MIX, DIST_POINT, DIST_CONT };
struct dist {
	int kind;
	double a, b, a2, b2, w;
};

static const struct mode_def {
	const char *name;
	int lo, hi, lo2, hi2, pct;	/* lo < 0: the record cap */
	double d_lo, d_hi;		/* ms */
} modes[PLASMATIC_TPL_MODES] = {
	{ "unshaped (bulk)", -1, -1, 0, 0, 100, 0, 0 },
	{ "web browsing", 100, 1500, 0, 0, 100, 10, 110 },
	{ "video streaming", 1000, 16000, 0, 0, 100, 1, 5 },
	{ "idle / keep-alive", 10, 60, 0, 0, 100, 500, 1000 },
	{ "online gaming", 50, 250, 500, 2000, 70, 5, 25 },
	{ "voice/video call", 100, 500, 0, 0, 100, 10, 20 },
	{ "large file download", -1, -1, 0, 0, 100, 1, 5 },
	{ "email sync", 200, 2000, 0, 0, 100, 1000, 5000 },
	{ "DNS over TLS", 50, 150, 0, 0, 100, 50, 550 },
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		msg("out of memory");
		exit(EXI_CAPTURE);
	}
	return p;
}

/* Room for one more element in a growing array. */
#define GROW(arr, n, cap) do {						\
	if ((n) == (cap)) {						\
		(cap) = (cap) ? 2 * (cap) : 64;				\
		(arr) = xrealloc((arr), (cap) * sizeof(*(arr)));	\
	}								\
} while (0)

static uint16_t rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* ------------------------------------------------------------ packets */

static bool link_supported(int lt)
{
	switch (lt) {
	case DLT_EN10MB: case DLT_LINUX_SLL: case DLT_LINUX_SLL2:
	case DLT_NULL: case DLT_LOOP: case DLT_RAW:
#ifdef DLT_IPV4
	case DLT_IPV4: case DLT_IPV6:
#endif
		return true;
	}
	return false;
}

/* The IP packet in a frame (its captured bytes in *len), or NULL. */
static const unsigned char *net_layer(int lt, const unsigned char *p,
				      uint32_t cap, uint32_t *len)
{
	uint32_t off = 0;
	uint16_t et = 0;

	switch (lt) {
	case DLT_EN10MB:
		if (cap < 14)
			return NULL;
		et = rd16(p + 12);
		off = 14;
		while ((et == 0x8100 || et == 0x88a8) && cap >= off + 4) {
			et = rd16(p + off + 2);
			off += 4;
		}
		break;
	case DLT_LINUX_SLL:
		if (cap < 16)
			return NULL;
		et = rd16(p + 14);
		off = 16;
		break;
	case DLT_LINUX_SLL2:
		if (cap < 20)
			return NULL;
		et = rd16(p);
		off = 20;
		break;
	case DLT_NULL: case DLT_LOOP:
		off = 4;	/* address family: the IP version says it */
		break;
	}
	if (off >= cap || (et && et != 0x0800 && et != 0x86dd))
		return NULL;
	*len = cap - off;
	return p + off;
}

/* TCP in an IP packet of cap captured bytes; false if not TCP or bogus. */
static bool parse_ip(struct insp *in, const unsigned char *ip, uint32_t cap,
		     struct pkt *k)
{
	uint32_t hl, iplen, avail, thl, el;
	const unsigned char *tcp;
	uint8_t proto;

	if ((ip[0] >> 4) == 4) {
		if (cap < 20)
			return false;
		hl = (ip[0] & 15) * 4u;
		iplen = rd16(ip + 2);
		if (hl < 20 || iplen < hl)
			return false;
		if (rd16(ip + 6) & 0x3fff) {	/* MF or an offset */
			in->frags++;
			return false;
		}
		proto = ip[9];
		k->af = AF_INET;
		k->src = ip + 12;
		k->dst = ip + 16;
	} else if ((ip[0] >> 4) == 6) {
		if (cap < 40)
			return false;
		iplen = 40u + rd16(ip + 4);
		proto = ip[6];
		hl = 40;
		/* hop-by-hop, routing, destination options, AH */
		while (proto == 0 || proto == 43 || proto == 60 || proto == 51) {
			if (cap < hl + 2)
				return false;
			el = proto == 51 ? (ip[hl + 1] + 2u) * 4 : (ip[hl + 1] + 1u) * 8;
			proto = ip[hl];
			hl += el;
		}
		if (proto == 44) {
			in->frags++;
			return false;
		}
		if (iplen < hl)
			return false;
		k->af = AF_INET6;
		k->src = ip + 8;
		k->dst = ip + 24;
	} else {
		return false;
	}
	if (proto != 6)
		return false;
	avail = cap < iplen ? cap : iplen;
	if (avail < hl + 20)
		return false;
	tcp = ip + hl;
	thl = (tcp[12] >> 4) * 4u;
	if (thl < 20 || hl + thl > avail)
		return false;
	k->sp = rd16(tcp);
	k->dp = rd16(tcp + 2);
	k->seq = rd32(tcp + 4);
	k->ack = rd32(tcp + 8);
	k->flags = tcp[13];
	k->data = tcp + thl;
	k->len = avail - hl - thl;
	k->cut = cap < iplen;
	return true;
}

static unsigned int ep_hash(const unsigned char *a, size_t alen, uint16_t port)
{
	unsigned int h = 2166136261u;
	size_t i;

	for (i = 0; i < alen; i++)
		h = (h ^ a[i]) * 16777619u;
	h = (h ^ (port >> 8)) * 16777619u;
	return (h ^ (port & 0xff)) * 16777619u;
}

static size_t addr_len(int af)
{
	return af == AF_INET ? 4 : 16;
}

/* Symmetric: both directions of a connection land in the same bucket. */
static unsigned int conn_bucket(const struct pkt *k)
{
	size_t al = addr_len(k->af);

	return (ep_hash(k->src, al, k->sp) ^ ep_hash(k->dst, al, k->dp)) %
	       NBUCKETS;
}

/* The newest connection of k's endpoints; *dir: k's direction in it. */
static struct conn *conn_find(struct insp *in, const struct pkt *k, int *dir)
{
	size_t al = addr_len(k->af);
	struct conn *c;
	int i;

	for (c = in->buckets[conn_bucket(k)]; c; c = c->next) {
		if (c->af != k->af)
			continue;
		for (i = 0; i < 2; i++) {
			if (c->port[i] == k->sp && c->port[!i] == k->dp &&
			    !memcmp(c->addr[i], k->src, al) &&
			    !memcmp(c->addr[!i], k->dst, al)) {
				*dir = i;
				return c;
			}
		}
	}
	return NULL;
}

/* A new connection whose client is k's source (or destination). */
static struct conn *conn_new(struct insp *in, const struct pkt *k,
			     bool client_is_src)
{
	struct conn *c = calloc(1, sizeof(*c));
	unsigned int b = conn_bucket(k);
	int ci = client_is_src ? 0 : 1;

	if (!c) {
		msg("out of memory");
		exit(EXI_CAPTURE);
	}
	c->af = k->af;
	memcpy(c->addr[ci], k->src, addr_len(k->af));
	memcpy(c->addr[!ci], k->dst, addr_len(k->af));
	c->port[ci] = k->sp;
	c->port[!ci] = k->dp;
	c->next = in->buckets[b];
	in->buckets[b] = c;
	GROW(in->all, in->nall, in->allcap);
	in->all[in->nall++] = c;
	c->index = in->nall;
	c->selected = (in->o.conn == 0 || (long)c->index == in->o.conn) &&
		      (in->o.port < 0 || c->port[0] == in->o.port ||
		       c->port[1] == in->o.port);
	return c;
}

static void dir_base(struct dir *d, uint32_t seq)
{
	d->base = seq;
	d->based = true;
	d->last = 0;
}

static void add_data(struct dir *d, uint32_t seq, const struct pkt *k,
		     uint32_t frame, int64_t ts)
{
	uint32_t rel, skip;
	int64_t off;
	struct seg *s;

	if (!d->based)
		dir_base(d, seq);
	rel = seq - d->base;
	off = d->last + (int32_t)(rel - (uint32_t)d->last);
	if (off > d->last)
		d->last = off;
	if (off + (int64_t)k->len <= 0)
		return;		/* before the stream's first byte */
	skip = off < 0 ? (uint32_t)-off : 0;
	GROW(d->segs, d->nsegs, d->segcap);
	s = &d->segs[d->nsegs++];
	s->off = off + skip;
	s->len = k->len - skip;
	s->frame = frame;
	s->ts = ts;
	s->data = xrealloc(NULL, s->len);
	memcpy(s->data, k->data + skip, s->len);
}

static void on_packet(struct insp *in, const struct pkt *k, uint32_t frame,
		      int64_t ts)
{
	bool syn = k->flags & TCP_SYN, ack = k->flags & TCP_ACK;
	int dir = 0;
	struct conn *c = conn_find(in, k, &dir);

	in->tcp++;
	if (k->cut)
		in->cut++;
	if (syn && !ack) {
		/* A client's SYN: a new connection unless it repeats one. */
		if (!c || dir != 0 || !c->syn || c->d[0].base != k->seq + 1) {
			c = conn_new(in, k, true);
			dir = 0;
			c->syn = true;
			dir_base(&c->d[0], k->seq + 1);
		}
	} else if (syn) {
		if (!c) {	/* SYN-ACK without the SYN */
			c = conn_new(in, k, false);
			dir = 1;
			c->syn = true;
			dir_base(&c->d[0], k->ack);
		}
		if (c->syn && !c->d[dir].based)
			dir_base(&c->d[dir], k->seq + 1);
	} else if (!c) {
		c = conn_new(in, k, true);
	}
	if (!c->selected || !k->len)
		return;
	add_data(&c->d[dir], syn ? k->seq + 1 : k->seq, k, frame, ts);
}

/* Read the capture; 0 or an exit status after a message. */
static int read_capture(struct insp *in)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr *h;
	const unsigned char *p, *ip;
	uint32_t frame = 0, iplen;
	struct pkt k;
	pcap_t *pc;
	int rc;

	pc = pcap_open_offline_with_tstamp_precision(in->o.capture,
			PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc) {
		msg("%s: cannot read the capture: %s", in->o.capture, errbuf);
		return EXI_CAPTURE;
	}
	in->linktype = pcap_datalink(pc);
	if (!link_supported(in->linktype)) {
		msg("%s: link type %s (%d) not supported: Ethernet, Linux "
		     "cooked (SLL, SLL2), loopback (NULL, LOOP) or raw IP",
		     in->o.capture,
		     pcap_datalink_val_to_name(in->linktype) ?
		     pcap_datalink_val_to_name(in->linktype) : "unknown",
		     in->linktype);
		pcap_close(pc);
		return EXI_CAPTURE;
	}
	while ((rc = pcap_next_ex(pc, &h, &p)) == 1) {
		frame++;
		in->packets++;
		ip = net_layer(in->linktype, p, h->caplen, &iplen);
		memset(&k, 0, sizeof(k));
		if (!ip || !parse_ip(in, ip, iplen, &k))
			continue;
		on_packet(in, &k, frame,
			  (int64_t)h->ts.tv_sec * 1000000000 + h->ts.tv_usec);
	}
	if (rc == PCAP_ERROR) {
		msg("%s: cannot read the capture after %u packets: %s",
		     in->o.capture, frame, pcap_geterr(pc));
		pcap_close(pc);
		return EXI_CAPTURE;
	}
	pcap_close(pc);
	return 0;
}

/* ------------------------------------------------------------ streams */

static int seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->frame < y->frame ? -1 : x->frame > y->frame;
}

/* In sequence order, each byte once; stops at the first hole. */
static void reassemble(struct dir *d, uint64_t cut)
{
	int64_t next = 0, end;
	struct chunk *ch;
	uint32_t skip;
	size_t i;

	qsort(d->segs, d->nsegs, sizeof(*d->segs), seg_cmp);
	for (i = 0; i < d->nsegs; i++) {
		const struct seg *s = &d->segs[i];

		end = s->off + s->len;
		if (end <= next)
			continue;	/* retransmission */
		if (s->off > next) {
			snprintf(d->err, sizeof(d->err),
				 "gap in the capture at stream offset %lld: "
				 "%lld bytes missing before frame %u%s",
				 (long long)next, (long long)(s->off - next),
				 s->frame, cut ? " (packets were cut by the "
				 "capture's snap length)" : "");
			break;
		}
		skip = (uint32_t)(next - s->off);
		GROW(d->chunks, d->nchunks, d->chunkcap);
		ch = &d->chunks[d->nchunks++];
		ch->off = next;
		ch->len = s->len - skip;
		ch->frame = s->frame;
		ch->ts = s->ts;
		ch->seg_start = !skip;
		ch->data = s->data + skip;
		next = end;
	}
	d->stream_len = next;
}

/* The chunk holding stream offset off; the search only moves forward. */
static const struct chunk *chunk_at(const struct dir *d, size_t *i, int64_t off)
{
	while (*i < d->nchunks && d->chunks[*i].off + d->chunks[*i].len <= off)
		(*i)++;
	return *i < d->nchunks ? &d->chunks[*i] : NULL;
}

static void set_err(struct dir *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_err(struct dir *d, const char *fmt, ...)
{
	va_list ap;

	if (d->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(d->err, sizeof(d->err), fmt, ap);
	va_end(ap);
}

/*
 * Walk the records of one direction.  role 0: client -> server, 1: server
 * -> client; hs: the handshake is in the capture; fin_frame: the frame
 * carrying the start of the client's Finished (0: none).
 */
static void walk(struct dir *d, const struct iopts *o, int role, bool hs,
		 uint32_t fin_frame)
{
	int64_t off = 0, next;
	size_t ci = 0, j;
	int stage = 0;	/* client: 0 up to Finished, 1 opening, 2 after */
	const struct chunk *c, *k;
	unsigned char h[5];
	struct rec r;

	while (off < d->stream_len) {
		if (d->stream_len - off < 5) {
			snprintf(d->note, sizeof(d->note), "%lld bytes after the "
				 "last record: a header cut by the capture's end",
				 (long long)(d->stream_len - off));
			break;
		}
		c = chunk_at(d, &ci, off);
		for (j = 0, k = c; j < 5; j++) {
			size_t cj = ci;

			k = chunk_at(d, &cj, off + (int64_t)j);
			h[j] = k->data[off + (int64_t)j - k->off];
		}
		if (h[0] < 20 || h[0] > 24 || h[1] != 3) {
			if (!d->nrecs) {
				d->not_tls = true;
				snprintf(d->note, sizeof(d->note), "not TLS: the "
					 "stream starts with %02x %02x %02x %02x %02x",
					 h[0], h[1], h[2], h[3], h[4]);
			} else {
				set_err(d, "not a TLS record header at stream offset "
					"%lld (frame %u): %02x %02x %02x %02x %02x%s",
					(long long)off, c->frame, h[0], h[1], h[2],
					h[3], h[4], o->detached ? " (another "
					"--framing or --eem-len?)" : "");
			}
			break;
		}
		memset(&r, 0, sizeof(r));
		r.off = off;
		r.ts = c->ts;
		r.frame = c->frame;
		r.type = h[0];
		r.len = rd16(h + 3);
		r.seg_start = c->seg_start && c->off == off;
		if (!hs) {
			r.eem = true;
		} else if (role == 0) {
			r.hs = stage < 2;
			r.eem = stage > 0;
			if (stage == 0 && r.type == 23)
				stage = 1;
			else if (stage == 1)
				stage = 2;
		} else if (!d->hs_tickets && (!fin_frame || r.frame < fin_frame)) {
			r.hs = true;
			d->hs_flight++;
		} else if (d->hs_tickets < 2) {
			r.hs = true;
			d->hs_tickets++;
		} else {
			r.eem = true;
		}
		if (r.eem && !r.hs &&
		    r.len < TLS_OVERHEAD + (o->detached ? 0 : o->eem_len))
			set_err(d, "record at stream offset %lld (frame %u): "
				"length %u is below %d (another --framing or "
				"--eem-len?)", (long long)off, r.frame, r.len,
				TLS_OVERHEAD + (o->detached ? 0 : o->eem_len));
		if (r.len > REC_LEN_MAX)
			set_err(d, "record at stream offset %lld (frame %u): "
				"length %u is above 2^14 + 256", (long long)off,
				r.frame, r.len);
		GROW(d->recs, d->nrecs, d->reccap);
		d->recs[d->nrecs++] = r;
		next = off + 5 + r.len + (o->detached && r.eem ? o->eem_len : 0);
		if (next > d->stream_len && !d->err[0])
			snprintf(d->note, sizeof(d->note), "the last record is "
				 "cut by the capture's end (%lld of %lld bytes)",
				 (long long)(d->stream_len - off),
				 (long long)(next - off));
		off = next;
	}
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double *sorted_copy(const double *v, size_t n)
{
	double *s = xrealloc(NULL, n * sizeof(*s));

	if (n)
		memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), dbl_cmp);
	return s;
}

/* The application records' sizes, gaps and segment starts. */
static void dir_stats(struct dir *d, const struct iopts *o)
{
	int over = TLS_OVERHEAD + (o->detached ? 0 : o->eem_len);
	const struct rec *prev = NULL;
	size_t i;

	d->sizes = xrealloc(NULL, (d->nrecs + 1) * sizeof(double));
	d->gaps = xrealloc(NULL, (d->nrecs + 1) * sizeof(double));
	for (i = 0; i < d->nrecs; i++) {
		const struct rec *r = &d->recs[i];

		if (r->hs) {
			d->nhs++;
			continue;
		}
		d->sizes[d->n++] = (double)r->len - over;
		if (!r->seg_start)
			d->midseg++;
		if (prev)
			d->gaps[d->ngaps++] = (double)(r->ts - prev->ts) / 1e6;
		prev = r;
	}
	d->ssizes = sorted_copy(d->sizes, d->n);
	d->sgaps = sorted_copy(d->gaps, d->ngaps);
}

static void dir_free(struct dir *d)
{
	size_t i;

	for (i = 0; i < d->nsegs; i++)
		free(d->segs[i].data);
	free(d->segs);
	free(d->chunks);
	free(d->recs);
	free(d->sizes);
	free(d->gaps);
	free(d->ssizes);
	free(d->sgaps);
}

/* ---------------------------------------------------------------- KS */

/* P(X <= x), or P(X < x) with left. */
static double unif_int_cdf(double lo, double hi, double x, bool left)
{
	double k = left ? ceil(x) - 1 : floor(x);	/* last integer counted */

	if (k < lo)
		return 0;
	if (k >= hi)
		return 1;
	return (k - lo + 1) / (hi - lo + 1);
}

static double dist_cdf(const struct dist *d, double x, bool left)
{
	switch (d->kind) {
	case DIST_UNIF:
		return unif_int_cdf(d->a, d->b, x, left);
	case DIST_MIX:
		return d->w * unif_int_cdf(d->a, d->b, x, left) +
		       (1 - d->w) * unif_int_cdf(d->a2, d->b2, x, left);
	case DIST_POINT:
		return left ? x > d->a : x >= d->a;
	default:
		if (x <= d->a)
			return 0;
		return x >= d->b ? 1 : (x - d->a) / (d->b - d->a);
	}
}

static struct dist size_dist(int mode, const struct iopts *o)
{
	const struct mode_def *m = &modes[mode];
	struct dist d = { .kind = DIST_UNIF, .a = m->lo, .b = m->hi };

	if (m->lo < 0) {
		d.kind = DIST_POINT;
		d.a = REC_CAP - (o->detached ? 0 : o->eem_len);
	} else if (m->pct < 100) {
		d.kind = DIST_MIX;
		d.w = m->pct / 100.0;
		d.a2 = m->lo2;
		d.b2 = m->hi2;
	}
	return d;
}

static struct dist gap_dist(int mode)
{
	struct dist d = { .kind = DIST_CONT, .a = modes[mode].d_lo,
			  .b = modes[mode].d_hi };

	if (d.b <= d.a)
		d.kind = DIST_POINT;
	return d;
}

static void dist_text(const struct dist *d, bool ms, char *buf, size_t len)
{
	const char *u = ms ? " ms" : "";

	switch (d->kind) {
	case DIST_UNIF:
		snprintf(buf, len, "U(%g..%g%s)", d->a, d->b, u);
		break;
	case DIST_MIX:
		snprintf(buf, len, "%g%% U(%g..%g) + %g%% U(%g..%g)",
			 100 * d->w, d->a, d->b, 100 * (1 - d->w), d->a2, d->b2);
		break;
	case DIST_POINT:
		snprintf(buf, len, "%g%s%s", d->a, u, ms ? "" : " (the cap)");
		break;
	default:
		snprintf(buf, len, "U(%g..%g%s), continuous", d->a, d->b, u);
	}
}

/*
 * The exact one-sample Kolmogorov-Smirnov statistic sup |F_n - F| of the
 * sorted sample x against F: both are right-continuous step or continuous
 * functions, so the supremum is reached at a sample value, from the right
 * (F_n(x), F(x)) or from the left (F_n(x-), F(x-)).
 */
static double ks_stat(const double *x, size_t n, const struct dist *d)
{
	double D = 0, e;
	size_t i = 0, j;

	while (i < n) {
		for (j = i; j < n && x[j] == x[i]; j++)
			;
		e = fabs((double)j / n - dist_cdf(d, x[i], false));
		if (e > D)
			D = e;
		e = fabs((double)i / n - dist_cdf(d, x[i], true));
		if (e > D)
			D = e;
		i = j;
	}
	return D;
}

/* ----------------------------------------------------------- output */

static double median(const double *s, size_t n)
{
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void endpoint(const struct conn *c, int i, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(c->af, c->addr[i], a, sizeof(a));
	snprintf(buf, len, c->af == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
		 c->port[i]);
}

/* Whether c is shown; its client's and server's addresses in ep. */
static bool conn_head(const struct conn *c, char ep[2][64])
{
	endpoint(c, 0, ep[0], sizeof(ep[0]));
	endpoint(c, 1, ep[1], sizeof(ep[1]));
	return c->selected;
}

static const char *const dir_names[2] = { "client -> server", "server -> client" };
static const char *const dir_keys[2] = { "client", "server" };

static bool shown(const struct insp *in, const struct conn *c, int i)
{
	return c->selected && (in->o.dirs & (1 << i)) && !c->d[i].not_tls &&
	       (c->d[i].nrecs || c->d[i].err[0]);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void json_list(const char *key, const double *v, size_t n, int prec)
{
	size_t i;

	printf(", \"%s\": [", key);
	for (i = 0; i < n; i++)
		printf("%s%.*f", i ? ", " : "", prec, v[i]);
	putchar(']');
}

static void json_stats(const char *key, const double *s, size_t n, int prec)
{
	if (!n) {
		printf(", \"%s\": null", key);
		return;
	}
	printf(", \"%s\": {\"min\": %.*f, \"median\": %.*f, \"max\": %.*f}",
	       key, prec, s[0], prec, median(s, n), prec, s[n - 1]);
}

static void json_ks(const char *key, double d, size_t n, bool have)
{
	if (!have)
		return;
	if (n)
		printf(", \"%s\": {\"d\": %.10f, \"n\": %zu}", key, d, n);
	else
		printf(", \"%s\": {\"d\": null, \"n\": 0}", key);
}

static void print_json(const struct insp *in)
{
	const struct iopts *o = &in->o;
	bool first = true, fd;
	char ep[2][64];
	size_t ci, j;
	int i;

	printf("{\"capture\": ");
	json_str(o->capture);
	printf(", \"packets\": %llu, \"tcp_packets\": %llu, "
	       "\"connections_total\": %zu, \"framing\": \"%s\", "
	       "\"eem_len\": %d, \"mode\": ",
	       (unsigned long long)in->packets, (unsigned long long)in->tcp,
	       in->nall, o->detached ? "detached" : "covered", o->eem_len);
	if (o->mode >= 0)
		printf("%d", o->mode);
	else
		printf("null");
	printf(",\n \"connections\": [");
	for (ci = 0; ci < in->nall; ci++) {
		const struct conn *c = in->all[ci];

		if (!conn_head(c, ep))
			continue;
		printf("%s\n  {\"index\": %zu, \"client\": \"%s\", \"server\": "
		       "\"%s\", \"syn_seen\": %s, \"roles_guessed\": %s, "
		       "\"directions\": [", first ? "" : ",", c->index, ep[0],
		       ep[1], c->syn ? "true" : "false",
		       c->guessed ? "true" : "false");
		first = false;
		fd = true;
		for (i = 0; i < 2; i++) {
			const struct dir *d = &c->d[i];

			if (!shown(in, c, i))
				continue;
			printf("%s\n   {\"dir\": \"%s\", \"bytes\": %lld, "
			       "\"records\": %zu, \"handshake_records\": %zu, "
			       "\"handshake_before_client_finished\": %zu, "
			       "\"handshake_tickets\": %zu, "
			       "\"not_segment_start\": %zu, \"handshake_lengths\": [",
			       fd ? "" : ",", dir_keys[i], (long long)d->stream_len,
			       d->n, d->nhs, d->hs_flight, d->hs_tickets,
			       d->midseg);
			fd = false;
			for (j = 0; j < d->nrecs && d->recs[j].hs; j++)
				printf("%s%u", j ? ", " : "", d->recs[j].len);
			printf("]");
			json_list("sizes", d->sizes, d->n, 0);
			json_list("gaps_ms", d->gaps, d->ngaps, 6);
			json_stats("size", d->ssizes, d->n, 1);
			json_stats("gap_ms", d->sgaps, d->ngaps, 6);
			json_ks("ks_size", d->d_size, d->n, o->mode >= 0);
			json_ks("ks_gap", d->d_gap, d->ngaps, o->mode >= 0);
			printf(", \"error\": ");
			if (d->err[0])
				json_str(d->err);
			else
				printf("null");
			printf(", \"note\": ");
			if (d->note[0])
				json_str(d->note);
			else
				printf("null");
			putchar('}');
		}
		printf("]}");
	}
	printf("]}\n");
}

static void print_text(const struct insp *in)
{
	const struct iopts *o = &in->o;
	char ep[2][64], sd[96], gd[96];
	struct dist ds, dg;
	size_t ci, nsel = 0;
	int i;

	for (ci = 0; ci < in->nall; ci++)
		nsel += in->all[ci]->selected;
	printf("%s: %llu packets, %llu TCP, %zu TCP connection%s", o->capture,
	       (unsigned long long)in->packets, (unsigned long long)in->tcp,
	       in->nall, in->nall == 1 ? "" : "s");
	if (nsel != in->nall)
		printf(" (%zu shown)", nsel);
	printf("\nframing %s, eem_len %d: record size = header length - %d "
	       "(content + padding)\n", o->detached ? "detached" : "covered",
	       o->eem_len, TLS_OVERHEAD + (o->detached ? 0 : o->eem_len));
	if (in->frags)
		printf("note: %llu IP fragments ignored\n",
		       (unsigned long long)in->frags);
	if (o->mode >= 0) {
		ds = size_dist(o->mode, o);
		dg = gap_dist(o->mode);
		dist_text(&ds, false, sd, sizeof(sd));
		dist_text(&dg, true, gd, sizeof(gd));
		printf("mode %d (%s): sizes %s, gaps %s\n", o->mode,
		       modes[o->mode].name, sd, gd);
	}
	for (ci = 0; ci < in->nall; ci++) {
		const struct conn *c = in->all[ci];

		if (!conn_head(c, ep))
			continue;
		printf("\nconnection %zu: %s -> %s%s\n", c->index, ep[0], ep[1],
		       c->syn ? "" : " (no SYN seen: read from the first byte "
		       "seen, nothing skipped; client = the higher port)");
		for (i = 0; i < 2; i++) {
			const struct dir *d = &c->d[i];

			if (!(o->dirs & (1 << i)))
				continue;
			if (!shown(in, c, i)) {
				printf("  %s: %s\n", dir_names[i], d->not_tls ?
				       d->note : "no data");
				continue;
			}
			printf("  %s: %lld bytes, %zu records", dir_names[i],
			       (long long)d->stream_len, d->nrecs);
			if (c->syn && i == 0)
				printf(" (%zu handshake: up to the Finished, "
				       "the opening record)", d->nhs);
			else if (c->syn)
				printf(" (%zu handshake: %zu before the client's "
				       "Finished, %zu tickets)", d->nhs,
				       d->hs_flight, d->hs_tickets);
			printf("\n    application records: %zu, %zu not starting "
			       "a TCP segment\n", d->n, d->midseg);
			if (d->n)
				printf("    size  min %.0f  median %.1f  max %.0f "
				       "bytes\n", d->ssizes[0],
				       median(d->ssizes, d->n), d->ssizes[d->n - 1]);
			if (d->ngaps)
				printf("    gap   min %.3f  median %.3f  max %.3f "
				       "ms\n", d->sgaps[0],
				       median(d->sgaps, d->ngaps),
				       d->sgaps[d->ngaps - 1]);
			if (o->mode >= 0) {
				printf("    mode %d: size D = ", o->mode);
				if (d->n)
					printf("%.4f", d->d_size);
				else
					printf("-");
				printf(" (n = %zu), gap D = ", d->n);
				if (d->ngaps)
					printf("%.4f", d->d_gap);
				else
					printf("-");
				printf(" (n = %zu)\n", d->ngaps);
			}
			if (d->note[0])
				printf("    note: %s\n", d->note);
			if (d->err[0])
				printf("    error: %s\n", d->err);
		}
	}
}

/* ------------------------------------------------------------- plot */

struct tmpdir {
	char path[PATH_MAX];
	char cur[PATH_MAX + 32];
	char files[64][24];
	int nfiles;
};

/* The path of NAME in the temporary directory, removed at the end. */
static const char *tmp_name(struct tmpdir *t, const char *name)
{
	if (t->nfiles == 64)
		return NULL;
	snprintf(t->files[t->nfiles++], sizeof(t->files[0]), "%s", name);
	snprintf(t->cur, sizeof(t->cur), "%s/%s", t->path, name);
	return t->cur;
}

/* Open a new file NAME in the temporary directory. */
static FILE *tmp_file(struct tmpdir *t, const char *name)
{
	const char *p = tmp_name(t, name);

	return p ? fopen(p, "wx") : NULL;
}

static void tmp_remove(struct tmpdir *t)
{
	char p[PATH_MAX + 32];
	int i;

	for (i = 0; i < t->nfiles; i++) {
		snprintf(p, sizeof(p), "%s/%s", t->path, t->files[i]);
		unlink(p);
	}
	rmdir(t->path);
}

/* The empirical CDF of the sorted v as steps, from (v[0], 0). */
static bool write_ecdf(struct tmpdir *t, const char *name, const double *v,
		       size_t n)
{
	FILE *f = tmp_file(t, name);
	size_t i;

	if (!f)
		return false;
	fprintf(f, "%.9g 0\n", v[0]);
	for (i = 0; i < n; i++)
		if (i + 1 == n || v[i + 1] != v[i])
			fprintf(f, "%.9g %.9g\n", v[i], (double)(i + 1) / n);
	return !fclose(f);
}

static bool write_target(struct tmpdir *t, const char *name,
			 const struct dist *d, double lo, double hi)
{
	FILE *f = tmp_file(t, name);
	double x;
	int i;

	if (!f)
		return false;
	for (i = 0; i <= 2000; i++) {
		x = lo + (hi - lo) * i / 2000;
		fprintf(f, "%.9g %.9g\n", x, dist_cdf(d, x, false));
	}
	return !fclose(f);
}

static char *find_in_path(const char *name)
{
	const char *path = getenv("PATH");
	char *dirs, *dir, *save = NULL, *p = NULL;
	size_t len;

	dirs = strdup(path && *path ? path : "/usr/bin:/bin");
	if (!dirs)
		return NULL;
	for (dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		len = strlen(dir) + strlen(name) + 2;
		p = xrealloc(NULL, len);
		snprintf(p, len, "%s/%s", dir, name);
		if (!access(p, X_OK))
			break;
		free(p);
		p = NULL;
	}
	free(dirs);
	return p;
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in, out, rc = 0;
	ssize_t n;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			rc = -1;
			break;
		}
	if (n < 0)
		rc = -1;
	close(in);
	if (close(out))
		rc = -1;
	return rc;
}

/* One panel: a plot command over the series written for it. */
static void plot_panel(FILE *gp, const char *xlabel, const char *title,
		       const char *series, bool any)
{
	fprintf(gp, "set xlabel \"%s\"\nset title \"%s\"\n", xlabel, title);
	if (any) {
		fprintf(gp, "plot %s\n", series);
	} else {
		fprintf(gp, "set label 1 \"no data\" at graph 0.45, 0.5\n"
			"set xrange [0:1]\nplot 2 notitle\nunset label 1\n"
			"set xrange [*:*]\n");
	}
}

/* Run gnuplot on script in the directory t; 0 or -1 after a message. */
static int run_gnuplot(struct tmpdir *t, const char *gnuplot)
{
	char log[PATH_MAX + 32], line[256];
	int status, fd;
	pid_t pid;
	FILE *f;

	snprintf(log, sizeof(log), "%s/gnuplot.log", t->path);
	pid = fork();
	if (pid < 0) {
		msg("cannot start gnuplot: %s", strerror(errno));
		return -1;
	}
	if (!pid) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (chdir(t->path) || fd < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(gnuplot, "gnuplot", "plot.gp", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	msg("gnuplot failed (status %d):", WIFEXITED(status) ?
	     WEXITSTATUS(status) : 128 + WTERMSIG(status));
	f = fopen(log, "r");
	for (fd = 0; f && fd < 10 && fgets(line, sizeof(line), f); fd++)
		fprintf(stderr, "  %s", line);
	if (f)
		fclose(f);
	return -1;
}

static void range_add(double *lo, double *hi, double a, double b)
{
	if (a < *lo)
		*lo = a;
	if (b > *hi)
		*hi = b;
}

/*
 * The ECDF of the sorted v[n] (none if n is 0) as the file KIND<count>.dat
 * and a series of the plot command in buf; false if the file failed.
 */
static bool add_series(struct tmpdir *t, char *buf, size_t cap, char kind,
		       size_t *count, const double *v, size_t n,
		       const char *label, bool with_d, double D, double *lo,
		       double *hi)
{
	size_t len = strlen(buf);
	char name[24];

	if (!n)
		return true;
	snprintf(name, sizeof(name), "%c%zu.dat", kind, *count);
	if (!write_ecdf(t, name, v, n))
		return false;
	range_add(lo, hi, v[0], v[n - 1]);
	snprintf(buf + len, cap - len,
		 "%s'%s' using 1:2 with steps lw 2 title \"%s n=%zu", *count ?
		 ", " : "", name, label, n);
	len = strlen(buf);
	if (with_d)
		snprintf(buf + len, cap - len, " D=%.4f", D);
	len = strlen(buf);
	snprintf(buf + len, cap - len, "\"");
	(*count)++;
	return true;
}

/*
 * Both panels of --plot: gnuplot runs in a temporary directory on files
 * named there (never on a name from the command line) and its PNG is then
 * copied to the output.
 */
static int plot(const struct insp *in)
{
	const struct iopts *o = &in->o;
	char *gnuplot, sizes[4096] = "", gaps[4096] = "";
	char tsz[160] = "record sizes", tgp[160] = "gaps between record starts";
	double slo = INFINITY, shi = -INFINITY, glo = INFINITY, ghi = -INFINITY;
	struct tmpdir t = { .nfiles = 0 };
	const char *tmp = getenv("TMPDIR");
	struct dist ds, dg;
	size_t ci, ns = 0, ng = 0;
	int i, rc = EXI_CAPTURE;
	FILE *gp = NULL;

	gnuplot = find_in_path("gnuplot");
	if (!gnuplot) {
		msg("--plot needs gnuplot, not found in PATH (Debian: apt-get "
		     "install gnuplot-nox)");
		return EXI_CAPTURE;
	}
	snprintf(t.path, sizeof(t.path), "%s/plasmatic-inspect.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(t.path)) {
		msg("cannot make a temporary directory: %s", strerror(errno));
		free(gnuplot);
		return EXI_CAPTURE;
	}
	for (ci = 0; ci < in->nall; ci++) {
		const struct conn *c = in->all[ci];

		for (i = 0; i < 2; i++) {
			const struct dir *d = &c->d[i];
			char label[128];

			if (!shown(in, c, i) || !d->n)
				continue;
			snprintf(label, sizeof(label), "conn %zu %s", c->index,
				 dir_names[i]);
			if (!add_series(&t, sizes, sizeof(sizes), 's', &ns,
					d->ssizes, d->n, label, o->mode >= 0,
					d->d_size, &slo, &shi) ||
			    !add_series(&t, gaps, sizeof(gaps), 'g', &ng,
					d->sgaps, d->ngaps, label, o->mode >= 0,
					d->d_gap, &glo, &ghi))
				goto io;
		}
	}
	if (!ns) {
		msg("--plot: no application records to plot");
		goto out;
	}
	if (o->mode >= 0) {
		ds = size_dist(o->mode, o);
		dg = gap_dist(o->mode);
		range_add(&slo, &shi, ds.a, ds.kind == DIST_MIX ? ds.b2 :
			  ds.kind == DIST_POINT ? ds.a : ds.b);
		range_add(&glo, &ghi, dg.a, dg.b);
		if (ng == 0)
			glo = dg.a, ghi = dg.b;
		if (!write_target(&t, "ts.dat", &ds, slo - 1 - (shi - slo) / 50,
				  shi + 1 + (shi - slo) / 50) ||
		    !write_target(&t, "tg.dat", &dg, glo - 1e-3 - (ghi - glo) / 50,
				  ghi + 1e-3 + (ghi - glo) / 50))
			goto io;
		snprintf(sizes + strlen(sizes), sizeof(sizes) - strlen(sizes),
			 ", 'ts.dat' using 1:2 with lines dt 2 lw 2 lc rgb "
			 "\"black\" title \"mode %d target\"", o->mode);
		snprintf(gaps + strlen(gaps), sizeof(gaps) - strlen(gaps),
			 "%s'tg.dat' using 1:2 with lines dt 2 lw 2 lc rgb "
			 "\"black\" title \"mode %d target\"", ng ? ", " : "",
			 o->mode);
		snprintf(tsz, sizeof(tsz), "record sizes against mode %d (%s)",
			 o->mode, modes[o->mode].name);
		snprintf(tgp, sizeof(tgp), "gaps between record starts "
			 "against mode %d's delays", o->mode);
	}
	if (!tmp_name(&t, "plot.png") || !tmp_name(&t, "gnuplot.log"))
		goto io;
	gp = tmp_file(&t, "plot.gp");
	if (!gp)
		goto io;
	fprintf(gp,
		"if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
		"  set terminal pngcairo noenhanced size 1400,600\n"
		"} else {\n"
		"  set terminal png noenhanced size 1400,600\n"
		"}\n"
		"set output 'plot.png'\n"
		"set multiplot layout 1,2 title \"plasmatic inspect: "
		"empirical CDFs (%s framing, eem_len %d)\"\n"
		"set grid\nset key bottom right\nset ylabel \"CDF\"\n"
		"set yrange [0:1.05]\n", o->detached ? "detached" : "covered",
		o->eem_len);
	plot_panel(gp, "content + padding (bytes)", tsz, sizes, true);
	plot_panel(gp, "gap (ms)", tgp, gaps, ng || o->mode >= 0);
	fprintf(gp, "unset multiplot\nset output\n");
	if (fclose(gp)) {
		gp = NULL;
		goto io;
	}
	gp = NULL;
	if (run_gnuplot(&t, gnuplot))
		goto out;
	snprintf(t.cur, sizeof(t.cur), "%s/plot.png", t.path);
	if (copy_file(t.cur, o->plot)) {
		msg("cannot write %s: %s", o->plot, strerror(errno));
		goto out;
	}
	rc = EXI_OK;
	goto out;
io:
	msg("cannot write in %s: %s", t.path, strerror(errno));
out:
	if (gp)
		fclose(gp);
	tmp_remove(&t);
	free(gnuplot);
	return rc;
}

/* ---------------------------------------------------------- command */

static void usage_inspect(FILE *f)
{
	fprintf(f,
"usage: plasmatic inspect CAPTURE [options]\n"
"\n"
"Show what an observer of a packet capture (pcap or pcapng; Ethernet, Linux\n"
"cooked, loopback or raw IP; IPv4 and IPv6) sees of the TLS connections in\n"
"it. Per direction of each TCP connection: the number of records, their\n"
"sizes (content + padding: the header length less 17, less eem_len too in\n"
"covered framing), the gaps between the capture times of the packets that\n"
"carry consecutive record starts, and the records that do not start a TCP\n"
"segment. Each direction is reassembled in sequence order (retransmitted\n"
"bytes count once; a hole is an error).\n"
"\n"
"Handshake records are counted apart: the client's up to its Finished (its\n"
"first record of type 23) and the opening record after it; the server's that\n"
"start before the client's Finished in the capture, and the two session\n"
"tickets after them (SPEC.md 2.2, 2.3). A connection whose SYN is not in the\n"
"capture is read from its first byte seen, nothing skipped.\n"
"\n"
"  --framing MODE    covered (default) or detached, as the connection used\n"
"  --eem-len N       the connection's EEM length, 48..255 (default 80)\n"
"  --conn N          only connection N (numbered in order of first packet)\n"
"  --port P          only the connections with port P at either end\n"
"  --dir WHICH       client (client -> server), server, or both (default)\n"
"  --mode N          Kolmogorov-Smirnov distance D of the sizes and of the\n"
"                    gaps to traffic pattern mode N's distributions, 0..8\n"
"                    (SPEC.md 9.2; gaps against the delay, uniform in ms)\n"
"  --plot FILE.png   draw the empirical CDFs of sizes and gaps, and mode N's\n"
"                    with --mode (needs gnuplot)\n"
"  --json            print the numbers as JSON\n"
"  -h, --help        this text\n"
"\n"
"exit codes: 0 done; 1 capture missing, unreadable or truncated, no TCP\n"
"connection, a stream with a gap or a record that cannot be walked, or the\n"
"plot failed; 2 bad command line.\n");
}

static const struct opt_word framings[] = {
	{ "covered", PLASMATIC_FRAMING_COVERED },
	{ "detached", PLASMATIC_FRAMING_DETACHED },
	{ NULL, 0 },
};

static const struct opt_word dirs[] = {
	{ "client", 1 }, { "server", 2 }, { "both", 3 }, { NULL, 0 },
};

static const struct optdef inspect_opts[] = {
	{ .name = "framing", .kind = OPT_CHOICE, .words = framings,
	  .hint = "detached or covered", OPT_FIELD(struct iopts, framing) },
	{ .name = "eem-len", .kind = OPT_INT, .lo = PLASMATIC_EEM_LEN_MIN,
	  .hi = PLASMATIC_EEM_LEN_MAX, OPT_FIELD(struct iopts, eem_len) },
	{ .name = "conn", .kind = OPT_INT, .lo = 1, .hi = LONG_MAX,
	  OPT_FIELD(struct iopts, conn) },
	{ .name = "port", .kind = OPT_INT, .lo = 0, .hi = 65535,
	  OPT_FIELD(struct iopts, port) },
	{ .name = "dir", .kind = OPT_CHOICE, .words = dirs,
	  .hint = "client, server or both", OPT_FIELD(struct iopts, dirs) },
	{ .name = "mode", .kind = OPT_INT, .lo = 0,
	  .hi = PLASMATIC_TPL_MODES - 1, OPT_FIELD(struct iopts, mode) },
	{ .name = "plot", .kind = OPT_STR, OPT_FIELD(struct iopts, plot) },
	{ .name = "json", .kind = OPT_FLAG, .lo = 1,
	  OPT_FIELD(struct iopts, json) },
	{ .name = NULL },
};

/* 0, -1 after --help, or EXI_USAGE after a message. */
static int inspect_args(int argc, char **argv, struct iopts *o)
{
	int rc, first;

	rc = opt_parse(&cmd_inspect, argc, argv, o, &first);
	if (!rc)
		rc = opt_args(&cmd_inspect, argc, argv, first, 1, "CAPTURE");
	if (rc)
		return rc;
	o->detached = o->framing == PLASMATIC_FRAMING_DETACHED;
	o->capture = argv[first];
	return 0;
}

/* Without the SYN: the client is the side with the higher port. */
static void guess_roles(struct conn *c)
{
	struct dir d;
	unsigned char a[16];
	uint16_t p;

	c->guessed = !c->syn;
	if (c->syn || c->port[0] >= c->port[1])
		return;
	d = c->d[0];
	c->d[0] = c->d[1];
	c->d[1] = d;
	memcpy(a, c->addr[0], sizeof(a));
	memcpy(c->addr[0], c->addr[1], sizeof(a));
	memcpy(c->addr[1], a, sizeof(a));
	p = c->port[0];
	c->port[0] = c->port[1];
	c->port[1] = p;
}

/* Reassemble and walk both directions of c, and their statistics. */
static void analyze(struct insp *in, struct conn *c)
{
	const struct iopts *o = &in->o;
	struct dir *cl = &c->d[0], *sv = &c->d[1];
	uint32_t fin_frame = 0;
	struct dist dd;
	size_t i;
	int j;

	guess_roles(c);
	reassemble(cl, in->cut);
	reassemble(sv, in->cut);
	walk(cl, o, 0, c->syn, 0);
	for (i = 0; i < cl->nrecs; i++) {
		if (cl->recs[i].type == 23) {
			fin_frame = cl->recs[i].frame;
			break;
		}
	}
	walk(sv, o, 1, c->syn, fin_frame);
	for (j = 0; j < 2; j++) {
		struct dir *d = &c->d[j];

		dir_stats(d, o);
		if (o->mode < 0)
			continue;
		dd = size_dist(o->mode, o);
		d->d_size = ks_stat(d->ssizes, d->n, &dd);
		dd = gap_dist(o->mode);
		d->d_gap = ks_stat(d->sgaps, d->ngaps, &dd);
	}
}

static int run_inspect(int argc, char **argv)
{
	struct insp *in = calloc(1, sizeof(*in));
	size_t i, nsel = 0;
	int rc, j;

	if (!in) {
		msg("out of memory");
		return EXI_CAPTURE;
	}
	in->o.framing = PLASMATIC_FRAMING_COVERED;
	in->o.eem_len = 80;
	in->o.mode = -1;
	in->o.port = -1;
	in->o.dirs = 3;
	rc = inspect_args(argc, argv, &in->o);
	if (rc || cli_parse_only) {
		free(in);
		return rc < 0 ? EXI_OK : rc;
	}
	rc = read_capture(in);
	if (rc)
		goto out;
	for (i = 0; i < in->nall; i++) {
		if (!in->all[i]->selected)
			continue;
		nsel++;
		analyze(in, in->all[i]);
	}
	if (!nsel) {
		msg("%s: no TCP connection%s in the capture (it has %zu)",
		     in->o.capture, in->nall ? " of those chosen (--conn, "
		     "--port)" : "", in->nall);
		rc = EXI_CAPTURE;
		goto out;
	}
	if (in->o.json)
		print_json(in);
	else
		print_text(in);
	fflush(stdout);
	for (i = 0; i < in->nall; i++) {
		for (j = 0; j < 2; j++) {
			const struct conn *c = in->all[i];
			char ep[2][64];

			if (!shown(in, c, j) || !c->d[j].err[0])
				continue;
			endpoint(c, j, ep[0], sizeof(ep[0]));
			endpoint(c, !j, ep[1], sizeof(ep[1]));
			msg("%s: connection %zu %s -> %s: %s", in->o.capture,
			     c->index, ep[0], ep[1], c->d[j].err);
			rc = EXI_CAPTURE;
		}
	}
	if (in->o.plot) {
		j = plot(in);
		if (j)
			rc = j;
	}
out:
	for (i = 0; i < in->nall; i++) {
		dir_free(&in->all[i]->d[0]);
		dir_free(&in->all[i]->d[1]);
		free(in->all[i]);
	}
	free(in->all);
	free(in);
	return rc;
}

const struct command cmd_inspect = {
	.name = "inspect",
	.run = run_inspect,
	.usage = usage_inspect,
	.tables = (const struct optdef *const[]){ opt_help, inspect_opts, NULL },
	.tagged = true,
};
