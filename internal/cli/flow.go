package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// FlowOptions are the settings of the flow command.
type FlowOptions struct {
	Files  []string
	ID     uint64
	Filter string
	Engine engine.Config
}

func newFlowCmd(s *IO) *cobra.Command {
	o := &FlowOptions{Engine: engine.DefaultConfig()}
	var configPath string
	cmd := &cobra.Command{
		Use:   "flow --id N [flags] FILE...",
		Short: "Show one flow packet by packet: classes, state events, verdicts and reasons",
		Long: `flow replays the capture and prints every segment of one flow (its id as in
analyze's report): direction, flags, relative sequence and acknowledgement
numbers, what the sequence tracker made of it (retransmission, out-of-order,
keep-alive, …), the state tracker's event and verdict with its reason, and
both endpoints' states after it. Then the flow's record as analyze reports it.`,
		Example: `  tcpflow-analyze analyze capture.pcap        # find the flow's id
  tcpflow-analyze flow --id 7 capture.pcap`,
		Args: needFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Files = args
			if err := loadConfig(cmd, configPath); err != nil {
				return err
			}
			return RunFlow(o, s)
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&o.ID, "id", 0, "the flow's id, as in analyze's report (required)")
	f.StringVarP(&o.Filter, "filter", "f", "", "BPF filter expression; use the same one as for analyze so ids match")
	addEngineFlags(cmd, &o.Engine)
	addProgressFlag(cmd, s)
	f.StringVar(&configPath, "config", "", "YAML file of analysis settings: keys are the flags' names")
	return cmd
}

// RunFlow runs the flow command.
func RunFlow(o *FlowOptions, s *IO) error {
	if o.ID == 0 {
		return &ExitError{ExitInput, fmt.Errorf("flow needs --id N (the flow's id in analyze's report)")}
	}
	if err := o.Engine.Validate(); err != nil {
		return &ExitError{ExitInput, err}
	}
	// Ids are numbered in order of first packet by a single engine.
	eng := engine.New(o.Engine)
	var rows []engine.SegmentEvent
	eng.OnSegment = func(ev *engine.SegmentEvent) {
		if ev.FlowID == o.ID {
			rows = append(rows, *ev)
		}
	}
	var rec *report.Flow
	eng.SetSink(func(f *report.Flow) {
		if f.ID == o.ID {
			c := *f
			rec = &c
		}
	})
	rep, readErr := runAnalyzer(eng, o.Files, o.Filter, s)
	if rep == nil {
		return &ExitError{ExitInput, readErr}
	}
	if rec == nil {
		return &ExitError{ExitInput, fmt.Errorf("no flow %d: the capture has %d flows", o.ID, rep.Summary.Flows)}
	}
	writeFlowSegments(s, rec, rows)
	if readErr != nil {
		return &ExitError{ExitInput, readErr}
	}
	return nil
}

// writeFlowSegments prints the flow's header, one line per segment, and its
// findings.
func writeFlowSegments(s *IO, f *report.Flow, rows []engine.SegmentEvent) {
	w := s.Out
	gen := ""
	if f.Generation > 1 {
		gen = fmt.Sprintf(", generation %d", f.Generation)
	}
	fmt.Fprintf(w, "flow %d: %s → %s%s, %s (history %s), %s / %s, ended: %s\n",
		f.ID, f.Orig, f.Resp, gen, f.ConnState, f.History, f.OrigState, f.RespState, f.EndReason)
	if f.Midstream {
		fmt.Fprintln(w, "picked up mid-stream: the first SYN was not captured")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PKT\tTIME\tDIR\tFLAGS\tSEQ\tACK\tLEN\tSEQUENCE\tEVENT\tVERDICT\tORIG / RESP AFTER\tREASON")
	start := int64(f.Start)
	for _, r := range rows {
		dir := "→"
		if r.Dir == segment.Resp {
			dir = "←"
		}
		class := snakeClasses(r.Class)
		fmt.Fprintf(tw, "%d\t+%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s / %s\t%s\n",
			r.Frame, time.Duration(r.Time-start).Round(time.Microsecond), dir, r.Flags, r.RelSeq, r.RelAck, r.Len,
			class, r.Event, r.Verdict, r.States[0], r.States[1], r.Reason)
	}
	tw.Flush()
	if len(f.Anomalies) > 0 {
		fmt.Fprintln(w, "\nFindings")
		for _, a := range f.Anomalies {
			fmt.Fprintf(w, "  %-8s %s ×%d (packets %v): %s\n", strings.ToUpper(string(a.Severity)), a.Kind, a.Count, a.Packets, a.Message)
		}
	}
}

// snakeClasses turns the sequence tracker's class names ("Retransmission|
// FastRetransmission") into the snake_case of the anomaly kinds
// ("retransmission|fast_retransmission"); "None" becomes "-".
func snakeClasses(c string) string {
	if c == "None" || c == "" {
		return "-"
	}
	var b strings.Builder
	for i, r := range c {
		if r >= 'A' && r <= 'Z' {
			if i > 0 && c[i-1] != '|' {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
