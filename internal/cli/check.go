package cli

import (
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/policy"
	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// CheckOptions are the settings of the check command.
type CheckOptions struct {
	Files []string
	// Policy is a policy file; empty means policy.Default().
	Policy string
	// FailOn adds anomaly kinds to the policy's fail_on.
	FailOn []string
	// Max sets limits as METRIC=VALUE, replacing the policy's own.
	Max []string
	// JUnit, when set, is a file to write JUnit XML to.
	JUnit string
	// Output is text or json.
	Output string
	// Baseline is a JSON report (analyze -o json) to compare against.
	Baseline string
	Filter   string
	Engine   engine.Config
}

func newCheckCmd(s *IO) *cobra.Command {
	o := &CheckOptions{Engine: engine.DefaultConfig()}
	var configPath string
	cmd := &cobra.Command{
		Use:   "check [flags] FILE...",
		Short: "Check captures against a policy; exit 1 when a rule is violated (for CI)",
		Long: `check analyzes the captures like analyze, then evaluates a policy: anomaly kinds
that must not occur (fail_on), limits on metrics (max, min), and with --baseline
regressions against an earlier JSON report. It prints one line per rule with
PASS or FAIL, the measured value, the limit and the flows and packets to blame.

Exit status: 0 every rule passed, 1 a rule was violated, 2 the input, the
policy or the baseline is unusable.

Without --policy the default policy applies: fail on ` + strings.Join(policy.Default().FailOn, ", ") + `;
` + defaultLimitsText() + `.
See examples/policy.yaml for the file format.

Metrics:
` + metricsHelp(),
		Example: `  tcpflow-analyze check testdata/pcaps/normal_exchange.pcap
  tcpflow-analyze check --policy ci/policy.yaml --junit check.xml capture.pcapng
  tcpflow-analyze check --fail-on half_open,rejected --max retransmission_rate=0.01 a.pcap
  tcpflow-analyze analyze -o json old.pcap > old.json
  tcpflow-analyze check --baseline old.json new.pcap`,
		Args: needFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Files = args
			if err := loadConfig(cmd, configPath); err != nil {
				return err
			}
			return RunCheck(o, s)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Policy, "policy", "p", "", "policy file (YAML); default: the built-in policy")
	f.StringSliceVar(&o.FailOn, "fail-on", nil, "anomaly kinds that fail the check, added to the policy's (comma-separated or repeated)")
	f.StringArrayVar(&o.Max, "max", nil, "METRIC=VALUE: highest allowed value, replacing the policy's limit (repeatable)")
	f.StringVar(&o.JUnit, "junit", "", "also write the result as JUnit XML to this file")
	f.StringVarP(&o.Output, "output", "o", "text", "output format: text or json")
	f.StringVar(&o.Baseline, "baseline", "", "JSON report (analyze -o json) to compare with; fails on regressions beyond the policy's tolerance")
	f.StringVarP(&o.Filter, "filter", "f", "", "BPF filter expression (libpcap syntax), applied to file input too")
	addEngineFlags(cmd, &o.Engine)
	addProgressFlag(cmd, s)
	f.StringVar(&configPath, "config", "", "YAML file of analysis settings: keys are the flags' names (the command line wins)")
	return cmd
}

func defaultLimitsText() string {
	d := policy.Default()
	var parts []string
	for _, m := range policy.Metrics() {
		if v, ok := d.Max[m.Name]; ok {
			parts = append(parts, m.Name+" <= "+policy.FormatValue(m.Unit, v))
		}
	}
	return "limit " + strings.Join(parts, ", ")
}

func metricsHelp() string {
	var sb strings.Builder
	for _, m := range policy.Metrics() {
		fmt.Fprintf(&sb, "  %s (%s): %s\n", m.Name, m.Unit, m.Doc)
	}
	return sb.String()
}

// RunCheck runs the check command. It returns an *ExitError with ExitViolated
// when a rule fails and ExitInput when the captures, the policy or the baseline
// cannot be used.
func RunCheck(o *CheckOptions, s *IO) error {
	if o.Output == "table" {
		o.Output = "text"
	}
	if o.Output != "text" && o.Output != "json" {
		return &ExitError{ExitInput, fmt.Errorf("unknown output format %q (use text or json)", o.Output)}
	}
	pol, err := checkPolicy(o)
	if err != nil {
		return &ExitError{ExitInput, err}
	}
	var base *report.Report
	if o.Baseline != "" {
		if base, err = policy.LoadReport(o.Baseline); err != nil {
			return &ExitError{ExitInput, err}
		}
		if len(pol.Baseline.Tolerance) == 0 {
			fmt.Fprintf(s.Err, "tcpflow-analyze: the policy %s has no baseline tolerances: nothing is compared with %s\n", pol.Source, o.Baseline)
		}
	}
	// The policy is evaluated as the flows finish: the evaluator keeps a few
	// numbers per rule and the flows it may blame, so memory follows the
	// open connections as with ndjson.
	ev := policy.NewEvaluator(pol)
	rep, readErr := analyzeWith(o.Files, o.Filter, o.Engine, s, func(eng engine.Analyzer) {
		// The policy reads no text of a record: the endpoints come as
		// addresses, and are written out only for the flows it blames.
		eng.SetEndpointSink(func(f *report.Flow, orig, resp netip.AddrPort) {
			ev.AddWith(f, orig, resp)
			eng.Recycle(f)
		})
	})
	if rep == nil {
		return &ExitError{ExitInput, readErr}
	}
	res := ev.Result(rep, base)
	code := ExitOK
	switch {
	case readErr != nil:
		code = ExitInput
	case !res.Pass:
		code = ExitViolated
	}
	out := policy.NewOutcome(res, pol, rep.Summary.Files, o.Baseline, code)
	if o.JUnit != "" {
		if err := writeJUnitFile(o.JUnit, out); err != nil {
			return &ExitError{ExitInput, err}
		}
	}
	if o.Output == "json" {
		err = policy.WriteJSON(s.Out, out)
	} else {
		err = policy.WriteText(s.Out, out)
	}
	if err != nil {
		return &ExitError{ExitInput, err}
	}
	switch code {
	case ExitInput:
		return &ExitError{ExitInput, fmt.Errorf("the input broke part-way, the verdict covers only what was read: %w", readErr)}
	case ExitViolated:
		return &ExitError{ExitViolated, fmt.Errorf("policy check failed: %d of %d rules violated", res.Failed, len(res.Rules))}
	}
	return nil
}

// checkPolicy loads the policy and applies the flags that override it.
func checkPolicy(o *CheckOptions) (*policy.Policy, error) {
	pol := policy.Default()
	if o.Policy != "" {
		var err error
		if pol, err = policy.Load(o.Policy); err != nil {
			return nil, err
		}
	}
	if err := pol.AddFailOn(o.FailOn...); err != nil {
		return nil, fmt.Errorf("--fail-on: %w", err)
	}
	for _, spec := range o.Max {
		if err := pol.SetLimit(spec); err != nil {
			return nil, err
		}
	}
	return pol, nil
}

// writeJUnitFile writes the JUnit XML to path.
func writeJUnitFile(path string, out policy.Outcome) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing JUnit: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("writing JUnit: %w", cerr)
		}
	}()
	return policy.WriteJUnit(f, out)
}
