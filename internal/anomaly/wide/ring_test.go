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
