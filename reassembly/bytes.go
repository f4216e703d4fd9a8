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
			if fwd.keepPayload(a, p, t.payCap, t.rings) {
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
		if rev.pay != nil && rev.st&stFin != 0 && seg.Ack.GreaterThanEq(rev.finEnd) {
			// The peer's FIN is acknowledged, so all its data was: what it
			// sends again is spurious, and a closed connection (TIME_WAIT
			// lasts a minute) should not hold kilobytes of payload.
			t.rings.put(rev.pay)
			rev.pay = nil
			rev.st &^= stPay
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
// bytes seen before and extends the copy; it reports a mismatch.
func (s *dirState) keepPayload(a seqnum.Value, p []byte, capN uint32, pool *RingPool) (mismatch bool) {
	if len(p) == 0 || capN == 0 {
		return false
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
		a = b - seqnum.Value(capN)
		p = p[uint32(len(p))-capN:]
	}
	s.st &^= stPay // nothing to keep while growing
	s.growPay(uint32(len(p)), capN, pool)
	s.ringCopy(a, p, uint32(len(s.pay))-1)
	s.payLo, s.payHi = a, b
	s.st |= stPay
	return mismatch
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
