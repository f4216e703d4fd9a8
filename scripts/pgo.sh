#!/usr/bin/env bash
# pgo.sh — rewrite cmd/tcpflow-analyze/default.pgo, the CPU profile that
# `go build` uses for profile-guided optimization of the command (Go picks
# up default.pgo in the main package's directory by itself).
#
# The profile comes from the project's own generated capture (the mix that
# scripts/bench.sh uses), analyzed the ways users run it: ndjson on one
# core (twice: it is the main case), two workers, the table and check; and
# the same connections as pcapng and over IPv6 (the forms most captures
# users bring come in), so that their one-pass readers and decoders are
# optimized too; and the mix with nearly every 4-tuple reused, the path of
# a busy server's real traffic.
# Regenerate it after large changes to the hot paths; a stale profile only
# loses some of the gain (docs/performance.md). The compiler finds a profiled
# call by its caller's name and its line counted from the caller's `func`
# line: an edit that moves a hot function's calls to other lines, or renames
# it, loses what the profile inlined there (one line moved in
# engine.update cost 68 instructions a packet, session 34).
#
# Environment: BENCH_DIR (default /tmp/tcpflow-bench), GEN_FLAGS, ROUNDS
# (default 1): how many times each analysis is profiled. One round is about
# 600 samples, and two profiles of one round, or of six, differ by up to 1 %
# in the instructions the build runs (docs/performance.md, session 23).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${BENCH_DIR:-/tmp/tcpflow-bench}
gen_flags=${GEN_FLAGS:---packets 2000000 --connections 200000 --concurrency 1000 --flood-sources 10000 --seed 1}
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Build without a profile, so that the new one does not depend on the old.
(cd "$repo" && CGO_ENABLED=0 go build -pgo=off -o "$work/tcpflow-analyze" ./cmd/tcpflow-analyze)
bin=$work/tcpflow-analyze
cap=$dir/mix.pcap
if [ ! -s "$cap" ] || [ "$(cat "$dir/mix.flags" 2>/dev/null)" != "$gen_flags" ]; then
	echo "generating $cap: gen $gen_flags" >&2
	# shellcheck disable=SC2086
	"$bin" gen $gen_flags -w "$cap"
	echo "$gen_flags" >"$dir/mix.flags"
fi

one_core=(env GOMAXPROCS=1)
if command -v taskset >/dev/null; then
	one_core=(taskset -c 0 env GOMAXPROCS=1)
fi
# The pcapng and IPv6 forms of the same mix (gen --pcapng, --ipv6), and
# the mix with nearly every connection reusing a 4-tuple still in TIME_WAIT,
# as a busy server's clients and load tests do (--reuse 0.9): real kernel
# traffic of the issue's kind (scripts/kernel-capture.sh) takes that path.
for form in pcapng ipv6 "reuse 0.9"; do
	f=$dir/mix-${form%% *}.pgo.cap
	if [ ! -s "$f" ] || [ "$(cat "$f.flags" 2>/dev/null)" != "$gen_flags --$form" ]; then
		echo "generating $f: gen $gen_flags --$form" >&2
		# shellcheck disable=SC2086
		"$bin" gen $gen_flags --$form -w "$f"
		echo "$gen_flags --$form" >"$f.flags"
	fi
done
run() { # run NAME ARGS...: profile one analysis of $cap into $work/NAME.prof
	local name=$1
	shift
	echo "profiling $name" >&2
	"$@" --cpuprofile "$work/$name.prof" "$cap" >/dev/null || [ $? -le 1 ] # check exits 1 on a failed policy
}
for i in $(seq "${ROUNDS:-1}"); do
	run ndjson1-$i "${one_core[@]}" "$bin" analyze -o ndjson --workers 1
	run ndjson2-$i "${one_core[@]}" "$bin" analyze -o ndjson --workers 1
	run workers2-$i "$bin" analyze -o ndjson --workers 2
	run table-$i "${one_core[@]}" "$bin" analyze -o table --workers 1
	run check-$i "${one_core[@]}" "$bin" check --workers 1
	cap=$dir/mix-pcapng.pgo.cap run pcapng-$i "${one_core[@]}" "$bin" analyze -o table --workers 1
	cap=$dir/mix-ipv6.pgo.cap run ipv6-$i "${one_core[@]}" "$bin" analyze -o table --workers 1
	cap=$dir/mix-reuse.pgo.cap run reuse-$i "${one_core[@]}" "$bin" analyze -o table --workers 1
done
go tool pprof -proto "$work"/*.prof >"$repo/cmd/tcpflow-analyze/default.pgo"
echo "wrote cmd/tcpflow-analyze/default.pgo ($(wc -c <"$repo/cmd/tcpflow-analyze/default.pgo") bytes)" >&2
