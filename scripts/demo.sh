#!/usr/bin/env bash
# demo.sh: the README's first command. Installs what a fresh Debian machine
# lacks, then analyzes a bundled capture (or the files given).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
if [ $# -eq 0 ]; then
  set -- testdata/pcaps/lossy_transfer.pcap
fi
exec go run ./cmd/tcpflow-analyze analyze -o table "$@"
