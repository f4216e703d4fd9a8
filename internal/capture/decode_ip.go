package capture

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers handled by the decoder.
const (
	protoICMP     = 1
	protoIPIP     = 4
	protoTCP      = 6
	protoUDP      = 17
	protoIPv6     = 41
	protoRouting  = 43
	protoFragment = 44
	protoGRE      = 47
	protoESP      = 50
	protoAH       = 51
	protoICMPv6   = 58
	protoNoNext   = 59
	protoDestOpts = 60
	protoHopByHop = 0
)

// UDP ports of tunnels that carry packets the decoder follows.
const (
	portTeredo = 3544
	portVXLAN  = 4789
)

// onWire caps an IP packet length from the header at the bytes the frame had
// on the wire: a header that claims more than the frame carried cannot be
// believed for the payload length (tshark caps it the same way).
func onWire(total, wire int) int {
	if wire != unknownWire && wire >= 0 && total > wire {
		return wire
	}
	return total
}

func (p *packet) ipv4(data []byte, wire int) Result {
	data, wire = clampWire(data, wire)
	if p.depth++; p.depth > maxEncap {
		return malformed("too many nested encapsulations")
	}
	if len(data) < 20 {
		return malformed("truncated IPv4 header")
	}
	if data[0]>>4 != 4 {
		return malformed("bad IP version")
	}
	ihl := int(data[0]&0x0f) * 4
	if ihl < 20 {
		return malformed("bad IPv4 header length")
	}
	if ihl > len(data) {
		return malformed("truncated IPv4 header")
	}
	total := int(binary.BigEndian.Uint16(data[2:]))
	if total == 0 && wire != unknownWire {
		// Captured before TCP segmentation offload: the length is not
		// filled in yet, the frame is the packet.
		total = wire
	}
	if total < ihl {
		return malformed("bad IPv4 total length")
	}
	// A total length beyond the frame (wire) length means the frame was
	// snapped or its recorded length is wrong: like a snapped frame, it is
	// decoded from its headers and its payload is only partly captured.
	p.seg.IPLen = total
	src := netip.AddrFrom4([4]byte(data[12:16]))
	dst := netip.AddrFrom4([4]byte(data[16:20]))
	p.seg.Src, p.seg.Dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
	frag := binary.BigEndian.Uint16(data[6:])
	if frag&0x3fff != 0 { // MF set or a non-zero offset
		return Result{Kind: KindFragment}
	}
	payload := data[ihl:]
	if len(payload) > total-ihl {
		payload = payload[:total-ihl]
	}
	return p.transport(data[9], payload, onWire(total, wire)-ihl, false)
}

func (p *packet) ipv6(data []byte, wire int) Result {
	data, wire = clampWire(data, wire)
	if p.depth++; p.depth > maxEncap {
		return malformed("too many nested encapsulations")
	}
	if len(data) < 40 {
		return malformed("truncated IPv6 header")
	}
	if data[0]>>4 != 6 {
		return malformed("bad IP version")
	}
	plen := int(binary.BigEndian.Uint16(data[4:]))
	next := data[6]
	if plen == 0 && next == protoHopByHop && wire != unknownWire {
		plen = wire - 40 // jumbogram: the length is in a hop-by-hop option
	}
	// As for IPv4, a payload length beyond the frame is decoded from the headers.
	p.seg.IPLen = 40 + plen
	p.seg.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(data[8:24])), 0)
	p.seg.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(data[24:40])), 0)
	rest := data[40:]
	if len(rest) > plen {
		rest = rest[:plen]
	}
	left := onWire(40+plen, wire) - 40 // bytes of the payload on the wire, headers not yet skipped
	for {
		var n int
		switch next {
		case protoHopByHop, protoRouting, protoDestOpts:
			if len(rest) < 8 {
				return p.extTruncated(left)
			}
			n = (int(rest[1]) + 1) * 8
		case protoAH:
			if len(rest) < 8 {
				return p.extTruncated(left)
			}
			n = (int(rest[1]) + 2) * 4
		case protoFragment:
			if len(rest) < 8 {
				return p.extTruncated(left)
			}
			off := binary.BigEndian.Uint16(rest[2:])
			if off&0xfff9 != 0 { // offset non-zero or M set
				return Result{Kind: KindFragment}
			}
			n = 8 // atomic fragment: the payload follows unfragmented
		default:
			return p.transport(next, rest, left, true)
		}
		if n > left {
			return malformed("IPv6 extension header exceeds payload length")
		}
		if n > len(rest) {
			return malformed("truncated IPv6 extension header")
		}
		next = rest[0]
		rest, left = rest[n:], left-n
		if p.depth++; p.depth > maxEncap {
			return malformed("too many IPv6 extension headers")
		}
	}
}

func (p *packet) extTruncated(left int) Result {
	if left < 8 {
		return malformed("IPv6 extension header exceeds payload length")
	}
	return malformed("truncated IPv6 extension header")
}

// transport decodes the payload of an IP packet: proto is the protocol number,
// data the captured part of the payload and wire its length from the IP header.
func (p *packet) transport(proto byte, data []byte, wire int, v6 bool) Result {
	switch proto {
	case protoTCP:
		return p.tcp(data, wire, v6)
	case protoUDP:
		return p.udp(data, wire)
	case protoICMP, protoICMPv6:
		return Result{Kind: KindICMP}
	case protoIPIP:
		return p.ipv4(data, wire)
	case protoIPv6:
		return p.ipv6(data, wire)
	case protoGRE:
		return p.gre(data, wire)
	case protoNoNext:
		return Result{Kind: KindOtherIP, Reason: "no next header"}
	case protoESP:
		return Result{Kind: KindOtherIP, Reason: "ESP"}
	}
	return Result{Kind: KindOtherIP, Reason: "other IP protocol"}
}

func (p *packet) udp(data []byte, wire int) Result {
	data, wire = clampWire(data, wire)
	if wire < 8 {
		return malformed("IP payload too short for UDP header")
	}
	if len(data) < 8 {
		return Result{Kind: KindUDP} // snapped: nothing more to learn
	}
	sport, dport := binary.BigEndian.Uint16(data), binary.BigEndian.Uint16(data[2:])
	data, wire = data[8:], wire-8
	switch {
	case sport == portTeredo || dport == portTeredo:
		if r, ok := p.teredo(data, wire); ok {
			return r
		}
	case dport == portVXLAN:
		if len(data) >= 8 && data[0]&0x08 != 0 {
			return p.ethernet(data[8:], wire-8)
		}
	case exactIPv6(data, wire):
		// Teredo between a client and a relay or peer uses ports other than
		// 3544 once the tunnel is up. A UDP payload that is exactly one IPv6
		// packet (version 6, payload length that fills the datagram) is taken
		// as such, as Zeek does.
		return p.ipv6(data, wire)
	}
	return Result{Kind: KindUDP}
}

// exactIPv6 reports whether a UDP payload is exactly one IPv6 packet carrying
// TCP, UDP or ICMPv6: version 6 and a payload length that ends where the
// datagram ends.
func exactIPv6(data []byte, wire int) bool {
	if len(data) < 40 || data[0]>>4 != 6 || 40+int(binary.BigEndian.Uint16(data[4:])) != wire {
		return false
	}
	switch data[6] {
	case 6, 17, 58:
		return true
	}
	return false
}

// teredo decodes IPv6 inside a Teredo UDP payload (RFC 4380), skipping the
// optional authentication and origin indication headers. ok is false when the
// payload does not hold an IPv6 packet (e.g. a bubble or a qualification).
func (p *packet) teredo(data []byte, wire int) (Result, bool) {
	for i := 0; i < 2; i++ {
		if len(data) < 2 || data[0] != 0 {
			break
		}
		switch data[1] {
		case 1: // authentication
			if len(data) < 4 {
				return Result{}, false
			}
			n := 4 + int(data[2]) + int(data[3]) + 9
			if n > len(data) {
				return Result{}, false
			}
			data, wire = data[n:], wire-n
		case 0: // origin indication
			if len(data) < 8 {
				return Result{}, false
			}
			data, wire = data[8:], wire-8
		default:
			return Result{}, false
		}
	}
	if len(data) < 40 || data[0]>>4 != 6 || 40+int(binary.BigEndian.Uint16(data[4:])) > wire {
		return Result{}, false
	}
	return p.ipv6(data, wire), true
}

// gre decodes a GRE header (RFC 2784/2890, and PPTP's enhanced GRE).
func (p *packet) gre(data []byte, wire int) Result {
	data, wire = clampWire(data, wire)
	if len(data) < 4 {
		return malformed("truncated GRE header")
	}
	flags := binary.BigEndian.Uint16(data)
	proto := binary.BigEndian.Uint16(data[2:])
	n := 4
	switch flags & 7 { // version
	case 0:
		if flags&0x4000 != 0 {
			return Result{Kind: KindOtherIP, Reason: "GRE with source routing"}
		}
		if flags&0x8000 != 0 {
			n += 4
		}
		if flags&0x2000 != 0 {
			n += 4
		}
		if flags&0x1000 != 0 {
			n += 4
		}
	case 1:
		n += 4 // key (payload length and call ID)
		if flags&0x1000 != 0 {
			n += 4
		}
		if flags&0x0080 != 0 {
			n += 4
		}
	default:
		return Result{Kind: KindOtherIP, Reason: "unknown GRE version"}
	}
	if len(data) < n {
		return malformed("truncated GRE header")
	}
	data, wire = data[n:], wire-n
	switch proto {
	case etherIPv4:
		return p.ipv4(data, wire)
	case etherIPv6:
		return p.ipv6(data, wire)
	case etherTEB:
		return p.ethernet(data, wire)
	case etherERSPAN2:
		if len(data) < 8 {
			return malformed("truncated ERSPAN header")
		}
		return p.ethernet(data[8:], wire-8)
	case etherERSPAN3:
		if len(data) < 12 {
			return malformed("truncated ERSPAN header")
		}
		return p.ethernet(data[12:], wire-12)
	case etherPPP:
		return p.ppp(data, wire)
	case etherMPLS, etherMPLSMulti:
		return p.etherType(proto, data, wire)
	}
	return Result{Kind: KindOtherIP, Reason: "GRE payload not IP"}
}
