package policy

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/textdist"
)

// Error is a problem in a policy file, located by line and column.
type Error struct {
	File   string
	Line   int
	Column int
	Msg    string
	// Err is the underlying error, if any (a YAML syntax error).
	Err error
}

// Error formats e as "file:line:column: message".
func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	if e.Column == 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// ErrPolicy is wrapped by every error Parse returns, so callers can tell a bad
// policy from a failure to read it.
var ErrPolicy = errors.New("invalid policy")

// Is makes errors.Is(err, ErrPolicy) true for an *Error.
func (e *Error) Is(target error) bool { return target == ErrPolicy }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Parse reads a policy document; name is used in error messages. Unknown keys,
// unknown metrics and kinds, values of the wrong type and duplicate keys are
// errors naming their line.
func Parse(data []byte, name string) (*Policy, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(name, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &Error{File: name, Msg: "the policy is empty"}
	}
	p := &parser{file: name}
	pol := &Policy{Source: name, Version: Version, Max: map[string]float64{}, Min: map[string]float64{}}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, p.errf(root, "a policy is a mapping of keys (version, fail_on, max, min, scope, baseline), got %s", describe(root))
	}
	haveBaseline := false
	err := p.mapping(root, "", func(key string, k, v *yaml.Node) error {
		switch key {
		case "version":
			n, err := p.integer(v, "version")
			if err != nil {
				return err
			}
			if n != Version {
				return p.errf(v, "version %d is not supported (this program reads version %d)", n, Version)
			}
			pol.Version = n
		case "fail_on":
			kinds, err := p.kinds(v)
			if err != nil {
				return err
			}
			pol.FailOn = kinds
		case "max":
			return p.limits(v, "max", pol.Max)
		case "min":
			return p.limits(v, "min", pol.Min)
		case "scope":
			return p.scope(v, &pol.Scope)
		case "baseline":
			haveBaseline = true
			return p.baseline(v, &pol.Baseline)
		default:
			return p.errf(k, "unknown key %q (known: version, fail_on, max, min, scope, baseline)", key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !haveBaseline {
		pol.Baseline = DefaultBaseline()
	}
	return pol, nil
}

// syntaxError turns yaml's "yaml: line N: message" into an *Error at line N.
func syntaxError(name string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{File: name, Msg: msg, Err: err}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				e.Line, e.Msg = n, text
			}
		}
	}
	return e
}

type parser struct {
	file string
}

func (p *parser) errf(n *yaml.Node, format string, args ...any) error {
	return &Error{File: p.file, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)}
}

// describe names what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing"
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		case "!!bool":
			return "the boolean " + n.Value
		case "!!int", "!!float":
			return "the number " + n.Value
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an unknown node"
}

// mapping walks a mapping node, rejecting duplicate and non-string keys. path
// prefixes key names in messages.
func (p *parser) mapping(n *yaml.Node, path string, each func(key string, k, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return p.errf(n, "%s: expected a mapping, got %s", strings.TrimSuffix(path, "."), describe(n))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || (k.Tag != "!!str" && k.Tag != "!!int") {
			return p.errf(k, "%skeys must be names, got %s", path, describe(k))
		}
		if line, dup := seen[k.Value]; dup {
			return p.errf(k, "duplicate key %s%s (first on line %d)", path, k.Value, line)
		}
		seen[k.Value] = k.Line
		if err := each(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

// sequence checks that n is a list; a missing value (null) is an empty list.
func (p *parser) sequence(n *yaml.Node, what, elem string) ([]*yaml.Node, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, p.errf(n, "%s: expected a list of %s, got %s", what, elem, describe(n))
	}
	return n.Content, nil
}

func (p *parser) integer(n *yaml.Node, what string) (int, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		return 0, p.errf(n, "%s: expected an integer, got %s", what, describe(n))
	}
	var v int
	if err := n.Decode(&v); err != nil {
		return 0, p.errf(n, "%s: %v", what, err)
	}
	return v, nil
}

func (p *parser) number(n *yaml.Node, what string) (float64, error) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		return 0, p.errf(n, "%s: expected a number, got %s", what, describe(n))
	}
	var v float64
	if err := n.Decode(&v); err != nil {
		return 0, p.errf(n, "%s: %v", what, err)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, p.errf(n, "%s: expected a finite number, got %s", what, n.Value)
	}
	return v, nil
}

func (p *parser) str(n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return "", p.errf(n, "%s: expected a string, got %s", what, describe(n))
	}
	return n.Value, nil
}

func (p *parser) kinds(n *yaml.Node) ([]string, error) {
	items, err := p.sequence(n, "fail_on", "anomaly kinds")
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, it := range items {
		k, err := p.str(it, "fail_on")
		if err != nil {
			return nil, err
		}
		if !KnownKind(k) {
			return nil, p.errf(it, "fail_on: unknown anomaly kind %q%s", k, suggest(k, KindNames()))
		}
		if slices.Contains(out, k) {
			return nil, p.errf(it, "fail_on: %q is listed twice", k)
		}
		out = append(out, k)
	}
	return out, nil
}

// metric resolves a metric name key.
func (p *parser) metric(k *yaml.Node, section string) (Metric, error) {
	m, ok := MetricByName(k.Value)
	if !ok {
		return Metric{}, p.errf(k, "%s: unknown metric %q%s", section, k.Value, suggest(k.Value, MetricNames()))
	}
	return m, nil
}

func (p *parser) limits(n *yaml.Node, section string, into map[string]float64) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	return p.mapping(n, section+".", func(key string, k, v *yaml.Node) error {
		m, err := p.metric(k, section)
		if err != nil {
			return err
		}
		val, err := p.number(v, section+"."+key)
		if err != nil {
			return err
		}
		if err := checkLimit(m, val); err != nil {
			return p.errf(v, "%s.%v", section, err)
		}
		into[key] = val
		return nil
	})
}

func (p *parser) scope(n *yaml.Node, s *Scope) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	return p.mapping(n, "scope.", func(key string, k, v *yaml.Node) error {
		switch key {
		case "server_ports":
			items, err := p.sequence(v, "scope.server_ports", "port numbers")
			if err != nil {
				return err
			}
			for _, it := range items {
				port, err := p.integer(it, "scope.server_ports")
				if err != nil {
					return err
				}
				if port < 1 || port > 65535 {
					return p.errf(it, "scope.server_ports: %d is not a port (1-65535)", port)
				}
				s.ServerPorts = append(s.ServerPorts, uint16(port))
			}
		case "servers", "clients":
			items, err := p.sequence(v, "scope."+key, "addresses or networks")
			if err != nil {
				return err
			}
			var nets []netip.Prefix
			for _, it := range items {
				str, err := p.str(it, "scope."+key)
				if err != nil {
					return err
				}
				pf, err := ParsePrefix(str)
				if err != nil {
					return p.errf(it, "scope.%s: %v", key, err)
				}
				nets = append(nets, pf)
			}
			if key == "servers" {
				s.Servers = nets
			} else {
				s.Clients = nets
			}
		default:
			return p.errf(k, "unknown key scope.%s (known: server_ports, servers, clients)", key)
		}
		return nil
	})
}

func (p *parser) baseline(n *yaml.Node, b *Baseline) error {
	b.Tolerance = map[string]float64{}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	return p.mapping(n, "baseline.", func(key string, k, v *yaml.Node) error {
		switch key {
		case "tolerance", "slack":
			section := "baseline." + key
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				return nil
			}
			return p.mapping(v, section+".", func(name string, mk, mv *yaml.Node) error {
				m, err := p.metric(mk, section)
				if err != nil {
					return err
				}
				if !m.Regresses {
					return p.errf(mk, "%s: %s has no better direction, so it cannot regress", section, name)
				}
				val, err := p.number(mv, section+"."+name)
				if err != nil {
					return err
				}
				if key == "tolerance" {
					if val < 1 {
						return p.errf(mv, "%s.%s: a factor below 1 fails on any value, got %v (2 means \"may double\")", section, name, val)
					}
					b.Tolerance[name] = val
					return nil
				}
				if val < 0 {
					return p.errf(mv, "%s.%s: must not be negative, got %v", section, name, val)
				}
				if b.Slack == nil {
					b.Slack = map[string]float64{}
				}
				b.Slack[name] = val
				return nil
			})
		default:
			return p.errf(k, "unknown key baseline.%s (known: tolerance, slack)", key)
		}
	})
}

// suggest returns " (did you mean "x"?)" for the closest known name within two
// edits, or " (known: a, b, ...)".
func suggest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := textdist.Edit(name, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return " (known: " + strings.Join(known, ", ") + ")"
}
