package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/zstd"
)

func zstdBytes(b []byte) []byte {
	w, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		panic(err)
	}
	defer w.Close()
	return w.EncodeAll(b, nil)
}

// withReadAhead runs f with decompression on a goroutine of its own (on) or
// on the reader's (off), whatever the machine's cores.
func withReadAhead(t *testing.T, on bool, f func(t *testing.T)) {
	t.Helper()
	old := readAheadCores
	readAheadCores = 1 << 30
	if on {
		readAheadCores = 1
	}
	defer func() { readAheadCores = old }()
	f(t)
}

// TestCompressedInputs reads captures compressed every way the reader
// unwraps, decompressed on the reading goroutine and read ahead on another,
// and expects the frames of the plain file: the same bytes, times, numbers
// and offsets (in the decompressed file).
func TestCompressedInputs(t *testing.T) {
	plain := benchPcap(3000) // about 2 MB: several chunks of read-ahead
	half := len(plain) / 2
	le := binary.LittleEndian
	ng := cat(ngSHB(le, 1, 0), ngIDB(le, 1, -1, 0), ngEPB(le, 0, 2_500_000, simpleTCP4([]byte("x")), 0))
	for _, tc := range []struct {
		name        string
		plain, file []byte
	}{
		{"gzip", plain, gzipBytes(plain)},
		{"gzip members", plain, cat(gzipBytes(plain[:half]), gzipBytes(plain[half:]))},
		{"zstd", plain, zstdBytes(plain)},
		{"zstd frames", plain, cat(zstdBytes(plain[:half]), zstdBytes(plain[half:]))},
		{"gzip in zstd", plain, zstdBytes(gzipBytes(plain))},
		{"zstd pcapng", ng, zstdBytes(ng)},
		{"gzip empty pcap", pcapFile(le, false, 1), gzipBytes(pcapFile(le, false, 1))},
	} {
		want, s := readAll(t, map[string][]byte{"plain": tc.plain}, []string{"plain"})
		if s.Err() != nil {
			t.Fatal(s.Err())
		}
		for _, ahead := range []bool{false, true} {
			name := tc.name + map[bool]string{false: "/direct", true: "/ahead"}[ahead]
			t.Run(name, func(t *testing.T) {
				withReadAhead(t, ahead, func(t *testing.T) {
					got, s := readAll(t, map[string][]byte{"plain": tc.file}, []string{"plain"})
					if s.Err() != nil || len(s.Problems()) != 0 {
						t.Fatalf("error %v, problems %v", s.Err(), s.Problems())
					}
					if len(got) != len(want) {
						t.Fatalf("%d frames, want %d", len(got), len(want))
					}
					for i := range got {
						g, w := got[i], want[i]
						if !bytes.Equal(g.Data, w.Data) || g.Time != w.Time || g.Number != w.Number || g.Offset != w.Offset {
							t.Fatalf("frame %d: %+v, want %+v", i+1, g, w)
						}
					}
				})
			})
		}
	}
}

// TestCompressedDamage: a compressed capture cut short ends like a plain
// one cut short (the frames before it, a warning, no error); one with a
// damaged stream stops with an error that names the file. Both ways of
// decompressing.
func TestCompressedDamage(t *testing.T) {
	plain := benchPcap(2000)
	for _, ahead := range []bool{false, true} {
		withReadAhead(t, ahead, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				file []byte
			}{{"gzip", gzipBytes(plain)}, {"zstd", zstdBytes(plain)}} {
				t.Run(tc.name, func(t *testing.T) {
					cut := tc.file[:len(tc.file)*2/3]
					got, s := readAll(t, map[string][]byte{"cut": cut}, []string{"cut"})
					if s.Err() != nil || len(got) == 0 || len(got) >= 2000 {
						t.Errorf("cut short: %d frames, error %v", len(got), s.Err())
					}
					if p := s.Problems(); len(p) != 1 || p[0].Fatal || !strings.Contains(p[0].Msg, "cut short") {
						t.Errorf("cut short: problems %+v", p)
					}

					bad := bytes.Clone(tc.file)
					for i := len(bad) / 2; i < len(bad)/2+64; i++ {
						bad[i] ^= 0x55
					}
					got, s = readAll(t, map[string][]byte{"bad": bad}, []string{"bad"})
					var ie *InputError
					if !errors.As(s.Err(), &ie) || ie.File == "" || !strings.HasSuffix(ie.File, "bad") || len(got) >= 2000 {
						t.Errorf("damaged: %d frames, error %v", len(got), s.Err())
					}

				})
			}
		})
	}
}

// TestCompressedUnreadable: a compressed file whose first bytes cannot be
// decompressed fails to open with what is wrong, not as an empty file.
func TestCompressedUnreadable(t *testing.T) {
	plain := benchPcap(100)
	gz, zs := gzipBytes(plain), zstdBytes(plain)
	badFlags := bytes.Clone(gz)
	badFlags[3] = 0xe0 // reserved header flags
	badBlock := bytes.Clone(gz)
	badBlock[10] = 0xff // the first deflate block: a reserved block type
	reserved := bytes.Clone(zs)
	reserved[4] |= 0x08 // frame header descriptor: the reserved bit
	// A frame that asks for a 256 MiB window (exponent 18), then a raw
	// block of the capture's first bytes.
	wide := cat([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 18 << 3}, []byte{(100<<3 | 1) & 0xff, (100 << 3) >> 8, 0}, plain[:100])
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"gzip header flags", badFlags, "bad gzip header"},
		{"gzip first block", badBlock, "cannot decompress the first bytes (gzip)"},
		{"zstd reserved bit", reserved, "cannot decompress the first bytes (zstd)"},
		{"zstd window", wide, "the stream needs a window over 128 MiB"},
	} {
		for _, ahead := range []bool{false, true} {
			withReadAhead(t, ahead, func(t *testing.T) {
				s, err := OpenReader(bytes.NewReader(tc.file), "in.cap", Options{})
				if err == nil {
					s.Close()
					t.Fatalf("%s: opened", tc.name)
				}
				if msg := err.Error(); !strings.Contains(msg, "in.cap") || !strings.Contains(msg, tc.want) || strings.Contains(msg, "empty") {
					t.Errorf("%s (read ahead %v): %q, want the file and %q", tc.name, ahead, msg, tc.want)
				}
			})
		}
	}
}

// TestReadAhead checks the read-ahead reader against its source read
// directly: the same bytes, then the same final error, whatever the sizes
// of the source's reads and of the caller's.
func TestReadAhead(t *testing.T) {
	data := make([]byte, 300_000)
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		src  func() io.Reader
		want error
	}{
		{"clean end", func() io.Reader { return bytes.NewReader(data) }, io.EOF},
		{"one byte at a time", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data[:5000])) }, io.EOF},
		{"data with EOF", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) }, io.EOF},
		{"cut short", func() io.Reader { return io.MultiReader(bytes.NewReader(data), iotest.ErrReader(io.ErrUnexpectedEOF)) }, io.ErrUnexpectedEOF},
		{"failing", func() io.Reader { return io.MultiReader(bytes.NewReader(data[:70_000]), iotest.ErrReader(boom)) }, boom},
		{"empty", func() io.Reader { return bytes.NewReader(nil) }, io.EOF},
	} {
		for _, size := range []int{1, 4096, 65536} {
			for _, chunk := range []int{1000, minReadAheadChunk} {
				want, wantErr := readAllErr(tc.src(), size)
				ra := newReadAhead(io.NopCloser(tc.src()), chunk)
				got, err := readAllErr(ra, size)
				if !bytes.Equal(got, want) || err != tc.want || wantErr != tc.want {
					t.Errorf("%s, reads of %d, chunks of %d: %d bytes and %v, want %d and %v", tc.name, size, chunk, len(got), err, len(want), tc.want)
				}
				if err := ra.Close(); err != nil {
					t.Errorf("%s: close: %v", tc.name, err)
				}
			}
		}
	}
}

// readAllErr reads r in reads of size bytes until an error, and returns the
// bytes and the error.
func readAllErr(r io.Reader, size int) ([]byte, error) {
	var out []byte
	buf := make([]byte, size)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, err
		}
	}
}

// closeCounter counts the closes of its reader.
type closeCounter struct {
	io.Reader
	closes int
}

func (c *closeCounter) Close() error { c.closes++; return nil }

// TestReadAheadClose: a reader closed before the end stops its goroutine,
// which was blocked on full chunks, closes the source once, and reads no
// more.
func TestReadAheadClose(t *testing.T) {
	src := &closeCounter{Reader: bytes.NewReader(make([]byte, 1<<20))}
	ra := newReadAhead(src, 1000)
	if _, err := ra.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	ra.Close() // returns only once the goroutine has
	ra.Close()
	if src.closes != 1 {
		t.Errorf("source closed %d times", src.closes)
	}
	if n, err := ra.Read(make([]byte, 2000)); err == nil || n != 0 {
		t.Errorf("read after close: %d bytes, %v", n, err)
	}
}

// gateReader is a source whose Read says it has begun, then waits for the
// gate to open: a pipe whose writer is slow.
type gateReader struct {
	entered chan struct{}
	gate    chan struct{}
	closes  atomic.Int32
}

func (g *gateReader) Read(p []byte) (int, error) {
	g.entered <- struct{}{}
	<-g.gate
	return len(p), nil
}

func (g *gateReader) Close() error { g.closes.Add(1); return nil }

// orderCloser records its name in a shared list when closed.
type orderCloser struct {
	name string
	log  *[]string
}

func (o orderCloser) Close() error { *o.log = append(*o.log, o.name); return nil }

// TestReadAheadCloseOrder: Close closes the source, then what is under it,
// once; while a read of the source is under way it returns without waiting
// for it, the goroutine closes the source when the read returns, and what
// is under it (a buffer the read may still be filling) is never given back.
func TestReadAheadCloseOrder(t *testing.T) {
	var log []string
	ra := newReadAhead(struct {
		io.Reader
		io.Closer
	}{bytes.NewReader(make([]byte, 100)), orderCloser{"src", &log}}, 1000)
	ra.under = orderCloser{"under", &log}
	if _, err := readAllErr(ra, 64); err != io.EOF {
		t.Fatal(err)
	}
	ra.Close()
	ra.Close()
	if got := strings.Join(log, " "); got != "src under" {
		t.Errorf("closed %q, want \"src under\"", got)
	}

	g := &gateReader{entered: make(chan struct{}), gate: make(chan struct{})}
	log = nil
	ra = newReadAhead(g, 1000)
	ra.under = orderCloser{"under", &log}
	<-g.entered // the goroutine is in Read, and stays there
	ra.Close()  // must not wait for it
	if g.closes.Load() != 0 || len(log) != 0 {
		t.Fatalf("closed during the read: source %d times, %v", g.closes.Load(), log)
	}
	close(g.gate)
	ra.wg.Wait()
	if g.closes.Load() != 1 || len(log) != 0 {
		t.Errorf("after the read: source closed %d times, %v closed", g.closes.Load(), log)
	}
}
