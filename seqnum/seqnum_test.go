package seqnum

import "testing"

func TestCompareAcrossWrap(t *testing.T) {
	tests := []struct {
		name       string
		v, w       Value
		less, more bool
	}{
		{"equal", 10, 10, false, false},
		{"plain less", 10, 11, true, false},
		{"plain more", 11, 10, false, true},
		{"wrap: max before zero", 0xFFFFFFFF, 0, true, false},
		{"wrap: zero after max", 0, 0xFFFFFFFF, false, true},
		{"wrap: near end before small", 0xFFFFFF00, 0x100, true, false},
		{"half space boundary", 0, 0x7FFFFFFF, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.v.LessThan(tc.w); got != tc.less {
				t.Errorf("%d.LessThan(%d) = %v, want %v", tc.v, tc.w, got, tc.less)
			}
			if got := tc.v.GreaterThan(tc.w); got != tc.more {
				t.Errorf("%d.GreaterThan(%d) = %v, want %v", tc.v, tc.w, got, tc.more)
			}
			if got := tc.v.LessThanEq(tc.w); got != (tc.less || tc.v == tc.w) {
				t.Errorf("%d.LessThanEq(%d) = %v", tc.v, tc.w, got)
			}
			if got := tc.v.GreaterThanEq(tc.w); got != (tc.more || tc.v == tc.w) {
				t.Errorf("%d.GreaterThanEq(%d) = %v", tc.v, tc.w, got)
			}
		})
	}
}

func TestInRangeAndArithmetic(t *testing.T) {
	tests := []struct {
		name string
		v, a Value
		size Size
		want bool
	}{
		{"inside", 5, 0, 10, true},
		{"at start", 0, 0, 10, true},
		{"at end is outside", 10, 0, 10, false},
		{"wrapping window inside", 2, 0xFFFFFFF0, 0x20, true},
		{"wrapping window before", 0xFFFFFFE0, 0xFFFFFFF0, 0x20, false},
		{"empty window", 0, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.v.InWindow(tc.a, tc.size); got != tc.want {
				t.Errorf("%d.InWindow(%d,%d) = %v, want %v", tc.v, tc.a, tc.size, got, tc.want)
			}
		})
	}
	if got := Value(0xFFFFFFFF).Add(2); got != 1 {
		t.Errorf("Add across wrap = %d, want 1", got)
	}
	if got := Value(1).Sub(0xFFFFFFFF); got != 2 {
		t.Errorf("Sub across wrap = %d, want 2", got)
	}
	if got := Value(0xFFFFFFFF).Size(1); got != 2 {
		t.Errorf("Size across wrap = %d, want 2", got)
	}
	if Max(0xFFFFFFFF, 1) != 1 || Min(0xFFFFFFFF, 1) != 0xFFFFFFFF {
		t.Errorf("Max/Min across wrap wrong")
	}
}
