package capture

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"
	"unsafe"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// sameDecode reports how Decode (with its one-pass Ethernet/IPv4/TCP and
// Ethernet/IPv6/TCP paths) and the general path differ on fr, or "" when
// they agree: the same result and the same segment, its payload the same
// bytes at the same place.
func sameDecode(dec *Decoder, fr *Frame) (diff string, fast bool) {
	var a, b segment.Segment
	ra := dec.Decode(fr, &a)
	b = segment.Segment{Frame: fr.Number, Time: fr.Time} // as Decode starts
	rb := dec.general(fr, &b)
	fast = onePass(dec, fr)
	switch {
	case ra != rb:
		return "result " + ra.Kind.String() + " " + ra.Reason + " against " + rb.Kind.String() + " " + rb.Reason, fast
	case ra.Kind != KindTCP:
		return "", fast
	case !bytes.Equal(a.Payload, b.Payload) || len(a.Payload) > 0 && unsafe.SliceData(a.Payload) != unsafe.SliceData(b.Payload):
		return "payload", fast
	}
	a.Payload, b.Payload = nil, nil
	if !reflect.DeepEqual(a, b) {
		return "segment", fast
	}
	return "", fast
}

// onePass reports whether one of Decode's one-pass paths takes fr.
func onePass(dec *Decoder, fr *Frame) bool {
	try := func(l, et int) bool {
		return dec.etherTCP4(fr, new(segment.Segment), l, et) || dec.etherTCP6(fr, new(segment.Segment), l, et)
	}
	if fr.LinkType == LinkTypeEthernet && try(etherHeaderLen, etherHeaderLen-2) {
		return true // Decode's own
	}
	l, et := linkLayout(fr) // decode's
	return l != 0 && try(l, et)
}

// sll and sll2 frame payload, a packet of the given EtherType, in Linux
// cooked headers.
func sll(et uint16, payload []byte) []byte {
	return cat([]byte{0, 0, 0, 1, 0, 6}, macA, []byte{0, 0}, be16(et), payload)
}

func sll2(et uint16, payload []byte) []byte {
	return cat(be16(et), []byte{0, 0, 0, 0, 0, 2, 0, 1, 0, 6}, macA, []byte{0, 0}, payload)
}

// TestOnePassDecodeMatchesGeneral holds Decode's one-pass paths to the
// general path's results on frames near their edges: valid Ethernet/IPv4/TCP
// and Ethernet/IPv6/TCP frames, with and without VLAN tags, and the same in
// Linux cooked headers, with random bytes of their headers changed, cut
// short, or with wire lengths beyond what was captured, each decoded with
// and without checksum verification.
func TestOnePassDecodeMatchesGeneral(t *testing.T) {
	type base struct {
		lt uint16
		b  []byte
	}
	eth := [][]byte{
		simpleTCP4(nil),
		simpleTCP4([]byte("payload")),
		simpleTCP4(make([]byte, 1400)),
		ether(etherIPv4, tcp4([]byte("x"), []byte{optNOP, optNOP, optTimestamp, 10, 0, 0, 0, 1, 0, 0, 0, 2})),
		ether(etherIPv4, tcp4(nil, []byte{optMSS, 4, 5, 0xb4, optSACKPerm, 2, optWScale, 3, 7})),
		ether(etherIPv4, tcp4(nil, []byte{optSACK, 10, 0, 0, 0, 1, 0, 0, 0, 2})),
		ether(etherIPv4, ipv4(protoTCP, []byte{1, 1, 1, 1}, tcpSeg(1, 2, 3, 4, 0x10, nil, []byte("opts")))),
		vlanEther([]uint16{etherVLAN}, etherIPv4, tcp4([]byte("tag"), nil)),
		ether(etherIPv6, tcp6([]byte("six"), 0, nil)),
		ether(etherIPv6, tcp6(nil, 0, nil)),
		ether(etherIPv6, tcp6(make([]byte, 1400), 0, nil)),
		ether(etherIPv6, ipv6(protoTCP, tcpSeg(1, 2, 3, 4, 0x12, []byte{optMSS, 4, 5, 0xa0, optSACKPerm, 2, optWScale, 3, 7}, nil))),
		ether(etherIPv6, ipv6(protoTCP, tcpSeg(1, 2, 3, 4, 0x10, []byte{optNOP, optNOP, optTimestamp, 10, 0, 0, 0, 1, 0, 0, 0, 2}, []byte("ts")))),
		ether(etherIPv6, tcp6([]byte("ext"), protoDestOpts, []byte{protoTCP, 0, 1, 4, 0, 0, 0, 0})),
		vlanEther([]uint16{etherVLAN}, etherIPv4, tcp4(make([]byte, 600), []byte{optNOP, optNOP, optTimestamp, 10, 0, 0, 0, 1, 0, 0, 0, 2})),
		vlanEther([]uint16{etherQinQ}, etherIPv6, tcp6([]byte("tagged six"), 0, nil)),
		vlanEther([]uint16{etherQinQ, etherVLAN}, etherIPv4, tcp4([]byte("two tags"), nil)),
	}
	var bases []base
	for _, b := range eth {
		bases = append(bases, base{LinkTypeEthernet, b})
	}
	bases = append(bases,
		base{LinkTypeLinuxSLL, sll(etherIPv4, tcp4([]byte("any"), nil))},
		base{LinkTypeLinuxSLL, sll(etherIPv6, tcp6([]byte("any six"), 0, nil))},
		base{LinkTypeSLL2, sll2(etherIPv4, tcp4(make([]byte, 300), []byte{optNOP, optNOP, optTimestamp, 10, 0, 0, 0, 1, 0, 0, 0, 2}))},
		base{LinkTypeSLL2, sll2(etherIPv6, tcp6([]byte("cooked six"), 0, nil))},
		base{LinkTypeSLL2, sll2(etherVLAN, cat(be16(100), be16(etherIPv4), tcp4([]byte("tag"), nil)))},
	)
	// Every base takes a one-pass path but the ones with IPv4 options, an
	// IPv6 extension header, two tags, or a tag behind a cooked header.
	for i, b := range bases {
		fr := &Frame{Data: b.b, CapLen: len(b.b), OrigLen: len(b.b), LinkType: b.lt}
		if want := i != 6 && i != 13 && i != 16 && i != 21; onePass(NewDecoder(DecodeOptions{}), fr) != want {
			t.Fatalf("base %d takes a one-pass path: %v, want %v", i, !want, want)
		}
	}
	// Offsets worth changing: the EtherType, the IP version, IPv4's
	// length, total length, fragment field and protocol, IPv6's payload
	// length and next header, and the TCP header's offset and flags (after
	// IPv4's header and IPv6's), untagged and behind a tag; any byte of the
	// first 80 at other times. (The cooked headers' EtherTypes are at 14
	// and 0.)
	hot := []int{0, 1, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 29, 46, 47, 48, 49, 50, 51, 52, 53, 66, 67, 68, 69, 70, 71}
	r := rand.New(rand.NewPCG(19, 5))
	decs := []*Decoder{NewDecoder(DecodeOptions{}), NewDecoder(DecodeOptions{VerifyChecksums: true})}
	fast, n := 0, 0
	for i := 0; i < 200000; i++ {
		bs := bases[r.IntN(len(bases))]
		b := append([]byte(nil), bs.b...)
		for k := r.IntN(3); k > 0; k-- {
			off := r.IntN(min(len(b), 80))
			if r.IntN(2) == 0 {
				off = hot[r.IntN(len(hot))]
			}
			if off < len(b) {
				b[off] = byte(r.Uint32())
				if r.IntN(2) == 0 {
					b[off] = []byte{0, 1, 0x05, 0x06, 0x08, 0x20, 0x40, 0x45, 0x46, 0x50, 0xf0, 0xff}[r.IntN(12)]
				}
			}
		}
		if r.IntN(4) == 0 {
			b = b[:r.IntN(len(b)+1)]
		}
		orig := len(b)
		switch r.IntN(6) {
		case 0:
			orig += r.IntN(2000)
		case 1:
			orig -= r.IntN(len(b) + 1) // recorded shorter than captured
		case 2:
			orig = unknownWire + 14 + r.IntN(3) - 1
		}
		fr := &Frame{Data: b, CapLen: len(b), OrigLen: orig, LinkType: bs.lt, Number: uint64(i + 1), Time: int64(i), Pos: uint64(r.IntN(3)) << 20}
		for _, dec := range decs {
			diff, f := sameDecode(dec, fr)
			if diff != "" {
				t.Fatalf("frame %x (orig %d, checksums %v): %s", b, orig, dec.opt.VerifyChecksums, diff)
			}
			n++
			if f {
				fast++
			}
		}
	}
	// Both paths must have had their share, or the test proves little.
	if fast < n/4 || fast > n*3/4 {
		t.Fatalf("%d of %d frames took the fast path", fast, n)
	}
}
