package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
)

func TestApplyConfigFile(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		args    []string
		wantErr string
		check   func(t *testing.T, c *engine.Config)
	}{
		{name: "sets thresholds and timeouts", yaml: "syn-flood-rate: 250\ntime-wait: 30s\nephemeral-ports: 4000\n",
			check: func(t *testing.T, c *engine.Config) {
				if c.Wide.SynFloodRate != 250 || c.TimeWait != 30*time.Second || c.Wide.EphemeralPorts != 4000 {
					t.Errorf("config not applied: rate %v, time-wait %v, ports %d", c.Wide.SynFloodRate, c.TimeWait, c.Wide.EphemeralPorts)
				}
			}},
		{name: "command line wins", yaml: "time-wait: 30s\n", args: []string{"--time-wait", "90s"},
			check: func(t *testing.T, c *engine.Config) {
				if c.TimeWait != 90*time.Second {
					t.Errorf("time-wait = %v, want the flag's 90s", c.TimeWait)
				}
			}},
		{name: "unknown key names the line", yaml: "time-wait: 30s\nsyn-flood-rat: 5\n", wantErr: "cfg.yaml:2: unknown setting \"syn-flood-rat\" (did you mean syn-flood-rate?)"},
		{name: "bad value names the line", yaml: "\n\ntw-len: soon\n", wantErr: "cfg.yaml:3: tw-len"},
		{name: "not a mapping", yaml: "- a\n- b\n", wantErr: "must be a mapping"},
		{name: "nested value", yaml: "time-wait: [1, 2]\n", wantErr: "needs a single value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "cfg.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := engine.DefaultConfig()
			cmd := &cobra.Command{Use: "x"}
			addEngineFlags(cmd, &cfg)
			if err := cmd.Flags().Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := applyConfigFile(path, cmd.Flags())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, &cfg)
		})
	}
}

func TestTimeWaitLenFollowsTimeWait(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{nil, 60 * time.Second},
		{[]string{"--time-wait", "240s"}, 240 * time.Second},
		{[]string{"--time-wait", "240s", "--tw-len", "30s"}, 30 * time.Second},
	} {
		cfg := engine.DefaultConfig()
		cmd := &cobra.Command{Use: "x"}
		addEngineFlags(cmd, &cfg)
		if err := cmd.Flags().Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if err := loadConfig(cmd, ""); err != nil {
			t.Fatal(err)
		}
		if cfg.Wide.TimeWaitLen != tc.want {
			t.Errorf("%v: tw-len %v, want %v", tc.args, cfg.Wide.TimeWaitLen, tc.want)
		}
	}
}
