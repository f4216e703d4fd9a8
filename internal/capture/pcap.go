package capture

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Magic numbers of the classic pcap format, as read big-endian from the file's
// first four bytes.
const (
	pcapMagicMicro        = 0xa1b2c3d4
	pcapMagicNano         = 0xa1b23c4d
	pcapMagicMicroSwapped = 0xd4c3b2a1
	pcapMagicNanoSwapped  = 0x4d3cb2a1
	pcapMagicModified     = 0xa1b2cd34 // Alexey Kuznetzov's patched libpcap
	pcapMagicModifiedSwap = 0x34cdb2a1
)

const (
	pcapFileHeaderLen   = 24
	pcapRecordHeaderLen = 16
)

// pcapReader reads the records of a classic pcap file.
type pcapReader struct {
	in       *bufReader
	name     string
	order    endian
	nano     bool
	linkType uint16
	snapLen  uint32
	limit    int
	record   uint64
	warn     warnFunc
}

// warnFunc records a non-fatal problem.
type warnFunc func(record uint64, offset int64, msg string)

func newPcapReader(in *bufReader, name string, opt Options, warn warnFunc) (*pcapReader, error) {
	h, err := in.next(pcapFileHeaderLen)
	if err != nil {
		return nil, &InputError{File: name, Offset: 0, Msg: fmt.Sprintf("pcap file header cut short: %d of %d bytes", len(h), pcapFileHeaderLen), Err: ErrCutShort}
	}
	r := &pcapReader{in: in, name: name, limit: opt.maxCapLen(), warn: warn}
	switch binary.BigEndian.Uint32(h) {
	case pcapMagicMicro:
		r.order = bigEndian
	case pcapMagicNano:
		r.order, r.nano = bigEndian, true
	case pcapMagicMicroSwapped:
		r.order = littleEndian
	case pcapMagicNanoSwapped:
		r.order, r.nano = littleEndian, true
	default:
		return nil, &InputError{File: name, Offset: 0, Msg: "bad pcap magic", Err: ErrNotCapture}
	}
	major, minor := r.order.Uint16(h[4:]), r.order.Uint16(h[6:])
	if major != 2 {
		return nil, &InputError{File: name, Offset: 4, Msg: fmt.Sprintf("unsupported pcap version %d.%d", major, minor), Err: ErrUnsupported}
	}
	r.snapLen = r.order.Uint32(h[16:])
	// The upper bits of the link-type field carry FCS information (and a
	// reserved field); the link type proper is the low 16 bits.
	r.linkType = uint16(r.order.Uint32(h[20:]))
	return r, nil
}

// next reads the next record into f. It returns io.EOF at a clean end of file,
// an *InputError wrapping ErrCutShort when the file ends inside a record, and an
// *InputError wrapping ErrCorrupt for an impossible record header.
func (r *pcapReader) next(f *Frame) error {
	// The common case first: the whole record is in the buffer and its
	// header is sound. It takes both slices at once, without bufReader.next's
	// two calls and the checks a short or bad record needs; anything else
	// goes the long way, which reports it (TestPcapFastPathMatchesSlow).
	in := r.in
	if avail := in.end - in.start; avail >= pcapRecordHeaderLen {
		sec, frac, capLen, origLen := r.header(in.buf[in.start : in.start+pcapRecordHeaderLen])
		unit, maxFrac := r.units()
		if capLen <= origLen && capLen <= uint32(r.limit) && frac < maxFrac && uint64(capLen) <= uint64(avail-pcapRecordHeaderLen) {
			off := in.off
			start := in.start + pcapRecordHeaderLen
			end := start + int(capLen)
			in.start, in.off = end, off+pcapRecordHeaderLen+int64(capLen)
			r.record++
			r.setFrame(f, in.buf[start:end], origLen, int64(sec)*1e9+int64(frac)*unit, r.record, off)
			return nil
		}
	}
	return r.nextSlow(f)
}

// nextSlow is next for a record that is not whole in the buffer, or whose
// header next's fast path leaves to it: it reads and checks it field by field.
func (r *pcapReader) nextSlow(f *Frame) error {
	off := r.in.off
	rec := r.record + 1
	h, err := r.in.next(pcapRecordHeaderLen)
	if err == io.EOF {
		return io.EOF
	}
	if err != nil {
		return cutShort(r.name, rec, off, len(h), pcapRecordHeaderLen, "record header", err)
	}
	r.record = rec
	sec, frac, capLen, origLen := r.header(h)
	if capLen > uint32(r.limit) {
		return &InputError{File: r.name, Record: rec, Offset: off,
			Msg: fmt.Sprintf("captured length %d exceeds the limit %d", capLen, r.limit), Err: ErrCorrupt}
	}
	if capLen > origLen {
		r.warn(rec, off, fmt.Sprintf("captured length %d exceeds original length %d", capLen, origLen))
		origLen = capLen
	}
	unit, max := r.units()
	if frac >= max {
		r.warn(rec, off, fmt.Sprintf("invalid sub-second timestamp field %d (must be below %d)", frac, max))
	}
	data, err := r.in.next(int(capLen))
	if err != nil {
		return cutShort(r.name, rec, off, pcapRecordHeaderLen+len(data), pcapRecordHeaderLen+int(capLen), "record", err)
	}
	r.setFrame(f, data, origLen, int64(sec)*1e9+int64(frac)*unit, rec, off)
	return nil
}

// header returns the fields of a record header h: the seconds, the
// sub-second field, the captured and the original length.
func (r *pcapReader) header(h []byte) (sec, frac, capLen, origLen uint32) {
	_ = h[15]
	if r.order.big {
		return binary.BigEndian.Uint32(h[0:]), binary.BigEndian.Uint32(h[4:]),
			binary.BigEndian.Uint32(h[8:]), binary.BigEndian.Uint32(h[12:])
	}
	return binary.LittleEndian.Uint32(h[0:]), binary.LittleEndian.Uint32(h[4:]),
		binary.LittleEndian.Uint32(h[8:]), binary.LittleEndian.Uint32(h[12:])
}

// units returns what the sub-second field counts, in nanoseconds, and the
// bound it must stay below.
func (r *pcapReader) units() (unit int64, max uint32) {
	if r.nano {
		return 1, 1e9
	}
	return 1000, 1e6
}

// setFrame fills f with record rec, found at offset off: its data, its
// original length and its capture time t.
func (r *pcapReader) setFrame(f *Frame, data []byte, origLen uint32, t int64, rec uint64, off int64) {
	// Field by field, not *f = Frame{...}: the literal is built on the
	// stack and copied in 16-byte moves that wait for its narrower stores
	// (docs/performance.md, session 11).
	f.Data, f.CapLen, f.OrigLen = data, len(data), int(origLen)
	f.Time = t
	f.LinkType, f.File, f.Record, f.Offset = r.linkType, r.name, rec, off
	f.DataOffset, f.Pos = off+pcapRecordHeaderLen, 0
	f.Number, f.Stable = 0, false
}

// cutShort builds the error for a file that ends (or fails to read) inside a
// record: got of want bytes of it were present.
func cutShort(name string, rec uint64, off int64, got, want int, what string, err error) error {
	if err != io.EOF && err != io.ErrUnexpectedEOF {
		return &InputError{File: name, Record: rec, Offset: off, Msg: "read error in " + what, Err: err}
	}
	return &InputError{File: name, Record: rec, Offset: off,
		Msg: fmt.Sprintf("file cut short in the middle of the %s: %d of %d bytes", what, got, want),
		Err: ErrCutShort}
}
