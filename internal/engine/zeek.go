package engine

import (
	"container/heap"

	"github.com/tcpflow-analyze/tcpflow-analyze/fsm"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/flow"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// Zeek's connection timers, used when Config.Timers is TimersZeek. They are
// the defaults of Zeek's init-bare.zeek: tcp_attempt_delay 5 s, the delay
// before a closed or reset connection is removed (tcp_close_delay and
// tcp_reset_delay) 5 s, the repeating half-close check 6 s, and the inactivity
// timeouts: 60 s before the connection is established, 5 min after.
const (
	zeekAttemptDelay  = int64(5e9)
	zeekCloseDelay    = int64(5e9)
	zeekHalfCloseTick = int64(6e9)
	zeekIdleAttempt   = int64(60e9)
	zeekIdleLong      = int64(300e9)
)

// zeekState is what a connection needs for Zeek's view beyond fsm.Zeek: the
// content-gap model and, with Zeek's timers, the connection's deadlines.
type zeekState struct {
	half [2]zeekHalf // by report direction

	lastTime                      int64 // last activity, frozen once both sides closed
	removeAt, attemptAt, expireAt int64 // 0 = not scheduled
	long                          bool  // established once: the long inactivity timeout
	scheduled                     int64 // when the pending timer fires, 0 = none
	timerSeq                      uint32
}

// zeekMaxBlocks bounds the out-of-order blocks kept per direction for the
// content-gap model; beyond it the oldest block is dropped (a gap may then be
// reported late, never a crash or unbounded memory).
const zeekMaxBlocks = 16

// zeekHalf is the data delivered in one direction, as Zeek's reassembler sees
// it: everything below delivered arrived; islands above it (out-of-order data)
// are kept in a small array allocated only when one appears.
type zeekHalf struct {
	init      bool
	finSeen   bool
	nblocks   uint8
	delivered seqnum.Value
	finData   seqnum.Value
	blocks    *[zeekMaxBlocks][2]seqnum.Value
}

func (h *zeekHalf) add(a, b seqnum.Value) {
	if a.LessThanEq(h.delivered) {
		// In order (or overlapping what arrived): no island to remember.
		if b.GreaterThan(h.delivered) {
			h.delivered = b
		}
		h.advance()
		return
	}
	if h.blocks == nil {
		h.blocks = new([zeekMaxBlocks][2]seqnum.Value)
	}
	if int(h.nblocks) == zeekMaxBlocks {
		copy(h.blocks[:], h.blocks[1:])
		h.nblocks--
	}
	h.blocks[h.nblocks] = [2]seqnum.Value{a, b}
	h.nblocks++
	h.advance()
}

func (h *zeekHalf) advance() {
	if h.nblocks == 0 {
		return
	}
	for changed := true; changed; {
		changed = false
		n := 0
		for i := 0; i < int(h.nblocks); i++ {
			b := h.blocks[i]
			if b[0].LessThanEq(h.delivered) {
				if b[1].GreaterThan(h.delivered) {
					h.delivered = b[1]
				}
				changed = true
				continue
			}
			h.blocks[n] = b
			n++
		}
		h.nblocks = uint8(n)
	}
}

// zeekGap reports whether s, sent in direction d, acknowledges bytes of the
// peer's stream that were never captured: Zeek's content gap, which its
// history records as 'g' for the peer. Payload counts only when it was
// captured whole, since Zeek cannot deliver snapped bytes either.
func (z *zeekState) zeekGap(d segment.Dir, s *segment.Segment) bool {
	me, peer := &z.half[d&1], &z.half[(d^1)&1]
	f := s.Flags
	if !me.init {
		me.init = true
		me.delivered = s.Seq
		if f.Has(segment.SYN) {
			me.delivered = s.Seq + 1
		}
	}
	if f.Has(segment.SYN) && !f.Has(segment.ACK) {
		me.delivered = s.Seq + 1
	}
	start := s.Seq
	if f.Has(segment.SYN) {
		start++
	}
	if s.PayloadLen > 0 && !f.Has(segment.RST) && !s.Truncated() {
		me.add(start, start.Add(seqnum.Size(s.PayloadLen)))
	}
	if f.Has(segment.FIN) && !me.finSeen {
		me.finSeen = true
		me.finData = start.Add(seqnum.Size(s.PayloadLen))
	}
	if !f.Has(segment.ACK) {
		return false
	}
	if !peer.init {
		peer.init = true
		peer.delivered = s.Ack
		return false
	}
	a := s.Ack
	if peer.finSeen && a.GreaterThanEq(peer.finData) {
		a = peer.finData
	}
	if !a.GreaterThan(peer.delivered) {
		return false
	}
	peer.advance()
	gap := a.GreaterThan(peer.delivered)
	peer.delivered = seqnum.Max(peer.delivered, a)
	peer.advance()
	return gap
}

// zeekTimer is one scheduled check of a connection under Zeek's timers.
type zeekTimer struct {
	at  int64
	ent *flow.Entry[*conn]
	c   *conn
	seq uint32 // the connection's timerSeq when scheduled; stale otherwise
}

type timerHeap []zeekTimer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(zeekTimer)) }
func (h *timerHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// zeekSchedule files c's next deadline.
func (e *Engine) zeekSchedule(ent *flow.Entry[*conn]) {
	c := ent.Value
	z := &c.zk
	next := z.lastTime + zeekIdleAttempt
	if z.long {
		next = z.lastTime + zeekIdleLong
	}
	for _, t := range [...]int64{z.removeAt, z.attemptAt, z.expireAt} {
		if t != 0 && t < next {
			next = t
		}
	}
	if z.scheduled != 0 && z.scheduled <= next {
		return // the pending timer comes first and reschedules when it fires
	}
	z.scheduled = next
	z.timerSeq++
	heap.Push(&e.timers, zeekTimer{at: next, ent: ent, c: c, seq: z.timerSeq})
}

// zeekExpire runs every Zeek timer due at now, removing the connections Zeek
// would remove.
func (e *Engine) zeekExpire(now int64) {
	for len(e.timers) > 0 && e.timers[0].at <= now {
		t := heap.Pop(&e.timers).(zeekTimer)
		c := t.c
		if t.ent.Value != c || c.zk.timerSeq != t.seq {
			continue // the connection was removed or rescheduled since
		}
		c.zk.scheduled = 0
		if e.zeekDead(c, now) {
			e.finish(t.ent, "timeout")
			continue
		}
		e.zeekSchedule(t.ent)
	}
}

// zeekDead applies Zeek's timers at now: the attempt timer, the removal delay
// after a close, the repeating half-close check, and inactivity.
func (e *Engine) zeekDead(c *conn, now int64) bool {
	z := &c.zk
	if z.removeAt != 0 && now >= z.removeAt {
		return true
	}
	if z.attemptAt != 0 && now >= z.attemptAt {
		z.attemptAt = 0
		st := c.zeek.States()
		if (st[0] == fsm.ZeekSynSent || st[0] == fsm.ZeekSynAckSent) && st[1] == fsm.ZeekInactive {
			return true
		}
	}
	for z.expireAt != 0 && now >= z.expireAt {
		t := z.expireAt
		if z.lastTime+zeekCloseDelay < t {
			st, dc := c.zeek.States(), c.zeek.DidClose()
			if (dc[0] && dc[1]) || st[0] == fsm.ZeekReset || st[1] == fsm.ZeekReset ||
				st[0] == fsm.ZeekInactive || st[1] == fsm.ZeekInactive {
				return true
			}
		}
		z.expireAt = t + zeekHalfCloseTick
	}
	idle := zeekIdleAttempt
	if z.long {
		idle = zeekIdleLong
	}
	return now > z.lastTime+idle
}

// zeekUpdate feeds s to the connection's Zeek view and, with Zeek's timers,
// moves its deadlines the way Zeek does. Only Zeek's timers read the
// deadlines (zeekSchedule, zeekDead, startsNewGeneration), so with Linux
// timers they are not kept: about 35 instructions a segment.
func (e *Engine) zeekUpdate(c *conn, d segment.Dir, s *segment.Segment, bad bool) {
	z := &c.zk
	if !e.zeekT {
		if c.zeek.Update(d, s, z.hints(d, s, bad))&fsm.ZeekFlipped != 0 {
			c.zeek.Flip()
		}
		return
	}
	before := c.zeek.States()
	if dc := c.zeek.DidClose(); !(dc[0] && dc[1]) {
		z.lastTime = s.Time
	}
	eff := c.zeek.Update(d, s, z.hints(d, s, bad))
	if eff&fsm.ZeekFlipped != 0 {
		// Zeek turned the roles round by itself (a SYN-ACK first, then data):
		// turn it back so its letters stay relative to our originator.
		c.zeek.Flip()
	}
	after := c.zeek.States()
	if !bad && before[0] == fsm.ZeekInactive && after[0] == fsm.ZeekSynSent && z.attemptAt == 0 {
		z.attemptAt = s.Time + zeekAttemptDelay
	}
	for i := range after {
		if after[i] != before[i] && after[i] != fsm.ZeekInactive && after[i] != fsm.ZeekSynSent && after[i] != fsm.ZeekSynAckSent {
			z.long = true
		}
	}
	if eff&fsm.ZeekCloseComplete != 0 && z.removeAt == 0 {
		z.removeAt = z.lastTime + zeekCloseDelay
	}
	if eff&fsm.ZeekHalfClosed != 0 && z.expireAt == 0 {
		z.expireAt = z.lastTime + zeekHalfCloseTick
	}
}

// hints gives Zeek's model what it cannot see in s, sent in direction d: a
// bad checksum (bad), or else whether s acknowledges bytes never captured.
func (z *zeekState) hints(d segment.Dir, s *segment.Segment, bad bool) fsm.ZeekHints {
	h := fsm.ZeekHints{BadChecksum: bad}
	if !bad {
		h.Gap = z.zeekGap(d, s)
	}
	return h
}
