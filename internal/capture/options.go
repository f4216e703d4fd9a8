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
