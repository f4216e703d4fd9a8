package policy

import (
	"math"
	"sort"

	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// MaxBlame is how many flows or findings a failed rule names at most.
const MaxBlame = 5

// The units of the metrics.
const (
	UnitRatio = "ratio" // a fraction between 0 and 1
	UnitMs    = "ms"
	UnitCount = "count"
)

// Metric is one number computed from a report.
type Metric struct {
	Name string
	Unit string
	// Doc says exactly what is counted, for the help text and the docs.
	Doc string
	// Regresses is true when a larger value is worse, so that a baseline
	// comparison applies. flows has no better direction.
	Regresses bool
	// Slack is the default absolute allowance of a baseline comparison.
	Slack float64
	// Compute measures the metric over the flows in scope.
	Compute func(r *report.Report, s Scope) Measure
}

// Measure is the value of a metric with the flows and findings behind it.
type Measure struct {
	Value float64
	// NoData is true when the metric is undefined: no handshakes to take a
	// percentile of, no segments to take a rate of.
	NoData bool
	// Blame lists the largest contributors, at most MaxBlame, largest first.
	Blame []Blame
}

// Blame names one contributor to a measured value: a flow, or a capture-wide
// finding (Flow is 0 then).
type Blame struct {
	Flow uint64 `json:"flow,omitempty"`
	Orig string `json:"orig,omitempty"`
	Resp string `json:"resp,omitempty"`
	// Kind is the anomaly kind behind the blame, when there is one.
	Kind string `json:"kind,omitempty"`
	// Value is the contribution: a count of findings, or an RTT in ms.
	Value float64 `json:"value"`
	// Packets are the first packet numbers that show it.
	Packets []uint64 `json:"packets,omitempty"`
	// Flows are the flows a capture-wide finding names (the first few).
	Flows []uint64 `json:"flows,omitempty"`
	// Message is the finding's message for a capture-wide finding.
	Message string `json:"message,omitempty"`
}

// Metrics returns the registry of metrics in their documented order.
func Metrics() []Metric {
	return []Metric{
		{
			Name: "flows", Unit: UnitCount,
			Doc:     "number of flows (TCP connections) in scope; useful as min: {flows: 1} to catch an empty capture",
			Compute: computeFlows,
		},
		{
			Name: "retransmission_rate", Unit: UnitRatio, Regresses: true, Slack: 0.001,
			Doc: "retransmitted segments (retransmission + fast_retransmission + spurious_retransmission findings) " +
				"divided by the segments that take sequence space (payload, SYN or FIN: orig_seq_packets + resp_seq_packets) " +
				"of the flows in scope, both directions; reports without those fields fall back to all segments",
			Compute: rateOf("retransmission", "fast_retransmission", "spurious_retransmission"),
		},
		{
			Name: "lost_segment_rate", Unit: UnitRatio, Regresses: true, Slack: 0.001,
			Doc:     "lost_segment findings (a gap in sequence space the capture never filled) divided by the segments that take sequence space in scope",
			Compute: rateOf("lost_segment"),
		},
		{
			Name: "out_of_order_rate", Unit: UnitRatio, Regresses: true, Slack: 0.001,
			Doc:     "out_of_order findings divided by the segments that take sequence space in scope",
			Compute: rateOf("out_of_order"),
		},
		{
			Name: "half_open_share", Unit: UnitRatio, Regresses: true, Slack: 0.01,
			Doc: "flows with a half_open finding (the handshake never completed) divided by the flows whose first SYN " +
				"the capture saw (midstream flows are left out of both)",
			Compute: shareOf("half_open"),
		},
		{
			Name: "rejected_share", Unit: UnitRatio, Regresses: true, Slack: 0.01,
			Doc:     "flows with a rejected finding (the SYN was answered with RST) divided by the flows whose first SYN the capture saw",
			Compute: shareOf("rejected"),
		},
		{
			Name: "handshake_rtt_p50_ms", Unit: UnitMs, Regresses: true, Slack: 2,
			Doc:     "median of handshake_rtt_ms (SYN to the ACK that completes the handshake) over the flows in scope that have one; nearest-rank",
			Compute: percentile(0.50),
		},
		{
			Name: "handshake_rtt_p99_ms", Unit: UnitMs, Regresses: true, Slack: 2,
			Doc:     "99th percentile of handshake_rtt_ms over the flows in scope that have one; nearest-rank, so with fewer than 100 handshakes it is the largest",
			Compute: percentile(0.99),
		},
		{
			Name: "resets", Unit: UnitCount, Regresses: true, Slack: 1,
			Doc:     "reset findings: established connections aborted by RST (refused handshakes are rejected, not resets)",
			Compute: countOf("reset"),
		},
		{
			Name: "zero_window_events", Unit: UnitCount, Regresses: true, Slack: 1,
			Doc:     "zero_window findings: segments advertising a zero receive window (a receiver that cannot keep up)",
			Compute: countOf("zero_window"),
		},
		{
			Name: "warnings", Unit: UnitCount, Regresses: true, Slack: 1,
			Doc:     "all findings of severity warning, error or critical, per flow and capture-wide, each counted as often as it occurred",
			Compute: computeWarnings,
		},
	}
}

// MetricByName finds a metric in the registry.
func MetricByName(name string) (Metric, bool) {
	for _, m := range Metrics() {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// MetricNames returns the metric names in registry order.
func MetricNames() []string {
	ms := Metrics()
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

func computeFlows(r *report.Report, s Scope) Measure {
	n := 0
	for i := range r.Flows {
		if s.Match(&r.Flows[i]) {
			n++
		}
	}
	return Measure{Value: float64(n)}
}

// contribution is one flow's share of a metric, before ranking.
type contribution struct {
	flow    *report.Flow
	value   float64
	packets []uint64
	kind    string
}

// rank sorts contributions largest first (ties by flow id) and keeps MaxBlame.
func rank(cs []contribution) []Blame {
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].value != cs[j].value {
			return cs[i].value > cs[j].value
		}
		return cs[i].flow.ID < cs[j].flow.ID
	})
	if len(cs) > MaxBlame {
		cs = cs[:MaxBlame]
	}
	out := make([]Blame, 0, len(cs))
	for _, c := range cs {
		out = append(out, Blame{
			Flow: c.flow.ID, Orig: c.flow.Orig, Resp: c.flow.Resp, Kind: c.kind,
			Value: c.value, Packets: c.packets,
		})
	}
	return out
}

// findings sums the counts of the given kinds on f and gathers their first
// packets, sorted, at most MaxBlame.
func findings(f *report.Flow, kinds ...string) (uint64, []uint64) {
	var n uint64
	var pkts []uint64
	for _, a := range f.Anomalies {
		for _, k := range kinds {
			if a.Kind == k {
				n += a.Count
				pkts = append(pkts, a.Packets...)
			}
		}
	}
	return n, firstPackets(pkts)
}

func firstPackets(pkts []uint64) []uint64 {
	if len(pkts) == 0 {
		return nil
	}
	out := append([]uint64(nil), pkts...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	out = dedup(out)
	if len(out) > MaxBlame {
		out = out[:MaxBlame]
	}
	return out
}

func dedup(s []uint64) []uint64 {
	if len(s) == 0 {
		return s
	}
	w := 1
	for _, v := range s[1:] {
		if v != s[w-1] {
			s[w] = v
			w++
		}
	}
	return s[:w]
}

func kindLabel(kinds []string) string {
	if len(kinds) == 1 {
		return kinds[0]
	}
	return ""
}

// rateOf divides the findings of kinds by the segments of the flows in scope.
func rateOf(kinds ...string) func(*report.Report, Scope) Measure {
	return func(r *report.Report, s Scope) Measure {
		var hits, segs, all uint64
		var cs []contribution
		for i := range r.Flows {
			f := &r.Flows[i]
			if !s.Match(f) {
				continue
			}
			segs += f.OrigSeqPackets + f.RespSeqPackets
			all += f.OrigPackets + f.RespPackets
			n, pkts := findings(f, kinds...)
			if n > 0 {
				hits += n
				cs = append(cs, contribution{flow: f, value: float64(n), packets: pkts, kind: kindLabel(kinds)})
			}
		}
		if segs == 0 {
			segs = all // a report from before the seq_packets fields
		}
		if segs == 0 {
			return Measure{NoData: true}
		}
		return Measure{Value: float64(hits) / float64(segs), Blame: rank(cs)}
	}
}

// shareOf divides the flows with a finding of kind by the flows whose first SYN
// was seen.
func shareOf(kind string) func(*report.Report, Scope) Measure {
	return func(r *report.Report, s Scope) Measure {
		var hits, opened int
		var cs []contribution
		for i := range r.Flows {
			f := &r.Flows[i]
			if !s.Match(f) || f.Midstream {
				continue
			}
			opened++
			if n, pkts := findings(f, kind); n > 0 {
				hits++
				cs = append(cs, contribution{flow: f, value: 1, packets: pkts, kind: kind})
			}
		}
		if opened == 0 {
			return Measure{NoData: true}
		}
		return Measure{Value: float64(hits) / float64(opened), Blame: rank(cs)}
	}
}

// countOf sums the findings of kind over the flows in scope.
func countOf(kind string) func(*report.Report, Scope) Measure {
	return func(r *report.Report, s Scope) Measure {
		var total uint64
		var cs []contribution
		for i := range r.Flows {
			f := &r.Flows[i]
			if !s.Match(f) {
				continue
			}
			if n, pkts := findings(f, kind); n > 0 {
				total += n
				cs = append(cs, contribution{flow: f, value: float64(n), packets: pkts, kind: kind})
			}
		}
		return Measure{Value: float64(total), Blame: rank(cs)}
	}
}

// percentile takes the nearest-rank percentile p of the handshake RTTs in scope.
// The blame is the slowest handshakes at or above it.
func percentile(p float64) func(*report.Report, Scope) Measure {
	return func(r *report.Report, s Scope) Measure {
		var cs []contribution
		for i := range r.Flows {
			f := &r.Flows[i]
			if !s.Match(f) || f.HandshakeRTTMs == nil {
				continue
			}
			v := *f.HandshakeRTTMs
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			var pkts []uint64
			if f.FirstPacket != 0 {
				pkts = []uint64{f.FirstPacket}
			}
			cs = append(cs, contribution{flow: f, value: v, packets: pkts})
		}
		if len(cs) == 0 {
			return Measure{NoData: true}
		}
		vals := make([]float64, len(cs))
		for i, c := range cs {
			vals[i] = c.value
		}
		sort.Float64s(vals)
		idx := int(math.Ceil(p*float64(len(vals)))) - 1
		idx = max(0, min(idx, len(vals)-1))
		v := vals[idx]
		var worst []contribution
		for _, c := range cs {
			if c.value >= v {
				worst = append(worst, c)
			}
		}
		return Measure{Value: v, Blame: rank(worst)}
	}
}

// atLeastWarning reports whether a finding counts toward warnings.
func atLeastWarning(sev report.Severity) bool {
	return sev.Rank() >= report.SeverityWarning.Rank()
}

func computeWarnings(r *report.Report, s Scope) Measure {
	var total uint64
	var cs []contribution
	for i := range r.Flows {
		f := &r.Flows[i]
		if !s.Match(f) {
			continue
		}
		var n uint64
		var pkts []uint64
		for _, a := range f.Anomalies {
			if atLeastWarning(a.Severity) {
				n += a.Count
				pkts = append(pkts, a.Packets...)
			}
		}
		if n > 0 {
			total += n
			cs = append(cs, contribution{flow: f, value: float64(n), packets: firstPackets(pkts)})
		}
	}
	blame := rank(cs)
	var wide []Blame
	for _, a := range captureFindings(r, s) {
		if atLeastWarning(a.Severity) {
			total += a.Count
			wide = append(wide, captureBlame(a))
		}
	}
	return Measure{Value: float64(total), Blame: mergeBlame(wide, blame)}
}

// mergeBlame puts capture-wide blame first (a flood explains more than a flow)
// and caps the list.
func mergeBlame(wide, flows []Blame) []Blame {
	out := append(wide, flows...)
	if len(out) > MaxBlame {
		out = out[:MaxBlame]
	}
	return out
}

// captureFindings returns the capture-wide findings in scope.
func captureFindings(r *report.Report, s Scope) []*report.Anomaly {
	var in map[uint64]bool
	if !s.Empty() {
		in = make(map[uint64]bool)
		for i := range r.Flows {
			if s.Match(&r.Flows[i]) {
				in[r.Flows[i].ID] = true
			}
		}
	}
	var out []*report.Anomaly
	for i := range r.Anomalies {
		a := &r.Anomalies[i]
		if in == nil || len(a.Flows) == 0 {
			out = append(out, a)
			continue
		}
		for _, id := range a.Flows {
			if in[id] {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

func captureBlame(a *report.Anomaly) Blame {
	b := Blame{Kind: a.Kind, Value: float64(a.Count), Packets: firstPackets(a.Packets), Message: a.Message}
	if len(a.Flows) > 0 {
		n := min(len(a.Flows), MaxBlame)
		b.Flows = append([]uint64(nil), a.Flows[:n]...)
	}
	return b
}
