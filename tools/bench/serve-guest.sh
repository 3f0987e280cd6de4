#!/bin/sh
# Runs inside the VM for tools/bench/serve.sh: sh tools/bench/serve-guest.sh MIB REPS
set -u
mib=$1 reps=$2
P=$PWD/build/userspace/plasmatic
B=/tmp/serve-bench
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
head -c $((mib * 1048576)) /dev/urandom > root/f.bin
# The initramfs has no user database: nginx's "user" needs one.
[ -f /etc/passwd ] || echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd
[ -f /etc/group ] || echo 'root:x:0:' > /etc/group
cat > nginx.conf <<CONF
user root root;
worker_processes 1;
pid $B/nginx.pid;
error_log $B/nginx.err;
events { }
http {
	access_log off;
	sendfile on;
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
		ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
		root $B/root;
	}
}
CONF
nginx -e $B/nginx.err -c $B/nginx.conf || { cat $B/nginx.err; exit 1; }
"$P" serve root 127.0.0.1:9443 --cert server.pem --key server.key \
	--datapath kernel --workers 1 --no-access-log --cipher aes128 2> serve.err &
spid=$!
sleep 1
# centiseconds since boot
now() { cut -d' ' -f1 /proc/uptime | tr -d .; }
run() {	# NAME CMD...: the REPS times, sorted, in NAME.times
	name=$1
	shift
	: > $name.times
	i=0
	while [ $i -lt "$reps" ]; do
		t0=$(now)
		"$@" || echo "$name: run $i failed" >&2
		echo $(( $(now) - t0 )) >> $name.times
		i=$((i + 1))
	done
	sort -n $name.times -o $name.times
}
run nginx curl -sS --cacert ca.pem -o $B/out.nginx https://localhost:8443/f.bin
cmp -s out.nginx root/f.bin || echo "nginx: wrong bytes"
run plasmatic "$P" get plasmatic://127.0.0.1:9443/f.bin --ca ca.pem \
	--datapath userspace --cipher aes128 -q -o $B/out.pl
cmp -s out.pl root/f.bin || echo "plasmatic: wrong bytes"
echo "kTLS counters (nginx): $(grep -E 'TlsTxSw|TlsCurrTxSw' /proc/net/tls_stat | tr -s ' \n' ' ')"
med() { sed -n "$(( (reps + 1) / 2 ))p" $1.times; }
n=$(med nginx) p=$(med plasmatic)
echo "| server | client | median s ($reps runs of $mib MiB) | MB/s |"
echo "|---|---|---|---|"
printf '| nginx 1.22, kTLS sendfile | curl | %d.%02d | %d |\n' $((n / 100)) $((n % 100)) \
	$(( mib * 1048576 / 10000 / (n > 0 ? n : 1) ))
printf '| plasmatic serve, kernel datapath, splice | plasmatic get (userspace) | %d.%02d | %d |\n' \
	$((p / 100)) $((p % 100)) $(( mib * 1048576 / 10000 / (p > 0 ? p : 1) ))
kill "$spid"
kill "$(cat nginx.pid)"
