package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// Sizes of the live view's lists.
const (
	viewBusiest   = 8
	viewAnomalous = 8
	viewRecent    = 6
)

// liveView keeps what the terminal view shows beyond the engine's own state:
// the most anomalous finished flows and the latest anomaly events, both
// bounded.
type liveView struct {
	iface, filter string
	worst         []report.Flow // finished flows, most anomalous first
	recent        []engine.AnomalyEvent
}

func newLiveView(iface, filter string) *liveView {
	return &liveView{iface: iface, filter: filter}
}

// anomaly remembers ev among the latest ones.
func (v *liveView) anomaly(ev engine.AnomalyEvent) {
	if len(v.recent) == viewRecent {
		copy(v.recent, v.recent[1:])
		v.recent = v.recent[:viewRecent-1]
	}
	v.recent = append(v.recent, ev)
}

// closed remembers f if it is among the most anomalous finished flows,
// and reports whether it did: the copy shares f's anomalies.
func (v *liveView) closed(f *report.Flow) (kept bool) {
	if anomalyScore(f) == 0 {
		return false
	}
	if len(v.worst) == viewAnomalous && anomalyScore(f) <= anomalyScore(&v.worst[len(v.worst)-1]) {
		return false
	}
	fc := *f
	fc.Transitions = nil
	v.worst = append(v.worst, fc)
	rankFlows(v.worst)
	if len(v.worst) > viewAnomalous {
		v.worst = v.worst[:viewAnomalous]
	}
	return true
}

// anomalyScore counts a flow's anomalies above info, weighted by severity.
func anomalyScore(f *report.Flow) uint64 {
	var n uint64
	for _, a := range f.Anomalies {
		if r := a.Severity.Rank(); r > 0 {
			n += a.Count * uint64(r)
		}
	}
	return n
}

// render writes the view: a header with the counters, the states, the
// anomalies so far, the busiest open connections, the most anomalous ones
// (open or finished) and the latest anomaly events.
func (v *liveView) render(w io.Writer, elapsed time.Duration, sum report.Summary, open engine.OpenView, st captureStats) {
	filter := "none"
	if v.filter != "" {
		filter = strconv.Quote(v.filter)
	}
	fmt.Fprintf(w, "tcpflow-analyze live on %s, filter %s, %s (Ctrl-C stops and prints the report)\n",
		v.iface, filter, elapsed.Round(time.Second))
	fmt.Fprintf(w, "packets %d (TCP %d)   flows %d open, %d finished   capture: %s\n",
		sum.PacketsRead, sum.TCPSegments, open.Open, sum.Flows, statsLine(st))
	if st.Dropped > 0 || st.IfDropped > 0 {
		fmt.Fprintf(w, "WARNING: %d packets dropped; the analysis misses them\n", st.Dropped+st.IfDropped)
	}

	states := open.States
	counts := map[string]uint64{}
	for k, n := range sum.AnomalyCounts {
		counts[k] = n
	}
	for k, n := range open.AnomalyCounts {
		counts[k] += n
	}
	fmt.Fprintf(w, "open      %s\n", orNone(countsText(states)))
	fmt.Fprintf(w, "finished  %s\n", orNone(countsText(sum.FlowsByConnState)))
	fmt.Fprintf(w, "anomalies %s\n", orNone(countsText(counts)))

	busy := open.Busiest
	if len(busy) > 0 {
		fmt.Fprintln(w, "\nBusiest open connections")
		flowTable(w, busy)
	}

	worst := append([]report.Flow(nil), open.Anomalous...)
	worst = append(worst, v.worst...)
	rankFlows(worst)
	if len(worst) > viewAnomalous {
		worst = worst[:viewAnomalous]
	}
	if len(worst) > 0 {
		fmt.Fprintln(w, "\nMost anomalous connections")
		flowTable(w, worst)
	}

	if len(v.recent) > 0 {
		fmt.Fprintln(w, "\nLatest anomalies")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for i := len(v.recent) - 1; i >= 0; i-- {
			ev := v.recent[i]
			fmt.Fprintf(tw, "  %s\t#%d\t%s\t%s\t%s → %s\tpacket %d\n",
				time.Unix(0, ev.Time).Format("15:04:05.000"), ev.FlowID, ev.Severity, ev.Kind, ev.Orig, ev.Resp, ev.Packet)
		}
		tw.Flush()
	}
}

// flowTable writes a compact table of flows: open ones show "open" and their
// endpoint states, finished ones their conn_state.
func flowTable(w io.Writer, fs []report.Flow) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tORIGINATOR\tRESPONDER\tSTATES\tCONN\tPKTS →/←\tBYTES →/←\tANOMALIES")
	for i := range fs {
		f := &fs[i]
		conn := f.ConnState
		if f.EndReason == "open" {
			conn += " (open)"
		}
		var kinds []string
		for _, a := range f.Anomalies {
			if a.Severity.Rank() > 0 {
				kinds = append(kinds, a.Kind+" "+strconv.FormatUint(a.Count, 10))
			}
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s/%s\t%s\t%d/%d\t%d/%d\t%s\n", f.ID, f.Orig, f.Resp, f.OrigState, f.RespState,
			conn, f.OrigPackets, f.RespPackets, f.OrigBytes, f.RespBytes, dash(strings.Join(kinds, ", ")))
	}
	tw.Flush()
}

// countsText renders counts as "k1 3, k2 1", largest first, then by name.
func countsText[V int | uint64](m map[string]V) string { return report.CountsText(m) }

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
