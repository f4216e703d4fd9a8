// Package report holds the analysis report as plain data and renders it as a
// terminal table, JSON or CSV.
//
// The report does not depend on the trackers that produced it: endpoint states,
// events and anomaly kinds travel in as strings, so the JSON schema stays stable
// while the analysis code changes. The field names documented in README.md are a
// contract; add fields, never rename them.
package report

// TimeLayout is how every timestamp in the report is written: RFC 3339 in UTC
// with all nine fractional digits, so values sort as text.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// Time is a capture timestamp in nanoseconds since the Unix epoch that marshals
// as RFC 3339 with nanoseconds.
type Time int64

// MarshalText writes t in TimeLayout.
func (t Time) MarshalText() ([]byte, error) {
	return appendTime(nil, t), nil
}

// String returns t in TimeLayout.
func (t Time) String() string {
	return string(appendTime(make([]byte, 0, len(TimeLayout)), t))
}

// Report is everything one analysis produced.
type Report struct {
	Summary Summary `json:"summary"`
	Flows   []Flow  `json:"flows"`
	// Anomalies holds the capture-wide findings (SYN flood, scans, storms).
	Anomalies []Anomaly `json:"anomalies"`
}

// Summary describes the input as a whole.
type Summary struct {
	Files        []string `json:"files"`
	PacketsRead  uint64   `json:"packets_read"`
	TCPSegments  uint64   `json:"tcp_segments"`
	Filtered     uint64   `json:"filtered_out"`
	Flows        int      `json:"flows"`
	Start        *Time    `json:"start"`
	End          *Time    `json:"end"`
	DurationSecs float64  `json:"duration_s"`
	// FlowsByConnState counts flows by their Zeek-style conn_state.
	FlowsByConnState map[string]int `json:"flows_by_conn_state"`
	// DecodeProblems counts frames that could not be decoded, by reason.
	DecodeProblems map[string]uint64 `json:"decode_problems"`
	// NonTCP counts frames that are not TCP, by kind (udp, icmp, arp, ip_fragment, other_ip, other_link).
	NonTCP map[string]uint64 `json:"non_tcp"`
	// InputProblems lists what went wrong while reading the files (a cut-off last record, a corrupt header).
	InputProblems []string `json:"input_problems"`
	// Truncated is true when at least one file ended in the middle of a record.
	Truncated bool `json:"truncated"`
	// AnomalyCounts maps every anomaly kind found to its total.
	AnomalyCounts map[string]uint64 `json:"anomaly_counts"`
	// Evicted counts open connections dropped before they ended: the flow
	// table was full, too many were still in their handshake, or a
	// connection with one side in TIME_WAIT and the other not closed was
	// past the linger cap.
	Evicted uint64 `json:"evicted"`
	// FlowsCapped counts flows whose analysis hit a memory bound (see Flow.Capped).
	FlowsCapped int `json:"flows_capped"`
	// LatePackets counts stragglers that join no flow: packets of finished
	// connections already reported before their linger ended (past
	// --max-linger, or a full table), and retransmitted SYNs, SYN-ACKs and
	// RSTs of half-open connections that a full table evicted.
	LatePackets uint64 `json:"late_packets"`
	// CaptureWide counts what the capture-wide detectors (syn_flood,
	// time_wait_storm, port_scan, rst_storm, connection_flood) could not
	// follow within their bounds (--wide-max-keys).
	CaptureWide WideStats `json:"capture_wide"`
}

// WideStats counts what the capture-wide detectors could not follow.
type WideStats struct {
	// EvictedKeys counts keys (destinations, clients, sources) forgotten to
	// make room in a full table: the lighter half, never one whose episode
	// is under way. Their counts start again if they come back.
	EvictedKeys uint64 `json:"evicted_keys"`
	// UntrackedEvents counts events left out because a table was full of
	// keys with episodes under way.
	UntrackedEvents uint64 `json:"untracked_events"`
	// LateEvents counts events older than their key's window (input not in
	// capture order).
	LateEvents uint64 `json:"late_events"`
	// FindingsDropped counts findings beyond the cap on flagged keys.
	FindingsDropped uint64 `json:"findings_dropped"`
}

// Flow is one TCP connection (one generation of a 4-tuple).
type Flow struct {
	ID          uint64  `json:"id"`
	Orig        string  `json:"orig"`
	Resp        string  `json:"resp"`
	Generation  int     `json:"generation"`
	Midstream   bool    `json:"midstream"`
	ConnState   string  `json:"conn_state"`
	History     string  `json:"history"`
	OrigState   string  `json:"orig_state"`
	RespState   string  `json:"resp_state"`
	EndReason   string  `json:"end_reason"`
	FirstPacket uint64  `json:"first_packet"`
	LastPacket  uint64  `json:"last_packet"`
	Start       Time    `json:"start"`
	End         Time    `json:"end"`
	DurationSec float64 `json:"duration_s"`
	OrigPackets uint64  `json:"orig_packets"`
	RespPackets uint64  `json:"resp_packets"`
	// OrigSeqPackets and RespSeqPackets count the segments that take sequence
	// space (payload, SYN or FIN): the ones that can be retransmitted.
	OrigSeqPackets uint64 `json:"orig_seq_packets"`
	RespSeqPackets uint64 `json:"resp_seq_packets"`
	// OrigBytes and RespBytes are TCP payload bytes as the IP headers give them.
	OrigBytes uint64 `json:"orig_bytes"`
	RespBytes uint64 `json:"resp_bytes"`
	// OrigIPBytes and RespIPBytes are whole IP packet lengths.
	OrigIPBytes uint64 `json:"orig_ip_bytes"`
	RespIPBytes uint64 `json:"resp_ip_bytes"`
	// MissedBytes counts bytes in sequence space that were never captured (gaps).
	MissedBytes uint64 `json:"missed_bytes"`
	// HandshakeRTTMs is SYN to the ACK that completes the handshake, or null.
	HandshakeRTTMs *float64 `json:"handshake_rtt_ms"`
	MSS            [2]int   `json:"mss"`
	WindowScale    [2]int   `json:"window_scale"`
	// Transitions is the timeline of endpoint state changes.
	Transitions        []Transition `json:"transitions"`
	TransitionsDropped int          `json:"transitions_dropped,omitempty"`
	// Capped names the bounded records of the analysis that filled up for
	// this flow ("holes", "timeline"; "unacked" only from an analysis that
	// keeps unacknowledged segments, which the engine does not): the flow
	// was analyzed in bounded memory, and some figures may be less exact.
	Capped []string `json:"capped,omitempty"`
	// Anomalies lists what the analysis found wrong with this flow.
	Anomalies []Anomaly `json:"anomalies"`
}

// Transition is one change of either endpoint's state.
type Transition struct {
	Packet   uint64 `json:"packet"`
	Time     Time   `json:"time"`
	Event    string `json:"event"`
	Dir      string `json:"dir"`
	OrigFrom string `json:"orig_from"`
	OrigTo   string `json:"orig_to"`
	RespFrom string `json:"resp_from"`
	RespTo   string `json:"resp_to"`
}

// Severity orders anomalies from informational to critical.
type Severity string

// The severities, from least to most serious.
const (
	SeverityInfo     Severity = "info"
	SeverityNotice   Severity = "notice"
	SeverityWarning  Severity = "warning"
	SeverityError    Severity = "error"
	SeverityCritical Severity = "critical"
)

// Rank returns a number that grows with the severity.
func (s Severity) Rank() int {
	switch s {
	case SeverityInfo:
		return 0
	case SeverityNotice:
		return 1
	case SeverityWarning:
		return 2
	case SeverityError:
		return 3
	case SeverityCritical:
		return 4
	}
	return -1
}

// Anomaly is one kind of finding on a flow, or across the capture, with its evidence.
type Anomaly struct {
	Kind     string   `json:"kind"`
	Severity Severity `json:"severity"`
	Count    uint64   `json:"count"`
	// Packets are the first few packet numbers that show it; Count keeps the full number.
	Packets []uint64 `json:"packets"`
	Times   []Time   `json:"times,omitempty"`
	Message string   `json:"message"`
	// Flows names the flow ids involved, for capture-wide findings.
	Flows []uint64 `json:"flows,omitempty"`
	// Details carries kind-specific figures (peak rate, sources, ...).
	Details map[string]any `json:"details,omitempty"`
}
