package bigmem

import "golang.org/x/sys/unix"

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

// remap grows the mapping b to size bytes, moving it if it must, and faults
// in the new pages as mapAnon does. The advice given to b carries over.
func remap(b []byte, size int) ([]byte, bool) {
	nb, err := unix.Mremap(b, size, unix.MREMAP_MAYMOVE)
	if err != nil {
		return nil, false
	}
	if old := len(b); old%unix.Getpagesize() == 0 {
		_ = unix.Madvise(nb[old:], unix.MADV_POPULATE_WRITE)
	}
	return nb, true
}

func unmap(b []byte) { _ = unix.Munmap(b) }

// canAdviseHuge tells whether adviseHuge can work here.
const canAdviseHuge = true

func adviseHuge(b []byte) bool { return unix.Madvise(b, unix.MADV_HUGEPAGE) == nil }
