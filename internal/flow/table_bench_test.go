package flow

import (
	"net/netip"
	"testing"
)

// benchKeys returns n distinct IPv4 4-tuples to one server.
func benchKeys(n int) []Key {
	srv := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, 1}), 443)
	keys := make([]Key, n)
	for i := range keys {
		c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{172, 16 | byte(i>>16&15), byte(i >> 8), byte(i)}), uint16(32768+i%28000))
		keys[i] = KeyOf(c, srv)
	}
	return keys
}

// BenchmarkTableLookup is the per-segment work on the flow table: KeyOf, Get
// and Touch of an open connection, with 100 k connections open.
func BenchmarkTableLookup(b *testing.B) {
	const open = 100_000
	keys := benchKeys(open)
	t := NewTable[int](timeouts(), 0)
	for i, k := range keys {
		t.Insert(k, int64(i), ClassEstablished)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i%open]
		e := t.Get(KeyOf(k.B, k.A))
		if e == nil {
			b.Fatal("missing")
		}
		t.Touch(e, int64(open+i), ClassEstablished)
		i++
	}
}

// BenchmarkTableChurn is a connection's life in the table: Insert, a few
// Touches that change its class, Remove; 10 k other connections stay open and
// idle ones expire.
func BenchmarkTableChurn(b *testing.B) {
	const open = 10_000
	keys := benchKeys(open + 1<<16)
	t := NewTable[int](timeouts(), 0)
	for i := range open {
		t.Insert(keys[i], 0, ClassEstablished)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		now := int64(i) * 1000
		k := keys[open+i%(1<<16)]
		e := t.Insert(k, now, ClassHandshake)
		t.Touch(e, now+1, ClassEstablished)
		t.Touch(e, now+2, ClassClosing)
		t.Touch(e, now+3, ClassTimeWait)
		t.Remove(e)
		for x := t.NextExpired(now); x != nil; x = t.NextExpired(now) {
			t.Remove(x)
		}
		i++
	}
}

func timeouts() [NumClasses]int64 {
	var to [NumClasses]int64
	for i := range to {
		to[i] = 1 << 60
	}
	return to
}
