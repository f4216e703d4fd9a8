//go:build !amd64

package prefetch

import "unsafe"

// Supported reports whether ForWrite does anything: only on amd64.
const Supported = false

func forWrite(unsafe.Pointer, uintptr) {}

func forRead(unsafe.Pointer, uintptr) {}
