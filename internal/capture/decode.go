package capture

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"unsafe"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// DecodeOptions controls the decoder.
type DecodeOptions struct {
	// VerifyChecksums verifies the TCP checksum of every segment captured whole.
	VerifyChecksums bool
}

// Decoder parses frames down to the TCP header without allocating. A Decoder
// is not safe for concurrent use; use one per goroutine.
type Decoder struct {
	opt DecodeOptions
	// linkNames caches the reason text for unsupported link types so that
	// each is built once.
	linkNames map[uint16]string
}

// NewDecoder returns a decoder with the given options.
func NewDecoder(opt DecodeOptions) *Decoder {
	return &Decoder{opt: opt, linkNames: make(map[uint16]string)}
}

// unknownWire is the wire length passed down when the link layer does not
// record it; IP lengths are then trusted as they are.
const unknownWire = 1 << 30

// maxEncap bounds the number of nested encapsulations (tags, labels, tunnels)
// followed in one frame, so that crafted input cannot loop.
const maxEncap = 16

// packet is the decoding state of one frame.
type packet struct {
	d     *Decoder
	seg   *segment.Segment
	depth int
}

// Decode parses f and, for a TCP segment, fills seg. seg is reset first; its
// Payload aliases f.Data. For other kinds seg holds whatever was decoded
// (frame number, time, perhaps addresses) and should not be used.
func (d *Decoder) Decode(f *Frame, seg *segment.Segment) Result {
	*seg = segment.Segment{Frame: f.Number, Time: f.Time}
	if f.LinkType == LinkTypeEthernet && d.etherTCP4(f, seg, etherHeaderLen, etherHeaderLen-2) {
		setPayloadPos(f, seg)
		return Result{Kind: KindTCP}
	}
	return d.decode(f, seg)
}

// setPayloadPos sets where seg's payload, a view of f's data, lies in
// its file, when f says where it lies (Frame.Pos).
func setPayloadPos(f *Frame, seg *segment.Segment) {
	if f.Pos != 0 && len(seg.Payload) > 0 {
		seg.PayloadPos = f.Pos + uint64(uintptr(unsafe.Pointer(unsafe.SliceData(seg.Payload)))-uintptr(unsafe.Pointer(unsafe.SliceData(f.Data))))
	}
}

// decode is Decode for every frame its Ethernet/IPv4 pass leaves: the
// one-pass paths for IPv6, behind a VLAN tag and behind Linux cooked
// headers (linkLayout), else the general path. It is a function of its own so that Decode stays small
// enough to inline.
func (d *Decoder) decode(f *Frame, seg *segment.Segment) Result {
	if l, et := linkLayout(f); l != 0 && (d.etherTCP6(f, seg, l, et) || l != etherHeaderLen && d.etherTCP4(f, seg, l, et)) {
		setPayloadPos(f, seg)
		return Result{Kind: KindTCP}
	}
	return d.general(f, seg)
}

// linkLayout returns, for the one-pass paths, the length of f's link header
// and where its EtherType lies, or a length of 0 for a link type they do not
// take: Ethernet (behind one VLAN tag if there is one) and Linux cooked v1
// and v2 (tcpdump -i any, and the live mode on "any").
func linkLayout(f *Frame) (l, et int) {
	switch f.LinkType {
	case LinkTypeEthernet:
		l = etherHeaderLen
		if vlanTagged(f.Data) {
			l += 4
		}
		return l, l - 2
	case LinkTypeLinuxSLL: // the protocol ends the 16-byte header
		return 16, 14
	case LinkTypeSLL2: // the protocol begins the 20-byte header
		return 20, 0
	}
	return 0, 0
}

// etherHeaderLen is the length of an Ethernet II header.
const etherHeaderLen = 14

// vlanTagged reports whether the Ethernet frame b carries one VLAN tag (of
// any of the tag types the general path follows), or more: the one-pass
// paths then look behind the first.
func vlanTagged(b []byte) bool {
	if len(b) < etherHeaderLen+4 {
		return false
	}
	switch binary.BigEndian.Uint16(b[12:]) {
	case etherVLAN, etherQinQ, etherQinQOld, etherQinQOld2:
		return true
	}
	return false
}

// general is the layer-by-layer path, for every frame the one-pass ones
// leave.
func (d *Decoder) general(f *Frame, seg *segment.Segment) Result {
	p := packet{d: d, seg: seg}
	wire := f.OrigLen
	if wire < len(f.Data) {
		wire = len(f.Data)
	}
	res := p.link(f.LinkType, f.Data, wire)
	if res.Kind == KindTCP {
		setPayloadPos(f, seg)
	}
	return res
}

// etherTCP4 decodes, in one pass, the frame nearly every capture is made of:
// Ethernet II, IPv4 without options or fragments, and a TCP header whole in
// the capture. l is the length of the link header, and et where its
// EtherType lies: 14 and 12, 18 and 16 behind a VLAN tag, or those of the
// Linux cooked headers (decode). It fills seg as the general path (link, ipv4, tcp) would and
// reports true, or reports false, having written nothing, for any other
// frame, malformed ones included, which the general path then decodes with
// its reasons. The layer by layer walk took about 390 instructions a packet
// (docs/performance.md, session 19); TestOnePassDecodeMatchesGeneral holds the
// two to the same results.
func (d *Decoder) etherTCP4(f *Frame, seg *segment.Segment, l, et int) bool {
	b := f.Data
	if len(b) < l+40 || binary.BigEndian.Uint16(b[et:]) != etherIPv4 || b[l] != 0x45 || b[l+9] != protoTCP ||
		binary.BigEndian.Uint16(b[l+6:])&0x3fff != 0 {
		return false
	}
	// The IP layer's wire length: the frame's, less the Ethernet header.
	wire := max(f.OrigLen, len(b)) - l
	total := int(binary.BigEndian.Uint16(b[l+2:]))
	if total < 40 || wire >= unknownWire {
		// A length of 0 (TSO), one too short for TCP, or a wire length
		// the general path treats as unknown.
		return false
	}
	// The TCP layer: the IP payload, cut to the total length, and its wire
	// length (wire >= len(b)-l, so neither cut below is needed here).
	tcpWire := min(total, wire) - 20
	t := b[l+20 : min(len(b), l+total)]
	hlen := int(t[12]>>4) * 4
	if hlen < 20 || hlen > len(t) {
		return false
	}
	seg.IPLen = total
	// The same fields as fillTCP fills, written out again: a function the
	// two shared is not inlined, and cost 1.7 % more instructions on the
	// mix (2.0 % when counted again in session 25, with the PGO profile
	// covering the IPv6 path too). TestOnePassDecodeMatchesGeneral keeps the
	// two copies in step.
	seg.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[l+12:l+16])), binary.BigEndian.Uint16(t))
	seg.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[l+16:l+20])), binary.BigEndian.Uint16(t[2:]))
	seg.Seq = seqnum.Value(binary.BigEndian.Uint32(t[4:]))
	seg.Ack = seqnum.Value(binary.BigEndian.Uint32(t[8:]))
	seg.Flags = segment.Flags(t[13]) | segment.Flags(t[12]&1)<<8
	seg.Window = binary.BigEndian.Uint16(t[14:])
	seg.Urgent = binary.BigEndian.Uint16(t[18:])
	parseOptions(t[20:hlen], &seg.Opts)
	seg.PayloadLen = tcpWire - hlen
	seg.Payload = t[hlen:]
	if d.opt.VerifyChecksums && len(t) >= tcpWire {
		seg.ChecksumChecked = true
		seg.BadChecksum = tcpChecksum(seg.Src.Addr(), seg.Dst.Addr(), t[:tcpWire], false) != 0
	}
	return true
}

// etherTCP6 is etherTCP4 for Ethernet II (l and et as there), IPv6 without
// extension headers, and a TCP header whole in the capture: it fills seg as the general path
// (link, ipv6, tcp) would and reports true, or reports false, having
// written nothing, for any other frame. Through the general path an IPv6
// capture took about a tenth longer than the same traffic over IPv4
// (docs/performance.md, session 24); TestOnePassDecodeMatchesGeneral holds
// both passes to the general path.
func (d *Decoder) etherTCP6(f *Frame, seg *segment.Segment, l, et int) bool {
	b := f.Data
	if len(b) < l+60 || binary.BigEndian.Uint16(b[et:]) != etherIPv6 || b[l]>>4 != 6 || b[l+6] != protoTCP {
		return false
	}
	// The IP layer's wire length: the frame's, less the Ethernet header.
	wire := max(f.OrigLen, len(b)) - l
	plen := int(binary.BigEndian.Uint16(b[l+4:]))
	if wire >= unknownWire {
		return false // a wire length the general path treats as unknown
	}
	// The TCP layer: the IP payload, cut to the payload length, and its
	// wire length (wire >= len(b)-l, so neither cut below is needed here).
	tcpWire := min(40+plen, wire) - 40
	t := b[l+40 : min(len(b), l+40+plen)]
	if len(t) < 20 {
		return false // too short for TCP (len(t) <= tcpWire): the general path says why
	}
	hlen := int(t[12]>>4) * 4
	if hlen < 20 || hlen > len(t) {
		return false
	}
	seg.IPLen = 40 + plen
	d.fillTCP(seg, netip.AddrFrom16([16]byte(b[l+8:l+24])), netip.AddrFrom16([16]byte(b[l+24:l+40])), t, hlen, tcpWire, true)
	return true
}

// clampWire makes a layer's wire length consistent with its captured bytes: a
// length field smaller than the bytes present cuts them (the rest is padding),
// and a negative length (from a bogus field) becomes zero.
func clampWire(data []byte, wire int) ([]byte, int) {
	if wire < 0 {
		wire = 0
	}
	if len(data) > wire {
		data = data[:wire]
	}
	return data, wire
}

func malformed(reason string) Result { return Result{Kind: KindMalformed, Reason: reason} }

// link decodes a link-layer header of type lt. wire is the length of data on
// the wire (data may be a captured prefix of it).
func (p *packet) link(lt uint16, data []byte, wire int) Result {
	switch lt {
	case LinkTypeEthernet:
		return p.ethernet(data, wire)
	case LinkTypeRaw, LinkTypeRaw12, LinkTypeRaw14:
		return p.ipAny(data, wire)
	case LinkTypeIPv4:
		return p.ipv4(data, wire)
	case LinkTypeIPv6:
		return p.ipv6(data, wire)
	case LinkTypeNull, LinkTypeLoop:
		return p.null(data, wire)
	case LinkTypeLinuxSLL:
		if len(data) < 16 {
			return malformed("truncated Linux cooked header")
		}
		return p.etherType(binary.BigEndian.Uint16(data[14:]), data[16:], wire-16)
	case LinkTypeSLL2:
		if len(data) < 20 {
			return malformed("truncated Linux cooked v2 header")
		}
		return p.etherType(binary.BigEndian.Uint16(data), data[20:], wire-20)
	case LinkTypeNFLog:
		return p.nflog(data)
	case LinkTypeFDDI:
		return p.fddi(data, wire)
	}
	return Result{Kind: KindUnsupportedLink, Reason: p.d.linkName(lt)}
}

// linkName returns the reason text for an unsupported link type.
func (d *Decoder) linkName(lt uint16) string {
	if s, ok := d.linkNames[lt]; ok {
		return s
	}
	name := ""
	switch lt {
	case 6:
		name = "IEEE 802.5 Token Ring "
	case 9:
		name = "PPP "
	case 10:
		name = "FDDI "
	case 105:
		name = "IEEE 802.11 "
	case 127:
		name = "IEEE 802.11 radiotap "
	case 192:
		name = "PPI "
	case 231:
		name = "D-Bus "
	case 220:
		name = "USB Linux mmapped "
	case 249, 250, 251:
		name = "Netlink/USB "
	}
	s := "unsupported link type " + name + "(" + strconv.Itoa(int(lt)) + ")"
	d.linkNames[lt] = s
	return s
}

// ipAny decodes an IPv4 or IPv6 packet, chosen by the version nibble.
func (p *packet) ipAny(data []byte, wire int) Result {
	if len(data) == 0 {
		return malformed("truncated IP header")
	}
	switch data[0] >> 4 {
	case 4:
		return p.ipv4(data, wire)
	case 6:
		return p.ipv6(data, wire)
	}
	return malformed("bad IP version")
}

// Ethertypes handled by the decoder.
const (
	etherIPv4      = 0x0800
	etherARP       = 0x0806
	etherRARP      = 0x8035
	etherVLAN      = 0x8100
	etherQinQ      = 0x88a8
	etherQinQOld   = 0x9100
	etherQinQOld2  = 0x9200
	etherIPv6      = 0x86dd
	etherMPLS      = 0x8847
	etherMPLSMulti = 0x8848
	etherPPPoE     = 0x8864
	etherPPPoEDisc = 0x8863
	etherTEB       = 0x6558 // transparent Ethernet bridging (GRE)
	etherERSPAN2   = 0x88be
	etherERSPAN3   = 0x22eb
	etherPPP       = 0x880b
)

func (p *packet) ethernet(data []byte, wire int) Result {
	if len(data) < 14 {
		return malformed("truncated Ethernet header")
	}
	et := binary.BigEndian.Uint16(data[12:])
	data, wire = data[14:], wire-14
	if et <= 1500 {
		// IEEE 802.3 length field: only LLC/SNAP can carry IP.
		if len(data) >= 8 && data[0] == 0xaa && data[1] == 0xaa && data[2] == 0x03 {
			return p.etherType(binary.BigEndian.Uint16(data[6:]), data[8:], wire-8)
		}
		return Result{Kind: KindOtherLink, Reason: "IEEE 802.3 LLC frame"}
	}
	return p.etherType(et, data, wire)
}

// fddi decodes an FDDI frame: frame control, destination and source addresses
// (13 bytes; bit-swapped or not, the addresses do not matter here), then an
// 802.2 LLC/SNAP header that carries the EtherType.
func (p *packet) fddi(data []byte, wire int) Result {
	const hdr = 13
	if len(data) < hdr+8 {
		return malformed("truncated FDDI header")
	}
	llc := data[hdr:]
	if llc[0] != 0xaa || llc[1] != 0xaa || llc[2] != 0x03 {
		return Result{Kind: KindOtherLink, Reason: "FDDI frame without LLC/SNAP"}
	}
	return p.etherType(binary.BigEndian.Uint16(llc[6:]), data[hdr+8:], wire-hdr-8)
}

// etherType decodes the payload of an Ethernet-style protocol field, following
// VLAN tags, MPLS labels and PPPoE.
func (p *packet) etherType(et uint16, data []byte, wire int) Result {
	for {
		if p.depth++; p.depth > maxEncap {
			return malformed("too many nested encapsulations")
		}
		switch et {
		case etherIPv4:
			return p.ipv4(data, wire)
		case etherIPv6:
			return p.ipv6(data, wire)
		case etherARP, etherRARP:
			return Result{Kind: KindARP}
		case etherVLAN, etherQinQ, etherQinQOld, etherQinQOld2:
			if len(data) < 4 {
				return malformed("truncated VLAN tag")
			}
			et = binary.BigEndian.Uint16(data[2:])
			data, wire = data[4:], wire-4
		case etherMPLS, etherMPLSMulti:
			for {
				if len(data) < 4 {
					return malformed("truncated MPLS label stack")
				}
				bottom := data[2]&1 != 0
				data, wire = data[4:], wire-4
				if bottom {
					break
				}
				if p.depth++; p.depth > maxEncap {
					return malformed("too many nested encapsulations")
				}
			}
			if len(data) == 0 {
				return malformed("truncated MPLS payload")
			}
			switch data[0] >> 4 {
			case 4:
				return p.ipv4(data, wire)
			case 6:
				return p.ipv6(data, wire)
			}
			return Result{Kind: KindOtherLink, Reason: "MPLS payload not IP"}
		case etherPPPoE:
			if len(data) < 8 {
				return malformed("truncated PPPoE header")
			}
			// The PPPoE length covers the PPP frame; anything after it is padding.
			pw := wire - 6
			if n := int(binary.BigEndian.Uint16(data[4:])); n < pw {
				pw = n
			}
			return p.ppp(data[6:], pw)
		case etherPPPoEDisc:
			return Result{Kind: KindOtherLink, Reason: "PPPoE discovery"}
		case etherTEB:
			return p.ethernet(data, wire)
		default:
			return Result{Kind: KindOtherLink, Reason: "non-IP ethertype"}
		}
	}
}

// ppp decodes a PPP frame (as in PPPoE sessions and PPTP's enhanced GRE).
func (p *packet) ppp(data []byte, wire int) Result {
	if len(data) >= 2 && data[0] == 0xff && data[1] == 0x03 {
		data, wire = data[2:], wire-2
	}
	if len(data) < 1 {
		return malformed("truncated PPP header")
	}
	var proto uint16
	if data[0]&1 != 0 { // compressed one-byte protocol field
		proto, data, wire = uint16(data[0]), data[1:], wire-1
	} else {
		if len(data) < 2 {
			return malformed("truncated PPP header")
		}
		proto, data, wire = binary.BigEndian.Uint16(data), data[2:], wire-2
	}
	switch proto {
	case 0x0021:
		return p.ipv4(data, wire)
	case 0x0057:
		return p.ipv6(data, wire)
	}
	return Result{Kind: KindOtherLink, Reason: "PPP payload not IP"}
}

// null decodes BSD loopback (NULL: host byte order; LOOP: network byte order;
// either is accepted because captures move between machines).
func (p *packet) null(data []byte, wire int) Result {
	if len(data) < 4 {
		return malformed("truncated loopback header")
	}
	af := binary.LittleEndian.Uint32(data)
	if af > 0xffff {
		af = binary.BigEndian.Uint32(data)
	}
	data, wire = data[4:], wire-4
	switch af {
	case 2:
		return p.ipv4(data, wire)
	case 10, 24, 28, 30:
		return p.ipv6(data, wire)
	}
	return Result{Kind: KindOtherLink, Reason: "non-IP address family"}
}

// nflog finds the packet payload among the TLVs of a Linux NFLOG header.
func (p *packet) nflog(data []byte) Result {
	if len(data) < 4 {
		return malformed("truncated NFLOG header")
	}
	family := data[0]
	tlvs := data[4:]
	for len(tlvs) >= 4 {
		// TLV length and type are in host byte order; captures are almost
		// always little-endian. Accept a big-endian length when the
		// little-endian one cannot be right.
		n := int(binary.LittleEndian.Uint16(tlvs))
		typ := binary.LittleEndian.Uint16(tlvs[2:])
		if n < 4 || n > len(tlvs) {
			if bn := int(binary.BigEndian.Uint16(tlvs)); bn >= 4 && bn <= len(tlvs) {
				n, typ = bn, binary.BigEndian.Uint16(tlvs[2:])
			} else {
				return malformed("bad NFLOG TLV length")
			}
		}
		if typ&0x7fff == 9 { // NFULA_PAYLOAD
			// The payload may be cut to the NFLOG copy range and the wire
			// length is not recorded: trust the IP header's lengths.
			payload := tlvs[4:n]
			switch family {
			case 2:
				return p.ipv4(payload, unknownWire)
			case 10:
				return p.ipv6(payload, unknownWire)
			}
			return p.ipAny(payload, unknownWire)
		}
		n = (n + 3) &^ 3
		if n > len(tlvs) {
			break
		}
		tlvs = tlvs[n:]
	}
	return Result{Kind: KindOtherLink, Reason: "NFLOG without payload"}
}
