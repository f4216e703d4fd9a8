package pcapgen

import (
	"encoding/binary"
	"net/netip"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// TCP option kinds.
const (
	OptEOL           = 0
	OptNOP           = 1
	OptMSS           = 2
	OptWScale        = 3
	OptSACKPermitted = 4
	OptSACK          = 5
	OptTimestamps    = 8
	OptTFO           = 34
	tcpHeaderLen     = 20
	maxTCPOptions    = 40
)

// TCP is a TCP header.
type TCP struct {
	SrcPort, DstPort uint16
	Seq, Ack         seqnum.Value
	Flags            segment.Flags // AE goes to the reserved bit beside the data offset
	Window           uint16
	Urgent           uint16
	// Opts are encoded by AppendTCPOptions unless RawOptions is non-nil.
	Opts segment.Options
	// RawOptions, when non-nil, are written as the option bytes instead of Opts,
	// padded with EOL to a multiple of 4 (and cut at 40 bytes).
	RawOptions []byte
}

// AppendTCPOptions appends the options of o in the layout Linux uses, padded
// with NOPs to a multiple of 4 bytes: MSS; SACK-permitted and timestamps (sharing
// one 4-byte word when both are present); window scale; TFO cookie request; SACK
// blocks. SACK blocks that would not fit in the 40-byte option space are left out.
// MPTCP is not encoded.
func AppendTCPOptions(b []byte, o *segment.Options) []byte {
	start := len(b)
	if o.HasMSS {
		b = append(b, OptMSS, 4)
		b = binary.BigEndian.AppendUint16(b, o.MSS)
	}
	switch {
	case o.HasTS:
		if o.SACKPermitted {
			b = append(b, OptSACKPermitted, 2)
		} else {
			b = append(b, OptNOP, OptNOP)
		}
		b = append(b, OptTimestamps, 10)
		b = binary.BigEndian.AppendUint32(b, o.TSVal)
		b = binary.BigEndian.AppendUint32(b, o.TSEcr)
	case o.SACKPermitted:
		b = append(b, OptNOP, OptNOP, OptSACKPermitted, 2)
	}
	if o.HasWScale {
		b = append(b, OptNOP, OptWScale, 3, o.WScale)
	}
	if o.TFO {
		b = append(b, OptNOP, OptNOP, OptTFO, 2)
	}
	if n := int(o.NumSACK); n > 0 {
		room := (maxTCPOptions - (len(b) - start) - 4) / 8
		n = min(n, room, len(o.SACK))
		if n > 0 {
			b = append(b, OptNOP, OptNOP, OptSACK, byte(2+8*n))
			for _, blk := range o.SACK[:n] {
				b = binary.BigEndian.AppendUint32(b, uint32(blk.Left))
				b = binary.BigEndian.AppendUint32(b, uint32(blk.Right))
			}
		}
	}
	return b
}

// AppendTCP appends the TCP segment h with payload to b and sets its checksum
// over the pseudo-header of src and dst.
func AppendTCP(b []byte, src, dst netip.Addr, h *TCP, payload []byte) []byte {
	start := len(b)
	b = binary.BigEndian.AppendUint16(b, h.SrcPort)
	b = binary.BigEndian.AppendUint16(b, h.DstPort)
	b = binary.BigEndian.AppendUint32(b, uint32(h.Seq))
	b = binary.BigEndian.AppendUint32(b, uint32(h.Ack))
	b = append(b, 0, byte(h.Flags))
	b = binary.BigEndian.AppendUint16(b, h.Window)
	b = append(b, 0, 0)
	b = binary.BigEndian.AppendUint16(b, h.Urgent)
	if h.RawOptions != nil {
		b = append(b, h.RawOptions[:min(len(h.RawOptions), maxTCPOptions)]...)
		for (len(b)-start)%4 != 0 {
			b = append(b, OptEOL)
		}
	} else {
		b = AppendTCPOptions(b, &h.Opts)
	}
	hl := len(b) - start
	b[start+12] = byte(hl/4) << 4
	if h.Flags&segment.AE != 0 {
		b[start+12] |= 1
	}
	b = append(b, payload...)
	binary.BigEndian.PutUint16(b[start+16:], TransportChecksum(src, dst, ProtoTCP, b[start:]))
	return b
}

// AppendTCPPacket appends an IP packet carrying the TCP segment h and payload.
func AppendTCPPacket(b []byte, ip *IP, h *TCP, payload []byte) []byte {
	start := len(b)
	b = ip.appendHeader(b, ProtoTCP)
	b = AppendTCP(b, ip.Src, ip.Dst, h, payload)
	ip.finish(b[start:])
	return b
}

// AppendUDP appends a UDP datagram with its checksum (0xffff when it computes
// to zero, as RFC 768 asks).
func AppendUDP(b []byte, src, dst netip.Addr, srcPort, dstPort uint16, payload []byte) []byte {
	start := len(b)
	b = binary.BigEndian.AppendUint16(b, srcPort)
	b = binary.BigEndian.AppendUint16(b, dstPort)
	b = binary.BigEndian.AppendUint16(b, uint16(8+len(payload)))
	b = append(b, 0, 0)
	b = append(b, payload...)
	c := TransportChecksum(src, dst, ProtoUDP, b[start:])
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(b[start+6:], c)
	return b
}

// AppendUDPPacket appends an IP packet carrying a UDP datagram.
func AppendUDPPacket(b []byte, ip *IP, srcPort, dstPort uint16, payload []byte) []byte {
	start := len(b)
	b = ip.appendHeader(b, ProtoUDP)
	b = AppendUDP(b, ip.Src, ip.Dst, srcPort, dstPort, payload)
	ip.finish(b[start:])
	return b
}

// AppendICMPEcho appends an ICMP echo request (or reply) message: ICMPv4 for
// IPv4 addresses, ICMPv6 (with its pseudo-header checksum) for IPv6.
func AppendICMPEcho(b []byte, src, dst netip.Addr, reply bool, id, seq uint16, payload []byte) []byte {
	start := len(b)
	typ := byte(8)
	if reply {
		typ = 0
	}
	if src.Is6() {
		typ = 128
		if reply {
			typ = 129
		}
	}
	b = append(b, typ, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, id)
	b = binary.BigEndian.AppendUint16(b, seq)
	b = append(b, payload...)
	var c uint16
	if src.Is6() {
		c = TransportChecksum(src, dst, ProtoICMPv6, b[start:])
	} else {
		c = Checksum(b[start:])
	}
	binary.BigEndian.PutUint16(b[start+2:], c)
	return b
}

// AppendICMPEchoPacket appends an IP packet carrying an ICMP echo message.
func AppendICMPEchoPacket(b []byte, ip *IP, reply bool, id, seq uint16, payload []byte) []byte {
	start := len(b)
	proto := ProtoICMP
	if ip.Is6() {
		proto = ProtoICMPv6
	}
	b = ip.appendHeader(b, proto)
	b = AppendICMPEcho(b, ip.Src, ip.Dst, reply, id, seq, payload)
	ip.finish(b[start:])
	return b
}

// ARP operations.
const (
	ARPRequest uint16 = 1
	ARPReply   uint16 = 2
)

// AppendARP appends an Ethernet/IPv4 ARP message (28 bytes).
func AppendARP(b []byte, op uint16, senderMAC MAC, senderIP netip.Addr, targetMAC MAC, targetIP netip.Addr) []byte {
	b = append(b, 0, 1, 0x08, 0x00, 6, 4)
	b = binary.BigEndian.AppendUint16(b, op)
	s, t := senderIP.As4(), targetIP.As4()
	b = append(b, senderMAC[:]...)
	b = append(b, s[:]...)
	b = append(b, targetMAC[:]...)
	b = append(b, t[:]...)
	return b
}
