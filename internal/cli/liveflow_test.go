package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// TestFlowEventMatchesEncoder holds appendFlowEvent to the bytes the live
// event stream's encoding/json encoder writes for the same flow event, on
// every flow of the bundled captures (and of the shared corpus, when it is
// there), on the same flows with their lists nil, and on one whose strings
// need escaping.
func TestFlowEventMatchesEncoder(t *testing.T) {
	var files []string
	for _, dir := range []string{filepath.Join(repoRoot, "testdata", "pcaps"), filepath.Join(repoRoot, "..", "shared", "pcaps")} {
		for _, pat := range []string{"*.pcap", "*.pcapng", "*.gz", "*.snoop"} {
			m, _ := filepath.Glob(filepath.Join(dir, pat))
			files = append(files, m...)
		}
	}
	if _, err := os.Stat(filepath.Join(repoRoot, "..", "shared", "pcaps")); err != nil {
		t.Log("../shared/pcaps is absent: the bundled captures only")
	}
	var flows []report.Flow
	for _, name := range files {
		r, err := Analyze([]string{name}, "", engine.DefaultConfig(), &IO{Err: io.Discard})
		if err != nil {
			continue // a capture the tests expect to fail
		}
		flows = append(flows, r.Flows...)
	}
	if len(flows) < 50 {
		t.Fatalf("only %d flows to compare", len(flows))
	}
	for i, n := 0, len(flows); i < n; i += 7 {
		f := flows[i]
		f.Transitions, f.Anomalies = nil, nil
		flows = append(flows, f)
		if g := flows[i]; len(g.Anomalies) > 0 {
			g.Anomalies = append([]report.Anomaly(nil), g.Anomalies...)
			g.Anomalies[0].Packets = nil
			flows = append(flows, g)
		}
	}
	odd := flows[0]
	odd.EndReason, odd.History = "<&> \u2028 \"q\"", "Sh\x01"
	odd.Capped = []string{"a<b"}
	flows = append(flows, odd)

	var enc report.FlowEncoder
	for i := range flows {
		f := &flows[i]
		var want bytes.Buffer
		je := json.NewEncoder(&want)
		fc := normalizedFlow(*f)
		if err := je.Encode(&liveEvent{Type: "flow", Flow: &fc}); err != nil {
			t.Fatal(err)
		}
		got, err := appendFlowEvent(&enc, nil, f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("flow %d (%s):\n got %s\nwant %s", i, f.Orig, got, want.Bytes())
		}
	}
}

// normalizedFlow gives nil lists as empty ones, as the report's JSON does.
func normalizedFlow(f report.Flow) report.Flow {
	if f.Transitions == nil {
		f.Transitions = []report.Transition{}
	}
	if f.Anomalies == nil {
		f.Anomalies = []report.Anomaly{}
	}
	for i := range f.Anomalies {
		if f.Anomalies[i].Packets == nil {
			f.Anomalies[i].Packets = []uint64{}
		}
	}
	return f
}
