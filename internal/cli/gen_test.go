package cli

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
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

// TestGenForms writes one mix in each of the forms gen offers (pcapng, IPv6,
// a VLAN tag, cooked headers, and all at once where they combine) and checks
// that each is read whole and analyzed as the plain pcap is: the same flows,
// connection states, anomalies and byte counts of the TCP payload, and IP
// byte counts that differ by exactly the IPv6 header's extra 20 bytes a packet.
func TestGenForms(t *testing.T) {
	base := pcapgen.MixOptions{Packets: 6000, Connections: 500, Concurrency: 50, Seed: 11, Loss: 0.01, Reuse: 0.05, FloodSources: 300}
	analyze := func(m pcapgen.MixOptions) *report.Report {
		t.Helper()
		file := filepath.Join(t.TempDir(), "mix")
		if err := RunGen(&GenOptions{Output: file, Mix: m, Quiet: true}, &IO{Out: io.Discard, Err: io.Discard}); err != nil {
			t.Fatal(err)
		}
		var errw bytes.Buffer
		rep, err := Analyze([]string{file}, "", engine.DefaultConfig(), &IO{Err: &errw})
		if err != nil {
			t.Fatal(err)
		}
		if s := rep.Summary; len(s.DecodeProblems) != 0 || len(s.InputProblems) != 0 || len(s.NonTCP) != 0 || errw.Len() != 0 {
			t.Fatalf("%+v: problems %v %v %v %s", m, s.DecodeProblems, s.InputProblems, s.NonTCP, errw.String())
		}
		return rep
	}
	want := analyze(base)
	for _, form := range []struct {
		name string
		set  func(*pcapgen.MixOptions)
	}{
		{"pcapng", func(m *pcapgen.MixOptions) { m.NG = true }},
		{"ipv6", func(m *pcapgen.MixOptions) { m.IPv6 = true }},
		{"vlan", func(m *pcapgen.MixOptions) { m.VLAN = 100 }},
		{"cooked", func(m *pcapgen.MixOptions) { m.Cooked = true }},
		{"pcapng ipv6 vlan", func(m *pcapgen.MixOptions) { m.NG, m.IPv6, m.VLAN = true, true, 7 }},
		{"cooked ipv6", func(m *pcapgen.MixOptions) { m.Cooked, m.IPv6 = true, true }},
	} {
		t.Run(form.name, func(t *testing.T) {
			m := base
			form.set(&m)
			got := analyze(m)
			if got.Summary.PacketsRead != want.Summary.PacketsRead || len(got.Flows) != len(want.Flows) {
				t.Fatalf("%d packets, %d flows; plain: %d, %d", got.Summary.PacketsRead, len(got.Flows), want.Summary.PacketsRead, len(want.Flows))
			}
			if fmt.Sprint(got.Summary.AnomalyCounts) != fmt.Sprint(want.Summary.AnomalyCounts) ||
				fmt.Sprint(got.Summary.FlowsByConnState) != fmt.Sprint(want.Summary.FlowsByConnState) {
				t.Fatalf("anomalies %v, states %v; plain: %v, %v", got.Summary.AnomalyCounts, got.Summary.FlowsByConnState,
					want.Summary.AnomalyCounts, want.Summary.FlowsByConnState)
			}
			for i := range got.Flows {
				g, w := &got.Flows[i], &want.Flows[i]
				extra := uint64(0)
				if m.IPv6 {
					extra = 20
				}
				if g.ConnState != w.ConnState || g.History != w.History || g.OrigState != w.OrigState || g.RespState != w.RespState ||
					g.OrigBytes != w.OrigBytes || g.RespBytes != w.RespBytes || g.OrigPackets != w.OrigPackets || g.RespPackets != w.RespPackets ||
					g.OrigIPBytes != w.OrigIPBytes+extra*w.OrigPackets || g.RespIPBytes != w.RespIPBytes+extra*w.RespPackets {
					t.Fatalf("flow %d: %+v\nplain: %+v", i, *g, *w)
				}
			}
		})
	}
}
