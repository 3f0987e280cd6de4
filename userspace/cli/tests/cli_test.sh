#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Tests of the plasmatic command, TAP output.
#
#   cli_test.sh [PLASMATIC_BINARY]
#
# Environment: PL_CLI_BYTES bytes each way per transfer (default 1M; K, M),
# PL_CLI_DIR scratch directory (default build/userspace/cli-tests),
# PL_CLI_DATAPATH datapath for both ends (default auto), PL_CLI_RUN_TEST
# run_test built with the binary (default build/userspace/cli/run_test),
# PL_CLI_NOROOT=0 leaves out the run as user nobody (it needs util-linux's
# setpriv; the VM's non-root run is pace_test's cli_auto_shape).
# Only loopback addresses are used.
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
P=${1:-$top/build/userspace/plasmatic}
case $P in /*) ;; *) P=$PWD/$P ;; esac
D=${PL_CLI_DIR:-$top/build/userspace/cli-tests}
DP=${PL_CLI_DATAPATH:-auto}
bytes=${PL_CLI_BYTES:-1M}
n=0 failed=0
pids=()

rm -rf "$D"
mkdir -p "$D"
cd "$D" || exit 1

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
}
trap cleanup EXIT

. "$top/userspace/cli/tests/common.sh"

to_bytes() {
	case "$1" in
	*[kK]) echo $(( ${1%?} * 1024 )) ;;
	*[mM]) echo $(( ${1%?} * 1024 * 1024 )) ;;
	*) echo "$1" ;;
	esac
}
nbytes=$(to_bytes "$bytes")

# ---------------------------------------------------------------- PKI
pki_ca cli-test-CA && pki_other &&
	pki_cert server localhost DNS:localhost,IP:127.0.0.1
if [ $? -ne 0 ] || [ ! -x "$P" ]; then
	echo "1..1"
	echo "not ok 1 setup: PKI with openssl, or $P missing"
	exit 1
fi
head -c "$nbytes" /dev/urandom > up.bin
head -c "$((nbytes - 333))" /dev/urandom > down.bin

# [LISTEN_IN=FILE] start_server NAME ARGS...: start `plasmatic listen ARGS`
# (its -v says the port) reading FILE (default /dev/null), set $port, $spid.
start_server() {
	local name=$1
	shift
	# Its stdin: $LISTEN_IN (a redirection of the call would not reach
	# an asynchronous command, whose stdin is /dev/null).
	"$P" listen "$@" < "${LISTEN_IN:-/dev/null}" \
		> "$name.srv.out" 2> "$name.srv.err" &
	spid=$!
	pids+=("$spid")
	wait_listening "$name.srv.err" 100
}

# [LISTEN_IN=FILE] start_listen NAME ARGS...: start_server on 127.0.0.1 with
# the test certificate, the datapath and -v.
start_listen() {
	local name=$1
	shift
	start_server "$name" 127.0.0.1:0 --cert server.pem --key server.key \
		--datapath "$DP" -v "$@"
}

# wait_server: the server's exit status; killed (124) if it outlives 20 s.
wait_server() { wait_pid "$spid" 20; }

# expect_rc NAME WANT CMD...: run CMD (stdin /dev/null), check its status.
expect_rc() {
	local name=$1 want=$2 rc
	shift 2
	"$@" < /dev/null > "$D/last.out" 2> "$D/last.err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$name (exit $rc)"; else
		notok "$name (exit $rc, want $want)" "$D/last.err"; fi
}

# ------------------------------------------------------------ help, usage
echo "TAP version 13"
expect_rc "--help" 0 "$P" --help
grep -q "exit codes" last.out; check "--help lists the exit codes" $?
for c in keygen connect listen; do
	expect_rc "$c --help" 0 "$P" "$c" --help
	grep -q "usage: plasmatic $c" last.out; check "$c --help text" $?
done
expect_rc "no command" 2 "$P"
expect_rc "unknown command" 2 "$P" frobnicate
grep -q "unknown command 'frobnicate'" last.err; check "unknown command message" $? last.err
expect_rc "connect without address" 2 "$P" connect
expect_rc "connect bad address" 2 "$P" connect localhost
expect_rc "connect bad port" 2 "$P" connect localhost:70000
expect_rc "connect bad framing" 2 "$P" connect localhost:1 --framing sideways
grep -q "detached or covered" last.err; check "bad framing message" $? last.err
expect_rc "connect bad eem-len" 2 "$P" connect localhost:1 --eem-len 300
expect_rc "connect bad cipher" 2 "$P" connect localhost:1 --cipher rc4
grep -q "unknown cipher suite 'rc4'" last.err; check "bad cipher message" $? last.err
expect_rc "connect bad datapath" 2 "$P" connect localhost:1 --datapath gpu
expect_rc "connect unknown option" 2 "$P" connect localhost:1 --frobnicate
expect_rc "connect option of listen" 2 "$P" connect localhost:1 --cert x
expect_rc "connect missing option argument" 2 "$P" connect localhost:1 --ca
expect_rc "connect two addresses" 2 "$P" connect localhost:1 localhost:2
for opt in --tpl-mode --peer-mode; do
	for v in 9 -1 five 3x ""; do
		expect_rc "connect $opt '$v'" 2 "$P" connect localhost:1 "$opt" "$v"
		grep -q "bad $opt '$v': a traffic pattern mode from 0 to 8" last.err
		check "$opt '$v' message" $? last.err
	done
	expect_rc "listen $opt 42" 2 "$P" listen 0 --cert server.pem --key server.key "$opt" 42
done
expect_rc "connect --tpl-lock takes no value" 2 "$P" connect localhost:1 --tpl-lock=1
expect_rc "connect --no-shape takes no value" 2 "$P" connect localhost:1 --no-shape=yes
grep -q "option '--no-shape' takes no value" last.err; check "--no-shape=yes message" $? last.err
"$P" connect --help | grep -q -- "--no-shape" && "$P" listen --help | grep -q -- "--no-shape"
check "--no-shape in connect's and listen's usage text" $?
# One option many times in one word (the parser notes each option given
# once: with the ASan build, an overflow before it did).
expect_rc "connect -vvvv...: one option 40 times" 2 "$P" connect \
	-vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv localhost:1 --framing x
grep -q "bad --framing 'x'" last.err; check "-vvvv...: then the bad value's message" $? last.err
"$P" connect --help | grep -q -- "--tpl-mode N" && "$P" listen --help | grep -q -- "--peer-mode N"
check "--tpl-mode, --tpl-lock and --peer-mode in the usage text" $?
expect_rc "listen without cert" 2 "$P" listen 0
expect_rc "listen bad address" 2 "$P" listen 127.0.0.1:x --cert server.pem --key server.key
expect_rc "listen --once without --exec" 2 "$P" listen 0 --once --cert server.pem --key server.key
expect_rc "listen missing cert file" 3 "$P" listen 127.0.0.1:0 --cert nonexistent.pem --key server.key
grep -q "cannot load certificate nonexistent.pem" last.err; check "missing cert message" $? last.err
expect_rc "listen key not matching cert" 3 "$P" listen 127.0.0.1:0 --cert server.pem --key other.key
expect_rc "connect missing CA file" 3 "$P" connect 127.0.0.1:1 --ca nonexistent.pem
expect_rc "connect refused" 4 "$P" connect 127.0.0.1:1 --ca ca.pem

# --------------------------------------------------------------- keygen
expect_rc "keygen -o" 0 "$P" keygen -o k1
[ "$(stat -c %a k1)" = 600 ] && grep -qE '^plasmatic-psk-v1 [0-9a-f]{64}$' k1
check "keygen file is 0600 with one key line" $? k1
expect_rc "keygen refuses to overwrite" 3 "$P" keygen -o k1
grep -q "refusing to overwrite" last.err; check "overwrite message" $? last.err
expect_rc "keygen to stdout" 0 "$P" keygen
grep -qE '^plasmatic-psk-v1 [0-9a-f]{64}$' last.out; check "keygen stdout format" $? last.out
expect_rc "keygen extra argument" 2 "$P" keygen foo
expect_rc "keygen into missing dir" 3 "$P" keygen -o nodir/k
"$P" keygen -o k2 && cp k1 kshared && chmod 644 kshared
expect_rc "PSK file readable by others refused" 3 "$P" connect 127.0.0.1:1 --ca ca.pem --psk kshared
grep -q "accessible by group or others.*chmod 600" last.err; check "PSK permission message" $? last.err
chmod 640 kshared
expect_rc "PSK file readable by group refused" 3 "$P" listen 127.0.0.1:0 --cert server.pem --key server.key --psk kshared
printf 'plasmatic-psk-v1 1234\n' > kbad; chmod 600 kbad
expect_rc "malformed PSK file" 3 "$P" connect 127.0.0.1:1 --ca ca.pem --psk kbad
grep -q "malformed" last.err; check "malformed PSK message" $? last.err

# ------------------------------------------------------------ transfers
# Both ways at once: the server sends down.bin, the client up.bin.
for cipher in aes128 aes256 chacha20; do
	for framing in covered detached; do
		t="$cipher-$framing"
		if ! LISTEN_IN=down.bin start_listen "$t" --framing "$framing" --psk k1; then
			notok "$t: server start" "$t.srv.err"
			continue
		fi
		"$P" connect "127.0.0.1:$port" --sni localhost --ca ca.pem --cipher "$cipher" \
			--framing "$framing" --psk k1 --datapath "$DP" -v \
			< up.bin > "$t.cli.out" 2> "$t.cli.err"
		crc=$?
		wait_server; src=$?
		[ $crc -eq 0 ] && [ $src -eq 0 ] && cmp -s up.bin "$t.srv.out" &&
			cmp -s down.bin "$t.cli.out"
		st=$?	# before the command substitution below sets $?
		check "transfer $t, $nbytes bytes both ways (sha256 $(sha256sum < up.bin | cut -c1-12)..)" $st \
			"$t.cli.err" "$t.srv.err"
		grep -q "path=[a-z]* suite=TLS_[A-Z0-9_]* framing=$framing eem_len=80 psk=yes" "$t.cli.err" &&
			grep -q "framing=$framing eem_len=80" "$t.srv.err"
		st=$?
		check "$t: -v prints path, suite, framing, EEM length (client $(sed -n 's/.*path=\([a-z]*\).*/\1/p' "$t.cli.err"), server $(sed -n 's/.*path=\([a-z]*\).*/\1/p' "$t.srv.err"))" $st "$t.cli.err"
		case $cipher in
		aes128) s=TLS_AES_128_GCM_SHA256 ;;
		aes256) s=TLS_AES_256_GCM_SHA384 ;;
		chacha20) s=TLS_CHACHA20_POLY1305_SHA256 ;;
		esac
		grep -q "suite=$s" "$t.cli.err" && grep -q "suite=$s" "$t.srv.err"
		check "$t: suite $s on both ends" $? "$t.cli.err"
	done
done

# Traffic shaping: the client asks the server for mode 5 (its Seed Update
# rides in the opening record), locked; the server shapes in it from its
# first record and says so; the client itself sends in mode 2.  The client
# runs --no-shape: in the VM (root, plasmatic.ko) it would put the pacer on
# lo, which would then time the server's mode-5 records too (about 3500
# records 10..20 ms apart for 1 MiB: a minute), and stay there for the
# rest of the run; this test is about sizes and modes, pace_test about
# timing.
if LISTEN_IN=down.bin start_listen tpl --psk k1; then
	"$P" connect "127.0.0.1:$port" --sni localhost --ca ca.pem --psk k1 --datapath "$DP" \
		--peer-mode 5 --tpl-lock --tpl-mode 2 --no-shape -v < up.bin > tpl.cli.out 2> tpl.cli.err
	crc=$?
	wait_server; src=$?
	[ $crc -eq 0 ] && [ $src -eq 0 ] && cmp -s up.bin tpl.srv.out && cmp -s down.bin tpl.cli.out
	check "connect --peer-mode 5 --tpl-lock --tpl-mode 2: $nbytes bytes both ways (client $crc, server $src)" $? \
		tpl.cli.err tpl.srv.err
	grep -q "tpl_mode=5 (locked)" tpl.srv.err && grep -q "tpl_mode=2 (locked)" tpl.cli.err
	check "--peer-mode 5: the server sends in mode 5, locked; the client in mode 2" $? tpl.srv.err tpl.cli.err
else
	notok "tpl: server start" tpl.srv.err
fi

# The pacer with --tpl-mode 1..8: put on the connection's device when
# missing (pace_test's cli_auto_shape checks that in the VM); where it
# cannot be, one warning line says what degrades and the connection goes
# on.  Small transfers: shaped records of tens of bytes.
head -c 20000 up.bin > up20k.bin
head -c 15000 down.bin > down15k.bin
# shape_run NAME CLIENT-PREFIX... -- CLIENT-ARGS...: down15k.bin from a
# `listen --tpl-mode 3 --no-shape` server, up20k.bin from the client
# (CLIENT-PREFIX "$P" connect ... CLIENT-ARGS); 0 if both ends got it all.
shape_run() {
	local name=$1 pre=() crc src
	shift
	while [ "$1" != -- ]; do pre+=("$1"); shift; done
	shift
	LISTEN_IN=down15k.bin start_listen "$name" --tpl-mode 3 --tpl-lock --no-shape || return 1
	"${pre[@]}" "$P" connect "127.0.0.1:$port" --sni localhost --ca ca.pem -v "$@" \
		< up20k.bin > "$name.cli.out" 2> "$name.cli.err"
	crc=$?
	wait_server; src=$?
	[ $crc -eq 0 ] && [ $src -eq 0 ] && cmp -s up20k.bin "$name.srv.out" &&
		cmp -s down15k.bin "$name.cli.out"
}
degraded="record sizes are still shaped, their timing is not (see plasmatic shape --help)"
shape_run shape_user -- --datapath userspace --tpl-mode 2
check "connect --datapath userspace --tpl-mode 2: the transfer completes" $? \
	shape_user.cli.err shape_user.srv.err
[ "$(grep -c "warning" shape_user.cli.err)" = 1 ] &&
	grep -qF "warning: no pacer: the userspace datapath cannot be paced; $degraded" shape_user.cli.err &&
	grep -q "tpl_mode=2$" shape_user.cli.err
check "--datapath userspace --tpl-mode 2: one warning line, sizes shaped, timing not" $? shape_user.cli.err
! grep -q "pacer" shape_user.srv.err
check "listen --tpl-mode 3 --no-shape: no pacer tried, no warning" $? shape_user.srv.err
printf '[connect]\nno-shape = yes\n' > shape.conf
shape_run shape_conf -- --datapath userspace --tpl-mode 2 --config shape.conf
check "connect --config (no-shape = yes): the transfer completes" $? shape_conf.cli.err
! grep -q "pacer" shape_conf.cli.err
check "no-shape = yes in the configuration file: no pacer tried, no warning" $? shape_conf.cli.err
if [ "${PL_CLI_NOROOT:-1}" = 1 ]; then
	# As nobody: the device (lo) is found, the pacer cannot go on it.
	shape_run shape_nobody setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		--datapath "$DP" --tpl-mode 1
	check "connect --tpl-mode 1 as nobody: the transfer completes" $? \
		shape_nobody.cli.err shape_nobody.srv.err
	[ "$(grep -c "warning" shape_nobody.cli.err)" = 1 ] &&
		grep -qF "warning: no pacer on lo: the pacer needs root (CAP_BPF and CAP_NET_ADMIN); $degraded" \
			shape_nobody.cli.err
	check "connect --tpl-mode 1 as nobody: one warning line naming lo, root, what degrades" $? \
		shape_nobody.cli.err
fi

# --exec: the server pipes the tunnel through a command.
if start_listen exec --exec "sha256sum" --once; then
	"$P" connect "127.0.0.1:$port" --sni localhost --ca ca.pem --datapath "$DP" < up.bin > exec.cli.out 2> exec.cli.err
	crc=$?
	wait_server; src=$?
	[ $crc -eq 0 ] && [ $src -eq 0 ] && [ "$(cat exec.cli.out)" = "$(sha256sum < up.bin)" ]
	check "listen --exec sha256sum" $? exec.cli.err exec.srv.err
else
	notok "listen --exec: server start" exec.srv.err
fi

# ------------------------------------------------------------- failures
# A client with the wrong PSK: the server takes it for a plain TLS client
# (SPEC 2.3), serves it as a web server would and goes on listening; the
# client fails at its first read.  No data either way.
if start_listen wrongpsk --psk k2; then
	echo hello | "$P" connect "127.0.0.1:$port" --sni localhost --ca ca.pem --psk k1 --datapath "$DP" \
		> wrongpsk.cli.out 2> wrongpsk.cli.err
	crc=$?
	[ $crc -eq 6 ] && grep -q "PSK or the connection parameters" wrongpsk.cli.err
	check "wrong PSK: the client exits 6 and says why (exit $crc)" $? wrongpsk.cli.err
	sleep 0.5
	kill -0 "$spid" 2>/dev/null && grep -q "not Plasmatic" wrongpsk.srv.err
	check "wrong PSK: the server served it as a plain TLS client and still listens" $? wrongpsk.srv.err
	[ ! -s wrongpsk.srv.out ] && [ ! -s wrongpsk.cli.out ]
	check "wrong PSK: no data delivered" $? wrongpsk.srv.out
	"$P" connect "127.0.0.1:$port" --sni localhost --ca ca.pem --psk k2 --datapath "$DP" \
		< up.bin > wrongpsk2.cli.out 2> wrongpsk2.cli.err
	crc=$?
	wait_server; src=$?
	[ $crc -eq 0 ] && [ $src -eq 0 ] && cmp -s wrongpsk.srv.out up.bin
	check "wrong PSK: the next client with the right PSK is served (client $crc, server $src)" $? wrongpsk2.cli.err wrongpsk.srv.err
else
	notok "wrong PSK: server start" wrongpsk.srv.err
fi

if start_listen untrusted; then
	"$P" connect "127.0.0.1:$port" --sni localhost --ca other-ca.pem < /dev/null > /dev/null 2> untrusted.cli.err
	crc=$?
	wait_server; src=$?
	[ $crc -eq 5 ] && grep -q "certificate verification failed" untrusted.cli.err
	check "untrusted CA: exit 5 with reason (client $crc, server $src)" $? untrusted.cli.err untrusted.srv.err
else
	notok "untrusted CA: server start" untrusted.srv.err
fi

if start_listen hostname; then
	"$P" connect "127.0.0.1:$port" --ca ca.pem --sni wrong.example < /dev/null > /dev/null 2> hostname.cli.err
	crc=$?
	wait_server
	[ $crc -eq 5 ] && grep -q "does not match the host name" hostname.cli.err
	check "wrong host name: exit 5 with reason" $? hostname.cli.err
else
	notok "wrong host name: server start" hostname.srv.err
fi

# A plain TLS client (openssl s_client, no PSK) against a server whose
# application writes first: it must get no byte of that data (SPEC 2.3);
# it gets the built-in web page, no alert, and the command never runs.
printf 'SECRET-%s\n' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" > secret.txt
if start_listen sclient --psk k1 --exec "touch sclient.ran; cat $D/secret.txt; cat >/dev/null"; then
	{ printf 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'; sleep 2; } |
		timeout 20 openssl s_client -connect "127.0.0.1:$port" -CAfile ca.pem \
		-servername localhost -ign_eof -msg > sclient.out 2> sclient.err
	crc=$?
	grep -q "Verification: OK" sclient.out && grep -q "TLSv1.3" sclient.out
	check "openssl s_client completes TLS 1.3 with a Plasmatic server" $? sclient.out sclient.err
	! grep -q "SECRET-" sclient.out && [ ! -e sclient.ran ]
	check "s_client without the PSK gets no byte of a server that writes first" $? sclient.out
	grep -q "^HTTP/1.1 200 OK" sclient.out && grep -q "^Server: nginx" sclient.out &&
		! grep -qi "alert\|bad record mac" sclient.err sclient.out
	check "s_client gets the built-in web page, no alert (exit $crc)" $? sclient.out sclient.err
	grep -c "^<<< TLS 1.3, Handshake .*NewSessionTicket" sclient.out | grep -qx 2
	check "s_client gets two NewSessionTickets, as from OpenSSL's server" $? sclient.out
	kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
else
	notok "s_client: server start" sclient.srv.err
fi

# readme_cmds SECTION: the commands of the README's "## SECTION": its
# indented lines, continuations joined, trailing comments dropped, those
# that start with build/ or echo.
readme_cmds() {
	sed -n "/^## $1/,/^## /p" "$top/README.md" | sed -n 's/^    //p' |
		sed -e ':a' -e '/\\$/N; s/\\\n *//; ta' -e 's/  *#.*//' | grep -E '^(build/|echo )'
}

# The README's "Trying it" commands, exactly as written (port 4433), in a
# scratch tree with build/demo/ and build/userspace/plasmatic: 20 clients
# one after the other, then 8 at once, each checked end to end.
readme_test() {
	local r="$D/readme" cmds listen connect keygen i ok_seq=0 ok_con=0
	rm -rf "$r"; mkdir -p "$r/build/demo" "$r/build/userspace"
	ln -s "$P" "$r/build/userspace/plasmatic"
	cp ca.pem "$r/build/demo/ca.pem"
	openssl req -new -key server.key -subj /CN=demo.plasmatic.test -out "$r/demo.csr" 2>/dev/null &&
	printf 'subjectAltName=DNS:demo.plasmatic.test\n' > "$r/ext.cnf" &&
	openssl x509 -req -in "$r/demo.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile "$r/ext.cnf" -out "$r/build/demo/server.pem" 2>/dev/null &&
	cp server.key "$r/build/demo/server.key" || { notok "README: demo PKI"; return; }
	cmds=$(readme_cmds "Trying it")
	keygen=$(grep ' keygen ' <<< "$cmds")
	listen=$(grep ' listen ' <<< "$cmds")
	connect=$(grep ' connect ' <<< "$cmds")
	[ -n "$keygen" ] && [ -n "$listen" ] && [ -n "$connect" ]
	check "README: keygen, listen and connect commands found" $? || return
	(cd "$r" && eval "$keygen") > "$r/keygen.out" 2>&1
	check "README: $keygen" $? "$r/keygen.out"
	(cd "$r" && eval "exec $listen") > "$r/listen.out" 2> "$r/listen.err" &
	spid=$!; pids+=("$spid")
	for _ in $(seq 100); do grep -q "listening on" "$r/listen.err" 2>/dev/null && break; sleep 0.05; done
	for i in $(seq 20); do
		out=$(cd "$r" && eval "$connect" 2> "$r/seq.err")
		[ "$out" = HELLO ] && ok_seq=$((ok_seq + 1))
	done
	[ $ok_seq -eq 20 ]
	check "README: 20 sequential clients of the command as written get HELLO ($ok_seq)" $? "$r/seq.err" "$r/listen.err"
	for i in $(seq 8); do
		(cd "$r" && eval "${connect/echo hello/echo hello-$i}") > "$r/con$i.out" 2> "$r/con$i.err" &
	done
	wait_pids=$(jobs -p | grep -vx "$spid")
	for p in $wait_pids; do wait "$p"; done
	for i in $(seq 8); do
		[ "$(cat "$r/con$i.out")" = "HELLO-$i" ] && ok_con=$((ok_con + 1))
	done
	[ $ok_con -eq 8 ]
	check "README: 8 concurrent clients each get their own answer ($ok_con)" $? "$r/con1.err" "$r/listen.err"
	kill -0 "$spid" 2>/dev/null && ! grep -qi "reset\|segfault\|signal" "$r/listen.err"
	check "README: the server is still up, no child died" $? "$r/listen.err"
	kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
}
readme_test

# The README's "Serving files" commands as written, but for the directory
# (/srv/files there, a scratch one here), in readme_test's tree (its
# demo PKI and PSK): serve on 0.0.0.0:4433, get a file whole, then the
# rest of a partial copy with -C; SIGTERM ends serve with status 0.
readme_serve_test() {
	local r="$D/readme" cmds serve get st
	[ -f "$r/build/demo/psk" ] || { notok "README serve: no demo tree (readme_test)"; return; }
	cmds=$(readme_cmds "Serving files")
	serve=$(grep ' serve ' <<< "$cmds")
	get=$(grep ' get ' <<< "$cmds")
	[ -n "$serve" ] && [ -n "$get" ] && [[ $serve == *" /srv/files "* ]]
	check "README serve: serve and get commands found" $? || return
	mkdir -p "$r/files"
	head -c 3000000 /dev/urandom > "$r/files/big.iso"
	(cd "$r" && eval "exec ${serve/ \/srv\/files / $r/files }") > "$r/serve.out" 2> "$r/serve.err" &
	spid=$!; pids+=("$spid")
	for _ in $(seq 200); do grep -q "listening on" "$r/serve.err" 2>/dev/null && break; sleep 0.05; done
	rm -f "$r/big.iso"
	(cd "$r" && eval "$get") > "$r/get.out" 2> "$r/get.err" && cmp -s "$r/big.iso" "$r/files/big.iso"
	check "README serve: $get" $? "$r/get.err" "$r/serve.err"
	head -c 1000000 "$r/files/big.iso" > "$r/big.iso"
	(cd "$r" && eval "$get -C") > "$r/get.out" 2> "$r/get.err" && cmp -s "$r/big.iso" "$r/files/big.iso"
	check "README serve: the same with -C completes a partial big.iso (1000000 of 3000000 bytes)" $? \
		"$r/get.err" "$r/serve.err"
	grep -q '"GET /big.iso HTTP/1.1" 206 ' "$r/serve.err"
	check "README serve: the server's access log shows the 206 of the resumed get" $? "$r/serve.err"
	kill -TERM "$spid" 2>/dev/null
	wait_pid "$spid" 20; st=$?
	[ "$st" -eq 0 ]
	check "README serve: SIGTERM ends serve with status 0 ($st)" $? "$r/serve.err"
	rm -f "$r/files/big.iso" "$r/big.iso"
}
readme_serve_test

# plasmatic_run(): the parser's seam, several command lines in a process
rt=${PL_CLI_RUN_TEST:-$top/build/userspace/cli/run_test}
if [ -x "$rt" ]; then
	"$rt" "$D" > run_test.out 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "plasmatic_run: ${line#ok [0-9]* }" ;;
		"not ok "*) notok "plasmatic_run: ${line#not ok [0-9]* }" run_test.out ;;
		esac
	done < run_test.out
	[ $rc -eq 0 ] || notok "plasmatic_run: run_test exited $rc" run_test.out
else
	notok "plasmatic_run: $rt missing (make -C userspace/cli)"
fi

# the relay's address policy (netpolicy.c), a unit test built beside run_test
npt=$(dirname "$rt")/netpolicy_test
if [ -x "$npt" ]; then
	"$npt" > netpolicy_test.out 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "netpolicy: ${line#ok [0-9]* }" ;;
		"not ok "*) notok "netpolicy: ${line#not ok [0-9]* }" netpolicy_test.out ;;
		esac
	done < netpolicy_test.out
	[ $rc -eq 0 ] || notok "netpolicy: netpolicy_test exited $rc" netpolicy_test.out
else
	notok "netpolicy: $npt missing (make -C userspace/cli)"
fi

# proxy and relay: their command lines (end to end: tests/proxy_test.sh, VM)
for c in proxy relay; do
	expect_rc "$c --help" 0 "$P" "$c" --help
	grep -q "usage: plasmatic $c" last.out; check "$c --help text" $?
done
expect_rc "proxy without --relay" 2 "$P" proxy --listen 127.0.0.1:1080
grep -q "relay HOST:PORT is required" last.err; check "proxy without --relay: message" $? last.err
expect_rc "proxy bad --relay" 2 "$P" proxy --relay localhost
expect_rc "proxy bad --listen" 2 "$P" proxy --relay localhost:1 --listen x:y
expect_rc "proxy takes no argument" 2 "$P" proxy --relay localhost:1 extra
expect_rc "proxy: --cert is relay's" 2 "$P" proxy --relay localhost:1 --cert x
grep -q "option '--cert' is not for 'proxy'" last.err; check "proxy: --cert is not its option: message" $? last.err
expect_rc "proxy --preconnect 65" 2 "$P" proxy --relay localhost:1 --preconnect 65
grep -q "preconnect" last.err; check "proxy --preconnect 65: message names it" $? last.err
expect_rc "proxy --preconnect-idle 26 (the relay waits 30 s)" 2 "$P" proxy --relay localhost:1 --preconnect-idle 26
expect_rc "relay: --preconnect is proxy's" 2 "$P" relay 0 --cert x --key x --preconnect 2
expect_rc "relay without --cert" 2 "$P" relay 0 --key x
expect_rc "relay bad --allow prefix" 2 "$P" relay 0 --cert x --key x --allow 10.0.0.0/33
grep -q "bad --allow '10.0.0.0/33': bad prefix length" last.err; check "relay bad --allow: message" $? last.err
expect_rc "relay --allow with host bits" 2 "$P" relay 0 --cert x --key x --allow 10.0.0.1/8
grep -q "host bits set" last.err; check "relay --allow host bits: message" $? last.err
expect_rc "relay --allow not an address" 2 "$P" relay 0 --cert x --key x --allow nowhere
expect_rc "relay bad --max-streams-per-client" 2 "$P" relay 0 --cert x --key x --max-streams-per-client 0
printf '[proxy]\nrelay = relay.example:443\nlisten = 127.0.0.1:1080\nmax-streams = 9\ntpl-mode = 1\npreconnect = 4\npreconnect-idle = 10\n[relay]\naddress = 443\nallow = 10.1.0.0/16, fd00::/8\nmax-streams-per-client = 4\n' > px.conf
expect_rc "check-config: [proxy] and [relay]" 0 "$P" check-config px.conf
printf '[relay]\nallow = 10.1.0.0/16, 10.2.0.1/16\n' > pxbad.conf
expect_rc "check-config: a bad allow in [relay]" 2 "$P" check-config pxbad.conf
grep -qF "pxbad.conf:2: bad allow '10.2.0.1/16': host bits set" last.err; check "check-config: bad allow: FILE:LINE and reason" $? last.err

# configuration files, check-config
. "$top/userspace/cli/tests/config_test.sh"

# dist/: the systemd unit and the sample configuration
. "$top/userspace/cli/tests/dist_test.sh"

# plasmatic inspect
. "$top/userspace/cli/tests/inspect_test.sh"

echo "1..$n"
echo "# $((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]
