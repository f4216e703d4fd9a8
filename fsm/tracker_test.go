package fsm

import (
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

func newTracker(midstream bool) *Tracker {
	var t Tracker
	t.Init(nil, midstream)
	return &t
}

func TestHandshakeAndFourWayClose(t *testing.T) {
	tr := newTracker(false)
	if got := tr.States(); got != [2]State{Closed, Listen} {
		t.Fatalf("initial states %v", got)
	}
	// dataThenClose up to the FIN's ACK, then the responder sends data in
	// CLOSE_WAIT before its own FIN.
	run(t, tr, cat(handshake, dataThenClose[:4], []pkt{
		{R, fPA, 5001, 1102, 50, EventAckCtl, Accepted, FinWait2, CloseWait},
		{R, fFA, 5051, 1102, 0, EventFinAckCtl, Accepted, TimeWait, LastAck},
		{O, fA, 1102, 5052, 0, EventAckCtl, Accepted, TimeWait, Closed},
	}))
	if tr.Finished() {
		t.Fatal("finished before TIME_WAIT expired")
	}
	if tr.Midstream() {
		t.Fatal("midstream on a SYN start")
	}
	entered := tr.Timeline()[5].Time // the FIN that put the originator in TIME_WAIT
	st, ok := tr.Expire(entered + DefaultTimeWait - 1)
	if ok {
		t.Fatalf("expired too early: %+v", st)
	}
	st, ok = tr.Expire(entered + DefaultTimeWait)
	if !ok || st.To != [2]State{Closed, Closed} || st.Event != EventTimeWaitExpired {
		t.Fatalf("expire: %v %+v", ok, st)
	}
	if !tr.Finished() {
		t.Fatal("not finished after expiry")
	}
	want := []struct {
		ev       Event
		from, to [2]State
	}{
		{EventSyn, [2]State{Closed, Listen}, [2]State{SynSent, SynReceived}},
		{EventSynAck, [2]State{SynSent, SynReceived}, [2]State{Established, SynReceived}},
		{EventAckCtl, [2]State{Established, SynReceived}, [2]State{Established, Established}},
		{EventFin, [2]State{Established, Established}, [2]State{FinWait1, CloseWait}},
		{EventAckCtl, [2]State{FinWait1, CloseWait}, [2]State{FinWait2, CloseWait}},
		{EventFinAckCtl, [2]State{FinWait2, CloseWait}, [2]State{TimeWait, LastAck}},
		{EventAckCtl, [2]State{TimeWait, LastAck}, [2]State{TimeWait, Closed}},
		{EventTimeWaitExpired, [2]State{TimeWait, Closed}, [2]State{Closed, Closed}},
	}
	tl := tr.Timeline()
	if len(tl) != len(want) {
		t.Fatalf("timeline has %d entries, want %d: %+v", len(tl), len(want), tl)
	}
	for i, w := range want {
		if tl[i].Event != w.ev || tl[i].From != w.from || tl[i].To != w.to {
			t.Errorf("timeline[%d] = %+v, want %+v", i, tl[i], w)
		}
	}
}

func TestFinAckFromFinWait1ToTimeWait(t *testing.T) {
	run(t, newTracker(false), cat(handshake, []pkt{
		{O, fFA, 1001, 5001, 0, EventFin, Accepted, FinWait1, CloseWait},
		// The responder's FIN+ACK acknowledges the originator's FIN at once.
		{R, fFA, 5001, 1002, 0, EventFinAckCtl, Accepted, TimeWait, LastAck},
		{O, fA, 1002, 5002, 0, EventAckCtl, Accepted, TimeWait, Closed},
	}))
}

func TestSimultaneousClose(t *testing.T) {
	run(t, newTracker(false), cat(handshake, []pkt{
		{O, fFA, 1001, 5001, 0, EventFin, Accepted, FinWait1, CloseWait},
		// The responder's FIN crossed ours: it does not ACK our FIN, so it was
		// sent from ESTABLISHED, and both ends go through CLOSING to TIME_WAIT.
		{R, fFA, 5001, 1001, 0, EventFin, Accepted, Closing, Closing},
		{R, fA, 5002, 1002, 0, EventAckCtl, Accepted, TimeWait, Closing},
		{O, fA, 1002, 5002, 0, EventAckCtl, Accepted, TimeWait, TimeWait},
	}))
}

func TestSimultaneousOpen(t *testing.T) {
	tr := newTracker(false)
	run(t, tr, []pkt{
		{O, fS, 1000, 0, 0, EventSyn, Accepted, SynSent, SynReceived},
		// The responder's own SYN crossed ours: SYN_SENT receiving SYN → SYN_RECEIVED.
		{R, fS, 5000, 0, 0, EventSyn, Accepted, SynReceived, SynReceived},
		{O, fSA, 1000, 5001, 0, EventSynAck, Accepted, SynReceived, Established},
		{R, fSA, 5000, 1001, 0, EventSynAck, Accepted, Established, Established},
	})
	if tr.Midstream() {
		t.Fatal("simultaneous open is not midstream")
	}
}

func TestSynRetransmission(t *testing.T) {
	steps := run(t, newTracker(false), []pkt{
		{O, fS, 1000, 0, 0, EventSyn, Accepted, SynSent, SynReceived},
		{O, fS, 1000, 0, 0, EventSynRetrans, Ignored, SynSent, SynReceived},
		{O, fS, 1000, 0, 0, EventSynRetrans, Ignored, SynSent, SynReceived},
		{R, fSA, 5000, 1001, 0, EventSynAck, Accepted, Established, SynReceived},
		{R, fSA, 5000, 1001, 0, EventSynAckRetrans, Ignored, Established, SynReceived},
		{O, fA, 1001, 5001, 0, EventAckCtl, Accepted, Established, Established},
		{R, fSA, 5000, 1001, 0, EventSynAckRetrans, Ignored, Established, Established},
	})
	if steps[1].Reason != "SYN retransmission (same ISN)" {
		t.Errorf("reason %q", steps[1].Reason)
	}
}

func TestSynNewISNRestarts(t *testing.T) {
	run(t, newTracker(false), []pkt{
		{O, fS, 1000, 0, 0, EventSyn, Accepted, SynSent, SynReceived},
		{O, fS, 7000, 0, 0, EventSyn, Accepted, SynSent, SynReceived},
		// A SYN-ACK for the first ISN no longer acknowledges our SYN.
		{R, fSA, 5000, 1001, 0, EventSynAckBadAck, Invalid, SynSent, SynReceived},
		{R, fSA, 5000, 7001, 0, EventSynAck, Accepted, Established, SynReceived},
	})
}

func TestRejected(t *testing.T) {
	tr := newTracker(false)
	run(t, tr, []pkt{
		{O, fS, 1000, 0, 0, EventSyn, Accepted, SynSent, SynReceived},
		{R, fRA, 0, 1001, 0, EventRst, Accepted, Closed, Closed},
	})
	if !tr.Finished() || !tr.Reset() {
		t.Fatal("a refused connection is finished and reset")
	}
}

func TestRstWithoutAckOfSynIsInvalid(t *testing.T) {
	tr := newTracker(false)
	run(t, tr, []pkt{
		{O, fS, 1000, 0, 0, EventSyn, Accepted, SynSent, SynReceived},
		{R, fRA, 0, 999, 0, EventRstOutOfWindow, Invalid, SynSent, SynReceived},
	})
	if tr.Finished() {
		t.Fatal("an unacceptable RST does not finish the connection")
	}
}

func TestRstOutOfWindow(t *testing.T) {
	steps := run(t, newTracker(false), cat(handshake, []pkt{
		{R, fR, 5001 + 10_000_000, 0, 0, EventRstOutOfWindow, Invalid, Established, Established},
		{R, fR, 5001 + 100, 0, 0, EventRst, Accepted, Closed, Closed},
	}))
	if steps[3].Reason != rRstWindow {
		t.Errorf("reason %q", steps[3].Reason)
	}
}

// TestRstInEveryState drives the connection into each state and resets it from
// both sides.
func TestRstInEveryState(t *testing.T) {
	prefixes := map[string][]pkt{
		"SYN_SENT/SYN_RECEIVED":      handshake[:1],
		"SYN_RECEIVED after SYN-ACK": handshake[:2],
		"ESTABLISHED":                handshake,
		"FIN_WAIT_1/CLOSE_WAIT":      cat(handshake, []pkt{{O, fFA, 1001, 5001, 0, EventFin, Accepted, FinWait1, CloseWait}}),
		"FIN_WAIT_2": cat(handshake, []pkt{
			{O, fFA, 1001, 5001, 0, EventFin, Accepted, FinWait1, CloseWait},
			{R, fA, 5001, 1002, 0, EventAckCtl, Accepted, FinWait2, CloseWait}}),
		"TIME_WAIT/LAST_ACK": cat(handshake, []pkt{
			{O, fFA, 1001, 5001, 0, EventFin, Accepted, FinWait1, CloseWait},
			{R, fA, 5001, 1002, 0, EventAckCtl, Accepted, FinWait2, CloseWait},
			{R, fFA, 5001, 1002, 0, EventFinAckCtl, Accepted, TimeWait, LastAck}}),
		"CLOSING": cat(handshake, []pkt{
			{O, fFA, 1001, 5001, 0, EventFin, Accepted, FinWait1, CloseWait},
			{R, fFA, 5001, 1001, 0, EventFin, Accepted, Closing, Closing}}),
	}
	for name, prefix := range prefixes {
		for _, dir := range []segment.Dir{O, R} {
			tr := newTracker(false)
			run(t, tr, prefix)
			before := tr.States()
			seq := uint32(1001)
			if dir == R {
				seq = 5001
			}
			st := tr.Step(dir, seg(99, fRA, seq+1, 0, 0))
			if dir == R && before[O] == SynSent {
				// In SYN_SENT only an RST acknowledging our SYN counts.
				if st.Event != EventRstOutOfWindow {
					t.Errorf("%s: RST without ACK of SYN: %s", name, st.Event)
				}
				continue
			}
			if st.Event != EventRst || st.Verdict == Invalid {
				t.Errorf("%s %s: %s %s %q", name, dir, st.Event, st.Verdict, st.Reason)
			}
			if st.To[dir] != Closed {
				t.Errorf("%s %s: sender %s after RST", name, dir, st.To[dir])
			}
			if rcv := st.To[dir.Other()]; rcv != Closed {
				t.Errorf("%s %s: receiver %s after RST", name, dir, rcv)
			}
			if !tr.Finished() {
				t.Errorf("%s %s: not finished after RST", name, dir)
			}
		}
	}
}

func TestDataAfterFin(t *testing.T) {
	steps := run(t, newTracker(false), cat(handshake, []pkt{
		{O, fFA, 1001, 5001, 0, EventFin, Accepted, FinWait1, CloseWait},
		{O, fPA, 1002, 5001, 10, EventDataAfterFin, Invalid, FinWait1, CloseWait},
		// A retransmission of the FIN itself is fine.
		{O, fFA, 1001, 5001, 0, EventFin, Ignored, FinWait1, CloseWait},
	}))
	if steps[4].Reason != rAfterFin {
		t.Errorf("reason %q", steps[4].Reason)
	}
}

func TestTimeWaitExpiresOnNextSegment(t *testing.T) {
	var tr Tracker
	tr.Init(&Config{TimeWait: 5e9}, false)
	run(t, &tr, cat(handshake, []pkt{
		{O, fFA, 1001, 5001, 0, EventFin, Accepted, FinWait1, CloseWait},
		{R, fFA, 5001, 1002, 0, EventFinAckCtl, Accepted, TimeWait, LastAck},
	}))
	// 5 s later by capture time the originator's TIME_WAIT is over.
	st := tr.Step(O, &segment.Segment{Frame: 6, Time: 5e9 + 5e9, Flags: fA, Seq: 1002, Ack: 5002})
	if st.From[O] != Closed {
		t.Fatalf("TIME_WAIT not expired before the segment: %+v", st)
	}
	if st.Verdict != Invalid {
		t.Errorf("ACK from an expired TIME_WAIT endpoint: %s", st.Verdict)
	}
	if tl := tr.Timeline(); tl[len(tl)-1].Event != EventTimeWaitExpired {
		t.Fatalf("timeline: %+v", tl)
	}
	var never Tracker
	never.Init(&Config{TimeWait: -1}, false)
	never.ep[0].state = TimeWait
	if _, ok := never.Expire(1 << 62); ok {
		t.Fatal("negative TimeWait must disable expiry")
	}
}

func TestMidstreamPickup(t *testing.T) {
	tr := newTracker(false)
	steps := run(t, tr, []pkt{
		{O, fPA, 1000, 5000, 100, EventAck, Accepted, Established, Established},
		{R, fA, 5000, 1100, 0, EventAck, Accepted, Established, Established},
		{R, fFA, 5000, 1100, 0, EventFin, Accepted, CloseWait, FinWait1},
	})
	if !tr.Midstream() || !steps[0].Pickup || steps[1].Pickup {
		t.Fatalf("midstream %v pickup %v", tr.Midstream(), steps[0].Pickup)
	}

	// Told by Init: both start ESTABLISHED.
	tr = newTracker(true)
	if tr.States() != [2]State{Established, Established} || !tr.Midstream() {
		t.Fatalf("Init(midstream): %v", tr.States())
	}

	// A first SYN-ACK: the SYN was not captured.
	tr = newTracker(false)
	run(t, tr, []pkt{
		{R, fSA, 5000, 1001, 0, EventSynAck, Accepted, Established, SynReceived},
		{O, fA, 1001, 5001, 0, EventAckCtl, Accepted, Established, Established},
	})
	if !tr.Midstream() {
		t.Fatal("SYN-ACK start is midstream")
	}

	// A first FIN or RST.
	run(t, newTracker(false), []pkt{{O, fFA, 1000, 5000, 0, EventFin, Accepted, FinWait1, CloseWait}})
	tr = newTracker(false)
	run(t, tr, []pkt{{R, fR, 5000, 0, 0, EventRst, Accepted, Closed, Closed}})
	if !tr.Finished() {
		t.Fatal("lone RST finishes the connection")
	}
}

func TestMissingHandshakeSegments(t *testing.T) {
	// SYN-ACK not captured: the originator's ACK completes the handshake.
	run(t, newTracker(false), []pkt{
		{O, fS, 1000, 0, 0, EventSyn, Accepted, SynSent, SynReceived},
		{O, fA, 1001, 5001, 0, EventAckCtl, Accepted, Established, Established},
	})
	// Final ACK not captured: the responder's data completes it.
	run(t, newTracker(false), []pkt{
		handshake[0], handshake[1],
		{R, fPA, 5001, 1001, 10, EventAck, Accepted, Established, Established},
	})
}

func TestTupleReuseAfterReset(t *testing.T) {
	run(t, newTracker(false), []pkt{
		{O, fS, 1000, 0, 0, EventSyn, Accepted, SynSent, SynReceived},
		{R, fRA, 0, 1001, 0, EventRst, Accepted, Closed, Closed},
		{O, fS, 1000, 0, 0, EventSynRetrans, Ignored, Closed, Closed},
		{O, fS, 9000, 0, 0, EventSyn, Accepted, SynSent, SynReceived},
		{R, fSA, 5000, 9001, 0, EventSynAck, Accepted, Established, SynReceived},
	})
}

func TestInvalidSegments(t *testing.T) {
	run(t, newTracker(false), cat(handshake, []pkt{
		{O, segment.PSH, 1001, 0, 10, EventNone, Invalid, Established, Established},
		{R, fS, 9999, 0, 0, EventSyn, Invalid, Established, Established},
	}))
}

func TestTimelineBounded(t *testing.T) {
	tr := newTracker(false)
	seq := uint32(1000)
	for i := range 100 {
		s := seg(uint64(i+1), fS, seq, 0, 0)
		tr.Step(O, s)
		tr.Step(R, seg(uint64(i+1), fRA, 0, seq+1, 0))
		seq += 100
	}
	if len(tr.Timeline()) != TimelineCap {
		t.Fatalf("timeline len %d", len(tr.Timeline()))
	}
	if tr.Dropped() == 0 {
		t.Fatal("no drops counted")
	}
	last := tr.Timeline()[TimelineCap-1]
	if last.To != tr.States() {
		t.Fatalf("last entry %+v does not end in current states %v", last, tr.States())
	}
}

func TestStringers(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{SynReceived.String(), "SYN_RECEIVED"},
		{TimeWait.String(), "TIME_WAIT"},
		{State(17).String(), "State(17)"},
		{Invalid.String(), "INVALID"},
		{Verdict(9).String(), "Verdict(9)"},
		{EventFinAckCtl.String(), "FIN_ACK_CTL"},
		{Event(200).String(), "Event(200)"},
		{Receiver.String(), "receiver"},
		{Role(7).String(), "Role(7)"},
		{ZeekSynAckSent.String(), "SYN_ACK_SENT"},
		{ZeekState(42).String(), "ZeekState(42)"},
	} {
		if c.got != c.want {
			t.Errorf("got %q want %q", c.got, c.want)
		}
	}
	if !Established.Synchronized() || SynSent.Synchronized() || !FinWait2.Closing() || Established.Closing() ||
		!LastAck.SentFIN() || CloseWait.SentFIN() || !SynReceived.Connecting() || !CloseWait.CanSend() {
		t.Error("predicates")
	}
}

func TestStepAllocs(t *testing.T) {
	script := cat(handshake, []pkt{
		{O, fPA, 1001, 5001, 100, EventAck, Accepted, Established, Established},
		{O, fFA, 1101, 5001, 0, EventFin, Accepted, FinWait1, CloseWait},
	})
	segs := make([]*segment.Segment, len(script))
	for i, p := range script {
		segs[i] = seg(uint64(i+1), p.flags, p.seq, p.ack, p.plen)
	}
	var tr Tracker
	var z Zeek
	allocs := testing.AllocsPerRun(200, func() {
		tr.Init(nil, false)
		z = Zeek{}
		for i, s := range segs {
			tr.Step(script[i].dir, s)
			z.Update(script[i].dir, s, ZeekHints{})
		}
		tr.Expire(1 << 40)
		_ = tr.Timeline()
		_ = z.ConnState()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per connection, want 0", allocs)
	}
}

// BenchmarkStep measures StepTo, the engine's path (Step wraps it).
func BenchmarkStep(b *testing.B) {
	script := cat(handshake, dataThenClose)
	segs := make([]*segment.Segment, len(script))
	for i, p := range script {
		segs[i] = seg(uint64(i+1), p.flags, p.seq, p.ack, p.plen)
	}
	var tr Tracker
	var st Step
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		j := i % len(segs)
		if j == 0 {
			tr.Init(nil, false)
		}
		tr.StepTo(script[j].dir, segs[j], &st)
	}
}

func BenchmarkZeekUpdate(b *testing.B) {
	script := cat(handshake, []pkt{
		{O, fPA, 1001, 5001, 100, EventAck, Accepted, Established, Established},
		{R, fA, 5001, 1101, 0, EventAck, Accepted, Established, Established},
		{O, fFA, 1101, 5001, 0, EventFin, Accepted, FinWait1, CloseWait},
		{R, fFA, 5001, 1102, 0, EventFinAckCtl, Accepted, TimeWait, LastAck},
		{O, fA, 1102, 5002, 0, EventAckCtl, Accepted, TimeWait, Closed},
	})
	segs := make([]*segment.Segment, len(script))
	for i, p := range script {
		segs[i] = seg(uint64(i+1), p.flags, p.seq, p.ack, p.plen)
	}
	var z Zeek
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		j := i % len(segs)
		if j == 0 {
			z = Zeek{}
		}
		z.Update(script[j].dir, segs[j], ZeekHints{})
	}
}
