#!/usr/bin/env bash
# ab.sh N BIN_A BIN_B ARGS... — compare two builds on a noisy machine: run
# "BIN ARGS" N times each, alternating A and B so that both see the same
# drift, and print the best wall and CPU (user+sys) seconds of each, and
# how B fared against A pair by pair, in CPU and in wall seconds (the fairer
# figures on a noisy machine).
# Output of the runs is discarded. One core by default: CPUS (taskset list,
# default 0) and PROCS (GOMAXPROCS, default 1) change that.
#
#   go build -o /tmp/a ./cmd/tcpflow-analyze    # before the change
#   go build -o /tmp/b ./cmd/tcpflow-analyze    # after it
#   scripts/ab.sh 5 /tmp/a /tmp/b analyze -o ndjson /tmp/tcpflow-bench/mix.pcap
set -euo pipefail
if [ $# -lt 4 ]; then
	echo "usage: ab.sh N BIN_A BIN_B ARGS..." >&2
	exit 2
fi
n=$1 a=$2 b=$3
shift 3
[ -x /usr/bin/time ] || { echo "ab.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pin=()
if command -v taskset >/dev/null; then
	pin=(taskset -c "${CPUS:-0}")
fi
# The order alternates too (A B, B A, ...): the second run of a pair was
# faster in 8 of 10 pairs of one binary against itself here (2 %).
for ((i = 0; i < n; i++)); do
	order="a b"
	((i % 2)) && order="b a"
	for side in $order; do
		bin=$a
		[ "$side" = b ] && bin=$b
		/usr/bin/time -f "%e %U %S" -a -o "$dir/$side" env GOMAXPROCS="${PROCS:-1}" "${pin[@]}" "$bin" "$@" >/dev/null 2>&1 || true
	done
done
for side in a b; do
	bin=$a
	[ "$side" = b ] && bin=$b
	awk -v name="$bin" '$1 ~ /^[0-9.]+$/ {c = $2 + $3; if (!seen || c < bc) bc = c; if (!seen || $1 < bw) bw = $1; seen = 1}
		END {printf "%s: best wall %.2f s, best cpu %.2f s\n", name, bw, bc}' "$dir/$side"
done
# The pairs: each B run against the A run just before it. Two copies of one
# binary differ by up to 7 % in their best times here, so a change is only
# shown when B wins nearly every pair (use an even N, for as many pairs in
# each order). The median difference resists the odd pair that a stalled
# vCPU spoils, and the sign test's p says how often a change that does
# nothing would win or lose as many pairs (two-sided): 7 of 10 is p 0.34,
# 9 of 10 p 0.021, 22 of 30 p 0.016.
# Wall seconds are compared the same way: with several workers (PROCS) the
# throughput is what counts, and the CPU seconds can fall while it does not.
for what in cpu wall; do
	paste <(awk '$1 ~ /^[0-9.]+$/' "$dir/a") <(awk '$1 ~ /^[0-9.]+$/' "$dir/b") | awk -v what="$what" '
	{d[n] = what == "cpu" ? ($5 + $6) - ($2 + $3) : $4 - $1; s += d[n]; if (d[n] < 0) w++; if (d[n] > 0) l++; n++}
	END {
		if (!n) exit
		for (i = 1; i < n; i++) for (j = i; j > 0 && d[j - 1] > d[j]; j--) {t = d[j]; d[j] = d[j - 1]; d[j - 1] = t}
		med = n % 2 ? d[int(n / 2)] : (d[n / 2 - 1] + d[n / 2]) / 2
		# Two-sided sign test over the pairs that differ.
		m = w + l; k = w < l ? w : l; c = 1; tail = 0
		for (i = 0; i <= k; i++) {tail += c; c = c * (m - i) / (i + 1)}
		p = m ? 2 * tail / 2 ^ m : 1
		if (p > 1) p = 1
		printf "pairs: B - A %s %+.3f s on average, median %+.3f, B faster in %d of %d (sign test p %.3f)\n", what, s / n, med, w, n, p
	}'
done
