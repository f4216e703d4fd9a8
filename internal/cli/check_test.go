package cli

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
)

// checkRun is what one check invocation produced.
type checkRun struct {
	code        int
	out, errOut string
	err         error
}

// runCheckCmd runs the check command with args the way Main would, and maps
// the error to an exit code the same way.
func runCheckCmd(t *testing.T, args ...string) checkRun {
	t.Helper()
	var out, errOut bytes.Buffer
	s := &IO{In: strings.NewReader(""), Out: &out, Err: &errOut}
	cmd := newCheckCmd(s)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	r := checkRun{code: ExitOK, out: out.String(), errOut: errOut.String(), err: err}
	if err != nil {
		r.code = ExitInput
		var ee *ExitError
		if errors.As(err, &ee) {
			r.code = ee.Code
		}
	}
	return r
}

// scenario returns the path of a generated capture, or skips the test while
// testdata/pcaps does not have it yet.
func scenario(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(repoRoot, "testdata", "pcaps", name)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s is not in testdata/pcaps yet (go run ./internal/cmd/gentestdata -dir testdata/pcaps): skipping", name)
	}
	return path
}

// checkJSON is the part of check -o json that the tests read.
type checkJSON struct {
	Verdict  string   `json:"verdict"`
	ExitCode int      `json:"exit_code"`
	Files    []string `json:"files"`
	Policy   string   `json:"policy"`
	Pass     bool     `json:"pass"`
	Passed   int      `json:"passed"`
	Failed   int      `json:"failed"`
	Rules    []struct {
		Name     string  `json:"name"`
		Pass     bool    `json:"pass"`
		Measured float64 `json:"measured"`
		Limit    float64 `json:"limit"`
		Blame    []struct {
			Flow    uint64   `json:"flow"`
			Packets []uint64 `json:"packets"`
		} `json:"blame"`
	} `json:"rules"`
}

func parseCheckJSON(t *testing.T, out string) checkJSON {
	t.Helper()
	var v checkJSON
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("check -o json is not JSON: %v\n%s", err, out)
	}
	return v
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const examplePolicy = repoRoot + "/examples/policy.yaml"

// TestCheckScenarios runs check on the project's scenario captures with
// policies that must pass and policies that must fail.
func TestCheckScenarios(t *testing.T) {
	strict := `
version: 1
fail_on: [half_open, rejected, reset, close_wait_leak]
max:
  retransmission_rate: 0
  lost_segment_rate: 0
  warnings: 0
min:
  flows: 1
`
	tests := []struct {
		name     string
		capture  string
		args     []string
		policy   string // policy file content, if any
		wantCode int
		// mustFail are rules that must be listed as failed; with wantCode 0 none fails.
		mustFail []string
	}{
		{name: "normal default", capture: "normal_exchange.pcap", wantCode: ExitOK},
		{name: "normal example policy", capture: "normal_exchange.pcap", args: []string{"--policy", examplePolicy}, wantCode: ExitOK},
		{name: "normal strict policy", capture: "normal_exchange.pcap", policy: strict, wantCode: ExitOK},
		{name: "normal extra kinds", capture: "normal_exchange.pcap", args: []string{"--fail-on", "reset,half_open", "--fail-on", "rejected"}, wantCode: ExitOK},
		{name: "normal scoped elsewhere needs flows", capture: "normal_exchange.pcap",
			policy: "min: {flows: 1}\nscope: {server_ports: [9]}\n", wantCode: ExitViolated, mustFail: []string{"min flows"}},
		{name: "reject default", capture: "rst_reject.pcap", wantCode: ExitViolated, mustFail: []string{"max rejected_share"}},
		{name: "reject fail_on", capture: "rst_reject.pcap", args: []string{"--fail-on", "rejected", "--max", "rejected_share=1"},
			wantCode: ExitViolated, mustFail: []string{"fail_on rejected"}},
		{name: "reject tolerated", capture: "rst_reject.pcap", args: []string{"--max", "rejected_share=1"}, wantCode: ExitOK},
		{name: "reject strict", capture: "rst_reject.pcap", policy: strict, wantCode: ExitViolated, mustFail: []string{"fail_on rejected"}},
		{name: "syn no answer default", capture: "syn_no_answer.pcap", wantCode: ExitViolated, mustFail: []string{"max half_open_share"}},
		{name: "syn no answer strict", capture: "syn_no_answer.pcap", policy: strict, wantCode: ExitViolated, mustFail: []string{"fail_on half_open"}},
		{name: "reset fail_on", capture: "rst_established.pcap", args: []string{"--fail-on", "reset"}, wantCode: ExitViolated, mustFail: []string{"fail_on reset"}},
		{name: "reset count", capture: "rst_established.pcap", args: []string{"--max", "resets=0"}, wantCode: ExitViolated, mustFail: []string{"max resets"}},
		{name: "lossy no retransmissions allowed", capture: "lossy_transfer.pcap", args: []string{"--max", "retransmission_rate=0"},
			wantCode: ExitViolated, mustFail: []string{"max retransmission_rate"}},
		{name: "lossy strict", capture: "lossy_transfer.pcap", policy: strict, wantCode: ExitViolated, mustFail: []string{"max retransmission_rate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := scenario(t, tt.capture)
			args := append([]string{"-o", "json"}, tt.args...)
			if tt.policy != "" {
				args = append(args, "--policy", writeFile(t, "policy.yaml", tt.policy))
			}
			r := runCheckCmd(t, append(args, path)...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d (%v), want %d\n%s", r.code, r.err, tt.wantCode, r.out)
			}
			v := parseCheckJSON(t, r.out)
			if v.ExitCode != tt.wantCode || v.Pass != (tt.wantCode == ExitOK) || v.Failed+v.Passed != len(v.Rules) {
				t.Errorf("JSON verdict %q exit_code %d pass %v (%d passed, %d failed, %d rules)",
					v.Verdict, v.ExitCode, v.Pass, v.Passed, v.Failed, len(v.Rules))
			}
			var failed []string
			for _, rule := range v.Rules {
				if !rule.Pass {
					failed = append(failed, rule.Name)
					if len(rule.Blame) == 0 && rule.Name != "min flows" {
						t.Errorf("%s failed without blame", rule.Name)
					}
					if len(rule.Blame) > 5 {
						t.Errorf("%s blames %d, at most 5", rule.Name, len(rule.Blame))
					}
				}
			}
			for _, want := range tt.mustFail {
				if !slices.Contains(failed, want) {
					t.Errorf("rule %q did not fail; failed: %v", want, failed)
				}
			}
			if tt.wantCode == ExitViolated && !strings.Contains(r.err.Error(), "policy check failed") {
				t.Errorf("error %q", r.err)
			}
		})
	}
}

func TestCheckTextOutput(t *testing.T) {
	path := scenario(t, "rst_reject.pcap")
	r := runCheckCmd(t, path)
	if r.code != ExitViolated {
		t.Fatalf("exit %d (%v)\n%s", r.code, r.err, r.out)
	}
	lines := strings.Split(strings.TrimRight(r.out, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "RESULT") {
		t.Errorf("no header: %q", lines[0])
	}
	var rejected string
	for _, l := range lines {
		if strings.Contains(l, "max rejected_share") {
			rejected = l
		}
	}
	// FAIL, the rule, the measured share, the limit and the flow to blame.
	for _, want := range []string{"FAIL", "max rejected_share", "1", "<= 0.05", "flow 1 "} {
		if !strings.Contains(rejected, want) {
			t.Errorf("rejected_share line %q lacks %q", rejected, want)
		}
	}
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "FAIL: ") || !strings.Contains(last, "policy default") || !strings.Contains(last, "rst_reject.pcap") {
		t.Errorf("verdict line %q", last)
	}
}

// junitReport reads back the JUnit XML structure CI systems expect.
type junitReport struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Body    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestCheckJUnit(t *testing.T) {
	tests := []struct {
		capture  string
		wantCode int
		failing  []string
	}{
		{"normal_exchange.pcap", ExitOK, nil},
		{"rst_reject.pcap", ExitViolated, []string{"max rejected_share"}},
		{"syn_no_answer.pcap", ExitViolated, []string{"max half_open_share"}},
	}
	for _, tt := range tests {
		t.Run(tt.capture, func(t *testing.T) {
			path := scenario(t, tt.capture)
			junit := filepath.Join(t.TempDir(), "check.xml")
			r := runCheckCmd(t, "--junit", junit, "-o", "json", path)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d (%v), want %d", r.code, r.err, tt.wantCode)
			}
			data, err := os.ReadFile(junit)
			if err != nil {
				t.Fatal(err)
			}
			var doc junitReport
			if err := xml.Unmarshal(data, &doc); err != nil {
				t.Fatalf("JUnit does not parse: %v\n%s", err, data)
			}
			v := parseCheckJSON(t, r.out)
			if doc.Tests != len(v.Rules) || doc.Failures != v.Failed || doc.Errors != 0 || len(doc.Suites) != 1 {
				t.Fatalf("testsuites tests=%d failures=%d errors=%d suites=%d, want %d rules %d failed",
					doc.Tests, doc.Failures, doc.Errors, len(doc.Suites), len(v.Rules), v.Failed)
			}
			suite := doc.Suites[0]
			if suite.Tests != len(v.Rules) || suite.Failures != v.Failed || len(suite.Cases) != len(v.Rules) {
				t.Errorf("testsuite tests=%d failures=%d cases=%d", suite.Tests, suite.Failures, len(suite.Cases))
			}
			var failing []string
			for i, c := range suite.Cases {
				if c.Name != v.Rules[i].Name || c.Classname == "" {
					t.Errorf("testcase %d %q (%q), rule %q", i, c.Name, c.Classname, v.Rules[i].Name)
				}
				if c.Failure != nil {
					failing = append(failing, c.Name)
					if c.Failure.Message == "" || c.Failure.Body == "" {
						t.Errorf("failure of %s has no message or body", c.Name)
					}
				}
			}
			if len(failing) != suite.Failures {
				t.Errorf("%d failure elements, failures=%d", len(failing), suite.Failures)
			}
			for _, want := range tt.failing {
				if !slices.Contains(failing, want) {
					t.Errorf("no failure for %q: %v", want, failing)
				}
			}
		})
	}
}

func TestCheckBaseline(t *testing.T) {
	normal := scenario(t, "normal_exchange.pcap")
	// The baseline is what analyze -o json writes.
	var js bytes.Buffer
	s := &IO{In: strings.NewReader(""), Out: &js, Err: &bytes.Buffer{}}
	if err := RunAnalyze(&AnalyzeOptions{Files: []string{normal}, Output: "json", Engine: engine.DefaultConfig()}, s); err != nil {
		t.Fatalf("analyze -o json: %v", err)
	}
	baseline := writeFile(t, "old.json", js.String())
	noSlack := writeFile(t, "policy.yaml", `
baseline:
  tolerance: {resets: 2, retransmission_rate: 2, half_open_share: 2}
  slack: {resets: 0}
`)

	tests := []struct {
		name     string
		capture  string
		args     []string
		wantCode int
		mustFail string
	}{
		{name: "same capture", capture: "normal_exchange.pcap", wantCode: ExitOK},
		{name: "new reset", capture: "rst_established.pcap", args: []string{"--policy", noSlack}, wantCode: ExitViolated, mustFail: "baseline resets"},
		{name: "more retransmissions", capture: "lossy_transfer.pcap", args: []string{"--max", "retransmission_rate=1"},
			wantCode: ExitViolated, mustFail: "baseline retransmission_rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := scenario(t, tt.capture)
			args := append([]string{"-o", "json", "--baseline", baseline}, tt.args...)
			r := runCheckCmd(t, append(args, path)...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d (%v), want %d\n%s", r.code, r.err, tt.wantCode, r.out)
			}
			v := parseCheckJSON(t, r.out)
			n := 0
			for _, rule := range v.Rules {
				if strings.HasPrefix(rule.Name, "baseline ") {
					n++
				}
				if rule.Name == tt.mustFail && rule.Pass {
					t.Errorf("%s passed: %+v", rule.Name, rule)
				}
			}
			if n == 0 {
				t.Errorf("no baseline rules in %v", v.Rules)
			}
		})
	}
}

func TestCheckUnusableInput(t *testing.T) {
	dir := t.TempDir()
	badPolicies := map[string]string{
		"unknown_metric.yaml": "version: 1\nmax:\n  retransmision_rate: 0.1\n",
		"wrong_type.yaml":     "max:\n  resets: many\n",
		"unknown_key.yaml":    "fail_on: [reset]\nthresholds:\n  resets: 1\n",
		"kind_typo.yaml":      "fail_on:\n  - syn_flod\n",
	}
	for name, content := range badPolicies {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	notJSON := filepath.Join(dir, "old.json")
	if err := os.WriteFile(notJSON, []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	capture := filepath.Join(dir, "capture.pcap") // never read: the errors come first
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown metric", []string{"--policy", filepath.Join(dir, "unknown_metric.yaml"), capture},
			`unknown_metric.yaml:3:3: max: unknown metric "retransmision_rate" (did you mean "retransmission_rate"?)`},
		{"wrong type", []string{"--policy", filepath.Join(dir, "wrong_type.yaml"), capture},
			`wrong_type.yaml:2:11: max.resets: expected a number, got the string "many"`},
		{"unknown key", []string{"--policy", filepath.Join(dir, "unknown_key.yaml"), capture},
			`unknown_key.yaml:2:1: unknown key "thresholds"`},
		{"unknown kind", []string{"--policy", filepath.Join(dir, "kind_typo.yaml"), capture},
			`kind_typo.yaml:2:5: fail_on: unknown anomaly kind "syn_flod"`},
		{"missing policy", []string{"--policy", filepath.Join(dir, "none.yaml"), capture}, "reading policy"},
		{"bad --fail-on", []string{"--fail-on", "synflood", capture}, `--fail-on: unknown anomaly kind "synflood"`},
		{"bad --max", []string{"--max", "retransmission_rate", capture}, "expected METRIC=VALUE"},
		{"bad --max metric", []string{"--max", "rtt=1", capture}, `unknown metric "rtt"`},
		{"bad --max ratio", []string{"--max", "half_open_share=5", capture}, "ratio between 0 and 1"},
		{"bad format", []string{"-o", "xml", capture}, `unknown output format "xml"`},
		{"bad baseline", []string{"--baseline", notJSON, capture}, "not a tcpflow-analyze JSON report"},
		{"missing baseline", []string{"--baseline", filepath.Join(dir, "none.json"), capture}, "reading baseline"},
		{"no files", nil, "needs at least one capture file"},
		{"unknown flag", []string{"--tolerance", "2", capture}, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCheckCmd(t, tt.args...)
			if r.code != ExitInput {
				t.Fatalf("exit %d (%v), want %d", r.code, r.err, ExitInput)
			}
			if r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr) {
				t.Errorf("error %v, want it to contain %q", r.err, tt.wantErr)
			}
			if r.out != "" {
				t.Errorf("output on unusable input:\n%s", r.out)
			}
		})
	}
}

func TestCheckMissingCapture(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pcap")
	junit := filepath.Join(t.TempDir(), "check.xml")
	r := runCheckCmd(t, "--junit", junit, missing)
	if r.code != ExitInput || r.err == nil || !strings.Contains(r.err.Error(), "missing.pcap") {
		t.Fatalf("exit %d (%v), want %d naming the file", r.code, r.err, ExitInput)
	}
	if _, err := os.Stat(junit); err == nil {
		t.Errorf("JUnit written although there was no input")
	}
}

// TestCheckSameForAnyWorkers runs check -o json on a generated mix (short
// connections, loss, reuse and a SYN flood) with one, two and three
// workers, under the default policy, one whose every limit fails (so every
// blame list is filled and names endpoints) and one with a scope: the
// outputs must be byte-identical. The records reach the policy without
// text and with their endpoints as addresses (SetEndpointSink), which a
// pipeline's merger passes on from its events.
func TestCheckSameForAnyWorkers(t *testing.T) {
	path, _ := writeMixFile(t, pcapgen.MixOptions{Packets: 40_000, Connections: 4_000,
		Concurrency: 100, Seed: 9, FloodSources: 500, Loss: 0.01, Reuse: 0.2})
	strict := writeFile(t, "strict.yaml", `version: 1
fail_on: [half_open, rejected, retransmission, port_reuse, syn_flood]
max:
  retransmission_rate: 0
  lost_segment_rate: 0
  out_of_order_rate: 0
  half_open_share: 0
  rejected_share: 0
  handshake_rtt_p50_ms: 0
  handshake_rtt_p99_ms: 0
  resets: 0
  warnings: 0
`)
	scoped := writeFile(t, "scoped.yaml", `version: 1
scope:
  server_ports: [80]
  clients: [10.0.0.0/9, 172.16.0.0/12]
fail_on: [half_open]
max:
  retransmission_rate: 0
  handshake_rtt_p99_ms: 0
`)
	for _, pol := range []string{"", strict, scoped} {
		var first string
		for _, w := range []string{"1", "2", "3"} {
			args := []string{"-o", "json", "--workers", w, path}
			if pol != "" {
				args = append([]string{"--policy", pol}, args...)
			}
			r := runCheckCmd(t, args...)
			if r.code == ExitInput {
				t.Fatalf("check %v: %v\n%s", args, r.err, r.errOut)
			}
			if w == "1" {
				first = r.out
				v := parseCheckJSON(t, r.out)
				if pol == strict && v.Failed < 8 {
					t.Fatalf("the strict policy failed only %d rules: the test no longer fills the blame lists\n%s", v.Failed, r.out)
				}
				if !strings.Contains(r.out, `"orig": "`) {
					t.Fatalf("policy %q: no blamed endpoint in the output\n%s", pol, r.out)
				}
				continue
			}
			if r.out != first {
				t.Errorf("policy %q: check with %s workers differs from one worker\n%s", pol, w, firstDiff(first, r.out))
			}
		}
	}
}
