package capture

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"
)

// Sentinel errors that classify an InputError; test them with errors.Is.
var (
	// ErrNotCapture means the input is not a packet capture at all.
	ErrNotCapture = errors.New("not a capture file")
	// ErrUnsupported means the input is a capture in a format or version this package does not read.
	ErrUnsupported = errors.New("unsupported capture format")
	// ErrCorrupt means a record or block header in the input is invalid.
	ErrCorrupt = errors.New("corrupt capture")
	// ErrCutShort means the input ends in the middle of a record.
	ErrCutShort = errors.New("capture cut short")
)

// InputError describes a problem with one input file: which file, where in it
// (record number and/or byte offset, when known) and what is wrong. Err classifies
// it (one of the sentinel errors, or the underlying I/O error).
type InputError struct {
	File   string
	Record uint64 // 1-based record number, 0 when the error is not about a record
	Offset int64  // byte offset in the (decompressed) file, -1 when unknown
	Msg    string
	Err    error
}

// Error formats the error as "file: record N at offset X: message[: cause]".
func (e *InputError) Error() string {
	var b strings.Builder
	writeLocation(&b, e.File, e.Record, e.Offset)
	b.WriteString(e.Msg)
	if e.Err != nil && !isSentinel(e.Err) {
		if e.Msg != "" {
			b.WriteString(": ")
		}
		var pe *fs.PathError
		if errors.As(e.Err, &pe) {
			b.WriteString(pe.Err.Error())
		} else {
			b.WriteString(e.Err.Error())
		}
	}
	return b.String()
}

// Unwrap returns the classifying error.
func (e *InputError) Unwrap() error { return e.Err }

func isSentinel(err error) bool {
	return err == ErrNotCapture || err == ErrUnsupported || err == ErrCorrupt || err == ErrCutShort
}

func writeLocation(b *strings.Builder, file string, record uint64, offset int64) {
	b.WriteString(file)
	b.WriteString(": ")
	if record > 0 {
		b.WriteString("record ")
		b.WriteString(strconv.FormatUint(record, 10))
		if offset >= 0 {
			b.WriteString(" at offset ")
			b.WriteString(strconv.FormatInt(offset, 10))
		}
		b.WriteString(": ")
	} else if offset >= 0 {
		b.WriteString("offset ")
		b.WriteString(strconv.FormatInt(offset, 10))
		b.WriteString(": ")
	}
}

// Problem is a finding about the input: a warning (Fatal false) such as a file cut
// short or an invalid timestamp, or the hard error that stopped reading a file.
type Problem struct {
	File   string
	Record uint64
	Offset int64
	Msg    string
	Fatal  bool
	// Err classifies the problem (ErrCutShort, ErrCorrupt, …) when it stopped a
	// file; it is nil for warnings that did not.
	Err error
}

// Error formats the problem like an InputError.
func (p Problem) Error() string {
	var b strings.Builder
	writeLocation(&b, p.File, p.Record, p.Offset)
	b.WriteString(p.Msg)
	return b.String()
}
