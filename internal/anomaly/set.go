package anomaly

import "github.com/tcpflow-analyze/tcpflow-analyze/report"

// MaxEvidence is how many packet numbers a flow keeps per kind; Count keeps the
// full number.
const MaxEvidence = 5

type record struct {
	kind    Kind
	count   uint32
	max     uint32 // the largest value given with AddValue (a duplicate-ACK number)
	n       uint8
	packets [MaxEvidence]uint64
	times   [MaxEvidence]int64
}

// Set collects the anomalies of one flow. Its zero value is empty. The
// first kind recorded is kept in the Set itself and the others in a slice
// made when a second kind comes: most flows with findings have one (a
// half-open attempt, a reset), and the slice of a connection recycled from
// an earlier one had left the cache, a miss on every such flow (a tenth of
// the time spent finishing the 1 M-source flood's flows).
type Set struct {
	n     int // records in use: first, then more[:n-1]
	first record
	more  []record
}

// at returns the i-th record in use.
func (s *Set) at(i int) *record {
	if i == 0 {
		return &s.first
	}
	return &s.more[i-1]
}

// find returns the record of k, or nil.
func (s *Set) find(k Kind) *record {
	for i := range s.n {
		if r := s.at(i); r.kind == k {
			return r
		}
	}
	return nil
}

// Add records one occurrence of k at packet frame and time t.
func (s *Set) Add(k Kind, frame uint64, t int64) { s.add(k, frame, t) }

func (s *Set) add(k Kind, frame uint64, t int64) *record {
	if r := s.find(k); r != nil {
		r.count++
		if int(r.n) < MaxEvidence {
			r.packets[r.n], r.times[r.n] = frame, t
			r.n++
		}
		return r
	}
	var r *record
	if s.n == 0 {
		r = &s.first
	} else {
		s.more = append(s.more[:s.n-1], record{})
		r = &s.more[s.n-1]
	}
	s.n++
	*r = record{kind: k, count: 1, n: 1}
	r.packets[0], r.times[0] = frame, t
	return r
}

// AddValue records one occurrence of k like Add and keeps the largest v seen,
// such as the number of a duplicate ACK in its series.
func (s *Set) AddValue(k Kind, frame uint64, t int64, v uint32) {
	if r := s.add(k, frame, t); v > r.max {
		r.max = v
	}
}

// Max returns the largest value recorded for k with AddValue.
func (s *Set) Max(k Kind) uint32 {
	if r := s.find(k); r != nil {
		return r.max
	}
	return 0
}

// Each calls fn for every kind recorded, with its count.
func (s *Set) Each(fn func(k Kind, count uint32)) {
	for i := range s.n {
		r := s.at(i)
		fn(r.kind, r.count)
	}
}

// Reset empties the set, keeping its memory for reuse.
func (s *Set) Reset() {
	s.n = 0
	s.more = s.more[:0]
}

// Empty reports whether no anomaly was recorded.
func (s *Set) Empty() bool { return s.n == 0 }

// Has reports whether k was recorded.
func (s *Set) Has(k Kind) bool { return s.find(k) != nil }

// Count returns how often k was recorded.
func (s *Set) Count(k Kind) uint32 {
	if r := s.find(k); r != nil {
		return r.count
	}
	return 0
}

// ordered appends the records in use to order, in catalog order: a set
// holds a kind once, and few kinds, so an insertion sort of them replaces a
// pass over every kind (4 % of the 1 M-source flood's run, for one or two
// findings a flow).
func (s *Set) ordered(order []*record) []*record {
	for i := range s.n {
		r := s.at(i)
		j := len(order)
		order = append(order, r)
		for ; j > 0 && order[j-1].kind > r.kind; j-- {
			order[j] = order[j-1]
		}
		order[j] = r
	}
	return order
}

// BriefInto is ReportInto for a record nobody will show whole: each entry
// has its kind, severity and count, and its message only where message
// (when not nil) gives one (else the catalog's), without packet or time
// lists or details. It allocates nothing when dst has the room.
func (s *Set) BriefInto(dst []report.Anomaly, message func(Kind) string) []report.Anomaly {
	return s.reportInto(dst, message, true)
}

// Report converts the set into report entries in catalog order; message, when
// not nil, may give a flow-specific message for a kind.
func (s *Set) Report(message func(Kind) string) []report.Anomaly {
	return s.ReportInto(nil, message)
}

// ReportInto is Report appending to dst[:0], reusing the memory of dst's
// entries and of their packet and time lists: a caller that recycles flow
// records allocates nothing for findings that fit.
func (s *Set) ReportInto(dst []report.Anomaly, message func(Kind) string) []report.Anomaly {
	return s.reportInto(dst, message, false)
}

// reportInto is ReportInto, or BriefInto when brief.
func (s *Set) reportInto(dst []report.Anomaly, message func(Kind) string, brief bool) []report.Anomaly {
	if s.n == 0 {
		return nil
	}
	out := dst[:0]
	if cap(out) < s.n {
		out = make([]report.Anomaly, 0, s.n)
	}
	var small [8]*record
	for _, r := range s.ordered(small[:0]) {
		k := r.kind
		in := &catalog[k]
		a := report.Anomaly{Kind: in.Name, Severity: in.Severity, Count: uint64(r.count), Message: in.Message}
		if !brief {
			if n := len(out); n < cap(out) {
				old := out[:n+1][n]
				a.Packets, a.Times = old.Packets[:0], old.Times[:0]
			}
			if r.n > 0 {
				a.Packets = append(a.Packets, r.packets[:r.n]...)
				for _, t := range r.times[:r.n] {
					a.Times = append(a.Times, report.Time(t))
				}
			} else {
				a.Packets, a.Times = nil, nil
			}
			if r.max > 0 {
				a.Details = map[string]any{"max_number": r.max}
			}
		}
		if message != nil {
			if m := message(k); m != "" {
				a.Message = m
			}
		}
		out = append(out, a)
	}
	return out
}
