package textdist

import "testing"

func TestEdit(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "ab", 2}, {"syn_flood", "syn_flood", 0},
		{"syn_flod", "syn_flood", 1}, {"kitten", "sitting", 3}, {"reset", "rejected", 4},
	}
	for _, tc := range tests {
		if got := Edit(tc.a, tc.b); got != tc.want {
			t.Errorf("Edit(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Edit(tc.b, tc.a); got != tc.want {
			t.Errorf("Edit(%q, %q) = %d, not symmetric", tc.b, tc.a, got)
		}
	}
}
