package reassembly

import (
	"testing"
	"unsafe"
)

// trackerSize is the size documented in the package comment.
const trackerSize = 504

func TestTrackerSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("size documented for 64-bit platforms")
	}
	if got := unsafe.Sizeof(Tracker{}); got != trackerSize {
		t.Errorf("unsafe.Sizeof(Tracker{}) = %d, documented %d: update the package doc", got, trackerSize)
	}
}
