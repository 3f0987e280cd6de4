#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Captures with known records for the tests of `plasmatic inspect`.

  inspect_pcap.py gen DIR
      writes DIR/*.pcap and DIR/expect.json (see CAPTURES below)
  inspect_pcap.py check DIR CASE ACTUAL.json [MODE]
      compares `plasmatic inspect --json [--mode MODE]` output with what
      CASE expects; prints what differs, exit status 1 if anything does
  inspect_pcap.py real ACTUAL.json TLSWIRE_LENS
      checks inspect's view of a real mode 1 capture (see check_real)

The expectations are computed here from the records and segments as
written: the sizes chosen, the capture time of the first packet (in
capture order) that carries each record's first byte, whether that byte
is its segment's first. The Kolmogorov-Smirnov distances are computed
independently of inspect.c's method: for the integer-valued sizes by
scanning every integer x over the whole range (sup |F_n(x) - F(x)| is
reached at an integer, where both steps are constant to the right), for
the gaps with the textbook formula max_i max(i/n - F(x_i), F(x_i) - (i-1)/n)
(mode 0's delay, a point mass at 0: max(F_n(0-), 1 - F_n(0))).
"""
import json
import struct
import sys

EEM = 80
# SPEC.md 9.2: size (lo, hi) ranges with weights, delay (ms) range
MODES = {
    0: ([(1.0, None, None)], (0, 0)),
    1: ([(1.0, 100, 1500)], (10, 110)),
    2: ([(1.0, 1000, 16000)], (1, 5)),
    3: ([(1.0, 10, 60)], (500, 1000)),
    4: ([(0.7, 50, 250), (0.3, 500, 2000)], (5, 25)),
    5: ([(1.0, 100, 500)], (10, 20)),
    6: ([(1.0, None, None)], (1, 5)),
    7: ([(1.0, 200, 2000)], (1000, 5000)),
    8: ([(1.0, 50, 150)], (50, 550)),
}


def size_cdf(mode, x, cap):
    """P(size <= x) for mode's size distribution (x an integer)."""
    p = 0.0
    for w, lo, hi in MODES[mode][0]:
        if lo is None:
            lo = hi = cap
        if x >= hi:
            p += w
        elif x >= lo:
            p += w * (x - lo + 1) / (hi - lo + 1)
    return p


def ks_sizes(sizes, mode, cap):
    n = len(sizes)
    lo = min(sizes + [0]) - 2
    hi = max(sizes + [cap, 16384]) + 2
    ss = sorted(sizes)
    d, i = 0.0, 0
    for x in range(lo, hi + 1):
        while i < n and ss[i] <= x:
            i += 1
        d = max(d, abs(i / n - size_cdf(mode, x, cap)))
    return d


def ks_gaps(gaps, mode):
    a, b = MODES[mode][1]
    n = len(gaps)

    if b == a:		# mode 0: no delay, a point mass at 0
        below = sum(1 for x in gaps if x < a) / n
        upto = sum(1 for x in gaps if x <= a) / n
        return max(below, 1 - upto)

    def F(x):
        return min(1.0, max(0.0, (x - a) / (b - a)))
    d = 0.0
    for i, x in enumerate(sorted(gaps), 1):
        d = max(d, i / n - F(x), F(x) - (i - 1) / n)
    return d


def rec(typ, length, ver=0x0303):
    """A record of header length `length` (body: its first byte's index)."""
    return struct.pack('!BHH', typ, ver, length) + bytes([typ]) * length


class Dir:
    """One direction: its records, then the segments that carry them."""

    def __init__(self):
        self.stream = b''
        self.recs = []		# (offset, kind, size): kind 'hs' or 'app'
        self.segs = []		# (time, start, end), in the order written

    def add(self, kind, typ, length, size=None, eem_after=0, ver=0x0303):
        self.recs.append((len(self.stream), kind, size))
        self.stream += rec(typ, length, ver) + b'\xee' * eem_after

    def app(self, size, detached=False):
        if detached:
            self.add('app', 23, size + 17, size, EEM)
        else:
            self.add('app', 23, size + 17 + EEM, size)

    def seg(self, t, start, end=None):
        end = len(self.stream) if end is None else end
        self.segs.append((t, start, end))
        return end

    def rec_off(self, i):
        return self.recs[i][0]

    def expect(self):
        """sizes, gaps (ms), not-segment-start count, handshake count."""
        order = sorted(range(len(self.segs)), key=lambda i: self.segs[i][0])
        sizes, times, mid, hs = [], [], 0, 0
        for off, kind, size in self.recs:
            if kind == 'hs':
                hs += 1
                continue
            first = next((i for i in order
                          if self.segs[i][1] <= off < self.segs[i][2]), None)
            if first is None:
                continue	# not in the capture
            t, s, _ = self.segs[first]
            sizes.append(size)
            times.append(t)
            mid += s != off
        gaps = [(b - a) * 1000 for a, b in zip(times, times[1:])]
        return {'sizes': sizes, 'gaps': gaps, 'mid': mid, 'hs': hs}


class Conn:
    def __init__(self, v6, cport, sport, tag):
        self.v6 = v6
        if v6:
            self.caddr = bytes.fromhex('fd000000000000000000000000000001') [:15] + bytes([tag])
            self.saddr = bytes.fromhex('fd0000000000000000000000000000ff')
        else:
            self.caddr = bytes([127, 0, 0, tag])
            self.saddr = bytes([127, 0, 0, 200])
        self.port = (cport, sport)
        self.isn = (0xfffff000 + tag * 7, 0x10000000 * tag + 5)  # wraps
        self.d = (Dir(), Dir())

    def packets(self, t0, with_syn=True):
        """(time, dir, flags, seq, ack, payload) of the whole connection."""
        out = []
        ci, si = self.isn
        if with_syn:
            out.append((t0, 0, 0x02, ci, 0, b''))
            out.append((t0 + 0.0001, 1, 0x12, si, ci + 1, b''))
            out.append((t0 + 0.0002, 0, 0x10, ci + 1, si + 1, b''))
        for di in (0, 1):
            d = self.d[di]
            for t, s, e in d.segs:
                out.append((t0 + t, di, 0x18,
                            (self.isn[di] + 1 + s) & 0xffffffff,
                            (self.isn[1 - di] + 1) & 0xffffffff,
                            d.stream[s:e]))
        return out


def ip_tcp(c, di, flags, seq, ack, payload):
    src, dst = (c.caddr, c.saddr) if di == 0 else (c.saddr, c.caddr)
    sp, dp = (c.port[0], c.port[1]) if di == 0 else (c.port[1], c.port[0])
    tcp = struct.pack('!HHIIBBHHH', sp, dp, seq & 0xffffffff, ack & 0xffffffff,
                      5 << 4, flags, 65535, 0, 0) + payload
    if c.v6:
        return 6, struct.pack('!IHBB', 0x60000000, len(tcp), 6, 64) + src + dst + tcp
    return 4, struct.pack('!BBHHHBBH', 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0) \
        + src + dst + tcp


def frame(lt, ver, ip):
    et = 0x0800 if ver == 4 else 0x86dd
    if lt == 1:
        return b'\x00' * 12 + struct.pack('!H', et) + ip
    if lt == 113:
        return struct.pack('!HHH', 0, 772, 6) + b'\x00' * 8 + struct.pack('!H', et) + ip
    if lt == 276:
        return struct.pack('!HHIHBB', et, 0, 1, 772, 0, 6) + b'\x00' * 8 + ip
    if lt == 0:
        return struct.pack('<I', 2 if ver == 4 else 10) + ip
    raise ValueError(lt)


def write_pcap(path, conns, lt=1, nano=False, t0=1700000000.0, drop=None):
    """conns: [(conn, start time, with_syn)]; drop(dir, payload) -> skip."""
    pk = []
    for c, t, syn in conns:
        for p in c.packets(t, syn):
            pk.append((p[0], c, p))
    pk.sort(key=lambda x: x[0])
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b23c4d if nano else 0xa1b2c3d4,
                            2, 4, 0, 0, 262144, lt))
        for t, c, (_, di, fl, seq, ack, pay) in pk:
            if drop and drop(c, di, pay):
                continue
            ver, ip = ip_tcp(c, di, fl, seq, ack, pay)
            fr = frame(lt, ver, ip)
            us = round(t * 1e6)
            sec, sub = divmod(us, 1000000)
            if nano:
                sub *= 1000
            f.write(struct.pack('<IIII', sec, sub, len(fr), len(fr)) + fr)


def handshake(c, detached=False):
    """The client's and server's handshake records (SPEC 2.2, 2.3)."""
    cl, sv = c.d
    cl.add('hs', 22, 512, ver=0x0301)		# ClientHello
    cl.add('hs', 20, 1)				# ChangeCipherSpec
    cl.add('hs', 23, 53)			# Finished
    # the opening record: EEM, padding only, no draw
    cl.add('hs', 23, 300 + 17 + (0 if detached else EEM), eem_after=EEM if detached else 0)
    sv.add('hs', 22, 90)			# ServerHello
    sv.add('hs', 20, 1)
    for n in (40, 800, 100, 70):		# EE, Certificate, CV, Finished
        sv.add('hs', 23, n)
    sv.add('hs', 23, 250)			# the two tickets, no EEM
    sv.add('hs', 23, 250)


def conn_main(v6, tag, detached=False):
    """A connection with every case: several records in one segment, one
    split over two, a retransmission, an overlap."""
    c = Conn(v6, 40000 + tag, 4433, tag)
    cl, sv = c.d
    handshake(c, detached)
    for s in (120, 1400, 800):
        cl.app(s, detached)
    # client: CH+CCS | Finished, opening record, app 1 | app 2 in two | app 3
    cl.seg(0.010, 0, cl.rec_off(2))
    cl.seg(0.050, cl.rec_off(2), cl.rec_off(5))
    cl.seg(0.120, cl.rec_off(5), cl.rec_off(5) + 700)
    cl.seg(0.1215, cl.rec_off(5) + 700, cl.rec_off(6))
    cl.seg(0.300, cl.rec_off(6))
    sizes = [150, 1400, 700, 90, 1200, 480, 1500, 100, 2000, 640, 800, 800]
    for s in sizes:
        sv.app(s, detached)
    a = 8		# index of the server's first application record
    sv.seg(0.020, 0, sv.rec_off(3))			# SH, CCS, EE
    sv.seg(0.021, sv.rec_off(3), sv.rec_off(a - 2))	# Cert .. Finished
    sv.seg(0.060, sv.rec_off(a - 2), sv.rec_off(a))	# tickets
    sv.seg(0.070, sv.rec_off(a), sv.rec_off(a + 2))	# r1 + r2
    b = sv.seg(0.100, sv.rec_off(a + 2), sv.rec_off(a + 2) + 300)  # r3 begins
    sv.seg(0.101, b, sv.rec_off(a + 3) + 50)		# r3 ends, r4 begins
    sv.seg(0.400, sv.rec_off(a + 2), b)		# retransmission of r3's start
    sv.seg(0.1015, sv.rec_off(a + 3) + 50, sv.rec_off(a + 4))
    sv.seg(0.130, sv.rec_off(a + 4), sv.rec_off(a + 5))	# r5
    sv.seg(0.160, sv.rec_off(a + 5) - 100, sv.rec_off(a + 6))  # overlap, r6
    for i, t in zip(range(a + 6, a + 12), (0.200, 0.2155, 0.260, 0.330, 0.331, 0.450)):
        sv.seg(t, sv.rec_off(i), sv.rec_off(i + 1) if i + 1 < len(sv.recs) else None)
    return c


def conn_small(v6, tag):
    c = Conn(v6, 50000 + tag, 443, tag)
    cl, sv = c.d
    handshake(c)
    for s in (60, 2000):
        cl.app(s)
    cl.seg(0.011, 0, cl.rec_off(2))
    cl.seg(0.052, cl.rec_off(2))
    for s in (55, 240, 1999, 500, 16304):
        sv.app(s)
    sv.seg(0.030, 0, sv.rec_off(6))
    sv.seg(0.0601, sv.rec_off(6), sv.rec_off(9))	# tickets + r1
    sv.seg(0.0702, sv.rec_off(9), sv.rec_off(11) + 10)
    sv.seg(0.0903, sv.rec_off(11) + 10)
    return c


def expect_of(c):
    return {'client': c.d[0].expect(), 'server': c.d[1].expect()}


def main(argv):
    if len(argv) == 3 and argv[1] == 'gen':
        d = argv[2]
        c4, c6, c6b = conn_main(False, 1), conn_main(True, 2), conn_small(True, 3)
        conns = [(c4, 0.0, True), (c6, 0.005, True), (c6b, 0.5, True)]
        exp = {'main': {'conns': [expect_of(c4), expect_of(c6), expect_of(c6b)]}}
        write_pcap(d + '/main.pcap', conns)
        for lt, name in ((113, 'sll'), (276, 'sll2'), (0, 'null')):
            write_pcap('%s/%s.pcap' % (d, name), conns, lt=lt, nano=lt == 276)
        exp['sll'] = exp['sll2'] = exp['null'] = exp['main']
        cd = conn_main(False, 4, detached=True)
        write_pcap(d + '/detached.pcap', [(cd, 0.0, True)])
        exp['detached'] = {'conns': [expect_of(cd)]}
        # a hole: the server's segment at 0.130 (r5) is not in the capture
        cg = conn_main(False, 5)
        r5 = cg.d[1].stream[cg.d[1].rec_off(12):cg.d[1].rec_off(13)]
        write_pcap(d + '/gap.pcap', [(cg, 0.0, True)],
                   drop=lambda c, di, pay: di == 1 and pay == r5)
        exp['gap'] = {'server_sizes_before_gap': [150, 1400, 700, 90]}
        # mid-connection: no SYN, the capture begins with the server's
        # first application record and the client's Finished
        cm = conn_main(False, 6)
        cm.d[0].segs = cm.d[0].segs[2:]
        cm.d[1].segs = cm.d[1].segs[3:]
        write_pcap(d + '/nosyn.pcap', [(cm, 0.0, False)])
        exp['nosyn'] = {'conns': [expect_of(cm)]}
        with open(d + '/expect.json', 'w') as f:
            json.dump(exp, f, indent=1)
        return 0
    if len(argv) >= 5 and argv[1] == 'check':
        d, case, actual = argv[2], argv[3], argv[4]
        mode = int(argv[5]) if len(argv) > 5 else None
        exp = json.load(open(d + '/expect.json'))[case]
        got = json.load(open(actual))
        return check(exp, got, mode, case)
    if len(argv) == 4 and argv[1] == 'real':
        return check_real(argv[2], argv[3])
    sys.stderr.write(__doc__)
    return 2


def check_real(actual, tlswire_lens):
    """A real mode 1 capture: the server's records as tlswire.py sees them
    (its s_eem_lens: header lengths after the two tickets), sizes shaped
    (D < 0.1), gaps reported (not shaped yet: their D is not checked)."""
    got = json.load(open(actual))
    lens = [int(x) for x in open(tlswire_lens).read().split()]
    bad = []
    if len(got['connections']) != 1:
        bad.append('%d connections' % len(got['connections']))
        print('\n'.join(bad))
        return 1
    sv = [x for x in got['connections'][0]['directions'] if x['dir'] == 'server'][0]
    n = sv['records']
    if n < 300:
        bad.append('%d server records, want 300 or more' % n)
    if sv['sizes'] != [x - 17 - EEM for x in lens]:
        bad.append('sizes differ from tlswire.py\'s: %d and %d records'
                   % (len(sv['sizes']), len(lens)))
    if sv['ks_size']['n'] != n or not sv['ks_size']['d'] < 0.1:
        bad.append('mode 1 size D %s, want < 0.1' % sv['ks_size'])
    if sv['ks_gap']['n'] != n - 1 or len(sv['gaps_ms']) != n - 1 or not sv['gap_ms']:
        bad.append('gaps: %s' % sv['ks_gap'])
    if sv['not_segment_start'] != 0 or sv['handshake_tickets'] != 2 or sv['error']:
        bad.append('not_segment_start %d, tickets %d, error %s'
                   % (sv['not_segment_start'], sv['handshake_tickets'], sv['error']))
    for b in bad:
        print(b)
    if not bad:
        print('%d records, size D %.4f, %d gaps, median %.3f ms'
              % (n, sv['ks_size']['d'], sv['ks_gap']['n'], sv['gap_ms']['median']))
    return 1 if bad else 0


def close(a, b, tol=1e-6):
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b))


def check(exp, got, mode, case):
    bad = []
    cap = 16384 - (0 if got['framing'] == 'detached' else got['eem_len'])
    if case == 'gap':
        sv = [x for x in got['connections'][0]['directions'] if x['dir'] == 'server'][0]
        if sv['sizes'] != exp['server_sizes_before_gap']:
            bad.append('sizes before the gap: %s' % sv['sizes'])
        if not sv['error'] or 'gap' not in sv['error']:
            bad.append('no gap error: %s' % sv['error'])
    else:
        if len(got['connections']) != len(exp['conns']):
            bad.append('%d connections, want %d' % (len(got['connections']),
                                                    len(exp['conns'])))
        for ci, (ec, gc) in enumerate(zip(exp['conns'], got['connections'])):
            dirs = {x['dir']: x for x in gc['directions']}
            if gc['syn_seen'] != (case != 'nosyn'):
                bad.append('conn %d: syn_seen %s' % (ci + 1, gc['syn_seen']))
            for k in ('client', 'server'):
                e, g = ec[k], dirs.get(k)
                w = 'conn %d %s: ' % (ci + 1, k)
                if g is None:
                    bad.append(w + 'missing')
                    continue
                if g['error']:
                    bad.append(w + 'error ' + g['error'])
                if g['sizes'] != e['sizes']:
                    bad.append(w + 'sizes %s, want %s' % (g['sizes'], e['sizes']))
                if not close(g['gaps_ms'], e['gaps']):
                    bad.append(w + 'gaps %s, want %s' % (g['gaps_ms'], e['gaps']))
                if g['not_segment_start'] != e['mid']:
                    bad.append(w + 'not_segment_start %d, want %d'
                               % (g['not_segment_start'], e['mid']))
                hs = e['hs'] if case != 'nosyn' else 0
                if g['handshake_records'] != hs:
                    bad.append(w + 'handshake_records %d, want %d'
                               % (g['handshake_records'], hs))
                if mode is not None:
                    ds = ks_sizes(e['sizes'], mode, cap)
                    if abs(g['ks_size']['d'] - ds) > 1e-9 or g['ks_size']['n'] != len(e['sizes']):
                        bad.append(w + 'mode %d size D %s, want %.10f n %d'
                                   % (mode, g['ks_size'], ds, len(e['sizes'])))
                    if e['gaps']:
                        dg = ks_gaps(e['gaps'], mode)
                        if abs(g['ks_gap']['d'] - dg) > 1e-6:
                            bad.append(w + 'mode %d gap D %s, want %.10f'
                                       % (mode, g['ks_gap'], dg))
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
