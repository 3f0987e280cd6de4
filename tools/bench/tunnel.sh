#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A TCP stream through `plasmatic proxy` + `plasmatic relay` against
# stunnel4 (TLS port forward) and shadowsocks-libev (ss-local SOCKS5 +
# ss-server), and a direct TCP connection, in the VM between two network
# namespaces (veth).  A benchmark, not a test (not in make check).
# Packages: iperf3 stunnel4 shadowsocks-libev (tools/deps.sh).
#
#   tools/bench/tunnel.sh [--cipher chacha20|aes256] [--reps N] [--seconds N]
#       boots the VM, prints the tables (defaults chacha20, 3, 5)
#
# For each path, REPS rounds (the paths alternate within a round):
#   - iperf3 bulk, SECONDS each way: Mbit/s, and the guest's CPU seconds
#     per GB moved (/proc/stat, all but idle and iowait, over the iperf3
#     run: both ends of the tunnel and iperf3 itself, which is the same
#     for every path);
#   - time to the first byte of a new stream: curl's time_starttransfer of
#     a 1-byte file from busybox httpd in the server's namespace (curl's own
#     SOCKS5 for the proxies), 20 tries per round: a new TCP connection,
#     and for Plasmatic and stunnel a new TLS handshake, every time.
# A third plasmatic proxy, with --preconnect 4, is timed on new streams
# only (its bulk would be the first one's), and the handshakes each
# plasmatic proxy made are counted against the streams it opened.
# The median over the rounds is printed.  iperf3 speaks plain TCP, not
# SOCKS: for the two SOCKS proxies a `busybox nc -ll -e` forwarder runs
# build/userspace/cli/socks_client per connection (the same extra hop for
# both).  One cipher for all: chacha20 is ChaCha20-Poly1305 (ss's
# chacha20-ietf-poly1305), aes256 AES-256-GCM.  TCG numbers compare the
# tunnels with each other; they say nothing of real hardware.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1

cipher=chacha20 reps=3 secs=5
guest=0
while [ $# -gt 0 ]; do
	case "$1" in
	--guest) guest=1; shift ;;
	--cipher) cipher=${2:-}; shift 2 ;;
	--reps) reps=${2:-}; shift 2 ;;
	--seconds) secs=${2:-}; shift 2 ;;
	*) echo "usage: tools/bench/tunnel.sh [--cipher chacha20|aes256] [--reps N] [--seconds N]" >&2
	   exit 2 ;;
	esac
done
case "$cipher" in
chacha20) SS_M=chacha20-ietf-poly1305 ST_SUITE=TLS_CHACHA20_POLY1305_SHA256 ;;
aes256) SS_M=aes-256-gcm ST_SUITE=TLS_AES_256_GCM_SHA384 ;;
*) echo "tools/bench/tunnel.sh: --cipher chacha20 or aes256" >&2; exit 2 ;;
esac
case "$reps$secs" in *[!0-9]*|'') echo "tools/bench/tunnel.sh: --reps and --seconds take numbers" >&2; exit 2 ;; esac

if [ $guest -eq 0 ]; then
	make -s -C userspace/cli >/dev/null || exit 1
	for b in iperf3 stunnel4 ss-local ss-server curl; do
		command -v "$b" >/dev/null || { echo "tools/bench/tunnel.sh: $b missing (tools/deps.sh)" >&2; exit 1; }
	done
	exec tools/vm --timeout 3600 --bin "$(command -v iperf3)" \
		--bin "$(readlink -f "$(command -v stunnel4)")" \
		--bin "$(command -v ss-local)" --bin "$(command -v ss-server)" \
		--bin "$(command -v curl)" \
		-- "insmod kmod/plasmatic.ko && bash tools/bench/tunnel.sh --guest --cipher $cipher --reps $reps --seconds $secs"
fi

P=$top/build/userspace/plasmatic
SC=$top/build/userspace/cli/socks_client
STUNNEL=$(command -v stunnel4 || command -v stunnel)
D=/tmp/tunnel-bench
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	ip netns del bc 2>/dev/null
	ip netns del bs 2>/dev/null
}
trap cleanup EXIT
C() { ip netns exec bc "$@"; }
S() { ip netns exec bs "$@"; }
rm -rf "$D" && mkdir -p "$D" && cd "$D" || exit 1

ip netns add bc && ip netns add bs &&
ip link add c0 netns bc type veth peer name s0 netns bs &&
C ip link set lo up && S ip link set lo up &&
C ip addr add 10.98.1.1/24 dev c0 && C ip link set c0 up &&
S ip addr add 10.98.1.2/24 dev s0 && S ip link set s0 up || exit 1

printf '[req]\ndistinguished_name = dn\n[dn]\n' > openssl.cnf
export OPENSSL_CONF=$D/openssl.cnf
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null &&
openssl req -x509 -new -key ca.key -subj /CN=bench-CA -days 2 -out ca.pem 2>/dev/null &&
openssl ecparam -name prime256v1 -genkey -noout -out srv.key 2>/dev/null &&
openssl req -new -key srv.key -subj /CN=relay.test -out srv.csr 2>/dev/null &&
printf 'subjectAltName=DNS:relay.test\nbasicConstraints=CA:FALSE\n' > ext.cnf &&
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
	-extfile ext.cnf -out srv.pem 2>/dev/null && "$P" keygen -o psk 2>/dev/null || exit 1

# The server side: iperf3, the relay, ss-server, stunnel's server.
S iperf3 -s -p 5201 >/dev/null 2>&1 & pids+=($!)
mkdir -p www && printf x > www/1
S busybox httpd -f -p 10.98.1.2:8080 -h "$D/www" & pids+=($!)
S "$P" relay 10.98.1.2:4433 --cert srv.pem --key srv.key --psk psk \
	--cipher "$cipher" --allow 10.98.1.0/24 2> relay.err & pids+=($!)
S ss-server -s 10.98.1.2 -p 8388 -k bench -m "$SS_M" 2> ss-server.err & pids+=($!)
cat > stunnel-srv.conf <<EOF
foreground = yes
pid =
ciphersuites = $ST_SUITE
cert = $D/srv.pem
key = $D/srv.key
[bench]
accept = 10.98.1.2:6443
connect = 10.98.1.2:5201
[http]
accept = 10.98.1.2:6444
connect = 10.98.1.2:8080
EOF
S "$STUNNEL" stunnel-srv.conf 2> stunnel-srv.err & pids+=($!)

# The client side: the two proxies, ss-local, stunnel's client, forwarders.
C "$P" proxy --listen 10.98.1.1:1080 --relay 10.98.1.2:4433 --sni relay.test \
	--ca ca.pem --psk psk --cipher "$cipher" -v 2> proxy.err & pids+=($!)
C "$P" proxy --listen 10.98.1.1:1082 --relay 10.98.1.2:4433 --sni relay.test \
	--ca ca.pem --psk psk --cipher "$cipher" --datapath userspace 2> proxy-us.err & pids+=($!)
C "$P" proxy --listen 10.98.1.1:1084 --relay 10.98.1.2:4433 --sni relay.test \
	--ca ca.pem --psk psk --cipher "$cipher" --preconnect 4 -v 2> proxy-pre.err & pids+=($!)
C ss-local -s 10.98.1.2 -p 8388 -b 10.98.1.1 -l 1090 -k bench -m "$SS_M" 2> ss-local.err & pids+=($!)
cat > stunnel-cli.conf <<EOF
foreground = yes
pid =
ciphersuites = $ST_SUITE
; service options before the first service: every service's defaults
client = yes
CAfile = $D/ca.pem
verifyChain = yes
checkHost = relay.test
[bench]
accept = 127.0.0.1:6004
connect = 10.98.1.2:6443
[http]
accept = 127.0.0.1:6005
connect = 10.98.1.2:6444
EOF
C "$STUNNEL" stunnel-cli.conf 2> stunnel-cli.err & pids+=($!)
for f in 1080:6001 1082:6002 1090:6003; do
	printf '#!/bin/sh\nexec %s 10.98.1.1 %s 10.98.1.2 5201\n' "$SC" "${f%%:*}" > "fwd${f##*:}"
	chmod +x "fwd${f##*:}"
	C busybox nc -ll -p "${f##*:}" -e "$D/fwd${f##*:}" & pids+=($!)
done
sleep 2

# The guest's busy CPU ticks (USER_HZ): all but idle and iowait.
busy() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# bulk KEY HOST PORT [-R]: one iperf3 run; appends "Mbit/s CPU-s-per-GB"
# to KEY.bulk (KEY.bulkR with -R).
bulk() {
	local key=$1 b0 b1 out
	b0=$(busy)
	out=$(C iperf3 -c "$2" -p "$3" -t "$secs" -f m ${4:-} 2>&1 | awk '/receiver/ { print $5, $7 }')
	b1=$(busy)
	[ -n "$out" ] || { echo "$key${4:-}: iperf3 failed" >&2; echo "0 0" >> "$key.bulk${4:+R}"; return; }
	echo "$out" | awk -v t=$((b1 - b0)) '{ printf "%s %.1f\n", $2, ($1 > 0 ? t / 100 / ($1 / 1000) : 0) }' \
		>> "$key.bulk${4:+R}"
}

# ttfb KEY CURL-ARGS...: 20 new streams; appends their times (ms) to KEY.ttfb.
ttfb() {
	local key=$1 i t
	shift
	: >> "$key.ttfb"
	for i in $(seq 20); do
		# A stream that failed has no first byte: counted, not timed.
		if t=$(C curl -sf -o /dev/null --max-time 10 -w '%{time_starttransfer}' "$@"); then
			awk -v t="$t" 'BEGIN { printf "%.1f\n", t * 1000 }' >> "$key.ttfb"
		else
			echo "$key: a new stream failed (curl $?)" >> failures
		fi
	done
}

# median FILE [COLUMN]
median() {
	sort -n -k "${2:-1}" "$1" | awk -v c="${2:-1}" '{ v[NR] = $c } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'
}

paths="direct pl plus ss st"
declare -A name=(
	[direct]="direct TCP"
	[pl]="plasmatic proxy + relay, kernel datapath"
	[pre]="plasmatic proxy --preconnect 4 + relay, kernel datapath (new streams only)"
	[plus]="plasmatic proxy (userspace) + relay (kernel)"
	[ss]="shadowsocks-libev ss-local + ss-server"
	[st]="stunnel4 client + server"
)
declare -A bulkto=([direct]="10.98.1.2 5201" [pl]="127.0.0.1 6001" [plus]="127.0.0.1 6002"
	[ss]="127.0.0.1 6003" [st]="127.0.0.1 6004")
U=http://10.98.1.2:8080/1
for r in $(seq "$reps"); do
	for k in $paths; do
		bulk "$k" ${bulkto[$k]}
		bulk "$k" ${bulkto[$k]} -R
	done
	ttfb direct "$U"
	ttfb pl --socks5 10.98.1.1:1080 "$U"
	ttfb plus --socks5 10.98.1.1:1082 "$U"
	ttfb pre --socks5 10.98.1.1:1084 "$U"
	ttfb ss --socks5 10.98.1.1:1090 "$U"
	ttfb st http://127.0.0.1:6005/1
done

echo "Cipher: $cipher; $reps rounds; iperf3 $secs s each way; medians."
echo
echo "| path | client -> server Mbit/s | CPU s/GB | server -> client Mbit/s | CPU s/GB | first byte of a new stream, ms |"
echo "|---|---|---|---|---|---|"
for k in $paths; do
	printf '| %s | %s | %s | %s | %s | %s |\n' "${name[$k]}" \
		"$(median $k.bulk 1)" "$(median $k.bulk 2)" \
		"$(median $k.bulkR 1)" "$(median $k.bulkR 2)" "$(median $k.ttfb)"
	[ $k = pl ] && printf '| %s | | | | | %s |\n' "${name[pre]}" "$(median pre.ttfb)"
done
# Handshakes with the relay (-v's "connected" lines) against streams
# opened (iperf3's streams included: proxy carries them, proxy-pre not).
for k in pl:proxy pre:proxy-pre; do
	echo "# ${k%%:*}: $(grep -c '^plasmatic: connected' "${k#*:}.err") handshakes, $(grep -c ': stream open' "${k#*:}.err") streams"
done
for k in $paths; do
	echo "# $k: up $(tr '\n' ';' < $k.bulk) down $(tr '\n' ';' < $k.bulkR) ttfb $(sort -n $k.ttfb | tr '\n' ' ')"
done
echo "# pre: ttfb $(sort -n pre.ttfb | tr '\n' ' ')"
[ -s failures ] && { echo "# failed streams: $(wc -l < failures)"; sort failures | uniq -c | sed 's/^/#   /'; }
for f in relay proxy proxy-us proxy-pre ss-server ss-local stunnel-srv stunnel-cli; do
	[ -s "$f.err" ] && { echo "# $f:"; tail -3 "$f.err" | sed 's/^/#   /'; }
done
exit 0
