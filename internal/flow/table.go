package flow

// Class groups open connections that share an idle timeout. Each class keeps its
// entries in least-recently-seen order, so expiry looks only at list heads and
// costs O(1) per expired connection, whatever the table size.
type Class uint8

// The timeout classes, from the most expendable to the least: when the table is
// full, eviction takes the oldest entry of the first non-empty class.
const (
	// ClassClosed holds connections that were reset or fully closed, kept a
	// while so that stragglers (a retransmitted FIN, a second RST) still join
	// them. They are over: the first to be evicted.
	ClassClosed Class = iota
	// ClassTimeWait holds connections with an endpoint in TIME_WAIT: over
	// too, but a new SYN on the 4-tuple is still a premature reuse.
	ClassTimeWait
	// ClassHandshake holds connections whose handshake is not complete (SYN sent
	// or SYN-ACK sent): the target of a SYN flood.
	ClassHandshake
	// ClassClosing holds connections in the middle of their close (FIN_WAIT_1,
	// CLOSING, LAST_ACK).
	ClassClosing
	// ClassEstablished holds connections that can carry data (ESTABLISHED,
	// CLOSE_WAIT, FIN_WAIT_2).
	ClassEstablished
	NumClasses
)

var classNames = [...]string{"closed", "time_wait", "handshake", "closing", "established"}

// String returns the class name.
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "Class(" + string(rune('0'+c)) + ")"
}

// Entry is one open connection in the table.
type Entry[V any] struct {
	Key      Key
	Value    V
	LastSeen int64 // capture time of the last segment, ns
	h        uint64
	stamp    uint64 // when it was last touched, in the table's own count
	class    Class
	shard    uint8
	ext      bool // the caller's memory (InsertEntry): never on the free list
	prev     *Entry[V]
	next     *Entry[V]
}

// Class returns the timeout class the entry is filed under.
func (e *Entry[V]) Class() Class { return e.class }

type list[V any] struct {
	head, tail *Entry[V]
	n          int
}

func (l *list[V]) pushBack(e *Entry[V]) {
	e.prev, e.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = e
	} else {
		l.head = e
	}
	l.tail = e
	l.n++
}

func (l *list[V]) remove(e *Entry[V]) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = nil, nil
	l.n--
}

// Table maps 4-tuples to open connections, expires them by capture time and
// keeps at most Max of them.
//
// The entries are split by key hash into shards (Shard), each with its own
// recency list per class and its own share of every cap: a caller that caps
// a class (the engine's --max-linger and --max-half-open) or the table
// (Full) decides within the shard of the connection at hand. So which
// connection a full table gives up depends only on the connections of that
// shard, and workers that each hold whole shards (the engine's Pipeline)
// make the same choices as one table: the report is the same for any number
// of workers. Expiry and All still see the table as one, least recently
// seen first within a class.
type Table[V any] struct {
	// Timeouts is the idle timeout of each class in nanoseconds of capture time.
	Timeouts [NumClasses]int64
	// Max caps the number of open connections (0 = no cap); each shard
	// holds at most ShardMax of them.
	Max int
	idx index[V]
	// shards[i].lists[c] is shard i's class c, least recently seen first.
	shards  []shard[V]
	classN  [NumClasses]int
	sharder Sharder
	stamp   uint64
	free    []*Entry[V]
}

type shard[V any] struct {
	lists [NumClasses]list[V]
	n     int
}

// MaxShards is the most shards a table is split into.
const MaxShards = 16

// NewTable returns an empty table of one shard.
func NewTable[V any](timeouts [NumClasses]int64, max int) *Table[V] {
	return NewShardedTable[V](timeouts, max, 1)
}

// NewShardedTable returns an empty table of n shards (a power of two, at
// most MaxShards; other values are rounded down into that range).
func NewShardedTable[V any](timeouts [NumClasses]int64, limit, n int) *Table[V] {
	sh := NewSharder(n)
	return &Table[V]{Timeouts: timeouts, Max: limit, shards: make([]shard[V], sh.N()), sharder: sh}
}

// Sharder maps key hashes to shards.
type Sharder struct{ shift uint }

// NewSharder returns the Sharder of n shards (a power of two, at most
// MaxShards; other values are rounded down into that range).
func NewSharder(n int) Sharder {
	n = min(max(n, 1), MaxShards)
	bits := uint(0)
	for 1<<(bits+1) <= n {
		bits++
	}
	return Sharder{shift: 64 - bits}
}

// N returns the number of shards.
func (s Sharder) N() int { return 1 << (64 - s.shift) }

// Of returns the shard of the key whose hash (Key.Hash) is h: the hash's top
// bits, which neither the index nor the engine's tombs use. (A shift by 64
// gives 0: one shard.)
func (s Sharder) Of(h uint64) int { return int(h >> s.shift) }

// Shards returns the number of shards.
func (t *Table[V]) Shards() int { return len(t.shards) }

// Shard returns the shard of the key whose hash is h.
func (t *Table[V]) Shard(h uint64) int { return t.sharder.Of(h) }

// ShardMax returns the share of a cap of max entries that each shard holds:
// max over the shards, rounded up.
func (t *Table[V]) ShardMax(limit int) int { return (limit + len(t.shards) - 1) / len(t.shards) }

// Len returns the number of open connections.
func (t *Table[V]) Len() int { return t.idx.n }

// ClassLen returns the number of entries filed under c.
func (t *Table[V]) ClassLen(c Class) int { return t.classN[c] }

// ShardClassLen returns the number of entries of shard sh filed under c.
func (t *Table[V]) ShardClassLen(sh int, c Class) int { return t.shards[sh].lists[c].n }

// Get returns the entry for k, or nil.
func (t *Table[V]) Get(k Key) *Entry[V] { return t.idx.get(&k, k.Hash()) }

// GetHashed is Get for a caller that has k.Hash() at hand. It takes the key
// by pointer: passed by value, the 64-byte key was copied twice on every
// lookup, in 16-byte loads that waited on the narrower stores that had just
// built it (store forwarding fails then), 0.046 CPU-s of two workers on the
// mix (docs/performance.md, session 28).
func (t *Table[V]) GetHashed(k *Key, h uint64) *Entry[V] { return t.idx.get(k, h) }

// Hash returns the entry's key hash (Key.Hash).
func (e *Entry[V]) Hash() uint64 { return e.h }

// Full reports whether inserting one more entry of hash h would exceed the
// share of Max of its shard.
func (t *Table[V]) Full(h uint64) bool {
	return t.Max > 0 && t.shards[t.Shard(h)].n >= t.ShardMax(t.Max)
}

// Insert adds a new entry for k (which must not be present) and returns it.
func (t *Table[V]) Insert(k Key, now int64, c Class) *Entry[V] {
	return t.InsertHashed(k, k.Hash(), now, c)
}

// InsertHashed is Insert for a caller that has k.Hash() at hand.
func (t *Table[V]) InsertHashed(k Key, h uint64, now int64, c Class) *Entry[V] {
	var e *Entry[V]
	if n := len(t.free); n > 0 {
		e = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		e = new(Entry[V])
	}
	t.insert(e, k, h, now, c)
	return e
}

// InsertEntry is InsertHashed into an entry of the caller's, e, which the
// table fills and files but never reuses: a caller can keep its entries
// inside the values they index (the engine's connection holds its own, so
// that a lookup reaches the connection's lines without first loading a
// pointer to them). e must not be in the table.
func (t *Table[V]) InsertEntry(e *Entry[V], k Key, h uint64, now int64, c Class) {
	t.insert(e, k, h, now, c)
	e.ext = true
}

func (t *Table[V]) insert(e *Entry[V], k Key, h uint64, now int64, c Class) {
	t.stamp++
	e.Key, e.LastSeen, e.class, e.h, e.stamp = k, now, c, h, t.stamp
	e.shard, e.ext = uint8(t.Shard(h)), false
	t.idx.insert(e)
	sh := &t.shards[e.shard]
	sh.lists[c].pushBack(e)
	sh.n++
	t.classN[c]++
}

// Touch records activity on e at now and files it under class c.
func (t *Table[V]) Touch(e *Entry[V], now int64, c Class) {
	if now > e.LastSeen {
		e.LastSeen = now
	}
	t.stamp++
	e.stamp = t.stamp
	sh := &t.shards[e.shard]
	if e.class == c && sh.lists[c].tail == e {
		return // already the most recent of its class (a burst of one connection)
	}
	sh.lists[e.class].remove(e)
	t.classN[e.class]--
	e.class = c
	sh.lists[c].pushBack(e)
	t.classN[c]++
}

// Replace puts e, an entry of the caller's that is not in the table, in
// old's place: the same key, class and time, the same place in the recency
// order and in the index, as if e had been inserted instead of old. old
// leaves the table and, like an entry given to InsertEntry, is not reused.
// The caller sets e.Value.
func (t *Table[V]) Replace(old, e *Entry[V]) {
	t.idx.replace(old, e)
	*e = *old
	e.ext = true
	l := &t.shards[e.shard].lists[e.class]
	if e.prev != nil {
		e.prev.next = e
	} else {
		l.head = e
	}
	if e.next != nil {
		e.next.prev = e
	} else {
		l.tail = e
	}
	var zero V
	old.prev, old.next, old.Value = nil, nil, zero
}

// Remove deletes e from the table. The entry may be reused by a later Insert,
// so the caller must not keep it.
func (t *Table[V]) Remove(e *Entry[V]) {
	t.idx.remove(e)
	sh := &t.shards[e.shard]
	sh.lists[e.class].remove(e)
	sh.n--
	t.classN[e.class]--
	var zero V
	e.Value = zero
	if !e.ext && len(t.free) < 1024 {
		t.free = append(t.free, e)
	}
}

// Oldest returns the entry to evict from shard sh when it is full: the least
// recently seen entry of its most expendable non-empty class.
func (t *Table[V]) Oldest(sh int) *Entry[V] {
	for c := range t.shards[sh].lists {
		if h := t.shards[sh].lists[c].head; h != nil {
			return h
		}
	}
	return nil
}

// OldestOf returns the least recently seen entry of class c in shard sh, or
// nil.
func (t *Table[V]) OldestOf(sh int, c Class) *Entry[V] { return t.shards[sh].lists[c].head }

// NextExpired returns an entry whose idle timeout has passed at now, or nil:
// class by class, the least recently seen of the whole table first. Callers
// loop on it, removing what it returns.
func (t *Table[V]) NextExpired(now int64) *Entry[V] {
	for c := range NumClasses {
		if t.classN[c] == 0 {
			continue
		}
		var best *Entry[V]
		for i := range t.shards {
			if h := t.shards[i].lists[c].head; h != nil && now-h.LastSeen > t.Timeouts[c] &&
				(best == nil || h.stamp < best.stamp) {
				best = h
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}

// All calls fn for every open entry, class by class, shard by shard, oldest
// first within each. fn must not change the table.
func (t *Table[V]) All(fn func(*Entry[V])) {
	for c := range NumClasses {
		for i := range t.shards {
			for e := t.shards[i].lists[c].head; e != nil; e = e.next {
				fn(e)
			}
		}
	}
}

// PrefetchSlot asks for the index slot where e sits, or where a search for
// it begins, without waiting for it: a caller that will Remove e after other
// work has the slot's line, nearly always a miss, come meanwhile.
func (t *Table[V]) PrefetchSlot(e *Entry[V]) { t.idx.prefetch(e.h) }
