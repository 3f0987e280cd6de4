#!/bin/sh
# Runs inside the VM for tools/bench/serve.sh:
#   sh tools/bench/serve-guest.sh MIB REPS SECONDS CONNS CLIENTS WORKERS
set -u
mib=$1 reps=$2 secs=$3 conns=$4 clients=$5 workers=$6
P=$PWD/build/userspace/plasmatic
HL=$PWD/build/userspace/cli/httpload
B=/tmp/serve-bench
SUITE=TLS_AES_128_GCM_SHA256
modprobe tls || { echo "modprobe tls failed"; exit 1; }
insmod kmod/plasmatic.ko || { echo "insmod failed"; exit 1; }
rm -rf $B && mkdir -p $B/root $B/tmp && cd $B || exit 1
printf '[req]\ndistinguished_name = dn\n[dn]\n' > openssl.cnf
export OPENSSL_CONF=$B/openssl.cnf
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null &&
openssl req -x509 -new -key ca.key -subj /CN=bench-CA -days 2 -out ca.pem 2>/dev/null &&
openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null &&
openssl req -new -key server.key -subj /CN=localhost -out server.csr 2>/dev/null &&
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > ext.cnf &&
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
	-extfile ext.cnf -out server.pem 2>/dev/null || { echo "PKI failed"; exit 1; }
head -c 16384 /dev/urandom > root/16k.bin
head -c $((mib * 1048576)) /dev/urandom > root/big.bin
# The initramfs has no user database: nginx's "user" needs one.
[ -f /etc/passwd ] || echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd
[ -f /etc/group ] || echo 'root:x:0:' > /etc/group
cat > nginx.conf <<CONF
user root root;
worker_processes $workers;
pid $B/nginx.pid;
error_log $B/nginx.err;
events { }
http {
	access_log off;
	sendfile on;
	keepalive_requests 10000000;
	keepalive_timeout 300s;
	client_body_temp_path $B/tmp/body;
	proxy_temp_path $B/tmp/proxy;
	fastcgi_temp_path $B/tmp/fastcgi;
	uwsgi_temp_path $B/tmp/uwsgi;
	scgi_temp_path $B/tmp/scgi;
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:8443 ssl;
		ssl_certificate $B/server.pem;
		ssl_certificate_key $B/server.key;
		ssl_protocols TLSv1.3;
		ssl_conf_command Options KTLS;
		ssl_conf_command Ciphersuites $SUITE;
		root $B/root;
	}
}
CONF
nginx -e $B/nginx.err -c $B/nginx.conf || { cat $B/nginx.err; exit 1; }
"$P" serve root 127.0.0.1:9443 --cert server.pem --key server.key \
	--datapath kernel --workers "$workers" --no-access-log --cipher aes128 \
	2> serve.err &
spid=$!
sleep 1

# CPU ticks (user + system, USER_HZ = 100 on x86) of the processes whose
# main thread is named $1, all their threads (io-wq's too) included.
proc_ticks() {
	for p in /proc/[0-9]*; do
		[ "$(cat $p/comm 2>/dev/null)" = "$1" ] || continue
		sed 's/.*) //' $p/stat 2>/dev/null | awk '{ print $12 + $13 }'
	done | awk '{ s += $1 } END { print s + 0 }'
}

# run NAME PROTO PORT HTTPLOAD-ARGS...: one httpload run; appends
# "requests bytes seconds client_cpu_s guest_busy_s server_s" to
# NAME.runs, server_s being the CPU of the server's own processes.
run() {
	name=$1 proto=$2 port=$3
	shift 3
	[ "$proto" = tls ] && comm=nginx || comm=plasmatic
	t0=$(proc_ticks $comm)
	out=$("$HL" "$proto" 127.0.0.1 "$port" ca.pem "$@" --cipher $SUITE 2> $name.err) ||
		{ echo "$name: httpload failed: $(cat $name.err)"; return 1; }
	t1=$(proc_ticks $comm)
	echo "$out" | awk -v srv=$(( t1 - t0 )) '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		print v["requests"], v["bytes"], v["seconds"], v["cpu"], v["busy"], srv / 100
	}' >> $name.runs
}

: > n-rps.runs; : > p-rps.runs; : > n-big.runs; : > p-big.runs
i=0
while [ $i -lt "$reps" ]; do
	run n-rps tls 8443 /16k.bin 16384 "$conns" --seconds "$secs"
	run p-rps plasmatic 9443 /16k.bin 16384 "$conns" --seconds "$secs"
	run n-big tls 8443 /big.bin $((mib * 1048576)) "$clients" --requests 1
	run p-big plasmatic 9443 /big.bin $((mib * 1048576)) "$clients" --requests 1
	i=$((i + 1))
done
echo "kTLS counters (nginx): $(grep -E 'TlsTxSw|TlsCurrTxSw' /proc/net/tls_stat | tr -s ' \n' ' ')"
echo "plasmatic.ko: $(grep -E 'PlasmaticTx(Records|Bytes)' /proc/net/plasmatic_stat 2>/dev/null | tr -s ' \n' ' ')"
for f in n-rps p-rps n-big p-big; do echo "# $f: $(tr '\n' ';' < $f.runs)"; done

# The table: each figure is the median of its own over the runs (the
# run with the median rate need not be the one with the median CPU).
# col RUNS EXPR: the median of an awk expression over a .runs file's
# lines ($1 requests, $2 bytes, $3 s, $4 client CPU s, $5 guest busy s,
# $6 server processes' CPU s).
col() {
	awk "{ print $2 }" "$1.runs" | sort -g | sed -n "$(( (reps + 1) / 2 ))p"
}
echo "| server | $conns clients, 16 KiB, keep-alive: requests/s | $clients clients x $mib MiB: MB/s | server CPU s per GB (guest busy - client) | server processes' CPU s per GB |"
echo "|---|---|---|---|---|"
for s in n p; do
	[ $s = n ] && label="nginx 1.22, OpenSSL kTLS, sendfile" ||
		label="plasmatic serve, kernel datapath, sendfile"
	printf '| %s | %.0f | %.1f | %.2f | %.2f |\n' "$label" \
		"$(col $s-rps '$1 / $3')" "$(col $s-big '$2 / $3 / 1e6')" \
		"$(col $s-big '($5 - $4) / ($2 / 1e9)')" "$(col $s-big '$6 / ($2 / 1e9)')"
done
# Where serve's CPU went, by thread (io-wq threads, if any: the ring
# runs no blocking operation), and the kernel's workers, in ticks.
echo "# serve threads (comm ticks): $(for t in /proc/$spid/task/*; do
	printf '%s %s, ' "$(cat $t/comm)" "$(sed 's/.*) //' $t/stat | awk '{print $12 + $13}')"
done)"
echo "# busiest kworkers (comm ticks): $(for t in /proc/[0-9]*; do
	c=$(cat $t/comm 2>/dev/null) || continue
	case "$c" in kworker*|ksoftirq*) ;; *) continue ;; esac
	echo "$(sed 's/.*) //' $t/stat | awk '{print $12 + $13}') $c"
done | sort -rn | head -5 | tr '\n' ',')"
kill "$spid"
kill "$(cat nginx.pid)"
wait "$spid"
