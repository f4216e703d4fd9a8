package capture

import (
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// input is one file of a Source with its look-ahead frame.
type input struct {
	name     string
	path     string // what to open again, for a lazy input
	idx      int    // its place among the inputs: ties go to the earlier
	rd       recordReader
	closers  []io.Closer
	head     Frame // the next frame of this input, valid when ready
	ready    bool
	done     bool
	problems int // warnings recorded so far
	// lazy is set while a file is closed until its first frame is due:
	// first is that frame's time. Rotated captures (tcpdump -C, -G) hold
	// hundreds of files one after the other, and each open file costs a
	// read buffer and a decompressor.
	lazy  bool
	first int64
	// read counts the bytes read from the file since it was last opened
	// (Progress), and size is its size, -1 when unknown.
	read atomic.Int64
	size int64
	// info is the file as first opened, when its records lie in it as
	// they are read (a regular file, not compressed): its frames can be
	// read again (ReadAt). Set during Open only.
	info os.FileInfo
	// opened is the file the last openWith opened, when plain.
	opened os.FileInfo
}

// Source delivers the frames of one or more capture files as a single stream
// in timestamp order (like mergecap: ties go to the earlier file, and frames of
// one file keep their file order).
type Source struct {
	opt      Options
	bufSize  int // each input's read buffer (bufSizeFor)
	inputs   []*input
	heap     []*input // the inputs with a frame to come, earliest first (before)
	opened   int      // inputs that hold a reader
	spare    *spares  // buffers and decoders for files opened later
	cur      *Frame   // the frame delivered last: the head of its input, not a copy
	last     int      // index of the input whose frame was delivered last, -1 if none
	number   uint64
	err      error
	problems []Problem
	// rereads holds the files ReadAt opened, by input; rmu guards it.
	rmu     sync.Mutex
	rereads map[int]*os.File
}

// Open opens the named capture files ("-" is standard input) and sniffs their
// formats. It fails, naming the file, when a file is missing or unreadable, is
// not a capture, or is in an unsupported format; it then closes what it opened.
func Open(names []string, opt Options) (*Source, error) {
	if len(names) == 0 {
		return nil, errors.New("capture: no input files")
	}
	s := &Source{opt: opt, bufSize: bufSizeFor(len(names), opt), last: -1}
	if len(names) > 1 {
		s.spare = &spares{}
	}
	for i, name := range names {
		in := &input{name: name, path: name, idx: i}
		if name == "-" {
			in.name = "stdin"
		}
		var err error
		if len(names) > 1 && name != "-" {
			err = s.openLazy(in)
		} else {
			err = s.open(in, s.bufSize)
		}
		if err != nil {
			s.Close()
			return nil, err
		}
		in.info = in.opened
		s.inputs = append(s.inputs, in)
	}
	s.start()
	return s, nil
}

// OpenReader opens one capture from r, shown in messages as name.
func OpenReader(r io.Reader, name string, opt Options) (*Source, error) {
	s := &Source{opt: opt, bufSize: bufSizeFor(1, opt), last: -1}
	in := &input{name: name, size: -1}
	if _, err := s.attach(in, byteCounter{r, &in.read}, s.opt, s.bufSize, true); err != nil {
		closeAll(in.closers)
		return nil, err
	}
	s.opened++
	s.inputs = append(s.inputs, in)
	s.start()
	return s, nil
}

// open opens in's file (or standard input) and sniffs its format, with a
// read buffer of size bytes.
func (s *Source) open(in *input, size int) error {
	if err := s.openWith(in, s.opt, size, true); err != nil {
		return err
	}
	s.opened++
	return nil
}

// prescanBufSize is the buffer openLazy reads a file's first frame with; it
// grows for a larger frame.
const prescanBufSize = 16 << 10

// openLazy opens in's file, reads its first frame's time and closes it
// again, to be opened when that frame is due. Nothing is recorded: the
// warnings come again when the file is read. A file whose first frame does
// not read cleanly is opened for good instead.
func (s *Source) openLazy(in *input) error {
	quiet := s.opt
	quiet.Buffers = nil
	if err := s.openWith(in, quiet, prescanBufSize, false); err != nil {
		return err
	}
	err := in.rd.next(&in.head)
	s.release(in)
	in.problems = 0
	in.read.Store(0) // it is read again from the start
	if err != nil {
		return s.open(in, s.bufSize)
	}
	in.lazy, in.first = true, in.head.Time
	return nil
}

// openWith opens in's file with opt, a buffer of size bytes, and warnings
// recorded or not.
func (s *Source) openWith(in *input, opt Options, size int, record bool) error {
	var r io.Reader
	var info os.FileInfo // a regular file's, kept if its records are not compressed
	if in.path == "-" {
		r, in.size = os.Stdin, sizeOf(os.Stdin)
		if s.opt.Stdin != nil {
			r, in.size = s.opt.Stdin, -1
			if f, ok := r.(stater); ok {
				in.size = sizeOf(f) // analyze - < file
			}
		}
		if f := underlyingFile(r); f != nil {
			growPipe(f)
		}
	} else {
		f, err := os.Open(in.path)
		if err != nil {
			return &InputError{File: in.name, Offset: -1, Msg: "cannot open", Err: err}
		}
		if st, err := f.Stat(); err == nil && st.IsDir() {
			f.Close()
			return &InputError{File: in.name, Offset: -1, Msg: "is a directory, not a capture file", Err: ErrNotCapture}
		}
		in.closers = append(in.closers, f)
		r, in.size = fileReader(f), sizeOf(f)
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			info = st
		}
	}
	in.read.Store(0)
	plain, err := s.attach(in, byteCounter{r, &in.read}, opt, size, record)
	if err != nil {
		closeAll(in.closers)
		in.closers = nil
		return err
	}
	if !plain {
		info = nil
	}
	in.opened = info
	return nil
}

// release closes in's file and lets go of its reader and its buffers.
func (s *Source) release(in *input) {
	closeAll(in.closers)
	in.closers, in.rd, in.head.Data = nil, nil, nil
}

// attach sniffs r's format and makes in read it; plain reports that the
// records are read as they lie in r, not decompressed.
func (s *Source) attach(in *input, r io.Reader, opt Options, size int, record bool) (plain bool, err error) {
	warn := func(rec uint64, off int64, msg string) { s.warn(in, rec, off, msg) }
	if !record {
		warn = func(uint64, int64, string) {}
	}
	rd, c, plain, err := sniff(r, in.name, opt, size, record, s.spare, warn)
	if c != nil {
		in.closers = append(in.closers, c)
	}
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			return false, err
		}
		return false, &InputError{File: in.name, Offset: -1, Msg: "cannot read", Err: err}
	}
	in.rd = rd
	return plain, nil
}

func (s *Source) warn(in *input, rec uint64, off int64, msg string) {
	in.problems++
	max := s.opt.maxProblems()
	if in.problems > max {
		return
	}
	if in.problems == max {
		msg += " (further warnings for this file are not listed)"
	}
	s.problems = append(s.problems, Problem{File: in.name, Record: rec, Offset: off, Msg: msg})
}

// fill reads the look-ahead frame of in, if it has none; a lazy input is
// opened first. An input that has ended is closed.
func (s *Source) fill(in *input) {
	if in.ready || in.done {
		return
	}
	if in.lazy {
		in.lazy = false
		if err := s.open(in, bufSizeFor(s.opened+1, s.opt)); err != nil {
			in.done = true
			s.stop(in, err)
			return
		}
	}
	err := in.rd.next(&in.head)
	if err == nil {
		in.ready = true
		return
	}
	s.ended(in, err)
}

// ended closes in, whose reader returned err instead of a frame.
func (s *Source) ended(in *input, err error) {
	in.done = true
	s.release(in)
	s.opened--
	if err != io.EOF {
		s.stop(in, err)
	}
}

// stop records the error that ended an input: a problem, and the Source's
// error unless the input was merely cut short.
func (s *Source) stop(in *input, err error) {
	var ie *InputError
	if !errors.As(err, &ie) {
		ie = &InputError{File: in.name, Offset: -1, Msg: "read error", Err: err}
	}
	fatal := !errors.Is(ie, ErrCutShort)
	s.problems = append(s.problems, Problem{File: ie.File, Record: ie.Record, Offset: ie.Offset, Msg: ie.Msg, Fatal: fatal, Err: ie.Err})
	if fatal && s.err == nil {
		s.err = ie
	}
}

// start fills the inputs that are open and builds the heap.
func (s *Source) start() {
	for _, in := range s.inputs {
		if !in.lazy {
			s.fill(in)
		}
		if in.ready || in.lazy {
			s.heap = append(s.heap, in)
		}
	}
	for i := len(s.heap)/2 - 1; i >= 0; i-- {
		s.down(i)
	}
}

// due is when in's next frame was captured.
func (in *input) due() int64 {
	if in.lazy {
		return in.first
	}
	return in.head.Time
}

// before orders the heap: the earlier frame first, the earlier input on a
// tie, as mergecap does.
func before(a, b *input) bool {
	if ta, tb := a.due(), b.due(); ta != tb {
		return ta < tb
	}
	return a.idx < b.idx
}

// down moves the heap's entry i down to its place.
func (s *Source) down(i int) {
	h := s.heap
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && before(h[c+1], h[c]) {
			c++
		}
		if !before(h[c], h[i]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// Next advances to the next frame in timestamp order and reports whether there
// is one. The previous frame's Data becomes invalid.
func (s *Source) Next() bool {
	if s.last >= 0 {
		// The frame delivered last was the head of the heap's first input.
		in := s.heap[0]
		if len(s.heap) == 1 {
			// One input, open (it delivered): its next frame, with no
			// heap to keep (about 30 instructions a frame).
			err := in.rd.next(&in.head)
			if err == nil {
				in.ready = true
				return s.deliver(in)
			}
			in.ready = false
			s.last = -1
			s.ended(in, err)
			s.heap[0] = nil
			s.heap = s.heap[:0]
			return false
		}
		in.ready = false
		s.last = -1
		s.settle()
	}
	for len(s.heap) > 0 && s.heap[0].lazy {
		s.settle()
	}
	if len(s.heap) == 0 {
		return false
	}
	return s.deliver(s.heap[0])
}

// deliver makes in's look-ahead frame, the earliest, the current one, and
// returns true.
func (s *Source) deliver(in *input) bool {
	s.last = in.idx
	s.number++
	s.cur = &in.head
	s.cur.Number = s.number
	s.cur.Stable = s.opt.Buffers != nil
	s.cur.Pos = 0
	if in.info != nil && s.cur.DataOffset > 0 && s.cur.DataOffset < 1<<posOffsetBits && in.idx < 1<<(64-posOffsetBits)-1 {
		s.cur.Pos = uint64(in.idx+1)<<posOffsetBits | uint64(s.cur.DataOffset)
	}
	return true
}

// posOffsetBits is how many low bits of a Frame.Pos hold the offset in the
// file; the bits above them hold the input's index plus one.
const posOffsetBits = 40

// ReadAt reads len(p) bytes at pos (a Frame.Pos, plus an offset into the
// frame) into p, from the file again, and reports whether it read them all.
// It is safe to call from any goroutine until Close. A file that is no
// longer the one first opened (replaced or rotated away) is not read.
func (s *Source) ReadAt(pos uint64, p []byte) bool {
	idx := int(pos>>posOffsetBits) - 1
	if idx < 0 || idx >= len(s.inputs) || s.inputs[idx].info == nil {
		return false
	}
	f := s.rereadFile(idx)
	if f == nil {
		return false
	}
	n, err := f.ReadAt(p, int64(pos&(1<<posOffsetBits-1)))
	return n == len(p) && (err == nil || err == io.EOF)
}

// rereadFile returns input idx's file opened for ReadAt, opening it on the
// first call; nil when it cannot be opened or is another file now.
func (s *Source) rereadFile(idx int) *os.File {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if f, ok := s.rereads[idx]; ok {
		return f
	}
	in := s.inputs[idx]
	f, err := os.Open(in.path)
	if err == nil {
		if st, serr := f.Stat(); serr != nil || !os.SameFile(st, in.info) {
			f.Close()
			f = nil
		}
	} else {
		f = nil
	}
	if s.rereads == nil {
		s.rereads = make(map[int]*os.File)
	}
	s.rereads[idx] = f // a failure is not tried again
	return f
}

// settle fills the heap's first input and moves it to its place, or takes
// it out of the heap when it has ended.
func (s *Source) settle() {
	in := s.heap[0]
	s.fill(in)
	if in.ready {
		s.down(0)
		return
	}
	last := len(s.heap) - 1
	s.heap[0] = s.heap[last]
	s.heap[last] = nil
	s.heap = s.heap[:last]
	s.down(0)
}

// Frame returns the current frame; it is overwritten by the next call to Next.
func (s *Source) Frame() *Frame {
	if s.cur == nil {
		return &Frame{}
	}
	return s.cur
}

// Err returns the first hard error (a corrupt file, a read error) once Next has
// returned false, or nil if every input ended cleanly or was merely cut short.
// Frames before the error were delivered; the other files were read to the end.
func (s *Source) Err() error { return s.err }

// Problems returns the non-fatal findings so far, and the hard errors too
// (marked Fatal), in the order found.
func (s *Source) Problems() []Problem { return s.problems }

// Close closes every input file.
func (s *Source) Close() error {
	var first error
	for _, in := range s.inputs {
		if err := closeAll(in.closers); err != nil && first == nil {
			first = err
		}
		in.closers, in.rd = nil, nil
	}
	s.rmu.Lock()
	for _, f := range s.rereads {
		if f != nil {
			f.Close()
		}
	}
	s.rereads = nil
	s.rmu.Unlock()
	return first
}
