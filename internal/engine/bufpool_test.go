package engine

import "testing"

// TestBufferPoolWaitsForItsRounds: a buffer the reader moved on from while
// filling round r is lent again only once round r is merged, never before.
func TestBufferPoolWaitsForItsRounds(t *testing.T) {
	var bp bufferPool
	a := bp.Buffer(1024) // round 0 reads into a
	bp.Retire(a)         // and moves on while round 0 is filling
	bp.filling++         // round 0 handed to the merger; round 1 fills
	if b := bp.Buffer(1024); &b[0] == &a[0] {
		t.Fatal("a buffer of round 0 lent again before round 0 was merged")
	}
	bp.roundMerged() // round 0 merged
	if b := bp.Buffer(1024); &b[0] != &a[0] {
		t.Error("the buffer of a merged round was not lent again")
	}
	// A buffer retired while round 1 fills waits for round 1, not round 0.
	c := bp.Buffer(512)
	bp.Retire(c)
	if d := bp.Buffer(512); &d[0] == &c[0] {
		t.Fatal("a buffer of round 1 lent again while round 1 was filling")
	}
	bp.filling++
	bp.roundMerged()
	if d := bp.Buffer(512); &d[0] != &c[0] {
		t.Error("the buffer of round 1 was not lent again once round 1 was merged")
	}
	// A buffer too small for the request is not lent.
	e := bp.Buffer(64)
	bp.Retire(e)
	bp.filling++
	bp.roundMerged()
	if f := bp.Buffer(4096); cap(f) < 4096 {
		t.Errorf("lent %d bytes for 4096", cap(f))
	}
}
