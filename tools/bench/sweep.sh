#!/bin/sh
# Runs inside the VM (tools/bench/sendfile.sh --sweep starts it): where the
# time goes, per record and per byte.  For record sizes of 16384, 4096 and
# 1024 content bytes it measures
#   recv:  kTLS and plasmatic.ko (streams sealed by the engine)
#   send:  plain TCP, kTLS and plasmatic.ko with read + send of one
#          record per send (plbench --write; sendfile always makes 16 KiB
#          records)
# and fits, per row, time per record = fixed + per_byte * size (least
# squares over the three sizes, medians of the rounds).  Like guest.sh:
# sender on CPU 0, receiver on CPU 1, loopback receive processing on CPU 1
# (RPS), and marks around each timed part for the host's CPU-time table.
#
#   sh tools/bench/sweep.sh [--reps N] [--mib N] [--framing detached|covered]
set -u
reps=3 mib=32 framing=detached
while [ $# -gt 0 ]; do
	case "$1" in
	--reps) reps=$2; shift 2 ;;
	--mib) mib=$2; shift 2 ;;
	--framing) framing=$2; shift 2 ;;
	*) echo "sweep.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
done

bin=build/bench/plbench
file=/tmp/plbench.dat
res=/tmp/plbench-sweep.results
ciphers="chacha20-poly1305 aes-128-gcm"
sizes="16384 4096 1024"
rows="tx-write:tcp tx-write:ktls tx-write:plasmatic rx:ktls rx:plasmatic"
rrows="rx:plasmatic rx:ktls tx-write:plasmatic tx-write:ktls tx-write:tcp"
rc=0

[ -x "$bin" ] || { echo "sweep.sh: $bin missing: run make -C tools/bench" >&2; exit 1; }
modprobe tls || exit 1
insmod kmod/plasmatic.ko || exit 1
for m in aesni_intel ghash_clmulni_intel chacha_x86_64 poly1305_x86_64 \
	 chacha20poly1305 gcm; do
	modprobe "$m" 2>/dev/null
done
echo 2 >/sys/class/net/lo/queues/rx-0/rps_cpus || exit 1
"$bin" spin 0 1 && "$bin" spin 1 1 || exit 1
"$bin" mkfile "$file" "$mib" || exit 1
: >"$res"
start=$(date +%s)
r=1
while [ "$r" -le "$reps" ]; do
	echo "PLBENCH-ROUND $r"
	order=$rows
	[ $((r % 2)) -eq 0 ] && order=$rrows
	for c in $ciphers; do
		for s in $sizes; do
			for row in $order; do
				d=${row%%:*} i=${row#*:}
				if [ "$d" = rx ]; then
					set -- rx "$i" "$c" "$mib" --stream \
						"/tmp/plbench-$i-$c-$framing-$mib-$s.stream"
				else
					set -- tx "$i" "$c" "$file" --write
				fi
				# Streamed (tee): the host acts on the marks.
				"$bin" "$@" --record "$s" --framing "$framing" --marks 2>&1 |
					tee /tmp/plbench.out
				if ! grep -q '^RESULT ' /tmp/plbench.out; then
					echo "FAILED $row $c $s"
					rc=1
					continue
				fi
				grep '^RESULT ' /tmp/plbench.out >>"$res"
			done
		done
	done
	r=$((r + 1))
done
end=$(date +%s)
rm -f "$file" /tmp/plbench-*.stream

echo
echo "kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) vCPUs;" \
     "$reps rounds, $mib MiB per run, plasmatic EEM 80 bytes, $framing framing;" \
     "measurements took $((end - start)) s"
echo "By the guest's clock: time per record in µs (median of the rounds) and" \
     "the least-squares fit µs/record = fixed + per_KiB * KiB of content."
echo
awk -v rows="$rows" -v ciphers="$ciphers" -v sizes="$sizes" -v metric=wall \
    -f tools/bench/sweep.awk "$res"
# For the host's table (sendfile.sh).
echo "PLBENCH-TABLE tools/bench/sweep.awk rows=$(echo $rows | tr ' ' ,)" \
     "ciphers=$(echo $ciphers | tr ' ' ,) sizes=$(echo $sizes | tr ' ' ,)"
exit $rc
