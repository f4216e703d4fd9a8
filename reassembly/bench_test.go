package reassembly

import (
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// flow generates a bulk transfer from orig to resp: MSS-sized segments, an ACK
// for every second one, and (when lossy) a segment lost every lossEvery
// segments, followed by three duplicate ACKs and a fast retransmission.
type flow struct {
	tr         *Tracker
	seq, ack   seqnum.Value
	now        int64
	frame      uint64
	n          int
	lossEvery  int
	data, ackS segment.Segment
	payload    []byte
	counts     [numClasses]int // segments per class
}

const mss = 1448

func newFlow(tr *Tracker, lossEvery int) *flow {
	f := &flow{tr: tr, seq: 0xFFFF0000, ack: 0x1000, now: base, lossEvery: lossEvery, payload: make([]byte, mss)}
	hs := []struct {
		d segment.Dir
		s segment.Segment
	}{
		{O, segment.Segment{Seq: f.seq - 1, Flags: S, Window: 65535, Opts: segment.Options{HasWScale: true, WScale: 7, HasMSS: true, MSS: mss}}},
		{R, segment.Segment{Seq: f.ack - 1, Ack: f.seq, Flags: SA, Window: 65535, Opts: segment.Options{HasWScale: true, WScale: 7, HasMSS: true, MSS: mss}}},
		{O, segment.Segment{Seq: f.seq, Ack: f.ack, Flags: A, Window: 1024}},
	}
	for i := range hs {
		f.tick()
		hs[i].s.Time, hs[i].s.Frame = f.now, f.frame
		tr.Add(hs[i].d, &hs[i].s)
	}
	return f
}

func (f *flow) tick() { f.now += 10_000; f.frame++ }

// step adds one segment (or, at a loss, the whole recovery) and returns how
// many segments it added.
func (f *flow) step() int {
	f.n++
	d := &f.data
	if f.lossEvery > 0 && f.n%f.lossEvery == 0 {
		// The segment at f.seq is lost: the next one arrives, the receiver
		// sends three duplicate ACKs, the sender retransmits, the receiver
		// ACKs both.
		lost := f.seq
		f.sendData(lost.Add(mss))
		for range 3 {
			f.sendAck(lost)
		}
		f.sendData(lost)
		f.seq = lost.Add(2 * mss)
		f.sendAck(f.seq)
		return 6
	}
	f.sendData(f.seq)
	f.seq = f.seq.Add(mss)
	_ = d
	if f.n%2 == 0 {
		f.sendAck(f.seq)
		return 2
	}
	return 1
}

func (f *flow) sendData(seq seqnum.Value) {
	f.tick()
	f.data = segment.Segment{Frame: f.frame, Time: f.now, Seq: seq, Ack: f.ack, Flags: PA, Window: 1024, PayloadLen: mss, Payload: f.payload}
	f.count(f.tr.Add(O, &f.data).Class)
}

func (f *flow) count(c Class) {
	for i := range f.counts {
		if c&(1<<i) != 0 {
			f.counts[i]++
		}
	}
}

func (f *flow) sendAck(ack seqnum.Value) {
	f.tick()
	f.ackS = segment.Segment{Frame: f.frame, Time: f.now, Seq: f.ack, Ack: ack, Flags: A, Window: 2048}
	f.count(f.tr.Add(R, &f.ackS).Class)
}

func benchFlow(b *testing.B, lossEvery int, cfg *Config) {
	var tr Tracker
	tr.Init(cfg)
	f := newFlow(&tr, lossEvery)
	b.ReportAllocs()
	b.ResetTimer()
	segs := 0
	for segs < b.N {
		segs += f.step()
	}
}

// BenchmarkTrackerInOrder measures a loss-free bulk transfer; ns/op is per segment.
func BenchmarkTrackerInOrder(b *testing.B) { benchFlow(b, 0, nil) }

// BenchmarkTrackerLossy measures a transfer losing one segment in 50, with
// duplicate ACKs, fast retransmissions and holes; ns/op is per segment.
func BenchmarkTrackerLossy(b *testing.B) { benchFlow(b, 50, nil) }

// BenchmarkTrackerKeepPayload is BenchmarkTrackerInOrder with payload copies.
func BenchmarkTrackerKeepPayload(b *testing.B) { benchFlow(b, 0, &Config{KeepPayload: true}) }

// TestZeroAllocs proves that Add does not allocate on the steady path, in order
// and with losses, once the bounded records have grown.
func TestZeroAllocs(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lossEvery int
		cfg       *Config
	}{
		{"in order", 0, nil},
		{"lossy", 7, nil},
		{"keep payload", 7, &Config{KeepPayload: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tr Tracker
			tr.Init(tc.cfg)
			f := newFlow(&tr, tc.lossEvery)
			for range 1000 { // warm up: records reach their working size
				f.step()
			}
			if n := testing.AllocsPerRun(2000, func() { f.step() }); n != 0 {
				t.Errorf("%v allocations per step, want 0", n)
			}
		})
	}
}

// TestLossyFlowClasses checks the benchmark flow's classification, so that the
// benchmark measures the intended path.
func TestLossyFlowClasses(t *testing.T) {
	var tr Tracker
	f := newFlow(&tr, 10)
	for range 100 {
		f.step()
	}
	o := tr.Dir(O)
	// The lost segments never reached the capture: their retransmissions
	// fill holes and are new bytes.
	if o.RetransBytes != 0 || o.MissedBytes != 0 || o.Unacked > 2 || o.Holes != 0 {
		t.Errorf("orig %+v", o)
	}
	want := map[Class]int{
		FastRetransmission: 10, Retransmission: 10, GapFill: 10, LostSegment: 10,
		DuplicateAck: 20, InOrder: 100 - 10, OutOfOrder: 0, AckUnseen: 0,
	}
	for c, n := range want {
		for i := range f.counts {
			if c == 1<<i && f.counts[i] != n {
				t.Errorf("%v: %d segments, want %d", c, f.counts[i], n)
			}
		}
	}
}
