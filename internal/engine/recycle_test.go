package engine

import (
	"sync"
	"testing"

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
