package policy

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
)

// junitDoc is an independent reading of the JUnit structure CI systems expect.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      int    `xml:"tests,attr"`
		Failures   int    `xml:"failures,attr"`
		Errors     int    `xml:"errors,attr"`
		Skipped    int    `xml:"skipped,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Time      string `xml:"time,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func sampleOutcome(t *testing.T) Outcome {
	t.Helper()
	p := Default()
	if err := p.AddFailOn("reset"); err != nil {
		t.Fatal(err)
	}
	res := Evaluate(p, sampleReport(), nil)
	return NewOutcome(res, p, []string{"a.pcap", "b.pcap"}, "", 1)
}

func TestWriteJUnit(t *testing.T) {
	o := sampleOutcome(t)
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, o); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no XML declaration:\n%s", buf.String())
	}
	var doc junitDoc
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("JUnit does not parse: %v\n%s", err, buf.String())
	}
	if doc.Tests != len(o.Rules) || doc.Failures != o.Failed || doc.Errors != 0 || len(doc.Suites) != 1 {
		t.Fatalf("testsuites tests=%d failures=%d errors=%d suites=%d; want %d, %d, 0, 1",
			doc.Tests, doc.Failures, doc.Errors, len(doc.Suites), len(o.Rules), o.Failed)
	}
	s := doc.Suites[0]
	if s.Tests != len(o.Rules) || s.Failures != o.Failed || len(s.Cases) != len(o.Rules) {
		t.Errorf("testsuite tests=%d failures=%d cases=%d", s.Tests, s.Failures, len(s.Cases))
	}
	props := map[string]string{}
	for _, p := range s.Properties {
		props[p.Name] = p.Value
	}
	if props["policy"] != "default" || props["files"] != "a.pcap,b.pcap" {
		t.Errorf("properties %v", props)
	}
	failures := 0
	for i, c := range s.Cases {
		r := o.Rules[i]
		if c.Name != r.Name || c.Classname != "tcpflow-analyze.check."+r.Type || c.Time == "" {
			t.Errorf("case %d: %+v for rule %s", i, c, r.Name)
		}
		if (c.Failure != nil) == r.Pass {
			t.Errorf("case %s: failure %v, rule pass %v", c.Name, c.Failure, r.Pass)
		}
		if c.Failure != nil {
			failures++
			if c.Failure.Type != r.Type || !strings.HasPrefix(c.Failure.Message, r.Name+": ") {
				t.Errorf("failure %+v", c.Failure)
			}
		}
	}
	if failures != s.Failures || failures == 0 {
		t.Errorf("%d failure elements, suite says %d", failures, s.Failures)
	}
	// The flood's blame reaches the failure body.
	if !strings.Contains(buf.String(), "SYN flood against 10.0.0.3:443") {
		t.Errorf("blame message missing from JUnit:\n%s", buf.String())
	}
}

func TestWriteJUnitEscapes(t *testing.T) {
	o := sampleOutcome(t)
	o.Policy = `a<b>&"c".yaml`
	o.Rules[0].Pass = false
	o.Rules[0].Detail = "]]> <oops> & \x01"
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, o); err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("JUnit with odd characters does not parse: %v\n%s", err, buf.String())
	}
	if !strings.Contains(doc.Suites[0].Name, `a<b>&"c".yaml`) {
		t.Errorf("suite name %q", doc.Suites[0].Name)
	}
}

func TestWriteText(t *testing.T) {
	o := sampleOutcome(t)
	var buf bytes.Buffer
	if err := WriteText(&buf, o); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != len(o.Rules)+3 {
		t.Fatalf("%d lines for %d rules:\n%s", len(lines), len(o.Rules), out)
	}
	if !strings.HasPrefix(lines[0], "RESULT  RULE") {
		t.Errorf("header %q", lines[0])
	}
	col := strings.Index(lines[0], "MEASURED")
	for i, r := range o.Rules {
		line := lines[i+1]
		want := "PASS    "
		if !r.Pass {
			want = "FAIL    "
		}
		if strings.HasSuffix(line, " ") {
			t.Errorf("trailing space: %q", line)
		}
		if !strings.HasPrefix(line, want+r.Name+" ") {
			t.Errorf("line %q for rule %s (pass %v)", line, r.Name, r.Pass)
		}
		if line[col-1] != ' ' || line[col] == ' ' {
			t.Errorf("measured column not aligned at %d: %q", col, line)
		}
	}
	for _, want := range []string{
		"FAIL    fail_on reset ",
		"flow 5 198.51.100.7:40005->10.0.0.3:443 (1; pkts 512)",
		"syn_flood (1; pkts 300,400; flows 3,4,5)",
		"<= 0.05",
		"FAIL: 4 of 9 rules failed (policy default; scope all flows; files a.pcap, b.pcap)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	o := sampleOutcome(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, o); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Verdict  string   `json:"verdict"`
		ExitCode int      `json:"exit_code"`
		Files    []string `json:"files"`
		Policy   string   `json:"policy"`
		Pass     bool     `json:"pass"`
		Passed   int      `json:"passed"`
		Failed   int      `json:"failed"`
		Rules    []struct {
			Name     string   `json:"name"`
			Type     string   `json:"type"`
			Pass     bool     `json:"pass"`
			Measured *float64 `json:"measured"`
			Limit    *float64 `json:"limit"`
			Blame    []Blame  `json:"blame"`
		} `json:"rules"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Verdict != "fail" || got.ExitCode != 1 || got.Pass || got.Failed != 4 || got.Passed != 5 ||
		got.Policy != "default" || len(got.Rules) != 9 || len(got.Files) != 2 {
		t.Errorf("JSON outcome %+v", got)
	}
	for _, r := range got.Rules {
		if r.Measured == nil || r.Limit == nil || r.Type == "" {
			t.Errorf("rule %+v lacks measured, limit or type", r)
		}
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		unit string
		v    float64
		want string
	}{
		{UnitCount, 3, "3"},
		{UnitCount, 2.9999999, "3"},
		{UnitRatio, 0.02, "0.02"},
		{UnitRatio, 4.0 / 202, "0.0198"},
		{UnitRatio, 0, "0"},
		{UnitMs, 250, "250"},
		{UnitMs, 0.12345, "0.123"},
	}
	for _, tt := range tests {
		if got := FormatValue(tt.unit, tt.v); got != tt.want {
			t.Errorf("FormatValue(%s, %v) = %q, want %q", tt.unit, tt.v, got, tt.want)
		}
	}
}

func TestWriteTextVerdict(t *testing.T) {
	tests := []struct {
		policy *Policy
		want   string
	}{
		{Default(), "\nPASS: all 8 rules passed (policy default; scope all flows; files a.pcap)\n"},
		{&Policy{Source: "p.yaml", Min: map[string]float64{"flows": 1}}, "\nPASS: the only rule passed (policy p.yaml; scope all flows; files a.pcap)\n"},
		{&Policy{Source: "p.yaml", Scope: Scope{ServerPorts: []uint16{443, 8443}}},
			"\nPASS: the policy has no rules to check (policy p.yaml; scope server port 443,8443; files a.pcap)\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		o := NewOutcome(Evaluate(tt.policy, cleanReport(), nil), tt.policy, []string{"a.pcap"}, "", 0)
		if err := WriteText(&buf, o); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(buf.String(), tt.want) {
			t.Errorf("verdict of %s:\n%s\nwant it to end with %q", tt.policy.Source, buf.String(), tt.want)
		}
	}
}
