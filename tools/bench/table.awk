# Markdown table of plbench RESULT lines (tools/bench/guest.sh in the VM,
# tools/bench/sendfile.sh on the host; POSIX awk, busybox awk included).
#
#   awk -v rows="tx:tcp ..." -v ciphers="..." -v reps=N -v metric=wall|host \
#       -f tools/bench/stats.awk -f tools/bench/table.awk RESULTS
# (rows and ciphers: lists separated by spaces or commas)
#
# Lines: RESULT round=R dir=D impl=I cipher=C bytes=B mbps=M ...
# [host_cpu0=S host_cpu1=S].  metric=wall: mbps, from the guest's clock.
# metric=host: bytes / host CPU seconds of the vCPU thread of the measured
# side (CPU 0 runs the sender, CPU 1 the receiver).  Each cell: the median
# over the rounds; × kTLS: the median (min–max) over the rounds of the
# ratio to the kTLS run of the same direction, cipher and round.
# -v base=IMPL (default ktls): the ratio is to IMPL's run instead
# (compare.sh: base=plasmatic-old, another build of the module).
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
/^RESULT / {
	delete f
	for (k = 2; k <= NF; k++) {
		split($k, kv, "=")
		f[kv[1]] = kv[2]
	}
	if (metric == "host") {
		cpu = f["dir"] == "rx" ? f["host_cpu1"] : f["host_cpu0"]
		if (cpu + 0 <= 0)
			next
		val = f["bytes"] / 1e6 / cpu
	} else {
		val = f["mbps"]
	}
	key = f["dir"] ":" f["impl"] ":" f["cipher"]
	add(v, key, val)
	byround[key ":" f["round"]] = val
}
END {
	name["tx:tcp"] = "send | plain TCP (sendfile)"
	name["tx:ktls"] = "send | kTLS, tls.ko (sendfile)"
	name["tx:plasmatic"] = "send | plasmatic.ko (sendfile)"
	name["tx:engine"] = "send | userspace engine (read + seal + send)"
	name["rx:ktls"] = "recv | kTLS, tls.ko"
	name["rx:plasmatic"] = "recv | plasmatic.ko"
	name["tx:plasmatic-old"] = "send | plasmatic.ko, old (sendfile)"
	name["rx:plasmatic-old"] = "recv | plasmatic.ko, old"
	name["tx-write:plasmatic"] = "send | plasmatic.ko (read + send)"
	name["tx-write:plasmatic-old"] = "send | plasmatic.ko, old (read + send)"
	if (base == "")
		base = "ktls"
	bname = base == "ktls" ? "kTLS" : base == "plasmatic-old" ? "old" : base
	cname["chacha20-poly1305"] = "ChaCha20-Poly1305"
	cname["aes-128-gcm"] = "AES-128-GCM"
	nr = split(rows, R, /[ ,]+/)
	nc = split(ciphers, C, /[ ,]+/)
	hdr = "| direction | implementation |"
	sep = "|---|---|"
	for (c = 1; c <= nc; c++) {
		hdr = hdr " " cname[C[c]] " MB/s | × " bname " |"
		sep = sep "---:|---:|"
	}
	print hdr
	print sep
	for (r = 1; r <= nr; r++) {
		split(R[r], dr, ":")
		line = "| " name[R[r]] " |"
		for (c = 1; c <= nc; c++) {
			key = R[r] ":" C[c]
			bkey = dr[1] ":" base ":" C[c]
			if (!(key in v)) {
				line = line " n/a | n/a |"
				continue
			}
			delete q
			for (i = 1; i <= reps; i++)
				if ((key ":" i) in byround && (bkey ":" i) in byround)
					add(q, "x", byround[key ":" i] / byround[bkey ":" i])
			if (!("x" in q))
				ratio = "n/a"
			else if (reps == 1 || key == bkey)
				ratio = sprintf("%.2f", median_of(q["x"]))
			else
				ratio = sprintf("%.2f (%.2f–%.2f)", median_of(q["x"]),
						lo(q["x"]), hi(q["x"]))
			line = line sprintf(" %.1f | %s |", median_of(v[key]), ratio)
		}
		print line
	}
}
