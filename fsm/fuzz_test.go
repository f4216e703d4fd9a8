package fsm

import (
	"strings"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

var connStates = map[string]bool{}

func init() {
	for _, s := range strings.Fields("S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH") {
		connStates[s] = true
	}
}

// FuzzTracker feeds random segment sequences, 8 bytes per segment: direction and
// hints, flags, sequence and ack deltas, payload length, time step. It checks
// invariants, not just the absence of panics.
func FuzzTracker(f *testing.F) {
	f.Add([]byte{0, 0x02, 0, 0, 0, 0, 0, 1, 1, 0x12, 0, 0, 1, 0, 0, 1, 0, 0x10, 1, 0, 1, 0, 0, 1})
	f.Add([]byte{1, 0x04, 9, 9, 9, 9, 0, 200})
	f.Add([]byte{0, 0x11, 0, 0, 0, 0, 5, 1, 0, 0x11, 0, 0, 0, 0, 0, 1, 1, 0x14, 7, 0, 0, 0, 3, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		var tr Tracker
		tr.Init(&Config{TimeWait: 30e9}, len(data) > 0 && data[0]&0x80 != 0)
		var z Zeek
		seq := [2]seqnum.Value{1000, 5000}
		now := int64(0)
		for i := 0; i+8 <= len(data) && i < 8*512; i += 8 {
			b := data[i : i+8]
			dir := segment.Dir(b[0] & 1)
			s := &segment.Segment{
				Frame:      uint64(i/8 + 1),
				Flags:      segment.Flags(b[1]) | segment.Flags(b[0]&0x40)<<2,
				Seq:        seq[dir].Add(seqnum.Size(int8(b[2]))),
				Ack:        seq[dir^1].Add(seqnum.Size(int8(b[3]))),
				PayloadLen: int(b[4]),
				Window:     uint16(b[5]) << 8,
			}
			now += int64(b[7]) * 1e9
			s.Time = now
			if b[6]&1 != 0 {
				s.Opts.HasWScale, s.Opts.WScale = true, b[6]>>1
			}
			seq[dir] = s.End()
			before := tr.States()
			st := tr.Step(dir, s)
			if st.Verdict > Invalid || st.Reason == "" {
				t.Fatalf("step %d: verdict %v reason %q", i/8, st.Verdict, st.Reason)
			}
			if !st.To[0].Valid() || !st.To[1].Valid() || st.To != tr.States() {
				t.Fatalf("step %d: states %v / %v", i/8, st.To, tr.States())
			}
			if st.Verdict == Invalid && st.From != st.To {
				t.Fatalf("step %d: invalid segment moved %v→%v", i/8, st.From, st.To)
			}
			if st.Changed != (st.From != st.To) {
				t.Fatalf("step %d: Changed=%v", i/8, st.Changed)
			}
			if !st.Pickup && i > 0 && st.From != before {
				// Only TIME_WAIT expiry may change states between steps.
				for d := range 2 {
					if before[d] != st.From[d] && !(before[d] == TimeWait && st.From[d] == Closed) {
						t.Fatalf("step %d: states changed outside a step: %v→%v", i/8, before, st.From)
					}
				}
			}
			if len(tr.Timeline()) > TimelineCap {
				t.Fatalf("timeline %d", len(tr.Timeline()))
			}
			h := ZeekHints{Retransmit: b[0]&2 != 0, Gap: b[0]&4 != 0, BadChecksum: b[0]&8 != 0}
			eff := z.Update(dir, s, h)
			if eff&ZeekFlipped != 0 {
				seq[0], seq[1] = seq[1], seq[0]
			}
		}
		if n := len(tr.Timeline()); n > 0 && tr.Dropped() > 0 && n != TimelineCap {
			t.Fatalf("dropped %d with %d entries", tr.Dropped(), n)
		}
		if cs := z.ConnState(); !connStates[cs] {
			t.Fatalf("conn_state %q", cs)
		}
		for _, c := range z.History() {
			if !strings.ContainsRune("ShHhAaDdFfRrCcGgTtWwIiQq^sS", c) {
				t.Fatalf("history %q has %q", z.History(), c)
			}
		}
		for _, st := range z.States() {
			if st > ZeekReset {
				t.Fatalf("zeek state %v", st)
			}
		}
	})
}
