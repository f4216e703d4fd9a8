package reassembly

import (
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// TestFINIsNotMissedData: the sequence number a FIN takes is not a byte that
// the capture missed, whether the FIN carries data or not.
func TestFINIsNotMissedData(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"bare FIN, then the last ACK", []step{
			seg(O, S, 100, 0, 0, 1000), seg(R, SA, 500, 101, 0, 1000), seg(O, A, 101, 501, 0, 1000),
			seg(O, PA, 101, 501, 10, 1000), seg(R, A, 501, 111, 0, 1000),
			seg(O, FA, 111, 501, 0, 1000), seg(R, FA, 501, 112, 0, 1000), seg(O, A, 112, 502, 0, 1000),
		}},
		{"FIN with data", []step{
			seg(O, S, 100, 0, 0, 1000), seg(R, SA, 500, 101, 0, 1000), seg(O, A, 101, 501, 0, 1000),
			seg(O, FA|segment.PSH, 101, 501, 10, 1000), seg(R, FA, 501, 112, 0, 1000), seg(O, A, 112, 502, 0, 1000),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tr Tracker
			tr.Init(nil)
			for i, st := range tc.steps {
				s := st.seg
				s.Frame = uint64(i + 1)
				s.Time = int64(i+1) * 1e6
				tr.Add(st.dir, &s)
			}
			for d := segment.Orig; d <= segment.Resp; d++ {
				if m := tr.Dir(d).MissedBytes; m != 0 {
					t.Errorf("%v: MissedBytes = %d, want 0", d, m)
				}
			}
		})
	}
}

// TestCapsAreReported: a direction whose bounded records filled up says so.
func TestCapsAreReported(t *testing.T) {
	var tr Tracker
	tr.Init(&Config{MaxRanges: 2, KeepUnacked: true, MaxUnacked: 2})
	steps := []step{
		seg(O, S, 100, 0, 0, 1000), seg(R, SA, 500, 101, 0, 1000), seg(O, A, 101, 501, 0, 1000),
		// Three segments with gaps between them: more holes than the record holds,
		// and more unacknowledged segments than it remembers.
		seg(O, PA, 101, 501, 10, 1000), seg(O, PA, 121, 501, 10, 1000), seg(O, PA, 141, 501, 10, 1000), seg(O, PA, 161, 501, 10, 1000),
	}
	for i, st := range steps {
		s := st.seg
		s.Frame, s.Time = uint64(i+1), int64(i+1)*1e6
		tr.Add(st.dir, &s)
	}
	if d := tr.Dir(segment.Orig); !d.HolesCapped || !d.UnackedCapped {
		t.Fatalf("orig: HolesCapped %v UnackedCapped %v, want both", d.HolesCapped, d.UnackedCapped)
	}
	if d := tr.Dir(segment.Resp); d.HolesCapped || d.UnackedCapped {
		t.Fatalf("resp reports caps it never hit")
	}
}

// TestCappedAgreesWithDir: Capped names the caps that either direction's
// statistics name, each on its own.
func TestCappedAgreesWithDir(t *testing.T) {
	hs := []step{seg(O, S, 100, 0, 0, 1000), seg(R, SA, 500, 101, 0, 1000), seg(O, A, 101, 501, 0, 1000)}
	cases := []struct {
		name                  string
		cfg                   Config
		data                  []step
		wantHoles, wantUnackd bool
	}{
		{"none", Config{}, []step{seg(O, PA, 101, 501, 10, 1000)}, false, false},
		{"holes", Config{MaxRanges: 2}, []step{seg(O, PA, 101, 501, 10, 1000), seg(O, PA, 121, 501, 10, 1000),
			seg(O, PA, 141, 501, 10, 1000), seg(O, PA, 161, 501, 10, 1000)}, true, false},
		{"unacked", Config{KeepUnacked: true, MaxUnacked: 2}, []step{seg(R, PA, 501, 101, 10, 1000), seg(R, PA, 511, 101, 10, 1000),
			seg(R, PA, 521, 101, 10, 1000)}, false, true},
		{"both", Config{MaxRanges: 2, KeepUnacked: true, MaxUnacked: 2}, []step{seg(O, PA, 101, 501, 10, 1000), seg(O, PA, 121, 501, 10, 1000),
			seg(O, PA, 141, 501, 10, 1000), seg(O, PA, 161, 501, 10, 1000)}, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var tr Tracker
			tr.Init(&tc.cfg)
			for i, st := range append(append([]step{}, hs...), tc.data...) {
				s := st.seg
				s.Frame, s.Time = uint64(i+1), int64(i+1)*1e6
				tr.Add(st.dir, &s)
			}
			holes, unacked := tr.Capped()
			o, r := tr.Dir(segment.Orig), tr.Dir(segment.Resp)
			if holes != (o.HolesCapped || r.HolesCapped) || unacked != (o.UnackedCapped || r.UnackedCapped) {
				t.Fatalf("Capped() = %v, %v; Dir says holes %v/%v, unacked %v/%v", holes, unacked,
					o.HolesCapped, r.HolesCapped, o.UnackedCapped, r.UnackedCapped)
			}
			if holes != tc.wantHoles || unacked != tc.wantUnackd {
				t.Fatalf("Capped() = %v, %v, want %v, %v", holes, unacked, tc.wantHoles, tc.wantUnackd)
			}
		})
	}
}

// TestReleaseKeepsCounts: releasing the buffers of a finished connection
// keeps its missed bytes and lets stragglers still be classified.
func TestReleaseKeepsCounts(t *testing.T) {
	var tr Tracker
	tr.Init(nil)
	steps := []step{
		seg(O, S, 100, 0, 0, 1000), seg(R, SA, 500, 101, 0, 1000), seg(O, A, 101, 501, 0, 1000),
		seg(O, PA, 101, 501, 10, 1000), seg(O, PA, 121, 501, 10, 1000), // a 10-byte hole
	}
	for i, st := range steps {
		s := st.seg
		s.Frame, s.Time = uint64(i+1), int64(i+1)*1e6
		tr.Add(st.dir, &s)
	}
	before := tr.Dir(segment.Orig)
	tr.Release()
	after := tr.Dir(segment.Orig)
	if after.MissedBytes != before.MissedBytes || after.MissedBytes != 10 || after.Holes != 0 || after.Unacked != 0 {
		t.Fatalf("after Release: missed %d (before %d), holes %d, unacked %d", after.MissedBytes, before.MissedBytes, after.Holes, after.Unacked)
	}
	s := steps[4].seg // the same segment again: still a retransmission
	s.Frame, s.Time = 9, 9e6
	if r := tr.Add(segment.Orig, &s); !r.Class.Has(Retransmission) {
		t.Fatalf("straggler after Release classified %v, want a retransmission", r.Class)
	}
}
