package wide

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// filterHoldsLive checks the keyFilter invariant of both filtered tables:
// every live key is reported as maybe held.
func filterHoldsLive(d *Detector) error {
	for k := range d.tw.live {
		if !d.tw.inLive.mayHold(twHash(k)) {
			return fmt.Errorf("time-wait key %+v is live but the filter says no", k)
		}
	}
	for k := range d.scan.live {
		if !d.scan.inLive.mayHold(scanHash(k)) {
			return fmt.Errorf("scan key %x is live but the filter says no", k)
		}
	}
	return nil
}

// TestKeyFilterFollowsLiveKeys drives the TIME_WAIT and scan detectors with
// a small table through everything that adds and removes keys (new keys,
// probation, evictions when full, idle sweeps, scan windows that end) and
// checks after each event that no live key is hidden by the filter, and at
// the end that the filters count exactly the keys the tables hold.
func TestKeyFilterFollowsLiveKeys(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxKeys = 64
	d := New(cfg)
	rng := rand.New(rand.NewPCG(1, 2))
	server := ap("192.0.2.10:443")
	tm := at(0)
	for i := 0; i < 20000; i++ {
		tm += int64(rng.IntN(40)) * 1e6 // up to 40 ms apart: sweeps and windows come due
		// Few heavy clients among many light ones, so that keys both stay
		// and churn.
		c := rng.IntN(300)
		if rng.IntN(4) == 0 {
			c = rng.IntN(4)
		}
		client := netip.AddrPortFrom(host(c), uint16(30000+rng.IntN(1000)))
		d.TimeWait(tm, client, server, rng.IntN(2) == 0, uint64(i+1), uint64(i+1))
		f := report.Flow{ConnState: "SF", Start: report.Time(tm), End: report.Time(tm + 1e6)}
		if rng.IntN(3) == 0 {
			f.ConnState = "REJ"
		}
		d.FlowEndAt(&f, client, netip.AddrPortFrom(host(1<<16+rng.IntN(50)), 22))
		if err := filterHoldsLive(d); err != nil {
			t.Fatalf("event %d: %v", i+1, err)
		}
	}
	if st := d.Stats(); st.Evicted == 0 {
		t.Fatalf("nothing evicted: the tables never filled (%+v)", st)
	}
	// Each key added is removed once: the counts add up to the tables.
	for name, f := range map[string]*keyFilter{"time-wait": &d.tw.inLive, "scan": &d.scan.inLive} {
		n := 0
		for _, c := range f.n {
			n += int(c)
		}
		if want := map[string]int{"time-wait": len(d.tw.live), "scan": len(d.scan.live)}[name]; n != want {
			t.Errorf("%s filter counts %d keys, the table holds %d", name, n, want)
		}
	}
}

// TestPrefetchFlowEndIsOnlyAHint asks ahead for the slots of IPv4 and IPv6
// sources before and after the scan detector's probation table exists, and
// checks that the stats and findings are what they are without asking.
func TestPrefetchFlowEndIsOnlyAHint(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxKeys = 64
	var d0 *Detector
	run := func(ask bool) string {
		d := New(cfg)
		d0 = d
		for i := 0; i < 4000; i++ {
			// Scanners (a few sources, many ports) among many one-off
			// sources, which fill the table and then the probation slots.
			client := netip.AddrPortFrom(host(1000+i), uint16(30000+i%1000))
			switch {
			case i%3 == 0:
				client = netip.AddrPortFrom(host(i%5), uint16(30000+i%1000))
			case i%7 == 0:
				client = netip.MustParseAddrPort(fmt.Sprintf("[2001:db8::%x]:%d", i, 30000+i%1000))
			}
			if ask {
				d.PrefetchFlowEnd(client)
			}
			server := netip.AddrPortFrom(host(1<<16), uint16(1+i%2000))
			f := report.Flow{ConnState: "REJ", Start: report.Time(at(0) + int64(i)*1e6), End: report.Time(at(0) + int64(i)*1e6 + 1e5)}
			d.FlowEndAt(&f, client, server)
		}
		return fmt.Sprintf("%+v %v", d.Stats(), d.Findings())
	}
	without, with := run(false), run(true)
	if len(d0.Findings()) == 0 || d0.scan.probation == nil || d0.Stats().Evicted == 0 {
		t.Fatalf("%s: the scan detector's probation was not exercised", with)
	}
	if with != without {
		t.Errorf("stats and findings differ with PrefetchFlowEnd:\n%s\nwithout:\n%s", with, without)
	}
}
