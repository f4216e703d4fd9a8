package engine

import "github.com/tcpflow-analyze/tcpflow-analyze/internal/bigmem"

// tombTable holds the tombs in flat arrays, 8-way buckets of 32 bytes a
// slot, instead of a Go map plus a FIFO of references (about 110 bytes a
// tomb): at a million connections a minute, the tombs are most of what the
// analysis keeps (issue 5). The hashes of a bucket share one cache line, so a
// lookup costs one miss. A slot is free when its hash is 0 or its tomb's
// linger has ended. The table doubles while it is below its cap; at the cap,
// a full bucket gives up the tomb whose linger ends first. The arrays live
// outside the Go heap, in huge pages where the kernel has them
// (internal/bigmem): they hold no pointers, and their first touch in 4 KiB
// pages was a tenth of the run on a busy capture.
type tombTable struct {
	hs   []uint64 // 0 = free
	ts   []tomb
	mem  [2]interface{ Free() } // where hs and ts live (internal/bigmem)
	mask uint64                 // buckets-1
	n    int                    // slots whose hash is set (expired ones included)
	max  int                    // most slots, a power of two
}

const (
	tombWays     = 8 // slots per bucket
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

// bucket returns the first slot of h's bucket.
func (tt *tombTable) bucket(h uint64) int { return int((h>>3)&tt.mask) * tombWays }

// find returns the slot of hash h (already or-ed with tombHashUsed), or -1.
func (tt *tombTable) find(h uint64) int {
	if tt.hs == nil {
		return -1
	}
	b := tt.bucket(h)
	for i, x := range tt.hs[b : b+tombWays] {
		if x == h {
			return b + i
		}
	}
	return -1
}

// get returns the tomb of hash h, or nil.
func (tt *tombTable) get(h uint64) *tomb {
	if i := tt.find(h | tombHashUsed); i >= 0 {
		return &tt.ts[i]
	}
	return nil
}

// del forgets the tomb of hash h.
func (tt *tombTable) del(h uint64) {
	if i := tt.find(h | tombHashUsed); i >= 0 {
		tt.hs[i] = 0
		tt.n--
	}
}

// put keeps t for hash h at capture time now, replacing an older tomb of h.
func (tt *tombTable) put(h uint64, t tomb, now int64) {
	if tt.hs == nil {
		tt.resize(minTombSlots, now)
	}
	h |= tombHashUsed
	for {
		b := tt.bucket(h)
		free := -1
		for i, x := range tt.hs[b : b+tombWays] {
			if x == h {
				tt.ts[b+i] = t
				return
			}
			if x == 0 && free < 0 {
				free = b + i
			}
		}
		if free >= 0 {
			tt.hs[free], tt.ts[free] = h, t
			tt.n++
			return
		}
		// The bucket is full: reuse a tomb whose linger is over, else grow,
		// else (at the cap) give up the linger that ends first.
		first := b
		for i := b; i < b+tombWays; i++ {
			if tt.ts[i].until < now {
				first = i
				break
			}
			if tt.ts[i].until < tt.ts[first].until {
				first = i
			}
		}
		if tt.ts[first].until < now || len(tt.hs) >= tt.max {
			tt.hs[first], tt.ts[first] = h, t
			return
		}
		tt.resize(len(tt.hs)*2, now)
	}
}

// resize moves the live tombs into a table of size slots.
func (tt *tombTable) resize(size int, now int64) {
	oldH, oldT, oldMem := tt.hs, tt.ts, tt.mem
	h, t := bigmem.Make[uint64](size), bigmem.Make[tomb](size)
	tt.hs, tt.ts, tt.mem = h.S, t.S, [2]interface{ Free() }{h, t}
	tt.mask = uint64(size/tombWays - 1)
	tt.n = 0
	for i, h := range oldH {
		if h != 0 && oldT[i].until >= now {
			tt.put(h, oldT[i], now)
		}
	}
	for _, m := range oldMem {
		if m != nil {
			m.Free()
		}
	}
}
