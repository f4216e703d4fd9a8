package engine

import (
	"unsafe"

	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// flowBrief is the record of a flow that the sink will not show (Engine.Want
// said no), as a worker of a Pipeline hands it to the merger: what
// fillUnshown puts in a record, in two cache lines of the worker's own
// recording instead of a recycled record of six.
//
// The whole record crossed from the worker's core to the merger's and back:
// the worker's first writes to a record the merger's sink had given back,
// the merger's reads of it for the capture-wide detectors and the table's
// "what to look at", the shared list of recycled records between them. On
// the loopback capture, where nearly every flow is one the table does not
// show, that was about a tenth of two workers' time (docs/performance.md,
// session 29). The worker now fills a record of its own, which stays in its
// cache, packs it here, and the merger unpacks the brief into a record of
// its own (Pipeline.localFlow) that its sink gives back on its own core.
type flowBrief struct {
	first, last       uint64 // FirstPacket, LastPacket
	start, end        int64
	pkts, bytes       [2]uint64
	connState, reason string
	gen               int32  // Generation
	anoms             uint32 // the first of its findings in recording.briefAnoms
	nanoms            uint32
	text              uint32 // one more than its index in recording.briefTexts, 0 for none
	midstream         bool
	capped            uint8 // bit i: cappedNames[i]
	_                 [14]byte
}

// The brief takes two cache lines (a compile-time check), so that the
// briefs of a recording, an array the allocator aligns to 64 bytes at the
// sizes rounds reach, take two each.
var _ [128 - unsafe.Sizeof(flowBrief{})]byte

// cappedNames are the bounds of the analysis a flow can reach
// (report.Flow.Capped), in the order fillCapped names them; bit i of
// flowBrief.capped stands for cappedNames[i].
var cappedNames = [...]string{"holes", "unacked", "timeline"}

// briefAnomaly is a finding of a flow that the sink will not show: what
// anomaly.Set.BriefInto fills in.
type briefAnomaly struct {
	kind     string
	severity report.Severity
	count    uint64
	message  string
}

// briefText is what fillUnshown adds to a record when it makes a finding's
// message of the flow's own (flowMessage reads it).
type briefText struct {
	orig, resp string
	missed     uint64
}

// pack fills b with the record f that fillUnshown filled, the findings and
// text going to r's arrays (TestFlowBriefKeepsUnshownRecords holds it to
// every field fillUnshown fills).
func (b *flowBrief) pack(f *report.Flow, r *recording) {
	*b = flowBrief{
		first: f.FirstPacket, last: f.LastPacket,
		start: int64(f.Start), end: int64(f.End),
		pkts:      [2]uint64{f.OrigPackets, f.RespPackets},
		bytes:     [2]uint64{f.OrigBytes, f.RespBytes},
		connState: f.ConnState, reason: f.EndReason,
		gen:       int32(f.Generation),
		anoms:     uint32(len(r.briefAnoms)),
		nanoms:    uint32(len(f.Anomalies)),
		midstream: f.Midstream,
	}
	for i := range f.Anomalies {
		a := &f.Anomalies[i]
		r.briefAnoms = append(r.briefAnoms, briefAnomaly{kind: a.Kind, severity: a.Severity, count: a.Count, message: a.Message})
	}
	for _, c := range f.Capped {
		// fillCapped names only cappedNames.
		for i, name := range cappedNames {
			if c == name {
				b.capped |= 1 << i
			}
		}
	}
	if f.Orig != "" || f.Resp != "" || f.MissedBytes != 0 {
		r.briefTexts = append(r.briefTexts, briefText{f.Orig, f.Resp, f.MissedBytes})
		b.text = uint32(len(r.briefTexts))
	}
}

// unpack fills f with the record that b was packed from, reusing the memory
// of f's lists; r is the recording b is in. The ID is the caller's to set.
func (b *flowBrief) unpack(f *report.Flow, r *recording) {
	ts, as, cs := f.Transitions[:0], f.Anomalies[:0], f.Capped[:0]
	*f = report.Flow{
		Generation: int(b.gen), Midstream: b.midstream,
		ConnState: b.connState, EndReason: b.reason,
		FirstPacket: b.first, LastPacket: b.last,
		Start: report.Time(b.start), End: report.Time(b.end),
		DurationSec: float64(b.end-b.start) / 1e9,
		OrigPackets: b.pkts[0], RespPackets: b.pkts[1],
		OrigBytes: b.bytes[0], RespBytes: b.bytes[1],
		Transitions: ts, Anomalies: as,
	}
	for _, a := range r.briefAnoms[b.anoms : b.anoms+b.nanoms] {
		f.Anomalies = append(f.Anomalies, report.Anomaly{Kind: a.kind, Severity: a.severity, Count: a.count, Message: a.message})
	}
	if b.capped != 0 {
		for i, name := range cappedNames {
			if b.capped&(1<<i) != 0 {
				cs = append(cs, name)
			}
		}
		f.Capped = cs
	}
	if b.text != 0 {
		t := &r.briefTexts[b.text-1]
		f.Orig, f.Resp, f.MissedBytes = t.orig, t.resp, t.missed
	}
}
