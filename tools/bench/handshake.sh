#!/bin/sh
# Handshake benchmark (not a test): full TLS 1.3 handshakes per second,
# libplasmatic with its upgrade against plain OpenSSL on the same ECDSA
# P-256 certificate with X25519 (build/bench/handshake, see
# tools/bench/handshake.c), in one run each:
#   host   userspace datapath (no module on the host), 1 and 2 pairs of
#          client/server threads (latency-bound and both CPUs busy);
#   VM     kernel datapath (plasmatic.ko under tools/vm), then the userspace
#          datapath in the same guest for comparison.  TCG: every rate is
#          tens of times lower than on the host; compare ratios.
# Each prints its rounds and a RESULT line: ratio (plasmatic/openssl
# handshakes per second, the median over the rounds, with its quartiles),
# cpu_ratio (the same for CPU time per handshake of the whole process), and
# the median rates and CPU microseconds per handshake.
#
#   tools/bench/handshake.sh [--no-build] [--wait SEC] [--host-only | --vm-only]
#                            [-- handshake options for every run]
#
# --no-build  use what is built (build/bench/handshake, kmod/plasmatic.ko)
# --wait SEC  first wait up to SEC seconds (default 600) until no other qemu
#             runs on this host (they take the CPUs the measurement needs);
#             0: do not wait.  The host load is printed before and after.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
build=1 wait=600 host=1 vm=1
while [ $# -gt 0 ]; do
	case "$1" in
	--no-build) build=0; shift ;;
	--wait) wait=$2; shift 2 ;;
	--host-only) vm=0; shift ;;
	--vm-only) host=0; shift ;;
	--) shift; break ;;
	*) echo "handshake.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
done
if [ "$build" = 1 ]; then
	make -s -C userspace/lib >/dev/null
	make -s -f tools/bench/handshake.mk >/dev/null
	[ "$vm" = 1 ] && make -s kmod >/dev/null
fi
bin=build/bench/handshake
[ -x "$bin" ] || { echo "handshake.sh: $bin missing (make -f tools/bench/handshake.mk)" >&2; exit 1; }

name=handshake.sh
. tools/bench/hostlib.sh
wait_quiet "$wait"
echo "host before: $(host_load)"
rc=0
if [ "$host" = 1 ]; then
	for conc in 1 2; do
		echo
		echo "== host, userspace datapath, $conc pair(s)"
		"$bin" --datapath userspace --conc "$conc" "$@" || rc=1
	done
fi
if [ "$vm" = 1 ]; then
	echo
	echo "== VM (tools/vm, TCG), kernel datapath, then userspace datapath"
	# shellcheck disable=SC2086
	tools/vm --timeout 1800 -- "insmod kmod/plasmatic.ko && \
		$bin --datapath kernel --n 50 --rounds 21 $* && echo && \
		$bin --datapath userspace --n 50 --rounds 21 $*" || rc=1
fi
echo
echo "host after: $(host_load)"
exit $rc
