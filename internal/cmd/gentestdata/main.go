// Command gentestdata writes every pcapgen scenario to testdata/pcaps (or the
// directory given by -dir), together with a README listing them. Run it from
// the repository root after changing a scenario:
//
//	go run ./internal/cmd/gentestdata
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
)

func main() {
	dir := flag.String("dir", filepath.Join("testdata", "pcaps"), "directory to write the captures to")
	only := flag.String("only", "", "write only the scenario with this name")
	flag.Parse()
	if err := run(*dir, *only); err != nil {
		fmt.Fprintln(os.Stderr, "gentestdata:", err)
		os.Exit(1)
	}
}

func run(dir, only string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	ss := pcapgen.Scenarios()
	found := only == ""
	for _, s := range ss {
		if only != "" && s.Name != only {
			continue
		}
		found = true
		var b bytes.Buffer
		if err := s.Build(&b); err != nil {
			return fmt.Errorf("scenario %s: %w", s.Name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, s.File), b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("scenario %s: %w", s.Name, err)
		}
		fmt.Printf("%-28s %8d bytes\n", s.File, b.Len())
	}
	if !found {
		return fmt.Errorf("no scenario named %q", only)
	}
	if only == "" {
		if err := os.WriteFile(filepath.Join(dir, "README.md"), pcapgen.README(ss), 0o644); err != nil {
			return fmt.Errorf("write README: %w", err)
		}
	}
	return nil
}
