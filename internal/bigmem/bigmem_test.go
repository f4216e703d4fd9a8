package bigmem

import (
	"runtime"
	"testing"
	"time"
)

type rec struct {
	a, b uint64
	c    int32
}

func TestMake(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 1 << 18} { // the last is mapped (4 MiB)
		s := Make[rec](n)
		if len(s.S) != n {
			t.Fatalf("len %d, want %d", len(s.S), n)
		}
		for i := range s.S {
			if s.S[i] != (rec{}) {
				t.Fatalf("n=%d: element %d not zero", n, i)
			}
			s.S[i] = rec{uint64(i), uint64(2 * i), int32(i)}
		}
		for i := range s.S {
			if s.S[i].b != uint64(2*i) {
				t.Fatalf("n=%d: element %d lost", n, i)
			}
		}
		s.Free()
		if s.S != nil {
			t.Fatal("Free left the slice")
		}
		s.Free() // twice is harmless
	}
}

// TestFreeAndFinalizerRelease: Free gives a mapping back at once, and an
// unreachable Slice gives it back through its finalizer.
func TestFreeAndFinalizerRelease(t *testing.T) {
	base := mapped.Load()
	s := Make[uint64](1 << 19) // 4 MiB: mapped where the platform can
	if mapped.Load() == base {
		t.Skip("no mappings on this platform: Make uses make")
	}
	s.Free()
	if got := mapped.Load(); got != base {
		t.Fatalf("after Free %d bytes mapped, want %d", got, base)
	}
	for range 8 {
		u := Make[uint64](1 << 19)
		u.S[len(u.S)-1] = 1
	}
	if mapped.Load() == base {
		t.Fatal("the slices were not mapped")
	}
	// Finalizers run in their own goroutine after a collection.
	for i := 0; i < 100 && mapped.Load() != base; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if got := mapped.Load(); got != base {
		t.Errorf("%d bytes still mapped after the slices became unreachable, want %d", got-base, 0)
	}
}

// TestMappedFrom64KiB: arrays from minMapped up live outside the Go heap (the
// per-shard tomb tables, whose 512 KiB-2 MiB arrays in the heap raised the
// collector's goal), smaller ones in it.
func TestMappedFrom64KiB(t *testing.T) {
	base := mapped.Load()
	small := Make[uint64](minMapped/8 - 1)
	if small.mem != nil || mapped.Load() != base {
		t.Fatal("an array under 64 KiB was mapped")
	}
	s := Make[uint64](minMapped / 8)
	if s.mem == nil {
		t.Skip("no mappings on this platform: Make uses make")
	}
	if got := mapped.Load() - base; got != minMapped {
		t.Fatalf("%d bytes mapped for a 64 KiB array", got)
	}
	s.Free()
	small.Free()
	if mapped.Load() != base {
		t.Fatal("Free left the mapping")
	}
}

// TestGrowKeepsAndZeroes grows arrays in the heap, mapped ones, and one
// that moves from the heap to a mapping: the values held keep their places,
// the new ones are zero, and the bytes mapped are counted.
func TestGrowKeepsAndZeroes(t *testing.T) {
	for _, c := range []struct{ from, to int }{
		{100, 200},                       // in the heap
		{minMapped / 8, minMapped / 4},   // mapped, doubled
		{minMapped / 8, 3 * minMapped},   // mapped, grown by a factor not a power of two
		{minMapped/8 - 1, minMapped / 4}, // from the heap into a mapping
		{1 << 18, 1 << 19},               // 2 MiB to 4 MiB: huge pages where offered
	} {
		base := mapped.Load()
		s := Make[uint64](c.from)
		for i := range s.S {
			s.S[i] = uint64(i) + 1
		}
		s.Grow(c.to)
		if len(s.S) != c.to {
			t.Fatalf("%d → %d: length %d", c.from, c.to, len(s.S))
		}
		for i, v := range s.S {
			want := uint64(0)
			if i < c.from {
				want = uint64(i) + 1
			}
			if v != want {
				t.Fatalf("%d → %d: value %d is %d, want %d", c.from, c.to, i, v, want)
			}
		}
		if s.mem != nil {
			if got := mapped.Load() - base; got != int64(8*c.to) {
				t.Errorf("%d → %d: %d bytes counted as mapped, want %d", c.from, c.to, got, 8*c.to)
			}
		}
		s.Grow(c.from) // smaller: nothing changes
		if len(s.S) != c.to || s.S[0] != 1 {
			t.Fatalf("%d → %d: a smaller Grow changed the array", c.from, c.to)
		}
		s.Free()
		if got := mapped.Load(); got != base {
			t.Errorf("%d → %d: %d bytes still mapped after Free", c.from, c.to, got-base)
		}
	}
}

// TestMakeReservedGrowsInPlace: a reserved array grows where it is up to its
// reservation, keeping its values, zeroing the new ones and counting only the
// bytes faulted in; past the reservation it moves as any array does, and a
// reservation under minMapped is an array in the heap.
func TestMakeReservedGrowsInPlace(t *testing.T) {
	if small := MakeReserved[uint64](10, minMapped/8-1); small.mem != nil {
		t.Fatal("a reservation under 64 KiB was mapped")
	}
	const max = 1 << 16 // 512 KiB
	for _, from := range []int{0, 1000, minMapped / 8} {
		base := mapped.Load()
		s := MakeReserved[uint64](from, max)
		if s.mem == nil {
			t.Skip("no mappings on this platform: MakeReserved uses make")
		}
		if len(s.S) != from {
			t.Fatalf("from %d: length %d", from, len(s.S))
		}
		for i := range s.S {
			s.S[i] = uint64(i) + 1
		}
		var first *uint64
		for _, n := range []int{from + 1, from + 3000, 1 << 14, max, 2 * max} {
			if n <= len(s.S) {
				continue
			}
			s.Grow(n)
			if len(s.S) != n {
				t.Fatalf("from %d to %d: length %d", from, n, len(s.S))
			}
			if first == nil {
				first = &s.S[0]
			} else if &s.S[0] != first && n <= max {
				t.Fatalf("from %d to %d: the array moved inside its reservation", from, n)
			}
			for i, v := range s.S {
				want := uint64(0)
				if i < from {
					want = uint64(i) + 1
				}
				if v != want {
					t.Fatalf("from %d to %d: value %d is %d, want %d", from, n, i, v, want)
				}
			}
			if got := mapped.Load() - base; got != int64(8*n) {
				t.Errorf("from %d to %d: %d bytes counted as mapped, want %d", from, n, got, 8*n)
			}
		}
		s.Free()
		if got := mapped.Load(); got != base {
			t.Errorf("from %d: %d bytes still mapped after Free", from, got-base)
		}
	}
}

// TestMakeReservedMovesIntoHugePages: a reserved array stays in 4 KiB pages
// under a huge page, moves once into a reservation advised into huge pages
// when it grows to one, keeping its values, and then grows there in place.
func TestMakeReservedMovesIntoHugePages(t *testing.T) {
	base := mapped.Load()
	const max = 1 << 20 // 8 MiB
	s := MakeReserved[uint64](1000, max)
	if s.mem == nil {
		t.Skip("no mappings on this platform: MakeReserved uses make")
	}
	if s.mem.huge {
		t.Fatal("an array of 8000 bytes was advised into huge pages")
	}
	for i := range s.S {
		s.S[i] = uint64(i) + 1
	}
	check := func(n int) {
		t.Helper()
		if len(s.S) != n {
			t.Fatalf("length %d, want %d", len(s.S), n)
		}
		for i, v := range s.S {
			want := uint64(0)
			if i < 1000 {
				want = uint64(i) + 1
			}
			if v != want {
				t.Fatalf("value %d is %d, want %d", i, v, want)
			}
		}
		if got := mapped.Load() - base; got != int64(8*n) {
			t.Fatalf("%d bytes counted as mapped, want %d", got, 8*n)
		}
	}
	s.Grow(hugePage / 8)
	check(hugePage / 8)
	if !s.mem.huge {
		t.Fatal("an array of a huge page was not moved into huge pages")
	}
	first := &s.S[0]
	s.Grow(max)
	check(max)
	if &s.S[0] != first {
		t.Fatal("the array moved again")
	}
	s.Free()
	if got := mapped.Load(); got != base {
		t.Errorf("%d bytes still mapped after Free", got-base)
	}
}
