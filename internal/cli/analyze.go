package cli

import (
	"bufio"
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/spool"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// AnalyzeOptions are the settings of the analyze command.
type AnalyzeOptions struct {
	Files  []string
	Config string
	Output string
	Filter string
	Limit  int
	Engine engine.Config
	// spoolMemLimit is the JSON spool's memory budget (0 = the default);
	// tests make it small to exercise the file.
	spoolMemLimit int
}

func newAnalyzeCmd(s *IO) *cobra.Command {
	o := &AnalyzeOptions{Engine: engine.DefaultConfig()}
	cmd := &cobra.Command{
		Use:   "analyze [flags] FILE...",
		Short: "Analyze saved captures (pcap, pcapng, snoop, gzip, zstd; \"-\" reads standard input)",
		Long: `analyze reads one or more captures, merged in timestamp order as one capture,
follows every TCP connection and prints one row per flow and a summary.

Formats are recognised by their magic number: pcap (microsecond or nanosecond,
either byte order), pcapng, Solaris snoop, and gzip- or zstd-compressed files
of any of them.`,
		Example: `  tcpflow-analyze analyze testdata/pcaps/normal_exchange.pcap
  tcpflow-analyze analyze -o json -f 'port 443' a.pcap b.pcapng
  tcpdump -w - -i eth0 | tcpflow-analyze analyze -`,
		Args: needFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Files = args
			if err := loadConfig(cmd, o.Config); err != nil {
				return err
			}
			if !cmd.Flags().Changed("output") {
				o.Output = defaultFormat(s)
			}
			return RunAnalyze(o, s)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Output, "output", "o", "table", "output format: table, json, csv or ndjson (default: table on a terminal, json when piped)")
	f.StringVarP(&o.Filter, "filter", "f", "", "BPF filter expression (libpcap syntax), applied to file input too")
	f.IntVar(&o.Limit, "limit", 1000, "rows in the table (JSON and CSV are never capped)")
	addEngineFlags(cmd, &o.Engine)
	addProgressFlag(cmd, s)
	f.StringVar(&o.Config, "config", "", "YAML file of settings: keys are these flags' names (e.g. syn-flood-rate: 200); the command line wins")
	return cmd
}

// addEngineFlags binds the analysis settings shared by the commands that analyze.
func addEngineFlags(cmd *cobra.Command, c *engine.Config) {
	f := cmd.Flags()
	f.DurationVar(&c.TimeWait, "time-wait", c.TimeWait, "TIME_WAIT length (2×MSL), in capture time")
	f.DurationVar(&c.HandshakeTimeout, "handshake-timeout", c.HandshakeTimeout, "idle time that ends a connection whose handshake did not complete")
	f.DurationVar(&c.EstablishedTimeout, "idle-timeout", c.EstablishedTimeout, "idle time that ends an established connection")
	f.DurationVar(&c.ClosingTimeout, "closing-timeout", c.ClosingTimeout, "idle time that ends a connection in FIN_WAIT_1, CLOSING or LAST_ACK")
	f.DurationVar(&c.ClosedLinger, "closed-linger", c.ClosedLinger, "how long a closed or reset connection still collects stragglers")
	f.IntVar(&c.MaxFlows, "max-flows", c.MaxFlows, "most connections held at once, 0.35–4 KiB each (0 = no cap); finished ones make room first, then the oldest half-open ones")
	f.IntVar(&c.MaxHalfOpen, "max-half-open", c.MaxHalfOpen, "connections whose handshake is not complete held at once (0 = no cap); beyond it the oldest is evicted (counted) and leaves a tomb: bounds a SYN flood's memory")
	f.IntVar(&c.MaxLinger, "max-linger", c.MaxLinger, "finished connections kept whole to collect stragglers (0 = no cap); beyond it the oldest is reported and leaves a 32-byte tomb")
	f.BoolVar(&c.VerifyChecksums, "verify-checksums", c.VerifyChecksums, "verify TCP checksums (off by default: offloading makes them wrong in most host captures)")
	f.DurationVar(&c.CloseWaitLeak, "close-wait-leak", c.CloseWaitLeak, "time in CLOSE_WAIT, with the connection alive, that counts as a leak")
	f.IntVar(&c.OverlapBytes, "overlap-bytes", c.OverlapBytes, "latest payload bytes kept per direction to spot retransmissions whose bytes differ (overlap_mismatch); 0 = off")
	f.IntVar(&c.Workers, "workers", c.Workers, "goroutines that analyze connections (0 = one per core, at most 8, one fewer for a gzip-compressed capture, whose inflate takes a core, one for captures of 1 MiB or less); the output, ndjson's order included, is the same for any number (the caps are shared out between 16 shards of the 4-tuples, each held by one worker)")
	f.BoolVar(&c.CompactClosed, "compact-closed", c.CompactClosed, "report each connection as soon as it is over and keep only a small tomb for its linger: memory follows the open connections; stragglers are counted, not analyzed")
	f.Var(timersFlag{&c.Timers}, "timers", "how connections end and split: linux (kernel and conntrack timeouts, flows match tshark's streams) or zeek (Zeek's connection timers, flows match conn.log rows)")
	f.DurationVar(&c.LongIdle, "long-idle", c.LongIdle, "silence between two packets of a connection that makes a long_idle finding")
	f.IntVar(&c.StuckTimeWait, "stuck-time-wait", c.StuckTimeWait, "segments a peer sends to an endpoint in TIME_WAIT that make a stuck_time_wait finding")
	addWideFlags(cmd, &c.Wide)
}

// timersFlag is the --timers flag: one of the engine's timer policies.
type timersFlag struct{ t *engine.Timers }

func (f timersFlag) String() string { return string(*f.t) }
func (f timersFlag) Type() string   { return "linux|zeek" }
func (f timersFlag) Set(s string) error {
	switch engine.Timers(s) {
	case engine.TimersLinux, engine.TimersZeek:
		*f.t = engine.Timers(s)
		return nil
	}
	return fmt.Errorf("want linux or zeek")
}

// loadConfig applies a --config file to the command's flags, if one was given,
// and lets the TIME_WAIT storm detector follow --time-wait unless --tw-len
// was given too.
func loadConfig(cmd *cobra.Command, path string) error {
	if path != "" {
		if err := applyConfigFile(path, cmd.Flags()); err != nil {
			return &ExitError{ExitInput, err}
		}
	}
	f := cmd.Flags()
	if f.Changed("time-wait") && !f.Changed("tw-len") {
		tw, _ := f.GetDuration("time-wait")
		if err := f.Set("tw-len", tw.String()); err != nil {
			return &ExitError{ExitInput, err}
		}
	}
	return nil
}

func defaultFormat(s *IO) string {
	if s.OutIsTerminal {
		return string(report.FormatTable)
	}
	return string(report.FormatJSON)
}

// RunAnalyze runs the analyze command.
func RunAnalyze(o *AnalyzeOptions, s *IO) error {
	format, err := report.ParseFormat(o.Output)
	if err != nil {
		return &ExitError{ExitInput, err}
	}
	if err := o.Engine.Validate(); err != nil {
		return &ExitError{ExitInput, err}
	}
	autoWorkers(&o.Engine, o.Files, s)
	var sink func(*report.Flow)
	finishSink := func() error { return nil }
	// Encoding in a goroutine of its own pays only beside a single engine
	// with a core to spare (see flowWriter).
	async := engine.WorkersFor(o.Engine) == 1 && runtime.GOMAXPROCS(0) > 1
	var kept *lowestFlows
	var sp *spool.Spool
	// recycle gives back the records a sink is done with on the
	// analysis' goroutine: the analyzer's own path once it exists (see
	// engine.Analyzer.Recycle).
	recycle := engine.RecycleFlow
	giveBack := func(f *report.Flow) { recycle(f) }
	switch format {
	case report.FormatNDJSON:
		s.outStreams = true
		// Each flow is written as it finishes: the report never sits in
		// memory whole (flowWriter says where the encoding runs).
		w := ndjsonWriter(s.Out, async)
		w.recycle = giveBack
		defer w.close()
		sink = w.put
		finishSink = func() error { return w.close() }
	case report.FormatJSON:
		// The document gives the summary first and the flows in id order:
		// each flow is kept as a compact record as it finishes and spooled,
		// to a temporary file past a budget, so that memory does not grow
		// with the capture; the JSON is written as the spool gives them back.
		sp = &spool.Spool{MemLimit: o.spoolMemLimit}
		defer sp.Close()
		w := jsonSpooler(sp)
		w.recycle = giveBack
		defer w.close()
		sink = w.put
		finishSink = func() error { return w.close() }
	case report.FormatCSV:
		s.outStreams = true
		// Rows are written as flows finish (the order of ndjson), so the
		// report never sits in memory whole.
		bw := bufio.NewWriterSize(s.Out, outBufSize)
		cw := report.NewCSVWriter(bw)
		var cerr error
		sink = func(f *report.Flow) {
			if cerr == nil {
				cerr = cw.Write(f)
			}
			giveBack(f)
		}
		finishSink = func() error {
			if cerr != nil {
				return cerr
			}
			if err := cw.Flush(); err != nil {
				return err
			}
			return bw.Flush()
		}
	case report.FormatTable:
		// The table shows the first --limit flows: keep only those.
		if o.Limit > 0 {
			// With a core to spare, the rows are drawn as soon as
			// they are known (drawEarly).
			kept = &lowestFlows{max: o.Limit, recycle: giveBack, early: runtime.GOMAXPROCS(0) > 1}
			sink = kept.add
		}
	}
	rep, readErr := analyzeWith(o.Files, o.Filter, o.Engine, s, func(eng engine.Analyzer) {
		if sink != nil {
			eng.SetSink(sink)
			recycle = eng.Recycle
		}
		if kept != nil {
			eng.SetWant(kept.want)
		}
		if format == report.FormatTable || format == report.FormatCSV {
			eng.OmitTransitions() // neither shows them
		}
	})
	if rep == nil {
		return &ExitError{ExitInput, readErr}
	}
	if err := finishSink(); err != nil {
		return err
	}
	var werr error
	switch {
	case format == report.FormatNDJSON:
		werr = report.WriteNDJSONEnd(s.Out, rep)
	case format == report.FormatCSV:
		// Written as the flows finished.
	case sp != nil:
		if sp.SpillErr != nil {
			fmt.Fprintf(s.Err, "tcpflow-analyze: warning: no temporary file for the JSON flows (set TMPDIR to a writable directory), kept %d flows in memory: %v\n", sp.Len(), sp.SpillErr)
		}
		next, err := sp.Sorted()
		if err != nil {
			return fmt.Errorf("writing JSON: %w", err)
		}
		werr = report.WriteJSONEncoded(s.Out, rep, jsonFromSpool(next))
	case kept != nil:
		// No collection first: until session 30 one freed the analysis'
		// garbage before the table was rendered (in fresh memory, its
		// 10 MiB had cost more than a collection). The renderer now
		// takes 1.7 MB for 1000 rows, and the collection cost two
		// workers 0.010-0.015 CPU-s (docs/performance.md, session 30).
		rep.Flows = kept.sorted()
		werr = report.Write(s.Out, rep, format, report.Options{Limit: o.Limit, Lookout: &kept.lookout, FlowTable: kept.earlyBox()})
	default:
		werr = report.Write(s.Out, rep, format, report.Options{Limit: o.Limit})
	}
	if werr != nil {
		return werr
	}
	if readErr != nil {
		return &ExitError{ExitInput, readErr}
	}
	return nil
}

// flowWriter hands flows to consume in the order they are put, and runs
// end after the last one; each flow is recycled once consumed. With a single
// engine on several cores it consumes them in a goroutine of its own, so
// that encoding overlaps the analysis. Otherwise put consumes the flow at
// once, while its record is still in the cache: with one P there is nothing
// to overlap (handed over in batches, the records had gone cold and the
// encoding took 2.7 times as long), and with several workers put runs in the
// pipeline's merger, itself apart from the workers (a third goroutine cost
// more in hand-offs than it overlapped).
type flowWriter struct {
	consume func(*report.Flow) error
	end     func() error
	ch      chan *report.Flow // nil when flows are consumed in put
	// recycle gives a flow consumed in put back (engine.RecycleFlow
	// when nil); flows consumed in the goroutine go to RecycleFlow.
	recycle func(*report.Flow)
	done    chan error
	once    sync.Once
	err     error
}

func newFlowWriter(consume func(*report.Flow) error, end func() error, async bool) *flowWriter {
	w := &flowWriter{consume: consume, end: end}
	if !async {
		return w
	}
	w.ch, w.done = make(chan *report.Flow, 1024), make(chan error, 1)
	go func() {
		var err error
		for f := range w.ch {
			if err == nil {
				err = consume(f)
			}
			engine.RecycleFlow(f)
		}
		if err == nil && end != nil {
			err = end()
		}
		w.done <- err
	}()
	return w
}

// outBufSize is the buffer of the flow-by-flow outputs (ndjson, CSV): the
// mix's 380 MB of ndjson took 5 800 writes through 64 KiB; a fourth as many
// measured faster, written to /dev/null and to a file alike, while 1 MiB
// writes to a file took three times the system time 256 KiB ones took
// (docs/performance.md, session 8).
const outBufSize = 256 << 10

// ndjsonWriter writes each flow as an ndjson line.
func ndjsonWriter(out io.Writer, async bool) *flowWriter {
	bw := bufio.NewWriterSize(out, outBufSize)
	var enc report.FlowEncoder
	return newFlowWriter(func(f *report.Flow) error {
		// The line is encoded into the writer's own buffer, which Write
		// then need not copy (the 380 MB of the mix's ndjson were copied
		// once more). A line that does not fit in what is left of it is
		// encoded into a new slice, which Write copies as before, so the
		// writes stay whole buffers.
		buf, err := enc.AppendNDJSON(bw.AvailableBuffer(), f)
		if err == nil {
			_, err = bw.Write(buf)
		}
		return err
	}, func() error {
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("writing ndjson: %w", err)
		}
		return nil
	}, async)
}

// jsonSpooler keeps each flow in sp as a compact record
// (report.AppendFlowRecord), for jsonFromSpool to write in id order. The
// records take a seventh of the bytes of the flows' indented JSON: past its
// memory budget the spool writes them to a file, and on the 2 M-packet mix
// the 570 MB of JSON it wrote before cost 1.3-1.6 s of system time on one
// core of the machine in docs/performance.md (session 9), most of a run. A
// record is cheap to make, so it is made where the flow is put: handed to a
// goroutine of its own, as the JSON was, it cost 0.46 CPU-s more on two CPUs
// for the same wall time.
func jsonSpooler(sp *spool.Spool) *flowWriter {
	var buf []byte
	return newFlowWriter(func(f *report.Flow) error {
		var err error
		if buf, err = report.AppendFlowRecord(buf[:0], f); err == nil {
			err = sp.Add(f.ID, buf)
		}
		return err
	}, nil, false)
}

// jsonFromSpool turns the spool's records, in id order, into the elements
// of the JSON document's flow list, for report.WriteJSONEncoded.
func jsonFromSpool(next func() ([]byte, error)) func() ([]byte, error) {
	var f report.Flow
	var dec report.FlowRecordDecoder
	var enc report.FlowEncoder
	var buf []byte
	return func() ([]byte, error) {
		rec, err := next()
		if err != nil || rec == nil {
			return nil, err
		}
		if err := dec.Decode(rec, &f); err != nil {
			return nil, fmt.Errorf("reading back flow records: %w", err)
		}
		buf, err = enc.AppendJSONElem(buf[:0], &f)
		return buf, err
	}
}

// put queues f, which the engine gives away.
func (w *flowWriter) put(f *report.Flow) {
	if w.ch != nil {
		w.ch <- f
		return
	}
	if w.err == nil {
		w.err = w.consume(f)
	}
	if w.recycle != nil {
		w.recycle(f)
		return
	}
	engine.RecycleFlow(f)
}

// close waits until every flow is written and returns the first error.
func (w *flowWriter) close() error {
	w.once.Do(func() {
		if w.ch == nil {
			if w.err == nil && w.end != nil {
				w.err = w.end()
			}
			return
		}
		close(w.ch)
		w.err = <-w.done
	})
	return w.err
}

// lowestFlows keeps the max flows with the lowest ids (the first packets),
// in a max-heap, so that a capped table needs memory for its rows only.
type lowestFlows struct {
	max     int
	recycle func(*report.Flow) // gives back a record not kept (engine.RecycleFlow when nil)
	heap    []report.Flow
	lookout report.Lookout
	// full and bound are what want reads (see there).
	full  atomic.Bool
	bound atomic.Uint64
	// early says to draw the table's box while the analysis runs, once
	// the heap holds the flows the table shows (drawEarly); box brings it.
	early, tried bool
	box          chan []byte
}

// want reports whether the flow that began at frame firstFrame may be kept:
// the engine builds the whole record of those only (the lookout needs no
// more than the findings of the others). Ids follow first frames, so once
// the heap is full a flow is kept only if it began before the last flow
// kept. The workers of a pipeline ask while the merger adds: the bound only
// ever falls, and a stale one only means a record built whole for nothing.
func (l *lowestFlows) want(firstFrame uint64) bool {
	return !l.full.Load() || firstFrame < l.bound.Load()
}

// setBound publishes the first frame of the last flow kept, once full.
func (l *lowestFlows) setBound() {
	if len(l.heap) == l.max {
		l.bound.Store(l.heap[0].FirstPacket)
		l.full.Store(true)
	}
}

func (l *lowestFlows) add(f *report.Flow) {
	l.lookout.AddFlow(f)
	h := l.heap
	if len(h) < l.max {
		h = append(h, *f)
		for i := len(h) - 1; i > 0; {
			p := (i - 1) / 2
			if h[p].ID >= h[i].ID {
				break
			}
			h[p], h[i] = h[i], h[p]
			i = p
		}
		l.heap = h
		l.setBound()
		l.drawEarly()
		return
	}
	if f.ID >= h[0].ID {
		// Not shown: the engine may refill the record (the lookout keeps
		// none of it).
		if l.recycle != nil {
			l.recycle(f)
		} else {
			engine.RecycleFlow(f)
		}
		return
	}
	h[0] = *f
	for i := 0; ; {
		c := 2*i + 1
		if c >= len(h) {
			break
		}
		if c+1 < len(h) && h[c+1].ID > h[c].ID {
			c++
		}
		if h[i].ID >= h[c].ID {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	l.setBound()
	l.drawEarly()
}

// drawEarly starts drawing the table's box in a goroutine once the heap
// holds the flows the table shows. Ids are 1, 2, ... in the order of first
// frames, so a full heap whose highest id is max holds ids 1 to max, and no
// flow still to come can take a place in it (add never changes the heap
// again). The first flows of a busy capture are over long before its end:
// drawn then, the box (about 8 ms for 1000 rows) takes its turn with the
// analysis on two cores instead of adding to the end of the run, when one
// core is left with nothing to do (docs/performance.md, session 30).
func (l *lowestFlows) drawEarly() {
	h := l.heap
	if !l.early || l.tried || len(h) != l.max || h[0].ID != uint64(l.max) {
		return
	}
	l.tried = true
	for i := range h {
		if h[i].ID == 0 {
			return // not ids 1 to max after all: drawn at the end
		}
	}
	l.box = make(chan []byte, 1)
	go func() {
		flows := append([]report.Flow(nil), h...)
		sort.Slice(flows, func(i, j int) bool { return flows[i].ID < flows[j].ID })
		l.box <- report.RenderFlowTable(flows)
	}()
}

// earlyBox returns the table's box that drawEarly drew, or nil.
func (l *lowestFlows) earlyBox() []byte {
	if l.box == nil {
		return nil
	}
	return <-l.box
}

func (l *lowestFlows) sorted() []report.Flow {
	out := append([]report.Flow(nil), l.heap...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Analyze reads the files through the engine and returns the report. A report
// comes back with an error when a file broke part-way: what was read before is
// analyzed. Non-fatal input problems are printed on the error stream once each.
func Analyze(files []string, filter string, cfg engine.Config, s *IO) (*report.Report, error) {
	return AnalyzeStream(files, filter, cfg, s, nil)
}

// AnalyzeStream is Analyze with each flow handed to sink as it finishes (in
// capture order) instead of kept in the report, when sink is not nil.
func AnalyzeStream(files []string, filter string, cfg engine.Config, s *IO, sink func(*report.Flow)) (*report.Report, error) {
	return analyzeWith(files, filter, cfg, s, func(eng engine.Analyzer) {
		if sink != nil {
			eng.SetSink(sink)
		}
	})
}

// autoWorkers settles --workers 0 (one worker per core) for the files: the
// inflate of a gzip-compressed capture runs on a core of its own, so one
// core fewer is left for the workers. On two cores one worker then read the
// mix gzip-compressed in 1.78 s against 2.21 s with two, and with 0.7 CPU-s
// less (docs/performance.md, session 15); for zstd, which decompresses in a
// fraction of the analysis' time, two workers stay faster (0.80 against
// 1.17 s).
//
// Standard input is looked at too: s.In then gives its first bytes again.
// The count is settled either way, so that a second call looks at nothing.
func autoWorkers(cfg *engine.Config, files []string, s *IO) {
	if cfg.Workers != 0 || cfg.Timers == engine.TimersZeek {
		return
	}
	if smallInputs(files) {
		// A capture of a few thousand packets: the pipeline's set-up,
		// hand-overs and end cost more than a second core saves (one
		// worker 31, 55 and 40 ms against 34, 61 and 45 with two on 85
		// KB, 0.9 MB and 0.5 MB; docs/performance.md, session 30).
		cfg.Workers = 1
		return
	}
	// A terminal on standard input is not looked at: reading it would wait
	// for the user to type before any other error (a bad filter) is told.
	stdin := s.In
	if isTerminal(stdin) {
		stdin = nil
	}
	slow, in := capture.SlowToDecompress(files, stdin)
	if in != nil {
		s.In = in
	}
	cfg.Workers = engine.WorkersFor(*cfg) // settled: standard input is looked at once
	if slow {
		cfg.Workers = max(1, min(cfg.Workers, runtime.GOMAXPROCS(0)-1))
	}
}

// analyzeWith is Analyze with setup applied to the analyzer before it reads.
func analyzeWith(files []string, filter string, cfg engine.Config, s *IO, setup func(engine.Analyzer)) (*report.Report, error) {
	autoWorkers(&cfg, files, s)
	eng, err := engine.NewAnalyzer(cfg)
	if err != nil {
		return nil, err
	}
	setup(eng)
	return runAnalyzer(eng, files, filter, s)
}

// runAnalyzer feeds the files (through the filter) to eng and returns its
// report, with the input problems printed as warnings.
func runAnalyzer(eng engine.Analyzer, files []string, filter string, s *IO) (*report.Report, error) {
	var flt *capture.Filter
	if filter != "" {
		var err error
		if flt, err = capture.CompileFilter(filter); err != nil {
			eng.Finish(nil, nil) // stops a pipeline's goroutines, which would leak with its rounds
			return nil, err
		}
	}
	opts := capture.Options{Stdin: s.In}
	if p, ok := eng.(interface{ BufferPool() capture.BufferPool }); ok {
		opts.Buffers = p.BufferPool() // the frames are kept until their round is merged
	}
	src, err := capture.Open(files, opts)
	if err != nil {
		eng.Finish(nil, nil)
		return nil, err
	}
	defer src.Close()
	eng.SetPayloadReader(src.ReadAt)
	pl := newProgressLine(s)
	var frames uint64
	for src.Next() {
		if frames++; pl != nil && frames%progressFrames == 0 {
			pl.update(src.Progress(), frames)
		}
		fr := src.Frame()
		if flt != nil && !flt.Match(fr) {
			eng.Filtered()
			continue
		}
		eng.Frame(fr)
	}
	pl.clear()
	readErr := src.Err()
	problems := src.Problems()
	for _, p := range problems {
		if !p.Fatal { // the fatal one comes back as the error and is printed once by Main
			fmt.Fprintln(s.Err, "tcpflow-analyze: warning:", p.Error())
		}
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f
		if f == "-" {
			names[i] = "stdin"
		}
	}
	return eng.Finish(names, problems), readErr
}
