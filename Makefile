# The two set-up commands of README.md: `make demo` analyzes a bundled capture,
# `make test` runs the tests. Both install missing system packages first.
GO ?= go
DEMO ?= testdata/pcaps/normal_exchange.pcap

.PHONY: deps demo test build bench fuzz testdata

deps:
	@./scripts/install-deps.sh

demo: deps
	$(GO) run ./cmd/tcpflow-analyze analyze -o table $(DEMO)

test: deps
	$(GO) test ./...

build: deps
	$(GO) build -o tcpflow-analyze ./cmd/tcpflow-analyze

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...

testdata:
	$(GO) run ./internal/cmd/gentestdata -dir testdata/pcaps
