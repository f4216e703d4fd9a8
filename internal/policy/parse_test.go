package policy

import (
	"errors"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseExamplePolicyMatchesDefault(t *testing.T) {
	p, err := Load("../../examples/policy.yaml")
	if err != nil {
		t.Fatalf("examples/policy.yaml: %v", err)
	}
	d := Default()
	if got, want := p.sortedKinds(), d.sortedKinds(); !reflect.DeepEqual(got, want) {
		t.Errorf("fail_on = %v, want the default %v", got, want)
	}
	if !reflect.DeepEqual(p.Max, d.Max) {
		t.Errorf("max = %v, want the default %v", p.Max, d.Max)
	}
	if !reflect.DeepEqual(p.Baseline.Tolerance, d.Baseline.Tolerance) {
		t.Errorf("baseline.tolerance = %v, want the default %v", p.Baseline.Tolerance, d.Baseline.Tolerance)
	}
	for _, m := range Metrics() {
		if s, ok := p.Baseline.Slack[m.Name]; ok && s != m.Slack {
			t.Errorf("example slack %s = %v, metric default %v", m.Name, s, m.Slack)
		}
	}
}

func TestParseValid(t *testing.T) {
	src := `
version: 1
fail_on: [half_open, syn_flood]
max:
  retransmission_rate: 0.01
  resets: 3
min:
  flows: 1
scope:
  server_ports: [443, 8443]
  servers: [10.0.0.0/8, "2001:db8::1", "::ffff:192.0.2.1"]
  clients: [192.0.2.0/24]
baseline:
  tolerance:
    retransmission_rate: 3
  slack:
    retransmission_rate: 0.01
`
	p, err := Parse([]byte(src), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Policy{
		Source: "p.yaml", Version: 1,
		FailOn: []string{"half_open", "syn_flood"},
		Max:    map[string]float64{"retransmission_rate": 0.01, "resets": 3},
		Min:    map[string]float64{"flows": 1},
		Scope: Scope{
			ServerPorts: []uint16{443, 8443},
			Servers: []netip.Prefix{
				netip.MustParsePrefix("10.0.0.0/8"),
				netip.MustParsePrefix("2001:db8::1/128"),
				netip.MustParsePrefix("192.0.2.1/32"),
			},
			Clients: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
		},
		Baseline: Baseline{
			Tolerance: map[string]float64{"retransmission_rate": 3},
			Slack:     map[string]float64{"retransmission_rate": 0.01},
		},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %+v\nwant %+v", p, want)
	}
}

func TestParseMinimalGetsDefaultBaseline(t *testing.T) {
	p, err := Parse([]byte("fail_on: [reset]\n"), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Max) != 0 || len(p.Min) != 0 {
		t.Errorf("a policy file inherits no limits, got max %v min %v", p.Max, p.Min)
	}
	if !reflect.DeepEqual(p.Baseline, DefaultBaseline()) {
		t.Errorf("baseline = %v, want the default tolerances", p.Baseline)
	}
	p, err = Parse([]byte("baseline:\n  tolerance: {}\n"), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Baseline.Tolerance) != 0 {
		t.Errorf("an explicit empty tolerance must compare nothing, got %v", p.Baseline.Tolerance)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		// want is the start of the message, "p.yaml:LINE:COL: ...".
		want string
	}{
		{"empty", "", "p.yaml: the policy is empty"},
		{"comment only", "# nothing\n", "p.yaml: the policy is empty"},
		{"syntax", "max:\n  a: [1\n", "p.yaml:1: did not find expected ',' or ']'"},
		{"tab indent", "max:\n\tresets: 1\n", "p.yaml:2: found character that cannot start any token"},
		{"not a mapping", "- syn_flood\n", "p.yaml:1:1: a policy is a mapping"},
		{"unknown key", "version: 1\nfail_onn: [reset]\n", `p.yaml:2:1: unknown key "fail_onn"`},
		{"duplicate key", "max:\n  resets: 1\n  resets: 2\n", "p.yaml:3:3: duplicate key max.resets (first on line 2)"},
		{"version type", "version: one\n", `p.yaml:1:10: version: expected an integer, got the string "one"`},
		{"version value", "version: 2\n", "p.yaml:1:10: version 2 is not supported"},
		{"fail_on mapping", "fail_on:\n  reset: true\n", "p.yaml:2:3: fail_on: expected a list of anomaly kinds, got a mapping"},
		{"fail_on scalar", "fail_on: reset\n", `p.yaml:1:10: fail_on: expected a list of anomaly kinds, got the string "reset"`},
		{"unknown kind", "fail_on:\n  - reset\n  - syn_flod\n", `p.yaml:3:5: fail_on: unknown anomaly kind "syn_flod" (did you mean "syn_flood"?)`},
		{"unknown kind far", "fail_on: [bogus]\n", `p.yaml:1:11: fail_on: unknown anomaly kind "bogus" (known: half_open, rejected,`},
		{"kind twice", "fail_on: [reset, reset]\n", `p.yaml:1:18: fail_on: "reset" is listed twice`},
		{"kind not string", "fail_on: [1]\n", "p.yaml:1:11: fail_on: expected a string, got the number 1"},
		{"unknown metric", "max:\n  retransmissions: 0.1\n", `p.yaml:2:3: max: unknown metric "retransmissions" (known: flows, retransmission_rate,`},
		{"misspelt metric", "max:\n  retransmision_rate: 0.1\n", `p.yaml:2:3: max: unknown metric "retransmision_rate" (did you mean "retransmission_rate"?)`},
		{"unknown metric min", "min:\n  flow: 1\n", `p.yaml:2:3: min: unknown metric "flow"`},
		{"metric type string", "max:\n  retransmission_rate: 2%\n", `p.yaml:2:24: max.retransmission_rate: expected a number, got the string "2%"`},
		{"metric type list", "max:\n  resets: [1]\n", "p.yaml:2:11: max.resets: expected a number, got a list"},
		{"metric type bool", "max:\n  resets: yes\n", `p.yaml:2:11: max.resets: expected a number, got the string "yes"`},
		{"metric null", "max:\n  resets:\n", "p.yaml:2:10: max.resets: expected a number, got nothing"},
		{"max not mapping", "max: [resets]\n", "p.yaml:1:6: max: expected a mapping, got a list"},
		{"ratio above one", "max:\n  half_open_share: 5\n", "p.yaml:2:20: max.half_open_share is a ratio between 0 and 1, got 5"},
		{"negative", "max:\n  resets: -1\n", "p.yaml:2:11: max.resets: the limit must not be negative"},
		{"infinite", "max:\n  resets: .inf\n", "p.yaml:2:11: max.resets: expected a finite number"},
		{"scope unknown key", "scope:\n  ports: [80]\n", "p.yaml:2:3: unknown key scope.ports (known: server_ports, servers, clients)"},
		{"scope port type", "scope:\n  server_ports: [http]\n", `p.yaml:2:18: scope.server_ports: expected an integer, got the string "http"`},
		{"scope port range", "scope:\n  server_ports: [70000]\n", "p.yaml:2:18: scope.server_ports: 70000 is not a port"},
		{"scope bad address", "scope:\n  servers: [10.0.0.300]\n", `p.yaml:2:13: scope.servers: "10.0.0.300" is not an address or a network`},
		{"scope bad cidr", "scope:\n  clients: [10.0.0.0/40]\n", `p.yaml:2:13: scope.clients: "10.0.0.0/40" is not an address or a network`},
		{"baseline unknown key", "baseline:\n  factor: {}\n", "p.yaml:2:3: unknown key baseline.factor (known: tolerance, slack)"},
		{"tolerance unknown metric", "baseline:\n  tolerance:\n    rtt: 2\n", `p.yaml:3:5: baseline.tolerance: unknown metric "rtt"`},
		{"tolerance below one", "baseline:\n  tolerance:\n    resets: 0.5\n", "p.yaml:3:13: baseline.tolerance.resets: a factor below 1"},
		{"tolerance on flows", "baseline:\n  tolerance:\n    flows: 2\n", "p.yaml:3:5: baseline.tolerance: flows has no better direction"},
		{"tolerance type", "baseline:\n  tolerance:\n    resets: double\n", `p.yaml:3:13: baseline.tolerance.resets: expected a number, got the string "double"`},
		{"slack negative", "baseline:\n  slack:\n    resets: -1\n", "p.yaml:3:13: baseline.slack.resets: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.src), "p.yaml")
			if err == nil {
				t.Fatalf("no error, got policy %+v", p)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error\n  %s\nwant it to start with\n  %s", err, tt.want)
			}
			if !errors.Is(err, ErrPolicy) {
				t.Errorf("error %v does not wrap ErrPolicy", err)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	if err == nil || errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), "reading policy") {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestOverrides(t *testing.T) {
	tests := []struct {
		name    string
		failOn  []string
		max     []string
		wantErr string
		check   func(t *testing.T, p *Policy)
	}{
		{name: "add kinds", failOn: []string{"half_open", " rejected", "syn_flood", ""}, check: func(t *testing.T, p *Policy) {
			want := []string{"close_wait_leak", "half_open", "overlap_mismatch", "rejected", "syn_flood", "time_wait_storm"}
			if got := p.sortedKinds(); !reflect.DeepEqual(got, want) {
				t.Errorf("fail_on = %v, want %v", got, want)
			}
		}},
		{name: "replace and add limits", max: []string{"retransmission_rate=0.1", "resets = 2"}, check: func(t *testing.T, p *Policy) {
			if p.Max["retransmission_rate"] != 0.1 || p.Max["resets"] != 2 || p.Max["half_open_share"] != 0.05 {
				t.Errorf("max = %v", p.Max)
			}
		}},
		{name: "unknown kind", failOn: []string{"synflood"}, wantErr: `unknown anomaly kind "synflood"`},
		{name: "no equals", max: []string{"resets"}, wantErr: `--max "resets": expected METRIC=VALUE`},
		{name: "unknown metric", max: []string{"rtt=3"}, wantErr: `--max "rtt=3": unknown metric "rtt"`},
		{name: "not a number", max: []string{"resets=many"}, wantErr: `"many" is not a number`},
		{name: "ratio above one", max: []string{"retransmission_rate=2"}, wantErr: "is a ratio between 0 and 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Default()
			err := p.AddFailOn(tt.failOn...)
			for _, m := range tt.max {
				if err != nil {
					break
				}
				err = p.SetLimit(m)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

func TestDefaultIsValid(t *testing.T) {
	d := Default()
	for _, k := range d.FailOn {
		if !KnownKind(k) {
			t.Errorf("default fail_on %q is not a kind", k)
		}
	}
	for name, v := range d.Max {
		m, ok := MetricByName(name)
		if !ok {
			t.Errorf("default max %q is not a metric", name)
			continue
		}
		if err := checkLimit(m, v); err != nil {
			t.Error(err)
		}
	}
	for _, m := range Metrics() {
		if m.Doc == "" || m.Unit == "" || m.acc == nil {
			t.Errorf("metric %q is not fully documented", m.Name)
		}
	}
}

// TestEveryMetricIsDocumented keeps the package documentation and the example
// policy in step with the registry.
func TestEveryMetricIsDocumented(t *testing.T) {
	for _, file := range []string{"doc.go", "../../examples/policy.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range MetricNames() {
			if !strings.Contains(string(data), name) {
				t.Errorf("%s does not mention the metric %s", file, name)
			}
		}
	}
}
