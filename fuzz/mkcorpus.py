#!/usr/bin/python3
"""Seed corpora of the fuzz targets, from SPEC.md's vectors (section 13)
and a few hand-made inputs.  Written at build time, never committed.

    fuzz/mkcorpus.py SPEC.md OUTDIR

OUTDIR/<target>/ gets the seeds; OUTDIR/rx.expect lists, for each seed of
fuzz_rx made from a SPEC vector, what the decoder must do with it
(accepted records, failure cause, pl_rx_end()): fuzz/run.sh checks it, so
a receiver state in fuzz_rx.c that drifts from its SPEC vector is caught.
"""

import hashlib
import os
import struct
import sys

# fuzz_rx.c's cfgs[]: vector -> index.
CFG = {
    "reject": 0,
    "record-aes128gcm-detached": 1, "record-aes128gcm-covered": 2,
    "record-aes256gcm-detached": 3, "record-aes256gcm-covered": 4,
    "record-chacha20-detached": 5, "record-chacha20-covered": 6,
    "record-chacha20-covered-padded": 6,
    "record-aes128gcm-detached-alert": 7, "record-aes256gcm-covered-empty-2": 8,
    "stream-keyupdate": 9, "stream-nonce-carry": 10, "stream-seed-update": 11,
    "stream-covered-cap": 12, "stream-opening": 13, "stream-server-first": 14,
}
NCFG = 17

# enum pl_err of section 7's causes (userspace/engine/pl_engine.h).
CAUSE = {"header": -10, "length": -11, "eem_tag": -12, "eem_nonce": -13,
         "eem_fragment": -14, "seed_update": -15, "tls_tag": -16,
         "content_type": -17, "overflow": -18, "empty": -19, "truncated": -20}


def parse_spec(path):
    vecs, cur, fence = {}, None, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("```"):
                fence = not fence
                cur = None
                continue
            if not fence or ": " not in line and not line.endswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.strip()
            if name == "vector":
                cur = vecs.setdefault(value, {})
            elif cur is not None:
                cur[name] = value
    return vecs


def write(outdir, target, name, data):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def rx_flags(script=False, cuts=(), bytewise=False):
    assert len(cuts) <= 15
    head = bytes([(1 if script else 0) | len(cuts) << 1 | (0x20 if bytewise else 0)])
    return head + b"".join(struct.pack(">H", c & 0xFFFF) for c in cuts)


def rx_seeds(vecs, outdir):
    expect = []
    for vid, v in sorted(vecs.items()):
        if vid.startswith("reject-"):
            cfg = 1 if v["framing"] == "0" else CFG["reject"]
            wire = bytes.fromhex(v["wire"])
            cause = CAUSE[v["cause"]]
            acc = int(v["accepted"])
            err, end = (0, cause) if v["eof"] == "1" else (cause, cause)
        elif vid in CFG:
            n = int(v["records"])
            if "wire" in v:
                wire = bytes.fromhex(v["wire"]) + bytes.fromhex(v.get("wire_1", ""))
            else:
                wire = b"".join(bytes.fromhex(v["wire_%d" % j]) for j in range(n))
            cfg, acc, err, end = CFG[vid], n, 0, 0
        else:
            continue
        # Whole, and cut at the header, mid-record and before the EEM's
        # last byte, also byte by byte.
        name = "spec-" + vid
        write(outdir, "rx", name, bytes([cfg]) + rx_flags() + wire)
        cuts = (1, 5, 6, len(wire) // 2, len(wire) - 1)
        write(outdir, "rx", name + "-cut", bytes([cfg]) + rx_flags(cuts=cuts, bytewise=True) + wire)
        for n in (name, name + "-cut"):
            expect.append("%s accepted=%d err=%d end=%d" % (n, acc, err, end))
    with open(os.path.join(outdir, "rx.expect"), "w", encoding="utf-8") as f:
        f.write("\n".join(expect) + "\n")

    # Scripts (fuzz_rx.c's build()): sealed records, crafted ones, mutations.
    def seal(t, content, pad=0, su=None):
        op = bytes([0, t]) + struct.pack(">HH", len(content), pad)
        if su:
            op += bytes([1, su[0], su[1]]) + struct.pack(">Q", su[2])
        else:
            op += b"\x00"
        return op + content

    def craft(inner, nonce_x=0, frag_x=0, su=bytes(12)):
        return bytes([1]) + struct.pack(">H", len(inner)) + bytes([nonce_x, frag_x]) + su + inner

    ku = bytes([7, 1])
    app, hs, alert = 2, 1, 0
    scripts = {
        "seal": seal(app, b"hello") + seal(hs, b"\x04\x00\x00\x00") + seal(alert, b"\x01\x00"),
        "seal-su-pad": seal(app, b"padded", 100, (4, 1, 0x0123456789ABCDEF)) + seal(app, b""),
        "keyupdate": seal(app, b"before") + ku + seal(app, b"after") + ku + seal(app, b"again"),
        "craft-good": craft(b"crafted\x17") + craft(b"hs\x16" + bytes(30)) + seal(app, b"next"),
        "craft-type": seal(app, b"x") + craft(b"bad type\x18"),
        "craft-zeros": craft(bytes(40)),
        "craft-empty-alert": craft(b"\x15"),
        "craft-overflow": craft(bytes(16385) + b"\x17"),
        "craft-nonce": craft(b"n\x17", nonce_x=1),
        "craft-fragment": craft(b"f\x17", frag_x=2),
        "craft-su": craft(b"s\x17", su=bytes([1, 9, 0, 0]) + bytes(8)),
        "flip": seal(app, b"one") + seal(app, b"two") + bytes([2, 0, 0, 80, 0x40]),
        "truncate": seal(app, b"one") + seal(app, b"two") + bytes([3, 0, 120]),
        "insert": seal(app, b"one") + bytes([4, 0, 0, 4]) + b"\x17\x03\x03\x00\x10",
        "delete": seal(app, b"one") + seal(app, b"two") + bytes([5, 0, 0, 0, 30]),
        "replay": seal(app, b"one") + bytes([6, 0, 0, 0xFF, 0xFF]),
        "big": seal(app, bytes(200), 16000),
    }
    for i, (name, body) in enumerate(sorted(scripts.items())):
        for cfg in (0, 9, 13, 15) if i % 2 else (2, 10, 12, 16):
            write(outdir, "rx", "script-%s-%d" % (name, cfg),
                  bytes([cfg]) + rx_flags(True, (7, 60, 61), bytewise=True) + body)


def psk_seeds(vecs, outdir):
    key = vecs["keysched-psk"]["psk"]
    tag = "plasmatic-psk-v1 "
    seeds = {
        "good": tag + key + "\n",
        "no-newline": tag + key,
        "crlf-comments": "# made by plasmatic keygen\r\n\r\n" + tag + key.upper() + "\r\n# end\n",
        "two-keys": tag + key + "\n" + tag + key + "\n",
        "short": tag + key[:-1] + "\n",
        "bad-digit": tag + key[:10] + "g" + key[11:] + "\n",
        "no-space": tag[:-1] + "\t" + key + "\n",
        "comment-only": "# nothing\n\n",
        "cr-only": "\r\n\r",
    }
    for name, text in seeds.items():
        write(outdir, "psk", name, text.encode())


def keylog_seeds(vecs, outdir):
    rnd = hashlib.sha256(b"client random").hexdigest()
    for s in ("aes128gcm", "aes256gcm", "chacha20"):
        t = vecs["traffic-" + s]
        e = vecs["exporter-" + s]
        lines = ["CLIENT_HANDSHAKE_TRAFFIC_SECRET %s %s" % (rnd, t["secret"]),
                 "CLIENT_TRAFFIC_SECRET_0 %s %s" % (rnd, t["secret"]),
                 "SERVER_TRAFFIC_SECRET_0 %s %s" % (rnd, t["next_secret"]),
                 "EXPORTER_SECRET %s %s" % (rnd, e["exporter_master_secret"])]
        write(outdir, "keylog", "spec-" + s, "\n".join(lines).encode())
    sec = vecs["traffic-aes256gcm"]["secret"]
    write(outdir, "keylog", "too-long", ("CLIENT_TRAFFIC_SECRET_0 %s %s00\n" % (rnd, sec)).encode())
    write(outdir, "keylog", "odd", ("SERVER_TRAFFIC_SECRET_0 %s %s0" % (rnd, sec)).encode())
    write(outdir, "keylog", "no-field", b"EXPORTER_SECRET 00")


def cli_seeds(outdir):
    cmds = {
        "keygen": ["keygen", "-o", "build/demo/psk"],
        "keygen-stdout": ["keygen", "-o", "-"],
        "listen-readme": ["listen", "127.0.0.1:4433", "--cert", "build/demo/server.pem",
                          "--key", "build/demo/server.key", "--psk", "build/demo/psk",
                          "--exec", "tr a-z A-Z", "-v"],
        "connect-readme": ["connect", "127.0.0.1:4433", "--ca", "build/demo/ca.pem",
                           "--sni", "demo.plasmatic.test", "--psk", "build/demo/psk", "-v"],
        "connect-all": ["connect", "[::1]:443", "--framing", "detached", "--eem-len", "255",
                        "--cipher", "aes128,chacha20:TLS_AES_256_GCM_SHA384", "--alpn",
                        "h2,http/1.1", "--datapath", "userspace", "--timeout", "0",
                        "--no-close-notify", "--tpl-mode", "3", "--tpl-lock", "--peer-mode",
                        "8", "--capath", "/etc/ssl/certs", "-vv"],
        "listen-all": ["listen", "4433", "--cert=c.pem", "--key=k.pem", "--once", "--exec",
                       "cat", "--open-timeout", "5", "--fallback", "127.0.0.1:8080",
                       "--fallback-dir", "/srv/www", "--datapath=kernel"],
        "listen-bad": ["listen", "[::]:99999", "--cert", "c", "--ca", "x", "-x"],
        "connect-help": ["connect", "-hv"],
        "inspect": ["inspect", "cap.pcap", "--framing", "detached", "--eem-len", "48",
                    "--conn", "2", "--port", "443", "--dir", "client", "--mode", "3",
                    "--plot", "out.png", "--json"],
        "inspect-bad": ["inspect", "--mode", "9", "a", "b"],
        "help": ["--help"],
        "version": ["--version"],
        "unknown": ["frobnicate", "--x"],
    }
    for name, argv in cmds.items():
        write(outdir, "cli", name, b"\0".join(a.encode() for a in argv))


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: mkcorpus.py SPEC.md OUTDIR\n")
        return 2
    vecs = parse_spec(argv[1])
    rx_seeds(vecs, argv[2])
    psk_seeds(vecs, argv[2])
    keylog_seeds(vecs, argv[2])
    cli_seeds(argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
