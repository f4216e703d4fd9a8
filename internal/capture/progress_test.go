package capture

import (
	"bytes"
	"fmt"
	"os"
	"testing"
)

// TestSourceProgress: Progress counts the files' own bytes (compressed ones
// too, and rotated files opened late), never more than their sizes, grows as
// frames are read, and ends at the total. A reader of unknown size has no
// total.
func TestSourceProgress(t *testing.T) {
	plain := benchPcap(3000) // several read buffers
	rotated := rotatedParts(12, 4, nil)
	for _, tc := range []struct {
		name  string
		files [][]byte
	}{
		{"plain", [][]byte{plain}},
		{"gzip", [][]byte{gzipBytes(plain)}},
		{"zstd", [][]byte{zstdBytes(plain)}},
		{"rotated", rotated},
	} {
		for _, ahead := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/ahead=%v", tc.name, ahead), func(t *testing.T) {
				withReadAhead(t, ahead, func(t *testing.T) {
					dir := t.TempDir()
					var names []string
					var total int64
					for i, b := range tc.files {
						names = append(names, writeFile(t, dir, fmt.Sprintf("f%02d", i), b))
						total += int64(len(b))
					}
					s, err := Open(names, Options{})
					if err != nil {
						t.Fatal(err)
					}
					defer s.Close()
					if p := s.Progress(); p.Total != total || p.Read < 0 || p.Read > total {
						t.Fatalf("at the start: %+v, want a total of %d", p, total)
					}
					var seen []int64
					for n := 0; s.Next(); n++ {
						p := s.Progress()
						if p.Total != total || p.Read > total {
							t.Fatalf("frame %d: %+v, total %d", n+1, p, total)
						}
						if len(seen) > 0 && p.Read < seen[len(seen)-1] {
							t.Fatalf("frame %d: read %d after %d", n+1, p.Read, seen[len(seen)-1])
						}
						seen = append(seen, p.Read)
					}
					if s.Err() != nil {
						t.Fatal(s.Err())
					}
					if p := s.Progress(); p.Read != total {
						t.Errorf("at the end: %+v, want all %d bytes read", p, total)
					}
					if seen[0] >= total && len(seen) > 1 && tc.name == "plain" {
						t.Errorf("the whole file counted at the first frame (%d of %d)", seen[0], total)
					}
				})
			})
		}
	}
}

// TestProgressUnknownSize: a capture from a reader (a pipe) has no total.
func TestProgressUnknownSize(t *testing.T) {
	plain := benchPcap(100)
	s, err := OpenReader(bytes.NewReader(plain), "pipe", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for s.Next() {
	}
	if p := s.Progress(); p.Total != -1 || p.Read != int64(len(plain)) {
		t.Errorf("%+v, want %d bytes read of an unknown total", p, len(plain))
	}
	s2, err := Open([]string{"-"}, Options{Stdin: bytes.NewReader(plain)})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if p := s2.Progress(); p.Total != -1 {
		t.Errorf("stdin from a reader: %+v, want an unknown total", p)
	}
	// Standard input redirected from a file has its size.
	f, err := os.Open(writeFile(t, t.TempDir(), "in.pcap", plain))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s3, err := Open([]string{"-"}, Options{Stdin: f})
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	for s3.Next() {
	}
	if p := s3.Progress(); p.Total != int64(len(plain)) || p.Read != p.Total {
		t.Errorf("stdin from a file: %+v, want %d bytes of %d", p, len(plain), len(plain))
	}
}

// TestSizeOf: only a regular file has a size.
func TestSizeOf(t *testing.T) {
	p := writeFile(t, t.TempDir(), "f", []byte("12345"))
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := sizeOf(f); got != 5 {
		t.Errorf("regular file: %d, want 5", got)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if got := sizeOf(r); got != -1 {
		t.Errorf("pipe: %d, want -1", got)
	}
}

// TestSlowToDecompress: only a gzip-compressed file (among those named, not
// standard input) needs a core to inflate.
func TestSlowToDecompress(t *testing.T) {
	dir := t.TempDir()
	plain := benchPcap(10)
	p := writeFile(t, dir, "plain.pcap", plain)
	gz := writeFile(t, dir, "a.pcap.gz", gzipBytes(plain))
	zst := writeFile(t, dir, "a.pcap.zst", zstdBytes(plain))
	short := writeFile(t, dir, "short", []byte{0x1f})
	for _, tc := range []struct {
		names []string
		want  bool
	}{
		{[]string{p}, false},
		{[]string{gz}, true},
		{[]string{zst}, false},
		{[]string{p, zst, gz}, true},
		{[]string{short, "-", dir + "/missing"}, false},
	} {
		if got, _ := SlowToDecompress(tc.names, nil); got != tc.want {
			t.Errorf("SlowToDecompress(%v) = %v, want %v", tc.names, got, tc.want)
		}
	}
	// Standard input: looked at, then read whole, with its size when it
	// is a file.
	gzf, err := os.Open(gz)
	if err != nil {
		t.Fatal(err)
	}
	defer gzf.Close()
	slow, in := SlowToDecompress([]string{"-"}, gzf)
	if !slow {
		t.Error("gzip on standard input: not slow")
	}
	s, err := Open([]string{"-"}, Options{Stdin: in})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := countFrames(s)
	st, _ := gzf.Stat()
	if p := s.Progress(); s.Err() != nil || n != 10 || p.Total != st.Size() || p.Read != p.Total {
		t.Errorf("after the look: %d frames, error %v, progress %+v of %d bytes", n, s.Err(), p, st.Size())
	}
}
