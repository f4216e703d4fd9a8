#!/usr/bin/env bash
# ab.sh N BIN_A BIN_B ARGS... — compare two builds on a noisy machine: run
# "BIN ARGS" N times each, alternating A and B so that both see the same
# drift, and print the best wall and CPU (user+sys) seconds of each, and
# how B fared against A pair by pair (the fairer figure on a noisy machine).
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
# each order).
paste <(awk '$1 ~ /^[0-9.]+$/' "$dir/a") <(awk '$1 ~ /^[0-9.]+$/' "$dir/b") | awk '
	{d = ($5 + $6) - ($2 + $3); s += d; if (d < 0) w++; n++}
	END {if (n) printf "pairs: B - A cpu %+.3f s on average, B faster in %d of %d\n", s / n, w, n}'
