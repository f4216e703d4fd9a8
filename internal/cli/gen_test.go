package cli

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
)

// TestGen writes small mixes and analyzes them: the same flags give the same
// bytes on a file and on standard output, and the analysis reads every packet
// without a decode problem, one flow per connection, and finds what the mix
// put in.
func TestGen(t *testing.T) {
	tests := []struct {
		name  string
		mix   pcapgen.MixOptions
		kinds []string // anomaly kinds the analysis must find
	}{
		{name: "short", mix: pcapgen.MixOptions{Packets: 4000, Connections: 400, Concurrency: 40, Seed: 7, Loss: 0.01, Reuse: 0.05},
			kinds: []string{"rejected", "reset", "port_reuse"}},
		{name: "bulk and loss", mix: pcapgen.MixOptions{Packets: 6000, Connections: 40, Concurrency: 8, Seed: 8, Loss: 0.02},
			kinds: []string{"retransmission", "out_of_order", "lost_segment", "duplicate_ack"}},
		{name: "flood", mix: pcapgen.MixOptions{Packets: 9000, Connections: 300, Concurrency: 30, Seed: 9, FloodSources: 2000},
			kinds: []string{"syn_flood", "half_open"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "mix.pcap")
			var errw bytes.Buffer
			o := &GenOptions{Output: file, Mix: tc.mix}
			if err := RunGen(o, &IO{Out: &bytes.Buffer{}, Err: &errw}); err != nil {
				t.Fatal(err)
			}
			if errw.Len() == 0 {
				t.Error("no summary on the error stream")
			}
			var out bytes.Buffer
			o = &GenOptions{Mix: tc.mix, Quiet: true}
			if err := RunGen(o, &IO{Out: &out, Err: &errw}); err != nil {
				t.Fatal(err)
			}
			onDisk, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if sha256.Sum256(onDisk) != sha256.Sum256(out.Bytes()) {
				t.Fatal("file and standard output differ")
			}
			st, err := pcapgen.WriteMix(&bytes.Buffer{}, normalizedMix(tc.mix))
			if err != nil {
				t.Fatal(err)
			}

			rep, err := Analyze([]string{file}, "", engine.DefaultConfig(), &IO{Err: &errw})
			if err != nil {
				t.Fatal(err)
			}
			s := rep.Summary
			if s.PacketsRead != st.Packets || s.TCPSegments != st.Packets {
				t.Errorf("read %d packets, %d TCP; the mix wrote %d", s.PacketsRead, s.TCPSegments, st.Packets)
			}
			if len(s.DecodeProblems) != 0 || len(s.InputProblems) != 0 {
				t.Errorf("problems: %v %v", s.DecodeProblems, s.InputProblems)
			}
			if want := int(st.Connections + st.FloodSYNs); s.Flows != want {
				t.Errorf("%d flows, want %d", s.Flows, want)
			}
			for _, k := range tc.kinds {
				if s.AnomalyCounts[k] == 0 {
					t.Errorf("no %s among %v", k, s.AnomalyCounts)
				}
			}
		})
	}
}

// normalizedMix gives the options RunGen passes to WriteMix.
func normalizedMix(m pcapgen.MixOptions) pcapgen.MixOptions {
	if m.Loss == 0 {
		m.Loss = -1
	}
	if m.Reuse == 0 {
		m.Reuse = -1
	}
	return m
}

func TestGenBadFlags(t *testing.T) {
	tests := []struct {
		name string
		o    GenOptions
	}{
		{"no slots", GenOptions{Mix: pcapgen.MixOptions{Packets: 10, Connections: 1, Concurrency: -1}}},
		{"negative", GenOptions{Mix: pcapgen.MixOptions{Packets: -10, Concurrency: 1}}},
		{"bad dir", GenOptions{Output: filepath.Join(t.TempDir(), "no", "such", "dir.pcap"), Mix: pcapgen.MixOptions{Concurrency: 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := RunGen(&tc.o, &IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
			if ee, ok := err.(*ExitError); !ok || ee.Code != ExitInput {
				t.Fatalf("got %v, want an input error", err)
			}
		})
	}
}

// TestGenCommand runs the command through cobra with its flags.
func TestGenCommand(t *testing.T) {
	var out, errw bytes.Buffer
	cmd := newGenCmd(&IO{Out: &out, Err: &errw})
	cmd.SetArgs([]string{"--packets", "2000", "--connections", "200", "--concurrency", "20", "--flood-sources", "100", "--seed", "3", "-q"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if out.Len() < 24 || errw.Len() != 0 {
		t.Fatalf("%d bytes out, error stream %q", out.Len(), errw.String())
	}
}
