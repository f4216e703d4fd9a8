package cli

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
)

func TestRunFlow(t *testing.T) {
	lossy := filepath.Join(repoRoot, "testdata", "pcaps", "lossy_transfer.pcap")
	reject := filepath.Join(repoRoot, "testdata", "pcaps", "rst_reject.pcap")
	tests := []struct {
		name    string
		file    string
		id      uint64
		want    []string
		wantErr string
	}{
		{name: "lossy transfer", file: lossy, id: 1, want: []string{
			"flow 1: 192.0.2.10:41000 → 198.51.100.20:8001, SF",
			"retransmission|fast_retransmission", "out_of_order|gap_fill", "duplicate_ack",
			"SYN_SENT / SYN_RECEIVED", "active open: sends SYN", "Findings", "fast_retransmission ×2"}},
		{name: "refused", file: reject, id: 1, want: []string{"REJ", "RST", "CLOSED / CLOSED", "rejected"}},
		{name: "no such flow", file: reject, id: 9, wantErr: "no flow 9: the capture has 1 flows"},
		{name: "no id", file: reject, wantErr: "flow needs --id N"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s := &IO{In: strings.NewReader(""), Out: &out, Err: &bytes.Buffer{}}
			err := RunFlow(&FlowOptions{Files: []string{tc.file}, ID: tc.id, Engine: engine.DefaultConfig()}, s)
			if tc.wantErr != "" {
				var ee *ExitError
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &ee) || ee.Code != ExitInput {
					t.Fatalf("error %v, want exit 2 with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestSnakeClasses(t *testing.T) {
	for in, want := range map[string]string{
		"None": "-", "InOrder": "in_order", "Retransmission|FastRetransmission": "retransmission|fast_retransmission",
		"AckUnseen|DuplicateAck": "ack_unseen|duplicate_ack",
	} {
		if got := snakeClasses(in); got != want {
			t.Errorf("snakeClasses(%q) = %q, want %q", in, got, want)
		}
	}
}
