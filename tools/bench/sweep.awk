# Per-record table of plbench RESULT lines from tools/bench/sweep.sh (POSIX
# awk, busybox awk included):
#
#   awk -v rows=... -v ciphers=... -v sizes=... -v metric=wall|host \
#       -f tools/bench/stats.awk -f tools/bench/sweep.awk RESULTS
#
# For each row (direction:implementation) and cipher: time per record at
# each record size (median of the rounds), and the least-squares fit
# time per record = fixed + per_KiB * KiB of content.  metric=wall: the
# guest's clock (secs); metric=host: host CPU seconds of the measured
# side's vCPU (host_cpu0 for send, host_cpu1 for recv).
/^RESULT/ {
	delete f
	for (k = 2; k <= NF; k++) {
		split($k, kv, "=")
		f[kv[1]] = kv[2]
	}
	key = f["dir"] ":" f["impl"] ":" f["cipher"] ":" f["record"]
	if (metric == "host") {
		cpu = f["dir"] == "rx" ? f["host_cpu1"] : f["host_cpu0"]
		if (cpu + 0 <= 0)
			next
		us = cpu / f["records"] * 1e6
	} else {
		us = f["secs"] / f["records"] * 1e6
	}
	times[key] = (key in times) ? times[key] " " us : us
}
END {
	nr = split(rows, R, /[ ,]+/)
	nc = split(ciphers, C, /[ ,]+/)
	ns = split(sizes, S, /[ ,]+/)
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
				if (!(key in times)) {
					line = line " n/a |"
					continue
				}
				y = median_of(times[key])
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
}