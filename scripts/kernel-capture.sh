#!/usr/bin/env bash
# kernel-capture.sh OUT.pcap — capture real kernel TCP traffic for the
# benchmarks: internal/cmd/loopload makes short HTTP-like connections to a
# server on 127.0.0.1 (a request, a 1000-byte response, the server closing
# first) from CLIENTS (default 32) clients for DURATION (default 15s), and
# tcpdump writes what crosses the loopback. On this VM that is about
# 13 000 connections and 135 000 packets a second: 15 s make about 2 M
# packets, the size of issue 5's reference capture ("200 k short HTTP
# connections made by real kernel traffic"). The clients cycle through the
# ephemeral ports, so nearly every connection reuses a 4-tuple still in
# TIME_WAIT, as on a busy server's loopback or a load test. CLOSE=client
# has the client close first (and hold TIME_WAIT), CLOSE=reset the server
# abort each connection with RST (loopload -close).
#
#   scripts/kernel-capture.sh /tmp/kern.pcap
#   scripts/bench.sh /tmp/kern.pcap
#
# Needs root (or tcpdump with cap_net_raw) and tcpdump. Sends traffic to the
# loopback only, bounded by DURATION (at most 1m, loopload's limit). The
# capture is not committed: it is made on the machine that measures.
set -euo pipefail
if [ $# -ne 1 ]; then
	echo "usage: kernel-capture.sh OUT.pcap" >&2
	exit 2
fi
out=$1
repo=$(cd "$(dirname "$0")/.." && pwd)
duration=${DURATION:-15s}
clients=${CLIENTS:-32}
closing=${CLOSE:-server}
port=${PORT:-18081}
command -v tcpdump >/dev/null || { echo "kernel-capture.sh: tcpdump is missing (apt-get install tcpdump)" >&2; exit 2; }
work=$(mktemp -d)
tcpdump_pid=""
cleanup() {
	[ -z "$tcpdump_pid" ] || kill -INT "$tcpdump_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
(cd "$repo" && go build -o "$work/loopload" ./internal/cmd/loopload)
# -B: a large kernel buffer, so that tcpdump drops nothing while the load
# takes most of both CPUs; -U off: it writes whole buffers.
tcpdump -i lo -n -s 262144 -B 262144 -w "$out" "tcp port $port" 2>"$work/tcpdump.err" &
tcpdump_pid=$!
sleep 1
"$work/loopload" -addr "127.0.0.1:$port" -duration "$duration" -clients "$clients" -close "$closing"
sleep 1
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" || true
tcpdump_pid=""
grep -E 'captured|dropped by kernel' "$work/tcpdump.err" >&2 || true
if grep -Eq '^[1-9][0-9]* packets dropped by kernel' "$work/tcpdump.err"; then
	echo "kernel-capture.sh: tcpdump dropped packets: the capture misses some (try fewer CLIENTS)" >&2
fi
echo "wrote $out ($(du -m "$out" | awk '{print $1}') MiB)" >&2
