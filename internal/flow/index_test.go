package flow

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestIndexMatchesMap runs random inserts, lookups and removals against a Go
// map, with few distinct keys so that probe chains wrap and shift.
func TestIndexMatchesMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var x index[int]
	ref := map[Key]*Entry[int]{}
	key := func(i int) Key {
		a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), uint16(i))
		return KeyOf(a, netip.MustParseAddrPort("192.0.2.1:80"))
	}
	for op := 0; op < 300_000; op++ {
		k := key(r.IntN(2000))
		switch e := ref[k]; {
		case e == nil && r.IntN(2) == 0:
			e = &Entry[int]{Key: k, h: k.Hash(), Value: op}
			x.insert(e)
			ref[k] = e
		case e != nil && r.IntN(3) == 0:
			x.remove(e)
			delete(ref, k)
		default:
			if got := x.get(k, k.Hash()); got != e {
				t.Fatalf("op %d: get(%v) = %p, want %p", op, k, got, e)
			}
		}
		if x.n != len(ref) {
			t.Fatalf("op %d: n = %d, want %d", op, x.n, len(ref))
		}
	}
	for k, e := range ref {
		if got := x.get(k, k.Hash()); got != e {
			t.Fatalf("get(%v) = %p, want %p", k, got, e)
		}
	}
}

func TestKeyHashIsStable(t *testing.T) {
	k := KeyOf(netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80"))
	if k.Hash() != KeyOf(netip.MustParseAddrPort("10.0.0.2:80"), netip.MustParseAddrPort("10.0.0.1:40000")).Hash() {
		t.Error("the two directions of a connection hash differently")
	}
	k2 := KeyOf(netip.MustParseAddrPort("10.0.0.1:40001"), netip.MustParseAddrPort("10.0.0.2:80"))
	if k.Hash() == k2.Hash() {
		t.Error("keys differing in a port hash the same")
	}
}
