package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/oracle"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// ndjsonWith streams path as analyze -o ndjson does with the default
// configuration, n workers, and tune's changes (nil for none).
func ndjsonWith(path string, n int, tune func(*engine.Config)) (string, error) {
	cfg := engine.DefaultConfig()
	cfg.Workers = n
	if tune != nil {
		tune(&cfg)
	}
	var out bytes.Buffer
	s := &IO{In: strings.NewReader(""), Out: &out, Err: &bytes.Buffer{}}
	err := RunAnalyze(&AnalyzeOptions{Files: []string{path}, Output: "ndjson", Engine: cfg}, s)
	return out.String(), err
}

// sameStreams reports each stream of a later worker count that differs from
// the first (one worker's).
func sameStreams(t *testing.T, name string, workers []int, streams []string) {
	t.Helper()
	for i := 1; i < len(streams); i++ {
		if streams[i] != streams[0] {
			t.Errorf("%sndjson with %d workers differs from %d\n%s", name, workers[i], workers[0], firstDiff(streams[0], streams[i]))
		}
	}
}

// ndjsonStreams streams path with each number of workers, the default
// configuration otherwise, changed by tune when it is not nil.
func ndjsonStreams(t *testing.T, path string, workers []int, tune func(*engine.Config)) []string {
	t.Helper()
	var streams []string
	for _, n := range workers {
		out, err := ndjsonWith(path, n, tune)
		if err != nil {
			t.Fatalf("%d workers: %v", n, err)
		}
		streams = append(streams, out)
	}
	return streams
}

// TestWorkersGiveIdenticalReports analyzes every capture with one worker and
// with several, and requires byte-identical JSON.
func TestWorkersGiveIdenticalReports(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repoRoot, "testdata", "pcaps", "*.pcap*"))
	if dir := oracle.CorpusDir("."); dir != "" {
		more, err := oracle.Captures(dir)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, more...)
	}
	render := func(path string, workers int) (string, bool) {
		cfg := engine.DefaultConfig()
		cfg.Workers = workers
		s := &IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}
		rep, _ := Analyze([]string{path}, "", cfg, s)
		if rep == nil {
			return "", false
		}
		var b bytes.Buffer
		if err := report.WriteJSON(&b, rep); err != nil {
			t.Fatal(err)
		}
		return b.String(), true
	}
	compared := 0
	for _, path := range files {
		one, ok := render(path, 1)
		if !ok {
			continue
		}
		for _, n := range []int{2, 3} {
			many, _ := render(path, n)
			if many != one {
				t.Errorf("%s: %d workers differ from one\n%s", filepath.Base(path), n, firstDiff(one, many))
			}
		}
		compared++
	}
	if compared < 20 {
		t.Fatalf("compared only %d captures", compared)
	}
}

// TestWorkersStreamIdenticalNDJSON: streamed flows come out in the same order
// and with the same bytes for any number of workers.
func TestWorkersStreamIdenticalNDJSON(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repoRoot, "testdata", "pcaps", "*.pcap"))
	workers := []int{1, 2}
	for _, path := range files {
		var outs []string
		for _, n := range workers {
			out, err := ndjsonWith(path, n, nil)
			if err != nil && filepath.Base(path) != "truncated.pcap" {
				t.Fatalf("%s: %v", path, err)
			}
			outs = append(outs, out)
		}
		sameStreams(t, filepath.Base(path)+": ", workers, outs)
	}
}

// TestWorkersManyRounds runs a generated capture long enough for the
// pipeline's workers to run several rounds ahead of each other, and for
// flow records to come back through the ndjson writer's pool: the JSON report,
// the ndjson stream, the CSV and the capped table must be the same for any
// number of workers (one engine builds whole records only for the rows the
// table shows, a pipeline for every flow).
func TestWorkersManyRounds(t *testing.T) {
	path, _ := writeMixFile(t, pcapgen.MixOptions{Packets: 60_000, Connections: 6_000,
		Concurrency: 200, Seed: 7, FloodSources: 300})
	var jsons, streams, csvs, tables []string
	for _, n := range []int{1, 2, 3} {
		cfg := engine.DefaultConfig()
		cfg.Workers = n
		for _, format := range []string{"json", "ndjson", "csv", "table"} {
			var out bytes.Buffer
			s := &IO{In: strings.NewReader(""), Out: &out, Err: &bytes.Buffer{}}
			if err := RunAnalyze(&AnalyzeOptions{Files: []string{path}, Output: format, Engine: cfg, Limit: 40}, s); err != nil {
				t.Fatalf("%d workers, %s: %v", n, format, err)
			}
			switch format {
			case "json":
				jsons = append(jsons, out.String())
			case "ndjson":
				streams = append(streams, out.String())
			case "table":
				tables = append(tables, out.String())
			default:
				csvs = append(csvs, out.String())
			}
		}
	}
	// 6000 connections and one flow per flood source.
	if !strings.Contains(jsons[0], `"flows": 6300,`) {
		t.Fatalf("the report does not hold the generated flows:\n%.400s", jsons[0])
	}
	// The streamed flows are the report's flows: records recycled through
	// the ndjson writer's pool must not bleed into each other.
	var rep struct {
		Flows []json.RawMessage `json:"flows"`
	}
	if err := json.Unmarshal([]byte(jsons[0]), &rep); err != nil {
		t.Fatal(err)
	}
	// canon re-marshals a flow through a map: sorted keys, no layout.
	canon := func(raw []byte) (float64, string) {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(m)
		return m["id"].(float64), string(b)
	}
	byID := map[float64]string{}
	for _, raw := range rep.Flows {
		id, c := canon(raw)
		byID[id] = c
	}
	lines := strings.Split(strings.TrimSpace(streams[0]), "\n")
	streamed := 0
	for _, line := range lines {
		var ev struct {
			Type string          `json:"type"`
			Flow json.RawMessage `json:"flow"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type != "flow" {
			continue
		}
		streamed++
		id, c := canon(ev.Flow)
		if byID[id] != c {
			t.Fatalf("streamed flow %v differs from the report's\n%s", id, firstDiff(byID[id], c))
		}
	}
	if streamed != len(byID) {
		t.Errorf("streamed %d flows, the report has %d", streamed, len(byID))
	}
	// The CSV streams a header and one row per flow.
	if rows := strings.Count(csvs[0], "\n"); rows != 6300+1 {
		t.Errorf("csv has %d lines, want a header and 6300 rows", rows)
	}
	if !strings.Contains(tables[0], "6260 more flows not shown (--limit 40)") || !strings.Contains(tables[0], "What to look at") {
		t.Errorf("the table does not show 40 of the 6300 flows and what to look at:\n%s", tables[0])
	}
	for i := 1; i < len(tables); i++ {
		if tables[i] != tables[0] {
			t.Errorf("table with %d workers differs from one\n%s", i+1, firstDiff(tables[0], tables[i]))
		}
	}
	for i := 1; i < len(csvs); i++ {
		if csvs[i] != csvs[0] {
			t.Errorf("csv with %d workers differs from one\n%s", i+1, firstDiff(csvs[0], csvs[i]))
		}
	}
	for i := 1; i < len(jsons); i++ {
		if jsons[i] != jsons[0] {
			t.Errorf("json with %d workers differs from one\n%s", i+1, firstDiff(jsons[0], jsons[i]))
		}
		if streams[i] != streams[0] {
			t.Errorf("ndjson with %d workers differs from one\n%s", i+1, firstDiff(streams[0], streams[i]))
		}
	}
	// The JSON document spools its flows as they finish: kept in memory,
	// or in a file past a small budget, it has the bytes of the report
	// built whole.
	whole, _ := Analyze([]string{path}, "", engine.DefaultConfig(), &IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	var b bytes.Buffer
	if err := report.WriteJSON(&b, whole); err != nil {
		t.Fatal(err)
	}
	if b.String() != jsons[0] {
		t.Errorf("spooled json differs from the whole report's\n%s", firstDiff(b.String(), jsons[0]))
	}
	for _, n := range []int{1, 2} {
		cfg := engine.DefaultConfig()
		cfg.Workers = n
		var out, errs bytes.Buffer
		s := &IO{In: strings.NewReader(""), Out: &out, Err: &errs}
		if err := RunAnalyze(&AnalyzeOptions{Files: []string{path}, Output: "json", Engine: cfg, spoolMemLimit: 64 << 10}, s); err != nil {
			t.Fatal(err)
		}
		if out.String() != jsons[0] {
			t.Errorf("json spooled to a file, %d workers, differs\n%s", n, firstDiff(jsons[0], out.String()))
		}
		if errs.Len() != 0 {
			t.Errorf("stderr: %s", errs.String())
		}
	}
	// Without the overlap check the pipeline hands its workers no payload
	// bytes, only their captured length.
	var noOverlap []string
	for _, n := range []int{1, 2} {
		cfg := engine.DefaultConfig()
		cfg.Workers, cfg.OverlapBytes = n, 0
		var out bytes.Buffer
		s := &IO{In: strings.NewReader(""), Out: &out, Err: &bytes.Buffer{}}
		if err := RunAnalyze(&AnalyzeOptions{Files: []string{path}, Output: "json", Engine: cfg}, s); err != nil {
			t.Fatal(err)
		}
		noOverlap = append(noOverlap, out.String())
	}
	if noOverlap[0] != noOverlap[1] {
		t.Errorf("--overlap-bytes 0: 2 workers differ from one\n%s", firstDiff(noOverlap[0], noOverlap[1]))
	}
}

// TestOneProcWritesTheSame: with a single P the flows are encoded as they
// finish rather than in the writer goroutine; the output is the same.
func TestOneProcWritesTheSame(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repoRoot, "testdata", "pcaps", "*.pcap"))
	if len(files) == 0 {
		t.Fatal("no captures in testdata/pcaps")
	}
	run := func(procs int, path, format string) string {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		var out bytes.Buffer
		s := &IO{In: strings.NewReader(""), Out: &out, Err: &bytes.Buffer{}}
		cfg := engine.DefaultConfig()
		cfg.Workers = 1
		_ = RunAnalyze(&AnalyzeOptions{Files: []string{path}, Output: format, Engine: cfg}, s)
		return out.String()
	}
	for _, path := range files {
		for _, format := range []string{"ndjson", "json"} {
			one, two := run(1, path, format), run(2, path, format)
			if one != two || len(one) == 0 {
				t.Errorf("%s -o %s: GOMAXPROCS=1 differs (%d bytes vs %d)\n%s", filepath.Base(path), format, len(one), len(two), firstDiff(two, one))
			}
		}
	}
}

// TestWideTablesUnderPressure analyzes a generated capture whose clients are
// all new (one connection each) with capture-wide tables far too small for
// them: the light keys are evicted and counted in the summary, the flood is
// still found, and the report is the same for one and two workers.
func TestWideTablesUnderPressure(t *testing.T) {
	path, _ := writeMixFile(t, pcapgen.MixOptions{Packets: 40_000, Connections: 3_000,
		Concurrency: 100, Seed: 11, FloodSources: 2_000})
	var outs []string
	for _, n := range []int{1, 2} {
		cfg := engine.DefaultConfig()
		cfg.Workers = n
		cfg.Wide.MaxKeys = 200
		s := &IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}
		rep, err := Analyze([]string{path}, "", cfg, s)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Summary.CaptureWide.EvictedKeys == 0 {
			t.Errorf("%d workers: no key evicted from tables of 200 keys: %+v", n, rep.Summary.CaptureWide)
		}
		if rep.Summary.AnomalyCounts["syn_flood"] != 1 {
			t.Errorf("%d workers: syn_flood found %d times, want 1", n, rep.Summary.AnomalyCounts["syn_flood"])
		}
		var b bytes.Buffer
		if err := report.WriteJSON(&b, rep); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b.String())
	}
	if outs[0] != outs[1] {
		t.Errorf("two workers differ from one\n%s", firstDiff(outs[0], outs[1]))
	}
}

// TestJSONSpoolWithoutTempDir: when no temporary file can be made, the JSON
// document keeps its flows in memory, says so, and loses none.
func TestJSONSpoolWithoutTempDir(t *testing.T) {
	path := filepath.Join(repoRoot, "testdata", "pcaps", "lossy_transfer.pcap")
	run := func(limit int) (string, string) {
		var out, errs bytes.Buffer
		s := &IO{In: strings.NewReader(""), Out: &out, Err: &errs}
		if err := RunAnalyze(&AnalyzeOptions{Files: []string{path}, Output: "json", Engine: engine.DefaultConfig(), spoolMemLimit: limit}, s); err != nil {
			t.Fatal(err)
		}
		return out.String(), errs.String()
	}
	want, _ := run(0)
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	got, warn := run(1)
	if got != want {
		t.Errorf("output differs when kept in memory\n%s", firstDiff(want, got))
	}
	if !strings.Contains(warn, "set TMPDIR") || !strings.Contains(warn, "kept") {
		t.Errorf("warning %q", warn)
	}
}

// TestWorkersIdenticalWhenCapsBite: the caps on lingering and half-open
// connections and on the table are shared out between the flow table's
// shards, not the workers, so a full shard gives up the same connection
// whatever the number of workers, and the stream's order stays the same.
func TestWorkersIdenticalWhenCapsBite(t *testing.T) {
	path, _ := writeMixFile(t, pcapgen.MixOptions{Packets: 60_000, Connections: 6_000,
		Concurrency: 300, Seed: 11, FloodSources: 3_000})
	capped := func(c *engine.Config) { c.MaxLinger, c.MaxHalfOpen, c.MaxFlows = 1024, 1024, 2048 }
	workers := []int{1, 2, 3}
	var streams []string
	for _, n := range workers {
		cfg := engine.DefaultConfig()
		cfg.Workers = n
		capped(&cfg)
		if got := engine.WorkersFor(cfg); got != n {
			t.Fatalf("caps of 1024 give %d workers for %d asked (shards %d)", got, n, cfg.Shards())
		}
		out, err := ndjsonWith(path, n, capped)
		if err != nil {
			t.Fatalf("%d workers: %v", n, err)
		}
		streams = append(streams, out)
	}
	// The caps did bite: half-open flows were evicted (the flood), and
	// finished ones were reported before their linger ended, which changes
	// the order of the stream.
	var sum struct {
		Summary struct {
			Flows   int `json:"flows"`
			Evicted int `json:"evicted"`
		} `json:"summary"`
	}
	lines := strings.Split(strings.TrimSpace(streams[0]), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Summary.Flows < 6_000 || sum.Summary.Evicted == 0 {
		t.Fatalf("the half-open cap did not bite: %d flows, %d evicted", sum.Summary.Flows, sum.Summary.Evicted)
	}
	uncapped, err := ndjsonWith(path, 1, func(c *engine.Config) { c.MaxHalfOpen, c.MaxFlows = 1024, 2048 })
	if err != nil {
		t.Fatal(err)
	}
	if uncapped == streams[0] {
		t.Fatal("the linger cap did not bite: the stream is the same with the default cap")
	}
	sameStreams(t, "", workers, streams)
}

// TestWorkersIdenticalWithManyOpenAtEnd: a SYN flood leaves thousands of
// half-open connections open at the end of the capture, which the workers
// end a chunk at a time (engine.endChunk, 1024) in the order of their first
// frame; the stream must still be one engine's.
func TestWorkersIdenticalWithManyOpenAtEnd(t *testing.T) {
	path, _ := writeMixFile(t, pcapgen.MixOptions{Packets: 30_000, Connections: 2_000,
		Concurrency: 200, Seed: 5, FloodSources: 6_000})
	workers := []int{1, 2, 3}
	streams := ndjsonStreams(t, path, workers, nil)
	if open := strings.Count(streams[0], `"end_reason":"end_of_capture"`); open < 3*1024 {
		t.Fatalf("%d flows open at the end: too few to take several chunks", open)
	}
	sameStreams(t, "", workers, streams)
}

// TestWorkersIdenticalWithSmallCapsOnCorpus streams every corpus capture
// with caps small enough to bite on the larger ones (cs__synscan's 1994 flows
// evict 965 at 1024) and requires the same ndjson from one and two workers:
// with the caps split per worker these differed.
func TestWorkersIdenticalWithSmallCapsOnCorpus(t *testing.T) {
	dir := oracle.CorpusDir(".")
	if dir == "" {
		t.Skip("corpus ../shared/pcaps absent: nothing to compare")
	}
	files, err := oracle.Captures(dir)
	if err != nil {
		t.Fatal(err)
	}
	var evicted bool
	workers := []int{1, 2}
	for _, path := range files {
		var outs []string
		for _, n := range workers {
			out, _ := ndjsonWith(path, n, func(c *engine.Config) { c.MaxLinger, c.MaxHalfOpen, c.MaxFlows = 1024, 1024, 1024 })
			outs = append(outs, out)
		}
		sameStreams(t, filepath.Base(path)+": ", workers, outs)
		evicted = evicted || !strings.Contains(outs[0], `"evicted":0,`) && strings.Contains(outs[0], `"evicted":`)
	}
	if !evicted {
		t.Error("no corpus capture reached a cap: the comparison shows nothing")
	}
}

// TestWorkersIdenticalOverIPv6: the workers hand the capture-wide detectors
// IPv4 endpoints packed into their events and others aside; over IPv6 a SYN
// flood, scans and TIME_WAIT reuse must come out of two and three workers as
// they come out of one, endpoints in their places.
func TestWorkersIdenticalOverIPv6(t *testing.T) {
	path, _ := writeMixFile(t, pcapgen.MixOptions{Packets: 30_000, Connections: 2_000,
		Concurrency: 200, Seed: 11, FloodSources: 3_000, IPv6: true})
	workers := []int{1, 2, 3}
	streams := ndjsonStreams(t, path, workers, nil)
	for _, want := range []string{`"kind":"syn_flood"`, `2001:db8::c633:6450`} {
		if !strings.Contains(streams[0], want) {
			t.Fatalf("the stream has no %s: the test no longer exercises the capture-wide detectors over IPv6", want)
		}
	}
	sameStreams(t, "", workers, streams)
}

// TestWorkersIdenticalInTimeWaitStorm: the workers hand the TIME_WAIT storm
// detector which side closed first as a bit of each event. The test
// capture's 300 connections, which the client closes first, make a storm
// once 1 % of the port range is enough, and two and three workers must
// name the client as the holder as one engine does; the same connections
// closed first by the server (generated here) must name the server.
func TestWorkersIdenticalInTimeWaitStorm(t *testing.T) {
	server := filepath.Join(t.TempDir(), "server_time_wait_storm.pcap")
	f, err := os.Create(server)
	if err != nil {
		t.Fatal(err)
	}
	if err := pcapgen.TimeWaitStorm(f, pcapgen.Server); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, held string }{
		{filepath.Join(repoRoot, "testdata", "pcaps", "time_wait_storm.pcap"), `"closed_by_client":300`},
		{server, `"closed_by_server":300`},
	} {
		workers := []int{1, 2, 3}
		streams := ndjsonStreams(t, tc.path, workers, func(c *engine.Config) { c.Wide.TimeWaitWarnShare = 0.01 })
		if !strings.Contains(streams[0], tc.held) {
			t.Fatalf("%s: no storm with %s: the test no longer exercises who closed first\n%s", tc.path, tc.held, streams[0][strings.LastIndex(streams[0], "\n")+1:])
		}
		sameStreams(t, filepath.Base(tc.path)+": ", workers, streams)
	}
}
