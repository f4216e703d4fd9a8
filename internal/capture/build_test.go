package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// Byte builders for test frames and files. Every function returns a new slice.

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

var (
	macA = []byte{0x02, 0, 0, 0, 0, 1}
	macB = []byte{0x02, 0, 0, 0, 0, 2}
	ip4A = []byte{10, 0, 0, 1}
	ip4B = []byte{10, 0, 0, 2}
	ip6A = []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	ip6B = []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}
)

func ether(et uint16, payload []byte) []byte { return cat(macB, macA, be16(et), payload) }

// vlanEther builds Ethernet with the given tag TPIDs stacked outermost first.
func vlanEther(tpids []uint16, et uint16, payload []byte) []byte {
	if len(tpids) == 0 {
		return ether(et, payload)
	}
	b := cat(macB, macA, be16(tpids[0]))
	for i := 1; i < len(tpids); i++ {
		b = cat(b, be16(uint16(100+i)), be16(tpids[i]))
	}
	return cat(b, be16(100), be16(et), payload)
}

// ipv4 builds an IPv4 header (with opts, padded to 4 bytes) around payload.
func ipv4(proto byte, opts []byte, payload []byte) []byte {
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	ihl := 20 + len(opts)
	h := make([]byte, 20)
	h[0] = 0x40 | byte(ihl/4)
	binary.BigEndian.PutUint16(h[2:], uint16(ihl+len(payload)))
	h[8] = 64
	h[9] = proto
	copy(h[12:], ip4A)
	copy(h[16:], ip4B)
	h = cat(h, opts)
	binary.BigEndian.PutUint16(h[10:], ^csum(0, h))
	return cat(h, payload)
}

// ipv6 builds an IPv6 header around payload (which may start with extension headers).
func ipv6(next byte, payload []byte) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6] = next
	h[7] = 64
	copy(h[8:], ip6A)
	copy(h[24:], ip6B)
	return cat(h, payload)
}

// tcpSeg builds a TCP header with options (padded) and payload; the checksum is
// left zero (fix it with fixTCPChecksum).
func tcpSeg(sport, dport uint16, seq, ack uint32, flags uint16, opts, payload []byte) []byte {
	for len(opts)%4 != 0 {
		opts = append(opts, 1)
	}
	hl := 20 + len(opts)
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h, sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint32(h[4:], seq)
	binary.BigEndian.PutUint32(h[8:], ack)
	h[12] = byte(hl/4)<<4 | byte(flags>>8&1)
	h[13] = byte(flags)
	binary.BigEndian.PutUint16(h[14:], 65535)
	return cat(h, opts, payload)
}

func udpDgram(sport, dport uint16, payload []byte) []byte {
	return cat(be16(sport), be16(dport), be16(uint16(8+len(payload))), be16(0), payload)
}

func csum(sum uint32, b []byte) uint16 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}

// fixTCPChecksum fills the checksum of the TCP segment seg sent between src and dst.
func fixTCPChecksum(src, dst, seg []byte) {
	seg[16], seg[17] = 0, 0
	var pseudo []byte
	pseudo = cat(src, dst)
	if len(src) == 4 {
		pseudo = cat(pseudo, []byte{0, 6}, be16(uint16(len(seg))))
	} else {
		pseudo = cat(pseudo, be32(uint32(len(seg))), []byte{0, 0, 0, 6})
	}
	binary.BigEndian.PutUint16(seg[16:], ^csum(0, cat(pseudo, seg)))
}

// testRecord is one frame for a file builder.
type testRecord struct {
	sec, frac uint32
	data      []byte
	origLen   int // 0 means len(data)
}

// pcapFile builds a classic pcap file.
func pcapFile(order binOrder, nano bool, linkType uint32, recs ...testRecord) []byte {
	magic := uint32(pcapMagicMicro)
	if nano {
		magic = pcapMagicNano
	}
	b := order.AppendUint32(nil, magic)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 4)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, 262144)
	b = order.AppendUint32(b, linkType)
	for _, r := range recs {
		orig := r.origLen
		if orig == 0 {
			orig = len(r.data)
		}
		b = order.AppendUint32(b, r.sec)
		b = order.AppendUint32(b, r.frac)
		b = order.AppendUint32(b, uint32(len(r.data)))
		b = order.AppendUint32(b, uint32(orig))
		b = append(b, r.data...)
	}
	return b
}

// ngBlock builds one pcapng block.
func ngBlock(order binOrder, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	b := order.AppendUint32(nil, typ)
	b = order.AppendUint32(b, n)
	b = append(b, body...)
	return order.AppendUint32(b, n)
}

func ngSHB(order binOrder, major, minor uint16) []byte {
	body := order.AppendUint32(nil, ngByteOrderMagic)
	body = order.AppendUint16(body, major)
	body = order.AppendUint16(body, minor)
	body = order.AppendUint64(body, ^uint64(0))
	return ngBlock(order, ngBlockSHB, body)
}

func ngOpt(order binOrder, code uint16, v []byte) []byte {
	b := order.AppendUint16(nil, code)
	b = order.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// ngIDB builds an interface block; tsresol < 0 omits if_tsresol, offset 0 omits if_tsoffset.
func ngIDB(order binOrder, linkType uint16, tsresol int, tsoffset int64) []byte {
	body := order.AppendUint16(nil, linkType)
	body = order.AppendUint16(body, 0)
	body = order.AppendUint32(body, 65535)
	if tsresol >= 0 {
		body = append(body, ngOpt(order, 9, []byte{byte(tsresol)})...)
	}
	if tsoffset != 0 {
		body = append(body, ngOpt(order, 14, order.AppendUint64(nil, uint64(tsoffset)))...)
	}
	body = append(body, 0, 0, 0, 0)
	return ngBlock(order, ngBlockIDB, body)
}

func ngEPB(order binOrder, iface uint32, ts uint64, data []byte, origLen int) []byte {
	if origLen == 0 {
		origLen = len(data)
	}
	body := order.AppendUint32(nil, iface)
	body = order.AppendUint32(body, uint32(ts>>32))
	body = order.AppendUint32(body, uint32(ts))
	body = order.AppendUint32(body, uint32(len(data)))
	body = order.AppendUint32(body, uint32(origLen))
	body = append(body, data...)
	return ngBlock(order, ngBlockEPB, body)
}

func ngSPB(order binOrder, data []byte) []byte {
	return ngBlock(order, ngBlockSPB, append(order.AppendUint32(nil, uint32(len(data))), data...))
}

func ngPB(order binOrder, iface uint16, ts uint64, data []byte) []byte {
	body := order.AppendUint16(nil, iface)
	body = order.AppendUint16(body, 0)
	body = order.AppendUint32(body, uint32(ts>>32))
	body = order.AppendUint32(body, uint32(ts))
	body = order.AppendUint32(body, uint32(len(data)))
	body = order.AppendUint32(body, uint32(len(data)))
	body = append(body, data...)
	return ngBlock(order, ngBlockPB, body)
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// simpleTCP4 is a complete Ethernet/IPv4/TCP frame with a valid checksum.
func simpleTCP4(payload []byte) []byte {
	seg := tcpSeg(1234, 80, 1000, 2000, 0x18, nil, payload)
	fixTCPChecksum(ip4A, ip4B, seg)
	return ether(etherIPv4, ipv4(protoTCP, nil, seg))
}

// binOrder is a byte order that can both read and append.
type binOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func newSeg() *segment.Segment { return new(segment.Segment) }
