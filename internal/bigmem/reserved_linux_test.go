package bigmem

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestReservedFreeUnmaps: a reservation's addresses go back to the kernel
// whole when the array is freed, and the old ones when it moves into huge
// pages (madvise then answers ENOMEM for them). unix.Munmap refuses a part
// of a mapping, or one it did not make, and said nothing: the reservations
// cut to a huge page's boundary were never given back.
func TestReservedFreeUnmaps(t *testing.T) {
	isMapped := func(b []byte) bool { return unix.Madvise(b, unix.MADV_NORMAL) == nil }
	s := MakeReserved[uint64](1000, 1<<20) // 8 MiB reserved
	if s.mem == nil || !s.mem.reserved {
		t.Fatal("no reservation")
	}
	small := s.mem.full
	if !isMapped(small) {
		t.Fatal("the reservation is not mapped")
	}
	s.Grow(hugePage / 8) // into huge pages: a new reservation
	if !s.mem.huge {
		t.Fatal("the array did not move into huge pages")
	}
	if isMapped(small) {
		t.Error("the reservation left behind is still mapped")
	}
	big := s.mem.full
	if !isMapped(big) {
		t.Fatal("the huge-page reservation is not mapped")
	}
	s.Free()
	if isMapped(big) {
		t.Error("Free left the huge-page reservation mapped")
	}
}
