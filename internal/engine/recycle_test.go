package engine

import (
	"sync"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// resetRecycled empties the records given back by earlier tests.
func resetRecycled(t *testing.T) {
	t.Helper()
	recycled.mu.Lock()
	recycled.flows = nil
	recycled.mu.Unlock()
}

func TestRecycledFlowsAreReused(t *testing.T) {
	resetRecycled(t)
	e := New(Config{})
	if f := e.takeFlow(); f == nil {
		t.Fatal("no record when none was recycled")
	}
	given := map[*report.Flow]bool{}
	for i := 0; i < recycleBatch+3; i++ {
		f := new(report.Flow)
		given[f] = true
		RecycleFlow(f)
	}
	for i := 0; i < recycleBatch+3; i++ {
		f := e.takeFlow()
		if !given[f] {
			t.Fatalf("take %d: a new record while %d recycled ones were left", i, recycleBatch+3-i)
		}
		delete(given, f)
	}
	if f := e.takeFlow(); f == nil || given[f] {
		t.Fatal("no new record once the recycled ones were used")
	}
}

func TestRecycledFlowsAreBounded(t *testing.T) {
	resetRecycled(t)
	for i := 0; i < maxRecycled+100; i++ {
		RecycleFlow(new(report.Flow))
	}
	recycled.mu.Lock()
	n := len(recycled.flows)
	recycled.mu.Unlock()
	if n != maxRecycled {
		t.Fatalf("%d records kept, want at most %d", n, maxRecycled)
	}
	resetRecycled(t)
}

// TestRecycleConcurrently gives records back from a sink while engines take
// them, as a pipeline does: no record may be handed out while the sink still
// holds it. (The race detector checks the locking.)
func TestRecycleConcurrently(t *testing.T) {
	resetRecycled(t)
	const perEngine = 5000
	engines := []*Engine{New(Config{}), New(Config{})}
	handed := make(chan *report.Flow, 256)
	var mu sync.Mutex
	held := map[*report.Flow]bool{} // handed to the sink and not given back
	twice := 0
	var wg sync.WaitGroup
	for _, e := range engines {
		wg.Add(1)
		go func(e *Engine) {
			defer wg.Done()
			for i := 0; i < perEngine; i++ {
				f := e.nextFlow()
				mu.Lock()
				if held[f] {
					twice++
				}
				held[f] = true
				mu.Unlock()
				f.ID = uint64(i) // the engine writes the record it was given
				handed <- f
			}
		}(e)
	}
	done := make(chan struct{})
	seen := 0
	go func() {
		for f := range handed {
			seen++
			mu.Lock()
			delete(held, f)
			mu.Unlock()
			RecycleFlow(f)
		}
		close(done)
	}()
	wg.Wait()
	close(handed)
	<-done
	if seen != 2*perEngine || twice != 0 {
		t.Fatalf("the sink got %d records (want %d), %d of them while it held them", seen, 2*perEngine, twice)
	}
	resetRecycled(t)
}

// TestRecycleFromSink: a sink that gives each record back with Recycle gets
// the flows a sink that keeps them gets, field for field (a reused record
// must not carry anything of its last flow), and on a single engine the
// records go round without the shared list; on a pipeline they go through
// it, to the workers. Every flow of so small a capture lingers to its end,
// where a pipeline's workers end a chunk of them while its merger replays
// the last one (endOpen): two chunks of records in flight, whatever the
// number of flows.
func TestRecycleFromSink(t *testing.T) {
	data := writeMix(t, pcapgen.MixOptions{Packets: 30_000, Connections: 5_000,
		Concurrency: 100, Seed: 9, FloodSources: 100})
	run := func(workers int, giveBack bool) (map[uint64]string, int) {
		t.Helper()
		resetRecycled(t)
		a := analyzerOf(t, workers)
		flows := map[uint64]string{}
		records := map[*report.Flow]bool{}
		a.SetSink(func(f *report.Flow) {
			flows[f.ID] = jsonOf(t, *f)
			records[f] = true
			if giveBack {
				a.Recycle(f)
			}
		})
		feedCapture(t, a, data, capture.Options{}, nil)
		return flows, len(records)
	}
	want, _ := run(1, false)
	if len(want) < 5000 {
		t.Fatalf("%d flows", len(want))
	}
	for _, workers := range []int{1, 2} {
		got, records := run(workers, true)
		if len(got) != len(want) {
			t.Fatalf("%d workers: %d flows, want %d", workers, len(got), len(want))
		}
		for id, w := range want {
			if got[id] != w {
				t.Fatalf("%d workers, flow %d given back and refilled:\n got %s\nwant %s", workers, id, got[id], w)
			}
		}
		// One engine fills the record its sink just gave back; a
		// pipeline has rounds of records in flight, and two chunks of
		// them at the end.
		if limit := map[int]int{1: 4, 2: 2*endChunk + len(want)/8}[workers]; records > limit {
			t.Errorf("%d workers: %d records for %d flows, want at most %d: they were not reused", workers, records, len(want), limit)
		}
		recycled.mu.Lock()
		shared := len(recycled.flows)
		recycled.mu.Unlock()
		if workers == 1 && shared != 0 {
			t.Errorf("one engine: %d records went through the shared list", shared)
		}
	}
	resetRecycled(t)
}
