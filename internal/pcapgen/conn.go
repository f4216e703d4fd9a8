package pcapgen

import (
	"hash/fnv"
	"net/netip"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// Side names one end of a conversation; it is segment.Dir, so Client is Orig.
type Side = segment.Dir

// The two sides of a conversation.
const (
	Client Side = segment.Orig // the side that sends the first SYN
	Server Side = segment.Resp
)

// ConnOpts configures a conversation. The zero value is a plain IPv4-style
// connection on interface 0 with only the MSS option; LinuxOpts gives a modern
// Linux-like one.
type ConnOpts struct {
	// ClientISN and ServerISN are the initial sequence numbers; zero picks a
	// value derived from the addresses.
	ClientISN, ServerISN seqnum.Value
	// MSS is advertised by both sides; 1460 (1440 over IPv6) when zero. Data is
	// cut into segments of MSS bytes, less 12 when timestamps are on.
	MSS uint16
	// HasWScale advertises window scaling with shift WScale in both SYNs.
	HasWScale bool
	WScale    uint8
	// SACK advertises SACK-permitted; receivers then send SACK blocks for
	// out-of-order data.
	SACK bool
	// TS puts RFC 7323 timestamps on every segment. TSval counts milliseconds.
	TS bool
	// ECN negotiates ECN (SYN with ECE|CWR, SYN-ACK with ECE) and marks data
	// packets ECT(0).
	ECN bool
	// RTT is the round-trip time; the capture point sits half-way, so a reply
	// follows the packet it answers by RTT/2. 10 ms when zero.
	RTT time.Duration
	// Gap separates back-to-back packets in one direction; 20 µs when zero.
	Gap time.Duration
	// Window is the raw window field after the SYNs; when zero, 65535 without
	// window scaling and 64240>>WScale with it.
	Window uint16
	// SynWindow and SynAckWindow are the window fields of the client's SYN and
	// of the server's SYN-ACK; 64240 when zero.
	SynWindow, SynAckWindow uint16
	// AckEvery is how many data segments Send lets through per ACK; 2 when zero.
	AckEvery int
	// Flight is how many segments Send writes before the receiver's ACKs; 10
	// when zero.
	Flight int

	// Iface is the capture interface (pcapng); its link type frames the packets.
	Iface int
	// VLANs tag Ethernet frames, outermost first.
	VLANs []VLAN
	// ClientMAC and ServerMAC default to 02:00 followed by the last four bytes of
	// the address.
	ClientMAC, ServerMAC MAC
	// Pad pads short Ethernet frames to 60 bytes.
	Pad bool
	// IfIndex is the SLL2 interface index; 2 when zero.
	IfIndex uint32
	// TTL is the IPv4 TTL or IPv6 hop limit; 64 when zero.
	TTL uint8
	// IPOptions are IPv4 options on every packet.
	IPOptions []byte
	// IPv6Ext are IPv6 extension headers on every packet.
	IPv6Ext []IPv6Ext
}

// LinuxOpts returns options like a current Linux host's: MSS 1460, window
// scale 7, SACK, timestamps, 10 ms RTT.
func LinuxOpts() ConnOpts {
	return ConnOpts{MSS: 1460, HasWScale: true, WScale: 7, SACK: true, TS: true, RTT: 10 * time.Millisecond}
}

// Span is a range of one side's sequence space, as sent by Data, Write, Drop
// and friends; Retransmit writes it again.
type Span struct {
	Side Side
	Seq  seqnum.Value
	Len  int
	data []byte // explicit payload, or nil for the pattern
}

// End returns the sequence number just past the span.
func (s Span) End() seqnum.Value { return s.Seq.Add(seqnum.Size(s.Len)) }

const maxBlocks = 8

// endpoint is one side's view: what it sends and what it has received.
type endpoint struct {
	addr     netip.AddrPort
	link     Link
	ip       IP
	isn      seqnum.Value
	sndNxt   seqnum.Value
	rcvNxt   seqnum.Value
	blocks   [maxBlocks]segment.Block // out-of-order data held, most recent first
	nblocks  int
	window   uint16
	tsBase   uint32
	tsRecent uint32
	salt     uint64
}

// Conn builds one TCP conversation: every method writes its packets at the
// capture clock and keeps sequence, acknowledgement, SACK and timestamp
// bookkeeping for both sides. Methods taking a Side act for that side.
//
// Timing: the first packet goes out at the clock. A packet in the same
// direction as the previous one follows it by Gap, one in the other direction
// by RTT/2 (the capture point is half-way), unless the clock was moved past
// that by Wait or Capture.Advance.
type Conn struct {
	c        *Capture
	o        ConnOpts
	ep       [2]endpoint
	segSize  int
	rtt, gap time.Duration
	started  bool
	last     Side
	lastT    time.Time
	t0       time.Time
	cross    bool
	marks    []AckPoint
	hdr      TCP
}

// Conn starts a conversation between client and server; nothing is written
// until a method is called. Without a handshake the conversation is taken as
// already established (see Skip for a capture that starts mid-stream).
func (c *Capture) Conn(client, server netip.AddrPort, o ConnOpts) *Conn {
	c.nconn++
	k := &Conn{c: c, o: o, rtt: o.RTT, gap: o.Gap}
	if k.rtt == 0 {
		k.rtt = 10 * time.Millisecond
	}
	if k.gap == 0 {
		k.gap = 20 * time.Microsecond
	}
	if k.o.AckEvery <= 0 {
		k.o.AckEvery = 2
	}
	if k.o.Flight <= 0 {
		k.o.Flight = 10
	}
	if k.o.MSS == 0 {
		k.o.MSS = 1460
		if client.Addr().Is6() {
			k.o.MSS = 1440
		}
	}
	k.segSize = int(k.o.MSS)
	if o.TS {
		k.segSize -= 12
	}
	k.segSize = max(k.segSize, 1)
	if o.ClientISN == 0 {
		o.ClientISN = seqnum.Value(hash32(client, server, 'c'))
	}
	if o.ServerISN == 0 {
		o.ServerISN = seqnum.Value(hash32(client, server, 's'))
	}
	window := o.Window
	if window == 0 {
		window = 65535
		if o.HasWScale {
			window = max(uint16(64240>>min(o.WScale, 14)), 1)
		}
	}
	macs := [2]MAC{o.ClientMAC, o.ServerMAC}
	addrs := [2]netip.AddrPort{client, server}
	isns := [2]seqnum.Value{o.ClientISN, o.ServerISN}
	for s := range 2 {
		if macs[s] == (MAC{}) {
			macs[s] = MACFor(addrs[s].Addr())
		}
	}
	for s := range 2 {
		e := &k.ep[s]
		e.addr = addrs[s]
		e.isn = isns[s]
		e.sndNxt = isns[s] + 1
		e.rcvNxt = isns[1-s] + 1
		e.window = window
		e.tsBase = uint32(isns[s])*2654435761 + 1000
		e.salt = c.nconn<<1 | uint64(s)
		e.link = Link{Src: macs[s], Dst: macs[1-s], VLANs: o.VLANs, Pad: o.Pad, IfIndex: o.IfIndex}
		if e.link.IfIndex == 0 {
			e.link.IfIndex = 2
		}
		e.link.PacketType = PacketHost
		if s == int(Client) {
			e.link.PacketType = PacketOutgoing
		}
		e.ip = IP{
			Src: addrs[s].Addr(), Dst: addrs[1-s].Addr(), TTL: o.TTL, DF: true,
			ID: uint16(hash32(addrs[s], addrs[1-s], 'i')), Options: o.IPOptions, Ext: o.IPv6Ext,
		}
	}
	return k
}

// MACFor returns the locally administered address 02:00 followed by the last
// four bytes of addr: the default MAC of a host in a conversation.
func MACFor(addr netip.Addr) MAC {
	a := addr.As16()
	return MAC{0x02, 0x00, a[12], a[13], a[14], a[15]}
}

func hash32(a, b netip.AddrPort, tag byte) uint32 {
	h := fnv.New32a()
	ab, _ := a.MarshalBinary()
	bb, _ := b.MarshalBinary()
	h.Write(ab)
	h.Write(bb)
	h.Write([]byte{tag})
	return h.Sum32()
}

// Capture returns the capture the conversation writes to.
func (k *Conn) Capture() *Capture { return k.c }

// Addr returns the address of side s.
func (k *Conn) Addr(s Side) netip.AddrPort { return k.ep[s].addr }

// ISN returns the initial sequence number of side s.
func (k *Conn) ISN(s Side) seqnum.Value { return k.ep[s].isn }

// NextSeq returns the next sequence number side s will send.
func (k *Conn) NextSeq(s Side) seqnum.Value { return k.ep[s].sndNxt }

// RcvNxt returns the next sequence number side s expects from its peer: the
// acknowledgement number its next segment carries.
func (k *Conn) RcvNxt(s Side) seqnum.Value { return k.ep[s].rcvNxt }

// SegmentSize returns the payload size Write cuts data into.
func (k *Conn) SegmentSize() int { return k.segSize }

// Wait lets d pass on the capture clock; the next packet goes out at the new
// time exactly.
func (k *Conn) Wait(d time.Duration) { k.c.Advance(d) }

// Crossing makes the next packet follow the previous one by Gap even if it
// goes the other way: the two crossed on the wire.
func (k *Conn) Crossing() { k.cross = true }

// SetWindow sets the raw window field that side s advertises from now on.
func (k *Conn) SetWindow(s Side, w uint16) { k.ep[s].window = w }

// step moves the clock for the next packet of side s.
func (k *Conn) step(s Side) {
	if k.started {
		d := k.gap
		if s != k.last && !k.cross {
			d = k.rtt / 2
		}
		if t := k.lastT.Add(d); t.After(k.c.now) {
			k.c.now = t
		}
	} else {
		k.t0 = k.c.now
	}
	k.cross = false
	k.started = true
	k.last = s
	k.lastT = k.c.now
}

// tsval returns side s's timestamp clock: milliseconds since the first packet.
func (k *Conn) tsval(s Side) uint32 {
	return k.ep[s].tsBase + uint32(k.c.now.Sub(k.t0)/time.Millisecond)
}

// emit writes one segment from side s. The options follow the conversation's
// settings: the SYN set on SYNs, timestamps (and SACK blocks on ACKs) otherwise,
// none on RSTs.
func (k *Conn) emit(s Side, flags segment.Flags, seq, ack seqnum.Value, payload []byte) {
	k.step(s)
	e, peer := &k.ep[s], &k.ep[1-s]
	h := &k.hdr
	*h = TCP{
		SrcPort: e.addr.Port(), DstPort: peer.addr.Port(),
		Seq: seq, Ack: ack, Flags: flags, Window: e.window,
	}
	switch {
	case flags&segment.SYN != 0:
		h.Window = k.o.SynWindow
		if s == Server {
			h.Window = k.o.SynAckWindow
		}
		if h.Window == 0 {
			h.Window = 64240
		}
		h.Opts.MSS, h.Opts.HasMSS = k.o.MSS, true
		h.Opts.SACKPermitted = k.o.SACK
		h.Opts.WScale, h.Opts.HasWScale = k.o.WScale, k.o.HasWScale
		if k.o.ECN {
			if flags&segment.ACK != 0 {
				h.Flags |= segment.ECE
			} else {
				h.Flags |= segment.ECE | segment.CWR
			}
		}
	case flags&segment.RST != 0:
	default:
		if k.o.SACK && flags&segment.ACK != 0 && e.nblocks > 0 {
			h.Opts.NumSACK = uint8(copy(h.Opts.SACK[:], e.blocks[:e.nblocks]))
		}
	}
	if k.o.TS && flags&segment.RST == 0 {
		h.Opts.HasTS = true
		h.Opts.TSVal = k.tsval(s)
		if flags&segment.ACK != 0 {
			h.Opts.TSEcr = e.tsRecent
		}
		peer.tsRecent = h.Opts.TSVal
	}
	ip := &e.ip
	ip.TOS = 0
	if k.o.ECN && len(payload) > 0 {
		ip.TOS = 2 // ECT(0)
	}
	ip.ID++
	k.c.TCP(k.o.Iface, e.link, ip, h, payload)
}

// payload returns the bytes of span sp from seq for n bytes.
func (k *Conn) payload(sp Span, seq seqnum.Value, n int) []byte {
	if sp.data != nil {
		off := int(sp.Seq.Size(seq))
		return sp.data[off : off+n]
	}
	e := &k.ep[sp.Side]
	return k.c.pat.at(e.salt, uint32(e.isn.Size(seq))-1, n)
}

// receive records that side s received [seq, end) from its peer.
func (e *endpoint) receive(seq, end seqnum.Value) {
	if end.LessThanEq(e.rcvNxt) {
		return // duplicate
	}
	if seq.LessThanEq(e.rcvNxt) {
		e.rcvNxt = end
		for again := true; again; {
			again = false
			for i := 0; i < e.nblocks; i++ {
				if b := e.blocks[i]; b.Left.LessThanEq(e.rcvNxt) {
					e.rcvNxt = seqnum.Max(e.rcvNxt, b.Right)
					copy(e.blocks[i:], e.blocks[i+1:e.nblocks])
					e.nblocks--
					again = true
					break
				}
			}
		}
		return
	}
	nb := segment.Block{Left: seq, Right: end}
	for i := 0; i < e.nblocks; {
		b := e.blocks[i]
		if b.Left.LessThanEq(nb.Right) && nb.Left.LessThanEq(b.Right) {
			nb.Left = seqnum.Min(nb.Left, b.Left)
			nb.Right = seqnum.Max(nb.Right, b.Right)
			copy(e.blocks[i:], e.blocks[i+1:e.nblocks])
			e.nblocks--
			continue
		}
		i++
	}
	n := min(e.nblocks, maxBlocks-1)
	copy(e.blocks[1:n+1], e.blocks[:n])
	e.blocks[0] = nb
	e.nblocks = n + 1
}

// transmit writes span sp as segments of at most segSize bytes, PSH on the
// last one when psh is set, and delivers them to the peer.
func (k *Conn) transmit(sp Span, psh bool) {
	s := sp.Side
	peer := &k.ep[1-s]
	for off := 0; off < sp.Len; {
		n := min(k.segSize, sp.Len-off)
		seq := sp.Seq.Add(seqnum.Size(off))
		flags := segment.ACK
		if psh && off+n == sp.Len {
			flags |= segment.PSH
		}
		k.emit(s, flags, seq, k.ep[s].rcvNxt, k.payload(sp, seq, n))
		peer.receive(seq, seq.Add(seqnum.Size(n)))
		off += n
	}
}

// reserve takes the next n bytes of side s's sequence space.
func (k *Conn) reserve(s Side, n int, data []byte) Span {
	e := &k.ep[s]
	sp := Span{Side: s, Seq: e.sndNxt, Len: n, data: data}
	e.sndNxt = e.sndNxt.Add(seqnum.Size(n))
	return sp
}

// Syn writes the client's SYN; calling it again writes a retransmission.
func (k *Conn) Syn() {
	e := &k.ep[Client]
	k.emit(Client, segment.SYN, e.isn, 0, nil)
}

// SynRetries writes n retransmissions of the SYN with exponential backoff:
// the first after first, each later one after twice the previous wait.
func (k *Conn) SynRetries(n int, first time.Duration) {
	for i := range n {
		k.Wait(first << i)
		k.Syn()
	}
}

// SynAck writes the server's SYN-ACK.
func (k *Conn) SynAck() {
	e := &k.ep[Server]
	k.emit(Server, segment.SYN|segment.ACK, e.isn, e.rcvNxt, nil)
}

// Handshake writes SYN, SYN-ACK and ACK.
func (k *Conn) Handshake() {
	k.Syn()
	k.SynAck()
	k.Ack(Client)
}

// SimultaneousOpen writes two crossing SYNs, then two crossing SYN-ACKs
// (RFC 9293 figure 7).
func (k *Conn) SimultaneousOpen() {
	c, s := &k.ep[Client], &k.ep[Server]
	k.emit(Client, segment.SYN, c.isn, 0, nil)
	k.Crossing()
	k.emit(Server, segment.SYN, s.isn, 0, nil)
	k.emit(Client, segment.SYN|segment.ACK, c.isn, c.rcvNxt, nil)
	k.Crossing()
	k.emit(Server, segment.SYN|segment.ACK, s.isn, s.rcvNxt, nil)
}

// Refuse answers the SYN with RST|ACK, as a host does for a closed port.
func (k *Conn) Refuse() {
	e := &k.ep[Server]
	w := e.window
	e.window = 0
	k.emit(Server, segment.RST|segment.ACK, 0, e.rcvNxt, nil)
	e.window = w
}

// Ack writes a pure ACK from side s for everything it has received in order,
// with SACK blocks for what it holds beyond a hole.
func (k *Conn) Ack(s Side) {
	e := &k.ep[s]
	k.emit(s, segment.ACK, e.sndNxt, e.rcvNxt, nil)
}

// AckPoint is what one side would acknowledge at some moment: its cumulative
// ACK and SACK blocks. It lets the ACKs for a burst be written after the burst,
// each reflecting the data received up to its own segment.
type AckPoint struct {
	side    Side
	seq     seqnum.Value
	ack     seqnum.Value
	blocks  [4]segment.Block
	nblocks int
}

// Ack returns the acknowledgement number of the point.
func (p AckPoint) Ack() seqnum.Value { return p.ack }

// AckPoint records what side s would acknowledge now.
func (k *Conn) AckPoint(s Side) AckPoint {
	e := &k.ep[s]
	p := AckPoint{side: s, seq: e.sndNxt, ack: e.rcvNxt}
	p.nblocks = copy(p.blocks[:], e.blocks[:e.nblocks])
	return p
}

// AckAt writes the pure ACK recorded in p, with its SACK blocks.
func (k *Conn) AckAt(p AckPoint) {
	e := &k.ep[p.side]
	saved, n := e.blocks, e.nblocks
	e.nblocks = copy(e.blocks[:], p.blocks[:p.nblocks])
	k.emit(p.side, segment.ACK, p.seq, p.ack, nil)
	e.blocks, e.nblocks = saved, n
}

// DupAck writes n identical pure ACKs from side s.
func (k *Conn) DupAck(s Side, n int) {
	for range n {
		k.Ack(s)
	}
}

// Data writes one segment of n bytes from side s (with PSH), whatever the
// segment size, and returns its span.
func (k *Conn) Data(s Side, n int) Span {
	sp := k.reserve(s, n, nil)
	k.emitSpan(sp)
	return sp
}

// emitSpan writes sp as one segment and delivers it.
func (k *Conn) emitSpan(sp Span) {
	s := sp.Side
	k.emit(s, segment.ACK|segment.PSH, sp.Seq, k.ep[s].rcvNxt, k.payload(sp, sp.Seq, sp.Len))
	k.ep[1-s].receive(sp.Seq, sp.End())
}

// Write writes n bytes from side s in back-to-back segments of SegmentSize,
// PSH on the last, with no ACKs, and returns the span.
func (k *Conn) Write(s Side, n int) Span {
	sp := k.reserve(s, n, nil)
	k.transmit(sp, true)
	return sp
}

// WriteBytes is Write with the given payload instead of pattern bytes. p must
// stay unchanged while its span may still be retransmitted.
func (k *Conn) WriteBytes(s Side, p []byte) Span {
	sp := k.reserve(s, len(p), p)
	k.transmit(sp, true)
	return sp
}

// Send writes n bytes from side s in flights of Flight segments, each flight
// followed by the peer's ACKs, one per AckEvery segments and one for the last.
func (k *Conn) Send(s Side, n int) Span {
	return k.send(k.reserve(s, n, nil))
}

// SendBytes is Send with the given payload (see WriteBytes).
func (k *Conn) SendBytes(s Side, p []byte) Span {
	return k.send(k.reserve(s, len(p), p))
}

func (k *Conn) send(sp Span) Span {
	s, r := sp.Side, sp.Side.Other()
	e, peer := &k.ep[s], &k.ep[r]
	for off := 0; off < sp.Len; {
		k.marks = k.marks[:0]
		for i := 0; i < k.o.Flight && off < sp.Len; i++ {
			n := min(k.segSize, sp.Len-off)
			seq := sp.Seq.Add(seqnum.Size(off))
			flags := segment.ACK
			if off+n == sp.Len {
				flags |= segment.PSH
			}
			k.emit(s, flags, seq, e.rcvNxt, k.payload(sp, seq, n))
			peer.receive(seq, seq.Add(seqnum.Size(n)))
			k.marks = append(k.marks, k.AckPoint(r))
			off += n
		}
		for i, m := range k.marks {
			if (i+1)%k.o.AckEvery == 0 || i == len(k.marks)-1 {
				k.AckAt(m)
			}
		}
	}
	return sp
}

// Skip moves side s's sequence space on by n bytes that the peer received
// before the capture started (or while it was not looking): nothing is written.
func (k *Conn) Skip(s Side, n int) {
	sp := k.reserve(s, n, nil)
	k.ep[1-s].receive(sp.Seq, sp.End())
}

// Drop takes the next n bytes of side s as one segment lost before the capture
// point: it is neither written nor received. Retransmit writes it later.
func (k *Conn) Drop(s Side, n int) Span { return k.reserve(s, n, nil) }

// Lose writes the next n bytes of side s as one segment that the capture sees
// but that is lost beyond the capture point: the peer does not receive it.
func (k *Conn) Lose(s Side, n int) Span {
	sp := k.reserve(s, n, nil)
	k.emit(s, segment.ACK|segment.PSH, sp.Seq, k.ep[s].rcvNxt, k.payload(sp, sp.Seq, sp.Len))
	return sp
}

// Retransmit writes span sp again, cut into segments of SegmentSize, and
// delivers it. It also serves to write a dropped span late (reordering).
func (k *Conn) Retransmit(sp Span) { k.transmit(sp, true) }

// Reorder writes two segments of n1 and n2 bytes from side s with the second
// one first, so that the first arrives out of order a Gap later.
func (k *Conn) Reorder(s Side, n1, n2 int) (first, second Span) {
	first = k.Drop(s, n1)
	second = k.Data(s, n2)
	k.emitSpan(first)
	return first, second
}

// ZeroWindowProbe writes a one-byte zero-window probe from side s: the next
// unsent byte, which the closed window does not let the peer accept.
func (k *Conn) ZeroWindowProbe(s Side) {
	e := &k.ep[s]
	k.emit(s, segment.ACK, e.sndNxt, e.rcvNxt, k.payload(Span{Side: s}, e.sndNxt, 1))
}

// KeepAlive writes a keep-alive probe from side s: no data, sequence number
// one below the next, so the peer answers with an ACK (see Ack).
func (k *Conn) KeepAlive(s Side) {
	e := &k.ep[s]
	k.emit(s, segment.ACK, e.sndNxt-1, e.rcvNxt, nil)
}

// Fin writes a FIN|ACK from side s and delivers it.
func (k *Conn) Fin(s Side) {
	sp := k.reserve(s, 1, nil)
	k.emit(s, segment.FIN|segment.ACK, sp.Seq, k.ep[s].rcvNxt, nil)
	k.ep[1-s].receive(sp.Seq, sp.End())
}

// Close writes the four-way close started by side s: FIN, ACK, FIN, ACK. The
// side s ends in TIME_WAIT, its peer CLOSED.
func (k *Conn) Close(s Side) {
	k.Fin(s)
	k.Ack(s.Other())
	k.Fin(s.Other())
	k.Ack(s)
}

// CloseCombined writes a three-way close started by side s: FIN, then the
// peer's FIN|ACK that acknowledges it, then the last ACK. Side s goes from
// FIN_WAIT_1 straight to TIME_WAIT.
func (k *Conn) CloseCombined(s Side) {
	k.Fin(s)
	k.Fin(s.Other())
	k.Ack(s)
}

// SimultaneousClose writes two crossing FINs, neither acknowledging the other,
// then the two crossing ACKs: both sides pass through CLOSING to TIME_WAIT.
func (k *Conn) SimultaneousClose() {
	c, s := &k.ep[Client], &k.ep[Server]
	cf := k.reserve(Client, 1, nil)
	sf := k.reserve(Server, 1, nil)
	k.emit(Client, segment.FIN|segment.ACK, cf.Seq, c.rcvNxt, nil)
	k.Crossing()
	k.emit(Server, segment.FIN|segment.ACK, sf.Seq, s.rcvNxt, nil)
	s.receive(cf.Seq, cf.End())
	c.receive(sf.Seq, sf.End())
	k.Ack(Client)
	k.Crossing()
	k.Ack(Server)
}

// Reset writes an RST|ACK from side s at its next sequence number.
func (k *Conn) Reset(s Side) {
	e := &k.ep[s]
	w := e.window
	e.window = 0
	k.emit(s, segment.RST|segment.ACK, e.sndNxt, e.rcvNxt, nil)
	e.window = w
}

// Raw writes a segment from side s with the given flags, numbers and payload,
// and the conversation's usual options. It changes no bookkeeping.
func (k *Conn) Raw(s Side, flags segment.Flags, seq, ack seqnum.Value, payload []byte) {
	k.emit(s, flags, seq, ack, payload)
}

// RawTCP writes the header h (its ports are filled in) with payload from side
// s, exactly as given: no options are added. It changes no bookkeeping.
func (k *Conn) RawTCP(s Side, h TCP, payload []byte) {
	k.step(s)
	e := &k.ep[s]
	h.SrcPort, h.DstPort = e.addr.Port(), k.ep[1-s].addr.Port()
	e.ip.ID++
	k.c.TCP(k.o.Iface, e.link, &e.ip, &h, payload)
}
