package engine

import (
	"github.com/tcpflow-analyze/tcpflow-analyze/fsm"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly"
	"github.com/tcpflow-analyze/tcpflow-analyze/reassembly"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// classKinds maps the sequence tracker's classes to anomaly kinds. A fast or
// spurious retransmission is reported under its own kind only; the summary's
// retransmission total includes them (see flowRecord), as tshark counts.
var classKinds = []struct {
	class reassembly.Class
	kind  anomaly.Kind
}{
	{reassembly.ZeroWindowProbe, anomaly.ZeroWindowProbe},
	{reassembly.ZeroWindow, anomaly.ZeroWindow},
	{reassembly.LostSegment, anomaly.LostSegment},
	{reassembly.KeepAlive, anomaly.KeepAlive},
	{reassembly.WindowUpdate, anomaly.WindowUpdate},
	{reassembly.WindowFull, anomaly.WindowFull},
	{reassembly.KeepAliveAck, anomaly.KeepAliveAck},
	{reassembly.ZeroWindowProbeAck, anomaly.ZeroWindowProbeAck},
	{reassembly.DuplicateAck, anomaly.DuplicateAck},
	{reassembly.AckUnseen, anomaly.AckUnseenSegment},
	{reassembly.SpuriousRetransmission, anomaly.SpuriousRetransmission},
	{reassembly.FastRetransmission, anomaly.FastRetransmission},
	{reassembly.OutOfOrder, anomaly.OutOfOrder},
	{reassembly.OverlapMismatch, anomaly.OverlapMismatch},
	{reassembly.OutOfWindow, anomaly.OutOfWindow},
}

// classKindsMask has the classes of classKinds.
var classKindsMask = func() reassembly.Class {
	var m reassembly.Class
	for _, ck := range classKinds {
		m |= ck.class
	}
	return m
}()

// detect records the per-packet anomalies that s shows.
func (e *Engine) detect(c *conn, d segment.Dir, s *segment.Segment, res *reassembly.Result, step *fsm.Step) {
	cls := res.Class
	if cls.Has(reassembly.KeepAlive) {
		// A keep-alive probe resends the last byte, often as garbage: that
		// its byte differs is the probe's nature, not corruption.
		cls &^= reassembly.OverlapMismatch
	}
	for _, ck := range classKinds {
		if cls&classKindsMask == 0 {
			break // most segments: in order, or a plain ACK
		}
		if cls.Has(ck.class) {
			if ck.kind == anomaly.DuplicateAck {
				e.flagValue(c, ck.kind, s.Frame, s.Time, res.DupAckNum)
				continue
			}
			e.flag(c, ck.kind, s.Frame, s.Time)
		}
	}
	if cls.Has(reassembly.Retransmission) && !cls.Any(reassembly.FastRetransmission|reassembly.SpuriousRetransmission) {
		e.flag(c, anomaly.Retransmission, s.Frame, s.Time)
	}
	if cls.Has(reassembly.DuplicateAck) && res.DupAckNum == 3 {
		e.flag(c, anomaly.TripleDuplicateAck, s.Frame, s.Time)
	}
	if invalidFlags(s) {
		e.flag(c, anomaly.InvalidFlags, s.Frame, s.Time)
	}
	if s.PayloadLen > 0 {
		if c.finSeen[d] && s.Seq.GreaterThan(c.finSeq[d]) {
			e.flag(c, anomaly.DataAfterClose, s.Frame, s.Time)
		}
		if c.rstSeen && !s.Flags.Has(segment.RST) {
			e.flag(c, anomaly.DataAfterReset, s.Frame, s.Time)
		}
	}
	if step.Verdict == fsm.Invalid {
		e.flag(c, anomaly.InvalidSegment, s.Frame, s.Time)
	}
}

// invalidFlags reports flag combinations that no correct TCP stack sends:
// SYN+FIN, SYN+RST, FIN without ACK, no flags at all, and the "XMAS" probe
// FIN+PSH+URG. A SYN that carries data is fine only with TCP Fast Open.
// Every segment asks, so the flags alone are looked up in invalidFlagSets.
func invalidFlags(s *segment.Segment) bool {
	f := s.Flags & invalidFlagBits
	return invalidFlagSets>>f&1 != 0 || f&segment.SYN != 0 && s.PayloadLen > 0 && !s.Opts.TFO
}

// invalidFlagBits are the flags invalidFlags looks at: the six low bits.
const invalidFlagBits = segment.FIN | segment.SYN | segment.RST | segment.PSH | segment.ACK | segment.URG

// invalidFlagSets has bit f set for each combination f of invalidFlagBits
// that invalidFlagSet calls invalid.
var invalidFlagSets = func() (m uint64) {
	for f := segment.Flags(0); f <= invalidFlagBits; f++ {
		if invalidFlagSet(f) {
			m |= 1 << f
		}
	}
	return m
}()

// invalidFlagSet reports whether f, a combination of invalidFlagBits, is one
// no correct TCP stack sends, whatever the segment carries.
func invalidFlagSet(f segment.Flags) bool {
	switch {
	case f == 0:
		return true
	case f.Has(segment.SYN | segment.FIN), f.Has(segment.SYN | segment.RST):
		return true
	case f.Has(segment.FIN|segment.PSH|segment.URG) && !f.Has(segment.ACK):
		return true
	case f.Has(segment.FIN) && !f.Has(segment.ACK):
		return true
	}
	return false
}

// SegmentEvent is how one segment was read, for a packet-by-packet view of a
// flow. Sequence and acknowledgement numbers are relative to the first ones of
// their direction, as Wireshark shows them.
type SegmentEvent struct {
	FlowID         uint64
	Frame          uint64
	Time           int64
	Dir            segment.Dir
	Flags          segment.Flags
	RelSeq, RelAck uint32
	Len            int
	Class          string // the sequence tracker's classes, "|"-joined, or "None"
	Event, Verdict string
	Reason         string
	States         [2]fsm.State // orig, resp after the segment
}

// AnomalyEvent tells a live consumer that a flow showed an anomaly kind for the
// first time.
type AnomalyEvent struct {
	FlowID     uint64
	Kind       string
	Severity   report.Severity
	Packet     uint64
	Time       int64
	Orig, Resp string
}

// flag records one occurrence of k on c, and tells OnAnomaly the first time a
// flow shows that kind.
func (e *Engine) flag(c *conn, k anomaly.Kind, frame uint64, t int64) {
	e.flagValue(c, k, frame, t, 0)
}

// flagValue is flag with a value to keep the largest of (a duplicate-ACK number).
func (e *Engine) flagValue(c *conn, k anomaly.Kind, frame uint64, t int64, v uint32) {
	first := e.OnAnomaly != nil && !c.an.Has(k)
	c.an.AddValue(k, frame, t, v)
	if first {
		in := k.Info()
		e.OnAnomaly(AnomalyEvent{FlowID: c.id, Kind: in.Name, Severity: in.Severity,
			Packet: frame, Time: t, Orig: c.orig.String(), Resp: c.resp.String()})
	}
}
