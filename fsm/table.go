package fsm

import "strings"

// rule is one cell of the table: where the endpoint goes, the verdict, and why.
type rule struct {
	next    State // keep = unchanged
	verdict Verdict
	reason  string
}

func ok(next State, reason string) rule { return rule{next, Accepted, reason} }
func ign(reason string) rule            { return rule{keep, Ignored, reason} }
func bad(reason string) rule            { return rule{keep, Invalid, reason} }

// row is one event's rules for one role, indexed by the endpoint's state.
type row = [NumStates]rule

// same builds a row whose every state gets the same rule.
func same(r rule) (out row) {
	for i := range out {
		out[i] = r
	}
	return out
}

// Reasons shared by several cells.
const (
	rNoFlags     = "segment carries none of SYN, ACK, FIN, RST (RFC 9293: dropped)"
	rSynInSync   = "SYN in a synchronized state (RFC 9293: answered with a challenge ACK, RFC 5961)"
	rSynAckSync  = "SYN-ACK with a new ISN in a synchronized state"
	rRstWindow   = "RST far outside the window, or in SYN_SENT not acknowledging the SYN (RFC 5961: the receiver drops it)"
	rAfterFin    = "data after FIN"
	rAfterFinRcv = "data after FIN: the peer had already closed its sending side"
	rSynAckBad   = "SYN-ACK does not acknowledge the peer's SYN (RFC 9293: answered with RST)"
)

// table is the whole state machine: [event][role][state] → rule. Cells are listed
// in state order: CLOSED, LISTEN, SYN_SENT, SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1,
// FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT.
var table = [NumEvents][2]row{
	EventNone: {
		Sender:   same(bad(rNoFlags)),
		Receiver: same(bad(rNoFlags)),
	},
	EventAck: {
		Sender: {
			bad("a closed endpoint sends ACK or data (after its reset or close)"),
			bad("a listener sends ACK or data before any SYN"),
			bad("ACK from SYN_SENT that acknowledges no SYN of the peer"),
			ok(Established, "ACK or data from SYN_RECEIVED: the handshake's last ACK was not captured, assume it arrived"),
			ok(keep, "data or ACK in ESTABLISHED"),
			ok(keep, "ACK or retransmitted data from FIN_WAIT_1"),
			ok(keep, "ACK from FIN_WAIT_2"),
			ok(keep, "data or ACK in CLOSE_WAIT (half-close: this side may still send)"),
			ok(keep, "ACK from CLOSING"),
			ok(keep, "ACK or retransmitted data from LAST_ACK"),
			ok(keep, "ACK from TIME_WAIT (re-acknowledges the peer's FIN)"),
		},
		Receiver: {
			bad("ACK or data to a closed endpoint (it would answer with RST)"),
			bad("ACK to a listener without a SYN (it would answer with RST)"),
			bad("ACK without SYN to SYN_SENT (it would answer with RST)"),
			bad("ACK in SYN_RECEIVED that does not acknowledge our SYN"),
			ok(keep, "data or ACK in ESTABLISHED"),
			ok(keep, "ACK in FIN_WAIT_1 that does not cover our FIN yet"),
			ok(keep, "data or ACK in FIN_WAIT_2 (the peer may still send)"),
			ok(keep, "ACK in CLOSE_WAIT"),
			ok(keep, "ACK in CLOSING that does not cover our FIN"),
			ok(keep, "ACK in LAST_ACK that does not cover our FIN"),
			ign("segment in TIME_WAIT: re-acknowledged, state unchanged"),
		},
	},
	EventAckCtl: {
		Sender: {
			bad("a closed endpoint sends ACK or data (after its reset or close)"),
			bad("a listener sends ACK or data before any SYN"),
			ok(Established, "ACK of the peer's SYN from SYN_SENT: the SYN-ACK was not captured, assume it arrived"),
			ok(Established, "ACK of the peer's SYN from SYN_RECEIVED: assume its own SYN was acknowledged"),
			ok(keep, "data or ACK in ESTABLISHED"),
			ok(keep, "ACK or retransmitted data from FIN_WAIT_1"),
			ok(keep, "ACK from FIN_WAIT_2"),
			ok(keep, "data or ACK in CLOSE_WAIT (half-close: this side may still send)"),
			ok(keep, "ACK of the peer's FIN from CLOSING"),
			ok(keep, "ACK from LAST_ACK"),
			ok(keep, "ACK of the peer's FIN from TIME_WAIT"),
		},
		Receiver: {
			bad("ACK or data to a closed endpoint (it would answer with RST)"),
			bad("ACK to a listener without a SYN (it would answer with RST)"),
			bad("ACK of our SYN without the peer's SYN (split handshake?)"),
			ok(Established, "handshake completes: ACK of our SYN"),
			ok(keep, "data or ACK in ESTABLISHED"),
			ok(FinWait2, "ACK of our FIN"),
			ok(keep, "data or ACK in FIN_WAIT_2 (the peer may still send)"),
			ok(keep, "ACK in CLOSE_WAIT"),
			ok(TimeWait, "ACK of our FIN: simultaneous close completes"),
			ok(Closed, "ACK of our FIN: the connection is closed"),
			ign("ACK of our FIN again in TIME_WAIT"),
		},
	},
	EventFin: {
		Sender: {
			bad("FIN from a closed endpoint"),
			bad("FIN from a listener"),
			bad("FIN from SYN_SENT: there is no connection to close yet"),
			ok(FinWait1, "FIN from SYN_RECEIVED: closes before the handshake completed (RFC 9293 allows it)"),
			ok(FinWait1, "active close: sends FIN"),
			ign("FIN retransmission from FIN_WAIT_1"),
			ign("FIN retransmission after its ACK was seen"),
			// Its FIN does not acknowledge the peer's: it was sent before the
			// peer's FIN arrived, so this is a simultaneous close, not a passive one.
			ok(Closing, "simultaneous close: its FIN crossed the peer's (it does not acknowledge it)"),
			ign("FIN retransmission from CLOSING"),
			ign("FIN retransmission from LAST_ACK"),
			ign("FIN retransmission from TIME_WAIT"),
		},
		Receiver: {
			bad("FIN to a closed endpoint"),
			bad("FIN to a listener"),
			bad("FIN to SYN_SENT (RFC 9293: dropped)"),
			bad("FIN in SYN_RECEIVED that does not acknowledge our SYN"),
			ok(CloseWait, "the peer closes: passive close"),
			ok(Closing, "simultaneous close: the peer's FIN arrives before the ACK of ours"),
			ok(TimeWait, "the peer's FIN after ours was acknowledged"),
			ign("FIN retransmission in CLOSE_WAIT"),
			ign("FIN retransmission in CLOSING"),
			ign("FIN retransmission in LAST_ACK"),
			ign("FIN retransmission in TIME_WAIT (re-acknowledged)"),
		},
	},
	EventFinAckCtl: {
		Sender: {
			bad("FIN from a closed endpoint"),
			bad("FIN from a listener"),
			ok(FinWait1, "FIN acknowledging the peer's SYN from SYN_SENT: the SYN-ACK was not captured"),
			ok(FinWait1, "FIN from SYN_RECEIVED: closes right after the handshake"),
			ok(FinWait1, "active close: sends FIN"),
			ign("FIN retransmission from FIN_WAIT_1"),
			ign("FIN retransmission after its ACK was seen"),
			ok(LastAck, "passive close: sends FIN that acknowledges the peer's"),
			ign("FIN retransmission from CLOSING"),
			ign("FIN retransmission from LAST_ACK"),
			ign("FIN retransmission from TIME_WAIT"),
		},
		Receiver: {
			bad("FIN to a closed endpoint"),
			bad("FIN to a listener"),
			bad("FIN without SYN to SYN_SENT (RFC 9293: dropped)"),
			ok(CloseWait, "FIN that acknowledges our SYN: the handshake completes and the peer closes"),
			ok(CloseWait, "the peer closes: passive close"),
			ok(TimeWait, "FIN+ACK covering our FIN: straight to TIME_WAIT"),
			ok(TimeWait, "the peer's FIN after ours was acknowledged"),
			ign("FIN retransmission in CLOSE_WAIT"),
			ok(TimeWait, "retransmitted FIN now acknowledges ours"),
			ok(Closed, "FIN retransmission that acknowledges our FIN: closed"),
			ign("FIN retransmission in TIME_WAIT (re-acknowledged)"),
		},
	},
	EventDataAfterFin: {
		Sender:   same(bad(rAfterFin)),
		Receiver: same(bad(rAfterFinRcv)),
	},
	EventSyn: {
		Sender: {
			ok(SynSent, "active open: sends SYN"),
			ok(SynSent, "the listener performs an active open"),
			ok(keep, "SYN with a new ISN: the connection attempt restarts"),
			ok(keep, "simultaneous open: its SYN crossed the peer's"),
			bad(rSynInSync),
			bad(rSynInSync),
			bad(rSynInSync),
			bad(rSynInSync),
			bad(rSynInSync),
			bad(rSynInSync),
			ok(SynSent, "new SYN from TIME_WAIT: the tuple is reused (RFC 6191)"),
		},
		Receiver: {
			ok(SynReceived, "SYN to a closed tuple: assume a listener (new connection on the same tuple)"),
			ok(SynReceived, "passive open: SYN received"),
			ok(SynReceived, "simultaneous open: SYN received in SYN_SENT"),
			ok(keep, "SYN with a new ISN replaces the pending attempt"),
			bad(rSynInSync),
			bad(rSynInSync),
			bad(rSynInSync),
			bad(rSynInSync),
			bad(rSynInSync),
			bad(rSynInSync),
			ok(SynReceived, "SYN in TIME_WAIT reopens the tuple (RFC 6191)"),
		},
	},
	EventSynRetrans: {
		Sender: {
			ign("SYN retransmission from a closed endpoint (it crossed the reset or close)"),
			ign("SYN retransmission from LISTEN"),
			ign("SYN retransmission (same ISN)"),
			ign("SYN retransmission (same ISN) during simultaneous open"),
			ign("SYN retransmission after the handshake: the SYN-ACK did not reach it"),
			ign("SYN retransmission in FIN_WAIT_1"),
			ign("SYN retransmission in FIN_WAIT_2"),
			ign("SYN retransmission in CLOSE_WAIT"),
			ign("SYN retransmission in CLOSING"),
			ign("SYN retransmission in LAST_ACK"),
			ign("SYN retransmission in TIME_WAIT"),
		},
		Receiver: {
			ign("SYN retransmission to a closed endpoint"),
			ign("SYN retransmission to a listener"),
			ign("SYN retransmission during simultaneous open"),
			ign("SYN retransmission (same ISN): our SYN-ACK was lost or late"),
			ign("SYN retransmission: our SYN-ACK did not reach the peer"),
			ign("SYN retransmission in FIN_WAIT_1"),
			ign("SYN retransmission in FIN_WAIT_2"),
			ign("SYN retransmission in CLOSE_WAIT"),
			ign("SYN retransmission in CLOSING"),
			ign("SYN retransmission in LAST_ACK"),
			ign("SYN retransmission in TIME_WAIT"),
		},
	},
	EventSynAck: {
		Sender: {
			bad("SYN-ACK from an endpoint that received no SYN"),
			ok(SynReceived, "SYN-ACK from LISTEN: the peer's SYN was not captured, assume it arrived"),
			ok(SynReceived, "SYN-ACK from SYN_SENT: simultaneous open, the peer's SYN was not captured"),
			ok(keep, "answers the SYN with SYN-ACK"),
			ok(keep, "SYN-ACK from ESTABLISHED: the crossing SYN-ACK of a simultaneous open (the peer's arrived first)"),
			bad(rSynAckSync),
			bad(rSynAckSync),
			bad(rSynAckSync),
			bad(rSynAckSync),
			bad(rSynAckSync),
			bad(rSynAckSync),
		},
		Receiver: {
			bad("SYN-ACK to a closed endpoint"),
			bad("SYN-ACK to a listener"),
			ok(Established, "SYN-ACK acknowledges our SYN: established"),
			ok(Established, "simultaneous open: SYN-ACK acknowledges our SYN"),
			bad(rSynAckSync),
			bad(rSynAckSync),
			bad(rSynAckSync),
			bad(rSynAckSync),
			bad(rSynAckSync),
			bad(rSynAckSync),
			bad(rSynAckSync),
		},
	},
	EventSynAckRetrans: {
		Sender: {
			ign("SYN-ACK retransmission from a closed endpoint"),
			ign("SYN-ACK retransmission from LISTEN"),
			ign("SYN-ACK retransmission from SYN_SENT"),
			ign("SYN-ACK retransmission (same ISN)"),
			ign("SYN-ACK retransmission: the handshake's ACK did not reach it"),
			ign("SYN-ACK retransmission in FIN_WAIT_1"),
			ign("SYN-ACK retransmission in FIN_WAIT_2"),
			ign("SYN-ACK retransmission in CLOSE_WAIT"),
			ign("SYN-ACK retransmission in CLOSING"),
			ign("SYN-ACK retransmission in LAST_ACK"),
			ign("SYN-ACK retransmission in TIME_WAIT"),
		},
		Receiver: {
			ign("SYN-ACK retransmission to a closed endpoint"),
			ign("SYN-ACK retransmission to a listener"),
			ok(Established, "repeated SYN-ACK acknowledges our SYN: established"),
			ok(Established, "repeated SYN-ACK acknowledges our SYN (simultaneous open)"),
			ign("SYN-ACK retransmission: our ACK was lost or late"),
			ign("SYN-ACK retransmission in FIN_WAIT_1"),
			ign("SYN-ACK retransmission in FIN_WAIT_2"),
			ign("SYN-ACK retransmission in CLOSE_WAIT"),
			ign("SYN-ACK retransmission in CLOSING"),
			ign("SYN-ACK retransmission in LAST_ACK"),
			ign("SYN-ACK retransmission in TIME_WAIT"),
		},
	},
	EventSynAckBadAck: {
		Sender:   same(bad(rSynAckBad)),
		Receiver: same(bad(rSynAckBad)),
	},
	EventRst: {
		Sender: {
			ok(keep, "a closed endpoint answers with RST"),
			ok(Closed, "RST from the listener"),
			ok(Closed, "aborts its connection attempt with RST"),
			ok(Closed, "refuses or aborts the half-open connection with RST"),
			ok(Closed, "aborts the connection with RST"),
			ok(Closed, "aborts with RST in FIN_WAIT_1"),
			ok(Closed, "aborts with RST in FIN_WAIT_2"),
			ok(Closed, "aborts with RST in CLOSE_WAIT"),
			ok(Closed, "aborts with RST in CLOSING"),
			ok(Closed, "aborts with RST in LAST_ACK"),
			ok(Closed, "RST from TIME_WAIT"),
		},
		Receiver: {
			ign("RST to a closed endpoint: nothing to reset"),
			ign("RST to a listener is ignored (RFC 9293)"),
			ok(Closed, "connection refused: RST acknowledges our SYN"),
			ok(Closed, "RST in SYN_RECEIVED: the half-open connection is dropped"),
			ok(Closed, "connection reset by the peer"),
			ok(Closed, "reset by the peer in FIN_WAIT_1"),
			ok(Closed, "reset by the peer in FIN_WAIT_2"),
			ok(Closed, "reset by the peer in CLOSE_WAIT"),
			ok(Closed, "reset by the peer in CLOSING"),
			ok(Closed, "reset by the peer in LAST_ACK"),
			ok(Closed, "RST in TIME_WAIT ends it early (the RFC 1337 hazard)"),
		},
	},
	EventRstOutOfWindow: {
		Sender:   same(bad(rRstWindow)),
		Receiver: same(bad(rRstWindow)),
	},
}

// lookup returns the resolved rule for one endpoint: next is never keep.
func lookup(ev Event, role Role, s State) (next State, r *rule) {
	if int(ev) >= NumEvents || role > Receiver || !s.Valid() {
		return s, &invalidRule
	}
	r = &table[ev][role][s]
	if r.next == keep {
		return s, r
	}
	return r.next, r
}

var invalidRule = rule{keep, Invalid, "unknown event, role or state"}

// Cell is one resolved cell of the table, for tests and documentation.
type Cell struct {
	Event   Event
	Role    Role
	State   State // the endpoint's state before the segment
	Next    State // its state after; equal to State when nothing changes
	Verdict Verdict
	Reason  string
}

// Table returns every cell of the state table, ordered by event, role and state.
func Table() []Cell {
	cells := make([]Cell, 0, NumEvents*2*NumStates)
	for ev := range NumEvents {
		for role := Sender; role <= Receiver; role++ {
			for s := range NumStates {
				next, r := lookup(Event(ev), role, State(s))
				cells = append(cells, Cell{Event(ev), role, State(s), next, r.verdict, r.reason})
			}
		}
	}
	return cells
}

// String formats the cell as one line: "EVENT role STATE -> NEXT VERDICT: reason".
func (c Cell) String() string {
	return c.Event.String() + " " + c.Role.String() + " " + c.State.String() + " -> " +
		c.Next.String() + " " + c.Verdict.String() + ": " + c.Reason
}

// Describe returns the whole table, one cell per line, for documentation.
func Describe() string {
	var b strings.Builder
	for _, c := range Table() {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return b.String()
}
