package reassembly

import (
	"math/rand/v2"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// capture is a stand-in for a capture file: every segment's bytes are
// appended as they are sent, and read back by position.
type capture struct {
	data  []byte
	reads int
	fail  bool // every read fails
}

const captureBase = 1 << 40 // positions start here, so that 0 means none

func (c *capture) write(p []byte) uint64 {
	pos := captureBase + uint64(len(c.data))
	c.data = append(c.data, p...)
	return pos
}

func (c *capture) read(pos uint64, p []byte) bool {
	c.reads++
	off := pos - captureBase
	if c.fail || pos < captureBase || off+uint64(len(p)) > uint64(len(c.data)) {
		return false
	}
	copy(p, c.data[off:])
	return true
}

// TestPayloadByPosition checks that payload kept by position finds exactly
// the mismatches a copy finds, over the same window, on random in-order
// data, retransmissions of equal and differing bytes, overlaps, gaps, runs
// of small segments (more than maxExtents), and segments that cannot be read
// again (which turn the kept payload into a copy).
func TestPayloadByPosition(t *testing.T) {
	tests := []struct {
		name  string
		capN  uint32
		seed  uint64
		small int // one segment in small is 1-8 bytes
		noPos int // one segment in noPos has no position
	}{
		{"default window", DefaultMaxPayloadBytes, 1, 0, 0},
		{"small window", 512, 2, 0, 0},
		{"small segments", 4096, 3, 2, 0},
		{"some without a position", 8192, 4, 0, 7},
		{"all of it", 2048, 5, 3, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snd := newSender(rand.New(rand.NewPCG(tc.seed, 9)), tc.capN, tc.small)
			r := snd.r
			isn := seqnum.Value(r.Uint32())
			var byPos, copied dirState
			file := &capture{}
			pool := new(RingPool)
			pool.SetReader(file.read)
			mismatches, refSegs := 0, 0
			for i := 0; i < 4000 && snd.more(); i++ {
				off, p := snd.segment()
				n := len(p)
				pos := file.write(p)
				if tc.noPos > 0 && r.IntN(tc.noPos) == 0 {
					pos = 0
				}
				a := isn.Add(seqnum.Size(off))
				g := byPos.keepPayload(a, p, pos, tc.capN, pool)
				w := copied.keepPayload(a, p, 0, tc.capN, nil)
				if g != w {
					t.Fatalf("segment %d [%d, %d): mismatch %v kept by position, %v copied", i, off, off+n, g, w)
				}
				if g {
					mismatches++
				}
				if byPos.payLo != copied.payLo || byPos.payHi != copied.payHi || byPos.st&stPay != copied.st&stPay {
					t.Fatalf("segment %d: window [%d, %d) by position vs [%d, %d) copied", i, byPos.payLo, byPos.payHi, copied.payLo, copied.payHi)
				}
				if byPos.st&stPayRef != 0 {
					refSegs++
					if byPos.pay != nil {
						t.Fatalf("segment %d: a ring is held while the payload is kept by position", i)
					}
					if len(byPos.ext) > maxExtents {
						t.Fatalf("segment %d: %d runs kept", i, len(byPos.ext))
					}
				}
				snd.sent(off, p)
			}
			if mismatches == 0 {
				t.Error("no mismatch found: the test does not test")
			}
			if refSegs == 0 {
				t.Error("the payload was never kept by position")
			}
			if pool.ReadsFailed() != 0 {
				t.Errorf("%d reads failed", pool.ReadsFailed())
			}
		})
	}
}

// TestPayloadByPositionCopiesNothing checks that in-order payload kept by
// position is neither copied nor read back.
func TestPayloadByPositionCopiesNothing(t *testing.T) {
	var s dirState
	file := &capture{}
	pool := new(RingPool)
	pool.SetReader(file.read)
	a := seqnum.Value(1000)
	for i := 0; i < 50; i++ {
		p := make([]byte, 1448)
		s.keepPayload(a, p, file.write(p), DefaultMaxPayloadBytes, pool)
		a = a.Add(1448)
	}
	if s.pay != nil || file.reads != 0 {
		t.Fatalf("ring %d bytes, %d reads", len(s.pay), file.reads)
	}
}

// TestPayloadByPositionReadFails checks that a reader that fails is counted
// and costs only the comparisons, with no mismatch invented.
func TestPayloadByPositionReadFails(t *testing.T) {
	var s dirState
	file := &capture{}
	pool := new(RingPool)
	pool.SetReader(file.read)
	p := []byte("hello world")
	s.keepPayload(1000, p, file.write(p), 64, pool)
	file.fail = true
	q := []byte("HELLO")
	if s.keepPayload(1000, q, file.write(q), 64, pool) {
		t.Error("a mismatch found without the kept bytes")
	}
	if pool.ReadsFailed() != 1 {
		t.Errorf("%d failed reads counted, want 1", pool.ReadsFailed())
	}
	// A segment without a position turns the kept payload into a copy; the
	// failed read leaves nothing kept, and the window starts afresh.
	r := []byte("again")
	s.keepPayload(1011, r, 0, 64, pool)
	if pool.ReadsFailed() != 2 || s.st&stPayRef != 0 || s.payLo != 1011 || s.payHi != 1016 {
		t.Errorf("after a failed copy: %d failed, window [%d, %d), by position %v", pool.ReadsFailed(), s.payLo, s.payHi, s.st&stPayRef != 0)
	}
}
