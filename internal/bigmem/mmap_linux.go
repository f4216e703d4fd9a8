package bigmem

import "golang.org/x/sys/unix"

func mapAnon(size int) ([]byte, bool) {
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, false
	}
	// Huge pages are a hint: without them (THP off) the mapping still works.
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	return b, true
}

func unmap(b []byte) { _ = unix.Munmap(b) }

// canAdviseHuge tells whether adviseHuge can work here.
const canAdviseHuge = true

func adviseHuge(b []byte) bool { return unix.Madvise(b, unix.MADV_HUGEPAGE) == nil }
