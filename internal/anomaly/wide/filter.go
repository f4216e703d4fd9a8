package wide

// keyFilter tells, for a table of live keys, when a key is surely not in it,
// without the table's lookup. A busy server's capture brings a new client
// with nearly every connection, so most lookups in the TIME_WAIT and scan
// tables are for keys they do not hold; in a Go map of thousands of keys
// each such lookup costs a cache miss, and the two were 5 % of a one-core
// profile of the mix (docs/performance.md, session 11). The filter counts
// the live keys per slot of a small array (a byte each, four slots per key
// of the table's cap, 64 KiB at the default), which mostly stays in the
// cache.
//
// Every key put in the table must be added once and removed once when it
// leaves. A count that reaches 255 stays there: its slot then always says
// "maybe", which costs a lookup, never a wrong answer.
type keyFilter struct {
	n    []uint8
	mask uint64
}

// newKeyFilter returns a filter for a table of at most maxKeys keys.
func newKeyFilter(maxKeys int) keyFilter {
	size := 1024
	for size < 4*maxKeys {
		size <<= 1
	}
	return keyFilter{n: make([]uint8, size), mask: uint64(size - 1)}
}

// slot takes the bits above those that pick a probation slot, so that keys
// that share a probation slot do not share a filter slot for that reason.
func (f *keyFilter) slot(h uint64) *uint8 { return &f.n[(h>>32)&f.mask] }

// add counts a key of hash h put in the table.
func (f *keyFilter) add(h uint64) {
	if p := f.slot(h); *p < 255 {
		*p++
	}
}

// remove uncounts a key of hash h taken out of the table.
func (f *keyFilter) remove(h uint64) {
	if p := f.slot(h); *p < 255 && *p > 0 {
		*p--
	}
}

// mayHold reports whether a key of hash h may be in the table; false means
// it is not.
func (f *keyFilter) mayHold(h uint64) bool { return *f.slot(h) != 0 }
