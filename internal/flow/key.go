// Package flow keeps the table of open TCP connections: flow keys built from
// netip.AddrPort pairs, originator inference, and expiry driven by capture time
// with a bounded size.
package flow

import (
	"net/netip"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// Key identifies a 4-tuple regardless of direction: A is the smaller endpoint.
type Key struct {
	A, B netip.AddrPort
}

// KeyOf returns the key of a segment from src to dst.
func KeyOf(src, dst netip.AddrPort) Key {
	if src.Compare(dst) <= 0 {
		return Key{src, dst}
	}
	return Key{dst, src}
}

// Roles decides which endpoint originated a connection from the first segment
// seen on it. The sender of a SYN is the originator and the sender of a SYN-ACK
// the responder. For a connection picked up mid-stream (midstream is then true)
// the endpoint on a well-known port (below 1024) is taken as the responder, then
// the one on the lower port; when the ports are equal, the sender of the first
// segment is taken as the originator.
func Roles(first *segment.Segment) (orig, resp netip.AddrPort, midstream bool) {
	src, dst := first.Src, first.Dst
	f := first.Flags
	switch {
	case f.Has(segment.SYN) && !f.Any(segment.ACK|segment.RST):
		return src, dst, false
	case f.Has(segment.SYN | segment.ACK):
		return dst, src, true
	}
	sp, dp := src.Port(), dst.Port()
	switch {
	case dp < 1024 && sp >= 1024:
		return src, dst, true
	case sp < 1024 && dp >= 1024:
		return dst, src, true
	case sp > dp:
		return src, dst, true
	case dp > sp:
		return dst, src, true
	}
	return src, dst, true
}
