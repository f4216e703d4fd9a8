package cli

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly/wide"
)

// addWideFlags binds every threshold of the capture-wide detectors to a flag.
// The same names are the keys of a --config file.
func addWideFlags(cmd *cobra.Command, c *wide.Config) {
	f := cmd.Flags()
	f.Float64Var(&c.SynFloodRate, "syn-flood-rate", c.SynFloodRate, "SYN/s to one ip:port, averaged over --syn-flood-window, that starts a syn_flood")
	f.DurationVar(&c.SynFloodWindow, "syn-flood-window", c.SynFloodWindow, "sliding window of the SYN rate")
	f.Float64Var(&c.SynFloodMaxCompletion, "syn-flood-max-completion", c.SynFloodMaxCompletion, "share of completed handshakes under which a SYN burst is a flood (0..1)")
	f.DurationVar(&c.TimeWaitLen, "tw-len", c.TimeWaitLen, "TIME_WAIT length for the time_wait_storm detector (240s for Windows peers)")
	f.IntVar(&c.EphemeralPorts, "ephemeral-ports", c.EphemeralPorts, "size of the clients' ephemeral port range (Linux 32768-60999 = 28232)")
	f.Float64Var(&c.TimeWaitWarnShare, "tw-warn-share", c.TimeWaitWarnShare, "share of the port range in TIME_WAIT that makes a warning (0..1)")
	f.Float64Var(&c.TimeWaitErrorShare, "tw-error-share", c.TimeWaitErrorShare, "share of the port range in TIME_WAIT that makes an error (0..1)")
	f.DurationVar(&c.TimeWaitRateWindow, "tw-rate-window", c.TimeWaitRateWindow, "window of the connection rate that would exhaust the port range")
	f.IntVar(&c.ScanMinTargets, "scan-min-targets", c.ScanMinTargets, "distinct ip:port targets of failed attempts from one source that make a port_scan")
	f.DurationVar(&c.ScanWindow, "scan-window", c.ScanWindow, "window of a port scan")
	f.Float64Var(&c.ScanMinFailedShare, "scan-min-failed-share", c.ScanMinFailedShare, "least share of a source's attempts that failed, for a port_scan (0..1)")
	f.IntVar(&c.RSTStormCount, "rst-storm-count", c.RSTStormCount, "RSTs from one address within --rst-storm-window that make an rst_storm")
	f.DurationVar(&c.RSTStormWindow, "rst-storm-window", c.RSTStormWindow, "sliding window of the RST count")
	f.IntVar(&c.ConnFloodIdle, "conn-flood-idle", c.ConnFloodIdle, "idle established connections from one source, open at once, that make a connection_flood")
	f.DurationVar(&c.ConnFloodMinHold, "conn-flood-min-hold", c.ConnFloodMinHold, "how long a connection must last to count as held")
	f.Float64Var(&c.ConnFloodMaxRate, "conn-flood-max-rate", c.ConnFloodMaxRate, "highest payload rate (bytes/s, both ways) of an idle connection")
	f.IntVar(&c.MaxKeys, "wide-max-keys", c.MaxKeys, "keys each capture-wide detector tracks; a full table forgets its lighter half (counted in summary.capture_wide)")
}

// applyConfigFile reads a YAML file of flag settings (each key is a flag name
// without dashes, e.g. `syn-flood-rate: 200`) and applies every setting whose
// flag the command line did not set. Unknown keys and bad values are errors
// that name the file and line.
func applyConfigFile(path string, flags *pflag.FlagSet) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: the config must be a mapping of setting names to values", path, root.Line)
	}
	var errs []error
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		fl := flags.Lookup(k.Value)
		if fl == nil || k.Value == "config" || k.Value == "help" {
			errs = append(errs, fmt.Errorf("%s:%d: unknown setting %q%s", path, k.Line, k.Value, suggestFlag(flags, k.Value)))
			continue
		}
		if v.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Errorf("%s:%d: setting %q needs a single value", path, v.Line, k.Value))
			continue
		}
		if fl.Changed {
			continue // the command line wins
		}
		if err := flags.Set(k.Value, v.Value); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %s: %w", path, v.Line, k.Value, err))
		}
	}
	return errors.Join(errs...)
}

// suggestFlag names the flags that share the most leading characters with name.
func suggestFlag(flags *pflag.FlagSet, name string) string {
	var best []string
	bestN := 3
	flags.VisitAll(func(f *pflag.Flag) {
		n := 0
		for n < len(f.Name) && n < len(name) && f.Name[n] == name[n] {
			n++
		}
		switch {
		case n > bestN:
			best, bestN = []string{f.Name}, n
		case n == bestN && n > 3:
			best = append(best, f.Name)
		}
	})
	if len(best) == 0 {
		return ""
	}
	sort.Strings(best)
	return " (did you mean " + strings.Join(best, ", ") + "?)"
}
