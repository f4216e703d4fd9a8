package policy

import (
	"math"
	"net/netip"
	"slices"
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
	// acc starts a measurement over the flows in scope, fed one flow at a
	// time (Evaluator) so that no report has to hold every flow.
	acc func(s Scope) accumulator
}

// accumulator measures a metric over flows given one at a time. add may keep
// nothing of the flow but copies: the caller reuses it.
type accumulator interface {
	add(f *flowIn)
	// measure gives the value; wide holds the capture-wide findings in scope.
	measure(wide []*report.Anomaly) Measure
}

// Compute measures m over the flows of r in scope s.
func (m Metric) Compute(r *report.Report, s Scope) Measure {
	a := m.acc(s)
	var in flowIn
	for i := range r.Flows {
		if s.Match(&r.Flows[i]) {
			in = flowIn{Flow: &r.Flows[i]}
			a.add(&in)
		}
	}
	return a.measure(captureFindings(r, s))
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
			Doc: "number of flows (TCP connections) in scope; useful as min: {flows: 1} to catch an empty capture",
			acc: newFlowCount,
		},
		{
			Name: "retransmission_rate", Unit: UnitRatio, Regresses: true, Slack: 0.001,
			Doc: "retransmitted segments (retransmission + fast_retransmission + spurious_retransmission findings) " +
				"divided by the segments that take sequence space (payload, SYN or FIN: orig_seq_packets + resp_seq_packets) " +
				"of the flows in scope, both directions; reports without those fields fall back to all segments",
			acc: rateOf("retransmission", "fast_retransmission", "spurious_retransmission"),
		},
		{
			Name: "lost_segment_rate", Unit: UnitRatio, Regresses: true, Slack: 0.001,
			Doc: "lost_segment findings (a gap in sequence space the capture never filled) divided by the segments that take sequence space in scope",
			acc: rateOf("lost_segment"),
		},
		{
			Name: "out_of_order_rate", Unit: UnitRatio, Regresses: true, Slack: 0.001,
			Doc: "out_of_order findings divided by the segments that take sequence space in scope",
			acc: rateOf("out_of_order"),
		},
		{
			Name: "half_open_share", Unit: UnitRatio, Regresses: true, Slack: 0.01,
			Doc: "flows with a half_open finding (the handshake never completed) divided by the flows whose first SYN " +
				"the capture saw (midstream flows are left out of both)",
			acc: shareOf("half_open"),
		},
		{
			Name: "rejected_share", Unit: UnitRatio, Regresses: true, Slack: 0.01,
			Doc: "flows with a rejected finding (the SYN was answered with RST) divided by the flows whose first SYN the capture saw",
			acc: shareOf("rejected"),
		},
		{
			Name: "handshake_rtt_p50_ms", Unit: UnitMs, Regresses: true, Slack: 2,
			Doc: "median of handshake_rtt_ms (SYN to the ACK that completes the handshake) over the flows in scope that have one; nearest-rank",
			acc: percentile(0.50),
		},
		{
			Name: "handshake_rtt_p99_ms", Unit: UnitMs, Regresses: true, Slack: 2,
			Doc: "99th percentile of handshake_rtt_ms over the flows in scope that have one; nearest-rank, so with fewer than 100 handshakes it is the largest",
			acc: percentile(0.99),
		},
		{
			Name: "resets", Unit: UnitCount, Regresses: true, Slack: 1,
			Doc: "reset findings: established connections aborted by RST (refused handshakes are rejected, not resets)",
			acc: countOf("reset"),
		},
		{
			Name: "zero_window_events", Unit: UnitCount, Regresses: true, Slack: 1,
			Doc: "zero_window findings: segments advertising a zero receive window (a receiver that cannot keep up)",
			acc: countOf("zero_window"),
		},
		{
			Name: "warnings", Unit: UnitCount, Regresses: true, Slack: 1,
			Doc: "all findings of severity warning, error or critical, per flow and capture-wide, each counted as often as it occurred",
			acc: newWarnings,
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

// flowCount counts the flows in scope.
type flowCount struct{ n int }

func newFlowCount(Scope) accumulator                   { return &flowCount{} }
func (c *flowCount) add(*flowIn)                       { c.n++ }
func (c *flowCount) measure([]*report.Anomaly) Measure { return Measure{Value: float64(c.n)} }

// contribution is one flow's share of a metric, before ranking. It copies
// what the blame shows: the flow record is reused once added.
type contribution struct {
	id         uint64
	orig, resp string
	value      float64
	packets    []uint64
	kind       string
}

func contributionOf(f *flowIn, value float64, packets []uint64, kind string) contribution {
	orig, resp := f.endpoints()
	return contribution{id: f.ID, orig: orig, resp: resp, value: value, packets: packets, kind: kind}
}

// flowIn is a flow given to the accumulators: its record, and its endpoints
// as addresses when the record leaves out its text (Evaluator.AddWith).
type flowIn struct {
	*report.Flow
	orig, resp netip.AddrPort
	addrs      bool // orig and resp hold the endpoints
}

// endpoints returns the flow's endpoints as the report writes them.
func (f *flowIn) endpoints() (orig, resp string) {
	if f.addrs && f.Orig == "" && f.Resp == "" {
		return f.orig.String(), f.resp.String()
	}
	return f.Orig, f.Resp
}

// before reports whether c ranks before o: larger first, ties by flow id.
func (c *contribution) before(o *contribution) bool {
	if c.value != o.value {
		return c.value > o.value
	}
	return c.id < o.id
}

// topBlame keeps the MaxBlame contributions that rank first, in rank order.
type topBlame []contribution

// admits reports whether a contribution of value for flow id would rank
// among the kept ones, before the caller builds it.
func (t topBlame) admits(value float64, id uint64) bool {
	c := contribution{id: id, value: value}
	return len(t) < MaxBlame || c.before(&t[len(t)-1])
}

func (t *topBlame) add(c contribution) {
	s := *t
	if !s.admits(c.value, c.id) {
		return
	}
	i := len(s)
	for i > 0 && c.before(&s[i-1]) {
		i--
	}
	if len(s) < MaxBlame {
		s = append(s, contribution{})
	}
	copy(s[i+1:], s[i:len(s)-1])
	s[i] = c
	*t = s
}

func (t topBlame) blame() []Blame {
	out := make([]Blame, 0, len(t))
	for _, c := range t {
		out = append(out, Blame{Flow: c.id, Orig: c.orig, Resp: c.resp, Kind: c.kind, Value: c.value, Packets: c.packets})
	}
	return out
}

// findingCount sums the counts of the given kinds on f.
func findingCount(f *report.Flow, kinds ...string) uint64 {
	var n uint64
	for i := range f.Anomalies {
		a := &f.Anomalies[i]
		for _, k := range kinds {
			if a.Kind == k {
				n += a.Count
			}
		}
	}
	return n
}

// findingPackets gathers the first packets of the given kinds on f, sorted,
// at most MaxBlame. Callers ask only for a contribution the blame will keep
// (topBlame.admits): most flows with a finding are never blamed, and their
// lists were most of the policy's time on a large capture.
func findingPackets(f *report.Flow, kinds ...string) []uint64 {
	var pkts []uint64
	for i := range f.Anomalies {
		a := &f.Anomalies[i]
		for _, k := range kinds {
			if a.Kind == k {
				pkts = append(pkts, a.Packets...)
			}
		}
	}
	return firstPackets(pkts)
}

// blameFindings adds f's contribution of value for its findings of kinds to
// top, when top keeps it, labelled label.
func blameFindings(top *topBlame, f *flowIn, value float64, label string, kinds ...string) {
	if top.admits(value, f.ID) {
		top.add(contributionOf(f, value, findingPackets(f.Flow, kinds...), label))
	}
}

func firstPackets(pkts []uint64) []uint64 {
	if len(pkts) == 0 {
		return nil
	}
	out := append([]uint64(nil), pkts...)
	slices.Sort(out)
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

// rate divides the findings of kinds by the segments of the flows in scope.
type rate struct {
	kinds           []string
	hits, segs, all uint64
	top             topBlame
}

func rateOf(kinds ...string) func(Scope) accumulator {
	return func(Scope) accumulator { return &rate{kinds: kinds} }
}

func (r *rate) add(f *flowIn) {
	r.segs += f.OrigSeqPackets + f.RespSeqPackets
	r.all += f.OrigPackets + f.RespPackets
	if n := findingCount(f.Flow, r.kinds...); n > 0 {
		r.hits += n
		blameFindings(&r.top, f, float64(n), kindLabel(r.kinds), r.kinds...)
	}
}

func (r *rate) measure([]*report.Anomaly) Measure {
	segs := r.segs
	if segs == 0 {
		segs = r.all // a report from before the seq_packets fields
	}
	if segs == 0 {
		return Measure{NoData: true}
	}
	return Measure{Value: float64(r.hits) / float64(segs), Blame: r.top.blame()}
}

// share divides the flows with a finding of kind by the flows whose first
// SYN was seen.
type share struct {
	kind         string
	hits, opened int
	top          topBlame
}

func shareOf(kind string) func(Scope) accumulator {
	return func(Scope) accumulator { return &share{kind: kind} }
}

func (c *share) add(f *flowIn) {
	if f.Midstream {
		return
	}
	c.opened++
	if findingCount(f.Flow, c.kind) > 0 {
		c.hits++
		blameFindings(&c.top, f, 1, c.kind, c.kind)
	}
}

func (c *share) measure([]*report.Anomaly) Measure {
	if c.opened == 0 {
		return Measure{NoData: true}
	}
	return Measure{Value: float64(c.hits) / float64(c.opened), Blame: c.top.blame()}
}

// count sums the findings of kind over the flows in scope, and counts the
// flows that have one.
type count struct {
	kind  string
	total uint64
	flows int
	top   topBlame
}

func countOf(kind string) func(Scope) accumulator {
	return func(Scope) accumulator { return &count{kind: kind} }
}

func (c *count) add(f *flowIn) {
	if n := findingCount(f.Flow, c.kind); n > 0 {
		c.total += n
		c.flows++
		blameFindings(&c.top, f, float64(n), c.kind, c.kind)
	}
}

func (c *count) measure([]*report.Anomaly) Measure {
	return Measure{Value: float64(c.total), Blame: c.top.blame()}
}

// rtts takes the nearest-rank percentile p of the handshake RTTs in scope.
// The value is exact: every RTT is kept (8 bytes a handshake), in a store
// that the percentiles of one evaluation share (shareRTTs). The blame is the
// slowest handshakes at or above it, which are the slowest of all.
type rtts struct {
	p     float64
	store *rttStore
	reads bool // another percentile adds to store: this one only reads it
	top   topBlame
}

// rttStore keeps the RTTs in chunks: one growing slice of a million RTTs held
// twice its size while it was copied, a fifth of check's peak memory.
type rttStore struct {
	vals   [][]float64
	count  int
	sorted []float64 // every RTT in order, made by the first percentile taken
}

// rttChunk is the length of a chunk of RTTs (64 KiB).
const rttChunk = 8192

func percentile(p float64) func(Scope) accumulator {
	return func(Scope) accumulator { return &rtts{p: p, store: &rttStore{}} }
}

// shareRTTs makes the RTT percentiles among accs keep one store: the p50
// and the p99 of check's default policy each kept every RTT, 16 MB on a
// capture of a million handshakes.
func shareRTTs(accs []accumulator) {
	var first *rtts
	for _, a := range accs {
		r, ok := a.(*rtts)
		if !ok {
			continue
		}
		if first == nil {
			first = r
			continue
		}
		r.store, r.reads = first.store, true
	}
}

func (s *rttStore) add(v float64) {
	if s.sorted != nil { // added to after a percentile was taken
		s.vals, s.sorted = [][]float64{s.sorted}, nil
	}
	if n := len(s.vals); n == 0 || len(s.vals[n-1]) == rttChunk {
		s.vals = append(s.vals, make([]float64, 0, rttChunk))
	}
	last := &s.vals[len(s.vals)-1]
	*last = append(*last, v)
	s.count++
}

// inOrder returns every RTT, sorted.
func (s *rttStore) inOrder() []float64 {
	if s.sorted == nil {
		s.sorted = make([]float64, 0, s.count)
		for _, c := range s.vals {
			s.sorted = append(s.sorted, c...)
		}
		s.vals = nil
		sort.Float64s(s.sorted)
	}
	return s.sorted
}

func (r *rtts) add(f *flowIn) {
	if f.HandshakeRTTMs == nil {
		return
	}
	v := *f.HandshakeRTTMs
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if !r.reads {
		r.store.add(v)
	}
	if !r.top.admits(v, f.ID) {
		return // most handshakes: no blame, so no packet list to build
	}
	var pkts []uint64
	if f.FirstPacket != 0 {
		pkts = []uint64{f.FirstPacket}
	}
	r.top.add(contributionOf(f, v, pkts, ""))
}

func (r *rtts) measure([]*report.Anomaly) Measure {
	if r.store.count == 0 {
		return Measure{NoData: true}
	}
	vals := r.store.inOrder()
	idx := int(math.Ceil(r.p*float64(len(vals)))) - 1
	idx = max(0, min(idx, len(vals)-1))
	v := vals[idx]
	var worst topBlame
	for _, c := range r.top {
		if c.value >= v {
			worst = append(worst, c)
		}
	}
	return Measure{Value: v, Blame: worst.blame()}
}

// atLeastWarning reports whether a finding counts toward warnings.
func atLeastWarning(sev report.Severity) bool {
	return sev.Rank() >= report.SeverityWarning.Rank()
}

// warnings counts the findings of severity warning and above, per flow and
// capture-wide.
type warnings struct {
	total uint64
	top   topBlame
}

func newWarnings(Scope) accumulator { return &warnings{} }

func (c *warnings) add(f *flowIn) {
	var n uint64
	for i := range f.Anomalies {
		if a := &f.Anomalies[i]; atLeastWarning(a.Severity) {
			n += a.Count
		}
	}
	if n == 0 {
		return
	}
	c.total += n
	if !c.top.admits(float64(n), f.ID) {
		return
	}
	var pkts []uint64
	for i := range f.Anomalies {
		if a := &f.Anomalies[i]; atLeastWarning(a.Severity) {
			pkts = append(pkts, a.Packets...)
		}
	}
	c.top.add(contributionOf(f, float64(n), firstPackets(pkts), ""))
}

func (c *warnings) measure(wide []*report.Anomaly) Measure {
	total := c.total
	var blame []Blame
	for _, a := range wide {
		if atLeastWarning(a.Severity) {
			total += a.Count
			blame = append(blame, captureBlame(a))
		}
	}
	return Measure{Value: float64(total), Blame: mergeBlame(blame, c.top.blame())}
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

// captureFindings returns the capture-wide findings of r in scope.
func captureFindings(r *report.Report, s Scope) []*report.Anomaly {
	if s.Empty() {
		return captureFindingsIn(r.Anomalies, nil)
	}
	var in idSet
	for i := range r.Flows {
		if s.Match(&r.Flows[i]) {
			in.add(r.Flows[i].ID)
		}
	}
	return captureFindingsIn(r.Anomalies, &in)
}

// captureFindingsIn returns the findings that name a flow of in, or no flow;
// all of them when in is nil (no scope).
func captureFindingsIn(as []report.Anomaly, in *idSet) []*report.Anomaly {
	var out []*report.Anomaly
	for i := range as {
		a := &as[i]
		if in == nil || len(a.Flows) == 0 {
			out = append(out, a)
			continue
		}
		for _, id := range a.Flows {
			if in.has(id) {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

// idSet is a set of flow ids, a bit each: ids count up from 1.
type idSet struct{ bits []uint64 }

func (s *idSet) add(id uint64) {
	w := id / 64
	if w >= uint64(len(s.bits)) {
		s.bits = slices.Grow(s.bits, int(w+1)-len(s.bits))[:w+1]
	}
	s.bits[w] |= 1 << (id % 64)
}

func (s *idSet) has(id uint64) bool {
	w := id / 64
	return w < uint64(len(s.bits)) && s.bits[w]&(1<<(id%64)) != 0
}

func captureBlame(a *report.Anomaly) Blame {
	b := Blame{Kind: a.Kind, Value: float64(a.Count), Packets: firstPackets(a.Packets), Message: a.Message}
	if len(a.Flows) > 0 {
		n := min(len(a.Flows), MaxBlame)
		b.Flows = append([]uint64(nil), a.Flows[:n]...)
	}
	return b
}
