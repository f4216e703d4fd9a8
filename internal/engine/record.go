package engine

import (
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/fsm"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// flowRecord builds the report entry of a connection. Only a final record adds
// the flow-level findings, which need the whole connection.
func (e *Engine) flowRecord(c *conn, reason string, final bool) report.Flow {
	var f report.Flow
	e.fillRecord(&f, c, reason, final)
	return f
}

// fillRecord is flowRecord into f, reusing the capacity of f.Transitions.
// For a sink that takes the endpoints as addresses (SetEndpointSink) the
// record leaves out its text: the endpoints, history and states as
// strings, the transitions, and the findings' own messages (each has its
// kind's). A policy reads none of them; leaving them out took 2.7 % of
// check's instructions off on the mix (docs/performance.md, session 27).
func (e *Engine) fillRecord(f *report.Flow, c *conn, reason string, final bool) {
	ts, as := f.Transitions[:0], f.Anomalies[:0]
	*f = report.Flow{
		ID: c.id, Generation: c.gen, Midstream: c.midstream,
		ConnState: c.zeek.ConnState(), EndReason: reason,
		FirstPacket: c.firstFrame, LastPacket: c.lastFrame,
		Start: report.Time(c.start), End: report.Time(c.end),
		DurationSec: float64(c.end-c.start) / 1e9,
		OrigPackets: c.pkts[0], RespPackets: c.pkts[1],
		OrigSeqPackets: c.seqPkts[0], RespSeqPackets: c.seqPkts[1],
		OrigBytes: c.bytes[0], RespBytes: c.bytes[1],
		OrigIPBytes: c.ipBytes[0], RespIPBytes: c.ipBytes[1],
	}
	if !e.noText {
		st := c.st.States()
		f.Orig, f.Resp = c.orig.String(), e.strs.endpoint(c.resp)
		f.History = e.strs.history(&c.zeek)
		f.OrigState, f.RespState = st[segment.Orig].String(), st[segment.Resp].String()
	}
	for d := segment.Orig; d <= segment.Resp; d++ {
		missed, mss, ws := c.seq.Brief(d)
		f.MissedBytes += missed
		f.MSS[d] = int(mss)
		f.WindowScale[d] = int(ws)
	}
	if rtt, ok := c.seq.HandshakeRTT(); ok {
		ms := float64(rtt) / 1e6
		f.HandshakeRTTMs = &ms
	}
	tl := c.st.Timeline()
	if e.noTimeline || e.noText {
		tl = nil
	}
	if cap(ts) < len(tl) {
		// Exactly sized: the json output keeps every flow's list.
		ts = make([]report.Transition, 0, len(tl))
	}
	f.Transitions = ts
	for _, t := range tl {
		f.Transitions = append(f.Transitions, report.Transition{
			Packet: t.Frame, Time: report.Time(t.Time), Event: t.Event.String(), Dir: t.Dir.String(),
			OrigFrom: t.From[0].String(), OrigTo: t.To[0].String(),
			RespFrom: t.From[1].String(), RespTo: t.To[1].String(),
		})
	}
	f.TransitionsDropped = int(c.st.Dropped())
	fillCapped(f, c)
	if final {
		e.flowAnomalies(c, f.ConnState)
	}
	var message func(anomaly.Kind) string
	if !e.noText {
		message = func(k anomaly.Kind) string { return flowMessage(c, f, k) }
	}
	f.Anomalies = c.an.ReportInto(as, message)
}

// strCache hands out the strings that many flow records share, a server's
// endpoint and the common histories, instead of a new one per record. It is
// bounded: past maxCachedStrs entries of a kind, strings are made afresh.
type strCache struct {
	endpoints map[netip.AddrPort]string
	histories map[string]string
	buf       []byte
}

const maxCachedStrs = 4096

func (c *strCache) endpoint(ap netip.AddrPort) string {
	if s, ok := c.endpoints[ap]; ok {
		return s
	}
	s := ap.String()
	if c.endpoints == nil {
		c.endpoints = make(map[netip.AddrPort]string)
	}
	if len(c.endpoints) < maxCachedStrs {
		c.endpoints[ap] = s
	}
	return s
}

func (c *strCache) history(z *fsm.Zeek) string {
	c.buf = z.AppendHistory(c.buf[:0])
	if s, ok := c.histories[string(c.buf)]; ok {
		return s
	}
	s := string(c.buf)
	if c.histories == nil {
		c.histories = make(map[string]string)
	}
	if len(c.histories) < maxCachedStrs {
		c.histories[s] = s
	}
	return s
}

// recycled holds flow records that a sink gave back with RecycleFlow, for the
// engines to fill again; an engine takes them recycleBatch at a time
// (Engine.takeFlow). It was a sync.Pool, whose records a pipeline's sink put
// in the pool of its own processor while the workers asked theirs: nearly
// every Get stole from the other core's pool, a compare-and-swap on a line
// that core had just written (0.03 CPU-s a run of two workers on the mix,
// docs/performance.md, session 17). A lock taken once per batch by the
// engines, and once per record by the sink, which mostly keeps the line,
// costs less. At most maxRecycled records wait; more are left to the garbage
// collector.
var recycled struct {
	mu    sync.Mutex
	flows []*report.Flow
}

const (
	maxRecycled  = 4096
	recycleBatch = 64
)

// RecycleFlow gives back a flow record that the engine handed to a sink, for
// the records of later flows. The sink must keep no part of f (a copy of the
// struct shares its lists): the ndjson writer calls it once a flow's line is
// written. It is safe for concurrent use.
func RecycleFlow(f *report.Flow) {
	recycled.mu.Lock()
	if len(recycled.flows) < maxRecycled {
		recycled.flows = append(recycled.flows, f)
	}
	recycled.mu.Unlock()
}

// takeRecycled returns a record from those given back (RecycleFlow), or a
// new one.
func takeRecycled() *report.Flow {
	recycled.mu.Lock()
	defer recycled.mu.Unlock()
	n := len(recycled.flows)
	if n == 0 {
		return new(report.Flow)
	}
	f := recycled.flows[n-1]
	recycled.flows[n-1] = nil
	recycled.flows = recycled.flows[:n-1]
	return f
}

// Recycle gives back a flow record that the engine's sink is done with, and
// must be called from the sink (on the goroutine that runs the engine). The
// engine keeps it for its next flow without the shared list's lock: with
// one engine every record went through RecycleFlow and then takeFlow, four
// locked instructions, 2.3 % of a one-core run on the mix (each waits for
// the core's stores to drain; docs/performance.md, session 18). A worker of
// a Pipeline, whose records the merger's sink gives back, and an engine
// that already holds a batch pass it to RecycleFlow.
func (e *Engine) Recycle(f *report.Flow) {
	if e.rec != nil || len(e.freeFlows) >= recycleBatch {
		RecycleFlow(f)
		return
	}
	e.freeFlows = append(e.freeFlows, f)
}

// takeFlow returns a record to fill: one of the engine's batch of recycled
// records, the batch refilled from the recycled ones when it is empty, or a
// new one.
func (e *Engine) takeFlow() *report.Flow {
	if len(e.freeFlows) == 0 {
		recycled.mu.Lock()
		n := len(recycled.flows)
		k := min(n, recycleBatch)
		e.freeFlows = append(e.freeFlows, recycled.flows[n-k:]...)
		clear(recycled.flows[n-k:])
		recycled.flows = recycled.flows[:n-k]
		recycled.mu.Unlock()
		if k == 0 {
			return new(report.Flow)
		}
	}
	n := len(e.freeFlows) - 1
	f := e.freeFlows[n]
	e.freeFlows[n] = nil
	e.freeFlows = e.freeFlows[:n]
	return f
}

// fillUnshown fills f for a sink that will not show the flow (Engine.Want
// said no): the fields that the summary and the capture-wide detectors read,
// without the strings and lists of a full record. Its findings have their
// kinds, severities and counts (the table's "what to look at" ranks them
// over every flow), and the flow's own message only when it began before
// every unshown flow of the same kind this engine handed over so far: the
// lowest flow of a kind is the one that section quotes. Others have the
// catalog's message. On a busy server's capture where every connection
// reuses a 4-tuple in TIME_WAIT, building those messages and endpoint
// strings for flows nobody shows took a sixth of a table run
// (docs/performance.md, session 25).
func (e *Engine) fillUnshown(f *report.Flow, c *conn, reason string) {
	cs := c.zeek.ConnState()
	e.flowAnomalies(c, cs)
	ts, as := f.Transitions[:0], f.Anomalies[:0]
	*f = report.Flow{
		ID: c.id, Generation: c.gen, Midstream: c.midstream,
		ConnState: cs, EndReason: reason,
		FirstPacket: c.firstFrame, LastPacket: c.lastFrame,
		Start: report.Time(c.start), End: report.Time(c.end),
		DurationSec: float64(c.end-c.start) / 1e9,
		OrigPackets: c.pkts[0], RespPackets: c.pkts[1],
		OrigBytes: c.bytes[0], RespBytes: c.bytes[1],
		Transitions: ts, Anomalies: as[:0],
	}
	fillCapped(f, c)
	if !c.an.Empty() {
		f.Anomalies = c.an.BriefInto(as, func(k anomaly.Kind) string {
			if m := &e.unshownMsg[k]; *m == 0 || c.firstFrame < *m-1 {
				*m = c.firstFrame + 1
			} else {
				return ""
			}
			if f.Orig == "" {
				// What flowMessage reads that the partial record lacks.
				f.Orig, f.Resp = c.orig.String(), e.strs.endpoint(c.resp)
				for d := segment.Orig; d <= segment.Resp; d++ {
					missed, _, _ := c.seq.Brief(d)
					f.MissedBytes += missed
				}
			}
			return flowMessage(c, f, k)
		})
	}
}

// fillCapped names in f.Capped the bounds of the analysis that c reached.
func fillCapped(f *report.Flow, c *conn) {
	holes, unacked := c.seq.Capped()
	for i, reached := range [len(cappedNames)]bool{holes, unacked, c.st.Dropped() > 0} {
		if reached {
			f.Capped = append(f.Capped, cappedNames[i])
		}
	}
}

// flowAnomalies adds the flow-level findings that need the whole connection,
// whose Zeek state is connState.
func (e *Engine) flowAnomalies(c *conn, connState string) {
	at := func(k anomaly.Kind) { e.flag(c, k, c.firstFrame, c.start) }
	switch connState {
	case "REJ":
		at(anomaly.Rejected)
	case "RSTO", "RSTR":
		if c.handshakeDone() {
			e.flag(c, anomaly.Reset, c.rstFrame, c.end)
		} else if !c.midstream {
			at(anomaly.HalfOpen)
		}
	case "S0", "SH", "RSTOS0", "S1", "S2", "S3", "SF", "OTH":
		// Not for a flow picked up mid-stream: Zeek gives SH to any flow
		// whose originator closed while the responder stayed silent or
		// sent bare ACKs, SYN or not, and one seen from its FIN on is a
		// close, not an unanswered attempt. Nor once both endpoints were
		// synchronized: an originator that acknowledged the responder's SYN
		// had its answer, though a one-sided capture missed it (S0 or SH).
		if !c.midstream && !c.handshakeDone() {
			at(anomaly.HalfOpen)
		}
	}
	if c.maxGap >= int64(e.cfg.LongIdle) {
		e.flag(c, anomaly.LongIdle, c.gapFrame, c.start)
	}
	for d := 0; d < 2; d++ {
		if int(c.twSegs[d]) >= e.cfg.StuckTimeWait {
			e.flag(c, anomaly.StuckTimeWait, c.twFrame, c.end)
		}
	}
	// An endpoint that acknowledged its peer's FIN and sat in CLOSE_WAIT while
	// the connection lived on is an application that never closes its socket.
	for d := 0; d < 2; d++ {
		since, ok := c.closeWaitSince(d)
		if ok && c.end-since >= int64(e.cfg.CloseWaitLeak) {
			e.flag(c, anomaly.CloseWaitLeak, c.lastFrame, c.end)
		}
	}
}

// handshakeDone reports whether both endpoints reached a synchronized state.
func (c *conn) handshakeDone() bool {
	for _, t := range c.st.Timeline() {
		if t.To[0].Synchronized() && t.To[1].Synchronized() {
			return true
		}
	}
	st := c.st.States()
	return st[0].Synchronized() && st[1].Synchronized()
}

// closeWaitSince returns when endpoint d entered CLOSE_WAIT, if it ends there.
func (c *conn) closeWaitSince(d int) (int64, bool) {
	if c.st.States()[d] != fsm.CloseWait {
		return 0, false
	}
	tl := c.st.Timeline()
	for i := len(tl) - 1; i >= 0; i-- {
		if tl[i].To[d] == fsm.CloseWait && tl[i].From[d] != fsm.CloseWait {
			return tl[i].Time, true
		}
	}
	return 0, false
}

// portReuseMessages are port_reuse's messages for the first generations,
// made once: on a busy server's capture nearly every connection reuses a
// 4-tuple (docs/performance.md, session 25). [1] is for a reuse while the
// previous connection was still in TIME_WAIT.
var portReuseMessages = func() (m [2][64]string) {
	for gen := range m[0] {
		m[0][gen] = portReuseText(gen, false)
		m[1][gen] = portReuseText(gen, true)
	}
	return m
}()

// portReuseMessage is port_reuse's message for generation gen.
func portReuseMessage(gen int, premature bool) string {
	if gen >= 0 && gen < len(portReuseMessages[0]) {
		i := 0
		if premature {
			i = 1
		}
		return portReuseMessages[i][gen]
	}
	return portReuseText(gen, premature)
}

// portReuseText makes port_reuse's message for generation gen.
func portReuseText(gen int, premature bool) string {
	if premature {
		return "generation " + strconv.Itoa(gen) + " reused the 4-tuple while the previous connection was still in TIME_WAIT"
	}
	return "generation " + strconv.Itoa(gen) + " of this 4-tuple"
}

// flowMessage is the flow's own message for its finding k, or "" for the
// catalog's. Of the record f it reads Orig, Resp, ConnState and
// MissedBytes, which fillUnshown fills for it (TestUnshownFlowMessages).
// The common ones are built without fmt, which took 7 % of an ndjson run on
// a capture where every flow had a finding.
func flowMessage(c *conn, f *report.Flow, k anomaly.Kind) string {
	switch k {
	case anomaly.Reset:
		who := "the responder " + f.Resp
		if c.rstDir == segment.Orig {
			who = "the originator " + f.Orig
		}
		return "the established connection was aborted by RST from " + who + " (packet " + strconv.FormatUint(c.rstFrame, 10) + ")"
	case anomaly.PortReuse:
		return portReuseMessage(c.gen, c.premature)
	case anomaly.CloseWaitLeak:
		for d, who := range [2]string{f.Orig, f.Resp} {
			if since, ok := c.closeWaitSince(d); ok {
				return fmt.Sprintf("%s acknowledged its peer's FIN and stayed in CLOSE_WAIT for %s while the connection lived on: the application never closed its socket",
					who, time.Duration(c.end-since).Round(time.Millisecond))
			}
		}
	case anomaly.LongIdle:
		return fmt.Sprintf("the connection sat idle for %s before packet %d", time.Duration(c.maxGap).Round(time.Millisecond), c.gapFrame)
	case anomaly.StuckTimeWait:
		who := f.Orig
		if c.twSegs[1] > c.twSegs[0] {
			who = f.Resp
		}
		return who + " was in TIME_WAIT and its peer kept sending (" + strconv.FormatUint(uint64(max(c.twSegs[0], c.twSegs[1])), 10) +
			" segments): the peer never got the last ACK, and every segment restarts TIME_WAIT"
	case anomaly.DuplicateAck:
		if n := c.an.Max(k); n > 0 {
			return "the receiver repeated the same ACK, up to duplicate #" + strconv.FormatUint(uint64(n), 10) + " in a row"
		}
	case anomaly.LostSegment:
		// Bytes that were never seen but that the receiver acknowledged
		// reached it: the capture missed them. A gap that a retransmission
		// filled later was lost in the network.
		if f.MissedBytes > 0 {
			return "segments before these packets were never captured, and " + strconv.FormatUint(f.MissedBytes, 10) +
				" bytes of them were acknowledged by the receiver: most likely capture loss (the tap or host dropped them), not network loss"
		}
		return "segments before these packets were not seen at first and were sent again later: most likely network loss upstream of the capture point"
	case anomaly.AckUnseenSegment:
		return "the peer acknowledged data the capture never saw: the capture dropped packets (or started mid-stream), so the network itself probably did not lose them"
	case anomaly.HalfOpen:
		switch f.ConnState {
		case "S0":
			return "the SYN was never answered"
		case "SH":
			return "the originator sent SYN then FIN without a reply"
		case "RSTOS0":
			return "the originator sent SYN then RST without a reply"
		}
		return "the SYN-ACK was never acknowledged"
	}
	return ""
}
