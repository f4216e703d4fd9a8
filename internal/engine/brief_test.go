package engine

import (
	"bytes"
	"reflect"
	"slices"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// cloneFlow returns a copy of f that shares no list with it.
func cloneFlow(f *report.Flow) report.Flow {
	c := *f
	c.Transitions = slices.Clone(f.Transitions)
	c.Capped = slices.Clone(f.Capped)
	c.Anomalies = slices.Clone(f.Anomalies)
	return c
}

// TestFlowBriefKeepsUnshownRecords packs the partial records that
// fillUnshown makes of a generated mix (losses, resets, refusals, port reuse,
// a SYN flood; with their own messages for the first flow of each kind) into
// a recording and unpacks them into used records: every field must come
// back as it was, whatever the record unpacked into held before. It fails
// when fillUnshown fills a field that flowBrief does not carry.
func TestFlowBriefKeepsUnshownRecords(t *testing.T) {
	data := writeMix(t, pcapgen.MixOptions{Packets: 30_000, Connections: 3_000, Concurrency: 100,
		Seed: 5, FloodSources: 300, Reuse: 0.3, Loss: 0.02})
	e := New(DefaultConfig())
	var flows []report.Flow
	e.SetSink(func(f *report.Flow) { flows = append(flows, cloneFlow(f)) })
	e.SetWant(func(uint64) bool { return false })
	src, err := capture.OpenReader(bytes.NewReader(data), "mix.pcap", capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for src.Next() {
		e.Frame(src.Frame())
	}
	e.Finish([]string{"mix.pcap"}, nil)

	// What the mix must show for the test to mean something.
	var texts, kinds, capped int
	seen := map[string]bool{}
	for i := range flows {
		if flows[i].Orig != "" {
			texts++
		}
		for _, a := range flows[i].Anomalies {
			if !seen[a.Kind] {
				seen[a.Kind] = true
				kinds++
			}
		}
	}
	if len(flows) < 3000 || texts == 0 || kinds < 4 {
		t.Fatalf("%d partial records, %d with their own text, %d kinds of findings: the mix lacks what this test needs", len(flows), texts, kinds)
	}
	// Every bound a flow can name, in fillCapped's order, on some records;
	// bytes missed on some of those with their own text (the mix's lost
	// segments are all filled in later).
	for i := range flows {
		if flows[i].Orig != "" && i%2 == 0 {
			flows[i].MissedBytes += uint64(i)
		}
		if i%5 == 0 {
			for j, name := range cappedNames {
				if (i/5)>>j&1 != 0 {
					flows[i].Capped = append(flows[i].Capped, name)
				}
			}
			if len(flows[i].Capped) > 0 {
				capped++
			}
		}
	}

	var rec recording
	briefs := make([]flowBrief, len(flows))
	for i := range flows {
		briefs[i].pack(&flows[i], &rec)
	}
	used := report.Flow{ID: 7, History: "ShAD", OrigState: "CLOSED", Orig: "1.2.3.4:5", MissedBytes: 9,
		Transitions: make([]report.Transition, 3), Capped: []string{"x", "y", "z", "w"},
		Anomalies: make([]report.Anomaly, 5), HandshakeRTTMs: new(float64), TransitionsDropped: 2}
	for i := range flows {
		got := cloneFlow(&used)
		briefs[i].unpack(&got, &rec)
		got.ID = flows[i].ID
		want := flows[i]
		// Empty lists may be nil on one side and empty on the other: the
		// record's readers do not tell them apart.
		for _, f := range []*report.Flow{&got, &want} {
			if len(f.Transitions) == 0 {
				f.Transitions = nil
			}
			if len(f.Anomalies) == 0 {
				f.Anomalies = nil
			}
			if len(f.Capped) == 0 {
				f.Capped = nil
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("flow %d unpacked as\n%+v\nwant\n%+v", want.ID, got, want)
		}
	}
	if capped == 0 {
		t.Fatal("no record named a bound")
	}
}
