package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// requireCapture skips the test unless this binary and this process may
// capture on lo.
func requireCapture(t *testing.T) {
	t.Helper()
	if !capture.LiveSupported() {
		t.Skip("no capture helper: " + helperSkip)
	}
	l, err := capture.OpenLive(capture.LiveOptions{Iface: "lo", Filter: "tcp port 1"})
	if errors.Is(err, capture.ErrPermission) {
		t.Skipf("this process may not capture (run as root or grant cap_net_raw): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

// loListener listens on a loopback port that the test owns.
func loListener(t *testing.T) (net.Listener, int) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, ln.Addr().(*net.TCPAddr).Port
}

// closedPort returns a loopback port that had a listener a moment ago and now
// has none, so that a connect to it is refused.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, port := loListener(t)
	ln.Close()
	return port
}

// liveRun runs RunLive in the background on lo.
type liveRun struct {
	out, err bytes.Buffer
	done     chan error
	cancel   context.CancelFunc
}

func startLive(t *testing.T, o *LiveOptions, terminal bool) *liveRun {
	t.Helper()
	r := &liveRun{done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	t.Cleanup(cancel)
	ready := make(chan struct{})
	o.Ready = func() { close(ready) }
	if o.Engine == (engine.Config{}) {
		o.Engine = engine.DefaultConfig()
	}
	if o.Interval == 0 {
		o.Interval = 5 * time.Second
	}
	if o.Duration == 0 {
		o.Duration = 20 * time.Second // a backstop: every test stops earlier
	}
	s := &IO{In: strings.NewReader(""), Out: &r.out, Err: &r.err, OutIsTerminal: terminal}
	go func() { r.done <- RunLive(ctx, o, s) }()
	select {
	case <-ready:
	case err := <-r.done:
		t.Fatalf("RunLive ended before capturing: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("RunLive did not start capturing within 10s")
	}
	return r
}

// stop waits a moment for the last packets to be delivered, stops the run
// as Ctrl-C would and returns its result.
func (r *liveRun) stop(t *testing.T) error {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	r.cancel()
	return r.wait(t)
}

func (r *liveRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("RunLive did not stop within 10s")
	}
	return nil
}

// normalExchange connects to ln, which echoes and closes; the client writes,
// half-closes, reads the echo and closes.
func normalExchange(t *testing.T, ln net.Listener) {
	t.Helper()
	srv := make(chan struct{})
	go func() {
		defer close(srv)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.Copy(c, c)
	}()
	c, err := net.DialTimeout("tcp4", ln.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
	c.(*net.TCPConn).CloseWrite()
	if got, err := io.ReadAll(c); err != nil || string(got) != "GET / HTTP/1.0\r\n\r\n" {
		t.Errorf("echo %q, %v", got, err)
	}
	c.Close()
	<-srv
}

// refusedConnect connects to a port without a listener.
func refusedConnect(t *testing.T, port int) {
	t.Helper()
	c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err == nil {
		c.Close()
		t.Fatalf("connect to closed port %d succeeded", port)
	}
}

// closeWaitPair connects to ln; the client sends and closes, the server reads
// to EOF and keeps its socket open until the test ends, so it stays in
// CLOSE_WAIT.
func closeWaitPair(t *testing.T, ln net.Listener) {
	t.Helper()
	gotEOF := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(gotEOF)
			return
		}
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, c)
		close(gotEOF)
	}()
	c, err := net.DialTimeout("tcp4", ln.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "bye")
	c.Close()
	select {
	case <-gotEOF:
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not see EOF")
	}
}

// events parses a JSON event stream.
func events(t *testing.T, data []byte) []map[string]json.RawMessage {
	t.Helper()
	var evs []map[string]json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var ev map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		evs = append(evs, ev)
	}
	return evs
}

func str(raw json.RawMessage) string {
	var s string
	json.Unmarshal(raw, &s)
	return s
}

// streamFlow is the part of a flow event the tests look at (report.Time
// does not unmarshal).
type streamFlow struct {
	ID        uint64 `json:"id"`
	Orig      string `json:"orig"`
	Resp      string `json:"resp"`
	ConnState string `json:"conn_state"`
	History   string `json:"history"`
	OrigState string `json:"orig_state"`
	RespState string `json:"resp_state"`
	EndReason string `json:"end_reason"`
	Anomalies []struct {
		Kind     string          `json:"kind"`
		Severity report.Severity `json:"severity"`
	} `json:"anomalies"`
	Transitions []json.RawMessage `json:"transitions"`
}

// streamSummary is the part of a summary the tests look at.
type streamSummary struct {
	PacketsRead uint64 `json:"packets_read"`
	Flows       int    `json:"flows"`
}

func hasAnomaly(f *streamFlow, kind string) bool {
	for _, a := range f.Anomalies {
		if a.Kind == kind {
			return true
		}
	}
	return false
}

// TestLiveLoopbackEvents captures three real connections on lo (a normal
// exchange, a refused connect, a server left in CLOSE_WAIT), stops like Ctrl-C
// would, and checks the event stream, then analyzes the -w file again.
func TestLiveLoopbackEvents(t *testing.T) {
	requireCapture(t)
	normalLn, normalPort := loListener(t)
	cwLn, cwPort := loListener(t)
	refused := closedPort(t)
	pcapFile := filepath.Join(t.TempDir(), "live.pcap")
	o := &LiveOptions{
		Iface:    "lo",
		Filter:   fmt.Sprintf("tcp and host 127.0.0.1 and (port %d or port %d or port %d)", normalPort, cwPort, refused),
		Output:   "json",
		Interval: 100 * time.Millisecond,
		Write:    pcapFile,
	}
	r := startLive(t, o, false)
	normalExchange(t, normalLn)
	refusedConnect(t, refused)
	closeWaitPair(t, cwLn)
	if err := r.stop(t); err != nil {
		t.Fatalf("RunLive: %v\n%s", err, r.err.String())
	}

	evs := events(t, r.out.Bytes())
	flows := map[int]*streamFlow{} // by responder port
	anomalyEvents := map[uint64][]string{}
	var summaries, finals int
	var last map[string]json.RawMessage
	for i, ev := range evs {
		switch str(ev["type"]) {
		case "flow":
			var f streamFlow
			if err := json.Unmarshal(ev["flow"], &f); err != nil || f.Transitions == nil || f.Anomalies == nil {
				t.Fatal(err)
			}
			_, port, _ := net.SplitHostPort(f.Resp)
			var p int
			fmt.Sscan(port, &p)
			flows[p] = &f
			for _, a := range f.Anomalies {
				if a.Severity.Rank() > 0 && !contains(anomalyEvents[f.ID], a.Kind) {
					t.Errorf("flow %d: anomaly %s came without an anomaly event before the flow", f.ID, a.Kind)
				}
			}
		case "anomaly":
			var id uint64
			json.Unmarshal(ev["flow_id"], &id)
			anomalyEvents[id] = append(anomalyEvents[id], str(ev["kind"]))
			for _, k := range []string{"severity", "packet", "time", "orig", "resp"} {
				if _, ok := ev[k]; !ok {
					t.Errorf("anomaly event %d lacks %s", i, k)
				}
			}
		case "summary":
			summaries++
			if string(ev["final"]) == "true" {
				finals++
				last = ev
			}
		default:
			t.Errorf("event %d: unknown type %s", i, ev["type"])
		}
	}
	if finals != 1 || last == nil || str(evs[len(evs)-1]["type"]) != "summary" || string(evs[len(evs)-1]["final"]) != "true" {
		t.Fatalf("want exactly one final summary, last: %d finals in %d events", finals, len(evs))
	}
	if summaries < 2 {
		t.Errorf("only %d summary events with --interval 100ms", summaries)
	}

	cases := []struct {
		name       string
		port       int
		conn       string
		origStates []string
		respState  string
		anomaly    string
	}{
		{"normal exchange", normalPort, "SF", []string{"TIME_WAIT", "CLOSED"}, "CLOSED", ""},
		{"refused", refused, "REJ", nil, "", "rejected"},
		{"close wait", cwPort, "", []string{"FIN_WAIT_2"}, "CLOSE_WAIT", ""},
	}
	for _, c := range cases {
		f := flows[c.port]
		if f == nil {
			t.Errorf("%s: no flow to port %d in %d flows", c.name, c.port, len(flows))
			continue
		}
		if c.conn != "" && f.ConnState != c.conn {
			t.Errorf("%s: conn_state %s, want %s (history %s)", c.name, f.ConnState, c.conn, f.History)
		}
		if c.origStates != nil && !contains(c.origStates, f.OrigState) {
			t.Errorf("%s: orig_state %s, want one of %v", c.name, f.OrigState, c.origStates)
		}
		if c.respState != "" && f.RespState != c.respState {
			t.Errorf("%s: resp_state %s, want %s", c.name, f.RespState, c.respState)
		}
		if c.anomaly != "" && (!hasAnomaly(f, c.anomaly) || !contains(anomalyEvents[f.ID], c.anomaly)) {
			t.Errorf("%s: anomaly %s missing: flow %v, events %v", c.name, c.anomaly, f.Anomalies, anomalyEvents[f.ID])
		}
	}
	if f := flows[cwPort]; f != nil && f.EndReason != "end_of_capture" {
		t.Errorf("the CLOSE_WAIT flow ended by %s, want end_of_capture", f.EndReason)
	}
	if len(flows) != 3 {
		t.Errorf("%d flows, want 3", len(flows))
	}

	var sum streamSummary
	var st captureStats
	if err := json.Unmarshal(last["summary"], &sum); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(last["capture_stats"], &st); err != nil {
		t.Fatal(err)
	}
	if str(last["stop_reason"]) != "signal" || str(last["interface"]) != "lo" || sum.Flows != 3 ||
		st.Received < sum.PacketsRead || st.Dropped != 0 || sum.PacketsRead < 14 {
		t.Errorf("final summary: stop %s, %+v, stats %+v", last["stop_reason"], sum, st)
	}

	// The -w file analyzes to the same flows.
	rep, err := Analyze([]string{pcapFile}, "", engine.DefaultConfig(), &IO{Err: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.PacketsRead != sum.PacketsRead || len(rep.Flows) != 3 {
		t.Fatalf("-w file: %d packets, %d flows; live: %d packets", rep.Summary.PacketsRead, len(rep.Flows), sum.PacketsRead)
	}
	for _, f := range rep.Flows {
		_, port, _ := net.SplitHostPort(f.Resp)
		var p int
		fmt.Sscan(port, &p)
		if lf := flows[p]; lf == nil || lf.ConnState != f.ConnState || lf.OrigState != f.OrigState || lf.RespState != f.RespState {
			t.Errorf("-w file flow to %d: %s %s/%s differs from live", p, f.ConnState, f.OrigState, f.RespState)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestLiveStops checks --count and --duration, in the table and CSV outputs.
func TestLiveStops(t *testing.T) {
	requireCapture(t)
	t.Run("count, table", func(t *testing.T) {
		ln, port := loListener(t)
		r := startLive(t, &LiveOptions{Iface: "lo", Filter: fmt.Sprintf("tcp port %d", port), Output: "table", Count: 3}, false)
		normalExchange(t, ln)
		if err := r.wait(t); err != nil {
			t.Fatal(err)
		}
		out := r.out.String()
		for _, want := range []string{"packets read   3\n", "ESTABLISHED", "S1", "  capture        ", "packets received by the filter",
			"stopped by     count"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "\x1b[") {
			t.Error("escape sequences when the output is not a terminal")
		}
	})
	t.Run("duration, csv", func(t *testing.T) {
		_, port := loListener(t)
		start := time.Now()
		r := startLive(t, &LiveOptions{Iface: "lo", Filter: fmt.Sprintf("tcp port %d", port), Output: "csv", Duration: 300 * time.Millisecond}, false)
		if err := r.wait(t); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("--duration 300ms took %v", d)
		}
		if got := r.out.String(); !strings.HasPrefix(got, "id,orig,resp,") || strings.Count(got, "\n") != 1 {
			t.Errorf("CSV output %q", got)
		}
		if !strings.Contains(r.err.String(), "packets received by the filter") {
			t.Errorf("stderr %q lacks the capture counters", r.err.String())
		}
	})
	t.Run("csv rows stream", func(t *testing.T) {
		refused := closedPort(t)
		r := startLive(t, &LiveOptions{Iface: "lo", Filter: fmt.Sprintf("tcp port %d", refused), Output: "csv"}, false)
		refusedConnect(t, refused)
		if err := r.stop(t); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(r.out.String()), "\n")
		if len(lines) != 2 || !strings.Contains(lines[1], ",REJ,") {
			t.Errorf("CSV %q", r.out.String())
		}
		// Stopped by a signal, the counters are still the helper's final ones.
		if !strings.Contains(r.err.String(), "packets received by the filter") || strings.Contains(r.err.String(), "unavailable") {
			t.Errorf("stderr %q lacks the capture counters", r.err.String())
		}
	})
}

// TestLiveTerminalView runs with a terminal: the view is redrawn and shows the
// anomaly, then the final table replaces it.
func TestLiveTerminalView(t *testing.T) {
	requireCapture(t)
	refused := closedPort(t)
	r := startLive(t, &LiveOptions{Iface: "lo", Filter: fmt.Sprintf("tcp port %d", refused), Output: "table", Interval: 100 * time.Millisecond}, true)
	refusedConnect(t, refused)
	time.Sleep(200 * time.Millisecond)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	out := r.out.String()
	if n := strings.Count(out, "\x1b[H\x1b[2J"); n < 3 {
		t.Errorf("%d redraws", n)
	}
	// Nothing finishes a flow before the capture ends (the engine sweeps on
	// packet time), so the view shows the refused attempt open; the final
	// report has it rejected.
	for _, want := range []string{"tcpflow-analyze live on lo", "flows 1 open, 0 finished", "open      CLOSED/CLOSED 1",
		"Busiest open connections", "REJ (open)", "flows          1  (REJ 1)", "anomalies      rejected 1", "stopped by     signal"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestLiveErrors(t *testing.T) {
	cases := []struct {
		name    string
		o       LiveOptions
		capture bool // needs a process that may capture
		want    []string
	}{
		{"no interface", LiveOptions{Output: "json"}, false, []string{"no interface", "-i"}},
		{"bad format", LiveOptions{Iface: "lo", Output: "xml"}, false, []string{"unknown output format"}},
		{"bad interval", LiveOptions{Iface: "lo", Output: "json", Interval: -1}, false, []string{"--interval"}},
		{"unknown interface", LiveOptions{Iface: "nosuch0", Output: "json"}, true, []string{`"nosuch0"`, "available:", "lo"}},
		{"bad filter", LiveOptions{Iface: "lo", Output: "json", Filter: "tcp port 80 and and tcp"}, true,
			[]string{"bad filter", "syntax error", "\n  tcp port 80 and and tcp\n                  ^^^"}},
		{"no directory for -w", LiveOptions{Iface: "lo", Output: "json", Filter: "tcp port 1", Write: "/nonexistent/dir/x.pcap"}, true,
			[]string{"-w", "no such file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.capture {
				requireCapture(t)
			}
			o := c.o
			o.Engine = engine.DefaultConfig()
			if o.Interval == 0 {
				o.Interval = time.Second
			}
			o.Duration = time.Second
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := RunLive(ctx, &o, &IO{Out: io.Discard, Err: io.Discard})
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != ExitInput {
				t.Fatalf("err %v, want exit code %d", err, ExitInput)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLiveOpenErrorMessages(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want []string
	}{
		{"permission", fmt.Errorf("cannot capture on eth0: %w (socket: Operation not permitted)", capture.ErrPermission),
			[]string{"cannot capture on eth0", "run as root", "setcap cap_net_raw,cap_net_admin=eip ", capture.HelperName}},
		{"no helper", fmt.Errorf("eth0: %w", capture.ErrNoLiveSupport),
			[]string{"live capture needs libpcap, through the capture helper " + capture.HelperName, "saved capture"}},
		{"other", errors.New("cannot capture on eth0: the interface is down"), []string{"interface is down"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := liveOpenError(c.err).Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("%q is not one line", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
		})
	}
	t.Run("no helper", func(t *testing.T) {
		t.Setenv(capture.HelperEnv, filepath.Join(t.TempDir(), "missing"))
		err := RunLive(context.Background(), &LiveOptions{Iface: "lo", Output: "json", Interval: time.Second, Engine: engine.DefaultConfig()},
			&IO{Out: io.Discard, Err: io.Discard})
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != ExitInput || !strings.Contains(err.Error(), "live capture needs libpcap") {
			t.Errorf("without the helper: %v", err)
		}
	})
}

func TestLiveListInterfaces(t *testing.T) {
	if !capture.LiveSupported() {
		t.Skip("no capture helper: " + helperSkip)
	}
	var out bytes.Buffer
	if err := RunLive(context.Background(), &LiveOptions{ListInterfaces: true}, &IO{Out: &out, Err: io.Discard}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"NAME", "ADDRESSES", "\nlo ", "127.0.0.1/8", "loopback"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("list lacks %q:\n%s", want, out.String())
		}
	}
}

// TestLiveViewRender checks the terminal view on fixed data.
func TestLiveViewRender(t *testing.T) {
	warn := func(kind string, n uint64) report.Anomaly {
		return report.Anomaly{Kind: kind, Severity: report.SeverityWarning, Count: n}
	}
	open := []report.Flow{
		{ID: 1, Orig: "10.0.0.1:1000", Resp: "10.0.0.2:80", OrigState: "ESTABLISHED", RespState: "ESTABLISHED", ConnState: "S1", EndReason: "open", OrigPackets: 10, RespPackets: 12, OrigBytes: 100, RespBytes: 90000},
		{ID: 2, Orig: "10.0.0.1:1001", Resp: "10.0.0.2:80", OrigState: "FIN_WAIT_2", RespState: "CLOSE_WAIT", ConnState: "S2", EndReason: "open", OrigPackets: 3, RespPackets: 2,
			Anomalies: []report.Anomaly{warn("retransmission", 4)}},
	}
	cases := []struct {
		name   string
		view   func() *liveView
		sum    report.Summary
		stats  captureStats
		want   []string
		reject []string
	}{
		{
			name:   "idle",
			view:   func() *liveView { return newLiveView("eth0", "") },
			want:   []string{"live on eth0, filter none", "open      none", "finished  none", "anomalies none"},
			reject: []string{"Busiest", "Most anomalous", "Latest", "WARNING"},
		},
		{
			name: "busy",
			view: func() *liveView {
				v := newLiveView("any", "port 80")
				v.closed(&report.Flow{ID: 7, Orig: "10.0.0.3:5", Resp: "10.0.0.2:81", ConnState: "REJ", OrigState: "SYN_SENT", RespState: "CLOSED",
					Anomalies: []report.Anomaly{warn("rejected", 1)}})
				v.closed(&report.Flow{ID: 8, ConnState: "SF"}) // no anomaly: not kept
				v.anomaly(engine.AnomalyEvent{FlowID: 7, Kind: "rejected", Severity: report.SeverityWarning, Packet: 9, Time: 1e18, Orig: "10.0.0.3:5", Resp: "10.0.0.2:81"})
				return v
			},
			sum: report.Summary{PacketsRead: 40, TCPSegments: 38, Flows: 2, FlowsByConnState: map[string]int{"REJ": 1, "SF": 1},
				AnomalyCounts: map[string]uint64{"rejected": 1}},
			stats: captureStats{Received: 41, Dropped: 1},
			want: []string{`filter "port 80"`, "packets 40 (TCP 38)", "flows 2 open, 2 finished", "41 packets received", "WARNING: 1 packets dropped",
				"open      ESTABLISHED/ESTABLISHED 1, FIN_WAIT_2/CLOSE_WAIT 1", "finished  REJ 1, SF 1",
				"anomalies retransmission 4, rejected 1", "Busiest open connections", "10.0.0.1:1000", "10/12",
				"Most anomalous connections", "retransmission 4", "S2 (open)", "REJ", "Latest anomalies", "#7", "packet 9"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			op := open
			if c.name == "idle" {
				op = nil
			}
			c.view().render(&b, 3*time.Second, c.sum, viewOf(op), c.stats)
			got := b.String()
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("view lacks %q:\n%s", w, got)
				}
			}
			for _, w := range c.reject {
				if strings.Contains(got, w) {
					t.Errorf("view has %q:\n%s", w, got)
				}
			}
			// The most anomalous come first: flow 2 (4 retransmissions) before flow 7.
			if c.name == "busy" {
				sec := got[strings.Index(got, "Most anomalous"):]
				if i, j := strings.Index(sec, "10.0.0.1:1001"), strings.Index(sec, "10.0.0.3:5"); i < 0 || j < 0 || i > j {
					t.Errorf("order in:\n%s", sec)
				}
			}
		})
	}
}

// TestLiveKeepBounded checks that the final table keeps at most --limit flows,
// the most anomalous first, and says how many it left out.
func TestLiveKeepBounded(t *testing.T) {
	cases := []struct {
		limit, flows int
		wantRows     []string
		wantDropped  string
	}{
		{limit: 3, flows: 10, wantRows: []string{"10.0.0.1:1009", "10.0.0.1:1008", "10.0.0.1:1007"}, wantDropped: "not listed     7 flows"},
		{limit: 0, flows: 5, wantRows: []string{"10.0.0.1:1000", "10.0.0.1:1004"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("limit %d", c.limit), func(t *testing.T) {
			var b bytes.Buffer
			o := &LiveOptions{Iface: "lo", Limit: c.limit}
			out := newLiveOutput(o, report.FormatTable, &IO{Out: &b, Err: io.Discard})
			for i := 0; i < c.flows; i++ {
				f := report.Flow{ID: uint64(i + 1), Orig: fmt.Sprintf("10.0.0.1:%d", 1000+i), Resp: "10.0.0.2:80", ConnState: "SF",
					Transitions: make([]report.Transition, 3),
					Anomalies:   []report.Anomaly{{Kind: "retransmission", Severity: report.SeverityNotice, Count: uint64(i + 1)}}}
				out.flow(&f)
				if c.limit > 0 && len(out.kept) >= 2*c.limit {
					t.Fatalf("kept %d flows with limit %d", len(out.kept), c.limit)
				}
			}
			if err := out.final(&report.Report{}, captureStats{}, "signal", time.Now()); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			for _, w := range c.wantRows {
				if !strings.Contains(got, w) {
					t.Errorf("table lacks %s:\n%s", w, got)
				}
			}
			if c.limit > 0 && strings.Contains(got, "10.0.0.1:1000 ") {
				t.Errorf("the least anomalous flow is listed:\n%s", got)
			}
			if c.wantDropped != "" && !strings.Contains(got, c.wantDropped) {
				t.Errorf("table lacks %q:\n%s", c.wantDropped, got)
			}
		})
	}
}

// viewOf builds the engine's view of open flows from records, as
// engine.View does from connections.
func viewOf(open []report.Flow) engine.OpenView {
	v := engine.OpenView{Open: len(open), States: map[string]int{}, AnomalyCounts: map[string]uint64{}}
	for i := range open {
		f := &open[i]
		v.States[f.OrigState+"/"+f.RespState]++
		for _, a := range f.Anomalies {
			v.AnomalyCounts[a.Kind] += a.Count
		}
		if anomalyScore(f) > 0 {
			v.Anomalous = append(v.Anomalous, *f)
		}
	}
	v.Busiest = append([]report.Flow(nil), open...)
	sort.SliceStable(v.Busiest, func(i, j int) bool {
		a, b := &v.Busiest[i], &v.Busiest[j]
		return a.OrigBytes+a.RespBytes+a.OrigPackets+a.RespPackets > b.OrigBytes+b.RespBytes+b.OrigPackets+b.RespPackets
	})
	rankFlows(v.Anomalous)
	return v
}
