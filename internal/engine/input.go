package engine

import (
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// input counts what was read: frames, TCP segments, frames filtered out, the
// time span, and the frames that are not TCP or could not be decoded.
type input struct {
	packets, tcp, filtered uint64
	start, end             int64
	seenTime               bool
	nonTCP                 map[string]uint64
	decodeProblems         map[string]uint64
}

func newInput() input {
	return input{nonTCP: map[string]uint64{}, decodeProblems: map[string]uint64{}}
}

// filteredOut counts a frame the user's filter excluded.
func (in *input) filteredOut() {
	in.packets++
	in.filtered++
}

// decode counts fr and decodes it into seg; it reports whether seg is a TCP
// segment to analyze.
func (in *input) decode(dec *capture.Decoder, fr *capture.Frame, seg *segment.Segment) bool {
	in.packets++
	if !in.seenTime || fr.Time < in.start {
		in.start = fr.Time
	}
	if !in.seenTime || fr.Time > in.end {
		in.end = fr.Time
	}
	in.seenTime = true
	res := dec.Decode(fr, seg)
	switch res.Kind {
	case capture.KindTCP:
		in.tcp++
		return true
	case capture.KindMalformed, capture.KindUnsupportedLink:
		in.decodeProblems[res.Reason]++
	default:
		in.nonTCP[res.Kind.String()]++
	}
	return false
}

// fill writes the counts into s.
func (in *input) fill(s *report.Summary) {
	s.PacketsRead, s.TCPSegments, s.Filtered = in.packets, in.tcp, in.filtered
	s.DecodeProblems, s.NonTCP = copyMap(in.decodeProblems), copyMap(in.nonTCP)
	if in.seenTime {
		st, en := report.Time(in.start), report.Time(in.end)
		s.Start, s.End = &st, &en
		s.DurationSecs = float64(in.end-in.start) / 1e9
	}
}
