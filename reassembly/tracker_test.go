package reassembly

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// Short names for the table.
const (
	O = segment.Orig
	R = segment.Resp

	S   = segment.SYN
	SA  = segment.SYN | segment.ACK
	A   = segment.ACK
	PA  = segment.PSH | segment.ACK
	FA  = segment.FIN | segment.ACK
	RST = segment.RST
	RA  = segment.RST | segment.ACK
)

// step is one segment of a scenario and the classes expected for it.
type step struct {
	dir   segment.Dir
	seg   segment.Segment
	at    time.Duration // since the scenario start; 0 means 1 ms after the previous step
	want  Class
	check func(t *testing.T, r Result)
}

// seg builds a segment declaratively.
func seg(dir segment.Dir, flags segment.Flags, seq, ack uint32, n int, win uint16) step {
	return step{dir: dir, seg: segment.Segment{
		Seq: seqnum.Value(seq), Ack: seqnum.Value(ack), Flags: flags, PayloadLen: n, Window: win,
	}}
}

// T sets the time of the step.
func (s step) T(d time.Duration) step { s.at = d; return s }

// W sets the expected classes.
func (s step) W(c Class) step { s.want = c; return s }

// WS adds a window scale option.
func (s step) WS(shift uint8) step { s.seg.Opts.WScale, s.seg.Opts.HasWScale = shift, true; return s }

// MSS adds an MSS option.
func (s step) MSS(m uint16) step { s.seg.Opts.MSS, s.seg.Opts.HasMSS = m, true; return s }

// SACK adds SACK blocks (pairs of left, right).
func (s step) SACK(edges ...uint32) step {
	for i := 0; i+1 < len(edges) && i/2 < 4; i += 2 {
		s.seg.Opts.SACK[i/2] = segment.Block{Left: seqnum.Value(edges[i]), Right: seqnum.Value(edges[i+1])}
		s.seg.Opts.NumSACK++
	}
	return s
}

// P sets the captured payload.
func (s step) P(p string) step { s.seg.Payload = []byte(p); s.seg.PayloadLen = len(p); return s }

// C adds a check of the whole Result.
func (s step) C(f func(t *testing.T, r Result)) step { s.check = f; return s }

const base = int64(1_700_000_000) * 1e9

// run feeds the steps to tr and checks each result.
func run(t *testing.T, tr *Tracker, steps []step) []Result {
	t.Helper()
	out := make([]Result, len(steps))
	now := time.Duration(0)
	for i, s := range steps {
		if s.at != 0 {
			now = s.at
		} else {
			now += time.Millisecond
		}
		sg := s.seg
		sg.Frame = uint64(i + 1)
		sg.Time = base + int64(now)
		r := tr.Add(s.dir, &sg)
		out[i] = r
		if r.Class != s.want {
			t.Errorf("step %d (%s %s seq=%d ack=%d len=%d win=%d): class %v, want %v",
				i+1, s.dir, sg.Flags, sg.Seq, sg.Ack, sg.PayloadLen, sg.Window, r.Class, s.want)
		}
		if s.check != nil {
			s.check(t, r)
		}
	}
	return out
}

// handshake returns a three-way handshake: orig ISN 1000, resp ISN 5000, so orig
// data starts at 1001 and resp data at 5001; windows 65535 unscaled.
func handshake() []step {
	return []step{
		seg(O, S, 1000, 0, 0, 65535).T(time.Millisecond),
		seg(R, SA, 5000, 1001, 0, 65535).T(11 * time.Millisecond),
		seg(O, A, 1001, 5001, 0, 65535).T(21 * time.Millisecond),
	}
}

func cat(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestClassify(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name  string
		cfg   *Config
		steps []step
	}{
		{"handshake and in-order data", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).W(InOrder),
			seg(R, A, 5001, 1101, 0, 65535),
			seg(R, PA, 5001, 1101, 200, 65535).W(InOrder),
			seg(O, A, 1101, 5201, 0, 65535),
		})},
		{"retransmission after a timeout", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).T(30 * ms).W(InOrder),
			seg(O, PA, 1001, 5001, 100, 65535).T(330 * ms).W(Retransmission).C(func(t *testing.T, r Result) {
				if r.RTO != int64(300*ms) || r.RTOFrame != 4 || r.RetransBytes != 100 || r.NewBytes != 0 {
					t.Errorf("RTO %d frame %d retrans %d new %d", r.RTO, r.RTOFrame, r.RetransBytes, r.NewBytes)
				}
			}),
		})},
		{"retransmitted SYN", nil, []step{
			seg(O, S, 1000, 0, 0, 65535),
			seg(O, S, 1000, 0, 0, 65535).T(time.Second).W(Retransmission),
			seg(R, SA, 5000, 1001, 0, 65535),
			seg(R, SA, 5000, 1001, 0, 65535).T(2 * time.Second).W(Retransmission),
		}},
		{"spurious retransmission: data already acknowledged", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).W(InOrder),
			seg(R, A, 5001, 1101, 0, 65535),
			seg(O, PA, 1001, 5001, 100, 65535).T(500 * ms).W(SpuriousRetransmission | Retransmission),
		})},
		{"a one-byte keep-alive of acknowledged data is no spurious retransmission", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).W(InOrder),
			seg(R, A, 5001, 1101, 0, 65535),
			seg(O, A, 1100, 5001, 1, 65535).T(time.Second).W(KeepAlive),
		})},
		{"fast retransmission after two duplicate ACKs", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).T(30 * ms).W(InOrder),
			seg(O, PA, 1101, 5001, 100, 65535).T(31 * ms).W(InOrder),
			seg(O, PA, 1201, 5001, 100, 65535).T(32 * ms).W(InOrder),
			seg(O, PA, 1301, 5001, 100, 65535).T(33 * ms).W(InOrder),
			seg(R, A, 5001, 1101, 0, 65535).T(40 * ms),
			seg(R, A, 5001, 1101, 0, 65535).T(41 * ms).W(DuplicateAck).C(func(t *testing.T, r Result) {
				if r.DupAckNum != 1 || r.DupAckFrame != 8 {
					t.Errorf("dup ack #%d of frame %d, want #1 of 8", r.DupAckNum, r.DupAckFrame)
				}
			}),
			seg(R, A, 5001, 1101, 0, 65535).T(42 * ms).W(DuplicateAck).C(func(t *testing.T, r Result) {
				if r.DupAckNum != 2 {
					t.Errorf("dup ack #%d, want #2", r.DupAckNum)
				}
			}),
			seg(O, PA, 1101, 5001, 100, 65535).T(45 * ms).W(FastRetransmission | Retransmission),
			// A new ACK resets the series.
			seg(R, A, 5001, 1401, 0, 65535).T(50 * ms),
			seg(R, A, 5001, 1401, 0, 65535).T(51 * ms).W(DuplicateAck).C(func(t *testing.T, r Result) {
				if r.DupAckNum != 1 {
					t.Errorf("dup ack #%d after reset, want #1", r.DupAckNum)
				}
			}),
		})},
		{"no fast retransmission after 20 ms or with one dup ACK", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).T(30 * ms).W(InOrder),
			seg(O, PA, 1101, 5001, 100, 65535).T(31 * ms).W(InOrder),
			seg(R, A, 5001, 1101, 0, 65535).T(40 * ms),
			seg(R, A, 5001, 1101, 0, 65535).T(41 * ms).W(DuplicateAck),
			seg(O, PA, 1101, 5001, 100, 65535).T(42 * ms).W(Retransmission),
			seg(R, A, 5001, 1101, 0, 65535).T(43 * ms).W(DuplicateAck),
			seg(O, PA, 1101, 5001, 100, 65535).T(70 * ms).W(Retransmission),
		})},
		{"SACK blocks alone make no fast retransmission (as in Wireshark 4.0)", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).T(30 * ms).W(InOrder),
			seg(O, PA, 1101, 5001, 100, 65535).T(31 * ms).W(InOrder),
			seg(O, PA, 1201, 5001, 100, 65535).T(32 * ms).W(InOrder),
			seg(R, A, 5001, 1101, 0, 65535).SACK(1201, 1301).T(40 * ms),
			seg(O, PA, 1101, 5001, 100, 65535).T(80 * ms).W(Retransmission),
		})},
		{"out-of-order within the iRTT, retransmission after it", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).T(30 * ms).W(InOrder),
			seg(O, PA, 1201, 5001, 100, 65535).T(31 * ms).W(LostSegment).C(func(t *testing.T, r Result) {
				if r.GapBytes != 100 {
					t.Errorf("gap %d, want 100", r.GapBytes)
				}
			}),
			seg(O, PA, 1101, 5001, 100, 65535).T(32 * ms).W(OutOfOrder | GapFill).C(func(t *testing.T, r Result) {
				if r.NewBytes != 100 || r.RetransBytes != 0 {
					t.Errorf("new %d retrans %d", r.NewBytes, r.RetransBytes)
				}
			}),
			seg(O, PA, 1401, 5001, 100, 65535).T(33 * ms).W(LostSegment),
			// 27 ms after the segment that last advanced nextseq: beyond the 20 ms iRTT.
			seg(O, PA, 1301, 5001, 100, 65535).T(60 * ms).W(Retransmission | GapFill),
		})},
		{"out-of-order threshold is 3 ms without a handshake", nil, []step{
			seg(R, A, 5001, 1001, 0, 65535).T(29 * ms),
			seg(O, PA, 1001, 5001, 100, 65535).T(30 * ms).W(InOrder),
			seg(O, PA, 1201, 5001, 100, 65535).T(31 * ms).W(LostSegment),
			seg(O, PA, 1101, 5001, 100, 65535).T(31900 * time.Microsecond).W(OutOfOrder | GapFill),
			seg(O, PA, 1401, 5001, 100, 65535).T(34 * ms).W(LostSegment),
			seg(O, PA, 1301, 5001, 100, 65535).T(38 * ms).W(Retransmission | GapFill),
		}},
		{"a capture that needs reordering: a negative delay is no out-of-order", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).T(30 * ms).W(InOrder),
			seg(O, PA, 1201, 5001, 100, 65535).T(40 * ms).W(LostSegment),
			seg(O, PA, 1101, 5001, 100, 65535).T(35 * ms).W(Retransmission | GapFill),
		})},
		{"out-of-order ending exactly at nextseq is a retransmission", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).T(30 * ms).W(InOrder),
			seg(O, PA, 1101, 5001, 100, 65535).T(31 * ms).W(InOrder),
			seg(O, PA, 1101, 5001, 100, 65535).T(32 * ms).W(Retransmission),
			seg(O, PA, 1001, 5001, 100, 65535).T(33 * ms).W(OutOfOrder),
		})},
		{"a copy of an unacknowledged segment is a retransmission, not out-of-order", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).T(30 * ms).W(InOrder),
			seg(O, PA, 1001, 5001, 100, 65535).T(31 * ms).W(Retransmission),
		})},
		{"ACKed unseen: a hole below the highest byte, reported once", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).W(InOrder),
			seg(O, PA, 1201, 5001, 100, 65535).W(LostSegment),
			seg(R, A, 5001, 1301, 0, 65535).W(AckUnseen).C(func(t *testing.T, r Result) {
				if r.UnseenAckBytes != 200 {
					t.Errorf("unseen ack bytes %d, want 200", r.UnseenAckBytes)
				}
			}),
			seg(R, A, 5001, 1301, 0, 65535).W(DuplicateAck),
		})},
		{"ACKed unseen beyond all data: once until the peer's ACK changes", nil, cat(handshake(), []step{
			seg(R, A, 5001, 1101, 0, 65535).W(AckUnseen),
			seg(R, A, 5001, 1201, 0, 65535).W(0),
			seg(O, A, 1001, 5001, 0, 65535).W(DuplicateAck).C(func(t *testing.T, r Result) {
				if r.DupAckNum != 1 {
					t.Errorf("dup ack #%d after the unseen-ACK marker, want #1", r.DupAckNum)
				}
			}),
			seg(R, A, 5001, 1301, 0, 65535).W(0),
			seg(O, A, 1001, 5002, 0, 65535).W(AckUnseen), // the originator's ACK changed
			seg(R, A, 5001, 1401, 0, 65535).W(AckUnseen),
		})},
		{"the unseen-ACK marker is no pair of duplicate ACKs (tshark 4.0 counts it)", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).T(30 * ms).W(InOrder),
			seg(R, FA, 5001, 1101, 0, 65535).T(31 * ms),
			seg(O, PA, 1101, 5001, 100, 65535).T(40 * ms).W(InOrder), // the FIN is not acknowledged
			// Acks 100 unseen bytes, then the FIN again 1 ms after the peer's
			// segment, whose ACK asks for it: tshark 4.0 calls it fast.
			seg(R, FA, 5001, 1301, 0, 65535).T(41 * ms).W(Retransmission | AckUnseen),
		})},
		{"overlap: partly old, partly new", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).T(30 * ms).W(InOrder),
			seg(O, PA, 1051, 5001, 100, 65535).T(300 * ms).W(Retransmission | Overlap).C(func(t *testing.T, r Result) {
				if r.NewBytes != 50 || r.RetransBytes != 50 {
					t.Errorf("new %d retrans %d, want 50/50", r.NewBytes, r.RetransBytes)
				}
			}),
		})},
		{"keep-alive and its ACK", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).W(InOrder),
			seg(R, A, 5001, 1101, 0, 65535),
			seg(O, A, 1100, 5001, 0, 65535).T(time.Minute).W(KeepAlive),
			seg(R, A, 5001, 1101, 0, 65535).W(KeepAliveAck),
			seg(O, A, 1100, 5001, 1, 65535).T(2 * time.Minute).W(KeepAlive).C(func(t *testing.T, r Result) {
				if r.RetransBytes != 1 {
					t.Errorf("keep-alive byte counted new")
				}
			}),
			seg(R, A, 5001, 1101, 0, 65535).W(KeepAliveAck),
			// Not a keep-alive: two below nextseq, or with FIN.
			seg(O, A, 1099, 5001, 0, 65535).W(0),
			seg(O, FA, 1100, 5001, 0, 65535).T(3 * time.Minute).W(Retransmission),
		})},
		{"zero window, probes, probe ACKs and the re-opening", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).W(InOrder),
			seg(R, A, 5001, 1101, 0, 0).W(ZeroWindow),
			seg(O, A, 1101, 5001, 1, 65535).T(time.Second).W(ZeroWindowProbe),
			seg(R, A, 5001, 1101, 0, 0).W(ZeroWindow | ZeroWindowProbeAck),
			seg(O, A, 1101, 5001, 1, 65535).T(2 * time.Second).W(ZeroWindowProbe),
			seg(R, A, 5001, 1101, 0, 0).W(ZeroWindow | ZeroWindowProbeAck),
			seg(R, A, 5001, 1101, 0, 8192).W(WindowUpdate),
			// Starts with the probe byte again.
			seg(O, PA, 1101, 5001, 100, 65535).W(InOrder | Overlap),
		})},
		{"probe byte taken: the ACK past it is a window update, not an unseen ACK", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).W(InOrder),
			seg(R, A, 5001, 1101, 0, 0).W(ZeroWindow),
			seg(O, A, 1101, 5001, 1, 65535).T(time.Second).W(ZeroWindowProbe),
			seg(R, A, 5001, 1102, 0, 4096).W(WindowUpdate),
			seg(O, PA, 1102, 5001, 100, 65535).W(InOrder),
		})},
		{"a 1-byte segment is no probe toward a peer not seen yet", nil, []step{
			seg(O, PA, 1001, 5001, 1, 65535).W(InOrder),
			seg(O, PA, 1002, 5001, 1, 65535).W(InOrder),
		}},
		{"a 1-byte segment is no probe while the window is open", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 1, 65535).W(InOrder),
			seg(O, PA, 1002, 5001, 1, 65535).W(InOrder),
		})},
		{"window update", nil, cat(handshake(), []step{
			seg(R, A, 5001, 1001, 0, 30000).W(WindowUpdate),
			seg(R, A, 5001, 1001, 0, 30000).W(DuplicateAck),
			seg(R, A, 5001, 1001, 0, 0).W(ZeroWindow),
		})},
		{"window full needs the peer's scale", nil, cat([]step{
			seg(O, S, 1000, 0, 0, 65535).WS(2),
			seg(R, SA, 5000, 1001, 0, 400).WS(3),
			seg(O, A, 1001, 5001, 0, 65535),
			seg(R, A, 5001, 1001, 0, 50).W(WindowUpdate), // 50<<3 = 400 bytes
			seg(O, PA, 1001, 5001, 300, 65535).W(InOrder),
			seg(O, PA, 1301, 5001, 100, 65535).W(InOrder | WindowFull),
			seg(O, PA, 1401, 5001, 100, 65535).W(InOrder | OutOfWindow),
		})},
		{"window full right after the SYN-ACK uses the unscaled window", nil, []step{
			seg(O, S, 1000, 0, 0, 65535).WS(2),
			seg(R, SA, 5000, 1001, 0, 300).WS(3),
			seg(O, PA, 1001, 5001, 300, 65535).W(InOrder | WindowFull),
		}},
		{"no window full while the peer's scale is unknown", nil, []step{
			seg(R, A, 5001, 1001, 0, 300),
			seg(O, PA, 1001, 5001, 300, 65535).W(InOrder),
		}},
		{"duplicate ACK rules", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).W(InOrder),
			seg(R, A, 5001, 1101, 0, 65535),
			seg(R, A, 5001, 1101, 0, 65535).W(DuplicateAck),
			seg(R, A, 5001, 1101, 0, 65534).W(WindowUpdate), // window changed
			seg(R, PA, 5001, 1101, 10, 65534).W(InOrder),    // has data
			seg(R, FA, 5011, 1101, 0, 65534),                // FIN
		})},
		{"ACKed unseen segment", nil, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).W(InOrder),
			seg(R, A, 5001, 1301, 0, 65535).W(AckUnseen).C(func(t *testing.T, r Result) {
				if r.UnseenAckBytes != 200 {
					t.Errorf("unseen ack bytes %d, want 200", r.UnseenAckBytes)
				}
			}),
			seg(R, A, 5001, 1301, 0, 65535).W(DuplicateAck),
			seg(O, PA, 1301, 5001, 100, 65535).W(LostSegment),
		})},
		{"RST is never a lost segment", nil, cat(handshake(), []step{
			seg(O, RST, 9999, 0, 0, 0),
		})},
		{"a pure ACK beyond nextseq is a lost segment", nil, cat(handshake(), []step{
			seg(O, A, 1101, 5001, 0, 65535).W(LostSegment),
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tr Tracker
			tr.Init(tc.cfg)
			run(t, &tr, tc.steps)
		})
	}
}

func TestTsharkCompat(t *testing.T) {
	ms := time.Millisecond
	compat := &Config{TsharkCompat: true}
	t.Run("unseen-ACK marker read as duplicate ACKs", func(t *testing.T) {
		var tr Tracker
		tr.Init(compat)
		run(t, &tr, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).T(30 * ms).W(InOrder),
			seg(R, FA, 5001, 1101, 0, 65535).T(31 * ms),
			seg(O, PA, 1101, 5001, 100, 65535).T(40 * ms).W(InOrder),
			seg(R, FA, 5001, 1301, 0, 65535).T(41 * ms).W(FastRetransmission | Retransmission | AckUnseen),
		}))
	})
	t.Run("probe byte ACK is an unseen ACK", func(t *testing.T) {
		var tr Tracker
		tr.Init(compat)
		run(t, &tr, cat(handshake(), []step{
			seg(O, PA, 1001, 5001, 100, 65535).W(InOrder),
			seg(R, A, 5001, 1101, 0, 0).W(ZeroWindow),
			seg(O, A, 1101, 5001, 1, 65535).T(time.Second).W(ZeroWindowProbe),
			seg(R, A, 5001, 1102, 0, 0).W(ZeroWindow | AckUnseen),
		}))
	})
}

func TestHandshakeRTT(t *testing.T) {
	var tr Tracker
	if _, ok := tr.HandshakeRTT(); ok {
		t.Fatal("RTT before any segment")
	}
	run(t, &tr, handshake())
	if rtt, ok := tr.HandshakeRTT(); !ok || rtt != int64(20*time.Millisecond) {
		t.Errorf("HandshakeRTT = %v, %v; want 20ms", time.Duration(rtt), ok)
	}
	if rtt, ok := tr.WiresharkIRTT(); !ok || rtt != int64(20*time.Millisecond) {
		t.Errorf("WiresharkIRTT = %v, %v; want 20ms", time.Duration(rtt), ok)
	}

	// A retransmitted SYN: the RTT counts from the latest SYN.
	tr.Init(nil)
	run(t, &tr, []step{
		seg(O, S, 1000, 0, 0, 65535).T(time.Millisecond),
		seg(O, S, 1000, 0, 0, 65535).T(time.Second + time.Millisecond).W(Retransmission),
		seg(R, SA, 5000, 1001, 0, 65535).T(time.Second + 6*time.Millisecond),
		seg(O, A, 1001, 5001, 0, 65535).T(time.Second + 11*time.Millisecond),
	})
	if rtt, ok := tr.HandshakeRTT(); !ok || rtt != int64(10*time.Millisecond) {
		t.Errorf("HandshakeRTT after SYN retransmission = %v, %v; want 10ms", time.Duration(rtt), ok)
	}

	// SYN answered by RST: no handshake RTT, but Wireshark's iRTT exists.
	tr.Init(nil)
	run(t, &tr, []step{
		seg(O, S, 1000, 0, 0, 65535).T(time.Millisecond),
		seg(R, RA, 0, 1001, 0, 0).T(3 * time.Millisecond),
	})
	if _, ok := tr.HandshakeRTT(); ok {
		t.Error("HandshakeRTT for a refused connection")
	}
	if rtt, ok := tr.WiresharkIRTT(); !ok || rtt != int64(2*time.Millisecond) {
		t.Errorf("WiresharkIRTT = %v, %v; want 2ms", time.Duration(rtt), ok)
	}
}

func TestWrapAround(t *testing.T) {
	const isn = 0xFFFFFF00
	var tr Tracker
	tr.Init(nil)
	res := run(t, &tr, []step{
		seg(O, S, isn, 0, 0, 65535),
		seg(R, SA, 7000, isn+1, 0, 65535),
		seg(O, A, isn+1, 7001, 0, 65535),
		seg(O, PA, isn+1, 7001, 512, 65535).W(InOrder), // crosses zero: 0xFFFFFF01 … 0x100
		seg(O, PA, 0x101, 7001, 100, 65535).W(InOrder),
		seg(O, PA, 0x1C9, 7001, 100, 65535).W(LostSegment), // skips 0x165 … 0x1C8
		seg(R, A, 7001, 0x165, 0, 65535),
		seg(O, PA, isn+1, 7001, 512, 65535).T(time.Second).W(SpuriousRetransmission | Retransmission),
		seg(O, PA, 0x165, 7001, 100, 65535).T(2 * time.Second).W(Retransmission | GapFill),
		seg(R, A, 7001, 0x22D, 0, 65535),
	})
	if res[5].GapBytes != 100 {
		t.Errorf("gap across the wrap: %d, want 100", res[5].GapBytes)
	}
	d := tr.Dir(O)
	if d.NextSeq != 0x22D || !d.ISNSeen || d.ISN != isn {
		t.Errorf("NextSeq %#x ISN %#x", uint32(d.NextSeq), uint32(d.ISN))
	}
	if d.UniqueBytes != 812 || d.RetransBytes != 512 || d.MissedBytes != 0 || d.Holes != 0 {
		t.Errorf("unique %d retrans %d missed %d holes %d", d.UniqueBytes, d.RetransBytes, d.MissedBytes, d.Holes)
	}
	if d.Unacked != 0 {
		t.Errorf("%d segments still unacked", d.Unacked)
	}
}

func TestWindowScaling(t *testing.T) {
	tests := []struct {
		name       string
		steps      []step
		orig, resp WScale
		scaledResp uint32
	}{
		{"both SYNs carry the option", []step{
			seg(O, S, 1000, 0, 0, 65535).WS(7),
			seg(R, SA, 5000, 1001, 0, 65535).WS(2),
			seg(O, A, 1001, 5001, 0, 100),
			seg(R, A, 5001, 1001, 0, 100),
		}, 7, 2, 400},
		{"only the SYN carries it", []step{
			seg(O, S, 1000, 0, 0, 65535).WS(7),
			seg(R, SA, 5000, 1001, 0, 65535),
			seg(R, A, 5001, 1001, 0, 100),
		}, WScaleNotUsed, WScaleNotUsed, 100},
		{"only the SYN-ACK carries it", []step{
			seg(O, S, 1000, 0, 0, 65535),
			seg(R, SA, 5000, 1001, 0, 65535).WS(7),
			seg(R, A, 5001, 1001, 0, 100),
		}, WScaleNotUsed, WScaleNotUsed, 100},
		{"shift capped at 14", []step{
			seg(O, S, 1000, 0, 0, 65535).WS(15),
			seg(R, SA, 5000, 1001, 0, 65535).WS(14),
			seg(R, A, 5001, 1001, 0, 1),
		}, 14, 14, 1 << 14},
		{"no handshake", []step{
			seg(R, A, 5001, 1001, 0, 100),
		}, WScaleUnknown, WScaleUnknown, 100},
		{"SYN-ACK seen, SYN not", []step{
			seg(R, SA, 5000, 1001, 0, 65535).WS(3),
			seg(R, A, 5001, 1001, 0, 100),
		}, WScaleUnknown, 3, 800},
		{"SYN-ACK window is not scaled", []step{
			seg(O, S, 1000, 0, 0, 65535).WS(7),
			seg(R, SA, 5000, 1001, 0, 1000).WS(2),
		}, 7, 2, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tr Tracker
			for i := range tc.steps {
				tc.steps[i].want = tr.Add(tc.steps[i].dir, &tc.steps[i].seg).Class // classes not under test
			}
			o, r := tr.Dir(O), tr.Dir(R)
			if o.WScale != tc.orig || r.WScale != tc.resp {
				t.Errorf("WScale orig %v resp %v, want %v %v", o.WScale, r.WScale, tc.orig, tc.resp)
			}
			if r.ScaledWindow != tc.scaledResp {
				t.Errorf("resp ScaledWindow %d, want %d", r.ScaledWindow, tc.scaledResp)
			}
		})
	}
}

func TestDirStats(t *testing.T) {
	var tr Tracker
	run(t, &tr, cat([]step{
		seg(O, S, 1000, 0, 0, 65535).MSS(1460).WS(0),
		seg(R, SA, 5000, 1001, 0, 65535).MSS(1400),
		seg(O, A, 1001, 5001, 0, 65535),
		seg(O, PA, 1001, 5001, 100, 65535).W(InOrder),
		seg(O, PA, 1201, 5001, 100, 65535).W(LostSegment),
		seg(R, A, 5001, 1101, 0, 0).W(ZeroWindow),
		// The responder's data 5001…5101 is never captured but acknowledged.
		seg(O, A, 1301, 5101, 0, 65535).W(AckUnseen),
	}))
	o, r := tr.Dir(O), tr.Dir(R)
	if o.MSS != 1460 || r.MSS != 1400 || o.Packets != 5 || o.PayloadBytes != 200 || o.UniqueBytes != 200 {
		t.Errorf("orig %+v", o)
	}
	if o.MissedBytes != 100 || o.Holes != 1 {
		t.Errorf("orig missed %d holes %d, want 100, 1", o.MissedBytes, o.Holes)
	}
	if r.MissedBytes != 100 || r.ZeroWindows != 1 || !r.AckSeen || r.HighestAck != 1101 {
		t.Errorf("resp %+v", r)
	}
	if o.WScale != WScaleNotUsed {
		t.Errorf("orig WScale %v", o.WScale)
	}
}

func TestOverlapMismatch(t *testing.T) {
	var tr Tracker
	tr.Init(&Config{KeepPayload: true, MaxPayloadBytes: 16})
	run(t, &tr, cat(handshake(), []step{
		seg(O, PA, 1001, 5001, 0, 65535).P("hello world").W(InOrder),
		seg(O, PA, 1001, 5001, 0, 65535).P("hello world").T(time.Second).W(Retransmission),
		seg(O, PA, 1007, 5001, 0, 65535).P("WORLD and more").T(2 * time.Second).W(Retransmission | Overlap | OverlapMismatch),
		// 1 ms after the segment that advanced nextseq: out-of-order by Wireshark's rule.
		seg(O, PA, 1012, 5001, 0, 65535).P(" and more!").W(Overlap | OutOfOrder),
		// The copy holds only the last 16 bytes: the first ones are no longer compared.
		seg(O, PA, 1001, 5001, 0, 65535).P("HELLO").T(3 * time.Second).W(Retransmission),
	}))
}

func TestOutOfWindowAck(t *testing.T) {
	var tr Tracker
	run(t, &tr, cat(handshake(), []step{
		seg(R, PA, 5001, 1001, 100, 65535).W(InOrder),
		// The originator's right edge is 5001+65535; an ACK beyond it is impossible.
		seg(O, A, 1001, 5001+65535+100, 0, 65535).W(AckUnseen | OutOfWindow),
	}))
}

func TestBoundedRecords(t *testing.T) {
	var tr Tracker
	tr.Init(&Config{MaxRanges: 3, KeepUnacked: true, MaxUnacked: 4})
	steps := handshake()
	seq := uint32(1001)
	for i := 0; i < 10; i++ {
		steps = append(steps, seg(O, PA, seq, 5001, 10, 65535).W(InOrder))
		if i > 0 {
			steps[len(steps)-1].want = LostSegment
		}
		seq += 20 // leave a 10-byte hole each time
	}
	run(t, &tr, steps)
	d := tr.Dir(O)
	if d.Holes != 2 || d.Unacked != 4 {
		t.Errorf("holes %d unacked %d, want 2 and 4", d.Holes, d.Unacked)
	}
	if d.MissedBytes != 90 {
		t.Errorf("missed %d, want 90 (forgotten holes stay missed)", d.MissedBytes)
	}
}

func TestClassString(t *testing.T) {
	tests := []struct {
		c    Class
		want string
	}{
		{0, "None"},
		{InOrder, "InOrder"},
		{FastRetransmission | Retransmission, "Retransmission|FastRetransmission"},
		{GapFill, "GapFill"},
		{1 << 31, "Class(0x80000000)"},
		{DuplicateAck | 1<<30, "DuplicateAck|Class(0x40000000)"},
	}
	for _, tc := range tests {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("%#x.String() = %q, want %q", uint32(tc.c), got, tc.want)
		}
	}
	for i, n := range ClassNames() {
		if Class(1<<i).String() != n || strings.Contains(n, "|") {
			t.Errorf("class %d name %q", i, n)
		}
	}
	for _, w := range []struct {
		w    WScale
		want string
	}{{WScaleUnknown, "unknown"}, {WScaleNotUsed, "not used"}, {0, "0"}, {14, "14"}, {15, "WScale(15)"}, {-7, "WScale(-7)"}} {
		if got := w.w.String(); got != w.want {
			t.Errorf("WScale(%d).String() = %q, want %q", int8(w.w), got, w.want)
		}
	}
}

func TestZeroValueAndNil(t *testing.T) {
	var tr Tracker
	if r := tr.Add(O, nil); r.Class != 0 {
		t.Errorf("nil segment: %v", r.Class)
	}
	s := segment.Segment{Seq: 5, PayloadLen: -3, Flags: A}
	tr.Add(O, &s)
	s = segment.Segment{Seq: 5, PayloadLen: 1 << 40, Flags: A}
	tr.Add(segment.Dir(7), &s)
	_ = fmt.Sprint(tr.Dir(segment.Dir(9)))
}

// TestBriefMatchesDir: Brief gives what Dir gives of the three fields a flow
// record takes, through a handshake, data with a hole, and a close.
func TestBriefMatchesDir(t *testing.T) {
	var tr Tracker
	tr.Init(&Config{KeepPayload: true})
	segs := []struct {
		d   segment.Dir
		seg segment.Segment
	}{
		{segment.Orig, segment.Segment{Seq: 100, Flags: segment.SYN, Window: 1000, Opts: segment.Options{MSS: 1460, HasMSS: true, WScale: 7, HasWScale: true}}},
		{segment.Resp, segment.Segment{Seq: 500, Ack: 101, Flags: segment.SYN | segment.ACK, Window: 2000, Opts: segment.Options{MSS: 1400, HasMSS: true, WScale: 9, HasWScale: true}}},
		{segment.Orig, segment.Segment{Seq: 101, Ack: 501, Flags: segment.ACK, Window: 100}},
		{segment.Orig, segment.Segment{Seq: 201, Ack: 501, Flags: segment.ACK, Window: 100, PayloadLen: 50}}, // 100 bytes never seen
		{segment.Resp, segment.Segment{Seq: 501, Ack: 251, Flags: segment.ACK | segment.FIN, Window: 100}},
	}
	for i, s := range segs {
		s.seg.Frame, s.seg.Time = uint64(i+1), int64(i+1)*1e6
		tr.Add(s.d, &s.seg)
		if i == 3 {
			tr.Release() // holes still open count as missed bytes
		}
		for d := segment.Orig; d <= segment.Resp; d++ {
			ds := tr.Dir(d)
			missed, mss, ws := tr.Brief(d)
			if missed != ds.MissedBytes || mss != ds.MSS || ws != ds.WScale {
				t.Fatalf("segment %d, dir %d: Brief %d %d %v, Dir %d %d %v", i+1, d, missed, mss, ws, ds.MissedBytes, ds.MSS, ds.WScale)
			}
		}
	}
	if missed, mss, ws := tr.Brief(segment.Orig); missed != 100 || mss != 1460 || ws != 7 {
		t.Errorf("orig: %d %d %v, want 100 missed, MSS 1460, scale 7", missed, mss, ws)
	}
}

// TestKeepUnacked checks what the record of unacknowledged segments gives:
// with it, an ACK names the segment it acknowledges and its round-trip time,
// and a retransmission's RTO counts from the first transmission of its
// bytes; without it those stay zero and the RTO counts from the segment
// that last advanced the sequence, and the classes are the same.
func TestKeepUnacked(t *testing.T) {
	const ms = time.Millisecond
	steps := cat(handshake(), []step{
		seg(O, PA, 1001, 5001, 100, 65535).T(100 * ms), // frame 4
		seg(O, PA, 1101, 5001, 100, 65535).T(110 * ms), // frame 5
		seg(O, PA, 1201, 5001, 100, 65535).T(120 * ms), // frame 6
		seg(R, A, 5001, 1101, 0, 65535).T(130 * ms),    // acknowledges frame 4
		seg(O, PA, 1101, 5001, 100, 65535).T(400 * ms), // frame 5 again
		seg(R, A, 5001, 1301, 0, 65535).T(410 * ms),    // acknowledges all
	})
	classes := map[bool][]Class{}
	for _, keep := range []bool{true, false} {
		var tr Tracker
		tr.Init(&Config{KeepUnacked: keep})
		var got []Result
		for i, st := range steps {
			sg := st.seg
			sg.Frame, sg.Time = uint64(i+1), base+int64(st.at)
			got = append(got, tr.Add(st.dir, &sg))
			classes[keep] = append(classes[keep], got[i].Class)
		}
		ack, retrans := got[6], got[7]
		if retrans.Class&Retransmission == 0 {
			t.Fatalf("keep %v: the segment sent again is %v", keep, retrans.Class)
		}
		if keep {
			if ack.AckedFrame != 4 || ack.AckRTT != int64(30*ms) {
				t.Errorf("kept: the ACK names frame %d after %v, want frame 4 after 30ms", ack.AckedFrame, time.Duration(ack.AckRTT))
			}
			if retrans.RTO != int64(290*ms) || retrans.RTOFrame != 5 {
				t.Errorf("kept: RTO %v from frame %d, want 290ms from frame 5 (its first transmission)", time.Duration(retrans.RTO), retrans.RTOFrame)
			}
			continue
		}
		if ack.AckedFrame != 0 || ack.AckRTT != 0 {
			t.Errorf("not kept: the ACK names frame %d after %d ns", ack.AckedFrame, ack.AckRTT)
		}
		if retrans.RTO != int64(280*ms) || retrans.RTOFrame != 6 {
			t.Errorf("not kept: RTO %v from frame %d, want 280ms from frame 6 (the last to advance the sequence)", time.Duration(retrans.RTO), retrans.RTOFrame)
		}
		if len(tr.d[O].unacked) != 0 || len(tr.d[R].unacked) != 0 {
			t.Error("segments remembered without KeepUnacked")
		}
	}
	for i := range classes[true] {
		if classes[true][i] != classes[false][i] {
			t.Errorf("segment %d: class %v with the record, %v without", i+1, classes[true][i], classes[false][i])
		}
	}
}
