package policy

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Outcome is a Result with what it was evaluated on: the document that the
// check command writes as JSON and renders as text or JUnit.
type Outcome struct {
	// Verdict is "pass" or "fail".
	Verdict string `json:"verdict"`
	// ExitCode is the exit status of the check: 0 pass, 1 violated, 2 unusable input.
	ExitCode int      `json:"exit_code"`
	Files    []string `json:"files"`
	Policy   string   `json:"policy"`
	Baseline string   `json:"baseline,omitempty"`
	Scope    string   `json:"scope"`
	Result
}

// NewOutcome wraps res; exitCode is what the command will exit with.
func NewOutcome(res Result, p *Policy, files []string, baseline string, exitCode int) Outcome {
	v := "pass"
	if !res.Pass {
		v = "fail"
	}
	if files == nil {
		files = []string{}
	}
	return Outcome{
		Verdict: v, ExitCode: exitCode, Files: files, Policy: p.Source,
		Baseline: baseline, Scope: p.Scope.String(), Result: res,
	}
}

// WriteJSON writes o as one indented JSON document.
func WriteJSON(w io.Writer, o Outcome) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(o); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

// WriteText writes one aligned line per rule (result, rule, measured value,
// limit, blame) and a verdict line.
func WriteText(w io.Writer, o Outcome) error {
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tRULE\tMEASURED\tLIMIT\tBLAME")
	for _, r := range o.Rules {
		status := "PASS"
		if !r.Pass {
			status = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", status, r.Name, measuredText(r), limitText(r), blameText(r))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing verdict: %w", err)
	}
	var out strings.Builder
	for _, line := range strings.SplitAfter(table.String(), "\n") {
		if line == "" {
			continue
		}
		out.WriteString(strings.TrimRight(line, " \n") + "\n")
	}
	line := fmt.Sprintf("\nPASS: all %s passed", plural(len(o.Rules), "rule"))
	switch len(o.Rules) {
	case 0:
		line = "\nPASS: the policy has no rules to check"
	case 1:
		line = "\nPASS: the only rule passed"
	}
	if !o.Pass {
		line = fmt.Sprintf("\nFAIL: %d of %s failed", o.Failed, plural(len(o.Rules), "rule"))
	}
	line += fmt.Sprintf(" (policy %s; scope %s", o.Policy, o.Scope)
	if o.Baseline != "" {
		line += "; baseline " + o.Baseline
	}
	line += "; files " + strings.Join(o.Files, ", ") + ")\n"
	out.WriteString(line)
	if _, err := io.WriteString(w, out.String()); err != nil {
		return fmt.Errorf("writing verdict: %w", err)
	}
	return nil
}

func measuredText(r Rule) string {
	if r.NoData {
		return "no data"
	}
	v := FormatValue(r.Unit, r.Measured)
	if r.Unit == UnitMs {
		v += " ms"
	}
	return v
}

func limitText(r Rule) string {
	lim := FormatValue(r.Unit, r.Limit)
	if r.Unit == UnitMs {
		lim += " ms"
	}
	switch r.Type {
	case RuleFailOn:
		return "0"
	case RuleMin:
		return ">= " + lim
	case RuleBaseline:
		if r.Baseline == nil {
			return "(no baseline data)"
		}
		return "<= " + lim + " (baseline " + FormatValue(r.Unit, *r.Baseline) + ")"
	}
	return "<= " + lim
}

// blameText lists the blame of a failed rule on one line; a passing rule shows
// its detail only when there was nothing to measure.
func blameText(r Rule) string {
	if r.Pass {
		if r.NoData {
			return r.Detail
		}
		return ""
	}
	if len(r.Blame) == 0 {
		return r.Detail
	}
	parts := make([]string, len(r.Blame))
	for i, b := range r.Blame {
		parts[i] = BlameString(b, r.Unit)
	}
	return strings.Join(parts, ", ")
}

// BlameString describes one contributor: "flow 3 10.0.0.1:40000->10.0.0.2:80
// (5; pkts 45,46,47)", or for a capture-wide finding "syn_flood (1; pkts 1,2;
// flows 4,5)".
func BlameString(b Blame, unit string) string {
	var sb strings.Builder
	if b.Flow != 0 {
		fmt.Fprintf(&sb, "flow %d", b.Flow)
		if b.Orig != "" || b.Resp != "" {
			fmt.Fprintf(&sb, " %s->%s", b.Orig, b.Resp)
		}
	} else {
		sb.WriteString(b.Kind)
	}
	v := FormatValue(UnitCount, b.Value)
	if unit == UnitMs && b.Flow != 0 {
		v = FormatValue(UnitMs, b.Value) + " ms"
	}
	sb.WriteString(" (" + v)
	if len(b.Packets) > 0 {
		sb.WriteString("; pkts " + joinUints(b.Packets))
	}
	if len(b.Flows) > 0 {
		sb.WriteString("; flows " + joinUints(b.Flows))
	}
	sb.WriteString(")")
	return sb.String()
}

func joinUints(vs []uint64) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strconv.FormatUint(v, 10)
	}
	return strings.Join(out, ",")
}

// The JUnit types follow the schema that Jenkins, GitLab, GitHub Actions
// reporters and Azure DevOps read: testsuites > testsuite > testcase > failure.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Properties []junitProperty `xml:"properties>property,omitempty"`
		Cases      []junitCase     `xml:"testcase"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitFailure `xml:"failure,omitempty"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
)

// WriteJUnit writes o as JUnit XML: one test suite, one test case per rule,
// a failure element for each failed rule with its blame in the body.
func WriteJUnit(w io.Writer, o Outcome) error {
	suite := junitSuite{
		Name:     "tcpflow-analyze check (policy " + o.Policy + ")",
		Tests:    len(o.Rules),
		Failures: o.Failed,
		Time:     "0",
		Properties: []junitProperty{
			{Name: "policy", Value: o.Policy},
			{Name: "scope", Value: o.Scope},
			{Name: "files", Value: strings.Join(o.Files, ",")},
		},
	}
	if o.Baseline != "" {
		suite.Properties = append(suite.Properties, junitProperty{Name: "baseline", Value: o.Baseline})
	}
	for _, r := range o.Rules {
		c := junitCase{Name: r.Name, Classname: "tcpflow-analyze.check." + r.Type, Time: "0"}
		summary := fmt.Sprintf("%s: measured %s, limit %s: %s", r.Name, measuredText(r), limitText(r), r.Detail)
		if r.Pass {
			c.SystemOut = summary
		} else {
			var body strings.Builder
			body.WriteString(summary + "\n")
			for _, b := range r.Blame {
				body.WriteString("  " + BlameString(b, r.Unit) + "\n")
				if b.Message != "" {
					body.WriteString("    " + b.Message + "\n")
				}
			}
			c.Failure = &junitFailure{Message: r.Name + ": " + r.Detail, Type: r.Type, Text: body.String()}
		}
		suite.Cases = append(suite.Cases, c)
	}
	doc := junitSuites{
		Name: "tcpflow-analyze check", Tests: suite.Tests, Failures: suite.Failures,
		Time: "0", Suites: []junitSuite{suite},
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("writing JUnit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("writing JUnit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("writing JUnit: %w", err)
	}
	return nil
}
