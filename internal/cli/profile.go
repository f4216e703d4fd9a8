package cli

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/bigmem"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
)

// profileFlags are the hidden --cpuprofile and --memprofile flags, which
// profile a real run (docs/performance.md).
type profileFlags struct {
	cpu, mem string
	cpuFile  *os.File
	memDone  bool
}

func (p *profileFlags) bind(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&p.cpu, "cpuprofile", "", "write a CPU profile of the run to this file")
	f.StringVar(&p.mem, "memprofile", "", "write an allocation profile at the end of the run to this file")
	_ = f.MarkHidden("cpuprofile")
	_ = f.MarkHidden("memprofile")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		return p.start(analyzes(cmd) && !smallInputs(args))
	}
}

// analyzes reports whether cmd runs an analysis, whose heap may grow large.
func analyzes(cmd *cobra.Command) bool {
	switch cmd.Name() {
	case "analyze", "check", "flow", "live":
		return true
	}
	return false
}

func (p *profileFlags) start(bigHeap bool) error {
	setGC(bigHeap)
	if p.cpu == "" {
		return nil
	}
	f, err := os.Create(p.cpu)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("cpu profile: %w", err)
	}
	p.cpuFile = f
	return nil
}

// defaultGCPercent is the garbage collector's target unless GOGC is set. The
// analysis keeps a fairly steady live heap (open connections, lingering ones,
// tombs, detector windows) and allocates per flow; Go's default of 100 lets
// the heap grow to twice the live part, so the peak memory is mostly garbage.
// At 50, a capture of 10 M packets and 1 M connections peaks at 135 MiB
// instead of 210 MiB in the same time (fewer fresh pages to fault in makes up
// for the extra collections): docs/performance.md.
const defaultGCPercent = 50

// hugeHeapBytes is how much of the heap's growth is advised into huge
// pages: more than the analysis of a busy capture needs (~100-150 MiB).
const hugeHeapBytes = 256 << 20

// setGC applies defaultGCPercent unless the user set GOGC, and asks for the
// heap in huge pages for a run whose heap may grow large.
func setGC(bigHeap bool) {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(defaultGCPercent)
	}
	// The first quarter GiB of the heap in huge pages: a fault per 2 MiB
	// instead of per 4 KiB, fewer TLB misses (docs/performance.md). The
	// collection that frees the block takes ~12 ms (and as much of another
	// core), a quarter of the run on a capture of a few hundred packets,
	// whose heap stays a few MiB: small inputs, and the commands that do not
	// analyze, go without.
	if bigHeap {
		bigmem.HugeHeap(hugeHeapBytes)
	}
}

// smallInputMax is the most bytes of capture files that smallInputs calls
// small: well under the ~70 MiB of heap whose faults the huge pages save.
const smallInputMax = 16 << 20

// smallInputs reports whether args name capture files that hold at most
// smallInputMax bytes together (capture.InputSize). Standard input, an
// interface or no file at all is not known to be small.
func smallInputs(args []string) bool {
	n, known := capture.InputSize(args)
	return len(args) > 0 && known && n <= smallInputMax
}

func (p *profileFlags) stop() error {
	if p.cpuFile != nil {
		pprof.StopCPUProfile()
		if err := p.cpuFile.Close(); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		p.cpuFile = nil
	}
	if p.mem == "" || p.memDone {
		return nil
	}
	p.memDone = true
	f, err := os.Create(p.mem)
	if err != nil {
		return fmt.Errorf("memory profile: %w", err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		return fmt.Errorf("memory profile: %w", err)
	}
	return nil
}
