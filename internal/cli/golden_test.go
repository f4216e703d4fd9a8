package cli

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

var update = flag.Bool("update", false, "rewrite the golden reports in testdata/golden from the current output")

// repoRoot is the module root, two levels above this package.
const repoRoot = "../.."

// TestGoldenReports analyzes every capture that the project generates in
// testdata/pcaps and compares the JSON report with testdata/golden/NAME.json.
// Regenerate with: go test ./internal/cli -run TestGoldenReports -update
func TestGoldenReports(t *testing.T) {
	caps, err := filepath.Glob(filepath.Join(repoRoot, "testdata", "pcaps", "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range caps {
		name := filepath.Base(path)
		if strings.HasSuffix(name, ".md") {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			s := &IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &stderr}
			rep, err := Analyze([]string{path}, "", engine.DefaultConfig(), s)
			if rep == nil {
				t.Fatalf("no report: %v", err)
			}
			rep.Summary.Files = []string{name}
			var got bytes.Buffer
			if err := report.WriteJSON(&got, rep); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join(repoRoot, "testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("no golden report (run with -update): %v", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("report differs from %s; run `go test ./internal/cli -run TestGoldenReports -update` and review the diff\n%s",
					golden, firstDiff(string(want), got.String()))
			}
		})
	}
	if n == 0 {
		t.Fatal("no captures in testdata/pcaps: run `go run ./internal/cmd/gentestdata`")
	}
}

// firstDiff shows the first differing line of two texts with a little context.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g
		}
	}
	return ""
}
