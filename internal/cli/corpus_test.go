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
	var nStateFiles, nHistFiles int
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
		// Zeek's rows come from Zeek's own timers and checksum setting: run
		// with the same (--timers zeek, --verify-checksums unless Zeek had -C).
		cfg := engine.DefaultConfig()
		cfg.Timers = engine.TimersZeek
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
		var okState, okHist, nState, nHist int
		var diffs []string
		next := 0 // for logs without the 4-tuple: match rows to flows in order
		for _, r := range rows {
			var f *report.Flow
			k := zeekAddrPort(r.OrigH, r.OrigP) + " " + zeekAddrPort(r.RespH, r.RespP)
			if !r.HasTuple {
				if next < len(rep.Flows) {
					f = &rep.Flows[next]
					next++
				}
			} else if fl := byTuple[k]; len(fl) > 0 {
				f = fl[0]
				byTuple[k] = fl[1:]
			} else if rk := zeekAddrPort(r.RespH, r.RespP) + " " + zeekAddrPort(r.OrigH, r.OrigP); len(byTuple[rk]) > 0 {
				// Zeek chose the other endpoint as originator.
				f = byTuple[rk][0]
				byTuple[rk] = byTuple[rk][1:]
				diffs = append(diffs, fmt.Sprintf("    %s: roles reversed", k))
			}
			if r.HasConnState {
				nState++
			}
			if r.HasHistory {
				nHist++
			}
			if f == nil {
				diffs = append(diffs, fmt.Sprintf("    %s: no flow (zeek %s %s)", k, r.ConnState, r.History))
				continue
			}
			stateOK := !r.HasConnState || f.ConnState == r.ConnState
			histOK := !r.HasHistory || f.History == r.History
			if r.HasConnState && stateOK {
				okState++
			}
			if r.HasHistory && histOK {
				okHist++
			}
			if !stateOK || !histOK {
				diffs = append(diffs, fmt.Sprintf("    %s: zeek %s %s, ours %s %s", k, r.ConnState, r.History, f.ConnState, f.History))
			}
		}
		if nState == 0 && nHist == 0 {
			continue
		}
		ps, ph := -1.0, -1.0
		if nState > 0 {
			ps = float64(okState) / float64(nState)
			sumState += ps
			nStateFiles++
		}
		if nHist > 0 {
			ph = float64(okHist) / float64(nHist)
			sumHist += ph
			nHistFiles++
		}
		lines = append(lines, fmt.Sprintf("%-50s rows %4d  conn_state %s  history %s", name, len(rows), pct(ps), pct(ph)))
		if len(diffs) > 8 {
			diffs = append(diffs[:8], fmt.Sprintf("    … %d more", len(diffs)-8))
		}
		lines = append(lines, diffs...)
	}
	if nStateFiles == 0 {
		t.Skip("no Zeek baselines with conn_state in the corpus")
	}
	avgState, avgHist := sumState/float64(nStateFiles), sumHist/float64(max(nHistFiles, 1))
	t.Logf("agreement with Zeek conn.log:\n%s", strings.Join(lines, "\n"))
	t.Logf("average: conn_state %.1f%% over %d files, history %.1f%% over %d files", 100*avgState, nStateFiles, 100*avgHist, nHistFiles)
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

// pct formats a share as a percentage, or "n/a" when the log lacks the column.
func pct(v float64) string {
	if v < 0 {
		return "  n/a "
	}
	return fmt.Sprintf("%5.1f%%", 100*v)
}
