#!/bin/sh
# Runs inside the VM: where a record's time goes in plasmatic.ko and in
# kTLS, by the function_graph tracer on a few per-record functions.
#
#   tools/vm --mem 2048 -- sh tools/bench/funcgraph.sh
#
# For each cipher, record size (16384: sendfile / 1024: read + send for
# send; streams of 16384 / 1024-byte records for recv) and implementation,
# one plbench run with tracing on, then per traced function: calls, mean
# duration (children included) and its share of the run's traced total.
# Tracing adds its own cost to every traced call (a few µs under TCG):
# compare functions, not these times with plbench's.
set -u
bin=build/bench/plbench
file=/tmp/plbench.dat
t=/sys/kernel/tracing
[ -x "$bin" ] || { echo "funcgraph.sh: $bin missing: run make -C tools/bench" >&2; exit 1; }
modprobe tls || exit 1
insmod kmod/plasmatic.ko || exit 1
for m in aesni_intel ghash_clmulni_intel chacha_x86_64 poly1305_x86_64 \
	 chacha20poly1305 gcm; do
	modprobe "$m" 2>/dev/null
done
echo 2 >/sys/class/net/lo/queues/rx-0/rps_cpus

# Per-record work of each side.  The copies: into the record (plasmatic
# send copies inline with copy_from_iter_nocache, which cannot be traced;
# kTLS sendmsg with sk_msg_memcopy_from_iter), out of TCP (pl_rx_actor;
# kTLS: tls_strp_copyin when it has to copy) and to the user
# (skb_copy_datagram_iter, both).  Send records come from the page_frag
# (sk_page_frag_refill, both).
funcs_tx_plasmatic="pl_tx_seal pl_cipher_seal pl_eem_seal get_random_bytes pl_tx_push sk_page_frag_refill"
funcs_tx_ktls="tls_push_record tls_tx_records sk_msg_memcopy_from_iter sk_msg_alloc"
funcs_rx_plasmatic="pl_rx_open pl_eem_open pl_cipher_open pl_rx_actor skb_copy_datagram_iter alloc_skb_with_frags"
funcs_rx_ktls="tls_rx_one_record tls_decrypt_sg tls_strp_copyin tls_strp_read_copy skb_copy_datagram_iter"

echo function_graph >$t/current_tracer || exit 1
echo 1 >$t/options/funcgraph-tail
echo 0 >$t/options/funcgraph-irqs
echo 65536 >$t/buffer_size_kb
echo 0 >$t/tracing_on

# run LABEL FUNCS PLBENCH-ARGS...
run() {
	label=$1 funcs=$2
	shift 2
	echo "$funcs" | tr ' ' '\n' >$t/set_ftrace_filter
	: >$t/trace
	echo 1 >$t/tracing_on
	"$bin" "$@" | sed 's/^/  /'
	echo 0 >$t/tracing_on
	# "  12.345 us    |  f();" and "  12.345 us    |  } /* f */"
	awk -v label="$label" '
		/\|/ {
			d = $0; sub(/\|.*/, "", d); gsub(/[^0-9.]/, " ", d)
			n = split(d, a, " "); if (!n) next; us = a[n]
			# "f();", "f [mod]();" or "} /* f [mod] */"
			if ($0 ~ /\/\* .* \*\//) { f = $0; sub(/.*\/\* /, "", f); sub(/ \*\/.*/, "", f) }
			else if ($0 ~ /\(\);/) { f = $0; sub(/\(\);.*/, "", f); sub(/.*\| */, "", f) }
			else next
			sub(/ \[.*/, "", f)
			calls[f]++; sum[f] += us
		}
		END {
			for (f in sum) if (sum[f] > top) top = sum[f]
			for (f in calls)
				printf "| %s | %s | %d | %.1f | %.0f%% |\n", label, f,
				       calls[f], sum[f] / calls[f], top ? 100 * sum[f] / top : 0
		}' $t/trace | sort -t'|' -k6,6nr
}

"$bin" mkfile "$file" 16 || exit 1
echo "| run | function | calls | mean µs | share of the top function |"
echo "|---|---|---:|---:|---:|"
for c in chacha20-poly1305 aes-128-gcm; do
	run "send sendfile 16K plasmatic $c" "$funcs_tx_plasmatic" tx plasmatic "$c" "$file"
	run "send sendfile 16K kTLS $c" "$funcs_tx_ktls" tx ktls "$c" "$file"
	run "send write 1K plasmatic $c" "$funcs_tx_plasmatic" tx plasmatic "$c" "$file" --write --record 1024
	run "send write 1K kTLS $c" "$funcs_tx_ktls" tx ktls "$c" "$file" --write --record 1024
	run "recv 16K plasmatic $c" "$funcs_rx_plasmatic" rx plasmatic "$c" 16
	run "recv 16K kTLS $c" "$funcs_rx_ktls" rx ktls "$c" 16
	run "recv 1K plasmatic $c" "$funcs_rx_plasmatic" rx plasmatic "$c" 16 --record 1024
	run "recv 1K kTLS $c" "$funcs_rx_ktls" rx ktls "$c" 16 --record 1024
done
echo nop >$t/current_tracer
rm -f "$file"
