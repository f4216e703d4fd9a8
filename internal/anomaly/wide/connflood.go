package wide

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// idleConn is one idle established connection.
type idleConn struct {
	start, end int64
	flow, pkt  uint64
	dst        netip.Addr
}

type connFlood struct {
	cfg   *Config
	conns map[netip.Addr][]idleConn
	n     int // all idle connections kept
}

func (s *connFlood) init(cfg *Config) {
	s.cfg = cfg
	s.conns = make(map[netip.Addr][]idleConn)
}

// established reports whether a flow's handshake completed.
func established(f *report.Flow) bool {
	switch f.ConnState {
	case "S1", "SF", "S2", "S3", "RSTO", "RSTR":
	default:
		return false
	}
	return !failedAttempt(f)
}

func (s *connFlood) idle(f *report.Flow) bool {
	dur := int64(f.End - f.Start)
	if dur < int64(s.cfg.ConnFloodMinHold) || dur <= 0 || !established(f) {
		return false
	}
	rate := float64(f.OrigBytes+f.RespBytes) / (float64(dur) / 1e9)
	return rate <= s.cfg.ConnFloodMaxRate
}

func (s *connFlood) add(d *Detector, f *report.Flow, orig, resp netip.AddrPort) {
	if !s.idle(f) {
		return
	}
	if s.n >= d.cfg.MaxSources {
		d.stats.Untracked++
		return
	}
	k := orig.Addr()
	s.conns[k] = append(s.conns[k], idleConn{int64(f.Start), int64(f.End), f.ID, f.FirstPacket, resp.Addr()})
	s.n++
}

func (s *connFlood) merge(d *Detector, o *connFlood) {
	for k, cs := range o.conns {
		s.conns[k] = append(s.conns[k], cs...)
		s.n += len(cs)
	}
}

func (s *connFlood) findings(d *Detector, out []finding) []finding {
	for k, cs := range s.conns {
		if len(cs) < s.cfg.ConnFloodIdle {
			continue
		}
		if a, start, ok := s.report(k, cs); ok {
			out = append(out, finding{kind: anomaly.ConnectionFlood, start: start, key: k.String(), a: a})
		}
	}
	return out
}

// report finds the most idle connections from one source open at one moment.
func (s *connFlood) report(k netip.Addr, cs []idleConn) (report.Anomaly, int64, bool) {
	type edge struct {
		t     int64
		delta int
	}
	edges := make([]edge, 0, 2*len(cs))
	for _, c := range cs {
		edges = append(edges, edge{c.start, 1}, edge{c.end, -1})
	}
	// At equal times a connection that ends is gone before one that starts.
	slices.SortFunc(edges, func(a, b edge) int { return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.delta, b.delta)) })
	open, peak, at := 0, 0, int64(0)
	for _, e := range edges {
		open += e.delta
		if open > peak {
			peak, at = open, e.t
		}
	}
	if peak < s.cfg.ConnFloodIdle {
		return report.Anomaly{}, 0, false
	}
	sorted := slices.Clone(cs)
	slices.SortFunc(sorted, func(a, b idleConn) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.flow, b.flow))
	})
	var ev evidence
	dsts := make(map[netip.Addr]struct{})
	sp := span{sorted[0].start, sorted[0].end}
	for _, c := range sorted {
		dsts[c.dst] = struct{}{}
		sp.widen(span{c.start, c.end})
		if c.start <= at && at <= c.end {
			ev.packet(c.pkt, c.start)
			ev.flow(c.flow)
		}
	}
	det := map[string]any{
		"source":                k.String(),
		"peak_concurrent":       peak,
		"peak_at":               report.Time(at),
		"idle_connections":      len(cs),
		"distinct_destinations": len(dsts),
		"span_s":                round(sp.seconds(), 3),
		"start":                 report.Time(sp.start),
		"end":                   report.Time(sp.end),
		"threshold":             s.cfg.ConnFloodIdle,
		"min_hold_s":            s.cfg.ConnFloodMinHold.Seconds(),
		"max_idle_bytes_per_s":  s.cfg.ConnFloodMaxRate,
	}
	msg := fmt.Sprintf("%s held %d established but idle connections open at once (at %s), %d idle connections to %d destinations in all",
		k, peak, report.Time(at), len(cs), len(dsts))
	return newAnomaly(anomaly.ConnectionFlood, uint64(len(cs)), msg, &ev, det), sp.start, true
}
