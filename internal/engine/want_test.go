package engine

import (
	"encoding/json"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// TestWantBuildsOnlyShownRecords runs a mix with a sink that will show the
// flows begun at one frame in three: the others come as partial records,
// except those with findings, and the summary and the capture-wide findings
// are those of the run that built every record. So with one engine and with
// a pipeline, whose workers ask.
func TestWantBuildsOnlyShownRecords(t *testing.T) {
	data := writeMix(t, pcapgen.MixOptions{Packets: 30_000, Connections: 3_000,
		Concurrency: 200, Seed: 5, FloodSources: 300})
	run := func(workers int, want func(uint64) bool) (map[uint64]report.Flow, string) {
		t.Helper()
		e := analyzerOf(t, workers)
		e.OmitTransitions()
		flows := map[uint64]report.Flow{}
		e.SetSink(func(f *report.Flow) { flows[f.ID] = *f })
		if want != nil {
			e.SetWant(want)
		}
		out, _ := feedCapture(t, e, data, capture.Options{}, nil)
		return flows, out
	}
	shown := func(frame uint64) bool { return frame%3 == 0 }
	full, fullRep := run(1, nil)
	for _, workers := range []int{1, 2} {
		part, partRep := run(workers, shown)
		if partRep != fullRep {
			t.Errorf("%d workers: the report differs when only some records are built (%d vs %d bytes)", workers, len(partRep), len(fullRep))
		}
		if len(part) != len(full) || len(full) < 3000 {
			t.Fatalf("%d workers: %d flows with Want, %d without", workers, len(part), len(full))
		}
		comparePartial(t, full, part, shown)
	}
}

func comparePartial(t *testing.T, full, part map[uint64]report.Flow, shown func(uint64) bool) {
	t.Helper()
	partial := 0
	for id, f := range full {
		p := part[id]
		if shown(f.FirstPacket) || len(f.Anomalies) > 0 {
			if a, b := jsonOf(t, p), jsonOf(t, f); a != b {
				t.Errorf("flow %d: want %s\ngot %s", id, b, a)
			}
			continue
		}
		if p.Orig != "" || p.History != "" || p.OrigState != "" {
			t.Errorf("flow %d is not shown but its record was built whole: %+v", id, p)
		}
		partial++
		// What the summary and the capture-wide detectors read.
		if p.ConnState != f.ConnState || p.Midstream != f.Midstream || p.Start != f.Start || p.End != f.End ||
			p.FirstPacket != f.FirstPacket || p.OrigBytes != f.OrigBytes || p.RespBytes != f.RespBytes ||
			p.OrigPackets != f.OrigPackets || p.RespPackets != f.RespPackets || p.EndReason != f.EndReason ||
			len(p.Capped) != len(f.Capped) || p.Generation != f.Generation {
			t.Errorf("flow %d: partial record %+v does not match the whole one %+v", id, p, f)
		}
	}
	if partial < len(full)/2 {
		t.Errorf("%d partial records of %d flows", partial, len(full))
	}
}

func jsonOf(t *testing.T, f report.Flow) string {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
