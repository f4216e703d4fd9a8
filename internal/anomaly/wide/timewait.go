package wide

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/fixhash"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// twKey names the tuples that share one client's ephemeral ports: the client
// (originator) address and the server address and port.
type twKey struct {
	client netip.Addr
	server netip.AddrPort
}

func (k twKey) String() string { return k.client.String() + " -> " + k.server.String() }

// twID is a twKey as the maps hold it: the addresses as addrKey keys, 24
// bytes instead of 56 to hash and compare. A busy server's capture makes a
// new key for nearly every connection (one per client), and the map's
// lookups and sweeps were most of the detector's cost.
type twID struct {
	client, server uint64
	port           uint16
}

// twHash is the hash of a key: it picks its probation slot and its filter
// slot.
func twHash(k twID) uint64 { return fixhash.Mix64(k.client ^ fixhash.Mix64(k.server^uint64(k.port))) }

func twIDOf(k twKey) twID {
	return twID{client: addrKey(k.client), server: addrKey(k.server.Addr()), port: k.server.Port()}
}

// twEp is one TIME_WAIT storm episode, or several folded together.
type twEp struct {
	span
	conns              uint64 // connections that entered TIME_WAIT during the episode
	byClient, byServer uint64 // ... by which side closed first
	peak               uint64 // the most tuples held at once
	peakRate           float64
	episodes           int
	ev                 evidence
	key                twKey
}

func (a *twEp) clone() *twEp {
	c := *a
	return &c
}

func (a *twEp) fold(o *twEp, _ int) {
	a.widen(o.span)
	a.conns += o.conns
	a.byClient += o.byClient
	a.byServer += o.byServer
	a.peak = max(a.peak, o.peak)
	a.peakRate = max(a.peakRate, o.peakRate)
	a.episodes += o.episodes
	a.ev.fold(&o.ev)
}

type twEntry struct {
	client, server ring // TIME_WAIT entries by closer, over TimeWaitLen
	rate           ring // all entries, over TimeWaitRateWindow
	open           *twEp
	last           int64
}

type twStorm struct {
	cfg        *Config
	win, rwin  int
	warn, fail uint64 // tuples held for a warning, an error
	live       map[twID]*twEntry
	inLive     keyFilter // the keys of live, by twHash
	found      map[twID]*twEp
	free       []*twEntry // forgotten entries, for new keys
	probation  []twFirst  // first events of keys without an entry, by hash; made when first needed
	probeSlots int        // its length, 0 when the thresholds allow no probation
	lastSweep  int64
}

func (s *twStorm) init(cfg *Config) {
	s.cfg = cfg
	s.win = seconds(cfg.TimeWaitLen)
	s.rwin = seconds(cfg.TimeWaitRateWindow)
	s.warn = uint64(math.Max(1, math.Ceil(cfg.TimeWaitWarnShare*float64(cfg.EphemeralPorts))))
	s.fail = uint64(math.Max(1, math.Ceil(cfg.TimeWaitErrorShare*float64(cfg.EphemeralPorts))))
	s.live = make(map[twID]*twEntry)
	s.inLive = newKeyFilter(cfg.MaxKeys)
	s.found = make(map[twID]*twEp)
	// Probation needs two events to stay below every threshold: one could
	// never open an episode, the other must not be kept from opening one.
	if s.warn > 2 && !s.exhausting(2/float64(s.rwin)) {
		s.probeSlots = probationSlots(cfg.MaxKeys)
	}
}

// exhausting reports whether rate (connections per second) fills the range
// within one TIME_WAIT length.
func (s *twStorm) exhausting(rate float64) bool {
	return rate*float64(s.win) >= float64(s.cfg.EphemeralPorts)
}

// twFirst is a key's first TIME_WAIT entry, waiting in probation.
type twFirst struct {
	id            twID
	t             int64
	flowID, frame uint64
	origCloses    bool
	used          bool
	// The padding makes a slot a cache line: the probation array is a
	// large allocation, so line-aligned, and a 56-byte slot straddled two
	// lines seven times in eight.
	_ [14]byte
}

func (s *twStorm) add(d *Detector, t int64, orig, resp netip.AddrPort, origCloses bool, flowID, frame uint64) {
	key := twKey{orig.Addr(), resp}
	k := twIDOf(key)
	h := twHash(k)
	var e *twEntry
	if s.inLive.mayHold(h) {
		e = s.live[k]
	}
	if e == nil {
		// Once the table is half full, a key's first event waits in a
		// probation slot, which the next new key on the slot takes over:
		// most keys of a busy server's capture (one client, one
		// connection) then never need an entry. The second event makes
		// the entry and replays the first.
		var first twFirst
		if s.probation == nil && s.probeSlots > 0 && 2*len(s.live) >= d.cfg.MaxKeys {
			s.probation = make([]twFirst, s.probeSlots)
		}
		if s.probation != nil {
			p := &s.probation[h&uint64(len(s.probation)-1)]
			switch {
			case p.used && p.id == k:
				first, p.used = *p, false
			case 2*len(s.live) >= d.cfg.MaxKeys:
				if p.used && sec(t)-sec(p.t) < int64(s.win) {
					d.stats.Evicted++ // its one event leaves the window unseen
				}
				*p = twFirst{id: k, t: t, flowID: flowID, frame: frame, origCloses: origCloses, used: true}
				return
			}
		}
		if !makeRoom(d, s.live, func() { s.sweep(d) }, twWeight, func(k twID, e *twEntry) { s.forget(d, k, e) }) {
			d.stats.Untracked++
			return
		}
		e = s.newEntry()
		s.live[k] = e
		s.inLive.add(h)
		if first.used {
			s.count(d, k, key, e, first.t, first.origCloses, first.flowID, first.frame)
		}
	}
	s.count(d, k, key, e, t, origCloses, flowID, frame)
}

// count adds one connection entering TIME_WAIT to key's entry.
func (s *twStorm) count(d *Detector, k twID, key twKey, e *twEntry, t int64, origCloses bool, flowID, frame uint64) {
	e.last = max(e.last, t)
	sc := sec(t)
	e.client.advance(sc)
	e.server.advance(sc)
	var n uint32
	if origCloses {
		n = e.client.add(sc)
	} else {
		n = e.server.add(sc)
	}
	if n == 0 {
		d.stats.Late++
		return
	}
	e.rate.add(sc)
	held := e.client.sum + e.server.sum
	rate := float64(e.rate.sum) / float64(s.rwin)
	if held < s.warn && !s.exhausting(rate) {
		s.closeOpen(d, k, e)
		return
	}
	ep := e.open
	if ep == nil {
		start := min(e.client.oldest(t), e.server.oldest(t))
		ep = &twEp{span: span{start, t}, conns: held, byClient: e.client.sum, byServer: e.server.sum, episodes: 1, key: key}
		e.open = ep
	} else {
		ep.conns++
		if origCloses {
			ep.byClient++
		} else {
			ep.byServer++
		}
	}
	ep.end = max(ep.end, t)
	ep.peak = max(ep.peak, held)
	ep.peakRate = max(ep.peakRate, rate)
	ep.ev.packet(frame, t)
	ep.ev.flow(flowID)
}

// closeOpen records k's open episode, if any, as a finding.
func (s *twStorm) closeOpen(d *Detector, k twID, e *twEntry) {
	if ep := e.open; ep != nil {
		e.open = nil
		flagged(d, s.found, k, ep)
	}
}

func (s *twStorm) sweep(d *Detector) {
	sweepIdle(d, &s.lastSweep, s.live, int64(s.win)*1e9, func(e *twEntry) int64 { return e.last },
		func(k twID, e *twEntry) { s.forget(d, k, e) })
}

// twWeight is a key's tuples in TIME_WAIT, or keepKey during an episode.
func twWeight(e *twEntry) uint64 {
	if e.open != nil {
		return keepKey
	}
	return e.client.sum + e.server.sum
}

// forget ends k's open episode, if any, and keeps e for a later key.
func (s *twStorm) forget(d *Detector, k twID, e *twEntry) {
	s.inLive.remove(twHash(k))
	s.closeOpen(d, k, e)
	if len(s.free) < d.cfg.MaxKeys {
		s.free = append(s.free, e)
	}
}

// newEntry returns an empty entry, reusing a forgotten one and its rings.
func (s *twStorm) newEntry() *twEntry {
	if n := len(s.free); n > 0 {
		e := s.free[n-1]
		s.free = s.free[:n-1]
		e.client.reset()
		e.server.reset()
		e.rate.reset()
		e.open, e.last = nil, 0
		return e
	}
	return &twEntry{client: newRing(s.win), server: newRing(s.win), rate: newRing(s.rwin)}
}

func (s *twStorm) merge(d *Detector, o *twStorm) {
	mergeFound(d, s.found, o.live, o.found, func(k twID, e *twEntry) { o.closeOpen(d, k, e) })
}

func (s *twStorm) findings(d *Detector, out []finding) []finding {
	all := snapshot(s.found, s.live, func(e *twEntry) *twEp { return e.open }, 0)
	for _, ep := range all {
		out = append(out, finding{kind: anomaly.TimeWaitStorm, start: ep.start, key: ep.key.String(), a: s.report(ep.key, ep)})
	}
	return out
}

func (s *twStorm) report(k twKey, ep *twEp) report.Anomaly {
	ports := float64(s.cfg.EphemeralPorts)
	closer, holder := "client", "the client "+k.client.String()+" closes first and holds TIME_WAIT, using up its ephemeral ports"
	switch {
	case ep.byClient == 0:
		closer, holder = "server", "the server "+k.server.String()+" closes first and holds TIME_WAIT, so new SYNs from the client meet TIME_WAIT sockets"
	case ep.byServer > 0:
		closer, holder = "both", fmt.Sprintf("both sides close first (client %d times, server %d times)", ep.byClient, ep.byServer)
	}
	det := map[string]any{
		"client":           k.client.String(),
		"server":           k.server.String(),
		"peak_count":       ep.peak,
		"peak_share":       round(float64(ep.peak)/ports, 4),
		"rate_per_s":       round(ep.peakRate, 1),
		"closer":           closer,
		"closed_by_client": ep.byClient,
		"closed_by_server": ep.byServer,
		"connections":      ep.conns,
		"ephemeral_ports":  s.cfg.EphemeralPorts,
		"time_wait_s":      s.win,
		"span_s":           round(ep.seconds(), 3),
		"start":            report.Time(ep.start),
		"end":              report.Time(ep.end),
		"episodes":         ep.episodes,
	}
	exhaust := ""
	if ep.peakRate > 0 {
		in := ports / ep.peakRate
		det["ports_exhausted_in_s"] = round(in, 1)
		exhaust = fmt.Sprintf("; at %.0f connections/s the %d ports last %.0f s", ep.peakRate, s.cfg.EphemeralPorts, in)
	}
	msg := fmt.Sprintf("TIME_WAIT storm from %s to %s: up to %d connections in TIME_WAIT within %v (%.0f%% of %d ephemeral ports)%s; %s",
		k.client, k.server, ep.peak, time.Duration(s.win)*time.Second, 100*float64(ep.peak)/ports, s.cfg.EphemeralPorts, exhaust, holder)
	a := newAnomaly(anomaly.TimeWaitStorm, ep.conns, msg, &ep.ev, det)
	if ep.peak >= s.fail {
		a.Severity = report.SeverityError
	}
	return a
}
