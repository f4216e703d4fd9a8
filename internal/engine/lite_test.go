package engine

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/flow"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/oracle"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// liteCapture is a capture for TestLiteMatchesWhole.
type liteCapture struct {
	name string
	data []byte
}

// TestLiteMatchesWhole holds the lite connections (liteConn) to what whole
// ones make: every report of the test captures, of two generated mixes with
// SYN floods, port reuse and loss, and of the shared corpus when it is
// there, is the same with every connection lite, with connections lite only
// past the default number in their handshake (liteFromDefault: some lite,
// some whole in one shard), and with every connection whole, with the
// default caps and with caps small enough that half-open and finished
// connections are evicted, on one engine and on two workers.
func TestLiteMatchesWhole(t *testing.T) {
	caps := []liteCapture{
		{"flood", writeMix(t, pcapgen.MixOptions{Packets: 30000, Connections: 2000, Concurrency: 200, FloodSources: 3000, Seed: 1})},
		{"reuse-loss", writeMix(t, pcapgen.MixOptions{Packets: 20000, Connections: 1500, Concurrency: 50, FloodSources: 300, Seed: 2, Reuse: 0.3, Loss: 0.02})},
	}
	files, err := filepath.Glob("../../testdata/pcaps/*.pcap*")
	if err != nil || len(files) < 10 {
		t.Fatalf("test captures: %d, %v", len(files), err)
	}
	corpus := 0
	if dir := oracle.CorpusDir("."); dir != "" {
		more, err := oracle.Captures(dir)
		if err != nil {
			t.Fatal(err)
		}
		corpus = len(more)
		files = append(files, more...)
	} else {
		t.Log("corpus ../shared/pcaps absent: test and generated captures only")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		caps = append(caps, liteCapture{filepath.Base(f), b})
	}
	small := func(c *Config) { c.MaxHalfOpen, c.MaxLinger, c.MaxFlows = 64, 64, 256 }
	lite, mixed, both := 0, 0, 0
	for i, c := range caps {
		for _, set := range []struct {
			name    string
			workers int
			change  func(*Config)
		}{{"default", 1, nil}, {"small caps", 1, small}, {"two workers, small caps", 2, small}} {
			if i >= len(caps)-corpus && set.workers > 1 {
				continue // the corpus on one engine: its captures are small
			}
			name := fmt.Sprintf("%s, %s", c.name, set.name)
			whole, _, ok := runLite(t, c.data, set.workers, set.change, liteNever)
			nAll := 0
			for _, from := range []int{0, liteFromDefault} {
				got, n, ok2 := runLite(t, c.data, set.workers, set.change, from)
				if ok != ok2 {
					t.Fatalf("%s: opened with lite connections %v, whole %v", name, ok2, ok)
				}
				if from == 0 {
					lite, nAll = lite+n, n
				} else {
					mixed += n
					if n > 0 && n < nAll {
						both++ // some lite, some whole
					}
				}
				if got != whole {
					t.Fatalf("%s, lite from %d in the handshake: the report differs with lite connections:\n%s", name, from, firstDiff(whole, got))
				}
			}
		}
	}
	if lite < 3000 || mixed < 1000 || both < 2 {
		t.Fatalf("only %d connections were lite, %d past the default threshold, %d runs had both kinds: the comparison shows little", lite, mixed, both)
	}
}

// TestLiteFromThreshold checks where new connections start lite: none while
// few handshakes are pending (a busy server's connections, answered within a
// round trip), and most of a SYN flood's, whose half-open connections would
// otherwise each hold a whole connection's state.
func TestLiteFromThreshold(t *testing.T) {
	for _, c := range []struct {
		name     string
		mix      pcapgen.MixOptions
		min, max float64 // the share of connections made lite
	}{
		{"few pending", pcapgen.MixOptions{Packets: 20000, Connections: 2000, Concurrency: 8, Seed: 3}, 0, 0},
		{"flood", pcapgen.MixOptions{Packets: 30000, Connections: 500, Concurrency: 8, FloodSources: 5000, Seed: 4}, 0.8, 1},
	} {
		_, n, _ := runLite(t, writeMix(t, c.mix), 1, nil, liteFromDefault)
		all := c.mix.Connections + c.mix.FloodSources
		if share := float64(n) / float64(all); share < c.min || share > c.max {
			t.Errorf("%s: %d of %d connections lite (%.2f), want %.2f to %.2f", c.name, n, all, share, c.min, c.max)
		}
	}
}

// runLite analyzes data with workers workers, the default configuration
// changed by change, and new connections lite from liteFrom connections in
// their handshake in a shard (Config.liteFrom: 0 every one, liteNever
// none). It returns the JSON report (and on one engine, the
// capture-wide events it made), how many lite connections one engine made
// (0 for a pipeline), and whether the capture could be read at all.
func runLite(t *testing.T, data []byte, workers int, change func(*Config), liteFrom int) (string, int, bool) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Workers, cfg.liteFrom = workers, liteFrom
	if change != nil {
		change(&cfg)
	}
	a, err := NewAnalyzer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := capture.OpenReader(strings.NewReader(string(data)), "c", capture.Options{}); err != nil {
		return "", 0, false // a corpus file broken on purpose
	}
	var ev *eventLog
	if e, ok := a.(*Engine); ok {
		ev = &eventLog{inner: e.events}
		e.events = ev
	}
	out, _ := feedCaptureLenient(t, a, data)
	n := 0
	if e, ok := a.(*Engine); ok {
		n = int(e.liteMade)
		// The capture-wide detectors' events too, in their order.
		out += strings.Join(ev.log, "\n")
	}
	return out, n, true
}

// firstDiff shows where a and b first differ.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(i-300, 0)
	return fmt.Sprintf("whole: …%s…\nlite:  …%s…", a[lo:min(i+300, len(a))], b[lo:min(i+300, len(b))])
}

// feedCaptureLenient is feedCapture for captures that may end in an error
// (the corpus has some): the report, with the error among its problems.
func feedCaptureLenient(t *testing.T, a Analyzer, data []byte) (string, int) {
	t.Helper()
	src, err := capture.OpenReader(strings.NewReader(string(data)), "c", capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	frames := 0
	for src.Next() {
		a.Frame(src.Frame())
		frames++
	}
	var out strings.Builder
	if err := report.WriteJSON(&out, a.Finish([]string{"c"}, src.Problems())); err != nil {
		t.Fatal(err)
	}
	return out.String(), frames
}

// TestLiteSegmentRoundTrip checks that a lite connection gives back every
// segment it keeps as it came, field for field, whether or not an analysis
// reads the field today.
func TestLiteSegmentRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 1))
	a := netip.MustParseAddrPort("10.0.0.1:40000")
	b := netip.MustParseAddrPort("[2001:db8::1%eth0]:80")
	for i := range 2000 {
		orig, resp := a, b
		if i%2 == 1 {
			orig, resp = b, a
		}
		var key flow.Key
		key.SetOf(&orig, &resp)
		l := &liteConn{}
		l.ent.Key = key
		l.origIsA = orig == key.A
		var want []segment.Segment
		for j := range liteSegs {
			s := segment.Segment{Frame: r.Uint64(), Time: r.Int64(), Src: orig, Dst: resp,
				Seq: seqnum.Value(r.Uint32()), Ack: seqnum.Value(r.Uint32()),
				Flags:  segment.Flags(r.IntN(1<<9))&^(segment.FIN|segment.RST) | segment.SYN,
				Window: uint16(r.Uint32()), Urgent: uint16(r.Uint32()), IPLen: r.IntN(1 << 20),
				ChecksumChecked: r.IntN(2) == 0,
				Opts: segment.Options{MSS: uint16(r.Uint32()), HasMSS: r.IntN(2) == 0, WScale: uint8(r.Uint32()),
					HasWScale: r.IntN(2) == 0, SACKPermitted: r.IntN(2) == 0, TSVal: r.Uint32(), TSEcr: r.Uint32(),
					HasTS: r.IntN(2) == 0, TFO: r.IntN(2) == 0, MPTCP: r.IntN(2) == 0}}
			if j > 0 && r.IntN(2) == 0 {
				s.Src, s.Dst = resp, orig
			}
			if !keepable(&s) {
				t.Fatalf("segment %+v not keepable", s)
			}
			l.keep(&s, l.fromOrig(&s))
			want = append(want, s)
		}
		for j, w := range want {
			var got segment.Segment
			l.segment(j, &got)
			if !reflect.DeepEqual(got, w) {
				t.Fatalf("segment %d:\ngot  %+v\nwant %+v", j, got, w)
			}
		}
	}
}

// FuzzLiteMatchesWhole feeds an engine with lite connections and one with
// every connection whole the same segments, decoded from the fuzzer's bytes
// (six bytes a segment: who sends it among three clients and a server, its
// flags, its sequence and acknowledgement numbers near a few ISNs, a
// payload length, a time step), and requires the same report and the same
// events for the capture-wide detectors, in the same order. The bytes
// favour handshakes: SYNs and SYN-ACKs with the same or other ISNs, RSTs,
// and what follows them, with caps small enough to evict.
func FuzzLiteMatchesWhole(f *testing.F) {
	f.Add([]byte{0, 0x02, 0, 0, 0, 1, 1, 0x12, 1, 1, 0, 1, 0, 0x10, 1, 1, 0, 1})
	f.Add([]byte{0, 0x02, 0, 0, 0, 1, 0, 0x02, 0, 0, 0, 200, 1, 0x12, 1, 1, 0, 1, 1, 0x12, 1, 1, 0, 250, 0, 0x04, 1, 0, 0, 1})
	f.Add([]byte{0, 0x02, 0, 0, 0, 1, 0, 0x02, 2, 0, 0, 1, 1, 0x12, 1, 1, 0, 1, 0, 0x18, 1, 1, 5, 1})
	// Refused by the client's RST after the SYN-ACK, the SYN-ACK again, and
	// other clients' SYNs past the half-open cap: the RST makes the lite
	// connection whole, and it lingers filed as closed.
	f.Add([]byte{0, 0x02, 0, 0, 0, 1, 1, 0x12, 1, 4, 0, 1, 0, 0x04, 4, 0, 0, 1, 1, 0x12, 1, 4, 0, 50,
		2, 0x02, 0, 0, 0, 1, 4, 0x02, 0, 0, 0, 1, 2, 0x02, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 6*64 {
			b = b[:6*64]
		}
		clients := [3]netip.AddrPort{cli, netip.MustParseAddrPort("10.0.0.3:40001"), netip.MustParseAddrPort("[2001:db8::7]:40002")}
		isn := [4]uint32{1000, 5000, 1 << 31, 0xffffff00}
		var outs [2]string
		for k, from := range []int{0, liteNever} { // every connection lite, or none
			cfg := DefaultConfig()
			cfg.liteFrom = from
			cfg.MaxHalfOpen, cfg.MaxLinger, cfg.MaxFlows = 2, 2, 4
			e := New(cfg)
			ev := &eventLog{inner: e.events}
			e.events = ev
			ms := int64(0)
			for i := 0; i+6 <= len(b); i += 6 {
				p := b[i : i+6]
				c := clients[int(p[0]>>1)%3]
				fromClient := p[0]&1 == 0
				ms += int64(p[5])
				s := segment.Segment{Frame: uint64(i/6 + 1), Time: ms * int64(time.Millisecond),
					Flags: segment.Flags(p[1]), Window: 65535,
					Seq:        seqnum.Value(isn[p[2]&3] + uint32(p[2]>>2)),
					Ack:        seqnum.Value(isn[p[3]&3] + uint32(p[3]>>2)),
					PayloadLen: int(p[4] % 8), IPLen: 40 + int(p[4]%8)}
				s.Payload = make([]byte, s.PayloadLen)
				if p[4]&0x80 != 0 {
					s.Opts = segment.Options{MSS: 1460, HasMSS: true, WScale: 7, HasWScale: true, SACKPermitted: true}
				}
				if p[4]&0x40 != 0 {
					s.ChecksumChecked, s.BadChecksum = true, p[4]&0x20 != 0
				}
				s.Src, s.Dst = c, srv
				if !fromClient {
					s.Src, s.Dst = srv, c
				}
				e.Segment(&s)
			}
			var out strings.Builder
			if err := report.WriteJSON(&out, e.Finish([]string{"fuzz"}, nil)); err != nil {
				t.Fatal(err)
			}
			outs[k] = out.String() + strings.Join(ev.log, "\n")
		}
		if outs[0] != outs[1] {
			t.Fatalf("the report differs with lite connections:\n%s", firstDiff(outs[1], outs[0]))
		}
	})
}

// eventLog records the capture-wide events an engine makes, in order, and
// passes them on.
type eventLog struct {
	inner wideSink
	log   []string
}

func (l *eventLog) SYN(t int64, src, dst netip.AddrPort, frame uint64) {
	l.log = append(l.log, fmt.Sprint("syn ", t, src, dst, frame))
	l.inner.SYN(t, src, dst, frame)
}

func (l *eventLog) Handshake(t int64, orig, resp netip.AddrPort) {
	l.log = append(l.log, fmt.Sprint("handshake ", t, orig, resp))
	l.inner.Handshake(t, orig, resp)
}

func (l *eventLog) TimeWait(t int64, orig, resp netip.AddrPort, origCloses bool, flowID, frame uint64) {
	l.log = append(l.log, fmt.Sprint("time_wait ", t, orig, resp, origCloses, flowID, frame))
	l.inner.TimeWait(t, orig, resp, origCloses, flowID, frame)
}

func (l *eventLog) RST(t int64, src, dst netip.AddrPort, frame uint64) {
	l.log = append(l.log, fmt.Sprint("rst ", t, src, dst, frame))
	l.inner.RST(t, src, dst, frame)
}

func (l *eventLog) FlowEndAt(f *report.Flow, orig, resp netip.AddrPort) {
	l.log = append(l.log, fmt.Sprint("flow_end ", f.ID, orig, resp))
	l.inner.FlowEndAt(f, orig, resp)
}
