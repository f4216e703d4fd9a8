package reassembly

import "strings"

// Class is the set of findings about one segment, one bit each. Several bits can
// be set together: a zero-window advertisement can also be a duplicate of nothing,
// a retransmission can also fill a hole, and so on.
//
// Wireshark counts a fast or a spurious retransmission as a retransmission too
// (its display filter tcp.analysis.retransmission matches all three), so Add
// sets Retransmission alongside FastRetransmission and SpuriousRetransmission.
// Test c&Retransmission for "any retransmission" and the narrower bits for the
// kind.
type Class uint32

// The classes. The comment after each names the Wireshark field it mirrors, or
// "extension" when Wireshark has no such flag.
const (
	// InOrder: new payload that starts exactly at the next expected sequence
	// number (or the first payload seen in that direction). Extension.
	InOrder Class = 1 << iota
	// Retransmission: payload, SYN or FIN that does not advance the sequence
	// number and is not out-of-order (tcp.analysis.retransmission). Also set
	// with FastRetransmission and SpuriousRetransmission.
	Retransmission
	// FastRetransmission: a retransmission right after two or more duplicate
	// ACKs (or SACK evidence) for its sequence number
	// (tcp.analysis.fast_retransmission).
	FastRetransmission
	// SpuriousRetransmission: payload the receiver had already acknowledged
	// (tcp.analysis.spurious_retransmission).
	SpuriousRetransmission
	// OutOfOrder: a segment below the next expected sequence number that came
	// sooner than one round-trip after the latest data (tcp.analysis.out_of_order).
	OutOfOrder
	// Overlap: the payload is partly bytes seen before and partly new. Extension.
	Overlap
	// LostSegment: the segment starts beyond the next expected sequence
	// number, so the bytes between were not captured
	// (tcp.analysis.lost_segment, "previous segment not captured").
	LostSegment
	// AckUnseen: the segment acknowledges data the peer was never seen to send
	// (tcp.analysis.ack_lost_segment, "ACKed segment that wasn't captured").
	// It usually means capture loss, not network loss.
	AckUnseen
	// KeepAlive: zero or one byte one below the next expected sequence number
	// (tcp.analysis.keep_alive).
	KeepAlive
	// KeepAliveAck: the answer to a keep-alive (tcp.analysis.keep_alive_ack).
	KeepAliveAck
	// ZeroWindow: the sender advertises a zero receive window
	// (tcp.analysis.zero_window).
	ZeroWindow
	// ZeroWindowProbe: one byte at the next expected sequence number while the
	// peer's window is zero (tcp.analysis.zero_window_probe).
	ZeroWindowProbe
	// ZeroWindowProbeAck: the answer to a zero-window probe
	// (tcp.analysis.zero_window_probe_ack).
	ZeroWindowProbeAck
	// WindowUpdate: a pure ACK that only changes the window
	// (tcp.analysis.window_update).
	WindowUpdate
	// WindowFull: the payload fills the peer's advertised window to its right
	// edge (tcp.analysis.window_full).
	WindowFull
	// DuplicateAck: a pure ACK repeating the previous ACK and window
	// (tcp.analysis.duplicate_ack).
	DuplicateAck
	// OverlapMismatch: retransmitted bytes differ from the bytes first seen at
	// the same sequence numbers (needs Config.KeepPayload). Extension.
	OverlapMismatch
	// OutOfWindow: payload beyond the right edge of the receiver's largest
	// advertised window, or an ACK beyond the right edge the sender itself
	// advertised (so for data the peer could not have sent). Extension.
	OutOfWindow
	// GapFill: the payload filled (part of) a hole left earlier by missing
	// bytes. With RetransBytes == 0 the bytes are new to the capture although
	// Wireshark's rules may call the segment a retransmission. Extension.
	GapFill

	numClasses = iota
)

var classNames = [numClasses]string{
	"InOrder",
	"Retransmission",
	"FastRetransmission",
	"SpuriousRetransmission",
	"OutOfOrder",
	"Overlap",
	"LostSegment",
	"AckUnseen",
	"KeepAlive",
	"KeepAliveAck",
	"ZeroWindow",
	"ZeroWindowProbe",
	"ZeroWindowProbeAck",
	"WindowUpdate",
	"WindowFull",
	"DuplicateAck",
	"OverlapMismatch",
	"OutOfWindow",
	"GapFill",
}

// knownClasses has every defined bit set.
const knownClasses Class = 1<<numClasses - 1

// AnyRetransmission is every bit that tshark's tcp.analysis.retransmission filter
// matches.
const AnyRetransmission = Retransmission | FastRetransmission | SpuriousRetransmission

// Has reports whether every class in x is set in c.
func (c Class) Has(x Class) bool { return c&x == x }

// Any reports whether at least one class of x is set in c.
func (c Class) Any(x Class) bool { return c&x != 0 }

// String returns the set classes joined by "|" in bit order, "None" for the
// empty set, and the unknown bits as "Class(0x…)".
func (c Class) String() string {
	if c == 0 {
		return "None"
	}
	var b strings.Builder
	for i, n := range classNames {
		if c&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(n)
		}
	}
	if rest := c &^ knownClasses; rest != 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString("Class(0x")
		const hex = "0123456789abcdef"
		for s := 28; s >= 0; s -= 4 {
			b.WriteByte(hex[(rest>>s)&0xF])
		}
		b.WriteByte(')')
	}
	return b.String()
}

// ClassNames returns the name of each defined class in bit order.
func ClassNames() []string {
	names := classNames
	return names[:]
}
