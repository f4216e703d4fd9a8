package bigmem

import (
	"runtime"
	"testing"
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

func TestFinalizerReleases(t *testing.T) {
	for range 64 { // 64 × 4 MiB: without release this would hold 256 MiB
		s := Make[uint64](1 << 19)
		s.S[len(s.S)-1] = 1
	}
	runtime.GC()
	runtime.GC()
}
