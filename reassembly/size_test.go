package reassembly

import (
	"testing"
	"unsafe"
)

// trackerSize is the size documented in the package comment.
const trackerSize = 552

func TestTrackerSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("size documented for 64-bit platforms")
	}
	if got := unsafe.Sizeof(Tracker{}); got != trackerSize {
		t.Errorf("unsafe.Sizeof(Tracker{}) = %d, documented %d: update the package doc", got, trackerSize)
	}
}

// TestPayloadCapIsPowerOfTwo: the payload copy's capacity is the largest
// power of two within MaxPayloadBytes, at most 64 MiB.
func TestPayloadCapIsPowerOfTwo(t *testing.T) {
	for _, tc := range []struct {
		max  int
		want uint32
	}{
		{1, 1}, {2, 2}, {3, 2}, {1000, 512}, {1024, 1024}, {DefaultMaxPayloadBytes, 64 << 10},
		{100_000, 64 << 10}, {0, DefaultMaxPayloadBytes}, {1<<26 + 1, 1 << 26}, {1 << 40, 1 << 26},
	} {
		var tr Tracker
		tr.Init(&Config{MaxPayloadBytes: tc.max})
		if tr.payCap != tc.want {
			t.Errorf("MaxPayloadBytes %d: payload cap %d, want %d", tc.max, tr.payCap, tc.want)
		}
	}
}
