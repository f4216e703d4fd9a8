package reassembly

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// TestPayloadRingGrows checks that the payload copy, which starts small and
// doubles as it fills, finds the same mismatches as a ring of the full size
// from the start would, on random in-order data, retransmissions of equal and
// differing bytes, overlaps and gaps.
func TestPayloadRingGrows(t *testing.T) {
	tests := []struct {
		name string
		capN uint32
		seed uint64
	}{
		{"below the minimum", 64, 1},
		{"minimum", minPayRing, 2},
		{"default", DefaultMaxPayloadBytes, 3},
		{"large", 1 << 16, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snd := newSender(rand.New(rand.NewPCG(tc.seed, 0)), tc.capN, 0)
			isn := seqnum.Value(snd.r.Uint32())
			var grown, full dirState
			// The growing ring comes from a pool of dirty rings: what it
			// compares must be only what it was given.
			pool := new(RingPool)
			for c := 9; c <= 14; c++ {
				b := make([]byte, 1<<c)
				for i := range b {
					b[i] = byte(i*7 + c)
				}
				pool.put(b)
			}
			full.pay = make([]byte, tc.capN)
			mismatches := 0
			for i := 0; i < 3000 && snd.more(); i++ {
				off, p := snd.segment()
				n := len(p)
				a := isn.Add(seqnum.Size(off))
				g, f := grown.keepPayload(a, p, 0, tc.capN, pool), full.keepPayload(a, p, 0, tc.capN, nil)
				if g != f {
					t.Fatalf("segment %d [%d, %d): mismatch %v with a growing ring, %v with a full one", i, off, off+n, g, f)
				}
				if g {
					mismatches++
				}
				if grown.payLo != full.payLo || grown.payHi != full.payHi {
					t.Fatalf("segment %d: copy [%d, %d) vs [%d, %d)", i, grown.payLo, grown.payHi, full.payLo, full.payHi)
				}
				if uint32(len(grown.pay)) > tc.capN || len(grown.pay)&(len(grown.pay)-1) != 0 {
					t.Fatalf("ring of %d bytes, cap %d", len(grown.pay), tc.capN)
				}
				snd.sent(off, p)
			}
			if mismatches == 0 {
				t.Error("no mismatch found: the test does not test")
			}
		})
	}
}

// sender makes the segments of the payload-copy tests: the bytes a sender
// sends, by offset, and a random choice of what it sends next.
type sender struct {
	r     *rand.Rand
	bytes []byte
	next  int // the next new offset
	capN  uint32
	small int // one segment in small is 1-8 bytes; 0: none
}

func newSender(r *rand.Rand, capN uint32, small int) *sender {
	s := &sender{r: r, bytes: make([]byte, 1<<20), capN: capN, small: small}
	for i := range s.bytes {
		s.bytes[i] = byte(r.Uint32())
	}
	return s
}

// more reports whether the bytes leave room for another segment.
func (s *sender) more() bool { return s.next < len(s.bytes)-3000 }

// segment returns the next segment's offset and a copy of its bytes: new
// data, or a retransmission of up to two windows back, a gap, or an overlap
// into new data; one in twenty has a byte changed.
func (s *sender) segment() (off int, p []byte) {
	r := s.r
	off, n := s.next, 1+r.IntN(1500)
	if s.small > 0 && r.IntN(s.small) == 0 {
		n = 1 + r.IntN(8)
	}
	switch u := r.IntN(10); {
	case u == 0 && s.next > 0: // retransmission, maybe of other bytes
		off = max(0, s.next-r.IntN(int(2*s.capN)+1)-1)
	case u == 1: // a gap
		off = s.next + r.IntN(3000)
	case u == 2 && s.next > 0: // overlap into new data
		off = s.next - min(s.next, r.IntN(100))
	}
	p = append([]byte(nil), s.bytes[off:off+n]...)
	if r.IntN(20) == 0 {
		p[r.IntN(n)] ^= 0xff
	}
	return off, p
}

// sent records that p went out at off: where a byte was changed, the
// sender's bytes become what the copies hold.
func (s *sender) sent(off int, p []byte) {
	copy(s.bytes[off:], p)
	s.next = max(s.next, off+len(p))
}

// TestPayloadRingSmall checks that a short connection's copy stays small.
func TestPayloadRingSmall(t *testing.T) {
	var s dirState
	s.keepPayload(1000, make([]byte, 300), 0, DefaultMaxPayloadBytes, nil)
	if len(s.pay) != minPayRing {
		t.Errorf("300 bytes: ring of %d", len(s.pay))
	}
	s.keepPayload(1300, make([]byte, 1448), 0, DefaultMaxPayloadBytes, nil)
	if len(s.pay) != 2048 {
		t.Errorf("1748 bytes: ring of %d", len(s.pay))
	}
}

// TestPayloadFreedAtClose checks that a direction's payload copy is let go
// once its FIN is acknowledged, and that data seen after that still works.
func TestPayloadFreedAtClose(t *testing.T) {
	var tr Tracker
	tr.Init(&Config{KeepPayload: true})
	run(t, &tr, cat(handshake(), []step{
		seg(O, PA, 1001, 5001, 0, 65535).P("hello world").W(InOrder),
		seg(R, A, 5001, 1012, 0, 65535).C(func(t *testing.T, _ Result) {
			if tr.d[O].pay == nil {
				t.Error("copy let go before the FIN")
			}
		}),
		seg(O, FA, 1012, 5001, 0, 65535),
		seg(R, A, 5001, 1013, 0, 65535).C(func(t *testing.T, _ Result) {
			if tr.d[O].pay != nil || tr.d[O].st&stPay != 0 {
				t.Error("copy kept after the FIN was acknowledged")
			}
		}),
		seg(O, PA, 1001, 5001, 0, 65535).P("HELLO").T(time.Second).W(Retransmission | SpuriousRetransmission),
	}))
}
