package cli

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// gcSettings reads the collector's target (math.MaxUint64 when off) and
// memory limit without changing them.
func gcSettings() (percent, limit uint64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// TestHoldGCEndsAtFirstCollection: holdGC turns the collector off behind a
// memory limit, and the first collection puts the target in place and lifts
// the limit, so that a run whose heap grows is collected as any other.
func TestHoldGCEndsAtFirstCollection(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(math.MaxInt64)
	defer func() {
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	}()

	holdGC(1<<40, 77)
	if p, l := gcSettings(); p != math.MaxUint64 || l != 1<<40 {
		t.Fatalf("after holdGC: target %d, limit %d; want off and %d", p, l, uint64(1<<40))
	}
	// The cleanup runs on a goroutine of its own after the collection.
	for i := 0; i < 500; i++ {
		runtime.GC()
		if p, l := gcSettings(); p == 77 && l == math.MaxInt64 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	p, l := gcSettings()
	t.Fatalf("after collections: target %d, limit %d; want 77 and no limit", p, l)
}

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
