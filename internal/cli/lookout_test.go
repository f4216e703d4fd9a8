package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
)

// TestCappedTableFindingsMatchWhole checks that a table capped by --limit,
// whose unshown flows come to it as partial records, gives the summary and
// "what to look at" of the uncapped table, which builds every record whole:
// the same findings, ranked alike, with the same example flows and the same
// quoted messages. The quoted messages include flows' own ones (a port
// reuse's generation, a reset's sender) from flows far past the limit.
func TestCappedTableFindingsMatchWhole(t *testing.T) {
	path, _ := writeMixFile(t, pcapgen.MixOptions{Packets: 40_000, Connections: 4_000,
		Concurrency: 200, Seed: 11, FloodSources: 200, Reuse: 0.3})
	tail := func(workers, limit int) string {
		t.Helper()
		cfg := engine.DefaultConfig()
		cfg.Workers = workers
		var out bytes.Buffer
		s := &IO{In: strings.NewReader(""), Out: &out, Err: &bytes.Buffer{}}
		if err := RunAnalyze(&AnalyzeOptions{Files: []string{path}, Output: "table", Engine: cfg, Limit: limit}, s); err != nil {
			t.Fatalf("%d workers, --limit %d: %v", workers, limit, err)
		}
		text := out.String()
		i := strings.Index(text, "\nSummary")
		if i < 0 {
			t.Fatalf("no summary in\n%s", text)
		}
		return text[i:]
	}
	whole := tail(1, 0)
	for _, quote := range []string{"What to look at", "reused the 4-tuple", "generation "} {
		if !strings.Contains(whole, quote) {
			t.Fatalf("the mix no longer shows %q in what to look at:\n%s", quote, whole)
		}
	}
	for _, workers := range []int{1, 2} {
		if got := tail(workers, 5); got != whole {
			t.Errorf("%d workers: --limit 5 gives another summary or findings than --limit 0\n%s", workers, firstDiff(whole, got))
		}
	}
}
