#!/bin/bash
# Run the libFuzzer targets built by `make -C fuzz` (build/fuzz/).
#
#   fuzz/run.sh short [TARGET...]   TAP: the SPEC seeds of fuzz_rx, the
#                                   regression inputs, then a short run of
#                                   each target (FUZZ_SECONDS, default 20 for
#                                   rx, 12 for the others); the fuzz suite
#   fuzz/run.sh long [TARGET...]    FUZZ_RUNS (default 10 million) executions
#                                   of each, one after the other, corpus kept
#                                   in build/fuzz/long/TARGET; summary in
#                                   build/fuzz/long-summary.txt; with
#                                   FUZZ_PART=NAME, work directory and log
#                                   get -NAME (parallel runs of one target)
#
# TARGET: rx psk keylog cli (default all).  A crash or sanitizer report
# leaves its input in build/fuzz/crashes/; keep it in fuzz/regressions/
# TARGET/ once the bug is fixed, and the short run replays it.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
B=build/fuzz
mode=${1:-}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(rx psk keylog cli)

# Per-target libFuzzer options.
opts() {
	case "$1" in
	rx) echo "-max_len=20000" ;;
	psk) echo "-max_len=2048" ;;
	keylog) echo "-max_len=2048" ;;
	cli) echo "-max_len=1024 -close_fd_mask=3" ;;
	esac
}

n=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
notok() { n=$((n + 1)); echo "not ok $n $*"; rc=1; }

# The decoder's verdict on each SPEC seed equals the vector's.
spec_seeds() {
	local name want got bad=0 count=0
	while read -r name want; do
		count=$((count + 1))
		got=$(PL_FUZZ_RX_REPORT=1 "$B/fuzz_rx" "$B/corpus/rx/$name" 2>&1 |
			sed -n 's/^fuzz_rx: cfg=[^ ]* //p' | head -n 1)
		if [ "$got" != "$want" ]; then
			echo "# $name: got '$got', SPEC says '$want'"
			bad=1
		fi
	done < "$B/corpus/rx.expect"
	if [ $bad -eq 0 ] && [ $count -gt 0 ]; then
		ok "fuzz_rx: $count seeds from SPEC.md vectors decode as the vectors say"
	else
		notok "fuzz_rx: seeds from SPEC.md vectors decode as the vectors say"
	fi
}

regressions() {
	local t=$1 dir=fuzz/regressions/$1 files log
	files=("$dir"/*)
	[ -e "${files[0]}" ] || return 0
	log=$B/logs/regressions-$t.log
	# shellcheck disable=SC2046
	if "$B/fuzz_$t" $(opts "$t") "${files[@]}" >"$log" 2>&1; then
		ok "fuzz_$t: ${#files[@]} regression input(s) in $dir"
	else
		tail -n 40 "$log" | sed 's/^/# /'
		notok "fuzz_$t: regression input(s) in $dir"
	fi
}

# run TARGET LABEL LIBFUZZER-ARGS...: one fuzzing run from the seeds.
run() {
	local t=$1 label=$2 work log runs secs
	shift 2
	work=$B/$mode/$t${FUZZ_PART:+-$FUZZ_PART}
	log=$B/logs/$mode-$t${FUZZ_PART:+-$FUZZ_PART}.log
	mkdir -p "$work" "$B/crashes"
	secs=$SECONDS
	# shellcheck disable=SC2046
	nice -n "${FUZZ_NICE:-0}" "$B/fuzz_$t" $(opts "$t") "$@" -timeout=30 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$B/crashes/$t-" "$work" "$B/corpus/$t" \
		>"$log" 2>&1
	local frc=$?
	secs=$((SECONDS - secs))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if grep -q 'libFuzzer: run interrupted' "$log" &&
		! grep -qE 'ERROR: (Address|Undefined|Leak)Sanitizer|runtime error:|check failed|deadly signal' "$log"; then
		# Stopped with SIGINT before its count: say how far it got.
		notok "fuzz_$t: $label: interrupted after ${runs:-?} executions in ${secs}s (no crash, no sanitizer report until then)"
		echo "fuzz_$t: interrupted after ${runs:-?} executions in ${secs}s, corpus $(ls "$work" | wc -l) inputs, no crash until then" >>"$summary"
	elif [ $frc -eq 0 ] && ! grep -qE 'ERROR: (Address|Undefined|Leak)Sanitizer|runtime error:|check failed' "$log"; then
		ok "fuzz_$t: $label: ${runs:-?} executions in ${secs}s, no crash, no sanitizer report"
		echo "fuzz_$t: ${runs:-?} executions in ${secs}s, corpus $(ls "$work" | wc -l) inputs, ok" >>"$summary"
	else
		grep -E -A 30 'ERROR:|runtime error:|check failed|==ABORTING|deadly signal' "$log" | head -n 60 | sed 's/^/# /'
		notok "fuzz_$t: $label: crash or sanitizer report (log $log, input in $B/crashes/)"
		echo "fuzz_$t: ${runs:-?} executions in ${secs}s: FAILED (log $log)" >>"$summary"
	fi
}

for t in "${targets[@]}"; do
	if [ ! -x "$B/fuzz_$t" ]; then
		echo "run.sh: $B/fuzz_$t missing: make fuzz" >&2
		exit 2
	fi
done
mkdir -p "$B/logs"
rc=0
case "$mode" in
short)
	summary=$B/logs/short-summary.txt
	: >"$summary"
	for t in "${targets[@]}"; do
		rm -rf "${B:?}/short/$t"
		[ "$t" = rx ] && spec_seeds
		regressions "$t"
		if [ -n "${FUZZ_SECONDS:-}" ]; then s=$FUZZ_SECONDS
		elif [ "$t" = rx ]; then s=20
		else s=12; fi
		run "$t" "${s}s from the seed corpus" -max_total_time="$s" -seed=1
	done
	;;
long)
	summary=$B/long-summary.txt
	echo "# $(date -u '+%F %T') UTC, commit $(git rev-parse --short HEAD 2>/dev/null)" >>"$summary"
	for t in "${targets[@]}"; do
		run "$t" "${FUZZ_RUNS:-10000000} executions" -runs="${FUZZ_RUNS:-10000000}"
	done
	;;
*)
	echo "usage: fuzz/run.sh short|long [rx psk keylog cli]" >&2
	exit 2
	;;
esac
echo "1..$n"
exit $rc
