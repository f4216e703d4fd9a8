package wide

import (
	"fmt"
	"math"
	"net/netip"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// synEp is one SYN-flood episode of a destination, or several folded together.
type synEp struct {
	span
	syns, done uint64
	peakSec    uint32 // the busiest second
	peakWin    uint64 // the most SYNs in one window
	episodes   int
	src        addrSet
	ev         evidence
}

func (a *synEp) fold(o *synEp, limit int) {
	a.widen(o.span)
	a.syns += o.syns
	a.done += o.done
	a.peakSec = max(a.peakSec, o.peakSec)
	a.peakWin = max(a.peakWin, o.peakWin)
	a.episodes += o.episodes
	a.src.fold(&o.src, limit)
	a.ev.fold(&o.ev)
}

func (a *synEp) clone() *synEp {
	c := *a
	c.src = a.src.clone()
	return &c
}

func (a *synEp) completion() float64 {
	if a.syns == 0 {
		return 1
	}
	return math.Min(1, float64(a.done)/float64(a.syns))
}

// synDest is the live state of one destination.
type synDest struct {
	syn, done ring
	open      *synEp // the ongoing episode, nil while under the rate
	last      int64  // the latest SYN
}

type synFlood struct {
	cfg       *Config
	win       int    // window in seconds
	need      uint64 // SYNs in a window that make an episode
	live      map[netip.AddrPort]*synDest
	found     map[netip.AddrPort]*synEp
	lastSweep int64
	// recent holds destinations looked up lately and their entries, by
	// destSlot: a capture's SYNs go to a few servers, and a flood's to one
	// target, and hashing the 32-byte key for the map was a third of the
	// detector's time on the 1 M-source flood. forgetRecent drops a
	// destination's entry whenever the map forgets it.
	recent [recentDests]struct {
		key netip.AddrPort
		e   *synDest
	}
}

// recentDests is the size of synFlood's cache of destinations.
const recentDests = 32

// destSlot picks dst's place in the cache of recent destinations, from the
// low bytes of its address and its port.
func destSlot(dst netip.AddrPort) int {
	a := dst.Addr().As16()
	x := uint32(a[15]) | uint32(a[14])<<8 | uint32(dst.Port())<<16
	return int((x * 0x9e3779b1) >> 27) // the top 5 bits: 32 slots
}

// dest returns the live entry of dst, or nil.
func (s *synFlood) dest(dst netip.AddrPort) *synDest {
	r := &s.recent[destSlot(dst)]
	if r.e != nil && r.key == dst {
		return r.e
	}
	e := s.live[dst]
	if e != nil {
		r.key, r.e = dst, e
	}
	return e
}

// forgetRecent drops k's entry e from the cache of recent destinations,
// if it is there.
func (s *synFlood) forgetRecent(k netip.AddrPort, e *synDest) {
	if r := &s.recent[destSlot(k)]; r.e == e {
		r.e = nil
	}
}

func (s *synFlood) init(cfg *Config) {
	s.cfg = cfg
	s.win = seconds(cfg.SynFloodWindow)
	s.need = uint64(math.Max(1, math.Ceil(cfg.SynFloodRate*float64(s.win))))
	s.live = make(map[netip.AddrPort]*synDest)
	s.found = make(map[netip.AddrPort]*synEp)
}

func (s *synFlood) add(d *Detector, t int64, src, dst netip.AddrPort, frame uint64) {
	e := s.dest(dst)
	if e == nil {
		if !makeRoom(d, s.live, func() { s.sweep(d) }, synWeight, s.forgetRecent) {
			d.stats.Untracked++
			return
		}
		e = &synDest{syn: newRing(s.win), done: newRing(s.win)}
		s.live[dst] = e
		r := &s.recent[destSlot(dst)]
		r.key, r.e = dst, e
	}
	e.last = max(e.last, t)
	sc := sec(t)
	n := e.syn.add(sc)
	if n == 0 {
		d.stats.Late++
		return
	}
	if e.syn.sum < s.need {
		if e.open != nil {
			s.close(d, dst, e)
		}
		return
	}
	ep := e.open
	if ep == nil {
		ep = &synEp{span: span{e.syn.oldest(t), t}, syns: e.syn.sum, done: e.done.sumAt(sc), episodes: 1}
		e.open = ep
	} else {
		ep.syns++
	}
	ep.end = max(ep.end, t)
	ep.peakSec = max(ep.peakSec, n)
	ep.peakWin = max(ep.peakWin, e.syn.sum)
	if s.flood(ep) {
		// Sources matter only to a finding, which needs a low share of
		// completed handshakes: a busy server's clients are not collected
		// (the count stays a lower bound either way).
		ep.src.add(src.Addr(), d.cfg.MaxSources)
	}
	ep.ev.packet(frame, t)
}

func (s *synFlood) handshake(d *Detector, t int64, resp netip.AddrPort) {
	e := s.dest(resp)
	if e == nil {
		return
	}
	e.done.add(sec(t))
	if e.open != nil && t <= e.open.end+int64(s.win)*1e9 {
		e.open.done++
	}
}

// flood reports whether an episode had too few handshakes completed.
func (s *synFlood) flood(ep *synEp) bool {
	return float64(ep.done) < s.cfg.SynFloodMaxCompletion*float64(ep.syns)
}

func (s *synFlood) close(d *Detector, k netip.AddrPort, e *synDest) {
	ep := e.open
	e.open = nil
	if s.flood(ep) {
		flagged(d, s.found, k, ep)
	}
}

// synWeight is a destination's SYNs in the window, or keepKey during an
// episode (evicted keys have none to close).
func synWeight(e *synDest) uint64 {
	if e.open != nil {
		return keepKey
	}
	return e.syn.sum
}

// sweep closes episodes whose window has passed and forgets quiet keys.
func (s *synFlood) sweep(d *Detector) {
	if !sweepDue(&s.lastSweep, d.now) {
		return
	}
	w := int64(s.win) * 1e9
	for k, e := range s.live {
		if e.open != nil && d.now-e.open.end > w {
			s.close(d, k, e)
		}
		if e.open == nil && d.now-e.last > w {
			delete(s.live, k)
			s.forgetRecent(k, e)
		}
	}
}

func (s *synFlood) merge(d *Detector, o *synFlood) {
	mergeFound(d, s.found, o.live, o.found, func(k netip.AddrPort, e *synDest) {
		if e.open != nil {
			o.close(d, k, e)
		}
	})
}

func (s *synFlood) findings(d *Detector, out []finding) []finding {
	all := snapshot(s.found, s.live, func(e *synDest) *synEp {
		if e.open == nil || !s.flood(e.open) {
			return nil
		}
		return e.open
	}, d.cfg.MaxSources)
	for k, ep := range all {
		out = append(out, finding{kind: anomaly.SynFlood, start: ep.start, key: k.String(), a: s.report(k, ep)})
	}
	return out
}

func (s *synFlood) report(k netip.AddrPort, ep *synEp) report.Anomaly {
	ratio := ep.completion()
	det := map[string]any{
		"destination":           k.String(),
		"peak_syn_per_s":        ep.peakSec,
		"peak_window_syn_per_s": round(float64(ep.peakWin)/float64(s.win), 1),
		"distinct_sources":      len(ep.src.m),
		"completion_ratio":      round(ratio, 4),
		"handshakes_completed":  ep.done,
		"syns":                  ep.syns,
		"span_s":                round(ep.seconds(), 3),
		"start":                 report.Time(ep.start),
		"end":                   report.Time(ep.end),
		"episodes":              ep.episodes,
		"window_s":              s.win,
		"threshold_syn_per_s":   s.cfg.SynFloodRate,
		"max_completion_ratio":  s.cfg.SynFloodMaxCompletion,
	}
	srcs := fmt.Sprint(len(ep.src.m))
	if ep.src.capped {
		det["distinct_sources_capped"] = true
		srcs = "at least " + srcs
	}
	msg := fmt.Sprintf("SYN flood on %s: peak %d SYN/s from %s sources, %.1f%% of %d attempts completed the handshake, over %.1f s",
		k, ep.peakSec, srcs, ratio*100, ep.syns, ep.seconds())
	return newAnomaly(anomaly.SynFlood, ep.syns, msg, &ep.ev, det)
}
