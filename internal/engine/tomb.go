package engine

import (
	"net/netip"

	"github.com/tcpflow-analyze/tcpflow-analyze/fsm"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/flow"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// tomb is what is left of a finished connection that a full flow table
// dropped before its linger ended: enough to tell a straggler from a new
// connection on the same 4-tuple, in about a hundred bytes instead of the
// connection's kilobytes.
type tomb struct {
	until    int64 // when the linger would have ended
	lastSeen int64
	gen      int
	orig     netip.AddrPort
	baseSeq  [2]seqnum.Value
	baseSet  [2]bool
	timeWait bool // an endpoint was in TIME_WAIT
}

// tombRef is an entry of the tombs' FIFO: the key and the tomb's until, so
// that a later tomb on the same key is not taken for the old one.
type tombRef struct {
	key   flow.Key
	until int64
}

// reusedBy reports whether s opens a new connection on the tomb's 4-tuple,
// by the same rule as a live connection: a pure SYN with a new ISN.
func (t *tomb) reusedBy(s *segment.Segment) bool {
	if !s.Flags.Has(segment.SYN) || s.Flags.Any(segment.ACK|segment.RST|segment.FIN) {
		return false
	}
	d := segment.Resp
	if s.Src == t.orig {
		d = segment.Orig
	}
	return !t.baseSet[d] || t.baseSeq[d] != s.Seq
}

// tombOf takes what a tomb keeps from c, which was last seen at lastSeen in
// class cls.
func (e *Engine) tombOf(c *conn, lastSeen int64, cls flow.Class) tomb {
	st := c.st.States()
	return tomb{
		until:    lastSeen + e.table.Timeouts[cls],
		lastSeen: lastSeen, gen: c.gen, orig: c.orig,
		baseSeq: c.baseSeq, baseSet: c.baseSet,
		timeWait: st[0] == fsm.TimeWait || st[1] == fsm.TimeWait,
	}
}

// maxTombsPerFlow bounds the tombs at this many times the flow table's cap:
// a tomb costs a tenth of an open connection or less.
const maxTombsPerFlow = 4

// bury keeps t for key, forgetting the oldest tomb when there are too many.
func (e *Engine) bury(key flow.Key, t tomb) {
	if e.tombs == nil {
		e.tombs = make(map[flow.Key]tomb)
	}
	max := maxTombsPerFlow * e.cfg.MaxFlows
	if max <= 0 {
		max = 1 << 20
	}
	for len(e.tombs) >= max && e.tombHead < len(e.tombOrder) {
		old := e.tombOrder[e.tombHead]
		e.tombHead++
		if cur, ok := e.tombs[old.key]; ok && cur.until == old.until {
			delete(e.tombs, old.key)
		}
	}
	if e.tombHead > len(e.tombOrder)/2 && e.tombHead > 1024 {
		e.tombOrder = append(e.tombOrder[:0], e.tombOrder[e.tombHead:]...)
		e.tombHead = 0
	}
	e.tombs[key] = t
	e.tombOrder = append(e.tombOrder, tombRef{key, t.until})
}
