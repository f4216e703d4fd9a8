package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// snoopFile builds a snoop capture: version 2, Ethernet, and one record per
// packet, padded to a multiple of 4 as snoop writes them.
func snoopFile(pkts ...[]byte) []byte {
	b := []byte("snoop\x00\x00\x00")
	b = binary.BigEndian.AppendUint32(b, 2)
	b = binary.BigEndian.AppendUint32(b, 4)
	for i, p := range pkts {
		pad := (4 - len(p)%4) % 4
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)+10)) // original length
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))    // included length
		b = binary.BigEndian.AppendUint32(b, uint32(24+len(p)+pad))
		b = binary.BigEndian.AppendUint32(b, 0)
		b = binary.BigEndian.AppendUint32(b, uint32(1000+i))
		b = binary.BigEndian.AppendUint32(b, 500)
		b = append(b, p...)
		b = append(b, make([]byte, pad)...)
	}
	return b
}

func TestSnoopReader(t *testing.T) {
	a, b := bytes.Repeat([]byte{0xaa}, 61), bytes.Repeat([]byte{0xbb}, 64)
	file := snoopFile(a, b)
	src, err := OpenReader(bytes.NewReader(file), "t.snoop", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for src.Next() {
		f := src.Frame()
		if f.LinkType != LinkTypeEthernet || f.OrigLen != f.CapLen+10 || f.Time != int64(1000+len(got))*1e9+500e3 {
			t.Errorf("frame %d: link %d orig %d cap %d time %d", f.Number, f.LinkType, f.OrigLen, f.CapLen, f.Time)
		}
		got = append(got, bytes.Clone(f.Data))
	}
	if src.Err() != nil || len(got) != 2 || !bytes.Equal(got[0], a) || !bytes.Equal(got[1], b) {
		t.Fatalf("err %v, frames %d", src.Err(), len(got))
	}

	// Cut in the middle of the second packet: a warning, the first frame kept.
	src, err = OpenReader(bytes.NewReader(file[:len(file)-30]), "cut.snoop", Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for src.Next() {
		n++
	}
	ps := src.Problems()
	if n != 1 || src.Err() != nil || len(ps) != 1 || !errors.Is(ps[0].Err, ErrCutShort) {
		t.Fatalf("cut file: %d frames, err %v, problems %v", n, src.Err(), ps)
	}

	// A record length shorter than its header is corrupt.
	bad := bytes.Clone(file)
	binary.BigEndian.PutUint32(bad[16+8:], 10)
	src, _ = OpenReader(bytes.NewReader(bad), "bad.snoop", Options{})
	for src.Next() {
	}
	if !errors.Is(src.Err(), ErrCorrupt) {
		t.Fatalf("corrupt record: err %v", src.Err())
	}
}
