// Package anomaly names what can go wrong with a TCP connection, keeps the
// evidence per flow in a few bytes, and holds the catalog that explains each
// kind. Kind names are a stable snake_case contract used in JSON, CSV, policies
// and the explain command.
package anomaly

import "github.com/tcpflow-analyze/tcpflow-analyze/report"

// Kind is one kind of anomaly.
type Kind uint8

// The per-flow kinds. The order is only internal; the names are the contract.
const (
	HalfOpen Kind = iota
	Rejected
	Retransmission
	FastRetransmission
	SpuriousRetransmission
	OutOfOrder
	LostSegment
	AckUnseenSegment
	DuplicateAck
	TripleDuplicateAck
	ZeroWindow
	ZeroWindowProbe
	ZeroWindowProbeAck
	WindowFull
	WindowUpdate
	KeepAlive
	KeepAliveAck
	OverlapMismatch
	InvalidFlags
	DataAfterClose
	DataAfterReset
	OutOfWindow
	Reset
	CloseWaitLeak
	PortReuse
	StuckTimeWait
	LongIdle
	InvalidSegment
	NumKinds
)

// Level says whether a kind is counted per packet or once per flow.
type Level uint8

// The levels.
const (
	PerPacket Level = iota
	PerFlow
)

// Info describes a kind.
type Info struct {
	Name     string
	Severity report.Severity
	Level    Level
	// Message is the one-line text shown with a finding.
	Message string
}

var catalog = [NumKinds]Info{
	HalfOpen:               {"half_open", report.SeverityWarning, PerFlow, "the handshake never completed"},
	Rejected:               {"rejected", report.SeverityWarning, PerFlow, "the connection attempt was refused with RST"},
	Retransmission:         {"retransmission", report.SeverityNotice, PerPacket, "data was sent again"},
	FastRetransmission:     {"fast_retransmission", report.SeverityNotice, PerPacket, "data was resent after duplicate ACKs (fast retransmit)"},
	SpuriousRetransmission: {"spurious_retransmission", report.SeverityNotice, PerPacket, "data was resent although the peer had already acknowledged it"},
	OutOfOrder:             {"out_of_order", report.SeverityWarning, PerPacket, "a segment arrived after a later one"},
	LostSegment:            {"lost_segment", report.SeverityWarning, PerPacket, "a segment before this one was never seen"},
	AckUnseenSegment:       {"ack_unseen_segment", report.SeverityWarning, PerPacket, "the peer acknowledged data that the capture never saw"},
	DuplicateAck:           {"duplicate_ack", report.SeverityNotice, PerPacket, "the receiver repeated the same ACK"},
	TripleDuplicateAck:     {"triple_duplicate_ack", report.SeverityWarning, PerPacket, "three or more duplicate ACKs: the receiver signals a loss"},
	ZeroWindow:             {"zero_window", report.SeverityWarning, PerPacket, "the receiver advertised a zero window: its buffer is full"},
	ZeroWindowProbe:        {"zero_window_probe", report.SeverityNotice, PerPacket, "the sender probed a zero window"},
	ZeroWindowProbeAck:     {"zero_window_probe_ack", report.SeverityInfo, PerPacket, "the receiver answered a zero-window probe"},
	WindowFull:             {"window_full", report.SeverityWarning, PerPacket, "the sender filled the receiver's advertised window"},
	WindowUpdate:           {"window_update", report.SeverityInfo, PerPacket, "the receiver opened its window"},
	KeepAlive:              {"keep_alive", report.SeverityInfo, PerPacket, "a keep-alive probe on an idle connection"},
	KeepAliveAck:           {"keep_alive_ack", report.SeverityInfo, PerPacket, "the answer to a keep-alive probe"},
	OverlapMismatch:        {"overlap_mismatch", report.SeverityError, PerPacket, "retransmitted bytes differ from the first copy"},
	InvalidFlags:           {"invalid_flags", report.SeverityError, PerPacket, "a flag combination that no correct stack sends"},
	DataAfterClose:         {"data_after_close", report.SeverityError, PerPacket, "data sent after the sender's own FIN"},
	DataAfterReset:         {"data_after_reset", report.SeverityWarning, PerPacket, "data sent after the connection was reset"},
	OutOfWindow:            {"out_of_window", report.SeverityWarning, PerPacket, "a segment outside the receiver's window, or an ACK for data not yet sent"},
	Reset:                  {"reset", report.SeverityWarning, PerFlow, "an established connection was aborted by RST"},
	CloseWaitLeak:          {"close_wait_leak", report.SeverityError, PerFlow, "an endpoint acknowledged its peer's FIN but never closed its side"},
	PortReuse:              {"port_reuse", report.SeverityNotice, PerFlow, "a new connection reused the 4-tuple of an earlier one"},
	StuckTimeWait:          {"stuck_time_wait", report.SeverityNotice, PerFlow, "traffic on a connection that should be in TIME_WAIT"},
	LongIdle:               {"long_idle", report.SeverityInfo, PerFlow, "the connection sat idle for a long time"},
	InvalidSegment:         {"invalid_segment", report.SeverityNotice, PerPacket, "a segment that does not fit the endpoints' states"},
}

// Info returns the catalog entry of k.
func (k Kind) Info() Info {
	if k < NumKinds {
		return catalog[k]
	}
	return Info{Name: k.String(), Severity: report.SeverityInfo}
}

// String returns the stable snake_case name.
func (k Kind) String() string {
	if k < NumKinds {
		return catalog[k].Name
	}
	return "kind_" + string(rune('0'+k/100%10)) + string(rune('0'+k/10%10)) + string(rune('0'+k%10))
}

// Kinds returns every per-flow kind in catalog order.
func Kinds() []Kind {
	out := make([]Kind, NumKinds)
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}

// ByName finds a kind by its name.
func ByName(name string) (Kind, bool) {
	for i, in := range catalog {
		if in.Name == name {
			return Kind(i), true
		}
	}
	return 0, false
}
