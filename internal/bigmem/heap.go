package bigmem

import (
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"unsafe"
)

// hugeHeapOnce is set by the first call of HugeHeap.
var hugeHeapOnce atomic.Bool

// hugePage is the size of an x86-64 (and arm64 4K-granule) huge page.
const hugePage = 2 << 20

// HugeHeap asks the kernel to back the next n bytes of the Go heap's growth
// with transparent huge pages, where it offers them only to memory that asks
// (the common "madvise" setting). It returns the bytes advised, 0 when the
// platform or the kernel does not take the advice.
//
// Every page of the heap is first touched through a page fault, ~13 µs each
// on the virtual machines measured: the ~70 MiB an analysis of a few hundred
// thousand connections touches cost a tenth of its run in faults, and 4 KiB
// pages miss the TLB on every connection looked up. A huge page takes one
// fault for 512 of them.
//
// The heap grows in address order: HugeHeap allocates n bytes, which the
// runtime maps without touching them, advises the whole huge pages among
// them, and lets the collector free them, so the heap's next allocations
// are made there. The collector is off while the block is allocated, and
// one collection frees it and gives its pages back to the kernel (they were
// never touched, and the advice stays): freed and kept, the block would
// count toward a memory limit. A block allocated with the collector on
// started a collection of its own, and freeing it took two more: three
// collections cost 3-5 ms more of every run's start than one
// (docs/performance.md, session 30). It works once, early, while the heap
// is small: later calls do nothing and return 0 (a second block would be
// made of memory the heap has used, which the runtime zeroes first,
// touching every page).
func HugeHeap(n int) int {
	// On 32-bit platforms the block could exhaust the address space.
	if !canAdviseHuge || unsafe.Sizeof(uintptr(0)) < 8 || n < hugePage ||
		!hugeHeapOnce.CompareAndSwap(false, true) {
		return 0
	}
	percent := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(percent)
	b := make([]byte, n)
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := (start + hugePage - 1) &^ (hugePage - 1)
	hi := (start + uintptr(n)) &^ (hugePage - 1)
	done := 0
	if hi > lo && adviseHuge(b[lo-start:hi-start]) {
		done = int(hi - lo)
	}
	runtime.KeepAlive(b)
	b = nil
	// The collection frees the block, so that the collector's first goal
	// is set by the analysis' own heap, and the block's pages go back.
	debug.FreeOSMemory()
	return done
}
