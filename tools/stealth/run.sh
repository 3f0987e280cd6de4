#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Stealth checks: what an observer on the wire sees of `plasmatic connect`
# and `plasmatic listen`, compared in the same run with what curl, nginx
# and openssl s_server/s_client show on this host (same OpenSSL, same
# certificate).  TAP on stdout; every check can fail.
#
#   tools/stealth/run.sh [-v]        (root: tshark captures on lo)
#
#   1-4   ClientHello of `plasmatic connect` == curl's: record length,
#         JA3, JA4 (tools/stealth/tlswire.py computes them; its JA3 is
#         first checked against tshark's own)
#   5-9   `plasmatic listen` answers like nginx (Debian 12's nginx.conf SSL
#         settings, "listen ... ssl", same certificate and key): JA3S and
#         the server's first flight (record count and sizes) to curl, the
#         suite chosen for a client preferring AES-128, the answer to a
#         TLS 1.2-only probe (served as a plain TLS client, as Debian's
#         nginx with its TLSv1..TLSv1.3 does), and
#         to ALPN offers
#   10-14 100 MiB through the tunnel (covered framing), and an interactive
#         session of small writes: tshark (decoding the port as TLS)
#         finds no malformed packet and no expert error, and no record
#         after the handshake is longer than the longest one of an openssl
#         s_server/s_client session with the same data
#   15-16 the post-handshake flight of `plasmatic listen` (its records
#         after the client's Finished, up to the first pause over 0.3 s;
#         the client is silent for 1 s): the record count and types of
#         openssl s_server's, and the sizes of nginx's (two NewSessionTickets
#         with a 16-byte session id context)
#   17-32 TPL modes 1..8 (the server in --tpl-mode M --tpl-lock): every
#         record's size in the mode's range (SPEC 9.2), and every record
#         starting a TCP segment of its own (SPEC 9.5)
#
# Userspace datapath only (this host cannot load modules).  For the kernel
# path, run the same script in the VM with the module loaded and
# PL_DATAPATH=kernel, e.g.
#   tools/vm --timeout 900 -- "insmod kmod/plasmatic.ko && PL_DATAPATH=kernel tools/stealth/run.sh"
# (the guest then needs tshark, curl, nginx and python3 in its initramfs).
#
# Environment: PLASMATIC (binary, default build/userspace/plasmatic),
# PL_DATAPATH (userspace), STEALTH_BYTES (bulk size, default 104857600),
# STEALTH_KEEP=1 keeps the work directory (captures, logs).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tools/stealth
PL=${PLASMATIC:-$top/build/userspace/plasmatic}
DP=${PL_DATAPATH:-userspace}
BYTES=${STEALTH_BYTES:-104857600}
TW="/usr/bin/python3 $here/tlswire.py"
VERBOSE=0
[ "${1:-}" = -v ] && VERBOSE=1
SNI=demo.plasmatic.test
T0=$(date +%s)

W=$(mktemp -d /tmp/plstealth.XXXXXX) || exit 1
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	if [ "${STEALTH_KEEP:-0}" = 1 ]; then
		echo "# work directory kept: $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

n=0 nfail=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
nok() { n=$((n + 1)); nfail=$((nfail + 1)); echo "not ok $n $1"; }
diag() { sed 's/^/# /'; }
# check DESC A B: ok if A == B (strings), else both printed
check_eq() {
	if [ "$2" = "$3" ] && [ -n "$2" ]; then
		ok "$1"
		[ $VERBOSE = 1 ] && echo "#   $2"
	else
		nok "$1"
		echo "#   want: ${3:-(nothing)}"
		echo "#   got:  ${2:-(nothing)}"
	fi
	return 0
}

need() {
	local m=""
	for c in tshark dumpcap curl nginx openssl python3 timeout ss; do
		command -v "$c" >/dev/null || m="$m $c"
	done
	[ -x "$PL" ] || m="$m $PL (make)"
	if [ -n "$m" ]; then
		echo "1..1"
		echo "not ok 1 stealth prerequisites: missing$m (tools/deps.sh)"
		exit 1
	fi
}
need

# A free loopback TCP port (bound once and released).
freeport() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT: until something listens on 127.0.0.1:PORT (10 s)
wait_port() {
	local i
	for i in $(seq 100); do
		# (no connection: --once and -naccept 1 servers take only one)
		[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	echo "# nothing listens on port $1" >&2
	return 1
}

# bg CMD...: run in the background, remembered for cleanup; pid in $BG
bg() {
	"$@" &
	BG=$!
	PIDS+=("$BG")
}

stop() {	# stop PID: SIGTERM, then wait
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# cap_start NAME PORT: tshark on lo for tcp port PORT into $W/NAME.pcap,
# returns once it is capturing.  cap_stop: SIGINT, wait for the file.
cap_start() {
	local i
	rm -f "$W/$1.pcap" "$W/$1.cap.err"
	tshark -q -i lo -B 256 -f "tcp port $2" -w "$W/$1.pcap" 2>"$W/$1.cap.err" &
	CAP=$!
	PIDS+=("$CAP")
	# dumpcap creates the file once the interface is open and its filter
	# set ("Capturing on" comes earlier, before the ring is allocated)
	for i in $(seq 150); do
		grep -q "Capturing on" "$W/$1.cap.err" 2>/dev/null &&
			[ -s "$W/$1.pcap" ] && break
		sleep 0.1
	done
	sleep 0.2
}
cap_stop() {
	sleep 0.3
	kill -INT "$CAP" 2>/dev/null
	wait "$CAP" 2>/dev/null
	if grep -qiE 'dropped|[1-9][0-9]* packets? dropped' "$W/$1.cap.err" &&
	   ! grep -qE '\b0 packets dropped' "$W/$1.cap.err"; then
		echo "# capture $1: $(grep -i dropped "$W/$1.cap.err")"
	fi
}

q() {	# q NAME KEY...: tlswire query of $W/NAME.pcap
	$TW q "$W/$1.pcap" "${@:2}" 2>>"$W/$1.tw.err"
}

# ---------------------------------------------------------------------------
# material: a CA, a server certificate for $SNI, a PSK.  RSA: its
# CertificateVerify has one length (an ECDSA signature's DER length varies
# by a byte or two from one handshake to the next, so would the flight)
(
	cd "$W" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=stealth-ca -keyout ca.key -out ca.pem &&
	openssl req -newkey rsa:2048 -nodes \
		-subj "/CN=$SNI" -keyout server.key -out server.csr &&
	printf 'subjectAltName=DNS:%s\n' "$SNI" >ext.cnf &&
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
		-days 2 -extfile ext.cnf -out server.pem
) >"$W/pki.log" 2>&1 && "$PL" keygen -o "$W/psk" >/dev/null 2>&1 || {
	echo "1..1"; echo "not ok 1 make a certificate and a PSK"; cat "$W/pki.log" | diag; exit 1; }

echo "1..16"

PLS=("$PL" listen --cert "$W/server.pem" --key "$W/server.key" --psk "$W/psk"
     --datapath "$DP")
plc() {	# plc PORT [options]: plasmatic connect to 127.0.0.1:PORT
	local p=$1
	shift
	timeout 60 "$PL" connect "127.0.0.1:$p" --ca "$W/ca.pem" --sni "$SNI" \
		--psk "$W/psk" --datapath "$DP" "$@"
}
curl_get() {	# curl_get PORT [PATH]
	timeout 30 curl -sk --resolve "$SNI:$1:127.0.0.1" -o /dev/null \
		"https://$SNI:$1/${2:-}" 2>>"$W/curl.err"
}

# nginx: Debian 12's /etc/nginx/nginx.conf SSL settings (ssl_protocols
# TLSv1 .. TLSv1.3, ssl_prefer_server_ciphers on), a default-like server
# "listen ... ssl" (no http2), and a second server with TLS 1.3 only.
NGX=$(freeport) NGX13=$(freeport)
mkdir -p "$W/nginx/tmp" "$W/www"
echo "<html><body>hello</body></html>" >"$W/www/index.html"
cat >"$W/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $W/nginx/tmp/body;
	proxy_temp_path $W/nginx/tmp/proxy;
	fastcgi_temp_path $W/nginx/tmp/fastcgi;
	uwsgi_temp_path $W/nginx/tmp/uwsgi;
	scgi_temp_path $W/nginx/tmp/scgi;
	ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
	ssl_prefer_server_ciphers on;
	server {
		listen 127.0.0.1:$NGX ssl;
		server_name $SNI;
		ssl_certificate $W/server.pem;
		ssl_certificate_key $W/server.key;
		root $W/www;
	}
	server {
		listen 127.0.0.1:$NGX13 ssl;
		server_name $SNI;
		ssl_protocols TLSv1.3;
		ssl_certificate $W/server.pem;
		ssl_certificate_key $W/server.key;
		root $W/www;
	}
}
EOF
bg nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" -e "$W/nginx/error.log"
NGXPID=$BG
wait_port "$NGX" || { cat "$W/nginx/error.log" | diag; }

# ---------------------------------------------------------------------------
# 1-4: the ClientHello (curl and plasmatic connect, both to nginx)
cap_start curl_ngx "$NGX"
curl_get "$NGX"
cap_stop curl_ngx
cap_start plc_ngx "$NGX"
plc "$NGX" </dev/null >/dev/null 2>"$W/plc_ngx.err"
cap_stop plc_ngx

mine=$(q curl_ngx ja3_full)
theirs=$(tshark -r "$W/curl_ngx.pcap" -Y "tls.handshake.type == 1" -T fields \
	-e tls.handshake.ja3_full 2>/dev/null | head -n 1)
check_eq "tlswire's JA3 of curl's ClientHello == tshark's" "$mine" "$theirs"
check_eq "ClientHello record length == curl's" "$(q plc_ngx ch_len)" "$(q curl_ngx ch_len)"
check_eq "JA3 == curl's" "$(q plc_ngx ja3_full ja3 | paste -sd' ')" \
	"$(q curl_ngx ja3_full ja3 | paste -sd' ')"
check_eq "JA4 == curl's" "$(q plc_ngx ja4 | paste -sd' ')" "$(q curl_ngx ja4 | paste -sd' ')"
[ $VERBOSE = 1 ] && q plc_ngx ja4_r | diag

# ---------------------------------------------------------------------------
# 5-9: the server's answers (curl to nginx above, curl to plasmatic listen)
PLP=$(freeport)
bg "${PLS[@]}" "127.0.0.1:$PLP" --exec 'cat >/dev/null' 2>"$W/pls.err"
PLSPID=$BG
wait_port "$PLP"
cap_start curl_pl "$PLP"
curl_get "$PLP"
cap_stop curl_pl
check_eq "JA3S == nginx's (curl's ClientHello)" "$(q curl_pl ja3s_full ja3s | paste -sd' ')" \
	"$(q curl_ngx ja3s_full ja3s | paste -sd' ')"
check_eq "server first flight (type:length per record) == nginx's" \
	"$(q curl_pl flight1)" "$(q curl_ngx flight1)"

# a client that prefers AES-128 (browsers do): which suite each server picks
probe13() {	# probe13 PORT NAME
	cap_start "$2" "$1"
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername "$SNI" \
		-ciphersuites TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384 \
		>/dev/null 2>&1
	cap_stop "$2"
}
probe13 "$NGX" aes128_ngx
probe13 "$PLP" aes128_pl
check_eq "suite chosen for a client preferring AES-128 == nginx's" \
	"$(q aes128_pl sh_cipher)" "$(q aes128_ngx sh_cipher)"

# a TLS 1.2-only probe
probe12() {	# probe12 PORT NAME
	cap_start "$2" "$1"
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername "$SNI" \
		-tls1_2 >/dev/null 2>&1
	cap_stop "$2"
}
probe12 "$NGX13" tls12_ngx13
probe12 "$PLP" tls12_pl
probe12 "$NGX" tls12_ngx
# A TLS 1.2 client is never Plasmatic: the server accepts it as stock
# Debian nginx does, and serves it as a plain TLS client.
check_eq "TLS 1.2-only probe: version and server records == Debian's nginx's" \
	"$(q tls12_pl sh_version s_lens alerts | paste -sd'|')" \
	"$(q tls12_ngx sh_version s_lens alerts | paste -sd'|')"
echo "# (nginx with ssl_protocols TLSv1.3 only: records $(q tls12_ngx13 s_lens alerts | paste -sd'|'))"

# ALPN offers: nginx without http2 picks http/1.1, http/1.0 or http/0.9 and
# answers no_application_protocol to anything else; no offer, no ALPN
alpn_answers() {	# alpn_answers PORT NAME: flight / alerts per offer
	local a i=0
	for a in h2 h2,http/1.0 foo ""; do
		i=$((i + 1))
		cap_start "$2_$i" "$1"
		echo | timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername "$SNI" \
			${a:+-alpn "$a"} >/dev/null 2>&1
		cap_stop "$2_$i"
		echo "${a:-none}: $(q "$2_$i" flight1 alerts | paste -sd' ')"
	done
}
check_eq "answers to ALPN offers h2 / h2,http/1.0 / foo / none == nginx's" \
	"$(alpn_answers "$PLP" alpn_pl | paste -sd';')" "$(alpn_answers "$NGX" alpn_ngx | paste -sd';')"
stop "$PLSPID"

# ---------------------------------------------------------------------------
# 10-14: 100 MiB and an interactive session, vs openssl s_server/s_client
# tshark_errors NAME PORT: malformed packets and expert errors, decoding
# PORT as TLS (count, then the first few)
# Frames TCP sent again (loopback drops under load: its per-CPU backlog
# overflows) are left out: tshark flags their overlap with what it already
# reassembled, which says nothing of the records; they are counted apart.
RETX='tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission || tcp.analysis.out_of_order'
tshark_errors() {
	timeout 300 tshark -r "$W/$1.pcap" -d "tcp.port==$2,tls" -n \
		-Y "(_ws.malformed || _ws.expert.severity >= 0x00800000) && !($RETX)" \
		-T fields -e frame.number -e _ws.expert.message 2>/dev/null >"$W/$1.expert"
	local rc=$? c
	c=$(wc -l <"$W/$1.expert")
	[ $rc -eq 0 ] || c="tshark failed ($rc)"
	echo "$c"
}
# maxlen NAME: longest record header length after the handshake, both
# directions (the handshake's own records are checked by 1-9)
maxlen() {
	q "$1" app_max
}
# refmax NAME: longest record header length of the whole session
refmax() {
	local c s
	read -r c s < <(q "$1" c_max s_max | paste -sd' ')
	echo $((c > s ? c : s))
}

# bulk: the server sends $BYTES; reference: s_server -WWW sends them to curl
head -c "$BYTES" /dev/zero >"$W/bulk"
P=$(freeport)
bg "${PLS[@]}" "127.0.0.1:$P" --once --exec "cat $W/bulk" 2>"$W/bulk_pl.srv.err"
wait_port "$P"
cap_start bulk_pl "$P"
got=$(plc "$P" </dev/null 2>"$W/bulk_pl.cli.err" | wc -c)
cap_stop bulk_pl
wait "$BG" 2>/dev/null
P2=$(freeport)
# s_server -WWW sends the file in full records (16 KiB reads, one
# SSL_write each); with the file on its stdin instead, s_server sometimes
# stopped after the first record (about 1 run in 3)
bg sh -c "cd $W && exec timeout 120 openssl s_server -accept 127.0.0.1:$P2 -naccept 1 \
	-WWW -quiet -cert $W/server.pem -key $W/server.key" >/dev/null 2>"$W/bulk_ossl.srv.err"
wait_port "$P2"
cap_start bulk_ossl "$P2"
gotref=$(timeout 120 curl -sk --resolve "$SNI:$P2:127.0.0.1" -o /dev/null \
	-w '%{size_download}' "https://$SNI:$P2/bulk" 2>"$W/bulk_ossl.cli.err")
cap_stop bulk_ossl
wait "$BG" 2>/dev/null
rm -f "$W/bulk"
if [ "$got" = "$BYTES" ] && [ "$gotref" = "$BYTES" ]; then
	ok "$BYTES bytes through plasmatic ($DP) and from openssl s_server to curl"
else
	nok "$BYTES bytes through plasmatic ($DP) and from openssl s_server to curl"
	echo "#   plasmatic: $got bytes, openssl: $gotref bytes"
	cat "$W/bulk_pl.srv.err" "$W/bulk_pl.cli.err" | head -n 5 | diag
fi
e=$(tshark_errors bulk_pl "$P")
eref=$(tshark_errors bulk_ossl "$P2")
echo "# bulk: frames TCP sent again (left out of the check): plasmatic $(tshark -r "$W/bulk_pl.pcap" -n -Y "$RETX" 2>/dev/null | wc -l), openssl $(tshark -r "$W/bulk_ossl.pcap" -n -Y "$RETX" 2>/dev/null | wc -l)"
if [ "$got" != "$BYTES" ]; then
	nok "bulk: tshark (port as TLS) finds no malformed packet or expert error"
	echo "#   (the transfer did not complete: nothing to check)"
elif [ "$e" = 0 ] && [ "$eref" = 0 ]; then
	ok "bulk: tshark (port as TLS) finds no malformed packet or expert error"
else
	nok "bulk: tshark (port as TLS) finds no malformed packet or expert error"
	echo "#   plasmatic: $e; openssl: $eref"
	head -n 5 "$W/bulk_pl.expert" | diag
fi
m=$(maxlen bulk_pl) mref=$(refmax bulk_ossl)
werr=$(q bulk_pl errors)
if [ "$got" = "$BYTES" ] && [ -n "$m" ] && [ -n "$mref" ] && [ "$m" -gt 0 ] &&
   [ "$m" -le "$mref" ] && [ -z "$werr" ]; then
	ok "bulk: longest record $m <= openssl's $mref"
else
	nok "bulk: longest record ${m:-?} <= openssl's ${mref:-?}"
	[ -n "$werr" ] && echo "#   $werr"
	[ "$got" = "$BYTES" ] || echo "#   (the transfer did not complete)"
fi
echo "# bulk record lengths, plasmatic server: $(q bulk_pl s_lens | tr ' ' '\n' | sort -n | uniq -c | sort -rn | head -n 4 | awk '{printf "%s x%s  ", $2, $1}')"
echo "# bulk record lengths, openssl server:   $(q bulk_ossl s_lens | tr ' ' '\n' | sort -n | uniq -c | sort -rn | head -n 4 | awk '{printf "%s x%s  ", $2, $1}')"
rm -f "$W/bulk_pl.pcap" "$W/bulk_ossl.pcap"

# interactive: 20 short lines, 50 ms apart, echoed by the server
lines() {
	local i
	for i in $(seq -w 1 20); do
		echo "line $i: ls -l /tmp"
		sleep 0.05
	done
	sleep 0.5
}
P=$(freeport)
bg "${PLS[@]}" "127.0.0.1:$P" --once --exec cat 2>"$W/int_pl.srv.err"
wait_port "$P"
cap_start int_pl "$P"
got=$(lines | plc "$P" 2>"$W/int_pl.cli.err" | wc -l)
cap_stop int_pl
stop "$BG"
P2=$(freeport)
bg timeout 60 openssl s_server -accept "127.0.0.1:$P2" -naccept 1 -rev \
	-cert "$W/server.pem" -key "$W/server.key" >/dev/null 2>&1
wait_port "$P2"
cap_start int_ossl "$P2"
lines | timeout 30 openssl s_client -connect "127.0.0.1:$P2" -servername "$SNI" \
	>/dev/null 2>&1
cap_stop int_ossl
stop "$BG"
e=$(tshark_errors int_pl "$P")
if [ "$got" = 20 ] && [ "$e" = 0 ]; then
	ok "interactive: 20 lines echoed, tshark finds no malformed packet or expert error"
else
	nok "interactive: 20 lines echoed, tshark finds no malformed packet or expert error"
	echo "#   lines echoed: $got, tshark findings: $e"
	head -n 5 "$W/int_pl.expert" | diag
fi
m=$(maxlen int_pl) mref=$(refmax int_ossl)
if [ "$got" = 20 ] && [ -n "$m" ] && [ -n "$mref" ] && [ "$m" -gt 0 ] &&
   [ "$m" -le "$mref" ]; then
	ok "interactive: longest record $m <= openssl's $mref"
else
	nok "interactive: longest record ${m:-?} <= openssl's ${mref:-?}"
fi
echo "# interactive client records, plasmatic: $(q int_pl c_lens)"
echo "# interactive client records, openssl:   $(q int_ossl c_lens)"
echo "# interactive server records, plasmatic: $(q int_pl s_lens)"
echo "# interactive server records, openssl:   $(q int_ossl s_lens)"

# ---------------------------------------------------------------------------
# 15-16: post-handshake flight: plasmatic connect to plasmatic listen,
# openssl s_client (same SNI and ALPN offer) to s_server and nginx, each
# client silent for a second; s_server selects ALPN like nginx
post() {	# post PORT NAME [openssl]: a client silent for a second
	cap_start "$2" "$1"
	if [ $# -gt 2 ]; then
		# a reference server's tickets would fail plasmatic's first EEM
		# check and its alert would cut the flight short
		sleep 1 | timeout 10 openssl s_client -connect "127.0.0.1:$1" \
			-servername "$SNI" -alpn h2,http/1.1 >/dev/null 2>"$W/$2.cli.err"
	else
		sleep 1 | plc "$1" >/dev/null 2>"$W/$2.cli.err"
	fi
	cap_stop "$2"
}
P=$(freeport)
bg "${PLS[@]}" "127.0.0.1:$P" --exec 'cat' 2>"$W/post_pl.srv.err"
PLSPID=$BG
wait_port "$P"
post "$P" post_pl
stop "$PLSPID"
P2=$(freeport)
# (its stdin open: at EOF s_server would close the connection at once)
bg sh -c "sleep 5 | exec timeout 60 openssl s_server -accept 127.0.0.1:$P2 -naccept 1 \
	-alpn http/1.1 -cert $W/server.pem -key $W/server.key -quiet" >/dev/null 2>&1
wait_port "$P2"
post "$P2" post_ossl openssl
stop "$BG"
post "$NGX" post_ngx openssl
# Record count and types as OpenSSL's server; the sizes are nginx's (its
# tickets carry a 16-byte session id context, s_server's none): we are
# nginx on the wire, so the next check compares the sizes with it.
check_eq "post-handshake flight: as many records of the same type as openssl s_server's" \
	"$(q post_pl post | sed 's/:[0-9]*/:/g')" "$(q post_ossl post | sed 's/:[0-9]*/:/g')"
check_eq "post-handshake flight == nginx's" "$(q post_pl post)" "$(q post_ngx post)"

# ---------------------------------------------------------------------------
# 17-32: TPL shaping (SPEC 9) as an observer sees it.  For each mode 1..8
# the server sends $TPL_BYTES with --tpl-mode M --tpl-lock: every record
# after its tickets but the closing close_notify must have a length in the
# mode's size range (SPEC 9.2; covered framing, eem_len 80: length = size
# + 97; modes 0 and 6 are capped at 16304, length 16401), and start a TCP
# segment of its own (SPEC 9.5).  Mode 0 is shown for contrast.
TPL_BYTES=${STEALTH_TPL_BYTES:-300000}
tpl_range() {	# the size ranges of mode $1 (SPEC 9.2)
	case "$1" in
	1) echo "100 1500" ;; 2) echo "1000 16000" ;; 3) echo "10 60" ;;
	4) echo "50 250 500 2000" ;; 5) echo "100 500" ;; 6) echo "16304 16304" ;;
	7) echo "200 2000" ;; 8) echo "50 150" ;;
	esac
}
head -c "$TPL_BYTES" /dev/urandom >"$W/tpl"
for M in 0 1 2 3 4 5 6 7 8; do
	P=$(freeport)
	bg "${PLS[@]}" "127.0.0.1:$P" --once --tpl-mode "$M" --tpl-lock \
		--exec "cat $W/tpl" 2>"$W/tpl$M.srv.err"
	wait_port "$P"
	cap_start "tpl$M" "$P"
	got=$(plc "$P" </dev/null 2>"$W/tpl$M.cli.err" | wc -c)
	cap_stop "tpl$M"
	wait "$BG" 2>/dev/null
	lens=$(q "tpl$M" s_eem_lens)
	mid=$(q "tpl$M" s_eem_midseg)
	nrec=$(echo "$lens" | wc -w)
	if [ "$M" = 0 ]; then
		echo "# mode 0 (unshaped): $nrec records, $mid of them not at a segment start"
		continue
	fi
	# all but the last (close_notify: 2 + 1 + 16 + 80 = 99) in range
	bad=$(echo "$lens" | tr ' ' '\n' | awk -v r="$(tpl_range "$M")" '
		BEGIN { n = split(r, b, " ") }
		NF { l[++k] = $1 }
		END {
			if (k < 2 || l[k] != 99) { print "last record " l[k] " is not a close_notify"; exit }
			for (i = 1; i < k; i++) {
				t = l[i] - 97; in_r = 0
				for (j = 1; j < n; j += 2)
					if (t >= b[j] && t <= b[j + 1]) in_r = 1
				if (!in_r) { print "record " i ": length " l[i] " (size " t ")"; exit }
			}
		}')
	if [ "$got" = "$TPL_BYTES" ] && [ -z "$bad" ] && [ "$nrec" -gt 2 ]; then
		ok "mode $M: $((nrec - 1)) records, every size in $(tpl_range "$M" | awk '{ for (i = 1; i < NF; i += 2) printf "%s%s..%s", (i > 1 ? " or " : ""), $i, $(i + 1) }')"
	else
		nok "mode $M: every record size in the mode's range"
		echo "#   got $got of $TPL_BYTES bytes, $nrec records: ${bad:-}"
		head -n 3 "$W/tpl$M.srv.err" "$W/tpl$M.cli.err" | diag
	fi
	if [ "$got" = "$TPL_BYTES" ] && [ "$mid" = 0 ]; then
		ok "mode $M: every record starts a TCP segment"
	else
		nok "mode $M: every record starts a TCP segment"
		echo "#   $mid of $nrec records share a segment with the one before"
	fi
	rm -f "$W/tpl$M.pcap"
done

stop "$NGXPID"
echo "# stealth suite: $((n - nfail)) passed, $nfail failed, $(($(date +%s) - T0)) s"
[ "$nfail" -eq 0 ]
