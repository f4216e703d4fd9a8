package cli

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"

	"github.com/spf13/cobra"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/bigmem"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
)

// profileFlags are the hidden --cpuprofile, --memprofile and --exectrace
// flags, which profile a real run (docs/performance.md).
type profileFlags struct {
	cpu, mem, trace    string
	cpuFile, traceFile *os.File
	memDone            bool
}

func (p *profileFlags) bind(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&p.cpu, "cpuprofile", "", "write a CPU profile of the run to this file")
	f.StringVar(&p.mem, "memprofile", "", "write an allocation profile at the end of the run to this file")
	f.StringVar(&p.trace, "exectrace", "", "write an execution trace of the run to this file (go tool trace)")
	_ = f.MarkHidden("cpuprofile")
	_ = f.MarkHidden("memprofile")
	_ = f.MarkHidden("exectrace")
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
	var err error
	if p.traceFile, err = startRecording(p.trace, "execution trace", trace.Start); err != nil {
		return err
	}
	p.cpuFile, err = startRecording(p.cpu, "cpu profile", pprof.StartCPUProfile)
	return err
}

// startRecording creates the file at path and starts writing what (a
// profile or trace) to it with start. It does nothing when path is empty.
func startRecording(path, what string, start func(io.Writer) error) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return f, nil
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
// heap in huge pages for a run whose heap may grow large. Unless the user
// set GOGC or GOMEMLIMIT, every run starts with the collector held off
// (holdGC): until gcHoldBytes when its inputs are small (and for any
// command but an analysis), until bigHoldBytes when its heap may grow.
func setGC(bigHeap bool) {
	_, gogc := os.LookupEnv("GOGC")
	_, limit := os.LookupEnv("GOMEMLIMIT")
	// The first quarter GiB of the heap in huge pages: a fault per 2 MiB
	// instead of per 4 KiB, fewer TLB misses (docs/performance.md). The
	// block and the collection that frees it cost more than they save on a
	// capture too small to hold a thousand connections: small inputs
	// (smallInputMax), and the commands that do not analyze, go without.
	if bigHeap {
		// HugeHeap gives the block back to the kernel once freed: kept,
		// it would count in the runtime's memory, and a hold's limit
		// would be reached at once.
		bigmem.HugeHeap(hugeHeapBytes)
	}
	applyGC(gogc, limit, bigHeap)
}

// applyGC sets the collector for a run, given whether the user set GOGC and
// GOMEMLIMIT and whether its heap may grow large (see setGC).
func applyGC(gogc, limit, bigHeap bool) {
	switch {
	case gogc:
		// The user's.
	case limit:
		debug.SetGCPercent(defaultGCPercent)
	case bigHeap:
		holdGC(bigHoldBytes, defaultGCPercent)
	default:
		holdGC(gcHoldBytes, defaultGCPercent)
	}
}

// bigHoldBytes is how much memory the runtime may take before the first
// collection of a run whose heap may grow large: about what the heap of the
// 2 M-packet mix settles at, so that its peak does not grow (+5 MiB) while
// the collections of its warm-up, one each time the heap had grown by half
// from 3 MiB, are not made: 11 collections became 5. (Each collection also
// scanned the 5 MiB of gopacket's lookup tables then, which the analysis no
// longer links: session 23.) One core, alternated pairs: table
// -0.026 CPU-s (7 of 10), ndjson -0.072 (6 of 6); the 10 M-packet capture
// and the 1 M-source flood peak where they did (docs/performance.md,
// session 16). A pipeline of workers ran without it from session 16 to 25,
// when it cost two workers CPU; since session 26 it saves them 0.02-0.045 s
// of wall time on 2 M-packet captures, for 1-6 MiB more at the peak.
const bigHoldBytes = 64 << 20

// gcHoldBytes is how much memory the runtime may take before the first
// collection of a run that holds the collector off (holdGC).
const gcHoldBytes = 32 << 20

// holdGC turns the collector off until the runtime holds limit bytes, and
// sets the collector's target to percent after the first collection.
//
// Every collection scans the program's global variables, and gopacket's
// layers package (linked for live capture until session 23) filled two
// tables of 65 536 entries with pointers at start-up: on a capture of a few
// hundred packets, whose heap reached the runtime's first goals (4 MiB times
// GOGC/100, so 2 MiB at defaultGCPercent) twice, the collections took half
// of the run (70 ms and 21 MiB of memory, against 30 ms and 13 MiB without
// them; docs/performance.md, session 12). Small runs end before a
// collection; a run whose heap grows past limit is collected there once, and
// from then on as any other.
func holdGC(limit int64, percent int) {
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(limit)
	// The cleanup of an object nothing refers to runs after the first
	// collection, whatever started it (the limit, or runtime.GC).
	runtime.AddCleanup(new(gcSentinel), releaseGC, percent)
}

// gcSentinel is the object whose cleanup ends holdGC. It is not tiny (the
// allocator batches objects under 16 bytes, and their cleanups may never
// run).
type gcSentinel struct{ _ [32]byte }

// releaseGC ends holdGC: the target is percent and the limit is gone.
func releaseGC(percent int) {
	debug.SetGCPercent(percent)
	debug.SetMemoryLimit(math.MaxInt64)
}

// smallInputMax is the most bytes of capture files that smallInputs calls
// small. With one collection at the start (session 30) the huge-page heap
// pays from about a thousand connections: forced on (one core, perf stat),
// the mix's 10 000 and 60 000 packets (2.3 and 9.4 MB) went from 85 and 226
// ms to 53 and 91, a loopback capture's 50 000 (9.3 MB) from 118 to 70, a
// corpus capture of 2.7 MB with one flow from 41 to 35 and one of 1.3 MB
// with 23 flows stayed at 37, while 0.6 MB with two flows went from 32 to
// 36 and an empty capture from 27 to 35 (docs/performance.md). It was
// 16 MiB while the heap took three collections.
const smallInputMax = 1 << 20

// smallInputs reports whether args name capture files that hold at most
// smallInputMax bytes together (capture.InputSize). Standard input, an
// interface or no file at all is not known to be small.
func smallInputs(args []string) bool {
	n, known := capture.InputSize(args)
	return len(args) > 0 && known && n <= smallInputMax
}

func (p *profileFlags) stop() error {
	if p.traceFile != nil {
		trace.Stop()
		err := p.traceFile.Close()
		p.traceFile = nil
		if err != nil {
			return fmt.Errorf("execution trace: %w", err)
		}
	}
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
