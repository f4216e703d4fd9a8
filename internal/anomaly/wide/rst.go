package wide

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// rstEp is one RST storm episode of a sender, or several folded together.
type rstEp struct {
	span
	rsts     uint64
	peakSec  uint32
	peakWin  uint64
	episodes int
	peers    addrSet
	ev       evidence
}

func (a *rstEp) fold(o *rstEp, limit int) {
	a.widen(o.span)
	a.rsts += o.rsts
	a.peakSec = max(a.peakSec, o.peakSec)
	a.peakWin = max(a.peakWin, o.peakWin)
	a.episodes += o.episodes
	a.peers.fold(&o.peers, limit)
	a.ev.fold(&o.ev)
}

func (a *rstEp) clone() *rstEp {
	c := *a
	c.peers = a.peers.clone()
	return &c
}

type rstSrc struct {
	win  ring
	open *rstEp
	last int64
}

type rstStorm struct {
	cfg       *Config
	win       int
	live      map[netip.Addr]*rstSrc
	found     map[netip.Addr]*rstEp
	lastSweep int64
}

func (s *rstStorm) init(cfg *Config) {
	s.cfg = cfg
	s.win = seconds(cfg.RSTStormWindow)
	s.live = make(map[netip.Addr]*rstSrc)
	s.found = make(map[netip.Addr]*rstEp)
}

func (s *rstStorm) add(d *Detector, t int64, src, dst netip.AddrPort, frame uint64) {
	k := src.Addr()
	e := s.live[k]
	if e == nil {
		if !makeRoom(d, s.live, func() { s.sweep(d) }, rstWeight, func(k netip.Addr, e *rstSrc) { s.closeOpen(d, k, e) }) {
			d.stats.Untracked++
			return
		}
		e = &rstSrc{win: newRing(s.win)}
		s.live[k] = e
	}
	e.last = max(e.last, t)
	n := e.win.add(sec(t))
	if n == 0 {
		d.stats.Late++
		return
	}
	if e.win.sum < uint64(s.cfg.RSTStormCount) {
		s.closeOpen(d, k, e)
		return
	}
	ep := e.open
	if ep == nil {
		ep = &rstEp{span: span{e.win.oldest(t), t}, rsts: e.win.sum, episodes: 1}
		e.open = ep
	} else {
		ep.rsts++
	}
	ep.end = max(ep.end, t)
	ep.peakSec = max(ep.peakSec, n)
	ep.peakWin = max(ep.peakWin, e.win.sum)
	ep.peers.add(dst.Addr(), d.cfg.MaxSources)
	ep.ev.packet(frame, t)
}

// rstWeight is a sender's RSTs in the window, or keepKey during an episode.
func rstWeight(e *rstSrc) uint64 {
	if e.open != nil {
		return keepKey
	}
	return e.win.sum
}

// closeOpen records k's open episode, if any, as a finding.
func (s *rstStorm) closeOpen(d *Detector, k netip.Addr, e *rstSrc) {
	if ep := e.open; ep != nil {
		e.open = nil
		flagged(d, s.found, k, ep)
	}
}

func (s *rstStorm) sweep(d *Detector) {
	sweepIdle(d, &s.lastSweep, s.live, int64(s.win)*1e9, func(e *rstSrc) int64 { return e.last },
		func(k netip.Addr, e *rstSrc) { s.closeOpen(d, k, e) })
}

func (s *rstStorm) merge(d *Detector, o *rstStorm) {
	mergeFound(d, s.found, o.live, o.found, func(k netip.Addr, e *rstSrc) { o.closeOpen(d, k, e) })
}

func (s *rstStorm) findings(d *Detector, out []finding) []finding {
	all := snapshot(s.found, s.live, func(e *rstSrc) *rstEp { return e.open }, d.cfg.MaxSources)
	for k, ep := range all {
		out = append(out, finding{kind: anomaly.RSTStorm, start: ep.start, key: k.String(), a: s.report(k, ep)})
	}
	return out
}

func (s *rstStorm) report(k netip.Addr, ep *rstEp) report.Anomaly {
	det := map[string]any{
		"source":         k.String(),
		"peak_count":     ep.peakWin,
		"peak_rst_per_s": ep.peakSec,
		"rsts":           ep.rsts,
		"distinct_peers": len(ep.peers.m),
		"span_s":         round(ep.seconds(), 3),
		"start":          report.Time(ep.start),
		"end":            report.Time(ep.end),
		"episodes":       ep.episodes,
		"window_s":       s.win,
		"threshold":      s.cfg.RSTStormCount,
	}
	peers := fmt.Sprint(len(ep.peers.m))
	if ep.peers.capped {
		det["distinct_peers_capped"] = true
		peers = "at least " + peers
	}
	msg := fmt.Sprintf("RST storm from %s: up to %d RSTs within %v (peak %d RST/s) to %s peers, %d RSTs over %.1f s",
		k, ep.peakWin, time.Duration(s.win)*time.Second, ep.peakSec, peers, ep.rsts, ep.seconds())
	return newAnomaly(anomaly.RSTStorm, ep.rsts, msg, &ep.ev, det)
}
