package reassembly

import "math/bits"

// RingPool keeps payload rings that finished connections gave back, so that
// the next connections reuse them instead of allocating: with overlap checks
// on, every connection needs one or two rings, and allocating them was a
// third of all the bytes the analysis allocated (issue 5). A pool is not safe
// for concurrent use; give each goroutine its own. The zero value is ready.
type RingPool struct {
	free  [maxRingClass + 1][][]byte
	bytes int // held in free
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
