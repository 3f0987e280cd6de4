# Sourced by guest.sh and sweep.sh, which run inside the VM from the
# repository root: their options, the guest's setup, the rounds and the
# table.  Each script keeps its own policy on a failed step (the helpers
# return non-zero).

bin=build/bench/plbench
file=/tmp/plbench.dat

# bench_options NAME REPS MIB [ARG]...: reps, mib and framing from
# --reps N, --mib N and --framing detached|covered (defaults REPS, MIB and
# detached), and rows from --rows ROW,ROW,... (the script's own default
# otherwise); any other argument: a message and exit 2.
bench_options() {
	name=$1 reps=$2 mib=$3 framing=detached
	shift 3
	while [ $# -gt 0 ]; do
		case "$1" in
		--reps) reps=$2; shift 2 ;;
		--mib) mib=$2; shift 2 ;;
		--framing) framing=$2; shift 2 ;;
		--rows) rows=$(echo "$2" | tr , " "); shift 2 ;;
		*) echo "$name: unknown option '$1'" >&2; exit 2 ;;
		esac
	done
}

# need_bin NAME: exit 1 unless plbench is built.
need_bin() {
	[ -x "$bin" ] || { echo "$1: $bin missing: run make -C tools/bench" >&2; exit 1; }
}

# The AEAD implementations: what udev would load on a real machine for this
# CPU (there is no udev here), so that both modules get the SIMD ones.
load_aead() {
	for m in aesni_intel ghash_clmulni_intel chacha_x86_64 poly1305_x86_64 \
		 chacha20poly1305 gcm; do
		modprobe "$m" 2>/dev/null
	done
}

# Loopback receive processing (softirq: TCP input, and the kTLS or
# plasmatic parser behind data_ready) runs on CPU 1, the receiver's, not on
# the sending CPU: each side's cost stays on its own CPU.
steer_rx() {
	echo 2 >/sys/class/net/lo/queues/rx-0/rps_cpus
}

# For the host (sendfile.sh): one second busy on CPU 0, then on CPU 1, tells
# which of its threads runs which vCPU.
spin_cpus() {
	"$bin" spin 0 1 && "$bin" spin 1 1
}

# rounds FN: FN R ORDER for each round R from 1 to reps, ORDER being $rows,
# reversed in every other round (rows interleaved); start and end: the
# loop's wall clock in seconds.  Then removes $file and the recv streams.
rounds() {
	rrows=
	for row in $rows; do
		rrows="$row $rrows"
	done
	start=$(date +%s)
	r=1
	while [ "$r" -le "$reps" ]; do
		echo "PLBENCH-ROUND $r"
		if [ $((r % 2)) -eq 0 ]; then
			"$1" "$r" "$rrows"
		else
			"$1" "$r" "$rows"
		fi
		r=$((r + 1))
	done
	end=$(date +%s)
	rm -f "$file" /tmp/plbench-*.stream
}

# run_marked ARG...: plbench ARG... --framing $framing --marks, its output
# streamed (tee), not captured: the host acts on the marks; kept in
# /tmp/plbench.out.  Fails if it printed no RESULT line.
run_marked() {
	"$bin" "$@" --framing "$framing" --marks 2>&1 | tee /tmp/plbench.out
	grep -q '^RESULT ' /tmp/plbench.out
}

# table AWK NAME VALUE: the Markdown table of the results in $res by the awk
# script AWK (given rows, ciphers, NAME=VALUE and metric=wall), then the
# line by which the host makes its own table with AWK (sendfile.sh).
table() {
	awk -v rows="$rows" -v ciphers="$ciphers" -v "$2=$3" -v metric=wall \
	    -f tools/bench/stats.awk -f "$1" "$res"
	echo "PLBENCH-TABLE $1 rows=$(echo $rows | tr ' ' ,)" \
	     "ciphers=$(echo $ciphers | tr ' ' ,) $2=$(echo $3 | tr ' ' ,)"
}

# The functions of tools/bench/stats.awk (field, median, median_of) for a
# script's own awk program: awk "$bench_awk"'/^RESULT / { ... }' FILE
bench_awk=$(cat "$(dirname "$0")/stats.awk")
