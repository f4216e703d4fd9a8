package reassembly

import (
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// This file holds the bookkeeping that Wireshark does not do: which payload
// bytes were seen (so that a hole filled later is told apart from a
// retransmission, and holes never filled are counted as missed bytes), the
// receive-window edges, and the optional payload copy that detects
// retransmitted bytes that differ.

// bookBytes updates the seen ranges of fwd with the segment, and those of rev
// with the segment's ACK, and fills the byte counts of r.
func (t *Tracker) bookBytes(fwd, rev *dirState, seg *segment.Segment, seglen uint32, c *Class, r *Result) {
	f := seg.Flags
	a := seg.Seq // first payload sequence number
	if f&segment.SYN != 0 {
		a = a.Add(1)
		if fwd.st&stCover == 0 {
			fwd.lo, fwd.hi = a, a
			fwd.st |= stCover
		}
	}
	b := a.Add(seqnum.Size(seglen))
	if f&segment.FIN != 0 {
		fwd.finEnd = b.Add(1)
		fwd.st |= stFin
	}

	if seglen > 0 {
		n, filled := fwd.cover(a, b, uint32(t.maxHoles))
		r.NewBytes = n
		r.RetransBytes = seglen - n
		fwd.uniqueBytes += uint64(n)
		fwd.retransBytes += uint64(seglen - n)
		if filled {
			*c |= GapFill
		}
		if t.keepPay {
			p := seg.Payload
			if len(p) > int(seglen) {
				p = p[:seglen]
			}
			if fwd.keepPayload(a, p, seg.PayloadPos, t.payCap, t.rings) {
				*c |= OverlapMismatch
			}
		}
	} else if f&segment.RST == 0 {
		// A segment's sequence number proves the bytes before it were sent;
		// the sequence number of a FIN already sent is not such a byte.
		x := b
		if fwd.st&stFin != 0 && f&segment.FIN == 0 && x.GreaterThanEq(fwd.finEnd) {
			x--
		}
		fwd.coverPoint(x, uint32(t.maxHoles))
	}

	// An ACK proves the peer sent the bytes before it.
	if f&segment.ACK != 0 {
		ack := seg.Ack
		if rev.st&stFin != 0 && ack == rev.finEnd {
			ack-- // the FIN's sequence number is not a payload byte
		}
		if rev.st&stCover == 0 {
			rev.lo, rev.hi = ack, ack
			rev.st |= stCover
		} else {
			rev.coverPoint(ack, uint32(t.maxHoles))
		}
		// The flags first: they share a line with what every segment
		// reads, and pay is two lines further, which an ACK before the
		// peer's FIN then need not load.
		if rev.st&stFin != 0 && (rev.st&stPayRef != 0 || rev.pay != nil) && seg.Ack.GreaterThanEq(rev.finEnd) {
			// The peer's FIN is acknowledged, so all its data was: what it
			// sends again is spurious, and a closed connection (TIME_WAIT
			// lasts a minute) should not hold kilobytes of payload.
			t.rings.put(rev.pay)
			rev.pay = nil
			rev.ext = rev.ext[:0]
			rev.st &^= stPay | stPayRef
		}
	}
}

// far reports whether x is too far from the seen bytes of s to compare with
// serial arithmetic.
func (s *dirState) far(x seqnum.Value) bool {
	d := x.Sub(s.hi)
	if d < 0 {
		d = x.Sub(s.lo)
	}
	return d > maxSeqSpan || d < -maxSeqSpan
}

// cover marks the payload bytes [a, b) as seen and returns how many of them
// were not seen before and whether any of those filled a hole.
func (s *dirState) cover(a, b seqnum.Value, maxHoles uint32) (newBytes uint32, filled bool) {
	n := uint32(a.Size(b))
	if s.st&stCover == 0 || s.far(a) {
		s.restartCover(a, b)
		return n, false
	}
	switch {
	case b.LessThan(s.lo): // wholly below what was seen, with a hole between
		s.addHole(hole{b, s.lo}, maxHoles)
		s.lo = a
		return n, false
	case a.GreaterThan(s.hi): // wholly above, with a hole between
		s.addHole(hole{s.hi, a}, maxHoles)
		s.hi = b
		s.trimSpan()
		return n, false
	}
	if a.LessThan(s.lo) {
		newBytes += uint32(a.Size(s.lo))
		s.lo = a
	}
	if b.GreaterThan(s.hi) {
		newBytes += uint32(s.hi.Size(b))
		s.hi = b
	}
	for i := 0; i < len(s.holes); {
		h := s.holes[i]
		if h.end.LessThanEq(a) {
			i++
			continue
		}
		if h.start.GreaterThanEq(b) {
			break
		}
		ls, le := seqnum.Max(a, h.start), seqnum.Min(b, h.end)
		k := uint32(ls.Size(le))
		newBytes += k
		s.holeBytes -= uint64(k)
		filled = true
		switch {
		case ls == h.start && le == h.end:
			s.holes = append(s.holes[:i], s.holes[i+1:]...)
		case ls == h.start:
			s.holes[i].start = le
			i++
		case le == h.end:
			s.holes[i].end = ls
			i++
		default: // the segment splits the hole in two
			s.holes[i].end = ls
			s.holeBytes -= uint64(h.end.Sub(le)) // addHole counts it again
			s.addHole(hole{le, h.end}, maxHoles)
			i = len(s.holes) // nothing beyond b can overlap
		}
	}
	s.trimSpan()
	return newBytes, filled
}

// coverPoint records that the bytes before x were sent: a hole if x is beyond
// the highest byte seen.
func (s *dirState) coverPoint(x seqnum.Value, maxHoles uint32) {
	if s.st&stCover == 0 || !x.GreaterThan(s.hi) || s.far(x) {
		return
	}
	s.addHole(hole{s.hi, x}, maxHoles)
	s.hi = x
	s.trimSpan()
}

// restartCover forgets the seen ranges (counting their holes as missed for
// good) and starts again at [a, b).
func (s *dirState) restartCover(a, b seqnum.Value) {
	s.droppedHoleBytes += s.holeBytes
	s.holeBytes = 0
	s.holes = s.holes[:0]
	s.lo, s.hi = a, b
	s.st |= stCover
}

// trimSpan keeps hi-lo within serial-arithmetic range, dropping old holes.
func (s *dirState) trimSpan() {
	if s.lo.Size(s.hi) <= maxSeqSpan {
		return
	}
	s.lo = s.hi - maxSeqSpan
	for len(s.holes) > 0 && s.holes[0].start.LessThan(s.lo) {
		h := s.holes[0]
		if h.end.LessThanEq(s.lo) {
			s.dropHole(0)
			continue
		}
		k := uint64(h.start.Size(s.lo))
		s.holeBytes -= k
		s.droppedHoleBytes += k
		s.holes[0].start = s.lo
		break
	}
}

// addHole inserts h in order. When the record is full the lowest hole is
// forgotten (its bytes stay counted as missed, and a later segment there counts
// as retransmitted rather than new).
func (s *dirState) addHole(h hole, maxHoles uint32) {
	k := uint64(h.start.Size(h.end))
	if k == 0 {
		return
	}
	if maxHoles == 0 {
		s.droppedHoleBytes += k
		s.st |= stCapHoles
		return
	}
	i := len(s.holes)
	for i > 0 && h.start.LessThan(s.holes[i-1].start) {
		i--
	}
	// Merge with a touching neighbour.
	if i > 0 && s.holes[i-1].end == h.start {
		s.holeBytes += k
		s.holes[i-1].end = h.end
		if i < len(s.holes) && s.holes[i].start == h.end {
			s.holes[i-1].end = s.holes[i].end
			s.holes = append(s.holes[:i], s.holes[i+1:]...)
		}
		return
	}
	if i < len(s.holes) && s.holes[i].start == h.end {
		s.holeBytes += k
		s.holes[i].start = h.start
		return
	}
	if uint32(len(s.holes)) >= maxHoles {
		s.st |= stCapHoles
		if i == 0 {
			s.droppedHoleBytes += k
			return
		}
		s.dropHole(0)
		i--
	}
	s.holeBytes += k
	s.holes = append(s.holes, hole{})
	copy(s.holes[i+1:], s.holes[i:])
	s.holes[i] = h
}

// dropHole forgets hole i, counting its bytes as missed for good.
func (s *dirState) dropHole(i int) {
	k := uint64(s.holes[i].start.Size(s.holes[i].end))
	s.holeBytes -= k
	s.droppedHoleBytes += k
	s.holes = append(s.holes[:i], s.holes[i+1:]...)
}

// keepPayload compares the captured payload p at a with the copy of the
// bytes seen before and extends the copy; it reports a mismatch. pos is
// where p can be read again (Segment.PayloadPos), 0 if it cannot: with a
// reader in the pool, such payload is kept by position (keepByPos).
func (s *dirState) keepPayload(a seqnum.Value, p []byte, pos uint64, capN uint32, pool *RingPool) (mismatch bool) {
	if len(p) == 0 || capN == 0 {
		return false
	}
	read := pool.reader()
	if s.st&stPayRef != 0 {
		if pos != 0 && read != nil {
			if m, ok := s.keepByPos(a, p, pos, capN, pool); ok {
				return m
			}
		}
		// A segment that cannot be read again, or one run too many: the
		// kept payload becomes a copy.
		s.materialize(capN, pool)
	}
	b := a.Add(seqnum.Size(len(p)))
	if s.st&stPay != 0 && !s.payFar(a) {
		if a.LessThanEq(s.payHi) && b.GreaterThan(s.payHi) {
			// The copy will hold [payLo, b), at most capN of it.
			s.growPay(uint32(min(s.payLo.Size(b), seqnum.Size(capN))), capN, pool)
		}
		mask := uint32(len(s.pay)) - 1
		ls, le := seqnum.Max(a, s.payLo), seqnum.Min(b, s.payHi)
		for x := ls; x.LessThan(le); x++ {
			if s.pay[uint32(x)&mask] != p[uint32(a.Size(x))] {
				mismatch = true
				break
			}
		}
		if a.LessThanEq(s.payHi) {
			if b.GreaterThan(s.payHi) {
				s.ringCopy(s.payHi, p[uint32(a.Size(s.payHi)):], mask)
				s.payHi = b
				if s.payLo.Size(s.payHi) > seqnum.Size(capN) {
					s.payLo = s.payHi - seqnum.Value(capN)
				}
			}
			return mismatch
		}
	}
	// Start the copy afresh at a (first payload, or after a gap).
	if uint32(len(p)) > capN {
		cut := uint32(len(p)) - capN
		a = b - seqnum.Value(capN)
		p = p[cut:]
		pos += uint64(cut)
	}
	if pos != 0 && read != nil {
		s.restartByPos(a, b, pos, pool)
		return mismatch
	}
	s.st &^= stPay // nothing to keep while growing
	s.growPay(uint32(len(p)), capN, pool)
	s.ringCopy(a, p, uint32(len(s.pay))-1)
	s.payLo, s.payHi = a, b
	s.st |= stPay
	return mismatch
}

// payExtent says where the kept payload [seq, seq+n) can be read again.
type payExtent struct {
	seq seqnum.Value
	n   uint32
	pos uint64
}

// maxExtents bounds the runs kept by position per direction: past it (a
// window of many small segments) the payload is copied instead.
const maxExtents = 16

// keepByPos is keepPayload for payload kept by position: the same window
// [payLo, payHi), the same first copy of each byte, read back only where a
// segment overlaps it. ok is false, with nothing done, when the segment
// would extend the window past maxExtents runs.
func (s *dirState) keepByPos(a seqnum.Value, p []byte, pos uint64, capN uint32, pool *RingPool) (mismatch, ok bool) {
	b := a.Add(seqnum.Size(len(p)))
	if s.payFar(a) || a.GreaterThan(s.payHi) {
		// Afresh at a, as keepPayload starts a copy.
		if uint32(len(p)) > capN {
			cut := uint32(len(p)) - capN
			a, pos = b-seqnum.Value(capN), pos+uint64(cut)
		}
		s.restartByPos(a, b, pos, pool)
		return false, true
	}
	extend := b.GreaterThan(s.payHi)
	if extend && len(s.ext) >= maxExtents && !s.ext[len(s.ext)-1].continues(s.payHi, pos+uint64(a.Size(s.payHi))) {
		return false, false
	}
	if ls, le := seqnum.Max(a, s.payLo), seqnum.Min(b, s.payHi); ls.LessThan(le) {
		mismatch = s.differs(ls, le, p[uint32(a.Size(ls)):], pool)
	}
	if extend {
		at := pos + uint64(a.Size(s.payHi))
		if k := len(s.ext); k > 0 && s.ext[k-1].continues(s.payHi, at) {
			s.ext[k-1].n += uint32(s.payHi.Size(b))
		} else {
			s.ext = append(s.ext, payExtent{seq: s.payHi, n: uint32(s.payHi.Size(b)), pos: at})
		}
		s.payHi = b
		if s.payLo.Size(s.payHi) > seqnum.Size(capN) {
			s.payLo = s.payHi - seqnum.Value(capN)
			s.trimExtents()
		}
	}
	return mismatch, true
}

// continues reports whether the run of bytes from seq at pos follows e.
func (e *payExtent) continues(seq seqnum.Value, pos uint64) bool {
	return e.seq.Add(seqnum.Size(e.n)) == seq && e.pos+uint64(e.n) == pos
}

// restartByPos keeps [a, b), at pos, as the whole window.
func (s *dirState) restartByPos(a, b seqnum.Value, pos uint64, pool *RingPool) {
	pool.put(s.pay)
	s.pay = nil
	s.ext = append(s.ext[:0], payExtent{seq: a, n: uint32(a.Size(b)), pos: pos})
	s.payLo, s.payHi = a, b
	s.st |= stPay | stPayRef
}

// trimExtents drops the runs, and the part of a run, below payLo.
func (s *dirState) trimExtents() {
	i := 0
	for i < len(s.ext) && s.ext[i].seq.Add(seqnum.Size(s.ext[i].n)).LessThanEq(s.payLo) {
		i++
	}
	if i > 0 {
		s.ext = append(s.ext[:0], s.ext[i:]...)
	}
	if len(s.ext) > 0 && s.ext[0].seq.LessThan(s.payLo) {
		d := uint32(s.ext[0].seq.Size(s.payLo))
		s.ext[0].seq = s.payLo
		s.ext[0].n -= d
		s.ext[0].pos += uint64(d)
	}
}

// differs reports whether the kept bytes [ls, le) differ from q (which
// starts at ls), reading them back run by run. A run that cannot be read is
// counted by the pool and compares equal.
func (s *dirState) differs(ls, le seqnum.Value, q []byte, pool *RingPool) bool {
	for _, e := range s.ext {
		x0 := seqnum.Max(ls, e.seq)
		x1 := seqnum.Min(le, e.seq.Add(seqnum.Size(e.n)))
		if !x0.LessThan(x1) {
			continue
		}
		n := uint32(x0.Size(x1))
		kept := pool.readBack(e.pos+uint64(e.seq.Size(x0)), n)
		if kept == nil {
			continue
		}
		off := uint32(ls.Size(x0))
		if string(kept) != string(q[off:off+n]) {
			return true
		}
	}
	return false
}

// materialize turns payload kept by position into a copy in the ring, read
// back run by run. When a run cannot be read (counted by the pool), nothing
// is kept: the next payload starts the window afresh.
func (s *dirState) materialize(capN uint32, pool *RingPool) {
	ext := s.ext
	s.ext = s.ext[:0]
	s.st &^= stPay | stPayRef
	if len(ext) == 0 {
		return
	}
	s.growPay(uint32(s.payLo.Size(s.payHi)), capN, pool)
	mask := uint32(len(s.pay)) - 1
	for _, e := range ext {
		kept := pool.readBack(e.pos, e.n)
		if kept == nil {
			return
		}
		s.ringCopy(e.seq, kept, mask)
	}
	s.st |= stPay
}

// minPayRing is the smallest payload ring: most connections carry a few
// hundred bytes each way, so the ring starts small and doubles as the copy
// grows, up to the configured cap.
const minPayRing = 512

// growPay makes the ring hold at least n bytes (n ≤ capN, a power of two),
// keeping the bytes [payLo, payHi) it holds.
func (s *dirState) growPay(n, capN uint32, pool *RingPool) {
	size := uint32(len(s.pay))
	if size >= n {
		return
	}
	size = max(size, min(minPayRing, capN))
	for size < n {
		size <<= 1
	}
	size = min(size, capN)
	old := s.pay
	s.pay = pool.get(size)
	defer pool.put(old)
	if s.st&stPay == 0 || len(old) == 0 {
		return
	}
	// Copy the held bytes out of the old ring in at most two pieces.
	oldMask := uint32(len(old)) - 1
	n = uint32(s.payLo.Size(s.payHi))
	i := uint32(s.payLo) & oldMask
	first := min(n, uint32(len(old))-i)
	s.ringCopy(s.payLo, old[i:i+first], size-1)
	if first < n {
		s.ringCopy(s.payLo.Add(seqnum.Size(first)), old[:n-first], size-1)
	}
}

func (s *dirState) payFar(x seqnum.Value) bool {
	d := x.Sub(s.payHi)
	return d > maxSeqSpan || d < -maxSeqSpan
}

// ringCopy writes p into the ring at sequence number at.
func (s *dirState) ringCopy(at seqnum.Value, p []byte, mask uint32) {
	if uint32(len(p)) > mask+1 {
		at = at.Add(seqnum.Size(uint32(len(p)) - (mask + 1)))
		p = p[uint32(len(p))-(mask+1):]
	}
	for len(p) > 0 {
		i := uint32(at) & mask
		n := copy(s.pay[i:], p)
		p = p[n:]
		at = at.Add(seqnum.Size(n))
	}
}

// outOfWindow checks the segment against the window edges and records the
// edge this segment advertises.
func (t *Tracker) outOfWindow(fwd, rev *dirState, seg *segment.Segment, seglen uint32, c *Class) {
	f := seg.Flags
	if seglen > 0 && rev.st&stEdge != 0 && *c&(ZeroWindowProbe|KeepAlive) == 0 {
		end := seg.Seq.Add(seqnum.Size(seglen))
		if f&segment.SYN != 0 {
			end++
		}
		if end.GreaterThan(rev.rightEdge) && end.Sub(rev.rightEdge) < maxSeqSpan {
			*c |= OutOfWindow
		}
	}
	if f&segment.ACK == 0 {
		return
	}
	// One beyond the edge is fine: a probe byte or a FIN taken into a closed
	// window.
	if fwd.st&stEdge != 0 && seg.Ack.GreaterThan(fwd.rightEdge.Add(1)) &&
		seg.Ack.Sub(fwd.rightEdge) < maxSeqSpan {
		*c |= OutOfWindow
	}
	if f&segment.SYN == 0 && fwd.ws == wsUnknown {
		return
	}
	sh := fwd.shift()
	if f&segment.SYN != 0 {
		sh = 0
	}
	e := seg.Ack.Add(seqnum.Size(uint32(seg.Window) << sh))
	if fwd.st&stEdge == 0 || e.GreaterThan(fwd.rightEdge) || fwd.rightEdge.Sub(e) > maxSeqSpan {
		fwd.rightEdge = e
		fwd.st |= stEdge
	}
}
