package capture

import (
	"errors"
	"io"

	"github.com/klauspost/compress/zstd"
)

// bufReader hands out contiguous byte slices from an io.Reader without copying
// them again: next returns a view into its own buffer, valid until the next call.
// It tracks the file offset of the next unread byte.
type bufReader struct {
	r          io.Reader
	buf        []byte
	start, end int   // unread bytes are buf[start:end]
	off        int64 // file offset of buf[start]
	err        error // sticky read error (io.EOF at the end)
	// pool, when set, lends the buffers: instead of moving unread bytes to
	// the front of its buffer (over bytes handed out before) the reader
	// moves to a new one and retires the old (Options.Buffers).
	pool BufferPool
}

// readBufSize is the buffer a Source reads a file into: 1 MiB makes a
// fourth of the reads 256 KiB made, which measured faster on the machine of
// docs/performance.md (where each system call also flushes the TLB:
// page-table isolation without PCID). The inputs of one Source open at
// once share readBudget, down to minReadBufSize each: a hundred captures
// whose times overlap take about 30 MiB of buffers. Rotated files, read one
// after another, are open one at a time (Source.fill).
const (
	readBufSize    = 1 << 20
	readBudget     = 4 << 20
	minReadBufSize = 256 << 10
)

// pooledBufSize is the size of the buffers a BufferPool lends
// (Options.Buffers): the pipeline hands a round on after a few of them and
// keeps some for reuse, with memory bounds sized for 256 KiB.
const pooledBufSize = 256 << 10

// bufSizeFor returns the read buffer of each of n inputs read together.
func bufSizeFor(n int, opt Options) int {
	if opt.Buffers != nil {
		return pooledBufSize
	}
	return min(max(readBudget/max(n, 1), minReadBufSize), readBufSize)
}

func newBufReader(r io.Reader, size int) *bufReader {
	return &bufReader{r: r, buf: make([]byte, size)}
}

// spares keeps the read buffers of the files a Source has finished for the
// files it opens next: rotated captures are read one after another, and a
// new megabyte for each cost a quarter of a second of page faults on the
// 200 files of the 2 M-packet mix.
type spares struct {
	bufs [][]byte
	zstd []*zstd.Decoder // decoders of zstd files finished (openZstd)
}

// zstdDecoder returns a spare zstd decoder, or nil. sp may be nil.
func (sp *spares) zstdDecoder() *zstd.Decoder {
	if sp == nil || len(sp.zstd) == 0 {
		return nil
	}
	d := sp.zstd[len(sp.zstd)-1]
	sp.zstd = sp.zstd[:len(sp.zstd)-1]
	return d
}

// putZstd keeps d for the next zstd file, and reports whether it did.
func (sp *spares) putZstd(d *zstd.Decoder) bool {
	if len(sp.zstd) >= maxSpares {
		return false
	}
	sp.zstd = append(sp.zstd, d)
	return true
}

// maxSpares bounds the buffers kept.
const maxSpares = 8

// reader returns a bufReader of r with a buffer of size bytes, a spare one
// if there is one, and an io.Closer that gives the buffer back. sp may be
// nil: then the buffer is new and is not given back.
func (sp *spares) reader(r io.Reader, size int) (*bufReader, io.Closer) {
	if sp == nil {
		return newBufReader(r, size), nil
	}
	b := &bufReader{r: r}
	for i, buf := range sp.bufs {
		if len(buf) == size {
			b.buf = buf
			last := len(sp.bufs) - 1
			sp.bufs[i], sp.bufs[last] = sp.bufs[last], nil
			sp.bufs = sp.bufs[:last]
			break
		}
	}
	if b.buf == nil {
		b.buf = make([]byte, size)
	}
	return b, recycler{b, sp}
}

// recycler gives a bufReader's buffer back to its spares once the reader is
// done with (the buffer may have grown for a large record: it is kept if
// it is a size asked for again).
type recycler struct {
	b  *bufReader
	sp *spares
}

func (r recycler) Close() error {
	if r.b.buf != nil && len(r.sp.bufs) < maxSpares {
		r.sp.bufs = append(r.sp.bufs, r.b.buf)
	}
	r.b.buf, r.b.start, r.b.end = nil, 0, 0
	return nil
}

// fill makes at least n unread bytes available, or as many as the input has.
func (b *bufReader) fill(n int) {
	if b.end-b.start >= n {
		return
	}
	if n > len(b.buf) {
		size := len(b.buf) * 2
		for size < n {
			size *= 2
		}
		b.moveTo(size)
	} else if b.start+n > len(b.buf) {
		if b.pool != nil {
			b.moveTo(len(b.buf))
		} else {
			b.end = copy(b.buf, b.buf[b.start:b.end])
			b.start = 0
		}
	}
	for empty := 0; b.end-b.start < n && b.err == nil; {
		m, err := b.r.Read(b.buf[b.end:])
		b.end += m
		switch {
		case err != nil:
			b.err = err
		case m == 0:
			if empty++; empty > 100 {
				b.err = io.ErrNoProgress
			}
		}
	}
}

// moveTo moves the unread bytes to the front of a new buffer of size bytes,
// from the pool when there is one (which takes the old buffer back).
func (b *bufReader) moveTo(size int) {
	var nb []byte
	if b.pool != nil {
		nb = b.pool.Buffer(size)
	} else {
		nb = make([]byte, size)
	}
	end := copy(nb, b.buf[b.start:b.end])
	if b.pool != nil {
		b.pool.Retire(b.buf)
	}
	b.buf, b.start, b.end = nb, 0, end
}

// peek returns up to n unread bytes without consuming them.
func (b *bufReader) peek(n int) []byte {
	b.fill(n)
	if b.end-b.start < n {
		n = b.end - b.start
	}
	return b.buf[b.start : b.start+n]
}

// next consumes and returns the next n bytes. When the input ends first it
// consumes what is left and returns it with io.EOF (nothing left) or
// io.ErrUnexpectedEOF (some bytes). Other read errors are returned as they are.
func (b *bufReader) next(n int) ([]byte, error) {
	b.fill(n)
	avail := b.end - b.start
	if avail >= n {
		p := b.buf[b.start : b.start+n]
		b.start += n
		b.off += int64(n)
		return p, nil
	}
	p := b.buf[b.start:b.end]
	b.start = b.end
	b.off += int64(avail)
	err := b.err
	if err == nil || errors.Is(err, io.EOF) {
		if avail == 0 {
			err = io.EOF
		} else {
			err = io.ErrUnexpectedEOF
		}
	} else if errors.Is(err, io.ErrUnexpectedEOF) && avail == 0 {
		// e.g. a gzip stream that ends early: the input is cut short.
		err = io.ErrUnexpectedEOF
	}
	return p, err
}

// skip discards n bytes (used for blocks that are not needed).
func (b *bufReader) skip(n int64) (int64, error) {
	var done int64
	for done < n {
		chunk := n - done
		if chunk > int64(len(b.buf)) {
			chunk = int64(len(b.buf))
		}
		p, err := b.next(int(chunk))
		done += int64(len(p))
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// Read implements io.Reader, so that a decompressor can sit on top of the
// bytes already peeked.
func (b *bufReader) Read(p []byte) (int, error) {
	if b.start == b.end {
		if b.err != nil {
			return 0, b.err
		}
		if len(p) >= len(b.buf) {
			n, err := b.r.Read(p)
			b.off += int64(n)
			if err != nil {
				b.err = err
			}
			return n, err
		}
		b.fill(1)
		if b.start == b.end {
			return 0, b.err
		}
	}
	n := copy(p, b.buf[b.start:b.end])
	b.start += n
	b.off += int64(n)
	return n, nil
}
