package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func sample() *Report {
	rtt := 12.5
	st, en := Time(1_700_000_000_000_000_000), Time(1_700_000_001_500_000_000)
	return &Report{
		Summary: Summary{Files: []string{"a.pcap"}, PacketsRead: 20, TCPSegments: 18, Flows: 2,
			Start: &st, End: &en, DurationSecs: 1.5,
			FlowsByConnState: map[string]int{"SF": 1, "REJ": 1}, NonTCP: map[string]uint64{"udp": 2},
			AnomalyCounts: map[string]uint64{"rejected": 1, "window_update": 1}},
		Flows: []Flow{
			{ID: 1, Orig: "10.0.0.1:40000", Resp: "10.0.0.2:80", Generation: 1, ConnState: "SF",
				OrigState: "TIME_WAIT", RespState: "CLOSED", OrigPackets: 8, RespPackets: 7,
				OrigBytes: 300, RespBytes: 5000, Start: st, End: en, DurationSec: 1.5, HandshakeRTTMs: &rtt,
				Anomalies: []Anomaly{{Kind: "window_update", Severity: SeverityInfo, Count: 1, Packets: []uint64{9}, Message: "opened"}}},
			{ID: 2, Orig: "[2001:db8::1]:40001", Resp: "[2001:db8::2]:443", Generation: 2, Midstream: true,
				ConnState: "REJ", OrigState: "CLOSED", RespState: "CLOSED", Start: st, End: st,
				Anomalies: []Anomaly{{Kind: "rejected", Severity: SeverityWarning, Count: 1, Packets: []uint64{3}, Message: "refused"}}},
		},
	}
}

func TestRenderers(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		opt    Options
		want   []string
		not    []string
	}{
		{"table rows and summary", FormatTable, Options{}, []string{
			"10.0.0.1:40000", "TIME_WAIT", "2#2*", "[2001:db8::1]:40001", "12.5ms", "300/4.9K",
			"packets read   20", "flows          2  (REJ 1, SF 1)", "not TCP        udp 2",
			"What to look at", "WARNING  rejected ×1 (1 flow(s), e.g. 2)", "explain rejected"}, []string{"window_update ×"}},
		{"table capped by limit", FormatTable, Options{Limit: 1}, []string{"… 1 more flows not shown (--limit 1)"}, []string{"2001:db8::1"}},
		{"csv header and rows", FormatCSV, Options{}, []string{
			"id,orig,resp,orig_state,resp_state,conn_state,orig_packets,resp_packets,orig_bytes,resp_bytes,duration_s,handshake_rtt_ms,anomalies",
			"1,10.0.0.1:40000,10.0.0.2:80,TIME_WAIT,CLOSED,SF,8,7,300,5000,1.500000,12.500,0",
			"2,[2001:db8::1]:40001,[2001:db8::2]:443,CLOSED,CLOSED,REJ,0,0,0,0,0.000000,,1"}, nil},
		{"json fields", FormatJSON, Options{}, []string{`"orig": "[2001:db8::1]:40001"`, `"start": "2023-11-14T22:13:20.000000000Z"`,
			`"handshake_rtt_ms": null`, `"anomalies": []`, `"input_problems": []`}, nil},
		{"ndjson lines", FormatNDJSON, Options{}, []string{`{"type":"flow","flow":{"id":1,`, `{"type":"summary","summary":{`}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, sample(), tc.format, tc.opt); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestNDJSONLinesParse(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sample(), FormatNDJSON, Options{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 2 flows and a summary", len(lines))
	}
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if v["type"] == nil {
			t.Errorf("line without type: %s", l)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range Formats {
		if got, err := ParseFormat(string(f)); err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %q, %v", f, got, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil || !strings.Contains(err.Error(), "ndjson") {
		t.Errorf("bad format error should list the formats: %v", err)
	}
}

func TestFmtSeconds(t *testing.T) {
	for in, want := range map[float64]string{
		0: "0s", 0.0005: "500µs", 0.25: "250.0ms", 30: "30.000s", 600: "10.0m", 3 * 3600: "3.0h", 3 * 86400: "3.0d",
	} {
		if got := fmtSeconds(in); got != want {
			t.Errorf("fmtSeconds(%v) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkWriteTable renders the default --limit of 1000 rows and the
// summary: a fixed cost of every run that prints the table.
func BenchmarkWriteTable(b *testing.B) {
	r := &Report{}
	for i := range 1000 {
		f := *typicalFlow()
		f.ID = uint64(i + 1)
		f.OrigPackets, f.RespPackets = uint64(i%17+3), uint64(i%13+2)
		f.OrigBytes, f.RespBytes = uint64(i*37%5000), uint64(i*1009%900000)
		r.Flows = append(r.Flows, f)
	}
	r.Summary.Flows = 210000
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := Write(&buf, r, FormatTable, Options{Limit: 1000}); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
