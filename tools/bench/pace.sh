#!/bin/sh
# Runs inside the VM (tools/bench/sendfile.sh --pace starts it): what the
# TPL pacer (plasmatic shape, bpf/pace.bpf.c + fq) costs a mode-0 bulk
# transfer.  plasmatic.ko sends the same file by sendfile over loopback,
# ChaCha20-Poly1305, alternately without the pacer and with it attached to
# lo (fq as lo's root, the program on its egress), and the table gives the
# throughput of each (median of the rounds) and their ratio per round
# (median, min-max).  The order alternates every other round.
#
#   sh tools/bench/pace.sh [--reps N] [--mib N] [--framing detached|covered]
set -u
. "$(dirname "$0")/guestlib.sh"
bench_options pace.sh 5 64 "$@"

res=/tmp/plbench-pace.results
cli=build/userspace/plasmatic
rows="off on"
rc=0

need_bin pace.sh
# PLASMATIC_KO: another build of the module (build/k7x/... on a 7.x guest).
insmod "${PLASMATIC_KO:-kmod/plasmatic.ko}" || exit 1
load_aead
steer_rx || exit 1
"$bin" mkfile "$file" "$mib" || exit 1
: >"$res"
round() {
	for p in $2; do
		if [ "$p" = on ]; then
			"$cli" shape --dev lo || { echo "FAILED: shape --dev lo"; rc=1; return; }
		else
			"$cli" shape --dev lo --off || { echo "FAILED: shape --off"; rc=1; return; }
		fi
		if ! "$bin" tx plasmatic chacha20-poly1305 "$file" --framing "$framing" \
		     >/tmp/plbench.out 2>&1 || ! grep -q '^RESULT ' /tmp/plbench.out; then
			cat /tmp/plbench.out
			echo "FAILED pacer $p"
			rc=1
			continue
		fi
		sed "s/^RESULT /RESULT round=$1 pacer=$p /" /tmp/plbench.out |
			grep '^RESULT ' | tee -a "$res"
	done
}
rounds round
"$cli" shape --dev lo --off

echo
echo "kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) vCPUs;" \
     "$reps rounds, $mib MiB by sendfile per run, mode 0, $framing framing;" \
     "measurements took $((end - start)) s."
echo
awk "$bench_awk"'
/^RESULT / { mb[field("pacer"), field("round")] = field("mbps"); rounds[field("round")] = 1 }
END {
	n = 0
	for (r in rounds) {
		if (!((("off", r) in mb) && (("on", r) in mb)))
			continue
		n++
		off[n] = mb["off", r]; on[n] = mb["on", r]; ratio[n] = mb["on", r] / mb["off", r]
		if (n == 1 || ratio[n] < lo) lo = ratio[n]
		if (n == 1 || ratio[n] > hi) hi = ratio[n]
	}
	if (!n) { print "no complete round"; exit 1 }
	printf "| without pacer MB/s | with pacer MB/s | with / without |\n|---:|---:|---:|\n"
	printf "| %.1f | %.1f | %.3f (%.3f-%.3f) |\n", median(off, n), median(on, n),
	       median(ratio, n), lo, hi
}' "$res" || rc=1
exit $rc
