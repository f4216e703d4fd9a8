package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
)

// FuzzConfigFile feeds arbitrary YAML to the --config reader: settings are
// applied or refused with an error, never a panic.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{"syn-flood-rate: 200\n", "time-wait: 30s\nworkers: 2\n", "nope: 1\n", "- a\n", "a: {b: c}\n", ""} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := engine.DefaultConfig()
		cmd := &cobra.Command{Use: "x"}
		addEngineFlags(cmd, &cfg)
		_ = applyConfigFile(path, cmd.Flags())
	})
}
