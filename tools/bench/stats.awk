# What the benchmarks' tables share (POSIX awk, busybox awk included):
#   awk -f tools/bench/stats.awk -f tools/bench/table.awk RESULTS
# or, for a program in a script, guestlib.sh's $bench_awk before it.
#
# field(NAME): the value of NAME=VALUE among the line's fields ($2 on).
# median(a, n): the median of the numbers a[1..n] (sorts them in place).
# median_of(list): the median of a list of numbers separated by spaces.
function field(name,   i) {
	for (i = 2; i <= NF; i++)
		if (index($i, name "=") == 1)
			return substr($i, length(name) + 2)
	return ""
}
function median(a, n,   i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function median_of(list,   a, n) {
	n = split(list, a, " ")
	return median(a, n)
}
