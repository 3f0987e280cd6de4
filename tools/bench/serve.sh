#!/bin/sh
# plasmatic serve against nginx with kTLS (not a test).  In one tools/vm
# run, with the same certificate (P-256), suite (AES-128-GCM), file set
# (tmpfs) and number of server workers:
#   - nginx (nginx-light 1.22, TLS 1.3, ssl_conf_command Options KTLS,
#     sendfile on: tls.ko encrypts), and
#   - plasmatic serve --datapath kernel (heads sent, bodies by sendfile:
#     plasmatic.ko encrypts),
# loaded by one client of ours, build/userspace/cli/httpload, speaking
# plain TLS (OpenSSL) to nginx and Plasmatic (libplasmatic, userspace
# datapath) to serve, so that both clients decrypt in userspace:
#   - CONNS keep-alive connections asking for a 16 KiB file one request
#     after another for SECONDS: requests/s;
#   - CLIENTS connections each fetching one MIB MiB file at once: MB/s,
#     and the server's CPU per GB: the guest's busy time (/proc/stat)
#     less the client's own (getrusage), so that work done in kworkers
#     and softirqs count; serve's CPU by thread at the end.
# REPS alternating runs; the median of each.  Under TCG the guest runs
# AEAD at tens of MB/s and both ends share its vCPUs: compare ratios.
#
#   tools/bench/serve.sh [--mib N] [--reps N] [--seconds N] [--conns N]
#                        [--clients N] [--workers N]
#   (defaults 256 MiB, 3 runs, 10 s, 64 connections, 8 clients, 2 workers)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
mib=256 reps=3 secs=10 conns=64 clients=8 workers=2
while [ $# -gt 1 ]; do
	case "$1" in
	--mib) mib=$2 ;;
	--reps) reps=$2 ;;
	--seconds) secs=$2 ;;
	--conns) conns=$2 ;;
	--clients) clients=$2 ;;
	--workers) workers=$2 ;;
	*) break ;;
	esac
	case "$2" in *[!0-9]*|'') echo "serve.sh: $1 takes a number" >&2; exit 2 ;; esac
	shift 2
done
if [ $# -gt 0 ]; then
	echo "usage: tools/bench/serve.sh [--mib N] [--reps N] [--seconds N] [--conns N] [--clients N] [--workers N]" >&2
	exit 2
fi
make -s kmod >/dev/null
make -s -C userspace/cli >/dev/null
mem=$((1024 + 2 * mib))
exec tools/vm --timeout 3600 --mem "$mem" --bin /usr/sbin/nginx -- \
	"sh tools/bench/serve-guest.sh $mib $reps $secs $conns $clients $workers"
