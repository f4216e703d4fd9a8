package policy

import (
	"math"
	"net/netip"
	"reflect"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

type flowOpt func(*report.Flow)

// mkFlow builds a flow from orig to resp with pkts packets each way.
func mkFlow(id uint64, orig, resp string, pkts uint64, opts ...flowOpt) report.Flow {
	f := report.Flow{
		ID: id, Orig: orig, Resp: resp, Generation: 1, ConnState: "SF",
		FirstPacket: id * 100, OrigPackets: pkts, RespPackets: pkts,
	}
	for _, o := range opts {
		o(&f)
	}
	return f
}

func finding(kind string, sev report.Severity, count uint64, pkts ...uint64) flowOpt {
	return func(f *report.Flow) {
		f.Anomalies = append(f.Anomalies, report.Anomaly{Kind: kind, Severity: sev, Count: count, Packets: pkts})
	}
}

func rtt(ms float64) flowOpt {
	return func(f *report.Flow) { f.HandshakeRTTMs = &ms }
}

func midstream(f *report.Flow) { f.Midstream = true }

const (
	warn   = report.SeverityWarning
	notice = report.SeverityNotice
	info   = report.SeverityInfo
	errSev = report.SeverityError
)

// sampleReport has six flows: two to port 80 on 10.0.0.2, the rest to 443 on
// 10.0.0.3 or [2001:db8::3], with a mix of findings, and one capture-wide
// syn_flood naming flow 5.
func sampleReport() *report.Report {
	return &report.Report{
		Flows: []report.Flow{
			mkFlow(1, "192.0.2.1:40001", "10.0.0.2:80", 50, rtt(1),
				finding("retransmission", notice, 2, 110, 120),
				finding("fast_retransmission", notice, 1, 130)),
			mkFlow(2, "192.0.2.1:40002", "10.0.0.2:80", 25, rtt(3),
				finding("spurious_retransmission", notice, 1, 210),
				finding("zero_window", warn, 4, 220, 221, 222, 223)),
			mkFlow(3, "192.0.2.2:40003", "10.0.0.3:443", 1,
				finding("half_open", warn, 1, 300)),
			mkFlow(4, "192.0.2.2:40004", "10.0.0.3:443", 1,
				finding("rejected", warn, 1, 400)),
			mkFlow(5, "198.51.100.7:40005", "10.0.0.3:443", 12, rtt(250),
				finding("reset", warn, 1, 512),
				finding("lost_segment", warn, 1, 505),
				finding("out_of_order", warn, 2, 506, 507),
				finding("keep_alive", info, 3, 501, 502, 503)),
			mkFlow(6, "[2001:db8::9]:40006", "[2001:db8::3]:443", 12, midstream),
		},
		Anomalies: []report.Anomaly{{
			Kind: "syn_flood", Severity: errSev, Count: 1, Packets: []uint64{300, 400},
			Message: "SYN flood against 10.0.0.3:443", Flows: []uint64{3, 4, 5},
		}},
	}
}

func TestMetrics(t *testing.T) {
	rep := sampleReport()
	port80 := Scope{ServerPorts: []uint16{80}}
	port443 := Scope{ServerPorts: []uint16{443}}
	v6 := Scope{Servers: []netip.Prefix{netip.MustParsePrefix("2001:db8::/32")}}
	nowhere := Scope{ServerPorts: []uint16{22}}
	clients := Scope{Clients: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, ServerPorts: []uint16{443}}
	// all segments: 2*(50+25+1+1+12+12) = 202
	tests := []struct {
		metric    string
		scope     Scope
		want      float64
		noData    bool
		wantFlows []uint64 // blame flow ids in order (0 = a capture-wide finding)
	}{
		{"flows", Scope{}, 6, false, nil},
		{"flows", port80, 2, false, nil},
		{"flows", v6, 1, false, nil},
		{"flows", clients, 2, false, nil},
		{"retransmission_rate", Scope{}, 4.0 / 202, false, []uint64{1, 2}},
		{"retransmission_rate", port80, 4.0 / 150, false, []uint64{1, 2}},
		{"retransmission_rate", port443, 0, false, nil},
		{"retransmission_rate", nowhere, 0, true, nil},
		{"lost_segment_rate", Scope{}, 1.0 / 202, false, []uint64{5}},
		{"out_of_order_rate", Scope{}, 2.0 / 202, false, []uint64{5}},
		// flow 6 is midstream: 5 flows whose SYN was seen
		{"half_open_share", Scope{}, 1.0 / 5, false, []uint64{3}},
		{"half_open_share", port443, 1.0 / 3, false, []uint64{3}},
		{"half_open_share", v6, 0, true, nil},
		{"rejected_share", Scope{}, 1.0 / 5, false, []uint64{4}},
		{"rejected_share", port80, 0, false, nil},
		// RTTs 1, 3, 250: nearest rank p50 = 3, p99 = 250
		{"handshake_rtt_p50_ms", Scope{}, 3, false, []uint64{5, 2}},
		{"handshake_rtt_p99_ms", Scope{}, 250, false, []uint64{5}},
		{"handshake_rtt_p99_ms", port80, 3, false, []uint64{2}},
		{"handshake_rtt_p99_ms", v6, 0, true, nil},
		{"resets", Scope{}, 1, false, []uint64{5}},
		{"resets", port80, 0, false, nil},
		{"zero_window_events", Scope{}, 4, false, []uint64{2}},
		// warnings: zero_window 4, half_open 1, rejected 1, reset+lost+ooo 4, syn_flood 1
		{"warnings", Scope{}, 11, false, []uint64{0, 2, 5, 3, 4}},
		// the syn_flood names flows 3-5, so it is in scope for 443 but not 80
		{"warnings", port443, 7, false, []uint64{0, 5, 3, 4}},
		{"warnings", port80, 4, false, []uint64{2}},
	}
	for _, tt := range tests {
		t.Run(tt.metric+"/"+tt.scope.String(), func(t *testing.T) {
			m, ok := MetricByName(tt.metric)
			if !ok {
				t.Fatalf("no metric %q", tt.metric)
			}
			got := m.Compute(rep, tt.scope)
			if math.Abs(got.Value-tt.want) > 1e-12 || got.NoData != tt.noData {
				t.Errorf("value %v (no data %v), want %v (no data %v)", got.Value, got.NoData, tt.want, tt.noData)
			}
			var ids []uint64
			for _, b := range got.Blame {
				ids = append(ids, b.Flow)
			}
			if !reflect.DeepEqual(ids, tt.wantFlows) {
				t.Errorf("blame flows %v, want %v", ids, tt.wantFlows)
			}
		})
	}
}

func TestBlameIsCappedAndCarriesEvidence(t *testing.T) {
	rep := &report.Report{}
	for i := uint64(1); i <= 9; i++ {
		// flow i has i retransmissions, at packets i*100+1 ...
		pkts := make([]uint64, 0, i)
		for j := uint64(i); j >= 1; j-- {
			pkts = append(pkts, i*100+j)
		}
		rep.Flows = append(rep.Flows, mkFlow(i, "192.0.2.1:1000", "10.0.0.1:80", 10, finding("retransmission", notice, i, pkts...)))
	}
	m, _ := MetricByName("retransmission_rate")
	got := m.Compute(rep, Scope{})
	if len(got.Blame) != MaxBlame {
		t.Fatalf("%d blamed, want %d", len(got.Blame), MaxBlame)
	}
	want := Blame{
		Flow: 9, Orig: "192.0.2.1:1000", Resp: "10.0.0.1:80", Kind: "",
		Value: 9, Packets: []uint64{901, 902, 903, 904, 905},
	}
	if !reflect.DeepEqual(got.Blame[0], want) {
		t.Errorf("first blame %+v, want %+v", got.Blame[0], want)
	}
	for i, b := range got.Blame {
		if b.Flow != uint64(9-i) {
			t.Errorf("blame %d is flow %d, want %d", i, b.Flow, 9-i)
		}
	}
}

func TestPercentileNearestRank(t *testing.T) {
	tests := []struct {
		rtts     []float64
		p50, p99 float64
	}{
		{[]float64{7}, 7, 7},
		{[]float64{1, 2}, 1, 2},
		{[]float64{4, 1, 3, 2}, 2, 4},
		{func() []float64 {
			v := make([]float64, 200)
			for i := range v {
				v[i] = float64(200 - i) // 200 .. 1
			}
			return v
		}(), 100, 198},
	}
	for _, tt := range tests {
		rep := &report.Report{}
		for i, v := range tt.rtts {
			rep.Flows = append(rep.Flows, mkFlow(uint64(i+1), "192.0.2.1:1", "10.0.0.1:80", 3, rtt(v)))
		}
		p50, _ := MetricByName("handshake_rtt_p50_ms")
		p99, _ := MetricByName("handshake_rtt_p99_ms")
		if got := p50.Compute(rep, Scope{}).Value; got != tt.p50 {
			t.Errorf("%v: p50 = %v, want %v", tt.rtts, got, tt.p50)
		}
		if got := p99.Compute(rep, Scope{}).Value; got != tt.p99 {
			t.Errorf("%v: p99 = %v, want %v", tt.rtts, got, tt.p99)
		}
	}
}

func TestScopeMatch(t *testing.T) {
	tests := []struct {
		scope Scope
		orig  string
		resp  string
		want  bool
	}{
		{Scope{}, "garbage", "garbage", true},
		{Scope{ServerPorts: []uint16{80}}, "192.0.2.1:80", "10.0.0.1:443", false},
		{Scope{ServerPorts: []uint16{80, 443}}, "192.0.2.1:5000", "10.0.0.1:443", true},
		{Scope{ServerPorts: []uint16{80}}, "192.0.2.1:5000", "garbage", false},
		{Scope{Servers: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, "192.0.2.1:5000", "10.9.9.9:22", true},
		{Scope{Servers: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, "10.0.0.1:5000", "192.0.2.1:22", false},
		{Scope{Servers: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}}, "192.0.2.1:5000", "[::ffff:10.0.0.1]:22", true},
		{Scope{Servers: []netip.Prefix{netip.MustParsePrefix("2001:db8::/32")}}, "[2001:db8::1]:5000", "[2001:db8::2]:22", true},
		{Scope{Clients: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}, "192.0.2.1:5000", "10.0.0.1:22", true},
		{Scope{Clients: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, ServerPorts: []uint16{80}}, "192.0.2.1:5000", "10.0.0.1:22", false},
	}
	for _, tt := range tests {
		f := report.Flow{Orig: tt.orig, Resp: tt.resp}
		if got := tt.scope.Match(&f); got != tt.want {
			t.Errorf("%s: %s -> %s = %v, want %v", tt.scope, tt.orig, tt.resp, got, tt.want)
		}
	}
}

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "10.0.0.1", want: "10.0.0.1/32"},
		{in: "10.1.2.3/8", want: "10.0.0.0/8"},
		{in: "2001:db8::1", want: "2001:db8::1/128"},
		{in: "::ffff:10.0.0.1", want: "10.0.0.1/32"},
		{in: "::ffff:10.0.0.0/104", want: "10.0.0.0/8"},
		{in: "::ffff:0:0/64", bad: true},
		{in: "host.example", bad: true},
		{in: "10.0.0.0/33", bad: true},
	}
	for _, tt := range tests {
		got, err := ParsePrefix(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("%q: no error, got %v", tt.in, got)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("%q = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

// TestRatesDivideBySequenceSegments: with the seq_packets fields, rates divide
// by the segments that could be retransmitted, not by pure ACKs too.
func TestRatesDivideBySequenceSegments(t *testing.T) {
	f := mkFlow(1, "192.0.2.1:1000", "10.0.0.1:80", 100, finding("retransmission", notice, 2, 7, 9))
	m, _ := MetricByName("retransmission_rate")
	before := m.Compute(&report.Report{Flows: []report.Flow{f}}, Scope{}).Value
	f.OrigSeqPackets, f.RespSeqPackets = 30, 10
	after := m.Compute(&report.Report{Flows: []report.Flow{f}}, Scope{}).Value
	if after != 2.0/40 || before == after {
		t.Fatalf("rate %v with seq packets (want %v), %v without", after, 2.0/40, before)
	}
}

// TestPercentilesShareTheirRTTs: the p50 and p99 of one evaluation keep one
// list of RTTs between them and still give what each computes alone, over
// several chunks of RTTs, and again when flows are added after a result.
func TestPercentilesShareTheirRTTs(t *testing.T) {
	p := Default()
	p.Max["handshake_rtt_p50_ms"] = 1e9
	p.Max["handshake_rtt_p99_ms"] = 1e9
	e := NewEvaluator(p)
	var stores []*rttStore
	for _, a := range e.accs {
		if r, ok := a.(*rtts); ok {
			stores = append(stores, r.store)
		}
	}
	if len(stores) != 2 || stores[0] != stores[1] {
		t.Fatalf("the percentiles keep %d stores, want one shared: %v", len(stores), stores)
	}
	rep := &report.Report{}
	add := func(n int) {
		for range n {
			i := len(rep.Flows)
			// A spread of values in no order, some equal.
			f := mkFlow(uint64(i+1), "192.0.2.1:1", "10.0.0.1:80", 3, rtt(float64((i*7919)%5003)/10))
			rep.Flows = append(rep.Flows, f)
			e.Add(&f)
		}
	}
	check := func() {
		t.Helper()
		res := e.Result(&report.Report{}, nil)
		for _, name := range []string{"handshake_rtt_p50_ms", "handshake_rtt_p99_ms"} {
			m, _ := MetricByName(name)
			want := m.Compute(rep, Scope{}).Value
			found := false
			for _, r := range res.Rules {
				if r.Subject == name && r.Type == RuleMax {
					found = true
					if r.Measured != want {
						t.Errorf("%d flows: %s measured %v, alone %v", len(rep.Flows), name, r.Measured, want)
					}
				}
			}
			if !found {
				t.Errorf("no rule for %s", name)
			}
		}
	}
	add(3 * rttChunk / 2)
	check()
	add(rttChunk)
	check()
}
