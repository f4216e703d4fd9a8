#!/usr/bin/env bash
# netns-capture.sh SCENARIO OUT.pcap
#
# Builds the netlab lab by hand (three network namespaces, two veth pairs, a
# user-space forwarder in the middle), runs one scenario on real kernel TCP
# and captures it on both sides:
#   OUT.pcap          on the client's veth (a0): what the client sent, before the forwarder
#   OUT-server.pcap   on the server's veth (b0): what reached the server, after it
# Scenarios: go run ./internal/netlab/cmd/netlab list. Needs root, iproute2,
# tcpdump and Go. Traffic stays inside the namespaces; everything is removed
# on exit. See docs/netlab.md.
set -euo pipefail

if [[ $# -ne 2 ]]; then
	echo "usage: $0 SCENARIO OUT.pcap" >&2
	exit 2
fi
scenario=$1
out=$2
server_out="${out%.pcap}-server.pcap"
[[ $(id -u) -eq 0 ]] || { echo "$0: needs root (network namespaces)" >&2; exit 2; }
for tool in ip tcpdump go; do
	command -v "$tool" >/dev/null || { echo "$0: $tool not found" >&2; exit 2; }
done
cd "$(dirname "$0")/.."

work=$(mktemp -d)
bin="$work/netlab"
go build -o "$bin" ./internal/netlab/cmd/netlab
"$bin" list | grep -q "^$scenario " || { echo "$0: no scenario $scenario; have:" >&2; "$bin" list >&2; exit 2; }

# Namespaces are named like the Go lab's: tfa-PID-{a,m,b}.
A=tfa-$$-a M=tfa-$$-m B=tfa-$$-b
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for n in $A $M $B; do ip netns del "$n" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

# Remove namespaces that killed runs left behind (their PID is gone).
for n in $(ls /run/netns 2>/dev/null | grep -E '^tfa-[0-9]+-[amb]$' || true); do
	pid=${n#tfa-}; pid=${pid%-*}
	kill -0 "$pid" 2>/dev/null || ip netns del "$n"
done

for n in $A $M $B; do ip netns add "$n"; done
# Two veth pairs, middle ends in M. gso_max_segs 1: every frame is one
# wire-sized segment, which the forwarder can read and write as it is.
ip -n $M link add name mid-a address 02:77:00:00:00:fe gso_max_segs 1 \
	type veth peer name a0 address 02:77:00:00:00:01 gso_max_segs 1 netns $A
ip -n $M link add name mid-b address 02:77:00:00:01:fe gso_max_segs 1 \
	type veth peer name b0 address 02:77:00:00:01:01 gso_max_segs 1 netns $B
ip -n $M link set dev mid-a up
ip -n $M link set dev mid-b up
# The client and the server reach each other through a gateway address on
# the middle, with a static neighbour entry: nobody answers ARP there.
ip -n $A link set dev lo up
ip -n $A addr add 10.77.0.1/24 dev a0
ip -n $A link set dev a0 up
ip -n $A neigh replace 10.77.0.254 lladdr 02:77:00:00:00:fe dev a0 nud permanent
ip -n $A route add 10.77.1.0/24 via 10.77.0.254 dev a0
ip -n $B link set dev lo up
ip -n $B addr add 10.77.1.1/24 dev b0
ip -n $B link set dev b0 up
ip -n $B neigh replace 10.77.1.254 lladdr 02:77:00:00:01:fe dev b0 nud permanent
ip -n $B route add 10.77.0.0/24 via 10.77.1.254 dev b0
# The middle's kernel must not route: only the forwarder moves frames.
ip netns exec $M sh -c 'echo 0 > /proc/sys/net/ipv4/ip_forward'
for n in $A $M $B; do
	ip netns exec "$n" sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6' 2>/dev/null || true
done

# wait_ready FILE: wait until a background role printed "ready".
wait_ready() {
	for _ in $(seq 100); do
		grep -q ready "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "$0: $1 did not get ready" >&2
	cat "$1" >&2
	exit 1
}

ip netns exec $M "$bin" forward "$scenario" >"$work/fwd.out" 2>"$work/fwd.err" &
pids+=($!)
wait_ready "$work/fwd.out"

# -s 2048 and a 16 MiB ring: see StartCapture in internal/netlab/capture.go.
for side in client server; do
	if [[ $side == client ]]; then ns=$A dev=a0 file=$out; else ns=$B dev=b0 file=$server_out; fi
	ip netns exec $ns tcpdump -i $dev -n -U --immediate-mode -B 16384 -s 2048 -w - tcp \
		>"$file" 2>"$work/tcpdump-$side.err" &
	pids+=($!)
	for _ in $(seq 100); do grep -q "listening on" "$work/tcpdump-$side.err" && break; sleep 0.05; done
done

ip netns exec $B "$bin" server "$scenario" >"$work/srv.out" 2>"$work/srv.err" &
srv=$!
pids+=($srv)
wait_ready "$work/srv.out"

status=0
ip netns exec $A "$bin" client "$scenario" || status=$?
# Let the last segments (and the close-wait scenario's keep-alives) cross.
case $scenario in close-wait) sleep 2.5 ;; *) sleep 0.3 ;; esac

# Stop the captures first, then the server and the forwarder (cleanup).
for p in "${pids[@]:1:2}"; do kill -INT "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
cat "$work"/tcpdump-*.err >&2
kill -INT "${pids[0]}" 2>/dev/null || true
wait "${pids[0]}" 2>/dev/null || true
cat "$work/fwd.err" >&2
echo "wrote $out (client side) and $server_out (server side)" >&2
exit $status
