#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""TLS on the wire, from a pcap: records, ClientHello/ServerHello, JA3/JA4.

Reads a classic pcap (tshark/dumpcap -F pcap) or pcapng file, reassembles
each TCP direction itself (in order, duplicates dropped, gaps reported) and
walks the TLS record headers across the stream, so it works on captures of
any size without keeping the payload. Plaintext handshake records are kept
to parse the ClientHello and ServerHello.

JA3 / JA3S: the published definition (Salesforce, 2017): decimal fields
joined by '-', sections by ',', GREASE values removed, MD5 of that string.
JA4: FoxIO's definition (JA4 TLS client fingerprint, 2023):
  a = proto ('t') + version ('13' from supported_versions, else the legacy
      version) + 'd'/'i' (SNI present or not) + 2-digit cipher count +
      2-digit extension count (GREASE removed) + first and last character
      of the first ALPN value ('00' without ALPN)
  b = sha256(sorted 4-hex-digit ciphers joined by ',')[:12]
  c = sha256(sorted extensions without SNI and ALPN joined by ',' +
      '_' + signature algorithms in their order joined by ',')[:12]
  ja4_r is the same with the raw lists instead of the hashes.

  tlswire.py q PCAP KEY...     print one line per KEY for the first TCP
                               connection of PCAP (see KEYS)
  tlswire.py json PCAP         everything, as JSON
Exit status 2 if the capture cannot be read completely (gap, truncation).
"""
import hashlib
import json
import struct
import sys

GREASE = {0x0a0a + 0x1010 * i for i in range(16)}

KEYS = {
    'ch_len': 'ClientHello record length',
    'ch_ext': 'ClientHello extension types, in order',
    'ch_ciphers': 'ClientHello cipher suites (hex), in order',
    'ch_alpn': 'ClientHello ALPN list',
    'ja3_full': 'JA3 string', 'ja3': 'JA3 (MD5)',
    'ja4': 'JA4', 'ja4_r': 'JA4 raw',
    'ja3s_full': 'JA3S string', 'ja3s': 'JA3S (MD5)',
    'sh_version': 'negotiated version (supported_versions, hex)',
    'sh_cipher': 'selected cipher suite (hex)',
    'flight1': 'server records before the client\'s Finished: type:len ...',
    'post': 'server records after the client\'s Finished, up to the '
            'first pause over 0.3 s: type:len ...',
    'c_max': 'longest record header length sent by the client',
    's_max': 'longest record header length sent by the server',
    'app_max': 'longest record header length after the client\'s '
               'Finished (both directions)',
    'c_n': 'records sent by the client', 's_n': 'records sent by the server',
    'c_lens': 'record lengths sent by the client, in order',
    's_lens': 'record lengths sent by the server, in order',
    'c_midseg': 'client records that do not start a TCP segment',
    's_midseg': 'server records that do not start a TCP segment',
    's_eem_lens': 'lengths of the server\'s records after its two '
                  'tickets (its EEM records, SPEC 2.2), in order',
    's_eem_midseg': 'those of them that do not start a TCP segment',
    'alerts': 'plaintext alerts seen: dir:level:desc',
    'errors': 'stream or record errors found while walking',
}


class CaptureError(Exception):
    pass


def packets(path):
    """Yield (linktype, seconds, data) per packet of a pcap or pcapng file."""
    with open(path, 'rb') as f:
        head = f.read(4)
        if head == b'\x0a\x0d\x0d\x0a':
            yield from _pcapng(f, head)
            return
        rest = f.read(20)
        if len(rest) < 20:
            raise CaptureError('short pcap header')
        magic = struct.unpack('<I', head)[0]
        if magic in (0xa1b2c3d4, 0xa1b23c4d):
            e = '<'
        elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
            e = '>'
        else:
            raise CaptureError('not a pcap file')
        frac = 1e-9 if magic in (0xa1b23c4d, 0x4d3cb2a1) else 1e-6
        lt = struct.unpack(e + 'I', rest[16:20])[0] & 0x0fffffff
        while True:
            h = f.read(16)
            if not h:
                return
            if len(h) < 16:
                raise CaptureError('truncated packet header')
            sec, sub, incl, orig = struct.unpack(e + 'IIII', h)
            d = f.read(incl)
            if len(d) < incl:
                raise CaptureError('truncated packet')
            if incl < orig:
                raise CaptureError('packet cut by the snap length')
            yield lt, sec + sub * frac, d


def _pcapng(f, head):
    e = '<'
    lts = []
    buf = head + f.read(4)
    while True:
        if len(buf) < 8:
            return
        btype = struct.unpack(e + 'I', buf[:4])[0]
        if btype == 0x0a0d0d0a:
            bom = f.read(4)
            e = '<' if bom == b'\x4d\x3c\x2b\x1a' else '>'
            blen = struct.unpack(e + 'I', buf[4:8])[0]
            f.read(blen - 12)
            lts = []
        else:
            blen = struct.unpack(e + 'I', buf[4:8])[0]
            body = f.read(blen - 8)
            if len(body) < blen - 8:
                raise CaptureError('truncated pcapng block')
            if btype == 1:
                res = 1e-6
                o = 8
                while o + 4 <= len(body) - 4:
                    code, ol = struct.unpack(e + 'HH', body[o:o + 4])
                    if code == 0:
                        break
                    if code == 9 and ol >= 1:
                        r = body[o + 4]
                        res = 2.0 ** -(r & 0x7f) if r & 0x80 else 10.0 ** -r
                    o += 4 + (ol + 3) // 4 * 4
                lts.append((struct.unpack(e + 'H', body[:2])[0], res))
            elif btype == 6:
                ifid, hi, lo, incl, orig = struct.unpack(e + 'IIIII', body[:20])
                if incl < orig:
                    raise CaptureError('packet cut by the snap length')
                lt, res = lts[ifid]
                yield lt, ((hi << 32) | lo) * res, body[20:20 + incl]
            elif btype == 3:
                orig = struct.unpack(e + 'I', body[:4])[0]
                yield lts[0][0], 0.0, body[4:4 + orig]
        buf = f.read(8)


def ip_payload(lt, d):
    """(src, dst, tcp segment) or None."""
    if lt == 1:			# Ethernet
        et, off = struct.unpack('!H', d[12:14])[0], 14
        while et in (0x8100, 0x88a8):
            et, off = struct.unpack('!H', d[off + 2:off + 4])[0], off + 4
    elif lt == 113:		# Linux cooked
        et, off = struct.unpack('!H', d[14:16])[0], 16
    elif lt == 276:		# Linux cooked v2
        et, off = struct.unpack('!H', d[0:2])[0], 20
    elif lt in (101, 228, 229, 12, 14):
        et = 0x0800 if d[0] >> 4 == 4 else 0x86dd
        off = 0
    elif lt == 0:		# BSD loopback
        et, off = (0x0800 if d[4] >> 4 == 4 else 0x86dd), 4
    else:
        raise CaptureError('link type %d not supported' % lt)
    ip = d[off:]
    if et == 0x0800:
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack('!H', ip[2:4])[0]
        if ip[9] != 6:
            return None
        return ip[12:16], ip[16:20], ip[ihl:tot]
    if et == 0x86dd:
        if ip[6] != 6:		# no extension headers on loopback
            return None
        plen = struct.unpack('!H', ip[4:6])[0]
        return ip[8:24], ip[24:40], ip[40:40 + plen]
    return None


class Direction:
    """One TCP direction: in-order reassembly and a TLS record walker."""

    def __init__(self, name):
        self.name = name
        self.isn = None
        self.next = None	# next expected sequence number
        self.ooo = {}		# seq -> bytes, waiting for a gap to fill
        self.buf = bytearray()
        self.records = []	# [pkt, type, version, length, starts segment]
        self.segs = set()	# stream offsets where a segment's data began
        self.hs = bytearray()	# plaintext handshake bytes
        self.hs_msgs = []	# (type, body)
        self.alerts = []
        self.errors = []
        self.fin = False

    def syn(self, seq):
        self.isn = seq
        self.next = (seq + 1) & 0xffffffff

    def data(self, seq, payload, pkt):
        if self.next is None:	# capture began mid-connection
            self.errors.append('no SYN seen')
            self.next = seq
        d = (seq - self.next) & 0xffffffff
        if d >= 0x80000000:	# starts before next: retransmission
            skip = (self.next - seq) & 0xffffffff
            if skip >= len(payload):
                return
            payload, seq = payload[skip:], self.next
            d = 0
        if d > 0:
            self.ooo[seq] = payload
            return
        self._feed(payload, pkt)
        while self.ooo:
            for s in list(self.ooo):
                dd = (s - self.next) & 0xffffffff
                if dd >= 0x80000000:
                    p = self.ooo.pop(s)
                    skip = (self.next - s) & 0xffffffff
                    if skip < len(p):
                        self._feed(p[skip:], pkt)
                    break
                if dd == 0:
                    self._feed(self.ooo.pop(s), pkt)
                    break
            else:
                break

    def _feed(self, payload, pkt):
        self.next = (self.next + len(payload)) & 0xffffffff
        # Only a segment's own first byte counts (a retransmission cut
        # by the reassembly above does not start one).
        self.segs.add(self.consumed(len(self.buf)))
        if getattr(self, 'walk_broken', False):
            return
        self.buf += payload
        off = 0
        b = self.buf
        while len(b) - off >= 5:
            typ, ver, ln = b[off], struct.unpack('!H', b[off + 1:off + 3])[0], \
                struct.unpack('!H', b[off + 3:off + 5])[0]
            if typ not in (20, 21, 22, 23, 24) or ver >> 8 != 3:
                self.errors.append('%s: not a TLS record header at stream '
                                   'offset %d: %s' % (self.name, self.consumed(off),
                                                      bytes(b[off:off + 5]).hex()))
                self.buf = bytearray()
                self.walk_broken = True
                return
            if len(b) - off < 5 + ln:
                break
            start = self.consumed(off)
            self.records.append([pkt, typ, ver, ln, start in self.segs])
            self.segs.discard(start)
            if typ == 22 and not self.encrypted():
                self.hs += b[off + 5:off + 5 + ln]
                self._hs_split()
            elif typ == 21 and ln == 2 and not self.encrypted():
                self.alerts.append('%s:%d:%d' % (self.name, b[off + 5], b[off + 6]))
            off += 5 + ln
        self._consumed = getattr(self, '_consumed', 0) + off
        del self.buf[:off]
        self.segs = {x for x in self.segs if x >= self._consumed}

    def consumed(self, off):
        return getattr(self, '_consumed', 0) + off

    def encrypted(self):
        # After a ServerHello that chose TLS 1.3, handshake records are
        # encrypted (type 23), so plaintext type-22 records are only the
        # hellos; keep everything of type 22 regardless.
        return False

    def _hs_split(self):
        while len(self.hs) >= 4:
            n = int.from_bytes(self.hs[1:4], 'big')
            if len(self.hs) < 4 + n:
                return
            self.hs_msgs.append((self.hs[0], bytes(self.hs[4:4 + n])))
            del self.hs[:4 + n]

    def leftover(self):
        if getattr(self, 'walk_broken', False):
            return
        if self.buf:
            self.errors.append('%s: %d bytes after the last complete record'
                               % (self.name, len(self.buf)))
        if self.ooo:
            self.errors.append('%s: gap in the capture (%d segments after it)'
                               % (self.name, len(self.ooo)))


def connections(path):
    """Walk the capture; list of (client Direction, server Direction)."""
    conns = {}
    order = []
    times = []
    for pkt, (lt, ts, d) in enumerate(packets(path)):
        times.append(ts)
        r = ip_payload(lt, d)
        if not r:
            continue
        src, dst, tcp = r
        sp, dp, seq = struct.unpack('!HHI', tcp[:8])
        flags = tcp[13]
        hl = (tcp[12] >> 4) * 4
        payload = tcp[hl:]
        key = (src, sp, dst, dp)
        rkey = (dst, dp, src, sp)
        if key in conns:
            c, s = conns[key]
            me = c
        elif rkey in conns:
            c, s = conns[rkey]
            me = s
        else:
            if not (flags & 0x02) or (flags & 0x10):
                continue	# only connections whose SYN we saw
            c, s = Direction('client'), Direction('server')
            c.port, s.port = sp, dp
            conns[key] = (c, s)
            order.append(key)
            me = c
        if flags & 0x02:
            me.syn(seq)
            continue
        if payload:
            me.data(seq, payload, pkt)
        if flags & 0x01:
            me.fin = True
    out = []
    for k in order:
        c, s = conns[k]
        c.leftover()
        s.leftover()
        c.times = s.times = times
        out.append((c, s))
    return out


def u16(b, o):
    return struct.unpack('!H', b[o:o + 2])[0]


def parse_client_hello(body):
    ch = {'legacy_version': u16(body, 0)}
    o = 2 + 32
    o += 1 + body[o]				# session id
    n = u16(body, o)
    ch['ciphers'] = [u16(body, o + 2 + i) for i in range(0, n, 2)]
    o += 2 + n
    o += 1 + body[o]				# compression
    ch['extensions'] = []
    ch['groups'], ch['point_formats'], ch['sigalgs'] = [], [], []
    ch['alpn'], ch['versions'], ch['sni'] = [], [], None
    if o >= len(body):
        return ch
    end = o + 2 + u16(body, o)
    o += 2
    while o + 4 <= end:
        t, ln = u16(body, o), u16(body, o + 2)
        e = body[o + 4:o + 4 + ln]
        ch['extensions'].append(t)
        if t == 0 and len(e) >= 5:
            ch['sni'] = e[5:5 + u16(e, 3)].decode('ascii', 'replace')
        elif t == 10:
            ch['groups'] = [u16(e, 2 + i) for i in range(0, u16(e, 0), 2)]
        elif t == 11:
            ch['point_formats'] = list(e[1:1 + e[0]])
        elif t == 13:
            ch['sigalgs'] = [u16(e, 2 + i) for i in range(0, u16(e, 0), 2)]
        elif t == 16:
            p, q = 2, 2 + u16(e, 0)
            while p < q:
                ch['alpn'].append(e[p + 1:p + 1 + e[p]].decode('ascii', 'replace'))
                p += 1 + e[p]
        elif t == 43:
            ch['versions'] = [u16(e, 1 + i) for i in range(0, e[0], 2)]
        o += 4 + ln
    return ch


def parse_server_hello(body):
    sh = {'legacy_version': u16(body, 0)}
    o = 2 + 32
    o += 1 + body[o]
    sh['cipher'] = u16(body, o)
    o += 3
    sh['extensions'] = []
    sh['version'] = sh['legacy_version']
    if o < len(body):
        end = o + 2 + u16(body, o)
        o += 2
        while o + 4 <= end:
            t, ln = u16(body, o), u16(body, o + 2)
            sh['extensions'].append(t)
            if t == 43 and ln == 2:
                sh['version'] = u16(body, o + 4)
            o += 4 + ln
    return sh


def nogrease(v):
    return [x for x in v if x not in GREASE]


def ja3(ch):
    s = '%d,%s,%s,%s,%s' % (
        ch['legacy_version'],
        '-'.join(map(str, nogrease(ch['ciphers']))),
        '-'.join(map(str, nogrease(ch['extensions']))),
        '-'.join(map(str, nogrease(ch['groups']))),
        '-'.join(map(str, ch['point_formats'])))
    return s, hashlib.md5(s.encode()).hexdigest()


def ja3s(sh):
    s = '%d,%d,%s' % (sh['legacy_version'], sh['cipher'],
                      '-'.join(map(str, sh['extensions'])))
    return s, hashlib.md5(s.encode()).hexdigest()


def ja4(ch):
    vers = nogrease(ch['versions'])
    v = max(vers) if vers else ch['legacy_version']
    vs = {0x0304: '13', 0x0303: '12', 0x0302: '11', 0x0301: '10',
          0x0300: 's3', 0x0002: 's2'}.get(v, '00')
    ciphers = nogrease(ch['ciphers'])
    exts = nogrease(ch['extensions'])
    alpn = '00'
    if ch['alpn'] and ch['alpn'][0]:
        a = ch['alpn'][0]
        if a[0].isalnum() and a[-1].isalnum() and a.isascii():
            alpn = a[0] + a[-1]
        else:
            h = a.encode().hex()
            alpn = h[0] + h[-1]
    part_a = 't%s%s%02d%02d%s' % (vs, 'd' if 0 in exts else 'i',
                                  min(len(ciphers), 99), min(len(exts), 99),
                                  alpn)
    cs = ','.join('%04x' % c for c in sorted(ciphers))
    es = ','.join('%04x' % e for e in sorted(exts) if e not in (0, 16))
    sa = ','.join('%04x' % s for s in nogrease(ch['sigalgs']))
    cstr = es + ('_' + sa if sa else '')

    def h12(s):
        return hashlib.sha256(s.encode()).hexdigest()[:12] if s else '000000000000'
    return ('%s_%s_%s' % (part_a, h12(cs), h12(cstr)),
            '%s_%s_%s' % (part_a, cs, cstr))


def summary(c, s):
    out = {'errors': c.errors + s.errors, 'alerts': c.alerts + s.alerts}
    chs = [b for t, b in c.hs_msgs if t == 1]
    shs = [b for t, b in s.hs_msgs if t == 2]
    if chs:
        ch = parse_client_hello(chs[0])
        out['ch'] = ch
        out['ch_len'] = next((r[3] for r in c.records if r[1] == 22), None)
        out['ja3_full'], out['ja3'] = ja3(ch)
        out['ja4'], out['ja4_r'] = ja4(ch)
    if shs:
        sh = parse_server_hello(shs[0])
        out['sh'] = sh
        out['ja3s_full'], out['ja3s'] = ja3s(sh)
    # The client's Finished: its first record of type 23 (TLS 1.3; CCS
    # records of type 20 are skipped).
    fin = next((i for i, r in enumerate(c.records) if r[1] == 23), None)
    fin_pkt = c.records[fin][0] if fin is not None else None
    out['flight1'] = [r[1:4:2] for r in s.records
                      if fin_pkt is None or r[0] < fin_pkt]
    # Post-handshake flight: the server's records after the client's
    # Finished up to the first pause over 0.3 s (what the client sends in
    # between does not end it: an observer sees the server's burst).
    post, last = [], c.times[fin_pkt] if fin_pkt is not None else 0
    for r in s.records:
        if fin_pkt is None or r[0] <= fin_pkt:
            continue
        if s.times[r[0]] - last > 0.3:
            break
        post.append(r[1:4:2])
        last = s.times[r[0]]
    out['post'] = post
    app = [r[3] for r in c.records[fin + 1:]] if fin is not None else []
    app += [r[3] for r in s.records if fin_pkt is not None and r[0] > fin_pkt]
    out['app_max'] = max(app, default=0)
    out['c_lens'] = [r[3] for r in c.records]
    out['s_lens'] = [r[3] for r in s.records]
    out['c_max'] = max(out['c_lens'], default=0)
    out['s_max'] = max(out['s_lens'], default=0)
    # The server's records after the client's Finished: two tickets, then
    # (a Plasmatic server) its EEM records.
    after = [r for r in s.records if fin_pkt is not None and r[0] > fin_pkt]
    out['s_eem_lens'] = [r[3] for r in after[2:]]
    out['s_eem_midseg'] = sum(1 for r in after[2:] if not r[4])
    out['c_midseg'] = sum(1 for r in c.records if not r[4])
    out['s_midseg'] = sum(1 for r in s.records if not r[4])
    out['c_n'] = len(c.records)
    out['s_n'] = len(s.records)
    return out


def fmt(key, v, sm):
    if key in ('flight1', 'post'):
        return ' '.join('%d:%d' % (t, n) for t, n in v)
    if key in ('c_lens', 's_lens', 's_eem_lens', 'alerts', 'errors'):
        return ' '.join(map(str, v))
    return str(v)


def get(sm, key):
    ch, sh = sm.get('ch'), sm.get('sh')
    if key == 'ch_ext':
        return '-'.join(map(str, ch['extensions'])) if ch else ''
    if key == 'ch_ciphers':
        return ','.join('%04x' % x for x in ch['ciphers']) if ch else ''
    if key == 'ch_alpn':
        return ','.join(ch['alpn']) if ch else ''
    if key == 'sh_version':
        return '%04x' % sh['version'] if sh else ''
    if key == 'sh_cipher':
        return '%04x' % sh['cipher'] if sh else ''
    v = sm.get(key)
    return '' if v is None else fmt(key, v, sm)


def main(argv):
    if len(argv) < 3 or argv[1] not in ('q', 'json'):
        sys.stderr.write(__doc__)
        for k, v in KEYS.items():
            sys.stderr.write('  %-11s %s\n' % (k, v))
        return 1
    try:
        conns = connections(argv[2])
    except (CaptureError, OSError, IndexError, struct.error) as e:
        print('tlswire: %s: %s' % (argv[2], e), file=sys.stderr)
        return 2
    if not conns:
        print('tlswire: %s: no TCP connection with its SYN' % argv[2],
              file=sys.stderr)
        return 2
    sm = summary(*conns[0])
    if argv[1] == 'json':
        sm.pop('c_lens')
        sm.pop('s_lens')
        sm.pop('s_eem_lens')
        print(json.dumps(sm, indent=1, default=str))
    else:
        for k in argv[3:]:
            if k not in KEYS:
                print('tlswire: unknown key %s' % k, file=sys.stderr)
                return 1
            print(get(sm, k))
    return 2 if sm['errors'] else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
