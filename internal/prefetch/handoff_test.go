package prefetch

import (
	"testing"
	"unsafe"
)

// slot256 is a pipeline slot's size, rounded up to four cache lines.
type slot256 [32]uint64

// BenchmarkHandOff is the pipeline's hand-off in small: one goroutine
// writes rounds of slots and passes each to a second goroutine, which reads
// every slot and hands the round back for reuse, so the writer's stores go to
// lines the reader's core holds. "claimed" asks for each slot's lines for
// writing 8 slots ahead, as Pipeline.Frame does. Run it with at least two
// CPUs (-cpu 2); ns/op is per slot.
func BenchmarkHandOff(b *testing.B) {
	for _, claim := range []bool{false, true} {
		name := "plain"
		if claim {
			name = "claimed"
		}
		b.Run(name, func(b *testing.B) {
			const perRound, rounds, ahead = 4096, 4, 8
			free, full := make(chan []slot256, rounds), make(chan []slot256, rounds)
			for range rounds {
				free <- make([]slot256, perRound)
			}
			done := make(chan uint64)
			go func() {
				var sum uint64
				for r := range full {
					for i := range r {
						sum += r[i][0] + r[i][31]
					}
					free <- r
				}
				done <- sum
			}()
			b.SetBytes(int64(unsafe.Sizeof(slot256{})))
			b.ResetTimer()
			for n := 0; n < b.N; {
				r := <-free
				for i := 0; i < perRound && n < b.N; i, n = i+1, n+1 {
					if claim && i+ahead < perRound {
						ForWrite(unsafe.Pointer(&r[i+ahead]), unsafe.Sizeof(r[0]))
					}
					for j := range r[i] {
						r[i][j] = uint64(n + j)
					}
				}
				full <- r
			}
			close(full)
			<-done
		})
	}
}
