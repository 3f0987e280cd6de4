# SPDX-License-Identifier: GPL-2.0
# What cli_test.sh, serve_test.sh and proxy_test.sh share, sourced by them
# (after set -u, n=0 failed=0, in their scratch directory): TAP results,
# a throwaway PKI, waiting for a server. Needs openssl.

ok() { n=$((n + 1)); echo "ok $n $1"; }
# notok NAME [FILES]: a failure, with the last 20 lines of each FILE.
notok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $1"
	shift
	for f in "$@"; do [ -f "$f" ] && tail -n 20 "$f" | sed 's/^/#   /'; done
}
# check NAME CONDITION-STATUS [FILES TO SHOW ON FAILURE]
check() { local name=$1 st=$2; shift 2; if [ "$st" -eq 0 ]; then ok "$name"; else notok "$name" "$@"; fi; }

# pki_ca CN: our own minimal openssl.cnf (no dependence on the system's),
# OPENSSL_CONF set to it, and a CA: ca.key, ca.pem.
pki_ca() {
	printf '[req]\ndistinguished_name = dn\n[dn]\n' > openssl.cnf
	export OPENSSL_CONF=$PWD/openssl.cnf
	openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null &&
	openssl req -x509 -new -key ca.key -subj "/CN=$1" -days 2 -out ca.pem 2>/dev/null
}
# pki_other: other.key, other-ca.pem: a second CA, which signs nothing.
pki_other() {
	openssl ecparam -name prime256v1 -genkey -noout -out other.key 2>/dev/null &&
	openssl req -x509 -new -key other.key -subj /CN=other-CA -days 2 -out other-ca.pem 2>/dev/null
}
# pki_cert NAME CN SAN: NAME.key and NAME.pem (CN, subjectAltName SAN, not
# a CA) signed by ca.pem.
pki_cert() {
	openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null &&
	openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" 2>/dev/null &&
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\n' "$3" > ext.cnf &&
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile ext.cnf -out "$1.pem" 2>/dev/null
}

# wait_listening FILE TRIES: $port from the "listening on 127.0.0.1:PORT"
# line that the server $spid (run with -v) writes to FILE, looked for every
# 50 ms up to TRIES times.  1 if the server exits or the line never comes.
wait_listening() {
	port=
	for _ in $(seq "$2"); do
		port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1")
		[ -n "$port" ] && return 0
		kill -0 "$spid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# wait_pid PID [SEC]: the exit status of the background job PID; killed
# (124) if it outlives SEC seconds (default 30).
wait_pid() {
	local i
	for i in $(seq $((${2:-30} * 10))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		kill "$1"
		wait "$1"
		return 124
	fi
	wait "$1"
}
