//go:build !linux

package capture

import (
	"io"
	"os"
)

// fileReader returns what a Source reads the opened file f through: f
// itself (raw reads are made on Linux only).
func fileReader(f *os.File) io.Reader { return f }

// growPipe leaves f alone: pipe buffers are resized on Linux only.
func growPipe(f *os.File) {}
