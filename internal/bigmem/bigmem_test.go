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

// TestPooledArrays: arrays between minPooled and minMapped come from the
// slabs, outside the Go heap; a freed one is reused by the next of its size,
// zeroed again, and never shared by two live arrays.
func TestPooledArrays(t *testing.T) {
	a := Make[uint64](minPooled / 8) // 64 KiB
	if a.mem == nil {
		t.Skip("no mappings on this platform: Make uses make")
	}
	if !a.mem.pooled {
		t.Fatal("a 64 KiB array is not pooled")
	}
	b := Make[uint64](minPooled/8 + 1) // rounds up to 128 KiB
	if cap(b.mem.b) != 2*minPooled {
		t.Fatalf("chunk of %d bytes for %d, want %d", cap(b.mem.b), 8*len(b.S), 2*minPooled)
	}
	for i := range a.S {
		a.S[i] = ^uint64(0)
	}
	for i := range b.S {
		b.S[i] = 7
	}
	addr := &a.S[0]
	a.Free()
	c := Make[uint64](minPooled / 8)
	if &c.S[0] != addr {
		t.Error("the freed 64 KiB chunk was not reused")
	}
	for i, v := range c.S {
		if v != 0 {
			t.Fatalf("reused chunk not zeroed at %d: %x", i, v)
		}
	}
	d := Make[uint64](minPooled / 8)
	if &d.S[0] == &c.S[0] {
		t.Fatal("two live arrays share a chunk")
	}
	for i := range b.S {
		if b.S[i] != 7 {
			t.Fatalf("another array's chunk overwrote b at %d", i)
		}
	}
	b.Free()
	c.Free()
	d.Free()
}
