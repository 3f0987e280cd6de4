#!/bin/sh
# plasmatic serve against nginx with kTLS (not a test): in one tools/vm
# run, a MIB MiB file fetched REPS times over loopback from
#   - nginx (nginx-light, TLS 1.3, ssl_conf_command Options KTLS,
#     sendfile on: the kernel encrypts) with curl, and
#   - plasmatic serve --datapath kernel (bodies by splice: plasmatic.ko
#     encrypts) with plasmatic get,
# both clients decrypting in userspace (curl: OpenSSL; get: --datapath
# userspace, the engine), one server worker each, AES-128-GCM.  Prints
# the median seconds and MB/s of each, and whether nginx's sends went
# through kTLS (/proc/net/tls_stat).  Under TCG the guest runs AEAD at
# tens of MB/s: compare the ratio, not the MB/s.
#
#   tools/bench/serve.sh [--mib N] [--reps N]     (defaults 64, 3)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
mib=64 reps=3
while [ $# -gt 0 ]; do
	case "$1" in
	--mib) mib=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	*) echo "usage: tools/bench/serve.sh [--mib N] [--reps N]" >&2; exit 2 ;;
	esac
done
make -s kmod >/dev/null
make -s -C userspace/cli >/dev/null
exec tools/vm --timeout 1800 --bin /usr/sbin/nginx --bin /usr/bin/curl -- \
	"sh tools/bench/serve-guest.sh $mib $reps"
