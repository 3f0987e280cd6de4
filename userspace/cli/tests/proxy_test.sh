#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# plasmatic proxy and plasmatic relay end to end, TAP output.  Root, in
# the VM (run_vm.sh; it needs network namespaces and writes /etc/hosts):
#
#   client ns pxc: curl, socks_client, plasmatic proxy on 10.99.1.1:1080
#        | veth 10.99.1.0/24
#   relay ns pxr:  plasmatic relay on 10.99.1.2:4433, a "secret" httpd
#        |         on its loopback (SSRF bait)
#        | veth 10.99.2.0/24, 10.99.3.0/24, fd00:99:2::/64
#   dest ns pxd:   busybox httpd on :8080 (IPv4 and IPv6), nc -e sha256sum
#                  on :9000
#
# The client ns has no route to the destination: every byte goes through
# the tunnel.  The relay allows 10.99.2.0/24 and fd00:99:2::/64 only.
#
#   proxy_test.sh [PLASMATIC] [SOCKS_CLIENT]
# PL_PROXY_DATAPATH: the datapath of both ends (default auto).
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
P=${1:-$top/build/userspace/plasmatic}
SC=${2:-$top/build/userspace/cli/socks_client}
case $P in /*) ;; *) P=$PWD/$P ;; esac
case $SC in /*) ;; *) SC=$PWD/$SC ;; esac
DP=${PL_PROXY_DATAPATH:-auto}
D=/tmp/proxy-test
n=0 failed=0
pids=()

. "$top/userspace/cli/tests/common.sh"

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for ns in pxc pxr pxd; do ip netns del "$ns" 2>/dev/null; done
}
trap cleanup EXIT

C() { ip netns exec pxc "$@"; }
R() { ip netns exec pxr "$@"; }
X() { ip netns exec pxd "$@"; }

echo "TAP version 13"
rm -rf "$D"
mkdir -p "$D/www" "$D/secret"
cd "$D" || exit 1

# ------------------------------------------------------------ setup
setup() {
	ip netns add pxc && ip netns add pxr && ip netns add pxd &&
	ip link add c0 netns pxc type veth peer name r0 netns pxr &&
	ip link add r1 netns pxr type veth peer name d0 netns pxd &&
	C ip link set lo up && R ip link set lo up && X ip link set lo up &&
	C ip addr add 10.99.1.1/24 dev c0 && C ip link set c0 up &&
	R ip addr add 10.99.1.2/24 dev r0 && R ip link set r0 up &&
	R ip addr add 10.99.2.1/24 dev r1 && R ip addr add 10.99.3.1/24 dev r1 &&
	R ip -6 addr add fd00:99:2::1/64 dev r1 nodad && R ip link set r1 up &&
	X ip addr add 10.99.2.2/24 dev d0 && X ip addr add 10.99.3.2/24 dev d0 &&
	X ip -6 addr add fd00:99:2::2/64 dev d0 nodad && X ip link set d0 up || return 1
	# Names the relay resolves (the guest's /etc is its own).
	[ -f /etc/nsswitch.conf ] || echo 'hosts: files' > /etc/nsswitch.conf
	# Every address of a name that has several lines (mixed.test).
	echo 'multi on' >> /etc/host.conf
	cat >> /etc/hosts <<-EOF
	10.99.2.2 dest.test
	fd00:99:2::2 dest6.test
	127.0.0.1 inside.test
	127.0.0.1 mixed.test
	10.99.2.2 mixed.test
	EOF
	pki_ca proxy-test-CA && pki_cert relay relay.test DNS:relay.test &&
	"$P" keygen -o psk 2>/dev/null || return 1
	head -c 1048576 /dev/urandom > www/big.bin
	head -c 262144 /dev/urandom > www/small.bin
	echo "secret of the relay's loopback" > secret/big.bin
	big=$(sha256sum < www/big.bin | cut -d' ' -f1)
	small=$(sha256sum < www/small.bin | cut -d' ' -f1)
	X busybox httpd -f -p 8080 -h "$D/www" & pids+=($!)
	X busybox nc -ll -p 9000 -e sha256sum & pids+=($!)
	R busybox httpd -f -p 127.0.0.1:8080 -h "$D/secret" & pids+=($!)
	return 0
}

# wait_log FILE TEXT: until FILE has TEXT (10 s).
wait_log() {
	local i
	for i in $(seq 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# start_relay NAME PORT ARGS...: a relay in pxr on 10.99.1.2:PORT.
start_relay() {
	local name=$1 port=$2
	shift 2
	# Not through R (a function: $! would be its subshell's pid).
	ip netns exec pxr "$P" relay "10.99.1.2:$port" --cert relay.pem \
		--key relay.key --psk psk --datapath "$DP" -v "$@" \
		2> "$name.err" & pids+=($!)
	wait_log "$name.err" "relay listening on"
}

# start_proxy NAME PORT RELAY-PORT ARGS...: a proxy in pxc on 10.99.1.1:PORT.
start_proxy() {
	local name=$1 port=$2 rport=$3
	shift 3
	ip netns exec pxc "$P" proxy --listen "10.99.1.1:$port" \
		--relay "10.99.1.2:$rport" --sni relay.test --ca ca.pem --psk psk \
		--datapath "$DP" -v "$@" 2> "$name.err" & pids+=($!)
	wait_log "$name.err" "proxy listening on"
}

if ! setup; then
	echo "not ok 1 setup: namespaces, veths, PKI, servers"
	echo "1..1"
	exit 1
fi
ok "setup: three namespaces, the destination unreachable from the client's"
C busybox wget -q -T 2 -O /dev/null http://10.99.2.2:8080/small.bin 2>/dev/null
[ $? -ne 0 ]; check "no route from the client's namespace to the destination" $?

start_relay relay 4433 --allow 10.99.2.0/24,fd00:99:2::/64; check "relay starts" $? relay.err
start_proxy proxy 1080 4433; check "proxy starts" $? proxy.err
# For a client that never ends its request (not the 64 streams: under
# TCG a curl may take seconds between connect and request).
start_proxy proxyt 1083 4433 --client-timeout 2; check "proxy with --client-timeout 2 starts" $? proxyt.err

# fetch NAME WANT-SHA CURL-ARGS...: curl through the proxy, checksum.
fetch() {
	local name=$1 want=$2 got rc f=fetch.$((n + 1))
	shift 2
	rm -f "$f.out"
	C curl -sS --max-time 60 "$@" -o "$f.out" 2> "$f.curl"
	rc=$?
	got=$(sha256sum < "$f.out" 2>/dev/null | cut -d' ' -f1)
	rm -f "$f.out"	# the guest's /tmp is its memory
	[ $rc -eq 0 ] && [ "$got" = "$want" ]
	check "$name: 1 MiB, checksum matches (curl exit $rc)" $? "$f.curl" proxy.err relay.err
}

# ----------------------------------------------------- streams that work
fetch "SOCKS5 host name (curl --socks5-hostname)" "$big" \
	--socks5-hostname 10.99.1.1:1080 http://dest.test:8080/big.bin
fetch "SOCKS5 IPv4 (curl --socks5)" "$big" \
	--socks5 10.99.1.1:1080 http://10.99.2.2:8080/big.bin
fetch "SOCKS5 IPv6 (curl --socks5)" "$big" \
	--socks5 10.99.1.1:1080 'http://[fd00:99:2::2]:8080/big.bin'
fetch "SOCKS5 host name with only an IPv6 address" "$big" \
	--socks5-hostname 10.99.1.1:1080 http://dest6.test:8080/big.bin
fetch "HTTP CONNECT (curl -p -x http://)" "$big" \
	-p -x http://10.99.1.1:1080 http://dest.test:8080/big.bin
fetch "HTTP CONNECT to an IPv6 literal" "$big" \
	-p -x http://10.99.1.1:1080 'http://[fd00:99:2::2]:8080/big.bin'
grep -q "dest.test:8080: connected to 10.99.2.2:8080" relay.err
check "the relay resolved the name itself" $? relay.err

# Half-close: the client's end of data reaches the destination (nc runs
# sha256sum, which answers only at its input's end) and the answer comes
# back on the half still open.
C "$SC" 10.99.1.1 1080 dest.test 9000 < www/big.bin > half.out 2> half.err
rc=$?
[ $rc -eq 0 ] && [ "$(cut -d' ' -f1 half.out)" = "$big" ]
check "half-close: shutdown passed on, the answer after it arrives (exit $rc)" $? half.err half.out

# --------------------------------------------------- refused destinations
# expect_socks NAME WANT-REPLY DEST PORT: socks_client's exit 10 + reply.
expect_socks() {
	local name=$1 want=$2 rc
	C "$SC" 10.99.1.1 1080 "$3" "$4" < /dev/null > sc.out 2> sc.err
	rc=$?
	[ $rc -eq $((10 + want)) ]
	check "$name: SOCKS reply $want (exit $rc)" $? sc.err
}
C curl -sS --max-time 30 --socks5 10.99.1.1:1080 http://10.99.3.2:8080/small.bin -o /dev/null 2> refused.curl
rc=$?
[ $rc -eq 97 ] && grep -q "(2)" refused.curl
check "private 10.99.3.2 not in --allow: curl fails with SOCKS reply 2 (exit $rc)" $? refused.curl
grep -q "10.99.3.2:8080 refused: private (RFC 1918)" relay.err
check "the relay says why" $? relay.err
expect_socks "loopback of the relay" 2 127.0.0.1 8080
expect_socks "IPv4-mapped IPv6 loopback" 2 ::ffff:127.0.0.1 8080
expect_socks "a name of loopback only" 2 inside.test 8080
expect_socks "0.0.0.0" 2 0.0.0.0 8080
expect_socks "link-local metadata address" 2 169.254.169.254 80
expect_socks "CGNAT" 2 100.64.0.1 80
expect_socks "unique local outside --allow" 2 fd00:99:3::2 8080
fetch "a name with a loopback and an allowed address: only the allowed one" "$big" \
	--socks5-hostname 10.99.1.1:1080 http://mixed.test:8080/big.bin
grep -q "mixed.test:8080: 127.0.0.1:8080 refused: loopback" relay.err
check "mixed name: its loopback address was refused, not connected to" $? relay.err
C curl -sS --max-time 30 -p -x http://10.99.1.1:1080 http://10.99.3.2:8080/ -o /dev/null 2> refused.http
grep -q "403" refused.http
check "HTTP CONNECT to a refused destination: 403" $? refused.http
expect_socks "nothing listening: connection refused" 5 dest.test 9999
expect_socks "unknown name" 4 nowhere.invalid 80

# ------------------------------------------------ bad clients, bad requests
# [RAWPORT=P] raw NAME BYTES(printf) WANT-REGEX(od -An -tx1 of the
# answer, joined): BYTES to the proxy on port P (default 1080)
raw() {
	local name=$1 bytes=$2 want=$3 got
	got=$(C timeout 10 bash -c "exec 3<>/dev/tcp/10.99.1.1/${RAWPORT:-1080} &&
		printf '$bytes' >&3 && timeout 8 cat <&3" 2>/dev/null | od -An -tx1 | tr -s ' \n' ' ')
	echo "$got" | grep -qE "$want"
	check "$name (got:$got)" $?
}
raw "SOCKS5 BIND: reply 7" '\x05\x01\x00\x05\x02\x00\x01\x0a\x63\x02\x02\x1f\x90' '^ 05 00 05 07 00 01'
raw "SOCKS5 UDP ASSOCIATE: reply 7" '\x05\x01\x00\x05\x03\x00\x01\x0a\x63\x02\x02\x1f\x90' '^ 05 00 05 07 00 01'
raw "SOCKS5 address type 9: reply 8" '\x05\x01\x00\x05\x01\x00\x09\x0a\x63\x02\x02\x1f\x90' '^ 05 00 05 08 00 01'
raw "SOCKS5 without the no-auth method: 0xff" '\x05\x01\x02' '^ 05 ff $'
raw "garbage with a blank line: HTTP 400" 'garbage\r\n\r\n' '^ 48 54 54 50 2f 31 2e 31 20 34 30 30 '
raw "HTTP GET (not CONNECT): 405" 'GET http://dest.test:8080/ HTTP/1.1\r\nHost: dest.test\r\n\r\n' '^ 48 54 54 50 2f 31 2e 31 20 34 30 35 '
RAWPORT=1083 raw "garbage without an end, then silence: 400 after --client-timeout" '\x16\x03\x01\x00\xffrandom' '^ 48 54 54 50 2f 31 2e 31 20 34 30 30 '
raw "CONNECT with a bad port: 400" 'CONNECT dest.test:99999 HTTP/1.1\r\n\r\n' '^ 48 54 54 50 2f 31 2e 31 20 34 30 30 '

# A prober at the relay gets the web page, not a stream.
C curl -sk --max-time 20 https://10.99.1.2:4433/ -o probe.out 2> probe.err
grep -qi "<html" probe.out
check "a prober at the relay gets a web page" $? probe.err

# ---------------------------------------------------- 64 streams at once
for i in $(seq 64); do
	if [ $((i % 2)) -eq 0 ]; then
		C curl -sS --max-time 120 --socks5-hostname 10.99.1.1:1080 \
			http://dest.test:8080/small.bin -o "many.$i" 2> "many.$i.err" &
	else
		C curl -sS --max-time 120 -p -x http://10.99.1.1:1080 \
			http://dest.test:8080/small.bin -o "many.$i" 2> "many.$i.err" &
	fi
done
wait_rc=0
for j in $(jobs -p); do
	case " ${pids[*]} " in *" $j "*) continue ;; esac
	wait "$j" || wait_rc=1
done
good=0 bad=
for i in $(seq 64); do
	if [ "$(sha256sum < "many.$i" 2>/dev/null | cut -d' ' -f1)" = "$small" ]; then
		good=$((good + 1))
	else
		bad="$bad many.$i.err"
	fi
done
[ $good -eq 64 ]
check "64 concurrent streams (SOCKS5 and HTTP CONNECT): $good of 64 checksums match" $? $bad
# Every stream asked of the relay (opened, or answered with a refusal)
# had its own handshake.
hs=$(grep -c "^plasmatic: connected 10.99.1.2:4433" proxy.err)
st=$(grep -c -e ": stream open" -e ": relay: " proxy.err)
[ "$hs" -eq "$st" ] && [ "$hs" -ge 64 ]
check "one handshake per stream ($hs handshakes, $st streams)" $? proxy.err

# ------------------------------------------------- the per-client limit
start_relay relay2 4434 --allow 10.99.2.0/24 --max-streams-per-client 2
start_proxy proxy2 1081 4434
mkfifo hold1 hold2
for h in 1 2; do
	C "$SC" 10.99.1.1 1081 dest.test 9000 hold < "hold$h" > "hold$h.out" 2> "hold$h.err" &
	exec {fd}> "hold$h"
	eval "holdfd$h=$fd"
done
wait_log hold1.out open && wait_log hold2.out open
check "per-client limit 2: two streams open" $? hold1.err hold2.err
C curl -sS --max-time 30 --socks5-hostname 10.99.1.1:1081 http://dest.test:8080/small.bin -o /dev/null 2> limit.curl
rc=$?
[ $rc -ne 0 ] && wait_log relay2.err "max-streams-per-client reached"
check "per-client limit 2: the third stream refused (curl exit $rc)" $? limit.curl relay2.err
# shellcheck disable=SC2154
exec {holdfd1}>&- {holdfd2}>&-
ok=1
for i in $(seq 50); do
	C curl -sS --max-time 30 --socks5-hostname 10.99.1.1:1081 \
		http://dest.test:8080/small.bin -o limit.out 2> limit.curl &&
		[ "$(sha256sum < limit.out | cut -d' ' -f1)" = "$small" ] && { ok=0; break; }
	sleep 0.2
done
check "per-client limit 2: a stream works again once they closed" $ok limit.curl relay2.err

# ------------------------------------------- the other datapath at one end
start_proxy proxy3 1082 4433 --datapath userspace
fetch "userspace proxy to a $DP relay" "$big" \
	--socks5-hostname 10.99.1.1:1082 http://dest.test:8080/big.bin

# ------------------------------------ ready connections (--preconnect)
# proxy4: up to 2 ready connections, kept 25 s; proxy5: 1, kept 1 s.
# handshakes NAME PORT: the proxy's handshakes with the relay on PORT.
handshakes() { grep -c "^plasmatic: connected 10.99.1.2:$2" "$1.err"; }
start_relay relay4 4435 --allow 10.99.2.0/24
relay4=${pids[-1]}
start_proxy proxy4 1084 4435 --preconnect 2 --preconnect-idle 25
sleep 1
[ "$(handshakes proxy4 4435)" -eq 0 ]
check "--preconnect: no connection before the first stream" $? proxy4.err
fetch "--preconnect 2: the first stream" "$big" \
	--socks5-hostname 10.99.1.1:1084 http://dest.test:8080/big.bin
for i in $(seq 100); do [ "$(handshakes proxy4 4435)" -ge 3 ] && break; sleep 0.1; done
[ "$(handshakes proxy4 4435)" -eq 3 ]
rc=$?
check "--preconnect 2: after it, two connections made ready ($(handshakes proxy4 4435) handshakes)" $rc proxy4.err
fetch "--preconnect 2: the second stream" "$big" \
	-p -x http://10.99.1.1:1084 http://dest.test:8080/big.bin
grep -q "dest.test:8080: stream open (on a ready connection)" proxy4.err
check "the second stream took a ready connection" $? proxy4.err
for i in $(seq 100); do [ "$(handshakes proxy4 4435)" -ge 4 ] && break; sleep 0.1; done
[ "$(handshakes proxy4 4435)" -eq 4 ]
rc=$?
check "the one taken was replaced ($(handshakes proxy4 4435) handshakes)" $rc proxy4.err
# The relay restarts: the ready connections are dead.  A stream that
# takes one gets a new connection, not an error.
kill "$relay4" && wait "$relay4" 2>/dev/null
start_relay relay4b 4435 --allow 10.99.2.0/24
check "the relay restarted on the same port" $? relay4b.err
fetch "a ready connection of the old relay: the stream still opens" "$big" \
	--socks5-hostname 10.99.1.1:1084 http://dest.test:8080/big.bin
grep -q "dest.test:8080: relay 10.99.1.2:4435 (a ready connection): " proxy4.err
check "... on a new connection, after the ready one failed" $? proxy4.err

start_proxy proxy5 1085 4435 --preconnect 1 --preconnect-idle 1
fetch "--preconnect 1 --preconnect-idle 1: a stream" "$big" \
	--socks5-hostname 10.99.1.1:1085 http://dest.test:8080/big.bin
wait_log proxy5.err "a ready connection unused for 1 s: closed"
check "a ready connection no stream took is closed after --preconnect-idle" $? proxy5.err
wait_log relay4b.err "closed before a request (an unused ready connection)"
check "the relay saw it end cleanly, before a request" $? relay4b.err
h=$(handshakes proxy5 4435)
sleep 3
[ "$h" -eq 2 ] && [ "$(handshakes proxy5 4435)" -eq 2 ]
rc=$?
check "... and not replaced: an idle proxy makes no connection ($h, then $(handshakes proxy5 4435) handshakes)" $rc proxy5.err

# ------------------------------------------ time to first byte (measured)
# Informational (a benchmark, not an assertion): a new stream through the
# tunnel from the client ns vs a direct TCP connection from the relay ns.
# ttfb NS CURL-ARGS...: the median of 5 runs' time to first byte, in ms.
ttfb() {
	local ns=$1 i
	shift
	for i in 1 2 3 4 5; do
		ip netns exec "$ns" curl -s -o /dev/null -w '%{time_starttransfer}\n' "$@"
	done | sort -n | sed -n 3p | awk '{ printf "%.1f", $1 * 1000 }'
}
echo "# time to first byte of a new stream, median of 5 (ms): direct TCP" \
	"$(ttfb pxr http://10.99.2.2:8080/small.bin)," \
	"through the tunnel ($DP datapaths) $(ttfb pxc --socks5-hostname 10.99.1.1:1080 http://dest.test:8080/small.bin)," \
	"userspace proxy $(ttfb pxc --socks5-hostname 10.99.1.1:1082 http://dest.test:8080/small.bin)," \
	"--preconnect 2 $(ttfb pxc --socks5-hostname 10.99.1.1:1084 http://dest.test:8080/small.bin)"

echo "1..$n"
echo "# $((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]
