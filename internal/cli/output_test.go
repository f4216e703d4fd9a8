package cli

import (
	"io"
	"strings"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
)

// countingWriter counts the Write calls made on it and the bytes written.
type countingWriter struct {
	writes int
	n      int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	c.n += len(p)
	return len(p), nil
}

// TestLargeOutputsAreWrittenInLargeChunks: the outputs that list every flow
// reach the writer 256 KiB at a time. Each write to a file or a pipe is a
// system call: the mix's ndjson written to a file took 0.13 CPU-s less in
// 256 KiB writes than in 64 KiB ones (docs/performance.md, session 8).
func TestLargeOutputsAreWrittenInLargeChunks(t *testing.T) {
	path, st := writeMixFile(t, pcapgen.MixOptions{Packets: 30000, Connections: 3000, Concurrency: 100,
		Seed: 3, FloodSources: 100})
	for _, out := range []string{"ndjson", "csv", "json"} {
		t.Run(out, func(t *testing.T) {
			cfg := engine.DefaultConfig()
			cfg.Workers = 1
			w := &countingWriter{}
			s := &IO{In: strings.NewReader(""), Out: w, Err: io.Discard}
			if err := RunAnalyze(&AnalyzeOptions{Files: []string{path}, Output: out, Engine: cfg}, s); err != nil {
				t.Fatal(err)
			}
			// Enough bytes that 64 KiB writes would be more than the bound.
			if w.n < 256<<10 {
				t.Fatalf("%d bytes of %s for %d connections: too few to tell", w.n, out, st.Connections)
			}
			if max := w.n/(256<<10) + 2; w.writes > max {
				t.Errorf("%d writes for %d bytes, want at most %d", w.writes, w.n, max)
			}
		})
	}
}

// TestTableIsWrittenInFewChunks: the table reaches the writer 64 KiB at a
// time, not a line at a time (a write call per row, a thousand of them for
// the default --limit, each a system call on a terminal).
func TestTableIsWrittenInFewChunks(t *testing.T) {
	path, _ := writeMixFile(t, pcapgen.MixOptions{Packets: 20000, Connections: 2000, Concurrency: 100,
		Seed: 3, FloodSources: 100})
	w := &countingWriter{}
	s := &IO{In: strings.NewReader(""), Out: w, Err: io.Discard}
	if err := RunAnalyze(&AnalyzeOptions{Files: []string{path}, Output: "table", Limit: 1000, Engine: engine.DefaultConfig()}, s); err != nil {
		t.Fatal(err)
	}
	if w.n < 100<<10 {
		t.Fatalf("%d bytes of table for 1000 rows", w.n)
	}
	if max := w.n/(64<<10) + 2; w.writes > max {
		t.Errorf("%d writes for %d bytes of table, want at most %d", w.writes, w.n, max)
	}
}
