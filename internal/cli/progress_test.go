package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
)

func TestFormatProgress(t *testing.T) {
	for _, tc := range []struct {
		p       capture.Progress
		frames  uint64
		elapsed time.Duration
		want    string
	}{
		{capture.Progress{Read: 512 << 10, Total: 2 << 20}, 900, 500 * time.Millisecond,
			"tcpflow-analyze: 25% of 2 MiB read, 900 packets"},
		{capture.Progress{Read: 212 << 20, Total: 449 << 20}, 950_000, 2 * time.Second,
			"tcpflow-analyze: 47% of 449 MiB read, 950 k packets, 2 s left"},
		{capture.Progress{Read: 3 << 30, Total: 30 << 30}, 12_345_678, 90 * time.Second,
			"tcpflow-analyze: 10% of 30.0 GiB read, 12.3 M packets, 14 min left"},
		{capture.Progress{Read: 1 << 30, Total: 400 << 30}, 2_500_000_000, time.Hour,
			"tcpflow-analyze: 0% of 400 GiB read, 2.50 G packets, 399 h 0 min left"},
		// Rounded down: 100% is for the end.
		{capture.Progress{Read: 999, Total: 1000}, 5, 0, "tcpflow-analyze: 99% of 0 KiB read, 5 packets"},
		// Unknown size (a pipe): no share, no time left.
		{capture.Progress{Read: 64 << 20, Total: -1}, 20_000, 5 * time.Second,
			"tcpflow-analyze: 64 MiB read, 20 k packets"},
		// Read ahead of the frames to the end: no time left to tell.
		{capture.Progress{Read: 10 << 20, Total: 10 << 20}, 70_000, 3 * time.Second,
			"tcpflow-analyze: 100% of 10 MiB read, 70 k packets"},
	} {
		if got := formatProgress(tc.p, tc.frames, tc.elapsed); got != tc.want {
			t.Errorf("formatProgress(%+v, %d, %v)\n got %q\nwant %q", tc.p, tc.frames, tc.elapsed, got, tc.want)
		}
	}
	// The longest line fits 80 columns.
	long := formatProgress(capture.Progress{Read: 1000<<20 - 1, Total: 1023 << 20}, 999_999_999, time.Hour)
	if len(long) >= 80 {
		t.Errorf("%q: %d columns", long, len(long))
	}
}

func TestFormatLeft(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "1 s"}, {1400 * time.Millisecond, "1 s"}, {99 * time.Second, "99 s"},
		{100 * time.Second, "2 min"}, {99 * time.Minute, "99 min"},
		{100 * time.Minute, "1 h 40 min"}, {26*time.Hour + 10*time.Minute, "26 h 10 min"},
	} {
		if got := formatLeft(tc.d); got != tc.want {
			t.Errorf("formatLeft(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// fakeClock advances by step at each reading.
type fakeClock struct {
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time { c.t = c.t.Add(c.step); return c.t }

// TestProgressLine: on a terminal nothing is shown before the delay, then the
// line is redrawn in place no more often than the pace allows and erased at
// the end; elsewhere a plain line comes now and then, and nothing is erased.
func TestProgressLine(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e9, 0), step: 100 * time.Millisecond}
	var out bytes.Buffer
	s := &IO{Err: &out, ErrIsTerminal: true, now: clock.now}
	l := newProgressLine(s)
	p := capture.Progress{Read: 1 << 20, Total: 4 << 20}
	for range 8 { // up to 0.9 s
		l.update(p, 100)
	}
	if out.Len() != 0 {
		t.Fatalf("shown before the delay: %q", out.String())
	}
	// The line started at 0.1 s: drawn at 1.1, 1.4 (≥ 1.35) and 1.7 s.
	for range 10 { // 1.0 s to 1.9 s
		l.update(p, 100)
	}
	if n := strings.Count(out.String(), "\r"); n != 3 {
		t.Errorf("drawn %d times in 0.9 s, want 3: %q", n, out.String())
	}
	if strings.Contains(out.String(), "\n") || !strings.HasSuffix(out.String(), "\x1b[K") {
		t.Errorf("not redrawn in place: %q", out.String())
	}
	l.clear()
	if !strings.HasSuffix(out.String(), "left\x1b[K\r\x1b[K") {
		t.Errorf("not erased at the end: %q", out.String())
	}
	out.Reset()
	l.clear()
	if out.Len() != 0 {
		t.Errorf("erased twice: %q", out.String())
	}

	// Not a terminal, --progress=always: a line every 5 s.
	s = &IO{Err: &out, progress: progressAlways, now: clock.now}
	l = newProgressLine(s)
	for range 120 { // 12 s
		l.update(p, 100)
	}
	l.clear()
	if got := out.String(); strings.Count(got, "\n") != 3 || strings.ContainsAny(got, "\r\x1b") {
		t.Errorf("log lines %q, want 3 plain ones (at 1, 6 and 11 s)", got)
	}
}

// TestProgressModes: auto shows the line only on a terminal, and not when
// the output streams to a terminal too; the flag's values are checked.
func TestProgressModes(t *testing.T) {
	for _, tc := range []struct {
		mode                      progressMode
		errTerm, outTerm, streams bool
		want                      bool
	}{
		{"", true, false, false, true},
		{progressAuto, true, true, false, true},
		{progressAuto, true, true, true, false},
		{progressAuto, true, false, true, true},
		{progressAuto, false, false, false, false},
		{progressAlways, false, true, true, true},
		{progressNever, true, false, false, false},
	} {
		s := &IO{ErrIsTerminal: tc.errTerm, OutIsTerminal: tc.outTerm, outStreams: tc.streams, progress: tc.mode}
		if got := newProgressLine(s) != nil; got != tc.want {
			t.Errorf("%+v: shown %v, want %v", tc, got, tc.want)
		}
	}
	var m progressMode
	if err := (progressFlag{&m}).Set("sometimes"); err == nil {
		t.Error("--progress=sometimes accepted")
	}
}

// TestAnalyzeProgress: analyze with a terminal on standard error shows the
// progress line while it reads and erases it before anything else is
// written; the report is the same as without it.
func TestAnalyzeProgress(t *testing.T) {
	path, _ := writeMixFile(t, pcapgen.MixOptions{Packets: 30000, Connections: 3000, Concurrency: 100, Seed: 5, FloodSources: 100})
	run := func(args ...string) (string, string, int) {
		t.Helper()
		var out, errb bytes.Buffer
		clock := &fakeClock{t: time.Unix(1e9, 0), step: 300 * time.Millisecond}
		s := &IO{In: strings.NewReader(""), Out: &out, Err: &errb, ErrIsTerminal: true, now: clock.now}
		root := NewRoot(s)
		root.SetArgs(append(args, path))
		code := ExitOK
		if err := root.Execute(); err != nil {
			code = ExitInput
		}
		return out.String(), errb.String(), code
	}
	plain, quiet, _ := run("analyze", "-o", "table", "--workers", "1", "--progress=never")
	if quiet != "" {
		t.Fatalf("--progress=never wrote %q", quiet)
	}
	for _, workers := range []string{"1", "2"} {
		out, errs, _ := run("analyze", "-o", "table", "--workers", workers)
		if out != plain {
			t.Errorf("workers %s: the report differs with the progress line", workers)
		}
		if !strings.HasPrefix(errs, "\rtcpflow-analyze: ") || !strings.HasSuffix(errs, "\r\x1b[K") ||
			strings.Count(errs, "\r") < 3 {
			t.Errorf("workers %s: standard error %q, want the line drawn and erased", workers, errs)
		}
	}
	if _, errs, _ := run("check", "--progress"); !strings.Contains(errs, "packets") {
		t.Errorf("check --progress: standard error %q", errs)
	}
	if _, _, code := run("analyze", "--progress=sometimes"); code == ExitOK {
		t.Error("--progress=sometimes accepted")
	}
}
