package pcapgen

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// DefaultStart is the capture clock's start when Format.Start is zero:
// 2024-01-02T03:04:05Z.
func DefaultStart() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) }

// Format describes the file a Capture writes.
type Format struct {
	// NG writes pcapng instead of classic pcap.
	NG bool
	// Link is the link type of a pcap file, and of the single interface of a
	// pcapng file without Interfaces. Its zero value means LinkEthernet; since
	// that is also LinkNull's number, LinkNull is asked for with Null.
	Link LinkType
	// Null selects LinkNull for Link.
	Null bool
	// Nano gives nanosecond timestamps: the ns magic for pcap, if_tsresol 9 for
	// the default pcapng interface.
	Nano bool
	// BigEndian writes the file big-endian.
	BigEndian bool
	// Snaplen cuts longer frames (caplen < origlen); DefaultSnaplen when zero.
	Snaplen uint32
	// Interfaces are the pcapng interfaces; conversations pick one by index.
	Interfaces []Interface
	// Comment is the pcapng section comment.
	Comment string
	// Gzip compresses the whole file with gzip.
	Gzip bool
	// Truncate cuts the file in the middle of its last record.
	Truncate bool
	// Start is the capture clock's start; DefaultStart when zero.
	Start time.Time
	// Seed seeds the payload bytes; files with the same seed and calls are identical.
	Seed uint64
}

func (f *Format) link() LinkType {
	if f.Null {
		return LinkNull
	}
	if f.Link == 0 {
		return LinkEthernet
	}
	return f.Link
}

// interfaces returns the interfaces of the file: for pcap always one.
func (f *Format) interfaces() []Interface {
	if f.NG && len(f.Interfaces) > 0 {
		return f.Interfaces
	}
	return []Interface{{Link: f.link(), Nano: f.Nano, Snaplen: f.Snaplen}}
}

// Capture writes a capture file and keeps its clock. It builds every frame in
// one reusable buffer, so writing a packet does not allocate.
//
// Errors are sticky: after the first failure every call is a no-op, and Close
// and Err return the error.
type Capture struct {
	now    time.Time
	ifaces []Interface
	big    bool
	pcap   *PcapWriter
	ng     *PcapngWriter
	trunc  *truncWriter
	gz     *gzip.Writer
	bw     *bufio.Writer
	buf    []byte
	pat    pattern
	err    error
	nconn  uint64
	closed bool
}

// NewCapture starts a capture in format f on w. Nothing is written to w after
// Close returns; w itself is not closed.
func NewCapture(w io.Writer, f Format) *Capture {
	c := &Capture{now: f.Start, ifaces: f.interfaces(), big: f.BigEndian, buf: make([]byte, 0, 2048)}
	if c.now.IsZero() {
		c.now = DefaultStart()
	}
	c.pat = newPattern(f.Seed)
	c.bw = bufio.NewWriterSize(w, 64<<10)
	var sink io.Writer = c.bw
	if f.Gzip {
		c.gz = gzip.NewWriter(sink) // zero header: no name, no mtime
		sink = c.gz
	}
	if f.Truncate {
		c.trunc = &truncWriter{w: sink}
		sink = c.trunc
	}
	var err error
	if f.NG {
		c.ng, err = NewPcapngWriter(sink, PcapngOptions{BigEndian: f.BigEndian, Comment: f.Comment, Interfaces: c.ifaces})
	} else {
		c.pcap, err = NewPcapWriter(sink, PcapOptions{Link: f.link(), Nano: f.Nano, BigEndian: f.BigEndian, Snaplen: f.Snaplen})
	}
	c.err = err
	return c
}

// Err returns the first error met so far.
func (c *Capture) Err() error { return c.err }

// Close finishes the file: cuts the last record when truncating, ends the gzip
// stream, flushes. It returns the first error of the whole capture.
func (c *Capture) Close() error {
	if c.closed {
		return c.err
	}
	c.closed = true
	if c.err != nil {
		return c.err
	}
	if c.trunc != nil {
		if err := c.trunc.cut(); err != nil {
			c.err = fmt.Errorf("capture: truncate: %w", err)
			return c.err
		}
	}
	if c.gz != nil {
		if err := c.gz.Close(); err != nil {
			c.err = fmt.Errorf("capture: gzip: %w", err)
			return c.err
		}
	}
	if err := c.bw.Flush(); err != nil {
		c.err = fmt.Errorf("capture: flush: %w", err)
	}
	return c.err
}

// Now returns the capture clock.
func (c *Capture) Now() time.Time { return c.now }

// Advance moves the capture clock forward by d.
func (c *Capture) Advance(d time.Duration) { c.now = c.now.Add(d) }

// SetTime sets the capture clock to t. Setting it back in time is allowed and
// gives out-of-order timestamps in the file.
func (c *Capture) SetTime(t time.Time) { c.now = t }

// Interfaces returns the number of interfaces of the file (1 for pcap).
func (c *Capture) Interfaces() int { return len(c.ifaces) }

// LinkType returns the link type of interface iface.
func (c *Capture) LinkType(iface int) LinkType {
	if iface < 0 || iface >= len(c.ifaces) {
		return LinkEthernet
	}
	return c.ifaces[iface].Link
}

// errClosed is reported for writes after Close.
var errClosed = errors.New("capture: write after Close")

// WriteFrame writes frame on interface iface at the capture clock. On an
// interface with microsecond timestamps the clock is first rounded up to a
// whole microsecond.
func (c *Capture) WriteFrame(iface int, frame []byte) {
	c.WriteFrameComment(iface, frame, "")
}

// WriteFrameComment writes frame with a packet comment (pcapng only; pcap
// files drop the comment).
func (c *Capture) WriteFrameComment(iface int, frame []byte, comment string) {
	if c.err != nil {
		return
	}
	if c.closed {
		c.err = errClosed
		return
	}
	if iface >= 0 && iface < len(c.ifaces) && !c.ifaces[iface].Nano {
		// Round the clock up to the interface's resolution, so the timestamps
		// in the file stay in order when interfaces of both resolutions mix.
		if r := c.now.Nanosecond() % 1000; r != 0 {
			c.now = c.now.Add(time.Duration(1000 - r))
		}
	}
	if c.ng != nil {
		c.err = c.ng.WritePacketComment(iface, c.now, frame, comment)
		return
	}
	if iface != 0 {
		c.err = fmt.Errorf("capture: pcap has one interface, got %d: %w", iface, ErrNoInterface)
		return
	}
	c.err = c.pcap.WritePacket(c.now, frame)
}

// WriteSimplePacket writes frame as a pcapng Simple Packet Block (interface 0,
// no timestamp). On a pcap file it is an ordinary record at the capture clock.
func (c *Capture) WriteSimplePacket(frame []byte) {
	if c.err != nil {
		return
	}
	if c.ng == nil {
		c.WriteFrame(0, frame)
		return
	}
	c.err = c.ng.WriteSimplePacket(frame)
}

// linkFor returns l with the file's byte order filled in for LinkNull and the
// interface's link type.
func (c *Capture) linkFor(iface int, l Link) Link {
	l.Type = c.LinkType(iface)
	l.BigEndian = c.big
	return l
}

// TCP writes a TCP packet on interface iface; l.Type is taken from the interface.
func (c *Capture) TCP(iface int, l Link, ip *IP, h *TCP, payload []byte) {
	l = c.linkFor(iface, l)
	b := l.Append(c.buf[:0], ip.EtherType())
	b = AppendTCPPacket(b, ip, h, payload)
	c.buf = l.pad(b, 0)
	c.WriteFrame(iface, c.buf)
}

// UDP writes a UDP packet on interface iface.
func (c *Capture) UDP(iface int, l Link, ip *IP, srcPort, dstPort uint16, payload []byte) {
	l = c.linkFor(iface, l)
	b := l.Append(c.buf[:0], ip.EtherType())
	b = AppendUDPPacket(b, ip, srcPort, dstPort, payload)
	c.buf = l.pad(b, 0)
	c.WriteFrame(iface, c.buf)
}

// ICMPEcho writes an ICMP (or ICMPv6) echo request or reply on interface iface.
func (c *Capture) ICMPEcho(iface int, l Link, ip *IP, reply bool, id, seq uint16, payload []byte) {
	l = c.linkFor(iface, l)
	b := l.Append(c.buf[:0], ip.EtherType())
	b = AppendICMPEchoPacket(b, ip, reply, id, seq, payload)
	c.buf = l.pad(b, 0)
	c.WriteFrame(iface, c.buf)
}

// ARP writes an ARP message on interface iface (Ethernet or SLL links).
func (c *Capture) ARP(iface int, l Link, op uint16, senderMAC MAC, senderIP netip.Addr, targetMAC MAC, targetIP netip.Addr) {
	l = c.linkFor(iface, l)
	b := l.Append(c.buf[:0], EtherTypeARP)
	b = AppendARP(b, op, senderMAC, senderIP, targetMAC, targetIP)
	c.buf = l.pad(b, 0)
	c.WriteFrame(iface, c.buf)
}

// IPPacket writes an IP packet with an opaque payload of protocol proto.
func (c *Capture) IPPacket(iface int, l Link, ip *IP, proto uint8, payload []byte) {
	l = c.linkFor(iface, l)
	b := l.Append(c.buf[:0], ip.EtherType())
	b = AppendIPPacket(b, ip, proto, payload)
	c.buf = l.pad(b, 0)
	c.WriteFrame(iface, c.buf)
}

// IPv4Fragments writes the IPv4 packet ip carrying payload as fragments whose
// data parts are at most fragSize bytes (rounded down to a multiple of 8), each
// gap apart on the clock. The fragments are written in the given order of
// their indexes, or in order when none is given. payload is the whole
// transport datagram, its checksum included (see AppendUDP).
func (c *Capture) IPv4Fragments(iface int, l Link, ip *IP, proto uint8, payload []byte, fragSize int, gap time.Duration, order ...int) {
	fragSize &^= 7
	if fragSize <= 0 {
		c.fail(fmt.Errorf("capture: fragment size %d too small", fragSize))
		return
	}
	n := (len(payload) + fragSize - 1) / fragSize
	if len(order) == 0 {
		order = make([]int, n)
		for i := range order {
			order[i] = i
		}
	}
	for k, i := range order {
		if i < 0 || i >= n {
			c.fail(fmt.Errorf("capture: fragment %d of %d", i, n))
			return
		}
		if k > 0 {
			c.Advance(gap)
		}
		f := *ip
		f.FragOffset = uint16(i * fragSize)
		f.MF = i < n-1
		f.DF = false
		end := min((i+1)*fragSize, len(payload))
		c.IPPacket(iface, l, &f, proto, payload[i*fragSize:end])
	}
}

func (c *Capture) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// Payload returns n deterministic payload bytes for stream position pos of the
// stream salt. The slice aliases an internal pattern and must not be modified;
// n is at most 65536.
func (c *Capture) Payload(salt uint64, pos uint32, n int) []byte { return c.pat.at(salt, pos, n) }

// truncWriter holds back the last Write so that cut can write only half of it.
type truncWriter struct {
	w       io.Writer
	pending []byte
}

func (t *truncWriter) Write(p []byte) (int, error) {
	if len(t.pending) > 0 {
		if _, err := t.w.Write(t.pending); err != nil {
			return 0, err
		}
	}
	t.pending = append(t.pending[:0], p...)
	return len(p), nil
}

// cut writes the first half of the held-back record.
func (t *truncWriter) cut() error {
	_, err := t.w.Write(t.pending[:len(t.pending)/2])
	return err
}
