package engine

import (
	"net/netip"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// BenchmarkEngineShortConnections drives the whole per-segment path (flow
// lookup, sequence tracking, both state trackers, detectors) with short
// connections of 8 segments each, 1000 open at a time.
func BenchmarkEngineShortConnections(b *testing.B) {
	const open = 1000
	script := exchange(0, 1000, 5000)
	segs := make([]segment.Segment, 0, len(script)*open)
	for c := 0; c < open; c++ {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(c >> 8), byte(c)}), uint16(30000+c))
		for _, p := range script {
			s := segment.Segment{Seq: seqnum.Value(p.seq), Ack: seqnum.Value(p.ack), Flags: p.flags,
				Window: 65535, PayloadLen: p.n, Payload: make([]byte, p.n), IPLen: 40 + p.n}
			if p.c2s {
				s.Src, s.Dst = src, srv
			} else {
				s.Src, s.Dst = srv, src
			}
			segs = append(segs, s)
		}
	}
	e := New(DefaultConfig())
	b.ReportAllocs()
	b.ResetTimer()
	var frame uint64
	for i := 0; i < b.N; i++ {
		s := segs[i%len(segs)]
		frame++
		s.Frame = frame
		s.Time = int64(frame) * 1000
		// A new round of the same connections is a new generation each time.
		e.Segment(&s)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "segments/s")
}

// BenchmarkEngineSYNFlood is a SYN flood: a SYN from a new spoofed source to
// one server, answered by a SYN-ACK, a connection every two segments, which
// the half-open cap (32 768) evicts into tombs once it is reached, its record
// streamed to a sink. "lite" keeps each as its two segments (liteConn),
// "whole" runs them through a whole connection's trackers.
func BenchmarkEngineSYNFlood(b *testing.B) {
	for _, whole := range []bool{false, true} {
		name := "lite"
		if whole {
			name = "whole"
		}
		b.Run(name, func(b *testing.B) {
			cfg := DefaultConfig()
			if whole {
				cfg.liteFrom = liteNever
			}
			e := New(cfg)
			// As the commands stream flows: each record goes to a sink
			// that gives it back.
			e.Sink = e.Recycle
			b.ReportAllocs()
			var frame uint64
			for i := 0; b.Loop(); i++ {
				n := uint32(i / 2)
				src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)}), uint16(1024+n%60000))
				s := segment.Segment{Seq: seqnum.Value(n * 2654435761), Flags: segment.SYN, Window: 1024, IPLen: 40, Src: src, Dst: srv}
				if i%2 == 1 {
					s = segment.Segment{Seq: seqnum.Value(n * 40503), Ack: seqnum.Value(n*2654435761 + 1), Flags: segment.SYN | segment.ACK,
						Window: 65535, IPLen: 44, Src: srv, Dst: src, Opts: segment.Options{MSS: 1460, HasMSS: true}}
				}
				frame++
				s.Frame, s.Time = frame, int64(frame)*20000
				e.Segment(&s)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "segments/s")
		})
	}
}

// BenchmarkTombTable is a busy server's tombs: each op buries a finished
// connection (a random 4-tuple hash, its linger long) and looks up the
// 4-tuple of a new one, which is absent, as every first segment does. The
// table starts empty and grows to its cap of 1 M slots (32 MiB) over the
// run; ns/op includes its doublings and, at the cap, the evictions.
func BenchmarkTombTable(b *testing.B) {
	tt := newTombTable(1 << 20)
	next := xorshift()
	b.ReportAllocs()
	now := int64(0)
	for b.Loop() {
		now++
		tt.put(next(), tomb{until: now + 1<<40}, now)
		if tt.get(next()) != nil {
			b.Fatal("found a tomb never buried")
		}
	}
	b.ReportMetric(float64(tt.count()), "tombs")
}

// BenchmarkTombGrowth fills sixteen tomb tables from empty to 13 k tombs
// each, the puts spread over them, as the sixteen shards of the 2 M-packet
// mix grow theirs: an op is the 208 k puts and every doubling on the way.
// "lanes" has the tables share their arrays, as an engine's do; "own" gives
// each arrays of its own.
func BenchmarkTombGrowth(b *testing.B) {
	for _, c := range []struct {
		name  string
		table func(tl *tombLanes, i int) *tombTable
	}{
		{"lanes", func(tl *tombLanes, i int) *tombTable { return tl.table(i) }},
		{"own", func(*tombLanes, int) *tombTable { return newTombTable(1 << 16) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			next := xorshift()
			for b.Loop() {
				tl := newTombLanes(16, 1<<16)
				var tts [16]*tombTable
				for i := range tts {
					tts[i] = c.table(tl, i)
				}
				for i := range 16 * 13_000 {
					tts[i%16].put(next(), tomb{until: 1 << 40}, int64(i))
				}
				for _, tt := range tts {
					tt.flush()
				}
				for _, tt := range tts {
					tt.lanes.hm.Free() // shared lanes once, then a no-op
					tt.lanes.tm.Free()
				}
			}
		})
	}
}

// xorshift returns a generator of tomb hashes: cheap, and no two alike.
func xorshift() func() uint64 {
	x := uint64(1)
	return func() uint64 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return x
	}
}
