package capture

import "strconv"

func itoa(n int) string { return strconv.Itoa(n) }

// countFrames reads s to its end and returns how many frames it gave.
func countFrames(s *Source) int {
	n := 0
	for s.Next() {
		n++
	}
	return n
}
