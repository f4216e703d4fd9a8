package flow

import (
	"net/netip"
	"slices"
	"strconv"
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

func TestSetOfIsKeyOf(t *testing.T) {
	for _, c := range []struct{ src, dst string }{
		{"10.0.0.1:40000", "10.0.0.2:80"},
		{"10.0.0.2:80", "10.0.0.1:40000"},
		{"10.0.0.1:80", "10.0.0.1:40000"}, // same address: the ports decide
		{"10.0.0.1:40000", "10.0.0.1:80"},
		{"10.0.0.1:80", "10.0.0.1:80"},
		{"[2001:db8::2]:443", "[2001:db8::1]:50000"},
		{"[::ffff:10.0.0.1]:1", "10.0.0.1:1"}, // a mapped IPv6 address is not its IPv4 one
	} {
		src, dst := ap(c.src), ap(c.dst)
		k := Key{A: ap("192.0.2.1:9"), B: ap("192.0.2.2:9")} // overwritten
		k.SetOf(&src, &dst)
		if want := KeyOf(src, dst); k != want {
			t.Errorf("SetOf(%s, %s) = %v, KeyOf %v", c.src, c.dst, k, want)
		}
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
	if !tb.Full(k1.Hash()) {
		t.Fatalf("table of 3 with Max 3 not full")
	}
	if got := tb.Oldest(0); got != e1 {
		t.Fatalf("Oldest = %v, want the first handshake entry", got.Value)
	}
	tb.Touch(e1, 5, ClassEstablished)
	if got := tb.Oldest(0); got != e2 {
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

// TestShardedTable: caps and eviction candidates are per shard, while expiry
// and the class counts see the whole table, least recently seen first.
func TestShardedTable(t *testing.T) {
	var timeouts [NumClasses]int64
	timeouts[ClassHandshake] = 10
	timeouts[ClassClosed] = 10
	tb := NewShardedTable[int](timeouts, 4, 2) // two entries a shard
	if tb.Shards() != 2 || tb.ShardMax(4) != 2 || tb.ShardMax(5) != 3 {
		t.Fatalf("Shards %d, ShardMax(4) %d, ShardMax(5) %d", tb.Shards(), tb.ShardMax(4), tb.ShardMax(5))
	}
	// Keys of each shard, by their hash's top bit.
	var keys [2][]Key
	for p := 1; len(keys[0]) < 3 || len(keys[1]) < 3; p++ {
		k := KeyOf(ap("1.1.1.1:"+strconv.Itoa(p)), ap("2.2.2.2:80"))
		sh := tb.Shard(k.Hash())
		if want := int(k.Hash() >> 63); sh != want {
			t.Fatalf("Shard = %d, want the top bit %d", sh, want)
		}
		keys[sh] = append(keys[sh], k)
	}
	a0 := tb.Insert(keys[0][0], 0, ClassHandshake)
	b0 := tb.Insert(keys[1][0], 1, ClassHandshake)
	a1 := tb.Insert(keys[0][1], 2, ClassHandshake)
	if !tb.Full(keys[0][2].Hash()) || tb.Full(keys[1][2].Hash()) {
		t.Fatal("shard 0 (two entries of two) must be full and shard 1 (one) not")
	}
	if tb.Oldest(0) != a0 || tb.Oldest(1) != b0 || tb.OldestOf(0, ClassHandshake) != a0 {
		t.Fatal("Oldest is not the least recently seen of its shard")
	}
	tb.Touch(a0, 3, ClassClosed) // a0 is now the most recent, and closed
	if tb.Oldest(0) != a0 {
		t.Fatal("Oldest(0) must prefer the closed class")
	}
	if tb.ClassLen(ClassHandshake) != 2 || tb.ShardClassLen(0, ClassHandshake) != 1 || tb.ShardClassLen(0, ClassClosed) != 1 {
		t.Fatalf("class counts: handshake %d, shard 0 handshake %d, closed %d",
			tb.ClassLen(ClassHandshake), tb.ShardClassLen(0, ClassHandshake), tb.ShardClassLen(0, ClassClosed))
	}
	// Expiry: class by class, least recently seen first across the shards.
	var got []*Entry[int]
	for e := tb.NextExpired(100); e != nil; e = tb.NextExpired(100) {
		got = append(got, e)
		tb.Remove(e)
	}
	if want := []*Entry[int]{a0, b0, a1}; !slices.Equal(got, want) {
		t.Fatalf("expired in the wrong order: %v", got)
	}
	if tb.Len() != 0 || tb.ClassLen(ClassHandshake) != 0 || tb.ClassLen(ClassClosed) != 0 {
		t.Fatal("entries left after expiry")
	}
}

// TestInsertEntryIsNeverReused: an entry the caller owns (InsertEntry) is
// indexed and filed like the table's own, and once removed it is not handed
// out again by InsertHashed, which would file another connection in memory
// its owner still uses.
func TestInsertEntryIsNeverReused(t *testing.T) {
	tb := NewTable[int]([NumClasses]int64{}, 0)
	type owner struct {
		ent  Entry[int]
		mine int
	}
	o := owner{mine: 7}
	k := KeyOf(ap("10.0.0.1:1000"), ap("10.0.0.2:80"))
	tb.InsertEntry(&o.ent, k, k.Hash(), 7, ClassEstablished)
	o.ent.Value = 42
	if got := tb.Get(k); got != &o.ent || got.Value != 42 || got.LastSeen != 7 || got.Class() != ClassEstablished {
		t.Fatalf("Get after InsertEntry = %p (value %v), want the owner's entry %p", got, got, &o.ent)
	}
	if tb.Oldest(0) != &o.ent {
		t.Fatalf("the owner's entry is not filed under its class")
	}
	tb.Remove(&o.ent)
	if tb.Len() != 0 || tb.Get(k) != nil {
		t.Fatalf("Remove left the owner's entry in the table")
	}
	for i := 0; i < 4; i++ {
		k2 := KeyOf(ap("10.0.0.1:"+strconv.Itoa(2000+i)), ap("10.0.0.2:80"))
		if e := tb.Insert(k2, 8, ClassHandshake); e == &o.ent {
			t.Fatalf("Insert handed out the owner's entry again")
		}
	}
	if o.mine != 7 {
		t.Errorf("the table wrote past the owner's entry")
	}
	// A table entry removed before is reused as before.
	k3 := KeyOf(ap("10.0.0.1:3000"), ap("10.0.0.2:80"))
	e3 := tb.Insert(k3, 9, ClassHandshake)
	tb.Remove(e3)
	if e4 := tb.Insert(k3, 10, ClassHandshake); e4 != e3 {
		t.Errorf("the table's own removed entry was not reused")
	}
}
