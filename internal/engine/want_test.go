package engine

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// TestWantBuildsOnlyShownRecords runs a mix with a sink that will show the
// flows begun at one frame in three: the others come as partial records
// (their findings brief: see comparePartial), and the summary and the
// capture-wide findings are those of the run that built every record. So
// with one engine and with a pipeline, whose workers ask.
func TestWantBuildsOnlyShownRecords(t *testing.T) {
	data := writeMix(t, pcapgen.MixOptions{Packets: 30_000, Connections: 3_000,
		Concurrency: 200, Seed: 5, FloodSources: 300})
	var order []uint64 // the flows' ids in the order the sink got them
	run := func(workers int, want func(uint64) bool) (map[uint64]report.Flow, string) {
		t.Helper()
		e := analyzerOf(t, workers)
		e.OmitTransitions()
		flows := map[uint64]report.Flow{}
		e.SetSink(func(f *report.Flow) {
			g := *f
			g.Anomalies = slices.Clone(f.Anomalies) // the engine refills a record's list
			if _, dup := flows[f.ID]; dup {
				t.Errorf("flow %d came twice", f.ID)
			}
			flows[f.ID] = g
			order = append(order, f.ID)
		})
		if want != nil {
			e.SetWant(want)
		}
		out, _ := feedCapture(t, e, data, capture.Options{}, nil)
		return flows, out
	}
	shown := func(frame uint64) bool { return frame%3 == 0 }
	full, fullRep := run(1, nil)
	for _, workers := range []int{1, 2} {
		order = order[:0]
		part, partRep := run(workers, shown)
		if partRep != fullRep {
			t.Errorf("%d workers: the report differs when only some records are built (%d vs %d bytes)", workers, len(partRep), len(fullRep))
		}
		if len(part) != len(full) || len(full) < 3000 {
			t.Fatalf("%d workers: %d flows with Want, %d without", workers, len(part), len(full))
		}
		comparePartial(t, full, part, order, shown)
	}
}

// comparePartial compares the records of a run whose sink shows only some
// flows (part, with the ids in the order the sink got them) with those of a
// run that built every record whole (full). A shown flow's record is whole.
// Another's has what the summary, the capture-wide detectors and the
// table's "what to look at" read: its states, times and counts, and its
// findings' kinds, severities and counts, in the same order. A record of a
// flow that began before every partial record with the same kind the sink
// got so far carries the flow's own message (that section quotes the
// lowest flow's); others the flow's own or the catalog's.
func comparePartial(t *testing.T, full, part map[uint64]report.Flow, order []uint64, shown func(uint64) bool) {
	t.Helper()
	partial, brief, quoted := 0, 0, 0
	lowest := map[string]uint64{} // by kind, the first frame of the earliest partial record with it
	for _, id := range order {
		f, p := full[id], part[id]
		if shown(f.FirstPacket) {
			if a, b := jsonOf(t, p), jsonOf(t, f); a != b {
				t.Errorf("flow %d: want %s\ngot %s", id, b, a)
			}
			continue
		}
		if p.History != "" || p.OrigState != "" || len(p.Transitions) > 0 {
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
		if len(p.Anomalies) != len(f.Anomalies) {
			t.Errorf("flow %d: %d findings in the partial record, %d in the whole one", id, len(p.Anomalies), len(f.Anomalies))
			continue
		}
		if len(f.Anomalies) > 0 {
			brief++
		}
		for i, a := range p.Anomalies {
			w := f.Anomalies[i]
			if a.Kind != w.Kind || a.Severity != w.Severity || a.Count != w.Count || a.Packets != nil || a.Details != nil {
				t.Errorf("flow %d: brief finding %+v, the whole record has %+v", id, a, w)
			}
			k, _ := anomaly.ByName(a.Kind)
			switch {
			case lowest[a.Kind] == 0 || p.FirstPacket < lowest[a.Kind]:
				lowest[a.Kind] = p.FirstPacket
				if a.Message != w.Message {
					t.Errorf("flow %d: the earliest partial record with %s so far says %q, the flow's message is %q", id, a.Kind, a.Message, w.Message)
				}
				if w.Message != k.Info().Message {
					quoted++
				}
			case a.Message != w.Message && a.Message != k.Info().Message:
				t.Errorf("flow %d: %s says %q, neither the flow's message %q nor the catalog's", id, a.Kind, a.Message, w.Message)
			}
		}
	}
	if partial < len(full)/2 {
		t.Errorf("%d partial records of %d flows", partial, len(full))
	}
	if brief < 50 || quoted < 2 {
		t.Errorf("%d partial records with findings, %d quoting a flow's own message: the mix no longer tests them", brief, quoted)
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

// TestEndpointSinkRecordsWithoutText runs a mix through a sink that takes
// the endpoints as addresses (SetEndpointSink, what check uses), with one
// engine and with a pipeline: the flows come in the order and with the
// numbers, times, RTTs and findings' kinds, counts and packets of the whole
// records, the endpoints given are the records' Orig and Resp, the text
// is left out, and the summary and capture-wide findings are unchanged.
func TestEndpointSinkRecordsWithoutText(t *testing.T) {
	data := writeMix(t, pcapgen.MixOptions{Packets: 30_000, Connections: 3_000,
		Concurrency: 200, Seed: 7, FloodSources: 300})
	full := map[uint64]report.Flow{}
	var fullOrder []uint64
	e := analyzerOf(t, 1)
	e.SetSink(func(f *report.Flow) {
		g := *f
		g.Anomalies = slices.Clone(f.Anomalies)
		full[f.ID] = g
		fullOrder = append(fullOrder, f.ID)
	})
	_, fullRep := feedCapture(t, e, data, capture.Options{}, nil)
	if len(full) < 3000 {
		t.Fatalf("%d flows", len(full))
	}
	for _, workers := range []int{1, 2} {
		var order []uint64
		e := analyzerOf(t, workers)
		e.SetEndpointSink(func(f *report.Flow, orig, resp netip.AddrPort) {
			order = append(order, f.ID)
			w := full[f.ID]
			if orig.String() != w.Orig || resp.String() != w.Resp {
				t.Errorf("%d workers, flow %d: endpoints %v %v, want %s %s", workers, f.ID, orig, resp, w.Orig, w.Resp)
			}
			if f.Orig != "" || f.Resp != "" || f.History != "" || f.OrigState != "" || f.RespState != "" || len(f.Transitions) > 0 {
				t.Errorf("%d workers, flow %d: the record has text: %+v", workers, f.ID, f)
			}
			// Put the text back, and the kinds' messages: the rest must
			// be the whole record's.
			g := *f
			g.Orig, g.Resp, g.History, g.OrigState, g.RespState, g.Transitions = w.Orig, w.Resp, w.History, w.OrigState, w.RespState, w.Transitions
			g.Anomalies = slices.Clone(f.Anomalies)
			for i := range g.Anomalies {
				if i < len(w.Anomalies) {
					g.Anomalies[i].Message = w.Anomalies[i].Message
				}
			}
			if a, b := jsonOf(t, g), jsonOf(t, w); a != b {
				t.Errorf("%d workers, flow %d: want %s\ngot %s", workers, f.ID, b, a)
			}
		})
		_, rep := feedCapture(t, e, data, capture.Options{}, nil)
		if rep != fullRep {
			t.Errorf("%d workers: the report differs with the endpoint sink", workers)
		}
		if !slices.Equal(order, fullOrder) {
			t.Errorf("%d workers: %d flows in another order than the whole records' %d", workers, len(order), len(fullOrder))
		}
	}
}

// TestLastSinkWins: SetSink after SetEndpointSink gives whole records to
// the plain sink (and the other way round), with one engine and a pipeline.
func TestLastSinkWins(t *testing.T) {
	data := writeMix(t, pcapgen.MixOptions{Packets: 3_000, Connections: 300, Concurrency: 20, Seed: 3})
	for _, workers := range []int{1, 2} {
		whole, bare := 0, 0
		e := analyzerOf(t, workers)
		e.SetEndpointSink(func(*report.Flow, netip.AddrPort, netip.AddrPort) { bare++ })
		e.SetSink(func(f *report.Flow) {
			if f.Orig != "" && f.History != "" {
				whole++
			}
		})
		feedCapture(t, e, data, capture.Options{}, nil)
		if whole < 300 || bare != 0 {
			t.Errorf("%d workers, SetSink last: %d whole records, %d to the endpoint sink", workers, whole, bare)
		}
		whole, bare = 0, 0
		e = analyzerOf(t, workers)
		e.SetSink(func(*report.Flow) { whole++ })
		e.SetEndpointSink(func(f *report.Flow, _, _ netip.AddrPort) {
			if f.Orig == "" {
				bare++
			}
		})
		feedCapture(t, e, data, capture.Options{}, nil)
		if bare < 300 || whole != 0 {
			t.Errorf("%d workers, SetEndpointSink last: %d records without text, %d to the plain sink", workers, bare, whole)
		}
	}
}
