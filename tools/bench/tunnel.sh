#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Throughput of a TCP stream through `plasmatic proxy` + `plasmatic relay`
# against stunnel4 (TLS port forward) and shadowsocks-libev (ss-local SOCKS5
# + ss-server), and a direct TCP connection: iperf3, 5 s each way, in the
# VM between two network namespaces (veth).  A benchmark, not a test (not
# in make check).  Packages: iperf3 stunnel4 shadowsocks-libev (tools/deps.sh).
#
#   tools/bench/tunnel.sh            boots the VM, prints a table
#   tools/bench/tunnel.sh --guest    (inside the VM)
#
# iperf3 speaks plain TCP, not SOCKS: for the two SOCKS proxies a
# `busybox nc -ll -e` forwarder runs build/userspace/cli/socks_client per
# connection (the same extra hop for both).  All AES-256-GCM: Plasmatic's
# default choice, stunnel's TLS 1.3 default, ss's aes-256-gcm.  TCG numbers
# compare the tunnels with each other; they say nothing of real hardware.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1

if [ "${1:-}" != --guest ]; then
	make -s -C userspace/cli >/dev/null || exit 1
	for b in iperf3 stunnel4 ss-local ss-server; do
		command -v "$b" >/dev/null || { echo "tools/bench/tunnel.sh: $b missing (tools/deps.sh)" >&2; exit 1; }
	done
	exec tools/vm --timeout 900 --bin "$(command -v iperf3)" \
		--bin "$(readlink -f "$(command -v stunnel4)")" \
		--bin "$(command -v ss-local)" --bin "$(command -v ss-server)" \
		-- "insmod kmod/plasmatic.ko && bash tools/bench/tunnel.sh --guest"
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
S "$P" relay 10.98.1.2:4433 --cert srv.pem --key srv.key --psk psk \
	--allow 10.98.1.0/24 2> relay.err & pids+=($!)
S ss-server -s 10.98.1.2 -p 8388 -k bench -m aes-256-gcm 2> ss-server.err & pids+=($!)
cat > stunnel-srv.conf <<EOF
foreground = yes
pid =
[bench]
accept = 10.98.1.2:6443
connect = 10.98.1.2:5201
cert = $D/srv.pem
key = $D/srv.key
EOF
S "$STUNNEL" stunnel-srv.conf 2> stunnel-srv.err & pids+=($!)

# The client side: the two proxies, ss-local, stunnel's client, forwarders.
C "$P" proxy --listen 10.98.1.1:1080 --relay 10.98.1.2:4433 --sni relay.test \
	--ca ca.pem --psk psk 2> proxy.err & pids+=($!)
C "$P" proxy --listen 10.98.1.1:1082 --relay 10.98.1.2:4433 --sni relay.test \
	--ca ca.pem --psk psk --datapath userspace 2> proxy-us.err & pids+=($!)
C ss-local -s 10.98.1.2 -p 8388 -b 10.98.1.1 -l 1090 -k bench -m aes-256-gcm 2> ss-local.err & pids+=($!)
cat > stunnel-cli.conf <<EOF
foreground = yes
pid =
[bench]
client = yes
accept = 127.0.0.1:6004
connect = 10.98.1.2:6443
CAfile = $D/ca.pem
verifyChain = yes
checkHost = relay.test
EOF
C "$STUNNEL" stunnel-cli.conf 2> stunnel-cli.err & pids+=($!)
for f in 1080:6001 1082:6002 1090:6003; do
	printf '#!/bin/sh\nexec %s 10.98.1.1 %s 10.98.1.2 5201\n' "$SC" "${f%%:*}" > "fwd${f##*:}"
	chmod +x "fwd${f##*:}"
	C busybox nc -ll -p "${f##*:}" -e "$D/fwd${f##*:}" & pids+=($!)
done
sleep 2

# run NAME HOST PORT: upload and download Mbit/s (iperf3's receiver).
run() {
	local up down
	up=$(C iperf3 -c "$2" -p "$3" -t 5 -f m 2>&1 | awk '/receiver/ { print $7 }')
	down=$(C iperf3 -c "$2" -p "$3" -t 5 -f m -R 2>&1 | awk '/receiver/ { print $7 }')
	printf '| %s | %s | %s |\n' "$1" "${up:-failed}" "${down:-failed}"
}
echo "| path | client -> server Mbit/s | server -> client Mbit/s |"
echo "|---|---|---|"
run "direct TCP" 10.98.1.2 5201
run "plasmatic proxy + relay, kernel datapath" 127.0.0.1 6001
run "plasmatic proxy (userspace) + relay (kernel)" 127.0.0.1 6002
run "shadowsocks-libev ss-local + ss-server" 127.0.0.1 6003
run "stunnel4 client + server" 127.0.0.1 6004
for f in relay proxy proxy-us ss-server ss-local stunnel-srv stunnel-cli; do
	[ -s "$f.err" ] && { echo "# $f:"; tail -3 "$f.err" | sed 's/^/#   /'; }
done
exit 0
