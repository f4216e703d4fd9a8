package wide

import (
	"errors"
	"fmt"
	"time"
)

// Config holds the thresholds of the capture-wide detectors. DefaultConfig
// documents each default; the package doc gives the rationale.
type Config struct {
	// SynFloodRate is the SYN rate per destination, averaged over
	// SynFloodWindow, at which a flood episode starts (SYN/s).
	SynFloodRate float64
	// SynFloodWindow is the sliding window of the SYN rate.
	SynFloodWindow time.Duration
	// SynFloodMaxCompletion is the share of handshakes completed under which
	// an episode is a flood (0..1).
	SynFloodMaxCompletion float64

	// TimeWaitLen is how long the active closer stays in TIME_WAIT (2 MSL).
	TimeWaitLen time.Duration
	// EphemeralPorts is the size of the clients' ephemeral port range.
	EphemeralPorts int
	// TimeWaitWarnShare is the share of EphemeralPorts held in TIME_WAIT at
	// which a storm is reported as a warning (0..1).
	TimeWaitWarnShare float64
	// TimeWaitErrorShare is the share at which it is an error (0..1).
	TimeWaitErrorShare float64
	// TimeWaitRateWindow is the window of the rate that would exhaust the
	// range within TimeWaitLen.
	TimeWaitRateWindow time.Duration

	// ScanMinTargets is how many distinct address:port pairs a source's failed
	// attempts must reach within ScanWindow to be a scan.
	ScanMinTargets int
	// ScanWindow is the window of a scan, anchored at the source's first attempt.
	ScanWindow time.Duration
	// ScanMinFailedShare is the least share of the source's attempts that
	// failed (0..1).
	ScanMinFailedShare float64

	// RSTStormCount is how many RSTs one address must send within
	// RSTStormWindow to be a storm.
	RSTStormCount int
	// RSTStormWindow is the sliding window of the RST count.
	RSTStormWindow time.Duration

	// ConnFloodIdle is how many idle established connections from one source
	// open at once make a connection flood.
	ConnFloodIdle int
	// ConnFloodMinHold is how long a connection must last to count as held.
	ConnFloodMinHold time.Duration
	// ConnFloodMaxRate is the highest average payload rate, in bytes per
	// second over both directions, of an idle connection.
	ConnFloodMaxRate float64

	// MaxKeys caps each detector's table of tracked keys (destinations,
	// address pairs, sources). The default, 16384, keeps the detectors near
	// 30 MiB (a few hundred bytes a key); events for keys beyond it are
	// counted in Stats.
	MaxKeys int
	// MaxSources caps the distinct addresses and targets remembered per
	// finding, and the idle connections remembered in all.
	MaxSources int
}

// maxWindow is the longest window: a ring of one-second buckets per key.
const maxWindow = time.Hour

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		SynFloodRate:          100,
		SynFloodWindow:        10 * time.Second,
		SynFloodMaxCompletion: 0.2,
		TimeWaitLen:           60 * time.Second,
		EphemeralPorts:        28232,
		TimeWaitWarnShare:     0.5,
		TimeWaitErrorShare:    0.9,
		TimeWaitRateWindow:    10 * time.Second,
		ScanMinTargets:        25,
		ScanWindow:            5 * time.Minute,
		ScanMinFailedShare:    0.5,
		RSTStormCount:         1000,
		RSTStormWindow:        10 * time.Second,
		ConnFloodIdle:         100,
		ConnFloodMinHold:      30 * time.Second,
		ConnFloodMaxRate:      16,
		MaxKeys:               1 << 14,
		MaxSources:            1 << 14,
	}
}

// Validate reports every setting that cannot be used, joined.
func (c Config) Validate() error {
	var errs []error
	pos := func(name string, v float64) {
		if !(v > 0) {
			errs = append(errs, fmt.Errorf("%s must be positive, not %v", name, v))
		}
	}
	share := func(name string, v float64) {
		if !(v > 0 && v <= 1) {
			errs = append(errs, fmt.Errorf("%s must be in (0, 1], not %v", name, v))
		}
	}
	window := func(name string, d time.Duration) {
		if d <= 0 || d > maxWindow {
			errs = append(errs, fmt.Errorf("%s must be between 1s and %v, not %v", name, maxWindow, d))
		}
	}
	pos("syn flood rate", c.SynFloodRate)
	window("syn flood window", c.SynFloodWindow)
	share("syn flood max completion", c.SynFloodMaxCompletion)
	window("TIME_WAIT length", c.TimeWaitLen)
	pos("ephemeral ports", float64(c.EphemeralPorts))
	share("TIME_WAIT warning share", c.TimeWaitWarnShare)
	share("TIME_WAIT error share", c.TimeWaitErrorShare)
	window("TIME_WAIT rate window", c.TimeWaitRateWindow)
	if c.TimeWaitRateWindow > c.TimeWaitLen {
		errs = append(errs, fmt.Errorf("TIME_WAIT rate window %v is longer than TIME_WAIT %v", c.TimeWaitRateWindow, c.TimeWaitLen))
	}
	pos("scan min targets", float64(c.ScanMinTargets))
	window("scan window", c.ScanWindow)
	share("scan min failed share", c.ScanMinFailedShare)
	pos("RST storm count", float64(c.RSTStormCount))
	window("RST storm window", c.RSTStormWindow)
	pos("connection flood idle count", float64(c.ConnFloodIdle))
	window("connection flood min hold", c.ConnFloodMinHold)
	if c.ConnFloodMaxRate < 0 {
		errs = append(errs, fmt.Errorf("connection flood max rate must not be negative, not %v", c.ConnFloodMaxRate))
	}
	pos("max keys", float64(c.MaxKeys))
	pos("max sources", float64(c.MaxSources))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("capture-wide detector config: %w", err)
	}
	return nil
}

// normalized returns c with every unusable setting replaced by its default,
// so that New never fails.
func (c Config) normalized() Config {
	d := DefaultConfig()
	fix := func(v *float64, def float64, max float64) {
		if !(*v > 0 && *v <= max) {
			*v = def
		}
	}
	win := func(v *time.Duration, def time.Duration) {
		if *v <= 0 || *v > maxWindow {
			*v = def
		}
	}
	num := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	inf := 1e300
	fix(&c.SynFloodRate, d.SynFloodRate, inf)
	win(&c.SynFloodWindow, d.SynFloodWindow)
	fix(&c.SynFloodMaxCompletion, d.SynFloodMaxCompletion, 1)
	win(&c.TimeWaitLen, d.TimeWaitLen)
	num(&c.EphemeralPorts, d.EphemeralPorts)
	fix(&c.TimeWaitWarnShare, d.TimeWaitWarnShare, 1)
	fix(&c.TimeWaitErrorShare, d.TimeWaitErrorShare, 1)
	win(&c.TimeWaitRateWindow, d.TimeWaitRateWindow)
	if c.TimeWaitRateWindow > c.TimeWaitLen {
		c.TimeWaitRateWindow = c.TimeWaitLen
	}
	num(&c.ScanMinTargets, d.ScanMinTargets)
	win(&c.ScanWindow, d.ScanWindow)
	fix(&c.ScanMinFailedShare, d.ScanMinFailedShare, 1)
	num(&c.RSTStormCount, d.RSTStormCount)
	win(&c.RSTStormWindow, d.RSTStormWindow)
	num(&c.ConnFloodIdle, d.ConnFloodIdle)
	win(&c.ConnFloodMinHold, d.ConnFloodMinHold)
	if !(c.ConnFloodMaxRate >= 0) {
		c.ConnFloodMaxRate = d.ConnFloodMaxRate
	}
	num(&c.MaxKeys, d.MaxKeys)
	num(&c.MaxSources, d.MaxSources)
	return c
}

// seconds returns d in whole seconds, rounded up, at least one.
func seconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}
