package anomaly

import "testing"

// BenchmarkSetAdd records findings the way a flow with a few kinds does:
// most calls hit a kind already recorded.
func BenchmarkSetAdd(b *testing.B) {
	kinds := []Kind{DuplicateAck, Retransmission, DuplicateAck, OutOfOrder, DuplicateAck, Retransmission}
	b.ReportAllocs()
	var s Set
	i := 0
	for b.Loop() {
		if i%64 == 0 {
			s.Reset()
		}
		s.AddValue(kinds[i%len(kinds)], uint64(i), int64(i), uint32(i%7))
		i++
	}
}
