package engine

import (
	"math/rand/v2"
	"testing"
)

// TestIDMapMatchesMap drives an idMap and a Go map with the same random puts,
// lookups and removals, frames clustered as a capture's are, through growth
// and long probe runs, and compares every answer.
func TestIDMapMatchesMap(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 11))
	var m idMap
	want := map[uint64]uint64{}
	var open []uint64
	frame, id := uint64(0), uint64(0)
	for step := range 200_000 {
		switch r := rnd.IntN(10); {
		case r < 5 || len(open) == 0:
			frame += 1 + uint64(rnd.IntN(3))
			id++
			m.put(frame, id)
			want[frame] = id
			open = append(open, frame)
		case r < 8:
			k := rnd.IntN(len(open))
			f := open[k]
			open[k] = open[len(open)-1]
			open = open[:len(open)-1]
			if got := m.take(f); got != want[f] {
				t.Fatalf("step %d: take(%d) = %d, want %d", step, f, got, want[f])
			}
			delete(want, f)
			if got := m.get(f); got != 0 {
				t.Fatalf("step %d: frame %d still maps to %d after its removal", step, f, got)
			}
		default:
			f := open[rnd.IntN(len(open))]
			if got := m.get(f); got != want[f] {
				t.Fatalf("step %d: get(%d) = %d, want %d", step, f, got, want[f])
			}
			if got := m.get(frame + 1); got != 0 {
				t.Fatalf("step %d: an absent frame maps to %d", step, got)
			}
		}
		if m.n != len(want) {
			t.Fatalf("step %d: %d entries, want %d", step, m.n, len(want))
		}
	}
	for f, v := range want {
		if got := m.take(f); got != v {
			t.Fatalf("draining: take(%d) = %d, want %d", f, got, v)
		}
	}
	if m.n != 0 || m.take(1) != 0 || m.get(1) != 0 {
		t.Errorf("not empty after draining: %d entries", m.n)
	}
}
