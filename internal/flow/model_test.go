package flow

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// tableModel is the table's filing rule written the plain way: per shard
// and class, the entries in the order of their last filing, an entry moved
// to the back when touched unless it is already the last of its class.
type tableModel struct {
	order [][NumClasses][]*Entry[int]
	stamp map[*Entry[int]]uint64 // latest touch
	seen  map[*Entry[int]]int64
}

func (m *tableModel) file(e *Entry[int], sh int, from, to Class, moved bool) {
	if moved {
		l := m.order[sh][from]
		i := slices.Index(l, e)
		m.order[sh][from] = slices.Delete(l, i, i+1)
	}
	m.order[sh][to] = append(m.order[sh][to], e)
}

// TestTableMatchesModel drives the table and the model with the same random
// inserts, touches, removals, evictions and expiries, and checks that every
// answer about order (Oldest, OldestOf, NextExpired, All) is the same: the
// engine's report order and which connection a cap gives up rest on them.
func TestTableMatchesModel(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 7))
		var timeouts [NumClasses]int64
		for c := range timeouts {
			timeouts[c] = int64(5 + r.IntN(200))
		}
		shards := 1 << r.IntN(3)
		tb := NewShardedTable[int](timeouts, 0, shards)
		m := &tableModel{order: make([][NumClasses][]*Entry[int], tb.Shards()), stamp: map[*Entry[int]]uint64{}, seen: map[*Entry[int]]int64{}}
		var stamp uint64
		var live []*Entry[int]
		nkeys := 20 + r.IntN(300)
		now := int64(0)
		for step := range 20000 {
			now += int64(r.IntN(3))
			switch op := r.IntN(100); {
			case op < 25 || len(live) == 0:
				k := KeyOf(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(256)), 1}), uint16(r.IntN(nkeys))), netip.MustParseAddrPort("10.9.9.9:80"))
				if tb.Get(k) != nil {
					continue
				}
				c := Class(r.IntN(int(NumClasses)))
				e := tb.Insert(k, now, c)
				e.Value = step
				stamp++
				m.stamp[e], m.seen[e] = stamp, now
				m.file(e, tb.Shard(k.Hash()), c, c, false)
				live = append(live, e)
			case op < 80:
				e := live[r.IntN(len(live))]
				c := e.Class()
				if r.IntN(4) == 0 {
					c = Class(r.IntN(int(NumClasses)))
				}
				sh := tb.Shard(e.Hash())
				l := m.order[sh][e.Class()]
				if c != e.Class() || l[len(l)-1] != e {
					m.file(e, sh, e.Class(), c, true)
				}
				tb.Touch(e, now, c)
				stamp++
				m.stamp[e] = stamp
				m.seen[e] = max(m.seen[e], now)
			case op < 84:
				// Replace keeps the place: the model swaps the pointer.
				i := r.IntN(len(live))
				old, e := live[i], new(Entry[int])
				tb.Replace(old, e)
				e.Value = old.Value
				sh := tb.Shard(e.Hash())
				l := m.order[sh][e.Class()]
				l[slices.Index(l, old)] = e
				m.stamp[e], m.seen[e] = m.stamp[old], m.seen[old]
				delete(m.stamp, old)
				delete(m.seen, old)
				live[i] = e
				if got := tb.Get(e.Key); got != e {
					t.Fatalf("seed %d step %d: Get after Replace = %p, want %p", seed, step, got, e)
				}
				if e.LastSeen != m.seen[e] {
					t.Fatalf("seed %d step %d: Replace changed LastSeen", seed, step)
				}
			case op < 88:
				i := r.IntN(len(live))
				m.remove(tb, live[i])
				live = slices.Delete(live, i, i+1)
			case op < 94:
				sh := r.IntN(tb.Shards())
				var want *Entry[int]
				for c := range NumClasses {
					if l := m.order[sh][c]; len(l) > 0 {
						want = l[0]
						break
					}
				}
				if got := tb.Oldest(sh); got != want {
					t.Fatalf("seed %d step %d: Oldest(%d) = %p, want %p", seed, step, sh, got, want)
				}
				c := Class(r.IntN(int(NumClasses)))
				want = nil
				if l := m.order[sh][c]; len(l) > 0 {
					want = l[0]
				}
				if got := tb.OldestOf(sh, c); got != want {
					t.Fatalf("seed %d step %d: OldestOf(%d, %v) = %p, want %p", seed, step, sh, c, got, want)
				}
				if got := tb.ShardClassLen(sh, c); got != len(m.order[sh][c]) {
					t.Fatalf("seed %d step %d: ShardClassLen = %d, want %d", seed, step, got, len(m.order[sh][c]))
				}
			case op < 98:
				for {
					want := m.nextExpired(now, timeouts)
					got := tb.NextExpired(now)
					if got != want {
						t.Fatalf("seed %d step %d: NextExpired = %p, want %p", seed, step, got, want)
					}
					if got == nil {
						break
					}
					m.remove(tb, got)
					live = slices.DeleteFunc(live, func(e *Entry[int]) bool { return e == got })
				}
			default:
				var got, want []*Entry[int]
				tb.All(func(e *Entry[int]) { got = append(got, e) })
				for c := range NumClasses {
					for sh := range m.order {
						want = append(want, m.order[sh][c]...)
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("seed %d step %d: All gave %d entries in another order than the model's %d", seed, step, len(got), len(want))
				}
			}
			if tb.Len() != len(live) {
				t.Fatalf("seed %d step %d: Len = %d, want %d", seed, step, tb.Len(), len(live))
			}
		}
	}
}

func (m *tableModel) remove(tb *Table[int], e *Entry[int]) {
	sh := tb.Shard(e.Hash())
	l := m.order[sh][e.Class()]
	i := slices.Index(l, e)
	m.order[sh][e.Class()] = slices.Delete(l, i, i+1)
	delete(m.stamp, e)
	delete(m.seen, e)
	tb.Remove(e)
}

func (m *tableModel) nextExpired(now int64, timeouts [NumClasses]int64) *Entry[int] {
	for c := range NumClasses {
		var best *Entry[int]
		for sh := range m.order {
			if l := m.order[sh][c]; len(l) > 0 && now-m.seen[l[0]] > timeouts[c] && (best == nil || m.stamp[l[0]] < m.stamp[best]) {
				best = l[0]
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}
