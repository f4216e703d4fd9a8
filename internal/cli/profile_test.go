package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSmallInputs: only regular files known to hold little go without the
// huge-page heap; gzip counts for eight times its size.
func TestSmallInputs(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, size int64, head []byte) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(head); err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return p
	}
	pcap := []byte{0xd4, 0xc3, 0xb2, 0xa1}
	small := file("small.pcap", 1<<20, pcap)
	big := file("big.pcap", 17<<20, pcap)
	half := file("half.pcap", 9<<20, pcap)
	gzSmall := file("small.pcap.gz", 1<<20, []byte{0x1f, 0x8b})
	gzBig := file("big.pcap.gz", 3<<20, []byte{0x1f, 0x8b})
	tests := []struct {
		name string
		args []string
		want bool
	}{
		{"one small file", []string{small}, true},
		{"a small gzip", []string{gzSmall}, true},
		{"no files", nil, false},
		{"standard input", []string{"-"}, false},
		{"a big file", []string{big}, false},
		{"two halves past the bound together", []string{half, half}, false},
		{"a gzip that unpacks past the bound", []string{gzBig}, false},
		{"a directory", []string{dir}, false},
		{"a missing file", []string{filepath.Join(dir, "none")}, false},
		{"a small file and a flow id", []string{small, "12"}, false},
	}
	for _, tc := range tests {
		if got := smallInputs(tc.args); got != tc.want {
			t.Errorf("%s: smallInputs = %v, want %v", tc.name, got, tc.want)
		}
	}
}
