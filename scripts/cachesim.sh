#!/usr/bin/env bash
# cachesim.sh BIN_A BIN_B [ARGS...] — compare two builds by counting, not
# timing: both analyze the same 300 k-packet mix under valgrind's callgrind
# with its cache simulation, and the script prints the instructions and the
# simulated data-cache misses of each, and the change.
#
# On a shared machine a one-core run's time varies by 10-30 % from minute to
# minute, so a change worth 2-3 % needs dozens of timed pairs (scripts/ab.sh)
# and can still be lost in the noise. These counts are the same from run to
# run: the garbage collector is off (GOGC=off; the capture is small enough)
# and everything runs on one thread, where with the collector on the counts
# moved by ±4 % between two runs of one binary. They do not see what the
# simulator does not model — the hardware prefetchers, store-forwarding
# stalls, page faults — so a change that moves only those needs timing.
#
# The last level is set to 512 KiB, the size of this machine's L2 (its L3
# is shared with other tenants): a "last-level" miss here is a load that
# leaves the core.
#
#   go build -o /tmp/a ./cmd/tcpflow-analyze    # before the change
#   go build -o /tmp/b ./cmd/tcpflow-analyze    # after it
#   scripts/cachesim.sh /tmp/a /tmp/b                      # -o table
#   scripts/cachesim.sh /tmp/a /tmp/b analyze -o ndjson    # other arguments
#
# Environment: BENCH_DIR (default /tmp/tcpflow-bench) keeps the capture;
# OUT keeps the callgrind files (callgrind_annotate reads them) instead of
# a temporary directory.
set -euo pipefail
if [ $# -lt 2 ]; then
	echo "usage: cachesim.sh BIN_A BIN_B [ARGS...]" >&2
	exit 2
fi
a=$1 b=$2
shift 2
command -v valgrind >/dev/null || { echo "cachesim.sh: valgrind is missing (apt-get install valgrind)" >&2; exit 2; }
dir=${BENCH_DIR:-/tmp/tcpflow-bench}
mkdir -p "$dir"
cap=$dir/mix300k.pcap
flags="--packets 300000 --connections 30000 --concurrency 1000 --flood-sources 1500 --seed 1"
if [ ! -s "$cap" ] || [ "$(cat "$dir/mix300k.flags" 2>/dev/null)" != "$flags" ]; then
	# shellcheck disable=SC2086
	"$b" gen $flags -w "$cap" >&2
	echo "$flags" >"$dir/mix300k.flags"
fi
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(analyze -o table)
out=${OUT:-}
if [ -z "$out" ]; then
	out=$(mktemp -d)
	trap 'rm -rf "$out"' EXIT
fi
# Both at once when there are two CPUs: each is single-threaded.
for side in a b; do
	bin=$a
	[ "$side" = b ] && bin=$b
	GOGC=off GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off \
		valgrind --tool=callgrind --cache-sim=yes --D1=32768,8,64 --LL=524288,8,64 \
		--callgrind-out-file="$out/$side.out" "$bin" "${args[@]}" "$cap" >/dev/null 2>"$out/$side.err" &
done
wait
count() { # side, label -> the number valgrind printed
	awk -v l="$2" 'index($0, l) {gsub(",", "", $0); for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) {print $i; exit}}' "$out/$1.err"
}
printf "%-22s %16s %16s %8s\n" "" "A" "B" "B/A-1"
for label in "I   refs:" "D1  misses:" "LLd misses:"; do
	x=$(count a "$label") y=$(count b "$label")
	awk -v l="${label%:}" -v x="$x" -v y="$y" 'BEGIN {printf "%-22s %16.0f %16.0f %+7.2f%%\n", l, x, y, 100 * (y / x - 1)}'
done
