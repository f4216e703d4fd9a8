package pcapgen

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// Magic numbers of the classic pcap file header.
const (
	MagicMicro uint32 = 0xa1b2c3d4
	MagicNano  uint32 = 0xa1b23c4d
)

// DefaultSnaplen is the snapshot length used when none is given.
const DefaultSnaplen = 262144

// PcapOptions configures a classic pcap file.
type PcapOptions struct {
	Link      LinkType
	Nano      bool   // nanosecond timestamps (MagicNano) instead of microseconds
	BigEndian bool   // write the header and records big-endian
	Snaplen   uint32 // frames longer than this are cut; DefaultSnaplen when zero
}

// PcapWriter writes a classic pcap file. Each record goes to the underlying
// writer in a single Write call.
type PcapWriter struct {
	w       io.Writer
	order   binary.AppendByteOrder
	nano    bool
	snaplen uint32
	rec     []byte
}

func byteOrder(big bool) binary.AppendByteOrder {
	if big {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// NewPcapWriter writes the file header to w and returns a writer for the records.
func NewPcapWriter(w io.Writer, o PcapOptions) (*PcapWriter, error) {
	p := &PcapWriter{w: w, order: byteOrder(o.BigEndian), nano: o.Nano, snaplen: o.Snaplen}
	if p.snaplen == 0 {
		p.snaplen = DefaultSnaplen
	}
	magic := MagicMicro
	if o.Nano {
		magic = MagicNano
	}
	h := make([]byte, 0, 24)
	h = p.order.AppendUint32(h, magic)
	h = p.order.AppendUint16(h, 2)
	h = p.order.AppendUint16(h, 4)
	h = p.order.AppendUint32(h, 0) // thiszone
	h = p.order.AppendUint32(h, 0) // sigfigs
	h = p.order.AppendUint32(h, p.snaplen)
	h = p.order.AppendUint32(h, uint32(o.Link))
	if _, err := w.Write(h); err != nil {
		return nil, fmt.Errorf("pcap: write file header: %w", err)
	}
	return p, nil
}

// WritePacket writes one record holding frame, cut to the snapshot length; the
// record's original length is len(frame).
func (p *PcapWriter) WritePacket(ts time.Time, frame []byte) error {
	caplen := min(uint32(len(frame)), p.snaplen)
	frac := uint32(ts.Nanosecond())
	if !p.nano {
		frac /= 1000
	}
	r := p.rec[:0]
	r = p.order.AppendUint32(r, uint32(ts.Unix()))
	r = p.order.AppendUint32(r, frac)
	r = p.order.AppendUint32(r, caplen)
	r = p.order.AppendUint32(r, uint32(len(frame)))
	r = append(r, frame[:caplen]...)
	p.rec = r
	if _, err := p.w.Write(r); err != nil {
		return fmt.Errorf("pcap: write record: %w", err)
	}
	return nil
}
