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
	class    Class
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
type Table[V any] struct {
	// Timeouts is the idle timeout of each class in nanoseconds of capture time.
	Timeouts [NumClasses]int64
	// Max caps the number of open connections (0 = no cap).
	Max   int
	idx   index[V]
	lists [NumClasses]list[V]
	free  []*Entry[V]
}

// NewTable returns an empty table.
func NewTable[V any](timeouts [NumClasses]int64, max int) *Table[V] {
	return &Table[V]{Timeouts: timeouts, Max: max}
}

// Len returns the number of open connections.
func (t *Table[V]) Len() int { return t.idx.n }

// ClassLen returns the number of entries filed under c.
func (t *Table[V]) ClassLen(c Class) int { return t.lists[c].n }

// Get returns the entry for k, or nil.
func (t *Table[V]) Get(k Key) *Entry[V] { return t.idx.get(k, k.Hash()) }

// GetHashed is Get for a caller that has k.Hash() at hand.
func (t *Table[V]) GetHashed(k Key, h uint64) *Entry[V] { return t.idx.get(k, h) }

// Hash returns the entry's key hash (Key.Hash).
func (e *Entry[V]) Hash() uint64 { return e.h }

// Full reports whether inserting one more entry would exceed Max.
func (t *Table[V]) Full() bool { return t.Max > 0 && t.idx.n >= t.Max }

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
	e.Key, e.LastSeen, e.class, e.h = k, now, c, h
	t.idx.insert(e)
	t.lists[c].pushBack(e)
	return e
}

// Touch records activity on e at now and files it under class c.
func (t *Table[V]) Touch(e *Entry[V], now int64, c Class) {
	if now > e.LastSeen {
		e.LastSeen = now
	}
	if e.class == c && t.lists[c].tail == e {
		return // already the most recent of its class (a burst of one connection)
	}
	t.lists[e.class].remove(e)
	e.class = c
	t.lists[c].pushBack(e)
}

// Remove deletes e from the table. The entry may be reused by a later Insert,
// so the caller must not keep it.
func (t *Table[V]) Remove(e *Entry[V]) {
	t.idx.remove(e)
	t.lists[e.class].remove(e)
	var zero V
	e.Value = zero
	if len(t.free) < 1024 {
		t.free = append(t.free, e)
	}
}

// Oldest returns the entry to evict when the table is full: the least recently
// seen entry of the most expendable non-empty class.
func (t *Table[V]) Oldest() *Entry[V] {
	for c := range t.lists {
		if h := t.lists[c].head; h != nil {
			return h
		}
	}
	return nil
}

// OldestOf returns the least recently seen entry of class c, or nil.
func (t *Table[V]) OldestOf(c Class) *Entry[V] { return t.lists[c].head }

// NextExpired returns an entry whose idle timeout has passed at now, or nil.
// Callers loop on it, removing what it returns.
func (t *Table[V]) NextExpired(now int64) *Entry[V] {
	for c := range t.lists {
		if h := t.lists[c].head; h != nil && now-h.LastSeen > t.Timeouts[c] {
			return h
		}
	}
	return nil
}

// All calls fn for every open entry, oldest first within each class. fn must not
// change the table.
func (t *Table[V]) All(fn func(*Entry[V])) {
	for c := range t.lists {
		for e := t.lists[c].head; e != nil; e = e.next {
			fn(e)
		}
	}
}
