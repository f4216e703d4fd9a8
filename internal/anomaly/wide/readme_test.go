package wide

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMEDocumentsDetails: every key a capture-wide finding puts in its
// details is named in README's table of them, so that a CI job reading the
// JSON can rely on the documentation.
func TestREADMEDocumentsDetails(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	d := New(DefaultConfig())
	mixed(func(string) *Detector { return d })
	for i := 0; i < 150; i++ { // a connection flood
		d.FlowEnd(flow(uint64(1000+i), fmt.Sprintf("203.0.113.9:%d", 40000+i), "10.0.0.80:80", "S1", float64(i)*0.1, 120, 200))
	}
	seen := map[string]bool{}
	for _, a := range d.Findings() {
		seen[a.Kind] = true
		for k := range a.Details {
			if !strings.Contains(string(readme), "`"+k+"`") {
				t.Errorf("%s: details key %q is not in README", a.Kind, k)
			}
		}
	}
	for _, kind := range []string{"syn_flood", "time_wait_storm", "port_scan", "rst_storm", "connection_flood"} {
		if !seen[kind] {
			t.Errorf("no %s finding to check", kind)
		}
	}
}
