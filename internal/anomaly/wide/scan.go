package wide

import (
	"fmt"
	"net/netip"
	"time"
	"unsafe"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/fixhash"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/prefetch"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// scanWin is one source's attempts in one scan window, or several flagged
// windows folded together.
type scanWin struct {
	span
	attempts, failed     uint64
	rejected, unanswered uint64 // REJ and S0 among the failed
	targets              map[netip.AddrPort]struct{}
	capped               bool
	windows              int
	ev                   evidence
	src                  netip.Addr
}

func (a *scanWin) addTarget(t netip.AddrPort, limit int) {
	if _, ok := a.targets[t]; ok {
		return
	}
	if len(a.targets) >= limit {
		a.capped = true
		return
	}
	if a.targets == nil {
		a.targets = make(map[netip.AddrPort]struct{})
	}
	a.targets[t] = struct{}{}
}

func (a *scanWin) fold(o *scanWin, limit int) {
	a.widen(o.span)
	a.attempts += o.attempts
	a.failed += o.failed
	a.rejected += o.rejected
	a.unanswered += o.unanswered
	a.capped = a.capped || o.capped
	for t := range o.targets {
		a.addTarget(t, limit)
	}
	a.windows += o.windows
	a.ev.fold(&o.ev)
}

func (a *scanWin) clone() *scanWin {
	c := *a
	c.targets = make(map[netip.AddrPort]struct{}, len(a.targets))
	for t := range a.targets {
		c.targets[t] = struct{}{}
	}
	return &c
}

type portScan struct {
	cfg *Config
	// live and found are keyed by addrKey of the source (8 bytes to hash
	// instead of a 24-byte netip.Addr); the window holds the address.
	live       map[uint64]*scanWin
	inLive     keyFilter // the keys of live, by scanHash
	found      map[uint64]*scanWin
	free       []*scanWin // closed windows that were no scan, for new ones
	probation  []scanTry  // first attempts of sources without a window, by hash; made when first needed
	probeSlots int        // its length, 0 when the thresholds allow no probation
	lastSweep  int64
}

func (s *portScan) init(cfg *Config) {
	s.cfg = cfg
	s.live = make(map[uint64]*scanWin)
	s.inLive = newKeyFilter(cfg.MaxKeys)
	s.found = make(map[uint64]*scanWin)
	// Probation holds one attempt per source: two attempts must not be
	// enough for a scan.
	if cfg.ScanMinTargets > 2 {
		s.probeSlots = probationSlots(cfg.MaxKeys)
	}
}

// failedAttempt reports whether a non-midstream flow's handshake never
// completed.
func failedAttempt(f *report.Flow) bool {
	switch f.ConnState {
	case "REJ", "S0", "SH", "RSTOS0":
		return true
	}
	for i := range f.Anomalies {
		switch f.Anomalies[i].Kind {
		case anomaly.HalfOpen.String(), anomaly.Rejected.String():
			return true
		}
	}
	return false
}

// scanTry is one connection attempt as the scan detector counts it. It takes
// the 64 bytes of a cache line: once the table is half full every flow's end
// touches a probation slot of a large array at random, and at 104 bytes a
// slot took two lines or three (5 % of a one-core run on a busy server's
// capture went to the detector). The addresses are kept as 16 bytes, IPv4
// ones mapped, with flags to tell them back.
type scanTry struct {
	t              int64 // the flow's start
	packet, flowID uint64
	src, resp      [16]byte
	respPort       uint16
	state          uint8 // 1 REJ, 2 S0, 0 another
	bits           uint8 // tryFailed, tryUsed, trySrc4, tryResp4
	_              [4]byte
}

// The flags of scanTry.bits.
const (
	tryFailed uint8 = 1 << iota // the handshake never completed
	tryUsed                     // the probation slot holds an attempt
	trySrc4                     // src is an IPv4 address
	tryResp4                    // resp is an IPv4 address
)

// newScanTry makes the attempt of a flow from orig to resp.
func newScanTry(f *report.Flow, orig, resp netip.AddrPort) scanTry {
	a := scanTry{t: int64(f.Start), packet: f.FirstPacket, flowID: f.ID,
		src: orig.Addr().As16(), resp: resp.Addr().As16(), respPort: resp.Port()}
	if failedAttempt(f) {
		a.bits |= tryFailed
	}
	if orig.Addr().Is4() {
		a.bits |= trySrc4
	}
	if resp.Addr().Is4() {
		a.bits |= tryResp4
	}
	switch f.ConnState {
	case "REJ":
		a.state = 1
	case "S0":
		a.state = 2
	}
	return a
}

// unmap gives back an address kept as 16 bytes.
func unmap(b [16]byte, is4 bool) netip.Addr {
	a := netip.AddrFrom16(b)
	if is4 {
		return a.Unmap()
	}
	return a
}

func (a *scanTry) srcAddr() netip.Addr { return unmap(a.src, a.bits&trySrc4 != 0) }

func (a *scanTry) target() netip.AddrPort {
	return netip.AddrPortFrom(unmap(a.resp, a.bits&tryResp4 != 0), a.respPort)
}

// sameSource reports whether a and o come from one address.
func (a *scanTry) sameSource(o *scanTry) bool {
	return a.src == o.src && (a.bits^o.bits)&trySrc4 == 0
}

func (s *portScan) add(d *Detector, f *report.Flow, orig, resp netip.AddrPort) {
	a := newScanTry(f, orig, resp)
	src := addrKey(orig.Addr())
	if s.probation == nil && s.probeSlots > 0 && 2*len(s.live) >= d.cfg.MaxKeys {
		s.probation = make([]scanTry, s.probeSlots)
	}
	h := scanHash(src)
	if s.probation != nil && s.window(src, h) == nil {
		// Once the table is half full, a source's first attempt waits in
		// a probation slot, which the next new source on the slot takes
		// over: most sources of a busy server's capture (one client, one
		// connection) then never need a window. The second attempt opens
		// one and replays the first.
		p := s.probeSlot(h)
		switch {
		case p.bits&tryUsed != 0 && p.sameSource(&a):
			first := *p
			p.bits &^= tryUsed
			s.attempt(d, src, &first)
		case 2*len(s.live) >= d.cfg.MaxKeys:
			if p.bits&tryUsed != 0 && a.t-p.t <= int64(s.cfg.ScanWindow) {
				d.stats.Evicted++ // its one attempt leaves the window unseen
			}
			*p = a
			p.bits |= tryUsed
			return
		}
	}
	s.attempt(d, src, &a)
}

// attempt counts one connection attempt in its source's window.
// src is the addrKey of a's source.
func (s *portScan) attempt(d *Detector, src uint64, a *scanTry) {
	t := a.t
	h := scanHash(src)
	w := s.window(src, h)
	if w != nil && t-w.start > int64(s.cfg.ScanWindow) {
		s.close(d, src, w)
		w = nil
	}
	if w == nil {
		if !makeRoom(d, s.live, func() { s.sweep(d) }, s.weight, func(k uint64, w *scanWin) { s.close(d, k, w) }) {
			d.stats.Untracked++
			return
		}
		w = s.newWin(t)
		w.src = a.srcAddr()
		s.live[src] = w
		s.inLive.add(h)
	}
	w.widen(span{t, t})
	w.attempts++
	if a.bits&tryFailed == 0 {
		return
	}
	w.failed++
	switch a.state {
	case 1:
		w.rejected++
	case 2:
		w.unanswered++
	}
	w.addTarget(a.target(), d.cfg.MaxSources)
	w.ev.packet(a.packet, t)
	w.ev.flow(a.flowID)
}

// weight ranks a source's window by its failed attempts, then all its
// attempts; a window that already shows a scan is kept.
func (s *portScan) weight(w *scanWin) uint64 {
	if s.scan(w) {
		return keepKey
	}
	return min(w.failed, 1<<31)<<32 | min(w.attempts, 1<<32-1)
}

// scan reports whether a window shows a scan.
func (s *portScan) scan(w *scanWin) bool {
	return len(w.targets) >= s.cfg.ScanMinTargets &&
		float64(w.failed) >= s.cfg.ScanMinFailedShare*float64(w.attempts)
}

// scanHash is the hash of a source's key: it picks its probation slot and
// its filter slot.
func scanHash(src uint64) uint64 { return fixhash.Mix64(src) }

// probeSlot returns the probation slot of a source of hash h; the
// probation table must exist.
func (s *portScan) probeSlot(h uint64) *scanTry { return &s.probation[h&uint64(len(s.probation)-1)] }

// prefetch asks for the filter slot and the probation slot that add will
// read for the source src, without waiting for them.
func (s *portScan) prefetch(src uint64) {
	h := scanHash(src)
	if s.inLive.n != nil {
		prefetch.ForRead(unsafe.Pointer(s.inLive.slot(h)), 1)
	}
	if s.probation != nil {
		prefetch.ForRead(unsafe.Pointer(s.probeSlot(h)), unsafe.Sizeof(scanTry{}))
	}
}

// window returns the live window of the source src (of hash h), or nil.
func (s *portScan) window(src, h uint64) *scanWin {
	if !s.inLive.mayHold(h) {
		return nil
	}
	return s.live[src]
}

func (s *portScan) close(d *Detector, k uint64, w *scanWin) {
	delete(s.live, k)
	s.inLive.remove(scanHash(k))
	if s.scan(w) {
		flagged(d, s.found, k, w)
	} else if len(s.free) < d.cfg.MaxKeys {
		if len(w.targets) > 64 {
			w.targets = nil // a big set is not worth keeping for a new window
		}
		s.free = append(s.free, w)
	}
}

// newWin returns a window opened at t, reusing a closed one that was no scan.
func (s *portScan) newWin(t int64) *scanWin {
	if n := len(s.free); n > 0 {
		w := s.free[n-1]
		s.free = s.free[:n-1]
		targets := w.targets
		clear(targets)
		*w = scanWin{span: span{t, t}, windows: 1, targets: targets}
		return w
	}
	return &scanWin{span: span{t, t}, windows: 1}
}

func (s *portScan) sweep(d *Detector) {
	if !sweepDue(&s.lastSweep, d.now) {
		return
	}
	for k, w := range s.live {
		if d.now-w.start > int64(s.cfg.ScanWindow) {
			s.close(d, k, w)
		}
	}
}

func (s *portScan) merge(d *Detector, o *portScan) {
	mergeFound(d, s.found, o.live, o.found, func(k uint64, w *scanWin) { o.close(d, k, w) })
}

func (s *portScan) findings(d *Detector, out []finding) []finding {
	all := snapshot(s.found, s.live, func(w *scanWin) *scanWin {
		if !s.scan(w) {
			return nil
		}
		return w
	}, d.cfg.MaxSources)
	for _, w := range all {
		out = append(out, finding{kind: anomaly.PortScan, start: w.start, key: w.src.String(), a: s.report(w.src, w)})
	}
	return out
}

func (s *portScan) report(k netip.Addr, w *scanWin) report.Anomaly {
	hosts := make(map[netip.Addr]struct{})
	ports := make(map[uint16]struct{})
	for t := range w.targets {
		hosts[t.Addr()] = struct{}{}
		ports[t.Port()] = struct{}{}
	}
	pattern := "mixed: many hosts and ports"
	switch {
	case len(hosts) == 1:
		pattern = "vertical: many ports on one host"
	case len(ports) == 1:
		pattern = "horizontal: one port on many hosts"
	}
	share := float64(w.failed) / float64(max(w.attempts, 1))
	det := map[string]any{
		"source":           k.String(),
		"distinct_targets": len(w.targets),
		"distinct_hosts":   len(hosts),
		"distinct_ports":   len(ports),
		"failed_attempts":  w.failed,
		"attempts":         w.attempts,
		"failed_share":     round(share, 4),
		"rejected":         w.rejected,
		"unanswered":       w.unanswered,
		"pattern":          pattern,
		"span_s":           round(w.seconds(), 3),
		"start":            report.Time(w.start),
		"end":              report.Time(w.end),
		"windows":          w.windows,
		"window_s":         s.cfg.ScanWindow.Seconds(),
	}
	targets := fmt.Sprint(len(w.targets))
	if w.capped {
		det["distinct_targets_capped"] = true
		targets = "at least " + targets
	}
	// The failed attempts that were neither refused nor unanswered were
	// left half-open (answered, and never acknowledged or reset by the
	// prober): nmap's SYN scan of an open port. Saying so makes the
	// breakdown add up.
	why := fmt.Sprintf("%d refused, %d unanswered", w.rejected, w.unanswered)
	if other := w.failed - w.rejected - w.unanswered; other > 0 {
		why += fmt.Sprintf(", %d left half-open", other)
	}
	msg := fmt.Sprintf("%s probed %s targets (%s, %s; %s): %d of %d attempts failed (%s) within %v",
		k, targets, count(len(hosts), "host"), count(len(ports), "port"), pattern, w.failed, w.attempts, why,
		time.Duration(w.end-w.start).Round(time.Millisecond))
	return newAnomaly(anomaly.PortScan, w.failed, msg, &w.ev, det)
}

// count writes n and the noun, in the plural unless n is 1.
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
