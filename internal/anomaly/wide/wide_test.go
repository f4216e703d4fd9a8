package wide

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// t0 is the capture's first timestamp in the tests.
const t0 = int64(1_700_000_000) * 1e9

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// host returns the i-th address of 10.x.y.z.
func host(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

// at returns t0 plus seconds.
func at(s float64) int64 { return t0 + int64(s*1e9) }

// spread calls fn n times evenly spread over [from, from+dur) seconds.
func spread(n int, from, dur float64, fn func(i int, t int64)) {
	for i := 0; i < n; i++ {
		fn(i, at(from+dur*float64(i)/float64(n)))
	}
}

func kinds(fs []report.Anomaly) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Kind)
	}
	return out
}

func only(t *testing.T, fs []report.Anomaly, kind string) *report.Anomaly {
	t.Helper()
	if len(fs) != 1 || fs[0].Kind != kind {
		t.Fatalf("findings %v, want one %s", kinds(fs), kind)
	}
	return &fs[0]
}

func TestSynFlood(t *testing.T) {
	server := ap("192.0.2.10:443")
	other := ap("192.0.2.11:80")
	type want struct {
		dst       string
		peak      uint32
		sources   int
		maxRatio  float64
		minSpan   float64
		maxSpanS  float64
		count     uint64
		countSlop uint64
	}
	cases := []struct {
		name string
		feed func(d *Detector)
		want *want
	}{
		{
			name: "spoofed flood, 1% completed",
			feed: func(d *Detector) {
				spread(4000, 0, 20, func(i int, t int64) {
					src := netip.AddrPortFrom(host(i%1000), uint16(1024+i))
					d.SYN(t, src, server, uint64(i+1))
					if i%100 == 0 {
						d.Handshake(t+1e6, src, server)
					}
				})
			},
			want: &want{dst: server.String(), peak: 200, sources: 1000, maxRatio: 0.02, minSpan: 19, maxSpanS: 20.1, count: 4000},
		},
		{
			name: "busy server that completes its handshakes is not a flood",
			feed: func(d *Detector) {
				spread(10000, 0, 20, func(i int, t int64) {
					src := netip.AddrPortFrom(host(i%5000), uint16(1024+i%60000))
					d.SYN(t, src, server, uint64(i+1))
					d.Handshake(t+2e6, src, server)
				})
			},
		},
		{
			name: "completion just above the threshold is not a flood",
			feed: func(d *Detector) {
				spread(3000, 0, 15, func(i int, t int64) {
					src := netip.AddrPortFrom(host(i), 40000)
					d.SYN(t, src, server, uint64(i+1))
					if i%4 == 0 { // 25 %
						d.Handshake(t+1e6, src, server)
					}
				})
			},
		},
		{
			name: "rate under the threshold",
			feed: func(d *Detector) {
				spread(1500, 0, 30, func(i int, t int64) { // 50 SYN/s, none answered
					d.SYN(t, netip.AddrPortFrom(host(i), 40000), server, uint64(i+1))
				})
			},
		},
		{
			name: "one-second burst does not reach the 10 s average",
			feed: func(d *Detector) {
				spread(900, 5, 1, func(i int, t int64) {
					d.SYN(t, netip.AddrPortFrom(host(i), 40000), server, uint64(i+1))
				})
			},
		},
		{
			name: "only the flooded destination is reported",
			feed: func(d *Detector) {
				spread(3000, 0, 10, func(i int, t int64) {
					d.SYN(t, netip.AddrPortFrom(host(i%7), uint16(1024+i)), other, uint64(2*i+1))
					src := netip.AddrPortFrom(host(100000+i), 5000)
					d.SYN(t, src, server, uint64(2*i+2))
					d.Handshake(t+1e6, src, server)
				})
			},
			want: &want{dst: other.String(), peak: 300, sources: 7, maxRatio: 0, minSpan: 9, maxSpanS: 10.1, count: 3000, countSlop: 0},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := New(DefaultConfig())
			tc.feed(d)
			fs := d.Findings()
			if tc.want == nil {
				if len(fs) != 0 {
					t.Fatalf("findings %v, want none: %s", kinds(fs), fs[0].Message)
				}
				return
			}
			f := only(t, fs, "syn_flood")
			w := tc.want
			det := f.Details
			if det["destination"] != w.dst {
				t.Errorf("destination %v, want %s", det["destination"], w.dst)
			}
			if det["peak_syn_per_s"] != w.peak {
				t.Errorf("peak_syn_per_s %v, want %d", det["peak_syn_per_s"], w.peak)
			}
			if det["distinct_sources"] != w.sources {
				t.Errorf("distinct_sources %v, want %d", det["distinct_sources"], w.sources)
			}
			if r := det["completion_ratio"].(float64); r > w.maxRatio {
				t.Errorf("completion_ratio %v, want <= %v", r, w.maxRatio)
			}
			if s := det["span_s"].(float64); s < w.minSpan || s > w.maxSpanS {
				t.Errorf("span_s %v, want in [%v, %v]", s, w.minSpan, w.maxSpanS)
			}
			if f.Count+w.countSlop < w.count || f.Count > w.count+w.countSlop {
				t.Errorf("count %d, want %d±%d", f.Count, w.count, w.countSlop)
			}
			if len(f.Packets) != 5 || len(f.Times) != 5 {
				t.Errorf("evidence %v %v, want 5 packets and times", f.Packets, f.Times)
			}
			if f.Severity != report.SeverityError || !strings.Contains(f.Message, w.dst) {
				t.Errorf("severity %s message %q", f.Severity, f.Message)
			}
		})
	}
}

func TestTimeWaitStorm(t *testing.T) {
	client := ap("198.51.100.7:0")
	server := ap("203.0.113.5:8080")
	feed := func(rate, secs float64, origCloses bool) func(d *Detector) {
		return func(d *Detector) {
			n := int(rate * secs)
			spread(n, 0, secs, func(i int, tm int64) {
				c := netip.AddrPortFrom(client.Addr(), uint16(32768+i%28232))
				d.TimeWait(tm, c, server, origCloses, uint64(i+1), uint64(10*i+9))
			})
		}
	}
	cases := []struct {
		name     string
		feed     func(d *Detector)
		none     bool
		severity report.Severity
		closer   string
		minPeak  uint64
		maxPeak  uint64
		minRate  float64
		exhaustS [2]float64
	}{
		{name: "50% of the range in 60 s", feed: feed(240, 60, true),
			severity: report.SeverityWarning, closer: "client", minPeak: 14116, maxPeak: 14400, minRate: 239, exhaustS: [2]float64{115, 119}},
		{name: "a rate that would exhaust the range", feed: feed(600, 10, true),
			severity: report.SeverityWarning, closer: "client", minPeak: 5000, maxPeak: 6000, minRate: 500, exhaustS: [2]float64{47, 57}},
		{name: "90% of the range is an error", feed: feed(480, 60, true),
			severity: report.SeverityError, closer: "client", minPeak: 25409, maxPeak: 28800, minRate: 470, exhaustS: [2]float64{58, 61}},
		{name: "the server closes first", feed: feed(600, 10, false),
			severity: report.SeverityWarning, closer: "server", minPeak: 5000, maxPeak: 6000, minRate: 500, exhaustS: [2]float64{47, 57}},
		{name: "sustained but safe rate", feed: feed(100, 120, true), none: true},
		{name: "many clients each under the limit", none: true, feed: func(d *Detector) {
			spread(30000, 0, 60, func(i int, tm int64) {
				c := netip.AddrPortFrom(host(i%100), uint16(32768+i%28232))
				d.TimeWait(tm, c, server, true, uint64(i+1), uint64(i+1))
			})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := New(DefaultConfig())
			tc.feed(d)
			fs := d.Findings()
			if tc.none {
				if len(fs) != 0 {
					t.Fatalf("findings %v, want none: %s", kinds(fs), fs[0].Message)
				}
				return
			}
			f := only(t, fs, "time_wait_storm")
			det := f.Details
			if f.Severity != tc.severity {
				t.Errorf("severity %s, want %s", f.Severity, tc.severity)
			}
			if det["closer"] != tc.closer {
				t.Errorf("closer %v, want %s", det["closer"], tc.closer)
			}
			if p := det["peak_count"].(uint64); p < tc.minPeak || p > tc.maxPeak {
				t.Errorf("peak_count %d, want in [%d, %d]", p, tc.minPeak, tc.maxPeak)
			}
			if r := det["rate_per_s"].(float64); r < tc.minRate {
				t.Errorf("rate_per_s %v, want >= %v", r, tc.minRate)
			}
			if e := det["ports_exhausted_in_s"].(float64); e < tc.exhaustS[0] || e > tc.exhaustS[1] {
				t.Errorf("ports_exhausted_in_s %v, want in %v", e, tc.exhaustS)
			}
			if len(f.Flows) != 5 || len(f.Packets) != 5 {
				t.Errorf("evidence flows %v packets %v", f.Flows, f.Packets)
			}
			if !strings.Contains(f.Message, tc.closer) {
				t.Errorf("message %q does not name the %s", f.Message, tc.closer)
			}
		})
	}
}

// flow builds a finished flow for FlowEnd.
func flow(id uint64, orig, resp string, state string, start, dur float64, bytes uint64) *report.Flow {
	return &report.Flow{
		ID: id, Orig: orig, Resp: resp, ConnState: state,
		FirstPacket: id * 10, Start: report.Time(at(start)), End: report.Time(at(start + dur)),
		OrigBytes: bytes,
	}
}

func TestPortScan(t *testing.T) {
	cases := []struct {
		name    string
		flows   func(emit func(*report.Flow))
		pattern string
		targets int
		failed  uint64
		spread  string // the hosts and ports the message names
	}{
		{
			name: "vertical scan with a few open ports",
			flows: func(emit func(*report.Flow)) {
				for p := 1; p <= 100; p++ {
					st := "REJ"
					if p%33 == 0 {
						st = "SF"
					}
					emit(flow(uint64(p), "203.0.113.66:40000", fmt.Sprintf("10.0.0.1:%d", p), st, float64(p)*0.01, 0.001, 0))
				}
			},
			pattern: "vertical", targets: 97, failed: 97, spread: "(1 host, 97 ports;",
		},
		{
			name: "horizontal scan of port 22, unanswered",
			flows: func(emit func(*report.Flow)) {
				for h := 1; h <= 50; h++ {
					emit(flow(uint64(h), fmt.Sprintf("203.0.113.66:%d", 50000+h), host(h).String()+":22", "S0", float64(h), 3, 0))
				}
			},
			pattern: "horizontal", targets: 50, failed: 50, spread: "(50 hosts, 1 port;",
		},
		{
			name: "SYN scan that resets open ports counts them as failed",
			flows: func(emit func(*report.Flow)) {
				for p := 1; p <= 30; p++ {
					f := flow(uint64(p), "203.0.113.66:40000", fmt.Sprintf("10.0.0.1:%d", 1000+p), "RSTO", float64(p)*0.01, 0.001, 0)
					f.Anomalies = []report.Anomaly{{Kind: "half_open"}}
					emit(f)
				}
			},
			pattern: "vertical", targets: 30, failed: 30, spread: "(1 host, 30 ports;",
		},
		{
			name: "busy legitimate client with some dead services",
			flows: func(emit func(*report.Flow)) {
				id := uint64(0)
				for i := 0; i < 1000; i++ {
					id++
					emit(flow(id, "10.1.1.1:40000", fmt.Sprintf("10.2.0.%d:443", i%100), "SF", float64(i)*0.2, 0.1, 500))
				}
				for i := 0; i < 30; i++ {
					id++
					emit(flow(id, "10.1.1.1:40001", fmt.Sprintf("10.3.0.%d:443", i), "REJ", float64(i), 0.001, 0))
				}
			},
		},
		{
			name: "too few targets",
			flows: func(emit func(*report.Flow)) {
				for p := 1; p <= 24; p++ {
					emit(flow(uint64(p), "203.0.113.66:40000", fmt.Sprintf("10.0.0.1:%d", p), "REJ", float64(p), 0.001, 0))
				}
			},
		},
		{
			name: "slow scan spread thinner than the window",
			flows: func(emit func(*report.Flow)) {
				for p := 1; p <= 100; p++ { // one probe every 20 s: 15 per 5 min
					emit(flow(uint64(p), "203.0.113.66:40000", fmt.Sprintf("10.0.0.1:%d", p), "S0", float64(p)*20, 3, 0))
				}
			},
		},
		{
			name: "midstream flows are not attempts",
			flows: func(emit func(*report.Flow)) {
				for p := 1; p <= 100; p++ {
					f := flow(uint64(p), "203.0.113.66:40000", fmt.Sprintf("10.0.0.1:%d", p), "OTH", float64(p)*0.01, 0.001, 0)
					f.Midstream = true
					emit(f)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := New(DefaultConfig())
			tc.flows(d.FlowEnd)
			fs := d.Findings()
			if tc.pattern == "" {
				if len(fs) != 0 {
					t.Fatalf("findings %v, want none: %s", kinds(fs), fs[0].Message)
				}
				return
			}
			f := only(t, fs, "port_scan")
			if p := f.Details["pattern"].(string); !strings.HasPrefix(p, tc.pattern) {
				t.Errorf("pattern %q, want %s", p, tc.pattern)
			}
			if n := f.Details["distinct_targets"]; n != tc.targets {
				t.Errorf("distinct_targets %v, want %d", n, tc.targets)
			}
			if f.Count != tc.failed {
				t.Errorf("count %d, want %d", f.Count, tc.failed)
			}
			if !strings.Contains(f.Message, tc.spread) {
				t.Errorf("message %q does not say %q", f.Message, tc.spread)
			}
			// The message's breakdown accounts for every failed attempt.
			m := failedBreakdown.FindStringSubmatch(f.Message)
			if m == nil {
				t.Fatalf("message %q has no breakdown of the failed attempts", f.Message)
			}
			var sum uint64
			for _, n := range m[1:] {
				v, _ := strconv.ParseUint(n, 10, 64) // "" (no half-open part) is 0
				sum += v
			}
			if sum != tc.failed {
				t.Errorf("message %q: the breakdown adds up to %d, want %d failed", f.Message, sum, tc.failed)
			}
			if f.Details["source"] != "203.0.113.66" || len(f.Flows) != 5 {
				t.Errorf("source %v flows %v", f.Details["source"], f.Flows)
			}
		})
	}
}

// failedBreakdown reads the breakdown of a port_scan message's failed attempts.
var failedBreakdown = regexp.MustCompile(`failed \((\d+) refused, (\d+) unanswered(?:, (\d+) left half-open)?\)`)

func TestRSTStorm(t *testing.T) {
	cases := []struct {
		name  string
		feed  func(d *Detector)
		peakS uint32
		count uint64
	}{
		{
			name: "2000 RSTs in 5 s from one host",
			feed: func(d *Detector) {
				spread(2000, 0, 5, func(i int, tm int64) {
					d.RST(tm, ap("10.9.9.9:80"), netip.AddrPortFrom(host(i%300), 40000), uint64(i+1))
				})
			},
			peakS: 400, count: 2000 - 999,
		},
		{
			name: "steady 50 RST/s is not a storm",
			feed: func(d *Detector) {
				spread(3000, 0, 60, func(i int, tm int64) {
					d.RST(tm, ap("10.9.9.9:80"), netip.AddrPortFrom(host(i), 40000), uint64(i+1))
				})
			},
		},
		{
			name: "many senders each below the threshold",
			feed: func(d *Detector) {
				spread(5000, 0, 5, func(i int, tm int64) {
					d.RST(tm, netip.AddrPortFrom(host(i%100), 80), ap("10.9.9.9:40000"), uint64(i+1))
				})
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := New(DefaultConfig())
			tc.feed(d)
			fs := d.Findings()
			if tc.count == 0 {
				if len(fs) != 0 {
					t.Fatalf("findings %v, want none: %s", kinds(fs), fs[0].Message)
				}
				return
			}
			f := only(t, fs, "rst_storm")
			if f.Details["peak_rst_per_s"] != tc.peakS {
				t.Errorf("peak_rst_per_s %v, want %d", f.Details["peak_rst_per_s"], tc.peakS)
			}
			if f.Count < tc.count {
				t.Errorf("count %d, want >= %d", f.Count, tc.count)
			}
			if f.Details["peak_count"].(uint64) != 2000 || f.Details["distinct_peers"] != 300 {
				t.Errorf("details %v", f.Details)
			}
		})
	}
}

func TestConnectionFlood(t *testing.T) {
	cases := []struct {
		name string
		feed func(emit func(*report.Flow))
		peak int
	}{
		{
			name: "150 idle connections held together",
			feed: func(emit func(*report.Flow)) {
				for i := 0; i < 150; i++ {
					emit(flow(uint64(i+1), fmt.Sprintf("203.0.113.9:%d", 40000+i), "10.0.0.80:80", "S1", float64(i)*0.1, 120, 200))
				}
			},
			peak: 150,
		},
		{
			name: "busy connections are not idle",
			feed: func(emit func(*report.Flow)) {
				for i := 0; i < 150; i++ {
					emit(flow(uint64(i+1), fmt.Sprintf("203.0.113.9:%d", 40000+i), "10.0.0.80:80", "SF", float64(i)*0.1, 120, 1<<20))
				}
			},
		},
		{
			name: "idle connections one after another",
			feed: func(emit func(*report.Flow)) {
				for i := 0; i < 150; i++ {
					emit(flow(uint64(i+1), fmt.Sprintf("203.0.113.9:%d", 40000+i), "10.0.0.80:80", "SF", float64(i)*40, 35, 0))
				}
			},
		},
		{
			name: "half-open attempts are not established",
			feed: func(emit func(*report.Flow)) {
				for i := 0; i < 150; i++ {
					emit(flow(uint64(i+1), fmt.Sprintf("203.0.113.9:%d", 40000+i), "10.0.0.80:80", "S0", 0, 60, 0))
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := New(DefaultConfig())
			tc.feed(d.FlowEnd)
			var fs []report.Anomaly
			for _, f := range d.Findings() {
				if f.Kind != "port_scan" {
					fs = append(fs, f)
				}
			}
			if tc.peak == 0 {
				if len(fs) != 0 {
					t.Fatalf("findings %v, want none: %s", kinds(fs), fs[0].Message)
				}
				return
			}
			f := only(t, fs, "connection_flood")
			if f.Details["peak_concurrent"] != tc.peak || len(f.Flows) != 5 {
				t.Errorf("details %v flows %v", f.Details, f.Flows)
			}
		})
	}
}

// mixed feeds one of every capture-wide pattern through emit, which routes
// each event to a detector.
func mixed(route func(key string) *Detector) {
	spread(3000, 0, 10, func(i int, tm int64) {
		dst := ap("192.0.2.10:443")
		if i%2 == 1 {
			dst = ap("192.0.2.12:443")
		}
		src := netip.AddrPortFrom(host(i), 1024)
		route(dst.String()).SYN(tm, src, dst, uint64(i+1))
	})
	spread(6000, 20, 10, func(i int, tm int64) {
		c := netip.AddrPortFrom(host(1), uint16(32768+i))
		route("tw").TimeWait(tm, c, ap("192.0.2.20:80"), true, uint64(i+1), uint64(i+1))
	})
	for p := 1; p <= 60; p++ {
		f := flow(uint64(p), "203.0.113.66:40000", fmt.Sprintf("10.0.0.1:%d", p), "REJ", 40+float64(p)*0.01, 0.001, 0)
		route("203.0.113.66").FlowEnd(f)
		g := flow(uint64(100+p), "203.0.113.67:40000", fmt.Sprintf("10.0.0.2:%d", p), "S0", 40+float64(p)*0.01, 3, 0)
		route("203.0.113.67").FlowEnd(g)
	}
	spread(1500, 50, 2, func(i int, tm int64) {
		route("rst").RST(tm, ap("10.9.9.9:80"), netip.AddrPortFrom(host(i), 40000), uint64(i+1))
	})
}

func TestMergeByKeyIsExact(t *testing.T) {
	one := New(DefaultConfig())
	mixed(func(string) *Detector { return one })
	want := one.Findings()
	if got := kinds(want); !reflect.DeepEqual(got, []string{"syn_flood", "syn_flood", "time_wait_storm", "port_scan", "port_scan", "rst_storm"}) {
		t.Fatalf("single detector found %v", got)
	}

	shards := []*Detector{New(DefaultConfig()), New(DefaultConfig()), New(DefaultConfig())}
	mixed(func(key string) *Detector {
		h := 0
		for _, c := range key {
			h = h*31 + int(c)
		}
		return shards[(h%3+3)%3]
	})
	merged := shards[0]
	merged.Merge(shards[1])
	merged.Merge(shards[2])
	got := merged.Findings()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("merged findings differ:\n got  %v\n want %v", kinds(got), kinds(want))
		for i := range min(len(got), len(want)) {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("%d: got %+v\nwant %+v", i, got[i], want[i])
			}
		}
	}
}

func TestFindingsIsRepeatableAndOrdered(t *testing.T) {
	d := New(DefaultConfig())
	mixed(func(string) *Detector { return d })
	a, b := d.Findings(), d.Findings()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("Findings changed the detector")
	}
	for i := 1; i < len(a); i++ {
		if a[i-1].Kind == a[i].Kind && a[i-1].Details["start"].(report.Time) > a[i].Details["start"].(report.Time) {
			t.Errorf("findings %d and %d out of order", i-1, i)
		}
	}
}

func TestBoundedKeys(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxKeys = 100
	d := New(cfg)
	// 1000 one-SYN destinations in one second: the table holds 100 at a
	// time, the lighter half (here all) making room for new ones.
	for i := 0; i < 1000; i++ {
		d.SYN(at(0), netip.AddrPortFrom(host(1), 1024), netip.AddrPortFrom(host(i), 80), uint64(i+1))
	}
	if st := d.Stats(); st.Untracked != 0 || st.Evicted != 900 {
		t.Errorf("untracked %d, evicted %d; want 0 and 900", st.Untracked, st.Evicted)
	}
	if n := len(d.syn.live); n != 100 {
		t.Errorf("%d keys, want 100", n)
	}
	// A minute later a flood is tracked.
	spread(3000, 60, 10, func(i int, tm int64) {
		d.SYN(tm, netip.AddrPortFrom(host(i), 1024), ap("192.0.2.10:443"), uint64(i+1))
	})
	f := only(t, d.Findings(), "syn_flood")
	if f.Details["destination"] != "192.0.2.10:443" {
		t.Errorf("destination %v", f.Details["destination"])
	}
}

// TestFullTablesKeepHeavyKeys: a storm's key survives a table churned by
// thousands of one-event keys (a busy server's clients), whichever comes
// first; keys with an episode under way are never evicted.
func TestFullTablesKeepHeavyKeys(t *testing.T) {
	server := ap("192.0.2.10:443")
	tests := []struct {
		name string
		feed func(d *Detector)
		kind string
	}{
		{"time_wait_storm among new clients", func(d *Detector) {
			// One client closes 500 connections a second to the server,
			// from when the table is already full, while 20 000 other
			// clients make one connection each.
			spread(20000, 0, 20, func(i int, tm int64) {
				d.TimeWait(tm, netip.AddrPortFrom(host(1<<16+i), 40000), server, true, uint64(i+1), uint64(i+1))
				if i >= 5000 && i%2 == 0 {
					d.TimeWait(tm, ap("10.200.0.1:33000"), server, true, uint64(i+1), uint64(i+1))
				}
			})
		}, "time_wait_storm"},
		{"port_scan among new clients", func(d *Detector) {
			f := report.Flow{ConnState: "SF"}
			scan := report.Flow{ConnState: "REJ"}
			spread(20000, 0, 20, func(i int, tm int64) {
				f.Start, f.End = report.Time(tm), report.Time(tm+1e6)
				d.FlowEndAt(&f, netip.AddrPortFrom(host(1<<16+i), 40000), server)
				if i >= 5000 && i%100 == 0 {
					scan.Start, scan.End = report.Time(tm), report.Time(tm+1e6)
					d.FlowEndAt(&scan, ap("10.200.0.2:33000"), netip.AddrPortFrom(host(i/100), 22))
				}
			})
		}, "port_scan"},
		{"rst_storm among new senders", func(d *Detector) {
			spread(20000, 0, 5, func(i int, tm int64) {
				d.RST(tm, netip.AddrPortFrom(host(1<<16+i), 40000), server, uint64(i+1))
				if i >= 5000 {
					d.RST(tm, ap("10.200.0.3:443"), netip.AddrPortFrom(host(i), 1000), uint64(i+1))
				}
			})
		}, "rst_storm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MaxKeys = 1000
			d := New(cfg)
			tt.feed(d)
			var got []string
			for _, f := range d.Findings() {
				got = append(got, f.Kind)
			}
			if !slices.Contains(got, tt.kind) {
				t.Errorf("findings %v, want %s", got, tt.kind)
			}
			if st := d.Stats(); st.Evicted == 0 {
				t.Errorf("nothing evicted: the table never filled (%+v)", st)
			}
		})
	}
	// Four destinations flooded at once fill a table of four: their
	// episodes are under way, so a fifth destination is not tracked.
	cfg := DefaultConfig()
	cfg.MaxKeys = 4
	d := New(cfg)
	spread(8000, 0, 4, func(i int, tm int64) {
		d.SYN(tm, netip.AddrPortFrom(host(i), 1024), netip.AddrPortFrom(host(1<<20+i%4), 80), uint64(i+1))
	})
	d.SYN(at(4), ap("10.9.9.9:1024"), ap("192.0.2.99:80"), 9000)
	if st := d.Stats(); st.Untracked != 1 || st.Evicted != 0 {
		t.Errorf("untracked %d, evicted %d; want 1 and 0", st.Untracked, st.Evicted)
	}
}

func TestLateEvents(t *testing.T) {
	d := New(DefaultConfig())
	d.SYN(at(100), ap("10.0.0.1:1"), ap("10.0.0.2:80"), 1)
	d.SYN(at(50), ap("10.0.0.1:2"), ap("10.0.0.2:80"), 2)
	if d.Stats().Late != 1 {
		t.Errorf("late %d, want 1", d.Stats().Late)
	}
}

func TestConfig(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	bad := DefaultConfig()
	bad.SynFloodRate = 0
	bad.TimeWaitWarnShare = 1.5
	bad.ScanWindow = 2 * time.Hour
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad config validated")
	}
	for _, s := range []string{"syn flood rate", "TIME_WAIT warning share", "scan window"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %s", err, s)
		}
	}
	if got := New(bad).Config(); got.SynFloodRate != 100 || got.TimeWaitWarnShare != 0.5 || got.ScanWindow != 5*time.Minute {
		t.Errorf("New did not replace bad values: %+v", got)
	}
	zero := DefaultConfig()
	zero.ConnFloodMaxRate = 0 // a valid setting: no payload at all
	if got := New(Config{}).Config(); got != zero {
		t.Errorf("zero config became %+v", got)
	}
}

func TestRing(t *testing.T) {
	r := newRing(3)
	for _, c := range []struct {
		s        int64
		bucket   uint32
		sum      uint64
		sumLater uint64 // at s+2
	}{
		{10, 1, 1, 1},
		{10, 2, 2, 2},
		{11, 1, 3, 1},
		{13, 1, 2, 1},
		{10, 0, 2, 1}, // too old
		{20, 1, 1, 1},
	} {
		if got := r.add(c.s); got != c.bucket || r.sum != c.sum {
			t.Errorf("add(%d) = %d, sum %d; want %d, %d", c.s, got, r.sum, c.bucket, c.sum)
		}
		if got := r.sumAt(r.head + 2); got != c.sumLater {
			t.Errorf("after add(%d) sumAt(+2) = %d, want %d", c.s, got, c.sumLater)
		}
	}
}

func BenchmarkSYN(b *testing.B) {
	d := New(DefaultConfig())
	dsts := make([]netip.AddrPort, 64)
	for i := range dsts {
		dsts[i] = netip.AddrPortFrom(host(i), 443)
	}
	srcs := make([]netip.AddrPort, 1024)
	for i := range srcs {
		srcs[i] = netip.AddrPortFrom(host(1<<16+i), uint16(1024+i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// 20000 SYN/s spread over 64 destinations: every one floods.
		d.SYN(t0+int64(i)*50_000, srcs[i%len(srcs)], dsts[i%len(dsts)], uint64(i))
	}
}

// TestFullTablesForgetIdleKeys: when a full table needs room, the keys idle
// for longer than their window go first and are not counted as evicted. The
// idle time is measured on the capture clock that every event moves, so
// this also checks that each kind of event moves it.
func TestFullTablesForgetIdleKeys(t *testing.T) {
	server := ap("192.0.2.10:443")
	tests := []struct {
		name string
		live func(d *Detector) int
		feed func(d *Detector, i int, tm int64) // the i-th key's event at tm
	}{
		{"syn_flood", func(d *Detector) int { return len(d.syn.live) }, func(d *Detector, i int, tm int64) {
			d.SYN(tm, netip.AddrPortFrom(host(1), 40000), netip.AddrPortFrom(host(1<<16+i), 80), uint64(i+1))
		}},
		{"rst_storm", func(d *Detector) int { return len(d.rst.live) }, func(d *Detector, i int, tm int64) {
			d.RST(tm, netip.AddrPortFrom(host(i), 443), server, uint64(i+1))
		}},
		{"time_wait_storm", func(d *Detector) int { return len(d.tw.live) }, func(d *Detector, i int, tm int64) {
			// Two events each: a key's first waits in probation once the
			// table is half full.
			for j := range 2 {
				d.TimeWait(tm, netip.AddrPortFrom(host(i), uint16(40000+j)), server, true, uint64(i+1), uint64(i+1))
			}
		}},
		{"port_scan", func(d *Detector) int { return len(d.scan.live) }, func(d *Detector, i int, tm int64) {
			f := report.Flow{ConnState: "SF", Start: report.Time(tm), End: report.Time(tm + 1e6)}
			for range 2 {
				d.FlowEndAt(&f, netip.AddrPortFrom(host(i), 40000), server)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MaxKeys = 4
			d := New(cfg)
			for i := range 4 {
				tt.feed(d, i, at(0))
			}
			if n := tt.live(d); n != 4 {
				t.Fatalf("%d live keys after four, want a full table of 4", n)
			}
			// An hour later, past every window, a fifth key.
			tt.feed(d, 4, at(3600))
			if st := d.Stats(); st.Evicted != 0 || st.Untracked != 0 {
				t.Errorf("stats %+v: the idle keys were evicted, not forgotten as idle", st)
			}
			if n := tt.live(d); n != 1 {
				t.Errorf("%d live keys, want only the new one", n)
			}
		})
	}
}

// TestSynFloodRecentMatchesLive: the SYN-flood detector's cache of recent
// destinations never hands out an entry that its table has forgotten.
// Random SYNs and handshakes to a few hundred destinations, over minutes,
// with room for 16 keys: sweeps and makeRoom forget destinations all the
// time, and after every event each cached entry must be the table's.
func TestSynFloodRecentMatchesLive(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxKeys = 16
	d := New(cfg)
	r := rand.New(rand.NewPCG(3, 4))
	tm := int64(0)
	for i := range 20_000 {
		tm += int64(r.IntN(50)) * 1e6 // up to 50 ms apart
		dst := netip.AddrPortFrom(host(r.IntN(300)), uint16(80+r.IntN(3)))
		if r.IntN(4) == 0 {
			d.Handshake(tm, netip.AddrPortFrom(host(1000), 1024), dst)
		} else {
			d.SYN(tm, netip.AddrPortFrom(host(2000+i), 1024), dst, uint64(i+1))
		}
		for j, c := range d.syn.recent {
			if c.e != nil && d.syn.live[c.key] != c.e {
				t.Fatalf("event %d: slot %d holds %v's entry %p, the table %p", i, j, c.key, c.e, d.syn.live[c.key])
			}
		}
	}
}

// TestScanTryKeepsAddresses: an attempt in its 64-byte form gives back its
// source and target, IPv4, IPv6 and IPv4-mapped IPv6 alike, and tells an
// IPv4 source from the same address mapped into IPv6.
func TestScanTryKeepsAddresses(t *testing.T) {
	if n := unsafe.Sizeof(scanTry{}); n != 64 {
		t.Fatalf("scanTry takes %d bytes, want one cache line", n)
	}
	addrs := []netip.AddrPort{ap("192.0.2.7:40000"), ap("[2001:db8::7]:443"), ap("[::ffff:192.0.2.7]:40000")}
	for _, src := range addrs {
		for _, dst := range addrs {
			f := report.Flow{ID: 9, FirstPacket: 3, Start: 5, ConnState: "REJ"}
			a := newScanTry(&f, src, dst)
			if a.srcAddr() != src.Addr() || a.target() != dst {
				t.Errorf("%v -> %v: gave back %v -> %v", src, dst, a.srcAddr(), a.target())
			}
			if a.state != 1 || a.bits&tryFailed == 0 || a.t != 5 || a.packet != 3 || a.flowID != 9 {
				t.Errorf("%v -> %v: %+v", src, dst, a)
			}
			for _, other := range addrs {
				b := newScanTry(&f, other, dst)
				if got, want := a.sameSource(&b), src.Addr() == other.Addr(); got != want {
					t.Errorf("%v and %v: same source %v, want %v", src, other, got, want)
				}
			}
		}
	}
}
