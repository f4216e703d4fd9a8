package capture

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// FuzzOpen feeds arbitrary bytes as a whole capture file and checks that
// reading and decoding never panic and keep their invariants.
func FuzzOpen(f *testing.F) {
	frame := simpleTCP4([]byte("data"))
	le := binary.LittleEndian
	f.Add(pcapFile(le, false, 1, testRecord{sec: 1, data: frame}, testRecord{sec: 2, data: frame[:30], origLen: 90}))
	f.Add(pcapFile(binary.BigEndian, true, 101, testRecord{sec: 1, frac: 2e9, data: frame[14:]}))
	f.Add(cat(ngSHB(le, 1, 0), ngIDB(le, 1, 0x80|20, 5), ngEPB(le, 0, 99, frame, 0), ngSPB(le, frame), ngPB(le, 0, 1, frame)))
	f.Add(gzipBytes(pcapFile(le, false, 1, testRecord{sec: 1, data: frame})))
	f.Add(zstdBytes(pcapFile(le, false, 1, testRecord{sec: 1, data: frame})))
	f.Add([]byte("snoop\x00\x00\x00"))
	dec := NewDecoder(DecodeOptions{VerifyChecksums: true})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := OpenReader(bytes.NewReader(b), "fuzz", Options{MaxCapLen: 1 << 16})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		defer s.Close()
		// In an uncompressed file a frame's bytes lie at its DataOffset
		// (which ReadAt reads them again by).
		plain := !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) && !bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd})
		var seg segment.Segment
		var last uint64
		for s.Next() {
			fr := s.Frame()
			if fr.Number != last+1 || fr.Record != fr.Number || fr.CapLen != len(fr.Data) || fr.OrigLen < fr.CapLen || fr.Offset < 0 {
				t.Fatalf("bad frame %+v after %d", *fr, last)
			}
			if plain && (fr.DataOffset <= fr.Offset || fr.DataOffset+int64(len(fr.Data)) > int64(len(b)) ||
				!bytes.Equal(b[fr.DataOffset:fr.DataOffset+int64(len(fr.Data))], fr.Data)) {
				t.Fatalf("frame %d: data not at offset %d (record at %d)", fr.Number, fr.DataOffset, fr.Offset)
			}
			last = fr.Number
			checkDecode(t, dec, fr, &seg)
		}
		for _, p := range s.Problems() {
			if p.Msg == "" {
				t.Fatalf("empty problem %+v", p)
			}
		}
	})
}

// FuzzDecode decodes arbitrary frames of a given link type.
func FuzzDecode(f *testing.F) {
	pl := []byte("abc")
	f.Add(uint16(1), simpleTCP4(pl), 0)
	f.Add(uint16(1), vlanEther([]uint16{etherQinQ, etherVLAN}, etherIPv6, tcp6(pl, protoFragment, []byte{protoTCP, 0, 0, 0, 0, 0, 0, 1})), 0)
	f.Add(uint16(1), ether(etherMPLS, cat([]byte{0, 1, 1, 64}, tcp4(pl, []byte{optSACK, 10, 0, 0, 0, 1, 0, 0, 0, 2}))), 0)
	f.Add(uint16(1), ether(etherIPv4, ipv4(protoGRE, nil, cat(be16(0x2000), be16(etherTEB), make([]byte, 4), simpleTCP4(pl)))), 0)
	f.Add(uint16(1), ether(etherIPv4, ipv4(protoUDP, nil, udpDgram(3544, 1, cat([]byte{0, 1, 0, 0}, make([]byte, 9), tcp6(pl, 0, nil))))), 0)
	f.Add(uint16(1), ether(etherPPPoE, cat([]byte{0x11, 0, 0, 1, 0, 40}, be16(0x57), tcp6(pl, 0, nil))), 0)
	f.Add(uint16(113), cat(make([]byte, 14), be16(etherIPv4), tcp4(pl, nil)), 0)
	f.Add(uint16(276), cat(be16(etherIPv6), make([]byte, 18), tcp6(pl, protoHopByHop, []byte{protoTCP, 0, 0, 0, 0, 0, 0, 0})), 0)
	f.Add(uint16(0), cat([]byte{2, 0, 0, 0}, tcp4(pl, nil)), 10)
	f.Add(uint16(108), cat([]byte{0, 0, 0, 30}, tcp6(pl, 0, nil)), 0)
	f.Add(uint16(239), cat([]byte{2, 0, 0, 0}, []byte{byte(4 + len(tcp4(pl, nil))), 0, 9, 0}, tcp4(pl, nil)), 0)
	f.Add(uint16(101), ipv4(protoIPIP, nil, ipv4(protoIPv6, nil, tcp6(pl, 0, nil))), 0)
	dec := NewDecoder(DecodeOptions{VerifyChecksums: true})
	f.Fuzz(func(t *testing.T, lt uint16, data []byte, extra int) {
		if extra < 0 || extra > 1<<20 {
			extra = 0
		}
		fr := &Frame{Data: data, CapLen: len(data), OrigLen: len(data) + extra, LinkType: lt, Number: 1}
		var seg segment.Segment
		checkDecode(t, dec, fr, &seg)
		if diff, _ := sameDecode(dec, fr); diff != "" {
			t.Fatalf("fast and general paths differ: %s", diff)
		}
	})
}

func checkDecode(t *testing.T, dec *Decoder, fr *Frame, seg *segment.Segment) {
	t.Helper()
	r := dec.Decode(fr, seg)
	if r.Kind >= numKinds {
		t.Fatalf("bad kind %d", r.Kind)
	}
	switch r.Kind {
	case KindMalformed, KindUnsupportedLink, KindOtherLink, KindOtherIP:
		if r.Reason == "" {
			t.Fatalf("%v without a reason", r.Kind)
		}
	case KindTCP:
		if seg.PayloadLen < 0 || len(seg.Payload) > seg.PayloadLen {
			t.Fatalf("payload %d of %d", len(seg.Payload), seg.PayloadLen)
		}
		if seg.Opts.NumSACK > 4 {
			t.Fatalf("%d SACK blocks", seg.Opts.NumSACK)
		}
		if seg.ChecksumChecked && len(seg.Payload) != seg.PayloadLen {
			t.Fatal("checksum checked on a partial segment")
		}
		if !seg.Src.Addr().IsValid() || !seg.Dst.Addr().IsValid() {
			t.Fatal("TCP without addresses")
		}
	}
}
