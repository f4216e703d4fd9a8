package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
)

// progressMode is the --progress setting: when the commands that read
// capture files say, on standard error, how far they have read them.
type progressMode string

const (
	// progressAuto shows the line when standard error is a terminal,
	// unless the output streams to the same terminal as it is made.
	progressAuto   progressMode = "auto"
	progressAlways progressMode = "always"
	progressNever  progressMode = "never"
)

// progressFlag is the --progress flag.
type progressFlag struct{ m *progressMode }

func (f progressFlag) String() string {
	if *f.m == "" {
		return string(progressAuto)
	}
	return string(*f.m)
}

func (f progressFlag) Type() string { return "auto|always|never" }

func (f progressFlag) Set(s string) error {
	switch m := progressMode(s); m {
	case progressAuto, progressAlways, progressNever:
		*f.m = m
		return nil
	}
	return fmt.Errorf("want auto, always or never")
}

// addProgressFlag binds --progress of a command that reads capture files.
func addProgressFlag(cmd *cobra.Command, s *IO) {
	cmd.Flags().Var(progressFlag{&s.progress}, "progress",
		"say on standard error how far the files have been read (bytes, packets, time left): auto (when it is a terminal), always or never")
	cmd.Flags().Lookup("progress").NoOptDefVal = string(progressAlways)
}

// The pace of the progress display, in wall-clock time: it only paces what
// is shown, while the analysis runs on capture time.
const (
	progressDelay    = time.Second            // nothing is shown for a shorter run
	progressEvery    = 250 * time.Millisecond // on a terminal, the line is redrawn this often
	progressLogEvery = 5 * time.Second        // elsewhere (--progress=always), a line is added this often
	progressFrames   = 1 << 12                // frames read between two looks at the clock
)

// progressLine shows how far a Source has read its files: on a terminal one
// line redrawn in place and erased when reading ends, so that what the
// command prints next starts clean; elsewhere a line now and then.
type progressLine struct {
	w        io.Writer
	terminal bool
	now      func() time.Time
	start    time.Time
	next     time.Time
	shown    bool
}

// newProgressLine returns the progress display s asks for, or nil for none.
func newProgressLine(s *IO) *progressLine {
	switch s.progress {
	case progressNever:
		return nil
	case progressAlways:
	default:
		if !s.ErrIsTerminal || (s.OutIsTerminal && s.outStreams) {
			return nil
		}
	}
	now := s.now
	if now == nil {
		now = time.Now
	}
	t := now()
	return &progressLine{w: s.Err, terminal: s.ErrIsTerminal, now: now, start: t, next: t.Add(progressDelay)}
}

// update shows p and the frames read so far, when the next line is due.
func (l *progressLine) update(p capture.Progress, frames uint64) {
	t := l.now()
	if t.Before(l.next) {
		return
	}
	msg := formatProgress(p, frames, t.Sub(l.start))
	if l.terminal {
		l.next = t.Add(progressEvery)
		fmt.Fprintf(l.w, "\r%s\x1b[K", msg)
	} else {
		l.next = t.Add(progressLogEvery)
		fmt.Fprintf(l.w, "%s\n", msg)
	}
	l.shown = true
}

// clear erases the line from the terminal; l may be nil.
func (l *progressLine) clear() {
	if l != nil && l.shown && l.terminal {
		fmt.Fprint(l.w, "\r\x1b[K")
		l.shown = false
	}
}

// formatProgress says how much of the input has been read after elapsed,
// and, when the total is known, what share and about how long is left at
// the rate so far. The line stays under 80 columns, so that redrawing it
// in place never wraps.
func formatProgress(p capture.Progress, frames uint64, elapsed time.Duration) string {
	msg := "tcpflow-analyze: "
	if p.Total > 0 {
		share := min(100*p.Read/p.Total, 100) // rounded down: 100% only at the end
		msg += fmt.Sprintf("%d%% of %s read", share, formatBytes(p.Total))
	} else {
		msg += formatBytes(p.Read) + " read"
	}
	msg += ", " + formatCount(frames) + " packets"
	if p.Total > 0 && p.Read > 0 && p.Read < p.Total && elapsed >= time.Second {
		left := time.Duration(float64(elapsed) * float64(p.Total-p.Read) / float64(p.Read))
		msg += ", " + formatLeft(left) + " left"
	}
	return msg
}

// formatBytes writes n bytes in KiB, MiB or GiB.
func formatBytes(n int64) string {
	switch {
	case n < 1<<20:
		return fmt.Sprintf("%d KiB", n>>10)
	case n < 1<<30:
		return fmt.Sprintf("%d MiB", n>>20)
	case n < 100<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%d GiB", n>>30)
}

// formatCount writes a count with a k, M or G suffix past ten thousand.
func formatCount(n uint64) string {
	switch {
	case n < 10_000:
		return fmt.Sprintf("%d", n)
	case n < 1_000_000:
		return fmt.Sprintf("%d k", n/1000)
	case n < 1_000_000_000:
		return fmt.Sprintf("%.1f M", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f G", float64(n)/1e9)
}

// formatLeft writes a remaining time, rounded to what a reader wants to know.
func formatLeft(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 100:
		return fmt.Sprintf("%d s", max(s, 1))
	case s < 100*60:
		return fmt.Sprintf("%d min", (s+30)/60)
	}
	m := (s + 30) / 60
	return fmt.Sprintf("%d h %d min", m/60, m%60)
}
