package capture

import (
	"io"
	"os"
)

// compressedRatio is how many times its size a compressed capture (gzip,
// zstd) is taken to hold once decompressed (captures of TCP traffic compress
// 3 to 10 times).
const compressedRatio = 8

// InputSize estimates the bytes of capture the named files hold, a
// compressed file counting compressedRatio times its size. It reports false when a name is not a
// regular file (standard input, a pipe, a missing file), whose size is not
// known beforehand.
func InputSize(names []string) (int64, bool) {
	var total int64
	for _, name := range names {
		st, err := os.Stat(name)
		if name == "-" || err != nil || !st.Mode().IsRegular() {
			return 0, false
		}
		n := st.Size()
		if z, err := fileIsCompressed(name); err != nil {
			return 0, false
		} else if z {
			n *= compressedRatio
		}
		total += n
	}
	return total, true
}

func fileIsCompressed(name string) (bool, error) {
	f, err := os.Open(name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var head [8]byte
	n, err := io.ReadFull(f, head[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return false, err
	}
	return compressionOf(head[:n]) != nil, nil
}
