package cli

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/anomaly"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/textdist"
)

// ErrUnknownKind is returned, wrapped, by RunExplain for a kind name that is
// not in the catalog.
var ErrUnknownKind = errors.New("unknown anomaly kind")

// explainWidth is the column at which explain wraps its prose.
const explainWidth = 78

func newExplainCmd(s *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "explain [KIND]",
		Short: "List the anomaly kinds, or explain one in full",
		Long: `explain without an argument lists every anomaly kind with its level, severity
and one-line message. With a kind it prints what the kind means on the wire,
the exact rule and thresholds that detect it, its typical causes and what to
do about it. Kind names are case-insensitive; "-" may stand for "_".`,
		Example: `  tcpflow-analyze explain
  tcpflow-analyze explain syn_flood
  tcpflow-analyze explain time-wait-storm`,
		Args: cobra.MaximumNArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			var names []string
			for _, k := range anomaly.Kinds() {
				names = append(names, k.String())
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(_ *cobra.Command, args []string) error {
			kind := ""
			if len(args) == 1 {
				kind = args[0]
			}
			return RunExplain(kind, s)
		},
	}
}

// RunExplain writes the list of kinds to s.Out when kind is empty, or the
// full entry of kind. An unknown kind is an error that wraps ErrUnknownKind
// and suggests the closest names.
func RunExplain(kind string, s *IO) error {
	var b strings.Builder
	if strings.TrimSpace(kind) == "" {
		writeKindList(&b)
	} else {
		k, ok := anomaly.ByName(normalizeKind(kind))
		if !ok {
			return unknownKind(kind)
		}
		writeKind(&b, k.Info())
	}
	if _, err := fmt.Fprint(s.Out, b.String()); err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	return nil
}

// normalizeKind accepts "SYN-Flood" or "syn flood" for "syn_flood".
func normalizeKind(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}

func writeKindList(b *strings.Builder) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tLEVEL\tSEVERITY\tMESSAGE")
	for _, k := range anomaly.Kinds() {
		in := k.Info()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", in.Name, in.Level, in.Severity, in.Message)
	}
	tw.Flush() // a strings.Builder does not fail
	b.WriteString("\nRun \"tcpflow-analyze explain KIND\" for what a kind means, how it is detected, its causes and remedies.\n")
}

func writeKind(b *strings.Builder, in anomaly.Info) {
	fmt.Fprintf(b, "%s (%s, severity %s)\n", in.Name, in.Level, in.Severity)
	fmt.Fprintf(b, "%s\n", in.Message)
	section := func(title, text string) {
		fmt.Fprintf(b, "\n%s\n", title)
		wrap(b, text, "  ", "  ")
	}
	list := func(title string, items []string) {
		fmt.Fprintf(b, "\n%s\n", title)
		for _, it := range items {
			wrap(b, it, "  - ", "    ")
		}
	}
	section("What it means on the wire", in.Wire)
	section("How it is detected", in.Rule)
	list("Typical causes", in.Causes)
	list("Remedies", in.Remedies)
}

// wrap writes text word-wrapped at explainWidth, the first line after first
// and the others after rest.
func wrap(b *strings.Builder, text, first, rest string) {
	prefix, col := first, 0
	for _, w := range strings.Fields(text) {
		if col > 0 && col+1+len(w) > explainWidth {
			b.WriteByte('\n')
			col = 0
		}
		if col == 0 {
			b.WriteString(prefix)
			col = len(prefix)
			prefix = rest
		} else {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	b.WriteByte('\n')
}

// unknownKind builds the error for an unknown name, with the closest names.
func unknownKind(kind string) error {
	if near := closestKinds(normalizeKind(kind)); len(near) > 0 {
		return fmt.Errorf("%w %q: did you mean %s? (run \"tcpflow-analyze explain\" for the list)",
			ErrUnknownKind, kind, strings.Join(near, ", "))
	}
	return fmt.Errorf("%w %q (run \"tcpflow-analyze explain\" for the list)", ErrUnknownKind, kind)
}

// closestKinds returns up to three kind names near name: by edit distance
// (at most a third of the longer name, and at least 2), or by containing it.
func closestKinds(name string) []string {
	type cand struct {
		name string
		dist int
	}
	var cs []cand
	for _, k := range anomaly.Kinds() {
		n := k.String()
		d := textdist.Edit(name, n)
		limit := max(2, max(len(n), len(name))/3)
		switch {
		case d <= limit:
		case len(name) >= 3 && (strings.Contains(n, name) || strings.Contains(strings.ReplaceAll(n, "_", ""), strings.ReplaceAll(name, "_", ""))):
			d = limit + 1 // after the close spellings
		default:
			continue
		}
		cs = append(cs, cand{n, d})
	}
	slices.SortFunc(cs, func(a, b cand) int { return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(a.name, b.name)) })
	var out []string
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].name)
	}
	return out
}
