#!/bin/sh
# Sendfile / recv throughput benchmark (not a test): builds on the host,
# then one tools/vm run measures, for ChaCha20-Poly1305 and AES-128-GCM,
#   send: plain TCP, kTLS (tls.ko), plasmatic.ko (sendfile of a 256 MiB
#         tmpfs file over loopback TCP, 16 KiB records) and the userspace
#         engine (read + seal + send);
#   recv: kTLS and plasmatic.ko (a stream pre-sealed by the engine, written
#         raw, received with kernel decryption),
# and prints Markdown tables with MB/s and the ratio to kTLS.
#
#   tools/bench/sendfile.sh [--sweep|--tpl|--pace|--compare-ko PATH] [--no-build] [--wait SEC]
#                           [--reps N] [--mib N] [--framing detached|covered]
#
# --sweep     instead, run tools/bench/sweep.sh: time per record and per
#             byte of kTLS and plasmatic.ko at 16384, 4096 and 1024-byte
#             records (the analysis behind the table); --rows rx:ktls-nopad,
#             rx:plasmatic-nopad,... picks rows (sweep.sh)
# --tpl       instead, run tools/bench/tpl.sh: the sender's CPU per MiB in
#             each TPL mode 0..8, as a ratio to mode 0 (guest clock only)
# --pace      instead, run tools/bench/pace.sh: mode-0 throughput with the
#             TPL pacer attached to lo against without it.
# --compare-ko PATH
#             instead, run tools/bench/compare.sh: mode 0 sendfile and recv
#             (16 KiB records; --record N for recv of N-byte records and
#             send() of N bytes) of this tree's plasmatic.ko against the
#             module at PATH (e.g. built from an older commit in a git
#             worktree), swapped in the same guest between rows; × old
#             (defaults: 5 rounds, 128 MiB)
# --no-build  skip `make kmod` and `make -C tools/bench` (use what is built)
# --wait SEC  first wait up to SEC seconds (default 0) until no other qemu
#             runs on this host: the guest's vCPUs are host threads, and
#             other VMs slow runs by the guest's clock down by up to 2x
# Two tables come out: by the guest's clock (printed by the guest), and by
# the host CPU time of the vCPU running the measured side (sampled here at
# marks plbench prints around each timed part), which other VMs on the
# host do not distort.
# The other options go to tools/bench/guest.sh, which runs in the guest
# (defaults: 5 rounds, 256 MiB, detached framing; about 8 minutes).
# Under TCG the guest runs AEAD at tens of MB/s: compare ratios, not MB/s.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
build=1 wait=0 guest=tools/bench/guest.sh
# extra tools/vm options and guest script arguments (--compare-ko)
vmopts= gargs=
while [ $# -gt 0 ]; do
	case "$1" in
	--sweep) guest=tools/bench/sweep.sh; shift ;;
	--compare-ko)
		[ -r "$2" ] || { echo "sendfile.sh: --compare-ko: no file '$2'" >&2; exit 2; }
		ko=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
		guest=tools/bench/compare.sh vmopts="--bin $ko" gargs="--ko $ko"
		shift 2 ;;
	--tpl) guest=tools/bench/tpl.sh; shift ;;
	--pace) guest=tools/bench/pace.sh; shift ;;
	--no-build) build=0; shift ;;
	--wait) wait=$2; shift 2 ;;
	*) break ;;
	esac
done
if [ "$build" = 1 ]; then
	make -s kmod >/dev/null
	make -s -C tools/bench >/dev/null
fi

name=sendfile.sh
. tools/bench/hostlib.sh
wait_quiet "$wait"
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

# The guest's output streams through us.  At each "PLBENCH-MARK begin/end"
# (plbench --marks, printed around the timed part and followed by idle
# time) we read the CPU time the host gave each of the VM's vCPU threads
# (/proc/PID/task/TID/schedstat, ns): unlike the guest's clock it does not
# count the time other VMs hold the host's CPUs.  "plbench spin" tells
# which thread runs vCPU 0 (the sender) and which vCPU 1 (the receiver).
fifo=$(mktemp -u)
mkfifo "$fifo"
hostres=$(mktemp)
# stdbuf: tools/vm's output filter must not hold lines back.
# shellcheck disable=SC2086
stdbuf -oL tools/vm --timeout 900 --mem 3072 $vmopts -- sh "$guest" $gargs "$@" >"$fifo" &
vmpid=$!

qpid=
# The qemu process below tools/vm.
find_qemu() {
	local p q
	for p in $(pgrep -x qemu-system-x86); do
		q=$p
		while [ "$q" -gt 1 ]; do
			[ "$q" = "$vmpid" ] && { echo "$p"; return; }
			q=$(awk '{ print $4 }' "/proc/$q/stat" 2>/dev/null || echo 1)
		done
	done
}
# "tid ns" for every thread of qemu.
snap() {
	local t a rest
	for t in /proc/"$qpid"/task/*; do
		read -r a rest <"$t/schedstat" 2>/dev/null && echo "${t##*/} $a"
	done
}
# Per-thread CPU ns between two snaps.
delta() { awk 'NR == FNR { a[$1] = $2; next } { print $1, $2 - a[$1] }' "$1" "$2"; }
s0=$(mktemp) s1=$(mktemp)
nspin=0 tid0= tid1= cpu0= cpu1= table= round=0
cr=$(printf '\r')
while IFS= read -r line; do
	line=${line%"$cr"}	# the serial console ends lines with CR LF
	case "$line" in
	"PLBENCH-MARK begin"*)
		[ -n "$qpid" ] || qpid=$(find_qemu)
		[ -n "$qpid" ] && snap >"$s0"
		continue ;;
	"PLBENCH-MARK end"*)
		[ -n "$qpid" ] || continue
		snap >"$s1"
		if [ "$nspin" -lt 2 ]; then
			# calibration: the thread that was busy
			busy=$(delta "$s0" "$s1" | sort -k2,2nr | head -n 1 | cut -d' ' -f1)
			if [ "$nspin" = 0 ]; then tid0=$busy; else tid1=$busy; fi
			nspin=$((nspin + 1))
		else
			cpu0=$(delta "$s0" "$s1" | awk -v t="$tid0" '$1 == t { printf "%.3f", $2 / 1e9 }')
			cpu1=$(delta "$s0" "$s1" | awk -v t="$tid1" '$1 == t { printf "%.3f", $2 / 1e9 }')
		fi
		continue ;;
	"PLBENCH-ROUND "*)
		round=${line#PLBENCH-ROUND }
		continue ;;
	"PLBENCH-TABLE "*)
		table=${line#PLBENCH-TABLE }
		continue ;;
	"RESULT "*)
		if [ -n "$cpu0" ] && [ -n "$cpu1" ]; then
			line="RESULT round=$round ${line#RESULT } host_cpu0=$cpu0 host_cpu1=$cpu1"
			echo "$line" >>"$hostres"
		fi
		cpu0= cpu1= ;;
	esac
	printf '%s\n' "$line"
done <"$fifo"
rc=0
wait "$vmpid" || rc=$?
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
rm -f "$fifo" "$s0" "$s1"

echo
echo "host before the run: $before; after it: $(host_load)"
awk '{ n++; if ($1 > 0) busy++; if ($1 > max) max = $1 }
     END { printf "other VMs ran during %d%% of the run (up to %d at once)\n",
		   n ? 100 * busy / n : 0, max }' "$samples"
rm -f "$samples"

# "PLBENCH-TABLE AWKFILE VAR=VALUE...": the guest's table, here by host CPU.
if [ -n "$table" ] && [ -n "$tid0" ] && [ -n "$tid1" ] && [ "$tid0" != "$tid1" ] &&
   [ -s "$hostres" ]; then
	set -- $table
	prog=$1
	shift
	vars=
	for a in "$@"; do
		vars="$vars -v $a"
	done
	echo
	echo "By host CPU time: the CPU time the host gave the vCPU that runs the" \
	     "measured side (vCPU 0: send, vCPU 1: recv) between the marks around the" \
	     "timed part; time other VMs held the host's CPUs does not count. Values are" \
	     "medians over the rounds; a × kTLS column is the median (min–max) over the" \
	     "rounds of the ratio to the kTLS run of the same direction, cipher and round."
	echo
	# shellcheck disable=SC2086
	awk $vars -v metric=host -f "$(dirname "$0")/stats.awk" -f "$prog" "$hostres"
elif [ -n "$table" ]; then
	echo "sendfile.sh: no host CPU table: the vCPU threads were not identified" >&2
	rc=1
fi
rm -f "$hostres"
exit $rc
