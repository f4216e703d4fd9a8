package capture

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// tcp4 is an IPv4 packet carrying a TCP segment with a valid checksum.
func tcp4(payload []byte, opts []byte) []byte {
	seg := tcpSeg(40000, 443, 0xfffffff0, 77, 0x12, opts, payload)
	fixTCPChecksum(ip4A, ip4B, seg)
	return ipv4(protoTCP, nil, seg)
}

// tcp6 is an IPv6 packet carrying a TCP segment (after the given extension
// headers, whose first next-header value is next) with a valid checksum.
func tcp6(payload []byte, next byte, ext []byte) []byte {
	seg := tcpSeg(40000, 443, 1, 2, 0x10, nil, payload)
	fixTCPChecksum(ip6A, ip6B, seg)
	if ext == nil {
		next = protoTCP
	}
	return ipv6(next, cat(ext, seg))
}

func TestDecodeTable(t *testing.T) {
	pl := []byte("payload!")
	v4 := tcp4(pl, nil)
	v6 := tcp6(pl, 0, nil)
	hopDst := cat([]byte{protoDestOpts, 0, 1, 4, 0, 0, 0, 0}, []byte{protoTCP, 0, 1, 4, 0, 0, 0, 0})
	atomicFrag := []byte{protoTCP, 0, 0, 0, 0, 0, 0, 42}
	realFrag := []byte{protoTCP, 0, 0, 1, 0, 0, 0, 42}   // M=1
	laterFrag := []byte{protoTCP, 0, 0, 16, 0, 0, 0, 42} // offset 2
	ah := cat([]byte{protoTCP, 4, 0, 0}, make([]byte, 20))
	greHdr := func(flags, proto uint16, extra int) []byte { return cat(be16(flags), be16(proto), make([]byte, extra)) }
	teredo := udpDgram(3544, 50000, cat([]byte{0, 0}, make([]byte, 6), v6))
	le32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	nflogTLV := func(typ uint16, v []byte) []byte {
		b := binary.LittleEndian.AppendUint16(nil, uint16(4+len(v)))
		b = binary.LittleEndian.AppendUint16(b, typ)
		b = append(b, v...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	ipv4Opts := ipv4(protoTCP, []byte{1, 1, 1, 1, 1, 1, 1, 0}, func() []byte {
		s := tcpSeg(40000, 443, 0xfffffff0, 77, 0x12, nil, pl)
		fixTCPChecksum(ip4A, ip4B, s)
		return s
	}())
	frag4 := func(flagsOff uint16) []byte {
		p := bytes.Clone(v4)
		binary.BigEndian.PutUint16(p[6:], flagsOff)
		return p
	}

	type tc struct {
		name   string
		lt     uint16
		frame  []byte
		orig   int
		kind   Kind
		reason string
		v6     bool
	}
	cases := []tc{
		{name: "ethernet ipv4", lt: 1, frame: ether(etherIPv4, v4), kind: KindTCP},
		{name: "ethernet padding", lt: 1, frame: append(ether(etherIPv4, v4), 0, 0, 0, 0, 0, 0), kind: KindTCP},
		{name: "ipv4 options", lt: 1, frame: ether(etherIPv4, ipv4Opts), kind: KindTCP},
		{name: "vlan", lt: 1, frame: vlanEther([]uint16{etherVLAN}, etherIPv4, v4), kind: KindTCP},
		{name: "qinq", lt: 1, frame: vlanEther([]uint16{etherQinQ, etherVLAN}, etherIPv4, v4), kind: KindTCP},
		{name: "qinqinq 9100", lt: 1, frame: vlanEther([]uint16{etherQinQOld, etherQinQ, etherVLAN}, etherIPv6, v6), kind: KindTCP, v6: true},
		{name: "mpls stack", lt: 1, frame: ether(etherMPLS, cat([]byte{0, 1, 0, 64}, []byte{0, 2, 1, 64}, v4)), kind: KindTCP},
		{name: "mpls multicast v6", lt: 1, frame: ether(etherMPLSMulti, cat([]byte{0, 2, 1, 64}, v6)), kind: KindTCP, v6: true},
		{name: "pppoe", lt: 1, frame: ether(etherPPPoE, cat([]byte{0x11, 0, 0, 1}, be16(uint16(2+len(v4))), be16(0x21), v4)), kind: KindTCP},
		{name: "llc snap", lt: 1, frame: cat(macB, macA, be16(uint16(8+len(v4))), []byte{0xaa, 0xaa, 3, 0, 0, 0}, be16(etherIPv4), v4), kind: KindTCP},
		{name: "sll", lt: 113, frame: cat(make([]byte, 14), be16(etherIPv4), v4), kind: KindTCP},
		{name: "sll2", lt: 276, frame: cat(be16(etherIPv6), make([]byte, 18), v6), kind: KindTCP, v6: true},
		{name: "raw 101 v4", lt: 101, frame: v4, kind: KindTCP},
		{name: "raw 12 v6", lt: 12, frame: v6, kind: KindTCP, v6: true},
		{name: "raw 14", lt: 14, frame: v4, kind: KindTCP},
		{name: "ipv4 link", lt: 228, frame: v4, kind: KindTCP},
		{name: "ipv6 link", lt: 229, frame: v6, kind: KindTCP, v6: true},
		{name: "null le inet", lt: 0, frame: cat(le32(2), v4), kind: KindTCP},
		{name: "null be inet6 30", lt: 0, frame: cat(be32(30), v6), kind: KindTCP, v6: true},
		{name: "loop inet6 24", lt: 108, frame: cat(be32(24), v6), kind: KindTCP, v6: true},
		{name: "loop inet6 28 le", lt: 108, frame: cat(le32(28), v6), kind: KindTCP, v6: true},
		{name: "fddi llc/snap", lt: 10, frame: cat([]byte{0x50}, macB, macA, []byte{0xaa, 0xaa, 0x03, 0, 0, 0}, be16(0x0800), v4), kind: KindTCP},
		{name: "fddi without snap", lt: 10, frame: cat([]byte{0x50}, macB, macA, []byte{0x42, 0x42, 0x03, 0, 0, 0, 0, 0}), kind: KindOtherLink},
		{name: "fddi truncated", lt: 10, frame: cat([]byte{0x50}, macB), kind: KindMalformed},
		{name: "nflog", lt: 239, frame: cat([]byte{2, 0, 0, 0}, nflogTLV(1, make([]byte, 4)), nflogTLV(9, v4)), kind: KindTCP},
		{name: "ipv6 hop+dst opts", lt: 229, frame: tcp6(pl, protoHopByHop, hopDst), kind: KindTCP, v6: true},
		{name: "ipv6 atomic fragment", lt: 229, frame: tcp6(pl, protoFragment, atomicFrag), kind: KindTCP, v6: true},
		{name: "ipv6 AH", lt: 229, frame: tcp6(pl, protoAH, ah), kind: KindTCP, v6: true},
		{name: "ipv6 fragment M", lt: 229, frame: tcp6(pl, protoFragment, realFrag), kind: KindFragment},
		{name: "ipv6 fragment offset", lt: 229, frame: tcp6(pl, protoFragment, laterFrag), kind: KindFragment},
		{name: "ipv4 MF", lt: 101, frame: frag4(0x2000), kind: KindFragment},
		{name: "ipv4 offset", lt: 101, frame: frag4(0x0010), kind: KindFragment},
		{name: "ipv4 DF only", lt: 101, frame: frag4(0x4000), kind: KindTCP},
		{name: "gre ipv4", lt: 1, frame: ether(etherIPv4, ipv4(protoGRE, nil, cat(greHdr(0, etherIPv4, 0), v4))), kind: KindTCP},
		{name: "gre key seq ethernet", lt: 1, frame: ether(etherIPv4, ipv4(protoGRE, nil, cat(greHdr(0x3000, etherTEB, 8), ether(etherIPv6, v6)))), kind: KindTCP, v6: true},
		{name: "ip-in-ip", lt: 101, frame: ipv4(protoIPIP, nil, v4), kind: KindTCP},
		{name: "6in4", lt: 101, frame: ipv4(protoIPv6, nil, v6), kind: KindTCP, v6: true},
		{name: "teredo", lt: 1, frame: ether(etherIPv4, ipv4(protoUDP, nil, teredo)), kind: KindTCP, v6: true},
		{name: "udp", lt: 1, frame: ether(etherIPv4, ipv4(protoUDP, nil, udpDgram(53, 53, pl))), kind: KindUDP},
		{name: "teredo bubble", lt: 1, frame: ether(etherIPv4, ipv4(protoUDP, nil, udpDgram(3544, 1, make([]byte, 40)))), kind: KindUDP},
		{name: "icmp", lt: 101, frame: ipv4(protoICMP, nil, make([]byte, 8)), kind: KindICMP},
		{name: "icmpv6", lt: 229, frame: ipv6(protoICMPv6, make([]byte, 8)), kind: KindICMP},
		{name: "arp", lt: 1, frame: ether(etherARP, make([]byte, 28)), kind: KindARP},
		{name: "other ip", lt: 101, frame: ipv4(132, nil, make([]byte, 8)), kind: KindOtherIP, reason: "other IP protocol"},
		{name: "other ethertype", lt: 1, frame: ether(0x88cc, make([]byte, 30)), kind: KindOtherLink, reason: "non-IP ethertype"},
		{name: "token ring", lt: 6, frame: make([]byte, 40), kind: KindUnsupportedLink, reason: "unsupported link type IEEE 802.5 Token Ring (6)"},
		{name: "unknown link", lt: 4242, frame: make([]byte, 40), kind: KindUnsupportedLink, reason: "unsupported link type (4242)"},
		{name: "short ethernet", lt: 1, frame: make([]byte, 10), kind: KindMalformed, reason: "truncated Ethernet header"},
		{name: "bad ihl", lt: 101, frame: func() []byte { p := bytes.Clone(v4); p[0] = 0x44; return p }(), kind: KindMalformed, reason: "bad IPv4 header length"},
		{name: "bad version", lt: 228, frame: func() []byte { p := bytes.Clone(v4); p[0] = 0x55; return p }(), kind: KindMalformed, reason: "bad IP version"},
		{name: "total < ihl", lt: 101, frame: func() []byte { p := bytes.Clone(v4); p[3] = 10; p[2] = 0; return p }(), kind: KindMalformed, reason: "bad IPv4 total length"},
		{name: "tcp header snapped", lt: 101, frame: v4[:30], orig: len(v4), kind: KindMalformed, reason: "truncated TCP header"},
		{name: "frame shorter than its ip length", lt: 101, frame: v4[:30], kind: KindMalformed, reason: "IP payload too short for TCP header"},
		{name: "data offset < 5", lt: 101, frame: func() []byte { p := bytes.Clone(v4); p[32] = 0x40; return p }(), kind: KindMalformed, reason: "bad TCP data offset"},
		{name: "data offset beyond ip", lt: 101, frame: func() []byte { p := bytes.Clone(v4); p[32] = 0xf0; return p }(), kind: KindMalformed, reason: "TCP data offset exceeds IP payload"},
		{name: "ip payload < 20", lt: 101, frame: func() []byte { p := bytes.Clone(v4); binary.BigEndian.PutUint16(p[2:], 30); return p }(), kind: KindMalformed, reason: "IP payload too short for TCP header"},
		{name: "snapped payload", lt: 1, frame: ether(etherIPv4, v4)[:14+20+20+3], orig: 14 + len(v4), kind: KindTCP},
	}
	dec := NewDecoder(DecodeOptions{VerifyChecksums: true})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			orig := c.orig
			if orig == 0 {
				orig = len(c.frame)
			}
			f := &Frame{Data: c.frame, CapLen: len(c.frame), OrigLen: orig, LinkType: c.lt, Number: 9, Time: 5}
			var seg segment.Segment
			r := dec.Decode(f, &seg)
			if r.Kind != c.kind || (c.reason != "" && r.Reason != c.reason) {
				t.Fatalf("got %v %q, want %v %q", r.Kind, r.Reason, c.kind, c.reason)
			}
			if r.Kind != KindTCP {
				return
			}
			if seg.Frame != 9 || seg.Time != 5 || seg.PayloadLen != len(pl) {
				t.Errorf("frame %d time %d payloadlen %d", seg.Frame, seg.Time, seg.PayloadLen)
			}
			wantSrc, wantDst := netip.AddrFrom4([4]byte(ip4A)), netip.AddrFrom4([4]byte(ip4B))
			if c.v6 {
				wantSrc, wantDst = netip.AddrFrom16([16]byte(ip6A)), netip.AddrFrom16([16]byte(ip6B))
			}
			if seg.Src.Addr() != wantSrc || seg.Dst.Addr() != wantDst || seg.Src.Port() != 40000 || seg.Dst.Port() != 443 {
				t.Errorf("addresses %v -> %v", seg.Src, seg.Dst)
			}
			if c.orig == 0 {
				if !bytes.Equal(seg.Payload, pl) {
					t.Errorf("payload %q", seg.Payload)
				}
				if !seg.ChecksumChecked || seg.BadChecksum {
					t.Errorf("checksum checked %v bad %v", seg.ChecksumChecked, seg.BadChecksum)
				}
			} else if len(seg.Payload) != 3 || seg.ChecksumChecked || !seg.Truncated() {
				t.Errorf("snapped: payload %d checked %v", len(seg.Payload), seg.ChecksumChecked)
			}
		})
	}
}

func TestDecodeTCPFields(t *testing.T) {
	opts := cat(
		[]byte{optMSS, 4, 0x05, 0xb4},
		[]byte{optNOP, optWScale, 3, 7},
		[]byte{optSACKPerm, 2},
		[]byte{optTimestamp, 10}, be32(111), be32(222),
		[]byte{optSACK, 10}, be32(30), be32(40),
		[]byte{optTFO, 2},
		[]byte{optMPTCP, 4, 0, 0},
		[]byte{optEOL, 99, 99},
	)
	seg := tcpSeg(1, 2, 0xfffffff0, 77, 0x1ff, opts, []byte("ab"))
	fixTCPChecksum(ip4A, ip4B, seg)
	frame := ipv4(protoTCP, nil, seg)
	var s segment.Segment
	r := NewDecoder(DecodeOptions{VerifyChecksums: true}).Decode(&Frame{Data: frame, CapLen: len(frame), OrigLen: len(frame), LinkType: 101}, &s)
	if r.Kind != KindTCP {
		t.Fatal(r)
	}
	o := s.Opts
	if !o.HasMSS || o.MSS != 1460 || !o.HasWScale || o.WScale != 7 || !o.SACKPermitted || !o.HasTS || o.TSVal != 111 || o.TSEcr != 222 ||
		o.NumSACK != 1 || o.SACK[0].Left != 30 || o.SACK[0].Right != 40 || !o.TFO || !o.MPTCP {
		t.Errorf("options %+v", o)
	}
	if s.Flags != segment.FIN|segment.SYN|segment.RST|segment.PSH|segment.ACK|segment.URG|segment.ECE|segment.CWR|segment.AE {
		t.Errorf("flags %v", s.Flags)
	}
	if s.Seq != 0xfffffff0 || s.Ack != 77 || s.Window != 65535 || s.IPLen != len(frame) || s.PayloadLen != 2 || s.BadChecksum {
		t.Errorf("segment %+v", s)
	}
	// Corrupt the checksum.
	frame[len(frame)-1] ^= 0xff
	NewDecoder(DecodeOptions{VerifyChecksums: true}).Decode(&Frame{Data: frame, CapLen: len(frame), OrigLen: len(frame), LinkType: 101}, &s)
	if !s.ChecksumChecked || !s.BadChecksum {
		t.Errorf("bad checksum not found")
	}
	NewDecoder(DecodeOptions{}).Decode(&Frame{Data: frame, CapLen: len(frame), OrigLen: len(frame), LinkType: 101}, &s)
	if s.ChecksumChecked {
		t.Errorf("checksum checked without the option")
	}
}

func TestParseOptionsEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want segment.Options
	}{
		{"bad length ends parsing", []byte{optMSS, 4, 1, 0, optWScale, 1, optSACKPerm, 2}, segment.Options{MSS: 256, HasMSS: true}},
		{"length beyond header", []byte{optTimestamp, 10, 0, 0}, segment.Options{}},
		{"lone kind byte", []byte{optNOP, optMSS}, segment.Options{}},
		{"wrong-size mss ignored", []byte{optMSS, 3, 1, optSACKPerm, 2}, segment.Options{SACKPermitted: true}},
		{"five sack blocks keep four", cat([]byte{optSACK, 42}, make([]byte, 40)), segment.Options{NumSACK: 4}},
		{"experimental TFO", []byte{optExp, 4, 0xf9, 0x89}, segment.Options{TFO: true}},
		{"other experiment", []byte{optExp, 4, 0x12, 0x34}, segment.Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o segment.Options
			parseOptions(tc.b, &o)
			if o != tc.want {
				t.Errorf("got %+v want %+v", o, tc.want)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	want := []string{"tcp", "udp", "icmp", "arp", "ip_fragment", "other_ip", "other_link", "unsupported_link", "malformed"}
	for k := Kind(0); k < numKinds; k++ {
		if k.String() != want[k] {
			t.Errorf("%d: %s", k, k)
		}
	}
}

func TestDecodeZeroAllocs(t *testing.T) {
	pl := make([]byte, 100)
	frames := map[string]*Frame{}
	add := func(name string, lt uint16, b []byte) {
		frames[name] = &Frame{Data: b, CapLen: len(b), OrigLen: len(b), LinkType: lt}
	}
	add("ethernet", 1, ether(etherIPv4, tcp4(pl, []byte{optMSS, 4, 5, 0xb4, optNOP, optNOP, optTimestamp, 10, 0, 0, 0, 1, 0, 0, 0, 2})))
	add("vlan", 1, vlanEther([]uint16{etherVLAN}, etherIPv4, tcp4(pl, nil)))
	add("ipv6", 1, ether(etherIPv6, tcp6(pl, 0, nil)))
	add("unsupported", 4242, make([]byte, 64))
	dec := NewDecoder(DecodeOptions{VerifyChecksums: true})
	var seg segment.Segment
	for name, f := range frames {
		dec.Decode(f, &seg) // warm the unsupported-link name cache
		if n := testing.AllocsPerRun(1000, func() { dec.Decode(f, &seg) }); n != 0 {
			t.Errorf("%s: %v allocations per decode", name, n)
		}
	}
}

func TestReadZeroAllocs(t *testing.T) {
	file := benchPcap(1000)
	s, err := OpenReader(bytes.NewReader(file), "mem", Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Next()
	if n := testing.AllocsPerRun(500, func() { s.Next() }); n != 0 {
		t.Errorf("%v allocations per frame read", n)
	}
}

// TestPayloadLengthCappedAtWire: an IP header that claims more bytes than the
// frame had on the wire gives the payload length the frame can hold, as tshark
// counts it; a snapped frame still takes its length from the header.
func TestPayloadLengthCappedAtWire(t *testing.T) {
	pl := make([]byte, 100)
	full := tcp4(pl, nil)
	claim := func(extra int) []byte {
		p := bytes.Clone(full)
		binary.BigEndian.PutUint16(p[2:], uint16(len(full)+extra))
		return p
	}
	tests := []struct {
		name  string
		frame []byte
		orig  int
		want  int
	}{
		{"header agrees", full, len(full), 100},
		{"header claims 8 bytes more than the wire", claim(8), len(full), 100},
		{"snapped: wire had it all", claim(0)[:60], len(full), 100},
	}
	dec := NewDecoder(DecodeOptions{})
	for _, tc := range tests {
		var s segment.Segment
		r := dec.Decode(&Frame{Data: tc.frame, CapLen: len(tc.frame), OrigLen: tc.orig, LinkType: 101}, &s)
		if r.Kind != KindTCP || s.PayloadLen != tc.want {
			t.Errorf("%s: kind %v payload %d, want tcp %d", tc.name, r.Kind, s.PayloadLen, tc.want)
		}
	}
}

// TestParseOptionsTimestampFastPath: the shortcut for NOP, NOP, timestamps
// gives what the general parser gives (which the trailing EOL sends it to).
func TestParseOptionsTimestampFastPath(t *testing.T) {
	for _, b := range [][]byte{
		{1, 1, 8, 10, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe},
		{1, 1, 8, 10, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0},
		{1, 1, 8, 9, 0, 0, 0, 1, 0, 0, 0, 2},  // bad length: not a timestamp
		{1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2}, // SACK, not a timestamp
	} {
		var fast, slow segment.Options
		parseOptions(b, &fast)
		parseOptions(append(append([]byte(nil), b...), 0), &slow)
		if fast != slow {
			t.Errorf("% x: fast path %+v, general parser %+v", b, fast, slow)
		}
	}
}
