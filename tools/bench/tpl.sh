#!/bin/sh
# Runs inside the VM (tools/bench/sendfile.sh --tpl starts it): what TPL
# shaping (SPEC 9) costs the sender.  For each mode 0..8, plasmatic.ko
# sends the same file by sendfile with PLASMATIC_TPL_TX set to that mode
# (locked, a fixed seed), for ChaCha20-Poly1305 and AES-128-GCM, and the
# table gives per mode: records, mean content per record, wire bytes per
# application byte, the sender's CPU time per MiB delivered, and that CPU
# time as a ratio to mode 0 in the same round (median, min-max over the
# rounds).  Rows are interleaved and reversed every other round.
#
#   sh tools/bench/tpl.sh [--reps N] [--mib N] [--framing detached|covered]
set -u
. "$(dirname "$0")/guestlib.sh"
bench_options tpl.sh 3 4 "$@"

res=/tmp/plbench-tpl.results
ciphers="chacha20-poly1305 aes-128-gcm"
rows="0 1 2 3 4 5 6 7 8"
rc=0

need_bin tpl.sh
insmod kmod/plasmatic.ko || exit 1
load_aead
steer_rx || exit 1
"$bin" mkfile "$file" "$mib" || exit 1
: >"$res"
round() {
	for c in $ciphers; do
		for m in $2; do
			if ! "$bin" tx plasmatic "$c" "$file" --tpl-mode "$m" \
			     --framing "$framing" >/tmp/plbench.out 2>&1 ||
			   ! grep -q '^RESULT ' /tmp/plbench.out; then
				cat /tmp/plbench.out
				echo "FAILED mode $m $c"
				rc=1
				continue
			fi
			sed "s/^RESULT /RESULT round=$1 /" /tmp/plbench.out |
				grep '^RESULT ' | tee -a "$res"
		done
	done
}
rounds round

echo
echo "kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) vCPUs;" \
     "$reps rounds, $mib MiB by sendfile per run, EEM 80 bytes, $framing framing;" \
     "measurements took $((end - start)) s.  CPU: the sending thread's, by the" \
     "guest's clock; x mode 0: median (min-max) of the per-round ratios."
echo
awk -v ciphers="$ciphers" "$bench_awk"'
/^RESULT / {
	r = field("round"); c = field("cipher"); m = field("tpl_mode")
	k = c SUBSEP m
	cpu[k, r] = field("cpu_send") / (field("bytes") / 1048576)
	recs[k] = field("records"); bytes[k] = field("bytes"); wire[k] = field("wire")
	rounds[r] = 1; modes[m] = 1
}
END {
	nc = split(ciphers, cs, " ")
	printf "| mode | records | content/record | wire/app bytes |"
	for (i = 1; i <= nc; i++)
		printf " %s ms CPU/MiB | × mode 0 |", cs[i]
	printf "\n|---|---|---|---|"
	for (i = 1; i <= nc; i++)
		printf "---|---|"
	printf "\n"
	for (m = 0; m <= 8; m++) {
		if (!(m in modes))
			continue
		k = cs[1] SUBSEP m
		printf "| %d | %d | %.0f | %.2f |", m, recs[k], bytes[k] / recs[k], wire[k] / bytes[k]
		for (i = 1; i <= nc; i++) {
			n = 0; nr = 0; lo = ""; hi = ""
			for (r in rounds) {
				v = cpu[cs[i] SUBSEP m, r]; b = cpu[cs[i] SUBSEP 0, r]
				if (v == "")
					continue
				x[++n] = v
				if (b > 0) {
					q = v / b; y[++nr] = q
					if (lo == "" || q < lo) lo = q
					if (hi == "" || q > hi) hi = q
				}
			}
			printf " %.1f |", n ? 1000 * median(x, n) : 0
			if (nr)
				printf " %.2f (%.2f–%.2f) |", median(y, nr), lo, hi
			else
				printf " – |"
		}
		printf "\n"
	}
}' "$res"
exit $rc
