package flow

import (
	"net/netip"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestKeyOfIsDirectionless(t *testing.T) {
	a, b := ap("10.0.0.1:40000"), ap("10.0.0.2:80")
	if KeyOf(a, b) != KeyOf(b, a) {
		t.Fatalf("KeyOf differs by direction")
	}
	v6a, v6b := ap("[2001:db8::1]:80"), ap("[2001:db8::2]:80")
	if KeyOf(v6a, v6b) != KeyOf(v6b, v6a) {
		t.Fatalf("KeyOf differs by direction for IPv6")
	}
}

func TestRoles(t *testing.T) {
	tests := []struct {
		name      string
		src, dst  string
		flags     segment.Flags
		orig      string
		midstream bool
	}{
		{"syn sender originates", "10.0.0.1:40000", "10.0.0.2:80", segment.SYN, "10.0.0.1:40000", false},
		{"syn to high port", "10.0.0.2:80", "10.0.0.1:40000", segment.SYN, "10.0.0.2:80", false},
		{"syn-ack sender responds", "10.0.0.2:80", "10.0.0.1:40000", segment.SYN | segment.ACK, "10.0.0.1:40000", true},
		{"data to well-known port", "10.0.0.1:40000", "10.0.0.2:80", segment.ACK, "10.0.0.1:40000", true},
		{"data from well-known port", "10.0.0.2:80", "10.0.0.1:40000", segment.ACK | segment.PSH, "10.0.0.1:40000", true},
		{"lower port responds", "10.0.0.2:9090", "10.0.0.1:50000", segment.ACK, "10.0.0.1:50000", true},
		{"likely server port beats lower port", "10.0.0.2:2000", "10.0.0.1:8080", segment.ACK, "10.0.0.2:2000", true},
		{"below 1024 beats lower port", "10.0.0.2:999", "10.0.0.1:2000", segment.ACK, "10.0.0.1:2000", true},
		{"equal ports: sender", "10.0.0.2:5000", "10.0.0.1:5000", segment.ACK, "10.0.0.2:5000", true},
		{"rst alone", "10.0.0.2:80", "10.0.0.1:40000", segment.RST, "10.0.0.1:40000", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := segment.Segment{Src: ap(tc.src), Dst: ap(tc.dst), Flags: tc.flags}
			orig, resp, mid := Roles(&s)
			if orig.String() != tc.orig || mid != tc.midstream {
				t.Fatalf("Roles = %v, %v, %v; want orig %s midstream %v", orig, resp, mid, tc.orig, tc.midstream)
			}
			if resp == orig {
				t.Fatalf("orig and resp equal")
			}
		})
	}
}

func TestTableExpiryAndEviction(t *testing.T) {
	var timeouts [NumClasses]int64
	timeouts[ClassHandshake] = 10
	timeouts[ClassEstablished] = 100
	timeouts[ClassClosed] = 5
	tb := NewTable[int](timeouts, 3)
	k1 := KeyOf(ap("1.1.1.1:1"), ap("2.2.2.2:2"))
	k2 := KeyOf(ap("1.1.1.1:3"), ap("2.2.2.2:2"))
	k3 := KeyOf(ap("1.1.1.1:4"), ap("2.2.2.2:2"))
	e1 := tb.Insert(k1, 0, ClassHandshake)
	e1.Value = 1
	e2 := tb.Insert(k2, 1, ClassHandshake)
	e2.Value = 2
	e3 := tb.Insert(k3, 2, ClassEstablished)
	e3.Value = 3
	if !tb.Full() {
		t.Fatalf("table of 3 with Max 3 not full")
	}
	if got := tb.Oldest(); got != e1 {
		t.Fatalf("Oldest = %v, want the first handshake entry", got.Value)
	}
	tb.Touch(e1, 5, ClassEstablished)
	if got := tb.Oldest(); got != e2 {
		t.Fatalf("after touch, Oldest = %v, want 2", got.Value)
	}
	if got := tb.NextExpired(11); got != nil {
		t.Fatalf("NextExpired(11) = %v, want nil (handshake timeout is > 10)", got.Value)
	}
	if got := tb.NextExpired(12); got != e2 {
		t.Fatalf("NextExpired(12) = %v, want entry 2", got)
	}
	tb.Remove(e2)
	if tb.Len() != 2 || tb.Get(k2) != nil {
		t.Fatalf("Remove left the entry behind")
	}
	if got := tb.NextExpired(103); got != e3 {
		t.Fatalf("NextExpired(103) = %v, want entry 3 (idle since 2)", got)
	}
	tb.Remove(e3)
	if got := tb.NextExpired(103); got != nil {
		t.Fatalf("entry 1 (idle since 5) expired too early")
	}
	n := 0
	tb.All(func(*Entry[int]) { n++ })
	if n != 1 {
		t.Fatalf("All visited %d entries, want 1", n)
	}
}
