// Package prefetch asks the processor to bring memory into the cache ahead of
// its use, without waiting for it. The analysis uses it where it knows what it
// will touch next and that it is far: a line that another core read last,
// which this core must take back before it can write it (the pipeline's slots
// and flow records), and the connection state the flow table will give up
// next, which has long left the cache (docs/performance.md, session 10).
//
// The calls are hints: they never fault, change no memory, and do nothing on
// an architecture without the instructions.
package prefetch

import "unsafe"

// ForWrite asks for the cache lines of the n bytes at p in the state that
// lets this core write them (PREFETCHW), and returns without waiting for
// them. It does nothing when the processor lacks the instruction (Supported).
func ForWrite(p unsafe.Pointer, n uintptr) {
	if Supported && n > 0 {
		forWrite(p, n)
	}
}

// ForRead asks for the cache lines of the n bytes at p (PREFETCHT0), and
// returns without waiting for them.
func ForRead(p unsafe.Pointer, n uintptr) {
	if n > 0 {
		forRead(p, n)
	}
}
