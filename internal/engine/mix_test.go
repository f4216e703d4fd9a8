package engine

import (
	"bytes"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// writeMix returns the capture pcapgen.WriteMix makes of opts.
func writeMix(t testing.TB, opts pcapgen.MixOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := pcapgen.WriteMix(&b, opts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// analyzerOf returns the default analysis with the given number of workers:
// one engine for 1, a pipeline for more.
func analyzerOf(t testing.TB, workers int) Analyzer {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Workers = workers
	a, err := NewAnalyzer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, pipe := a.(*Pipeline); pipe != (workers > 1) {
		t.Fatalf("%d workers gave a %T", workers, a)
	}
	return a
}

// feedCapture reads data with opts into a, showing each frame to check
// first when it is not nil, and returns the report as JSON and the frames
// read.
func feedCapture(t testing.TB, a Analyzer, data []byte, opts capture.Options, check func(*capture.Frame)) (string, int) {
	t.Helper()
	src, err := capture.OpenReader(bytes.NewReader(data), "mix.pcap", opts)
	if err != nil {
		t.Fatal(err)
	}
	frames := 0
	for src.Next() {
		fr := src.Frame()
		if check != nil {
			check(fr)
		}
		a.Frame(fr)
		frames++
	}
	if err := src.Err(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := report.WriteJSON(&out, a.Finish([]string{"mix.pcap"}, src.Problems())); err != nil {
		t.Fatal(err)
	}
	return out.String(), frames
}
