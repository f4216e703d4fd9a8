package prefetch

import "unsafe"

// Supported reports whether the processor has PREFETCHW: CPUID leaf
// 0x80000001, ECX bit 8 (AMD since the K6-2, Intel since Broadwell).
var Supported = hasPrefetchW()

func hasPrefetchW() bool {
	if maxExt, _, _, _ := cpuid(0x80000000, 0); maxExt < 0x80000001 {
		return false
	}
	_, _, ecx, _ := cpuid(0x80000001, 0)
	return ecx&(1<<8) != 0
}

// cpuid runs the CPUID instruction for leaf and subleaf.
func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// forWrite issues PREFETCHW for each cache line of the n > 0 bytes at p.
//
//go:noescape
func forWrite(p unsafe.Pointer, n uintptr)

// forRead issues PREFETCHT0 for each cache line of the n > 0 bytes at p.
//
//go:noescape
func forRead(p unsafe.Pointer, n uintptr)
