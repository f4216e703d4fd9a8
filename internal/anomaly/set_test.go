package anomaly

import (
	"reflect"
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
