package bigmem

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

func mapAnon(size int) ([]byte, bool) {
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, false
	}
	// Huge pages are a hint: without them (THP off) the mapping still works.
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	// The arrays are hash tables, filled at random: every page is touched
	// soon. Faulting them in with one call (Linux 5.14+; a hint too) costs
	// far less than a trap per 4 KiB page of a mapping under 2 MiB.
	_ = unix.Madvise(b, unix.MADV_POPULATE_WRITE)
	return b, true
}

// reserveAnon maps size bytes of zeroed memory and faults none of it in: the
// kernel sets no memory aside for it (MAP_NORESERVE) until its pages are
// touched or populated. A huge reservation is advised into huge pages and
// starts on a huge page's boundary, so that its first pages can be huge
// ones too. The mapping is not one unix.Mmap tracks (its ends may be cut
// off): unmapRaw releases it.
func reserveAnon(size int, huge bool) ([]byte, bool) {
	extra := 0
	if huge {
		extra = hugePage
	}
	p, err := unix.MmapPtr(-1, 0, nil, uintptr(size+extra), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_NORESERVE)
	if err != nil {
		return nil, false
	}
	b := unsafe.Slice((*byte)(p), size+extra)
	if huge {
		head := int((hugePage - uintptr(p)%hugePage) % hugePage)
		if head > 0 {
			unmapRaw(b[:head])
		}
		if tail := b[head+size:]; len(tail) > 0 {
			unmapRaw(tail)
		}
		b = b[head : head+size : head+size]
		_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	}
	return b, true
}

// unmapRaw releases b, all or part of a mapping reserveAnon made.
func unmapRaw(b []byte) {
	if len(b) > 0 {
		_ = unix.MunmapPtr(unsafe.Pointer(&b[0]), uintptr(len(b)))
	}
}

// populate faults in bytes [from, to) of the mapping b, from the start of
// from's page, as mapAnon does the whole of its mapping.
func populate(b []byte, from, to int) {
	from -= from % unix.Getpagesize()
	if to > from {
		_ = unix.Madvise(b[from:to], unix.MADV_POPULATE_WRITE)
	}
}

// remap grows the mapping b to size bytes, moving it if it must, and faults
// in the new pages as mapAnon does. The advice given to b carries over.
func remap(b []byte, size int) ([]byte, bool) {
	nb, err := unix.Mremap(b, size, unix.MREMAP_MAYMOVE)
	if err != nil {
		return nil, false
	}
	populate(nb, len(b), size)
	return nb, true
}

func unmap(b []byte) { _ = unix.Munmap(b) }

// canAdviseHuge tells whether adviseHuge can work here.
const canAdviseHuge = true

func adviseHuge(b []byte) bool { return unix.Madvise(b, unix.MADV_HUGEPAGE) == nil }
