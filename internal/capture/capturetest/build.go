// Package capturetest builds the capture helper (cmd/tcpflow-analyze-capture)
// for the tests of the packages that run it.
package capturetest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// helperName and helperEnv are capture.HelperName and capture.HelperEnv,
// which this package cannot import (capture's own tests use it).
const (
	helperName = "tcpflow-analyze-capture"
	helperEnv  = "TCPFLOW_ANALYZE_CAPTURE"
)

// Main is the TestMain of a package whose tests run the helper: it sets up
// the helper (Setup), stores in *skip why it is missing, if it is, runs the
// tests and returns their exit code.
func Main(m *testing.M, skip *string) int {
	var cleanup func()
	*skip, cleanup = Setup()
	defer cleanup()
	return m.Run()
}

// Setup makes the tests of a package run the capture helper built from this
// source: unless $TCPFLOW_ANALYZE_CAPTURE is set already, it builds the helper
// into a new temporary directory and points the variable at it. When the
// helper cannot be built (no cgo, no libpcap headers) it points the variable
// at a file that does not exist, so that no other helper is used, and
// returns why, for the tests that need it to skip with. cleanup removes the
// directory.
func Setup() (skip string, cleanup func()) {
	if os.Getenv(helperEnv) != "" {
		return "", func() {}
	}
	dir, err := os.MkdirTemp("", "tcpflow-analyze-helper-")
	if err != nil {
		return err.Error(), func() {}
	}
	cleanup = func() { os.RemoveAll(dir) }
	path := filepath.Join(dir, helperName)
	if err := build(path); err != nil {
		os.Setenv(helperEnv, filepath.Join(dir, "missing"))
		return err.Error(), cleanup
	}
	os.Setenv(helperEnv, path)
	return "", cleanup
}

// build builds the helper at path, with cgo.
func build(path string) error {
	out, err := exec.Command("go", "env", "CGO_ENABLED", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env: %w", err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 || f[0] != "1" {
		return fmt.Errorf("the capture helper needs cgo (go env CGO_ENABLED: %q)", strings.TrimSpace(string(out)))
	}
	cmd := exec.Command("go", "build", "-o", path, "./cmd/"+helperName)
	cmd.Dir = filepath.Dir(f[1])
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building the capture helper: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
