package policy

import (
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly"
)

// Version is the policy format version this package reads.
const Version = 1

// Policy is a parsed policy file.
type Policy struct {
	// Source names where the policy came from: a file name, or "default".
	Source  string `json:"source"`
	Version int    `json:"version"`
	// FailOn are anomaly kinds that fail the check when found at all.
	FailOn []string `json:"fail_on"`
	// Max and Min map metric names to limits.
	Max map[string]float64 `json:"max"`
	Min map[string]float64 `json:"min"`
	// Scope restricts every rule to some flows.
	Scope Scope `json:"scope"`
	// Baseline holds the regression tolerances used with a baseline report.
	Baseline Baseline `json:"baseline"`
}

// Baseline holds how far metrics may move against a baseline report: a metric
// regresses when new > max(old × Tolerance[m], old + Slack[m]).
type Baseline struct {
	Tolerance map[string]float64 `json:"tolerance"`
	// Slack is the absolute allowance per metric; a metric missing here uses its
	// registry default.
	Slack map[string]float64 `json:"slack,omitempty"`
}

// CaptureKinds returns the capture-wide anomaly kinds, which the report lists
// under its top-level anomalies rather than on flows.
func CaptureKinds() []string {
	return []string{"syn_flood", "time_wait_storm", "port_scan", "rst_storm", "connection_flood"}
}

// KnownKind reports whether name is an anomaly kind, per flow or capture-wide.
func KnownKind(name string) bool {
	if _, ok := anomaly.ByName(name); ok {
		return true
	}
	return slices.Contains(CaptureKinds(), name)
}

// KindNames returns every anomaly kind name, per-flow kinds in catalog order
// followed by the capture-wide kinds.
func KindNames() []string {
	var out []string
	for _, k := range anomaly.Kinds() {
		out = append(out, k.String())
	}
	for _, k := range CaptureKinds() {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// Default returns the policy used when none is given; the package
// documentation explains each choice.
func Default() *Policy {
	return &Policy{
		Source:  "default",
		Version: Version,
		FailOn:  []string{"close_wait_leak", "overlap_mismatch", "syn_flood", "time_wait_storm"},
		Max: map[string]float64{
			"retransmission_rate":  0.02,
			"half_open_share":      0.05,
			"rejected_share":       0.05,
			"handshake_rtt_p99_ms": 500,
		},
		Min:      map[string]float64{},
		Baseline: DefaultBaseline(),
	}
}

// DefaultBaseline returns the tolerances used when a baseline report is given
// and the policy has no baseline section: a factor of 2 for rates, shares and
// counts, 1.5 for RTT percentiles.
func DefaultBaseline() Baseline {
	tol := map[string]float64{}
	for _, m := range Metrics() {
		if !m.Regresses {
			continue
		}
		tol[m.Name] = 2
		if m.Unit == UnitMs {
			tol[m.Name] = 1.5
		}
	}
	return Baseline{Tolerance: tol}
}

// Load reads and parses a policy file.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	return Parse(data, path)
}

// AddFailOn adds anomaly kinds to FailOn, ignoring ones already there.
func (p *Policy) AddFailOn(kinds ...string) error {
	for _, k := range kinds {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if !KnownKind(k) {
			return fmt.Errorf("unknown anomaly kind %q%s", k, suggest(k, KindNames()))
		}
		if !slices.Contains(p.FailOn, k) {
			p.FailOn = append(p.FailOn, k)
		}
	}
	return nil
}

// SetLimit parses "METRIC=VALUE" and sets that max limit, replacing the
// policy's own.
func (p *Policy) SetLimit(spec string) error {
	name, val, ok := strings.Cut(spec, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return fmt.Errorf("--max %q: expected METRIC=VALUE", spec)
	}
	m, ok := MetricByName(name)
	if !ok {
		return fmt.Errorf("--max %q: unknown metric %q%s", spec, name, suggest(name, MetricNames()))
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
	if err != nil {
		return fmt.Errorf("--max %q: %q is not a number: %w", spec, val, err)
	}
	if err := checkLimit(m, v); err != nil {
		return fmt.Errorf("--max %q: %w", spec, err)
	}
	if p.Max == nil {
		p.Max = map[string]float64{}
	}
	p.Max[name] = v
	return nil
}

// checkLimit rejects limits a metric can never be compared with.
func checkLimit(m Metric, v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Errorf("%s: the limit must be a finite number", m.Name)
	case v < 0:
		return fmt.Errorf("%s: the limit must not be negative, got %v", m.Name, v)
	case m.Unit == UnitRatio && v > 1:
		return fmt.Errorf("%s is a ratio between 0 and 1, got %v (write 0.02 for 2%%)", m.Name, v)
	}
	return nil
}

// sortedKinds returns FailOn sorted by name, for a stable rule order.
func (p *Policy) sortedKinds() []string {
	out := append([]string(nil), p.FailOn...)
	sort.Strings(out)
	return slices.Compact(out)
}
