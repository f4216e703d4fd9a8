package capture

import "io"

// DefaultMaxCapLen is the largest captured length accepted for one record
// unless Options.MaxCapLen says otherwise (libpcap's limit for most link types).
const DefaultMaxCapLen = 262144

// Options controls how a Source reads its inputs.
type Options struct {
	// MaxCapLen is the largest captured length accepted for one record; a
	// larger one is taken as a corrupt record header. Zero means DefaultMaxCapLen.
	MaxCapLen int
	// MaxProblems bounds the warnings kept per file; zero means 100. The stop
	// of a file (cut short or corrupt) is always kept.
	MaxProblems int
	// Stdin replaces os.Stdin for the name "-" (for tests).
	Stdin io.Reader
	// Buffers, when set, lends the buffers the frames are read into, and
	// the frames stay valid after Next (Frame.Stable) until Buffers' owner
	// lets the buffer they are in be lent again. A pipeline that hands frames
	// to other goroutines then needs no copy of their bytes.
	Buffers BufferPool
}

// BufferPool lends read buffers to a Source (Options.Buffers).
type BufferPool interface {
	// Buffer returns a buffer of at least n bytes to read into.
	Buffer(n int) []byte
	// Retire takes back a buffer the Source has moved on from; frames in it
	// must stay readable until the pool's owner no longer needs them.
	Retire(b []byte)
}

func (o Options) maxCapLen() int {
	if o.MaxCapLen > 0 {
		return o.MaxCapLen
	}
	return DefaultMaxCapLen
}

func (o Options) maxProblems() int {
	if o.MaxProblems > 0 {
		return o.MaxProblems
	}
	return 100
}
