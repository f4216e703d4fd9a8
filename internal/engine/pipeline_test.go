package engine

import (
	"bytes"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// TestPipelineCopiesFramesThatAreNotStable feeds a pipeline frames whose
// bytes the reader reuses (no buffer pool: its 256 KiB buffer is read over
// about every thousand frames), so the rounds must keep copies of the
// frames the workers decode later: the report is a single engine's, and the
// same as with the pool lending stable buffers.
func TestPipelineCopiesFramesThatAreNotStable(t *testing.T) {
	var capBuf bytes.Buffer
	if _, err := pcapgen.WriteMix(&capBuf, pcapgen.MixOptions{Packets: 40_000, Connections: 4_000,
		Concurrency: 300, Seed: 11, FloodSources: 200}); err != nil {
		t.Fatal(err)
	}
	run := func(a Analyzer, stable bool) string {
		t.Helper()
		var opts capture.Options
		if p, ok := a.(*Pipeline); ok && stable {
			opts.Buffers = p.BufferPool()
		}
		src, err := capture.OpenReader(bytes.NewReader(capBuf.Bytes()), "mix.pcap", opts)
		if err != nil {
			t.Fatal(err)
		}
		frames := 0
		for src.Next() {
			fr := src.Frame()
			if fr.Stable != stable {
				t.Fatalf("frame %d: stable %v, want %v", fr.Number, fr.Stable, stable)
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
		if frames < 30_000 {
			t.Fatalf("read %d frames", frames)
		}
		return out.String()
	}
	one := run(New(DefaultConfig()), false)
	for _, stable := range []bool{false, true} {
		p, err := NewPipeline(DefaultConfig(), 2)
		if err != nil {
			t.Fatal(err)
		}
		if got := run(p, stable); got != one {
			t.Errorf("stable frames %v: two workers' report differs from one engine's (%d vs %d bytes)", stable, len(got), len(one))
		}
	}
}
