package engine

import (
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
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
