package capture

import (
	"encoding/binary"
	"net/netip"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// TCP option kinds the decoder reads.
const (
	optEOL       = 0
	optNOP       = 1
	optMSS       = 2
	optWScale    = 3
	optSACKPerm  = 4
	optSACK      = 5
	optTimestamp = 8
	optMPTCP     = 30
	optTFO       = 34
	optExp       = 254
	tfoExpMagic  = 0xF989
)

// tcp decodes a TCP header. data is the captured part of the IP payload, wire
// its length from the IP header.
func (p *packet) tcp(data []byte, wire int, v6 bool) Result {
	data, wire = clampWire(data, wire)
	if wire < 20 {
		return malformed("IP payload too short for TCP header")
	}
	if len(data) < 20 {
		return malformed("truncated TCP header")
	}
	hlen := int(data[12]>>4) * 4
	if hlen < 20 {
		return malformed("bad TCP data offset")
	}
	if hlen > wire {
		return malformed("TCP data offset exceeds IP payload")
	}
	if hlen > len(data) {
		return malformed("truncated TCP options")
	}
	p.d.fillTCP(p.seg, p.seg.Src.Addr(), p.seg.Dst.Addr(), data, hlen, wire, v6)
	return Result{Kind: KindTCP}
}

// fillTCP fills s from a TCP segment between the addresses src and dst: t
// holds its captured bytes, hlen of them header (checked to lie in t), and
// wire is its length on the wire. The general path and the one-pass IPv6
// path share it; the IPv4 one keeps a copy of its own (etherTCP4).
func (d *Decoder) fillTCP(s *segment.Segment, src, dst netip.Addr, t []byte, hlen, wire int, v6 bool) {
	s.Src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(t))
	s.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(t[2:]))
	s.Seq = seqnum.Value(binary.BigEndian.Uint32(t[4:]))
	s.Ack = seqnum.Value(binary.BigEndian.Uint32(t[8:]))
	s.Flags = segment.Flags(t[13]) | segment.Flags(t[12]&1)<<8
	s.Window = binary.BigEndian.Uint16(t[14:])
	s.Urgent = binary.BigEndian.Uint16(t[18:])
	parseOptions(t[20:hlen], &s.Opts)
	s.PayloadLen = wire - hlen
	s.Payload = t[hlen:]
	if d.opt.VerifyChecksums && len(t) >= wire {
		s.ChecksumChecked = true
		s.BadChecksum = tcpChecksum(src, dst, t[:wire], v6) != 0
	}
}

// parseOptions reads the TCP options in b into o. It stops at EOL and at the
// first option whose length is impossible, keeping what it read before.
func parseOptions(b []byte, o *segment.Options) {
	if len(b) == 12 && b[0] == optNOP && b[1] == optNOP && b[2] == optTimestamp && b[3] == 10 {
		// NOP, NOP, timestamps: what Linux puts on every segment after the
		// handshake.
		o.TSVal, o.TSEcr, o.HasTS = binary.BigEndian.Uint32(b[4:]), binary.BigEndian.Uint32(b[8:]), true
		return
	}
	for len(b) > 0 {
		kind := b[0]
		if kind == optEOL {
			return
		}
		if kind == optNOP {
			b = b[1:]
			continue
		}
		if len(b) < 2 {
			return
		}
		n := int(b[1])
		if n < 2 || n > len(b) {
			return
		}
		v := b[2:n]
		switch kind {
		case optMSS:
			if len(v) == 2 {
				o.MSS, o.HasMSS = binary.BigEndian.Uint16(v), true
			}
		case optWScale:
			if len(v) == 1 {
				o.WScale, o.HasWScale = v[0], true
			}
		case optSACKPerm:
			if len(v) == 0 {
				o.SACKPermitted = true
			}
		case optSACK:
			if len(v)%8 == 0 {
				o.NumSACK = 0
				for i := 0; i+8 <= len(v) && int(o.NumSACK) < len(o.SACK); i += 8 {
					o.SACK[o.NumSACK] = segment.Block{
						Left:  seqnum.Value(binary.BigEndian.Uint32(v[i:])),
						Right: seqnum.Value(binary.BigEndian.Uint32(v[i+4:])),
					}
					o.NumSACK++
				}
			}
		case optTimestamp:
			if len(v) == 8 {
				o.TSVal, o.TSEcr, o.HasTS = binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:]), true
			}
		case optMPTCP:
			o.MPTCP = true
		case optTFO:
			o.TFO = true
		case optExp:
			if len(v) >= 2 && binary.BigEndian.Uint16(v) == tfoExpMagic {
				o.TFO = true
			}
		}
		b = b[n:]
	}
}

// tcpChecksum returns the ones'-complement sum over the pseudo-header and the
// segment, folded and complemented: zero when the checksum field is right.
func tcpChecksum(src, dst netip.Addr, seg []byte, v6 bool) uint16 {
	var sum uint64
	if v6 {
		a, b := src.As16(), dst.As16()
		sum = sumBytes(sum, a[:])
		sum = sumBytes(sum, b[:])
	} else {
		a, b := src.As4(), dst.As4()
		sum = sumBytes(sum, a[:])
		sum = sumBytes(sum, b[:])
	}
	sum += uint64(len(seg)) + protoTCP
	sum = sumBytes(sum, seg)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// sumBytes adds b to a ones'-complement sum as big-endian 16-bit words (an odd
// last byte is padded with zero). It must be called with even-length pieces
// except for the last.
func sumBytes(sum uint64, b []byte) uint64 {
	for len(b) >= 8 {
		v := binary.BigEndian.Uint64(b)
		sum += v>>48 + v>>32&0xffff + v>>16&0xffff + v&0xffff
		b = b[8:]
	}
	for len(b) >= 2 {
		sum += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	return sum
}
