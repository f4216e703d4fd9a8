package engine

import (
	"unsafe"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/bigmem"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/prefetch"
)

// tombTable holds the tombs in flat arrays, 8-way buckets of 32 bytes a
// slot, instead of a Go map plus a FIFO of references (about 110 bytes a
// tomb): at a million connections a minute, the tombs are most of what the
// analysis keeps (issue 5). The hashes of a bucket share one cache line, so a
// lookup mostly costs one miss. A tomb whose bucket is full goes to a second
// bucket (alt), and a bit of the first sends lookups there too. A slot is
// free when its hash is 0 or its tomb's linger has ended. When both buckets
// are full the table doubles while it is below its cap; at the cap, the first
// bucket gives up the tomb whose linger ends first. The arrays live
// outside the Go heap, in huge pages where the kernel has them
// (internal/bigmem): they hold no pointers, and their first touch in 4 KiB
// pages was a tenth of the run on a busy capture.
type tombTable struct {
	// pend holds the latest puts, written to the arrays tombBatch at a
	// time: each lands on a random cache line of a table of megabytes, and
	// asking for the lines of a whole batch first (PREFETCHW) lets the
	// misses overlap instead of stalling one put after another.
	pend  [tombBatch]pendingTomb
	npend int
	// pendBits has a bit set for each pending put, chosen by its hash
	// (pendBit), so that most lookups skip the scan of pend: every new
	// connection looks for a tomb, and scanning up to 64 puts took as many
	// instructions as the lookup in the arrays (docs/performance.md,
	// session 19). A bit stays set when its put goes (del) until the batch
	// is flushed: it then costs a scan, never a wrong answer.
	pendBits [4]uint64

	// hs and ts are the arrays of the table's lanes (tombLanes), which
	// this table shares with the other shards of its engine: its bucket b
	// is their bucket b*lanes+lane.
	hs    []uint64 // 0 = free
	ts    []tomb
	lanes *tombLanes
	lane  int
	over  []uint64 // a bit per bucket: some of its tombs are in their second bucket (alt)
	mask  uint64   // buckets-1
	// rest holds, during a doubling, the tombs that sat in their second
	// bucket, to be stored again once every bucket is split.
	rest []pendingTomb
	// capTries is how many other buckets displace looks at once the table
	// is at its cap (minDisplaceTries).
	capTries int
	n        int // slots whose hash is set (expired ones included)
	max      int // most slots, a power of two
}

// pendingTomb is a put not yet in the arrays.
type pendingTomb struct {
	h   uint64 // or-ed with tombHashUsed
	t   tomb
	now int64
}

const (
	tombBatch    = 64
	tombWays     = 8 // slots per bucket
	minTombSlots = 1 << 10
	tombHashUsed = 1 // or-ed into hashes so that 0 means free
)

// newTombTable returns the tomb table of one shard, for at most max tombs,
// with arrays of its own.
func newTombTable(max int) *tombTable {
	return newTombLanes(1, max).table(0)
}

// tombCap returns the most slots of a tomb table for max tombs: a power of
// two, and at least minTombSlots.
func tombCap(max int) int {
	m := minTombSlots
	for m < max {
		m <<= 1
	}
	return m
}

// tombLanes holds the arrays of the tomb tables of several shards (an
// engine's), interleaved bucket by bucket: bucket b of lane l is bucket
// b*n+l of the arrays. Each table grows by itself, as if it had arrays of
// its own, and the arrays grow where they are, in room reserved for every
// lane's cap (bigmem.MakeReserved), whenever one table outgrows them. With
// arrays of their own the sixteen tables of the 2 M-packet mix were 8 MiB
// in 4 KiB pages (a table of a shard never fills a huge page before its
// cap), each page costing the hypervisor a trap on its first touch; shared,
// the arrays fill huge pages once they reach one: the 1 M-source SYN flood
// took 0.07 CPU-s less (10 of 12 pairs), the mix 0 to 0.010
// (docs/performance.md, session 31). What a table holds, and so which tomb
// it gives up at its cap, does not depend on the other lanes
// (TestTombLanesMatchOwnArrays): the reports stay the same for any number
// of workers.
type tombLanes struct {
	hm      *bigmem.Slice[uint64]
	tm      *bigmem.Slice[tomb]
	n       int // lanes
	buckets int // each lane's buckets that the arrays hold
	max     int // each lane's cap, in slots
	tables  []*tombTable
}

func newTombLanes(n, max int) *tombLanes {
	return &tombLanes{n: n, max: tombCap(max), tables: make([]*tombTable, n)}
}

// table returns lane l's table, made on first use.
func (tl *tombLanes) table(l int) *tombTable {
	if tl.tables[l] == nil {
		tl.tables[l] = &tombTable{lanes: tl, lane: l, max: tl.max, capTries: 2 * tombWays}
	}
	return tl.tables[l]
}

// hold makes the arrays hold buckets buckets for every lane.
func (tl *tombLanes) hold(buckets int) {
	if buckets <= tl.buckets {
		return
	}
	slots := buckets * tombWays * tl.n
	if tl.hm == nil {
		all := tl.max * tl.n
		tl.hm, tl.tm = bigmem.MakeReserved[uint64](slots, all), bigmem.MakeReserved[tomb](slots, all)
	} else {
		tl.hm.Grow(slots)
		tl.tm.Grow(slots)
	}
	tl.buckets = buckets
	for _, tt := range tl.tables {
		if tt != nil && tt.hs != nil {
			tt.hs, tt.ts = tl.hm.S, tl.tm.S
		}
	}
}

// slot returns the first slot of the table's bucket b in the arrays.
func (tt *tombTable) slot(b int) int { return (b*tt.lanes.n + tt.lane) * tombWays }

// slots returns how many slots the table has.
func (tt *tombTable) slots() int { return int(tt.mask+1) * tombWays }

// bucket returns the first slot of h's bucket.
func (tt *tombTable) bucket(h uint64) int { return tt.slot(int((h >> 3) & tt.mask)) }

// alt returns the second bucket of hash h, from other bits of the hash than
// its first: a tomb whose first bucket is full goes there, and its first
// bucket is marked as overflowed so that lookups look there too. With a
// single 8-way bucket some bucket of many was always full at a tenth of the
// table's load, so the table kept doubling, to 32 MiB for 100 k tombs.
func (tt *tombTable) alt(h uint64) int { return tt.slot(int((h >> 35) & tt.mask)) }

// overflowed reports whether some tombs of the bucket at slot b are in
// their second bucket.
func (tt *tombTable) overflowed(b int) bool {
	i := b / tombWays / tt.lanes.n
	return tt.over[i/64]&(1<<(i%64)) != 0
}

func (tt *tombTable) setOverflow(b int) {
	i := b / tombWays / tt.lanes.n
	tt.over[i/64] |= 1 << (i % 64)
}

// scan returns the slot of h in the bucket starting at b, or -1.
func (tt *tombTable) scan(b int, h uint64) int {
	for i, x := range tt.hs[b : b+tombWays] {
		if x == h {
			return b + i
		}
	}
	return -1
}

// find returns the slot of hash h (already or-ed with tombHashUsed), or -1.
func (tt *tombTable) find(h uint64) int {
	if tt.hs == nil {
		return -1
	}
	b := tt.bucket(h)
	if i := tt.scan(b, h); i >= 0 || !tt.overflowed(b) {
		return i
	}
	return tt.scan(tt.alt(h), h)
}

// pendBit returns the word and bit of pendBits for hash h: from bits 50-57,
// under the top ones, which choose the flow table's shard and so are the
// same for every tomb of a table.
func pendBit(h uint64) (int, uint64) { return int(h>>56) & 3, 1 << (h >> 50 & 63) }

// pending returns the index of h's pending put, or -1.
func (tt *tombTable) pending(h uint64) int {
	if w, bit := pendBit(h); tt.pendBits[w]&bit == 0 {
		return -1
	}
	for i := range tt.pend[:tt.npend] {
		if tt.pend[i].h == h {
			return i
		}
	}
	return -1
}

// get returns the tomb of hash h, or nil.
func (tt *tombTable) get(h uint64) *tomb {
	h |= tombHashUsed
	if i := tt.pending(h); i >= 0 {
		return &tt.pend[i].t
	}
	if i := tt.find(h); i >= 0 {
		return &tt.ts[i]
	}
	return nil
}

// del forgets the tomb of hash h.
func (tt *tombTable) del(h uint64) {
	h |= tombHashUsed
	if i := tt.pending(h); i >= 0 {
		// A pending put may shadow an older tomb in the arrays: both go.
		tt.npend--
		tt.pend[i] = tt.pend[tt.npend]
	}
	if i := tt.find(h); i >= 0 {
		tt.hs[i] = 0
		tt.n--
	}
}

// put keeps t for hash h at capture time now, replacing an older tomb of h.
func (tt *tombTable) put(h uint64, t tomb, now int64) {
	h |= tombHashUsed
	if i := tt.pending(h); i >= 0 {
		tt.pend[i] = pendingTomb{h, t, now}
		return
	}
	if tt.npend == tombBatch {
		tt.flush()
	}
	tt.pend[tt.npend] = pendingTomb{h, t, now}
	tt.npend++
	w, bit := pendBit(h)
	tt.pendBits[w] |= bit
}

// count returns the tombs held, pending ones included.
func (tt *tombTable) count() int { return tt.n + tt.npend }

// flush writes the pending puts into the arrays.
func (tt *tombTable) flush() {
	if tt.hs != nil {
		for _, p := range tt.pend[:tt.npend] {
			// The bucket's hashes, and its tombs' four cache lines.
			b := tt.bucket(p.h)
			prefetch.ForWrite(unsafe.Pointer(&tt.hs[b]), tombWays*unsafe.Sizeof(tt.hs[0]))
			prefetch.ForWrite(unsafe.Pointer(&tt.ts[b]), tombWays*unsafe.Sizeof(tt.ts[0]))
		}
	}
	for _, p := range tt.pend[:tt.npend] {
		tt.store(p.h, p.t, p.now)
	}
	tt.npend = 0
	tt.pendBits = [4]uint64{}
}

// store puts t for h (or-ed with tombHashUsed) into the arrays.
func (tt *tombTable) store(h uint64, t tomb, now int64) {
	if tt.hs == nil {
		tt.alloc(minTombSlots)
	}
	for {
		b := tt.bucket(h)
		if i := tt.find(h); i >= 0 {
			tt.ts[i] = t
			return
		}
		// A free slot in the bucket, else in the second one.
		for _, bb := range [2]int{b, tt.alt(h)} {
			for i, x := range tt.hs[bb : bb+tombWays] {
				if x == 0 {
					tt.hs[bb+i], tt.ts[bb+i] = h, t
					tt.n++
					if bb != b {
						tt.setOverflow(b)
					}
					return
				}
			}
		}
		// Both are full: reuse a tomb whose linger is over, else grow,
		// else (at the cap) give up the linger that ends first in the
		// bucket.
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
		if tt.ts[first].until >= now {
			pb := tt.alt(h)
			for i := pb; i < pb+tombWays; i++ {
				if tt.ts[i].until < now {
					tt.hs[i], tt.ts[i] = h, t
					tt.setOverflow(b)
					return
				}
			}
		}
		if tt.ts[first].until < now {
			tt.hs[first], tt.ts[first] = h, t
			return
		}
		if i := tt.displace(b, tt.alt(h), now); i >= 0 {
			tt.hs[i], tt.ts[i] = h, t
			if i < b || i >= b+tombWays {
				tt.setOverflow(b)
			}
			return
		}
		if tt.slots() >= tt.max {
			tt.hs[first], tt.ts[first] = h, t
			return
		}
		tt.double(now)
	}
}

// displace makes room in bucket b or b2, both full of live tombs, by moving
// one of their tombs to its other bucket where that has a free or expired
// slot, and returns the slot it freed, or -1. Without it the table doubled
// the first time any bucket and its partner were both full, which random
// hashes bring at 30-45 % of the slots, at a point left to luck: the same
// load could cost one more doubling on one capture than on another. With
// one move the table fills to 80-95 % first (TestTombTableLoad).
func (tt *tombTable) displace(b, b2 int, now int64) int {
	tries := 2 * tombWays
	atCap := tt.slots() >= tt.max
	if atCap {
		tries = tt.capTries
	}
	for _, bb := range [2]int{b, b2} {
		for i := bb; i < bb+tombWays; i++ {
			v := tt.hs[i]
			vb := tt.bucket(v)
			o := vb // where v would go: back to its first bucket...
			if vb == bb {
				o = tt.alt(v) // ...or on to its second
			}
			if o == bb {
				continue
			}
			if tries--; tries < 0 {
				tt.capTries = max(tt.capTries-2, minDisplaceTries)
				return -1
			}
			for j := o; j < o+tombWays; j++ {
				switch {
				case tt.hs[j] == 0:
					tt.n++
				case tt.ts[j].until >= now:
					continue
				}
				tt.hs[j], tt.ts[j] = v, tt.ts[i]
				if o != vb {
					tt.setOverflow(vb)
				}
				if atCap {
					tt.capTries = min(tt.capTries+2, 2*tombWays)
				}
				return i
			}
		}
	}
	if atCap {
		tt.capTries = max(tt.capTries-2, minDisplaceTries)
	}
	return -1
}

// minDisplaceTries is the fewest other buckets displace looks at, each a
// cache miss in a table of megabytes. Below the cap it looks at all sixteen,
// to put off a doubling (with four the table doubled at 60-74 % of its
// slots). At the cap it looks at capTries: a table full of live tombs has
// room in none of them, and looking at all sixteen there made every put cost
// 1.4 µs instead of 0.5 (BenchmarkTombTable), while a table whose tombs
// expire has room in most (on the 1 M-source flood, four tries instead of
// sixteen forgot enough tombs to start 2650 bogus flows instead of 72). So
// capTries falls by two when displace fails and rises by two when it
// succeeds: 73 bogus flows on the flood, 0.5 µs a put in the benchmark.
const minDisplaceTries = 2

// doubleAhead is how many buckets ahead double claims the lines it reads
// and writes: BenchmarkTombGrowth took 56 ms an op growing in place
// without the claims, 52 with them, and 57 copying into new tables.
const doubleAhead = 8

// alloc makes the table's first, empty buckets, size slots.
func (tt *tombTable) alloc(size int) {
	tt.lanes.hold(size / tombWays)
	tt.hs, tt.ts = tt.lanes.hm.S, tt.lanes.tm.S
	tt.mask = uint64(size/tombWays - 1)
	tt.over = make([]uint64, (size/tombWays+63)/64)
	tt.n = 0
}

// double doubles the table and drops the tombs whose linger is over.
// Doubling is most of the stores on a capture whose tombs keep growing
// (five doublings from the first table hold twice as many moves as the
// final count). The arrays grow where they are (bigmem's Grow, in the room
// alloc reserved: only the new half is faulted in, where a new table used
// to be faulted in whole and every tomb copied into it, and then mremap
// moved the pages: BenchmarkTombGrowth 62-69 → 45-49 ms), and each old
// bucket i splits into itself and bucket i+old buckets, which no other
// bucket feeds: its tombs that stay are packed at its front, in their
// order, and those that move go to the front of the new one, in theirs.
// The few tombs that sat in their second bucket are stored again once
// every bucket is split. The tombs land where a copy into a new table, in
// slot order, put them (TestTombTableDoubleMatchesCopy).
func (tt *tombTable) double(now int64) {
	oldBuckets := int(tt.mask + 1)
	oldMask := tt.mask
	tt.lanes.hold(2 * oldBuckets)
	tt.mask = uint64(2*oldBuckets - 1)
	tt.over = make([]uint64, (2*oldBuckets+63)/64)
	tt.n = 0
	rest := tt.rest[:0]
	for b := 0; b < oldBuckets; b++ {
		lo, hi := tt.slot(b), tt.slot(b+oldBuckets)
		if b+doubleAhead < oldBuckets {
			// The new half has not been written since the kernel
			// cleared it, and the old one has left the cache: claim the
			// lines a few buckets ahead, so that the loads and stores
			// below do not wait for them one by one.
			a := tt.slot(b + oldBuckets + doubleAhead)
			prefetch.ForWrite(unsafe.Pointer(&tt.hs[a]), tombWays*unsafe.Sizeof(tt.hs[0]))
			prefetch.ForWrite(unsafe.Pointer(&tt.ts[a]), tombWays*unsafe.Sizeof(tt.ts[0]))
			o := tt.slot(b + doubleAhead)
			prefetch.ForWrite(unsafe.Pointer(&tt.hs[o]), tombWays*unsafe.Sizeof(tt.hs[0]))
			prefetch.ForWrite(unsafe.Pointer(&tt.ts[o]), tombWays*unsafe.Sizeof(tt.ts[0]))
		}
		stay, move := lo, hi
		for i := lo; i < lo+tombWays; i++ {
			x := tt.hs[i]
			if x == 0 {
				continue
			}
			tt.hs[i] = 0
			switch t := tt.ts[i]; {
			case t.until < now:
			case int((x>>3)&oldMask) != b:
				rest = append(rest, pendingTomb{h: x, t: t})
			case int((x>>3)&tt.mask) == b:
				tt.hs[stay], tt.ts[stay] = x, t
				stay++
			default:
				tt.hs[move], tt.ts[move] = x, t
				move++
			}
		}
		tt.n += stay - lo + move - hi
	}
	// A store below may double the table again, and that doubling must not
	// reuse the slice being read here.
	tt.rest = nil
	for _, p := range rest {
		tt.store(p.h, p.t, now)
	}
	if tt.rest == nil {
		tt.rest = rest[:0]
	}
}
