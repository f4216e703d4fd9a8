package engine

// idMap maps the first frame of each open flow, which stands for the flow in
// a worker, to its flow id: open addressing with linear probing and
// backward-shift removal, in one array of pairs. The pipeline's merger
// looks a flow up at its creation, at its TIME_WAIT and at its end; as a Go
// map the lookups were 4 % of two workers' time on the mix, most of it in
// probing.
type idMap struct {
	slots []idSlot
	mask  uint64
	n     int
}

// idSlot is one place of an idMap: frame 0 marks it empty (frames count
// from 1).
type idSlot struct{ frame, id uint64 }

// minIDSlots is the smallest table an idMap makes.
const minIDSlots = 1024

func (m *idMap) slot(frame uint64) uint64 {
	return (frame * 0x9e3779b97f4a7c15 >> 32) & m.mask
}

// put maps frame (not 0, not present) to id.
func (m *idMap) put(frame, id uint64) {
	if 2*(m.n+1) > len(m.slots) {
		m.grow()
	}
	i := m.slot(frame)
	for m.slots[i].frame != 0 {
		i = (i + 1) & m.mask
	}
	m.slots[i] = idSlot{frame, id}
	m.n++
}

// get returns frame's id, 0 when it has none.
func (m *idMap) get(frame uint64) uint64 {
	if m.n == 0 {
		return 0
	}
	for i := m.slot(frame); ; i = (i + 1) & m.mask {
		switch m.slots[i].frame {
		case frame:
			return m.slots[i].id
		case 0:
			return 0
		}
	}
}

// take returns frame's id and removes it, 0 when it has none.
func (m *idMap) take(frame uint64) uint64 {
	if m.n == 0 {
		return 0
	}
	i := m.slot(frame)
	for m.slots[i].frame != frame {
		if m.slots[i].frame == 0 {
			return 0
		}
		i = (i + 1) & m.mask
	}
	id := m.slots[i].id
	m.n--
	// Shift back the entries after it that probed past i, so that no
	// lookup stops early at the hole.
	for j := (i + 1) & m.mask; m.slots[j].frame != 0; j = (j + 1) & m.mask {
		if home := m.slot(m.slots[j].frame); (j-home)&m.mask >= (j-i)&m.mask {
			m.slots[i] = m.slots[j]
			i = j
		}
	}
	m.slots[i] = idSlot{}
	return id
}

func (m *idMap) grow() {
	old := m.slots
	size := max(minIDSlots, 2*len(old))
	m.slots = make([]idSlot, size)
	m.mask = uint64(size - 1)
	m.n = 0
	for _, s := range old {
		if s.frame != 0 {
			m.put(s.frame, s.id)
		}
	}
}
