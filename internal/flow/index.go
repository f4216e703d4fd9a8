package flow

// index maps keys to table entries by open addressing with linear probing:
// the slots hold each entry's hash next to its pointer, so a probe reads one
// array and follows a pointer only when the hashes match, and removal shifts
// later entries back instead of leaving tombstones. A Go map keyed by the
// 64-byte Key cost a fifth of the per-packet time (hashing the key, and the
// probes that deleted slots lengthen under steady churn).
type index[V any] struct {
	hs   []uint64 // an entry's hash with bit 0 set; 0 = empty
	es   []*Entry[V]
	mask uint64
	n    int
}

const minIndexSlots = 64

func (x *index[V]) get(k Key, h uint64) *Entry[V] {
	if x.n == 0 {
		return nil
	}
	h |= 1
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		switch x.hs[i] {
		case 0:
			return nil
		case h:
			if e := x.es[i]; e.Key == k {
				return e
			}
		}
	}
}

// insert adds e, whose key must not be present.
func (x *index[V]) insert(e *Entry[V]) {
	if 2*(x.n+1) > len(x.hs) {
		x.grow()
	}
	x.place(e)
	x.n++
}

func (x *index[V]) place(e *Entry[V]) {
	h := e.h | 1
	i := h & x.mask
	for x.hs[i] != 0 {
		i = (i + 1) & x.mask
	}
	x.hs[i], x.es[i] = h, e
}

func (x *index[V]) grow() {
	oldH, oldE := x.hs, x.es
	size := max(minIndexSlots, 2*len(oldH))
	x.hs, x.es = make([]uint64, size), make([]*Entry[V], size)
	x.mask = uint64(size - 1)
	for i, h := range oldH {
		if h != 0 {
			x.place(oldE[i])
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
	for x.es[i] != e {
		if x.hs[i] == 0 {
			return // not present: nothing to remove
		}
		i = (i + 1) & x.mask
	}
	// Shift back the entries after i whose home slot does not lie in (i, j].
	for j := (i + 1) & x.mask; x.hs[j] != 0; j = (j + 1) & x.mask {
		home := x.hs[j] & x.mask
		if (j-home)&x.mask >= (j-i)&x.mask {
			x.hs[i], x.es[i] = x.hs[j], x.es[j]
			i = j
		}
	}
	x.hs[i], x.es[i] = 0, nil
	x.n--
}
