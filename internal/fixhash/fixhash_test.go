package fixhash

import "testing"

func TestMix64(t *testing.T) {
	// Fixed values: a change of the function would change reports.
	for _, tc := range []struct{ in, want uint64 }{
		{0, 0},
		{1, 0x5692161d100b05e5},
	} {
		if got := Mix64(tc.in); got != tc.want {
			t.Errorf("Mix64(%#x) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
	seen := map[uint64]bool{}
	for i := range uint64(1000) {
		seen[Mix64(i)] = true
	}
	if len(seen) != 1000 {
		t.Errorf("%d distinct outputs for 1000 inputs", len(seen))
	}
}
