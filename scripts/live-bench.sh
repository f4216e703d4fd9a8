#!/usr/bin/env bash
# live-bench.sh — measure live capture on a busy loopback: tcpflow-analyze
# live captures on lo while internal/cmd/loopload makes short connections to
# 127.0.0.1 for DURATION (default 4s) from CLIENTS (default 32) clients, and
# the script prints the frames analyzed, the kernel's drop counter, and the
# CPU time of the live run (helper included), per frame. Needs root (or the
# helper with cap_net_raw). Sends traffic to loopback only.
#
#   scripts/live-bench.sh                 # the working tree's build
#   ROUNDS=3 scripts/live-bench.sh
#
# docs/performance.md (session 24) has the figures of this VM.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
duration=${DURATION:-4s}
clients=${CLIENTS:-32}
port=${PORT:-18080}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -x /usr/bin/time ] || { echo "live-bench.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
echo "building" >&2
(cd "$repo" && GOBIN="$work" CGO_ENABLED=0 go install ./cmd/tcpflow-analyze ./internal/cmd/loopload && GOBIN="$work" go install ./cmd/tcpflow-analyze-capture)
secs=${duration%s}
for ((i = 1; i <= ${ROUNDS:-1}; i++)); do
	/usr/bin/time -f "%U %S" -o "$work/time" "$work/tcpflow-analyze" live -i lo -f "tcp port $port" \
		--duration "$((${secs%.*} + 3))s" -o json >"$work/live.json" 2>"$work/live.err" &
	pid=$!
	sleep 1
	conns=$("$work/loopload" -addr "127.0.0.1:$port" -duration "$duration" -clients "$clients" | awk '{print $2}')
	wait "$pid" || { echo "live failed: $(tail -3 "$work/live.err")" >&2; exit 1; }
	frames=$(grep -o '"packets_read":[0-9]*' "$work/live.json" | tail -1 | cut -d: -f2)
	dropped=$(grep -o '"dropped":[0-9]*' "$work/live.json" | tail -1 | cut -d: -f2)
	read -r user sys <"$work/time"
	awk -v c="$conns" -v f="$frames" -v d="$dropped" -v u="$user" -v s="$sys" 'BEGIN {
		printf "connections %d, frames analyzed %d, dropped by the kernel %d, CPU %.2f s (%.2f user, %.2f system), %.1f µs a frame\n",
			c, f, d, u + s, u, s, (f > 0 ? (u + s) / f * 1e6 : 0) }'
done
