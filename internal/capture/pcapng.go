package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
)

// pcapng block types.
const (
	ngBlockSHB       = 0x0A0D0D0A
	ngBlockIDB       = 0x00000001
	ngBlockPB        = 0x00000002 // obsolete Packet Block
	ngBlockSPB       = 0x00000003
	ngBlockEPB       = 0x00000006
	ngByteOrderMagic = 0x1A2B3C4D
	ngMaxBlockLen    = 64 << 20
)

// ngInterface is what the reader keeps of an Interface Description Block.
type ngInterface struct {
	linkType uint16
	snapLen  uint32
	// The timestamp unit is 10^-exp (pow2 false) or 2^-exp (pow2 true) seconds.
	exp      uint8
	pow2     bool
	offsetNS int64 // if_tsoffset, converted to nanoseconds
	// mul is what a timestamp multiplies by to give nanoseconds, for the
	// decimal units of a nanosecond or more (0 otherwise), and maxTS the
	// largest timestamp whose product does not overflow: next's fast
	// path converts with them, and leaves others to toNanos.
	mul, maxTS uint64
}

// pcapngReader reads the packet records of a pcapng file, across sections.
type pcapngReader struct {
	in     *bufReader
	name   string
	order  endian
	ifaces []ngInterface
	limit  int
	record uint64
	last   int64 // time of the previous packet, for SPBs (which have none)
	warn   warnFunc
}

func newPcapngReader(in *bufReader, name string, opt Options, warn warnFunc) (*pcapngReader, error) {
	r := &pcapngReader{in: in, name: name, limit: opt.maxCapLen(), warn: warn}
	// The first block must be a section header: check its byte order and
	// version now so that Open rejects files it cannot read.
	h := in.peek(16)
	if len(h) < 16 {
		return nil, &InputError{File: name, Offset: 0, Msg: fmt.Sprintf("pcapng section header cut short: %d of at least 28 bytes", len(h)), Err: ErrCutShort}
	}
	if err := r.checkSHB(h, 0); err != nil {
		return nil, err
	}
	if major, minor := r.order.Uint16(h[12:]), r.order.Uint16(h[14:]); major != 1 {
		return nil, &InputError{File: name, Offset: 0, Msg: fmt.Sprintf("unsupported pcapng version %d.%d", major, minor), Err: ErrUnsupported}
	}
	return r, nil
}

// checkSHB sets the byte order from a section header's first 12 bytes.
func (r *pcapngReader) checkSHB(h []byte, off int64) error {
	switch binary.BigEndian.Uint32(h[8:]) {
	case ngByteOrderMagic:
		r.order = bigEndian
	case 0x4D3C2B1A:
		r.order = littleEndian
	default:
		return &InputError{File: r.name, Offset: off, Msg: fmt.Sprintf("pcapng section header has a bad byte-order magic 0x%08x", binary.BigEndian.Uint32(h[8:])), Err: ErrCorrupt}
	}
	return nil
}

// ngEPBHeaderLen is the length of an Enhanced Packet Block before its
// packet data: the block's type and length, the interface, the timestamp's
// two halves and the two lengths.
const ngEPBHeaderLen = 28

// next reads blocks until it finds a packet and fills f with it.
func (r *pcapngReader) next(f *Frame) error {
	// The common case first: an Enhanced Packet Block whole in the buffer,
	// sound, on an interface whose timestamps convert by a product. It is
	// read in place, without nextSlow's checks field by field, the block's
	// bounds taken twice and the error closures, which made a pcapng file
	// cost 0.05-0.10 CPU-s more than the same packets as pcap on the 2 M
	// mix (docs/performance.md, session 24). Anything else goes the long
	// way, which reports it (TestPcapngFastPathMatchesSlow).
	in := r.in
	if avail := in.end - in.start; avail >= ngEPBHeaderLen+4 {
		b := in.buf[in.start:in.end]
		h := b[:ngEPBHeaderLen]
		typ, length := r.order.Uint32(h), r.order.Uint32(h[4:])
		ifID, capLen, origLen := r.order.Uint32(h[8:]), r.order.Uint32(h[20:]), r.order.Uint32(h[24:])
		if typ == ngBlockEPB && length%4 == 0 && uint64(length) <= uint64(avail) && length <= ngMaxBlockLen &&
			uint64(capLen)+ngEPBHeaderLen+4 <= uint64(length) && capLen <= origLen && capLen <= uint32(r.limit) &&
			uint64(ifID) < uint64(len(r.ifaces)) && r.order.Uint32(b[length-4:]) == length {
			ifc := &r.ifaces[ifID]
			ts := uint64(r.order.Uint32(h[12:]))<<32 | uint64(r.order.Uint32(h[16:]))
			if ifc.mul != 0 && ts <= ifc.maxTS {
				off := in.off
				t := int64(ts*ifc.mul) + ifc.offsetNS
				in.start += int(length)
				in.off += int64(length)
				r.record++
				r.last = t
				// Field by field, as pcapReader.setFrame does.
				f.Data, f.CapLen, f.OrigLen = b[ngEPBHeaderLen:ngEPBHeaderLen+capLen], int(capLen), int(origLen)
				f.Time = t
				f.LinkType, f.File, f.Record, f.Offset = ifc.linkType, r.name, r.record, off
				f.DataOffset, f.Pos = off+ngEPBHeaderLen, 0
				f.Number, f.Stable = 0, false
				return nil
			}
		}
	}
	return r.nextSlow(f)
}

// nextSlow is next for the blocks its fast path leaves: every kind of
// block, checked field by field, cut short or not.
func (r *pcapngReader) nextSlow(f *Frame) error {
	for {
		off := r.in.off
		h := r.in.peek(12)
		if len(h) == 0 {
			if _, err := r.in.next(1); err != io.EOF {
				return cutShort(r.name, r.record+1, off, 0, 12, "block header", err)
			}
			return io.EOF
		}
		if len(h) < 8 {
			b, err := r.in.next(8)
			return cutShort(r.name, r.record+1, off, len(b), 8, "block header", err)
		}
		typ := r.order.Uint32(h)
		if typ == ngBlockSHB {
			if len(h) < 12 {
				b, err := r.in.next(12)
				return cutShort(r.name, r.record+1, off, len(b), 12, "section header", err)
			}
			if err := r.checkSHB(h, off); err != nil {
				return err
			}
		}
		length := r.order.Uint32(h[4:])
		if length < 12 || length%4 != 0 || length > ngMaxBlockLen {
			return &InputError{File: r.name, Record: r.record + 1, Offset: off,
				Msg: fmt.Sprintf("invalid block length %d for block type 0x%08x", length, typ), Err: ErrCorrupt}
		}
		switch typ {
		case ngBlockSHB, ngBlockIDB, ngBlockEPB, ngBlockSPB, ngBlockPB:
		default:
			// Name resolution, statistics, custom, decryption secrets and
			// unknown blocks carry no packets: skip them without buffering.
			if n, err := r.in.skip(int64(length)); err != nil {
				return cutShort(r.name, r.record+1, off, int(n), int(length), "block", err)
			}
			continue
		}
		b, err := r.in.next(int(length))
		if err != nil {
			return cutShort(r.name, r.record+1, off, len(b), int(length), "block", err)
		}
		if trail := r.order.Uint32(b[length-4:]); trail != length {
			return &InputError{File: r.name, Record: r.record + 1, Offset: off,
				Msg: fmt.Sprintf("block length %d does not match its trailing copy %d", length, trail), Err: ErrCorrupt}
		}
		body := b[8 : length-4]
		switch typ {
		case ngBlockSHB:
			if err := r.section(body, off); err != nil {
				return err
			}
		case ngBlockIDB:
			if err := r.iface(body, off); err != nil {
				return err
			}
		default:
			if err := r.packet(typ, body, off, f); err != nil {
				return err
			}
			return nil
		}
	}
}

func (r *pcapngReader) section(body []byte, off int64) error {
	if len(body) < 16 {
		return &InputError{File: r.name, Offset: off, Msg: "section header block too short", Err: ErrCorrupt}
	}
	major, minor := r.order.Uint16(body[4:]), r.order.Uint16(body[6:])
	if major != 1 {
		return &InputError{File: r.name, Offset: off, Msg: fmt.Sprintf("unsupported pcapng version %d.%d", major, minor), Err: ErrUnsupported}
	}
	r.ifaces = r.ifaces[:0]
	return nil
}

func (r *pcapngReader) iface(body []byte, off int64) error {
	if len(body) < 8 {
		return &InputError{File: r.name, Offset: off, Msg: "interface description block too short", Err: ErrCorrupt}
	}
	ifc := ngInterface{linkType: r.order.Uint16(body), snapLen: r.order.Uint32(body[4:]), exp: 6}
	opts := body[8:]
	for len(opts) >= 4 {
		code, n := r.order.Uint16(opts), int(r.order.Uint16(opts[2:]))
		if code == 0 {
			break
		}
		padded := (n + 3) &^ 3
		if 4+padded > len(opts) {
			r.warn(r.record+1, off, fmt.Sprintf("interface %d: option %d overruns the block; options ignored from there", len(r.ifaces), code))
			break
		}
		v := opts[4 : 4+n]
		switch {
		case code == 9 && n == 1: // if_tsresol
			ifc.pow2 = v[0]&0x80 != 0
			ifc.exp = v[0] & 0x7f
			if (ifc.pow2 && ifc.exp > 63) || (!ifc.pow2 && ifc.exp > 18) {
				return &InputError{File: r.name, Offset: off, Msg: fmt.Sprintf("interface %d: unsupported timestamp resolution 0x%02x", len(r.ifaces), v[0]), Err: ErrUnsupported}
			}
		case code == 14 && n == 8: // if_tsoffset, seconds
			ifc.offsetNS = int64(r.order.Uint64(v)) * 1e9
		}
		opts = opts[4+padded:]
	}
	if !ifc.pow2 && ifc.exp <= 9 {
		ifc.mul = pow10(9 - ifc.exp)
		ifc.maxTS = (1<<63 - 1) / ifc.mul
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

// packet decodes an EPB, SPB or PB body into f.
func (r *pcapngReader) packet(typ uint32, body []byte, off int64, f *Frame) error {
	rec := r.record + 1
	r.record = rec
	bad := func(msg string) error {
		return &InputError{File: r.name, Record: rec, Offset: off, Msg: msg, Err: ErrCorrupt}
	}
	var ifID uint32
	var tsHigh, tsLow, capLen, origLen uint32
	var data []byte
	var dataAt int64
	switch typ {
	case ngBlockEPB, ngBlockPB:
		if len(body) < 20 {
			return bad("packet block too short")
		}
		if typ == ngBlockEPB {
			ifID = r.order.Uint32(body)
		} else {
			ifID = uint32(r.order.Uint16(body))
		}
		tsHigh, tsLow = r.order.Uint32(body[4:]), r.order.Uint32(body[8:])
		capLen, origLen = r.order.Uint32(body[12:]), r.order.Uint32(body[16:])
		if uint64(capLen) > uint64(len(body)-20) {
			return bad(fmt.Sprintf("captured length %d exceeds the block (%d bytes of data)", capLen, len(body)-20))
		}
		data = body[20 : 20+capLen]
		dataAt = off + 8 + 20
	case ngBlockSPB:
		if len(body) < 4 {
			return bad("simple packet block too short")
		}
		origLen = r.order.Uint32(body)
		data = body[4:]
		dataAt = off + 8 + 4
		if uint64(len(data)) > uint64(origLen) {
			data = data[:origLen]
		}
		if len(r.ifaces) > 0 && r.ifaces[0].snapLen > 0 && uint64(len(data)) > uint64(r.ifaces[0].snapLen) {
			data = data[:r.ifaces[0].snapLen]
		}
		capLen = uint32(len(data))
	}
	if uint64(ifID) >= uint64(len(r.ifaces)) {
		return bad(fmt.Sprintf("packet refers to interface %d but the section has %d", ifID, len(r.ifaces)))
	}
	if capLen > uint32(r.limit) {
		return bad(fmt.Sprintf("captured length %d exceeds the limit %d", capLen, r.limit))
	}
	if capLen > origLen {
		r.warn(rec, off, fmt.Sprintf("captured length %d exceeds original length %d", capLen, origLen))
		origLen = capLen
	}
	ifc := &r.ifaces[ifID]
	t := r.last
	if typ != ngBlockSPB {
		t = ifc.toNanos(uint64(tsHigh)<<32|uint64(tsLow)) + ifc.offsetNS
		r.last = t
	}
	*f = Frame{
		Data:     data,
		CapLen:   len(data),
		OrigLen:  int(origLen),
		Time:     t,
		LinkType: ifc.linkType,
		File:     r.name,
		Record:   rec,
		Offset:   off,
		// The block's body follows its 8-byte header.
		DataOffset: dataAt,
	}
	return nil
}

// toNanos converts a timestamp in the interface's units to nanoseconds,
// saturating instead of overflowing.
func (ifc *ngInterface) toNanos(ts uint64) int64 {
	var hi, lo uint64
	if ifc.pow2 {
		// ts * 1e9 / 2^exp
		hi, lo = bits.Mul64(ts, 1e9)
		if ifc.exp > 0 {
			lo = lo>>ifc.exp | hi<<(64-ifc.exp)
			hi >>= ifc.exp
		}
	} else if ifc.exp <= 9 {
		hi, lo = bits.Mul64(ts, pow10(9-ifc.exp))
	} else {
		lo = ts / pow10(ifc.exp-9)
	}
	if hi != 0 || lo > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(lo)
}

// pow10 returns 10^n for n <= 19.
func pow10(n uint8) uint64 {
	p := uint64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}
