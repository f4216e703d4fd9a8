package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// TestScenarioAnomalies checks, on the project's own captures, the anomaly
// kinds that must appear and those that must not.
func TestScenarioAnomalies(t *testing.T) {
	clean := []string{"retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
		"lost_segment", "ack_unseen_segment", "duplicate_ack", "zero_window", "half_open", "rejected",
		"reset", "close_wait_leak", "syn_flood", "time_wait_storm", "port_scan", "rst_storm", "invalid_flags"}
	tests := []struct {
		file    string
		cfg     func(*engine.Config)
		must    []string
		mustNot []string
	}{
		{file: "syn_flood.pcap", must: []string{"syn_flood", "half_open"},
			mustNot: []string{"time_wait_storm", "rst_storm", "close_wait_leak"}},
		{file: "time_wait_storm.pcap",
			// A container with a narrow ephemeral range (500 ports): 300
			// connections closed by the client within a minute hold 60% of it.
			cfg:     func(c *engine.Config) { c.Wide.EphemeralPorts = 500 },
			must:    []string{"time_wait_storm"},
			mustNot: []string{"syn_flood", "half_open", "retransmission", "reset"}},
		{file: "time_wait_storm.pcap", mustNot: []string{"time_wait_storm"}}, // 300 of 28232 ports is no storm
		{file: "close_wait_leak.pcap", must: []string{"close_wait_leak", "keep_alive"},
			mustNot: []string{"half_open", "reset", "retransmission"}},
		{file: "lossy_transfer.pcap",
			must:    []string{"fast_retransmission", "retransmission", "out_of_order", "lost_segment", "duplicate_ack", "triple_duplicate_ack"},
			mustNot: []string{"half_open", "reset", "zero_window", "keep_alive"}},
		{file: "zero_window.pcap", must: []string{"zero_window", "zero_window_probe", "window_update"},
			mustNot: []string{"retransmission", "lost_segment", "keep_alive"}},
		{file: "keep_alive.pcap", must: []string{"keep_alive", "keep_alive_ack"},
			mustNot: []string{"retransmission", "lost_segment", "zero_window", "close_wait_leak"}},
		{file: "rst_reject.pcap", must: []string{"rejected"}, mustNot: []string{"reset", "half_open"}},
		{file: "rst_established.pcap", must: []string{"reset"}, mustNot: []string{"rejected", "half_open"}},
		{file: "syn_no_answer.pcap", must: []string{"half_open", "retransmission"}, mustNot: []string{"rejected", "syn_flood"}},
		{file: "port_reuse.pcap", must: []string{"port_reuse"}},
		{file: "normal_exchange.pcap", mustNot: clean},
		{file: "server_closes_first.pcap", mustNot: clean},
		{file: "seq_wrap.pcap", mustNot: clean},
		{file: "midstream.pcap", mustNot: clean},
	}
	for _, tc := range tests {
		name := tc.file
		if tc.cfg != nil {
			name += "/tuned"
		}
		t.Run(name, func(t *testing.T) {
			cfg := engine.DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			s := &IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}
			rep, err := Analyze([]string{filepath.Join(repoRoot, "testdata", "pcaps", tc.file)}, "", cfg, s)
			if err != nil || rep == nil {
				t.Fatalf("analyze: %v", err)
			}
			got := rep.Summary.AnomalyCounts
			for _, k := range tc.must {
				if got[k] == 0 {
					t.Errorf("%s: kind %s missing (got %v)", tc.file, k, got)
				}
			}
			for _, k := range tc.mustNot {
				if got[k] != 0 {
					t.Errorf("%s: kind %s must not appear (got %d)", tc.file, k, got[k])
				}
			}
		})
	}
}

// TestCleanCapturesAreQuiet: a clean capture reports no anomaly above the
// informational level, on any flow or across the capture.
func TestCleanCapturesAreQuiet(t *testing.T) {
	for _, file := range []string{"normal_exchange.pcap", "server_closes_first.pcap", "fin_ack_combined.pcap",
		"simultaneous_close.pcap", "ipv6.pcap", "vlan.pcap", "sll2.pcap", "pcapng_two_linktypes.pcapng",
		"nanosecond.pcap", "gzip.pcap.gz", "snapped.pcap", "seq_wrap.pcap", "midstream.pcap", "time_wait_storm.pcap"} {
		t.Run(file, func(t *testing.T) {
			s := &IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}
			rep, err := Analyze([]string{filepath.Join(repoRoot, "testdata", "pcaps", file)}, "", engine.DefaultConfig(), s)
			if err != nil || rep == nil {
				t.Fatalf("analyze: %v", err)
			}
			check := func(where string, as []report.Anomaly) {
				for _, a := range as {
					if a.Severity.Rank() > report.SeverityInfo.Rank() {
						t.Errorf("%s: %s has %s (%s): %s", file, where, a.Kind, a.Severity, a.Message)
					}
				}
			}
			check("the capture", rep.Anomalies)
			for _, f := range rep.Flows {
				check("flow "+f.Orig+" → "+f.Resp, f.Anomalies)
			}
		})
	}
}
