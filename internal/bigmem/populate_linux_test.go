package bigmem

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// untouched is a global that nothing else reads or writes: its pages are not
// mapped until something touches them.
var untouched [64 << 10]uint64

// resident counts the pages of b that are mapped (mincore).
func resident(t *testing.T, b []byte) int {
	t.Helper()
	vec := make([]byte, (len(b)+os.Getpagesize()-1)/os.Getpagesize())
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), uintptr(unsafe.Pointer(unsafe.SliceData(vec))))
	if errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

func TestPopulateReadMapsWholePagesOnly(t *testing.T) {
	page := uintptr(os.Getpagesize())
	p := unsafe.Pointer(&untouched)
	size := unsafe.Sizeof(untouched)
	// The whole pages inside the array, which is not page-aligned in general.
	lo := (uintptr(p) + page - 1) &^ (page - 1)
	hi := (uintptr(p) + size) &^ (page - 1)
	inner := unsafe.Slice((*byte)(unsafe.Add(p, lo-uintptr(p))), hi-lo)
	if n := resident(t, inner); n != 0 {
		t.Skipf("%d pages of the array are mapped already", n)
	}
	// Half a page in from each end: the pages cut at either end stay out.
	if !PopulateRead(unsafe.Add(p, lo-uintptr(p)+page/2), hi-lo-page) {
		t.Skip("this kernel does not populate for reading (MADV_POPULATE_READ, Linux 5.14)")
	}
	want := int((hi-lo)/page) - 2
	if n := resident(t, inner); n != want {
		t.Fatalf("%d pages mapped, want the %d whole pages of the range", n, want)
	}
	if untouched[len(untouched)/2] != 0 {
		t.Fatal("the pages read back non-zero")
	}
}

func TestPopulateReadOfLessThanAPage(t *testing.T) {
	var x [16]byte
	if PopulateRead(unsafe.Pointer(&x), unsafe.Sizeof(x)) {
		t.Fatal("reported pages populated for a range with no whole page")
	}
}
