package capture

import (
	"encoding/binary"
	"fmt"
	"io"
)

// The Solaris snoop format (RFC 1761): a 16-byte file header ("snoop\0\0\0",
// version, datalink type) and records of 24-byte headers (original length,
// included length, record length, cumulative drops, seconds, microseconds)
// followed by the packet and padding up to the record length. Everything is
// big-endian.
const (
	snoopFileHeaderLen   = 16
	snoopRecordHeaderLen = 24
)

// snoopLinkTypes maps snoop datalink codes to LINKTYPE values.
var snoopLinkTypes = map[uint32]uint16{
	4: LinkTypeEthernet, // DL_ETHER
	8: LinkTypeFDDI,     // DL_FDDI
}

// snoopReader reads the records of a snoop file.
type snoopReader struct {
	in       *bufReader
	name     string
	linkType uint16
	limit    int
	record   uint64
	warn     warnFunc
}

func newSnoopReader(in *bufReader, name string, opt Options, warn warnFunc) (*snoopReader, error) {
	h, err := in.next(snoopFileHeaderLen)
	if err != nil {
		return nil, &InputError{File: name, Offset: 0, Msg: fmt.Sprintf("snoop file header cut short: %d of %d bytes", len(h), snoopFileHeaderLen), Err: ErrCutShort}
	}
	if v := binary.BigEndian.Uint32(h[8:]); v != 2 {
		return nil, &InputError{File: name, Offset: 8, Msg: fmt.Sprintf("unsupported snoop version %d", v), Err: ErrUnsupported}
	}
	dl := binary.BigEndian.Uint32(h[12:])
	lt, ok := snoopLinkTypes[dl]
	if !ok {
		return nil, &InputError{File: name, Offset: 12, Msg: fmt.Sprintf("unsupported snoop datalink type %d", dl), Err: ErrUnsupported}
	}
	return &snoopReader{in: in, name: name, linkType: lt, limit: opt.maxCapLen(), warn: warn}, nil
}

// next reads the next record into f, like pcapReader.next.
func (r *snoopReader) next(f *Frame) error {
	off := r.in.off
	rec := r.record + 1
	h, err := r.in.next(snoopRecordHeaderLen)
	if err == io.EOF {
		return io.EOF
	}
	if err != nil {
		return cutShort(r.name, rec, off, len(h), snoopRecordHeaderLen, "record header", err)
	}
	r.record = rec
	origLen := binary.BigEndian.Uint32(h[0:])
	capLen := binary.BigEndian.Uint32(h[4:])
	recLen := binary.BigEndian.Uint32(h[8:])
	sec := binary.BigEndian.Uint32(h[16:])
	usec := binary.BigEndian.Uint32(h[20:])
	if capLen > uint32(r.limit) || recLen < snoopRecordHeaderLen+capLen || recLen-snoopRecordHeaderLen-capLen > 1<<16 {
		return &InputError{File: r.name, Record: rec, Offset: off,
			Msg: fmt.Sprintf("impossible record lengths (included %d, record %d)", capLen, recLen), Err: ErrCorrupt}
	}
	if capLen > origLen {
		r.warn(rec, off, fmt.Sprintf("captured length %d exceeds original length %d", capLen, origLen))
		origLen = capLen
	}
	if usec >= 1e6 {
		r.warn(rec, off, fmt.Sprintf("invalid microsecond field %d", usec))
	}
	// The packet and its padding are read together: a later read may move
	// the buffer under a slice returned before.
	body, err := r.in.next(int(recLen - snoopRecordHeaderLen))
	if err != nil {
		if len(body) < int(capLen) {
			return cutShort(r.name, rec, off, snoopRecordHeaderLen+len(body), int(recLen), "record", err)
		}
		// Only padding is missing at the end of the file: the packet is whole.
	}
	data := body[:capLen]
	*f = Frame{Data: data, CapLen: len(data), OrigLen: int(origLen),
		Time: int64(sec)*1e9 + int64(usec)*1000, LinkType: r.linkType, File: r.name, Record: rec, Offset: off,
		DataOffset: off + snoopRecordHeaderLen}
	return nil
}
