package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly"
)

func TestRunExplain(t *testing.T) {
	cases := []struct {
		name    string
		kind    string
		want    []string // substrings of the output, or of the error
		notWant []string
		err     bool
	}{
		{
			name: "list",
			want: []string{"KIND", "LEVEL", "SEVERITY", "MESSAGE", "half_open", "per-flow", "lost_segment", "per-packet",
				"syn_flood", "capture-wide", "connection_flood", "explain KIND"},
		},
		{
			name: "syn flood in full", kind: "syn_flood",
			want: []string{"syn_flood (capture-wide, severity error)", "What it means on the wire", "How it is detected",
				"Typical causes", "Remedies", "tcp_syncookies", "tcp_max_syn_backlog", "100 SYN/s"},
			notWant: []string{"KIND  "},
		},
		{
			name: "time wait storm, dashes and capitals", kind: "Time-Wait-Storm",
			want: []string{"time_wait_storm (capture-wide, severity warning)", "tcp_tw_reuse", "SO_REUSEADDR", "tcp_tw_recycle", "28232"},
		},
		{
			name: "per-packet kind", kind: "keep_alive",
			want: []string{"keep_alive (per-packet, severity info)", "7200 s", "75 s", "9"},
		},
		{
			name: "close wait", kind: "close_wait_leak",
			want: []string{"application must close"},
		},
		{
			name: "misspelt kind suggests the closest", kind: "synflood", err: true,
			want: []string{`unknown anomaly kind "synflood"`, "did you mean syn_flood"},
		},
		{
			name: "partial name suggests the kinds containing it", kind: "window", err: true,
			want: []string{"did you mean", "zero_window", "window_full"},
		},
		{
			name: "nothing close", kind: "banana", err: true,
			want: []string{`unknown anomaly kind "banana"`, "explain\" for the list"}, notWant: []string{"did you mean"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := RunExplain(tc.kind, &IO{Out: &out, Err: &out})
			got := out.String()
			if tc.err {
				if !errors.Is(err, ErrUnknownKind) {
					t.Fatalf("error %v, want ErrUnknownKind", err)
				}
				got = err.Error()
			} else if err != nil {
				t.Fatalf("RunExplain: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("output has %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestExplainEveryKind(t *testing.T) {
	for _, k := range anomaly.Kinds() {
		var out bytes.Buffer
		if err := RunExplain(k.String(), &IO{Out: &out}); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		for i, line := range strings.Split(out.String(), "\n") {
			// The wrapper breaks between words; only a single word longer than
			// the width may overflow.
			if len(line) > explainWidth && strings.Contains(strings.TrimSpace(line), " ") {
				t.Errorf("%s line %d is %d wide: %q", k, i+1, len(line), line)
			}
		}
	}
}

func TestExplainListAligned(t *testing.T) {
	var out bytes.Buffer
	if err := RunExplain("", &IO{Out: &out}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	col := strings.Index(lines[0], "LEVEL")
	for _, l := range lines[1 : 1+int(anomaly.NumKinds)] {
		if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("LEVEL column not aligned at %d: %q", col, l)
		}
	}
	if n := len(lines); n < int(anomaly.NumKinds)+1 {
		t.Errorf("%d lines for %d kinds", n, anomaly.NumKinds)
	}
}

func TestExplainCommand(t *testing.T) {
	var out bytes.Buffer
	cmd := newExplainCmd(&IO{Out: &out})
	cmd.SetArgs([]string{"port_scan"})
	cmd.SetOut(&out)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "port_scan (capture-wide") {
		t.Errorf("output %q", out.String())
	}
	cmd = newExplainCmd(&IO{Out: &out})
	cmd.SetArgs([]string{"a", "b"})
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err == nil {
		t.Error("two arguments accepted")
	}
}
