package engine

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

func TestTombTableBasics(t *testing.T) {
	tt := newTombTable(1 << 12)
	if tt.get(5) != nil {
		t.Fatal("empty table found a tomb")
	}
	tt.put(5, tomb{until: 100, gen: 1}, 0)
	tt.put(5, tomb{until: 200, gen: 2}, 0) // replaces
	if got := tt.get(5); got == nil || got.gen != 2 || got.until != 200 {
		t.Fatalf("get(5) = %+v, want the second tomb", got)
	}
	if tt.n != 1 {
		t.Fatalf("n = %d after a replacement, want 1", tt.n)
	}
	tt.del(5)
	if tt.get(5) != nil || tt.n != 0 {
		t.Fatal("del left the tomb")
	}
	// Hash 0 is a valid key too (slots mark use with a bit of their own).
	tt.put(0, tomb{until: 1}, 0)
	if tt.get(0) == nil {
		t.Fatal("hash 0 not found")
	}
}

// TestTombTableMatchesMap runs random operations against a map: below the
// cap, the table must hold exactly the tombs whose linger has not ended.
func TestTombTableMatchesMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tt := newTombTable(1 << 20)
	ref := map[uint64]tomb{}
	now := int64(0)
	for i := 0; i < 200_000; i++ {
		now += int64(r.IntN(3))
		h := r.Uint64N(50_000) * 0x9e3779b97f4a7c15 // spread, with collisions of home slots
		switch r.IntN(10) {
		case 0:
			tt.del(h)
			delete(ref, h)
		case 1, 2, 3:
			got, want := tt.get(h), ref[h]
			_, live := ref[h]
			live = live && want.until >= now
			if live && (got == nil || *got != want) {
				t.Fatalf("op %d: get(%x) = %v, want %+v", i, h, got, want)
			}
		default:
			tb := tomb{until: now + int64(r.IntN(1000)), gen: int32(i)}
			tt.put(h, tb, now)
			ref[h] = tb
		}
	}
	if len(tt.hs) > 1<<17 {
		t.Errorf("table grew to %d slots for at most 50000 keys", len(tt.hs))
	}
}

// TestTombTableCap checks that a full table stays at its cap and forgets the
// tombs whose linger ends first.
func TestTombTableCap(t *testing.T) {
	tt := newTombTable(1 << 10)
	for i := range uint64(100_000) {
		tt.put(i*0x9e3779b97f4a7c15, tomb{until: 1_000_000 + int64(i)}, 0)
	}
	if len(tt.hs) != 1<<10 {
		t.Fatalf("%d slots, want the cap %d", len(tt.hs), 1<<10)
	}
	if tt.n != 1<<10 {
		t.Fatalf("n = %d, want the table full", tt.n)
	}
	// The latest tomb is always kept, the first ones are long gone.
	if last := uint64(99_999); tt.get(last*0x9e3779b97f4a7c15) == nil {
		t.Error("the latest tomb was not kept")
	}
	if tt.get(0) != nil {
		t.Error("the first tomb survived 100 000 later ones in 1024 slots")
	}
}

// TestTombSize pins the 32 bytes a tomb takes in the table (its hash and the
// tomb), the figure README.md gives.
func TestTombSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("size documented for 64-bit platforms")
	}
	if got := unsafe.Sizeof(tomb{}) + unsafe.Sizeof(uint64(0)); got != 32 {
		t.Errorf("a tomb takes %d bytes in the table, documented 32", got)
	}
}
