package flow

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestIndexMatchesMap runs random inserts, lookups and removals against a Go
// map, with few distinct keys so that probe chains wrap and shift.
func TestIndexMatchesMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var x index[int]
	ref := map[Key]*Entry[int]{}
	key := func(i int) Key {
		a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), uint16(i))
		return KeyOf(a, netip.MustParseAddrPort("192.0.2.1:80"))
	}
	for op := 0; op < 300_000; op++ {
		k := key(r.IntN(2000))
		switch e := ref[k]; {
		case e == nil && r.IntN(2) == 0:
			e = &Entry[int]{Key: k, h: k.Hash(), Value: op}
			x.insert(e)
			ref[k] = e
		case e != nil && r.IntN(3) == 0:
			x.remove(e)
			delete(ref, k)
		default:
			if got := x.get(&k, k.Hash()); got != e {
				t.Fatalf("op %d: get(%v) = %p, want %p", op, k, got, e)
			}
		}
		if x.n != len(ref) {
			t.Fatalf("op %d: n = %d, want %d", op, x.n, len(ref))
		}
	}
	for k, e := range ref {
		if got := x.get(&k, k.Hash()); got != e {
			t.Fatalf("get(%v) = %p, want %p", k, got, e)
		}
	}
}

func TestKeyHashIsStable(t *testing.T) {
	k := KeyOf(netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80"))
	if k.Hash() != KeyOf(netip.MustParseAddrPort("10.0.0.2:80"), netip.MustParseAddrPort("10.0.0.1:40000")).Hash() {
		t.Error("the two directions of a connection hash differently")
	}
	k2 := KeyOf(netip.MustParseAddrPort("10.0.0.1:40001"), netip.MustParseAddrPort("10.0.0.2:80"))
	if k.Hash() == k2.Hash() {
		t.Error("keys differing in a port hash the same")
	}
}

// TestKeyHashMatchesAs16 checks the shortcuts of Hash and SetOfHashed for
// IPv4 and IPv6 endpoints against KeyOf's order and the 16-byte forms they
// stand for (addresses that differ in either half, or in the top bit of
// one), with every kind of address on either side and equal addresses with
// either port the larger, and pins one hash: shards, caps and the order of ties follow it.
func TestKeyHashMatchesAs16(t *testing.T) {
	// The hash of the 16-byte forms, as words, with nothing taken short.
	slow := func(k Key) uint64 {
		a, b := k.A.Addr().As16(), k.B.Addr().As16()
		le := binary.LittleEndian.Uint64
		return hashWords(k.A.Port(), k.B.Port(), le(a[:8]), le(a[8:]), le(b[:8]), le(b[8:]))
	}
	addrs := []string{
		"0.0.0.0", "10.0.0.1", "192.0.2.255", "255.255.255.255",
		"::ffff:10.0.0.1", "::", "::1", "2001:db8::1", "2001:db8::2", "2001:db8:0:1::1", "2001:db9::",
		"fe80::1%eth0", "fe80::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "8000::", "7fff:ffff:ffff:ffff:8000::",
	}
	for i, x := range addrs {
		for _, y := range addrs {
			for _, port := range []uint16{443, uint16(40000 + i)} {
				src := netip.AddrPortFrom(netip.MustParseAddr(x), uint16(40000+i))
				dst := netip.AddrPortFrom(netip.MustParseAddr(y), port)
				k := KeyOf(src, dst)
				if got, want := k.Hash(), slow(k); got != want {
					t.Errorf("Hash(%v) = %#x, want %#x", k, got, want)
				}
				var k2 Key
				if h := k2.SetOfHashed(&src, &dst); k2 != k || h != slow(k) {
					t.Errorf("SetOfHashed(%v, %v) = %v, %#x; want %v, %#x", src, dst, k2, h, k, slow(k))
				}
			}
		}
	}
	k := KeyOf(netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80"))
	if got, want := k.Hash(), uint64(0xf00b5463b871afbf); got != want {
		t.Errorf("Hash(%v) = %#x, want %#x", k, got, want)
	}
}

// TestIndexKeysThatShareAHash gives keys that differ in one part each (either
// endpoint's address or port, an IPv6 zone, an IPv4 address and its IPv4-mapped
// IPv6 form) one and the same hash: only the key comparison tells them apart,
// for lookups and after removals.
func TestIndexKeysThatShareAHash(t *testing.T) {
	ap := netip.MustParseAddrPort
	base := Key{A: ap("10.0.0.1:40000"), B: ap("10.0.0.2:80")}
	keys := []Key{
		base,
		{A: ap("10.0.0.3:40000"), B: base.B},          // A's address
		{A: ap("10.0.0.1:40001"), B: base.B},          // A's port
		{A: base.A, B: ap("10.0.0.4:80")},             // B's address
		{A: base.A, B: ap("10.0.0.2:81")},             // B's port
		{A: ap("[::ffff:10.0.0.1]:40000"), B: base.B}, // the IPv4-mapped form
		{A: ap("[fe80::1]:40000"), B: ap("[fe80::2]:80")},
		{A: ap("[fe80::1%eth0]:40000"), B: ap("[fe80::2]:80")}, // a zone
		{A: ap("[fe80::1]:40000"), B: ap("[fe80::2%eth1]:80")},
	}
	const h = 0x5eed
	var x index[int]
	entries := make([]*Entry[int], len(keys))
	for i, k := range keys {
		entries[i] = &Entry[int]{Key: k, h: h, Value: i}
		x.insert(entries[i])
	}
	check := func(removed map[int]bool) {
		t.Helper()
		for i, k := range keys {
			want := entries[i]
			if removed[i] {
				want = nil
			}
			if got := x.get(&k, h); got != want {
				t.Fatalf("removed %v: get(%v) = %v, want %v", removed, k, got, want)
			}
		}
	}
	check(nil)
	removed := map[int]bool{}
	for _, i := range []int{0, 5, 7, 2} {
		x.remove(entries[i])
		removed[i] = true
		check(removed)
	}
}
