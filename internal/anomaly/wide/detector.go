package wide

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// Stats counts what the detectors could not track.
type Stats struct {
	// Untracked counts events for keys that found a full table (MaxKeys, or
	// MaxSources idle connections) even after idle and light keys made room.
	Untracked uint64
	// Evicted counts keys forgotten to make room in a full table: the keys
	// with the fewest events in their window, none with an ongoing episode.
	// Their counts start again from zero if they come back.
	Evicted uint64
	// Late counts events older than their key's window, which arrive when
	// the input is not in capture order.
	Late uint64
	// BadFlows counts flows whose addresses could not be parsed.
	BadFlows uint64
	// FindingsDropped counts flagged keys beyond MaxKeys.
	FindingsDropped uint64
}

// Detector runs the capture-wide detectors over a stream of events. It is not
// safe for concurrent use; shard and Merge instead.
type Detector struct {
	cfg     Config
	now     int64 // the latest capture time seen
	stats   Stats
	weights []uint64 // makeRoom's scratch

	syn  synFlood
	tw   twStorm
	scan portScan
	rst  rstStorm
	idle connFlood
}

// New returns a Detector with cfg; settings that Validate rejects are replaced
// by their defaults.
func New(cfg Config) *Detector {
	cfg = cfg.normalized()
	d := &Detector{cfg: cfg}
	d.syn.init(&cfg)
	d.tw.init(&cfg)
	d.scan.init(&cfg)
	d.rst.init(&cfg)
	d.idle.init(&cfg)
	return d
}

// Config returns the settings in use.
func (d *Detector) Config() Config { return d.cfg }

// Stats returns what could not be tracked.
func (d *Detector) Stats() Stats { return d.stats }

// Report returns the stats as the report's summary gives them.
func (s Stats) Report() report.WideStats {
	return report.WideStats{EvictedKeys: s.Evicted, UntrackedEvents: s.Untracked, LateEvents: s.Late, FindingsDropped: s.FindingsDropped}
}

func (d *Detector) clock(t int64) {
	if t > d.now {
		d.now = t
	}
}

// SYN records a new connection attempt: a pure SYN from src to dst at capture
// time t (nanoseconds) in packet frame. Call it once per attempt, not for
// retransmitted SYNs.
func (d *Detector) SYN(t int64, src, dst netip.AddrPort, frame uint64) {
	d.clock(t)
	d.syn.add(d, t, src, dst, frame)
}

// Handshake records that the handshake from orig to resp completed at t.
func (d *Detector) Handshake(t int64, orig, resp netip.AddrPort) {
	d.clock(t)
	d.syn.handshake(d, t, resp)
}

// TimeWait records that the connection flowID from orig to resp entered
// TIME_WAIT at t, in packet frame: origCloses says whether the originator
// sent the first FIN and so holds TIME_WAIT. Call it once per connection.
func (d *Detector) TimeWait(t int64, orig, resp netip.AddrPort, origCloses bool, flowID, frame uint64) {
	d.clock(t)
	d.tw.add(d, t, orig, resp, origCloses, flowID, frame)
}

// RST records a segment with RST from src to dst at t in packet frame.
func (d *Detector) RST(t int64, src, dst netip.AddrPort, frame uint64) {
	d.clock(t)
	d.rst.add(d, t, src, dst, frame)
}

// FlowEnd records a finished flow, for port scans and connection floods. The
// flow must have its ConnState, Midstream, Start, End, byte counts and
// anomalies filled in; it is not kept.
func (d *Detector) FlowEnd(f *report.Flow) {
	orig, err1 := netip.ParseAddrPort(f.Orig)
	resp, err2 := netip.ParseAddrPort(f.Resp)
	if err1 != nil || err2 != nil {
		d.stats.BadFlows++
		return
	}
	d.FlowEndAt(f, orig, resp)
}

// FlowEndAt is FlowEnd for a caller that has the endpoints at hand, which
// spares parsing them back from the flow's strings.
func (d *Detector) FlowEndAt(f *report.Flow, orig, resp netip.AddrPort) {
	if f.Midstream {
		return
	}
	d.clock(int64(f.Start))
	d.scan.add(d, f, orig, resp)
	d.idle.add(d, f, orig, resp)
}

// PrefetchFlowEnd asks for what FlowEndAt will read for a flow whose
// originator is orig, without waiting for it: a caller with other work to do
// first (the engine builds the flow's record) has the scan detector's
// slots, which a busy capture's new sources nearly always miss, come
// meanwhile.
func (d *Detector) PrefetchFlowEnd(orig netip.AddrPort) { d.scan.prefetch(addrKey(orig.Addr())) }

// Merge folds o into d; o must not be used afterwards. Call it once both have
// seen all their events. See the package doc for when it is exact.
func (d *Detector) Merge(o *Detector) {
	if o == nil || o == d {
		return
	}
	d.clock(o.now)
	d.stats.Untracked += o.stats.Untracked
	d.stats.Evicted += o.stats.Evicted
	d.stats.Late += o.stats.Late
	d.stats.BadFlows += o.stats.BadFlows
	d.stats.FindingsDropped += o.stats.FindingsDropped
	d.syn.merge(d, &o.syn)
	d.tw.merge(d, &o.tw)
	d.scan.merge(d, &o.scan)
	d.rst.merge(d, &o.rst)
	d.idle.merge(d, &o.idle)
}

// Findings returns the capture-wide anomalies found so far, ordered by kind,
// then start time, then key. It does not change the detector: ongoing
// episodes are reported as they stand.
func (d *Detector) Findings() []report.Anomaly {
	var fs []finding
	fs = d.syn.findings(d, fs)
	fs = d.tw.findings(d, fs)
	fs = d.scan.findings(d, fs)
	fs = d.rst.findings(d, fs)
	fs = d.idle.findings(d, fs)
	slices.SortFunc(fs, func(a, b finding) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.start, b.start), cmp.Compare(a.key, b.key))
	})
	out := make([]report.Anomaly, len(fs))
	for i := range fs {
		out[i] = fs[i].a
	}
	return out
}

// finding is a report entry with its sort keys.
type finding struct {
	kind  anomaly.Kind
	start int64
	key   string
	a     report.Anomaly
}

// newAnomaly starts a report entry of kind k with the catalog's severity.
func newAnomaly(k anomaly.Kind, count uint64, msg string, ev *evidence, details map[string]any) report.Anomaly {
	a := report.Anomaly{Kind: k.String(), Severity: k.Info().Severity, Count: count, Message: msg, Details: details}
	ev.into(&a)
	return a
}

// flagged adds to found[k] the episode e, within the MaxKeys cap.
func flagged[K comparable, E any, P interface {
	*E
	fold(*E, int)
}](d *Detector, found map[K]*E, k K, e *E) {
	if old := found[k]; old != nil {
		P(old).fold(e, d.cfg.MaxSources)
		return
	}
	if len(found) >= d.cfg.MaxKeys {
		d.stats.FindingsDropped++
		return
	}
	found[k] = e
}

// mergeFound folds another detector's state into found: closeOpen ends each
// of o's live keys (recording its episode in o's findings when it qualifies),
// then o's findings join found. Every detector with live keys and findings
// merges this way.
func mergeFound[K comparable, V any, E any, P interface {
	*E
	fold(*E, int)
}](d *Detector, found map[K]*E, oLive map[K]V, oFound map[K]*E, closeOpen func(K, V)) {
	for k, v := range oLive {
		closeOpen(k, v)
	}
	for k, ep := range oFound {
		flagged[K, E, P](d, found, k, ep)
	}
}

// sweepIdle forgets, at most once a second, the live keys not seen for idle
// ns of capture time, ending their open episode with closeOpen first.
func sweepIdle[K comparable, V any](d *Detector, lastSweep *int64, live map[K]V, idle int64, lastSeen func(V) int64, closeOpen func(K, V)) {
	if !sweepDue(lastSweep, d.now) {
		return
	}
	for k, v := range live {
		if d.now-lastSeen(v) > idle {
			closeOpen(k, v)
			delete(live, k)
		}
	}
}

// probationSlots returns the number of probation slots for tables of
// maxKeys keys: a power of two, at least maxKeys. The slots are made when a
// table first reaches half full, so a small capture never pays for them.
func probationSlots(maxKeys int) int {
	n := 1
	for n < maxKeys {
		n <<= 1
	}
	return n
}

// keepKey is the weight of a key that must not be evicted: its episode is
// under way.
const keepKey = math.MaxUint64

// makeRoom reports whether live, full, could be given room for a new key. It
// sweeps the idle keys first (sweep); when that frees nothing, it evicts the
// lighter half of the keys by weight (their events in the window), never
// one whose weight is keepKey, calling forget for each. A busy server's
// capture brings a new client with nearly every connection: without
// eviction the table filled with one-connection clients in seconds and went
// blind to every client after them, a storm's included. The lighter half is
// chosen by weight, not by the map's random order, so that the findings do
// not change from run to run; each pass frees half the table, so it costs
// O(1) a key.
func makeRoom[K comparable, V any](d *Detector, live map[K]V, sweep func(), weight func(V) uint64, forget func(K, V)) bool {
	if len(live) < d.cfg.MaxKeys {
		return true
	}
	sweep()
	if len(live) < d.cfg.MaxKeys {
		return true
	}
	// The lighter half: most keys of a busy table hold one or two events,
	// so a histogram of the small weights finds the limit in one pass; the
	// sort is for tables of heavier keys.
	var small [16]int
	for _, v := range live {
		if w := weight(v); w < uint64(len(small)) {
			small[w]++
		}
	}
	limit, n := uint64(keepKey-1), 0
	for w, c := range small {
		if n += c; 2*n >= len(live) {
			limit = uint64(w)
			break
		}
	}
	if limit == keepKey-1 {
		ws := d.weights[:0]
		for _, v := range live {
			ws = append(ws, weight(v))
		}
		slices.Sort(ws)
		limit = min(ws[len(ws)/2], keepKey-1)
		d.weights = ws
	}
	// The survivors go back into the emptied map: deleting half the keys one
	// by one left the map's probe sequences long with deleted slots.
	type kv struct {
		k K
		v V
	}
	var kept []kv
	for k, v := range live {
		if weight(v) <= limit {
			forget(k, v)
			d.stats.Evicted++
		} else {
			kept = append(kept, kv{k, v})
		}
	}
	clear(live)
	for _, e := range kept {
		live[e.k] = e.v
	}
	return len(live) < d.cfg.MaxKeys
}

// episode is what the detectors keep per finding: it folds another episode of
// the same key into itself and clones itself deeply.
type episode[E any] interface {
	*E
	fold(*E, int)
	clone() *E
}

// snapshot returns the findings of a detector as they stand, without changing
// it: a copy of each reported episode, with the key's open episode folded in
// when open returns one.
func snapshot[K comparable, V any, E any, P episode[E]](found map[K]*E, live map[K]V, open func(V) *E, maxSources int) map[K]*E {
	all := make(map[K]*E, len(found))
	for k, ep := range found {
		all[k] = P(ep).clone()
	}
	for k, v := range live {
		ep := open(v)
		if ep == nil {
			continue
		}
		if a := all[k]; a != nil {
			P(a).fold(ep, maxSources)
		} else {
			all[k] = P(ep).clone()
		}
	}
	return all
}

// sweepDue reports whether a full table may be swept now: at most once per
// second of capture time, so a table full of live keys costs no more.
func sweepDue(last *int64, now int64) bool {
	if *last != 0 && now-*last < int64(time.Second) {
		return false
	}
	*last = now
	return true
}
