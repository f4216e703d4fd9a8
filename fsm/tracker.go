package fsm

import (
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// DefaultTimeWait is the TIME_WAIT length (2×MSL) used when Config.TimeWait is 0:
// 60 s, Linux's fixed TCP_TIMEWAIT_LEN.
const DefaultTimeWait int64 = 60e9

// TimelineCap is the number of transitions a Tracker keeps. A clean connection
// needs about nine (handshake, close, TIME_WAIT expiry); past the cap the last
// slot is overwritten by the newest transition, so the timeline always ends with
// the current state, and Dropped counts what was overwritten.
const TimelineCap = 12

// minRSTSlack is the smallest window, in bytes, that the RST sanity check allows
// on either side of the sender's next sequence number.
const minRSTSlack = 65535

// Config holds the tracker's tunables. The zero value gives the defaults.
type Config struct {
	// TimeWait is how long, in nanoseconds of capture time, an endpoint stays in
	// TIME_WAIT before Expire moves it to CLOSED. 0 means DefaultTimeWait; a
	// negative value disables expiry.
	TimeWait int64
}

// endpoint flag bits.
const (
	epSent       uint8 = 1 << iota // has sent at least one segment
	epISS                          // iss is known (sent SYN or SYN-ACK, or inferred)
	epSentSyn                      // has sent a SYN without ACK
	epSentSynAck                   // has sent a SYN+ACK
	epFIN                          // has sent a FIN; fin holds its sequence number
	epWS                           // its SYN carried the window-scale option
	epSawSyn                       // its SYN (with or without ACK) was seen
)

// endpoint is what the tracker knows about one side.
type endpoint struct {
	state  State
	flags  uint8
	wscale uint8
	iss    seqnum.Value // initial sequence number
	fin    seqnum.Value // sequence number of its FIN
	next   seqnum.Value // highest seq+len it has sent
	maxWin uint32       // largest window it advertised, scaled when known
	since  int64        // capture time it entered TIME_WAIT
}

func (e *endpoint) has(f uint8) bool { return e.flags&f != 0 }

// Transition is one change of either endpoint's state.
type Transition struct {
	Frame uint64 // frame of the segment, 0 for a timer
	Time  int64  // capture time in ns
	Event Event
	Dir   segment.Dir // direction of the segment (sender); Orig for a timer
	From  [2]State    // indexed by segment.Dir
	To    [2]State
}

// Step is the outcome of one segment (or timer).
type Step struct {
	Event   Event
	Verdict Verdict // the worse of the two endpoints' verdicts
	// Reason explains the verdict: the reason of the cell that decided it (on a tie
	// the sender's, unless only the receiver changed state).
	Reason   string
	Reasons  [2]string  // each endpoint's cell reason, indexed by segment.Dir
	Verdicts [2]Verdict // each endpoint's cell verdict, indexed by segment.Dir
	From, To [2]State   // indexed by segment.Dir
	Changed  bool       // whether either state changed
	// Pickup is set on the first segment of a connection picked up mid-stream:
	// From then holds the states inferred from that segment, not observed ones.
	Pickup bool
}

// Tracker follows both endpoints of one connection through the RFC 9293 states,
// driven only by the segments seen on the wire. It holds no maps and no pointers;
// the zero value is ready after Init. It is not safe for concurrent use.
type Tracker struct {
	ep        [2]endpoint
	timeWait  int64
	started   bool
	midstream bool
	reset     bool
	n         uint8 // timeline entries in use
	dropped   uint32
	tl        [TimelineCap]Transition
}

// Init (re)starts the tracker. The originator starts in CLOSED and the responder
// in LISTEN: once a SYN is sent to it, it is assumed to listen. With midstream
// set, the connection is known to have begun before the capture: both endpoints
// start ESTABLISHED ("its history is lost to us"), and the first segment may
// refine that (see Step). cfg may be nil.
func (t *Tracker) Init(cfg *Config, midstream bool) {
	// Every field but the timeline's entries: only the first n of them
	// are read, they are most of the tracker, and a reused connection's
	// are cold (TestInitResetsAll).
	t.ep = [2]endpoint{}
	t.started, t.midstream, t.reset, t.n, t.dropped = false, false, false, 0, 0
	t.timeWait = DefaultTimeWait
	if cfg != nil && cfg.TimeWait != 0 {
		t.timeWait = cfg.TimeWait
	}
	t.ep[segment.Orig].state = Closed
	t.ep[segment.Resp].state = Listen
	if midstream {
		t.midstream = true
		t.ep[0].state, t.ep[1].state = Established, Established
	}
}

// States returns both endpoints' states, indexed by segment.Dir.
func (t *Tracker) States() [2]State { return [2]State{t.ep[0].state, t.ep[1].state} }

// Midstream reports whether the connection was picked up after its start: Init was
// told so, or the first segment was not a SYN without ACK.
func (t *Tracker) Midstream() bool { return t.midstream }

// Reset reports whether an accepted RST ended the connection.
func (t *Tracker) Reset() bool { return t.reset }

// Finished reports whether the connection is over: both endpoints are CLOSED (TIME_WAIT
// expired included), or an accepted RST ended it.
func (t *Tracker) Finished() bool {
	return t.reset || (t.started && t.ep[0].state == Closed && t.ep[1].state == Closed)
}

// Timeline returns the recorded transitions, oldest first. The slice aliases the
// tracker's storage: it is valid until the next Step, Expire or Init.
func (t *Tracker) Timeline() []Transition { return t.tl[:t.n] }

// Dropped returns how many transitions were overwritten because the timeline was
// full (see TimelineCap).
func (t *Tracker) Dropped() uint32 { return t.dropped }

// record appends tr to the timeline (see next).
func (t *Tracker) record(tr Transition) { *t.next() = tr }

// next returns the timeline entry to fill for a new transition: the next
// free one, or the last one again once the timeline is full. StepTo fills it
// field by field, byte-sized states as bytes: a Transition built on the
// stack and then copied was read back in wider moves than it was written,
// which waited for its stores to reach the cache.
func (t *Tracker) next() *Transition {
	if int(t.n) < TimelineCap {
		t.n++
		return &t.tl[t.n-1]
	}
	t.dropped++
	return &t.tl[TimelineCap-1]
}

const reasonTimeWait = "2×MSL elapsed in TIME_WAIT (by capture time)"

// Expire moves every endpoint that has been in TIME_WAIT for Config.TimeWait (by
// capture time now, in ns) to CLOSED. It reports the step and whether anything
// changed. Step calls it itself before each segment.
func (t *Tracker) Expire(now int64) (Step, bool) {
	tw := t.timeWait
	if tw == 0 {
		tw = DefaultTimeWait // zero value used without Init
	}
	if tw < 0 {
		return Step{}, false
	}
	from := t.States()
	changed := false
	for i := range t.ep {
		e := &t.ep[i]
		if e.state == TimeWait && now-e.since >= tw {
			e.state = Closed
			changed = true
		}
	}
	if !changed {
		return Step{}, false
	}
	st := Step{Event: EventTimeWaitExpired, Verdict: Accepted, Reason: reasonTimeWait,
		From: from, To: t.States(), Changed: true}
	for i := range t.ep {
		if st.From[i] != st.To[i] {
			st.Reasons[i] = reasonTimeWait
		}
	}
	t.record(Transition{Time: now, Event: EventTimeWaitExpired, From: st.From, To: st.To})
	return st, true
}

// pickup sets the states a connection had before its first segment, when that
// segment is not a plain SYN: a SYN-ACK means the sender was in SYN_RECEIVED and the
// receiver in SYN_SENT (whose ISN is taken as ack−1); anything else means both were
// ESTABLISHED, since their history is lost to us.
func (t *Tracker) pickup(dir segment.Dir, seg *segment.Segment) bool {
	f := seg.Flags
	pureSyn := f.Has(segment.SYN) && !f.Any(segment.ACK|segment.RST)
	if pureSyn && !t.midstream {
		return false
	}
	t.midstream = true
	snd, rcv := &t.ep[dir], &t.ep[dir.Other()]
	switch {
	case pureSyn:
		t.ep[segment.Orig].state, t.ep[segment.Resp].state = Closed, Listen
		snd.state, rcv.state = Closed, Listen
	case f.Has(segment.SYN|segment.ACK) && !f.Has(segment.RST):
		snd.state, rcv.state = SynReceived, SynSent
		rcv.iss = seg.Ack - 1
		rcv.next = seg.Ack
		rcv.flags |= epISS | epSentSyn
	default:
		snd.state, rcv.state = Established, Established
	}
	return true
}

// covers reports whether the segment's ACK acknowledges the receiver's pending
// SYN (receiver in SYN_SENT or SYN_RECEIVED) or its FIN (ack == FIN's seq + 1).
// A receiver whose SYN was not captured is taken to be acknowledged.
func covers(rcv *endpoint, seg *segment.Segment) bool {
	if !seg.Flags.Has(segment.ACK) {
		return false
	}
	if rcv.has(epFIN) {
		return seg.Ack == rcv.fin.Add(1)
	}
	if rcv.state == SynSent || rcv.state == SynReceived {
		if !rcv.has(epISS) {
			return true
		}
		return seg.Ack.GreaterThan(rcv.iss) && seg.Ack.LessThanEq(rcv.next)
	}
	return false
}

// rstAcceptable is the RFC 5961-style sanity check. A receiver in SYN_SENT accepts
// only a RST whose ACK acknowledges its SYN. Otherwise the RST's sequence number
// must lie within the receiver's largest advertised window (at least 64 KiB, and
// the largest scale when scaling is unknown) of the sender's next sequence number.
// A sender never seen before passes: there is nothing to compare with.
func rstAcceptable(snd, rcv *endpoint, seg *segment.Segment) bool {
	if rcv.state == SynSent && rcv.has(epISS) {
		return seg.Flags.Has(segment.ACK) && seg.Ack.GreaterThan(rcv.iss) && seg.Ack.LessThanEq(rcv.next)
	}
	if !snd.has(epSent) {
		return true
	}
	slack := int64(rcv.maxWin)
	if !(snd.has(epSawSyn) && rcv.has(epSawSyn)) {
		slack <<= 14 // the scale is unknown: assume the largest
	}
	if slack < minRSTSlack {
		slack = minRSTSlack
	}
	d := seg.Seq.Sub(snd.next)
	return d >= -slack && d <= slack
}

// Classify returns the event of the segment sent in direction dir, given the
// tracker's current knowledge, in the fixed priority
// RST > SYN+ACK > SYN > data after FIN > FIN > ACK > none.
func (t *Tracker) Classify(dir segment.Dir, seg *segment.Segment) Event {
	snd, rcv := &t.ep[dir&1], &t.ep[(dir&1)^1]
	f := seg.Flags
	switch {
	case f.Has(segment.RST):
		if rstAcceptable(snd, rcv, seg) {
			return EventRst
		}
		return EventRstOutOfWindow
	case f.Has(segment.SYN | segment.ACK):
		if (rcv.state == SynSent || rcv.state == SynReceived) && rcv.has(epISS) &&
			!(seg.Ack.GreaterThan(rcv.iss) && seg.Ack.LessThanEq(rcv.next)) {
			return EventSynAckBadAck
		}
		if snd.has(epSentSynAck) && seg.Seq == snd.iss {
			return EventSynAckRetrans
		}
		return EventSynAck
	case f.Has(segment.SYN):
		if snd.has(epSentSyn) && seg.Seq == snd.iss {
			return EventSynRetrans
		}
		return EventSyn
	}
	if snd.has(epFIN) {
		dataEnd := seg.Seq.Add(seqnum.Size(seg.PayloadLen))
		if (seg.PayloadLen > 0 && dataEnd.GreaterThan(snd.fin)) ||
			(f.Has(segment.FIN) && dataEnd.GreaterThan(snd.fin)) {
			return EventDataAfterFin
		}
	}
	ctl := covers(rcv, seg)
	switch {
	case f.Has(segment.FIN):
		if ctl {
			return EventFinAckCtl
		}
		return EventFin
	case f.Has(segment.ACK):
		if ctl {
			return EventAckCtl
		}
		return EventAck
	}
	return EventNone
}

// Step applies one segment sent in direction dir (segment.Orig: originator to
// responder). It first expires TIME_WAIT by the segment's capture time, then
// classifies the segment (see Classify), looks up the sender's and the receiver's
// cells of the table, and moves both endpoints. An Ignored cell never moves its
// endpoint, and an Invalid step moves neither. Step does not allocate.
func (t *Tracker) Step(dir segment.Dir, seg *segment.Segment) Step {
	var st Step
	t.StepTo(dir, seg, &st)
	return st
}

// StepTo is Step with the result written to *st, which it overwrites: a
// returned Step is built on the stack and copied out in 16-byte moves that
// wait for the narrower stores just made to it (a store-forwarding stall
// that held 2 % of a one-core profile of the mix; docs/performance.md,
// session 11).
func (t *Tracker) StepTo(dir segment.Dir, seg *segment.Segment, st *Step) {
	dir &= 1
	if t.ep[0].state == TimeWait || t.ep[1].state == TimeWait {
		t.Expire(seg.Time)
	}
	*st = Step{}
	if !t.started {
		t.started = true
		st.Pickup = t.pickup(dir, seg)
	}
	snd, rcv := &t.ep[dir], &t.ep[dir.Other()]
	ev := t.Classify(dir, seg)
	st.Event = ev
	// The states are kept in locals as well: reading them back from *st
	// lets the compiler merge byte loads into wider ones, which cannot take
	// their bytes from the one-byte stores just made and wait for them to
	// reach the cache (another 2 % of the profile).
	f0, f1 := t.ep[0].state, t.ep[1].state
	st.From = [2]State{f0, f1}

	sNext, sRule := lookup(ev, Sender, snd.state)
	rNext, rRule := lookup(ev, Receiver, rcv.state)
	st.Reasons[dir], st.Reasons[dir.Other()] = sRule.reason, rRule.reason
	st.Verdicts[dir], st.Verdicts[dir.Other()] = sRule.verdict, rRule.verdict

	// A cell moves its endpoint only when the step as a whole is not Invalid:
	// an invalid segment is dropped by the receiver, and its sender's state
	// cannot be trusted either.
	st.Verdict = max(sRule.verdict, rRule.verdict)
	if st.Verdict != Invalid {
		snd.state, rcv.state = sNext, rNext
	}
	t0, t1 := t.ep[0].state, t.ep[1].state
	st.To = [2]State{t0, t1}
	st.Changed = t0 != f0 || t1 != f1
	st.Reason = pickReason(st.Verdict, sRule, rRule, st.From[dir] != st.To[dir], st.From[dir.Other()] != st.To[dir.Other()])

	t.account(dir, seg, ev, st.Verdict)
	for i := range t.ep {
		if st.To[i] == TimeWait && st.From[i] != TimeWait {
			t.ep[i].since = seg.Time
		}
	}
	if st.Changed {
		tr := t.next()
		tr.Frame, tr.Time, tr.Event, tr.Dir = seg.Frame, seg.Time, ev, dir
		tr.From[0], tr.From[1], tr.To[0], tr.To[1] = f0, f1, t0, t1
	}
}

func pickReason(v Verdict, s, r *rule, sMoved, rMoved bool) string {
	switch {
	case s.verdict == v && r.verdict != v:
		return s.reason
	case r.verdict == v && s.verdict != v:
		return r.reason
	case rMoved && !sMoved:
		return r.reason
	}
	return s.reason
}

// account updates the per-endpoint bookkeeping after a step.
func (t *Tracker) account(dir segment.Dir, seg *segment.Segment, ev Event, v Verdict) {
	snd, rcv := &t.ep[dir], &t.ep[dir.Other()]
	f := seg.Flags
	if ev == EventRstOutOfWindow || ev == EventNone {
		return
	}
	if f.Has(segment.SYN) {
		snd.flags |= epSawSyn
		if seg.Opts.HasWScale {
			snd.flags |= epWS
			snd.wscale = min(seg.Opts.WScale, 14)
		}
	}
	if !f.Has(segment.RST) {
		win := uint32(seg.Window)
		if !f.Has(segment.SYN) && snd.has(epWS) && rcv.has(epWS) {
			win <<= snd.wscale
		}
		snd.maxWin = max(snd.maxWin, win)
		end := seg.End()
		if !snd.has(epSent) || end.GreaterThan(snd.next) {
			snd.next = end
		}
	}
	snd.flags |= epSent
	if v == Invalid {
		return
	}
	switch ev {
	case EventSyn, EventSynAck:
		if snd.has(epFIN) || t.reset {
			// A new SYN after a close or reset: the tuple is reused.
			snd.flags &^= epFIN
			rcv.flags &^= epFIN
			t.reset = false
		}
		snd.iss = seg.Seq
		snd.next = seg.End()
		snd.flags |= epISS
		if ev == EventSyn {
			snd.flags |= epSentSyn
		} else {
			snd.flags |= epSentSynAck
		}
	case EventFin, EventFinAckCtl:
		if !snd.has(epFIN) {
			snd.fin = seg.Seq.Add(seqnum.Size(seg.PayloadLen))
			snd.flags |= epFIN
		}
	case EventRst:
		t.reset = true
	}
}
