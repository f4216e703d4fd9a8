package policy

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"

	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// The rule types.
const (
	RuleFailOn   = "fail_on"
	RuleMax      = "max"
	RuleMin      = "min"
	RuleBaseline = "baseline"
)

// Rule is the outcome of one rule of a policy.
type Rule struct {
	// Name is the rule type and its subject: "max retransmission_rate".
	Name string `json:"name"`
	Type string `json:"type"`
	// Subject is the anomaly kind (fail_on) or the metric.
	Subject string `json:"subject"`
	Unit    string `json:"unit"`
	Pass    bool   `json:"pass"`
	// NoData is true when the metric could not be measured; such rules pass.
	NoData   bool    `json:"no_data,omitempty"`
	Measured float64 `json:"measured"`
	// Limit is the highest (lowest for min) value that passes.
	Limit float64 `json:"limit"`
	// Baseline is the baseline report's value, for baseline rules.
	Baseline *float64 `json:"baseline,omitempty"`
	// Detail explains the comparison in words.
	Detail string `json:"detail"`
	// Blame names the flows and findings most responsible, for failed rules.
	Blame []Blame `json:"blame,omitempty"`
}

// Result is the outcome of a whole policy.
type Result struct {
	Pass   bool   `json:"pass"`
	Passed int    `json:"passed"`
	Failed int    `json:"failed"`
	Rules  []Rule `json:"rules"`
}

// Evaluate applies p to rep. With a baseline report, the baseline tolerances
// add one rule per metric. Rules come in a fixed order: fail_on kinds by name,
// then max, min and baseline rules in metric registry order.
func Evaluate(p *Policy, rep, baseline *report.Report) Result {
	e := NewEvaluator(p)
	for i := range rep.Flows {
		e.Add(&rep.Flows[i])
	}
	return e.Result(rep, baseline)
}

// Evaluator applies a policy to flows given one at a time, so that a capture
// of a million connections is checked without a report that holds them all:
// it keeps a few numbers per rule, the flows it may blame, a bit per flow id
// when the policy has a scope, and 8 bytes per handshake for the RTT
// percentiles.
type Evaluator struct {
	p       *Policy
	kinds   []string
	failOn  []*count
	metrics []Metric
	accs    []accumulator // by metric, nil for metrics no rule reads
	inScope *idSet        // flow ids in scope, when the policy has one
	// in is the flow being added: the accumulators take it by pointer,
	// which a local would escape to the heap for.
	in flowIn
}

// NewEvaluator starts evaluating p.
func NewEvaluator(p *Policy) *Evaluator {
	e := &Evaluator{p: p, kinds: p.sortedKinds(), metrics: Metrics()}
	for _, k := range e.kinds {
		e.failOn = append(e.failOn, countOf(k)(p.Scope).(*count))
	}
	e.accs = make([]accumulator, len(e.metrics))
	for i, m := range e.metrics {
		_, max := p.Max[m.Name]
		_, min := p.Min[m.Name]
		_, tol := p.Baseline.Tolerance[m.Name]
		if max || min || (tol && m.Regresses) {
			e.accs[i] = m.acc(p.Scope)
		}
	}
	shareRTTs(e.accs)
	if !p.Scope.Empty() {
		e.inScope = &idSet{}
	}
	return e
}

// Add counts f, when it is in the policy's scope. f may be reused once Add
// returns.
func (e *Evaluator) Add(f *report.Flow) {
	if !e.p.Scope.Match(f) {
		return
	}
	e.in = flowIn{Flow: f}
	e.add()
}

// AddWith is Add for a record whose endpoints are given as addresses, orig
// the originator's: its Orig and Resp may be empty, as in the records of an
// analysis that leaves their text out (engine's SetEndpointSink). The scope
// matches the addresses, and only the flows a rule may blame have their
// endpoints written out.
func (e *Evaluator) AddWith(f *report.Flow, orig, resp netip.AddrPort) {
	if !e.p.Scope.MatchAddrs(orig, resp) {
		return
	}
	e.in = flowIn{Flow: f, orig: orig, resp: resp, addrs: true}
	e.add()
}

// add counts e.in, a flow in scope.
func (e *Evaluator) add() {
	f := &e.in
	if e.inScope != nil {
		e.inScope.add(f.ID)
	}
	for _, c := range e.failOn {
		c.add(f)
	}
	for _, a := range e.accs {
		if a != nil {
			a.add(f)
		}
	}
	e.in = flowIn{}
}

// Result gives the rules' outcomes over the flows added and the capture-wide
// findings of rep (its flows are not read: add them first). With a
// baseline report, the baseline tolerances add one rule per metric.
func (e *Evaluator) Result(rep, baseline *report.Report) Result {
	p := e.p
	res := Result{Rules: []Rule{}}
	wide := captureFindingsIn(rep.Anomalies, e.inScope)
	for i, k := range e.kinds {
		res.Rules = append(res.Rules, failOnRule(k, e.failOn[i], wide))
	}
	measures := make([]Measure, len(e.metrics))
	for i, a := range e.accs {
		if a != nil {
			measures[i] = a.measure(wide)
		}
	}
	for i, m := range e.metrics {
		if lim, ok := p.Max[m.Name]; ok {
			res.Rules = append(res.Rules, limitRule(RuleMax, m, measures[i], lim))
		}
	}
	for i, m := range e.metrics {
		if lim, ok := p.Min[m.Name]; ok {
			res.Rules = append(res.Rules, limitRule(RuleMin, m, measures[i], lim))
		}
	}
	if baseline != nil {
		for i, m := range e.metrics {
			factor, ok := p.Baseline.Tolerance[m.Name]
			if !ok || !m.Regresses {
				continue
			}
			slack, ok := p.Baseline.Slack[m.Name]
			if !ok {
				slack = m.Slack
			}
			old := m.Compute(baseline, p.Scope)
			res.Rules = append(res.Rules, baselineRule(m, measures[i], old, factor, slack))
		}
	}
	res.Pass = true
	for _, r := range res.Rules {
		if r.Pass {
			res.Passed++
		} else {
			res.Failed++
			res.Pass = false
		}
	}
	return res
}

func failOnRule(kind string, c *count, found []*report.Anomaly) Rule {
	r := Rule{Name: RuleFailOn + " " + kind, Type: RuleFailOn, Subject: kind, Unit: UnitCount}
	var total uint64
	var wide []Blame
	for _, a := range found {
		if a.Kind == kind {
			total += a.Count
			wide = append(wide, captureBlame(a))
		}
	}
	count := c.measure(nil)
	total += c.total
	r.Measured = float64(total)
	r.Pass = total == 0
	switch {
	case r.Pass:
		r.Detail = "not found"
	case len(wide) > 0 && c.total == 0:
		r.Detail = fmt.Sprintf("found %d times across the capture", total)
	default:
		r.Detail = fmt.Sprintf("found %d times", total)
		if c.total > 0 {
			r.Detail += fmt.Sprintf(" on %s", plural(c.flows, "flow"))
		}
	}
	if !r.Pass {
		r.Blame = mergeBlame(wide, count.Blame)
	}
	return r
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func limitRule(typ string, m Metric, v Measure, limit float64) Rule {
	r := Rule{
		Name: typ + " " + m.Name, Type: typ, Subject: m.Name, Unit: m.Unit,
		Measured: v.Value, Limit: limit, NoData: v.NoData,
	}
	val, lim := FormatValue(m.Unit, v.Value), FormatValue(m.Unit, limit)
	switch {
	case v.NoData:
		r.Pass = true
		r.Detail = "no data: " + noDataReason(m)
	case typ == RuleMax:
		r.Pass = !(v.Value > limit)
		r.Detail = val + " <= " + lim
		if !r.Pass {
			r.Detail = val + " > " + lim
		}
	default:
		r.Pass = !(v.Value < limit)
		r.Detail = val + " >= " + lim
		if !r.Pass {
			r.Detail = val + " < " + lim
		}
	}
	if !r.Pass {
		r.Blame = v.Blame
	}
	return r
}

func baselineRule(m Metric, now, old Measure, factor, slack float64) Rule {
	r := Rule{
		Name: RuleBaseline + " " + m.Name, Type: RuleBaseline, Subject: m.Name, Unit: m.Unit,
		Measured: now.Value, NoData: now.NoData,
	}
	if !old.NoData {
		ov := old.Value
		r.Baseline = &ov
		r.Limit = math.Max(ov*factor, ov+slack)
	}
	f := func(v float64) string { return FormatValue(m.Unit, v) }
	switch {
	case now.NoData:
		r.Pass = true
		r.Detail = "no data: " + noDataReason(m)
	case old.NoData:
		r.Pass = true
		r.Detail = "no data in the baseline to compare with"
	default:
		r.Pass = !(now.Value > r.Limit)
		op := "<="
		if !r.Pass {
			op = ">"
		}
		r.Detail = fmt.Sprintf("%s %s %s = max(baseline %s x %s, baseline + %s)",
			f(now.Value), op, f(r.Limit), f(old.Value), strconv.FormatFloat(factor, 'g', -1, 64), f(slack))
	}
	if !r.Pass {
		r.Blame = now.Blame
	}
	return r
}

func noDataReason(m Metric) string {
	switch m.Unit {
	case UnitMs:
		return "no completed handshakes in scope"
	case UnitRatio:
		if m.Name == "half_open_share" || m.Name == "rejected_share" {
			return "no flows in scope whose SYN was seen"
		}
		return "no segments in scope"
	}
	return "nothing to measure"
}

// FormatValue prints a measured value or limit in its unit: counts as integers,
// milliseconds to the microsecond, ratios to four significant digits.
func FormatValue(unit string, v float64) string {
	switch unit {
	case UnitCount:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	case UnitMs:
		return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
