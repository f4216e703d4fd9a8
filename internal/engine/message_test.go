package engine

import (
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// TestFlowMessages pins the text of the flow-specific messages, which are
// built without fmt: each case gives the connection's state and the exact
// message a report carries.
func TestFlowMessages(t *testing.T) {
	f := &report.Flow{Orig: "10.0.0.1:40000", Resp: "[2001:db8::1]:443", MissedBytes: 1448}
	cases := []struct {
		name string
		k    anomaly.Kind
		set  func(c *conn)
		want string
	}{
		{"reset by the responder", anomaly.Reset, func(c *conn) { c.rstDir, c.rstFrame = segment.Resp, 12345 },
			"the established connection was aborted by RST from the responder [2001:db8::1]:443 (packet 12345)"},
		{"reset by the originator", anomaly.Reset, func(c *conn) { c.rstDir, c.rstFrame = segment.Orig, 0 },
			"the established connection was aborted by RST from the originator 10.0.0.1:40000 (packet 0)"},
		{"reuse", anomaly.PortReuse, func(c *conn) { c.gen = 2 },
			"generation 2 of this 4-tuple"},
		{"reuse in TIME_WAIT", anomaly.PortReuse, func(c *conn) { c.gen, c.premature = 63, true },
			"generation 63 reused the 4-tuple while the previous connection was still in TIME_WAIT"},
		{"reuse past the cached generations", anomaly.PortReuse, func(c *conn) { c.gen, c.premature = 64, true },
			"generation 64 reused the 4-tuple while the previous connection was still in TIME_WAIT"},
		{"a late generation", anomaly.PortReuse, func(c *conn) { c.gen = 100000 },
			"generation 100000 of this 4-tuple"},
		{"stuck in TIME_WAIT", anomaly.StuckTimeWait, func(c *conn) { c.twSegs = [2]uint32{3, 7} },
			"[2001:db8::1]:443 was in TIME_WAIT and its peer kept sending (7 segments): the peer never got the last ACK, and every segment restarts TIME_WAIT"},
		{"duplicate ACKs", anomaly.DuplicateAck, func(c *conn) { c.an.AddValue(anomaly.DuplicateAck, 9, 0, 4) },
			"the receiver repeated the same ACK, up to duplicate #4 in a row"},
		{"capture loss", anomaly.LostSegment, func(*conn) {},
			"segments before these packets were never captured, and 1448 bytes of them were acknowledged by the receiver: most likely capture loss (the tap or host dropped them), not network loss"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c conn
			tc.set(&c)
			if got := flowMessage(&c, f, tc.k); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestUnshownFlowMessages runs connections whose findings have messages of
// their own, each alone, through an engine whose sink shows no flow: the
// record comes partial, and as the only (so the earliest) unshown flow of its
// kinds it must carry each finding's own message, the one the whole record
// has, whatever fields of the record the message is made from.
func TestUnshownFlowMessages(t *testing.T) {
	const c, s = 1000, 5000
	handshake := []pkt{{0, true, S, c, 0, 0}, {10, false, S | A, s, c + 1, 0}, {20, true, A, c + 1, s + 1, 0}}
	closing := func(at int64, cs, ss uint32) []pkt {
		return []pkt{{at, true, F | A, cs, ss, 0}, {at + 10, false, F | A, ss, cs + 1, 0}, {at + 20, true, A, cs + 1, ss + 1, 0}}
	}
	cases := []struct {
		name string
		pkts []pkt
		kind string
	}{
		{"capture loss", append(append(handshake[:3:3],
			pkt{30, true, A | P, c + 101, s + 1, 100}, // 100 bytes before it never captured
			pkt{40, false, A, s + 1, c + 201, 0}),     // and acknowledged
			closing(50, c+201, s+1)...), "lost_segment"},
		{"network loss", append(append(handshake[:3:3],
			pkt{30, true, A | P, c + 101, s + 1, 100},
			pkt{40, false, A, s + 1, c + 1, 0},
			pkt{50, true, A | P, c + 1, s + 1, 100}, // the gap sent again
			pkt{60, false, A, s + 1, c + 201, 0}),
			closing(70, c+201, s+1)...), "lost_segment"},
		{"reset by the responder", append(handshake[:3:3], pkt{30, false, R | A, s + 1, c + 1, 0}), "reset"},
		{"reset by the originator", append(handshake[:3:3], pkt{30, true, R | A, c + 1, s + 1, 0}), "reset"},
		{"unanswered SYN", []pkt{{0, true, S, c, 0, 0}}, "half_open"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			whole := run(t, DefaultConfig(), tc.pkts).Flows
			e := New(DefaultConfig())
			var part []report.Flow
			e.SetSink(func(f *report.Flow) { part = append(part, *f) })
			e.SetWant(func(uint64) bool { return false })
			for i, p := range tc.pkts {
				sg := segment.Segment{Frame: uint64(i + 1), Time: p.ms * 1e6,
					Seq: seqnum.Value(p.seq), Ack: seqnum.Value(p.ack), Flags: p.flags, Window: 65535,
					PayloadLen: p.n, Payload: make([]byte, p.n), IPLen: 40 + p.n}
				sg.Src, sg.Dst = cli, srv
				if !p.c2s {
					sg.Src, sg.Dst = srv, cli
				}
				e.Segment(&sg)
			}
			e.Finish([]string{"test"}, nil)
			if len(whole) != 1 || len(part) != 1 {
				t.Fatalf("%d whole flows, %d partial ones; want one each", len(whole), len(part))
			}
			found := false
			for i, a := range part[0].Anomalies {
				w := whole[0].Anomalies[i]
				if a.Kind != w.Kind || a.Message != w.Message {
					t.Errorf("partial record: %s %q; the whole record: %s %q", a.Kind, a.Message, w.Kind, w.Message)
				}
				found = found || a.Kind == tc.kind
			}
			if !found || part[0].History != "" {
				t.Errorf("the partial record has no %s, or was built whole: %+v", tc.kind, part[0])
			}
		})
	}
}
