// Package prefetch asks the processor to bring memory into the cache ahead of
// its use. Its one use is the hand-off between cores: a line that another
// core read last must be taken back from it before this core can write it,
// and a core that writes a stream of such lines stalls on each of them unless
// it asked for them ahead (docs/performance.md, session 10).
//
// The calls are hints: they never fault, change no memory, and do nothing on
// a processor (or an architecture) without the instruction.
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
