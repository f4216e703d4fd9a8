package engine

import (
	"sort"

	"github.com/tcpflow-analyze/tcpflow-analyze/fsm"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/flow"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// OpenView summarizes the open connections for a live display without
// building a record for each: counts over all of them, full records for the
// few worth showing.
type OpenView struct {
	Open int
	// States counts open connections by "ORIG_STATE/RESP_STATE".
	States map[string]int
	// AnomalyCounts sums the anomalies recorded so far on open connections.
	AnomalyCounts map[string]uint64
	// Busiest are the open connections with the most packets and bytes, and
	// Anomalous those with the most anomalies above info (weighted by
	// severity), each at most top long, best first.
	Busiest, Anomalous []report.Flow
}

// View returns the OpenView with at most top connections in each list. It
// scans the open connections once and builds only the records it returns.
func (e *Engine) View(top int) OpenView {
	v := OpenView{Open: e.table.Len(), AnomalyCounts: map[string]uint64{}}
	states := map[[2]fsm.State]int{}
	type scored struct {
		ent   *flow.Entry[*conn]
		score uint64
	}
	keep := func(list []scored, ent *flow.Entry[*conn], score uint64) []scored {
		if score == 0 || top <= 0 {
			return list
		}
		if len(list) == top && score <= list[len(list)-1].score {
			return list
		}
		i := sort.Search(len(list), func(i int) bool { return list[i].score < score })
		if len(list) < top {
			list = append(list, scored{})
		}
		copy(list[i+1:], list[i:])
		list[i] = scored{ent, score}
		return list
	}
	var busy, bad []scored
	// A lite connection is replayed into one scratch connection, and again
	// into one of its own only if it makes a list: a SYN flood's 32 768
	// would otherwise be 55 MiB of garbage at every refresh.
	var scratch *conn
	e.table.All(func(ent *flow.Entry[*conn]) {
		c := ent.Value
		if c == nil {
			if scratch == nil {
				scratch = new(conn)
			} else {
				*scratch = conn{}
			}
			e.replay(scratch, liteOf(ent))
			c = scratch
		}
		states[c.st.States()]++
		var weighted uint64
		c.an.Each(func(k anomaly.Kind, n uint32) {
			in := k.Info()
			v.AnomalyCounts[in.Name] += uint64(n)
			if r := in.Severity.Rank(); r > 0 {
				weighted += uint64(n) * uint64(r)
			}
		})
		busy = keep(busy, ent, c.pkts[0]+c.pkts[1]+c.bytes[0]+c.bytes[1])
		bad = keep(bad, ent, weighted)
	})
	v.States = make(map[string]int, len(states))
	for st, n := range states {
		v.States[st[0].String()+"/"+st[1].String()] += n
	}
	for _, s := range busy {
		v.Busiest = append(v.Busiest, e.flowRecord(e.connView(s.ent), "open", false))
	}
	for _, s := range bad {
		v.Anomalous = append(v.Anomalous, e.flowRecord(e.connView(s.ent), "open", false))
	}
	return v
}
