package capture

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestFileReader: on one core a regular file is read with raw calls, a pipe
// and any file on more cores are read as they are.
func TestFileReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	for _, tc := range []struct {
		name  string
		procs int
		f     *os.File
		raw   bool
	}{
		{"regular file, one core", 1, f, true},
		{"regular file, two cores", 2, f, false},
		{"pipe, one core", 1, pr, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(tc.procs))
			r := fileReader(tc.f)
			if _, raw := r.(*rawFile); raw != tc.raw {
				t.Errorf("fileReader gave %T, raw reads %v", r, tc.raw)
			}
		})
	}
}

// TestRawFileRead: raw reads give the file's bytes whatever the buffer,
// then io.EOF, and an error names the file.
func TestRawFileRead(t *testing.T) {
	data := make([]byte, 3<<20+12345)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rnd.Uint32())
	}
	path := filepath.Join(t.TempDir(), "capture")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{4093, 1 << 20, 8 << 20} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		r := &rawFile{f: f, fd: f.Fd()}
		var got []byte
		buf := make([]byte, size)
		for {
			n, err := r.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("buffer %d: %v", size, err)
			}
			if n == 0 {
				t.Fatalf("buffer %d: a read of nothing before the end", size)
			}
		}
		if !bytes.Equal(got, data) {
			t.Errorf("buffer %d: %d bytes read, want the file's %d", size, len(got), len(data))
		}
		if n, err := r.Read(buf[:0]); n != 0 || err != nil {
			t.Errorf("an empty read gave %d, %v", n, err)
		}
		if n, err := r.Read(buf); n != 0 || err != io.EOF {
			t.Errorf("a read at the end gave %d, %v", n, err)
		}
		f.Close()
	}
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	_, err = (&rawFile{f: dir, fd: dir.Fd()}).Read(make([]byte, 16))
	var pe *os.PathError
	if !errors.As(err, &pe) || pe.Path != dir.Name() || !errors.Is(err, syscall.EISDIR) {
		t.Errorf("reading a directory: %v, want a path error with EISDIR", err)
	}
}

// TestSourceOnOneCore: a capture read on one core, through raw reads, gives
// the frames it gives on several.
func TestSourceOnOneCore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.pcap")
	if err := os.WriteFile(path, benchPcap(5000), 0o644); err != nil {
		t.Fatal(err)
	}
	read := func(procs int) (frames int, sum uint64) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		s, err := Open([]string{path}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if raw := readsRaw(t, s); raw != (procs == 1) {
			t.Errorf("GOMAXPROCS %d: the file is read raw: %v", procs, raw)
		}
		for s.Next() {
			fr := s.Frame()
			frames++
			for _, b := range fr.Data {
				sum = sum*31 + uint64(b)
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		return frames, sum
	}
	n1, s1 := read(1)
	n2, s2 := read(2)
	if n1 != 5000 || n1 != n2 || s1 != s2 {
		t.Errorf("one core: %d frames (sum %x), two: %d (sum %x)", n1, s1, n2, s2)
	}
}

// readsRaw reports whether s's first input reads its file through a rawFile,
// below the byte counter and the read buffer of a pcap reader.
func readsRaw(t *testing.T, s *Source) bool {
	t.Helper()
	pr, ok := s.inputs[0].rd.(*pcapReader)
	if !ok {
		t.Fatalf("input read by %T, not a pcap reader", s.inputs[0].rd)
	}
	bc, ok := pr.in.r.(byteCounter)
	if !ok {
		t.Fatalf("pcap reader reads %T, not the byte counter", pr.in.r)
	}
	_, raw := bc.r.(*rawFile)
	return raw
}

// TestGrowPipe checks that standard input's pipe is grown to a megabyte,
// through the replay that sniffing the format puts in front of it, and
// that a regular file is left alone.
func TestGrowPipe(t *testing.T) {
	max, err := os.ReadFile("/proc/sys/fs/pipe-max-size")
	if err != nil {
		t.Skipf("no pipe-max-size: %v", err)
	}
	if n, _ := strconv.Atoi(strings.TrimSpace(string(max))); n < pipeSize && os.Geteuid() != 0 {
		t.Skipf("pipes may grow to %d bytes here, not %d", n, pipeSize)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	size := func(f *os.File) int {
		rc, err := f.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var n uintptr
		rc.Control(func(fd uintptr) { n, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, 1032, 0) }) // F_GETPIPE_SZ
		return int(n)
	}
	if size(pr) >= pipeSize {
		t.Skipf("pipes start at %d bytes here", size(pr))
	}
	f := underlyingFile(&replay{head: []byte("x"), r: pr})
	if f != pr {
		t.Fatal("the replay's file was not found")
	}
	growPipe(f)
	if got := size(pr); got < pipeSize {
		t.Fatalf("pipe of %d bytes, want %d", got, pipeSize)
	}
	// A regular file: no fcntl on it, and no error.
	reg, err := os.CreateTemp(t.TempDir(), "regular")
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	growPipe(reg)
	if underlyingFile(strings.NewReader("x")) != nil {
		t.Fatal("a reader that is not a file gave a file")
	}
}
