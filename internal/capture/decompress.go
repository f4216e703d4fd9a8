package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// compression is a compressed format that a capture may come in.
type compression struct {
	name  string
	magic []byte
	// open returns a decompressor of r; sp, which may be nil, lends and
	// takes back decoders.
	open func(r io.Reader, sp *spares) (io.ReadCloser, error)
	// slow is set for a format whose decompression takes about a core
	// (SlowToDecompress).
	slow bool
}

// compressions are the compressed formats read, by their first bytes.
//
// gzip is read with klauspost/compress, whose inflate took 1.68 s for the
// 470 MB mix of docs/performance.md against 2.36 s for compress/gzip's, on one
// core: on a compressed capture decompression costs more than the analysis.
var compressions = []compression{
	{name: "gzip", magic: []byte{0x1f, 0x8b}, open: openGzip, slow: true},
	{name: "zstd", magic: []byte{0x28, 0xb5, 0x2f, 0xfd}, open: openZstd},
}

// SlowToDecompress reports whether one of the named files is compressed in
// a format whose decompression costs about a core at the speed the analysis
// reads: gzip, which took 1.68 s to inflate the mix against about 1.2 s for
// its whole analysis on one core. A file that cannot be read counts as not
// compressed: Open says what is wrong with it.
//
// Standard input ("-") is stdin: its first bytes are read to look at, and
// the reader returned gives them again before the rest, for Options.Stdin.
func SlowToDecompress(names []string, stdin io.Reader) (bool, io.Reader) {
	slow := false
	for _, name := range names {
		var head [8]byte
		var n int
		if name == "-" {
			if stdin == nil {
				continue
			}
			n, _ = io.ReadFull(stdin, head[:])
			stdin = &replay{head: append([]byte(nil), head[:n]...), r: stdin}
		} else {
			f, err := os.Open(name)
			if err != nil {
				continue
			}
			n, _ = io.ReadFull(f, head[:])
			f.Close()
		}
		if c := compressionOf(head[:n]); c != nil && c.slow {
			slow = true
		}
	}
	return slow, stdin
}

// replay gives head, then what r gives; Stat is r's, when it has one (a
// file redirected to standard input keeps its size).
type replay struct {
	head []byte
	r    io.Reader
}

// underlyingFile returns the file r reads, itself or behind a replay, or
// nil.
func underlyingFile(r io.Reader) *os.File {
	if p, ok := r.(*replay); ok {
		r = p.r
	}
	f, _ := r.(*os.File)
	return f
}

func (p *replay) Read(b []byte) (int, error) {
	if len(p.head) > 0 {
		n := copy(b, p.head)
		p.head = p.head[n:]
		return n, nil
	}
	return p.r.Read(b)
}

func (p *replay) Stat() (os.FileInfo, error) {
	if st, ok := p.r.(stater); ok {
		return st.Stat()
	}
	return nil, errors.ErrUnsupported
}

// zstdMaxWindow bounds the history a zstd frame may ask the decoder to keep:
// zstd's levels keep at most 8 MiB (level 19), and --long 128 MiB.
const zstdMaxWindow = 128 << 20

func openGzip(r io.Reader, _ *spares) (io.ReadCloser, error) {
	return gzip.NewReader(r)
}

func openZstd(r io.Reader, sp *spares) (io.ReadCloser, error) {
	if d := sp.zstdDecoder(); d != nil {
		if err := d.Reset(r); err != nil {
			d.Close()
			return nil, err
		}
		return &zstdReader{d, sp}, nil
	}
	// One goroutine: decoding a stream concurrently is what readAhead does
	// for every format, and the decoder's own goroutines would each hold
	// their blocks.
	d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(zstdMaxWindow))
	if err != nil {
		return nil, err
	}
	return &zstdReader{d, sp}, nil
}

// zstdReader is a zstd decoder that goes back to its spares when closed: a
// decoder's history takes megabytes (8 MiB for zstd -3), which the files of
// a rotated capture would each allocate anew.
type zstdReader struct {
	d  *zstd.Decoder
	sp *spares
}

func (z *zstdReader) Read(p []byte) (int, error) { return z.d.Read(p) }

// Close gives the decoder back, or closes it without spares.
func (z *zstdReader) Close() error {
	if z.d != nil && z.sp != nil && z.sp.putZstd(z.d) {
		z.d = nil
	}
	z.discard()
	return nil
}

// discard closes the decoder without giving it back: readAhead's goroutine
// does so (discarder), which must not touch the spares.
func (z *zstdReader) discard() {
	if z.d != nil {
		z.d.Close()
		z.d = nil
	}
}

// discarder is a decompressor that can be closed from another goroutine
// than the one that reads the Source (readAhead.abandoned).
type discarder interface{ discard() }

// compressionOf returns the compressed format head starts with, or nil.
func compressionOf(head []byte) *compression {
	for i := range compressions {
		if bytes.HasPrefix(head, compressions[i].magic) {
			return &compressions[i]
		}
	}
	return nil
}

// decompress returns a reader of r decompressed as c, which reads ahead on
// a goroutine of its own when ahead is set and the program may run on more
// than one core.
//
// under, which may be nil, is what r reads from (a buffer to give back): it
// is closed with the returned reader, after it, and not at all if a read
// ahead was under way (readAhead.abandoned).
func decompress(c *compression, r io.Reader, under io.Closer, sp *spares, bufSize int, ahead bool) (io.ReadCloser, error) {
	zr, err := c.open(r, sp)
	if err != nil {
		return nil, err
	}
	if !ahead || runtime.GOMAXPROCS(0) < readAheadCores {
		if under == nil {
			return zr, nil
		}
		return struct {
			io.Reader
			io.Closer
		}{zr, closers{under, zr}}, nil
	}
	ra := newReadAhead(zr, max(bufSize/readAheadChunks, minReadAheadChunk))
	ra.under = under
	return ra, nil
}

// readAheadCores is the fewest cores (GOMAXPROCS) that decompress on a
// goroutine of their own; the tests set it to 1 and to a large number to
// read both ways whatever the machine.
var readAheadCores = 2

// readAheadChunks is how many chunks a readAhead fills ahead of its reader;
// together they are as large as the reader's buffer.
const (
	readAheadChunks   = 4
	minReadAheadChunk = 32 << 10
)

// readAhead reads its source on a goroutine of its own into a few chunks,
// which Read hands out in order: a compressed capture is then decompressed on
// one core while it is analysed on another. On the 2 M-packet mix of
// docs/performance.md, gzip-compressed, two workers took 2.57 s with the
// decompression on the reading goroutine.
type readAhead struct {
	src  io.ReadCloser
	full chan chunk  // filled chunks, in order
	free chan []byte // chunks to fill
	done chan struct{}
	wg   sync.WaitGroup
	cur  chunk // the chunk being read
	off  int   // the bytes of cur read so far
	once sync.Once
	// under is closed after src, once nothing reads src any more: the
	// buffer src reads from, given back (may be nil).
	under  io.Closer
	closed bool // Close was called (on the reading goroutine, like Read)
	// mu guards reading (the goroutine is inside src.Read) and abandoned
	// (Close came then, and did not wait: a pipe may hold a read for as
	// long as its writer likes; the goroutine closes src when the read
	// returns, and under is never given back).
	mu                 sync.Mutex
	reading, abandoned bool
}

// chunk is a part of the source, and the error that ended it, if any.
type chunk struct {
	b   []byte
	err error
}

func newReadAhead(src io.ReadCloser, size int) *readAhead {
	ra := &readAhead{
		src:  src,
		full: make(chan chunk, readAheadChunks),
		free: make(chan []byte, readAheadChunks),
		done: make(chan struct{}),
	}
	for range readAheadChunks {
		ra.free <- make([]byte, size)
	}
	ra.wg.Add(1)
	go ra.fill()
	return ra
}

// fill runs on the readAhead's goroutine until the source ends or fails, or
// Close is called.
func (ra *readAhead) fill() {
	defer ra.wg.Done()
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.done:
			return
		}
		ra.mu.Lock()
		select {
		case <-ra.done:
			ra.mu.Unlock()
			return
		default:
		}
		ra.reading = true
		ra.mu.Unlock()
		n, err := readFull(ra.src, buf)
		ra.mu.Lock()
		ra.reading = false
		abandoned := ra.abandoned
		ra.mu.Unlock()
		if abandoned {
			if d, ok := ra.src.(discarder); ok {
				d.discard()
			} else {
				ra.src.Close()
			}
			return
		}
		select {
		case ra.full <- chunk{buf[:n], err}:
		case <-ra.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// readFull reads into buf until it is full or r fails; unlike io.ReadFull
// it returns r's own error, so that io.EOF and io.ErrUnexpectedEOF keep
// their meanings (a clean end, a stream cut short).
func readFull(r io.Reader, buf []byte) (int, error) {
	n := 0
	for empty := 0; n < len(buf); {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
		if m == 0 {
			if empty++; empty > 100 {
				return n, io.ErrNoProgress
			}
		}
	}
	return n, nil
}

// Read implements io.Reader.
func (ra *readAhead) Read(p []byte) (int, error) {
	if ra.closed {
		return 0, errReadAheadClosed
	}
	for ra.off == len(ra.cur.b) {
		if ra.cur.err != nil {
			return 0, ra.cur.err
		}
		if ra.cur.b != nil {
			ra.free <- ra.cur.b[:cap(ra.cur.b)]
		}
		select {
		case c := <-ra.full:
			ra.cur, ra.off = c, 0
		case <-ra.done:
			return 0, errReadAheadClosed
		}
	}
	n := copy(p, ra.cur.b[ra.off:])
	ra.off += n
	if ra.off == len(ra.cur.b) && ra.cur.err != nil {
		return n, ra.cur.err
	}
	return n, nil
}

var errReadAheadClosed = errors.New("read after close")

// Close stops the goroutine and closes the source, then what is under it.
// It is called from the goroutine that reads. It does not wait for a read
// of the source under way (see abandoned).
func (ra *readAhead) Close() error {
	ra.closed = true
	var err error
	ra.once.Do(func() {
		ra.mu.Lock()
		close(ra.done)
		if ra.reading {
			ra.abandoned = true
			ra.mu.Unlock()
			return
		}
		ra.mu.Unlock()
		ra.wg.Wait()
		err = ra.src.Close()
		if ra.under != nil {
			if e := ra.under.Close(); err == nil {
				err = e
			}
		}
	})
	return err
}

// closers closes several closers, the last first: a decompressor before
// the one or the file it reads.
type closers []io.Closer

func (cs closers) Close() error { return closeAll(cs) }

// closeAll closes cs, the last first, and returns the first error.
func closeAll(cs []io.Closer) error {
	var first error
	for i := len(cs) - 1; i >= 0; i-- {
		if err := cs[i].Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// decompressError describes a compressed stream that cannot be opened.
func decompressError(name string, c *compression, err error) error {
	return &InputError{File: name, Offset: 0, Msg: fmt.Sprintf("bad %s header", c.name), Err: err}
}
