// Package engine is the one place that wires the analysis together: decoded
// frames go to the flow table, each segment through its connection's sequence
// tracker (reassembly) and state tracker (fsm), detectors watch the results, and
// finished connections become report flows.
package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly/wide"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/flow"
)

// Config holds every tunable of the analysis. DefaultConfig gives the values
// documented in README.md.
type Config struct {
	// TimeWait is how long an endpoint stays in TIME_WAIT (2×MSL); Linux uses 60 s.
	TimeWait time.Duration
	// HandshakeTimeout is the idle time after which a connection whose handshake
	// did not complete is closed (conntrack: SYN_SENT 120 s).
	HandshakeTimeout time.Duration
	// EstablishedTimeout is the idle time after which a connection that can carry
	// data is closed (conntrack: 5 days).
	EstablishedTimeout time.Duration
	// ClosingTimeout is the idle time for connections in the middle of their
	// close: FIN_WAIT_1, CLOSING, LAST_ACK (conntrack: 120 s for FIN_WAIT).
	ClosingTimeout time.Duration
	// ClosedLinger keeps a reset or fully closed connection this long so that
	// stragglers (a retransmitted FIN, data in flight, a second RST) still join
	// it. The default is the TIME_WAIT length, 2×MSL: how long segments of an
	// old incarnation may still arrive.
	ClosedLinger time.Duration
	// MaxFlows caps the open connections held at once; connections that are
	// over (closed, TIME_WAIT) make room first, then the oldest half-open ones.
	// 0 means no cap. A connection in the table costs 352 bytes while it has
	// shown only its handshake's SYN and SYN-ACKs (a SYN-flood entry: liteConn),
	// about 1.7 KiB with no payload after that, and up to about 4 KiB while its
	// trackers hold payload copies, unacknowledged segments and findings, so
	// the default of 131072 bounds the table near 50–500 MiB.
	MaxFlows int
	// MaxLinger caps the finished connections (closed, reset, TIME_WAIT) kept
	// whole for their linger; beyond it the oldest finished one is reported
	// and leaves a 32-byte tomb, which still recognises its stragglers (counted
	// as late_packets) and the reuse of its 4-tuple. Stragglers come within a
	// few round trips of the close, so the whole-connection linger is what
	// keeps their analysis exact, and the cap is what keeps memory growing with
	// the open connections rather than with the closing rate. 0 means no cap
	// (MaxFlows still applies). With Zeek's timers it does not apply: they
	// end connections themselves.
	MaxLinger int
	// MaxHalfOpen caps the connections whose handshake has not completed
	// (SYN sent or SYN-ACK sent); beyond it the oldest is evicted (counted)
	// and leaves a tomb that takes its retransmitted SYN/SYN-ACKs and RSTs.
	// A server's half-open connections last a round trip, so the cap only
	// bites under a SYN flood, whose memory it bounds; the flood's SYNs are
	// all counted by the syn_flood detector first. 0 means no cap. With
	// Zeek's timers it does not apply: Zeek ends attempts after 5 s itself.
	//
	// MaxFlows, MaxLinger and MaxHalfOpen are shared out between the flow
	// table's shards (Shards): each shard, a fixed slice of the 4-tuples by
	// hash, holds its share of each, and a full shard gives up one of its own
	// connections. Which connection that is then depends on that shard's
	// connections only, so that workers holding whole shards choose as one
	// engine does.
	MaxHalfOpen int
	// VerifyChecksums checks TCP checksums where the whole segment was captured.
	VerifyChecksums bool
	// CloseWaitLeak is how long an endpoint may sit in CLOSE_WAIT, with the
	// connection still alive, before close_wait_leak is reported.
	CloseWaitLeak time.Duration
	// LongIdle is the gap between two packets of a connection that makes a
	// long_idle finding (Zeek's tcp_inactivity_timeout is 5 min).
	LongIdle time.Duration
	// StuckTimeWait is how many segments a peer may send to an endpoint that
	// is in TIME_WAIT (each restarts its timer) before stuck_time_wait.
	StuckTimeWait int
	// OverlapBytes is how many of the latest payload bytes per direction are
	// kept to see whether retransmitted bytes differ from the first copy
	// (overlap_mismatch); 0 turns the check off. Memory is taken only by
	// connections that carry payload, and freed when they finish.
	OverlapBytes int
	// CompactClosed reports a connection as soon as it is over (closed or
	// reset) and keeps only a ~100-byte tomb for its linger instead of the
	// whole connection: memory then grows with the connections really open.
	// Stragglers are counted as late_packets instead of joining the flow, so
	// what they would show (stuck_time_wait, data_after_reset, a late RST in
	// the history) is not seen. Linux timers only.
	CompactClosed bool
	// Timers chooses how connections are ended and split: TimersLinux (the
	// default) or TimersZeek.
	Timers Timers
	// Workers is how many goroutines analyze connections (sharded by
	// 4-tuple); 0 picks one per core, at most 8. The report is the same for
	// any number.
	Workers int
	// Wide holds the thresholds of the capture-wide detectors.
	Wide wide.Config
	// liteFrom is how many connections still in their handshake a shard
	// holds before its new connections start lite (liteConn). The tests
	// that hold lite connections to whole ones set 0 (every one lite) and
	// liteNever (none). DefaultConfig sets liteFromDefault.
	liteFrom int
}

// Timers names a policy for ending and splitting connections.
type Timers string

// The timer policies.
const (
	// TimersLinux ends connections the way a Linux host forgets them: TIME_WAIT
	// for 60 s and conntrack's idle timeouts; a new SYN with a new ISN starts a
	// new generation. Flows then line up with tshark's TCP streams.
	TimersLinux Timers = "linux"
	// TimersZeek ends and splits connections with Zeek's timers (5 s attempt,
	// 5 s after a close or reset, the 6 s half-close check, 60 s / 5 min
	// inactivity) and its reuse rule, so that flows line up row for row with
	// Zeek's conn.log.
	TimersZeek Timers = "zeek"
)

// DefaultConfig returns the defaults, which follow Linux.
func DefaultConfig() Config {
	return Config{
		TimeWait:           60 * time.Second,
		HandshakeTimeout:   120 * time.Second,
		EstablishedTimeout: 5 * 24 * time.Hour,
		ClosingTimeout:     120 * time.Second,
		ClosedLinger:       60 * time.Second,
		MaxFlows:           1 << 17,
		MaxLinger:          1 << 13,
		MaxHalfOpen:        1 << 15,
		CloseWaitLeak:      5 * time.Second,
		Timers:             TimersLinux,
		OverlapBytes:       8 << 10,
		LongIdle:           5 * time.Minute,
		StuckTimeWait:      2,
		Wide:               wide.DefaultConfig(),
		liteFrom:           liteFromDefault,
	}
}

// Validate reports every setting that cannot be used.
func (c *Config) Validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"time-wait", c.TimeWait}, {"handshake-timeout", c.HandshakeTimeout},
		{"idle-timeout", c.EstablishedTimeout}, {"closing-timeout", c.ClosingTimeout},
		{"closed-linger", c.ClosedLinger}, {"close-wait-leak", c.CloseWaitLeak}, {"long-idle", c.LongIdle},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("--%s must be positive, not %v", d.name, d.v))
		}
	}
	if c.Timers != TimersLinux && c.Timers != TimersZeek {
		errs = append(errs, fmt.Errorf("--timers must be %q or %q, not %q", TimersLinux, TimersZeek, c.Timers))
	}
	if c.StuckTimeWait < 1 {
		errs = append(errs, fmt.Errorf("--stuck-time-wait must be at least 1"))
	}
	if c.OverlapBytes < 0 {
		errs = append(errs, fmt.Errorf("--overlap-bytes must not be negative"))
	}
	if c.Workers < 0 || c.Workers > 64 {
		errs = append(errs, fmt.Errorf("--workers must be between 0 (one per core) and 64"))
	}
	if c.MaxFlows < 0 {
		errs = append(errs, fmt.Errorf("--max-flows must not be negative"))
	}
	if c.MaxHalfOpen < 0 {
		errs = append(errs, fmt.Errorf("--max-half-open must not be negative"))
	}
	if c.MaxLinger < 0 {
		errs = append(errs, fmt.Errorf("--max-linger must not be negative"))
	}
	if err := c.Wide.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c *Config) timeouts() [flow.NumClasses]int64 {
	var t [flow.NumClasses]int64
	if c.Timers == TimersZeek {
		// Zeek's own timers end connections; the table only holds them.
		for i := range t {
			t[i] = 1 << 62
		}
		return t
	}
	t[flow.ClassHandshake] = int64(c.HandshakeTimeout)
	t[flow.ClassClosed] = int64(c.ClosedLinger)
	// A TIME_WAIT connection is finished by the fsm's own expiry; the table
	// timeout is a backstop a little longer than TIME_WAIT itself.
	t[flow.ClassTimeWait] = int64(c.TimeWait) + int64(c.ClosedLinger)
	t[flow.ClassClosing] = int64(c.ClosingTimeout)
	t[flow.ClassEstablished] = int64(c.EstablishedTimeout)
	return t
}

// minShardCap is the smallest share of a cap that a flow table shard gets:
// smaller caps split the table into fewer shards, down to one.
const minShardCap = 64

// Shards returns how many shards the flow table is split into: flow.MaxShards,
// or fewer when a cap is too small to share out (under minShardCap each). A
// Pipeline spreads whole shards over its workers, so it runs on at most this
// many.
func (c Config) Shards() int {
	n := flow.MaxShards
	for _, limit := range []int{c.MaxFlows, c.MaxLinger, c.MaxHalfOpen} {
		for limit > 0 && n > 1 && limit/n < minShardCap {
			n /= 2
		}
	}
	return n
}
