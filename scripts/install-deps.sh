#!/usr/bin/env bash
# install-deps.sh: installs what building and testing tcpflow-analyze needs on a
# fresh Debian machine: libpcap's headers and gcc (BPF filters and live capture
# through cgo), and tcpdump and iproute2 (the network-namespace tests capture
# real kernel traffic with them). With WITH_TOOLS=1 also tshark, whose presence
# turns on the tests that check the generated captures against it.
# Safe to run again: it installs only what is missing.
set -euo pipefail

need=()
[ -e /usr/include/pcap.h ] || [ -e /usr/include/pcap/pcap.h ] || need+=(libpcap-dev)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v tcpdump >/dev/null 2>&1 || need+=(tcpdump)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
if [ "${WITH_TOOLS:-0}" = 1 ]; then
  command -v tshark >/dev/null 2>&1 || need+=(tshark)
fi
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing ${need[*]}; run: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
