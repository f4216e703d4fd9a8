package engine

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

var (
	cli = netip.MustParseAddrPort("10.0.0.1:40000")
	srv = netip.MustParseAddrPort("10.0.0.2:80")
)

const (
	S = segment.SYN
	A = segment.ACK
	F = segment.FIN
	R = segment.RST
	P = segment.PSH
)

// pkt is one segment of a scripted exchange: at ms milliseconds, from the
// client (c2s) or the server.
type pkt struct {
	ms       int64
	c2s      bool
	flags    segment.Flags
	seq, ack uint32
	n        int
}

// run feeds the packets to a fresh engine and returns the report.
func run(t *testing.T, cfg Config, pkts []pkt) *report.Report {
	t.Helper()
	e := New(cfg)
	for i, p := range pkts {
		s := segment.Segment{Frame: uint64(i + 1), Time: p.ms * int64(time.Millisecond),
			Seq: seqnum.Value(p.seq), Ack: seqnum.Value(p.ack), Flags: p.flags, Window: 65535,
			PayloadLen: p.n, Payload: make([]byte, p.n), IPLen: 40 + p.n}
		if p.c2s {
			s.Src, s.Dst = cli, srv
		} else {
			s.Src, s.Dst = srv, cli
		}
		e.Segment(&s)
	}
	return e.Finish([]string{"test"}, nil)
}

// exchange is a full connection: handshake, 100 bytes each way, client closes.
func exchange(at int64, isnC, isnS uint32) []pkt {
	return []pkt{
		{at, true, S, isnC, 0, 0},
		{at + 10, false, S | A, isnS, isnC + 1, 0},
		{at + 20, true, A, isnC + 1, isnS + 1, 0},
		{at + 21, true, A | P, isnC + 1, isnS + 1, 100},
		{at + 30, false, A | P, isnS + 1, isnC + 101, 100},
		{at + 40, true, F | A, isnC + 101, isnS + 101, 0},
		{at + 50, false, F | A, isnS + 101, isnC + 102, 0},
		{at + 60, true, A, isnC + 102, isnS + 102, 0},
	}
}

func kinds(f *report.Flow) map[string]uint64 {
	m := map[string]uint64{}
	for _, a := range f.Anomalies {
		m[a.Kind] = a.Count
	}
	return m
}

func TestEngineScenarios(t *testing.T) {
	tests := []struct {
		name  string
		pkts  []pkt
		check func(t *testing.T, r *report.Report)
	}{
		{
			name: "normal exchange",
			pkts: exchange(0, 1000, 5000),
			check: func(t *testing.T, r *report.Report) {
				f := r.Flows[0]
				if len(r.Flows) != 1 || f.ConnState != "SF" || f.History != "ShADdFf" {
					t.Fatalf("flows %d, conn_state %s, history %s", len(r.Flows), f.ConnState, f.History)
				}
				if f.OrigState != "TIME_WAIT" || f.RespState != "CLOSED" {
					t.Errorf("states %s/%s, want TIME_WAIT/CLOSED", f.OrigState, f.RespState)
				}
				if f.Orig != cli.String() || f.OrigBytes != 100 || f.RespBytes != 100 || f.OrigPackets != 5 || f.RespPackets != 3 {
					t.Errorf("counts wrong: %+v", f)
				}
				if f.HandshakeRTTMs == nil || *f.HandshakeRTTMs != 20 {
					t.Errorf("handshake RTT = %v, want 20 ms", f.HandshakeRTTMs)
				}
				if len(f.Anomalies) != 0 {
					t.Errorf("clean exchange has anomalies: %v", kinds(&f))
				}
			},
		},
		{
			name: "rejected",
			pkts: []pkt{{0, true, S, 1000, 0, 0}, {5, false, R | A, 0, 1001, 0}},
			check: func(t *testing.T, r *report.Report) {
				f := r.Flows[0]
				if f.ConnState != "REJ" || kinds(&f)["rejected"] != 1 {
					t.Fatalf("conn_state %s anomalies %v", f.ConnState, kinds(&f))
				}
			},
		},
		{
			name: "SYN retransmissions stay one half-open attempt",
			pkts: []pkt{{0, true, S, 1000, 0, 0}, {1000, true, S, 1000, 0, 0}, {3000, true, S, 1000, 0, 0}},
			check: func(t *testing.T, r *report.Report) {
				if len(r.Flows) != 1 {
					t.Fatalf("%d flows, want 1", len(r.Flows))
				}
				f := r.Flows[0]
				if f.ConnState != "S0" || kinds(&f)["half_open"] != 1 || kinds(&f)["retransmission"] != 2 {
					t.Fatalf("conn_state %s anomalies %v", f.ConnState, kinds(&f))
				}
			},
		},
		{
			name: "port reuse in TIME_WAIT is a premature new generation",
			pkts: append(exchange(0, 1000, 5000), exchange(1000, 9000, 7000)...),
			check: func(t *testing.T, r *report.Report) {
				if len(r.Flows) != 2 || r.Flows[1].Generation != 2 || r.Flows[0].EndReason != "reused" {
					t.Fatalf("flows %d, gen %d, end %s", len(r.Flows), r.Flows[len(r.Flows)-1].Generation, r.Flows[0].EndReason)
				}
				if kinds(&r.Flows[1])["port_reuse"] != 1 {
					t.Errorf("second generation lacks port_reuse: %v", kinds(&r.Flows[1]))
				}
			},
		},
		{
			name: "same ISN after TIME_WAIT expired is a new flow, not a reuse",
			pkts: append(exchange(0, 1000, 5000), exchange(200_000, 1000, 5000)...),
			check: func(t *testing.T, r *report.Report) {
				if len(r.Flows) != 2 || r.Flows[0].EndReason != "closed" || r.Flows[1].Generation != 1 {
					t.Fatalf("flows %d, first end %s, second gen %d", len(r.Flows), r.Flows[0].EndReason, r.Flows[len(r.Flows)-1].Generation)
				}
			},
		},
		{
			name: "midstream pickup with roles from the port",
			pkts: []pkt{{0, false, A | P, 5000, 1000, 200}, {10, true, A, 1000, 5200, 0}},
			check: func(t *testing.T, r *report.Report) {
				f := r.Flows[0]
				if !f.Midstream || f.Orig != cli.String() || f.RespBytes != 200 {
					t.Fatalf("midstream %v orig %s resp bytes %d", f.Midstream, f.Orig, f.RespBytes)
				}
			},
		},
		{
			// Zeek calls a flow whose originator closed while the responder
			// sent no data SH, SYN or not; seen from its FIN only, it is the
			// end of a connection, not an attempt that went unanswered.
			name: "a close picked up mid-stream is not half-open",
			pkts: []pkt{{0, true, F | A, 1000, 5000, 0}, {1, false, A, 5000, 1001, 0}},
			check: func(t *testing.T, r *report.Report) {
				f := r.Flows[0]
				if !f.Midstream || f.ConnState != "SH" || len(f.Anomalies) != 0 {
					t.Fatalf("midstream %v conn_state %s anomalies %v, want SH and none", f.Midstream, f.ConnState, kinds(&f))
				}
			},
		},
		{
			name: "SYN then FIN without a reply is half-open",
			pkts: []pkt{{0, true, S, 1000, 0, 0}, {1000, true, F, 1001, 0, 0}},
			check: func(t *testing.T, r *report.Report) {
				f := r.Flows[0]
				if f.Midstream || f.ConnState != "SH" || kinds(&f)["half_open"] != 1 {
					t.Fatalf("midstream %v conn_state %s anomalies %v, want SH and half_open", f.Midstream, f.ConnState, kinds(&f))
				}
			},
		},
		{
			// A tap that carries one direction only: the client's ACK of
			// the unseen SYN-ACK, its data and its FIN.
			name: "a handshake answered out of the capture's sight is not half-open",
			pkts: []pkt{{0, true, S, 1000, 0, 0}, {10, true, A, 1001, 5001, 0},
				{20, true, A | P, 1001, 5001, 100}, {30, true, A, 1101, 5200, 0}, {40, true, F | A, 1101, 5200, 0}},
			check: func(t *testing.T, r *report.Report) {
				f := r.Flows[0]
				if f.Midstream || f.ConnState != "SH" || kinds(&f)["half_open"] != 0 {
					t.Fatalf("midstream %v conn_state %s anomalies %v, want SH and no half_open", f.Midstream, f.ConnState, kinds(&f))
				}
			},
		},
		{
			name: "the same one-sided capture without its FIN is S0 and not half-open",
			pkts: []pkt{{0, true, S, 1000, 0, 0}, {10, true, A, 1001, 5001, 0}, {20, true, A | P, 1001, 5001, 100}},
			check: func(t *testing.T, r *report.Report) {
				f := r.Flows[0]
				if f.ConnState != "S0" || kinds(&f)["half_open"] != 0 {
					t.Fatalf("conn_state %s anomalies %v, want S0 and no half_open", f.ConnState, kinds(&f))
				}
			},
		},
		{
			name: "CLOSE_WAIT leak",
			pkts: append(exchange(0, 1000, 5000)[:5],
				pkt{40, true, F | A, 1101, 5101, 0},
				pkt{50, false, A, 5101, 1102, 0},
				pkt{8000, false, A | P, 5101, 1102, 10}),
			check: func(t *testing.T, r *report.Report) {
				f := r.Flows[0]
				if f.RespState != "CLOSE_WAIT" || kinds(&f)["close_wait_leak"] != 1 {
					t.Fatalf("resp %s anomalies %v", f.RespState, kinds(&f))
				}
			},
		},
		{
			name: "long idle",
			pkts: append(exchange(0, 1000, 5000)[:5], pkt{400_000, true, A | P, 1101, 5101, 10}),
			check: func(t *testing.T, r *report.Report) {
				f := r.Flows[0]
				if kinds(&f)["long_idle"] != 1 {
					t.Fatalf("anomalies %v, want long_idle", kinds(&f))
				}
			},
		},
		{
			name: "stuck TIME_WAIT: the peer keeps resending its FIN",
			pkts: append(exchange(0, 1000, 5000)[:7],
				pkt{1000, false, F | A, 5101, 1102, 0},
				pkt{3000, false, F | A, 5101, 1102, 0},
				pkt{7000, false, F | A, 5101, 1102, 0}),
			check: func(t *testing.T, r *report.Report) {
				f := r.Flows[0]
				if f.OrigState != "TIME_WAIT" || kinds(&f)["stuck_time_wait"] != 1 {
					t.Fatalf("orig %s anomalies %v, want TIME_WAIT and stuck_time_wait", f.OrigState, kinds(&f))
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, run(t, DefaultConfig(), tc.pkts))
		})
	}
}

func TestEngineEvictsOldestHalfOpenFirst(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxFlows = 2
	e := New(cfg)
	for i := 0; i < 5; i++ {
		s := segment.Segment{Frame: uint64(i + 1), Time: int64(i) * 1e6, Flags: S, Seq: 100,
			Src: netip.AddrPortFrom(cli.Addr(), uint16(40000+i)), Dst: srv}
		e.Segment(&s)
	}
	r := e.Finish(nil, nil)
	if r.Summary.Evicted != 3 || len(r.Flows) != 5 {
		t.Fatalf("evicted %d flows %d, want 3 and 5", r.Summary.Evicted, len(r.Flows))
	}
	for i, f := range r.Flows[:3] {
		if f.EndReason != "evicted" {
			t.Errorf("flow %d end %s, want evicted (oldest first)", i+1, f.EndReason)
		}
	}
}

func TestEngineZeekTimersSplitLikeZeek(t *testing.T) {
	// A SYN with no reply, then data 6 s later: Zeek's 5 s attempt timer ends
	// the first connection, so it is two rows; Linux timers keep one flow.
	pkts := []pkt{{0, true, S, 1000, 0, 0}, {6000, true, A | P, 1001, 5001, 10}}
	if n := len(run(t, DefaultConfig(), pkts).Flows); n != 1 {
		t.Errorf("linux timers: %d flows, want 1", n)
	}
	cfg := DefaultConfig()
	cfg.Timers = TimersZeek
	r := run(t, cfg, pkts)
	if len(r.Flows) != 2 || r.Flows[0].ConnState != "S0" {
		t.Fatalf("zeek timers: %d flows, first %s; want 2, S0", len(r.Flows), r.Flows[0].ConnState)
	}
}

func TestEngineConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	c.TimeWait = 0
	c.Timers = "bsd"
	err := c.Validate()
	if err == nil {
		t.Fatal("want errors for time-wait 0 and timers bsd")
	}
	for _, want := range []string{"--time-wait", "--timers"} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// feeder returns a function that gives e the packets ps between src and the
// server, numbering frames on from one call to the next.
func feeder(e *Engine) func(src netip.AddrPort, ps []pkt) {
	frame := uint64(0)
	return func(src netip.AddrPort, ps []pkt) {
		for _, p := range ps {
			frame++
			s := segment.Segment{Frame: frame, Time: p.ms * int64(time.Millisecond),
				Seq: seqnum.Value(p.seq), Ack: seqnum.Value(p.ack), Flags: p.flags, Window: 65535,
				PayloadLen: p.n, Payload: make([]byte, p.n)}
			s.Src, s.Dst = src, srv
			if !p.c2s {
				s.Src, s.Dst = srv, src
			}
			e.Segment(&s)
		}
	}
}

func TestEngineView(t *testing.T) {
	e := New(DefaultConfig())
	feed := feeder(e)
	// Three open connections: a busy one, a quiet one, and an unanswered
	// SYN retransmitted twice (anomalies, few packets).
	busy := exchange(0, 1000, 5000)[:5]
	feed(netip.MustParseAddrPort("10.0.0.1:1"), busy)
	feed(netip.MustParseAddrPort("10.0.0.1:2"), exchange(0, 1000, 5000)[:3])
	feed(netip.MustParseAddrPort("10.0.0.1:3"), []pkt{{0, true, S, 7, 0, 0}, {1000, true, S, 7, 0, 0}, {3000, true, S, 7, 0, 0}})
	v := e.View(1)
	if v.Open != 3 || v.States["ESTABLISHED/ESTABLISHED"] != 2 || v.States["SYN_SENT/SYN_RECEIVED"] != 1 {
		t.Fatalf("view %+v", v)
	}
	if v.AnomalyCounts["retransmission"] != 2 {
		t.Errorf("anomaly counts %v", v.AnomalyCounts)
	}
	if len(v.Busiest) != 1 || v.Busiest[0].Orig != "10.0.0.1:1" {
		t.Errorf("busiest %v", v.Busiest)
	}
	if len(v.Anomalous) != 1 || v.Anomalous[0].Orig != "10.0.0.1:3" {
		t.Errorf("anomalous %v", v.Anomalous)
	}
	// Half-open connections are lite: the view replays them, the first
	// ones into a scratch connection that the others reuse, and must see
	// what it sees of whole ones.
	views := [2]OpenView{}
	for i, from := range []int{0, liteNever} { // every half-open one lite, or none
		cfg := DefaultConfig()
		cfg.liteFrom = from
		e := New(cfg)
		feed := feeder(e)
		feed(netip.MustParseAddrPort("10.0.0.1:1"), busy)
		for p := 3; p < 8; p++ {
			syns := []pkt{{0, true, S, 7, 0, 0}, {1000, true, S, 7, 0, 0}}[:1+p%2]
			feed(netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(p)), syns)
		}
		if e.liteMade == 0 && from == 0 {
			t.Fatal("no lite connection")
		}
		views[i] = e.View(3)
	}
	if !reflect.DeepEqual(views[0], views[1]) {
		t.Errorf("view with lite connections:\n%+v\nwith whole ones:\n%+v", views[0], views[1])
	}
}

// capStep is packets from one client in a TestEngineCaps case.
type capStep struct {
	src  netip.AddrPort
	pkts []pkt
}

// flowLine sums up a flow for TestEngineCaps: client, generation, end,
// midstream, the server's packets and a port reuse.
func flowLine(f *report.Flow) string {
	l := fmt.Sprintf("%s g%d %s resp=%d", f.Orig, f.Generation, f.EndReason, f.RespPackets)
	if f.Midstream {
		l += " midstream"
	}
	if kinds(f)["port_reuse"] > 0 {
		l += " port_reuse"
	}
	return l
}

// TestEngineCaps drives the bounds of the flow table: what is evicted or
// reported early, the tomb it leaves, and what its stragglers become.
func TestEngineCaps(t *testing.T) {
	other := netip.MustParseAddrPort("10.0.0.9:50000")
	third := netip.MustParseAddrPort("10.0.0.8:50000")
	tests := []struct {
		name          string
		cfg           func(*Config)
		steps         []capStep
		late, evicted uint64
		flows         []string // flowLine of each flow, by id
	}{
		{
			// A finished connection dropped early from a full table leaves a
			// tomb: its straggler starts no bogus flow, and a new SYN on its
			// 4-tuple is still a port reuse (in TIME_WAIT).
			name: "full table drops a finished connection",
			cfg:  func(c *Config) { c.MaxFlows = 1 },
			steps: []capStep{
				{cli, exchange(0, 1000, 5000)},                   // closes: client in TIME_WAIT
				{other, []pkt{{100, true, S, 7, 0, 0}}},          // the table is full: the closed one goes
				{cli, []pkt{{200, false, F | A, 5101, 1102, 0}}}, // a straggler: a retransmitted FIN
				{cli, exchange(300, 9000, 7000)},                 // a new SYN with a new ISN: reuse in TIME_WAIT
			},
			late: 1, evicted: 1, // the other client's half-open SYN makes room for the reuse
			flows: []string{
				"10.0.0.1:40000 g1 closed resp=3",
				"10.0.0.9:50000 g1 evicted resp=0",
				"10.0.0.1:40000 g2 closed resp=3 port_reuse",
			},
		},
		{
			// A half-open connection evicted from a full table leaves a tomb
			// that takes its retransmitted SYN and SYN-ACK (a SYN flood's
			// backscatter) as stragglers, while data brings it back.
			name: "full table evicts a half-open connection",
			cfg:  func(c *Config) { c.MaxFlows = 1 },
			steps: []capStep{
				{cli, []pkt{{0, true, S, 1000, 0, 0}, {1, false, S | A, 5000, 1001, 0}}},
				{other, []pkt{{10, true, S, 7, 0, 0}}},             // evicts the half-open one
				{cli, []pkt{{1000, false, S | A, 5000, 1001, 0}}},  // its SYN-ACK again: a straggler
				{cli, []pkt{{1001, true, S, 1000, 0, 0}}},          // its SYN again: a straggler
				{cli, []pkt{{1100, true, A | P, 1001, 5001, 100}}}, // data: the connection is back
			},
			late: 2, evicted: 2,
			flows: []string{
				"10.0.0.1:40000 g1 evicted resp=1",
				"10.0.0.9:50000 g1 evicted resp=0",
				"10.0.0.1:40000 g1 end_of_capture resp=0 midstream",
			},
		},
		{
			// Past MaxHalfOpen connections in their handshake the oldest is
			// evicted while the table has room; established ones are not.
			name: "max-half-open",
			cfg:  func(c *Config) { c.MaxHalfOpen = 1 },
			steps: []capStep{
				{cli, exchange(0, 1000, 5000)[:4]},      // established, not half-open
				{other, []pkt{{100, true, S, 7, 0, 0}}}, // half-open: 1, within the cap
				{third, []pkt{{200, true, S, 9, 0, 0}}}, // half-open: 2, the oldest (other) goes
				{other, []pkt{{300, true, S, 7, 0, 0}}}, // its SYN again: a straggler
			},
			late: 1, evicted: 1,
			flows: []string{
				"10.0.0.1:40000 g1 end_of_capture resp=1",
				"10.0.0.9:50000 g1 evicted resp=0",
				"10.0.0.8:50000 g1 end_of_capture resp=0",
			},
		},
		{
			// Past MaxLinger finished connections the oldest is reported and
			// leaves a tomb; a straggler that comes while it lingers whole
			// joins it; open connections are never touched.
			name: "max-linger",
			cfg:  func(c *Config) { c.MaxLinger = 1 },
			steps: []capStep{
				{third, []pkt{{0, true, S, 3, 0, 0}}},            // stays open (half-open) throughout
				{cli, exchange(0, 1000, 5000)},                   // closes: client in TIME_WAIT
				{cli, []pkt{{150, false, F | A, 5101, 1102, 0}}}, // a straggler while it lingers whole
				{other, exchange(200, 3000, 4000)},               // a second finished one: the first goes
				{cli, []pkt{{400, false, F | A, 5101, 1102, 0}}}, // a straggler now: late
			},
			late: 1, evicted: 0,
			flows: []string{
				"10.0.0.8:50000 g1 end_of_capture resp=0",
				"10.0.0.1:40000 g1 closed resp=4", // 3 + the straggler that came while it lingered
				"10.0.0.9:50000 g1 closed resp=3",
			},
		},
		{
			// A close whose last ACK has not come (one side in TIME_WAIT,
			// the other in LAST_ACK) is not over: MaxLinger gives up the
			// finished connections around it instead, and the ACK joins it.
			name: "max-linger waits for the last ACK",
			cfg:  func(c *Config) { c.MaxLinger = 1 },
			steps: []capStep{
				{cli, exchange(0, 1000, 5000)[:7]},               // the server's FIN: client TIME_WAIT, server LAST_ACK
				{other, exchange(100, 3000, 4000)},               // finished: lingers
				{third, exchange(200, 6000, 8000)},               // finished too: the other one goes
				{cli, []pkt{{300, true, A, 1102, 5102, 0}}},      // the last ACK, a round trip late
				{cli, []pkt{{310, false, F | A, 5101, 1102, 0}}}, // a straggler: it lingers whole
			},
			late: 0, evicted: 0,
			flows: []string{
				"10.0.0.1:40000 g1 closed resp=4",
				"10.0.0.9:50000 g1 closed resp=3",
				"10.0.0.8:50000 g1 closed resp=3",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.cfg(&cfg)
			e := New(cfg)
			feed := feeder(e)
			for _, st := range tc.steps {
				feed(st.src, st.pkts)
			}
			r := e.Finish(nil, nil)
			if r.Summary.LatePackets != tc.late || r.Summary.Evicted != tc.evicted {
				t.Errorf("late packets %d, evicted %d; want %d and %d", r.Summary.LatePackets, r.Summary.Evicted, tc.late, tc.evicted)
			}
			var got []string
			for i := range r.Flows {
				got = append(got, flowLine(&r.Flows[i]))
			}
			if !slices.Equal(got, tc.flows) {
				t.Errorf("flows\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.flows, "\n  "))
			}
		})
	}
}

// TestEngineCompactClosed: with CompactClosed a connection is reported as
// soon as it is over; its stragglers are counted, and a new SYN on the
// 4-tuple is still a port reuse.
func TestEngineCompactClosed(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CompactClosed = true
	pkts := append(exchange(0, 1000, 5000),
		pkt{100, false, F | A, 5101, 1102, 0}) // the server resends its FIN: a straggler
	pkts = append(pkts, exchange(1000, 9000, 7000)...)
	r := run(t, cfg, pkts)
	if r.Summary.LatePackets != 1 || len(r.Flows) != 2 {
		t.Fatalf("late %d flows %d, want 1 and 2", r.Summary.LatePackets, len(r.Flows))
	}
	if f := r.Flows[0]; f.EndReason != "closed" || f.OrigPackets+f.RespPackets != 8 {
		t.Errorf("first flow: end %s, %d packets; want closed with the 8 packets before it was over", f.EndReason, f.OrigPackets+f.RespPackets)
	}
	if f := r.Flows[1]; f.Generation != 2 || kinds(&f)["port_reuse"] != 1 {
		t.Errorf("second flow: generation %d anomalies %v", f.Generation, kinds(&f))
	}
	// Without the option the straggler joins the first flow.
	r = run(t, DefaultConfig(), pkts)
	if r.Summary.LatePackets != 0 || r.Flows[0].OrigPackets+r.Flows[0].RespPackets != 9 {
		t.Errorf("default: late %d, first flow %d packets; want 0 and 9", r.Summary.LatePackets, r.Flows[0].OrigPackets+r.Flows[0].RespPackets)
	}
}

// TestEngineResetNamesSender: the reset finding names the endpoint that sent
// the RST, whichever side it was.
func TestEngineResetNamesSender(t *testing.T) {
	for _, tc := range []struct {
		c2s  bool
		want string
	}{{false, "the responder " + srv.String()}, {true, "the originator " + cli.String()}} {
		pkts := append(exchange(0, 1000, 5000)[:5], pkt{40, tc.c2s, R | A, 1101, 5101, 0})
		if !tc.c2s {
			pkts[len(pkts)-1] = pkt{40, false, R | A, 5101, 1101, 0}
		}
		r := run(t, DefaultConfig(), pkts)
		var msg string
		for _, a := range r.Flows[0].Anomalies {
			if a.Kind == "reset" {
				msg = a.Message
			}
		}
		if !strings.Contains(msg, tc.want) {
			t.Errorf("reset message %q does not name %s", msg, tc.want)
		}
	}
}

// TestConnIsWholeLines: a connection is an odd number of whole cache lines,
// its flow table entry comes first (connOf), and the fields every segment
// touches follow on a line of their own, in three lines (a struct changed
// in another package moves these; fix connPad).
func TestConnIsWholeLines(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("connPad is set for 64-bit platforms")
	}
	var c conn
	if n := unsafe.Sizeof(c); n%64 != 0 {
		t.Errorf("a conn is %d bytes, %d past a whole line: set connPad to %d", n, n%64, (int(connPad)+64-int(n%64))%64)
	}
	if unsafe.Offsetof(c.ent) != 0 {
		t.Errorf("the flow table entry is at byte %d, not first: connOf is wrong", unsafe.Offsetof(c.ent))
	}
	start := unsafe.Offsetof(c.connFields)
	if start%64 != 0 {
		t.Errorf("the hot fields begin at byte %d, inside a line: fix entPad", start)
	}
	if end := unsafe.Offsetof(c.twSegs) + unsafe.Sizeof(c.twSegs); end > start+3*64 {
		t.Errorf("the hot fields end at byte %d, past the third line after theirs", end)
	}
	if off := unsafe.Offsetof(c.st); off%64 > 64-48 {
		t.Errorf("the state machine begins at byte %d, too far into a line for the 48 bytes every segment reads", off)
	}
	// An odd number of lines: the connections of a chunk lie one after
	// another, and with an even stride a field of every connection fell
	// into a fraction of the cache's sets (28 lines: gcd 4 with any power
	// of two). A layout that kept each sequence direction on lines of its
	// own made a connection 28 lines and the mix 0.09 CPU-s slower; padded
	// to 29, it was as fast as before (docs/performance.md, session 18).
	if n := unsafe.Sizeof(c) / 64; n%2 == 0 {
		t.Errorf("a conn is %d lines, an even number: pad it to %d", n, n+1)
	}
}

// TestFlowCounts: the counts kept in arrays give the maps that counting
// into maps gives, every conn_state of Zeek's list and one outside it
// included, and every kind.
func TestFlowCounts(t *testing.T) {
	for i, n := range connStateNames {
		if connStateIndex(n) != i {
			t.Fatalf("connStateIndex(%q) = %d, want %d", n, connStateIndex(n), i)
		}
	}
	r := rand.New(rand.NewPCG(7, 8))
	names := append(connStateNames[:], "XX")
	var fc flowCounts
	wantStates, wantKinds := map[string]int{}, map[string]uint64{}
	for range 2000 {
		cs := names[r.IntN(len(names))]
		var an anomaly.Set
		for range r.IntN(4) {
			k := anomaly.Kind(r.IntN(int(anomaly.NumKinds)))
			an.Add(k, 1, 1)
			wantKinds[k.String()]++
		}
		fc.flow(cs, &an)
		wantStates[cs]++
	}
	if got := fc.states(); !reflect.DeepEqual(got, wantStates) {
		t.Errorf("states %v, want %v", got, wantStates)
	}
	if got := fc.kinds(); !reflect.DeepEqual(got, wantKinds) {
		t.Errorf("kinds %v, want %v", got, wantKinds)
	}
}

// TestInvalidFlagsTable checks the lookup invalidFlags does against the rules
// written out, for every flag combination, with and without payload and
// TCP Fast Open.
func TestInvalidFlagsTable(t *testing.T) {
	rules := func(s *segment.Segment) bool {
		f := s.Flags & (segment.FIN | segment.SYN | segment.RST | segment.PSH | segment.ACK | segment.URG)
		switch {
		case f == 0:
			return true
		case f&(segment.SYN|segment.FIN) == segment.SYN|segment.FIN, f&(segment.SYN|segment.RST) == segment.SYN|segment.RST:
			return true
		case f&(segment.FIN|segment.PSH|segment.URG) == segment.FIN|segment.PSH|segment.URG && f&segment.ACK == 0:
			return true
		case f&segment.FIN != 0 && f&segment.ACK == 0:
			return true
		case f&segment.SYN != 0 && s.PayloadLen > 0 && !s.Opts.TFO:
			return true
		}
		return false
	}
	invalid := 0
	for f := segment.Flags(0); f < 1<<9; f++ {
		for _, plen := range []int{0, 1, 1400} {
			for _, tfo := range []bool{false, true} {
				s := &segment.Segment{Flags: f, PayloadLen: plen}
				s.Opts.TFO = tfo
				got, want := invalidFlags(s), rules(s)
				if got != want {
					t.Fatalf("flags %#x payload %d TFO %v: invalidFlags %v, rules %v", f, plen, tfo, got, want)
				}
				if got {
					invalid++
				}
			}
		}
	}
	// Sanity: the table is neither empty nor everything.
	if invalid == 0 || invalid == 1<<9*6 {
		t.Fatalf("%d of %d combinations invalid", invalid, 1<<9*6)
	}
	for _, c := range []struct {
		f    segment.Flags
		want bool
	}{
		{segment.SYN, false}, {segment.SYN | segment.ACK, false}, {segment.ACK, false},
		{segment.FIN | segment.ACK, false}, {segment.RST, false}, {segment.RST | segment.ACK, false},
		{0, true}, {segment.SYN | segment.FIN, true}, {segment.FIN, true},
		{segment.FIN | segment.PSH | segment.URG, true}, {segment.SYN | segment.RST | segment.ACK, true},
	} {
		if got := invalidFlags(&segment.Segment{Flags: c.f}); got != c.want {
			t.Errorf("flags %v: invalidFlags %v, want %v", c.f, got, c.want)
		}
	}
}
