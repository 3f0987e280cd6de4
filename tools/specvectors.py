#!/usr/bin/python3
"""Regenerate the test vectors of SPEC.md section 13.

An implementation of the Plasmatic v1.1 wire format independent of the C
engine: HKDF, HKDF-Expand-Label and SipHash-2-4 are written here from their
RFCs / paper; only the AEADs come from python3-cryptography.

    tools/specvectors.py            print the vectors section
    tools/specvectors.py --write    rewrite SPEC.md between the markers
    tools/specvectors.py --check    exit 1 if SPEC.md differs
"""

import hashlib
import hmac
import os
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

BEGIN = "<!-- VECTORS BEGIN -->"
END = "<!-- VECTORS END -->"
SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "SPEC.md")

# suite id -> (hash, key length, AEAD class)
SUITES = {
    0x1301: (hashlib.sha256, 16, AESGCM),
    0x1302: (hashlib.sha384, 32, AESGCM),
    0x1303: (hashlib.sha256, 32, ChaCha20Poly1305),
}
SUITE_NAMES = {0x1301: "aes128gcm", 0x1302: "aes256gcm", 0x1303: "chacha20"}
FRAMING_NAMES = {0: "detached", 1: "covered"}

MAX_CONTENT = 1 << 14
TAG = 16


# --- RFC 5869 HKDF ----------------------------------------------------------

def hkdf_extract(hashf, salt, ikm):
    if not salt:
        salt = bytes(hashf().digest_size)
    return hmac.new(salt, ikm, hashf).digest()


def hkdf_expand(hashf, prk, info, length):
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashf).digest()
        out += t
        i += 1
    return out[:length]


def expand_label(hashf, secret, label, context, length):
    """RFC 8446 section 7.1 HKDF-Expand-Label."""
    full = b"tls13 " + label
    info = struct.pack(">H", length) + bytes([len(full)]) + full + \
        bytes([len(context)]) + context
    return hkdf_expand(hashf, secret, info, length)


# --- SipHash-2-4 (Aumasson, Bernstein), 64-bit output ------------------------

M64 = (1 << 64) - 1


def _rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & M64


def siphash24(key, msg):
    k0, k1 = struct.unpack("<QQ", key)
    v = [k0 ^ 0x736f6d6570736575, k1 ^ 0x646f72616e646f6d,
         k0 ^ 0x6c7967656e657261, k1 ^ 0x7465646279746573]

    def rnd():
        v[0] = (v[0] + v[1]) & M64
        v[1] = _rotl(v[1], 13) ^ v[0]
        v[0] = _rotl(v[0], 32)
        v[2] = (v[2] + v[3]) & M64
        v[3] = _rotl(v[3], 16) ^ v[2]
        v[0] = (v[0] + v[3]) & M64
        v[3] = _rotl(v[3], 21) ^ v[0]
        v[2] = (v[2] + v[1]) & M64
        v[1] = _rotl(v[1], 17) ^ v[2]
        v[2] = _rotl(v[2], 32)

    full = len(msg) - len(msg) % 8
    for off in range(0, full, 8):
        m = struct.unpack("<Q", msg[off:off + 8])[0]
        v[3] ^= m
        rnd()
        rnd()
        v[0] ^= m
    tail = msg[full:] + bytes(7 - len(msg) % 8) + bytes([len(msg) & 0xff])
    m = struct.unpack("<Q", tail)[0]
    v[3] ^= m
    rnd()
    rnd()
    v[0] ^= m
    v[2] ^= 0xff
    for _ in range(4):
        rnd()
    return v[0] ^ v[1] ^ v[2] ^ v[3]


# --- SPEC section 4: EEM key schedule ----------------------------------------

def eem_schedule(exp, framing, eem_len, psk):
    del framing, eem_len  # bound through the exporter context only
    prk = hkdf_extract(hashlib.sha256, psk or b"", exp)
    out = {"prk": prk}
    for d in ("c2s", "s2c"):
        key = hkdf_expand(hashlib.sha256, prk, b"plasmatic v1 eem key " + d.encode(), 32)
        nonce = bytearray(hkdf_expand(hashlib.sha256, prk,
                                      b"plasmatic v1 eem nonce " + d.encode(), 12))
        nonce[4] &= 0x7F
        seed = hkdf_expand(hashlib.sha256, prk, b"plasmatic v1 tpl seed " + d.encode(), 8)
        out[d] = (key, bytes(nonce), seed)
    return out


def traffic_keys(suite, secret):
    hashf, klen, _ = SUITES[suite]
    return (expand_label(hashf, secret, b"key", b"", klen),
            expand_label(hashf, secret, b"iv", b"", 12))


def next_secret(suite, secret):
    hashf = SUITES[suite][0]
    return expand_label(hashf, secret, b"traffic upd", b"", hashf().digest_size)


# --- SPEC sections 5 and 6: records and EEMs ---------------------------------

def seed_update(kind=0, mode=0, flags=0, seed=0):
    return struct.pack(">BBBBQ", kind, mode, flags, 0, seed)


def eem_seal(eem_key, nonce, header, tls_tag, fragment, su, padding, eem_len):
    assert len(padding) == eem_len - 16 - 26 and len(su) == 12
    pt = nonce + fragment + su + padding
    return ChaCha20Poly1305(eem_key).encrypt(nonce, pt, header + tls_tag)


def nonce_add(nonce, n):
    ctr = int.from_bytes(nonce[4:], "big") + n
    assert ctr <= M64
    return nonce[:4] + ctr.to_bytes(8, "big")


def record_seal(suite, key, iv, seq, framing, eem_len, eem_key, eem_nonce,
                ctype, content, pad, su, padding):
    aead = SUITES[suite][2](key)
    inner = content + bytes([ctype]) + bytes(pad)
    assert len(content) <= MAX_CONTENT and len(inner) <= MAX_CONTENT + 1
    lc = len(inner) + TAG
    length = lc + (eem_len if framing == 1 else 0)
    header = bytes([0x17, 0x03, 0x03]) + struct.pack(">H", length)
    nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big")))
    enc = aead.encrypt(nonce, inner, header)
    eem = eem_seal(eem_key, eem_nonce, header, enc[-TAG:], enc[:2], su, padding, eem_len)
    return header + enc + eem


def max_content(framing, eem_len):
    """SPEC 8.1: content + padding of one record a sender may send."""
    return MAX_CONTENT - (eem_len if framing == 1 else 0)


def craft_record(suite, key, iv, seq, framing, eem_len, eem_key, eem_nonce, inner,
                 su, padding, nonce_field=None, fragment=None):
    """Any TLSInnerPlaintext and any EEM fields: for the records a receiver
    MUST reject (section 7). nonce_field / fragment override what the EEM
    plaintext says; the EEM is still sealed under eem_nonce."""
    aead = SUITES[suite][2](key)
    lc = len(inner) + TAG
    length = lc + (eem_len if framing == 1 else 0)
    header = bytes([0x17, 0x03, 0x03]) + struct.pack(">H", length)
    nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big")))
    enc = aead.encrypt(nonce, inner, header)
    pt = (nonce_field or eem_nonce) + (fragment or enc[:2]) + su + padding
    assert len(pt) == eem_len - 16
    eem = ChaCha20Poly1305(eem_key).encrypt(eem_nonce, pt, header + enc[-TAG:])
    return header + enc + eem


def derive_secret_empty(hashf, secret, label):
    """RFC 8446 7.1 Derive-Secret(secret, label, "")."""
    return expand_label(hashf, secret, label, hashf(b"").digest(), hashf().digest_size)


def tls_exporter(hashf, exporter_master_secret, label, context, length):
    """RFC 8446 7.5 TLS-Exporter."""
    derived = derive_secret_empty(hashf, exporter_master_secret, label)
    return derived, expand_label(hashf, derived, b"exporter", hashf(context).digest(), length)


# --- SPEC section 9: TPL -----------------------------------------------------

# mode -> ((size ranges with probability split), (delay ms lo, hi))
ROTATION = [1, 2, 4, 5, 6, 7, 8, 3]


def _pick(r, lo, hi):
    return lo + (r & 0xFFFFFFFF) % (hi - lo + 1)


def tpl_size(mode, r):
    if mode in (0, 6):
        return 16384
    if mode == 4:
        p = (r >> 32) % 100
        return _pick(r, 50, 250) if p < 70 else _pick(r, 500, 2000)
    lo, hi = {1: (100, 1500), 2: (1000, 16000), 3: (10, 60), 5: (100, 500),
              7: (200, 2000), 8: (50, 150)}[mode]
    return _pick(r, lo, hi)


def tpl_delay(mode, r):
    if mode == 0:
        return 0
    lo, hi = {1: (10, 110), 2: (1, 5), 3: (500, 1000), 4: (5, 25), 5: (10, 20),
              6: (1, 5), 7: (1000, 5000), 8: (50, 550)}[mode]
    return _pick(r, lo * 1000, hi * 1000)


def tpl_r(seed, mode, i):
    return siphash24(struct.pack("<QQ", seed, mode), struct.pack("<Q", i))


class Tpl:
    def __init__(self, mode, seed, lock):
        self.mode, self.seed, self.lock, self.ctr = mode, seed, lock, 0

    def apply(self, su):
        """SPEC 9.4: a received Seed Update (raw 12 bytes) sets the state."""
        kind, mode, flags, _, seed = struct.unpack(">BBBBQ", su)
        if kind == 1:
            self.mode, self.seed, self.lock, self.ctr = mode, seed, bool(flags & 1), 0

    def next(self):
        if not self.lock and self.mode in ROTATION and self.ctr == 2 * 1024:
            self.mode = ROTATION[(ROTATION.index(self.mode) + 1) % len(ROTATION)]
            self.ctr = 0
        rs, rd = tpl_r(self.seed, self.mode, self.ctr), tpl_r(self.seed, self.mode, self.ctr + 1)
        self.ctr += 2
        return self.mode, tpl_size(self.mode, rs), tpl_delay(self.mode, rd)


# --- fixed inputs ------------------------------------------------------------

def pattern(n, start, step=1):
    return bytes((start + i * step) & 0xFF for i in range(n))


def block(name, title, fields, out):
    out.append("#### %s\n" % title)
    out.append("```")
    out.append("vector: %s" % name)
    for k, v in fields:
        out.append("%s: %s" % (k, v.hex() if isinstance(v, (bytes, bytearray)) else v))
    out.append("```\n")


def vectors():
    out = []
    out.append("Format: each vector is a fenced block of `name: value` lines, starting")
    out.append("with `vector: <id>`. Byte strings are lowercase hex (an empty string is")
    out.append("an empty value); `suite`, `framing`, `eem_len`, `seq`, `content_type`,")
    out.append("`pad_len`, `mode`, `lock`, `seed`, `records`, `eof`, `accepted`,")
    out.append("`*_int` and the `seq_j`, `type_j`, `pad_j` of 13.6 are integers,")
    out.append("decimal or `0x` hexadecimal (C `strtoull(s, NULL, 0)`); `cause` is a")
    out.append("name of section 7; `r`, `pairs` and `draws` are lists (13.5). Inputs")
    out.append("come first, results after them. `su` is the 12-byte Seed Update field")
    out.append("as carried in the EEM (5.3), `eem_padding` the EEM's random padding,")
    out.append("`wire` the bytes on the wire: `header || encrypted_record || eem`.\n")

    # 13.1 key schedule
    out.append("### 13.1 EEM key schedule (section 4)\n")
    exp = pattern(32, 0x00)
    for name, framing, eem_len, psk in (("keysched-nopsk", 1, 80, None),
                                        ("keysched-psk", 0, 48, pattern(32, 0xA0))):
        ks = eem_schedule(exp, framing, eem_len, psk)
        f = [("exp", exp), ("framing", framing), ("eem_len", eem_len),
             ("params", bytes([framing, eem_len])), ("psk", psk or b""),
             ("prk", ks["prk"])]
        for d in ("c2s", "s2c"):
            key, nonce, seed = ks[d]
            f += [(d + "_key", key), (d + "_nonce", nonce), (d + "_seed", seed),
                  (d + "_seed_int", int.from_bytes(seed, "big"))]
        block(name, name + (" (PSK present)" if psk else " (no PSK)"), f, out)

    out.append("The exporter of step 1 for each suite (RFC 8446 7.5, with the suite's")
    out.append("hash): `exporter_master_secret` is the TLS secret of that name,")
    out.append("`derived` = Derive-Secret(exporter_master_secret, label, \"\"),")
    out.append("`context_hash` = Hash(params), `exp` the 32-byte output. `label` is")
    out.append("the ASCII label without the `tls13 ` prefix that HKDF-Expand-Label adds.\n")
    for suite in (0x1301, 0x1302, 0x1303):
        hashf = SUITES[suite][0]
        ems = pattern(hashf().digest_size, 0x20 + suite - 0x1301, 5)
        params = bytes([1, 80])
        label = b"EXPORTER-plasmatic-eem-v1"
        derived, exp = tls_exporter(hashf, ems, label, params, 32)
        name = "exporter-" + SUITE_NAMES[suite]
        block(name, name, [("suite", "0x%04x" % suite), ("exporter_master_secret", ems),
                           ("label", label), ("params", params), ("derived", derived),
                           ("context_hash", hashf(params).digest()), ("exp", exp)], out)

    # 13.2 traffic keys
    out.append("### 13.2 TLS 1.3 traffic keys and KeyUpdate (RFC 8446 7.1, 7.2, 7.3)\n")
    for suite in (0x1301, 0x1302, 0x1303):
        hlen = SUITES[suite][0]().digest_size
        sec = pattern(hlen, 0x40 + suite - 0x1301, 3)
        key, iv = traffic_keys(suite, sec)
        nsec = next_secret(suite, sec)
        nkey, niv = traffic_keys(suite, nsec)
        name = "traffic-" + SUITE_NAMES[suite]
        block(name, name, [("suite", "0x%04x" % suite), ("secret", sec), ("key", key), ("iv", iv),
                           ("next_secret", nsec), ("next_key", nkey), ("next_iv", niv)], out)

    # 13.3 EEM alone
    out.append("### 13.3 EEM sealing (section 5)\n")
    eem_key = pattern(32, 0x80)
    for framing in (0, 1):
        eem_len = 80
        lc = 17 + 100
        length = lc + (eem_len if framing else 0)
        header = bytes([0x17, 3, 3]) + struct.pack(">H", length)
        tls_tag = pattern(16, 0xC0)
        fragment = bytes([0x5A, 0xA5])
        nonce = bytes.fromhex("0102030405060708090a0b0c")
        su = seed_update(1, 4, 1, 0x0123456789ABCDEF)
        padding = pattern(eem_len - 42, 0xE0)
        eem = eem_seal(eem_key, nonce, header, tls_tag, fragment, su, padding, eem_len)
        name = "eem-" + FRAMING_NAMES[framing]
        block(name, name, [("eem_key", eem_key), ("framing", framing), ("eem_len", eem_len),
                           ("header", header),
                           ("tls_tag", tls_tag), ("fragment", fragment), ("nonce", nonce),
                           ("su", su), ("eem_padding", padding), ("eem", eem)], out)

    # 13.4 whole records
    out.append("### 13.4 Records on the wire (sections 5 and 6)\n")
    out.append("`seq` is the TLS sequence number of the record, `eem_nonce` its EEM")
    out.append("nonce. A vector with `records: 2` seals two records in a row from the")
    out.append("same state (`content_1`, `wire_1` for the second one: `seq + 1` and")
    out.append("the next EEM nonce, with the same `eem_padding`).\n")
    plaintext = b"Plasmatic v1 test record, hello!"
    cases = []
    for suite in (0x1301, 0x1302, 0x1303):
        for framing in (0, 1):
            cases.append(("record-%s-%s" % (SUITE_NAMES[suite], FRAMING_NAMES[framing]),
                          suite, framing, 80, 23, plaintext, 0, seed_update(), 1))
    cases.append(("record-chacha20-covered-padded", 0x1303, 1, 80, 23, plaintext, 37,
                  seed_update(1, 2, 0, 0xFEDCBA9876543210), 1))
    cases.append(("record-aes128gcm-detached-alert", 0x1301, 0, 48, 21, bytes([2, 20]), 0,
                  seed_update(), 1))
    cases.append(("record-aes256gcm-covered-empty-2", 0x1302, 1, 255, 23, b"", 0,
                  seed_update(1, 8, 1, 7), 2))
    for name, suite, framing, eem_len, ctype, content, pad, su, nrec in cases:
        klen = SUITES[suite][1]
        key = pattern(klen, 0x10 + suite - 0x1301)
        iv = pattern(12, 0x30, 7)
        seq = 0x01FF if nrec == 2 else 5
        eem_nonce = bytes.fromhex("11223344" "00000000fffffffe") if nrec == 2 else \
            bytes.fromhex("0a0b0c0d" "0000000000000003")
        padding = pattern(eem_len - 42, 0x70, 5)
        f = [("suite", "0x%04x" % suite), ("framing", framing), ("eem_len", eem_len), ("key", key),
             ("iv", iv), ("seq", seq), ("eem_key", eem_key), ("eem_nonce", eem_nonce),
             ("content_type", ctype), ("content", content), ("pad_len", pad), ("su", su),
             ("eem_padding", padding), ("records", nrec)]
        wires = []
        for j in range(nrec):
            c = content if j == 0 else b"second"
            if j:
                f.append(("content_1", c))
            wires.append(record_seal(suite, key, iv, seq + j, framing, eem_len, eem_key,
                                     nonce_add(eem_nonce, j), ctype, c, pad, su, padding))
        f.append(("wire", wires[0]))
        if nrec == 2:
            f.append(("wire_1", wires[1]))
        block(name, name, f, out)

    # 13.5 TPL
    out.append("### 13.5 TPL draws (section 9)\n")
    out.append("`r` lists `r(i)` for `i` = 0, 1, 2, 3 as 16 hex digits (the 64-bit")
    out.append("value, most significant first). `pairs` lists the first 8 records'")
    out.append("`size,delay_us` from a state set to (`mode`, `seed`), locked.\n")
    seed = 0x0123456789ABCDEF
    for mode in range(9):
        t = Tpl(mode, seed, True)
        pairs = " ".join("%d,%d" % t.next()[1:] for _ in range(8))
        rs = " ".join("%016x" % tpl_r(seed, mode, i) for i in range(4))
        name = "tpl-mode-%d" % mode
        block(name, name, [("mode", mode), ("seed", "0x%016x" % seed), ("lock", 1), ("r", rs),
                           ("pairs", pairs)], out)
    out.append("Rotation: from (mode 1, `seed`) unlocked, the `mode,size,delay_us` of")
    out.append("records 1022 to 1025 and 2046 to 2049 (counting from 0).\n")
    t = Tpl(1, seed, False)
    seen = []
    for j in range(2050):
        m, s, d = t.next()
        if 1022 <= j <= 1025 or 2046 <= j <= 2049:
            seen.append("%d,%d,%d" % (m, s, d))
    block("tpl-rotation", "tpl-rotation", [("mode", 1), ("seed", "0x%016x" % seed), ("lock", 0),
                                           ("draws", " ".join(seen))], out)

    streams(out)
    rejects(out)
    return "\n".join(out)


KU = 24  # KeyUpdate handshake message type


def stream_block(name, title, suite, framing, eem_len, secret, seq, eem_key, eem_nonce,
                 recs, out, pre=(), tpl_draws=0):
    """A run of records from one sender (SPEC 13.6). recs: (type, content,
    pad_len, su). A handshake record holding a KeyUpdate switches the sender
    to the next traffic secret after it, sequence number 0 (SPEC 8.4)."""
    padding = pattern(eem_len - 42, 0x70, 5)
    f = list(pre) + [("suite", "0x%04x" % suite), ("framing", framing), ("eem_len", eem_len),
                     ("secret", secret), ("seq", seq), ("eem_key", eem_key),
                     ("eem_nonce", eem_nonce), ("eem_padding", padding),
                     ("records", len(recs))]
    for j, (ctype, content, pad, su) in enumerate(recs):
        f += [("type_%d" % j, ctype), ("content_%d" % j, content), ("pad_%d" % j, pad),
              ("su_%d" % j, su)]
    res, tpl = [], None
    for j, (ctype, content, pad, su) in enumerate(recs):
        key, iv = traffic_keys(suite, secret)
        nonce = nonce_add(eem_nonce, j)
        assert len(content) + pad <= max_content(framing, eem_len)
        wire = record_seal(suite, key, iv, seq, framing, eem_len, eem_key, nonce, ctype,
                           content, pad, su, padding)
        assert int.from_bytes(wire[3:5], "big") <= 16401  # section 6 / 8.1
        res += [("seq_%d" % j, seq), ("eem_nonce_%d" % j, nonce), ("wire_%d" % j, wire)]
        seq += 1
        if ctype == 22 and content[0] == KU:
            secret, seq = next_secret(suite, secret), 0
        if su[0] == 1:
            tpl = Tpl(0, 0, False)
            tpl.apply(su)
    f += res
    if tpl_draws:
        f.append(("draws", " ".join("%d,%d,%d" % tpl.next() for _ in range(tpl_draws))))
    block(name, title, f, out)


def streams(out):
    out.append("### 13.6 Record streams (sections 2.2, 2.3, 5.2, 8.1, 8.4, 9.4)\n")
    out.append("A run of `records` records sent in a row by one sender, starting from")
    out.append("traffic secret `secret`, TLS sequence number `seq` and EEM nonce")
    out.append("`eem_nonce`. Record `j` has inputs `type_j`, `content_j`, `pad_j` (TLS")
    out.append("zero padding) and `su_j`, every EEM the same `eem_padding`; its results")
    out.append("are `seq_j`, `eem_nonce_j` (the values it was sealed with) and `wire_j`.")
    out.append("A handshake record whose content is a KeyUpdate moves the sender to the")
    out.append("next traffic secret after it (8.4). `draws`, where present, lists the")
    out.append("`mode,size,delay_us` of the first records the *receiver* of the stream")
    out.append("sends after it accepted the record carrying the stream's Seed Update")
    out.append("(9.4).\n")
    none = seed_update()
    eem_key = pattern(32, 0x80)

    # The opening record (section 2.3) and the server's first EEM record
    # (section 2.2), with EEM keys from the key schedule.
    exp, psk = pattern(32, 0x00), pattern(32, 0xA0)
    ks = eem_schedule(exp, 1, 80, psk)
    pre = [("exp", exp), ("psk", psk), ("params", bytes([1, 80]))]
    out.append("`stream-opening` is a client's opening record (section 2.3) with")
    out.append("`P` = 200 and `stream-server-first` the server's first EEM-carrying")
    out.append("record (section 2.2: sequence number 2, after the two tickets); their EEM")
    out.append("key and first nonce come from `exp`, `psk` and `params` by section 4.\n")
    key, nonce, _ = ks["c2s"]
    stream_block("stream-opening", "stream-opening", 0x1301, 1, 80, pattern(32, 0x50, 3), 0,
                 key, nonce, [(23, b"", 200, none)], out, pre)
    key, nonce, _ = ks["s2c"]
    stream_block("stream-server-first", "stream-server-first", 0x1301, 1, 80,
                 pattern(32, 0x60, 3), 2, key, nonce,
                 [(23, b"HTTP/1.1 200 OK\r\n", 0, none)], out, pre)

    stream_block("stream-nonce-carry", "stream-nonce-carry (EEM nonce carry past 32 bits)",
                 0x1303, 1, 80, pattern(32, 0x42, 3), 100, eem_key,
                 bytes.fromhex("5a5a5a5a" "00000000ffffffff"),
                 [(23, b"carry 0", 0, none), (23, b"carry 1", 0, none)], out)
    stream_block("stream-keyupdate", "stream-keyupdate (KeyUpdate in a stream)",
                 0x1302, 1, 80, pattern(48, 0x41, 3), 7, eem_key,
                 bytes.fromhex("0a0b0c0d" "00000000000000fe"),
                 [(23, b"before KeyUpdate 0", 0, none), (23, b"before KeyUpdate 1", 0, none),
                  (22, bytes([KU, 0, 0, 1, 0]), 0, none),
                  (23, b"after KeyUpdate 0", 0, none), (23, b"after KeyUpdate 1", 0, none)],
                 out)
    stream_block("stream-seed-update", "stream-seed-update (a Seed Update and the draws it sets)",
                 0x1301, 1, 80, pattern(32, 0x40, 3), 32, eem_key,
                 bytes.fromhex("0a0b0c0d" "0000000000000020"),
                 [(23, b"seed update", 0, seed_update(1, 5, 0, 0x1122334455667788))], out,
                 tpl_draws=4)
    out.append("`stream-covered-cap` is a covered record at the sender's cap of")
    out.append("section 8.1: content plus padding 2^14 - 80 = 16304 bytes, header")
    out.append("length 16401.\n")
    stream_block("stream-covered-cap", "stream-covered-cap", 0x1303, 1, 80,
                 pattern(32, 0x42, 3), 0, eem_key, bytes.fromhex("0a0b0c0d" "0000000000000000"),
                 [(23, pattern(1000, 0x00), 16304 - 1000, none)], out)


REJECT_CAUSES = ("header", "length", "eem_tag", "eem_nonce", "eem_fragment", "seed_update",
                 "tls_tag", "content_type", "overflow", "empty", "truncated")


def rejects(out):
    out.append("### 13.7 Records a receiver MUST reject (section 7)\n")
    out.append("The receiver's state is `suite`, `key`, `iv`, `seq`, `eem_key`,")
    out.append("`eem_nonce`, `framing`, `eem_len`. It is given `wire`, then, if `eof`")
    out.append("is 1, the end of the stream. It accepts the first `accepted` records")
    out.append("and MUST then fail with `cause` (section 7's names); causes `header`")
    out.append("and `length` MUST be found from the 5-byte header alone, before any")
    out.append("byte of the body is read. The `reject-order-*` vectors fail more than")
    out.append("one check and pin which cause is reported (section 7).\n")
    suite, framing, eem_len, seq = 0x1301, 1, 80, 3
    key, iv = pattern(16, 0x10), pattern(12, 0x30, 7)
    eem_key = pattern(32, 0x80)
    nonce = bytes.fromhex("0a0b0c0d" "0000000000000009")
    padding = pattern(eem_len - 42, 0x70, 5)
    content = b"a record to reject"
    none = seed_update()

    def rec(inner=content + b"\x17", su=none, nonce_field=None, fragment=None,
            framing=framing):
        return craft_record(suite, key, iv, seq, framing, eem_len, eem_key, nonce, inner,
                            su, padding, nonce_field, fragment)

    def flip(b, i, m=0x01):
        b = bytearray(b)
        b[i] ^= m
        return bytes(b)

    good = rec()
    lc = len(good) - 5 - eem_len
    enc0 = good[5:7]
    wrong_frag = bytes([enc0[0], enc0[1] ^ 1])
    cases = [
        ("reject-header-type", "header", b"\x16" + good[1:], 0, 0, framing),
        ("reject-header-version", "header", good[:2] + b"\x01" + good[3:], 0, 0, framing),
        ("reject-length-short", "length",
         bytes([0x17, 3, 3]) + struct.pack(">H", 17 + eem_len - 1) + bytes(17 + eem_len - 1),
         0, 0, framing),
        ("reject-length-covered-cap", "length",
         bytes([0x17, 3, 3]) + struct.pack(">H", MAX_CONTENT + 256 + 1) + bytes(32), 0, 0, 1),
        ("reject-length-detached-cap", "length",
         bytes([0x17, 3, 3]) + struct.pack(">H", MAX_CONTENT + 256 + 1) + bytes(32), 0, 0, 0),
        ("reject-eem-tag", "eem_tag", flip(good, len(good) - 1), 0, 0, framing),
        ("reject-eem-nonce", "eem_nonce", rec(nonce_field=nonce_add(nonce, 1)), 0, 0, framing),
        ("reject-eem-fragment", "eem_fragment", rec(fragment=wrong_frag), 0, 0, framing),
        ("reject-seed-update-kind0", "seed_update", rec(su=seed_update(0, 0, 0, 1)), 0, 0,
         framing),
        ("reject-seed-update-mode", "seed_update", rec(su=seed_update(1, 9, 0, 1)), 0, 0,
         framing),
        ("reject-tls-tag", "tls_tag", flip(good, 5 + 8), 0, 0, framing),
        ("reject-content-type", "content_type", rec(inner=content + b"\x18"), 0, 0, framing),
        ("reject-content-type-zeros", "content_type", rec(inner=bytes(16)), 0, 0, framing),
        ("reject-overflow", "overflow", rec(inner=bytes(MAX_CONTENT + 2)), 0, 0, framing),
        ("reject-empty", "empty", rec(inner=b"\x15"), 0, 0, framing),
        ("reject-truncated", "truncated", good[:-1], 1, 0, framing),
        ("reject-replay", "eem_tag", good + good, 0, 1, framing),
        ("reject-order-tls-tag", "eem_tag", flip(good, 5 + lc - 1), 0, 0, framing),
        ("reject-order-nonce-fragment", "eem_nonce",
         rec(nonce_field=nonce_add(nonce, 1), fragment=wrong_frag), 0, 0, framing),
        ("reject-order-fragment-tls", "eem_fragment", flip(rec(fragment=wrong_frag), 5 + 8),
         0, 0, framing),
        ("reject-order-seed-update-tls", "seed_update",
         flip(rec(su=seed_update(1, 9, 0, 1)), 5 + 8), 0, 0, framing),
    ]
    for name, cause, wire, eof, accepted, fr in cases:
        assert cause in REJECT_CAUSES
        block(name, name, [("suite", "0x%04x" % suite), ("framing", fr), ("eem_len", eem_len),
                           ("key", key), ("iv", iv), ("seq", seq), ("eem_key", eem_key),
                           ("eem_nonce", nonce), ("wire", wire), ("eof", eof),
                           ("accepted", accepted), ("cause", cause)], out)


def selftest():
    # RFC 5869 test case 1, SipHash paper's test vector, RFC 8448 traffic key.
    prk = hkdf_extract(hashlib.sha256, bytes.fromhex("000102030405060708090a0b0c"),
                       bytes([0x0B] * 22))
    assert prk.hex() == "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
    okm = hkdf_expand(hashlib.sha256, prk, bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"), 42)
    assert okm.hex().startswith("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56")
    assert siphash24(bytes(range(16)), bytes(range(15))) == 0xA129CA6149BE45E5
    assert siphash24(bytes(range(16)), b"") == 0x726FDB47DD0E0E31
    assert siphash24(bytes(range(16)), bytes(range(8))) == 0x93F5F5799A932462
    # RFC 8448 simple 1-RTT: server handshake traffic secret -> key, iv
    sec = bytes.fromhex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38")
    k, iv = traffic_keys(0x1301, sec)
    assert k.hex() == "3fce516009c21727d0f2e4e86ee403bc"
    assert iv.hex() == "5d313eb2671276ee13000b30"
    assert nonce_add(bytes(4) + bytes([0xFF] * 7) + bytes([0xFE]), 1)[4:] == bytes([0xFF] * 8)


def main(argv):
    selftest()
    body = vectors()
    if len(argv) < 2:
        sys.stdout.write(body + "\n")
        return 0
    with open(SPEC, encoding="utf-8") as f:
        spec = f.read()
    a, b = spec.index(BEGIN) + len(BEGIN), spec.index(END)
    new = spec[:a] + "\n" + body + "\n" + spec[b:]
    if argv[1] == "--check":
        if new != spec:
            sys.stderr.write("SPEC.md vectors differ from tools/specvectors.py output\n")
            return 1
        return 0
    if argv[1] == "--write":
        if new != spec:
            with open(SPEC, "w", encoding="utf-8") as f:
                f.write(new)
        return 0
    sys.stderr.write("usage: %s [--write|--check]\n" % argv[0])
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
