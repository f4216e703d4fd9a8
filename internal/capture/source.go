package capture

import (
	"errors"
	"io"
	"os"
)

// input is one opened file of a Source with its look-ahead frame.
type input struct {
	name     string
	rd       recordReader
	closers  []io.Closer
	head     Frame // the next frame of this input, valid when ready
	ready    bool
	done     bool
	problems int // warnings recorded so far
}

// Source delivers the frames of one or more capture files as a single stream
// in timestamp order (like mergecap: ties go to the earlier file, and frames of
// one file keep their file order).
type Source struct {
	opt      Options
	bufSize  int // each input's read buffer (bufSizeFor)
	inputs   []*input
	cur      *Frame // the frame delivered last: the head of its input, not a copy
	last     int    // index of the input whose frame was delivered last, -1 if none
	number   uint64
	err      error
	problems []Problem
}

// Open opens the named capture files ("-" is standard input) and sniffs their
// formats. It fails, naming the file, when a file is missing or unreadable, is
// not a capture, or is in an unsupported format; it then closes what it opened.
func Open(names []string, opt Options) (*Source, error) {
	if len(names) == 0 {
		return nil, errors.New("capture: no input files")
	}
	s := &Source{opt: opt, bufSize: bufSizeFor(len(names), opt), last: -1}
	for _, name := range names {
		in, err := s.open(name)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.inputs = append(s.inputs, in)
	}
	return s, nil
}

// OpenReader opens one capture from r, shown in messages as name.
func OpenReader(r io.Reader, name string, opt Options) (*Source, error) {
	s := &Source{opt: opt, bufSize: bufSizeFor(1, opt), last: -1}
	in := &input{name: name}
	if err := s.attach(in, r); err != nil {
		closeAll(in.closers)
		return nil, err
	}
	s.inputs = append(s.inputs, in)
	return s, nil
}

func (s *Source) open(name string) (*input, error) {
	in := &input{name: name}
	var r io.Reader
	if name == "-" {
		in.name = "stdin"
		r = os.Stdin
		if s.opt.Stdin != nil {
			r = s.opt.Stdin
		}
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, &InputError{File: name, Offset: -1, Msg: "cannot open", Err: err}
		}
		if st, err := f.Stat(); err == nil && st.IsDir() {
			f.Close()
			return nil, &InputError{File: name, Offset: -1, Msg: "is a directory, not a capture file", Err: ErrNotCapture}
		}
		in.closers = append(in.closers, f)
		r = f
	}
	if err := s.attach(in, r); err != nil {
		closeAll(in.closers)
		return nil, err
	}
	return in, nil
}

func (s *Source) attach(in *input, r io.Reader) error {
	warn := func(rec uint64, off int64, msg string) { s.warn(in, rec, off, msg) }
	rd, c, err := sniff(r, in.name, s.opt, s.bufSize, warn)
	if c != nil {
		in.closers = append(in.closers, c)
	}
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			return err
		}
		return &InputError{File: in.name, Offset: -1, Msg: "cannot read", Err: err}
	}
	in.rd = rd
	return nil
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

// fill reads the look-ahead frame of in, if it has none.
func (s *Source) fill(in *input) {
	if in.ready || in.done {
		return
	}
	err := in.rd.next(&in.head)
	if err == nil {
		in.ready = true
		return
	}
	in.done = true
	if err == io.EOF {
		return
	}
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

// Next advances to the next frame in timestamp order and reports whether there
// is one. The previous frame's Data becomes invalid.
func (s *Source) Next() bool {
	if s.last >= 0 {
		s.inputs[s.last].ready = false
	}
	best := -1
	for i, in := range s.inputs {
		s.fill(in)
		if !in.ready {
			continue
		}
		if best < 0 || in.head.Time < s.inputs[best].head.Time {
			best = i
		}
	}
	s.last = best
	if best < 0 {
		return false
	}
	s.number++
	s.cur = &s.inputs[best].head
	s.cur.Number = s.number
	s.cur.Stable = s.opt.Buffers != nil
	return true
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
		in.closers = nil
	}
	return first
}
