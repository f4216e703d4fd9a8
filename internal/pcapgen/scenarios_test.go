package pcapgen

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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
// short), without malformed packets or errors, with correct checksums, and
// with the intended number of TCP conversations.
func TestTsharkReadsScenarios(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not on PATH")
	}
	if testing.Short() {
		t.Skip("slow: runs tshark on every file")
	}
	fields := []string{"tcp.checksum.status", "ip.checksum.status", "udp.checksum.status",
		"icmp.checksum.status", "icmpv6.checksum.status", "_ws.malformed", "_ws.expert.severity"}
	for _, s := range Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			args := []string{"-n", "-r", pcapPath(s.File),
				"-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
				"-z", "conv,tcp", "-T", "fields", "-E", "separator=/t"}
			for _, f := range fields {
				args = append(args, "-e", f)
			}
			cmd := exec.Command(tshark, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			cut := strings.Contains(stderr.String(), "cut short")
			switch {
			case s.Name == "truncated" && !cut:
				t.Errorf("tshark did not report the file cut short: %v %s", err, stderr.String())
			case s.Name != "truncated" && err != nil:
				t.Fatalf("tshark: %v: %s", err, stderr.String())
			}
			packets, stats, _ := strings.Cut(string(out), "=====")
			for i, line := range strings.Split(strings.TrimRight(packets, "\n"), "\n") {
				cols := strings.Split(line, "\t")
				if len(cols) != len(fields) {
					t.Fatalf("packet %d: %d fields, want %d: %q", i+1, len(cols), len(fields), line)
				}
				for j, v := range cols[:5] {
					if v == "0" {
						t.Errorf("packet %d: %s is bad", i+1, fields[j])
					}
				}
				if cols[5] != "" {
					t.Errorf("packet %d: malformed", i+1)
				}
				for _, sev := range strings.Split(cols[6], ",") {
					if n, _ := strconv.Atoi(sev); n >= expertError {
						t.Errorf("packet %d: expert info of error severity", i+1)
					}
				}
			}
			if n := strings.Count(stats, "<->"); n != s.Conns {
				t.Errorf("tshark sees %d TCP conversations, want %d", n, s.Conns)
			}
		})
	}
}

// expertError is Wireshark's PI_ERROR severity.
const expertError = 0x00800000

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
