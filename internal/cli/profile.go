package cli

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/bigmem"
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
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return p.start() }
}

func (p *profileFlags) start() error {
	setGC()
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
// heap in huge pages.
func setGC() {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(defaultGCPercent)
	}
	// The first quarter GiB of the heap in huge pages: a fault per 2 MiB
	// instead of per 4 KiB, fewer TLB misses (docs/performance.md).
	bigmem.HugeHeap(hugeHeapBytes)
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
