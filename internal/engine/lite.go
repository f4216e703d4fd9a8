package engine

import (
	"math"
	"unsafe"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/flow"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// liteConn is a connection that has shown nothing yet but its opening SYN,
// the SYN's retransmissions and the SYN-ACKs that answer it: the first round
// trip of a connection, and all a SYN flood's spoofed connection ever
// shows. Connections start lite only while many handshakes are pending
// (Config.liteFrom). It keeps those segments, 48 bytes each (352 bytes in
// all), instead of running them through the trackers of a whole connection
// (1.7 KiB). The ten thousand half-open connections of the mix's flood were
// 17 MiB of connection state that every packet's cache lines had to share
// the cache with; the 1 M-source flood's peak memory fell from 147 to 110
// MiB and its time by a tenth, and the mix's simulated cache misses by a
// tenth (docs/performance.md, session 19).
//
// The first other segment, and anything that needs the connection's state
// (its end, a view of it), makes it whole (materialize): a connection is
// made and its kept segments replayed through update, in their order, before
// anything else reads it, so it is the connection that taking them whole
// would have made. Nothing but the trackers sees them late: the one effect
// of such a segment outside its connection, the capture-wide detector's
// count of the SYN, is made when it comes (liteEvents). Connections with
// live callbacks (OnSegment, OnAnomaly) or Zeek's timers are never lite:
// those need every segment's outcome when it comes.
type liteConn struct {
	// ent is the connection's entry in the flow table, first, as in conn;
	// its Value is nil while the connection is lite.
	ent flow.Entry[*conn]
	_   [entPad]byte
	liteFields
}

// liteFields is what a lite connection keeps.
type liteFields struct {
	id         uint64
	prev       prevGen // the generation it follows, when hasPrev
	hasPrev    bool
	origIsA    bool // the originator (the first SYN's sender) is the key's A
	synCounted bool // the SYN was counted by the capture-wide detectors
	n          uint8
	segs       [liteSegs]liteSeg
}

// liteSegs is how many segments a lite connection keeps; one more makes it
// whole. A flood's connection shows a SYN and two or three SYN-ACKs.
const liteSegs = 4

// liteSeg is one kept segment: every field of a segment.Segment that a
// segment a lite connection keeps can set (keepable: no payload, no SACK
// blocks), its endpoints given by the liteResp bit.
type liteSeg struct {
	frame        uint64
	time         int64
	seq, ack     seqnum.Value
	tsVal, tsEcr uint32
	ipLen        uint32
	flags        segment.Flags
	window       uint16
	urgent       uint16
	mss          uint16
	wscale       uint8
	bits         uint8 // liteResp, liteChecked and the option flags
}

// The bits of liteSeg.bits.
const (
	liteResp    uint8 = 1 << iota // sent by the responder
	liteChecked                   // ChecksumChecked (and the checksum was good)
	liteMSS
	liteWScale
	liteSACKPerm
	liteTS
	liteTFO
	liteMPTCP
)

// liteOf returns the lite connection whose entry is ent (ent.Value == nil).
func liteOf(ent *flow.Entry[*conn]) *liteConn { return (*liteConn)(unsafe.Pointer(ent)) }

// liteFromDefault is Config.liteFrom by default: new connections start
// lite once their shard holds 32 in their handshake (512 in all). Below
// that, half-open connections are too few for their state to matter, and
// a lite connection is only a cost: nearly every connection of a busy
// server's capture answers its SYN within a round trip, and making it
// whole then replays what the lite one kept (about 36 instructions a
// packet on the loopback capture, docs/performance.md, session 33). A SYN
// flood, or any service that leaves handshakes hanging, fills its shards
// past it at once. Lite and whole connections make the same report, so
// where the line falls changes only time and memory.
const liteFromDefault = 32

// liteNever is a Config.liteFrom that no shard reaches: every connection is
// whole from its first segment.
const liteNever = math.MaxInt

// liteOK reports whether new connections may start lite.
func (e *Engine) liteOK() bool {
	return !e.zeekT && e.OnSegment == nil && e.OnAnomaly == nil
}

// keepable reports whether s has nothing a liteSeg cannot keep: no payload,
// no SACK blocks, no FIN or RST, a good or unchecked checksum.
func keepable(s *segment.Segment) bool {
	return s.PayloadLen == 0 && s.Opts.NumSACK == 0 && !s.Flags.Any(segment.FIN|segment.RST) &&
		!(s.ChecksumChecked && s.BadChecksum) && s.IPLen >= 0 && uint64(s.IPLen) <= math.MaxUint32
}

// liteFirst reports whether s, the first segment of a connection, may start
// it lite: a pure SYN, whose sender is then the originator (flow.Roles).
func liteFirst(s *segment.Segment) bool {
	return keepable(s) && s.Flags.Has(segment.SYN) && !s.Flags.Has(segment.ACK)
}

// takes reports whether l keeps s, sent by its originator when fromOrig, as
// it is: a retransmission of its SYN (the same ISN: another one starts a new
// generation) or a SYN-ACK from the responder, while it has room.
func (l *liteConn) takes(s *segment.Segment, fromOrig bool) bool {
	if int(l.n) == liteSegs || !keepable(s) || !s.Flags.Has(segment.SYN) {
		return false
	}
	if fromOrig {
		return !s.Flags.Has(segment.ACK) && s.Seq == l.segs[0].seq
	}
	return s.Flags.Has(segment.ACK)
}

// fromOrig reports whether s was sent by l's originator.
func (l *liteConn) fromOrig(s *segment.Segment) bool {
	if l.origIsA {
		return s.Src == l.ent.Key.A
	}
	return s.Src == l.ent.Key.B
}

// keep adds s, sent by l's originator when fromOrig, to l's segments.
func (l *liteConn) keep(s *segment.Segment, fromOrig bool) {
	o := &s.Opts
	ls := &l.segs[l.n]
	l.n++
	ls.frame, ls.time, ls.seq, ls.ack = s.Frame, s.Time, s.Seq, s.Ack
	ls.tsVal, ls.tsEcr, ls.ipLen, ls.flags = o.TSVal, o.TSEcr, uint32(s.IPLen), s.Flags
	ls.window, ls.urgent, ls.mss, ls.wscale = s.Window, s.Urgent, o.MSS, o.WScale
	ls.bits = bitIf(!fromOrig, liteResp) | bitIf(s.ChecksumChecked, liteChecked) |
		bitIf(o.HasMSS, liteMSS) | bitIf(o.HasWScale, liteWScale) | bitIf(o.SACKPermitted, liteSACKPerm) |
		bitIf(o.HasTS, liteTS) | bitIf(o.TFO, liteTFO) | bitIf(o.MPTCP, liteMPTCP)
}

// bitIf returns b when on, else 0.
func bitIf(on bool, b uint8) uint8 {
	if on {
		return b
	}
	return 0
}

// segment sets s to l's i-th kept segment as it came.
func (l *liteConn) segment(i int, s *segment.Segment) {
	ls := &l.segs[i]
	b := ls.bits
	*s = segment.Segment{}
	s.Src, s.Dst = l.ent.Key.A, l.ent.Key.B
	if l.origIsA == (b&liteResp != 0) {
		s.Src, s.Dst = s.Dst, s.Src
	}
	s.Frame, s.Time, s.Seq, s.Ack = ls.frame, ls.time, ls.seq, ls.ack
	s.Flags, s.Window, s.Urgent, s.IPLen = ls.flags, ls.window, ls.urgent, int(ls.ipLen)
	s.ChecksumChecked = b&liteChecked != 0
	o := &s.Opts
	o.MSS, o.HasMSS, o.WScale, o.HasWScale = ls.mss, b&liteMSS != 0, ls.wscale, b&liteWScale != 0
	o.SACKPermitted, o.TSVal, o.TSEcr, o.HasTS = b&liteSACKPerm != 0, ls.tsVal, ls.tsEcr, b&liteTS != 0
	o.TFO, o.MPTCP = b&liteTFO != 0, b&liteMPTCP != 0
}

// newLite starts a lite connection on s, its first segment (liteFirst), and
// files it in the table as newConn's connections are.
func (e *Engine) newLite(s *segment.Segment, key *flow.Key, h uint64, prev *prevGen) *flow.Entry[*conn] {
	l := e.lites.get()
	e.liteMade++
	l.id = e.newID(s)
	if prev != nil {
		l.prev, l.hasPrev = *prev, true
	}
	l.origIsA = s.Src == key.A
	ent := &l.ent
	e.table.InsertEntry(ent, *key, h, s.Time, flow.ClassHandshake)
	ent.Value = nil
	l.keep(s, true)
	e.liteEvents(l, s, true)
	return ent
}

// liteEvents makes what update's wideEvents makes of s, a segment l keeps
// (sent by its originator when fromOrig): the count of the connection's
// first pure SYN from its originator. A kept segment can make no other
// event: the handshake is not complete before the third segment (the
// SYN-ACK leaves the responder in SYN_RECEIVED), and it has no RST or FIN.
func (e *Engine) liteEvents(l *liteConn, s *segment.Segment, fromOrig bool) {
	if !l.synCounted && fromOrig && !s.Flags.Any(segment.ACK|segment.RST) {
		l.synCounted = true
		e.events.SYN(s.Time, s.Src, s.Dst, s.Frame)
	}
}

// materialize makes the lite connection of ent whole, in its place in the
// table, and returns the whole connection's entry.
func (e *Engine) materialize(ent *flow.Entry[*conn]) *flow.Entry[*conn] {
	l := liteOf(ent)
	c := e.allocConn()
	e.replay(c, l)
	e.table.Replace(ent, &c.ent)
	c.ent.Value = c
	e.freeLite(l)
	return &c.ent
}

// wholeOf returns the whole connection of ent, for its end: its own, or for
// a lite one (then returned too) a connection its segments are replayed
// into, outside the table, which finishWith frees with the lite one. Made
// in place (materialize), it moved into the lite one's index slot and list
// links just before they were removed, a cold index line each time: the 1
// M-source flood ran 0.17 CPU-s (6 %) slower so (docs/performance.md,
// session 19).
func (e *Engine) wholeOf(ent *flow.Entry[*conn]) (*conn, *liteConn) {
	if c := ent.Value; c != nil {
		return c, nil
	}
	l := liteOf(ent)
	c := e.allocConn()
	e.replay(c, l)
	return c, l
}

// replay builds in c, a connection fresh from allocConn or zero, the
// connection l's segments make.
func (e *Engine) replay(c *conn, l *liteConn) {
	var s segment.Segment
	l.segment(0, &s)
	var prev *prevGen
	if l.hasPrev {
		prev = &l.prev
	}
	e.initConn(c, &s, prev, l.id)
	e.replaying = true
	for i := range int(l.n) {
		l.segment(i, &s)
		e.update(c, &s)
	}
	e.replaying = false
	c.synCounted = l.synCounted
}

// connView returns the connection of ent for reading only: a lite one is
// replayed into a connection of its own, and the table is left as it is.
func (e *Engine) connView(ent *flow.Entry[*conn]) *conn {
	if ent.Value != nil {
		return ent.Value
	}
	c := new(conn)
	e.replay(c, liteOf(ent))
	return c
}

// entFirstFrame returns the first frame of the connection of ent, lite or
// whole, which orders connections as their ids do.
func entFirstFrame(ent *flow.Entry[*conn]) uint64 {
	if ent.Value == nil {
		return liteOf(ent).segs[0].frame
	}
	return ent.Value.firstFrame
}

// freeLite keeps l for reuse.
func (e *Engine) freeLite(l *liteConn) {
	if e.lites.room() {
		l.liteFields = liteFields{}
		e.lites.put(l)
	}
}
