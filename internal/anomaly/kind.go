// Package anomaly names what can go wrong with a TCP connection, keeps the
// evidence per flow in a few bytes, and holds the catalog that explains each
// kind. Kind names are a stable snake_case contract used in JSON, CSV, policies
// and the explain command.
//
// Every kind has an entry in the catalog (Kind.Info) with a one-line message,
// what the kind means on the wire, the exact rule that detects it, typical
// causes and remedies. The per-packet rules are Wireshark's tcp.analysis.*
// rules (see package reassembly); the per-flow rules run on a finished
// connection; the capture-wide kinds come from package anomaly/wide.
package anomaly

import (
	"slices"

	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// Kind is one kind of anomaly.
type Kind uint8

// The kinds. The order is only internal; the names are the contract. The
// per-packet and per-flow kinds come first, the capture-wide kinds last.
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
	// SynFlood and the kinds after it are capture-wide: they are reported in
	// the report's top-level anomalies list, not on a flow.
	SynFlood
	TimeWaitStorm
	PortScan
	RSTStorm
	ConnectionFlood
	NumKinds
)

// Level says whether a kind is counted per packet, once per flow, or across
// the whole capture.
type Level uint8

// The levels.
const (
	PerPacket Level = iota
	PerFlow
	CaptureWide
)

// String returns the level as shown by the explain command.
func (l Level) String() string {
	switch l {
	case PerPacket:
		return "per-packet"
	case PerFlow:
		return "per-flow"
	case CaptureWide:
		return "capture-wide"
	}
	return "unknown"
}

// Info describes a kind.
type Info struct {
	Name     string
	Severity report.Severity
	Level    Level
	// Message is the one-line text shown with a finding.
	Message string
	// Wire says what the kind means on the wire: which packets show it and
	// what the endpoints were doing.
	Wire string
	// Rule is the exact detection rule with its thresholds, as the code
	// applies it.
	Rule string
	// Causes lists the usual reasons for the kind, most common first.
	Causes []string
	// Remedies lists what to check or change, most useful first.
	Remedies []string
}

// Info returns the catalog entry of k. The slices are copies the caller may
// keep or change.
func (k Kind) Info() Info {
	if k < NumKinds {
		in := catalog[k]
		in.Causes = slices.Clone(in.Causes)
		in.Remedies = slices.Clone(in.Remedies)
		return in
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

// Kinds returns every kind in catalog order: per-packet and per-flow kinds
// first, then the capture-wide ones.
func Kinds() []Kind {
	out := make([]Kind, NumKinds)
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}

// ByName finds a kind by its name.
func ByName(name string) (Kind, bool) {
	for i := range catalog {
		if catalog[i].Name == name {
			return Kind(i), true
		}
	}
	return 0, false
}
