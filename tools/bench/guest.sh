#!/bin/sh
# Runs inside the VM (tools/bench/sendfile.sh starts it with tools/vm), from
# the repository root: every measurement of the sendfile benchmark with
# build/bench/plbench, then a Markdown table on stdout.
#
#   sh tools/bench/guest.sh [--reps N] [--mib N] [--framing detached|covered]
#
# Each row is measured N times (default 5), rows interleaved (every other
# round in reverse order), and the median is reported.  The recv streams are
# sealed once per cipher into tmpfs and reused.  Before the rounds, every
# send row runs once untimed on 32 MiB with --verify (wire bytes decoded and
# checked); recv rows always check the plaintext.  Exits non-zero if any
# measurement or check failed.
set -u
. "$(dirname "$0")/guestlib.sh"
bench_options guest.sh 5 256 "$@"

res=/tmp/plbench.results
ciphers="chacha20-poly1305 aes-128-gcm"
# direction:implementation, in table order
rows="tx:tcp tx:ktls tx:plasmatic tx:engine rx:ktls rx:plasmatic"
rc=0

need_bin guest.sh
modprobe tls || rc=1
plasmatic=loaded
if ! insmod kmod/plasmatic.ko; then
	plasmatic="not loaded (insmod kmod/plasmatic.ko failed)"
	rc=1
fi
load_aead
steer_rx || rc=1
spin_cpus || rc=1

# Before the timed rounds, and not timed: every send row once on a 32 MiB
# file with --verify (the receiver keeps the wire bytes and decodes them:
# kTLS records with OpenSSL, plasmatic records with the engine).
verified=ok
"$bin" mkfile "$file" 32 || exit 1
for c in $ciphers; do
	for i in tcp ktls plasmatic engine; do
		if [ "$i" = plasmatic ] && [ "$plasmatic" != loaded ]; then
			continue
		fi
		if ! "$bin" tx "$i" "$c" "$file" --verify --framing "$framing"; then
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
			if [ "$i" = plasmatic ] && [ "$plasmatic" != loaded ]; then
				continue
			fi
			if [ "$d" = tx ]; then
				set -- "$file"
			else
				set -- "$mib" --stream "/tmp/plbench-$i-$c-$framing-$mib.stream"
			fi
			if ! run_marked "$d" "$i" "$c" "$@"; then
				echo "FAILED dir=$d impl=$i cipher=$c"
				rc=1
				continue
			fi
			sed -n "s/^RESULT /RESULT round=$n /p" /tmp/plbench.out >>"$res"
		done
	done
}
rounds round

# The kernel AEAD drivers in use: the highest priority one of each name.
drivers=$(awk -F' *: ' '
	$1 == "name" { n = $2 } $1 == "driver" { d = $2 }
	$1 == "priority" { p = $2 }
	$1 == "refcnt" && (n == "gcm(aes)" || n == "rfc7539(chacha20,poly1305)") && $2 > 0 &&
		(!(n in best) || p > best[n]) { best[n] = p; drv[n] = d }
	END { for (n in drv) { printf "%s%s = %s", sep, n, drv[n]; sep = ", " } }' /proc/crypto)

echo
echo "kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) vCPUs," \
     "$(if dmesg | grep -q 'Hypervisor detected: KVM'; then echo KVM; else echo 'qemu TCG'; fi);" \
     "$reps rounds, measurements took $((end - start)) s"
echo "$mib MiB file in tmpfs, 16 KiB records, loopback TCP, sender on CPU 0 and" \
     "receiver on CPU 1 (loopback receive processing steered to CPU 1 by RPS); plasmatic: EEM 80 bytes, $framing framing;" \
     "plasmatic.ko $plasmatic; kernel AEAD: $drivers;" \
     "send streams decoded and checked (32 MiB pre-round): $verified."
echo
echo "By the guest's clock (wall time of the timed loop; disturbed when other" \
     "VMs take the host's CPUs). MB/s: median over the rounds, 10^6 bytes of file" \
     "content per second. × kTLS: median (min–max) over the rounds of the ratio" \
     "to the kTLS run of the same direction, cipher and round, which runs next to it."
echo
table tools/bench/table.awk reps "$reps"
exit $rc
