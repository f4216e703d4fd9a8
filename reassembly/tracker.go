package reassembly

import (
	"math/bits"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// Default limits, used when the matching Config field is zero or negative.
const (
	// DefaultMaxRanges bounds the seen ranges per direction: at most
	// DefaultMaxRanges-1 holes (8 bytes each) are remembered.
	DefaultMaxRanges = 16
	// DefaultMaxUnacked bounds the unacknowledged segments remembered per
	// direction (24 bytes each, so at most 6 KiB per direction, allocated only as
	// segments stay unacknowledged). They give RTO and the ACK round-trip
	// times. Wireshark keeps up to 10000; 256 segments cover about 370 KB in
	// flight at a 1448-byte MSS.
	DefaultMaxUnacked = 256
	// DefaultMaxPayloadBytes is the per-direction payload copy kept when
	// Config.KeepPayload is set (rounded down to a power of two).
	DefaultMaxPayloadBytes = 64 << 10
)

// Wireshark's fixed thresholds (packet-tcp.c).
const (
	fastRetransWindow = 20_000_000 // ns: a fast retransmission follows the dup ACKs within 20 ms
	defaultOOOThresh  = 3_000_000  // ns: out-of-order threshold when the handshake RTT is unknown
	maxSeqSpan        = 1 << 30    // a segment this far from the seen bytes restarts the bookkeeping
	maxSegLen         = 1 << 30    // payload lengths are clamped to this
)

// Config holds the limits of a Tracker. The zero value means the defaults.
type Config struct {
	// MaxRanges bounds the recorded seen ranges per direction (holes + 1).
	MaxRanges int
	// KeepUnacked remembers each direction's unacknowledged segments, which
	// give the RTO of a retransmission and the round-trip time of the
	// segment an ACK acknowledges (Result.RTO, RTOFrame, AckedFrame,
	// AckRTT). Without them AckedFrame and AckRTT stay 0, RTO counts from
	// the segment that last advanced the sequence, and the record is never
	// reported capped. The classes do not depend on it.
	KeepUnacked bool
	// MaxUnacked bounds the remembered unacknowledged segments per direction.
	MaxUnacked int
	// TsharkCompat reproduces tshark 4.0.17 where this package deliberately
	// differs from it, for comparisons with tshark: a retransmission right
	// after an ACKed-unseen segment is called fast (tshark reads its "unseen
	// ACK reported" marker, -1 in an unsigned duplicate-ACK count, as many
	// duplicate ACKs), and an ACK that takes a zero-window probe's byte is an
	// ACKed-unseen segment rather than a probe ACK or window update.
	TsharkCompat bool
	// KeepPayload keeps a bounded copy of each direction's latest contiguous
	// payload to detect retransmitted bytes that differ (OverlapMismatch).
	KeepPayload bool
	// MaxPayloadBytes caps that copy per direction.
	MaxPayloadBytes int
	// Rings, when set, lends and takes back the payload copies' memory.
	Rings *RingPool
}

// WScale is a direction's window scale shift as the analysis uses it.
type WScale int8

// The window scale states besides a shift count 0…14.
const (
	// WScaleUnknown: the handshake was not seen, so the shift is not known and
	// windows are not scaled (Wireshark's -1).
	WScaleUnknown WScale = -1
	// WScaleNotUsed: a SYN without the option was seen, so windows are not
	// scaled (Wireshark's -2).
	WScaleNotUsed WScale = -2
)

// String returns "unknown", "not used" or the shift count.
func (w WScale) String() string {
	switch {
	case w == WScaleUnknown:
		return "unknown"
	case w == WScaleNotUsed:
		return "not used"
	case w >= 0 && w <= 14:
		return itoa(int(w))
	}
	return "WScale(" + itoa(int(w)) + ")"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// Result is what Add found out about one segment.
type Result struct {
	Class Class
	// DupAckNum is the number of this duplicate ACK in its series (1, 2, …) and
	// DupAckFrame the frame of the ACK it duplicates; both only with DuplicateAck.
	DupAckNum   uint32
	DupAckFrame uint64
	// GapBytes is the number of sequence numbers skipped before this segment:
	// bytes never captured in its direction (with LostSegment).
	GapBytes uint32
	// NewBytes and RetransBytes split the payload into bytes not seen before and
	// bytes seen before in this direction (NewBytes+RetransBytes = payload length).
	NewBytes     uint32
	RetransBytes uint32
	// UnseenAckBytes is how far the ACK reaches beyond the contiguous data seen
	// from the peer (with AckUnseen).
	UnseenAckBytes uint32
	// RTO is the time in ns since the first transmission of the retransmitted
	// bytes and RTOFrame that transmission's frame, for retransmissions (any
	// kind); 0 when unknown.
	RTO      int64
	RTOFrame uint64
	// AckedFrame is the frame of the peer's segment that this ACK acknowledges
	// (wholly or in part) and AckRTT the time in ns since it was sent, as
	// Wireshark's tcp.analysis.acks_frame / ack_rtt; 0 when none.
	AckedFrame uint64
	AckRTT     int64
}

// DirStats describes one direction of a connection.
type DirStats struct {
	// ISN is the sequence number of the direction's SYN, when ISNSeen.
	ISN     seqnum.Value
	ISNSeen bool
	// NextSeq is the highest sequence number seen plus one (SYN and FIN count),
	// when NextSeqValid.
	NextSeq      seqnum.Value
	NextSeqValid bool
	// LastAck is the latest and HighestAck the highest acknowledgement number the
	// direction sent, when AckSeen.
	LastAck, HighestAck seqnum.Value
	AckSeen             bool
	// Window is the latest raw window field, ScaledWindow the same shifted by
	// WScale when that is known (SYN windows are never scaled).
	Window       uint16
	ScaledWindow uint32
	WScale       WScale
	// MSS is the MSS option of the direction's SYN (0 if none); SACKPermitted
	// whether that SYN permitted SACK.
	MSS           uint16
	SACKPermitted bool
	// Packets counts the segments; PayloadBytes sums their payload lengths from
	// the IP header lengths.
	Packets      uint64
	PayloadBytes uint64
	// UniqueBytes counts payload bytes seen for the first time, RetransBytes the
	// bytes seen again; UniqueBytes+RetransBytes == PayloadBytes.
	UniqueBytes  uint64
	RetransBytes uint64
	// MissedBytes counts bytes that were sent (the sequence numbers or the
	// peer's ACKs prove it) but never captured: holes not filled so far.
	MissedBytes uint64
	// ZeroWindows counts zero-window advertisements (ZeroWindow segments).
	ZeroWindows uint64
	// HolesCapped and UnackedCapped say that a bounded record was full at
	// some point (MaxRanges, MaxUnacked): the analysis of this direction then
	// forgot the oldest hole, or did not remember a segment (an RTO or a
	// retransmission kind may be less exact).
	HolesCapped, UnackedCapped bool
	// Unacked and Holes are the current sizes of the bounded records.
	Unacked int
	Holes   int
}

// unackedSeg is one segment sent and not yet acknowledged.
type unackedSeg struct {
	seq, end seqnum.Value // [seq, end) in sequence space, SYN and FIN included
	frame    uint64
	time     int64
}

// hole is a range of payload sequence numbers [start, end) not captured.
type hole struct {
	start, end seqnum.Value
}

// Direction state bits.
const (
	stSeen       uint16 = 1 << iota // a segment of this direction was seen
	stNext                          // nextSeq is valid
	stMaxAck                        // maxSeqToBeAcked is valid
	stLastAck                       // lastAck came from a segment with ACK
	stFirstAck                      // Wireshark's is_first_ack: last handshake segment was a SYN
	stSyn                           // a SYN was seen (isn valid)
	stFin                           // a FIN was seen (finEnd valid)
	stCover                         // lo/hi valid
	stPay                           // payLo/payHi valid
	stEdge                          // rightEdge valid
	stSackPerm                      // the SYN permitted SACK
	stCapHoles                      // the hole record was full once
	stCapUnacked                    // the unacked record was full once
	stHighAck                       // highestAck valid
	stPayRef                        // with stPay: the payload is kept in ext, by position, not in pay
)

// Window-scale encoding in dirState.ws: zero value means unknown.
const (
	wsUnknown uint8 = 0
	wsNotUsed uint8 = 1
	wsShift0  uint8 = 2 // wsShift0+n means shift n
)

// dirState is the per-direction state: Wireshark's tcp_analyze_seq_flow_info_t
// plus the byte bookkeeping of this package.
type dirState struct {
	// Wireshark's analysis state. Sequence values are absolute.
	nextSeq       seqnum.Value // highest seq+len seen (SYN/FIN count one)
	maxSeqToBeAck seqnum.Value // highest contiguous seq, for AckUnseen
	lastAck       seqnum.Value // ack field of the latest segment
	highestAck    seqnum.Value
	dupAcks       int32 // -1: an unseen ACK was reported since the last ACK change
	lastAckTime   int64 // time of the latest segment
	nextSeqTime   int64 // time of the segment that last advanced nextSeq
	nextSeqFrame  uint64
	lastNonDupAck uint64 // frame of the latest ACK that was not a duplicate
	lastFlags     Class  // classes of the latest segment
	window        uint16 // raw window of the latest segment
	mss           uint16
	st            uint16
	ws            uint8

	isn       seqnum.Value
	finEnd    seqnum.Value // FIN sequence number + 1
	rightEdge seqnum.Value // highest ack+scaled window this direction advertised

	// Byte bookkeeping in payload sequence space: [lo, hi) minus holes was seen.
	lo, hi       seqnum.Value
	holes        []hole // sorted, disjoint, not touching, inside [lo, hi]
	unacked      []unackedSeg
	pay          []byte // ring copy of payload [payLo, payHi), len is a power of two, grown on demand
	payLo, payHi seqnum.Value
	// ext holds, instead of pay (stPayRef), where the payload [payLo,
	// payHi) can be read again: a run per segment that extended it.
	ext []payExtent

	packets, payloadBytes, uniqueBytes, retransBytes uint64
	holeBytes, droppedHoleBytes, zeroWindows         uint64
}

// Tracker follows the sequence numbers of one TCP connection in both directions
// and classifies each segment. The zero value is ready for use with the default
// limits; Init sets other limits or resets a used Tracker. It holds no maps and
// allocates only the bounded, lazily grown records of holes, unacknowledged
// segments and (optionally) payload.
type Tracker struct {
	// The settings and handshake bits every segment reads come first, in
	// the cache line of the first direction's sequence state.
	rings        *RingPool
	maxUnacked   uint32
	payCap       uint32
	maxHoles     uint16
	hs           uint8 // handshake bits below
	synDir       segment.Dir
	keepPay      bool
	tsharkCompat bool
	configured   bool

	d [2]dirState

	mruSynTime int64 // time of the most recent SYN without ACK (ts_mru_syn)
	firstRTT   int64 // Wireshark's ts_first_rtt: SYN to the first ACK without SYN
	hsSynTime  int64 // SYN of the strict handshake
	hsRTT      int64 // SYN → SYN-ACK → ACK
}

// Handshake bits in Tracker.hs.
const (
	hsMruSyn   uint8 = 1 << iota // mruSynTime valid
	hsFirstRTT                   // firstRTT valid
	hsSyn                        // strict: a SYN from synDir was seen
	hsSynAck                     // strict: then a SYN-ACK from the other side
	hsDone                       // strict: hsRTT valid
)

// Release frees the bounded records once the connection is over (closed or
// reset) and only stragglers can follow: holes still open stay counted as
// missed bytes, unacknowledged segments are forgotten (a later retransmission
// gets no RTO) and the payload copy is dropped. Classification goes on with
// the per-direction state.
func (t *Tracker) Release() {
	for i := range t.d {
		s := &t.d[i]
		s.droppedHoleBytes += s.holeBytes
		s.holeBytes = 0
		// Small records are kept empty for the connection that reuses this
		// tracker (Init keeps them): most connections need a few entries,
		// and growing them anew was an allocation per connection.
		s.holes = keepSmall(s.holes)
		s.unacked = keepSmall(s.unacked)
		t.rings.put(s.pay)
		s.pay = nil
		s.ext = keepSmall(s.ext)
		s.st &^= stPay | stPayRef
	}
}

// keepSmallCap is the largest record capacity Release keeps.
const keepSmallCap = 16

// keepSmall empties r, keeping its memory only when it is small.
func keepSmall[T any](r []T) []T {
	if cap(r) > keepSmallCap {
		return nil
	}
	return r[:0]
}

// Init resets t and applies cfg (nil means the defaults). It keeps the memory
// of the bounded records for reuse.
func (t *Tracker) Init(cfg *Config) {
	var keep [2][]hole
	var keepU [2][]unackedSeg
	var keepP [2][]byte
	var keepE [2][]payExtent
	for i := range t.d {
		keep[i] = t.d[i].holes[:0]
		keepU[i] = t.d[i].unacked[:0]
		keepP[i] = t.d[i].pay
		keepE[i] = t.d[i].ext[:0]
	}
	*t = Tracker{}
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.MaxRanges <= 1 {
		if c.MaxRanges <= 0 {
			c.MaxRanges = DefaultMaxRanges
		} else {
			c.MaxRanges = 1
		}
	}
	if c.MaxUnacked <= 0 {
		c.MaxUnacked = DefaultMaxUnacked
	}
	if c.MaxPayloadBytes <= 0 {
		c.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	t.maxHoles = uint16(min(c.MaxRanges-1, 1<<16-1))
	t.maxUnacked = uint32(min(c.MaxUnacked, 1<<20))
	if !c.KeepUnacked {
		t.maxUnacked = 0
	}
	// The largest power of two within the bound: Init runs for every
	// connection, and a loop of doublings was 130 instructions of it.
	p := uint32(1) << (bits.Len32(uint32(min(c.MaxPayloadBytes, 1<<26))) - 1)
	t.payCap = p
	t.keepPay = c.KeepPayload
	t.rings = c.Rings
	t.tsharkCompat = c.TsharkCompat
	t.configured = true
	for i := range t.d {
		t.d[i].holes = keep[i]
		t.d[i].unacked = keepU[i]
		t.d[i].ext = keepE[i]
		if t.keepPay && len(keepP[i]) > 0 && uint32(len(keepP[i])) <= p {
			t.d[i].pay = keepP[i]
		} else {
			t.rings.put(keepP[i])
		}
	}
}

func (t *Tracker) ensureConfigured() {
	if !t.configured {
		t.Init(nil)
	}
}

// HandshakeRTT returns the time from the (latest) SYN to the ACK that completed
// the three-way handshake SYN → SYN-ACK → ACK, when one was seen.
//
// Wireshark's tcp.analysis.initial_rtt is looser (SYN to the first segment with
// ACK and without SYN, in either direction); the tracker uses that one for the
// out-of-order threshold, as Wireshark does, and returns it from WiresharkIRTT.
func (t *Tracker) HandshakeRTT() (ns int64, ok bool) {
	if t.hs&hsDone == 0 {
		return 0, false
	}
	return t.hsRTT, true
}

// WiresharkIRTT returns Wireshark's initial RTT (tcp.analysis.initial_rtt).
func (t *Tracker) WiresharkIRTT() (ns int64, ok bool) {
	if t.hs&hsFirstRTT == 0 {
		return 0, false
	}
	return t.firstRTT, true
}

// Dir returns the statistics of direction d.
func (t *Tracker) Dir(d segment.Dir) DirStats {
	s := &t.d[d&1]
	ds := DirStats{
		ISN:           s.isn,
		ISNSeen:       s.st&stSyn != 0,
		NextSeq:       s.nextSeq,
		NextSeqValid:  s.st&stNext != 0,
		LastAck:       s.lastAck,
		HighestAck:    s.highestAck,
		AckSeen:       s.st&stHighAck != 0,
		Window:        s.window,
		WScale:        s.wscale(),
		MSS:           s.mss,
		SACKPermitted: s.st&stSackPerm != 0,
		Packets:       s.packets,
		PayloadBytes:  s.payloadBytes,
		UniqueBytes:   s.uniqueBytes,
		RetransBytes:  s.retransBytes,
		MissedBytes:   s.holeBytes + s.droppedHoleBytes,
		HolesCapped:   s.st&stCapHoles != 0,
		UnackedCapped: s.st&stCapUnacked != 0,
		ZeroWindows:   s.zeroWindows,
		Unacked:       len(s.unacked),
		Holes:         len(s.holes),
	}
	ds.ScaledWindow = uint32(s.window)
	if s.st&stFirstAck == 0 {
		ds.ScaledWindow <<= s.shift()
	}
	return ds
}

// Brief returns what a flow record takes of direction d: its missed bytes
// (MissedBytes), the MSS of its SYN and its window scale. It reads two of the
// four cache lines of the direction's state, where Dir reads them all: a
// finished connection has often left the cache, and a record is made for
// each.
func (t *Tracker) Brief(d segment.Dir) (missed uint64, mss uint16, ws WScale) {
	s := &t.d[d&1]
	return s.holeBytes + s.droppedHoleBytes, s.mss, s.wscale()
}

// Capped reports whether some direction reached the cap on holes, and
// whether some direction reached the cap on unacknowledged segments: what
// Dir's HolesCapped and UnackedCapped say of both, without building the rest
// of their statistics (a record that only names its caps asks for this).
func (t *Tracker) Capped() (holes, unacked bool) {
	st := t.d[0].st | t.d[1].st
	return st&stCapHoles != 0, st&stCapUnacked != 0
}

// wscale returns the public form of the direction's window scale.
func (s *dirState) wscale() WScale {
	switch s.ws {
	case wsUnknown:
		return WScaleUnknown
	case wsNotUsed:
		return WScaleNotUsed
	}
	return WScale(s.ws - wsShift0)
}

// shift returns the shift to apply to the direction's non-SYN windows: 0 when
// unknown or not used (Wireshark does not scale then either).
func (s *dirState) shift() uint32 {
	if s.ws >= wsShift0 {
		return uint32(s.ws - wsShift0)
	}
	return 0
}

// segLen returns the payload length as a clamped uint32.
func segLen(s *segment.Segment) uint32 {
	n := s.PayloadLen
	if n <= 0 {
		return 0
	}
	if n > maxSegLen {
		return maxSegLen
	}
	return uint32(n)
}

// Add classifies the segment seg sent in direction dir and updates the state.
// Segments must be added in capture order. seg is read, never kept: its
// Payload may be reused by the caller afterwards.
//
// The rules and their order are Wireshark's (packet-tcp.c,
// tcp_analyze_sequence_number), quoted in the package documentation.
func (t *Tracker) Add(dir segment.Dir, seg *segment.Segment) Result {
	var r Result
	t.AddTo(dir, seg, &r)
	return r
}

// AddTo is Add with the result written to *r, which it overwrites. The
// engine's hot path uses it: a returned Result is built on the stack and
// copied out in 16-byte moves, which cannot take their bytes from the
// narrower stores just made to it and wait for those to reach the cache: a
// store-forwarding stall that held 5 % of a one-core profile of the mix
// (docs/performance.md, session 11). Its inlining cost is 1 997 of the 2 000
// the compiler allows a call the PGO profile calls hot (go build
// -gcflags=-d=pgodebug=1 says so): anything added here takes it out of the
// engine's update, unless something as large moves into a call.
func (t *Tracker) AddTo(dir segment.Dir, seg *segment.Segment, r *Result) {
	*r = Result{}
	if seg == nil {
		return
	}
	t.ensureConfigured()
	di := dir & 1
	fwd, rev := &t.d[di], &t.d[di^1]

	seq, ack := seg.Seq, seg.Ack
	flags := seg.Flags
	seglen := segLen(seg)
	synfin := uint32(0)
	if flags.Any(segment.SYN | segment.FIN) {
		synfin = 1
	}
	now := seg.Time
	hadNext := fwd.st&stNext != 0
	oldNext := fwd.nextSeq

	fwd.packets++
	fwd.payloadBytes += uint64(seglen)

	// Rules 1–9: forward checks, which may end early ("goto finished_fwd").
	c, gap := t.forwardChecks(fwd, rev, seg, seglen, r)
	if c&LostSegment != 0 {
		r.GapBytes = gap
	}

	// After finished_fwd: a changed ACK ends a series of duplicate ACKs.
	if ack != fwd.lastAck {
		fwd.lastNonDupAck = seg.Frame
		fwd.dupAcks = 0
	}

	// Rule 10: ACKed unseen segment.
	if flags&segment.ACK != 0 && rev.st&stMaxAck != 0 && ack.GreaterThan(rev.maxSeqToBeAck) {
		switch {
		case !t.tsharkCompat && ack == fwd.lastAck+1 && hadNext && seq == fwd.nextSeq &&
			rev.lastFlags&ZeroWindowProbe != 0:
			// The ACK takes the probe byte: the window re-opened.
			rev.nextSeq = ack
			rev.maxSeqToBeAck = ack
			c |= WindowUpdate
		case rev.maxSeqToBeAck.LessThan(rev.nextSeq):
			// A hole below the highest byte seen was acknowledged.
			r.UnseenAckBytes = uint32(rev.maxSeqToBeAck.Size(ack))
			rev.maxSeqToBeAck = rev.nextSeq
			c |= AckUnseen
		default:
			// The ACK is beyond everything seen: report it once until the
			// peer's own ACK changes (the peer's dup-ACK count is the marker).
			if rev.dupAcks == 0 {
				r.UnseenAckBytes = uint32(rev.maxSeqToBeAck.Size(ack))
				c |= AckUnseen
			}
			rev.dupAcks = -1
		}
	}

	// Rule 11: retransmission, fast, spurious or out-of-order.
	if seglen > 0 || synfin != 0 {
		c |= t.retransmissionCheck(fwd, rev, seg, seglen, synfin, c, r)
	}

	// Remember the segment until it is acknowledged.
	end := seq.Add(seqnum.Size(seglen + synfin))
	if (seglen > 0 || synfin != 0) && t.maxUnacked > 0 {
		if uint32(len(fwd.unacked)) < t.maxUnacked {
			fwd.unacked = append(fwd.unacked, unackedSeg{seq: seq, end: end, frame: seg.Frame, time: now})
		} else {
			fwd.st |= stCapUnacked
		}
	}

	// Advance nextSeq (not for a zero-window probe) and the contiguous edge.
	if !hadNext || end.GreaterThan(fwd.nextSeq) {
		if c&ZeroWindowProbe == 0 {
			fwd.nextSeq = end
			fwd.nextSeqFrame = seg.Frame
			fwd.nextSeqTime = now
			fwd.st |= stNext
		}
	}
	if fwd.st&stMaxAck == 0 || seq == fwd.maxSeqToBeAck {
		if c&ZeroWindowProbe == 0 && fwd.st&stNext != 0 {
			fwd.maxSeqToBeAck = fwd.nextSeq
			fwd.st |= stMaxAck
		}
	}

	// Extensions, computed on the state before this segment's ACK is stored.
	t.outOfWindow(fwd, rev, seg, seglen, &c)
	t.bookBytes(fwd, rev, seg, seglen, &c, r)
	if seglen > 0 && c&(AnyRetransmission|OutOfOrder|LostSegment|ZeroWindowProbe|KeepAlive) == 0 &&
		(!hadNext || seq == oldNext) {
		c |= InOrder
	}
	if r.NewBytes > 0 && r.RetransBytes > 0 {
		c |= Overlap
	}

	// Remember what this segment said.
	fwd.window = seg.Window
	fwd.lastAck = ack
	fwd.lastAckTime = now
	if flags&segment.ACK != 0 {
		fwd.st |= stLastAck
		if fwd.st&stHighAck == 0 || ack.GreaterThan(fwd.highestAck) {
			fwd.highestAck = ack
		}
		fwd.st |= stHighAck
	} else {
		fwd.st &^= stLastAck
	}
	fwd.lastFlags = c
	fwd.st |= stSeen
	if c&ZeroWindow != 0 {
		fwd.zeroWindows++
	}

	// Drop the peer's segments this ACK covers.
	// (maxUnacked first: without Config.KeepUnacked the record is always
	// empty, and its slice is on a line of rev that a segment's other
	// checks need not touch.)
	if flags&segment.ACK != 0 && t.maxUnacked > 0 && len(rev.unacked) > 0 {
		removeAcked(rev, ack, now, r)
	}

	t.handshake(di, fwd, rev, seg)
	r.Class = c
}

// forwardChecks runs Wireshark's rules 1–9 on a segment of fwd and returns the
// classes found and, with LostSegment, the gap size.
func (t *Tracker) forwardChecks(fwd, rev *dirState, seg *segment.Segment, seglen uint32, r *Result) (Class, uint32) {
	var c Class
	seq, ack, win := seg.Seq, seg.Ack, seg.Window
	hasNext := fwd.st&stNext != 0
	noSFR := !seg.Flags.Any(segment.SYN | segment.FIN | segment.RST)
	atNext := hasNext && seq == fwd.nextSeq
	sameAck := ack == fwd.lastAck

	// 1. Zero-window probe: one byte at nextSeq into a zero window. A peer
	// not seen yet has no window (Wireshark starts it at 0xFFFFFFFF).
	if seglen == 1 && atNext && rev.window == 0 && rev.st&stSeen != 0 {
		return c | ZeroWindowProbe, 0
	}
	// 2. Zero window.
	if win == 0 && noSFR {
		c |= ZeroWindow
	}
	// 3. Previous segment not captured.
	var gap uint32
	if hasNext && seq.GreaterThan(fwd.nextSeq) && seg.Flags&segment.RST == 0 {
		c |= LostSegment
		gap = uint32(fwd.nextSeq.Size(seq))
	}
	// 4. Keep-alive: zero or one byte just below nextSeq.
	if seglen <= 1 && hasNext && seq == fwd.nextSeq-1 && noSFR {
		c |= KeepAlive
	}
	// 5. Window update: same seq and ack, another non-zero window.
	if seglen == 0 && win != 0 && win != fwd.window && atNext && sameAck && noSFR {
		c |= WindowUpdate
	}
	// 6. Window full: the payload reaches the peer's right window edge. The
	// peer's window counts unscaled while its last handshake segment was a
	// SYN, and the rule is off while the peer's scale is unknown.
	if seglen > 0 && rev.ws != wsUnknown && rev.st&stSeen != 0 && noSFR {
		sh := rev.shift()
		if rev.st&stFirstAck != 0 {
			sh = 0
		}
		edge := rev.lastAck + seqnum.Value(uint32(rev.window)<<sh)
		if seq.Add(seqnum.Size(seglen)) == edge {
			c |= WindowFull
		}
	}
	// 7. Keep-alive ACK.
	if seglen == 0 && win != 0 && win == fwd.window && atNext && sameAck &&
		rev.lastFlags&KeepAlive != 0 && noSFR {
		return c | KeepAliveAck, gap
	}
	// 8. Zero-window probe ACK; an ACK of the probe byte moves the peer on.
	if seglen == 0 && win == 0 && win == fwd.window && atNext &&
		(sameAck || !t.tsharkCompat && ack == fwd.lastAck+1) && rev.lastFlags&ZeroWindowProbe != 0 && noSFR {
		if ack == fwd.lastAck+1 {
			rev.nextSeq = ack
			rev.maxSeqToBeAck = ack
		}
		return c | ZeroWindowProbeAck, gap
	}
	// 9. Duplicate ACK.
	if seglen == 0 && win != 0 && win == fwd.window && atNext && sameAck && noSFR {
		fwd.dupAcks++
		if fwd.dupAcks <= 0 { // -1 was the unseen-ACK marker
			fwd.dupAcks = 1
		}
		r.DupAckNum = uint32(fwd.dupAcks)
		r.DupAckFrame = fwd.lastNonDupAck
		return c | DuplicateAck, gap
	}
	return c, gap
}

// since returns now-then; ok is false when then is later than now (a capture
// that needs reordering), which Wireshark 4.0 treats as a huge delay.
func since(now, then int64) (int64, bool) {
	if now < then {
		return 0, false
	}
	return now - then, true
}

// retransmissionCheck runs Wireshark's rule 11 on a segment with payload, SYN
// or FIN and returns the retransmission classes.
func (t *Tracker) retransmissionCheck(fwd, rev *dirState, seg *segment.Segment, seglen, synfin uint32, c Class, r *Result) Class {
	if c&KeepAlive != 0 {
		return 0
	}
	seq := seg.Seq
	notAdvanced := fwd.st&stNext != 0 && seq.LessThan(fwd.nextSeq)
	// More than one byte starting one below nextSeq follows a probe: new data.
	if seglen > 1 && fwd.nextSeq-1 == seq {
		notAdvanced = false
	}
	// Spurious: every byte was already acknowledged by the peer.
	if seglen > 0 && rev.st&stLastAck != 0 && seq.Add(seqnum.Size(seglen)).LessThanEq(rev.lastAck) {
		t.rto(fwd, seg, r)
		return SpuriousRetransmission | Retransmission
	}
	if !notAdvanced {
		return 0
	}
	end := seq.Add(seqnum.Size(seglen))

	// Fast retransmission (tried before out-of-order, Wireshark's default):
	// the peer asked for this segment with two or more duplicate ACKs within
	// the last 20 ms.
	if dt, ok := since(seg.Time, rev.lastAckTime); ok && dt < fastRetransWindow &&
		(rev.dupAcks >= 2 || rev.dupAcks < 0 && t.tsharkCompat) && rev.lastAck == seq {
		t.rto(fwd, seg, r)
		return FastRetransmission | Retransmission
	}

	// Out-of-order: sooner than the handshake RTT after the segment that last
	// advanced nextSeq, and not ending exactly at nextSeq.
	thresh := int64(defaultOOOThresh)
	if t.hs&hsFirstRTT != 0 {
		thresh = t.firstRTT
	}
	if dt, ok := since(seg.Time, fwd.nextSeqTime); ok && dt < thresh &&
		fwd.nextSeq != end.Add(seqnum.Size(synfin)) {
		return OutOfOrder
	}

	t.rto(fwd, seg, r)
	return Retransmission
}

// rto fills r.RTO and r.RTOFrame: the time since the oldest remembered
// transmission at or above seg.Seq, else since the segment that last advanced
// nextSeq.
func (t *Tracker) rto(fwd *dirState, seg *segment.Segment, r *Result) {
	for i := range fwd.unacked {
		u := &fwd.unacked[i]
		if u.seq.GreaterThanEq(seg.Seq) {
			r.RTO, r.RTOFrame = seg.Time-u.time, u.frame
			return
		}
	}
	if fwd.st&stNext != 0 {
		r.RTO, r.RTOFrame = seg.Time-fwd.nextSeqTime, fwd.nextSeqFrame
	}
}

// removeAcked drops the segments of s that ack covers and trims the one it
// covers in part, noting the oldest one it reaches in r.
func removeAcked(s *dirState, ack seqnum.Value, now int64, r *Result) {
	n := 0
	matched := false
	for i := range s.unacked {
		u := s.unacked[i]
		switch {
		case ack == u.end:
			if !matched {
				r.AckedFrame, r.AckRTT, matched = u.frame, now-u.time, true
			}
			continue // acknowledged: drop
		case ack.GreaterThan(u.seq) && ack.LessThanEq(u.end):
			if !matched {
				r.AckedFrame, r.AckRTT, matched = u.frame, now-u.time, true
			}
			u.seq = ack
		case u.end.GreaterThan(ack):
			// not reached yet
		default:
			continue // acknowledged earlier: drop
		}
		s.unacked[n] = u
		n++
	}
	s.unacked = s.unacked[:n]
}

// handshake records what a SYN tells (window scale, MSS, SACK permission, ISN)
// and the handshake timing, after the analysis as Wireshark does.
func (t *Tracker) handshake(di segment.Dir, fwd, rev *dirState, seg *segment.Segment) {
	f := seg.Flags
	now := seg.Time
	if f&segment.SYN != 0 {
		if fwd.st&stSyn == 0 {
			fwd.isn = seg.Seq
			fwd.st |= stSyn
		}
		if seg.Opts.HasMSS {
			fwd.mss = seg.Opts.MSS
		}
		if seg.Opts.SACKPermitted {
			fwd.st |= stSackPerm
		}
		if seg.Opts.HasWScale {
			fwd.ws = wsShift0 + min(seg.Opts.WScale, 14)
		}
		// Scaling is used only if both SYNs carry the option.
		if fwd.ws == wsUnknown {
			fwd.ws, rev.ws = wsNotUsed, wsNotUsed
		} else if f&segment.ACK != 0 && rev.ws == wsNotUsed {
			fwd.ws = wsNotUsed
		}
		fwd.st |= stFirstAck
		if f&segment.ACK == 0 {
			t.mruSynTime = now
			t.hs |= hsMruSyn
			t.hs = t.hs&^(hsSynAck) | hsSyn
			if t.hs&hsDone == 0 {
				t.synDir = di
				t.hsSynTime = now
			}
		} else if t.hs&hsSyn != 0 && di != t.synDir {
			t.hs |= hsSynAck
		}
		return
	}
	if f&segment.ACK == 0 {
		return
	}
	fwd.st &^= stFirstAck
	if t.hs&hsMruSyn != 0 && t.hs&hsFirstRTT == 0 {
		t.firstRTT = now - t.mruSynTime
		if t.firstRTT != 0 {
			t.hs |= hsFirstRTT
		}
	}
	if t.hs&(hsSynAck|hsDone) == hsSynAck && di == t.synDir && f&segment.RST == 0 {
		t.hsRTT = now - t.hsSynTime
		t.hs |= hsDone
	}
}
