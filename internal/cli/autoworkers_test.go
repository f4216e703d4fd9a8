package cli

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
)

// TestAutoWorkers: when the count is left to the tool, one worker per core,
// but one fewer for a gzip-compressed capture and a single one for a small
// capture (smallInputs).
func TestAutoWorkers(t *testing.T) {
	dir := t.TempDir()
	var plain bytes.Buffer
	if _, err := pcapgen.WriteMix(&plain, pcapgen.MixOptions{Packets: 200, Connections: 20, Concurrency: 5, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(plain.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	pp, gp := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "a.pcap.gz")
	if err := os.WriteFile(pp, plain.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gp, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same heads, padded past smallInputMax (a compressed file counts
	// eight times its size): only a file's head and size are looked at.
	padded := func(name string, head []byte, size int64) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, head, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, size); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ppBig := padded("big.pcap", plain.Bytes(), smallInputMax+1)
	gpBig := padded("big.pcap.gz", gz.Bytes(), smallInputMax/8+1)
	// Four cores, so that one fewer is told from one per core whatever
	// machine runs the test.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	cores, auto := 4, 3
	for _, tc := range []struct {
		workers int
		timers  engine.Timers
		file    string
		want    int
	}{
		{0, engine.TimersLinux, ppBig, cores},
		{0, engine.TimersLinux, gpBig, auto},
		{0, engine.TimersLinux, pp, 1},
		{0, engine.TimersLinux, gp, 1},
		{2, engine.TimersLinux, gpBig, 2},
		{2, engine.TimersLinux, pp, 2},
		{0, engine.TimersZeek, gpBig, 0},
	} {
		cfg := engine.DefaultConfig()
		cfg.Workers, cfg.Timers = tc.workers, tc.timers
		autoWorkers(&cfg, []string{tc.file}, &IO{})
		if cfg.Workers != tc.want {
			t.Errorf("%+v: workers %d, want %d", tc, cfg.Workers, tc.want)
		}
	}
	// Standard input is looked at, and still read whole after that.
	for _, in := range [][]byte{plain.Bytes(), gz.Bytes()} {
		cfg := engine.DefaultConfig()
		s := &IO{In: bytes.NewReader(in)}
		autoWorkers(&cfg, []string{"-"}, s)
		want := cores
		if bytes.Equal(in, gz.Bytes()) {
			want = auto
		}
		if cfg.Workers != want {
			t.Errorf("standard input: workers %d, want %d", cfg.Workers, want)
		}
		got, err := io.ReadAll(s.In)
		if err != nil || !bytes.Equal(got, in) {
			t.Errorf("standard input after the look: %d bytes (%v), want %d", len(got), err, len(in))
		}
		autoWorkers(&cfg, []string{"-"}, s) // settled: nothing more is read
		if s.In == nil {
			t.Error("standard input lost")
		}
	}
	// A character device on standard input (a terminal) is not read, and
	// the named files are still looked at.
	tty, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	cfg := engine.DefaultConfig()
	s := &IO{In: tty}
	autoWorkers(&cfg, []string{gp, "-"}, s)
	if cfg.Workers != auto || s.In != io.Reader(tty) {
		t.Errorf("terminal on standard input: workers %d (want %d), standard input %T", cfg.Workers, auto, s.In)
	}
}
