package engine

import (
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/flow"
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
	if tt.count() != 1 {
		t.Fatalf("count = %d after a replacement, want 1", tt.count())
	}
	tt.del(5)
	if tt.get(5) != nil || tt.count() != 0 {
		t.Fatal("del left the tomb")
	}
	// The same once the puts went from the batch to the arrays.
	tt.put(7, tomb{until: 100, gen: 1}, 0)
	tt.flush()
	tt.put(7, tomb{until: 300, gen: 3}, 0) // pending, shadows the stored one
	if got := tt.get(7); got == nil || got.gen != 3 {
		t.Fatalf("get(7) = %+v, want the pending tomb", got)
	}
	tt.flush()
	if got := tt.get(7); got == nil || got.gen != 3 || tt.count() != 1 {
		t.Fatalf("get(7) = %+v, count %d after the flush, want the second tomb alone", got, tt.count())
	}
	tt.del(7)
	if tt.get(7) != nil || tt.count() != 0 {
		t.Fatal("del left a stored tomb")
	}
	// Deleting a pending tomb that shadows a stored one deletes both.
	tt.put(9, tomb{until: 100, gen: 1}, 0)
	tt.flush()
	tt.put(9, tomb{until: 300, gen: 2}, 0)
	tt.del(9)
	if got := tt.get(9); got != nil {
		t.Fatalf("get(9) = %+v after del, want none", got)
	}
	// Hash 0 is a valid key too (slots mark use with a bit of their own).
	tt.put(0, tomb{until: 1}, 0)
	if tt.get(0) == nil {
		t.Fatal("hash 0 not found")
	}
}

// TestTombTableMatchesMap runs random operations against a map: below the
// cap, the table must hold exactly the tombs whose linger has not ended. Few
// keys make the batch of pending puts shadow and delete stored tombs often.
func TestTombTableMatchesMap(t *testing.T) {
	for _, keys := range []uint64{50_000, 300} {
		r := rand.New(rand.NewPCG(1, keys))
		tt := newTombTable(1 << 20)
		ref := map[uint64]tomb{}
		now := int64(0)
		for i := 0; i < 200_000; i++ {
			now += int64(r.IntN(3))
			h := r.Uint64N(keys) * 0x9e3779b97f4a7c15 // spread, with collisions of home slots
			switch r.IntN(10) {
			case 0:
				tt.del(h)
				delete(ref, h)
			case 1, 2, 3:
				got, want := tt.get(h), ref[h]
				_, live := ref[h]
				live = live && want.until >= now
				if live && (got == nil || *got != want) {
					t.Fatalf("%d keys, op %d: get(%x) = %v, want %+v", keys, i, h, got, want)
				}
				if _, kept := ref[h]; !kept && got != nil {
					t.Fatalf("%d keys, op %d: get(%x) = %+v after its del", keys, i, h, got)
				}
			default:
				tb := tomb{until: now + int64(r.IntN(1000)), gen: int32(i)}
				tt.put(h, tb, now)
				ref[h] = tb
			}
		}
		if len(tt.hs) > 1<<18 {
			t.Errorf("table grew to %d slots for at most %d keys", len(tt.hs), keys)
		}
	}
}

// TestTombTableFullMatchesMap runs random operations on a table at its cap,
// where tombs move to their other bucket and the earliest-ending are
// forgotten: a tomb it returns must be the latest put for that hash.
func TestTombTableFullMatchesMap(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 3))
	tt := newTombTable(1 << 10)
	ref := map[uint64]tomb{}
	now, found := int64(0), 0
	for i := 0; i < 200_000; i++ {
		now += int64(r.IntN(2))
		h := r.Uint64N(1500) * 0x9e3779b97f4a7c15
		switch r.IntN(10) {
		case 0:
			tt.del(h)
			delete(ref, h)
		case 1, 2, 3:
			got := tt.get(h)
			want, kept := ref[h]
			if got != nil && (!kept || *got != want) {
				t.Fatalf("op %d: get(%x) = %+v, want %+v (kept %v)", i, h, *got, want, kept)
			}
			if got != nil {
				found++
			}
		default:
			tb := tomb{until: now + 50_000 + int64(r.IntN(50_000)), gen: int32(i)}
			tt.put(h, tb, now)
			ref[h] = tb
		}
	}
	if len(tt.hs) != 1<<10 {
		t.Errorf("%d slots, want the cap 1024", len(tt.hs))
	}
	if found == 0 {
		t.Error("no lookup found its tomb")
	}
}

// TestTombTableCap checks that a full table stays at its cap and forgets the
// tombs whose linger ends first.
func TestTombTableCap(t *testing.T) {
	tt := newTombTable(1 << 10)
	for i := range uint64(100_000) {
		tt.put(i*0x9e3779b97f4a7c15, tomb{until: 1_000_000 + int64(i)}, 0)
	}
	tt.flush()
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
	// Full of live tombs, the table stops looking for room to move one to.
	if tt.capTries != minDisplaceTries {
		t.Errorf("capTries = %d in a table full of live tombs, want %d", tt.capTries, minDisplaceTries)
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

// TestTombTableLoad: the table doubles only when a bucket and its partner
// are both full and no tomb of theirs can move to its own other bucket,
// which for random hashes comes at 80-95 % of the slots; every doubling of
// eight seeds is checked. Without the move it came at 30-45 % (luck decided
// which capture paid one more doubling), and with lone buckets at a tenth.
func TestTombTableLoad(t *testing.T) {
	for seed := range uint64(8) {
		r := rand.New(rand.NewPCG(seed, 4))
		tt := newTombTable(1 << 22)
		slots := 0
		for i := range 200_000 {
			tt.put(r.Uint64(), tomb{until: 1 << 40}, 0)
			if len(tt.hs) == slots {
				continue
			}
			// i tombs were held (some pending) when the table grew.
			if load := float64(i-tombBatch) / float64(slots); slots > 0 && load < 0.75 {
				t.Errorf("seed %d: %d slots doubled at %.0f %% load", seed, slots, 100*load)
			}
			slots = len(tt.hs)
		}
		tt.flush()
		if tt.count() != 200_000 {
			t.Fatalf("seed %d: %d tombs held, want all 200 000", seed, tt.count())
		}
	}
}

// TestTombTableDoubleMatchesCopy: doubling in place leaves every slot as
// copying the live tombs into a new table of twice the size did, home
// bucket by home bucket in slot order and then the rest through store
// (tombsCopied, the algorithm double replaced): the same hashes and tombs
// in the same slots, the same overflow bits and count. Which tomb sits
// where decides which one a table at its cap gives up, so a change of
// layout would change reports. Tables at several loads, with expired
// tombs and tombs in their second bucket.
func TestTombTableDoubleMatchesCopy(t *testing.T) {
	for seed := range uint64(6) {
		r := rand.New(rand.NewPCG(seed, 9))
		tt := newTombTable(1 << 20)
		n := 500 + r.IntN(12_000)
		for range n {
			// A fifth have ended their linger by now = 1000.
			tt.put(r.Uint64(), tomb{until: 500 + int64(r.IntN(2500)), gen: int32(r.Int32())}, 0)
		}
		tt.flush()
		alt := 0
		for i, x := range tt.hs {
			if x != 0 && tt.bucket(x) != i/tombWays*tombWays {
				alt++
			}
		}
		if alt == 0 {
			t.Fatalf("seed %d: no tomb in its second bucket: the test does not cover them", seed)
		}
		want := tombsCopied(tt, 1000)
		tt.double(1000)
		if len(tt.hs) != len(want.hs) || tt.n != want.n || tt.mask != want.mask {
			t.Fatalf("seed %d: %d slots, %d tombs, mask %#x; the copy has %d, %d, %#x",
				seed, len(tt.hs), tt.n, tt.mask, len(want.hs), want.n, want.mask)
		}
		for i := range tt.hs {
			if tt.hs[i] != want.hs[i] || tt.hs[i] != 0 && tt.ts[i] != want.ts[i] {
				t.Fatalf("seed %d: slot %d holds %#x %+v, the copy %#x %+v", seed, i, tt.hs[i], tt.ts[i], want.hs[i], want.ts[i])
			}
		}
		for i := range tt.over {
			if tt.over[i] != want.over[i] {
				t.Fatalf("seed %d: overflow bits %d differ", seed, i)
			}
		}
	}
}

// tombsCopied returns a table of twice tt's slots holding tt's tombs whose
// linger lasts past now, placed the way the tomb table grew before it grew
// in place: a new table, tt's tombs in their home bucket copied in slot
// order into the two buckets that split it, then the others stored anew.
func tombsCopied(tt *tombTable, now int64) *tombTable {
	c := newTombTable(tt.max)
	c.capTries = tt.capTries
	c.alloc(2 * len(tt.hs))
	fill := make([]int, len(c.hs)/tombWays)
	moved := make([]bool, len(tt.hs))
	for i, x := range tt.hs {
		if x == 0 || tt.ts[i].until < now || tt.bucket(x) != i/tombWays*tombWays {
			continue
		}
		nb := c.bucket(x) / tombWays
		j := nb*tombWays + fill[nb]
		fill[nb]++
		c.hs[j], c.ts[j] = x, tt.ts[i]
		c.n++
		moved[i] = true
	}
	for i, x := range tt.hs {
		if x != 0 && !moved[i] && tt.ts[i].until >= now {
			c.store(x, tt.ts[i], now)
		}
	}
	return c
}

// TestPendBitSpreadsWithinShard checks that the pending puts' filter takes
// bits that differ between the tombs of one shard: with the top bits of the
// hash, which choose the shard, it let three lookups in four through to the
// scan.
func TestPendBitSpreadsWithinShard(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, shards := range []int{1, 4, flow.MaxShards} {
		sh := flow.NewSharder(shards)
		seen := map[[2]uint64]bool{}
		for n := 0; n < 4096; {
			h := r.Uint64() | tombHashUsed
			if sh.Of(h) != 0 {
				continue
			}
			n++
			w, bit := pendBit(h)
			seen[[2]uint64{uint64(w), bit}] = true
		}
		if len(seen) < 250 {
			t.Errorf("%d shards: 4096 hashes of one shard set %d of the 256 filter bits", shards, len(seen))
		}
	}
}

// TestTombLanesMatchOwnArrays runs random operations on the lanes of one
// tombLanes and the same ones on tables with arrays of their own: lanes fed
// at different rates double at different times and grow the shared arrays
// under each other, yet every lane must hold what its own table holds, slot
// for slot, up to and at its cap, where the slots decide which tomb is given
// up. So the tombs, and the reports, do not depend on which shards share an
// engine's arrays, that is on the number of workers.
func TestTombLanesMatchOwnArrays(t *testing.T) {
	for _, c := range []struct{ lanes, max, keys, ops int }{
		{1, 1 << 12, 6000, 120_000},
		{3, 1 << 12, 6000, 120_000},
		{8, 1 << 11, 6000, 120_000},
		// Arrays past a huge page (2 MiB of hashes at the cap), which
		// move once into huge pages on the way.
		{16, 1 << 14, 40_000, 500_000},
	} {
		r := rand.New(rand.NewPCG(uint64(c.lanes), 7))
		tl := newTombLanes(c.lanes, c.max)
		shared := make([]*tombTable, c.lanes)
		own := make([]*tombTable, c.lanes)
		for l := range own {
			shared[l], own[l] = tl.table(l), newTombTable(c.max)
		}
		now := int64(0)
		for i := 0; i < c.ops; i++ {
			now += int64(r.IntN(2))
			l := min(r.IntN(c.lanes*c.lanes), c.lanes*c.lanes-1) % c.lanes // uneven rates
			if r.IntN(4) == 0 {
				l = 0
			}
			h := r.Uint64N(uint64(c.keys)) * 0x9e3779b97f4a7c15
			switch r.IntN(10) {
			case 0:
				shared[l].del(h)
				own[l].del(h)
			case 1, 2:
				a, b := shared[l].get(h), own[l].get(h)
				if (a == nil) != (b == nil) || a != nil && *a != *b {
					t.Fatalf("%d lanes, op %d, lane %d: get(%x) = %v, its own table %v", c.lanes, i, l, h, a, b)
				}
			default:
				tb := tomb{until: now + 2*int64(c.keys) + int64(r.IntN(4*c.keys)), gen: int32(i)}
				shared[l].put(h, tb, now)
				own[l].put(h, tb, now)
			}
		}
		if big := c.lanes*c.max*8 >= 2<<20; big && tl.hm.S != nil && (len(tl.hm.S) < c.lanes*c.max) {
			t.Fatalf("%d lanes: the arrays hold %d slots, want every lane's cap", c.lanes, len(tl.hm.S))
		}
		for l := range own {
			s, o := shared[l], own[l]
			s.flush()
			o.flush()
			if s.mask != o.mask || s.n != o.n || s.capTries != o.capTries {
				t.Fatalf("%d lanes, lane %d: mask %#x, %d tombs, capTries %d; its own table %#x, %d, %d",
					c.lanes, l, s.mask, s.n, s.capTries, o.mask, o.n, o.capTries)
			}
			if c.lanes > 1 && s.slots() < c.max {
				t.Errorf("%d lanes, lane %d: %d slots, the test meant to fill it", c.lanes, l, s.slots())
			}
			for b := 0; b <= int(s.mask); b++ {
				for w := range tombWays {
					i, j := s.slot(b)+w, b*tombWays+w
					if s.hs[i] != o.hs[j] || s.hs[i] != 0 && s.ts[i] != o.ts[j] {
						t.Fatalf("%d lanes, lane %d, bucket %d way %d: %#x %+v, its own table %#x %+v", c.lanes, l, b, w, s.hs[i], s.ts[i], o.hs[j], o.ts[j])
					}
				}
			}
			for i := range s.over {
				if s.over[i] != o.over[i] {
					t.Fatalf("%d lanes, lane %d: overflow bits %d differ", c.lanes, l, i)
				}
			}
		}
	}
}
