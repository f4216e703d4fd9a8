package pcapgen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// pcapng block types and option codes.
const (
	blockSHB      uint32 = 0x0a0d0d0a
	blockIDB      uint32 = 1
	blockSPB      uint32 = 3
	blockEPB      uint32 = 6
	byteOrderMagc uint32 = 0x1a2b3c4d
	optEnd        uint16 = 0
	optComment    uint16 = 1
	optShbUserApp uint16 = 4
	optIfName     uint16 = 2
	optIfTsresol  uint16 = 9
)

// Interface is one pcapng interface (Interface Description Block).
type Interface struct {
	Link    LinkType
	Nano    bool   // if_tsresol 9 (nanoseconds) instead of 6 (microseconds)
	Snaplen uint32 // DefaultSnaplen when zero
	Name    string // if_name, omitted when empty
}

// PcapngOptions configures a pcapng file of one section.
type PcapngOptions struct {
	BigEndian  bool
	Comment    string // section comment, omitted when empty
	App        string // shb_userappl, omitted when empty
	Interfaces []Interface
}

// PcapngWriter writes a pcapng file: one Section Header Block, one Interface
// Description Block per interface, then packet blocks. Each block goes to the
// underlying writer in a single Write call.
type PcapngWriter struct {
	w      io.Writer
	order  binary.AppendByteOrder
	ifaces []Interface
	rec    []byte
}

// ErrNoInterface is returned for a packet on an interface the file does not describe.
var ErrNoInterface = errors.New("pcapng: no such interface")

// NewPcapngWriter writes the section header and interface descriptions to w.
func NewPcapngWriter(w io.Writer, o PcapngOptions) (*PcapngWriter, error) {
	p := &PcapngWriter{w: w, order: byteOrder(o.BigEndian), ifaces: append([]Interface(nil), o.Interfaces...)}
	if len(p.ifaces) == 0 {
		p.ifaces = []Interface{{Link: LinkEthernet}}
	}
	for i := range p.ifaces {
		if p.ifaces[i].Snaplen == 0 {
			p.ifaces[i].Snaplen = DefaultSnaplen
		}
	}
	// Section Header Block.
	b := p.begin(blockSHB)
	b = p.order.AppendUint32(b, byteOrderMagc)
	b = p.order.AppendUint16(b, 1)
	b = p.order.AppendUint16(b, 0)
	b = p.order.AppendUint64(b, ^uint64(0)) // section length unknown
	if o.Comment != "" {
		b = p.option(b, optComment, []byte(o.Comment))
	}
	if o.App != "" {
		b = p.option(b, optShbUserApp, []byte(o.App))
	}
	if o.Comment != "" || o.App != "" {
		b = p.option(b, optEnd, nil)
	}
	if err := p.end(b); err != nil {
		return nil, err
	}
	for _, ifc := range p.ifaces {
		b := p.begin(blockIDB)
		b = p.order.AppendUint16(b, uint16(ifc.Link))
		b = p.order.AppendUint16(b, 0)
		b = p.order.AppendUint32(b, ifc.Snaplen)
		if ifc.Name != "" {
			b = p.option(b, optIfName, []byte(ifc.Name))
		}
		res := byte(6)
		if ifc.Nano {
			res = 9
		}
		b = p.option(b, optIfTsresol, []byte{res})
		b = p.option(b, optEnd, nil)
		if err := p.end(b); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// begin starts a block of type typ in the record buffer, with its length to be
// filled in by end.
func (p *PcapngWriter) begin(typ uint32) []byte {
	b := p.order.AppendUint32(p.rec[:0], typ)
	return p.order.AppendUint32(b, 0)
}

// option appends one option, padded to 4 bytes.
func (p *PcapngWriter) option(b []byte, code uint16, val []byte) []byte {
	b = p.order.AppendUint16(b, code)
	b = p.order.AppendUint16(b, uint16(len(val)))
	return pad4(append(b, val...))
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// end writes the block length at both ends and writes the block.
func (p *PcapngWriter) end(b []byte) error {
	n := uint32(len(b) + 4)
	b = p.order.AppendUint32(b, n)
	var tmp [4]byte
	copy(b[4:8], p.order.AppendUint32(tmp[:0], n))
	p.rec = b
	if _, err := p.w.Write(b); err != nil {
		return fmt.Errorf("pcapng: write block: %w", err)
	}
	return nil
}

// WritePacket writes frame as an Enhanced Packet Block on interface iface.
func (p *PcapngWriter) WritePacket(iface int, ts time.Time, frame []byte) error {
	return p.WritePacketComment(iface, ts, frame, "")
}

// WritePacketComment writes an Enhanced Packet Block with an opt_comment option
// (none when comment is empty).
func (p *PcapngWriter) WritePacketComment(iface int, ts time.Time, frame []byte, comment string) error {
	if iface < 0 || iface >= len(p.ifaces) {
		return fmt.Errorf("packet on interface %d of %d: %w", iface, len(p.ifaces), ErrNoInterface)
	}
	ifc := &p.ifaces[iface]
	caplen := min(uint32(len(frame)), ifc.Snaplen)
	t := uint64(ts.UnixNano())
	if !ifc.Nano {
		t /= 1000
	}
	b := p.begin(blockEPB)
	b = p.order.AppendUint32(b, uint32(iface))
	b = p.order.AppendUint32(b, uint32(t>>32))
	b = p.order.AppendUint32(b, uint32(t))
	b = p.order.AppendUint32(b, caplen)
	b = p.order.AppendUint32(b, uint32(len(frame)))
	b = pad4(append(b, frame[:caplen]...))
	if comment != "" {
		b = p.option(b, optComment, []byte(comment))
		b = p.option(b, optEnd, nil)
	}
	return p.end(b)
}

// WriteSimplePacket writes frame as a Simple Packet Block, which belongs to
// interface 0 and carries no timestamp.
func (p *PcapngWriter) WriteSimplePacket(frame []byte) error {
	caplen := min(uint32(len(frame)), p.ifaces[0].Snaplen)
	b := p.begin(blockSPB)
	b = p.order.AppendUint32(b, uint32(len(frame)))
	b = pad4(append(b, frame[:caplen]...))
	return p.end(b)
}
