package engine

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"unsafe"

	"github.com/tcpflow-analyze/tcpflow-analyze/fsm"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly/wide"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/flow"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/prefetch"
	"github.com/tcpflow-analyze/tcpflow-analyze/reassembly"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// sweepInterval is how often, in capture time, idle connections are expired.
const sweepInterval = int64(1e9)

// conn is the state of one open connection: connFields, which freeConn
// zeroes, and the trackers whose buffers a reused connection keeps.
type conn struct {
	// ent is the connection's entry in the flow table, first, so that a
	// lookup that finds it has the connection's address too (connOf): the
	// entry used to be an object of its own whose pointer to the
	// connection had to be loaded, one more cache miss in a row, before any
	// line of the connection could be asked for.
	ent flow.Entry[*conn]
	_   [entPad]byte
	connFields
	seq reassembly.Tracker
	// st comes after the sequence tracker, its timeline (cold: a few
	// writes per connection) last of the hot state; Init resets it, so
	// freeConn need not.
	st fsm.Tracker
	an anomaly.Set
	_  [connPad]byte
}

// connPad makes a connection a whole and odd number of cache lines, so that
// in the chunks allocConn makes (line-aligned) each starts on a line and its
// hot fields, first, take as few lines as they can, and the same field of
// neighbouring connections falls into different cache sets
// (TestConnIsWholeLines).
const connPad = 8

// entPad makes the entry end on a line, so that the hot fields that follow
// begin one. (An entry of any pointer type is the size of a connection's.)
const entPad = (64 - unsafe.Sizeof(flow.Entry[*byte]{})%64) % 64

// connOf returns the connection whose entry is ent: the entry is its first
// field (TestConnIsWholeLines).
func connOf(ent *flow.Entry[*conn]) *conn { return (*conn)(unsafe.Pointer(ent)) }

// connFields is all of a connection's state but its trackers and its
// anomalies: a finished connection is reused by zeroing them alone.
type connFields struct {
	// What every segment reads and writes comes first, in three cache
	// lines (a connection starts on a line: see connPad).
	orig                 netip.AddrPort
	lastFrame            uint64
	end                  int64
	maxGap               int64 // the longest silence between two packets, ending at gapFrame
	pkts, bytes, ipBytes [2]uint64
	seqPkts              [2]uint64 // segments that take sequence space
	// baseSeq is the first sequence number seen from each direction (the ISN
	// when the SYN was seen); a pure SYN with another number starts a new
	// generation, as Wireshark splits streams.
	baseSeq [2]seqnum.Value
	finSeq  [2]seqnum.Value
	baseSet [2]bool
	finSeen [2]bool
	rstSeen bool
	// synCounted and established make the capture-wide detectors see one
	// attempt and one completed handshake per connection.
	synCounted, established bool
	released                bool // the sequence tracker's buffers were let go
	// twSegs counts the segments a peer sent to each endpoint while it was
	// in TIME_WAIT, and twFrame the last of them.
	twSegs [2]uint32

	zk   zeekState
	zeek fsm.Zeek

	id         uint64
	resp       netip.AddrPort
	gen        int
	midstream  bool
	reused     bool        // this generation reused the 4-tuple of an earlier one
	premature  bool        // ... while the earlier one was still in TIME_WAIT
	rstDir     segment.Dir // who sent the first RST
	firstFrame uint64
	start      int64
	rstFrame   uint64
	gapFrame   uint64
	twFrame    uint64

	badChecksums uint32
}

// Engine runs the analysis. It is not safe for concurrent use.
type Engine struct {
	cfg    Config
	dec    *capture.Decoder
	table  *flow.Table[*conn]
	timers timerHeap // Zeek's timers, with Config.Timers == TimersZeek
	zeekT  bool
	wide   *wide.Detector
	// events receives what the capture-wide detectors need: the detector
	// itself, or in a worker of a Pipeline the recorder that hands the events
	// to the pipeline for merging in capture order.
	events wideSink
	rec    *recorder // non-nil in a Pipeline worker
	rcfg   reassembly.Config
	fcfg   fsm.Config
	nextID uint64

	flows flowList
	// Sink, when set, receives each flow as it finishes instead of the flows
	// being kept for the report. The flow is the sink's to keep: the engine
	// does not touch it again.
	Sink func(*report.Flow)
	// epSink, when set (SetEndpointSink), receives each flow as it finishes
	// with its endpoints, instead of Sink; the records have no text.
	epSink func(f *report.Flow, orig, resp netip.AddrPort)
	// Want, when set with a sink (Sink or SetEndpointSink), is asked for each flow as it finishes
	// whether the sink will show it, by the frame that began the flow (ids
	// follow the same order). When it says no, a flow without findings is
	// handed over with only its id, states, times and counts filled in (the
	// rest of the record is not built; see fillUnshown).
	Want func(firstFrame uint64) bool
	// OnAnomaly, when set, is told the first time each flow shows each kind.
	OnAnomaly func(AnomalyEvent)
	// OnSegment, when set, is told how every segment was read: its class,
	// the state tracker's event, verdict and reason, and the states after it.
	OnSegment func(*SegmentEvent)

	now, lastSweep int64
	seg            segment.Segment

	in      input
	evicted uint64
	capped  int
	// tombs remember finished connections that a full table dropped before
	// their linger ended, so their stragglers and the reuse of their
	// 4-tuple are still recognised; one table per flow table shard, made
	// when the shard buries its first, a lane of tombLanes.
	tombs     []*tombTable
	tombLanes *tombLanes
	// tombShards is how many shards this engine may hold: all of them, or
	// a pipeline worker's share (its lanes).
	tombShards int
	late       uint64
	counts     flowCounts
	// conns and lites hold the whole and lite (liteConn) connections
	// made and freed, for reuse.
	conns chunkPool[conn]
	lites chunkPool[liteConn]
	// replaying is set while a lite connection's segments are replayed
	// into a whole one: their capture-wide events were made when they came.
	replaying  bool
	liteFrom   int            // Config.liteFrom
	liteMade   uint64         // lite connections started
	spare      *report.Flow   // the record nextFlow hands out next
	freeFlows  []*report.Flow // recycled records taken for nextFlow (takeFlow)
	noTimeline bool           // records carry no transitions (OmitTransitions)
	noText     bool           // records carry no text (SetEndpointSink)
	strs       strCache
	nflows     int
	// unshownMsg holds, for each anomaly kind, one more than the first
	// frame of the earliest unshown flow that carried its own message of
	// that kind, 0 for none (fillUnshown).
	unshownMsg [anomaly.NumKinds]uint64
	// unshownRec is the record a worker of a Pipeline fills for a flow the
	// sink will not show, before it packs it (recorder.finishedBrief).
	unshownRec report.Flow
	// lingerCap and halfOpenCap are each shard's share of MaxLinger and
	// MaxHalfOpen.
	lingerCap, halfOpenCap int
}

// New returns an engine with configuration cfg.
func New(cfg Config) *Engine {
	e := &Engine{
		cfg:   cfg,
		dec:   capture.NewDecoder(capture.DecodeOptions{VerifyChecksums: cfg.VerifyChecksums}),
		table: flow.NewShardedTable[*conn](cfg.timeouts(), cfg.MaxFlows, cfg.Shards()),
		wide:  wide.New(cfg.Wide),
		in:    newInput(),
	}
	e.events = e.wide
	e.zeekT = cfg.Timers == TimersZeek
	e.liteFrom = cfg.liteFrom
	e.tombs = make([]*tombTable, e.table.Shards())
	e.lingerCap, e.halfOpenCap = e.table.ShardMax(cfg.MaxLinger), e.table.ShardMax(cfg.MaxHalfOpen)
	e.rcfg = reassembly.Config{KeepPayload: cfg.OverlapBytes > 0, MaxPayloadBytes: cfg.OverlapBytes, Rings: new(reassembly.RingPool)}
	e.fcfg = fsm.Config{TimeWait: int64(cfg.TimeWait)}
	return e
}

// flowList collects finished flows in chunks, so that a million records are
// not copied again each time a single slice would grow.
type flowList struct {
	chunks [][]report.Flow
	n      int
}

const flowChunk = 4096

func (l *flowList) add(f *report.Flow) {
	if k := len(l.chunks); k == 0 || len(l.chunks[k-1]) == flowChunk {
		l.chunks = append(l.chunks, make([]report.Flow, 0, flowChunk))
	}
	k := len(l.chunks) - 1
	l.chunks[k] = append(l.chunks[k], *f)
	l.n++
}

// all returns the flows in one slice and empties the list.
func (l *flowList) all() []report.Flow {
	out := make([]report.Flow, 0, l.n)
	for _, c := range l.chunks {
		out = append(out, c...)
	}
	*l = flowList{}
	return out
}

// SetSink implements Analyzer. It replaces a sink set by SetEndpointSink.
func (e *Engine) SetSink(fn func(*report.Flow)) { e.Sink, e.epSink, e.noText = fn, nil, false }

// SetEndpointSink implements Analyzer.
func (e *Engine) SetEndpointSink(fn func(f *report.Flow, orig, resp netip.AddrPort)) {
	e.epSink, e.Sink, e.noText = fn, nil, true
}

// SetWant implements Analyzer.
func (e *Engine) SetWant(fn func(firstFrame uint64) bool) { e.Want = fn }

// OmitTransitions implements Analyzer.
func (e *Engine) OmitTransitions() { e.noTimeline = true }

// Filtered counts a frame that the user's filter excluded.
func (e *Engine) Filtered() { e.in.filteredOut() }

// Frame decodes one captured frame and analyzes it when it is TCP.
func (e *Engine) Frame(fr *capture.Frame) {
	if e.in.decode(e.dec, fr, &e.seg) {
		e.Segment(&e.seg)
	}
}

// Advance moves the capture clock to now without a packet, ending the
// connections whose timers ran out. Live capture calls it on an idle link,
// where capture time and the wall clock are the same.
func (e *Engine) Advance(now int64) {
	if now <= e.now {
		return
	}
	e.now = now
	if e.zeekT {
		e.zeekExpire(now)
	}
	e.sweep(now)
	e.lastSweep = now
}

// Segment analyzes one decoded TCP segment.
func (e *Engine) Segment(s *segment.Segment) {
	var key flow.Key
	h := key.SetOfHashed(&s.Src, &s.Dst)
	e.segment(s, &key, h)
}

// segment is Segment with the segment's flow key and its hash.
func (e *Engine) segment(s *segment.Segment, key *flow.Key, h uint64) {
	if s.Time > e.now {
		e.now = s.Time
	}
	if e.zeekT {
		e.zeekExpire(s.Time)
	}
	if e.rec == nil && e.now-e.lastSweep >= sweepInterval {
		e.sweep(e.now)
		e.lastSweep = e.now
	}
	ent := e.table.GetHashed(key, h)
	if ent != nil && ent.Value == nil {
		// A lite connection keeps the rest of its handshake; anything
		// else makes it whole first.
		l := liteOf(ent)
		if fromOrig := l.fromOrig(s); l.takes(s, fromOrig) {
			l.keep(s, fromOrig)
			e.liteEvents(l, s, fromOrig)
			e.after(ent, s, h, flow.ClassHandshake)
			return
		}
		ent = e.materialize(ent)
	}
	var prev *prevGen
	if ent != nil {
		c := connOf(ent)
		if st := c.st.States(); st[0] == fsm.TimeWait || st[1] == fsm.TimeWait {
			c.st.Expire(s.Time) // only TIME_WAIT expires by itself
		}
		if e.startsNewGeneration(c, s) {
			st := c.st.States()
			prev = &prevGen{gen: c.gen, timeWait: st[0] == fsm.TimeWait || st[1] == fsm.TimeWait, finished: c.st.Finished()}
			e.finish(ent, "reused")
			ent = nil
		}
	}
	sh := e.table.Shard(h)
	if tt := e.tombs[sh]; ent == nil && tt != nil {
		if t := tt.get(h); t != nil {
			switch {
			case s.Time > t.until:
				tt.del(h)
			case t.reusedBy(*key, s):
				prev = &prevGen{gen: int(t.gen), timeWait: t.bits&tombTimeWait != 0 && s.Time-t.lastSeen(&e.table.Timeouts) <= int64(e.cfg.TimeWait), finished: t.bits&tombHalfOpen == 0}
				tt.del(h)
			case !t.absorbs(s):
				tt.del(h) // an evicted half-open connection comes back
			default:
				// A straggler of a connection already reported: it would
				// otherwise start a bogus flow picked up mid-stream.
				e.late++
				return
			}
		}
	}
	if ent == nil {
		if e.table.Full(h) {
			if old := e.table.Oldest(sh); old != nil {
				e.evict(old)
			}
		}
		if liteFirst(s) && e.liteOK() && e.table.ShardClassLen(sh, flow.ClassHandshake) >= e.liteFrom {
			e.after(e.newLite(s, key, h, prev), s, h, flow.ClassHandshake)
			return
		}
		c := e.newConn(s, prev)
		ent = &c.ent
		e.table.InsertEntry(ent, *key, h, s.Time, flow.ClassHandshake)
		ent.Value = c
	}
	c := connOf(ent)
	e.update(c, s)
	e.after(ent, s, h, classOf(c))
}

// after files ent, whose connection s has just updated, under class cls,
// and applies the caps that s may have brought its shard past.
func (e *Engine) after(ent *flow.Entry[*conn], s *segment.Segment, h uint64, cls flow.Class) {
	e.table.Touch(ent, s.Time, cls)
	if e.zeekT {
		e.zeekSchedule(ent)
		return
	}
	sh := e.table.Shard(h)
	if c := ent.Value; e.cfg.CompactClosed && c != nil && c.over() {
		// Report the connection now and keep only a tomb for its linger.
		key, h := ent.Key, ent.Hash()
		t := e.tombOf(key, c, s.Time, cls)
		e.finish(ent, "closed")
		e.bury(h, t)
	}
	// Only this segment's shard can have grown past its share of a cap.
	if e.cfg.MaxLinger > 0 {
		evicted := false
		for e.table.ShardClassLen(sh, flow.ClassClosed)+e.table.ShardClassLen(sh, flow.ClassTimeWait) > e.lingerCap {
			e.evict(e.table.Oldest(sh))
			evicted = true
		}
		if evicted {
			e.prefetch(e.table.Oldest(sh))
		}
	}
	if e.cfg.MaxHalfOpen > 0 {
		evicted := false
		for e.table.ShardClassLen(sh, flow.ClassHandshake) > e.halfOpenCap {
			e.evict(e.table.OldestOf(sh, flow.ClassHandshake))
			evicted = true
		}
		if evicted {
			e.prefetch(e.table.OldestOf(sh, flow.ClassHandshake))
		}
	}
}

// prefetch asks for the connection state of ent, the next to be evicted: it
// has waited behind thousands of others and left the cache, and fetching it
// a few packets before its record is built overlaps those misses with the
// work in between. A PREFETCHT0 per line does it with less work than the
// loads that did it before (−0.06 CPU-s on the mix, docs/performance.md).
func (e *Engine) prefetch(ent *flow.Entry[*conn]) {
	if ent != nil {
		// The entry's own address, where its connection begins, not
		// ent.Value: loading the pointer would wait for the very line the
		// prefetch is for. Nor connOf(ent): ent may be a lite connection's,
		// smaller than a conn, and converting it to *conn is a pointer
		// past its allocation (go test -race's checkptr stops there). A
		// prefetch past it is harmless: it never faults.
		prefetch.ForRead(unsafe.Pointer(ent), unsafe.Sizeof(conn{}))
	}
}

// startsNewGeneration reports whether s, arriving on c's 4-tuple, opens a new
// connection: a pure SYN whose sequence number differs from the first one seen
// in its direction (Wireshark's rule for port reuse), or any pure SYN after the
// connection has finished.
func (e *Engine) startsNewGeneration(c *conn, s *segment.Segment) bool {
	if e.zeekT {
		return c.zeek.Reuse(s, c.zk.removeAt != 0)
	}
	if !s.Flags.Has(segment.SYN) || s.Flags.Any(segment.ACK|segment.RST|segment.FIN) {
		return false
	}
	d := c.dirOf(s)
	if c.baseSet[d] && c.baseSeq[d] != s.Seq {
		return true
	}
	return false
}

// prevGen is what a new generation needs to know of the connection it
// replaces on the same 4-tuple.
type prevGen struct {
	gen                int
	timeWait, finished bool
}

func (e *Engine) newConn(s *segment.Segment, prev *prevGen) *conn {
	c := e.allocConn()
	e.initConn(c, s, prev, e.newID(s))
	return c
}

// newID numbers the connection that s, its first segment, begins.
func (e *Engine) newID(s *segment.Segment) uint64 {
	if e.rec != nil {
		// A worker cannot know the flow's rank in the whole capture: its
		// id cell stands for it until the pipeline numbers it.
		return e.rec.created(s.Frame)
	}
	e.nextID++
	return e.nextID
}

// initConn makes c the connection numbered id that s begins, after prev
// when it reuses prev's 4-tuple.
func (e *Engine) initConn(c *conn, s *segment.Segment, prev *prevGen, id uint64) {
	c.id, c.gen, c.firstFrame, c.start = id, 1, s.Frame, s.Time
	c.orig, c.resp, c.midstream = flow.Roles(s)
	if prev != nil {
		c.gen = prev.gen + 1
		c.reused = true
		c.premature = prev.timeWait
		if c.premature || prev.finished {
			e.flag(c, anomaly.PortReuse, s.Frame, s.Time)
		}
	}
	c.seq.Init(&e.rcfg)
	c.st.Init(&e.fcfg, c.midstream)
	// Zeek's view takes the first packet's sender as originator and records
	// '^' when a heuristic says otherwise; our roles are that heuristic, so
	// its letters stay relative to our originator.
	if c.orig != s.Src {
		c.zeek.Flip()
	}
}

func (c *conn) dirOf(s *segment.Segment) segment.Dir {
	if s.Src == c.orig {
		return segment.Orig
	}
	return segment.Resp
}

// noteBaseSeq remembers the first sequence number of each direction the way
// Wireshark does for its port-reuse rule: a SYN gives its ISN; a SYN-ACK also
// gives the peer's ISN (its ACK minus one) when the peer's SYN was not seen;
// any other first segment gives its sequence number minus one, as if its SYN
// had come just before.
func (c *conn) noteBaseSeq(d segment.Dir, s *segment.Segment) {
	if !c.baseSet[d] {
		c.baseSeq[d], c.baseSet[d] = s.Seq, true
		if !s.Flags.Has(segment.SYN) {
			c.baseSeq[d] = s.Seq - 1
		}
	}
	if s.Flags.Has(segment.SYN|segment.ACK) && !c.baseSet[d.Other()] {
		c.baseSeq[d.Other()], c.baseSet[d.Other()] = s.Ack-1, true
	}
}

// update runs s through c's trackers and detectors.
func (e *Engine) update(c *conn, s *segment.Segment) {
	d := c.dirOf(s)
	if gap := s.Time - c.end; c.lastFrame != 0 && gap > c.maxGap {
		c.maxGap, c.gapFrame = gap, s.Frame
	}
	if c.st.States()[d.Other()] == fsm.TimeWait {
		c.twSegs[d.Other()]++
		c.twFrame = s.Frame
	}
	c.lastFrame, c.end = s.Frame, s.Time
	c.pkts[d]++
	if s.SeqLen() > 0 {
		c.seqPkts[d]++
	}
	c.bytes[d] += uint64(s.PayloadLen)
	c.ipBytes[d] += uint64(s.IPLen)
	c.noteBaseSeq(d, s)

	bad := s.ChecksumChecked && s.BadChecksum
	e.zeekUpdate(c, d, s, bad)
	if bad {
		// A receiver drops a segment with a bad checksum: it moves no state.
		c.badChecksums++
		return
	}
	var res reassembly.Result
	c.seq.AddTo(d, s, &res)
	var step fsm.Step
	c.st.StepTo(d, s, &step)
	if e.OnSegment != nil {
		e.OnSegment(&SegmentEvent{FlowID: c.id, Frame: s.Frame, Time: s.Time, Dir: d,
			Flags: s.Flags, RelSeq: uint32(s.Seq - c.baseSeq[d]), RelAck: uint32(s.Ack - c.baseSeq[d.Other()]),
			Len: s.PayloadLen, Class: res.Class.String(), Event: step.Event.String(),
			Verdict: step.Verdict.String(), Reason: step.Reason, States: step.To})
	}
	e.detect(c, d, s, &res, &step)
	e.wideEvents(c, d, s, &step)
	if !c.released && step.Changed && c.over() {
		// Only stragglers can follow: the connection lingers with its
		// state, not with its buffers.
		c.seq.Release()
		c.released = true
	}

	if s.Flags.Has(segment.FIN) && !c.finSeen[d] {
		c.finSeen[d], c.finSeq[d] = true, s.Seq.Add(seqnum.Size(s.PayloadLen))
	}
	if s.Flags.Has(segment.RST) && !c.rstSeen {
		c.rstSeen, c.rstFrame, c.rstDir = true, s.Frame, d
	}
}

// wideEvents feeds the capture-wide detectors: one SYN per connection attempt,
// the completed handshake, the entry into TIME_WAIT (naming the active
// closer), and every RST.
func (e *Engine) wideEvents(c *conn, d segment.Dir, s *segment.Segment, step *fsm.Step) {
	if e.replaying {
		return // a lite connection's: made when its segments came (liteEvents)
	}
	f := s.Flags
	if d == segment.Orig && f.Has(segment.SYN) && !f.Any(segment.ACK|segment.RST) && !c.synCounted {
		c.synCounted = true
		e.events.SYN(s.Time, s.Src, s.Dst, s.Frame)
	}
	if !c.established && step.To[0].Synchronized() && step.To[1].Synchronized() && c.synCounted {
		c.established = true
		e.events.Handshake(s.Time, c.orig, c.resp)
	}
	for i := 0; i < 2; i++ {
		if step.To[i] == fsm.TimeWait && step.From[i] != fsm.TimeWait {
			e.events.TimeWait(s.Time, c.orig, c.resp, i == int(segment.Orig), c.id, s.Frame)
		}
	}
	if f.Has(segment.RST) {
		e.events.RST(s.Time, s.Src, s.Dst, s.Frame)
	}
}

// over reports whether the connection has ended: reset, or both endpoints
// CLOSED or in TIME_WAIT (which only waits out old segments).
func (c *conn) over() bool {
	if c.st.Finished() {
		return true
	}
	st := c.st.States()
	done := func(s fsm.State) bool { return s == fsm.Closed || s == fsm.TimeWait }
	return done(st[0]) && done(st[1]) && (c.finSeen[0] || c.finSeen[1])
}

// classOf files a connection under the timeout class of its endpoints' states.
func classOf(c *conn) flow.Class {
	st := c.st.States()
	a, b := st[0], st[1]
	switch {
	case c.st.Reset() || (a == fsm.Closed && b == fsm.Closed && (c.finSeen[0] || c.finSeen[1])):
		return flow.ClassClosed
	case (a == fsm.TimeWait && stillClosing(b)) || (b == fsm.TimeWait && stillClosing(a)):
		// Every close passes here for a round trip: the peer of the side in
		// TIME_WAIT waits for the ACK of its FIN. Not over yet, so not for
		// --max-linger to give up.
		return flow.ClassClosing
	case a == fsm.TimeWait || b == fsm.TimeWait:
		return flow.ClassTimeWait
	case !a.Synchronized() || !b.Synchronized():
		if c.midstream {
			return flow.ClassEstablished
		}
		return flow.ClassHandshake
	case a == fsm.FinWait1 || b == fsm.FinWait1 || a == fsm.Closing || b == fsm.Closing || a == fsm.LastAck || b == fsm.LastAck:
		return flow.ClassClosing
	}
	return flow.ClassEstablished
}

// stillClosing reports whether an endpoint in st waits for the ACK of its
// FIN.
func stillClosing(st fsm.State) bool { return st == fsm.LastAck || st == fsm.Closing }

// evict makes room in a full table. Connections that are over (closed, reset,
// TIME_WAIT) go first and are reported as closed; a live one is reported as
// evicted and counted.
func (e *Engine) evict(ent *flow.Entry[*conn]) {
	c, l := e.wholeOf(ent)
	switch cls := ent.Class(); cls {
	case flow.ClassClosed, flow.ClassTimeWait:
		key, h := ent.Key, ent.Hash()
		t := e.tombOf(key, c, ent.LastSeen, cls)
		e.finishWith(ent, c, l, "evicted_over")
		e.bury(h, t)
	case flow.ClassHandshake:
		key, h := ent.Key, ent.Hash()
		t := e.tombOf(key, c, ent.LastSeen, cls)
		t.bits |= tombHalfOpen
		e.evicted++
		e.finishWith(ent, c, l, "evicted")
		e.bury(h, t)
	default:
		e.evicted++
		e.finishWith(ent, c, l, "evicted")
	}
}

// sweep finishes every connection idle past its class timeout at now, and
// expires TIME_WAIT.
func (e *Engine) sweep(now int64) {
	for {
		ent := e.table.NextExpired(now)
		if ent == nil {
			return
		}
		e.finish(ent, "timeout")
	}
}

// finish turns an open connection into a report flow and frees it.
func (e *Engine) finish(ent *flow.Entry[*conn], reason string) {
	c, l := e.wholeOf(ent)
	e.finishWith(ent, c, l, reason)
}

// finishWith is finish for ent's whole connection c (wholeOf), and l, ent's
// lite connection when it is one, which it frees.
func (e *Engine) finishWith(ent *flow.Entry[*conn], c *conn, l *liteConn, reason string) {
	cls := ent.Class()
	// Two lines that are nearly always misses are asked for now, a
	// record's worth of work before they are read: the entry's index slot
	// (the entry leaves the table just before its memory is freed, below)
	// and the scan detector's slots that FlowEndAt reads
	// (docs/performance.md, session 20).
	e.table.PrefetchSlot(ent)
	if e.rec == nil {
		e.wide.PrefetchFlowEnd(c.orig)
	}
	if reason == "timeout" || reason == "end_of_capture" {
		if _, ok := c.st.Expire(e.now); ok && reason == "end_of_capture" {
			reason = "closed"
		}
	}
	if reason == "evicted_over" && !c.over() {
		// TIME_WAIT on one side, the other still closing: not over yet.
		e.evicted++
		reason = "evicted"
	}
	if (reason == "timeout" || reason == "end_of_capture" || reason == "evicted_over") && c.over() {
		reason = "closed"
		if c.st.Reset() {
			reason = "reset"
		}
	}
	unshown := e.Want != nil && (e.Sink != nil || e.epSink != nil || e.rec != nil) && !e.Want(c.firstFrame)
	var f *report.Flow
	switch {
	case unshown && e.rec != nil:
		// A worker: the record stays here, the merger gets its brief.
		f = &e.unshownRec
		e.fillUnshown(f, c, reason)
		e.rec.finishedBrief(cls, c.lastFrame, f, c.orig, c.resp)
	case unshown:
		f = e.nextFlow()
		e.fillUnshown(f, c, reason)
	default:
		f = e.nextFlow()
		e.fillRecord(f, c, reason, true)
	}
	if e.rec != nil {
		if !unshown {
			e.rec.finished(cls, c.lastFrame, f, c.orig, c.resp)
		}
	} else {
		e.wide.FlowEndAt(f, c.orig, c.resp)
	}
	e.nflows++
	if len(f.Capped) > 0 {
		e.capped++
	}
	e.counts.flow(f.ConnState, &c.an)
	e.table.Remove(ent)
	if l != nil {
		e.freeLite(l)
	}
	orig, resp := c.orig, c.resp
	e.freeConn(c)
	if e.rec != nil {
		return // the pipeline collects it
	}
	if e.epSink != nil {
		e.epSink(f, orig, resp)
		return
	}
	if e.Sink != nil {
		e.Sink(f)
		return
	}
	e.flows.add(f)
}

// nextFlow returns a record to fill, a recycled one when there is one, and
// takes the next one now, its lines claimed for writing: the sink gave the
// records back after reading them, in a pipeline on another core, and the
// first write to one that has left this core's cache waits for it (70 ms of
// two workers' time on the mix).
func (e *Engine) nextFlow() *report.Flow {
	f := e.spare
	if f == nil {
		f = e.takeFlow()
	}
	// The packet and time lists of the record's first findings, whose
	// headers the claim below brought a flow ago: fillRecord writes over
	// them now (two workers' ndjson on the loopback capture -0.035 to
	// -0.04 CPU-s, 24 of 28 pairs; one engine -0.03, 8 of 10).
	for i := range min(len(f.Anomalies), 2) {
		if p := f.Anomalies[i].Packets; cap(p) > 0 {
			prefetch.ForWrite(unsafe.Pointer(unsafe.SliceData(p)), uintptr(cap(p))*unsafe.Sizeof(p[0]))
		}
		if t := f.Anomalies[i].Times; cap(t) > 0 {
			prefetch.ForWrite(unsafe.Pointer(unsafe.SliceData(t)), uintptr(cap(t))*unsafe.Sizeof(t[0]))
		}
	}
	e.spare = e.takeFlow()
	prefetch.ForWrite(unsafe.Pointer(e.spare), unsafe.Sizeof(*e.spare))
	// Its list of transitions too, which fillRecord writes over: it is an
	// array of its own, as far away (in a pipeline, a tenth of two workers'
	// time went to the first writes of that list).
	if ts := e.spare.Transitions; cap(ts) > 0 {
		prefetch.ForWrite(unsafe.Pointer(unsafe.SliceData(ts)), uintptr(cap(ts))*unsafe.Sizeof(ts[0]))
	}
	// And its first findings (a flow has one or two; each 136 bytes):
	// two workers' ndjson on the loopback capture, whose every flow has a
	// finding, -0.02 to -0.04 CPU-s (29 of 40 pairs; docs/performance.md,
	// session 29).
	if as := e.spare.Anomalies; cap(as) > 0 {
		prefetch.ForWrite(unsafe.Pointer(unsafe.SliceData(as)), uintptr(min(cap(as), 4))*unsafe.Sizeof(as[0]))
	}
	return f
}

// maxFreeConns bounds the finished connections kept for reuse.
const maxFreeConns = 8192

// chunkPool hands out values of T made connChunk at a time, and takes freed
// ones back (up to maxFreeConns) to hand out again first, most recent
// first: connections come and go by the hundred thousand, and one large
// allocation is cheaper than hundreds of small ones (3 % of a run on the
// mix, and less memory).
type chunkPool[T any] struct {
	free  []*T
	chunk []T // made and not yet handed out
}

// get returns a freed value, or a new zero one.
func (p *chunkPool[T]) get() *T {
	if n := len(p.free); n > 0 {
		t := p.free[n-1]
		p.free = p.free[:n-1]
		return t
	}
	if len(p.chunk) == 0 {
		p.chunk = make([]T, connChunk)
	}
	t := &p.chunk[0]
	p.chunk = p.chunk[1:]
	return t
}

// room reports whether put would keep one more value.
func (p *chunkPool[T]) room() bool { return len(p.free) < maxFreeConns }

// put keeps t, which the caller has reset, for get (room must be true).
func (p *chunkPool[T]) put(t *T) { p.free = append(p.free, t) }

// allocConn returns a zeroed connection, reusing a finished one (and the
// buffers its trackers grew) when there is one.
func (e *Engine) allocConn() *conn {
	if e.zeekT {
		// Not recycled (see freeConn): a chunk would live as long as its
		// longest connection.
		return new(conn)
	}
	return e.conns.get()
}

// connChunk is how many connections (whole or lite) a chunkPool makes at
// once.
const connChunk = 256

// freeConn keeps c for reuse once its record is built. With Zeek's timers a
// finished connection may still be referenced by a pending timer, so it is
// left to the garbage collector.
func (e *Engine) freeConn(c *conn) {
	if e.zeekT || !e.conns.room() {
		return
	}
	c.connFields = connFields{}
	c.an.Reset()
	e.conns.put(c)
}

// Finish ends the input: every open connection is reported with the states it
// has now, and the report is returned with flows ordered by first packet.
func (e *Engine) Finish(files []string, problems []capture.Problem) *report.Report {
	var open []*flow.Entry[*conn]
	e.table.All(func(ent *flow.Entry[*conn]) { open = append(open, ent) })
	sort.Slice(open, func(i, j int) bool { return entFirstFrame(open[i]) < entFirstFrame(open[j]) })
	for _, ent := range open {
		e.finish(ent, "end_of_capture")
	}
	flows := e.flows.all()
	sort.Slice(flows, func(i, j int) bool { return flows[i].ID < flows[j].ID })
	r := &report.Report{Flows: flows, Anomalies: e.wide.Findings(), Summary: e.Summary()}
	s := &r.Summary
	s.Files = files
	s.CaptureWide = e.wide.Stats().Report()
	for _, a := range r.Anomalies {
		s.AnomalyCounts[a.Kind]++
	}
	addProblems(s, problems, e.rcfg.Rings.ReadsFailed())
	return r
}

// addProblems lists the input problems in the summary.
func addProblems(s *report.Summary, problems []capture.Problem, readsFailed uint64) {
	for _, p := range problems {
		s.InputProblems = append(s.InputProblems, p.Error())
		if errors.Is(p.Err, capture.ErrCutShort) {
			s.Truncated = true
		}
	}
	if readsFailed > 0 {
		s.InputProblems = append(s.InputProblems, fmt.Sprintf(
			"payload could not be read again from the file %d time(s), so as many overlap_mismatch checks were skipped (was the file changed or removed during the analysis?)", readsFailed))
	}
}

// SetPayloadReader implements Analyzer: the overlap checks keep payload that
// read can give back by its position (Segment.PayloadPos) instead of copying
// it. read must be safe for concurrent use in a Pipeline.
func (e *Engine) SetPayloadReader(read func(pos uint64, p []byte) bool) {
	if e.rcfg.Rings != nil {
		e.rcfg.Rings.SetReader(read)
	}
}

// Summary returns the running summary: counts so far, flows finished so far.
func (e *Engine) Summary() report.Summary {
	s := report.Summary{
		Flows:            e.nflows,
		FlowsByConnState: e.counts.states(),
		Evicted:          e.evicted,
		FlowsCapped:      e.capped,
		LatePackets:      e.late,
		AnomalyCounts:    e.counts.kinds(),
	}
	e.in.fill(&s)
	return s
}

// OpenFlows returns how many connections are open now.
func (e *Engine) OpenFlows() int { return e.table.Len() }

func copyMap[V int | uint64](m map[string]V) map[string]V {
	c := make(map[string]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// flowCounts counts the finished flows by conn_state and their findings by
// kind, in arrays: a map keyed by the name hashed a string or two for every
// flow (2 % of the 1 M-source flood's run, whose every flow has a finding).
type flowCounts struct {
	byState     [len(connStateNames)]int
	otherStates map[string]int // a conn_state not in connStateNames
	byKind      [anomaly.NumKinds]uint64
}

// connStateNames are the conn_state values of fsm.Zeek.ConnState.
var connStateNames = [...]string{"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"}

// connStateIndex returns the index of s in connStateNames, or -1.
func connStateIndex(s string) int {
	switch s {
	case "S0":
		return 0
	case "S1":
		return 1
	case "SF":
		return 2
	case "REJ":
		return 3
	case "S2":
		return 4
	case "S3":
		return 5
	case "RSTO":
		return 6
	case "RSTR":
		return 7
	case "RSTOS0":
		return 8
	case "RSTRH":
		return 9
	case "SH":
		return 10
	case "SHR":
		return 11
	case "OTH":
		return 12
	}
	return -1
}

// flow counts a finished flow of conn_state cs whose findings are an.
func (fc *flowCounts) flow(cs string, an *anomaly.Set) {
	if i := connStateIndex(cs); i >= 0 {
		fc.byState[i]++
	} else {
		if fc.otherStates == nil {
			fc.otherStates = map[string]int{}
		}
		fc.otherStates[cs]++
	}
	an.Each(func(k anomaly.Kind, n uint32) { fc.byKind[k] += uint64(n) })
}

// states returns the flows by conn_state, the states seen only.
func (fc *flowCounts) states() map[string]int {
	m := make(map[string]int, len(fc.otherStates)+4)
	for i, n := range fc.byState {
		if n > 0 {
			m[connStateNames[i]] = n
		}
	}
	for k, n := range fc.otherStates {
		m[k] = n
	}
	return m
}

// kinds returns the findings by kind name, the kinds seen only.
func (fc *flowCounts) kinds() map[string]uint64 {
	m := make(map[string]uint64)
	for k, n := range fc.byKind {
		if n > 0 {
			m[anomaly.Kind(k).String()] = n
		}
	}
	return m
}
