package wide

import (
	"math/rand/v2"
	"testing"
)

// TestAddrSetMatchesReference runs random adds and folds on addrSets with
// small limits against a plain reference (the set without its shortcut for a
// full set): the same keys, count and capped flag after every step, a full
// set included, and a fold of a capped set into one with room, whose keys
// must still go in.
func TestAddrSetMatchesReference(t *testing.T) {
	type ref struct {
		m      map[uint64]bool
		capped bool
	}
	refAdd := func(r *ref, k uint64, limit int) {
		if r.m[k] {
			return
		}
		if len(r.m) >= limit {
			r.capped = true
			return
		}
		r.m[k] = true
	}
	same := func(step string, s *addrSet, r *ref) {
		t.Helper()
		if len(s.m) != len(r.m) || s.capped != r.capped {
			t.Fatalf("%s: %d keys capped=%v, reference %d capped=%v", step, len(s.m), s.capped, len(r.m), r.capped)
		}
		for k := range r.m {
			if _, ok := s.m[k]; !ok {
				t.Fatalf("%s: key %d missing", step, k)
			}
		}
	}
	// A fold that reaches the limit keeps whichever keys the map's order
	// gives first (only the count is used): after one, the reference takes
	// the set's keys once their number and the flag agree.
	sameCount := func(step string, s *addrSet, r *ref) {
		t.Helper()
		if len(s.m) != len(r.m) || s.capped != r.capped {
			t.Fatalf("%s: %d keys capped=%v, reference %d capped=%v", step, len(s.m), s.capped, len(r.m), r.capped)
		}
		r.m = map[uint64]bool{}
		for k := range s.m {
			r.m[k] = true
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		limit := 1 + rng.IntN(8)
		keys := uint64(1 + rng.IntN(20))
		var a, b addrSet
		ra, rb := ref{m: map[uint64]bool{}}, ref{m: map[uint64]bool{}}
		for range rng.IntN(40) {
			k := rng.Uint64N(keys)
			a.addKey(k, limit)
			refAdd(&ra, k, limit)
			same("add", &a, &ra)
			k = rng.Uint64N(keys)
			b.addKey(k, limit)
			refAdd(&rb, k, limit)
		}
		// Fold b (perhaps capped) into a new set with room.
		var c addrSet
		rc := ref{m: map[uint64]bool{}}
		c.fold(&b, limit)
		rc.capped = rb.capped
		for k := range rb.m {
			refAdd(&rc, k, limit)
		}
		sameCount("fold into an empty set", &c, &rc)
		a.fold(&b, limit)
		ra.capped = ra.capped || rb.capped
		for k := range rb.m {
			refAdd(&ra, k, limit)
		}
		sameCount("fold", &a, &ra)
		for range 10 {
			k := rng.Uint64N(keys)
			a.addKey(k, limit)
			refAdd(&ra, k, limit)
			same("add after a fold", &a, &ra)
		}
	}
}

// TestRingMatchesReference runs random events, moves, resets and queries on
// rings of several windows against a reference that keeps a count per second
// in a map: the same bucket counts, sums, sums ahead and oldest seconds after
// every step, whether the ring still keeps its one bucket inline or has its
// array, late events and events older than the window included.
func TestRingMatchesReference(t *testing.T) {
	type ref struct {
		n    int64
		head int64
		set  bool
		c    map[int64]uint32
	}
	refAdvance := func(r *ref, s int64) {
		if !r.set {
			r.head, r.set = s, true
			return
		}
		if s <= r.head {
			return
		}
		r.head = s
		for x := range r.c {
			if x <= s-r.n {
				delete(r.c, x)
			}
		}
	}
	refAdd := func(r *ref, s int64) uint32 {
		refAdvance(r, s)
		if s <= r.head-r.n {
			return 0
		}
		r.c[s]++
		return r.c[s]
	}
	refSumAt := func(r *ref, s int64) uint64 {
		var sum uint64
		for x, c := range r.c {
			if !r.set || s <= r.head || x > s-r.n {
				sum += uint64(c)
			}
		}
		return sum
	}
	refOldest := func(r *ref, def int64) int64 {
		first := int64(0)
		found := false
		for x := range r.c {
			if !found || x < first {
				first, found = x, true
			}
		}
		if !found || first*1e9 >= def {
			return def
		}
		return first * 1e9
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 3000 {
		n := []int{1, 2, 3, 5, 60}[rng.IntN(5)]
		r, q := newRing(n), ref{n: int64(n), c: map[int64]uint32{}}
		at := int64(rng.IntN(100)) - 50
		for step := range rng.IntN(40) {
			switch op := rng.IntN(10); {
			case op < 5: // an event, perhaps late or older than the window
				s := at - int64(rng.IntN(2*n+1))
				if got, want := r.add(s), refAdd(&q, s); got != want {
					t.Fatalf("round %d step %d: add(%d) = %d, want %d", round, step, s, got, want)
				}
			case op < 8: // time moves on, by less or more than the window
				at += int64(rng.IntN(2*n + 2))
				r.advance(at)
				refAdvance(&q, at)
			case op < 9:
				r.reset()
				q = ref{n: int64(n), c: map[int64]uint32{}}
			default:
				at -= int64(rng.IntN(3)) // a query for an earlier second
			}
			if r.sum != refSumAt(&q, q.head) {
				t.Fatalf("round %d step %d: sum %d, want %d", round, step, r.sum, refSumAt(&q, q.head))
			}
			ahead := at + int64(rng.IntN(2*n+1))
			if got, want := r.sumAt(ahead), refSumAt(&q, ahead); got != want {
				t.Fatalf("round %d step %d: sumAt(%d) = %d, want %d", round, step, ahead, got, want)
			}
			def := (at + 1) * 1e9
			if got, want := r.oldest(def), refOldest(&q, def); got != want {
				t.Fatalf("round %d step %d: oldest = %d, want %d", round, step, got, want)
			}
		}
	}
}
