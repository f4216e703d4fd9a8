package policy

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the policy parser: it must return a
// policy or an error that names the file (never panic), and a policy it
// accepts must evaluate without trouble on an empty report.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("../../examples/policy.yaml"); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		"version: 1\nfail_on: [syn_flood]\n",
		"version: 1\nmax: {retransmission_rate: 0.5}\nscope: {server_ports: [443]}\n",
		"version: 1\nbaseline: {tolerance: {resets: 2}}\n",
		"version: 2\n", "max: [", "- a\n- b\n", "version: 1\nmax: {nope: 1}\n", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data, "fuzz.yaml")
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) && !errors.Is(err, ErrPolicy) {
				t.Fatalf("error of unexpected type %T: %v", err, err)
			}
			return
		}
		if p == nil {
			t.Fatal("nil policy without error")
		}
	})
}

// FuzzDecodeReport feeds arbitrary bytes to the baseline reader: a report or
// an error, never a panic.
func FuzzDecodeReport(f *testing.F) {
	f.Add([]byte(`{"summary":{"flows":1},"flows":[{"id":1,"start":"2024-01-02T03:04:05.000000000Z","anomalies":[]}],"anomalies":[]}`))
	f.Add([]byte(`{"summary":{}}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"flows":[{"start":"yesterday"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeReport(bytes.NewReader(data))
		if err == nil && r == nil {
			t.Fatal("nil report without error")
		}
	})
}
