package pcapgen

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// pcapPath returns the path of a file in testdata/pcaps at the repository root.
func pcapPath(name string) string { return filepath.Join("..", "..", "testdata", "pcaps", name) }

const regenHint = "the committed file differs from its scenario: run `go run ./internal/cmd/gentestdata` from the repository root and commit testdata/pcaps"

func TestScenarioNames(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)
	seen := map[string]bool{}
	for _, s := range Scenarios() {
		if !snake.MatchString(s.Name) {
			t.Errorf("scenario name %q is not snake_case", s.Name)
		}
		if !strings.HasPrefix(s.File, s.Name+".") {
			t.Errorf("scenario %s: file %q does not start with its name", s.Name, s.File)
		}
		if seen[s.Name] || seen[s.File] {
			t.Errorf("scenario %s: duplicate name or file", s.Name)
		}
		seen[s.Name], seen[s.File] = true, true
		if s.Description == "" || s.Build == nil || s.Conns <= 0 {
			t.Errorf("scenario %s: missing description, build function or connection count", s.Name)
		}
	}
}

// TestScenariosDeterministic builds every scenario twice and compares.
func TestScenariosDeterministic(t *testing.T) {
	for _, s := range Scenarios() {
		a, b := build(t, s), build(t, s)
		if !bytes.Equal(a, b) {
			t.Errorf("scenario %s: two builds differ", s.Name)
		}
	}
}

// TestCommittedFilesMatch regenerates every scenario in memory and compares it
// with the committed file, so testdata/pcaps never drifts from the generator.
func TestCommittedFilesMatch(t *testing.T) {
	ss := Scenarios()
	for _, s := range ss {
		t.Run(s.Name, func(t *testing.T) {
			want, err := os.ReadFile(pcapPath(s.File))
			if err != nil {
				t.Fatalf("%v; %s", err, regenHint)
			}
			got := build(t, s)
			if bytes.Equal(got, want) {
				return
			}
			// A gzip file may differ only by the compressor of another Go
			// release; its content must still be identical.
			if strings.HasSuffix(s.File, ".gz") && bytes.Equal(gunzip(t, got), gunzip(t, want)) {
				t.Logf("%s: compressed bytes differ but content is identical (different Go release?)", s.File)
				return
			}
			t.Errorf("%s: %s", s.File, regenHint)
		})
	}
	readme, err := os.ReadFile(pcapPath("README.md"))
	if err != nil || !bytes.Equal(readme, README(ss)) {
		t.Errorf("README.md: %s", regenHint)
	}
}

// TestTsharkReadsScenarios runs tshark, when installed, over the committed
// files: each must be read without error (truncated must be reported cut
// short), without malformed packets, and with correct checksums.
func TestTsharkReadsScenarios(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not on PATH")
	}
	if testing.Short() {
		t.Skip("slow: runs tshark on every file")
	}
	prefs := []string{"-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"}
	for _, s := range Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			file := pcapPath(s.File)
			filter := "_ws.malformed || _ws.expert.severity >= error || tcp.checksum.status == 0 || " +
				"ip.checksum.status == 0 || udp.checksum.status == 0 || icmp.checksum.status == 0 || icmpv6.checksum.status == 0"
			args := append([]string{"-n", "-r", file}, prefs...)
			cmd := exec.Command(tshark, append(args, "-Y", filter)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			cut := strings.Contains(stderr.String(), "cut short")
			switch {
			case s.Name == "truncated" && !cut:
				t.Errorf("tshark did not report the file cut short: %v %s", err, stderr.String())
			case s.Name != "truncated" && err != nil:
				t.Errorf("tshark: %v: %s", err, stderr.String())
			}
			if len(bytes.TrimSpace(out)) > 0 {
				t.Errorf("malformed packets or bad checksums:\n%s", out)
			}
			conv, _ := exec.Command(tshark, "-n", "-r", file, "-q", "-z", "conv,tcp").Output()
			if n := bytes.Count(conv, []byte("<->")); n != s.Conns {
				t.Errorf("tshark sees %d TCP conversations, want %d", n, s.Conns)
			}
		})
	}
}

func build(t *testing.T, s Scenario) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := s.Build(&b); err != nil {
		t.Fatalf("scenario %s: %v", s.Name, err)
	}
	return b.Bytes()
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil
	}
	return out
}
