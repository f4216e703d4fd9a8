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
# The first level and the last are this machine's L1d and L2 (getconf; its
# L3 is shared with other tenants), 512 KiB when getconf does not know: a
# "last-level" miss here is a load that leaves the core. (Sessions 11-17
# simulated a 32 KiB L1 and a 512 KiB L2; this machine, an AMD family 26,
# has 48 KiB and 1 MiB, so their counts are not comparable with later ones.)
#
#   go build -o /tmp/a ./cmd/tcpflow-analyze    # before the change
#   go build -o /tmp/b ./cmd/tcpflow-analyze    # after it
#   scripts/cachesim.sh /tmp/a /tmp/b                      # -o table
#   scripts/cachesim.sh /tmp/a /tmp/b analyze -o ndjson    # other arguments
#
# Environment: BENCH_DIR (default /tmp/tcpflow-bench) keeps the capture;
# CAP counts on another capture instead (such as the first 300 k packets of
# scripts/kernel-capture.sh's);
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
cap=${CAP:-$dir/mix300k.pcap}
flags="--packets 300000 --connections 30000 --concurrency 1000 --flood-sources 1500 --seed 1"
if [ -z "${CAP:-}" ] && { [ ! -s "$cap" ] || [ "$(cat "$dir/mix300k.flags" 2>/dev/null)" != "$flags" ]; }; then
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
cache() { # size assoc default -> valgrind's size,assoc,line
	local size assoc
	size=$(getconf "$1" 2>/dev/null || true) assoc=$(getconf "$2" 2>/dev/null || true)
	case "$size$assoc" in *[!0-9]* | "") echo "$3" ;; *) echo "$size,$assoc,64" ;; esac
}
d1=$(cache LEVEL1_DCACHE_SIZE LEVEL1_DCACHE_ASSOC 32768,8,64)
ll=$(cache LEVEL2_CACHE_SIZE LEVEL2_CACHE_ASSOC 524288,8,64)
echo "cachesim.sh: D1 $d1, LL $ll (size,ways,line)" >&2
# Both at once when there are two CPUs: each is single-threaded.
for side in a b; do
	bin=$a
	[ "$side" = b ] && bin=$b
	GOGC=off GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off \
		valgrind --tool=callgrind --cache-sim=yes --D1="$d1" --LL="$ll" \
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
