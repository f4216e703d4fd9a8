package engine

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sort"
	"sync"
	"unsafe"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly/wide"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/flow"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/prefetch"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// NewAnalyzer returns an Engine, or a Pipeline when more than one worker is
// asked for (Workers 0 means one per core, at most 8). Zeek's timers run on a
// single worker.
func NewAnalyzer(cfg Config) (Analyzer, error) {
	n := WorkersFor(cfg)
	if n <= 1 {
		return New(cfg), nil
	}
	return NewPipeline(cfg, n)
}

// WorkersFor returns the number of workers NewAnalyzer starts for cfg: at
// most one per flow table shard (Config.Shards), which only caps far below
// their defaults make fewer than 16.
func WorkersFor(cfg Config) int {
	n := cfg.Workers
	if n == 0 {
		n = min(runtime.GOMAXPROCS(0), 8)
		if cfg.Timers == TimersZeek {
			n = 1
		}
	}
	return min(n, cfg.Shards())
}

// wideSink receives the events of the capture-wide detectors.
type wideSink interface {
	SYN(t int64, src, dst netip.AddrPort, frame uint64)
	Handshake(t int64, orig, resp netip.AddrPort)
	TimeWait(t int64, orig, resp netip.AddrPort, origCloses bool, flowID, frame uint64)
	RST(t int64, src, dst netip.AddrPort, frame uint64)
	FlowEndAt(f *report.Flow, orig, resp netip.AddrPort)
}

// Analyzer is what the commands drive: one Engine, or a Pipeline of them.
type Analyzer interface {
	Frame(fr *capture.Frame)
	Filtered()
	Finish(files []string, problems []capture.Problem) *report.Report
	// SetSink makes each flow go to fn as it finishes, in capture order,
	// instead of into the report. fn owns the flows it is given.
	SetSink(fn func(*report.Flow))
	// OmitTransitions leaves the transitions out of the flow records, for
	// outputs that never show them (the table, CSV, check): a tenth of
	// building a record, and most of its memory.
	OmitTransitions()
	// SetEndpointSink is SetSink for a sink that takes each flow's
	// endpoints as addresses (the last of the two called is the sink): the records leave out their text (Orig,
	// Resp, History, OrigState, RespState, the transitions, and each
	// finding's own message, for which its kind's stands). A policy reads
	// none of it.
	SetEndpointSink(fn func(f *report.Flow, orig, resp netip.AddrPort))
	// SetWant says which flows the sink will show, by the frame that began
	// each (see Engine.Want): the others may come to the sink as partial
	// records. It has no effect without a sink. In a Pipeline fn is called
	// from the workers, concurrently with the sink.
	SetWant(fn func(firstFrame uint64) bool)
	// SetPayloadReader gives the analysis a way to read payload again by
	// its position (capture.Source.ReadAt), so that the overlap checks need
	// not copy it. Call it before the first frame.
	SetPayloadReader(read func(pos uint64, p []byte) bool)
	// Recycle gives back a flow record the sink is done with, from the
	// sink itself (the goroutine that called it): the analysis fills it
	// again. A record given back from another goroutine goes to
	// RecycleFlow instead.
	Recycle(f *report.Flow)
}

// SetSink implements Analyzer. It replaces a sink set by SetEndpointSink.
func (p *Pipeline) SetSink(fn func(*report.Flow)) {
	p.Sink, p.epSink = fn, nil
	for _, w := range p.workers {
		w.noText = false
	}
	p.applyWant()
}

// SetEndpointSink implements Analyzer.
func (p *Pipeline) SetEndpointSink(fn func(f *report.Flow, orig, resp netip.AddrPort)) {
	p.Sink, p.epSink = nil, fn
	for _, w := range p.workers {
		w.noText = true
	}
	p.applyWant()
}

// SetWant implements Analyzer. The workers ask fn before the merger hands
// the flows to the sink: a sink whose answers only ever turn from yes to no
// for a given frame (such as one that keeps the lowest ids) stays exact,
// since a stale yes only builds a record whole.
func (p *Pipeline) SetWant(fn func(firstFrame uint64) bool) {
	p.want = fn
	p.applyWant()
}

// applyWant gives the workers the sink's Want, when there is a sink: without
// one the flows go into the report, whole.
func (p *Pipeline) applyWant() {
	for _, w := range p.workers {
		w.Want = nil
		if p.Sink != nil || p.epSink != nil {
			w.Want = p.want
		}
	}
}

// OmitTransitions implements Analyzer.
func (p *Pipeline) OmitTransitions() {
	for _, w := range p.workers {
		w.OmitTransitions()
	}
}

// The kinds of events a worker records.
const (
	evFinished uint8 = iota
	evSYN
	evHandshake
	evTimeWait
	evRST
)

// The phases of work done at one frame, in the order a single engine does them.
const (
	phaseSweep  uint8 = iota // idle connections expired before the frame
	phasePacket              // the frame's own segment
	phaseEnd                 // connections still open at the end
)

// event is one thing a worker did that the pipeline must replay in capture
// order: a flow finished, or an input of the capture-wide detectors. It
// takes one cache line: the merger reads each event on another core than
// the one that wrote it, and while the addresses were netip.AddrPort (two
// lines an event) the capture-wide detectors cost the merger 0.07 CPU-s on
// the loopback capture against 0.01 for one engine (docs/performance.md,
// session 26).
type event struct {
	frame uint64 // the frame during whose processing it happened
	// t is the capture time; with evFinished, the flow's last frame instead
	// (in a sweep, its place in the class's LRU list).
	t     int64
	id    uint64 // with evFinished, the flow's first frame, which orders the flows ended together at the end
	flow  *report.Flow
	seq   uint32 // order within the worker for the same frame and phase
	phase uint8
	class uint8 // with phaseSweep: the flow table class of the finished flow
	kind  uint8
	bits  uint8 // evOrigCloses, evAddrsAside
	// a and b are the event's two endpoints: IPv4 ones here, others in the
	// recorder's addrs, from index a.ip.
	a, b packedAddr
	// cell is the flow's id cell, with evFinished and evTimeWait (see
	// recorder.newCell).
	cell uint32
	// brief is the flow's index in the recording's briefs, with evFinished
	// and evBrief.
	brief uint32
	_     [4]byte
}

// The event fits in a cache line (a compile-time check); it takes exactly
// one where pointers take 8 bytes (TestEventTakesOneLine), so that the
// events of a recording, whose array the allocator aligns to 64 bytes at
// the sizes rounds reach, lie one to a line.
var _ [64 - unsafe.Sizeof(event{})]byte

// packedAddr is an IPv4 address and port in 6 bytes.
type packedAddr struct {
	ip   [4]byte
	port uint16
}

// The flags of event.bits.
const (
	evOrigCloses = 1 << iota // TimeWait: the originator closed first
	evAddrsAside             // a and b are in the recorder's addrs at index a.ip
	evBrief                  // Finished: the record is the recording's briefs[brief], not flow
)

// setAddrs stores a and b in ev, or in *aside when either is not IPv4.
func (ev *event) setAddrs(a, b netip.AddrPort, aside *[]netip.AddrPort) {
	if a.Addr().Is4() && b.Addr().Is4() {
		ev.a = packedAddr{a.Addr().As4(), a.Port()}
		ev.b = packedAddr{b.Addr().As4(), b.Port()}
		return
	}
	ev.bits |= evAddrsAside
	binary.LittleEndian.PutUint32(ev.a.ip[:], uint32(len(*aside)))
	*aside = append(*aside, a, b)
}

// addrs returns the event's two endpoints; aside is the addrs of the
// recorder that made it.
func (ev *event) addrs(aside []netip.AddrPort) (a, b netip.AddrPort) {
	if ev.bits&evAddrsAside != 0 {
		i := binary.LittleEndian.Uint32(ev.a.ip[:])
		return aside[i], aside[i+1]
	}
	return netip.AddrPortFrom(netip.AddrFrom4(ev.a.ip), ev.a.port), netip.AddrPortFrom(netip.AddrFrom4(ev.b.ip), ev.b.port)
}

// recording is the events a worker recorded for one round.
type recording struct {
	// created holds the flows created, in order: a frame creates at most
	// one flow, and only the order of creation numbers them, so the merger
	// numbers a round's flows before its events.
	created []createdFlow
	events  []event
	addrs   []netip.AddrPort // the endpoints of events that are not IPv4
	// The records of the flows the sink will not show (flowBrief), with
	// their findings and texts.
	briefs     []flowBrief
	briefAnoms []briefAnomaly
	briefTexts []briefText
}

// createdFlow is a flow a worker created: its first frame, and the id cell
// that the merger writes its id in.
type createdFlow struct {
	frame uint64
	cell  uint32
}

// reset empties r, keeping its memory.
func (r *recording) reset() {
	r.created, r.events, r.addrs = r.created[:0], r.events[:0], r.addrs[:0]
	r.briefs, r.briefAnoms = r.briefs[:0], r.briefAnoms[:0]
	clear(r.briefTexts) // their strings
	r.briefTexts = r.briefTexts[:0]
}

// recorder collects a worker's events for one round.
type recorder struct {
	frame uint64
	phase uint8
	seq   uint32
	recording
	// The worker's id cells: free ones, and how many it has used.
	freeCells []uint32
	cells     uint32
}

// newCell returns a free id cell for a flow the worker creates. A worker
// cannot know a flow's rank in the whole capture: the merger numbers the
// flows of a round in the order of their first frames, writes each id in
// the flow's cell (Pipeline.cells), reads it there for the flow's events,
// and gives the cell back once the flow has finished (batch.freed). The
// cells of a worker are an array that only the merger touches, as many as
// its flows open at once and the few rounds in flight: until session 28 the
// merger mapped each flow's first frame to its id in a hash table of 8 000
// to 18 000 entries (512 KiB to 1 MiB on the mix), whose lookups missed the
// cache (docs/performance.md).
func (r *recorder) newCell() uint32 {
	if n := len(r.freeCells); n > 0 {
		c := r.freeCells[n-1]
		r.freeCells = r.freeCells[:n-1]
		return c
	}
	r.cells++
	return r.cells - 1
}

func (r *recorder) at(frame uint64, phase uint8) {
	r.frame, r.phase, r.seq = frame, phase, 0
}

// add appends an event of this frame and phase, and returns it to be filled.
func (r *recorder) add(kind uint8) *event {
	n := len(r.events)
	if n < cap(r.events) {
		r.events = r.events[:n+1]
	} else {
		r.events = append(r.events, event{})
	}
	ev := &r.events[n]
	*ev = event{frame: r.frame, phase: r.phase, seq: r.seq, kind: kind}
	r.seq++
	return ev
}

// created records the flow that frame begins, and returns its id in the
// worker: its id cell.
func (r *recorder) created(frame uint64) uint64 {
	c := r.newCell()
	r.recording.created = append(r.recording.created, createdFlow{frame, c})
	return uint64(c)
}

// finished records the end of f, whose ID is still its id cell.
func (r *recorder) finished(class flow.Class, last uint64, f *report.Flow, orig, resp netip.AddrPort) {
	ev := r.add(evFinished)
	ev.class, ev.t, ev.id, ev.flow, ev.cell = uint8(class), int64(last), f.FirstPacket, f, uint32(f.ID)
	ev.setAddrs(orig, resp, &r.addrs)
}

// finishedBrief is finished for a flow the sink will not show: f, which
// fillUnshown filled and the worker keeps, is packed into the recording
// (flowBrief).
func (r *recorder) finishedBrief(class flow.Class, last uint64, f *report.Flow, orig, resp netip.AddrPort) {
	ev := r.add(evFinished)
	ev.class, ev.t, ev.id, ev.cell = uint8(class), int64(last), f.FirstPacket, uint32(f.ID)
	ev.bits |= evBrief
	ev.brief = uint32(len(r.briefs))
	if n := len(r.briefs); n < cap(r.briefs) {
		r.briefs = r.briefs[:n+1]
	} else {
		r.briefs = append(r.briefs, flowBrief{})
	}
	r.briefs[ev.brief].pack(f, &r.recording)
	ev.setAddrs(orig, resp, &r.addrs)
}

func (r *recorder) SYN(t int64, src, dst netip.AddrPort, frame uint64) {
	ev := r.add(evSYN)
	ev.t = t
	ev.setAddrs(src, dst, &r.addrs)
}

func (r *recorder) Handshake(t int64, orig, resp netip.AddrPort) {
	ev := r.add(evHandshake)
	ev.t = t
	ev.setAddrs(orig, resp, &r.addrs)
}

func (r *recorder) TimeWait(t int64, orig, resp netip.AddrPort, origCloses bool, flowID, frame uint64) {
	ev := r.add(evTimeWait)
	ev.t, ev.cell = t, uint32(flowID)
	if origCloses {
		ev.bits |= evOrigCloses
	}
	ev.setAddrs(orig, resp, &r.addrs)
}

func (r *recorder) RST(t int64, src, dst netip.AddrPort, frame uint64) {
	ev := r.add(evRST)
	ev.t = t
	ev.setAddrs(src, dst, &r.addrs)
}

func (r *recorder) FlowEndAt(*report.Flow, netip.AddrPort, netip.AddrPort) {} // finished records the flow itself

// less orders events as a single engine would have produced them.
func (ev *event) less(o *event) bool {
	if ev.frame != o.frame {
		return ev.frame < o.frame
	}
	if ev.phase != o.phase {
		return ev.phase < o.phase
	}
	switch ev.phase {
	case phaseSweep:
		// A sweep takes the expired flows class by class, least recently
		// seen first.
		if ev.class != o.class {
			return ev.class < o.class
		}
		if ev.t != o.t {
			return ev.t < o.t
		}
	case phaseEnd:
		return ev.id < o.id
	}
	return ev.seq < o.seq
}

// slot is one TCP frame of a round as the reader hands it to a worker: the
// segment the reader decoded into it (208 bytes; its payload points into the
// reader's stable buffer, or into a copy in the round), and the key's hash.
// Session 4 had the workers decode the frames again from 56-byte slots,
// which measured the same speed then and holds 0.9 MiB of slots a round
// instead of 3.4; since then, and with the shipped PGO profile, handing the
// decoded segment over takes 0.125 CPU-s less on two workers on the mix (8
// of 8 and 9 of 10 alternated pairs; docs/performance.md, session 9).
type slot struct {
	seg segment.Segment
	h   uint64 // the flow key's hash, which the reader computed to shard
	// swap says that the key's first endpoint is the segment's destination,
	// as the reader's flow.Key.SetOfHashed found: the worker builds the key
	// from it without comparing the endpoints again (netip's Compare, 0.01
	// CPU-s of two workers on the mix; docs/performance.md, session 28).
	swap bool
}

// tick is a sweep at capture time t before frame frame.
type tick struct {
	frame uint64
	t     int64
}

// batch is one worker's share of a round: indices of the round's slots in
// capture order, a negative index -k standing for the round's tick k-1, and
// the events the worker recorded doing them. The worker's recorder is its
// own: the batches of a round lie side by side, and the recorder's position,
// written at every frame, shared a cache line between the workers (0.1 s of
// two workers' time on the mix).
type batch struct {
	refs  []int32
	round *round
	rec   recording
	// freed is the worker's id cells whose flows the merger has finished,
	// for the worker to use again.
	freed []uint32
}

// round is a run of frames split between the workers.
type round struct {
	slots   []slot
	ticks   []tick
	arena   []byte // copies of the payloads of frames that are not stable, so the reader's buffer can be reused
	batches []batch
	done    sync.WaitGroup // the workers that have not finished their batch
}

// roundsInFlight bounds the rounds between the reader and the merger: the
// workers run ahead of each other by up to this many rounds, so that none
// waits for the slowest at every round. A worker's batch takes 0.4-0.9 ms
// on the mix, but now and then 6-11 ms: a huge-page fault of the growing
// heap, about 4 ms each on this VM. With 4 rounds the other worker ran out
// of work meanwhile; with 8, two workers on the mix took 0.045 s less wall
// time (14 of 16 alternated pairs) and on the loopback capture 0.020 (11 of
// 12), for 7-13 MiB more at the peak (the 10 M-packet capture: 97 → 109
// MiB). 6 rounds gained about half as much; 12 no more than 8
// (docs/performance.md, session 28).
const roundsInFlight = 8

// batchFrames is how many TCP segments a round holds: big enough to amortize
// the hand-off, small enough to keep the copies in cache.
const batchFrames = 4096

// slotsAhead is how many frames ahead the reader claims a slot's cache lines
// for writing. On two workers the reader's decode into a slot the other core
// read last stalled 0.2 s a run on the mix; 8 frames ahead, 20 ms.
const slotsAhead = 8

// slotsAheadRead is how many of its frames ahead a worker asks for a slot's
// lines. The reader wrote them on its own core, and the worker's frames are
// every other slot or so, which the hardware's prefetchers do not follow:
// the first read of each slot waited for it. Two workers, 8 ahead: wall
// -0.020 to -0.025 s on the loopback capture and the mix (9 of 10 pairs
// each), CPU -0.045 to -0.060 (10 of 10; docs/performance.md, session 26).
const slotsAheadRead = 8

// roundBuffers is how many of the reader's buffers (256 KiB each) a round
// spans at most: with large frames 4096 of them fill 16 of those buffers,
// and the rounds in flight held more buffers than the pool keeps, so each
// read went to a fresh allocation whose pages the kernel faulted in during
// the read (docs/performance.md, session 7).
const roundBuffers = 4

// Pipeline analyzes with several workers: segments are sharded by 4-tuple, so
// each connection lives in one worker, and the events that cross connections
// (the capture-wide detectors, flow numbering) are replayed in capture order.
// Its report, and the order in which it streams flows, are identical to one
// Engine's with Linux timers, caps reached or not: each worker holds whole
// shards of the flow table (Config.Shards), and a cap is shared out between
// the shards, not the workers, so a full shard gives up the same
// connection in either.
type Pipeline struct {
	cfg     Config
	shards  flow.Sharder // the flow table's shards (Config.Shards), spread over the workers
	dec     *capture.Decoder
	workers []*Engine
	in      []chan *batch
	rounds  chan *round
	free    chan *round
	merged  chan struct{}
	cur     *round

	// The reader's view of the whole capture. It decodes each frame into
	// the round's next slot.
	read           input
	now, lastSweep int64
	lastFrame      uint64

	// bufs lends the reader's buffers when the Source reads into them.
	bufs bufferPool

	// The merger's state.
	wide   *wide.Detector
	nextID uint64
	cells  [][]uint64 // each worker's id cells: the ids of its open flows (recorder.newCell)
	freed  [][]uint32 // each worker's cells given back during a merge, for its batch
	flows  flowList
	local  []*report.Flow // records the sink gave back, for briefs (localFlow)
	// Sink, when set, receives each flow as it finishes, in capture order.
	Sink   func(*report.Flow)
	epSink func(f *report.Flow, orig, resp netip.AddrPort) // see SetEndpointSink
	want   func(firstFrame uint64) bool                    // see SetWant
}

// NewPipeline returns a pipeline of n workers (n ≥ 2; use New for one).
func NewPipeline(cfg Config, n int) (*Pipeline, error) {
	if n < 2 {
		return nil, errors.New("a pipeline needs at least two workers")
	}
	if s := cfg.Shards(); n > s {
		return nil, fmt.Errorf("a pipeline has at most one worker per flow table shard, %d with these caps", s)
	}
	if cfg.Timers == TimersZeek {
		return nil, errors.New("--timers zeek runs on one worker: Zeek's timers fire on every packet of the capture")
	}
	p := &Pipeline{
		cfg: cfg, dec: capture.NewDecoder(capture.DecodeOptions{VerifyChecksums: cfg.VerifyChecksums}),
		rounds: make(chan *round, roundsInFlight), free: make(chan *round, roundsInFlight), merged: make(chan struct{}),
		read: newInput(),
		wide: wide.New(cfg.Wide),
	}
	p.shards = flow.NewSharder(cfg.Shards())
	p.cells, p.freed = make([][]uint64, n), make([][]uint32, n)
	for i := 0; i < n; i++ {
		// Every worker has the whole configuration: the caps are each
		// shard's share, and a worker holds whole shards.
		w := New(cfg)
		w.tombShards = (cfg.Shards() - i + n - 1) / n // worker i holds shards i, i+n, ...
		w.rec = &recorder{}
		w.events = w.rec
		p.workers = append(p.workers, w)
		ch := make(chan *batch, roundsInFlight)
		p.in = append(p.in, ch)
		go p.work(w, ch)
	}
	for i := 0; i < roundsInFlight; i++ {
		p.free <- p.newRound()
	}
	p.cur = <-p.free
	go p.merge()
	return p, nil
}

func (p *Pipeline) newRound() *round {
	r := &round{batches: make([]batch, len(p.workers)), slots: make([]slot, 0, batchFrames)}
	for i := range r.batches {
		r.batches[i].round = r
	}
	return r
}

// work runs one worker: each batch is analyzed in order, its events recorded.
func (p *Pipeline) work(w *Engine, in chan *batch) {
	for b := range in {
		r := b.round
		b.rec.reset()
		w.rec.recording = b.rec
		w.rec.freeCells = append(w.rec.freeCells, b.freed...)
		b.freed = b.freed[:0]
		for i, ix := range b.refs {
			if j := i + slotsAheadRead; j < len(b.refs) && b.refs[j] >= 0 {
				prefetch.ForRead(unsafe.Pointer(&r.slots[b.refs[j]]), unsafe.Sizeof(slot{}))
			}
			if ix < 0 {
				tk := r.ticks[-ix-1]
				w.rec.at(tk.frame, phaseSweep)
				if tk.t > w.now {
					w.now = tk.t
				}
				w.sweep(tk.t)
				continue
			}
			sl := &r.slots[ix]
			seg := &sl.seg
			w.rec.at(seg.Frame, phasePacket)
			var key flow.Key
			if sl.swap {
				key.A, key.B = seg.Dst, seg.Src
			} else {
				key.A, key.B = seg.Src, seg.Dst
			}
			w.segment(seg, &key, sl.h)
		}
		b.rec = w.rec.recording
		w.rec.recording = recording{}
		r.done.Done()
	}
}

// merge replays each round's events in capture order once every worker has
// done its batch of it; the workers meanwhile go on with the next rounds.
func (p *Pipeline) merge() {
	var lists []recording
	for r := range p.rounds {
		r.done.Wait()
		lists = lists[:0]
		for i := range r.batches {
			lists = append(lists, r.batches[i].rec)
		}
		p.number(lists)
		mergeEvents(lists, p.replay)
		for i := range r.batches {
			b := &r.batches[i]
			b.refs = b.refs[:0]
			b.rec.reset()
			b.freed, p.freed[i] = p.freed[i], b.freed
		}
		r.slots, r.ticks, r.arena = r.slots[:0], r.ticks[:0], r.arena[:0]
		p.bufs.roundMerged()
		p.free <- r
	}
	close(p.merged)
}

// number gives the flows created in a round their ids, in the order of their
// first frames, as a single engine does, in their workers' id cells.
func (p *Pipeline) number(lists []recording) {
	for {
		best := -1
		for i := range lists {
			if c := lists[i].created; len(c) > 0 && (best < 0 || c[0].frame < lists[best].created[0].frame) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		l := &lists[best]
		p.nextID++
		c := l.created[0].cell
		cells := p.cells[best]
		if int(c) >= len(cells) {
			cells = append(cells, make([]uint64, int(c)+1-len(cells))...)
			p.cells[best] = cells
		}
		cells[c] = p.nextID
		l.created = l.created[1:]
	}
}

// replay feeds an event of worker w to the detectors and numbers the flows;
// events come in the order a single engine would have produced them.
func (p *Pipeline) replay(ev *event, w int, rec *recording) {
	a, b := ev.addrs(rec.addrs)
	switch ev.kind {
	case evSYN:
		p.wide.SYN(ev.t, a, b, ev.frame)
	case evHandshake:
		p.wide.Handshake(ev.t, a, b)
	case evTimeWait:
		p.wide.TimeWait(ev.t, a, b, ev.bits&evOrigCloses != 0, p.cells[w][ev.cell], ev.frame)
	case evRST:
		p.wide.RST(ev.t, a, b, ev.frame)
	case evFinished:
		f := ev.flow
		if ev.bits&evBrief != 0 {
			f = p.localFlow()
			rec.briefs[ev.brief].unpack(f, rec)
		}
		f.ID = p.cells[w][ev.cell]
		p.freed[w] = append(p.freed[w], ev.cell)
		p.wide.FlowEndAt(f, a, b)
		switch {
		case p.epSink != nil:
			p.epSink(f, a, b)
		case p.Sink != nil:
			p.Sink(f)
		default:
			p.flows.add(f)
		}
	}
}

// endChunk is how many open connections the workers end at a time at the
// end of the capture.
const endChunk = 1024

// openConn is a connection still open at the end of the capture, with the
// frame it began at (its flow's order).
type openConn struct {
	first uint64
	ent   *flow.Entry[*conn]
}

// endOpen ends the connections still open in the order of their first
// frame, as one engine does. The workers are idle now (the merger has merged
// every round they did). Each lists and sorts its own connections, then
// they end them in parallel, endChunk at a time in that order, and the
// merger replays each chunk while the workers end the next one: the records
// in flight stay few (ended all at once, the 32 768 half-open connections a
// SYN flood leaves were 40 MiB of records), and the merger's turn overlaps
// theirs. Listed by the merger and replayed between chunks, the end took
// two workers longer than one engine (docs/performance.md, session 30).
func (p *Pipeline) endOpen() {
	n := len(p.workers)
	open := make([][]openConn, n)
	var wg sync.WaitGroup
	for i, w := range p.workers {
		if p.now > w.now {
			w.now = p.now
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var l []openConn
			w.table.All(func(ent *flow.Entry[*conn]) { l = append(l, openConn{entFirstFrame(ent), ent}) })
			slices.SortFunc(l, func(a, b openConn) int { return cmp.Compare(a.first, b.first) })
			open[i] = l
		}()
	}
	wg.Wait()
	// Two recorders a worker: one for the chunk being ended, one for the
	// chunk being replayed.
	var recs [2][]*recorder
	var lists [2][]recording
	for k := range recs {
		recs[k], lists[k] = make([]*recorder, n), make([]recording, n)
		for i := range recs[k] {
			recs[k][i] = &recorder{}
		}
	}
	chunk := make([][]openConn, n)
	for k := 0; ; k++ {
		// The next endChunk connections in id order (their first frames'),
		// from each worker.
		clear(chunk)
		for range endChunk {
			best := -1
			for i := range open {
				if len(chunk[i]) < len(open[i]) && (best < 0 || open[i][len(chunk[i])].first < open[best][len(chunk[best])].first) {
					best = i
				}
			}
			if best < 0 {
				break
			}
			chunk[best] = open[best][:len(chunk[best])+1]
		}
		cur := lists[k%2]
		busy := false
		for i, w := range p.workers {
			todo := chunk[i]
			open[i] = open[i][len(todo):]
			if len(todo) == 0 {
				cur[i] = recording{}
				continue
			}
			busy = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				rec := recs[k%2][i]
				w.rec, w.events = rec, rec
				rec.reset()
				rec.at(p.lastFrame+1, phaseEnd)
				for _, o := range todo {
					w.finish(o.ent, "end_of_capture")
				}
				cur[i] = rec.recording
			}()
		}
		if k > 0 {
			mergeEvents(lists[(k-1)%2], p.replay)
		}
		wg.Wait()
		if !busy {
			return
		}
	}
}

// mergeEvents calls fn with the events of lists, each already in capture
// order (a worker records them in the order it does the work), merged into
// the order a single engine would have produced them, with the index of the
// list each came from and the list itself (its addrs and briefs).
func mergeEvents(lists []recording, fn func(ev *event, list int, rec *recording)) {
	for {
		best := -1
		for i := range lists {
			if l := lists[i].events; len(l) > 0 && (best < 0 || l[0].less(&lists[best].events[0])) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		l := &lists[best]
		fn(&l.events[0], best, l)
		l.events = l.events[1:]
	}
}

// Filtered counts a frame that the user's filter excluded.
func (p *Pipeline) Filtered() {
	p.read.filteredOut()
	if p.bufs.inRound >= roundBuffers {
		p.flush()
	}
}

// Frame decodes a frame, in place in the current round, and hands its
// segment to the worker of its 4-tuple.
func (p *Pipeline) Frame(fr *capture.Frame) {
	if p.bufs.inRound >= roundBuffers {
		// The buffers retired in this round are lent until it is merged.
		p.flush()
	}
	r := p.cur
	n := len(r.slots)
	if n < cap(r.slots) {
		r.slots = r.slots[:n+1]
	} else {
		r.slots = append(r.slots, slot{})
	}
	if k := n + slotsAhead; k < cap(r.slots) {
		// The workers read this round's slots last, on their cores:
		// claiming a slot's lines a few frames ahead lets the reader write
		// them without waiting on each (docs/performance.md, session 10).
		prefetch.ForWrite(unsafe.Pointer(unsafe.SliceData(r.slots[k:k+1])), unsafe.Sizeof(slot{}))
	}
	s := &r.slots[n].seg
	if !p.read.decode(p.dec, fr, s) {
		r.slots = r.slots[:n]
		return
	}
	p.lastFrame = s.Frame
	if s.Time > p.now {
		p.now = s.Time
	}
	if p.now-p.lastSweep >= sweepInterval {
		// Every worker sweeps where a single engine would have: before this
		// frame, at the capture clock.
		r.ticks = append(r.ticks, tick{frame: s.Frame, t: p.now})
		for i := range r.batches {
			r.batches[i].refs = append(r.batches[i].refs, -int32(len(r.ticks)))
		}
		p.lastSweep = p.now
	}
	// The key's flow table shard picks the worker.
	var key flow.Key
	h := key.SetOfHashed(&s.Src, &s.Dst)
	b := &r.batches[p.shards.Of(h)%len(p.workers)]
	if data := s.Payload; !fr.Stable && len(data) > 0 {
		// The reader's buffer will be read over: the round keeps a copy of
		// the payload (the rest of the segment is in the slot).
		if cap(r.arena)-len(r.arena) < len(data) {
			// The old arena stays alive through the slots that point
			// into it; start a bigger one.
			r.arena = make([]byte, 0, max(2*cap(r.arena), 1<<20, len(data)))
		}
		off := len(r.arena)
		r.arena = append(r.arena, data...)
		s.Payload = r.arena[off:len(r.arena):len(r.arena)]
	}
	r.slots[n].h = h
	r.slots[n].swap = key.B == s.Src
	b.refs = append(b.refs, int32(n))
	if len(r.slots) >= batchFrames {
		p.flush()
	}
}

// flush hands the current round to the merger and takes a free one. A round
// with no frames is handed on too when the reader retired buffers during it:
// its merge gives them back. Without it, a stretch of frames that are not
// TCP (or that the filter drops) kept every buffer read meanwhile, and the
// memory grew with the file.
func (p *Pipeline) flush() {
	if len(p.cur.slots) == 0 && len(p.cur.ticks) == 0 && p.bufs.inRound == 0 {
		return
	}
	p.bufs.inRound = 0
	r := p.cur
	r.done.Add(len(p.workers))
	for i := range p.workers {
		p.in[i] <- &r.batches[i]
	}
	p.rounds <- r
	p.bufs.filling++
	p.cur = <-p.free
}

// Finish drains the workers, ends every open connection in capture order and
// returns the report, identical to a single engine's.
func (p *Pipeline) Finish(files []string, problems []capture.Problem) *report.Report {
	p.flush()
	close(p.rounds)
	<-p.merged
	for _, ch := range p.in {
		close(ch)
	}
	p.endOpen()
	flows := p.flows.all()
	sort.Slice(flows, func(i, j int) bool { return flows[i].ID < flows[j].ID })

	r := &report.Report{Flows: flows, Anomalies: p.wide.Findings()}
	s := &r.Summary
	s.Files = files
	s.CaptureWide = p.wide.Stats().Report()
	p.read.fill(s)
	s.FlowsByConnState, s.AnomalyCounts = map[string]int{}, map[string]uint64{}
	for _, w := range p.workers {
		ws := w.Summary()
		s.Flows += ws.Flows
		s.Evicted += ws.Evicted
		s.FlowsCapped += ws.FlowsCapped
		s.LatePackets += ws.LatePackets
		for k, v := range ws.FlowsByConnState {
			s.FlowsByConnState[k] += v
		}
		for k, v := range ws.AnomalyCounts {
			s.AnomalyCounts[k] += v
		}
	}
	for _, a := range r.Anomalies {
		s.AnomalyCounts[a.Kind]++
	}
	var readsFailed uint64
	for _, w := range p.workers {
		readsFailed += w.rcfg.Rings.ReadsFailed()
	}
	addProblems(s, problems, readsFailed)
	return r
}

// Recycle implements Analyzer. The sink runs in the merger: the merger
// keeps a few records for the briefs it unpacks (localFlow), and the others
// go back to the workers (RecycleFlow).
func (p *Pipeline) Recycle(f *report.Flow) {
	if len(p.local) < maxLocalFlows {
		p.local = append(p.local, f)
		return
	}
	RecycleFlow(f)
}

// maxLocalFlows bounds the records the merger keeps for the briefs it
// unpacks (Pipeline.local). A sink gives back each record it does not keep
// before the next one comes, so a few are enough.
const maxLocalFlows = 16

// localFlow returns a record for the merger to unpack a brief into: one its
// sink gave back (Recycle), still in its core's cache, else a recycled one.
func (p *Pipeline) localFlow() *report.Flow {
	if n := len(p.local); n > 0 {
		f := p.local[n-1]
		p.local[n-1] = nil
		p.local = p.local[:n-1]
		return f
	}
	return takeRecycled()
}

// SetPayloadReader implements Analyzer, for every worker.
func (p *Pipeline) SetPayloadReader(read func(pos uint64, p []byte) bool) {
	for _, w := range p.workers {
		w.SetPayloadReader(read)
	}
}
