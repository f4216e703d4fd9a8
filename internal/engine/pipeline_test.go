package engine

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// TestPipelineCopiesFramesThatAreNotStable feeds a pipeline frames whose
// bytes the reader reuses (no buffer pool: its 256 KiB buffer is read over
// about every thousand frames), so the rounds must keep copies of the
// payloads the workers read later: the report is a single engine's, and the
// same as with the pool lending stable buffers.
func TestPipelineCopiesFramesThatAreNotStable(t *testing.T) {
	data := writeMix(t, pcapgen.MixOptions{Packets: 40_000, Connections: 4_000,
		Concurrency: 300, Seed: 11, FloodSources: 200})
	run := func(a Analyzer, stable bool) string {
		t.Helper()
		var opts capture.Options
		if p, ok := a.(*Pipeline); ok && stable {
			opts.Buffers = p.BufferPool()
		}
		out, frames := feedCapture(t, a, data, opts, func(fr *capture.Frame) {
			if fr.Stable != stable {
				t.Fatalf("frame %d: stable %v, want %v", fr.Number, fr.Stable, stable)
			}
		})
		if frames < 30_000 {
			t.Fatalf("read %d frames", frames)
		}
		return out
	}
	one := run(New(DefaultConfig()), false)
	for _, stable := range []bool{false, true} {
		p, err := NewPipeline(DefaultConfig(), 2)
		if err != nil {
			t.Fatal(err)
		}
		if got := run(p, stable); got != one {
			t.Errorf("stable frames %v: two workers' report differs from one engine's (%d vs %d bytes)", stable, len(got), len(one))
		}
	}
}

// TestPipelineLendsFewBuffers reads 20 MB of frames between two short TCP
// conversations: frames no worker gets (UDP, or TCP that the filter drops),
// or large TCP frames that a worker does get. The rounds must give the
// reader's buffers back as it goes, so that it allocates a few dozen of
// them, not one per 256 KiB read (rounds with no TCP segment were never
// handed on, and kept every buffer read meanwhile: the memory grew with the
// file), and the conversations around the stretch are still all there.
func TestPipelineLendsFewBuffers(t *testing.T) {
	const frames = 20_000
	payload := bytes.Repeat([]byte{0x5a}, 1000)
	cli, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	link := pcapgen.Link{Type: pcapgen.LinkEthernet}
	write := func(bulk bool) []byte {
		var buf bytes.Buffer
		buf.Grow((frames + 100) * (len(payload) + 80))
		c := pcapgen.NewCapture(&buf, pcapgen.Format{})
		conv := func(port uint16, n int) {
			ip := &pcapgen.IP{Src: cli, Dst: srv}
			c.TCP(0, link, ip, &pcapgen.TCP{SrcPort: port, DstPort: 80, Seq: 1, Flags: segment.SYN}, nil)
			for i := range n {
				c.Advance(time.Microsecond)
				c.TCP(0, link, ip, &pcapgen.TCP{SrcPort: port, DstPort: 80, Seq: seqnum.Value(2 + i*len(payload)), Ack: 1,
					Flags: segment.ACK}, payload)
			}
		}
		conv(40000, 10)
		if bulk {
			conv(40001, frames)
		} else {
			for range frames {
				c.Advance(time.Microsecond)
				c.UDP(0, link, &pcapgen.IP{Src: cli, Dst: srv}, 5353, 5353, payload)
			}
		}
		conv(40002, 10)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, tc := range []struct {
		name     string
		bulk     bool // the frames in between are a TCP transfer, not UDP
		filtered bool // the frames in between count as filtered out
		flows    int
	}{
		{name: "not TCP", flows: 2},
		{name: "TCP filtered out", bulk: true, filtered: true, flows: 2},
		{name: "large TCP frames", bulk: true, flows: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := write(tc.bulk)
			p, err := NewPipeline(DefaultConfig(), 2)
			if err != nil {
				t.Fatal(err)
			}
			src, err := capture.OpenReader(bytes.NewReader(data), "few.pcap", capture.Options{Buffers: p.BufferPool()})
			if err != nil {
				t.Fatal(err)
			}
			var read uint64
			for src.Next() {
				read++
				fr := src.Frame()
				// Frames 1-11 and the last 11 are the conversations around
				// the stretch.
				if tc.filtered && fr.Number > 11 && fr.Number <= 12+frames {
					p.Filtered()
					continue
				}
				p.Frame(fr)
			}
			if err := src.Err(); err != nil {
				t.Fatal(err)
			}
			rep := p.Finish([]string{"few.pcap"}, src.Problems())
			if got, want := rep.Summary.PacketsRead, read; got != want || read < frames {
				t.Errorf("read %d packets, want %d", got, want)
			}
			if rep.Summary.Flows != tc.flows {
				t.Errorf("%d flows, want %d", rep.Summary.Flows, tc.flows)
			}
			p.bufs.mu.Lock()
			made := p.bufs.made
			p.bufs.mu.Unlock()
			// 20 MB are 80 reads of 256 KiB; the rounds in flight and
			// the one being filled span roundBuffers buffers each, and a
			// few more wait for the merger to give them back.
			limit := (roundsInFlight+1)*roundBuffers + 4
			if limit >= 80 {
				t.Fatalf("a limit of %d buffers would not tell lending from a buffer a read", limit)
			}
			if made > limit {
				t.Errorf("the reader allocated %d buffers, want at most %d (%d MB read)", made, limit, len(data)>>20)
			}
		})
	}
}

// TestEventTakesOneLine: where pointers take 8 bytes, an event is exactly a
// cache line, so that the merger's read of each costs one line (the build
// only checks that it fits).
func TestEventTakesOneLine(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("32-bit: an event is smaller than a line")
	}
	if n := unsafe.Sizeof(event{}); n != 64 {
		t.Fatalf("an event takes %d bytes, want 64", n)
	}
}

// TestPipelineIDCellsFollowOpenFlows runs 12 000 connections, 50 at a time,
// through two workers that keep 512 finished ones: the merger's id cells
// (recorder.newCell) are given back as flows finish and used again, so that
// each worker's cells number about the flows open and lingering plus those
// of the rounds in flight, not every flow it saw. The report is still a
// single engine's.
func TestPipelineIDCellsFollowOpenFlows(t *testing.T) {
	data := writeMix(t, pcapgen.MixOptions{Packets: 120_000, Connections: 12_000,
		Concurrency: 50, Seed: 5})
	cfg := DefaultConfig()
	cfg.MaxLinger = 512
	one, _ := feedCapture(t, New(cfg), data, capture.Options{}, nil)
	p, err := NewPipeline(cfg, 2)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := feedCapture(t, p, data, capture.Options{}, nil)
	if got != one {
		t.Fatalf("two workers' report differs from one engine's (%d vs %d bytes)", len(got), len(one))
	}
	flows := 0
	for i, w := range p.workers {
		flows += int(w.nflows)
		if n := len(p.cells[i]); n == 0 || n > 3_000 {
			t.Errorf("worker %d: %d id cells for %d flows", i, n, w.nflows)
		}
	}
	if flows < 11_000 {
		t.Fatalf("%d flows, want about 12 000", flows)
	}
}

// TestPipelineWorkersFillTheirTombLanes: each worker's tomb tables are the
// lanes of one set of arrays, a lane for each shard it holds (worker i holds
// shards i, i+n, ...), none left empty to waste a share of every page and
// none missing, which would give a shard arrays of its own; and the report
// is one engine's.
func TestPipelineWorkersFillTheirTombLanes(t *testing.T) {
	data := writeMix(t, pcapgen.MixOptions{Packets: 60_000, Connections: 6_000,
		Concurrency: 50, Seed: 7})
	cfg := DefaultConfig()
	cfg.MaxLinger = 512 // most flows end in a tomb, in every shard
	one, _ := feedCapture(t, New(cfg), data, capture.Options{}, nil)
	const n = 3
	p, err := NewPipeline(cfg, n)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := feedCapture(t, p, data, capture.Options{}, nil)
	if got != one {
		t.Fatalf("three workers' report differs from one engine's (%d vs %d bytes)", len(got), len(one))
	}
	shards := cfg.Shards()
	for i, w := range p.workers {
		held := 0
		for sh := i; sh < shards; sh += n {
			held++
		}
		tl := w.tombLanes
		if tl == nil || tl.n != held {
			t.Fatalf("worker %d holds %d shards, its lanes %+v", i, held, tl)
		}
		for l, tt := range tl.tables {
			if tt == nil {
				t.Errorf("worker %d: lane %d unused", i, l)
			}
		}
		for sh, tt := range w.tombs {
			if tt != nil && tt.lanes != tl {
				t.Errorf("worker %d: shard %d's tombs have arrays of their own", i, sh)
			}
			if tt != nil && sh%n != i {
				t.Errorf("worker %d buried a tomb of shard %d", i, sh)
			}
		}
	}
}
