//go:build !cgo

package capture

import "fmt"

// Filter is a compiled BPF filter expression. Without cgo there is no libpcap
// to compile expressions, so no Filter can be made.
type Filter struct{ expr string }

// CompileFilter always fails in a binary built without cgo.
func CompileFilter(expr string) (*Filter, error) {
	return nil, fmt.Errorf("filter %q: %w", expr, ErrNoFilterSupport)
}

// String returns the filter expression.
func (f *Filter) String() string { return f.expr }

// Match reports false: a Filter cannot exist without cgo.
func (f *Filter) Match(fr *Frame) bool { return false }

// Err returns nil.
func (f *Filter) Err() error { return nil }
