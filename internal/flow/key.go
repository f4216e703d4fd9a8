// Package flow keeps the table of open TCP connections: flow keys built from
// netip.AddrPort pairs, originator inference, and expiry driven by capture time
// with a bounded size.
package flow

import (
	"encoding/binary"
	"math/bits"
	"net/netip"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// Key identifies a 4-tuple regardless of direction: A is the smaller endpoint.
type Key struct {
	A, B netip.AddrPort
}

// Hash returns a 64-bit hash of k. It has no random seed: the same key
// hashes the same in every run and every worker.
func (k Key) Hash() uint64 {
	var a0, a1, b0, b1 uint64
	if a, b := k.A.Addr(), k.B.Addr(); a.Is4() && b.Is4() {
		// The words of ::ffff:a.b.c.d, from the four bytes. Taking the
		// 16-byte arrays (As16) for every key cost a stall a segment: the
		// compiler copied each array with a 16-byte move that waited on
		// the two 8-byte stores that filled it, a load that store
		// forwarding cannot serve (docs/performance.md, session 20).
		a1, b1 = v4Word(a.As4()), v4Word(b.As4())
	} else {
		a16, b16 := a.As16(), b.As16()
		a0, a1 = binary.LittleEndian.Uint64(a16[:8]), binary.LittleEndian.Uint64(a16[8:])
		b0, b1 = binary.LittleEndian.Uint64(b16[:8]), binary.LittleEndian.Uint64(b16[8:])
	}
	return hashWords(k.A.Port(), k.B.Port(), a0, a1, b0, b1)
}

// hashWords is Hash of the key whose endpoints' ports are ap and bp and
// whose addresses' 16-byte forms, read as little-endian words, are a0, a1
// and b0, b1. Each address is folded by a 64×64→128-bit multiply of its two
// words, the two side by side, and a last multiply mixes the folds with the
// ports, which enter both of its factors (one factor alone left the hash
// nearly linear in them). Three multiplies, two deep: four rounds of
// fixhash.Mix64 in a chain, its form before, were about 50 cycles of latency
// a segment that the flow index's lookup waited on (docs/performance.md,
// session 32). Every bit of the result is used: the index's slot (low bits),
// the shard (top bits) and the tomb tables' buckets (bits 3 and 35 up).
func hashWords(ap, bp uint16, a0, a1, b0, b1 uint64) uint64 {
	p := uint64(ap)<<16 | uint64(bp)
	x := fold(a0^0x9e3779b97f4a7c15, a1^0xc2b2ae3d27d4eb4f)
	y := fold(b0^0x165667b19e3779f9, b1^0xd6e8feb86659fd93)
	return fold(x^p^0x27d4eb2f165667c5, y^p*0x9fb21c651e98df25^0x94d049bb133111eb)
}

// fold returns the high and low halves of a·b's 128-bit product, XORed.
func fold(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// v4Word returns the second little-endian word of the 16-byte form of the
// IPv4 address a, ::ffff:a.b.c.d; the first is 0.
func v4Word(a [4]byte) uint64 {
	return 0xffff0000 | uint64(binary.LittleEndian.Uint32(a[:]))<<32
}

// KeyOf returns the key of a segment from src to dst.
func KeyOf(src, dst netip.AddrPort) Key {
	if src.Compare(dst) <= 0 {
		return Key{src, dst}
	}
	return Key{dst, src}
}

// SetOf sets k to KeyOf(*src, *dst), copying the endpoints from where they
// are: KeyOf's result is built on the stack from its fields, and the copy of
// it that follows waited for those narrow stores (docs/performance.md,
// session 11).
func (k *Key) SetOf(src, dst *netip.AddrPort) {
	if src.Compare(*dst) <= 0 {
		k.A, k.B = *src, *dst
		return
	}
	k.A, k.B = *dst, *src
}

// SetOfHashed is SetOf followed by Hash. Between two IPv4 endpoints,
// the common case, it orders them and hashes them from their four-byte
// forms: netip's Compare, which SetOf uses, was most of SetOf's 80
// instructions a segment (docs/performance.md, session 20). Between two
// IPv6 endpoints without zones (every captured one) it does the same from
// their 16-byte forms, read once: through SetOf and Hash, an IPv6 capture
// took about a tenth longer than the same traffic over IPv4 (session 24).
func (k *Key) SetOfHashed(src, dst *netip.AddrPort) uint64 {
	a, b := src.Addr(), dst.Addr()
	if !a.Is4() || !b.Is4() {
		if a.Is6() && b.Is6() && a.Zone() == "" && b.Zone() == "" {
			return k.setOf6(src, dst, a.As16(), b.As16())
		}
		k.SetOf(src, dst)
		return k.Hash()
	}
	a4, b4 := a.As4(), b.As4()
	// AddrPort.Compare orders two IPv4 endpoints by address, as a
	// big-endian number, then by port.
	x, y := binary.BigEndian.Uint32(a4[:]), binary.BigEndian.Uint32(b4[:])
	ap, bp := src.Port(), dst.Port()
	if x > y || x == y && ap > bp {
		k.A, k.B = *dst, *src
		a4, b4, ap, bp = b4, a4, bp, ap
	} else {
		k.A, k.B = *src, *dst
	}
	return hashWords(ap, bp, 0, v4Word(a4), 0, v4Word(b4))
}

// setOf6 is SetOfHashed for two IPv6 endpoints without zones, whose
// addresses' 16-byte forms are a16 and b16. AddrPort.Compare orders them by
// address, as a big-endian 128-bit number, then by port.
func (k *Key) setOf6(src, dst *netip.AddrPort, a16, b16 [16]byte) uint64 {
	ahi, alo := binary.BigEndian.Uint64(a16[:8]), binary.BigEndian.Uint64(a16[8:])
	bhi, blo := binary.BigEndian.Uint64(b16[:8]), binary.BigEndian.Uint64(b16[8:])
	ap, bp := src.Port(), dst.Port()
	if ahi > bhi || ahi == bhi && (alo > blo || alo == blo && ap > bp) {
		k.A, k.B = *dst, *src
		ahi, alo, bhi, blo, ap, bp = bhi, blo, ahi, alo, bp, ap
	} else {
		k.A, k.B = *src, *dst
	}
	// Hash reads the 16 bytes as little-endian words.
	return hashWords(ap, bp, bits.ReverseBytes64(ahi), bits.ReverseBytes64(alo), bits.ReverseBytes64(bhi), bits.ReverseBytes64(blo))
}

// likelyServer lists well-known service ports, the same that Zeek's default
// scripts register with analyzers (its likely_server_ports), so that our roles
// and Zeek's agree on connections picked up mid-stream.
var likelyServer = [...]uint16{21, 22, 23, 25, 53, 80, 81, 110, 139, 143, 443, 445, 587, 631, 993, 995,
	1080, 2200, 3128, 3306, 5432, 6666, 6667, 6668, 6669, 8000, 8080, 8888}

// LikelyServerPort reports whether p is a well-known service port.
func LikelyServerPort(p uint16) bool {
	for _, q := range likelyServer {
		if p == q {
			return true
		}
	}
	return false
}

// Roles decides which endpoint originated a connection from the first segment
// seen on it. The sender of a SYN is the originator and the sender of a SYN-ACK
// the responder. For a connection picked up mid-stream (midstream is then true)
// the responder is the endpoint on a well-known service port (LikelyServerPort),
// else the one on a port below 1024, else the one on the lower port; when the
// ports do not tell, the sender of the first segment is the originator.
func Roles(first *segment.Segment) (orig, resp netip.AddrPort, midstream bool) {
	src, dst := first.Src, first.Dst
	f := first.Flags
	switch {
	case f.Has(segment.SYN) && !f.Any(segment.ACK|segment.RST):
		return src, dst, false
	case f.Has(segment.SYN | segment.ACK):
		return dst, src, true
	}
	sp, dp := src.Port(), dst.Port()
	for _, serverSide := range []func(p uint16) bool{
		LikelyServerPort,
		func(p uint16) bool { return p < 1024 },
	} {
		switch s, d := serverSide(sp), serverSide(dp); {
		case d && !s:
			return src, dst, true
		case s && !d:
			return dst, src, true
		}
	}
	switch {
	case sp > dp:
		return src, dst, true
	case dp > sp:
		return dst, src, true
	}
	return src, dst, true
}
