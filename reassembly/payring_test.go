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
			r := rand.New(rand.NewPCG(tc.seed, 0))
			stream := make([]byte, 1<<20) // the bytes the sender sends, by offset
			for i := range stream {
				stream[i] = byte(r.Uint32())
			}
			isn := seqnum.Value(r.Uint32())
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
			next := 0 // the next new offset
			mismatches := 0
			for i := 0; i < 3000 && next < len(stream)-3000; i++ {
				off, n := next, 1+r.IntN(1500)
				switch u := r.IntN(10); {
				case u == 0 && next > 0: // retransmission, maybe of other bytes
					off = max(0, next-r.IntN(int(2*tc.capN)+1)-1)
				case u == 1: // a gap
					off = next + r.IntN(3000)
				case u == 2 && next > 0: // overlap into new data
					off = next - min(next, r.IntN(100))
				}
				p := append([]byte(nil), stream[off:off+n]...)
				if r.IntN(20) == 0 {
					p[r.IntN(n)] ^= 0xff
				}
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
				// Restore the stream where the payload was changed, so the
				// sender's bytes stay what the copies hold.
				copy(stream[off:], p)
				next = max(next, off+n)
			}
			if mismatches == 0 {
				t.Error("no mismatch found: the test does not test")
			}
		})
	}
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
