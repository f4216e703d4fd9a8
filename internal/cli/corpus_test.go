package cli

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/oracle"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// brokenOnPurpose are corpus files that are meant to fail: analyze must stop
// with a clear error (exit 2) rather than a report.
var brokenOnPurpose = map[string]string{
	"pcpp__solaris.snoop":      "snoop format",
	"gopacket__test901.pcapng": "pcapng version 2.0",
}

func corpus(t *testing.T) string {
	t.Helper()
	dir := oracle.CorpusDir(".")
	if dir == "" {
		t.Skip("capture corpus ../shared/pcaps not found beside the module: skipping corpus agreement")
	}
	return dir
}

func analyzeFile(t *testing.T, path string, cfg engine.Config) (*report.Report, error) {
	t.Helper()
	var stderr bytes.Buffer
	s := &IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &stderr}
	return Analyze([]string{path}, "", cfg, s)
}

// TestCorpusFlowCounts runs analyze over every capture of the shared corpus and
// compares the number of flows with tshark's TCP stream count.
func TestCorpusFlowCounts(t *testing.T) {
	dir := corpus(t)
	files, err := oracle.Captures(dir)
	if err != nil {
		t.Fatal(err)
	}
	var agree, total int
	var lines []string
	for _, path := range files {
		name := filepath.Base(path)
		rep, err := analyzeFile(t, path, engine.DefaultConfig())
		if why, broken := brokenOnPurpose[name]; broken {
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s (%s): want a clear error naming the file, got %v", name, why, err)
			}
			continue
		}
		if rep == nil {
			t.Errorf("%s: no report: %v", name, err)
			continue
		}
		ts, ok, oerr := oracle.LoadTshark(path)
		if oerr != nil {
			t.Fatal(oerr)
		}
		if !ok {
			continue
		}
		total++
		mark := "ok"
		if rep.Summary.Flows == ts.TCPStreamCount {
			agree++
		} else {
			mark = "DIFF"
		}
		lines = append(lines, fmt.Sprintf("%-4s %-60s ours %5d  tshark %5d  (packets %d/%d)", mark, name,
			rep.Summary.Flows, ts.TCPStreamCount, rep.Summary.PacketsRead, ts.PacketCount))
	}
	sort.Strings(lines)
	t.Logf("flow count vs tshark tcp.stream count, per file:\n%s", strings.Join(lines, "\n"))
	share := float64(agree) / float64(max(total, 1))
	t.Logf("flow counts agree on %d of %d files (%.1f%%)", agree, total, 100*share)
	if share < 0.90 {
		t.Errorf("flow counts agree with tshark on %.1f%% of files, want at least 90%%", 100*share)
	}
}

// TestCorpusZeekAgreement compares conn_state and history with the Zeek
// conn.log baselines, matching rows by 4-tuple in order of appearance.
func TestCorpusZeekAgreement(t *testing.T) {
	dir := corpus(t)
	sources, err := oracle.LoadSources(dir)
	if err != nil {
		t.Fatal(err)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.zeek-conn.log"))
	sort.Strings(logs)
	var sumState, sumHist float64
	var nfiles int
	var lines []string
	for _, log := range logs {
		capPath := strings.TrimSuffix(log, ".zeek-conn.log")
		name := filepath.Base(capPath)
		rows, err := oracle.LoadZeekConn(log)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			continue
		}
		cfg := engine.DefaultConfig()
		cfg.VerifyChecksums = sources[name].ZeekChecksums(filepath.Base(log))
		rep, err := analyzeFile(t, capPath, cfg)
		if rep == nil {
			t.Errorf("%s: no report: %v", name, err)
			continue
		}
		byTuple := map[string][]*report.Flow{}
		for i := range rep.Flows {
			f := &rep.Flows[i]
			byTuple[f.Orig+" "+f.Resp] = append(byTuple[f.Orig+" "+f.Resp], f)
		}
		var okState, okHist int
		var diffs []string
		for _, r := range rows {
			k := zeekAddrPort(r.OrigH, r.OrigP) + " " + zeekAddrPort(r.RespH, r.RespP)
			fl := byTuple[k]
			if len(fl) == 0 {
				// Zeek may have chosen the other endpoint as originator.
				rk := zeekAddrPort(r.RespH, r.RespP) + " " + zeekAddrPort(r.OrigH, r.OrigP)
				if len(byTuple[rk]) > 0 {
					diffs = append(diffs, fmt.Sprintf("    %s: roles reversed (zeek %s %s, ours %s %s)", k, r.ConnState, r.History, byTuple[rk][0].ConnState, byTuple[rk][0].History))
					byTuple[rk] = byTuple[rk][1:]
					continue
				}
				diffs = append(diffs, fmt.Sprintf("    %s: no flow (zeek %s %s)", k, r.ConnState, r.History))
				continue
			}
			f := fl[0]
			byTuple[k] = fl[1:]
			if f.ConnState == r.ConnState {
				okState++
			}
			if f.History == r.History {
				okHist++
			}
			if f.ConnState != r.ConnState || f.History != r.History {
				diffs = append(diffs, fmt.Sprintf("    %s: zeek %s %s, ours %s %s", k, r.ConnState, r.History, f.ConnState, f.History))
			}
		}
		ps, ph := float64(okState)/float64(len(rows)), float64(okHist)/float64(len(rows))
		sumState += ps
		sumHist += ph
		nfiles++
		lines = append(lines, fmt.Sprintf("%-50s rows %4d  conn_state %5.1f%%  history %5.1f%%", name, len(rows), 100*ps, 100*ph))
		if len(diffs) > 8 {
			diffs = append(diffs[:8], fmt.Sprintf("    … %d more", len(diffs)-8))
		}
		lines = append(lines, diffs...)
	}
	if nfiles == 0 {
		t.Skip("no Zeek baselines in the corpus")
	}
	avgState, avgHist := sumState/float64(nfiles), sumHist/float64(nfiles)
	t.Logf("agreement with Zeek conn.log:\n%s", strings.Join(lines, "\n"))
	t.Logf("average over %d files: conn_state %.1f%%, history %.1f%%", nfiles, 100*avgState, 100*avgHist)
	if avgState < 0.95 {
		t.Errorf("conn_state agrees with Zeek on %.1f%% of rows on average, want at least 95%%", 100*avgState)
	}
}

func zeekAddrPort(h, p string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]:" + p
	}
	return h + ":" + p
}
