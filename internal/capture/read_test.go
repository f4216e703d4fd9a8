package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readAll opens the given file contents (written to a temp dir under the given
// names) and returns the frames (copied) and the source after the end.
func readAll(t *testing.T, files map[string][]byte, order []string) ([]Frame, *Source) {
	t.Helper()
	dir := t.TempDir()
	var names []string
	for _, n := range order {
		names = append(names, writeFile(t, dir, n, files[n]))
	}
	s, err := Open(names, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	var out []Frame
	for s.Next() {
		f := *s.Frame()
		f.Data = bytes.Clone(f.Data)
		f.File = filepath.Base(f.File)
		out = append(out, f)
	}
	return out, s
}

// writeFile writes data to the file name in dir and returns its path.
func writeFile(tb testing.TB, dir, name string, data []byte) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestPcapVariants(t *testing.T) {
	frame := simpleTCP4([]byte("hello"))
	for _, tc := range []struct {
		name  string
		order binOrder
		nano  bool
		frac  uint32
		want  int64
	}{
		{"micro-le", binary.LittleEndian, false, 250000, 1700000000*1e9 + 250000000},
		{"micro-be", binary.BigEndian, false, 1, 1700000000*1e9 + 1000},
		{"nano-le", binary.LittleEndian, true, 123456789, 1700000000*1e9 + 123456789},
		{"nano-be", binary.BigEndian, true, 5, 1700000000*1e9 + 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := pcapFile(tc.order, tc.nano, 1, testRecord{sec: 1700000000, frac: tc.frac, data: frame, origLen: 1000},
				testRecord{sec: 1700000001, data: frame[:20]})
			got, s := readAll(t, map[string][]byte{"a.pcap": file}, []string{"a.pcap"})
			if s.Err() != nil || len(s.Problems()) != 0 {
				t.Fatalf("err %v problems %v", s.Err(), s.Problems())
			}
			if len(got) != 2 {
				t.Fatalf("%d frames", len(got))
			}
			f := got[0]
			if f.Time != tc.want || f.CapLen != len(frame) || f.OrigLen != 1000 || f.LinkType != 1 ||
				f.Record != 1 || f.Offset != 24 || f.Number != 1 || !bytes.Equal(f.Data, frame) || f.File != "a.pcap" {
				t.Errorf("frame 1 = %+v", f)
			}
			if g := got[1]; g.Record != 2 || g.Offset != int64(24+16+len(frame)) || g.CapLen != 20 || g.Number != 2 {
				t.Errorf("frame 2 = %+v", g)
			}
		})
	}
}

func TestPcapProblems(t *testing.T) {
	frame := simpleTCP4(nil)
	good := testRecord{sec: 1, data: frame}
	t.Run("cut short", func(t *testing.T) {
		file := pcapFile(binary.LittleEndian, false, 1, good, good, good)
		file = file[:len(file)-10]
		got, s := readAll(t, map[string][]byte{"cut.pcap": file, "b.pcap": pcapFile(binary.LittleEndian, false, 1, good)}, []string{"cut.pcap", "b.pcap"})
		if len(got) != 3 || s.Err() != nil {
			t.Fatalf("%d frames, err %v", len(got), s.Err())
		}
		ps := s.Problems()
		if len(ps) != 1 || ps[0].Fatal || ps[0].Record != 3 ||
			!strings.Contains(ps[0].Error(), "cut.pcap: record 3 at offset ") ||
			!strings.Contains(ps[0].Msg, "cut short in the middle of the record: "+itoa(16+len(frame)-10)+" of "+itoa(16+len(frame))+" bytes") {
			t.Errorf("problems %v", ps)
		}
	})
	t.Run("corrupt caplen", func(t *testing.T) {
		file := pcapFile(binary.LittleEndian, false, 1, good, good)
		binary.LittleEndian.PutUint32(file[24+16+len(frame)+8:], 4194304)
		got, s := readAll(t, map[string][]byte{"bad.pcap": file}, []string{"bad.pcap"})
		if len(got) != 1 {
			t.Fatalf("%d frames", len(got))
		}
		err := s.Err()
		var ie *InputError
		if !errors.As(err, &ie) || !errors.Is(err, ErrCorrupt) ||
			!strings.HasSuffix(err.Error(), "bad.pcap: record 2 at offset "+itoa(24+16+len(frame))+": captured length 4194304 exceeds the limit 262144") {
			t.Errorf("err = %v", err)
		}
		if ps := s.Problems(); len(ps) != 1 || !ps[0].Fatal {
			t.Errorf("problems %v", ps)
		}
	})
	t.Run("warnings", func(t *testing.T) {
		file := pcapFile(binary.LittleEndian, true, 1, testRecord{sec: 1, frac: 1e9, data: frame},
			testRecord{sec: 1, data: frame, origLen: 10})
		got, s := readAll(t, map[string][]byte{"w.pcap": file}, []string{"w.pcap"})
		if len(got) != 2 || s.Err() != nil {
			t.Fatalf("%d frames err %v", len(got), s.Err())
		}
		ps := s.Problems()
		if len(ps) != 2 || ps[0].Fatal || !strings.Contains(ps[0].Msg, "invalid sub-second") ||
			!strings.Contains(ps[1].Msg, "exceeds original length") {
			t.Errorf("problems %v", ps)
		}
		if got[1].OrigLen != len(frame) {
			t.Errorf("origlen %d", got[1].OrigLen)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	ng2 := ngSHB(binary.LittleEndian, 2, 0)
	for _, tc := range []struct {
		name, path, want string
		is               error
	}{
		{"missing", filepath.Join(dir, "nope.pcap"), "nope.pcap: cannot open: no such file or directory", os.ErrNotExist},
		{"snoop header cut", write("x.snoop", []byte("snoop\x00\x00\x00\x00\x00\x00\x02")), "snoop file header cut short", ErrCutShort},
		{"snoop version 1", write("v1.snoop", []byte("snoop\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x04")), "unsupported snoop version 1", ErrUnsupported},
		{"snoop token ring", write("tr.snoop", []byte("snoop\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x02")), "unsupported snoop datalink type 2", ErrUnsupported},
		{"text", write("x.txt", []byte("hello world")), "not a capture file (first bytes 0x68656c6c6f20776f)", ErrNotCapture},
		{"empty", write("e.pcap", nil), "not a capture file (empty)", ErrNotCapture},
		{"pcapng v2", write("v2.pcapng", ng2), "unsupported pcapng version 2.0", ErrUnsupported},
		{"short pcap header", write("s.pcap", pcapFile(binary.LittleEndian, false, 1)[:10]), "pcap file header cut short", ErrCutShort},
		{"dir", dir, "is a directory", ErrNotCapture},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open([]string{tc.path}, Options{})
			var ie *InputError
			if err == nil || !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), tc.path) {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
}

func TestPcapng(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	eth := simpleTCP4([]byte("x"))
	raw := eth[14:]
	file := cat(
		ngSHB(le, 1, 0),
		ngIDB(le, 1, -1, 0),             // Ethernet, microseconds
		ngIDB(le, 101, 9, 0),            // raw IP, nanoseconds
		ngIDB(le, 1, 0x80|10, 100),      // 2^-10 s, offset 100 s
		ngBlock(le, 4, make([]byte, 8)), // NRB: skipped
		ngEPB(le, 0, 1_000_000, eth, 0),
		ngBlock(le, 5, make([]byte, 16)), // ISB: skipped
		ngEPB(le, 1, 2_500_000_000, raw, 1500),
		ngEPB(le, 2, 1024*3, eth, 0),
		ngBlock(le, 0x00000BAD, make([]byte, 12)), // custom
		ngSPB(le, eth),
		ngPB(le, 1, 4_000_000_000, raw),
		// a second section, big-endian, with its own interfaces
		ngSHB(be, 1, 0),
		ngIDB(be, 113, 6, 0),
		ngEPB(be, 0, 5_000_000, cat(make([]byte, 14), be16(etherIPv4), raw), 0),
	)
	got, s := readAll(t, map[string][]byte{"a.pcapng": file}, []string{"a.pcapng"})
	if s.Err() != nil || len(s.Problems()) != 0 {
		t.Fatalf("err %v problems %v", s.Err(), s.Problems())
	}
	type want struct {
		lt      uint16
		time    int64
		origLen int
	}
	// Merged output is in time order, so check by record number.
	wants := map[uint64]want{
		1: {1, 1e9, len(eth)},
		2: {101, 2_500_000_000, 1500},
		3: {1, 103e9, len(eth)},
		4: {1, 103e9, len(eth)}, // SPB: no timestamp, takes the previous one
		5: {101, 4e9, len(raw)},
		6: {113, 5e9, 16 + len(raw)},
	}
	if len(got) != len(wants) {
		t.Fatalf("%d frames", len(got))
	}
	dec := NewDecoder(DecodeOptions{VerifyChecksums: true})
	for _, f := range got {
		w := wants[f.Record]
		if f.LinkType != w.lt || f.Time != w.time || f.OrigLen != w.origLen {
			t.Errorf("record %d: lt %d time %d orig %d, want %+v", f.Record, f.LinkType, f.Time, f.OrigLen, w)
		}
		var seg = newSeg()
		if r := dec.Decode(&f, seg); r.Kind != KindTCP || seg.BadChecksum {
			t.Errorf("record %d: %v %s bad=%v", f.Record, r.Kind, r.Reason, seg.BadChecksum)
		}
	}
	// Corruptions.
	t.Run("bad interface", func(t *testing.T) {
		bad := cat(ngSHB(le, 1, 0), ngIDB(le, 1, -1, 0), ngEPB(le, 3, 0, eth, 0))
		_, s := readAll(t, map[string][]byte{"b.pcapng": bad}, []string{"b.pcapng"})
		if err := s.Err(); err == nil || !strings.Contains(err.Error(), "record 1 at offset 52: packet refers to interface 3") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("bad trailer", func(t *testing.T) {
		bad := cat(ngSHB(le, 1, 0), ngIDB(le, 1, -1, 0), ngEPB(le, 0, 0, eth, 0))
		bad[len(bad)-1] = 0x7f
		_, s := readAll(t, map[string][]byte{"b.pcapng": bad}, []string{"b.pcapng"})
		if err := s.Err(); err == nil || !strings.Contains(err.Error(), "does not match its trailing copy") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("cut short", func(t *testing.T) {
		bad := cat(ngSHB(le, 1, 0), ngIDB(le, 1, -1, 0), ngEPB(le, 0, 0, eth, 0), ngEPB(le, 0, 0, eth, 0))
		bad = bad[:len(bad)-5]
		got, s := readAll(t, map[string][]byte{"c.pcapng": bad}, []string{"c.pcapng"})
		ps := s.Problems()
		if len(got) != 1 || s.Err() != nil || len(ps) != 1 || ps[0].Fatal || ps[0].Record != 2 || !strings.Contains(ps[0].Msg, "cut short") {
			t.Errorf("%d frames, err %v, problems %v", len(got), s.Err(), ps)
		}
	})
	t.Run("version 2 in second section", func(t *testing.T) {
		bad := cat(ngSHB(le, 1, 0), ngIDB(le, 1, -1, 0), ngEPB(le, 0, 0, eth, 0), ngSHB(le, 2, 0))
		got, s := readAll(t, map[string][]byte{"d.pcapng": bad}, []string{"d.pcapng"})
		if len(got) != 1 || s.Err() == nil || !errors.Is(s.Err(), ErrUnsupported) || !strings.Contains(s.Err().Error(), "unsupported pcapng version 2.0") {
			t.Errorf("%d frames, err %v", len(got), s.Err())
		}
	})
}

func TestGzipAndMerge(t *testing.T) {
	frame := simpleTCP4(nil)
	a := pcapFile(binary.LittleEndian, false, 1, testRecord{sec: 1, data: frame}, testRecord{sec: 3, data: frame}, testRecord{sec: 3, data: frame})
	b := pcapFile(binary.BigEndian, true, 1, testRecord{sec: 2, data: frame}, testRecord{sec: 3, data: frame}, testRecord{sec: 0, data: frame})
	ng := cat(ngSHB(binary.LittleEndian, 1, 0), ngIDB(binary.LittleEndian, 1, -1, 0), ngEPB(binary.LittleEndian, 0, 2_500_000, frame, 0))
	got, s := readAll(t, map[string][]byte{"a.pcap.gz": gzipBytes(a), "b.pcap": b, "c": gzipBytes(ng)},
		[]string{"a.pcap.gz", "b.pcap", "c"})
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	var seq []string
	for i, f := range got {
		if f.Number != uint64(i+1) {
			t.Errorf("number %d at %d", f.Number, i)
		}
		seq = append(seq, f.File[:1]+itoa(int(f.Record)))
	}
	// Ties (time 3) go to the earlier file; b's late record 3 (time 0) keeps
	// its place within b, as mergecap does.
	if got, want := strings.Join(seq, " "), "a1 b1 c1 a2 a3 b2 b3"; got != want {
		t.Errorf("merge order %q, want %q", got, want)
	}
	if got[1].Offset != 24 {
		t.Errorf("offset in decompressed file = %d", got[1].Offset)
	}
}

// TestStdin: standard input is read, and its frames have no position,
// since it cannot be read again (Source.ReadAt).
func TestStdin(t *testing.T) {
	file := pcapFile(binary.LittleEndian, false, 1, testRecord{sec: 1, data: simpleTCP4(nil)})
	s, err := Open([]string{"-"}, Options{Stdin: bytes.NewReader(file)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Next() || s.Frame().File != "stdin" {
		t.Fatalf("stdin read failed: %v", s.Err())
	}
	if s.Frame().Pos != 0 {
		t.Errorf("position %#x on standard input", s.Frame().Pos)
	}
	if s.Next() || s.Err() != nil {
		t.Errorf("more than the one frame on stdin: %v", s.Err())
	}
}

// keepPool is a BufferPool that never lends a buffer twice and counts what
// it lent and took back.
type keepPool struct{ lent, retired int }

func (p *keepPool) Buffer(n int) []byte { p.lent++; return make([]byte, n) }
func (p *keepPool) Retire([]byte)       { p.retired++ }

// TestStableFrames reads merged pcap, gzip and pcapng inputs with frames
// bigger than the read buffer in places, keeping every frame's Data without
// a copy: with Options.Buffers the frames stay as they were read (the
// readers move to new buffers instead of moving bytes over old frames).
func TestStableFrames(t *testing.T) {
	var recsA, recsB []testRecord
	for i := range 3000 {
		size := 60 + i%1400
		if i%500 == 0 {
			size = 200_000 // forces the buffer to grow
		}
		data := simpleTCP4(bytes.Repeat([]byte{byte(i)}, size))
		recsA = append(recsA, testRecord{sec: uint32(2 * i), data: data})
		recsB = append(recsB, testRecord{sec: uint32(2*i + 1), data: data})
	}
	a := pcapFile(binary.LittleEndian, false, 1, recsA...)
	b := gzipBytes(pcapFile(binary.BigEndian, true, 1, recsB...))
	want, _ := readAll(t, map[string][]byte{"a.pcap": a, "b.pcap.gz": b}, []string{"a.pcap", "b.pcap.gz"})

	dir := t.TempDir()
	names := []string{filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap.gz")}
	for i, d := range [][]byte{a, b} {
		if err := os.WriteFile(names[i], d, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pool := &keepPool{}
	s, err := Open(names, Options{Buffers: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var kept [][]byte
	for s.Next() {
		f := s.Frame()
		if !f.Stable {
			t.Fatal("frame not marked stable")
		}
		kept = append(kept, f.Data)
	}
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	if len(kept) != len(want) {
		t.Fatalf("%d frames, want %d", len(kept), len(want))
	}
	for i := range kept {
		if !bytes.Equal(kept[i], want[i].Data) {
			t.Fatalf("frame %d changed after later reads", i+1)
		}
	}
	if pool.lent == 0 || pool.retired == 0 {
		t.Errorf("the pool lent %d and took back %d buffers", pool.lent, pool.retired)
	}
}

// countingReader counts the Read calls made on it.
type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

// TestSourceReadsInLargeChunks: a file is read a megabyte at a time, whole
// or gzip-compressed (each read is a system call; 256 KiB reads cost about
// 3 % of a one-core run on the machine of docs/performance.md), while
// buffers lent by a pool keep the size the pipeline's bounds are made for.
func TestSourceReadsInLargeChunks(t *testing.T) {
	file := benchPcap(8000) // about 6 MB
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.NoCompression) // as large as the file
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(file); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{{"pcap", file}, {"gzip", gz.Bytes()}} {
		t.Run(tc.name, func(t *testing.T) {
			cr := &countingReader{r: bytes.NewReader(tc.data)}
			s, err := OpenReader(cr, "mem", Options{})
			if err != nil {
				t.Fatal(err)
			}
			frames := countFrames(s)
			if s.Err() != nil || frames != 8000 {
				t.Fatalf("%d frames, error %v", frames, s.Err())
			}
			// Whole megabytes, and one more read for the end of the input.
			if max := len(tc.data)/(1<<20) + 2; cr.reads > max {
				t.Errorf("%d reads of a %d-byte file, want at most %d", cr.reads, len(tc.data), max)
			}
		})
	}
	p := &countPool{}
	s, err := OpenReader(bytes.NewReader(file), "mem", Options{Buffers: p})
	if err != nil {
		t.Fatal(err)
	}
	for s.Next() {
	}
	// TestPipelineLendsFewBuffers bounds the pipeline's buffers in number,
	// for buffers of 256 KiB.
	if p.largest == 0 || p.largest > 256<<10 {
		t.Errorf("the pool was asked for buffers of %d bytes, want 256 KiB", p.largest)
	}
}

// countPool lends fresh buffers and remembers the largest asked for.
type countPool struct{ largest int }

func (p *countPool) Buffer(n int) []byte {
	p.largest = max(p.largest, n)
	return make([]byte, n)
}

func (p *countPool) Retire([]byte) {}

// TestBufSizeFor: one to four files read together get a megabyte each;
// more share 4 MiB, never below the 256 KiB each had before (a hundred
// rotated files then take 25 MiB, not 100); a pool's buffers stay 256 KiB.
func TestBufSizeFor(t *testing.T) {
	for _, tt := range []struct {
		inputs int
		pool   bool
		want   int
	}{
		{1, false, 1 << 20},
		{4, false, 1 << 20},
		{8, false, 512 << 10},
		{16, false, 256 << 10},
		{100, false, 256 << 10},
		{1, true, 256 << 10},
	} {
		opt := Options{}
		if tt.pool {
			opt.Buffers = &countPool{}
		}
		if got := bufSizeFor(tt.inputs, opt); got != tt.want {
			t.Errorf("%d inputs (pool %v): %d bytes each, want %d", tt.inputs, tt.pool, got, tt.want)
		}
	}
	// Files merged in time overlap are opened as their frames come due,
	// each with the share of the files open then.
	dir := t.TempDir()
	var names []string
	for i := range 8 {
		names = append(names, writeFile(t, dir, fmt.Sprintf("part%d.pcap", i), benchPcap(10)))
	}
	s, err := Open(names, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 8 { // the first frame of each file, all at one time
		if !s.Next() {
			t.Fatal(s.Err())
		}
	}
	for i, in := range s.inputs {
		if got, want := len(in.rd.(*pcapReader).in.buf), bufSizeFor(i+1, Options{}); got != want {
			t.Errorf("input %d of 8 reads into %d bytes, want %d", i, got, want)
		}
	}
}

// TestRotatedFiles: files that follow one another in time, as tcpdump -C
// and -G write them, plain, gzip- and zstd-compressed, are open one at a
// time, each with a whole buffer, and closed as soon as they end; their
// frames come as from one file, and a file's warnings once, when it is
// read.
func TestRotatedFiles(t *testing.T) {
	frame := simpleTCP4(nil)
	dir := t.TempDir()
	var names []string
	const files, per = 40, 5
	parts := rotatedParts(files, per, func(i int) []testRecord {
		if i == 7 {
			return []testRecord{{sec: uint32(1000 + i*per + per - 1), data: frame[:10], origLen: 5}} // a warning
		}
		return nil
	})
	for i, b := range parts {
		names = append(names, writeFile(t, dir, fmt.Sprintf("rot%02d.pcap", i), b))
	}
	s, err := Open(names, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, last := 0, int64(0)
	for s.Next() {
		n++
		f := s.Frame()
		if f.Time < last {
			t.Fatalf("frame %d at %d, after %d", n, f.Time, last)
		}
		last = f.Time
		open := 0
		for _, in := range s.inputs {
			if in.rd != nil {
				open++
				if got := len(in.rd.(*pcapReader).in.buf); got != readBufSize {
					t.Fatalf("frame %d: %s reads into %d bytes", n, in.name, got)
				}
			}
		}
		if open != 1 || s.opened != 1 {
			t.Fatalf("frame %d: %d files open (%d counted)", n, open, s.opened)
		}
	}
	if s.Err() != nil || n != files*per+1 {
		t.Fatalf("%d frames, error %v", n, s.Err())
	}
	if p := s.Problems(); len(p) != 1 || !strings.HasSuffix(p[0].File, "rot07.pcap") {
		t.Errorf("problems %+v, want one warning of rot07.pcap", p)
	}
	if s.opened != 0 {
		t.Errorf("%d files still open at the end", s.opened)
	}
	// One zstd decoder served every zstd file, each read twice.
	if len(s.spare.zstd) != 1 {
		t.Errorf("%d zstd decoders kept, want the one that served all files", len(s.spare.zstd))
	}
}

// rotatedParts returns a capture split in files as a rotating capture is,
// per frames each a second apart, plus what extra gives for file i; one
// file in three is gzip-compressed and one in three zstd-compressed.
func rotatedParts(files, per int, extra func(i int) []testRecord) [][]byte {
	frame := simpleTCP4(nil)
	var parts [][]byte
	for i := range files {
		var recs []testRecord
		for j := range per {
			recs = append(recs, testRecord{sec: uint32(1000 + i*per + j), data: frame})
		}
		if extra != nil {
			recs = append(recs, extra(i)...)
		}
		b := pcapFile(binary.LittleEndian, false, 1, recs...)
		switch i % 3 {
		case 1:
			b = gzipBytes(b)
		case 2:
			b = zstdBytes(b)
		}
		parts = append(parts, b)
	}
	return parts
}
