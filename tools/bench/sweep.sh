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
# Rows rx:ktls-nopad and rx:plasmatic-nopad (not in the default) receive
# with TLS_RX_EXPECT_NO_PAD and PLASMATIC_RX_EXPECT_NO_PAD.
#
#   sh tools/bench/sweep.sh [--reps N] [--mib N] [--framing detached|covered]
#                           [--rows DIR:IMPL,DIR:IMPL,...]
set -u
. "$(dirname "$0")/guestlib.sh"
rows="tx-write:tcp tx-write:ktls tx-write:plasmatic rx:ktls rx:plasmatic"
bench_options sweep.sh 3 32 "$@"

res=/tmp/plbench-sweep.results
ciphers="chacha20-poly1305 aes-128-gcm"
sizes="16384 4096 1024"
rc=0

need_bin sweep.sh
modprobe tls || exit 1
insmod kmod/plasmatic.ko || exit 1
load_aead
steer_rx || exit 1
spin_cpus || exit 1
"$bin" mkfile "$file" "$mib" || exit 1
: >"$res"
# round R ORDER: every cipher, size and row, rows in ORDER, once.
round() {
	order=$2
	for c in $ciphers; do
		for s in $sizes; do
			for row in $order; do
				d=${row%%:*} i=${row#*:} nopad=
				case $i in
				*-nopad) i=${i%-nopad} nopad=--no-pad ;;
				esac
				if [ "$d" = rx ]; then
					set -- rx "$i" "$c" "$mib" --stream \
						"/tmp/plbench-$i-$c-$framing-$mib-$s.stream" \
						$nopad
				else
					set -- tx "$i" "$c" "$file" --write
				fi
				if ! run_marked "$@" --record "$s"; then
					echo "FAILED $row $c $s"
					rc=1
					continue
				fi
				grep '^RESULT ' /tmp/plbench.out >>"$res"
			done
		done
	done
}
rounds round

echo
echo "kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) vCPUs;" \
     "$reps rounds, $mib MiB per run, plasmatic EEM 80 bytes, $framing framing;" \
     "measurements took $((end - start)) s"
echo "By the guest's clock: time per record in µs (median of the rounds) and" \
     "the least-squares fit µs/record = fixed + per_KiB * KiB of content."
echo
table tools/bench/sweep.awk sizes "$sizes"
exit $rc
