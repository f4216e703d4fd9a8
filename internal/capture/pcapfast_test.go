package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// slowPathReader is a recordReader whose next has a fast path, and its
// slow path alone.
type slowPathReader interface {
	recordReader
	nextSlow(*Frame) error
}

// fastMatchesSlow reads the capture b through a buffer of size bytes twice,
// opened by open: with next, and with nextSlow alone. It fails t, naming
// what, unless each step (a frame or the error that ends the reading) and
// each warning is the same, and returns the frames read.
func fastMatchesSlow(t *testing.T, what string, b []byte, size int, open func(*bufReader, warnFunc) (slowPathReader, error)) int {
	t.Helper()
	read := func(slow bool) (steps, warns []string) {
		in := newBufReader(bytes.NewReader(b), size)
		r, err := open(in, func(rec uint64, off int64, msg string) {
			warns = append(warns, fmt.Sprintf("%d@%d %s", rec, off, msg))
		})
		if err != nil {
			return []string{"open: " + err.Error()}, warns
		}
		for {
			var f Frame
			if slow {
				err = r.nextSlow(&f)
			} else {
				err = r.next(&f)
			}
			if err != nil {
				return append(steps, err.Error()), warns
			}
			steps = append(steps, fmt.Sprintf("%x cap %d orig %d t %d link %d %s rec %d off %d data %d pos %d n %d %v",
				f.Data, f.CapLen, f.OrigLen, f.Time, f.LinkType, f.File, f.Record, f.Offset, f.DataOffset, f.Pos, f.Number, f.Stable))
		}
	}
	fast, fastWarns := read(false)
	slow, slowWarns := read(true)
	if fmt.Sprint(fast) != fmt.Sprint(slow) || fmt.Sprint(fastWarns) != fmt.Sprint(slowWarns) {
		t.Fatalf("%s (buffer %d): fast path\n%q\n%q\nslow path\n%q\n%q", what, size, fast, fastWarns, slow, slowWarns)
	}
	return len(fast) - 1
}

// openPcap opens a pcap file for fastMatchesSlow.
func openPcap(limit int) func(*bufReader, warnFunc) (slowPathReader, error) {
	return func(in *bufReader, warn warnFunc) (slowPathReader, error) {
		r, err := newPcapReader(in, "f.pcap", Options{MaxCapLen: limit}, warn)
		if err != nil {
			return nil, err
		}
		return r, nil
	}
}

// randomPcap returns a random pcap file whose records test the reader's
// edges: both byte orders and both timestamp units, captured lengths beyond
// the original length or limit, sub-second fields out of range, and, one
// time in three, a file cut short anywhere. The records' seconds start at
// sec0 and rise.
func randomPcap(r *rand.Rand, limit int, sec0 uint32) []byte {
	var order binOrder = binary.LittleEndian
	if r.IntN(2) == 0 {
		order = binary.BigEndian
	}
	nano := r.IntN(2) == 0
	b := pcapFile(order, nano, 1)
	for i := range 1 + r.IntN(40) {
		capLen := uint32(r.IntN(limit))
		origLen := capLen + uint32(r.IntN(3)*r.IntN(100))
		frac := uint32(r.IntN(1e6))
		switch r.IntN(12) {
		case 0:
			origLen = capLen - uint32(r.IntN(int(capLen)+1)) // may be below capLen
		case 1:
			capLen = uint32(limit + r.IntN(5)) // beyond the limit: the file stops
		case 2:
			frac = 1e9 + uint32(r.IntN(10)) // out of range in either unit
		case 3:
			frac = 1e6 + uint32(r.IntN(1e6)) // out of range for microseconds only
		}
		b = order.AppendUint32(b, sec0+uint32(i))
		b = order.AppendUint32(b, frac)
		b = order.AppendUint32(b, capLen)
		b = order.AppendUint32(b, origLen)
		for range min(int(capLen), limit+8) {
			b = append(b, byte(r.IntN(256)))
		}
	}
	if r.IntN(3) == 0 {
		b = b[:pcapFileHeaderLen+r.IntN(len(b)-pcapFileHeaderLen+1)]
	}
	return b
}

// TestPcapFastPathMatchesSlow holds pcapReader.next's fast path to the
// field-by-field path on random files (randomPcap), read through small
// buffers that records straddle. Every frame, error and warning must be
// the same.
func TestPcapFastPathMatchesSlow(t *testing.T) {
	const limit = 300
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 11))
		b := randomPcap(r, limit, 1)
		fastMatchesSlow(t, fmt.Sprintf("seed %d", seed), b, 16+r.IntN(600), openPcap(limit))
	}
}

// readSource reads every frame of the files names and returns each frame
// of the file first as text, then the problems, then the error.
func readSource(t *testing.T, names []string, limit int) []string {
	t.Helper()
	s, err := Open(names, Options{MaxCapLen: limit})
	if err != nil {
		return []string{"open: " + err.Error()}
	}
	defer s.Close()
	var out []string
	for s.Next() {
		if f := s.Frame(); f.File == names[0] {
			out = append(out, fmt.Sprintf("%d %x cap %d orig %d t %d rec %d off %d data %d pos %d",
				f.Number, f.Data, f.CapLen, f.OrigLen, f.Time, f.Record, f.Offset, f.DataOffset, f.Pos))
		}
	}
	for _, p := range s.Problems() {
		if p.File == names[0] {
			out = append(out, p.Error())
		}
	}
	if err := s.Err(); err != nil {
		out = append(out, "err: "+err.Error())
	}
	return out
}

// TestSingleInputMatchesMerge holds Source.Next's path for one input to the
// merging path: a random file (randomPcap) read alone must give the frames,
// numbers and problems it gives when read with a second file whose frames
// all come after it, which keeps the merge's heap in use while the first is
// read.
func TestSingleInputMatchesMerge(t *testing.T) {
	const limit = 300
	dir := t.TempDir()
	later := filepath.Join(dir, "later.pcap")
	frame := simpleTCP4([]byte("x"))
	if err := os.WriteFile(later, pcapFile(binary.LittleEndian, false, 1, testRecord{sec: 1 << 30, data: frame}), 0o600); err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(100) {
		r := rand.New(rand.NewPCG(seed, 12))
		name := filepath.Join(dir, fmt.Sprintf("%d.pcap", seed))
		if err := os.WriteFile(name, randomPcap(r, limit, 1), 0o600); err != nil {
			t.Fatal(err)
		}
		alone := readSource(t, []string{name}, limit)
		merged := readSource(t, []string{name, later}, limit)
		if fmt.Sprint(alone) != fmt.Sprint(merged) {
			t.Fatalf("seed %d: alone\n%q\nmerged\n%q", seed, alone, merged)
		}
	}
}

// FuzzPcapFastPathMatchesSlow is TestPcapFastPathMatchesSlow on arbitrary
// record bytes behind a pcap file header of either byte order and unit,
// read through a buffer of the given size.
func FuzzPcapFastPathMatchesSlow(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 4 {
		b := randomPcap(r, 300, 1)
		f.Add(b[pcapFileHeaderLen:], uint8(i), uint16(64+i*100))
	}
	f.Fuzz(func(t *testing.T, recs []byte, kind uint8, size uint16) {
		var order binOrder = binary.LittleEndian
		if kind&1 != 0 {
			order = binary.BigEndian
		}
		b := append(pcapFile(order, kind&2 != 0, 1), recs...)
		fastMatchesSlow(t, "fuzz input", b, 16+int(size%2048), openPcap(300))
	})
}
