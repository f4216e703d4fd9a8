// Package seqnum implements TCP sequence-number arithmetic with the serial-number
// rules of RFC 1982, so that comparisons stay correct across the 2^32 wrap.
//
// Every comparison of sequence or acknowledgement numbers in this module goes
// through this package; no caller compares raw uint32 values.
package seqnum

// Value is a 32-bit TCP sequence or acknowledgement number.
type Value uint32

// Size is a length in sequence space (bytes plus SYN and FIN, which count one each).
type Size uint32

// LessThan reports whether v comes strictly before w in sequence space.
func (v Value) LessThan(w Value) bool { return int32(v-w) < 0 }

// LessThanEq reports whether v comes before w or equals it.
func (v Value) LessThanEq(w Value) bool { return int32(v-w) <= 0 }

// GreaterThan reports whether v comes strictly after w in sequence space.
func (v Value) GreaterThan(w Value) bool { return int32(v-w) > 0 }

// GreaterThanEq reports whether v comes after w or equals it.
func (v Value) GreaterThanEq(w Value) bool { return int32(v-w) >= 0 }

// InRange reports whether v lies in the half-open window [a, b).
func (v Value) InRange(a, b Value) bool { return v-a < b-a }

// InWindow reports whether v lies in the window that starts at first and is size long.
func (v Value) InWindow(first Value, size Size) bool { return v.InRange(first, first.Add(size)) }

// Add returns v advanced by s, wrapping at 2^32.
func (v Value) Add(s Size) Value { return v + Value(s) }

// Sub returns the signed distance from w to v: positive when v is after w.
func (v Value) Sub(w Value) int64 { return int64(int32(v - w)) }

// Size returns the forward distance from v to w, assuming w is not before v.
func (v Value) Size(w Value) Size { return Size(w - v) }

// Max returns the later of v and w in sequence space.
func Max(v, w Value) Value {
	if v.LessThan(w) {
		return w
	}
	return v
}

// Min returns the earlier of v and w in sequence space.
func Min(v, w Value) Value {
	if v.LessThan(w) {
		return v
	}
	return w
}
