package fsm

import (
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

const (
	O = segment.Orig
	R = segment.Resp
)

// Flag shorthands.
const (
	fS  = segment.SYN
	fSA = segment.SYN | segment.ACK
	fA  = segment.ACK
	fFA = segment.FIN | segment.ACK
	fF  = segment.FIN
	fR  = segment.RST
	fRA = segment.RST | segment.ACK
	fPA = segment.PSH | segment.ACK
)

// seg builds a segment; time is frame seconds so TIME_WAIT tests can reason in s.
func seg(frame uint64, flags segment.Flags, seq, ack uint32, plen int) *segment.Segment {
	return &segment.Segment{
		Frame: frame, Time: int64(frame) * 1e9, Flags: flags,
		Seq: seqnum.Value(seq), Ack: seqnum.Value(ack), PayloadLen: plen, Window: 65535,
	}
}

// pkt is one scripted segment with the states expected after it.
type pkt struct {
	dir     segment.Dir
	flags   segment.Flags
	seq     uint32
	ack     uint32
	plen    int
	ev      Event
	verdict Verdict
	orig    State
	resp    State
}

func run(t *testing.T, tr *Tracker, script []pkt) []Step {
	t.Helper()
	var out []Step
	for i, p := range script {
		s := seg(uint64(i+1), p.flags, p.seq, p.ack, p.plen)
		st := tr.Step(p.dir, s)
		out = append(out, st)
		if st.Event != p.ev || st.Verdict != p.verdict || st.To != [2]State{p.orig, p.resp} {
			t.Fatalf("segment %d (%s %s seq=%d ack=%d len=%d): got %s %s %v→%v (%q), want %s %s [%s %s]",
				i+1, p.dir, p.flags, p.seq, p.ack, p.plen, st.Event, st.Verdict, st.From, st.To, st.Reason,
				p.ev, p.verdict, p.orig, p.resp)
		}
		if st.Reason == "" {
			t.Fatalf("segment %d: empty reason", i+1)
		}
	}
	return out
}

// handshake is the 3-way handshake: orig ISN 1000, resp ISN 5000.
var handshake = []pkt{
	{O, fS, 1000, 0, 0, EventSyn, Accepted, SynSent, SynReceived},
	{R, fSA, 5000, 1001, 0, EventSynAck, Accepted, Established, SynReceived},
	{O, fA, 1001, 5001, 0, EventAckCtl, Accepted, Established, Established},
}

// dataThenClose follows the handshake: data each way, then the originator
// closes first and holds TIME_WAIT.
var dataThenClose = []pkt{
	{O, fPA, 1001, 5001, 100, EventAck, Accepted, Established, Established},
	{R, fA, 5001, 1101, 0, EventAck, Accepted, Established, Established},
	{O, fFA, 1101, 5001, 0, EventFin, Accepted, FinWait1, CloseWait},
	{R, fA, 5001, 1102, 0, EventAckCtl, Accepted, FinWait2, CloseWait},
	{R, fFA, 5001, 1102, 0, EventFinAckCtl, Accepted, TimeWait, LastAck},
	{O, fA, 1102, 5002, 0, EventAckCtl, Accepted, TimeWait, Closed},
}

func cat(parts ...[]pkt) []pkt {
	var out []pkt
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
