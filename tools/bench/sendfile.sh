#!/bin/sh
# Sendfile / recv throughput benchmark (not a test): builds on the host,
# then one tools/vm run measures, for ChaCha20-Poly1305 and AES-128-GCM,
#   send: plain TCP, kTLS (tls.ko), plasmatic.ko (sendfile of a 256 MiB
#         tmpfs file over loopback TCP, 16 KiB records) and the userspace
#         engine (read + seal + send);
#   recv: kTLS and plasmatic.ko (a stream pre-sealed by the engine, written
#         raw, received with kernel decryption),
# and prints a Markdown table with MB/s and the ratio to kTLS.
#
#   tools/bench/sendfile.sh [--sweep] [--no-build] [--wait SEC] [--reps N] [--mib N]
#                           [--framing detached|covered]
#
# --sweep     instead, run tools/bench/sweep.sh: time per record and per
#             byte of kTLS and plasmatic.ko at 16384, 4096 and 1024-byte
#             records (the analysis behind the table)
# --no-build  skip `make kmod` and `make -C tools/bench` (use what is built)
# --wait SEC  first wait up to SEC seconds (default 600) until no other qemu
#             runs on this host: the guest's vCPUs are host threads, and
#             other VMs slow single runs down by up to 2x; 0: do not wait
# The other options go to tools/bench/guest.sh, which runs in the guest
# (defaults: 5 rounds, 256 MiB, detached framing; about 8 minutes).
# Under TCG the guest runs AEAD at tens of MB/s: compare ratios, not MB/s.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
build=1 wait=600 guest=tools/bench/guest.sh
while [ $# -gt 0 ]; do
	case "$1" in
	--sweep) guest=tools/bench/sweep.sh; shift ;;
	--no-build) build=0; shift ;;
	--wait) wait=$2; shift 2 ;;
	*) break ;;
	esac
done
if [ "$build" = 1 ]; then
	make -s kmod >/dev/null
	make -s -C tools/bench >/dev/null
fi

vms() { pgrep -c -x qemu-system-x86 || true; }
host_load() {
	echo "$(nproc) host CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(vms) other VMs"
}
waited=0
while [ "$(vms)" -gt 0 ] && [ "$waited" -lt "$wait" ]; do
	[ "$waited" = 0 ] && echo "sendfile.sh: waiting up to ${wait}s for $(vms) other VM(s) to finish" >&2
	sleep 10
	waited=$((waited + 10))
done
before=$(host_load)
# Sample, every 2 s while the VM runs, how many other VMs run alongside.
samples=$(mktemp)
(
	while :; do
		echo $(($(vms) - 1))
		sleep 2
	done
) >"$samples" &
sampler=$!
rc=0
tools/vm --timeout 900 --mem 3072 -- sh "$guest" "$@" || rc=$?
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
echo
echo "host before the run: $before; after it: $(host_load)"
awk '{ n++; if ($1 > 0) busy++; if ($1 > max) max = $1 }
     END { printf "other VMs ran during %d%% of the run (up to %d at once)%s\n",
		   n ? 100 * busy / n : 0, max,
		   busy ? ": rounds may be disturbed, see the ranges" : "" }' "$samples"
rm -f "$samples"
exit $rc
