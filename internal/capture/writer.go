package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// PcapWriter writes frames as a classic pcap file (little-endian, version 2.4)
// that Open reads back, so a live capture can be analyzed again later. It
// buffers: call Flush at the end.
type PcapWriter struct {
	w       *bufio.Writer
	nano    bool
	snapLen int
	hdr     [pcapRecordHeaderLen]byte
	err     error
	records uint64
}

// NewPcapWriter writes the file header to w: linkType is a LINKTYPE_* value,
// snapLen the capture's snapshot length (DefaultMaxCapLen when not positive),
// and nano picks nanosecond timestamps (else microseconds). Frames longer than
// snapLen are cut to it.
func NewPcapWriter(w io.Writer, linkType uint16, snapLen int, nano bool) (*PcapWriter, error) {
	if snapLen <= 0 {
		snapLen = DefaultMaxCapLen
	}
	p := &PcapWriter{w: bufio.NewWriterSize(w, 64<<10), nano: nano, snapLen: snapLen}
	var h [pcapFileHeaderLen]byte
	magic := uint32(pcapMagicMicro)
	if nano {
		magic = pcapMagicNano
	}
	le := binary.LittleEndian
	le.PutUint32(h[0:], magic)
	le.PutUint16(h[4:], 2)
	le.PutUint16(h[6:], 4)
	// thiszone and sigfigs (h[8:16]) stay zero.
	le.PutUint32(h[16:], uint32(snapLen))
	le.PutUint32(h[20:], uint32(linkType))
	if _, err := p.w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("writing pcap header: %w", err)
	}
	return p, nil
}

// WriteFrame appends one record. After a write error every later call returns
// that error.
func (p *PcapWriter) WriteFrame(fr *Frame) error {
	if p.err != nil {
		return p.err
	}
	data := fr.Data
	if len(data) > p.snapLen {
		data = data[:p.snapLen]
	}
	orig := fr.OrigLen
	if orig < len(fr.Data) {
		orig = len(fr.Data)
	}
	t := fr.Time
	if t < 0 {
		t = 0 // the format has no time before 1970
	}
	sec, frac := t/1e9, t%1e9
	if !p.nano {
		frac /= 1e3
	}
	le := binary.LittleEndian
	le.PutUint32(p.hdr[0:], uint32(sec))
	le.PutUint32(p.hdr[4:], uint32(frac))
	le.PutUint32(p.hdr[8:], uint32(len(data)))
	le.PutUint32(p.hdr[12:], uint32(orig))
	if _, err := p.w.Write(p.hdr[:]); err != nil {
		p.err = fmt.Errorf("writing pcap record %d: %w", p.records+1, err)
		return p.err
	}
	if _, err := p.w.Write(data); err != nil {
		p.err = fmt.Errorf("writing pcap record %d: %w", p.records+1, err)
		return p.err
	}
	p.records++
	return nil
}

// Records returns the number of records written.
func (p *PcapWriter) Records() uint64 { return p.records }

// Flush writes out what is buffered.
func (p *PcapWriter) Flush() error {
	if p.err != nil {
		return p.err
	}
	if err := p.w.Flush(); err != nil {
		p.err = fmt.Errorf("writing pcap file: %w", err)
		return p.err
	}
	return nil
}
