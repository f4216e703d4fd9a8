// Package bigmem allocates large flat arrays of pointer-free values outside
// the Go heap, backed by transparent huge pages where the kernel offers them.
//
// The analysis keeps a few arrays of tens of megabytes (the tombs of finished
// connections) that it fills in random order. In the Go heap each of their
// 4 KiB pages costs a page fault on first touch, which on a virtual machine
// came to a tenth of the whole run; a 2 MiB huge page takes one fault for
// 512 of them. Arrays under 64 KiB, and all on platforms without mmap, use
// make.
//
// An array that grows (a hash table that doubles) can reserve the addresses
// of its largest size up front (MakeReserved) and grow where it is: its pages
// keep their mappings, and only the new ones are faulted in.
//
// HugeHeap does the same for the Go heap itself, which the runtime leaves in
// 4 KiB pages where the kernel gives huge pages only to memory that asks.
package bigmem

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// minMapped is the smallest array given its own mapping. From 2 MiB up the
// mapping takes one fault per huge page. Between 64 KiB and 2 MiB it is made
// of 4 KiB pages, faulted in by one madvise call on Linux (a trap per page
// took 5 % of the 2 M-packet mix, whose tomb tables double from 32 KiB to
// 1 MiB a shard, sixteen shards); it stays out of the heap whose
// size the garbage collector's goal follows: sixteen tomb tables of 512 KiB
// to 2 MiB in the heap raised the peak by 10 MiB at GOGC=50. (Carving these
// arrays from shared huge-page slabs saved 3 % of CPU on the 2 M-packet mix
// but raised peaks by 7-9 MiB, partly used huge pages; not kept.)
const minMapped = 64 << 10

// Slice is an array of n values of T, which must hold no pointers (the
// garbage collector does not scan memory outside its heap). S is valid while
// the Slice is reachable: keep the Slice, not only S. Free releases it; an
// unreachable Slice is released by a finalizer if Free was not called.
type Slice[T any] struct {
	S    []T
	mem  *mapping
	size uintptr
}

// mapping is an array's memory outside the heap: b, faulted in, at the
// start of full, the addresses reserved for it (b itself when nothing more
// was reserved); huge when full is advised into huge pages, reserved when
// reserveAnon made it.
type mapping struct {
	b, full        []byte
	huge, reserved bool
}

// mapped counts the bytes mapped and not yet released.
var mapped atomic.Int64

func release(m *mapping) {
	mapped.Add(-int64(len(m.b)))
	if m.reserved {
		unmapRaw(m.full)
		return
	}
	unmap(m.full)
}

// Make returns a zeroed array of n values of T. On Linux a mapped array is
// faulted in at once: Make is for arrays that will be touched throughout,
// such as hash tables, not for sparse ones.
func Make[T any](n int) *Slice[T] {
	var zero T
	size := uintptr(n) * unsafe.Sizeof(zero)
	s := &Slice[T]{size: size}
	if size >= minMapped {
		if b, ok := mapAnon(int(size)); ok {
			m := &mapping{b: b, full: b}
			mapped.Add(int64(len(b)))
			runtime.SetFinalizer(m, release)
			s.mem = m
			s.S = unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
			return s
		}
	}
	s.S = make([]T, n)
	return s
}

// MakeReserved is Make for an array that may grow up to max values: on Linux
// it reserves the addresses of max values at once (without the memory: only
// the first n are faulted in), and Grow up to max then faults in the new
// values where they are: no copy out of the heap while the array is small,
// and no mremap, whose moves of the pages cost this machine's hypervisor
// work of its own. Sixteen tomb tables growing from 1 024 to 16 384 slots
// took 45-49 ms reserved against 62-69 (BenchmarkTombGrowth), and the
// 1 M-source SYN flood 5 % less time (docs/performance.md, session 31).
// The array is in 4 KiB pages while it is under a huge page, and is copied
// once into huge pages when it grows to one: on this machine the first
// touch of a 4 KiB page costs about 20 µs (its hypervisor's), of a huge page
// little more, but a huge page is all faulted in however little of it is
// used. Addresses are cheap on 64-bit platforms; where the reservation
// fails, the array is Make's.
func MakeReserved[T any](n, max int) *Slice[T] {
	var zero T
	size := uintptr(n) * unsafe.Sizeof(zero)
	full := uintptr(max) * unsafe.Sizeof(zero)
	if full < minMapped || full <= size {
		return Make[T](n)
	}
	huge := size >= hugePage
	r, ok := reserveAnon(int(full), huge)
	if !ok {
		return Make[T](n)
	}
	m := &mapping{b: r[:size], full: r, huge: huge, reserved: true}
	populate(r, 0, int(size))
	mapped.Add(int64(size))
	runtime.SetFinalizer(m, release)
	s := &Slice[T]{mem: m, size: size}
	if n > 0 {
		s.S = unsafe.Slice((*T)(unsafe.Pointer(&r[0])), n)
	} else {
		s.S = []T{}
	}
	return s
}

// Grow makes s hold n values (n at least len(s.S); a smaller n does
// nothing): the values it holds keep their places and the new ones are zero.
// A reserved array (MakeReserved) grows in place up to its reservation. A
// mapped array grows where it is, on Linux: the kernel moves its pages
// instead of copying them and faults in only the new ones, so a hash table
// that doubles touches the new half, not a whole new table. Otherwise (a
// small array, past its reservation, or no mremap) the values are copied
// into a new array and the old one released. s.S changes either way.
func (s *Slice[T]) Grow(n int) {
	if n <= len(s.S) {
		return
	}
	var zero T
	size := uintptr(n) * unsafe.Sizeof(zero)
	if m := s.mem; m != nil && m.reserved {
		if int(size) <= len(m.full) {
			old := len(m.b)
			if !m.huge && size >= hugePage {
				m.toHuge()
			}
			populate(m.full, old, int(size))
			m.b = m.full[:size]
			mapped.Add(int64(len(m.b) - old))
			s.size = size
			s.S = unsafe.Slice((*T)(unsafe.Pointer(&m.b[0])), n)
			return
		}
	} else if m != nil {
		old := len(m.b)
		if b, ok := remap(m.b, int(size)); ok {
			mapped.Add(int64(len(b) - old))
			m.b, m.full, s.size = b, b, size
			s.S = unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
			return
		}
	}
	g := Make[T](n)
	copy(g.S, s.S)
	s.Free()
	*s = *g
}

// toHuge moves the reservation m into one advised into huge pages (Grow
// faults in the rest); it stays where it is if none can be made.
func (m *mapping) toHuge() {
	r, ok := reserveAnon(len(m.full), true)
	if !ok {
		return
	}
	copy(r, m.b)
	unmapRaw(m.full)
	m.full, m.b, m.huge = r, r[:len(m.b)], true
}

// Free releases the array now; s.S must not be used afterwards.
func (s *Slice[T]) Free() {
	if s == nil {
		return
	}
	if s.mem != nil {
		runtime.SetFinalizer(s.mem, nil)
		release(s.mem)
		s.mem = nil
	}
	s.S = nil
}
