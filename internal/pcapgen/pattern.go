package pcapgen

// patternSize is the period of the payload pattern; payloads of up to this many
// bytes are contiguous slices of it.
const patternSize = 1 << 16

// pattern holds 2*patternSize pseudo-random bytes from a seeded splitmix64
// generator, so a slice of up to patternSize bytes at any offset below
// patternSize is contiguous.
type pattern []byte

func newPattern(seed uint64) pattern {
	p := make(pattern, 2*patternSize)
	x := seed
	for i := 0; i < patternSize; i += 8 {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		for j := range 8 {
			p[i+j] = byte(z >> (8 * j))
		}
	}
	copy(p[patternSize:], p[:patternSize])
	return p
}

// at returns n bytes for position pos of stream salt: the same position of the
// same stream always yields the same bytes, so retransmissions repeat the data.
func (p pattern) at(salt uint64, pos uint32, n int) []byte {
	n = min(n, patternSize)
	off := (uint32(salt*0x9e3779b1) + pos) % patternSize
	return p[off : int(off)+n]
}
