package prefetch

import (
	"bytes"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// TestHintsChangeNothing runs the hints over ranges of every alignment
// within a line and of sizes that end in, at and past a line's end: the
// memory, and the bytes around it, stay as they were.
func TestHintsChangeNothing(t *testing.T) {
	buf := make([]byte, 1024)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	want := bytes.Clone(buf)
	for _, off := range []int{0, 1, 8, 40, 63, 64, 65, 127} {
		for _, n := range []int{0, 1, 63, 64, 65, 200, 216, 256, 700} {
			ForWrite(unsafe.Pointer(&buf[off]), uintptr(n))
			ForRead(unsafe.Pointer(&buf[off]), uintptr(n))
			if !bytes.Equal(buf, want) {
				t.Fatalf("a hint for %d bytes at offset %d changed memory", n, off)
			}
		}
	}
}

// TestSupportedMatchesTheKernel compares the CPUID check with the flag Linux
// shows for the instruction.
func TestSupportedMatchesTheKernel(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		if Supported {
			t.Fatal("Supported off amd64")
		}
		t.Skip("the kernel's flag is checked on linux/amd64")
	}
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skipf("no /proc/cpuinfo: %v", err)
	}
	var flags []string
	for _, l := range strings.Split(string(info), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "flags" {
			flags = strings.Fields(v)
			break
		}
	}
	has := false
	for _, f := range flags {
		// Linux names the CPUID bit after 3DNow!, which first brought it.
		has = has || f == "3dnowprefetch"
	}
	if Supported != has {
		t.Fatalf("Supported = %v, /proc/cpuinfo has 3dnowprefetch: %v", Supported, has)
	}
}
