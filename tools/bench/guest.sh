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
reps=5 mib=256 framing=detached
while [ $# -gt 0 ]; do
	case "$1" in
	--reps) reps=$2; shift 2 ;;
	--mib) mib=$2; shift 2 ;;
	--framing) framing=$2; shift 2 ;;
	*) echo "guest.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
done

bin=build/bench/plbench
file=/tmp/plbench.dat
res=/tmp/plbench.results
ciphers="chacha20-poly1305 aes-128-gcm"
# direction:implementation, in table order
rows="tx:tcp tx:ktls tx:plasmatic tx:engine rx:ktls rx:plasmatic"
rrows="rx:plasmatic rx:ktls tx:engine tx:plasmatic tx:ktls tx:tcp"
rc=0

if [ ! -x "$bin" ]; then
	echo "guest.sh: $bin missing: run make -C tools/bench" >&2
	exit 1
fi
modprobe tls || rc=1
plasmatic=loaded
if ! insmod kmod/plasmatic.ko; then
	plasmatic="not loaded (insmod kmod/plasmatic.ko failed)"
	rc=1
fi
# The AEAD implementations: what udev would load on a real machine for this
# CPU (there is no udev here), so that both modules get the SIMD ones.
for m in aesni_intel ghash_clmulni_intel chacha_x86_64 poly1305_x86_64 \
	 chacha20poly1305 gcm; do
	modprobe "$m" 2>/dev/null
done

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
start=$(date +%s)
r=1
while [ "$r" -le "$reps" ]; do
	order=$rows
	[ $((r % 2)) -eq 0 ] && order=$rrows
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
			out=$("$bin" "$d" "$i" "$c" "$@" --framing "$framing" 2>&1)
			st=$?
			echo "$out"
			if [ "$st" -ne 0 ]; then
				echo "FAILED dir=$d impl=$i cipher=$c"
				rc=1
				continue
			fi
			echo "$out" | sed -n "s/^RESULT /RESULT round=$r /p" >>"$res"
		done
	done
	r=$((r + 1))
done
end=$(date +%s)
rm -f "$file" /tmp/plbench-*.stream

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
     "receiver on CPU 1; plasmatic: EEM 80 bytes, $framing framing;" \
     "plasmatic.ko $plasmatic; kernel AEAD: $drivers;" \
     "send streams decoded and checked (32 MiB pre-round): $verified."
echo "MB/s: median over the rounds, 10^6 bytes of file content per second." \
     "× kTLS: median (min–max) over the rounds of the ratio to the kTLS run of" \
     "the same direction, cipher and round, which runs next to it."
echo
awk -v rows="$rows" -v ciphers="$ciphers" -v reps="$reps" '
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
function lo(list,    n, a, i, m) {
	n = split(list, a, " ")
	for (m = a[1]; i++ < n;) if (a[i] + 0 < m + 0) m = a[i]
	return m
}
function hi(list,    n, a, i, m) {
	n = split(list, a, " ")
	for (m = a[1]; i++ < n;) if (a[i] + 0 > m + 0) m = a[i]
	return m
}
function add(arr, key, val) {
	arr[key] = (key in arr) ? arr[key] " " val : val
}
/^RESULT/ {
	delete f
	for (k = 2; k <= NF; k++) {
		split($k, kv, "=")
		f[kv[1]] = kv[2]
	}
	key = f["dir"] ":" f["impl"] ":" f["cipher"]
	add(v, key, f["mbps"])
	m[key ":" f["round"]] = f["mbps"]
}
END {
	name["tx:tcp"] = "send | plain TCP (sendfile)"
	name["tx:ktls"] = "send | kTLS, tls.ko (sendfile)"
	name["tx:plasmatic"] = "send | plasmatic.ko (sendfile)"
	name["tx:engine"] = "send | userspace engine (read + seal + send)"
	name["rx:ktls"] = "recv | kTLS, tls.ko"
	name["rx:plasmatic"] = "recv | plasmatic.ko"
	cname["chacha20-poly1305"] = "ChaCha20-Poly1305"
	cname["aes-128-gcm"] = "AES-128-GCM"
	nr = split(rows, R, " ")
	nc = split(ciphers, C, " ")
	hdr = "| direction | implementation |"
	sep = "|---|---|"
	for (c = 1; c <= nc; c++) {
		hdr = hdr " " cname[C[c]] " MB/s | × kTLS |"
		sep = sep "---:|---:|"
	}
	print hdr
	print sep
	for (r = 1; r <= nr; r++) {
		split(R[r], dr, ":")
		line = "| " name[R[r]] " |"
		for (c = 1; c <= nc; c++) {
			key = R[r] ":" C[c]
			base = dr[1] ":ktls:" C[c]
			if (!(key in v)) {
				line = line " n/a | n/a |"
				continue
			}
			# ratio to the kTLS run of the same round (run next to it)
			delete q
			for (i = 1; i <= reps; i++)
				if ((key ":" i) in m && (base ":" i) in m)
					add(q, "x", m[key ":" i] / m[base ":" i])
			if (!("x" in q))
				ratio = "n/a"
			else if (reps == 1 || key == base)
				ratio = sprintf("%.2f", median(q["x"]))
			else
				ratio = sprintf("%.2f (%.2f–%.2f)", median(q["x"]),
						lo(q["x"]), hi(q["x"]))
			line = line sprintf(" %.1f | %s |", median(v[key]), ratio)
		}
		print line
	}
}' "$res"
exit $rc
