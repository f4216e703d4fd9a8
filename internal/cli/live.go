package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// LiveOptions are the settings of the live command.
type LiveOptions struct {
	Iface   string
	Filter  string
	Snaplen int
	Promisc bool
	// BufferMiB is the kernel capture buffer in MiB (0: capture.DefaultLiveBuffer).
	BufferMiB int
	// Duration stops the capture after this long (0: no limit).
	Duration time.Duration
	// Count stops the capture after this many packets (0: no limit).
	Count uint64
	// Interval is how often the live view is redrawn or a summary event written.
	Interval time.Duration
	// Write names a pcap file that receives every captured packet.
	Write string
	// Output is table, json or csv; json streams events (see liveEvent).
	Output string
	// Limit caps the flows kept for the final table (JSON and CSV stream them all).
	Limit          int
	ListInterfaces bool
	Engine         engine.Config
	// Ready, when set, is called once the capture is open and before the first
	// packet is read (tests start their traffic then).
	Ready func()
}

// The live event stream, written with -o json and by default when the output
// is not a terminal: one JSON object per line, in the order things happen.
//
// An anomaly, the first time a flow shows a kind (flow-level kinds such as
// rejected or half_open come when the flow finishes, just before its flow
// event). time is the capture time of the packet that showed it:
//
//	{"type":"anomaly","flow_id":3,"kind":"rejected","severity":"warning","packet":7,
//	 "time":"2025-01-02T03:04:05.123456789Z","orig":"127.0.0.1:40000","resp":"127.0.0.1:5"}
//
// A flow, when it finishes (closed, timed out, evicted, reused, or still open
// when the capture stops: end_reason "end_of_capture"); flow is exactly a
// flow of the analyze report:
//
//	{"type":"flow","flow":{"id":3,"orig":"...","conn_state":"REJ",...}}
//
// A summary every --interval, and a last one with "final":true once the
// capture has stopped and every flow has been written. summary is the analyze
// report's summary so far; capture_stats are libpcap's counters (pcap_stats):
// packets the filter received, packets dropped for lack of buffer space, and
// packets the interface or driver dropped. Any drop means the analysis missed
// packets and its findings are suspect. stop_reason is "signal", "duration",
// "count" or "error" on the final line, empty before; time is the wall clock:
//
//	{"type":"summary","time":"...","final":false,"elapsed_s":5.0,"interface":"eth0",
//	 "filter":"port 443","open_flows":12,"summary":{...},
//	 "capture_stats":{"received":1300,"dropped":0,"if_dropped":0}}
type liveEvent struct {
	Type string `json:"type"`

	// anomaly
	FlowID   uint64          `json:"flow_id,omitempty"`
	Kind     string          `json:"kind,omitempty"`
	Severity report.Severity `json:"severity,omitempty"`
	Packet   uint64          `json:"packet,omitempty"`
	Time     *report.Time    `json:"time,omitempty"`
	Orig     string          `json:"orig,omitempty"`
	Resp     string          `json:"resp,omitempty"`

	// flow
	Flow *report.Flow `json:"flow,omitempty"`

	// summary
	Final        *bool           `json:"final,omitempty"`
	StopReason   string          `json:"stop_reason,omitempty"`
	ElapsedSecs  *float64        `json:"elapsed_s,omitempty"`
	Interface    string          `json:"interface,omitempty"`
	Filter       *string         `json:"filter,omitempty"`
	OpenFlows    *int            `json:"open_flows,omitempty"`
	Summary      *report.Summary `json:"summary,omitempty"`
	CaptureStats *captureStats   `json:"capture_stats,omitempty"`
}

// captureStats are libpcap's counters; Error is set when they could not be read.
type captureStats struct {
	Received  uint64 `json:"received"`
	Dropped   uint64 `json:"dropped"`
	IfDropped uint64 `json:"if_dropped"`
	Error     string `json:"error,omitempty"`
}

// setcapHint is the command that lets a non-root user capture: the
// capabilities go to the capture helper, which alone opens the interface.
const setcapHint = "sudo setcap cap_net_raw,cap_net_admin=eip $(command -v " + capture.HelperName + ")"

func newLiveCmd(s *IO) *cobra.Command {
	o := &LiveOptions{Engine: engine.DefaultConfig()}
	cmd := &cobra.Command{
		Use:   "live -i IFACE [flags]",
		Short: "Capture on an interface and analyze TCP connections as they happen (needs root or cap_net_raw)",
		Long: `live captures through libpcap (the BPF filter runs in the kernel, which
hands the frames over within 0.1 s) and analyzes every TCP connection while it
happens. libpcap runs in the capture helper, ` + capture.HelperName + `,
which tcpflow-analyze looks for next to itself, then in PATH (or at
$` + capture.HelperEnv + `).

On a terminal it redraws a compact view every --interval: the busiest and the
most anomalous connections, states and counts, and the anomalies so far. When
the output is piped, or with -o json, it streams events instead, one JSON
object per line: each anomaly as it is detected, each flow as it finishes, and
a summary every --interval. -o csv streams one row per finished flow.

Ctrl-C, SIGTERM, --duration or --count stop it: the connections still open are
reported with their current states, then the final report with libpcap's drop
counters (an analysis of a lossy capture is itself suspect). -w also writes
the captured packets to a pcap file, to analyze again later.

Capturing needs root or the capabilities; grant them to the helper once with
  ` + setcapHint,
		Example: `  tcpflow-analyze live -i eth0 -f 'tcp port 443'
  tcpflow-analyze live -i any --duration 30s -w run.pcap
  tcpflow-analyze live -i eth0 -o json | jq 'select(.type=="anomaly")'
  tcpflow-analyze live --list-interfaces`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := loadConfig(cmd, ""); err != nil {
				return err
			}
			if !cmd.Flags().Changed("output") {
				o.Output = defaultFormat(s)
			}
			parent := cmd.Context()
			if parent == nil {
				parent = context.Background()
			}
			ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
			defer stop()
			// After the first signal, a second one kills the process as usual,
			// should writing the final report take too long.
			go func() {
				<-ctx.Done()
				stop()
			}()
			return RunLive(ctx, o, s)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Iface, "interface", "i", "", `interface to capture on ("any" for all; see --list-interfaces)`)
	f.StringVarP(&o.Filter, "filter", "f", "", "BPF filter expression (libpcap syntax), run in the kernel")
	f.IntVarP(&o.Snaplen, "snaplen", "s", capture.DefaultMaxCapLen, "most bytes captured per packet")
	f.BoolVar(&o.Promisc, "promisc", false, "put the interface in promiscuous mode")
	f.IntVar(&o.BufferMiB, "buffer-size", capture.DefaultLiveBuffer>>20, "kernel capture buffer in MiB; raise it when packets are dropped")
	f.DurationVar(&o.Duration, "duration", 0, "stop after this long (0 = until Ctrl-C)")
	f.Uint64VarP(&o.Count, "count", "c", 0, "stop after this many packets (0 = no limit)")
	f.DurationVar(&o.Interval, "interval", 5*time.Second, "how often the view is redrawn or a summary event written")
	f.StringVarP(&o.Write, "write", "w", "", "also write the captured packets to this pcap file")
	f.StringVarP(&o.Output, "output", "o", "table", "output format: table (live view on a terminal), json (event stream) or csv (default: table on a terminal, json when piped)")
	f.IntVar(&o.Limit, "limit", 1000, "flows kept for the final table, the most anomalous first (0 = all; JSON and CSV stream them all)")
	f.BoolVar(&o.ListInterfaces, "list-interfaces", false, "list the interfaces libpcap can capture on, and exit")
	addEngineFlags(cmd, &o.Engine)
	return cmd
}

// RunLive runs the live command until ctx is done, the duration or the count
// is reached, or the capture fails.
func RunLive(ctx context.Context, o *LiveOptions, s *IO) error {
	if o.ListInterfaces {
		return listInterfaces(s.Out)
	}
	format, err := report.ParseFormat(o.Output)
	if err != nil {
		return &ExitError{ExitInput, err}
	}
	switch {
	case o.Iface == "":
		return &ExitError{ExitInput, errors.New("live: no interface; give one with -i (see --list-interfaces)")}
	case o.Interval <= 0:
		return &ExitError{ExitInput, errors.New("--interval must be positive")}
	case o.Duration < 0 || o.Snaplen < 0 || o.BufferMiB < 0:
		return &ExitError{ExitInput, errors.New("--duration, --snaplen and --buffer-size cannot be negative")}
	case o.Engine.TimeWait <= 0 || o.Engine.HandshakeTimeout <= 0 || o.Engine.EstablishedTimeout <= 0:
		return &ExitError{ExitInput, errors.New("timeouts must be positive")}
	}

	live, err := capture.OpenLive(capture.LiveOptions{
		Iface: o.Iface, Filter: o.Filter, Snaplen: o.Snaplen, Promisc: o.Promisc,
		BufferSize: o.BufferMiB << 20,
	})
	if err != nil {
		return &ExitError{ExitInput, liveOpenError(err)}
	}
	defer live.Close()

	var pw *capture.PcapWriter
	var pf *os.File
	if o.Write != "" {
		if pf, err = os.Create(o.Write); err != nil {
			return &ExitError{ExitInput, fmt.Errorf("-w: %w", err)}
		}
		defer pf.Close()
		if pw, err = capture.NewPcapWriter(pf, live.LinkType(), live.SnapLen(), live.Nanosecond()); err != nil {
			return &ExitError{ExitInput, fmt.Errorf("-w %s: %w", o.Write, err)}
		}
	}

	out := newLiveOutput(o, format, s)
	eng := engine.New(o.Engine)
	eng.Sink = out.flow
	out.recycle = eng.Recycle
	eng.OnAnomaly = out.anomaly

	// Stop the capture from outside the reading loop when ctx ends.
	loopDone := make(chan struct{})
	defer close(loopDone)
	go func() {
		select {
		case <-ctx.Done():
			live.Stop()
		case <-loopDone:
		}
	}()
	if o.Ready != nil {
		o.Ready()
	}

	start := time.Now()
	out.start = start
	var deadline time.Time
	if o.Duration > 0 {
		deadline = start.Add(o.Duration)
	}
	nextTick := start.Add(o.Interval)
	if out.view {
		out.tick(eng, live, start) // draw at once, not after the first interval
	}
	var n uint64
	var writeErr error
	stopReason := ""
loop:
	for {
		wait := nextTick
		if out.dirty() {
			wait = minTime(wait, out.lastFlush.Add(flushDelay))
		}
		if !deadline.IsZero() {
			wait = minTime(wait, deadline)
		}
		switch live.Await(wait) {
		case capture.ReadDone:
			stopReason = "signal"
			if live.Err() != nil {
				stopReason = "error"
			}
			break loop
		case capture.ReadFrame:
			fr := live.Frame()
			if pw != nil && writeErr == nil {
				writeErr = pw.WriteFrame(fr)
			}
			eng.Frame(fr)
			n++
			if o.Count > 0 && n >= o.Count {
				stopReason = "count"
				break loop
			}
			if n%liveClockEvery != 0 && fr.Time < wait.UnixNano() {
				// Nothing is due before this frame's capture time, the
				// wall clock of a moment ago: reading the clock for every
				// frame was a tenth of a busy live run (session 24).
				continue
			}
		}
		now := time.Now()
		if !deadline.IsZero() && !now.Before(deadline) {
			stopReason = "duration"
			break loop
		}
		if !now.Before(nextTick) {
			// On a live link capture time is the wall clock: let the timers
			// of idle connections run out even when no packet arrives.
			eng.Advance(now.UnixNano())
			out.tick(eng, live, now)
			nextTick = now.Add(o.Interval)
		} else if out.dirty() && now.Sub(out.lastFlush) >= flushDelay {
			out.flush(now)
		}
	}

	stats := readStats(live)
	live.Close()
	rep := eng.Finish([]string{"iface:" + o.Iface}, nil)
	if pw != nil {
		if err := pw.Flush(); err != nil && writeErr == nil {
			writeErr = err
		}
		if err := pf.Close(); err != nil && writeErr == nil {
			writeErr = fmt.Errorf("-w %s: %w", o.Write, err)
		}
	}
	if err := out.final(rep, stats, stopReason, time.Now()); err != nil {
		return err
	}
	if err := live.Err(); err != nil {
		return &ExitError{ExitInput, err}
	}
	if writeErr != nil {
		return &ExitError{ExitInput, writeErr}
	}
	return nil
}

// flushDelay bounds how long a streamed event waits in the buffer.
const flushDelay = 250 * time.Millisecond

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func readStats(live *capture.Live) captureStats {
	rec, drop, ifDrop, err := live.Stats()
	st := captureStats{Received: rec, Dropped: drop, IfDropped: ifDrop}
	if err != nil {
		st.Error = err.Error()
	}
	return st
}

// liveOpenError turns an OpenLive error into the one message a user needs.
func liveOpenError(err error) error {
	switch {
	case errors.Is(err, capture.ErrPermission):
		hint := setcapHint
		if p, perr := capture.HelperPath(); perr == nil {
			hint = "sudo setcap cap_net_raw,cap_net_admin=eip " + p
		}
		return fmt.Errorf("%w; run as root, or grant the capture capabilities to the capture helper: %s", err, hint)
	case errors.Is(err, capture.ErrNoLiveSupport):
		return fmt.Errorf("%w; or use analyze on a saved capture", err)
	}
	return err
}

func listInterfaces(w io.Writer) error {
	ifs, err := capture.ListInterfaces()
	if err != nil {
		return &ExitError{ExitInput, liveOpenError(err)}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tFLAGS\tADDRESSES\tDESCRIPTION")
	for _, f := range ifs {
		var flags []string
		if f.Up {
			flags = append(flags, "up")
		}
		if f.Running {
			flags = append(flags, "running")
		}
		if f.Loopback {
			flags = append(flags, "loopback")
		}
		addrs := strings.Join(f.Addresses, " ")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, dash(strings.Join(flags, ",")), dash(addrs), dash(f.Description))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// liveOutput renders a live run in one of its modes: the redrawn view (table
// on a terminal), the JSON event stream, streamed CSV rows, or a final table
// only (table when not on a terminal).
type liveOutput struct {
	o      *LiveOptions
	format report.Format
	view   bool // redraw the live view (terminal)
	s      *IO
	w      *bufio.Writer
	enc    *json.Encoder
	flows  report.FlowEncoder // the flow events, the bytes enc would write (appendFlowEvent)
	// recycle gives a written flow record back to the engine (Engine.Recycle).
	recycle func(*report.Flow)
	err     error // the first write error

	start     time.Time
	lastFlush time.Time
	pending   int // events written since the last flush

	// kept holds the flows for the final table, bounded by Limit: when it
	// grows to twice the limit, only the most anomalous, then busiest, stay.
	kept    []report.Flow
	dropped int
	// lv tracks what the terminal view shows.
	lv *liveView
}

func newLiveOutput(o *LiveOptions, format report.Format, s *IO) *liveOutput {
	out := &liveOutput{o: o, format: format, s: s, w: bufio.NewWriterSize(s.Out, 64<<10)}
	out.view = format == report.FormatTable && s.OutIsTerminal
	out.lv = newLiveView(o.Iface, o.Filter)
	switch format {
	case report.FormatJSON:
		out.enc = json.NewEncoder(out.w)
	case report.FormatCSV:
		out.writeCSV(&report.Report{}, false)
	}
	return out
}

func (out *liveOutput) dirty() bool { return out.pending > 0 }

func (out *liveOutput) event(ev *liveEvent) {
	if out.err != nil {
		return
	}
	if err := out.enc.Encode(ev); err != nil {
		out.err = fmt.Errorf("writing events: %w", err)
	}
	out.pending++
}

func (out *liveOutput) flush(now time.Time) {
	out.lastFlush = now
	out.pending = 0
	if err := out.w.Flush(); err != nil && out.err == nil {
		out.err = fmt.Errorf("writing output: %w", err)
	}
}

// anomaly receives the engine's anomaly events.
func (out *liveOutput) anomaly(ev engine.AnomalyEvent) {
	out.lv.anomaly(ev)
	if out.format == report.FormatJSON {
		t := report.Time(ev.Time)
		out.event(&liveEvent{Type: "anomaly", FlowID: ev.FlowID, Kind: ev.Kind, Severity: ev.Severity,
			Packet: ev.Packet, Time: &t, Orig: ev.Orig, Resp: ev.Resp})
	}
}

// flow receives each finished flow from the engine.
func (out *liveOutput) flow(f *report.Flow) {
	kept := out.lv.closed(f)
	switch out.format {
	case report.FormatJSON:
		if out.err != nil {
			return
		}
		b, err := appendFlowEvent(&out.flows, out.w.AvailableBuffer(), f)
		if err == nil {
			_, err = out.w.Write(b)
		}
		if err != nil {
			out.err = fmt.Errorf("writing events: %w", err)
		}
		out.pending++
	case report.FormatCSV:
		out.writeCSV(&report.Report{Flows: []report.Flow{*f}}, true)
		out.pending++
	default:
		out.keep(f)
		kept = true
	}
	if !kept && out.recycle != nil {
		// Written, and kept nowhere: the engine fills it again, instead of
		// a new record for every flow of a busy link.
		out.recycle(f)
	}
}

// liveClockEvery is how many frames may pass without a reading of the
// wall clock while their capture times say nothing is due.
const liveClockEvery = 64

// appendFlowEvent appends the flow event of f to b: the bytes the event
// stream's JSON encoder writes for liveEvent{Type: "flow", Flow: &fc}, where
// fc is f with its nil lists empty, which are those of an ndjson line.
// Through encoding/json's reflection the flow events took a fifth of a
// live run's time on a busy loopback (docs/performance.md, session 24);
// TestFlowEventMatchesEncoder holds the two to the same bytes.
func appendFlowEvent(enc *report.FlowEncoder, b []byte, f *report.Flow) ([]byte, error) {
	return enc.AppendNDJSON(b, f)
}

// writeCSV writes r's rows, and its header row too unless skipHeader.
func (out *liveOutput) writeCSV(r *report.Report, skipHeader bool) {
	if out.err != nil {
		return
	}
	var b bytes.Buffer
	if err := report.WriteCSV(&b, r); err != nil {
		out.err = err
		return
	}
	data := b.Bytes()
	if skipHeader {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	if _, err := out.w.Write(data); err != nil {
		out.err = fmt.Errorf("writing CSV: %w", err)
	}
}

// keep retains f for the final table, bounded by the limit.
func (out *liveOutput) keep(f *report.Flow) {
	limit := out.o.Limit
	if limit <= 0 {
		out.kept = append(out.kept, *f)
		return
	}
	fc := *f
	fc.Transitions = nil // not shown in the table; saves most of a flow's memory
	out.kept = append(out.kept, fc)
	if len(out.kept) >= 2*limit {
		rankFlows(out.kept)
		out.dropped += len(out.kept) - limit
		clear(out.kept[limit:])
		out.kept = out.kept[:limit]
	}
}

// rankFlows orders flows by anomaly score, then packets, then id.
func rankFlows(fs []report.Flow) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := anomalyScore(&fs[i]), anomalyScore(&fs[j])
		if a != b {
			return a > b
		}
		pa, pb := fs[i].OrigPackets+fs[i].RespPackets, fs[j].OrigPackets+fs[j].RespPackets
		if pa != pb {
			return pa > pb
		}
		return fs[i].ID < fs[j].ID
	})
}

// tick redraws the view or writes a summary event.
func (out *liveOutput) tick(eng *engine.Engine, live *capture.Live, now time.Time) {
	switch {
	case out.view:
		var b bytes.Buffer
		b.WriteString("\x1b[H\x1b[2J") // home, clear screen
		out.lv.render(&b, now.Sub(out.start), eng.Summary(), eng.View(max(viewBusiest, viewAnomalous)), readStats(live))
		if _, err := out.w.Write(b.Bytes()); err != nil && out.err == nil {
			out.err = fmt.Errorf("writing the live view: %w", err)
		}
	case out.format == report.FormatJSON:
		sum := eng.Summary()
		out.summary(&sum, eng.OpenFlows(), readStats(live), now, false, "")
	}
	out.flush(now)
}

func (out *liveOutput) summary(sum *report.Summary, open int, st captureStats, now time.Time, final bool, reason string) {
	elapsed := now.Sub(out.start).Seconds()
	filter := out.o.Filter
	wall := report.Time(now.UnixNano())
	sum.Files = []string{"iface:" + out.o.Iface}
	out.event(&liveEvent{Type: "summary", Time: &wall, Final: &final, StopReason: reason, ElapsedSecs: &elapsed,
		Interface: out.o.Iface, Filter: &filter, OpenFlows: &open, Summary: normalizedSummary(*sum), CaptureStats: &st})
}

// final writes what ends the run: the last summary event, or the report.
func (out *liveOutput) final(rep *report.Report, st captureStats, reason string, now time.Time) error {
	switch out.format {
	case report.FormatJSON:
		out.summary(&rep.Summary, 0, st, now, true, reason)
	case report.FormatCSV:
		fmt.Fprintln(out.s.Err, "tcpflow-analyze:", statsLine(st))
	default:
		if out.view {
			out.w.WriteString("\x1b[H\x1b[2J")
		}
		if limit := out.o.Limit; limit > 0 && len(out.kept) > limit {
			rankFlows(out.kept)
			out.dropped += len(out.kept) - limit
			out.kept = out.kept[:limit]
		}
		r := *rep
		r.Flows = out.kept
		sort.Slice(r.Flows, func(i, j int) bool { return r.Flows[i].ID < r.Flows[j].ID })
		if err := report.WriteTable(out.w, &r, report.Options{}); err != nil && out.err == nil {
			out.err = err
		}
		if out.dropped > 0 {
			fmt.Fprintf(out.w, "  not listed     %d flows (the table keeps the %d most anomalous; -o json streams every flow)\n", out.dropped, out.o.Limit)
		}
		fmt.Fprintf(out.w, "  capture        %s\n", statsLine(st))
		fmt.Fprintf(out.w, "  stopped by     %s after %s\n", reason, now.Sub(out.start).Round(time.Millisecond))
	}
	out.flush(now)
	if st.Dropped > 0 || st.IfDropped > 0 {
		fmt.Fprintf(out.s.Err, "tcpflow-analyze: warning: %d packets were dropped by the kernel and %d by the interface; the analysis missed them (raise --buffer-size, narrow -f, or lower --snaplen)\n", st.Dropped, st.IfDropped)
	}
	return out.err
}

// statsLine renders libpcap's counters for people.
func statsLine(st captureStats) string {
	if st.Error != "" {
		return "counters unavailable: " + st.Error
	}
	return fmt.Sprintf("%d packets received by the filter, %d dropped by the kernel, %d dropped by the interface", st.Received, st.Dropped, st.IfDropped)
}

// normalizedSummary gives nil lists and maps as empty ones.
func normalizedSummary(s report.Summary) *report.Summary {
	n := report.NormalizedSummary(s)
	return &n
}
