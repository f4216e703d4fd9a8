package reassembly

import "math/bits"

// RingPool keeps payload rings that finished connections gave back, so that
// the next connections reuse them instead of allocating: with overlap checks
// on, every connection needs one or two rings, and allocating them was a
// third of all the bytes the analysis allocated (issue 5). A pool is not safe
// for concurrent use; give each goroutine its own. The zero value is ready.
//
// With a reader (SetReader), payload that can be read again is not copied:
// the trackers keep where it lies, and read it back only to compare a
// retransmission with it.
type RingPool struct {
	free  [maxRingClass + 1][][]byte
	bytes int // held in free

	read        func(pos uint64, p []byte) bool
	scratch     []byte // what read fills, for a comparison
	readsFailed uint64
}

// SetReader makes the trackers that use p keep the payload of segments with a
// Segment.PayloadPos by that position instead of by a copy, and read it back
// with read, which fills p with the len(p) bytes at pos and reports whether
// it could. Set it before the first segment; nil goes back to copies.
func (p *RingPool) SetReader(read func(pos uint64, p []byte) bool) { p.read = read }

// ReadsFailed returns how many times the reader could not give back payload
// it was asked for: each time, a comparison was skipped (no OverlapMismatch
// found) or the payload kept so far was dropped.
func (p *RingPool) ReadsFailed() uint64 {
	if p == nil {
		return 0
	}
	return p.readsFailed
}

// reader returns the pool's reader, nil without one.
func (p *RingPool) reader() func(uint64, []byte) bool {
	if p == nil {
		return nil
	}
	return p.read
}

// readBack reads n bytes at pos into the pool's scratch buffer and returns
// them, or nil (counted) when the reader cannot.
func (p *RingPool) readBack(pos uint64, n uint32) []byte {
	if uint32(cap(p.scratch)) < n {
		p.scratch = make([]byte, n)
	}
	b := p.scratch[:n]
	if !p.read(pos, b) {
		p.readsFailed++
		return nil
	}
	return b
}

const (
	maxRingClass = 26 // 64 MiB, the largest ring Init allows
	// maxPoolBytes bounds what a pool holds: enough for the rings of a few
	// thousand short connections, little next to the connections themselves.
	maxPoolBytes = 8 << 20
)

// get returns a ring of n bytes (a power of two), zeroing not needed: the ring
// is only read where it was written.
func (p *RingPool) get(n uint32) []byte {
	if p != nil {
		c := bits.TrailingZeros32(n)
		if k := len(p.free[c]); k > 0 {
			b := p.free[c][k-1]
			p.free[c][k-1] = nil
			p.free[c] = p.free[c][:k-1]
			p.bytes -= len(b)
			return b
		}
	}
	return make([]byte, n)
}

// put gives ring b back.
func (p *RingPool) put(b []byte) {
	if p == nil || len(b) == 0 || p.bytes+len(b) > maxPoolBytes {
		return
	}
	c := bits.TrailingZeros32(uint32(len(b)))
	if c > maxRingClass || len(b) != 1<<c {
		return
	}
	p.free[c] = append(p.free[c], b)
	p.bytes += len(b)
}
