package cli

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
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

// keepGCSettings sets the collector's target to 100 and removes any memory
// limit for the test, and puts them back after it.
func keepGCSettings(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	})
}

// TestHoldGCEndsAtFirstCollection: holdGC turns the collector off behind a
// memory limit, and the first collection puts the target in place and lifts
// the limit, so that a run whose heap grows is collected as any other.
func TestHoldGCEndsAtFirstCollection(t *testing.T) {
	keepGCSettings(t)

	holdGC(1<<40, 77)
	if p, l := gcSettings(); p != math.MaxUint64 || l != 1<<40 {
		t.Fatalf("after holdGC: target %d, limit %d; want off and %d", p, l, uint64(1<<40))
	}
	if p, l := collectUntilReleased(); p != 77 || l != math.MaxInt64 {
		t.Fatalf("after collections: target %d, limit %d; want 77 and no limit", p, l)
	}
}

// collectUntilReleased collects until a hold's cleanup has run (it runs on a
// goroutine of its own after the collection), for at most half a second, and
// returns the settings then.
func collectUntilReleased() (percent, limit uint64) {
	for i := 0; i < 500; i++ {
		runtime.GC()
		if percent, limit = gcSettings(); percent != math.MaxUint64 {
			return percent, limit
		}
		time.Sleep(time.Millisecond)
	}
	return percent, limit
}

// TestSetGCHoldsOnlyWhenUnset: setGC holds the collector off on a small run
// unless GOGC or GOMEMLIMIT says otherwise, and then leaves the user's
// setting alone (GOGC) or applies our target (GOMEMLIMIT). Runs with a big
// heap are not tried here: they advise 256 MiB of heap, once a process.
func TestSetGCHoldsOnlyWhenUnset(t *testing.T) {
	keepGCSettings(t)
	tests := []struct {
		name        string
		env         map[string]string
		wantPercent uint64
		wantLimit   uint64
	}{
		{"nothing set: held", nil, math.MaxUint64, gcHoldBytes},
		{"GOGC set: left alone", map[string]string{"GOGC": "80"}, 100, math.MaxInt64},
		{"GOMEMLIMIT set: our target, no hold", map[string]string{"GOMEMLIMIT": "1GiB"}, defaultGCPercent, math.MaxInt64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"GOGC", "GOMEMLIMIT"} {
				if v, ok := tc.env[k]; ok {
					t.Setenv(k, v)
				} else {
					t.Setenv(k, "")
					os.Unsetenv(k)
				}
			}
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			setGC(false)
			if p, l := gcSettings(); p != tc.wantPercent || l != tc.wantLimit {
				t.Errorf("target %d, limit %d; want %d and %d", p, l, tc.wantPercent, tc.wantLimit)
			}
			// A hold's cleanup must not change the next case's settings.
			collectUntilReleased()
		})
	}
}

// TestApplyGC: the collector's settings for each case of setGC, big heaps
// included (setGC itself advises the huge pages once a process).
func TestApplyGC(t *testing.T) {
	keepGCSettings(t)
	tests := []struct {
		name                   string
		gogc, limit, bigHeap   bool
		wantPercent, wantLimit uint64
	}{
		{"small run: held at gcHoldBytes", false, false, false, math.MaxUint64, gcHoldBytes},
		{"big heap: held at bigHoldBytes", false, false, true, math.MaxUint64, bigHoldBytes},
		{"GOMEMLIMIT: our target, no hold", false, true, true, defaultGCPercent, math.MaxInt64},
		{"GOGC: left alone", true, false, true, 100, math.MaxInt64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			applyGC(tc.gogc, tc.limit, tc.bigHeap)
			if p, l := gcSettings(); p != tc.wantPercent || l != tc.wantLimit {
				t.Errorf("target %d, limit %d; want %d and %d", p, l, tc.wantPercent, tc.wantLimit)
			}
			collectUntilReleased()
		})
	}
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
	small := file("small.pcap", smallInputMax, pcap)
	big := file("big.pcap", smallInputMax+1, pcap)
	half := file("half.pcap", smallInputMax/2+1, pcap)
	gzSmall := file("small.pcap.gz", smallInputMax/8, []byte{0x1f, 0x8b})
	gzBig := file("big.pcap.gz", smallInputMax/8+1, []byte{0x1f, 0x8b})
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

// TestExecTraceFlag: --exectrace writes the run's execution trace (a file
// that go tool trace reads, which begins with its version), and a path that
// cannot be created is an error that names the trace.
func TestExecTraceFlag(t *testing.T) {
	keepGCSettings(t)
	in := scenario(t, "close_wait_leak.pcap")
	tr := filepath.Join(t.TempDir(), "run.trace")
	var out, errOut strings.Builder
	if code := Main([]string{"analyze", "--exectrace", tr, in}, strings.NewReader(""), &out, &errOut); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	b, err := os.ReadFile(tr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "go 1.") || len(b) < 1000 {
		t.Fatalf("the trace is %d bytes beginning %q", len(b), b[:min(len(b), 16)])
	}
	bad := filepath.Join(t.TempDir(), "missing", "run.trace")
	errOut.Reset()
	if code := Main([]string{"analyze", "--exectrace", bad, in}, strings.NewReader(""), &out, &errOut); code == ExitOK || !strings.Contains(errOut.String(), "execution trace") {
		t.Fatalf("exit %d, %q: want an error about the execution trace", code, errOut.String())
	}
}
