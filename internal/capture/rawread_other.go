//go:build !linux

package capture

import (
	"io"
	"os"
)

// fileReader returns what a Source reads the opened file f through: f
// itself (raw reads are made on Linux only).
func fileReader(f *os.File) io.Reader { return f }
