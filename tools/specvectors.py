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
    out.append("`pad_len`, `mode`, `lock`, `seed`, `records` and `*_int` are integers,")
    out.append("decimal or `0x` hexadecimal (C `strtoull(s, NULL, 0)`). Inputs")
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
    return "\n".join(out)


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
