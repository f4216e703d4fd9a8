package fsm

import "strconv"

// State is the RFC 9293 state of one TCP endpoint as a passive observer infers it
// from the segments on the wire.
type State uint8

// The RFC 9293 endpoint states. Closed is the zero value.
const (
	Closed State = iota
	Listen
	SynSent
	SynReceived
	Established
	FinWait1
	FinWait2
	CloseWait
	Closing
	LastAck
	TimeWait

	// NumStates is the number of valid states; it sizes the table.
	NumStates = int(TimeWait) + 1
)

// keep is a table sentinel for "the state does not change"; it never leaves the
// package.
const keep State = 0xFF

// stateNameOf names the states (byteNames).
var stateNameOf = [256]string{
	"CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
	"FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT",
}

// String returns the RFC name of the state, or "State(n)" for an unknown value.
func (s State) String() string {
	if n := stateNameOf[s]; n != "" {
		return n
	}
	return unknownName("State", uint8(s))
}

// Valid reports whether s is one of the defined states.
func (s State) Valid() bool { return int(s) < NumStates }

// Synchronized reports whether the endpoint has completed the handshake (RFC 9293
// "synchronized states": ESTABLISHED and everything after it).
func (s State) Synchronized() bool { return s >= Established && s <= TimeWait }

// Connecting reports whether the endpoint is in the handshake (SYN_SENT or
// SYN_RECEIVED).
func (s State) Connecting() bool { return s == SynSent || s == SynReceived }

// Closing reports whether the endpoint has started to close: either it sent a FIN
// or it received one (FIN_WAIT_1 through TIME_WAIT, CLOSE_WAIT included).
func (s State) Closing() bool { return s >= FinWait1 && s <= TimeWait }

// SentFIN reports whether the endpoint has sent its FIN in this state.
func (s State) SentFIN() bool {
	switch s {
	case FinWait1, FinWait2, Closing, LastAck, TimeWait:
		return true
	}
	return false
}

// CanSend reports whether the endpoint may still send data in this state.
func (s State) CanSend() bool { return s == Established || s == CloseWait }

// Verdict says how a segment fits the state machine. It is a separate type from
// State: a verdict is never encoded as a fake state.
type Verdict uint8

// The verdicts, from best to worst.
const (
	// Accepted: the segment is consistent with both endpoints' states.
	Accepted Verdict = iota
	// Ignored: a harmless repeat (retransmitted SYN, FIN, ...) or a segment the
	// receiving state discards by rule; no state changes.
	Ignored
	// Invalid: the segment breaks the state machine (the receiver would drop it
	// or answer with RST); no state changes.
	Invalid
)

// verdictNameOf names the verdicts (byteNames).
var verdictNameOf = [256]string{"ACCEPTED", "IGNORED", "INVALID"}

// String returns "ACCEPTED", "IGNORED", "INVALID" or "Verdict(n)".
func (v Verdict) String() string {
	if n := verdictNameOf[v]; n != "" {
		return n
	}
	return unknownName("Verdict", uint8(v))
}

// Event is the class of a segment in the table's alphabet. Classify assigns exactly
// one event per segment, in this priority order:
//
//	RST > SYN+ACK > SYN > data after FIN > FIN > ACK > none
//
// Some classes are split by what the segment means to the receiver (does its ACK
// cover the receiver's SYN or FIN?) or to the sender (is it a repeat of its own
// SYN?), so that the table needs no conditions beside it.
type Event uint8

// The events of the table, in classification priority from the bottom up.
const (
	// EventNone: none of SYN, FIN, RST, ACK (data without ACK, or an empty segment).
	EventNone Event = iota
	// EventAck: ACK, with or without data, that does not acknowledge the
	// receiver's SYN or FIN.
	EventAck
	// EventAckCtl: ACK that acknowledges the receiver's SYN (receiver in
	// SYN_SENT/SYN_RECEIVED) or its FIN (ack == FIN's seq + 1).
	EventAckCtl
	// EventFin: FIN whose ACK (if any) does not acknowledge the receiver's SYN or FIN.
	EventFin
	// EventFinAckCtl: FIN whose ACK acknowledges the receiver's SYN or FIN.
	EventFinAckCtl
	// EventDataAfterFin: payload at or beyond the sender's own FIN, or a FIN at a
	// later sequence number than its first one.
	EventDataAfterFin
	// EventSyn: SYN without ACK carrying a new ISN (or the first SYN).
	EventSyn
	// EventSynRetrans: SYN without ACK repeating the sender's earlier ISN.
	EventSynRetrans
	// EventSynAck: SYN+ACK that acknowledges the receiver's SYN, with a new ISN.
	EventSynAck
	// EventSynAckRetrans: SYN+ACK repeating the sender's earlier SYN-ACK ISN.
	EventSynAckRetrans
	// EventSynAckBadAck: SYN+ACK whose ACK does not acknowledge the receiver's SYN.
	EventSynAckBadAck
	// EventRst: RST that passes the sequence sanity check.
	EventRst
	// EventRstOutOfWindow: RST that fails it (see Tracker.Step).
	EventRstOutOfWindow

	// NumEvents is the number of table events.
	NumEvents = int(EventRstOutOfWindow) + 1

	// EventTimeWaitExpired is not in the table: only Expire produces it, when
	// TIME_WAIT has lasted Config.TimeWait by capture time.
	EventTimeWaitExpired Event = Event(NumEvents)
)

// eventNameOf names the events (byteNames).
var eventNameOf = [256]string{
	"NONE", "ACK", "ACK_CTL", "FIN", "FIN_ACK_CTL", "DATA_AFTER_FIN", "SYN",
	"SYN_RETRANS", "SYN_ACK", "SYN_ACK_RETRANS", "SYN_ACK_BAD_ACK", "RST",
	"RST_OUT_OF_WINDOW", "TIME_WAIT_EXPIRED",
}

// String returns the event's name, e.g. "FIN_ACK_CTL", or "Event(n)".
func (e Event) String() string {
	if n := eventNameOf[e]; n != "" {
		return n
	}
	return unknownName("Event", uint8(e))
}

// Role is the part an endpoint plays for one segment: it sent it or it receives it.
type Role uint8

// The two roles. Every segment moves both endpoints: its sender by the Sender
// column of the table and its receiver by the Receiver column.
const (
	Sender Role = iota
	Receiver
)

// String returns "sender", "receiver" or "Role(n)".
func (r Role) String() string {
	switch r {
	case Sender:
		return "sender"
	case Receiver:
		return "receiver"
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// byteNames: the names of a one-byte type's values are an array of 256, the
// names first and "" for the values that have none. Indexing it with a value
// needs no bounds check, so the String methods are small enough to be
// inlined where flow records name a connection's states and events a few
// dozen times each, and a literal array is laid out by the linker: the
// other values' "Type(n)" strings, made at start-up until session 30, took
// a thousand allocations and 0.55 ms of every run (unknownName makes them
// when asked).

// unknownName returns "typ(n)", the name of a value of typ that has none.
// Not inlined, so that the String methods are.
//
//go:noinline
func unknownName(typ string, n uint8) string {
	return typ + "(" + strconv.Itoa(int(n)) + ")"
}
