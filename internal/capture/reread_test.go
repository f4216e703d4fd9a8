package capture

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// TestReadAtGivesFramesBack reads merged inputs of every format and checks
// that each frame of an uncompressed file has a position that ReadAt reads
// its bytes back from, while compressed input has none.
func TestReadAtGivesFramesBack(t *testing.T) {
	frame := func(b byte) []byte { return simpleTCP4(bytes.Repeat([]byte{b}, 40)) }
	le := binary.LittleEndian
	files := map[string][]byte{
		"a.pcap": pcapFile(le, false, 1, testRecord{sec: 1, data: frame('a')}, testRecord{sec: 4, data: frame('A')}),
		"b.pcapng": cat(ngSHB(le, 1, 0), ngIDB(le, 1, -1, 0),
			ngEPB(le, 0, 2_000_000, frame('b'), 0), ngSPB(le, frame('B')), ngPB(le, 0, 5_000_000, frame('p'))),
		"c.snoop":   snoopFile(frame('c')),
		"d.pcap.gz": gzipBytes(pcapFile(le, true, 1, testRecord{sec: 3, data: frame('d')})),
	}
	frames, s := readAll(t, files, []string{"a.pcap", "b.pcapng", "c.snoop", "d.pcap.gz"})
	dec := NewDecoder(DecodeOptions{})
	var seg segment.Segment
	byFile := map[string]int{}
	for i := range frames {
		f := &frames[i]
		name := f.File
		byFile[name]++
		if name == "d.pcap.gz" {
			if f.Pos != 0 {
				t.Errorf("%s record %d: position %#x in a compressed file", name, f.Record, f.Pos)
			}
			continue
		}
		if f.Pos == 0 {
			t.Errorf("%s record %d: no position", name, f.Record)
			continue
		}
		got := make([]byte, len(f.Data))
		if !s.ReadAt(f.Pos, got) || !bytes.Equal(got, f.Data) {
			t.Errorf("%s record %d: read back %x, want %x", name, f.Record, got, f.Data)
		}
		// The decoder places the payload by its position in the file.
		if r := dec.Decode(f, &seg); r.Kind != KindTCP || seg.PayloadPos == 0 {
			t.Fatalf("%s record %d: %v, payload position %#x", name, f.Record, r.Kind, seg.PayloadPos)
		}
		pay := make([]byte, len(seg.Payload))
		if !s.ReadAt(seg.PayloadPos, pay) || !bytes.Equal(pay, seg.Payload) {
			t.Errorf("%s record %d: payload read back %q, want %q", name, f.Record, pay, seg.Payload)
		}
	}
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	if byFile["a.pcap"] != 2 || byFile["b.pcapng"] != 3 || byFile["c.snoop"] != 1 || byFile["d.pcap.gz"] != 1 {
		t.Errorf("frames by file: %v", byFile)
	}
}

// openOne writes a capture of one frame, opens it and reads its frame; it
// returns the Source, the file's path and bytes, and the frame.
func openOne(t *testing.T) (*Source, string, []byte, *Frame) {
	t.Helper()
	data := pcapFile(binary.LittleEndian, false, 1, testRecord{sec: 1, data: simpleTCP4([]byte("first"))})
	name := writeFile(t, t.TempDir(), "a.pcap", data)
	s, err := Open([]string{name}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if !s.Next() {
		t.Fatal("no frame")
	}
	return s, name, data, s.Frame()
}

// TestReadAtRefusesAnotherFile checks that a file replaced under the same
// name after it was opened is not read, and that bad positions are refused.
func TestReadAtRefusesAnotherFile(t *testing.T) {
	s, name, data, f := openOne(t)
	pos := f.Pos
	buf := make([]byte, 4)
	for _, bad := range []uint64{0, 1, 7 << posOffsetBits} {
		if s.ReadAt(bad, buf) {
			t.Errorf("read at position %#x", bad)
		}
	}
	// Replace the file before anything is read again: a new inode under
	// the old name, with other bytes.
	if err := os.Remove(name); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Dir(name), "a.pcap", bytes.Repeat([]byte{0xee}, len(data)))
	if s.ReadAt(pos, buf) {
		t.Error("read a file that replaced the one analyzed")
	}
}

// TestReadAtKeepsTheFileItOpened checks that a file ReadAt has opened is read
// to the end even if it is removed, and that a read past its end fails.
func TestReadAtKeepsTheFileItOpened(t *testing.T) {
	s, name, data, f := openOne(t)
	want := bytes.Clone(f.Data)
	if s.ReadAt(f.Pos, make([]byte, len(data))) {
		t.Error("read past the end of the file")
	}
	if err := os.Remove(name); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if !s.ReadAt(f.Pos, got) || !bytes.Equal(got, want) {
		t.Errorf("read back %x from the removed file, want %x", got, want)
	}
}
