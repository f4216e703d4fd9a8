package cli

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// benchCapture writes a generated mix of about packets packets (ten per
// connection, a small SYN flood) to a temporary file once per benchmark.
func benchCapture(b *testing.B, packets int) (string, pcapgen.MixStats) {
	return writeMixFile(b, pcapgen.MixOptions{Packets: packets, Connections: packets / 10,
		Concurrency: 1000, Seed: 1, FloodSources: packets / 200})
}

// writeMixFile writes a generated capture to a temporary file and returns
// its path.
func writeMixFile(tb testing.TB, o pcapgen.MixOptions) (string, pcapgen.MixStats) {
	tb.Helper()
	name := filepath.Join(tb.TempDir(), "mix.pcap")
	f, err := os.Create(name)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := pcapgen.WriteMix(f, o)
	if err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return name, st
}

// BenchmarkAnalyze runs the whole analysis (read, decode, flows, trackers,
// detectors, report) on a generated capture of 200 k packets, and with
// /json the JSON rendering as well. Profile it with
//
//	go test ./internal/cli -run '^$' -bench Analyze -cpuprofile cpu.prof -memprofile mem.prof
func BenchmarkAnalyze(b *testing.B) {
	file, st := benchCapture(b, 200_000)
	for _, render := range []bool{false, true} {
		name := "report"
		if render {
			name = "json"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rep, err := Analyze([]string{file}, "", engine.DefaultConfig(), &IO{Err: io.Discard})
				if err != nil {
					b.Fatal(err)
				}
				if rep.Summary.PacketsRead != st.Packets {
					b.Fatalf("read %d packets, want %d", rep.Summary.PacketsRead, st.Packets)
				}
				if render {
					if err := report.Write(io.Discard, rep, report.FormatJSON, report.Options{}); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(st.Packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(st.Packets)/float64(b.N), "ns/packet")
		})
	}
}
