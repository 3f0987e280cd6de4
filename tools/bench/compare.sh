#!/bin/sh
# Runs inside the VM (tools/bench/sendfile.sh --compare-ko PATH starts it),
# from the repository root: plasmatic.ko of this tree against another build
# of it (PATH, e.g. the module of an older commit), in the same guest.
#
#   sh tools/bench/compare.sh --ko PATH [--reps N] [--mib N]
#                             [--framing detached|covered] [--record N]
#                             [--rows DIR:IMPL,...]
#
# Rows, as in guest.sh (no TPL option set: mode 0):
#   send: sendfile of a MiB-sized tmpfs file, received raw (16 KiB
#         records); with --record N below 16384, read() and send() of N
#         bytes at a time instead, one record each (plbench --write);
#   recv: a stream sealed by the engine in records of N content bytes
#         (default 16384; a multiple of 8, as plbench takes), written
#         raw, received with the module decrypting;
# each with this tree's module (impl plasmatic) and with PATH's (impl
# plasmatic-old), which are swapped (rmmod, insmod) before every row.
# Rows are interleaved (every other round in reverse order); the table
# gives MB/s and × old: the median (min–max) over the rounds of the ratio
# to the PATH module's run of the same direction, cipher and round.  Before
# the rounds each module's send rows are decoded and checked once (32 MiB).
# Exits non-zero if any step failed.
set -u
. "$(dirname "$0")/guestlib.sh"
ko_old=
record=16384
args=
while [ $# -gt 0 ]; do
	case "$1" in
	--ko) ko_old=$2; shift 2 ;;
	--record) record=$2; shift 2 ;;
	*) args="$args $1"; shift ;;
	esac
done
rows="tx:plasmatic tx:plasmatic-old rx:plasmatic rx:plasmatic-old"
# shellcheck disable=SC2086
bench_options compare.sh 5 128 $args
[ -r "$ko_old" ] || { echo "compare.sh: --ko PATH: no module at '$ko_old'" >&2; exit 2; }
# Below 16 KiB, send rows write (plbench reports them as tx-write).
[ "$record" -ge 16384 ] || rows=$(echo "$rows" | sed 's/tx:/tx-write:/g')

res=/tmp/plbench-compare.results
ciphers="chacha20-poly1305 aes-128-gcm"
loaded=
rc=0

need_bin compare.sh
load_aead
steer_rx || exit 1
spin_cpus || exit 1

# use IMPL: have IMPL's module loaded (plasmatic: kmod/plasmatic.ko,
# plasmatic-old: $ko_old).  A socket closed just before may still hold the
# module for a moment: rmmod is retried.
use() {
	[ "$loaded" = "$1" ] && return 0
	if [ -n "$loaded" ]; then
		t=0
		until rmmod plasmatic 2>/dev/null; do
			t=$((t + 1))
			[ "$t" -lt 50 ] || { echo "compare.sh: rmmod plasmatic failed" >&2; return 1; }
			sleep 0.1
		done
		loaded=
	fi
	if [ "$1" = plasmatic ]; then
		insmod kmod/plasmatic.ko || return 1
	else
		insmod "$ko_old" || return 1
	fi
	loaded=$1
}

# run_as IMPL ARG...: run_marked ARG..., its RESULT lines saying impl=IMPL
# (for the host's table too: they stream to it, each line as it comes).
run_as() {
	as=$1
	shift
	"$bin" "$@" --framing "$framing" --marks 2>&1 |
		awk -v i="$as" '{ sub(/ impl=plasmatic /, " impl=" i " "); print; fflush() }' |
		tee /tmp/plbench.out
	grep -q '^RESULT ' /tmp/plbench.out
}

verified=ok
"$bin" mkfile "$file" 32 || exit 1
for i in plasmatic plasmatic-old; do
	use "$i" || exit 1
	for c in $ciphers; do
		if ! "$bin" tx plasmatic "$c" "$file" --verify --framing "$framing"; then
			echo "FAILED check dir=tx impl=$i cipher=$c"
			verified=FAILED
			rc=1
		fi
	done
done

"$bin" mkfile "$file" "$mib" || exit 1
: >"$res"
# round R ORDER: every cipher and row, rows in ORDER, once.
round() {
	n=$1 order=$2
	for c in $ciphers; do
		for row in $order; do
			d=${row%%:*} i=${row#*:}
			if ! use "$i"; then
				rc=1
				continue
			fi
			if [ "$d" = tx-write ]; then
				d=tx
				set -- "$file" --write
			elif [ "$d" = tx ]; then
				set -- "$file"
			else
				set -- "$mib" --stream \
					"/tmp/plbench-plasmatic-$c-$framing-$mib-$record.stream"
			fi
			set -- "$@" --record "$record"
			if ! run_as "$i" "$d" plasmatic "$c" "$@"; then
				echo "FAILED dir=$d impl=$i cipher=$c"
				rc=1
				continue
			fi
			sed -n "s/^RESULT /RESULT round=$n /p" /tmp/plbench.out >>"$res"
		done
	done
}
rounds round

echo
echo "kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) vCPUs;" \
     "$reps rounds, $mib MiB per run, $record-byte records, EEM 80 bytes, $framing framing;" \
     "measurements took $((end - start)) s"
echo "plasmatic.ko: this tree's kmod/plasmatic.ko; old: $ko_old;" \
     "send streams decoded and checked (32 MiB pre-round): $verified."
echo
echo "By the guest's clock (MB/s of the timed loop, median over the rounds)."
echo
awk -v rows="$rows" -v ciphers="$ciphers" -v reps="$reps" -v metric=wall \
    -v base=plasmatic-old -f tools/bench/stats.awk -f tools/bench/table.awk "$res"
echo "PLBENCH-TABLE tools/bench/table.awk rows=$(echo $rows | tr ' ' ,)" \
     "ciphers=$(echo $ciphers | tr ' ' ,) reps=$reps base=plasmatic-old"
exit $rc
