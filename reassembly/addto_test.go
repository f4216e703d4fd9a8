package reassembly

import (
	"testing"
	"time"
)

// TestAddToOverwritesResult runs one scenario through Add and, on a second
// tracker, through AddTo into a Result left dirty by the previous segment and
// filled with junk: every result must match, so AddTo clears what the segment
// does not set.
func TestAddToOverwritesResult(t *testing.T) {
	steps := cat(handshake(), []step{
		seg(O, PA, 1001, 5001, 100, 65535),
		seg(R, A, 5001, 1101, 0, 65535),
		seg(O, PA, 1201, 5001, 100, 65535), // a gap: LostSegment, GapBytes
		seg(R, A, 5001, 1101, 0, 65535),    // duplicate ACKs
		seg(R, A, 5001, 1101, 0, 65535),
		seg(O, PA, 1101, 5001, 100, 65535), // the retransmission fills the gap: RTO
		seg(R, A, 5001, 1301, 0, 65535),
		seg(O, FA, 1301, 5001, 0, 65535),
		seg(R, FA, 5001, 1302, 0, 65535),
		seg(O, A, 1302, 5002, 0, 65535),
	})
	var viaAdd, viaAddTo Tracker
	r := Result{Class: ^Class(0), DupAckNum: 7, DupAckFrame: 7, GapBytes: 7, NewBytes: 7, RetransBytes: 7,
		UnseenAckBytes: 7, RTO: 7, RTOFrame: 7, AckedFrame: 7, AckRTT: 7}
	for i, s := range steps {
		sg := s.seg
		sg.Frame = uint64(i + 1)
		sg.Time = base + int64(i)*int64(time.Millisecond)
		want := viaAdd.Add(s.dir, &sg)
		viaAddTo.AddTo(s.dir, &sg, &r)
		if r != want {
			t.Fatalf("segment %d: AddTo gave %+v, Add %+v", i+1, r, want)
		}
	}
}
