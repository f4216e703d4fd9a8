package engine

import (
	"github.com/tcpflow-analyze/tcpflow-analyze/fsm"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/flow"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// tomb is what is left of a finished connection whose record was already
// written (past --max-linger, dropped from a full table, or reported early
// with CompactClosed) while its linger has not ended, or of a half-open one
// that a full table evicted: enough to tell a straggler from a new
// connection on the same 4-tuple. Tombs are keyed by a 64-bit hash of the
// 4-tuple and take 32 bytes with the hash, against the connection's kilobyte and a half; a
// hash collision (about one in 10^7 pairs at a million tombs) would at worst
// count a packet as late or miss one port reuse.
type tomb struct {
	until   int64           // when the linger would have ended
	baseSeq [2]seqnum.Value // indexed by the side of the key: 0 = Key.A
	gen     int32
	bits    uint8      // tombBaseA, tombBaseB, tombTimeWait, tombHalfOpen
	class   flow.Class // the table class it left: until minus its timeout is when it was last seen
}

// lastSeen returns when the connection's last packet came.
func (t *tomb) lastSeen(timeouts *[flow.NumClasses]int64) int64 {
	return t.until - timeouts[t.class]
}

const (
	tombBaseA    uint8 = 1 << iota // baseSeq[0] is set
	tombBaseB                      // baseSeq[1] is set
	tombTimeWait                   // an endpoint was in TIME_WAIT
	// tombHalfOpen marks a half-open connection evicted from a full table
	// (a SYN flood's): its retransmitted SYNs and SYN-ACKs and the RSTs
	// that answer them are stragglers, not new connections picked up
	// mid-stream; anything else brings the connection back as a new flow.
	tombHalfOpen
)

// absorbs reports whether s, a segment on the tomb's 4-tuple that opens no
// new generation, belongs to the connection the tomb stands for.
func (t *tomb) absorbs(s *segment.Segment) bool {
	if t.bits&tombHalfOpen == 0 {
		return true
	}
	return s.PayloadLen == 0 && s.Flags.Any(segment.SYN|segment.RST) && !s.Flags.Has(segment.FIN)
}

// reusedBy reports whether s, on the 4-tuple k, opens a new connection, by the
// same rule as a live connection: a pure SYN with a new ISN.
func (t *tomb) reusedBy(k flow.Key, s *segment.Segment) bool {
	if !s.Flags.Has(segment.SYN) || s.Flags.Any(segment.ACK|segment.RST|segment.FIN) {
		return false
	}
	side, bit := 1, tombBaseB
	if s.Src == k.A {
		side, bit = 0, tombBaseA
	}
	return t.bits&bit == 0 || t.baseSeq[side] != s.Seq
}

// tombOf takes what a tomb keeps from c, on 4-tuple k, last seen at lastSeen
// in class cls.
func (e *Engine) tombOf(k flow.Key, c *conn, lastSeen int64, cls flow.Class) tomb {
	t := tomb{until: lastSeen + e.table.Timeouts[cls], class: cls, gen: int32(c.gen)}
	// conn's directions are orig/resp; the tomb's are the key's sides.
	origSide := 1
	if c.orig == k.A {
		origSide = 0
	}
	for d := 0; d < 2; d++ {
		if !c.baseSet[d] {
			continue
		}
		side := origSide
		if d == 1 {
			side = 1 - origSide
		}
		t.baseSeq[side] = c.baseSeq[d]
		t.bits |= tombBaseA << side
	}
	if st := c.st.States(); st[0] == fsm.TimeWait || st[1] == fsm.TimeWait {
		t.bits |= tombTimeWait
	}
	return t
}

// maxTombsPerFlow bounds the tombs at this many times the flow table's cap.
const maxTombsPerFlow = 8

// bury keeps t for the 4-tuple hashed h; when there are too many tombs, the
// one whose linger ends first among its neighbours is forgotten. Each flow
// table shard has its own tombs, and its share of their cap.
func (e *Engine) bury(h uint64, t tomb) {
	sh := e.table.Shard(h)
	if e.tombs[sh] == nil {
		e.tombs[sh] = e.newTombs()
	}
	e.tombs[sh].put(h, t, e.now)
}

// newTombs returns the tomb table of a shard that buries its first tomb:
// the next lane of the engine's tombLanes, one for each shard it may hold.
func (e *Engine) newTombs() *tombTable {
	limit := maxTombsPerFlow * e.cfg.MaxFlows
	if limit <= 0 {
		limit = 1 << 20
	}
	max := e.table.ShardMax(limit)
	if e.tombLanes == nil {
		n := e.tombShards
		if n <= 0 {
			n = e.table.Shards()
		}
		e.tombLanes = newTombLanes(n, max)
	}
	tl := e.tombLanes
	for l := range tl.tables {
		if tl.tables[l] == nil {
			return tl.table(l)
		}
	}
	return newTombTable(max) // more shards than the worker's share: not expected
}
