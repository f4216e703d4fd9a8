package policy

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// cleanReport has ten healthy flows with a handshake RTT each.
func cleanReport() *report.Report {
	rep := &report.Report{}
	for i := uint64(1); i <= 10; i++ {
		rep.Flows = append(rep.Flows, mkFlow(i, "192.0.2.1:40000", "10.0.0.1:80", 20, rtt(float64(i))))
	}
	return rep
}

func ruleNames(res Result) []string {
	var out []string
	for _, r := range res.Rules {
		out = append(out, r.Name)
	}
	return out
}

func failedNames(res Result) []string {
	var out []string
	for _, r := range res.Rules {
		if !r.Pass {
			out = append(out, r.Name)
		}
	}
	return out
}

func TestEvaluateDefault(t *testing.T) {
	wantOrder := []string{
		"fail_on close_wait_leak", "fail_on overlap_mismatch", "fail_on syn_flood", "fail_on time_wait_storm",
		"max retransmission_rate", "max half_open_share", "max rejected_share", "max handshake_rtt_p99_ms",
	}
	tests := []struct {
		name       string
		rep        *report.Report
		wantFailed []string
	}{
		{"clean", cleanReport(), nil},
		{"empty capture", &report.Report{}, nil},
		{"sample", sampleReport(), []string{"fail_on syn_flood", "max half_open_share", "max rejected_share"}},
		{"lossy", func() *report.Report {
			r := cleanReport()
			r.Flows[3].Anomalies = []report.Anomaly{{Kind: "retransmission", Severity: notice, Count: 9, Packets: []uint64{401}}}
			return r
		}(), []string{"max retransmission_rate"}},
		{"slow handshake", func() *report.Report {
			r := cleanReport()
			slow := 900.0
			r.Flows[7].HandshakeRTTMs = &slow
			return r
		}(), []string{"max handshake_rtt_p99_ms"}},
		{"leak", func() *report.Report {
			r := cleanReport()
			r.Flows[2].Anomalies = []report.Anomaly{{Kind: "close_wait_leak", Severity: errSev, Count: 1, Packets: []uint64{399}}}
			return r
		}(), []string{"fail_on close_wait_leak"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Evaluate(Default(), tt.rep, nil)
			if got := ruleNames(res); !reflect.DeepEqual(got, wantOrder) {
				t.Errorf("rules %v, want %v", got, wantOrder)
			}
			if got := failedNames(res); !reflect.DeepEqual(got, tt.wantFailed) {
				t.Errorf("failed %v, want %v", got, tt.wantFailed)
			}
			if res.Pass != (len(tt.wantFailed) == 0) || res.Failed != len(tt.wantFailed) || res.Passed+res.Failed != len(res.Rules) {
				t.Errorf("pass %v, passed %d, failed %d", res.Pass, res.Passed, res.Failed)
			}
			for _, r := range res.Rules {
				if r.Pass && len(r.Blame) > 0 {
					t.Errorf("%s passed but carries blame", r.Name)
				}
				if !r.Pass && len(r.Blame) == 0 {
					t.Errorf("%s failed without blame", r.Name)
				}
			}
		})
	}
}

func TestEvaluateFailOnDetails(t *testing.T) {
	p := &Policy{FailOn: []string{"zero_window", "syn_flood", "reset"}}
	res := Evaluate(p, sampleReport(), nil)
	byName := map[string]Rule{}
	for _, r := range res.Rules {
		byName[r.Name] = r
	}
	if got := ruleNames(res); !reflect.DeepEqual(got, []string{"fail_on reset", "fail_on syn_flood", "fail_on zero_window"}) {
		t.Errorf("fail_on rules are not sorted by kind: %v", got)
	}
	flood := byName["fail_on syn_flood"]
	if flood.Pass || flood.Measured != 1 || flood.Detail != "found 1 times across the capture" {
		t.Errorf("syn_flood rule %+v", flood)
	}
	wantBlame := []Blame{{Kind: "syn_flood", Value: 1, Packets: []uint64{300, 400}, Flows: []uint64{3, 4, 5}, Message: "SYN flood against 10.0.0.3:443"}}
	if !reflect.DeepEqual(flood.Blame, wantBlame) {
		t.Errorf("syn_flood blame %+v, want %+v", flood.Blame, wantBlame)
	}
	zw := byName["fail_on zero_window"]
	if zw.Pass || zw.Measured != 4 || zw.Detail != "found 4 times on 1 flow" || len(zw.Blame) != 1 || zw.Blame[0].Flow != 2 {
		t.Errorf("zero_window rule %+v", zw)
	}
	// Scoped to port 80 the flood (which names 443 flows only) and the reset drop out.
	p.Scope = Scope{ServerPorts: []uint16{80}}
	res = Evaluate(p, sampleReport(), nil)
	if got := failedNames(res); !reflect.DeepEqual(got, []string{"fail_on zero_window"}) {
		t.Errorf("scoped to port 80, failed %v", got)
	}
	// A capture-wide finding that names no flows stays in any scope.
	rep := sampleReport()
	rep.Anomalies[0].Flows = nil
	res = Evaluate(p, rep, nil)
	if got := failedNames(res); !reflect.DeepEqual(got, []string{"fail_on syn_flood", "fail_on zero_window"}) {
		t.Errorf("unattributed flood: failed %v", got)
	}
}

func TestEvaluateMinAndNoData(t *testing.T) {
	p := &Policy{
		Max: map[string]float64{"handshake_rtt_p99_ms": 10, "retransmission_rate": 0},
		Min: map[string]float64{"flows": 1},
	}
	res := Evaluate(p, &report.Report{}, nil)
	if got := failedNames(res); !reflect.DeepEqual(got, []string{"min flows"}) {
		t.Fatalf("failed %v, want only min flows", got)
	}
	for _, r := range res.Rules {
		switch r.Name {
		case "max handshake_rtt_p99_ms":
			if !r.NoData || r.Detail != "no data: no completed handshakes in scope" {
				t.Errorf("%+v", r)
			}
		case "max retransmission_rate":
			if !r.NoData || r.Detail != "no data: no segments in scope" {
				t.Errorf("%+v", r)
			}
		case "min flows":
			if r.Detail != "0 < 1" {
				t.Errorf("min flows detail %q", r.Detail)
			}
		}
	}
	// The limit itself passes.
	res = Evaluate(&Policy{Max: map[string]float64{"retransmission_rate": 4.0 / 202}}, sampleReport(), nil)
	if !res.Pass {
		t.Errorf("a value equal to its max must pass: %+v", res.Rules)
	}
}

func TestEvaluateBaseline(t *testing.T) {
	// old: 2 retransmissions in 400 segments = 0.005
	withRetrans := func(n uint64) *report.Report {
		r := cleanReport()
		if n > 0 {
			r.Flows[0].Anomalies = []report.Anomaly{{Kind: "retransmission", Severity: notice, Count: n, Packets: []uint64{101}}}
		}
		return r
	}
	pol := &Policy{Baseline: Baseline{Tolerance: map[string]float64{"retransmission_rate": 2, "resets": 2}}}
	tests := []struct {
		name     string
		old, now *report.Report
		pass     bool
		limit    float64
	}{
		{"same", withRetrans(2), withRetrans(2), true, 0.01},
		{"doubled exactly", withRetrans(2), withRetrans(4), true, 0.01},
		{"more than doubled", withRetrans(2), withRetrans(5), false, 0.01},
		// from 0: the limit is the slack 0.001, i.e. 0.4 retransmissions of 400 segments
		{"from zero", withRetrans(0), withRetrans(1), false, 0.001},
		{"improved", withRetrans(5), withRetrans(0), true, 0.025},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Evaluate(pol, tt.now, tt.old)
			if got := ruleNames(res); !reflect.DeepEqual(got, []string{"baseline retransmission_rate", "baseline resets"}) {
				t.Fatalf("rules %v", got)
			}
			r := res.Rules[0]
			if r.Pass != tt.pass || math.Abs(r.Limit-tt.limit) > 1e-12 || r.Baseline == nil {
				t.Errorf("rule %+v, want pass %v limit %v", r, tt.pass, tt.limit)
			}
			if !r.Pass && (len(r.Blame) != 1 || r.Blame[0].Flow != 1) {
				t.Errorf("blame %+v", r.Blame)
			}
			if !res.Rules[1].Pass {
				t.Errorf("resets 0 -> 0 failed: %+v", res.Rules[1])
			}
		})
	}
	// The policy's slack replaces the metric's.
	pol.Baseline.Slack = map[string]float64{"retransmission_rate": 0.01}
	if res := Evaluate(pol, withRetrans(3), withRetrans(0)); !res.Pass {
		t.Errorf("a slack of 0.01 allows 0 -> 0.0075: %+v", res.Rules[0])
	}
	// Without a baseline report there are no baseline rules.
	if res := Evaluate(pol, withRetrans(3), nil); len(res.Rules) != 0 {
		t.Errorf("rules without a baseline: %v", ruleNames(res))
	}
	// A baseline without handshakes cannot be compared with.
	old := withRetrans(0)
	for i := range old.Flows {
		old.Flows[i].HandshakeRTTMs = nil
	}
	res := Evaluate(&Policy{Baseline: DefaultBaseline()}, cleanReport(), old)
	for _, r := range res.Rules {
		if r.Subject == "handshake_rtt_p99_ms" && (!r.Pass || r.Baseline != nil || r.Detail != "no data in the baseline to compare with") {
			t.Errorf("%+v", r)
		}
	}
	if !res.Pass {
		t.Errorf("identical flows regressed: %v", failedNames(res))
	}
}

func TestEvaluateIsDeterministic(t *testing.T) {
	p := Default()
	_ = p.AddFailOn("zero_window", "half_open", "reset", "rejected")
	p.Baseline = DefaultBaseline()
	var first []byte
	for i := 0; i < 20; i++ {
		res := Evaluate(p, sampleReport(), cleanReport())
		var buf bytes.Buffer
		if err := WriteJSON(&buf, NewOutcome(res, p, []string{"a.pcap"}, "old.json", 1)); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = buf.Bytes()
		} else if !bytes.Equal(first, buf.Bytes()) {
			t.Fatal("two evaluations of the same input differ")
		}
	}
}

func TestDecodeReportRoundTrip(t *testing.T) {
	rep := sampleReport()
	start, end := report.Time(1704164645123456789), report.Time(1704164650000000001)
	rep.Summary.Start, rep.Summary.End = &start, &end
	rep.Flows[0].Start, rep.Flows[0].End = start, end
	rep.Flows[0].Transitions = []report.Transition{{Packet: 100, Time: start, Event: "syn"}}
	rep.Flows[0].Anomalies[0].Times = []report.Time{start, end}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeReport(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Summary.Start != start || *got.Summary.End != end || got.Flows[0].Start != start ||
		got.Flows[0].Transitions[0].Time != start || got.Flows[0].Anomalies[0].Times[1] != end {
		t.Errorf("timestamps did not survive: %+v", got.Flows[0])
	}
	for _, m := range Metrics() {
		a, b := m.Compute(rep, Scope{}), m.Compute(got, Scope{})
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: %+v from the original, %+v from JSON", m.Name, a, b)
		}
	}
}

func TestDecodeReportRejects(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not json", "PK\x03\x04", "not a tcpflow-analyze JSON report"},
		{"array", "[]", "not a tcpflow-analyze JSON report"},
		{"other object", `{"rules": []}`, "not a tcpflow-analyze JSON report"},
		{"bad time", `{"summary": {"start": "yesterday"}, "flows": []}`, `timestamp "yesterday"`},
		{"bad type", `{"summary": {}, "flows": {}}`, "decoding report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeReport(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := DecodeReport(strings.NewReader("[]")); !errors.Is(err, ErrNotReport) {
		t.Errorf("not wrapping ErrNotReport: %v", err)
	}
	if _, err := LoadReport("testdata/none.json"); err == nil || !strings.Contains(err.Error(), "reading baseline") {
		t.Errorf("LoadReport of a missing file: %v", err)
	}
}

// randomReport makes n flows with random findings, RTTs and endpoints, and
// capture-wide findings that name some of them.
func randomReport(n int, seed uint64) *report.Report {
	rng := rand.New(rand.NewPCG(seed, 3))
	kinds := []string{"retransmission", "fast_retransmission", "lost_segment", "out_of_order", "half_open",
		"rejected", "reset", "zero_window", "keep_alive", "duplicate_ack"}
	sevs := []report.Severity{info, notice, warn, errSev}
	rep := &report.Report{}
	for id := 1; id <= n; id++ {
		var opts []flowOpt
		for range rng.IntN(3) {
			k := kinds[rng.IntN(len(kinds))]
			opts = append(opts, finding(k, sevs[rng.IntN(len(sevs))], uint64(1+rng.IntN(3)), uint64(id*100+rng.IntN(50))))
		}
		if rng.IntN(4) > 0 {
			opts = append(opts, rtt(float64(rng.IntN(40))/4)) // ties on purpose
		}
		if rng.IntN(10) == 0 {
			opts = append(opts, midstream)
		}
		orig := fmt.Sprintf("192.0.2.%d:%d", rng.IntN(4), 40000+id)
		resp := fmt.Sprintf("10.0.0.%d:%d", rng.IntN(3), []int{80, 443}[rng.IntN(2)])
		f := mkFlow(uint64(id), orig, resp, uint64(1+rng.IntN(30)), opts...)
		f.OrigSeqPackets, f.RespSeqPackets = f.OrigPackets/2, f.RespPackets/2
		rep.Flows = append(rep.Flows, f)
	}
	for i := range 4 {
		rep.Anomalies = append(rep.Anomalies, report.Anomaly{
			Kind: []string{"syn_flood", "port_scan"}[i%2], Severity: sevs[i], Count: uint64(10 + i),
			Flows: []uint64{uint64(1 + rng.IntN(n)), uint64(1 + rng.IntN(n))}, Message: "wide",
		})
	}
	return rep
}

// TestEvaluatorStreamsLikeEvaluate feeds the flows one at a time through one
// reused record, scrubbed after each Add, and requires the result of the
// whole report: the evaluator keeps copies, never the caller's record. So
// when the records have no endpoints' text and AddWith gives the addresses.
func TestEvaluatorStreamsLikeEvaluate(t *testing.T) {
	rep := randomReport(3000, 1)
	base := randomReport(2000, 2)
	strict := Default()
	for _, m := range Metrics() {
		strict.Max[m.Name] = 0 // every limit fails: every blame list is filled
		if m.Regresses {
			strict.Baseline.Tolerance[m.Name] = 1
		}
	}
	strict.Min["flows"] = 1e9
	scoped := Default()
	scoped.Scope = Scope{ServerPorts: []uint16{443}, Clients: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/31")}}
	for name, p := range map[string]*Policy{"default": Default(), "strict": strict, "scoped": scoped} {
		want := Evaluate(p, rep, base)
		e := NewEvaluator(p)
		var rec report.Flow
		for i := range rep.Flows {
			f := rep.Flows[i]
			rec = f
			rec.Anomalies = append(rec.Anomalies[:0:0], f.Anomalies...)
			e.Add(&rec)
			for j := range rec.Anomalies {
				rec.Anomalies[j] = report.Anomaly{Kind: "scrubbed", Packets: []uint64{0}}
			}
			rec = report.Flow{Orig: "scrubbed", Resp: "scrubbed"}
		}
		got := e.Result(&report.Report{Summary: rep.Summary, Anomalies: rep.Anomalies}, base)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: streamed result differs\n got %+v\nwant %+v", name, got, want)
		}
		// The same flows without their endpoints' text, given as
		// addresses (AddWith, as check streams them).
		e = NewEvaluator(p)
		for i := range rep.Flows {
			f := rep.Flows[i]
			orig, resp := netip.MustParseAddrPort(f.Orig), netip.MustParseAddrPort(f.Resp)
			rec = f
			rec.Orig, rec.Resp = "", ""
			rec.Anomalies = append(rec.Anomalies[:0:0], f.Anomalies...)
			e.AddWith(&rec, orig, resp)
			for j := range rec.Anomalies {
				rec.Anomalies[j] = report.Anomaly{Kind: "scrubbed", Packets: []uint64{0}}
			}
			rec = report.Flow{}
		}
		got = e.Result(&report.Report{Summary: rep.Summary, Anomalies: rep.Anomalies}, base)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: result of flows given with addresses differs\n got %+v\nwant %+v", name, got, want)
		}
		if name == "strict" && (want.Pass || want.Failed < 10) {
			t.Errorf("strict policy: %d rules failed, want most", want.Failed)
		}
	}
}

// TestTopBlameIsTheRankedPrefix checks the bounded blame list against
// sorting every contribution and keeping the first MaxBlame.
func TestTopBlameIsTheRankedPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for trial := range 200 {
		var all []contribution
		var top topBlame
		for i := range rng.IntN(20) {
			c := contribution{id: uint64(rng.IntN(1000)*20 + i), value: float64(rng.IntN(5))}
			all = append(all, c)
			top.add(c)
		}
		sort.SliceStable(all, func(i, j int) bool { return all[i].before(&all[j]) })
		if len(all) > MaxBlame {
			all = all[:MaxBlame]
		}
		if !reflect.DeepEqual([]contribution(top), all) {
			t.Fatalf("trial %d: top %v, want %v", trial, top, all)
		}
	}
}
