package cli

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// TestLowestFlowsDrawsTheBoxEarly checks when the table's box is drawn
// while the analysis runs (drawEarly): as soon as the kept flows are the ids
// 1 to --limit, never before, never for flows that could still be displaced,
// and always the box the end would have drawn.
func TestLowestFlowsDrawsTheBoxEarly(t *testing.T) {
	tests := []struct {
		name  string
		max   int
		early bool
		ids   []uint64 // in the order the flows end
		at    int      // index of the flow after which the box is drawn, -1 never
	}{
		{"in order", 3, true, []uint64{1, 2, 3, 4, 5}, 2},
		{"out of order", 4, true, []uint64{3, 1, 6, 2, 8, 4, 5, 7}, 5},
		{"the last low id ends last", 3, true, []uint64{5, 4, 2, 3, 6, 1}, 5},
		{"fewer flows than the limit", 4, true, []uint64{1, 2, 3}, -1},
		{"an id 0 among them", 3, true, []uint64{0, 3, 1, 2}, -1},
		{"one core", 3, false, []uint64{1, 2, 3, 4}, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := &lowestFlows{max: tc.max, early: tc.early, recycle: func(*report.Flow) {}}
			drawn := -1
			for i, id := range tc.ids {
				f := &report.Flow{ID: id, Orig: fmt.Sprintf("10.0.0.1:%d", 40000+id), Resp: "10.0.0.2:80",
					Generation: 1 + int(id%3), ConnState: "SF", OrigState: "TIME_WAIT", RespState: "CLOSED",
					OrigPackets: id * 7, RespPackets: id, OrigBytes: id << 12, DurationSec: float64(id) / 3}
				l.add(f)
				if drawn < 0 && l.box != nil {
					drawn = i
				}
			}
			if drawn != tc.at {
				t.Fatalf("box drawn after flow %d, want %d", drawn, tc.at)
			}
			box := l.earlyBox()
			if tc.at < 0 {
				if box != nil {
					t.Fatalf("a box came back without being drawn")
				}
				return
			}
			rep := &report.Report{Flows: l.sorted()}
			rep.Summary.Flows = len(tc.ids)
			var early, late bytes.Buffer
			if err := report.WriteTable(&early, rep, report.Options{Limit: tc.max, FlowTable: box}); err != nil {
				t.Fatal(err)
			}
			if err := report.WriteTable(&late, rep, report.Options{Limit: tc.max}); err != nil {
				t.Fatal(err)
			}
			if early.String() != late.String() {
				t.Errorf("the early box differs from the end's:\n%s\nwant:\n%s", early.String(), late.String())
			}
			if !bytes.Contains(early.Bytes(), []byte(fmt.Sprintf("… %d more flows not shown", len(tc.ids)-tc.max))) {
				t.Errorf("the table lacks the count of flows left out:\n%s", early.String())
			}
		})
	}
}

// TestEarlyBoxMatchesTheEnd: on a capture whose first flows end long before
// the last, a table drawn while the analysis runs (a core to spare) is the
// one drawn after it (one core), with one worker and with two, and for a
// limit that the first flows fill as well as one they do not.
func TestEarlyBoxMatchesTheEnd(t *testing.T) {
	path, _ := writeMixFile(t, pcapgen.MixOptions{Packets: 30_000, Connections: 3_000,
		Concurrency: 50, Seed: 5, FloodSources: 100, Reuse: 0.3})
	table := func(procs, workers, limit int) string {
		t.Helper()
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		cfg := engine.DefaultConfig()
		cfg.Workers = workers
		var out bytes.Buffer
		s := &IO{In: strings.NewReader(""), Out: &out, Err: &bytes.Buffer{}}
		if err := RunAnalyze(&AnalyzeOptions{Files: []string{path}, Output: "table", Engine: cfg, Limit: limit}, s); err != nil {
			t.Fatalf("GOMAXPROCS %d, %d workers, --limit %d: %v", procs, workers, limit, err)
		}
		return out.String()
	}
	for _, limit := range []int{1, 400, 5000} {
		want := table(1, 1, limit)
		if limit > 1 && !strings.Contains(want, "#2") {
			t.Fatalf("--limit %d: the mix no longer shows a reused 4-tuple in the table", limit)
		}
		for _, workers := range []int{1, 2} {
			if got := table(2, workers, limit); got != want {
				t.Errorf("--limit %d, %d workers on two cores: the table differs from one core's\n%s", limit, workers, firstDiff(want, got))
			}
		}
	}
}
