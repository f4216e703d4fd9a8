package fsm

import (
	"strings"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// zp is one packet for the Zeek model.
type zp struct {
	dir   segment.Dir
	flags segment.Flags
	seq   uint32
	ack   uint32
	plen  int
	h     ZeekHints
	win   uint16
}

func feedZeek(z *Zeek, ps []zp) (eff ZeekEffect) {
	for i, p := range ps {
		s := seg(uint64(i+1), p.flags, p.seq, p.ack, p.plen)
		s.Window = 1000
		if p.win != 0 {
			s.Window = p.win
		}
		if p.win == 0xFFFF {
			s.Window = 0
		}
		eff |= z.Update(p.dir, s, p.h)
	}
	return eff
}

var (
	zSyn    = zp{dir: O, flags: fS, seq: 100}
	zSynAck = zp{dir: R, flags: fSA, seq: 500, ack: 101}
	zAck    = zp{dir: O, flags: fA, seq: 101, ack: 501}
)

func TestZeekConnStates(t *testing.T) {
	hs := []zp{zSyn, zSynAck, zAck}
	cases := []struct {
		name    string
		flip    bool
		ps      []zp
		state   string
		history string
	}{
		{"S0", false, []zp{zSyn}, "S0", "S"},
		{"REJ", false, []zp{zSyn, {dir: R, flags: fRA, ack: 101}}, "REJ", "Sr"},
		{"S1", false, hs, "S1", "ShA"},
		{"SF", false, append(hs[:3:3],
			zp{dir: O, flags: fPA, seq: 101, ack: 501, plen: 10},
			zp{dir: R, flags: fPA, seq: 501, ack: 111, plen: 20},
			zp{dir: O, flags: fFA, seq: 111, ack: 521},
			zp{dir: R, flags: fA, seq: 521, ack: 112},
			zp{dir: R, flags: fFA, seq: 521, ack: 112},
			zp{dir: O, flags: fA, seq: 112, ack: 522}), "SF", "ShADdFaf"},
		{"S2", false, append(hs[:3:3], zp{dir: O, flags: fFA, seq: 101, ack: 501}), "S2", "ShAF"},
		{"S3", false, append(hs[:3:3], zp{dir: R, flags: fFA, seq: 501, ack: 101}), "S3", "ShAf"},
		{"RSTO", false, append(hs[:3:3], zp{dir: O, flags: fR, seq: 101}), "RSTO", "ShAR"},
		{"RSTR", false, append(hs[:3:3], zp{dir: R, flags: fR, seq: 501}), "RSTR", "ShAr"},
		{"RSTOS0", false, []zp{zSyn, {dir: O, flags: fR, seq: 101}}, "RSTOS0", "SR"},
		{"RSTOS0 after ACK from resp", false, []zp{zSyn, {dir: R, flags: fA, seq: 7, ack: 101}, {dir: O, flags: fR, seq: 101}}, "RSTOS0", "SaR"},
		{"RSTRH", true, []zp{{dir: R, flags: fSA, seq: 500, ack: 101}, {dir: R, flags: fR, seq: 501}}, "RSTRH", "^hr"},
		{"SH", false, []zp{zSyn, {dir: O, flags: fF, seq: 101}}, "SH", "SF"},
		{"SHR", true, []zp{{dir: R, flags: fFA, seq: 500, ack: 100}}, "SHR", "^f"},
		{"OTH data only", false, []zp{{dir: O, flags: fPA, seq: 100, ack: 7, plen: 5}}, "OTH", "D"},
		{"OTH lone RST", false, []zp{{dir: O, flags: fR, seq: 100}}, "OTH", "R"},
		{"OTH SYN-FIN-RST", false, []zp{zSyn, {dir: R, flags: fA, seq: 7, ack: 101}, {dir: O, flags: fF, seq: 101}, {dir: O, flags: fR, seq: 102}}, "OTH", "SaFR"},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		var z Zeek
		if c.flip {
			z.Flip()
		}
		feedZeek(&z, c.ps)
		if got := z.ConnState(); got != c.state {
			t.Errorf("%s: conn_state %s (states %v), want %s", c.name, got, z.States(), c.state)
		}
		if got := z.History(); got != c.history {
			t.Errorf("%s: history %q, want %q", c.name, got, c.history)
		}
		seen[c.state] = true
	}
	for _, s := range strings.Fields("S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH") {
		if !seen[s] {
			t.Errorf("conn_state %s not covered", s)
		}
	}
}

func TestZeekHistoryRules(t *testing.T) {
	many := func(n int, p zp) []zp {
		out := make([]zp, n)
		for i := range out {
			out[i] = p
		}
		return out
	}
	hs := []zp{zSyn, zSynAck, zAck}
	cases := []struct {
		name    string
		ps      []zp
		history string
	}{
		{"a and d once per direction", append(hs[:3:3],
			zp{dir: O, flags: fPA, seq: 101, ack: 501, plen: 5},
			zp{dir: O, flags: fPA, seq: 106, ack: 501, plen: 5},
			zp{dir: R, flags: fA, seq: 501, ack: 111},
			zp{dir: R, flags: fA, seq: 501, ack: 111}), "ShADa"},
		{"SYN retransmission not repeated", []zp{zSyn, zSyn, zSyn}, "S"},
		{"FIN repeated only with a new seq", append(hs[:3:3],
			zp{dir: O, flags: fFA, seq: 101, ack: 501},
			zp{dir: O, flags: fFA, seq: 101, ack: 501},
			zp{dir: O, flags: fFA, seq: 111, ack: 501}), "ShAFF"},
		{"RST repeated only with a new seq", append(hs[:3:3],
			zp{dir: R, flags: fR, seq: 501},
			zp{dir: R, flags: fR, seq: 501},
			zp{dir: R, flags: fR, seq: 600}), "ShArr"},
		// A SYN with a new ISN from a handshaking or established endpoint re-bases
		// its sequence space, so it is not "a different seq" and is not repeated.
		{"SYN-ACK with a new ISN re-bases", []zp{zSyn, zSynAck, zSynAck, {dir: R, flags: fSA, seq: 900, ack: 101}}, "Sh"},
		{"SYN repeated after a close with a new seq", []zp{zSyn, {dir: O, flags: fF, seq: 101}, {dir: O, flags: fS, seq: 900}}, "SFS"},
		{"retransmission t on a log scale", append(hs[:3:3],
			append([]zp{{dir: R, flags: fPA, seq: 501, ack: 101, plen: 10}},
				many(10, zp{dir: R, flags: fPA, seq: 501, ack: 101, plen: 10})...)...), "ShAdtt"},
		{"retransmission hint", append(hs[:3:3], zp{dir: O, flags: fPA, seq: 101, ack: 501, plen: 10, h: ZeekHints{Retransmit: true}}), "ShADT"},
		{"bad checksum c, packet dropped", append([]zp{zSyn}, many(100, zp{dir: R, flags: fSA, seq: 500, ack: 101, h: ZeekHints{BadChecksum: true}})...), "Sccc"},
		{"zero window w", append(hs[:3:3], zp{dir: R, flags: fA, seq: 501, ack: 101, win: 0xFFFF}), "ShAaw"},
		{"gap g only when established", append(hs[:3:3],
			zp{dir: O, flags: fA, seq: 101, ack: 900, h: ZeekHints{Gap: true}}), "ShAg"},
		{"gap ignored before established", []zp{zSyn, {dir: R, flags: fA, seq: 7, ack: 900, h: ZeekHints{Gap: true}}}, "Sa"},
		{"FIN+RST is i", append(hs[:3:3], zp{dir: R, flags: fR | fF, seq: 501}), "ShAi"},
		{"SYN+FIN is q", []zp{{dir: O, flags: fS | fF, seq: 100}}, "Q"},
		{"SYN with data counts t", []zp{{dir: O, flags: fS, seq: 100, plen: 20}}, "ST"},
	}
	for _, c := range cases {
		var z Zeek
		feedZeek(&z, c.ps)
		if got := z.History(); got != c.history {
			t.Errorf("%s: history %q, want %q", c.name, got, c.history)
		}
	}
}

func TestZeekFlips(t *testing.T) {
	// A connection that starts with a SYN-ACK flips once it turns productive.
	var z Zeek
	eff := feedZeek(&z, []zp{
		{dir: O, flags: fSA, seq: 500, ack: 101},
	})
	if eff&ZeekFlipped != 0 || z.History() != "H" {
		t.Fatalf("flipped too early: %q", z.History())
	}
	eff = feedZeek(&z, []zp{{dir: R, flags: fA, seq: 101, ack: 501}})
	if eff&ZeekFlipped == 0 || z.History() != "^hA" {
		t.Fatalf("no flip: %q", z.History())
	}
	// From now on the client is the originator.
	feedZeek(&z, []zp{
		{dir: O, flags: fPA, seq: 101, ack: 501, plen: 5},
		{dir: R, flags: fPA, seq: 501, ack: 106, plen: 5},
		{dir: O, flags: fFA, seq: 106, ack: 506},
		{dir: R, flags: fFA, seq: 506, ack: 107},
	})
	if z.History() != "^hADdFf" || z.ConnState() != "SF" {
		t.Fatalf("after flip: %q %s %v", z.History(), z.ConnState(), z.States())
	}

	// A SYN-ACK seen before its SYN (reordered capture) flips at the SYN.
	z = Zeek{}
	eff = feedZeek(&z, []zp{{dir: O, flags: fSA, seq: 500, ack: 101}, {dir: R, flags: fS, seq: 100}})
	if eff&ZeekFlipped == 0 || z.States() != [2]ZeekState{ZeekEstablished, ZeekEstablished} {
		t.Fatalf("reversal: %v %q", z.States(), z.History())
	}

	if ZeekStartFlip(fS, 80, 5000, func(p uint16) bool { return p == 80 }) {
		t.Error("a plain SYN never flips")
	}
	likely := func(p uint16) bool { return p == 80 || p == 6667 }
	for _, c := range []struct {
		f        segment.Flags
		src, dst uint16
		want     bool
	}{
		{fA, 80, 5000, true}, {fSA, 80, 5000, true}, {fA, 5000, 80, false},
		{fA, 80, 6667, true}, {fSA, 80, 6667, false}, {fA, 6667, 80, false},
	} {
		if got := ZeekStartFlip(c.f, c.src, c.dst, likely); got != c.want {
			t.Errorf("ZeekStartFlip(%s, %d, %d) = %v", c.f, c.src, c.dst, got)
		}
	}
}

func TestZeekCloseEffects(t *testing.T) {
	var z Zeek
	eff := feedZeek(&z, []zp{zSyn, zSynAck, zAck, {dir: O, flags: fFA, seq: 101, ack: 501}})
	if eff&ZeekHalfClosed == 0 || eff&ZeekCloseComplete != 0 {
		t.Fatalf("half close: %b", eff)
	}
	if eff = feedZeek(&z, []zp{{dir: R, flags: fFA, seq: 501, ack: 102}}); eff&ZeekCloseComplete == 0 {
		t.Fatalf("close complete: %b", eff)
	}
}

func TestZeekLongHistory(t *testing.T) {
	var z Zeek
	var ps []zp
	for i := range 40 {
		ps = append(ps, zp{dir: O, flags: fR, seq: uint32(100 + i)})
	}
	feedZeek(&z, ps)
	if h := z.History(); h != strings.Repeat("R", 40) {
		t.Fatalf("history %q", h)
	}
}

func TestZeekReuse(t *testing.T) {
	var z Zeek
	feedZeek(&z, []zp{zSyn, zSynAck, zAck})
	same := seg(9, fS, 100, 0, 0)
	other := seg(9, fS, 4242, 0, 0)
	if z.Reuse(same, false) || !z.Reuse(other, false) || !z.Reuse(same, true) {
		t.Fatal("SYN reuse rules")
	}
	if z.Reuse(seg(9, fA, 4242, 0, 0), true) {
		t.Fatal("only SYNs start a new connection")
	}
	if z.Reuse(seg(9, fSA, 4242, 101, 0), false) {
		t.Fatal("a SYN-ACK is a reuse only while the originator is silent")
	}
	// A SYN-ACK-first connection: the late SYN matching the reversal is not a reuse.
	z = Zeek{}
	feedZeek(&z, []zp{{dir: O, flags: fSA, seq: 500, ack: 101}})
	// The SYN-ACK's ACK numbered the silent side from ack−1 = 100, so the late SYN
	// with seq 100 is the reversal, not a reuse; another ISN is a reuse.
	if z.Reuse(seg(2, fS, 100, 0, 0), false) || !z.Reuse(seg(2, fS, 300, 0, 0), false) {
		t.Fatal("reversal check")
	}
	if z.DidClose() != [2]bool{} {
		t.Fatal("nothing closed yet")
	}
}
