package report_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// recordJSON is f as the JSON document and as compact JSON.
func recordJSON(t testing.TB, f *report.Flow) string {
	t.Helper()
	var enc report.FlowEncoder
	a, err := enc.AppendJSONElem(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := report.AppendFlowJSON(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	return string(a) + "\n" + string(b)
}

// roundTrip encodes f, decodes it into into, and requires the same JSON.
func roundTrip(t testing.TB, f *report.Flow, into *report.Flow) int {
	t.Helper()
	rec, err := report.AppendFlowRecord(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := report.DecodeFlowRecord(rec, into); err != nil {
		t.Fatalf("flow %d: %v", f.ID, err)
	}
	if got, want := recordJSON(t, into), recordJSON(t, f); got != want {
		t.Fatalf("flow %d comes back as\n%s\nwant\n%s", f.ID, got, want)
	}
	return len(rec)
}

// TestFlowRecordRoundTripsAMix: every flow of a generated mix, transitions
// and findings included, has the same JSON after a trip through its
// record, decoded into one reused Flow; the records are a fraction of the
// JSON's size (a seventh).
func TestFlowRecordRoundTripsAMix(t *testing.T) {
	flows := mixFlows(t)
	var into report.Flow
	var enc report.FlowEncoder
	recBytes, jsonBytes, withFindings := 0, 0, 0
	for i := range flows {
		recBytes += roundTrip(t, &flows[i], &into)
		elem, err := enc.AppendJSONElem(nil, &flows[i])
		if err != nil {
			t.Fatal(err)
		}
		jsonBytes += len(elem)
		if len(flows[i].Anomalies) > 0 {
			withFindings++
		}
	}
	if len(flows) < 2000 || withFindings == 0 {
		t.Fatalf("%d flows, %d with findings: the mix is not what the test needs", len(flows), withFindings)
	}
	t.Logf("%d flows: %d bytes of records, %d of indented JSON", len(flows), recBytes, jsonBytes)
	if recBytes*5 > jsonBytes {
		t.Errorf("records take %d bytes against %d of JSON: not under a fifth", recBytes, jsonBytes)
	}
}

// mixFlows returns the flows of a small generated mix, transitions and
// findings included.
func mixFlows(t *testing.T) []report.Flow {
	t.Helper()
	var capBuf bytes.Buffer
	if _, err := pcapgen.WriteMix(&capBuf, pcapgen.MixOptions{Packets: 20_000, Connections: 2_000,
		Concurrency: 100, Seed: 9, FloodSources: 200}); err != nil {
		t.Fatal(err)
	}
	e := engine.New(engine.DefaultConfig())
	var flows []report.Flow
	e.SetSink(func(f *report.Flow) { flows = append(flows, *f) })
	src, err := capture.OpenReader(bytes.NewReader(capBuf.Bytes()), "mix.pcap", capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for src.Next() {
		e.Frame(src.Frame())
	}
	e.Finish(nil, nil)
	return flows
}

// TestFlowRecordDecoderReused: one decoder reads back every record of the
// mix, twice over, as -o json reads its spool: the strings it hands out
// again (from its table and its cache of recent ones, where strings of
// different flows share slots) give the JSON of the flows they came from.
func TestFlowRecordDecoderReused(t *testing.T) {
	flows := mixFlows(t)
	var d report.FlowRecordDecoder
	var into report.Flow
	for range 2 {
		for i := range flows {
			rec, err := report.AppendFlowRecord(nil, &flows[i])
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Decode(rec, &into); err != nil {
				t.Fatalf("flow %d: %v", flows[i].ID, err)
			}
			if got, want := recordJSON(t, &into), recordJSON(t, &flows[i]); got != want {
				t.Fatalf("flow %d comes back as\n%s\nwant\n%s", flows[i].ID, got, want)
			}
		}
	}
}

// TestFlowRecordKeepsWhatJSONShows: nil against empty lists, details of
// every shape, odd strings and extreme numbers.
func TestFlowRecordKeepsWhatJSONShows(t *testing.T) {
	rtt := 0.1 + 0.2
	tests := []report.Flow{
		{},
		{Transitions: []report.Transition{}, Anomalies: []report.Anomaly{}},
		{ID: ^uint64(0), Orig: "[2001:db8::1]:443", Resp: "10.0.0.1:80", Generation: -3, Midstream: true,
			ConnState: "S1", History: "ShAD<&>\"\\\u2028", FirstPacket: 1 << 63, Start: -1, End: 1 << 62,
			DurationSec: 1e-9, HandshakeRTTMs: &rtt, MSS: [2]int{-1, 1 << 40}, WindowScale: [2]int{14, 0},
			TransitionsDropped: 7, Capped: []string{"holes", "timeline"},
			Transitions: []report.Transition{
				{Packet: 1, Time: 5, Event: "syn", Dir: "orig", OrigFrom: "CLOSED", OrigTo: "SYN_SENT", RespFrom: "LISTEN", RespTo: "LISTEN"},
				{Packet: 2, Time: 4, Event: "syn_ack", Dir: "resp", OrigFrom: "SYN_SENT", OrigTo: "SYN_SENT", RespFrom: "LISTEN", RespTo: "SYN_RECEIVED"},
			},
			Anomalies: []report.Anomaly{
				{Kind: "duplicate_ack", Severity: report.SeverityNotice, Count: 3, Packets: []uint64{4, 5},
					Times: []report.Time{1, 2}, Message: "repeated", Details: map[string]any{
						"max_number": uint32(3), "nested": map[string]any{"b": []int{1, 2}, "a": "x<y"},
						"big": uint64(1<<64 - 1), "f": 0.5, "nil": nil}},
				{Kind: "reset", Severity: report.SeverityWarning, Packets: []uint64{}, Flows: []uint64{9}},
				{Kind: "half_open"},
			}},
	}
	// A timeline longer than the first pass keeps, with more distinct
	// names than a record's table holds.
	var long report.Flow
	for i := range 60 {
		name := string(rune('A'+i%26)) + string(rune('a'+i/26))
		long.Transitions = append(long.Transitions, report.Transition{Packet: uint64(i), Time: report.Time(i),
			Event: name, Dir: "orig", OrigFrom: "CLOSED", OrigTo: name + "x", RespFrom: "LISTEN", RespTo: "LISTEN"})
	}
	tests = append(tests, long)
	var into report.Flow
	for i := range tests {
		roundTrip(t, &tests[i], &into)
	}
}

// TestFlowRecordRejectsDamage: a record cut short or with a byte changed is
// an error or reads back as some flow, never a panic; the version is checked.
func TestFlowRecordRejectsDamage(t *testing.T) {
	rtt := 1.5
	f := report.Flow{ID: 7, Orig: "a", HandshakeRTTMs: &rtt, Transitions: []report.Transition{{Event: "e"}},
		Anomalies: []report.Anomaly{{Kind: "k", Details: map[string]any{"x": 1}}}}
	rec, err := report.AppendFlowRecord(nil, &f)
	if err != nil {
		t.Fatal(err)
	}
	var into report.Flow
	for n := range len(rec) {
		if err := report.DecodeFlowRecord(rec[:n], &into); err == nil {
			t.Errorf("a record cut to %d of %d bytes was read", n, len(rec))
		}
	}
	if err := report.DecodeFlowRecord(append(rec, 0), &into); err == nil {
		t.Error("a record with a byte too many was read")
	}
	bad := append([]byte{}, rec...)
	bad[0] = 99
	if err := report.DecodeFlowRecord(bad, &into); err == nil {
		t.Error("a record of another version was read")
	}
}

func FuzzDecodeFlowRecord(f *testing.F) {
	rtt := 2.0
	seed := report.Flow{ID: 3, Orig: "1.2.3.4:5", HandshakeRTTMs: &rtt, Capped: []string{"holes"},
		Transitions: []report.Transition{{Packet: 1, Event: "syn", Dir: "orig"}},
		Anomalies:   []report.Anomaly{{Kind: "k", Packets: []uint64{1}, Details: map[string]any{"n": 2}}}}
	rec, err := report.AppendFlowRecord(nil, &seed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rec)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var g report.Flow
		if report.DecodeFlowRecord(b, &g) != nil {
			return
		}
		// What was read encodes, and reads back with the same JSON.
		if _, err := json.Marshal(g.Anomalies); err != nil {
			t.Fatalf("a decoded flow's anomalies do not encode: %v", err)
		}
		var h report.Flow
		roundTrip(t, &g, &h)
	})
}

// TestFlowRecordNamesByValue: a record names each distinct transition name
// once, however its strings are stored: a flow whose names are copies at
// other addresses, some shared and some not, writes the very bytes of the
// same flow with the names shared.
func TestFlowRecordNamesByValue(t *testing.T) {
	flows := mixFlows(t)
	for i := range flows {
		f := &flows[i]
		if len(f.Transitions) < 2 {
			continue
		}
		g := *f
		g.Transitions = slices.Clone(f.Transitions)
		for j := range g.Transitions {
			tr := &g.Transitions[j]
			if j%2 == 0 { // every other transition gets copies of its names
				tr.Event, tr.Dir = strings.Clone(tr.Event), strings.Clone(tr.Dir)
				tr.OrigFrom, tr.OrigTo = strings.Clone(tr.OrigFrom), strings.Clone(tr.OrigTo)
				tr.RespFrom, tr.RespTo = strings.Clone(tr.RespFrom), strings.Clone(tr.RespTo)
			}
		}
		a, err := report.AppendFlowRecord(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := report.AppendFlowRecord(nil, &g)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("flow %d: %d bytes with shared names, %d with copies", f.ID, len(a), len(b))
		}
	}
}
