#!/usr/bin/env bash
# test.sh: the README's test command. Installs what a fresh Debian machine
# lacks (libpcap headers for cgo; with WITH_TOOLS=1 also tshark and tcpdump,
# which some tests use when present), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
exec go test ./... "$@"
