package wide

import (
	"encoding/binary"
	"math"
	"net/netip"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/fixhash"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// sec returns the second of capture time t (nanoseconds), rounded down.
func sec(t int64) int64 {
	s := t / 1e9
	if t < 0 && t%1e9 != 0 {
		s--
	}
	return s
}

// ring counts events in one-second buckets over the last n seconds of
// capture time and keeps their sum. Until its events fall in two different
// seconds it keeps their one bucket inline (s1, c1) and allocates no array:
// most keys of a busy server's capture see one event (a client's one
// connection), and their 60-bucket arrays were 6 MiB of the mix's heap
// (docs/performance.md, session 23).
type ring struct {
	b    []uint32 // n buckets, allocated when a second bucket is needed
	n    int32    // the window in seconds
	c1   uint32   // the inline bucket's count, while b is nil; 0 = empty
	s1   int64    // the inline bucket's second
	head int64    // the newest second; meaningful once set is true
	sum  uint64
	set  bool
}

func newRing(n int) ring { return ring{n: int32(n)} }

// reset empties r, keeping its buckets.
func (r *ring) reset() {
	clear(r.b)
	r.head, r.sum, r.set = 0, 0, false
	r.s1, r.c1 = 0, 0
}

func (r *ring) slot(s int64) int {
	n := int64(r.n)
	return int(((s % n) + n) % n)
}

// advance moves the ring's newest second to s, emptying the buckets that fall
// out of the window.
func (r *ring) advance(s int64) {
	if !r.set {
		r.head, r.set = s, true
		return
	}
	if s <= r.head {
		return
	}
	if r.b == nil {
		if r.c1 > 0 && r.s1 <= s-int64(r.n) {
			r.sum -= uint64(r.c1)
			r.c1 = 0
		}
		r.head = s
		return
	}
	if s-r.head >= int64(r.n) {
		clear(r.b)
		r.sum = 0
	} else {
		for x := r.head + 1; x <= s; x++ {
			i := r.slot(x)
			r.sum -= uint64(r.b[i])
			r.b[i] = 0
		}
	}
	r.head = s
}

// add counts one event at second s and returns the count of its bucket; an
// event older than the window is not counted and returns 0.
func (r *ring) add(s int64) uint32 {
	r.advance(s)
	if s <= r.head-int64(r.n) {
		return 0
	}
	if r.b == nil {
		switch {
		case r.c1 == 0:
			r.s1, r.c1 = s, 1
			r.sum++
			return 1
		case r.s1 == s:
			if r.c1 < math.MaxUint32 {
				r.c1++
				r.sum++
			}
			return r.c1
		}
		// A second bucket: the array takes the inline one.
		r.b = make([]uint32, r.n)
		r.b[r.slot(r.s1)] = r.c1
		r.c1 = 0
	}
	i := r.slot(s)
	if r.b[i] < math.MaxUint32 {
		r.b[i]++
		r.sum++
	}
	return r.b[i]
}

// sumAt returns the window's sum as it would be at second s, without moving
// the ring.
func (r *ring) sumAt(s int64) uint64 {
	if !r.set || s <= r.head {
		return r.sum
	}
	if r.b == nil {
		if r.c1 > 0 && r.s1 <= s-int64(r.n) {
			return r.sum - uint64(r.c1)
		}
		return r.sum
	}
	if s-r.head >= int64(r.n) {
		return 0
	}
	sum := r.sum
	for x := r.head + 1; x <= s; x++ {
		sum -= uint64(r.b[r.slot(x)])
	}
	return sum
}

// evidence keeps the first few packets, times and flows of a finding.
type evidence struct {
	n, nf   int
	packets [anomaly.MaxEvidence]uint64
	times   [anomaly.MaxEvidence]int64
	flows   [anomaly.MaxEvidence]uint64
}

func (e *evidence) packet(frame uint64, t int64) {
	if e.n < len(e.packets) {
		e.packets[e.n], e.times[e.n] = frame, t
		e.n++
	}
}

func (e *evidence) flow(id uint64) {
	if e.nf < len(e.flows) {
		e.flows[e.nf] = id
		e.nf++
	}
}

// fold appends o's evidence after e's, up to the cap.
func (e *evidence) fold(o *evidence) {
	for i := 0; i < o.n; i++ {
		e.packet(o.packets[i], o.times[i])
	}
	for i := 0; i < o.nf; i++ {
		e.flow(o.flows[i])
	}
}

// into fills a's evidence fields.
func (e *evidence) into(a *report.Anomaly) {
	if e.n > 0 {
		a.Packets = append([]uint64(nil), e.packets[:e.n]...)
		a.Times = make([]report.Time, e.n)
		for i, t := range e.times[:e.n] {
			a.Times[i] = report.Time(t)
		}
	} else {
		a.Packets = []uint64{}
	}
	if e.nf > 0 {
		a.Flows = append([]uint64(nil), e.flows[:e.nf]...)
	}
}

// addrSet is a capped set of addresses; once full it stops growing and the
// count it gives is a lower bound (capped is set). Only the count is used, so
// it keeps a 64-bit key per address (the address itself for IPv4, a fixed
// mix of its bytes for IPv6): 16 bytes an entry in the map instead of 40, and
// the same keys in every worker, so merged counts do not depend on sharding.
type addrSet struct {
	m      map[uint64]struct{}
	capped bool
}

// addrKey maps an address to its key in an addrSet.
func addrKey(a netip.Addr) uint64 {
	if a.Is4() {
		b := a.As4()
		return uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
	}
	b := a.As16()
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	// Set bit 63 so that no IPv6 key equals an IPv4 one (those are < 2^32).
	return fixhash.Mix64(hi^fixhash.Mix64(lo)) | 1<<63
}

func (s *addrSet) add(a netip.Addr, limit int) {
	if !s.full(limit) {
		s.addKey(addrKey(a), limit)
	}
}

// full reports whether no add can change s any more: it holds limit
// addresses and has turned one away. Under a flood of spoofed sources every
// SYN after the first limit ones looked its source up in the map for
// nothing (4 % of the 1 M-source flood's run).
func (s *addrSet) full(limit int) bool { return s.capped && len(s.m) >= limit }

func (s *addrSet) addKey(k uint64, limit int) {
	if s.full(limit) {
		return
	}
	if _, ok := s.m[k]; ok {
		return
	}
	if len(s.m) >= limit {
		s.capped = true
		return
	}
	if s.m == nil {
		s.m = make(map[uint64]struct{})
	}
	s.m[k] = struct{}{}
}

func (s *addrSet) clone() addrSet {
	c := addrSet{capped: s.capped}
	if s.m != nil {
		c.m = make(map[uint64]struct{}, len(s.m))
		for k := range s.m {
			c.m[k] = struct{}{}
		}
	}
	return c
}

func (s *addrSet) fold(o *addrSet, limit int) {
	s.capped = s.capped || o.capped
	for k := range o.m {
		s.addKey(k, limit)
	}
}

// span is a time range of capture time.
type span struct{ start, end int64 }

func (s *span) widen(o span) {
	if o.start < s.start {
		s.start = o.start
	}
	if o.end > s.end {
		s.end = o.end
	}
}

func (s span) seconds() float64 { return float64(s.end-s.start) / 1e9 }

// round rounds x to n decimals for the report.
func round(x float64, n int) float64 {
	p := math.Pow(10, float64(n))
	return math.Round(x*p) / p
}

// oldest returns the start, in nanoseconds, of the oldest non-empty bucket in
// the window, or def when the ring is empty.
func (r *ring) oldest(def int64) int64 {
	if !r.set || r.sum == 0 {
		return def
	}
	if r.b == nil {
		if t := r.s1 * 1e9; r.c1 > 0 && t < def {
			return t
		}
		return def
	}
	for x := r.head - int64(r.n) + 1; x <= r.head; x++ {
		if r.b[r.slot(x)] != 0 {
			if t := x * 1e9; t < def {
				return t
			}
			return def
		}
	}
	return def
}
