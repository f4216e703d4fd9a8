package fsm

import (
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// ZeekState is an endpoint state in Zeek's own TCP model, which is coarser than
// RFC 9293's and is what Zeek's conn_state is derived from.
type ZeekState uint8

// Zeek's endpoint states.
const (
	ZeekInactive    ZeekState = iota // nothing seen yet
	ZeekSynSent                      // the originator sent a SYN
	ZeekSynAckSent                   // the originator sent a SYN-ACK first
	ZeekPartial                      // first packet was not a SYN: picked up mid-stream
	ZeekEstablished                  // SYN-ACK seen (both sides), or handshake inferred
	ZeekClosed                       // sent a FIN
	ZeekReset                        // sent a RST
)

// zeekStateNameOf names Zeek's states (byteNames).
var zeekStateNameOf = [256]string{"INACTIVE", "SYN_SENT", "SYN_ACK_SENT", "PARTIAL", "ESTABLISHED", "CLOSED", "RESET"}

// String returns Zeek's name for the state, e.g. "SYN_ACK_SENT", or "ZeekState(n)".
func (s ZeekState) String() string {
	if n := zeekStateNameOf[s]; n != "" {
		return n
	}
	return unknownName("ZeekState", uint8(s))
}

// inactive reports Zeek's "o_inactive"/"r_inactive": INACTIVE or PARTIAL.
func (s ZeekState) inactive() bool { return s == ZeekInactive || s == ZeekPartial }

// ZeekHints carries what the sequence tracker knows about a segment and the
// header alone cannot tell.
type ZeekHints struct {
	// Retransmit marks payload the sequence tracker calls retransmitted. Zeek's
	// own 't' rule (payload whose end does not pass the highest end seen, which
	// also catches late out-of-order fills) is always applied; the hint adds to it.
	// Leave it false to reproduce Zeek exactly.
	Retransmit bool
	// Gap marks a segment whose ACK acknowledges bytes of the peer's stream that
	// were never captured: Zeek's content gap, recorded as the peer's 'g'.
	Gap bool
	// BadChecksum marks a failed TCP checksum. Zeek (run without -C) records 'c'
	// on the log scale and drops the packet; pass false to ignore checksums.
	BadChecksum bool
}

// ZeekEffect reports what an Update did beyond recording history.
type ZeekEffect uint8

// The effects of Update.
const (
	// ZeekFlipped: Zeek swapped the roles during this packet (a SYN-ACK-first
	// connection turned productive, or a SYN/SYN-ACK reversal). Pass directions in
	// the new orientation from now on.
	ZeekFlipped ZeekEffect = 1 << iota
	// ZeekHalfClosed: the sender closed (FIN or RST) while its peer is still open.
	ZeekHalfClosed
	// ZeekCloseComplete: the sender closed and the connection is done in Zeek's
	// eyes (a RST, the peer closed too, or the peer never spoke); Zeek removes the
	// connection tcp_close_delay (5 s) later.
	ZeekCloseComplete
)

// history mask bits, per direction (the responder's are shifted by 16).
const (
	zhSyn    uint32 = 0x1
	zhFin    uint32 = 0x2
	zhRst    uint32 = 0x4
	zhFinRst uint32 = 0x8
	zhData   uint32 = 0x10
	zhAck    uint32 = 0x20
	zhMulti  uint32 = 0x40
)

// zeekTooLarge is the sequence jump beyond which SYN and RST sequence numbers are
// not trusted.
const zeekTooLarge = 1048576

// zeekHistInline is how many history letters fit without allocating.
const zeekHistInline = 32

// scaled counts a repeated event recorded on a log scale: 1st, 10th, 100th...
type scaled struct{ cnt, thresh uint32 }

// hit counts one event and reports whether it reached the next threshold.
func (s *scaled) hit() bool {
	if s.thresh == 0 {
		s.thresh = 1
	}
	s.cnt++
	if s.cnt != s.thresh {
		return false
	}
	if next := s.thresh * 10; next > s.thresh {
		s.thresh = next
	} else {
		s.cnt = 0 // overflow: keep the threshold
	}
	return true
}

type zeekEndpoint struct {
	state, prev                ZeekState
	sawFIN, didClose           bool
	start, last, ack           seqnum.Value // start: ISN (or first seq − 1)
	histSYN, histFIN, histRST  uint32       // relative seq of the last SYN, FIN end, RST
	chk, rxmt, win0, gapCounts scaled
}

func (e *zeekEndpoint) set(s ZeekState) {
	if s != e.state {
		e.prev, e.state = e.state, s
	}
}

// Zeek reproduces Zeek's per-endpoint TCP states, its conn_state and its history
// string for one connection, from the documented semantics of Zeek's conn.log.
// Directions are Zeek's current orientation: after Flip, or after an Update that
// reports ZeekFlipped, segment.Orig names the other host. The zero value is
// ready to use; it does not allocate until the history outgrows 32 letters.
type Zeek struct {
	ep   [2]zeekEndpoint
	seen uint32 // letters recorded once: orig's bits low, resp's shifted by 16; Flip leaves it alone, as Zeek does
	n    uint8
	hist [zeekHistInline]byte
	more []byte
}

// History returns the history string, e.g. "ShADadFf".
func (z *Zeek) History() string { return string(z.hist[:z.n]) + string(z.more) }

// AppendHistory appends the history string's bytes to b.
func (z *Zeek) AppendHistory(b []byte) []byte { return append(append(b, z.hist[:z.n]...), z.more...) }

// States returns Zeek's endpoint states, indexed by segment.Dir.
func (z *Zeek) States() [2]ZeekState { return [2]ZeekState{z.ep[0].state, z.ep[1].state} }

func (z *Zeek) add(c byte) {
	if int(z.n) < zeekHistInline {
		z.hist[z.n] = c
		z.n++
		return
	}
	z.more = append(z.more, c)
}

func (z *Zeek) historyIs(s string) bool {
	// The length first: every data or ACK segment asks, and more lies on a
	// line that nothing else of a segment reads.
	return int(z.n) == len(s) && string(z.hist[:z.n]) == s && len(z.more) == 0
}

func caseFor(d segment.Dir, c byte) byte {
	if d == segment.Resp && c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// Flip swaps the roles: the originator becomes the responder. It records '^'.
func (z *Zeek) Flip() {
	z.ep[0], z.ep[1] = z.ep[1], z.ep[0]
	z.add('^')
}

// check records a once-per-direction letter; it reports whether the letter had
// been seen already. A first 'A' or 'D' after a history of just "H" (a connection
// that began with a SYN-ACK) flips the roles, as Zeek does, and rewrites the
// history to "^h"; *d then names the sender in the new orientation.
func (z *Zeek) check(d *segment.Dir, mask uint32, code byte, flipped *bool) bool {
	if (code == 'A' || code == 'D') && z.historyIs("H") {
		z.ep[0], z.ep[1] = z.ep[1], z.ep[0]
		z.n = 0
		z.add('^')
		z.add('h')
		*d = d.Other()
		*flipped = true
	}
	if *d == segment.Resp {
		mask <<= 16
	}
	if z.seen&mask == 0 {
		z.seen |= mask
		z.add(caseFor(*d, code))
		return false
	}
	return true
}

func (z *Zeek) scaledEntry(d segment.Dir, s *scaled, code byte) {
	if s.hit() {
		z.add(caseFor(d, code))
	}
}

// Update feeds one packet sent in direction dir (Zeek's current orientation). It
// follows Zeek's order: checksum, endpoint initialisation, history, zero window,
// acknowledgement bookkeeping, retransmission rule, state machine, content gap.
func (z *Zeek) Update(dir segment.Dir, seg *segment.Segment, h ZeekHints) ZeekEffect {
	d := dir & 1
	if h.BadChecksum {
		z.scaledEntry(d, &z.ep[d].chk, 'C')
		return 0
	}
	f := seg.Flags
	syn, fin, rst, ack := f.Has(segment.SYN), f.Has(segment.FIN), f.Has(segment.RST), f.Has(segment.ACK)
	plen := max(seg.PayloadLen, 0)
	segLen := plen
	if syn {
		segLen++
	}
	if fin {
		segLen++
	}
	if rst {
		segLen -= plen
	}
	base := seg.Seq
	past := base.Add(seqnum.Size(segLen))
	isOrig := d == segment.Orig // deliberately not refreshed after a flip below, as in Zeek

	z.initEndpoint(&z.ep[d], syn, base, past)
	rel := uint32(base - z.ep[d].start)

	var eff ZeekEffect
	flipped := false
	z.updateHistory(&d, syn, fin, rst, ack, rel, plen, &flipped)
	if flipped {
		eff |= ZeekFlipped
	}
	e, p := &z.ep[d], &z.ep[d^1]

	if seg.Window == 0 && !rst && p.state != ZeekClosed && e.state != ZeekReset {
		z.scaledEntry(d, &e.win0, 'W')
	}
	if fin {
		e.sawFIN = true
	}
	if ack {
		a := seg.Ack
		if p.state == ZeekInactive {
			p.start, p.ack, p.last = a-1, a-1, a-1
		} else if int32(a-p.start) >= 0 && !rst {
			if delta := int32(a - p.ack); !(a == 0 && delta > zeekTooLarge) && delta > 0 {
				p.ack = a
			}
		}
	}

	rxmit := false
	dl := int32(past - e.last)
	switch {
	case (syn || rst) && (dl > zeekTooLarge || dl < -zeekTooLarge):
	case fin && e.last == e.start+1:
		e.last = past
	case e.state == ZeekReset:
	case dl > 0:
		e.last = past
	case plen > 0:
		rxmit = true
	}
	if rxmit || h.Retransmit {
		z.scaledEntry(d, &e.rxmt, 'T')
	}

	doClose := z.stateMachine(&d, isOrig, syn, fin, rst, ack, plen, &eff)
	e, p = &z.ep[d], &z.ep[d^1]

	if ack && h.Gap && cleanlyOpen(p) && cleanlyOpen(e) {
		z.scaledEntry(d^1, &p.gapCounts, 'G')
	}
	if doClose && !e.didClose {
		e.didClose = true
		if e.state == ZeekReset || p.didClose || p.state == ZeekInactive {
			eff |= ZeekCloseComplete
		} else {
			eff |= ZeekHalfClosed
		}
	}
	return eff
}

// cleanlyOpen is Zeek's condition for reporting a content gap: the endpoint is
// established, or closed straight from established.
func cleanlyOpen(e *zeekEndpoint) bool {
	return e.state == ZeekEstablished || (e.state == ZeekClosed && e.prev == ZeekEstablished)
}

// initEndpoint sets the sequence base of an endpoint on its first packet, and
// resets it on a SYN that restarts the connection.
func (z *Zeek) initEndpoint(e *zeekEndpoint, syn bool, base, past seqnum.Value) {
	switch e.state {
	case ZeekInactive:
		if syn {
			e.start, e.ack = base, base
		} else {
			// Partial connection: number as if a SYN had been seen, and make
			// sure the first packet does not count as a retransmission.
			e.start, e.ack = base-1, base-1
			past = base
		}
		e.last = past
	case ZeekSynSent, ZeekSynAckSent:
		if syn && base != e.start {
			e.start, e.ack, e.last = base, base, past
		}
	case ZeekEstablished, ZeekPartial:
		if syn {
			e.start, e.ack, e.last = base, base, past
		}
	case ZeekReset:
		if syn && e.prev == ZeekInactive {
			e.start, e.ack, e.last = base, base, past
		}
	}
}

func (z *Zeek) updateHistory(d *segment.Dir, syn, fin, rst, ack bool, rel uint32, plen int, flipped *bool) {
	bits := b2i(syn) + b2i(fin) + b2i(rst)
	e := &z.ep[*d]
	switch {
	case bits > 1:
		if fin && rst {
			z.check(d, zhFinRst, 'I', flipped)
		} else {
			z.check(d, zhMulti, 'Q', flipped)
		}
	case syn:
		code := byte('S')
		if ack {
			code = 'H'
		}
		if z.check(d, zhSyn, code, flipped) && rel != e.histSYN {
			z.add(caseFor(*d, code))
		}
		e.histSYN = rel
	case fin:
		end := rel + uint32(plen)
		if z.check(d, zhFin, 'F', flipped) && end != e.histFIN {
			z.add(caseFor(*d, 'F'))
		}
		e.histFIN = end
	case rst:
		if z.check(d, zhRst, 'R', flipped) && rel != e.histRST {
			z.add(caseFor(*d, 'R'))
		}
		e.histRST = rel
	case plen > 0:
		z.check(d, zhData, 'D', flipped)
	case ack:
		z.check(d, zhAck, 'A', flipped)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// stateMachine moves the sender's (and sometimes the peer's) Zeek state; it
// reports whether the sender closed. isOrig is the direction as it was before any
// flip during this packet, which is what Zeek's state machine sees.
func (z *Zeek) stateMachine(d *segment.Dir, isOrig, syn, fin, rst, ack bool, plen int, eff *ZeekEffect) (doClose bool) {
	e, p := &z.ep[*d], &z.ep[*d^1]
	switch e.state {
	case ZeekInactive:
		if syn {
			if isOrig {
				if ack {
					e.set(ZeekSynAckSent)
				} else {
					e.set(ZeekSynSent)
				}
			} else {
				if !ack && p.state == ZeekSynAckSent {
					// SYN/SYN-ACK reversal: the SYN-ACK came first.
					z.Flip()
					*d = d.Other()
					e, p = &z.ep[*d], &z.ep[*d^1]
					p.set(ZeekEstablished)
					*eff |= ZeekFlipped
				}
				if p.state == ZeekSynSent {
					p.set(ZeekEstablished)
				}
				e.set(ZeekEstablished)
			}
		}
		if fin {
			e.set(ZeekClosed)
			doClose = true
		}
		if rst {
			e.set(ZeekReset)
			doClose = true
		}
		if e.state == ZeekInactive {
			switch {
			case !isOrig && plen == 0 && z.ep[segment.Orig].state == ZeekSynSent:
				// An early ACK of the SYN before the SYN-ACK: not a partial connection.
			case ack && p.state == ZeekEstablished:
				e.set(ZeekEstablished) // the SYN was missed; the SYN-ACK was seen
			default:
				e.set(ZeekPartial)
			}
		}
	case ZeekSynSent, ZeekSynAckSent:
		if fin {
			e.set(ZeekClosed)
			doClose = true
		}
		if rst {
			e.set(ZeekReset)
			doClose = true
		}
	case ZeekEstablished, ZeekPartial:
		if syn && e.state == ZeekPartial && p.state == ZeekInactive && !ack {
			e.set(ZeekSynSent)
		}
		if fin && !rst {
			e.set(ZeekClosed)
			if p.state == ZeekReset && p.prev == ZeekClosed {
				p.set(ZeekClosed) // FIN then RST from the peer: a normal end after all
			}
			doClose = true
		}
		if rst {
			e.set(ZeekReset)
			doClose = true
		}
	case ZeekClosed:
		if rst && p.state != ZeekClosed {
			e.set(ZeekReset)
			doClose = true
		}
	}
	return doClose
}

// size is Zeek's payload size of an endpoint in sequence space.
func (z *Zeek) size(i int) uint64 {
	e, p := &z.ep[i], &z.ep[i^1]
	noDataAcked := e.ack == e.start || e.ack == e.start+1
	if e.prev == ZeekSynSent && e.state == ZeekReset && p.state == ZeekInactive && !noDataAcked {
		return 0
	}
	var n uint64
	if e.last.GreaterThan(e.ack) {
		n = uint64(uint32(e.last - e.start))
	} else {
		n = uint64(uint32(e.ack - e.start))
	}
	if n != 0 {
		n--
	}
	if e.sawFIN && n != 0 {
		n--
	}
	return n
}

// ConnState returns Zeek's conn_state for the connection as it stands now
// (Zeek evaluates it when it logs the connection). The first matching rule wins.
func (z *Zeek) ConnState() string {
	os, rs := z.ep[0].state, z.ep[1].state
	switch {
	case rs == ZeekReset:
		switch {
		case os == ZeekSynSent || os == ZeekSynAckSent || (os == ZeekReset && z.size(0) == 0 && z.size(1) == 0):
			return "REJ"
		case os.inactive():
			return "RSTRH"
		}
		return "RSTR"
	case os == ZeekReset:
		if rs.inactive() {
			if z.synThenReset() {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case rs == ZeekClosed && os == ZeekClosed:
		return "SF"
	case os == ZeekClosed:
		if rs.inactive() {
			return "SH"
		}
		return "S2"
	case rs == ZeekClosed:
		if os.inactive() {
			return "SHR"
		}
		return "S3"
	case os == ZeekSynSent && rs == ZeekInactive:
		return "S0"
	case os == ZeekEstablished && rs == ZeekEstablished:
		return "S1"
	}
	return "OTH"
}

// synThenReset matches the history against ^?S[^HAFGIQ]*R.* : an originator's
// SYN followed by its RST with none of the listed letters between.
func (z *Zeek) synThenReset() bool {
	h := z.hist[:z.n]
	at := func(i int) byte {
		if i < len(h) {
			return h[i]
		}
		return z.more[i-len(h)]
	}
	n := len(h) + len(z.more)
	i := 0
	if i < n && at(i) == '^' {
		i++
	}
	if i >= n || at(i) != 'S' {
		return false
	}
	for i++; i < n; i++ {
		switch at(i) {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}

// ZeekStartFlip reports whether Zeek swaps the roles of a new connection on its
// first packet: only when that packet is not a plain SYN and its source port is a
// likely server port (when both ports are, only for a non-SYN packet whose source
// port is the lower one). likelyServer says which ports Zeek's scripts registered.
func ZeekStartFlip(f segment.Flags, srcPort, dstPort uint16, likelyServer func(uint16) bool) bool {
	if f.Has(segment.SYN) && !f.Has(segment.ACK) {
		return false
	}
	if likelyServer == nil || !likelyServer(srcPort) {
		return false
	}
	if likelyServer(dstPort) {
		return !f.Has(segment.SYN) && srcPort < dstPort
	}
	return true
}

// DidClose reports, per endpoint, whether its close (FIN or RST) has been
// processed; Zeek stops moving the connection's last-activity time once both have.
func (z *Zeek) DidClose() [2]bool { return [2]bool{z.ep[0].didClose, z.ep[1].didClose} }

// Reuse reports whether Zeek would end this connection and start a new one on
// this segment: a SYN (or, while the originator is silent, a SYN-ACK) whose ISN
// differs from the one the connection started with. closed says whether the
// connection is already scheduled for removal; then any such segment starts anew.
func (z *Zeek) Reuse(seg *segment.Segment, closed bool) bool {
	f := seg.Flags
	if !f.Has(segment.SYN) {
		return false
	}
	first := segment.Orig
	if f.Has(segment.ACK) {
		if z.ep[0].state != ZeekInactive {
			return false // not a half connection
		}
		first = segment.Resp
	}
	if closed {
		return true
	}
	if seg.Seq == z.ep[first].start {
		return false
	}
	// A SYN that matches a SYN/SYN-ACK reversal is not a reuse.
	return f.Has(segment.ACK) || z.ep[first].state != ZeekSynAckSent ||
		z.ep[1].state != ZeekInactive || seg.Seq != z.ep[1].start
}
