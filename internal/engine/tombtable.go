package engine

// tombTable holds the tombs in one flat array of 40-byte slots, open
// addressing over windows of tombWindow slots, instead of a Go map plus a
// FIFO of references (about 110 bytes a tomb): at a million connections a
// minute, the tombs are most of what the analysis keeps (issue 5). A slot is
// free when its hash is 0 or its tomb's linger has ended. The table doubles
// while it is below its cap; at the cap a full window gives up the tomb whose
// linger ends first.
type tombTable struct {
	slots []tombSlot
	mask  uint64 // len(slots)-1
	n     int    // slots whose hash is set (expired ones included)
	max   int    // most slots, a power of two
}

type tombSlot struct {
	h uint64 // the 4-tuple's hash, never 0 in a used slot
	t tomb
}

const (
	tombWindow   = 16 // slots probed from a hash's home slot
	minTombSlots = 1 << 10
	tombHashUsed = 1 // or-ed into hashes so that 0 means free
)

func newTombTable(max int) *tombTable {
	m := minTombSlots
	for m < max {
		m <<= 1
	}
	return &tombTable{max: m}
}

// get returns the tomb of hash h, or nil.
func (tt *tombTable) get(h uint64) *tomb {
	if tt.slots == nil {
		return nil
	}
	h |= tombHashUsed
	for i := range uint64(tombWindow) {
		s := &tt.slots[(h+i)&tt.mask]
		if s.h == h {
			return &s.t
		}
	}
	return nil
}

// del forgets the tomb of hash h.
func (tt *tombTable) del(h uint64) {
	if tt.slots == nil {
		return
	}
	h |= tombHashUsed
	for i := range uint64(tombWindow) {
		s := &tt.slots[(h+i)&tt.mask]
		if s.h == h {
			s.h = 0
			tt.n--
			return
		}
	}
}

// put keeps t for hash h at capture time now, replacing an older tomb of h.
func (tt *tombTable) put(h uint64, t tomb, now int64) {
	if tt.slots == nil {
		tt.resize(minTombSlots, now)
	}
	h |= tombHashUsed
	for {
		var free, expired, first *tombSlot
		for i := range uint64(tombWindow) {
			s := &tt.slots[(h+i)&tt.mask]
			switch {
			case s.h == h:
				s.t = t
				return
			case s.h == 0:
				if free == nil {
					free = s
				}
			case s.t.until < now:
				if expired == nil {
					expired = s
				}
			case first == nil || s.t.until < first.t.until:
				first = s
			}
		}
		switch {
		case free != nil:
			free.h, free.t = h, t
			tt.n++
			return
		case expired != nil:
			expired.h, expired.t = h, t
			return
		case len(tt.slots) >= tt.max:
			first.h, first.t = h, t // at the cap: the linger that ends first goes
			return
		}
		tt.resize(len(tt.slots)*2, now)
	}
}

// resize moves the live tombs into a table of size slots.
func (tt *tombTable) resize(size int, now int64) {
	old := tt.slots
	tt.slots = make([]tombSlot, size)
	tt.mask = uint64(size - 1)
	tt.n = 0
	for i := range old {
		if s := &old[i]; s.h != 0 && s.t.until >= now {
			tt.put(s.h, s.t, now)
		}
	}
}
