package fsm

import (
	"reflect"
	"testing"
)

// TestStepToOverwritesStep runs a connection through Step and, on a second
// tracker, through StepTo into a Step full of junk each time: every step and
// both timelines must match. (The timeline's contents are checked against
// fixed values by TestHandshakeAndFourWayClose.)
func TestStepToOverwritesStep(t *testing.T) {
	script := cat(handshake, dataThenClose)
	viaStep, viaStepTo := newTracker(false), newTracker(false)
	want := run(t, viaStep, script)
	junk := Step{Event: EventFin, Verdict: Invalid, Reason: "junk", Reasons: [2]string{"a", "b"},
		Verdicts: [2]Verdict{Invalid, Invalid}, From: [2]State{TimeWait, TimeWait}, To: [2]State{Closing, Closing},
		Changed: true, Pickup: true}
	for i, p := range script {
		st := junk
		viaStepTo.StepTo(p.dir, seg(uint64(i+1), p.flags, p.seq, p.ack, p.plen), &st)
		if st != want[i] {
			t.Fatalf("segment %d: StepTo gave %+v, Step %+v", i+1, st, want[i])
		}
	}
	a, b := viaStep.Timeline(), viaStepTo.Timeline()
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("timelines of %d and %d transitions", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("transition %d: StepTo recorded %+v, Step %+v", i, b[i], a[i])
		}
	}
}

// TestInitResetsAll: Init leaves the timeline's old entries in place (only
// the first n are read); everything else must be as on a new tracker, for
// every field, including any added later.
func TestInitResetsAll(t *testing.T) {
	for _, midstream := range []bool{false, true} {
		used := newTracker(false)
		run(t, used, cat(handshake, []pkt{
			{O, fFA, 1001, 5001, 0, EventFin, Accepted, FinWait1, CloseWait},
			{R, fRA, 5001, 1002, 0, EventRst, Accepted, Closed, Closed},
		}))
		used.Init(&Config{TimeWait: 7}, midstream)
		var fresh Tracker
		fresh.Init(&Config{TimeWait: 7}, midstream)
		if len(used.Timeline()) != 0 || used.Dropped() != 0 {
			t.Fatalf("midstream %v: Init left %d transitions, %d dropped", midstream, len(used.Timeline()), used.Dropped())
		}
		used.tl = [TimelineCap]Transition{}
		if !reflect.DeepEqual(*used, fresh) {
			t.Errorf("midstream %v: after Init\n%+v\nwant\n%+v", midstream, *used, fresh)
		}
	}
}
