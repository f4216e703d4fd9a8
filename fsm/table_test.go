package fsm

import (
	"strings"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// build prepares a tracker whose sender (orig) is in state snd and receiver (resp)
// in state rcv, with the bookkeeping that makes the returned segment classify as
// ev. It reports false when no segment of that class exists for these states.
func build(ev Event, snd, rcv State) (*Tracker, *segment.Segment, bool) {
	var t Tracker
	t.Init(nil, false)
	t.started = true
	s, r := &t.ep[O], &t.ep[R]
	s.state, r.state = snd, rcv
	s.flags, r.flags = epSent, epSent
	s.next, r.next = 1001, 5001
	s.maxWin, r.maxWin = 65535, 65535
	g := &segment.Segment{Frame: 1, Time: 1e9, Seq: 1001, Window: 1000}
	synRcv := rcv == SynSent || rcv == SynReceived
	switch ev {
	case EventNone:
		g.Flags, g.PayloadLen = segment.PSH, 10
	case EventAck, EventFin:
		g.Flags = fA
		if ev == EventFin {
			g.Flags = fFA
		}
		if synRcv {
			r.iss, r.next, r.flags = 5000, 5001, r.flags|epISS
		}
		g.Ack = 9999 // acknowledges nothing pending
	case EventAckCtl, EventFinAckCtl:
		g.Flags = fA
		if ev == EventFinAckCtl {
			g.Flags = fFA
		}
		if synRcv {
			r.iss, r.next, r.flags = 5000, 5001, r.flags|epISS
		} else {
			r.fin, r.flags = 5000, r.flags|epFIN
		}
		g.Ack = 5001
	case EventDataAfterFin:
		s.fin, s.flags = 1000, s.flags|epFIN
		g.Flags, g.PayloadLen = fPA, 10
	case EventSyn:
		g.Flags = fS
	case EventSynRetrans:
		g.Flags = fS
		s.iss, s.flags = 1001, s.flags|epISS|epSentSyn
	case EventSynAck, EventSynAckRetrans:
		g.Flags = fSA
		if synRcv {
			r.iss, r.next, r.flags = 5000, 5001, r.flags|epISS
		}
		g.Ack = 5001
		if ev == EventSynAckRetrans {
			s.iss, s.flags = 1001, s.flags|epISS|epSentSynAck
		}
	case EventSynAckBadAck:
		if !synRcv {
			return nil, nil, false
		}
		g.Flags = fSA
		r.iss, r.next, r.flags = 5000, 5001, r.flags|epISS
		g.Ack = 7777
	case EventRst:
		g.Flags, g.Ack = fRA, 5001
		if rcv == SynSent {
			r.iss, r.next, r.flags = 5000, 5001, r.flags|epISS
		}
	case EventRstOutOfWindow:
		g.Flags, g.Seq = fR, 1001+0x7000_0000 // beyond even the largest scaled window
		if rcv == SynSent {
			r.iss, r.next, r.flags = 5000, 5001, r.flags|epISS
			g.Seq, g.Ack = 1001, 4000
			g.Flags = fRA
		}
	}
	return &t, g, t.Classify(O, g) == ev
}

// TestEveryCell walks the whole table: for each cell it builds a segment of the
// cell's event with the endpoint in the cell's state, steps the tracker, and checks
// the cell's verdict and reason and, when the step as a whole is not Invalid, the
// cell's next state. Partner states are chosen so that the partner's own cell is
// not Invalid where such a state exists.
func TestEveryCell(t *testing.T) {
	cells := Table()
	if len(cells) != NumEvents*2*NumStates {
		t.Fatalf("%d cells", len(cells))
	}
	unreachable := 0
	for _, c := range cells {
		if c.Reason == "" {
			t.Errorf("%s: no reason", c)
		}
		if !c.Next.Valid() {
			t.Errorf("%s: invalid next state", c)
		}
		if c.Verdict != Accepted && c.Next != c.State {
			t.Errorf("%s: only accepted cells may change state", c)
		}
		var best *Step
		for p := range NumStates {
			snd, rcv := c.State, State(p)
			if c.Role == Receiver {
				snd, rcv = State(p), c.State
			}
			tr, g, ok := build(c.Event, snd, rcv)
			if !ok {
				continue
			}
			st := tr.Step(O, g)
			if best == nil || (best.Verdict == Invalid && st.Verdict != Invalid) {
				best = &st
			}
		}
		if best == nil {
			// Only SYN_ACK_BAD_ACK needs a receiver in SYN_SENT/SYN_RECEIVED.
			if c.Event != EventSynAckBadAck || c.Role != Receiver {
				t.Errorf("%s: no segment reaches this cell", c)
			}
			unreachable++
			continue
		}
		i := segment.Dir(O)
		if c.Role == Receiver {
			i = R
		}
		if best.Verdicts[i] != c.Verdict || best.Reasons[i] != c.Reason || best.From[i] != c.State {
			t.Errorf("%s: step gave %s %q from %s", c, best.Verdicts[i], best.Reasons[i], best.From[i])
		}
		if best.Verdict != Invalid && best.To[i] != c.Next {
			t.Errorf("%s: step moved to %s", c, best.To[i])
		}
	}
	if unreachable != NumStates-2 {
		t.Errorf("%d unreachable cells, want %d", unreachable, NumStates-2)
	}
}

func TestDescribe(t *testing.T) {
	d := Describe()
	if n := strings.Count(d, "\n"); n != NumEvents*2*NumStates {
		t.Fatalf("%d lines", n)
	}
	for _, want := range []string{
		"SYN receiver LISTEN -> SYN_RECEIVED ACCEPTED: passive open: SYN received",
		"FIN_ACK_CTL receiver FIN_WAIT_1 -> TIME_WAIT ACCEPTED",
		"ACK_CTL receiver LAST_ACK -> CLOSED ACCEPTED",
		"DATA_AFTER_FIN sender ESTABLISHED -> ESTABLISHED INVALID: data after FIN",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("Describe lacks %q", want)
		}
	}
}

func TestLookupOutOfRange(t *testing.T) {
	for _, c := range []struct {
		ev   Event
		role Role
		s    State
	}{{Event(99), Sender, Closed}, {EventAck, Role(5), Closed}, {EventAck, Sender, State(40)}} {
		next, r := lookup(c.ev, c.role, c.s)
		if next != c.s || r.verdict != Invalid || r.reason == "" {
			t.Errorf("lookup(%v,%v,%v) = %v %+v", c.ev, c.role, c.s, next, r)
		}
	}
}
