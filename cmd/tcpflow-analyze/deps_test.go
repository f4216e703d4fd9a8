package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoLibpcap keeps libpcap and gopacket out of the analysis binary:
// they belong to the capture helper (cmd/tcpflow-analyze-capture). Linked
// here, gopacket's layers package alone cost every run about 30 ms
// (docs/performance.md, session 23).
func TestLinksNoLibpcap(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/gopacket/") || strings.HasSuffix(pkg, "/internal/libpcap") {
			t.Errorf("tcpflow-analyze links %s", pkg)
		}
	}
}
