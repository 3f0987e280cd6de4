#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# End-to-end test of plasmatic serve and plasmatic get, TAP output.
#
#   serve_test.sh [PLASMATIC_BINARY]
#
# Environment: PL_SERVE_DIR scratch directory (default
# build/userspace/serve-test), PL_SERVE_DATAPATH datapath for both ends
# (default auto; the VM's run says kernel, and then checks that the
# connections are on it), PL_SERVE_CONNS connections held open at once
# by as many `plasmatic connect` (default 200), PL_SERVE_MANY by one
# process (tests/many_get, default 1000).  Only loopback addresses are used (port 0: the server's
# -v line says which).  Needs bash, openssl, cmp, and busybox or coreutils.
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
P=${1:-$top/build/userspace/plasmatic}
case $P in /*) ;; *) P=$PWD/$P ;; esac
D=${PL_SERVE_DIR:-$top/build/userspace/serve-test}
DP=${PL_SERVE_DATAPATH:-auto}
CONNS=${PL_SERVE_CONNS:-200}
MANY=${PL_SERVE_MANY:-1000}
# tests/many_get, built next to the binary (build/userspace/cli/ for
# build/userspace/plasmatic, build/userspace/cli-san/ for its own).
MG=$(dirname "$P")/many_get
[ -x "$MG" ] || MG=$(dirname "$P")/cli/many_get
HL=$(dirname "$MG")/httpload
n=0 failed=0
pids=()

rm -rf "$D"
mkdir -p "$D"
cd "$D" || exit 1
D=$PWD

# At the end the large files go (the logs stay): the VM's initramfs
# holds the whole build tree.
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -f "$D"/root/*.bin "$D"/*.out
}
trap cleanup EXIT

. "$top/userspace/cli/tests/common.sh"

# ---------------------------------------------------------------- setup
pki_ca serve-test-CA && pki_other &&
	pki_cert server localhost DNS:localhost,IP:127.0.0.1
if [ $? -ne 0 ] || [ ! -x "$P" ]; then
	echo "1..1"
	echo "not ok 1 setup: PKI with openssl, or $P missing"
	exit 1
fi
mkdir -p root/sub root/dir outside
printf 'hello world\n' > root/hello.txt
printf 'secret\n' > outside/secret.txt
head -c 4194304 /dev/urandom > root/big.bin
head -c 16384 /dev/urandom > root/16k.bin
head -c 33554432 /dev/urandom > root/huge.bin
printf 'in sub\n' > root/sub/file.txt
ln -s ../outside/secret.txt root/escape
ln -s "$D/outside" root/escape-dir
ln -s sub/file.txt root/inside
touch -d '2020-01-01 00:00:00' root/hello.txt 2>/dev/null ||
	touch -t 202001010000 root/hello.txt

# [SERVE_DP=DATAPATH] start_serve NAME ARGS...: `plasmatic serve root
# 127.0.0.1:0` with the test certificate, the datapath, -v and ARGS; sets
# $port and $spid.
start_serve() {
	local name=$1
	shift
	: > "$name.err"
	"$P" serve root 127.0.0.1:0 --cert server.pem --key server.key \
		--datapath "${SERVE_DP:-$DP}" -v "$@" > "$name.out" 2> "$name.err" &
	spid=$!
	pids+=("$spid")
	wait_listening "$name.err" 200
}

get() { "$P" get "plasmatic://127.0.0.1:$port$1" --ca ca.pem --datapath "$DP" "${@:2}"; }

# raw NAME REQUEST: send REQUEST (printf format) over `plasmatic connect`,
# the answer in NAME.resp.
raw() {
	printf "$2" | timeout 30 "$P" connect "127.0.0.1:$port" --ca ca.pem \
		--datapath "$DP" > "$1.resp" 2> "$1.cerr"
}

# status NAME: the status code of the first response in NAME.resp.
status() { head -n 1 "$1.resp" | sed -n 's/^HTTP\/1\.1 \([0-9]*\) .*/\1/p'; }

# expect NAME CODE REQUEST: a raw request answered with CODE.
expect() {
	raw "$1" "$3"
	local s
	s=$(status "$1")
	if [ "$s" = "$2" ]; then ok "$1: $2"; else
		notok "$1: got '${s}', want $2" "$1.resp" "$1.cerr"; fi
}

H='Host: t\r\nConnection: close\r\n'

echo "TAP version 13"
"$P" serve --help > help.out 2>&1
grep -q "usage: plasmatic serve DIR" help.out; check "serve --help" $? help.out
"$P" get --help > help.out 2>&1
grep -q "usage: plasmatic get plasmatic://" help.out; check "get --help" $? help.out
"$P" serve root > usage.err 2>&1
[ $? -eq 2 ]; check "serve without a port: exit 2" $? usage.err
"$P" serve nowhere 127.0.0.1:0 --cert server.pem --key server.key > usage.err 2>&1
[ $? -eq 3 ]; check "serve of a missing directory: exit 3" $? usage.err
"$P" get http://x/ > usage.err 2>&1
[ $? -eq 2 ]; check "get of a non-plasmatic URL: exit 2" $? usage.err

# ------------------------------------------------------- get, datapath
start_serve main --idle-timeout 2 --workers 2
check "serve starts" $? main.err
get /hello.txt > hello.out 2> get.err
rc=$?
[ $rc -eq 0 ] && cmp -s hello.out root/hello.txt; check "get /hello.txt" $? get.err
if [ "$DP" = kernel ]; then
	grep -q "path=kernel" main.err; check "served on the kernel datapath" $? main.err
elif [ "$DP" = userspace ]; then
	grep -q "path=userspace" main.err; check "served on the userspace datapath" $? main.err
fi
# plasmatic.ko's records sealed from linked file pages (sendfile, no copy).
linked() { awk '/^PlasmaticTxLinkedRecords/ { print $2 }' /proc/net/plasmatic_stat; }
[ "$DP" = kernel ] && l0=$(linked)
get /big.bin -o big.out 2> get.err
[ $? -eq 0 ] && cmp -s big.out root/big.bin; check "get 4 MiB: same bytes" $? get.err
if [ "$DP" = kernel ]; then
	l1=$(linked)
	[ $((l1 - l0)) -ge 200 ]
	check "the body went by sendfile: $((l1 - l0)) records of linked pages (256 of 16 KiB)" $?
fi
head -c 1234567 root/big.bin > part.out
get /big.bin -o part.out -C 2> get.err
[ $? -eq 0 ] && cmp -s part.out root/big.bin; check "get -C resumes with Range" $? get.err
get /big.bin -o part.out -C 2> get.err
[ $? -eq 0 ] && cmp -s part.out root/big.bin; check "get -C of a complete file: 416, exit 0" $? get.err
get /missing > /dev/null 2> get.err
[ $? -eq 8 ]; check "get of a missing file: exit 8" $? get.err
grep -q "404 Not Found" get.err; check "get says the status" $? get.err
"$P" get "plasmatic://127.0.0.1:$port/hello.txt" --ca other-ca.pem > /dev/null 2> get.err
[ $? -eq 5 ]; check "get with the wrong CA: exit 5" $? get.err
"$P" get "plasmatic://127.0.0.1:1/hello.txt" --ca ca.pem > /dev/null 2> get.err
[ $? -eq 4 ]; check "get of a closed port: exit 4" $? get.err
grep -q '"GET /hello.txt HTTP/1.1" 200 12 "-" "plasmatic/' main.err
check "access log line (combined format)" $? main.err

# ------------------------------------------------------ SIGHUP: reload
# The certificate renewed in place (now from the other CA), then SIGHUP:
# new connections get the new one; a file that no longer loads keeps the
# one in use.
cp server.pem rl.pem && cp server.key rl.key &&
	openssl ecparam -name prime256v1 -genkey -noout -out rl2.key 2>/dev/null &&
	openssl req -new -key rl2.key -subj /CN=localhost -out rl2.csr 2>/dev/null &&
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > rl2.cnf &&
	openssl x509 -req -in rl2.csr -CA other-ca.pem -CAkey other.key -CAcreateserial \
		-days 2 -extfile rl2.cnf -out rl2.pem 2>/dev/null
check "a second server certificate, from the other CA" $?
mainport=$port
: > rl.err
"$P" serve root 127.0.0.1:0 --cert rl.pem --key rl.key --datapath "$DP" -v \
	> /dev/null 2> rl.err &
rlpid=$!
pids+=("$rlpid")
wait_listening rl.err 200
rlport=$port port=$mainport
rlget() { "$P" get "plasmatic://127.0.0.1:$rlport/hello.txt" --ca "$1" > /dev/null 2> rl.get; }
rlget ca.pem; check "reload: served with the first certificate" $? rl.get
# wait_line FILE TEXT: until FILE has TEXT (10 s).
wait_line() {
	for _ in $(seq 100); do grep -q "$2" "$1" && return 0; sleep 0.1; done
	return 1
}
cp rl2.pem rl.pem && cp rl2.key rl.key && kill -HUP "$rlpid"
wait_line rl.err "SIGHUP: reloaded"; check "SIGHUP: reloaded" $? rl.err
rlget other-ca.pem; check "after SIGHUP: the new certificate (other CA)" $? rl.get
rlget ca.pem
[ $? -eq 5 ]; check "after SIGHUP: the old CA no longer verifies it (exit 5)" $? rl.get
echo "not a key" > rl.key && kill -HUP "$rlpid"
wait_line rl.err "SIGHUP: not reloaded"; check "SIGHUP with a broken key: not reloaded, says so" $? rl.err
rlget other-ca.pem; check "... and still serves with the certificate in use" $? rl.get
kill "$rlpid"
wait_pid "$rlpid"
check "serve exits 0 on SIGTERM after reloads" $? rl.err

# ------------------------------------------------------------ statuses
expect get200 200 "GET /hello.txt HTTP/1.1\r\n$H\r\n"
grep -q "^hello world" get200.resp; check "200: the body" $? get200.resp
grep -qi "^Last-Modified: Wed, 01 Jan 2020 00:00:00 GMT" get200.resp
check "200: Last-Modified" $? get200.resp
expect head 200 "HEAD /hello.txt HTTP/1.1\r\n$H\r\n"
grep -q "^Content-Length: 12" head.resp && ! grep -q "hello world" head.resp
check "HEAD: Content-Length, no body" $? head.resp
expect range 206 "GET /hello.txt HTTP/1.1\r\n${H}Range: bytes=1-3\r\n\r\n"
grep -q "^Content-Range: bytes 1-3/12" range.resp && tail -c 3 range.resp | grep -qx ell
check "206: Content-Range and the bytes" $? range.resp
expect suffix 206 "GET /hello.txt HTTP/1.1\r\n${H}Range: bytes=-6\r\n\r\n"
grep -q "^Content-Range: bytes 6-11/12" suffix.resp; check "206: suffix range" $? suffix.resp
expect open 206 "GET /hello.txt HTTP/1.1\r\n${H}Range: bytes=10-\r\n\r\n"
grep -q "^Content-Range: bytes 10-11/12" open.resp; check "206: open range" $? open.resp
expect unsat 416 "GET /hello.txt HTTP/1.1\r\n${H}Range: bytes=12-\r\n\r\n"
grep -q "^Content-Range: bytes \*/12" unsat.resp; check "416: Content-Range */size" $? unsat.resp
expect multi 200 "GET /hello.txt HTTP/1.1\r\n${H}Range: bytes=0-1,3-4\r\n\r\n"
expect ims 304 "GET /hello.txt HTTP/1.1\r\n${H}If-Modified-Since: Wed, 01 Jan 2020 00:00:00 GMT\r\n\r\n"
! grep -q "hello world" ims.resp; check "304: no body" $? ims.resp
expect ims-old 200 "GET /hello.txt HTTP/1.1\r\n${H}If-Modified-Since: Tue, 31 Dec 2019 23:59:59 GMT\r\n\r\n"
expect badline 400 "GET /hello.txt\r\n$H\r\n"
expect nohost 400 "GET /hello.txt HTTP/1.1\r\nConnection: close\r\n\r\n"
expect badesc 400 "GET /hello%%zz HTTP/1.1\r\n$H\r\n"
expect post 405 "POST /hello.txt HTTP/1.1\r\n$H\r\n"
grep -q "^Allow: GET, HEAD" post.resp; check "405: Allow" $? post.resp
expect missing 404 "GET /nope HTTP/1.1\r\n$H\r\n"
expect dir 403 "GET /sub/ HTTP/1.1\r\n$H\r\n"
expect root 403 "GET / HTTP/1.1\r\n$H\r\n"
expect inside 200 "GET /inside HTTP/1.1\r\n$H\r\n"
big=$(head -c 9000 /dev/zero | tr '\0' a)
expect toolarge 431 "GET / HTTP/1.1\r\nHost: t\r\nX: $big\r\n\r\n"
expect version 505 "GET / HTTP/2.0\r\n$H\r\n"
expect body 501 "GET / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n"

# ------------------------------------------------------ path traversal
expect dotdot 403 "GET /../outside/secret.txt HTTP/1.1\r\n$H\r\n"
expect dotdot2 403 "GET /sub/../../outside/secret.txt HTTP/1.1\r\n$H\r\n"
expect pct 403 "GET /%%2e%%2e/outside/secret.txt HTTP/1.1\r\n$H\r\n"
expect pct2 403 "GET /sub/.%%2E/.%%2e/outside/secret.txt HTTP/1.1\r\n$H\r\n"
expect slash 403 "GET /..%%2foutside%%2fsecret.txt HTTP/1.1\r\n$H\r\n"
expect slash2 403 "GET /sub%%2Ffile.txt HTTP/1.1\r\n$H\r\n"
expect symlink 403 "GET /escape HTTP/1.1\r\n$H\r\n"
expect symdir 403 "GET /escape-dir/secret.txt HTTP/1.1\r\n$H\r\n"
! grep -q secret ./*.resp; check "no response holds the secret" $?

# ------------------------------------------------- keep-alive, pipelining
raw keep "GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\nGET /sub/file.txt HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\n$H\r\n"
[ "$(grep -c '^HTTP/1.1 ' keep.resp)" = 3 ] && grep -q "^in sub" keep.resp &&
	grep -q "^HTTP/1.1 404" keep.resp
check "keep-alive: three pipelined requests, three responses" $? keep.resp
# Thousands pipelined: each response that ends at once is followed by the
# next request, already there; serve once answered it from inside the
# last response's call chain, one level deeper each time, until the
# worker's stack overflowed (a crash: every connection gone).
for i in $(seq 5000); do printf 'HEAD /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n'; done > many.req
printf "GET /hello.txt HTTP/1.1\r\n$H\r\n" >> many.req
timeout 120 "$P" connect "127.0.0.1:$port" --ca ca.pem --datapath "$DP" \
	< many.req > many.resp 2> many.cerr
answered=$(grep -c '^HTTP/1.1 200 ' many.resp)
[ "$answered" = 5001 ] && grep -q '^hello' many.resp && kill -0 "$spid"
check "5000 pipelined requests on one connection: $answered of 5001 answered, the last with its body, serve alive" $? many.cerr
rm -f many.req many.resp

# One request at a time on one connection, as a browser's keep-alive:
# each response must go out whole at once.  With Nagle on the socket the
# body's last segment waited for the client's delayed ACK of the head,
# 40 ms per response: 100 took 4.4 s; without, a fraction of a second
# (0.02 s on the host).  3 s leaves room for a slow guest and a sanitizer.
# The time is httpload's own (first request to last response; busybox's
# date has no %N).
"$HL" plasmatic 127.0.0.1 "$port" ca.pem /16k.bin 16384 1 --requests 100 \
	--datapath "$DP" > seq.res 2> seq.err
st=$?
secs=$(sed -n 's/.* seconds=\([0-9.]*\) .*/\1/p' seq.res)
[ $st -eq 0 ] && grep -q "^requests=100 " seq.res &&
	awk -v s="$secs" 'BEGIN { exit !(s != "" && s + 0 < 3) }'
check "keep-alive: 100 requests one after another, no delayed-ACK wait (${secs:-?} s)" $? seq.res seq.err

# ------------------------------------------------------------ slowloris
# A head that never ends, from a client that stays (its stdin stays open
# 20 s): the server closes it after --idle-timeout 2.
before=$(grep -c "timed out (request head)" main.err)
{ printf 'GET /hello.txt HTTP/1.1\r\nHost: t\r\n'; sleep 20; } |
	"$P" connect "127.0.0.1:$port" --ca ca.pem --datapath "$DP" -v \
		> slow.resp 2> slow.cerr &
slow=$!
pids+=("$slow")
for _ in $(seq 100); do
	[ "$(grep -c "timed out (request head)" main.err)" -gt "$before" ] && break
	sleep 0.1
done
[ "$(grep -c "timed out (request head)" main.err)" -gt "$before" ] &&
	kill -0 "$slow" 2>/dev/null
check "slowloris: closed by the server after --idle-timeout" $? main.err
sleep 0.5
grep -q "peer ended its data" slow.cerr; check "slowloris: the client saw the end" $? slow.cerr
kill "$slow" 2>/dev/null
kill -0 "$spid"; check "serve is still running" $? main.err

# ------------------------------------------------- concurrent connections
# CONNS clients connect, all hold their connection while the others come,
# then ask for a file; a server of its own with the default timeouts (a
# loaded VM takes its time with CONNS handshakes) and --datapath auto: a
# client whose request and FIN came before the server attached the module
# (which takes established connections only) is served on the userspace
# datapath, where --datapath kernel would refuse it.
main_port=$port main_spid=$spid
SERVE_DP=auto start_serve conc --workers 2
check "serve for the concurrent connections starts" $? conc.err
i=0
cpids=()
while [ $i -lt "$CONNS" ]; do
	{ sleep 1; printf "GET /sub/file.txt HTTP/1.1\r\n$H\r\n"; } |
		timeout 120 "$P" connect "127.0.0.1:$port" --ca ca.pem --datapath "$DP" -v \
			> "c$i.resp" 2> "c$i.err" &
	cpids+=($!)
	i=$((i + 1))
done
bad=0
for p in "${cpids[@]}"; do wait "$p" || bad=$((bad + 1)); done
good=$(grep -l "^in sub" c*.resp | wc -l)
[ "$bad" -eq 0 ] && [ "$good" -eq "$CONNS" ]
st=$?
if [ $st -ne 0 ]; then
	# The first clients without an answer, and what the server said of them.
	: > conc.diag
	for f in $(grep -L "^in sub" c*.resp | head -3); do
		cat "${f%.resp}.err" >> conc.diag
	done
	grep -v "connected\|GET /sub/file.txt" conc.err | tail -n 10 >> conc.diag
fi
check "$CONNS concurrent connections: all answered ($good, $bad failed)" $st conc.diag
rm -f c*.resp c*.err
kill "$spid"
wait_pid "$spid"
check "serve exits 0 on SIGTERM (idle)" $? conc.err

# MANY connections from one client process (tests/many_get: a thread
# each), all held at once before any asks for the file, to a server of
# their own with the per-IP limit above them; each answer is logged.
SERVE_DP=auto start_serve many --workers 2 --max-per-ip $((MANY + 10))
check "serve for $MANY connections starts" $? many.err
body=$(printf 'in sub\n_')
timeout 300 "$MG" 127.0.0.1 "$port" ca.pem "$MANY" /sub/file.txt "${body%_}" \
	"$DP" > many.res 2>&1
st=$?
cat many.res >> many.err
[ $st -eq 0 ] && [ "$(grep -c '"GET /sub/file.txt HTTP/1.1" 200' many.err)" -eq "$MANY" ]
rc=$?
check "$MANY connections held at once by one client, all answered: $(tail -n 1 many.res)" $rc many.err
kill "$spid"
wait_pid "$spid"
check "serve exits 0 on SIGTERM ($MANY connections)" $? many.err

# --------------------------------------------------- connections per IP
start_serve limit --max-per-ip 2 --workers 1
{ sleep 6; } | "$P" connect "127.0.0.1:$port" --ca ca.pem --datapath "$DP" > /dev/null 2>&1 &
h1=$!
{ sleep 6; } | "$P" connect "127.0.0.1:$port" --ca ca.pem --datapath "$DP" > /dev/null 2>&1 &
h2=$!
sleep 2
printf "GET /hello.txt HTTP/1.1\r\n$H\r\n" | timeout 30 "$P" connect "127.0.0.1:$port" \
	--ca ca.pem --datapath "$DP" > limit.resp 2> limit.cerr
rc=$?
[ $rc -ne 0 ] && grep -q "over --max-per-ip 2" limit.err
check "--max-per-ip 2: the third connection is closed (exit $rc)" $? limit.err limit.cerr
kill "$h1" "$h2" 2>/dev/null
kill "$spid"
wait_pid "$spid"
check "serve exits 0 on SIGTERM" $? limit.err
port=$main_port spid=$main_spid

# ------------------------------------------ a client that stops reading
# One worker; a client asks for 32 MiB and stops reading at once (its
# output goes into a FIFO nobody reads); another client is answered
# meanwhile.  On the userspace datapath the response is written on the
# non-blocking socket (pl_conn_write says EAGAIN, pl_conn_flush sends the
# rest): a blocking write held the worker for --idle-timeout.
start_serve stall --workers 1 --idle-timeout 60
rm -f stall.fifo
mkfifo stall.fifo
exec 7<>stall.fifo
{ printf "GET /huge.bin HTTP/1.1\r\n$H\r\n"; sleep 60; } |
	"$P" connect "127.0.0.1:$port" --ca ca.pem --datapath "$DP" \
		> stall.fifo 2> stall.cerr &
stall=$!
sleep 2
timeout 10 "$P" get "plasmatic://127.0.0.1:$port/hello.txt" --ca ca.pem \
	--datapath "$DP" -o stall-hello.out 2> stall-get.err
[ $? -eq 0 ] && cmp -s stall-hello.out root/hello.txt && kill -0 "$stall"
check "a client that stops reading does not hold the worker" $? stall-get.err stall.err
kill "$stall" 2>/dev/null
exec 7>&-
rm -f stall.fifo
kill "$spid"
wait_pid "$spid"
check "serve exits 0 on SIGTERM (stalled reader)" $? stall.err
port=$main_port spid=$main_spid

# -------------------------------------------------- SIGTERM, in flight
# A reader that stalls (less than --idle-timeout): the 32 MiB response is
# under way when the server is told to stop; it completes, no new
# connection is served, the server exits 0.
get /huge.bin 2> huge.err | { sleep 1.5; cat > huge.out; } &
gpid=$!
sleep 0.5
kill -TERM "$spid"
sleep 0.5
"$P" get "plasmatic://127.0.0.1:$port/hello.txt" --ca ca.pem > after.out 2> after.err
rc=$?
[ $rc -ne 0 ] && [ ! -s after.out ]
check "after SIGTERM: no new connection served (exit $rc)" $? after.err
wait "$gpid"
cmp -s huge.out root/huge.bin; check "SIGTERM: the transfer under way completes" $? huge.err
wait_pid "$spid"
check "serve exits 0 after finishing" $? main.err
grep -q '"GET /huge.bin HTTP/1.1" 200 33554432' main.err
check "the in-flight transfer is logged whole" $? main.err

echo "1..$n"
[ "$failed" -eq 0 ]
