package pcapgen

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers.
const (
	ProtoICMP     uint8 = 1
	ProtoTCP      uint8 = 6
	ProtoUDP      uint8 = 17
	ProtoICMPv6   uint8 = 58
	IPv6HopByHop  uint8 = 0
	IPv6Fragment  uint8 = 44
	IPv6NoNext    uint8 = 59
	IPv6DestOpts  uint8 = 60
	ipv4HeaderLen       = 20
	ipv6HeaderLen       = 40
)

// IPv6Ext is one IPv6 extension header.
type IPv6Ext struct {
	// Type is IPv6HopByHop, IPv6DestOpts or IPv6Fragment.
	Type uint8
	// Options are the TLV-encoded options of a hop-by-hop or destination-options
	// header. They are padded with Pad1/PadN to a multiple of 8 bytes.
	Options []byte
	// FragOffset (bytes, a multiple of 8), MF and FragID fill a fragment header.
	FragOffset uint16
	MF         bool
	FragID     uint32
}

// IP is the network layer of a packet: IPv4 or IPv6 after the family of Src.
// Fields that do not apply to the family are ignored.
type IP struct {
	Src, Dst netip.Addr
	TTL      uint8 // hop limit for IPv6; 64 when zero
	TOS      uint8 // traffic class for IPv6; the low two bits are the ECN field

	// IPv4 only.
	ID         uint16
	DF, MF     bool
	FragOffset uint16 // in bytes, a multiple of 8
	Options    []byte // padded with EOL to a multiple of 4 bytes (at most 40)

	// IPv6 only.
	FlowLabel uint32
	Ext       []IPv6Ext
}

// Is6 reports whether the packet is IPv6.
func (ip *IP) Is6() bool { return ip.Src.Is6() }

// EtherType returns EtherTypeIPv6 or EtherTypeIPv4.
func (ip *IP) EtherType() uint16 {
	if ip.Is6() {
		return EtherTypeIPv6
	}
	return EtherTypeIPv4
}

func (ip *IP) ttl() uint8 {
	if ip.TTL == 0 {
		return 64
	}
	return ip.TTL
}

// HeaderLen returns the length of the header appendHeader writes, extension
// headers and options included.
func (ip *IP) HeaderLen() int {
	if ip.Is6() {
		n := ipv6HeaderLen
		for i := range ip.Ext {
			n += extLen(&ip.Ext[i])
		}
		return n
	}
	return ipv4HeaderLen + (len(ip.Options)+3)&^3
}

func extLen(e *IPv6Ext) int {
	if e.Type == IPv6Fragment {
		return 8
	}
	return (2 + len(e.Options) + 7) &^ 7
}

// appendHeader appends the IP header for an upper-layer protocol proto, with the
// length fields and the IPv4 checksum left zero for finish to fill in.
func (ip *IP) appendHeader(b []byte, proto uint8) []byte {
	if ip.Is6() {
		return ip.appendHeader6(b, proto)
	}
	optLen := (len(ip.Options) + 3) &^ 3
	b = append(b, 0x40|byte((ipv4HeaderLen+optLen)/4), ip.TOS, 0, 0)
	b = binary.BigEndian.AppendUint16(b, ip.ID)
	frag := ip.FragOffset / 8 & 0x1fff
	if ip.DF {
		frag |= 0x4000
	}
	if ip.MF {
		frag |= 0x2000
	}
	b = binary.BigEndian.AppendUint16(b, frag)
	b = append(b, ip.ttl(), proto, 0, 0)
	s, d := ip.Src.As4(), ip.Dst.As4()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	b = append(b, ip.Options...)
	for i := len(ip.Options); i < optLen; i++ {
		b = append(b, 0) // EOL
	}
	return b
}

func (ip *IP) appendHeader6(b []byte, proto uint8) []byte {
	vtf := 6<<28 | uint32(ip.TOS)<<20 | ip.FlowLabel&0xfffff
	b = binary.BigEndian.AppendUint32(b, vtf)
	next := proto
	if len(ip.Ext) > 0 {
		next = ip.Ext[0].Type
	}
	b = append(b, 0, 0, next, ip.ttl())
	s, d := ip.Src.As16(), ip.Dst.As16()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	for i := range ip.Ext {
		e := &ip.Ext[i]
		next = proto
		if i+1 < len(ip.Ext) {
			next = ip.Ext[i+1].Type
		}
		if e.Type == IPv6Fragment {
			off := e.FragOffset &^ 7
			if e.MF {
				off |= 1
			}
			b = append(b, next, 0)
			b = binary.BigEndian.AppendUint16(b, off)
			b = binary.BigEndian.AppendUint32(b, e.FragID)
			continue
		}
		n := extLen(e)
		b = append(b, next, byte(n/8-1))
		b = append(b, e.Options...)
		switch padding := n - 2 - len(e.Options); {
		case padding == 1:
			b = append(b, 0) // Pad1
		case padding > 1:
			b = append(b, 1, byte(padding-2)) // PadN
			for j := 2; j < padding; j++ {
				b = append(b, 0)
			}
		}
	}
	return b
}

// finish fills the length fields (and the IPv4 header checksum) of the packet
// pkt, which holds the header from appendHeader and everything after it.
func (ip *IP) finish(pkt []byte) {
	if ip.Is6() {
		binary.BigEndian.PutUint16(pkt[4:], uint16(len(pkt)-ipv6HeaderLen))
		return
	}
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	hl := int(pkt[0]&0x0f) * 4
	pkt[10], pkt[11] = 0, 0
	binary.BigEndian.PutUint16(pkt[10:], Checksum(pkt[:hl]))
}

// AppendIPPacket appends an IP packet carrying payload as protocol proto. The
// payload is opaque: a transport segment built beforehand, or a fragment of one.
func AppendIPPacket(b []byte, ip *IP, proto uint8, payload []byte) []byte {
	start := len(b)
	b = ip.appendHeader(b, proto)
	b = append(b, payload...)
	ip.finish(b[start:])
	return b
}
