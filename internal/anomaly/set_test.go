package anomaly

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// TestReportIntoReuses: reporting into a used slice gives what Report gives,
// whatever the slice held, and reuses its memory.
func TestReportIntoReuses(t *testing.T) {
	var s Set
	s.Add(Retransmission, 10, 1000)
	s.Add(Retransmission, 12, 1200)
	s.Add(DuplicateAck, 11, 1100)
	want := s.Report(nil)

	dirty := []report.Anomaly{
		{Kind: "x", Packets: []uint64{1, 2, 3, 4, 5, 6}, Times: []report.Time{1, 2, 3, 4, 5, 6}, Message: "old"},
		{Kind: "y", Packets: []uint64{9}, Details: map[string]any{"a": 1}},
		{Kind: "z"},
	}
	got := s.ReportInto(dirty[:0], nil)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ReportInto = %+v\nwant %+v", got, want)
	}
	if &got[0] != &dirty[0] {
		t.Error("ReportInto did not reuse the slice")
	}
	var empty Set
	if got := empty.ReportInto(dirty, nil); got != nil {
		t.Errorf("an empty set reports %v, want nil", got)
	}
}

// TestSetKeepsEveryKind records sequences of findings into a Set, once from
// empty and once after a Reset of a Set that held more kinds (its memory
// reused), and checks what each kind kept against a map: the first kind
// lives in the Set itself and the others in its slice.
func TestSetKeepsEveryKind(t *testing.T) {
	type add struct {
		k Kind
		v uint32
	}
	for _, tc := range []struct {
		name string
		adds []add
	}{
		{"one kind", []add{{HalfOpen, 0}}},
		{"one kind, many times", []add{{DuplicateAck, 1}, {DuplicateAck, 3}, {DuplicateAck, 2}, {DuplicateAck, 4}, {DuplicateAck, 5}, {DuplicateAck, 6}}},
		{"two kinds", []add{{Retransmission, 0}, {DuplicateAck, 2}, {Retransmission, 0}}},
		{"four kinds", []add{{Reset, 0}, {OutOfOrder, 0}, {DuplicateAck, 9}, {ZeroWindow, 0}, {OutOfOrder, 0}, {DuplicateAck, 4}}},
	} {
		for _, reused := range []bool{false, true} {
			var s Set
			if reused {
				for _, k := range []Kind{KeepAlive, LongIdle, Rejected, PortReuse, WindowFull} {
					s.Add(k, 1, 1)
				}
				s.Reset()
				if !s.Empty() || s.Has(KeepAlive) {
					t.Fatalf("%s: Reset left findings", tc.name)
				}
			}
			count, most := map[Kind]uint32{}, map[Kind]uint32{}
			var order []Kind
			for i, a := range tc.adds {
				s.AddValue(a.k, uint64(i+1), int64(i+1), a.v)
				if count[a.k] == 0 {
					order = append(order, a.k)
				}
				count[a.k]++
				most[a.k] = max(most[a.k], a.v)
			}
			var each []Kind
			s.Each(func(k Kind, n uint32) {
				each = append(each, k)
				if n != count[k] {
					t.Errorf("%s: Each gives %s %d times, want %d", tc.name, k.Info().Name, n, count[k])
				}
			})
			if !reflect.DeepEqual(each, order) {
				t.Errorf("%s: Each visits %v, want %v (first recorded first)", tc.name, each, order)
			}
			for k, n := range count {
				if !s.Has(k) || s.Count(k) != n || s.Max(k) != most[k] {
					t.Errorf("%s: %s has=%v count=%d max=%d, want count %d max %d", tc.name, k.Info().Name, s.Has(k), s.Count(k), s.Max(k), n, most[k])
				}
			}
			if s.Has(Rejected) || s.Count(Rejected) != 0 {
				t.Errorf("%s: a kind never recorded is there", tc.name)
			}
			if r := s.Report(nil); len(r) != len(count) {
				t.Errorf("%s: report has %d kinds, want %d", tc.name, len(r), len(count))
			}
		}
	}
}

// TestReportInCatalogOrder: however the kinds came, the report lists them
// in catalog order, more than eight of them too.
func TestReportInCatalogOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for round := range 200 {
		n := 1 + r.IntN(12)
		kinds := r.Perm(int(NumKinds))[:n]
		var s Set
		for i, k := range kinds {
			s.Add(Kind(k), uint64(i+1), int64(i+1))
		}
		got := s.Report(nil)
		slices.Sort(kinds)
		if len(got) != n {
			t.Fatalf("round %d: %d entries for %d kinds", round, len(got), n)
		}
		for i, k := range kinds {
			if got[i].Kind != Kind(k).Info().Name {
				t.Fatalf("round %d: entry %d is %s, want %s", round, i, got[i].Kind, Kind(k).Info().Name)
			}
		}
	}
}
