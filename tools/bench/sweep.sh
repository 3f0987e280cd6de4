#!/bin/sh
# Runs inside the VM (tools/bench/sendfile.sh --sweep starts it): where the
# time goes, per record and per byte.  For record sizes of 16384, 4096 and
# 1024 content bytes it measures
#   recv:  kTLS and plasmatic.ko (streams sealed by the engine)
#   send:  plain TCP, kTLS and plasmatic.ko with read + send of one
#          record per send (plbench --write; sendfile always makes 16 KiB
#          records)
# and fits, per row, time per record = fixed + per_byte * size (least
# squares over the three sizes, medians of the rounds).
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
"$bin" mkfile "$file" "$mib" || exit 1
: >"$res"
start=$(date +%s)
r=1
while [ "$r" -le "$reps" ]; do
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
				out=$("$bin" "$@" --record "$s" --framing "$framing" 2>&1)
				st=$?
				echo "$out"
				if [ "$st" -ne 0 ]; then
					echo "FAILED $row $c $s"
					rc=1
					continue
				fi
				echo "$out" | sed -n "s/^RESULT /RESULT size=$s /p" >>"$res"
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
echo "Time per record in µs (median of the rounds) and the least-squares fit" \
     "µs/record = fixed + per_KiB * KiB of content."
echo
awk -v rows="$rows" -v ciphers="$ciphers" -v sizes="$sizes" '
function median(list,    n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	if (n % 2)
		return a[(n + 1) / 2]
	return (a[n / 2] + a[n / 2 + 1]) / 2
}
/^RESULT/ {
	delete f
	for (k = 2; k <= NF; k++) {
		split($k, kv, "=")
		f[kv[1]] = kv[2]
	}
	key = f["dir"] ":" f["impl"] ":" f["cipher"] ":" f["size"]
	us = f["secs"] / f["records"] * 1e6
	t[key] = (key in t) ? t[key] " " us : us
}
END {
	nr = split(rows, R, " ")
	nc = split(ciphers, C, " ")
	ns = split(sizes, S, " ")
	hdr = "| cipher | direction | implementation |"
	sep = "|---|---|---|"
	for (s = 1; s <= ns; s++) {
		hdr = hdr " µs/rec " S[s] " B |"
		sep = sep "---:|"
	}
	print hdr " fixed µs/rec | µs/KiB |"
	print sep "---:|---:|"
	for (c = 1; c <= nc; c++)
		for (r = 1; r <= nr; r++) {
			split(R[r], dr, ":")
			line = "| " C[c] " | " (dr[1] == "rx" ? "recv" : "send (read + send)") " | " dr[2] " |"
			n = sx = sy = sxx = sxy = 0
			for (s = 1; s <= ns; s++) {
				key = R[r] ":" C[c] ":" S[s]
				if (!(key in t)) {
					line = line " n/a |"
					continue
				}
				y = median(t[key])
				x = S[s] / 1024
				line = line sprintf(" %.1f |", y)
				n++; sx += x; sy += y; sxx += x * x; sxy += x * y
			}
			if (n >= 2 && n * sxx - sx * sx > 0) {
				a = (n * sxy - sx * sy) / (n * sxx - sx * sx)
				b = (sy - a * sx) / n
				line = line sprintf(" %.1f | %.2f |", b, a)
			} else {
				line = line " n/a | n/a |"
			}
			print line
		}
}' "$res"
exit $rc
