package capture

import (
	"io"
	"os"
	"sync/atomic"
)

// Progress is how far a Source has read its files, for a progress display.
type Progress struct {
	// Read is the bytes read from the files so far: what the read buffers
	// and decompressors took, which may run a little ahead of the frames
	// delivered, and of a compressed file its compressed bytes.
	Read int64
	// Total is the sum of the files' sizes, or -1 when the size of some
	// input is not known (a pipe, standard input from a pipe).
	Total int64
}

// Progress returns how far the files have been read. It may be called
// while a read-ahead goroutine decompresses.
func (s *Source) Progress() Progress {
	p := Progress{}
	for _, in := range s.inputs {
		p.Read += in.read.Load()
		if in.size < 0 || p.Total < 0 {
			p.Total = -1
		} else {
			p.Total += in.size
		}
	}
	return p
}

// byteCounter counts the bytes read through it in n: the file's own
// bytes, below any decompressor, which may read on another goroutine.
type byteCounter struct {
	r io.Reader
	n *atomic.Int64
}

func (c byteCounter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n.Add(int64(k))
	return k, err
}

// stater is a file, or a reader that stands for one.
type stater interface {
	Stat() (os.FileInfo, error)
}

// sizeOf returns the size of f when it is a regular file, else -1.
func sizeOf(f stater) int64 {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return -1
	}
	return st.Size()
}
