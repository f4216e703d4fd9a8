package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Format names an output format.
type Format string

// The output formats.
const (
	FormatTable Format = "table"
	FormatJSON  Format = "json"
	FormatCSV   Format = "csv"
	// FormatNDJSON streams one JSON object per line: each flow as it
	// finishes, then the capture-wide findings, then the summary.
	FormatNDJSON Format = "ndjson"
)

// Formats lists the formats that Write accepts, for flag help and validation.
var Formats = []Format{FormatTable, FormatJSON, FormatCSV, FormatNDJSON}

// ParseFormat checks a format name given by a user.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown output format %q (use one of %s)", s, strings.Join(names, ", "))
}

// Options tune the renderers.
type Options struct {
	// Limit caps the rows of the table (0 = no cap). JSON and CSV are never capped.
	Limit int
	// Lookout, when set, holds the anomalies of every flow, for a report
	// whose Flows were cut to the rows shown.
	Lookout *Lookout
	// FlowTable, when set, is what RenderFlowTable made of the flows the
	// table shows (the first Limit of Flows), written in their place: a
	// caller that knows its rows before the analysis ends can draw them
	// while it runs.
	FlowTable []byte
}

// Write renders r in format f.
func Write(w io.Writer, r *Report, f Format, opt Options) error {
	switch f {
	case FormatJSON:
		return WriteJSON(w, r)
	case FormatCSV:
		return WriteCSV(w, r)
	case FormatTable:
		return WriteTable(w, r, opt)
	case FormatNDJSON:
		for i := range r.Flows {
			if err := WriteNDJSONFlow(w, &r.Flows[i]); err != nil {
				return err
			}
		}
		return WriteNDJSONEnd(w, r)
	}
	return fmt.Errorf("unknown output format %q", f)
}

// WriteJSON writes r as one indented JSON document. Each part is marshalled
// on its own into a buffered writer, so the output is never built whole in
// memory; the bytes are the same as encoding the report in one go with
// two-space indentation.
func WriteJSON(w io.Writer, r *Report) error {
	var enc FlowEncoder
	var buf []byte
	i := 0
	return WriteJSONEncoded(w, r, func() ([]byte, error) {
		if i == len(r.Flows) {
			return nil, nil
		}
		var err error
		buf, err = enc.AppendJSONElem(buf[:0], &r.Flows[i])
		i++
		return buf, err
	})
}

// WriteJSONEncoded writes the document WriteJSON writes for r, but takes its
// flows from next, in order, each as FlowEncoder.AppendJSONElem encoded it;
// next returns nil after the last one. r.Flows is not read: a caller that
// spooled the flows as they finished (internal/spool) never holds them all.
func WriteJSONEncoded(w io.Writer, r *Report, next func() ([]byte, error)) error {
	n := normalized(r)
	// A document of every flow runs to hundreds of megabytes: 256 KiB
	// writes keep the system calls few (as the ndjson output; 1 MiB ones
	// cost more system time in a file).
	bw := bufio.NewWriterSize(w, 256<<10)
	put := func(prefix string, v any) error {
		b, err := json.MarshalIndent(v, prefix, "  ")
		if err != nil {
			return err
		}
		_, err = bw.Write(b)
		return err
	}
	err := func() error {
		bw.WriteString("{\n  \"summary\": ")
		if err := put("  ", &n.Summary); err != nil {
			return err
		}
		bw.WriteString(",\n  \"flows\": [")
		some := false
		for {
			b, err := next()
			if err != nil {
				return err
			}
			if b == nil {
				break
			}
			if some {
				bw.WriteString(",")
			}
			some = true
			bw.WriteString("\n    ")
			if _, err := bw.Write(b); err != nil {
				return err
			}
		}
		if some {
			bw.WriteString("\n  ")
		}
		bw.WriteString("],\n  \"anomalies\": ")
		if err := put("  ", n.Anomalies); err != nil {
			return err
		}
		bw.WriteString("\n}\n")
		return bw.Flush()
	}()
	if err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

// ndjsonAnomaly and ndjsonSummary are the lines of the ndjson format after
// the flows (which AppendNDJSONFlow writes).
type ndjsonAnomaly struct {
	Type    string   `json:"type"`
	Anomaly *Anomaly `json:"anomaly"`
}

type ndjsonSummary struct {
	Type    string   `json:"type"`
	Summary *Summary `json:"summary"`
}

// WriteNDJSONFlow writes one {"type":"flow","flow":{...}} line.
func WriteNDJSONFlow(w io.Writer, f *Flow) error {
	b, err := AppendNDJSONFlow(nil, f)
	if err == nil {
		_, err = w.Write(b)
	}
	if err != nil {
		return fmt.Errorf("writing ndjson: %w", err)
	}
	return nil
}

// AppendNDJSONFlow appends the {"type":"flow","flow":{...}} line of f,
// newline included, to b.
func AppendNDJSONFlow(b []byte, f *Flow) ([]byte, error) {
	b = append(b, `{"type":"flow","flow":`...)
	w := jsonWriter{b: b, norm: true}
	if err := w.flow(f); err != nil {
		return b, err
	}
	return append(w.b, '}', '\n'), nil
}

// WriteNDJSONEnd writes the capture-wide findings, one
// {"type":"anomaly","anomaly":{...}} line each, and then the
// {"type":"summary","summary":{...}} line that ends the stream.
func WriteNDJSONEnd(w io.Writer, r *Report) error {
	n := normalized(r)
	enc := json.NewEncoder(w)
	for i := range n.Anomalies {
		if err := enc.Encode(ndjsonAnomaly{"anomaly", &n.Anomalies[i]}); err != nil {
			return fmt.Errorf("writing ndjson: %w", err)
		}
	}
	if err := enc.Encode(ndjsonSummary{"summary", &n.Summary}); err != nil {
		return fmt.Errorf("writing ndjson: %w", err)
	}
	return nil
}

// normalized returns a copy of r whose nil lists and maps are empty, so JSON
// readers always see [] and {} rather than null.
func normalized(r *Report) *Report {
	c := *r
	if c.Flows == nil {
		c.Flows = []Flow{}
	}
	if c.Anomalies == nil {
		c.Anomalies = []Anomaly{}
	}
	c.Summary = NormalizedSummary(c.Summary)
	return &c
}

// NormalizedSummary returns s with its nil lists and maps made empty, so that
// JSON readers see [] and {} rather than null.
func NormalizedSummary(s Summary) Summary {
	if s.Files == nil {
		s.Files = []string{}
	}
	if s.FlowsByConnState == nil {
		s.FlowsByConnState = map[string]int{}
	}
	if s.DecodeProblems == nil {
		s.DecodeProblems = map[string]uint64{}
	}
	if s.NonTCP == nil {
		s.NonTCP = map[string]uint64{}
	}
	if s.InputProblems == nil {
		s.InputProblems = []string{}
	}
	if s.AnomalyCounts == nil {
		s.AnomalyCounts = map[string]uint64{}
	}
	return s
}

// tableColumns are the columns of the flow table and of the CSV output.
var tableColumns = []string{
	"id", "orig", "resp", "orig_state", "resp_state", "conn_state",
	"orig_packets", "resp_packets", "orig_bytes", "resp_bytes",
	"duration_s", "handshake_rtt_ms", "anomalies",
}

func anomalyTotal(f *Flow) uint64 {
	var n uint64
	for _, a := range f.Anomalies {
		if a.Severity.Rank() > SeverityInfo.Rank() {
			n += a.Count
		}
	}
	return n
}

func csvRow(f *Flow) []string {
	rtt := ""
	if f.HandshakeRTTMs != nil {
		rtt = strconv.FormatFloat(*f.HandshakeRTTMs, 'f', 3, 64)
	}
	return []string{
		strconv.FormatUint(f.ID, 10), f.Orig, f.Resp, f.OrigState, f.RespState, f.ConnState,
		strconv.FormatUint(f.OrigPackets, 10), strconv.FormatUint(f.RespPackets, 10),
		strconv.FormatUint(f.OrigBytes, 10), strconv.FormatUint(f.RespBytes, 10),
		strconv.FormatFloat(f.DurationSec, 'f', 6, 64), rtt,
		strconv.FormatUint(anomalyTotal(f), 10),
	}
}

// WriteCSV writes one row per flow with a header row; it is never capped.
func WriteCSV(w io.Writer, r *Report) error {
	cw := NewCSVWriter(w)
	for i := range r.Flows {
		if err := cw.Write(&r.Flows[i]); err != nil {
			return err
		}
	}
	return cw.Flush()
}

// CSVWriter writes flows as CSV rows one at a time, after the header row, so
// that a stream of flows needs no report in memory.
type CSVWriter struct {
	cw     *csv.Writer
	header bool
}

// NewCSVWriter returns a CSVWriter on w.
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{cw: csv.NewWriter(w)} }

func (c *CSVWriter) writeHeader() error {
	if c.header {
		return nil
	}
	c.header = true
	if err := c.cw.Write(tableColumns); err != nil {
		return fmt.Errorf("writing CSV: %w", err)
	}
	return nil
}

// Write writes f's row (the header row first, once).
func (c *CSVWriter) Write(f *Flow) error {
	if err := c.writeHeader(); err != nil {
		return err
	}
	if err := c.cw.Write(csvRow(f)); err != nil {
		return fmt.Errorf("writing CSV: %w", err)
	}
	return nil
}

// Flush writes what is buffered, and the header row if no flow came.
func (c *CSVWriter) Flush() error {
	if err := c.writeHeader(); err != nil {
		return err
	}
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return fmt.Errorf("writing CSV: %w", err)
	}
	return nil
}

// WriteTable writes the flow table, then the summary, for people at a
// terminal. The table is written a line at a time: the writes are buffered,
// a thousand rows in a few writes instead of a write each.
func WriteTable(w io.Writer, r *Report, opt Options) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := writeTable(bw, r, opt); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing table: %w", err)
	}
	return nil
}

func writeTable(w io.Writer, r *Report, opt Options) error {
	flows := r.Flows
	left := max(r.Summary.Flows-len(flows), 0) // flows the caller did not keep
	if opt.Limit > 0 && len(flows) > opt.Limit {
		left += len(flows) - opt.Limit
		flows = flows[:opt.Limit]
	}
	if len(flows) > 0 {
		if opt.FlowTable != nil {
			_, _ = w.Write(opt.FlowTable) // w keeps the error for its Flush (WriteTable)
		} else {
			renderFlowTable(w, flows)
		}
		if left > 0 {
			fmt.Fprintf(w, "… %d more flows not shown (--limit %d); JSON and CSV list them all\n", left, opt.Limit)
		}
		fmt.Fprintln(w, "# = generation on a reused 4-tuple, * = picked up mid-stream")
	}
	if err := writeSummary(w, r); err != nil {
		return err
	}
	return writeLookAt(w, r, opt.Lookout)
}

// RenderFlowTable returns the box of the flow table that WriteTable draws
// for flows, a row each, for Options.FlowTable.
func RenderFlowTable(flows []Flow) []byte {
	var b bytes.Buffer
	renderFlowTable(&b, flows)
	return b.Bytes()
}

// renderFlowTable draws the box of the flow table, a row for each of flows.
func renderFlowTable(w io.Writer, flows []Flow) {
	rows := make([][]string, 0, len(flows))
	for i := range flows {
		f := &flows[i]
		id := strconv.FormatUint(f.ID, 10)
		if f.Generation > 1 {
			id += "#" + strconv.Itoa(f.Generation)
		}
		if f.Midstream {
			id += "*"
		}
		rtt := "-"
		if f.HandshakeRTTMs != nil {
			rtt = fmtMillis(*f.HandshakeRTTMs)
		}
		anom := "-"
		if n := anomalyTotal(f); n > 0 {
			anom = strconv.FormatUint(n, 10)
		}
		rows = append(rows, []string{
			id, f.Orig, f.Resp, f.OrigState, f.RespState, f.ConnState,
			strconv.FormatUint(f.OrigPackets, 10) + "/" + strconv.FormatUint(f.RespPackets, 10),
			humanBytes(f.OrigBytes) + "/" + humanBytes(f.RespBytes),
			fmtSeconds(f.DurationSec), rtt, anom,
		})
	}
	renderTable(w, flowTableHeader, rows)
}

// lookAtMax is how many findings the "what to look at" section names.
const lookAtMax = 6

// finding is one anomaly kind summed over the report, for "what to look at".
type finding struct {
	kind     string
	severity Severity
	count    uint64
	flows    []uint64
	nflows   int
	message  string
	msgFlow  uint64 // the flow whose message it is: the lowest id, 0 for a capture-wide finding
}

// Lookout sums anomalies by kind over flows as they go by, for the "what to
// look at" section: a capped table keeps few flows but must rank findings
// over all of them.
type Lookout struct {
	byKind map[string]*finding
	order  []string
}

// AddFlow adds the anomalies of one flow.
func (l *Lookout) AddFlow(f *Flow) {
	for i := range f.Anomalies {
		l.add(&f.Anomalies[i], f.ID)
	}
}

func (l *Lookout) add(a *Anomaly, flow uint64) {
	if l.byKind == nil {
		l.byKind = map[string]*finding{}
	}
	f := l.byKind[a.Kind]
	if f == nil {
		f = &finding{kind: a.Kind, severity: a.Severity, message: a.Message, msgFlow: flow}
		l.byKind[a.Kind] = f
		l.order = append(l.order, a.Kind)
	} else if flow != 0 && flow < f.msgFlow {
		// The message quoted is the lowest flow's, as the examples are,
		// whatever order the flows finish in: a table capped by --limit
		// sees them as they finish, an uncapped one in id order.
		f.message, f.msgFlow = a.Message, flow
	}
	f.count += a.Count
	f.nflows++
	if flow != 0 && len(f.flows) < 3 {
		f.flows = append(f.flows, flow)
		sort.Slice(f.flows, func(i, j int) bool { return f.flows[i] < f.flows[j] })
	} else if flow != 0 && flow < f.flows[len(f.flows)-1] {
		f.flows[len(f.flows)-1] = flow
		sort.Slice(f.flows, func(i, j int) bool { return f.flows[i] < f.flows[j] })
	}
	if a.Severity.Rank() > f.severity.Rank() {
		f.severity = a.Severity
	}
}

// ranked returns the findings worst first: by severity, then by how many
// flows show it, then by count. Capture-wide findings count as one flow each.
func (l *Lookout) ranked() []finding {
	out := make([]finding, 0, len(l.order))
	for _, k := range l.order {
		out = append(out, *l.byKind[k])
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.severity.Rank() != b.severity.Rank() {
			return a.severity.Rank() > b.severity.Rank()
		}
		if a.nflows != b.nflows {
			return a.nflows > b.nflows
		}
		if a.count != b.count {
			return a.count > b.count
		}
		return a.kind < b.kind
	})
	return out
}

// findings ranks the anomalies of r, using opt.Lookout for the flows when the
// caller kept only some of them.
func findings(r *Report, lo *Lookout) []finding {
	var l Lookout
	if lo != nil {
		l = *lo
		l.byKind = make(map[string]*finding, len(lo.byKind))
		for k, v := range lo.byKind {
			c := *v
			l.byKind[k] = &c
		}
		l.order = append([]string(nil), lo.order...)
	} else {
		for i := range r.Flows {
			l.AddFlow(&r.Flows[i])
		}
	}
	for i := range r.Anomalies {
		l.add(&r.Anomalies[i], 0)
	}
	return l.ranked()
}

// writeLookAt ends the table output with the worst findings, each with where
// to look and how to learn more.
func writeLookAt(w io.Writer, r *Report, lookout *Lookout) error {
	var b strings.Builder
	n := 0
	for _, f := range findings(r, lookout) {
		if f.severity.Rank() <= SeverityInfo.Rank() {
			continue
		}
		if n == 0 {
			b.WriteString("\nWhat to look at\n")
		}
		if n == lookAtMax {
			b.WriteString("  … more in the JSON report (-o json)\n")
			break
		}
		n++
		where := "across the capture"
		if len(f.flows) > 0 {
			ids := make([]string, len(f.flows))
			for i, id := range f.flows {
				ids[i] = strconv.FormatUint(id, 10)
			}
			where = fmt.Sprintf("%d flow(s), e.g. %s", f.nflows, strings.Join(ids, ", "))
		}
		fmt.Fprintf(&b, "  %d. %-8s %s ×%d (%s): %s\n     → tcpflow-analyze explain %s\n",
			n, strings.ToUpper(string(f.severity)), f.kind, f.count, where, f.message, f.kind)
	}
	if n == 0 && len(r.Flows) > 0 {
		b.WriteString("\nNothing to look at: no anomaly above the informational level.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// flowTableHeader names the columns of the flow table.
var flowTableHeader = []string{"ID", "ORIGINATOR", "RESPONDER", "ORIG STATE", "RESP STATE", "CONN",
	"PKTS →/←", "BYTES →/←", "DURATION", "RTT", "ANOM"}

// renderTable writes a table in tablewriter's light box style: the header
// left-aligned, rows left-aligned, one space of padding, no wrapping.
//
// It drives tablewriter's streaming renderer (Ocean) itself, with the
// column widths measured beforehand, instead of going through
// tablewriter.Table, which builds maps of cell contexts for every row: a
// thousand rows took 21–30 ms that way and take about 5 ms this way, the
// same bytes (TestRenderTableMatchesTablewriter, BenchmarkWriteTable). The
// renderer drops w's write errors: w is WriteTable's bufio.Writer, which
// keeps the first and returns it from Flush.
func renderTable(w io.Writer, header []string, rows [][]string) {
	widths := tw.NewMapper[int, int]()
	measure := func(cells []string) {
		for i, c := range cells {
			if n := twwidth.Width(c) + 2; n > widths.Get(i) {
				widths.Set(i, n)
			}
		}
	}
	measure(header)
	for _, r := range rows {
		measure(r)
	}
	head := make(map[int]tw.CellContext, len(header))
	for i, h := range header {
		head[i] = tw.CellContext{Data: h, Align: tw.AlignLeft, Width: widths.Get(i)}
	}
	line := func(pos tw.Position, loc tw.Location, lvl tw.Level, cur map[int]tw.CellContext) tw.Formatting {
		return tw.Formatting{Row: tw.RowContext{Widths: widths, Position: pos, Location: loc, Current: cur}, Level: lvl}
	}
	o := renderer.NewOcean()
	o.Rendition(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleLight)})
	_ = o.Start(w)
	o.Line(line(tw.Header, tw.LocationFirst, tw.LevelHeader, nil))
	o.Header([][]string{header}, line(tw.Header, tw.LocationFirst, tw.LevelHeader, head))
	o.Line(line(tw.Header, tw.LocationMiddle, tw.LevelBody, head))
	body := line(tw.Row, tw.LocationMiddle, tw.LevelBody, nil)
	for _, r := range rows {
		o.Row(r, body)
	}
	o.Line(line(tw.Row, tw.LocationEnd, tw.LevelFooter, nil))
	_ = o.Close()
}

func writeSummary(w io.Writer, r *Report) error {
	s := &r.Summary
	var b strings.Builder
	fmt.Fprintf(&b, "\nSummary\n")
	fmt.Fprintf(&b, "  packets read   %d", s.PacketsRead)
	if s.Filtered > 0 {
		fmt.Fprintf(&b, " (%d did not match the filter)", s.Filtered)
	}
	b.WriteByte('\n')
	fmt.Fprintf(&b, "  TCP segments   %d\n", s.TCPSegments)
	fmt.Fprintf(&b, "  flows          %d", s.Flows)
	if len(s.FlowsByConnState) > 0 {
		fmt.Fprintf(&b, "  (%s)", CountsText(s.FlowsByConnState))
	}
	b.WriteByte('\n')
	if s.Start != nil && s.End != nil {
		fmt.Fprintf(&b, "  time           %s … %s (%s)\n", s.Start, s.End, fmtSeconds(s.DurationSecs))
	}
	if len(s.NonTCP) > 0 {
		fmt.Fprintf(&b, "  not TCP        %s\n", CountsText(s.NonTCP))
	}
	if len(s.DecodeProblems) > 0 {
		fmt.Fprintf(&b, "  not decoded    %s\n", CountsText(s.DecodeProblems))
	}
	if s.Evicted > 0 {
		fmt.Fprintf(&b, "  evicted        %d open connections (at a cap: --max-flows, --max-half-open, --max-linger)\n", s.Evicted)
	}
	if s.FlowsCapped > 0 {
		fmt.Fprintf(&b, "  capped         %d flows hit a memory bound of the analysis (see \"capped\" in JSON)\n", s.FlowsCapped)
	}
	if w := s.CaptureWide; w.EvictedKeys+w.UntrackedEvents+w.FindingsDropped > 0 {
		fmt.Fprintf(&b, "  capture-wide   tables full (--wide-max-keys): %d light keys evicted, %d events untracked, %d findings dropped\n",
			w.EvictedKeys, w.UntrackedEvents, w.FindingsDropped)
	}
	if len(s.AnomalyCounts) > 0 {
		fmt.Fprintf(&b, "  anomalies      %s\n", CountsText(s.AnomalyCounts))
	}
	for _, p := range s.InputProblems {
		fmt.Fprintf(&b, "  input problem  %s\n", p)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// CountsText renders a map as "k1 3, k2 1", largest first, then by name.
func CountsText[V int | uint64](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%c", float64(n)/float64(div), "KMGTPE"[exp])
}

func fmtSeconds(s float64) string {
	switch {
	case s == 0:
		return "0s"
	case s < 1:
		return fmtMillis(s * 1000)
	case s < 120:
		return strconv.FormatFloat(s, 'f', 3, 64) + "s"
	case s < 2*3600:
		return strconv.FormatFloat(s/60, 'f', 1, 64) + "m"
	case s < 2*86400:
		return strconv.FormatFloat(s/3600, 'f', 1, 64) + "h"
	}
	return strconv.FormatFloat(s/86400, 'f', 1, 64) + "d"
}

func fmtMillis(ms float64) string {
	if ms < 1 {
		return strconv.FormatFloat(ms*1000, 'f', 0, 64) + "µs"
	}
	return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
}
