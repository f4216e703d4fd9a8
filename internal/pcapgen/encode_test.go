package pcapgen

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// refChecksum is a deliberately naive RFC 1071 checksum: 16-bit words one at
// a time, carries folded at the end.
func refChecksum(parts ...[]byte) uint16 {
	var all []byte
	for _, p := range parts {
		all = append(all, p...)
	}
	if len(all)%2 == 1 {
		all = append(all, 0)
	}
	var s uint32
	for i := 0; i < len(all); i += 2 {
		s += uint32(all[i])<<8 | uint32(all[i+1])
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// refPseudo builds the pseudo-header bytes the long way.
func refPseudo(src, dst netip.Addr, proto uint8, n int) []byte {
	if src.Is4() {
		b := append(src.AsSlice(), dst.AsSlice()...)
		return append(b, 0, proto, byte(n>>8), byte(n))
	}
	b := append(src.AsSlice(), dst.AsSlice()...)
	return append(b, byte(n>>24), byte(n>>16), byte(n>>8), byte(n), 0, 0, 0, proto)
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "\n", "", "\t", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	cli4 = netip.MustParseAddr("192.0.2.10")
	srv4 = netip.MustParseAddr("198.51.100.20")
	cli6 = netip.MustParseAddr("2001:db8::10")
	srv6 = netip.MustParseAddr("2001:db8:1::20")
)

func TestChecksum(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want uint16
	}{
		{"empty", "", 0xffff},
		// RFC 1071 section 3: the words sum to ddf2.
		{"rfc1071", "0001f203f4f5f6f7", ^uint16(0xddf2)},
		{"odd length pads with zero", "ab", ^uint16(0xab00)},
		{"all ones", "ffff", 0x0000},
		{"carry", "ffff0001", ^uint16(0x0001)},
		// 4500 0028 1234 4000 4006 0000 c000 020a c633 6414 sums to 2c3b3,
		// folds to c3b5, complement 3c4a.
		{"ipv4 header", "4500002812344000400600 00c000020ac6336414", 0x3c4a},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := unhex(t, tt.in)
			if got := Checksum(in); got != tt.want {
				t.Errorf("Checksum(%s) = %#04x, want %#04x", tt.in, got, tt.want)
			}
			if got := refChecksum(in); got != tt.want {
				t.Errorf("reference checksum(%s) = %#04x, want %#04x: the table is wrong", tt.in, got, tt.want)
			}
		})
	}
	// Every length and alignment against the naive version.
	p := newPattern(7)
	for n := 0; n < 200; n++ {
		for off := 0; off < 3; off++ {
			b := p[off : off+n]
			if got, want := Checksum(b), refChecksum(b); got != want {
				t.Fatalf("len %d off %d: %#04x, want %#04x", n, off, got, want)
			}
		}
	}
}

func TestTCPPacketKnownBytes(t *testing.T) {
	ip := &IP{Src: cli4, Dst: srv4, ID: 0x1234, DF: true}
	h := &TCP{SrcPort: 41000, DstPort: 8001, Seq: 1, Ack: 2, Flags: segment.SYN, Window: 0xfaf0}
	got := AppendTCPPacket(nil, ip, h, nil)
	// IPv4 checksum 3c4a worked out in TestChecksum. TCP checksum by hand:
	// pseudo c000+020a+c633+6414+0006+0014 = 1ec6b; header a028+1f41+0000+0001+
	// 0000+0002+5002+faf0+0000+0000 = 20a5e; 1ec6b+20a5e = 3f6c9 -> f6cc -> 0933.
	want := unhex(t, `
		45 00 00 28 12 34 40 00 40 06 3c 4a c0 00 02 0a c6 33 64 14
		a0 28 1f 41 00 00 00 01 00 00 00 02 50 02 fa f0 09 33 00 00`)
	if !bytes.Equal(got, want) {
		t.Errorf("packet\n got %x\nwant %x", got, want)
	}
}

func TestTCPHeader(t *testing.T) {
	payload := []byte("hello, world!")
	tests := []struct {
		name      string
		src, dst  netip.Addr
		h         TCP
		hdrLen    int
		offByte   byte // data offset and AE
		flagsByte byte
	}{
		{"syn v4", cli4, srv4, TCP{Flags: segment.SYN}, 20, 0x50, 0x02},
		{"all classic flags", cli4, srv4, TCP{Flags: segment.FIN | segment.SYN | segment.RST | segment.PSH | segment.ACK | segment.URG | segment.ECE | segment.CWR}, 20, 0x50, 0xff},
		{"AE goes beside the data offset", cli4, srv4, TCP{Flags: segment.AE | segment.CWR | segment.ECE | segment.SYN}, 20, 0x51, 0xc2},
		{"timestamps v6", cli6, srv6, TCP{Flags: segment.ACK, Opts: segment.Options{HasTS: true, TSVal: 5, TSEcr: 6}}, 32, 0x80, 0x10},
		{"raw options padded", cli4, srv4, TCP{Flags: segment.ACK, RawOptions: []byte{OptNOP, OptWScale, 3, 2, OptNOP}}, 28, 0x70, 0x10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			h.SrcPort, h.DstPort, h.Seq, h.Ack, h.Window, h.Urgent = 1, 2, 0xfffffff0, 7, 100, 9
			seg := AppendTCP([]byte{0xee}, tt.src, tt.dst, &h, payload)[1:]
			if len(seg) != tt.hdrLen+len(payload) {
				t.Fatalf("length %d, want %d", len(seg), tt.hdrLen+len(payload))
			}
			if seg[12] != tt.offByte || seg[13] != tt.flagsByte {
				t.Errorf("offset/flags bytes %#02x %#02x, want %#02x %#02x", seg[12], seg[13], tt.offByte, tt.flagsByte)
			}
			if got := binary.BigEndian.Uint32(seg[4:]); got != 0xfffffff0 {
				t.Errorf("seq %#x", got)
			}
			if got := binary.BigEndian.Uint16(seg[18:]); got != 9 {
				t.Errorf("urgent %d", got)
			}
			if !bytes.Equal(seg[tt.hdrLen:], payload) {
				t.Errorf("payload %q", seg[tt.hdrLen:])
			}
			sum := binary.BigEndian.Uint16(seg[16:])
			zeroed := append([]byte(nil), seg...)
			zeroed[16], zeroed[17] = 0, 0
			if want := refChecksum(refPseudo(tt.src, tt.dst, ProtoTCP, len(seg)), zeroed); sum != want {
				t.Errorf("checksum %#04x, want %#04x", sum, want)
			}
		})
	}
}

func TestTCPOptions(t *testing.T) {
	blocks := [4]segment.Block{{Left: 1, Right: 2}, {Left: 3, Right: 4}, {Left: 5, Right: 6}, {Left: 7, Right: 8}}
	tests := []struct {
		name string
		o    segment.Options
		want string
	}{
		{"none", segment.Options{}, ""},
		{"mss", segment.Options{HasMSS: true, MSS: 1460}, "020405b4"},
		{"linux syn", segment.Options{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTS: true, TSVal: 0x01020304, TSEcr: 0, HasWScale: true, WScale: 7},
			"020405b4 0402 080a 01020304 00000000 01 030307"},
		{"syn without timestamps", segment.Options{HasMSS: true, MSS: 1440, SACKPermitted: true, HasWScale: true, WScale: 14},
			"020405a0 01010402 0103030e"},
		{"timestamps only", segment.Options{HasTS: true, TSVal: 1, TSEcr: 2}, "0101080a 00000001 00000002"},
		{"tfo", segment.Options{TFO: true}, "01012202"},
		{"one sack block", segment.Options{NumSACK: 1, SACK: blocks}, "0101050a 00000001 00000002"},
		{"four sack blocks", segment.Options{NumSACK: 4, SACK: blocks},
			"01010522 00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008"},
		{"sack cut to three beside timestamps", segment.Options{HasTS: true, TSVal: 1, TSEcr: 2, NumSACK: 4, SACK: blocks},
			"0101080a 00000001 00000002 0101051a 00000001 00000002 00000003 00000004 00000005 00000006"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendTCPOptions(nil, &tt.o)
			want := unhex(t, tt.want)
			if !bytes.Equal(got, want) {
				t.Errorf("options\n got %x\nwant %x", got, want)
			}
			if len(got)%4 != 0 || len(got) > 40 {
				t.Errorf("length %d not a multiple of 4 within 40", len(got))
			}
		})
	}
}

func TestLinkHeaders(t *testing.T) {
	src := MAC{2, 0, 0, 0, 0, 1}
	dst := MAC{2, 0, 0, 0, 0, 2}
	tests := []struct {
		name string
		l    Link
		et   uint16
		want string
	}{
		{"ethernet", Link{Type: LinkEthernet, Src: src, Dst: dst}, EtherTypeIPv4, "020000000002 020000000001 0800"},
		{"802.1q", Link{Type: LinkEthernet, Src: src, Dst: dst, VLANs: []VLAN{{ID: 100, Priority: 5}}}, EtherTypeIPv6,
			"020000000002 020000000001 8100 a064 86dd"},
		{"qinq", Link{Type: LinkEthernet, Src: src, Dst: dst, VLANs: []VLAN{{TPID: TPID8021AD, ID: 200, DEI: true}, {ID: 300}}}, EtherTypeIPv4,
			"020000000002 020000000001 88a8 10c8 8100 012c 0800"},
		{"sll", Link{Type: LinkSLL, Src: src, PacketType: PacketOutgoing}, EtherTypeIPv4,
			"0004 0001 0006 020000000001 0000 0800"},
		{"sll2", Link{Type: LinkSLL2, Src: src, PacketType: PacketHost, IfIndex: 2}, EtherTypeIPv6,
			"86dd 0000 00000002 0001 00 06 020000000001 0000"},
		{"null little-endian v4", Link{Type: LinkNull}, EtherTypeIPv4, "02000000"},
		{"null big-endian v6", Link{Type: LinkNull, BigEndian: true}, EtherTypeIPv6, "0000001e"},
		{"raw", Link{Type: LinkRaw}, EtherTypeIPv4, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.l.Append(nil, tt.et)
			if want := unhex(t, tt.want); !bytes.Equal(got, want) {
				t.Errorf("header\n got %x\nwant %x", got, want)
			}
			if len(got) != tt.l.HeaderLen() {
				t.Errorf("HeaderLen %d, wrote %d", tt.l.HeaderLen(), len(got))
			}
		})
	}
}

func TestIPv4OptionsAndFragments(t *testing.T) {
	ip := &IP{Src: cli4, Dst: srv4, ID: 7, MF: true, FragOffset: 1480, TTL: 5, TOS: 2, Options: []byte{7, 7, 4, 0, 0, 0, 0}}
	pkt := AppendIPPacket(nil, ip, ProtoUDP, make([]byte, 16))
	if pkt[0] != 0x47 {
		t.Errorf("version/IHL %#02x, want 0x47", pkt[0])
	}
	if got := binary.BigEndian.Uint16(pkt[2:]); got != 28+16 {
		t.Errorf("total length %d", got)
	}
	if got := binary.BigEndian.Uint16(pkt[6:]); got != 0x2000|1480/8 {
		t.Errorf("flags/offset %#04x", got)
	}
	if pkt[8] != 5 || pkt[1] != 2 || pkt[9] != ProtoUDP {
		t.Errorf("ttl/tos/proto %d %d %d", pkt[8], pkt[1], pkt[9])
	}
	if pkt[27] != 0 {
		t.Errorf("option padding %#02x, want EOL", pkt[27])
	}
	if Checksum(pkt[:28]) != 0 {
		t.Errorf("header checksum does not verify")
	}
}

func TestIPv6ExtensionHeaders(t *testing.T) {
	tests := []struct {
		name    string
		ext     []IPv6Ext
		wantExt string // extension header bytes
	}{
		{"hop-by-hop padded with PadN", []IPv6Ext{{Type: IPv6HopByHop, Options: []byte{5, 2, 0, 0}}}, "3a00 05020000 0100"},
		{"destination options exact", []IPv6Ext{{Type: IPv6DestOpts, Options: []byte{0x1e, 4, 1, 2, 3, 4}}}, "3a00 1e0401020304"},
		{"Pad1", []IPv6Ext{{Type: IPv6DestOpts, Options: []byte{0x1e, 3, 1, 2, 3}}}, "3a00 1e03010203 00"},
		{"two lines", []IPv6Ext{{Type: IPv6DestOpts, Options: []byte{0x1e, 6, 1, 2, 3, 4, 5, 6}}}, "3a01 1e06010203040506 010400000000"},
		{"chain with fragment", []IPv6Ext{{Type: IPv6HopByHop}, {Type: IPv6Fragment, FragOffset: 8, MF: true, FragID: 0x01020304}},
			"2c00 010400000000 3a00 0009 01020304"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip := &IP{Src: cli6, Dst: srv6, Ext: tt.ext, FlowLabel: 0x12345, TOS: 0xb8}
			pkt := AppendICMPEchoPacket(nil, ip, false, 1, 2, []byte("ping"))
			want := unhex(t, tt.wantExt)
			if pkt[6] != tt.ext[0].Type {
				t.Errorf("next header %d, want %d", pkt[6], tt.ext[0].Type)
			}
			if got := binary.BigEndian.Uint32(pkt); got != 0x6b812345 {
				t.Errorf("version/class/label %#08x", got)
			}
			if got := pkt[40 : 40+len(want)]; !bytes.Equal(got, want) {
				t.Errorf("extension headers\n got %x\nwant %x", got, want)
			}
			if len(pkt) != ip.HeaderLen()+12 {
				t.Errorf("HeaderLen %d, packet %d", ip.HeaderLen(), len(pkt))
			}
			if got := int(binary.BigEndian.Uint16(pkt[4:])); got != len(pkt)-40 {
				t.Errorf("payload length %d, want %d", got, len(pkt)-40)
			}
			icmp := pkt[len(pkt)-12:]
			if icmp[0] != 128 || refChecksum(refPseudo(cli6, srv6, ProtoICMPv6, 12), icmp) != 0 {
				t.Errorf("ICMPv6 type %d or checksum wrong: %x", icmp[0], icmp)
			}
		})
	}
}

func TestUDP(t *testing.T) {
	for _, p := range []struct{ src, dst netip.Addr }{{cli4, srv4}, {cli6, srv6}} {
		d := AppendUDP(nil, p.src, p.dst, 53000, 53, []byte("abc"))
		if got := binary.BigEndian.Uint16(d[4:]); got != 11 {
			t.Errorf("length %d", got)
		}
		if refChecksum(refPseudo(p.src, p.dst, ProtoUDP, len(d)), d) != 0 {
			t.Errorf("%v: checksum does not verify: %x", p.src, d)
		}
	}
	// A datagram whose checksum computes to zero is sent as 0xffff: put the
	// complement of the sum into the payload.
	d := AppendUDP(nil, cli4, srv4, 1, 2, []byte{0, 0})
	c := binary.BigEndian.Uint16(d[6:])
	d = AppendUDP(nil, cli4, srv4, 1, 2, []byte{byte(c >> 8), byte(c)})
	if got := binary.BigEndian.Uint16(d[6:]); got != 0xffff {
		t.Errorf("zero checksum sent as %#04x, want 0xffff", got)
	}
}

func TestICMPv4AndARP(t *testing.T) {
	m := AppendICMPEcho(nil, cli4, srv4, true, 0x4242, 7, []byte("abcdefgh"))
	if m[0] != 0 || Checksum(m) != 0 || binary.BigEndian.Uint16(m[4:]) != 0x4242 || binary.BigEndian.Uint16(m[6:]) != 7 {
		t.Errorf("echo reply %x", m)
	}
	a := AppendARP(nil, ARPRequest, MAC{2, 0, 0, 0, 0, 1}, cli4, MAC{}, srv4)
	want := unhex(t, "0001 0800 06 04 0001 020000000001 c000020a 000000000000 c6336414")
	if !bytes.Equal(a, want) {
		t.Errorf("ARP\n got %x\nwant %x", a, want)
	}
}

func TestEthernetPadding(t *testing.T) {
	var buf bytes.Buffer
	c := NewCapture(&buf, Format{})
	c.ARP(0, Link{Pad: true}, ARPRequest, MAC{2}, cli4, MAC{}, srv4)
	c.ARP(0, Link{}, ARPRequest, MAC{2}, cli4, MAC{}, srv4)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if n := binary.LittleEndian.Uint32(b[24+8:]); n != 60 {
		t.Errorf("padded frame %d bytes, want 60", n)
	}
	if n := binary.LittleEndian.Uint32(b[24+16+60+8:]); n != 42 {
		t.Errorf("unpadded frame %d bytes, want 42", n)
	}
}

func TestPayloadRepeatsForRetransmissions(t *testing.T) {
	p := newPattern(1)
	a := p.at(3, 1000, 1448)
	b := p.at(3, 1000, 1448)
	if !bytes.Equal(a, b) {
		t.Error("same position differs")
	}
	if bytes.Equal(p.at(3, 1000, 64), p.at(4, 1000, 64)) {
		t.Error("streams share bytes")
	}
	if !bytes.Equal(p.at(3, 1000, 100)[50:], p.at(3, 1050, 50)) {
		t.Error("overlapping positions disagree")
	}
	if got := len(p.at(3, 0xffffffff, patternSize)); got != patternSize {
		t.Errorf("long slice %d", got)
	}
}
