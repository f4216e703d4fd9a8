# Shortcuts; README's two set-up commands are scripts/demo.sh and scripts/test.sh.
GO ?= go

.PHONY: demo test build bench testdata

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

build:
	./scripts/install-deps.sh
	$(GO) build -o . ./cmd/tcpflow-analyze ./cmd/tcpflow-analyze-capture

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

testdata:
	$(GO) run ./internal/cmd/gentestdata -dir testdata/pcaps
