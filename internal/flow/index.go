package flow

import (
	"unsafe"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/prefetch"
)

// index maps keys to table entries by open addressing with linear probing:
// each slot holds an entry's hash next to its pointer, in one 16-byte pair,
// so a probe reads one cache line and follows the pointer only when the
// hashes match; removal shifts later entries back instead of leaving
// tombstones. A Go map keyed by the 64-byte Key cost a fifth of the
// per-packet time (hashing the key, and the probes that deleted slots
// lengthen under steady churn). The hashes and the pointers were once two
// arrays, which made a hit two cache misses instead of one (session 11).
type index[V any] struct {
	slots []slot[V]
	mask  uint64
	n     int
}

// slot is one place of the index: h is the entry's hash with bit 0 set, 0
// when the slot is empty.
type slot[V any] struct {
	h uint64
	e *Entry[V]
}

const minIndexSlots = 64

// prefetch asks for the slot where get(h) and remove of an entry of hash h
// begin, without waiting for it.
func (x *index[V]) prefetch(h uint64) {
	if len(x.slots) > 0 {
		prefetch.ForRead(unsafe.Pointer(&x.slots[(h|1)&x.mask]), unsafe.Sizeof(x.slots[0]))
	}
}

func (x *index[V]) get(k *Key, h uint64) *Entry[V] {
	if x.n == 0 {
		return nil
	}
	h |= 1
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		s := &x.slots[i]
		switch s.h {
		case 0:
			return nil
		case h:
			// The endpoints compared one by one: Key == Key is a call to
			// the compiler's equality function for the 64-byte struct,
			// 27 instructions a lookup (session 34).
			if e := s.e; e.Key.A == k.A && e.Key.B == k.B {
				return e
			}
		}
	}
}

// insert adds e, whose key must not be present.
func (x *index[V]) insert(e *Entry[V]) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	x.place(e)
	x.n++
}

func (x *index[V]) place(e *Entry[V]) {
	h := e.h | 1
	i := h & x.mask
	for x.slots[i].h != 0 {
		i = (i + 1) & x.mask
	}
	x.slots[i] = slot[V]{h, e}
}

func (x *index[V]) grow() {
	old := x.slots
	size := max(minIndexSlots, 2*len(old))
	x.slots = make([]slot[V], size)
	x.mask = uint64(size - 1)
	for _, s := range old {
		if s.h != 0 {
			x.place(s.e)
		}
	}
}

// remove deletes e; an entry not present is left alone.
func (x *index[V]) remove(e *Entry[V]) {
	if x.n == 0 {
		return
	}
	h := e.h | 1
	i := h & x.mask
	for x.slots[i].e != e {
		if x.slots[i].h == 0 {
			return // not present: nothing to remove
		}
		i = (i + 1) & x.mask
	}
	// Shift back the entries after i whose home slot does not lie in (i, j].
	for j := (i + 1) & x.mask; x.slots[j].h != 0; j = (j + 1) & x.mask {
		home := x.slots[j].h & x.mask
		if (j-home)&x.mask >= (j-i)&x.mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = slot[V]{}
	x.n--
}

// replace puts e in the slot of old, which must be present; e must have
// old's hash.
func (x *index[V]) replace(old, e *Entry[V]) {
	i := (old.h | 1) & x.mask
	for x.slots[i].e != old {
		i = (i + 1) & x.mask
	}
	x.slots[i].e = e
}
