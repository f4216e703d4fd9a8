package cli

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
)

// TestAnalyzeErrorStopsWorkers checks that an analysis whose input cannot
// be opened stops its workers: each such call left a pipeline's goroutines
// and rounds behind (tens of MiB, found by TestFlowEventMatchesEncoder on
// the corpus's sidecar files).
func TestAnalyzeErrorStopsWorkers(t *testing.T) {
	notCapture := filepath.Join(t.TempDir(), "notes.pcap")
	if err := os.WriteFile(notCapture, []byte("not a capture, though named like one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	before := runtime.NumGoroutine()
	cfg := engine.DefaultConfig()
	cfg.Workers = 2
	for range 5 {
		if _, err := Analyze([]string{notCapture}, "", cfg, &IO{Err: io.Discard}); err == nil {
			t.Fatal("a file that is not a capture was analyzed")
		}
	}
	// The goroutines end as Finish returns, but may still be unwinding.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after five failed analyses, %d before", n, before)
	}
}
