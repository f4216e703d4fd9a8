package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/oracle"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// TestWorkersGiveIdenticalReports analyzes every capture with one worker and
// with several, and requires byte-identical JSON.
func TestWorkersGiveIdenticalReports(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repoRoot, "testdata", "pcaps", "*.pcap*"))
	if dir := oracle.CorpusDir("."); dir != "" {
		more, err := oracle.Captures(dir)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, more...)
	}
	render := func(path string, workers int) (string, bool) {
		cfg := engine.DefaultConfig()
		cfg.Workers = workers
		s := &IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}
		rep, _ := Analyze([]string{path}, "", cfg, s)
		if rep == nil {
			return "", false
		}
		var b bytes.Buffer
		if err := report.WriteJSON(&b, rep); err != nil {
			t.Fatal(err)
		}
		return b.String(), true
	}
	compared := 0
	for _, path := range files {
		one, ok := render(path, 1)
		if !ok {
			continue
		}
		for _, n := range []int{2, 3} {
			many, _ := render(path, n)
			if many != one {
				t.Errorf("%s: %d workers differ from one\n%s", filepath.Base(path), n, firstDiff(one, many))
			}
		}
		compared++
	}
	if compared < 20 {
		t.Fatalf("compared only %d captures", compared)
	}
}

// TestWorkersStreamIdenticalNDJSON: streamed flows come out in the same order
// and with the same bytes for any number of workers.
func TestWorkersStreamIdenticalNDJSON(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repoRoot, "testdata", "pcaps", "*.pcap"))
	for _, path := range files {
		var outs []string
		for _, n := range []int{1, 2} {
			cfg := engine.DefaultConfig()
			cfg.Workers = n
			var out bytes.Buffer
			s := &IO{In: strings.NewReader(""), Out: &out, Err: &bytes.Buffer{}}
			err := RunAnalyze(&AnalyzeOptions{Files: []string{path}, Output: "ndjson", Engine: cfg}, s)
			if err != nil && filepath.Base(path) != "truncated.pcap" {
				t.Fatalf("%s: %v", path, err)
			}
			outs = append(outs, out.String())
		}
		if outs[0] != outs[1] {
			t.Errorf("%s: ndjson differs between 1 and 2 workers\n%s", filepath.Base(path), firstDiff(outs[0], outs[1]))
		}
	}
}
