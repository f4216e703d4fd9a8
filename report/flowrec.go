package report

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
)

// flowRecVersion starts every record of AppendFlowRecord.
const flowRecVersion = 1

// The bits of a record's flags byte.
const (
	recMidstream = 1 << iota
	recRTT
	recTransitions // Transitions is not nil
	recAnomalies   // Anomalies is not nil
)

// The bits of an anomaly's flags byte.
const (
	recPackets = 1 << iota // Packets is not nil
)

// AppendFlowRecord appends f to b in a compact binary form that
// DecodeFlowRecord reads back into a flow with the same JSON: numbers as
// varints, the names of the transitions through a table of the record's own.
// It is what the JSON document's spool keeps of each flow until the flows
// are written in id order: a seventh of the bytes of the flow's indented JSON
// on the mix, and fresh page-cache pages are costly on some virtual machines
// (docs/performance.md, session 9). Anomaly details are kept as their JSON.
func AppendFlowRecord(b []byte, f *Flow) ([]byte, error) {
	b = append(b, flowRecVersion)
	b = binary.AppendUvarint(b, f.ID)
	for _, s := range [...]string{f.Orig, f.Resp, f.ConnState, f.History, f.OrigState, f.RespState, f.EndReason} {
		b = appendRecString(b, s)
	}
	b = binary.AppendVarint(b, int64(f.Generation))
	var flags byte
	if f.Midstream {
		flags |= recMidstream
	}
	if f.HandshakeRTTMs != nil {
		flags |= recRTT
	}
	if f.Transitions != nil {
		flags |= recTransitions
	}
	if f.Anomalies != nil {
		flags |= recAnomalies
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, f.FirstPacket)
	b = binary.AppendUvarint(b, f.LastPacket)
	b = binary.AppendVarint(b, int64(f.Start))
	b = binary.AppendVarint(b, int64(f.End))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f.DurationSec))
	for _, v := range [...]uint64{f.OrigPackets, f.RespPackets, f.OrigSeqPackets, f.RespSeqPackets,
		f.OrigBytes, f.RespBytes, f.OrigIPBytes, f.RespIPBytes, f.MissedBytes} {
		b = binary.AppendUvarint(b, v)
	}
	if f.HandshakeRTTMs != nil {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(*f.HandshakeRTTMs))
	}
	for _, v := range [...]int{f.MSS[0], f.MSS[1], f.WindowScale[0], f.WindowScale[1], f.TransitionsDropped} {
		b = binary.AppendVarint(b, int64(v))
	}
	b = binary.AppendUvarint(b, uint64(len(f.Capped)))
	for _, s := range f.Capped {
		b = appendRecString(b, s)
	}
	b = appendTransitions(b, f.Transitions)
	b = binary.AppendUvarint(b, uint64(len(f.Anomalies)))
	for i := range f.Anomalies {
		var err error
		if b, err = appendRecAnomaly(b, &f.Anomalies[i]); err != nil {
			return b, err
		}
	}
	return b, nil
}

func appendRecString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// appendTransitions writes the record's table of the distinct names its
// transitions use (a dozen or so), then each transition with its names as
// indexes into it. Past maxRecNames distinct names the rest are written in
// full, behind an index of maxRecNames.
// nameSlot picks a transition name's place in appendTransitions' table of
// names seen, by the address and length of its bytes.
func nameSlot(s string) int {
	return int((addr(s)>>3 ^ uint64(len(s))*0x9e37) % 64)
}

func appendTransitions(b []byte, ts []Transition) []byte {
	b = binary.AppendUvarint(b, uint64(len(ts)))
	if len(ts) == 0 {
		return b
	}
	var names [maxRecNames]string
	n := 0
	// seen finds a name again by the address of its bytes: the engine's
	// names are constants, so the same name is nearly always the same
	// address, and the search of the table for each of a transition's six
	// names was a third of writing a record.
	var seen [64]uint8 // 1 + the name's index, by nameSlot
	index := func(s string) int {
		h := nameSlot(s)
		if j := seen[h]; j != 0 {
			if same(names[j-1], s) {
				return int(j - 1)
			}
		}
		for i := range n {
			if names[i] == s {
				seen[h] = uint8(i + 1)
				return i
			}
		}
		if n < maxRecNames {
			names[n] = s
			seen[h] = uint8(n + 1)
			n++
			return n - 1
		}
		return maxRecNames
	}
	// The indexes found in the first pass serve the second (most
	// timelines are short; a longer one looks its names up again).
	var found [6 * 16]uint8
	for i := range ts {
		t := &ts[i]
		for j, s := range [...]string{t.Event, t.Dir, t.OrigFrom, t.OrigTo, t.RespFrom, t.RespTo} {
			if k := index(s); 6*i+j < len(found) {
				found[6*i+j] = uint8(k)
			}
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	for _, name := range names[:n] {
		b = appendRecString(b, name)
	}
	for i := range ts {
		t := &ts[i]
		b = binary.AppendUvarint(b, t.Packet)
		b = binary.AppendVarint(b, int64(t.Time))
		for j, s := range [...]string{t.Event, t.Dir, t.OrigFrom, t.OrigTo, t.RespFrom, t.RespTo} {
			var k int
			if 6*i+j < len(found) {
				k = int(found[6*i+j])
			} else {
				k = index(s)
			}
			b = append(b, byte(k)) // k ≤ maxRecNames < 0x80: a one-byte varint
			if k == maxRecNames {
				b = appendRecString(b, s)
			}
		}
	}
	return b
}

// maxRecNames bounds a record's table of transition names.
const maxRecNames = 32

func appendRecAnomaly(b []byte, a *Anomaly) ([]byte, error) {
	b = appendRecString(b, a.Kind)
	b = appendRecString(b, string(a.Severity))
	b = binary.AppendUvarint(b, a.Count)
	var flags byte
	if a.Packets != nil {
		flags |= recPackets
	}
	b = append(b, flags)
	for _, vs := range [...][]uint64{a.Packets, a.Flows} {
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = binary.AppendUvarint(b, v)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(a.Times)))
	for _, t := range a.Times {
		b = binary.AppendVarint(b, int64(t))
	}
	b = appendRecString(b, a.Message)
	keys := make([]string, 0, len(a.Details))
	for k := range a.Details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		v, err := json.Marshal(a.Details[k])
		if err != nil {
			return b, fmt.Errorf("flow record: anomaly %s detail %q: %w", a.Kind, k, err)
		}
		b = appendRecString(b, k)
		b = appendRecString(b, string(v))
	}
	return b, nil
}

// errBadRecord is the error of a record that DecodeFlowRecord cannot read.
var errBadRecord = errors.New("flow record: corrupt or truncated")

// recReader reads a record; the first failure sticks in err.
type recReader struct {
	b      []byte
	err    error
	strs   map[string]string // strings read before, handed out again (see str)
	strCap int
	recent *[recentStrs]string // the table's strings read lately, by strSlot
}

// recentStrs is the size of a decoder's cache of recurring strings.
const recentStrs = 256

// strSlot picks b's place in the cache of recent strings.
func strSlot(b []byte) int {
	n := uint(len(b))
	return int((n*0x9e3779b1 ^ uint(b[0])<<5 ^ uint(b[n/2])<<2 ^ uint(b[n-1])) % recentStrs)
}

func (r *recReader) fail() {
	if r.err == nil {
		r.err = errBadRecord
	}
	r.b = nil
}

func (r *recReader) uvarint() uint64 {
	// One byte, inline: most of a record's numbers are name indexes and
	// small counts, and the call was a fifth of reading a record back.
	if b := r.b; len(b) > 0 && b[0] < 0x80 {
		r.b = b[1:]
		return uint64(b[0])
	}
	return r.uvarintLong()
}

// uvarintLong is uvarint for a number of more than one byte.
func (r *recReader) uvarintLong() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recReader) byte1() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *recReader) float() float64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

// count reads a list length, bounded by the bytes left (every element takes
// at least one), so that a corrupt record cannot make a huge allocation.
func (r *recReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return 0
	}
	return int(n)
}

// str reads a string. Most of a record's strings (states, events, a
// server's endpoint) recur from flow to flow: a reader with a string table
// gives out the one it made before instead of a new one, up to a bound.
// The strings found in the table are also kept in a small cache looked up
// by a few of their bytes: the table's lookups, a dozen a flow, were a
// third of reading a record back. A string seen once (an originator's
// endpoint) never enters the cache, so it cannot push a recurring one out.
func (r *recReader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	b := r.b[:n]
	r.b = r.b[n:]
	if r.strs == nil {
		return string(b)
	}
	var slot *string
	if r.recent != nil && n > 0 {
		slot = &r.recent[strSlot(b)]
		if s := *slot; s == string(b) {
			return s
		}
	}
	if s, ok := r.strs[string(b)]; ok {
		if slot != nil {
			*slot = s
		}
		return s
	}
	s := string(b)
	if len(r.strs) < r.strCap {
		r.strs[s] = s
	}
	return s
}

// DecodeFlowRecord reads a record of AppendFlowRecord into f, reusing the
// capacity of its lists. An anomaly's details come back as json.RawMessage
// values, which encode to the same JSON.
func DecodeFlowRecord(b []byte, f *Flow) error {
	var d FlowRecordDecoder
	return d.Decode(b, f)
}

// FlowRecordDecoder is DecodeFlowRecord for many records: the strings that
// recur from record to record are made once (up to 4096 of them).
type FlowRecordDecoder struct {
	strs   map[string]string
	recent [recentStrs]string
}

// Decode is DecodeFlowRecord.
func (d *FlowRecordDecoder) Decode(b []byte, f *Flow) error {
	if d.strs == nil {
		d.strs = make(map[string]string)
	}
	r := recReader{b: b, strs: d.strs, strCap: 4096, recent: &d.recent}
	if r.byte1() != flowRecVersion {
		return errBadRecord
	}
	ts, as := f.Transitions[:0], f.Anomalies[:0]
	*f = Flow{ID: r.uvarint()}
	for _, s := range [...]*string{&f.Orig, &f.Resp, &f.ConnState, &f.History, &f.OrigState, &f.RespState, &f.EndReason} {
		*s = r.str()
	}
	f.Generation = int(r.varint())
	flags := r.byte1()
	f.Midstream = flags&recMidstream != 0
	f.FirstPacket, f.LastPacket = r.uvarint(), r.uvarint()
	f.Start, f.End = Time(r.varint()), Time(r.varint())
	f.DurationSec = r.float()
	for _, v := range [...]*uint64{&f.OrigPackets, &f.RespPackets, &f.OrigSeqPackets, &f.RespSeqPackets,
		&f.OrigBytes, &f.RespBytes, &f.OrigIPBytes, &f.RespIPBytes, &f.MissedBytes} {
		*v = r.uvarint()
	}
	if flags&recRTT != 0 {
		rtt := r.float()
		f.HandshakeRTTMs = &rtt
	}
	for _, v := range [...]*int{&f.MSS[0], &f.MSS[1], &f.WindowScale[0], &f.WindowScale[1], &f.TransitionsDropped} {
		*v = int(r.varint())
	}
	if n := r.count(); n > 0 {
		f.Capped = make([]string, n)
		for i := range f.Capped {
			f.Capped[i] = r.str()
		}
	}
	f.Transitions = r.transitions(ts)
	for range r.count() {
		as = append(as, r.anomaly())
	}
	f.Anomalies = as
	// A nil list (null in the JSON) is kept apart from an empty one.
	f.Transitions = nilOrNot(&r, f.Transitions, flags&recTransitions != 0)
	f.Anomalies = nilOrNot(&r, f.Anomalies, flags&recAnomalies != 0)
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	return r.err
}

// nilOrNot returns l as the record said it was: nil (it must be empty) or
// not (an empty one then).
func nilOrNot[T any](r *recReader, l []T, notNil bool) []T {
	switch {
	case !notNil && len(l) > 0:
		r.fail()
		return nil
	case !notNil:
		return nil
	case l == nil:
		return []T{}
	}
	return l
}

func (r *recReader) transitions(ts []Transition) []Transition {
	n := r.count()
	if n == 0 {
		return ts
	}
	var table [maxRecNames]string
	k := r.count()
	if k > maxRecNames {
		r.fail()
		return ts
	}
	names := table[:k]
	for i := range names {
		names[i] = r.str()
	}
	name := func() string {
		i := r.uvarint()
		switch {
		case i == maxRecNames:
			return r.str()
		case i >= uint64(len(names)):
			r.fail()
			return ""
		}
		return names[i]
	}
	for range n {
		t := Transition{Packet: r.uvarint(), Time: Time(r.varint())}
		t.Event, t.Dir, t.OrigFrom, t.OrigTo, t.RespFrom, t.RespTo = name(), name(), name(), name(), name(), name()
		if r.err != nil {
			return ts
		}
		ts = append(ts, t)
	}
	return ts
}

func (r *recReader) anomaly() Anomaly {
	a := Anomaly{Kind: r.str(), Severity: Severity(r.str()), Count: r.uvarint()}
	flags := r.byte1()
	lists := [...]*[]uint64{&a.Packets, &a.Flows}
	for i, l := range lists {
		n := r.count()
		if n > 0 || (i == 0 && flags&recPackets != 0) {
			*l = make([]uint64, n)
		}
		for j := range n {
			(*l)[j] = r.uvarint()
		}
	}
	if n := r.count(); n > 0 {
		a.Times = make([]Time, n)
		for i := range a.Times {
			a.Times[i] = Time(r.varint())
		}
	}
	a.Message = r.str()
	if n := r.count(); n > 0 {
		a.Details = make(map[string]any, n)
		for range n {
			k, v := r.str(), r.str()
			if r.err == nil && !json.Valid([]byte(v)) {
				r.fail()
			}
			a.Details[k] = json.RawMessage(v)
		}
	}
	return a
}
