package pcapgen

import (
	"encoding/binary"
	"net/netip"
)

// sum adds b to the running one's-complement sum acc as big-endian 16-bit words.
// An odd trailing byte is padded with a zero byte, so only the last chunk of a
// checksummed region may have odd length. Words are added 32 bits at a time;
// the end-around carry in fold makes that equal to adding 16-bit words.
func sum(acc uint64, b []byte) uint64 {
	for len(b) >= 8 {
		acc += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// fold reduces the running sum to 16 bits and returns its complement.
func fold(acc uint64) uint16 {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return ^uint16(acc)
}

// Checksum returns the Internet checksum (RFC 1071) of b: the complement of the
// one's-complement sum of its 16-bit big-endian words.
func Checksum(b []byte) uint16 { return fold(sum(0, b)) }

// pseudoSum returns the running sum of the TCP/UDP/ICMPv6 pseudo-header for an
// upper-layer packet of length n: RFC 793 for IPv4, RFC 8200 section 8.1 for IPv6.
func pseudoSum(src, dst netip.Addr, proto uint8, n int) uint64 {
	var acc uint64
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		acc = sum(acc, s[:])
		acc = sum(acc, d[:])
	} else {
		s, d := src.As16(), dst.As16()
		acc = sum(acc, s[:])
		acc = sum(acc, d[:])
	}
	return acc + uint64(proto) + uint64(n)
}

// TransportChecksum returns the checksum of the upper-layer packet pkt (its
// checksum field zeroed) including the pseudo-header of src, dst and proto.
func TransportChecksum(src, dst netip.Addr, proto uint8, pkt []byte) uint16 {
	return fold(sum(pseudoSum(src, dst, proto, len(pkt)), pkt))
}
