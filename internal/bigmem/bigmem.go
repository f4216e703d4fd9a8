// Package bigmem allocates large flat arrays of pointer-free values outside
// the Go heap, backed by transparent huge pages where the kernel offers them.
//
// The analysis keeps a few arrays of tens of megabytes (the tombs of finished
// connections) that it fills in random order. In the Go heap each of their
// 4 KiB pages costs a page fault on first touch, which on a virtual machine
// came to a tenth of the whole run; a 2 MiB huge page takes one fault for
// 512 of them. Arrays from 64 KiB to 2 MiB are carved from shared slabs of
// huge pages and reused once freed; smaller ones, and all on platforms
// without mmap, use make.
//
// HugeHeap does the same for the Go heap itself, which the runtime leaves in
// 4 KiB pages where the kernel gives huge pages only to memory that asks.
package bigmem

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// minMapped is the smallest array given its own mapping: from one huge page
// up, the mapping takes one fault per 2 MiB.
const minMapped = 2 << 20

// minPooled is the smallest array carved from the shared slabs instead of
// the Go heap. Between minPooled and minMapped an array of its own mapping
// would take a 4 KiB fault per page (13 us each on a VM); in the heap it
// would raise the garbage collector's goal with it (sixteen tomb tables of
// 512 KiB to 2 MiB there raised the peak by 10 MiB at GOGC=50). The slabs
// are huge pages, and a freed array is kept for the next one of its size.
const minPooled = 64 << 10

// Slice is an array of n values of T, which must hold no pointers (the
// garbage collector does not scan memory outside its heap). S is valid while
// the Slice is reachable: keep the Slice, not only S. Free releases it; an
// unreachable Slice is released by a finalizer if Free was not called.
type Slice[T any] struct {
	S    []T
	mem  *mapping
	size uintptr
}

type mapping struct {
	b      []byte
	pooled bool // b is a chunk of a slab, given back to the pool
}

// mapped counts the bytes mapped and not yet released.
var mapped atomic.Int64

func release(m *mapping) {
	if m.pooled {
		small.put(m.b)
		return
	}
	mapped.Add(-int64(len(m.b)))
	unmap(m.b)
}

// Make returns a zeroed array of n values of T.
func Make[T any](n int) *Slice[T] {
	var zero T
	size := uintptr(n) * unsafe.Sizeof(zero)
	s := &Slice[T]{size: size}
	if size >= minMapped {
		if b, ok := mapAnon(int(size)); ok {
			m := &mapping{b: b}
			mapped.Add(int64(len(b)))
			runtime.SetFinalizer(m, release)
			s.mem = m
			s.S = unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
			return s
		}
	}
	if size >= minPooled && unsafe.Alignof(zero) <= 8 {
		if b, ok := small.get(int(size)); ok {
			m := &mapping{b: b, pooled: true}
			runtime.SetFinalizer(m, release)
			s.mem = m
			s.S = unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
			return s
		}
	}
	s.S = make([]T, n)
	return s
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

// slabSize is the size of a slab that pooled arrays are carved from.
const slabSize = 16 << 20

// pool hands out the arrays between minPooled and minMapped bytes, in
// power-of-two sizes, from slabs mapped in huge pages; an array given back
// returns its pages to the kernel and waits for the next of its size. The
// slabs are never unmapped, but only the live arrays hold memory.
type pool struct {
	mu   sync.Mutex
	free map[int][]chunk // by size
	slab []byte          // what is left of the newest slab
}

// chunk is a freed array; zero tells that its pages were given back, so it
// reads as zeros.
type chunk struct {
	b    []byte
	zero bool
}

var small = pool{free: map[int][]chunk{}}

// get returns a zeroed chunk of at least n bytes, or false where nothing
// can be mapped.
func (p *pool) get(n int) ([]byte, bool) {
	size := minPooled
	for size < n {
		size <<= 1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.free[size]; len(l) > 0 {
		c := l[len(l)-1]
		p.free[size] = l[:len(l)-1]
		if !c.zero {
			clear(c.b)
		}
		return c.b[:n], true
	}
	if len(p.slab) < size {
		b, ok := mapAnon(slabSize)
		if !ok {
			return nil, false
		}
		mapped.Add(slabSize)
		p.slab = b
	}
	b := p.slab[:size:size]
	p.slab = p.slab[size:]
	return b[:n], true
}

// put takes back a chunk that get returned. Its pages go back to the
// kernel: a table that doubles frees arrays of sizes that no later one
// takes, and kept they raised the peak by 11 MiB on the 2 M-packet mix.
func (p *pool) put(b []byte) {
	b = b[:cap(b)]
	c := chunk{b, dropPages(b)}
	p.mu.Lock()
	p.free[len(b)] = append(p.free[len(b)], c)
	p.mu.Unlock()
}
