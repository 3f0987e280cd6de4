#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""What a prober sees from `plasmatic listen` (SPEC 7.1), TAP output.

A censor that suspects a server connects to it itself: with TLS but
without the PSK (curl, Python's ssl, as a browser would), with cleartext
HTTP, with random bytes, or says nothing.  Each must get what an ordinary
nginx HTTPS server gives: a web page on a live connection, nginx's 400
page, a close with FIN (never RST) after nginx's timeouts, and never a
byte of the server's own data.

    probe_test.py [PLASMATIC_BINARY]

Only loopback addresses; every process is bounded in time and killed at
the end.
"""
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../.."))
P = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                    os.path.join(TOP, "build/userspace/plasmatic"))
n = 0
failed = 0
procs = []


def check(name, cond, detail=""):
    global n, failed
    n += 1
    if cond:
        print(f"ok {n} {name}")
    else:
        failed += 1
        print(f"not ok {n} {name}")
        for line in str(detail).splitlines()[:15]:
            print(f"#   {line}")
    sys.stdout.flush()


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=60, **kw)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def pki(d):
    cnf = os.path.join(d, "openssl.cnf")
    with open(cnf, "w") as f:
        f.write("[req]\ndistinguished_name = dn\n[dn]\n")
    env = dict(os.environ, OPENSSL_CONF=cnf)
    steps = [
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
         "-out", "ca.key"],
        ["openssl", "req", "-x509", "-new", "-key", "ca.key", "-subj",
         "/CN=probe-test-CA", "-days", "2", "-out", "ca.pem"],
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
         "-out", "server.key"],
        ["openssl", "req", "-new", "-key", "server.key", "-subj",
         "/CN=localhost", "-out", "server.csr"],
        ["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem",
         "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile",
         "ext.cnf", "-out", "server.pem"],
    ]
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for s in steps:
        subprocess.run(s, cwd=d, env=env, check=True, capture_output=True)
    run([P, "keygen", "-o", os.path.join(d, "psk")])


def listen(d, *args):
    """Start `plasmatic listen`; its port."""
    err = open(os.path.join(d, "listen.err"), "w")
    p = subprocess.Popen([P, "listen", "127.0.0.1:0", "--cert",
                          os.path.join(d, "server.pem"), "--key",
                          os.path.join(d, "server.key"), "--psk",
                          os.path.join(d, "psk"), "-v"] + list(args),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=err, cwd=d)
    procs.append(p)
    for _ in range(100):
        with open(os.path.join(d, "listen.err")) as f:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", f.read())
        if m:
            return p, int(m.group(1))
        time.sleep(0.05)
    raise RuntimeError("listen did not start")


def stop(p):
    p.terminate()
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()


def close_kind(sock, timeout):
    """How the server ends: 'FIN', 'RST', or 'open' (nothing in time);
    with the bytes it sent first."""
    sock.settimeout(timeout)
    got = b""
    try:
        while True:
            b = sock.recv(65536)
            if not b:
                return "FIN", got
            got += b
    except ConnectionResetError:
        return "RST", got
    except socket.timeout:
        return "open", got


def tls_client():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def http_get(path=b"/", host=b"localhost"):
    return b"GET " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"


def read_response(s, timeout=10):
    """One HTTP response (head and Content-Length body) from s."""
    s.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            break
        buf += b
    head, _, body = buf.partition(b"\r\n\r\n")
    m = re.search(rb"Content-Length: (\d+)", head)
    want = int(m.group(1)) if m else 0
    while len(body) < want:
        b = s.recv(65536)
        if not b:
            break
        body += b
    return head, body


def main():
    d = tempfile.mkdtemp(prefix="pl-probe-")
    print("TAP version 13")
    try:
        pki(d)
        tests(d)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        shutil.rmtree(d, ignore_errors=True)
    print(f"1..{n}")
    print(f"# {n - failed} passed, {failed} failed")
    return 1 if failed else 0


def tests(d):
    secret = b"SECRET-" + os.urandom(8).hex().encode()
    with open(os.path.join(d, "secret"), "wb") as f:
        f.write(secret + b"\n")
    srv, port = listen(d, "--exec", "touch ran; cat secret; cat >/dev/null",
                       "--open-timeout", "2", "--timeout", "2")

    # curl, as a browser would: the built-in page, keep-alive works.
    r = run(["curl", "-sk", "--max-time", "20", "-o", "/dev/null", "-w",
             "%{http_code} %{num_connects}\n",
             f"https://127.0.0.1:{port}/", "-o", "/dev/null",
             f"https://127.0.0.1:{port}/index.html", "-o", "/dev/null",
             f"https://127.0.0.1:{port}/missing"])
    codes = r.stdout.decode().split()
    check("curl: 200, 200, 404 on one kept-alive connection",
          codes == ["200", "1", "200", "0", "404", "0"], r.stdout + r.stderr)

    # Python's TLS: a page, then the connection stays open (no alert,
    # no close) as nginx keeps it for keep-alive.
    s = tls_client().wrap_socket(socket.create_connection(("127.0.0.1", port)),
                                 server_hostname="localhost")
    s.sendall(http_get())
    head, body = read_response(s)
    check("TLS prober: HTTP/1.1 200 with Server: nginx",
          head.startswith(b"HTTP/1.1 200 OK") and b"\r\nServer: nginx" in head,
          head)
    check("TLS prober: never a byte of the server's data",
          secret not in head + body and not os.path.exists(
              os.path.join(d, "ran")), body)
    s.settimeout(1.5)
    try:
        live = s.recv(1) is None
    except socket.timeout:
        live = True
    except (ssl.SSLError, OSError) as e:
        live = e
    check("TLS prober: the connection stays open after the answer", live is True,
          live)
    s.sendall(b"HEAD / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    head, _ = read_response(s)
    check("TLS prober: a second request on it, HEAD with Connection: close",
          head.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in head,
          head)
    s.close()

    # A TLS client that says nothing: closed after the opening timeout,
    # with FIN and no alert (as nginx after client_header_timeout).
    raw = socket.create_connection(("127.0.0.1", port))
    s = tls_client().wrap_socket(raw, server_hostname="localhost")
    t0 = time.monotonic()
    try:
        s.settimeout(10)
        data = s.recv(100)
        how = "FIN" if data == b"" else data
    except ssl.SSLEOFError:
        how = "FIN"
    except ConnectionResetError:
        how = "RST"
    except (ssl.SSLError, OSError) as e:
        how = repr(e)
    dt = time.monotonic() - t0
    check(f"silent TLS client: FIN, no alert, after the 2 s open timeout ({how}, {dt:.1f} s)",
          how == "FIN" and 1.5 < dt < 8, how)
    s.close()

    # Cleartext HTTP: nginx's 400 page for HTTP on an HTTPS port, then FIN.
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(http_get())
    how, got = close_kind(c, 10)
    check("cleartext HTTP: nginx's 400 \"plain HTTP request was sent to HTTPS port\", then FIN",
          got.startswith(b"HTTP/1.1 400 Bad Request") and
          b"The plain HTTP request was sent to HTTPS port" in got and how == "FIN",
          (how, got[:200]))
    c.close()

    # Random bytes: read, then FIN, never RST, nothing sent.
    c = socket.create_connection(("127.0.0.1", port))
    junk = b"\x8f" + os.urandom(300)
    c.sendall(junk)
    time.sleep(0.2)
    c.sendall(os.urandom(200))
    how, got = close_kind(c, 10)
    check(f"random bytes: FIN and no answer ({how}, {len(got)} bytes)",
          how == "FIN" and got == b"", got[:100])
    c.close()

    # Bytes that start like a TLS handshake but are not one.
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"\x16\x03\x01\x00\x30" + os.urandom(48))
    how, got = close_kind(c, 10)
    check(f"broken ClientHello: an alert at most, then FIN ({how})",
          how == "FIN" and len(got) <= 7, got)
    c.close()

    # Silence: closed after the handshake timeout, FIN.
    c = socket.create_connection(("127.0.0.1", port))
    t0 = time.monotonic()
    how, got = close_kind(c, 10)
    dt = time.monotonic() - t0
    check(f"silent TCP client: FIN after the 2 s handshake timeout ({how}, {dt:.1f} s)",
          how == "FIN" and got == b"" and 1.5 < dt < 8)
    c.close()

    check("the server is still listening, its command never ran",
          srv.poll() is None and not os.path.exists(os.path.join(d, "ran")))
    stop(srv)

    # --fallback-dir: the files of a directory, no escape from it.
    www = os.path.join(d, "www")
    os.makedirs(os.path.join(www, "sub"))
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("<h1>docroot index</h1>\n")
    with open(os.path.join(www, "sub", "a.css"), "w") as f:
        f.write("body{}\n")
    os.symlink("/etc/passwd", os.path.join(www, "link"))
    srv, port = listen(d, "--exec", "cat secret", "--fallback-dir", www)
    base = f"https://127.0.0.1:{port}"
    r = run(["curl", "-sk", "--max-time", "20", base + "/"])
    check("--fallback-dir: / is its index.html", b"docroot index" in r.stdout,
          r.stdout + r.stderr)
    r = run(["curl", "-sk", "--max-time", "20", "-D-", base + "/sub/a.css"])
    check("--fallback-dir: a file with its type",
          b"Content-Type: text/css" in r.stdout and b"body{}" in r.stdout,
          r.stdout)
    codes = []
    for path in ["/../secret", "/%2e%2e/secret", "/link", "/sub", "/nope"]:
        r = run(["curl", "-sk", "--max-time", "20", "--path-as-is", "-o",
                 "/dev/null", "-w", "%{http_code}", base + path])
        codes.append(r.stdout.decode())
    check(f"--fallback-dir: no way out of it ({' '.join(codes)})",
          codes == ["400", "400", "404", "403", "404"], codes)
    r = run(["curl", "-sk", "--max-time", "20", "-X", "POST", "-o", "/dev/null",
             "-w", "%{http_code}", base + "/"])
    check("--fallback-dir: POST is 405 Not Allowed", r.stdout == b"405", r.stdout)
    stop(srv)

    # --fallback: relayed to a real nginx on loopback.
    nport = free_port()
    ndir = os.path.join(d, "nginx")
    os.makedirs(os.path.join(ndir, "www"))
    os.chmod(d, 0o755)		# nginx's workers are not root
    with open(os.path.join(ndir, "www", "index.html"), "w") as f:
        f.write("<p>served by nginx</p>\n")
    conf = os.path.join(ndir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off; pid {ndir}/pid; error_log {ndir}/error.log;
worker_processes 1; events {{}}
http {{ access_log {ndir}/access.log; client_body_temp_path {ndir};
proxy_temp_path {ndir}; fastcgi_temp_path {ndir}; uwsgi_temp_path {ndir};
scgi_temp_path {ndir};
server {{ listen 127.0.0.1:{nport}; root {ndir}/www; }} }}
""")
    ng = subprocess.Popen(["nginx", "-c", conf, "-p", ndir],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(ng)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", nport)).close()
            break
        except OSError:
            time.sleep(0.05)
    srv, port = listen(d, "--exec", "cat secret", "--fallback",
                       f"127.0.0.1:{nport}")
    r = run(["curl", "-sk", "--max-time", "20", "-D-",
             f"https://127.0.0.1:{port}/", f"https://127.0.0.1:{port}/"])
    out = r.stdout
    check("--fallback: curl gets nginx's page, twice on one connection",
          out.count(b"served by nginx") == 2 and b"Server: nginx/" in out and
          secret not in out, out + r.stderr)
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(http_get())
    how, got = close_kind(c, 3)
    check("--fallback: cleartext bytes go to it as they are",
          b"served by nginx" in got, got[:300])
    c.close()
    stop(srv)
    stop(ng)

    # --fallback that cannot be reached: the built-in page, not a close.
    srv, port = listen(d, "--exec", "cat secret", "--fallback",
                       f"127.0.0.1:{free_port()}")
    r = run(["curl", "-sk", "--max-time", "20", "-o", "/dev/null", "-w",
             "%{http_code}", f"https://127.0.0.1:{port}/"])
    check("--fallback down: the built-in page (200) instead",
          r.stdout == b"200", r.stdout + r.stderr)
    stop(srv)

    # A Plasmatic client with the PSK still gets the service.
    srv, port = listen(d, "--exec", "cat secret", "--once")
    r = run([P, "connect", f"127.0.0.1:{port}", "--ca",
             os.path.join(d, "ca.pem"), "--sni", "localhost", "--psk",
             os.path.join(d, "psk")], stdin=subprocess.DEVNULL)
    check("a client with the PSK gets the server's data",
          r.returncode == 0 and secret in r.stdout, r.stderr)
    stop(srv)


if __name__ == "__main__":
    sys.exit(main())
