package report

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// This file encodes flows and anomalies as JSON by hand. A capture of a
// million connections writes a million flow records, and encoding/json's
// reflection and allocations were a fifth of the whole analysis (issue 5).
// The bytes are exactly those encoding/json writes for the same values, in
// compact and in indented form (TestFlowJSONMatchesEncodingJSON and the fuzz
// target check it), so the schema keeps a single definition: the struct tags.

// jsonWriter appends JSON to b, compact or indented like json.MarshalIndent
// with a prefix and two spaces.
type jsonWriter struct {
	b      []byte
	indent bool
	prefix string
	depth  int
	first  bool // no member written yet in the innermost object or array
	// norm writes nil lists of a flow as [] (normalizeFlow's effect).
	norm bool
	tc   timeCache
}

// tailCache remembers the JSON of the names that end a transition
// (event, direction and the four states), keyed by the identity of the six
// strings: the engine's names are constants, so a connection's transitions
// are mostly found here, and a miss only costs the encoding. Strings with the
// same bytes at other addresses are encoded again, never confused: the same
// address and length means the same bytes.
type tailCache [128][2]tailEntry

// tailMix are odd constants that mix the names' addresses into a set.
var tailMix = [6]uint64{0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9, 0x94d049bb133111eb, 0xd6e8feb86659fd93, 0xa0761d6478bd642f, 0xe7037ed1a0b428db}

type tailEntry struct {
	key [6]string
	b   []byte
}

// same reports whether s and k are the same string: the same bytes at the
// same address. Names at other addresses miss, and are encoded again.
func same(s, k string) bool {
	return len(s) == len(k) && unsafe.StringData(s) == unsafe.StringData(k)
}

// matches reports whether e holds the JSON of t's names.
func (e *tailEntry) matches(t *Transition) bool {
	k := &e.key
	return e.b != nil && same(t.Event, k[0]) && same(t.Dir, k[1]) && same(t.OrigFrom, k[2]) &&
		same(t.OrigTo, k[3]) && same(t.RespFrom, k[4]) && same(t.RespTo, k[5])
}

// addr is the address of s's bytes, as a number to hash.
func addr(s string) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.StringData(s)))) }

// entry returns the entry for t's names, and whether it holds their JSON; on
// a miss the caller fills it.
//
// All six names choose the set, of two entries: two common transitions that
// differ in one name (a FIN-ACK answering a FIN, from FIN_WAIT_1 or, after
// the ACK came alone, from FIN_WAIT_2) took turns in one slot when the set
// was chosen by three names, a miss in most of the mix's flows. A miss
// takes the second entry, so that the first one stays.
func (c *tailCache) entry(t *Transition) (*tailEntry, bool) {
	h := (addr(t.Event)*tailMix[0] ^ addr(t.Dir)*tailMix[1] ^ addr(t.OrigFrom)*tailMix[2]) +
		(addr(t.OrigTo)*tailMix[3] ^ addr(t.RespFrom)*tailMix[4] ^ addr(t.RespTo)*tailMix[5])
	set := &c[(h>>56)%uint64(len(c))] // the best-mixed bits
	if set[0].matches(t) {
		return &set[0], true
	}
	e := &set[1]
	if set[0].b == nil {
		e = &set[0]
	} else if e.matches(t) {
		return e, true
	}
	e.key = [6]string{t.Event, t.Dir, t.OrigFrom, t.OrigTo, t.RespFrom, t.RespTo}
	return e, false
}

// FlowEncoder writes flows as ndjson lines, the bytes AppendNDJSONFlow
// writes, faster: it remembers the dates and transition names it has
// written. It is not safe for concurrent use.
type FlowEncoder struct {
	tc        timeCache
	tails     tailCache // compact transitions' names
	elemTails tailCache // the same in WriteJSON's indented layout
}

// AppendNDJSON appends the {"type":"flow","flow":{...}} line of f.
func (e *FlowEncoder) AppendNDJSON(b []byte, f *Flow) ([]byte, error) {
	b = append(b, `{"type":"flow","flow":`...)
	start := len(b)
	b, err := appendFlow(b, f, compactLayout, true, &e.tc, &e.tails)
	if err != nil {
		return b[:start], err
	}
	return append(b, '}', '\n'), nil
}

// flowLayout holds what comes before each member of a flow record in one
// layout of the JSON, compact or indented (MarshalIndent's, with prefix).
type flowLayout struct {
	indent                               bool
	prefix                               string
	id, orig, resp, gen, mid, cs, hist   string
	os, rs, er, fp, lp, start, end, dur  string
	op, rp, osp, rsp, ob, rb, oib, rib   string
	mb, rtt, mss, ws, open, comma, close string // ints2: open, comma, close
	tr, trOpen, trSep, trTime            string
	trEnd                                string // after the last transition
}

// layoutFor builds the separators of a layout; depth 1 members are at
// prefix plus two spaces.
func layoutFor(indent bool, prefix string) *flowLayout {
	nl := func(depth int) string {
		if !indent {
			return ""
		}
		return "\n" + prefix + strings.Repeat("  ", depth)
	}
	sp := ""
	if indent {
		sp = " "
	}
	k := func(name string) string { return "," + nl(1) + `"` + name + `":` + sp }
	return &flowLayout{
		indent: indent,
		prefix: prefix,
		id:     "{" + nl(1) + `"id":` + sp,
		orig:   k("orig"), resp: k("resp"), gen: k("generation"), mid: k("midstream"),
		cs: k("conn_state"), hist: k("history"), os: k("orig_state"), rs: k("resp_state"),
		er: k("end_reason"), fp: k("first_packet"), lp: k("last_packet"),
		start: k("start") + `"`, end: k("end") + `"`, dur: k("duration_s"),
		op: k("orig_packets"), rp: k("resp_packets"), osp: k("orig_seq_packets"), rsp: k("resp_seq_packets"),
		ob: k("orig_bytes"), rb: k("resp_bytes"), oib: k("orig_ip_bytes"), rib: k("resp_ip_bytes"),
		mb: k("missed_bytes"), rtt: k("handshake_rtt_ms"),
		mss: k("mss"), ws: k("window_scale"),
		open: "[" + nl(2), comma: "," + nl(2), close: nl(1) + "]",
		tr:     k("transitions") + "[",
		trOpen: nl(2) + "{" + nl(3) + `"packet":` + sp,
		trSep:  ",",
		trTime: "," + nl(3) + `"time":` + sp + `"`,
		trEnd:  nl(1) + "]",
	}
}

var (
	compactLayout = layoutFor(false, "")
	// elemLayout is an element of WriteJSON's "flows" list.
	elemLayout = layoutFor(true, "    ")
)

// layoutOf returns the layout of a writer's flows.
func layoutOf(indent bool, prefix string) *flowLayout {
	switch {
	case !indent:
		return compactLayout
	case prefix == elemLayout.prefix:
		return elemLayout
	}
	return layoutFor(true, prefix)
}

// appendFlow appends f in layout l, the bytes encoding/json writes for it
// (with norm, nil lists as []), member by member with the separators as
// constants: a writer that kept the state of each key spent a third of the
// encoding on it. tails, when set, remembers the transitions' names.
func appendFlow(b []byte, f *Flow, l *flowLayout, norm bool, tc *timeCache, tails *tailCache) ([]byte, error) {
	str := appendJSONString
	u := func(b []byte, sep string, v uint64) []byte { return appendUint(append(b, sep...), v) }
	b = u(b, l.id, f.ID)
	b = str(append(b, l.orig...), f.Orig)
	b = str(append(b, l.resp...), f.Resp)
	b = appendInt(append(b, l.gen...), int64(f.Generation))
	b = append(b, l.mid...)
	if f.Midstream {
		b = append(b, "true"...)
	} else {
		b = append(b, "false"...)
	}
	b = str(append(b, l.cs...), f.ConnState)
	b = str(append(b, l.hist...), f.History)
	b = str(append(b, l.os...), f.OrigState)
	b = str(append(b, l.rs...), f.RespState)
	b = str(append(b, l.er...), f.EndReason)
	b = u(b, l.fp, f.FirstPacket)
	b = u(b, l.lp, f.LastPacket)
	b = append(tc.append(append(b, l.start...), f.Start), '"')
	b = append(tc.append(append(b, l.end...), f.End), '"')
	b = appendJSONFloat(append(b, l.dur...), f.DurationSec)
	b = u(b, l.op, f.OrigPackets)
	b = u(b, l.rp, f.RespPackets)
	b = u(b, l.osp, f.OrigSeqPackets)
	b = u(b, l.rsp, f.RespSeqPackets)
	b = u(b, l.ob, f.OrigBytes)
	b = u(b, l.rb, f.RespBytes)
	b = u(b, l.oib, f.OrigIPBytes)
	b = u(b, l.rib, f.RespIPBytes)
	b = u(b, l.mb, f.MissedBytes)
	b = append(b, l.rtt...)
	if f.HandshakeRTTMs == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONFloat(b, *f.HandshakeRTTMs)
	}
	for _, v := range [2]*[2]int{&f.MSS, &f.WindowScale} {
		if v == &f.MSS {
			b = append(b, l.mss...)
		} else {
			b = append(b, l.ws...)
		}
		b = appendInt(append(b, l.open...), int64(v[0]))
		b = append(appendInt(append(b, l.comma...), int64(v[1])), l.close...)
	}
	switch {
	case f.Transitions == nil && !norm:
		b = append(append(b, l.tr[:len(l.tr)-1]...), "null"...)
	case len(f.Transitions) == 0:
		b = append(append(b, l.tr...), ']')
	default:
		b = append(b, l.tr...)
		for i := range f.Transitions {
			t := &f.Transitions[i]
			if i > 0 {
				b = append(b, l.trSep...)
			}
			b = u(b, l.trOpen, t.Packet)
			b = append(tc.append(append(b, l.trTime...), t.Time), '"')
			// The rest depends only on the six names.
			var c *tailEntry
			hit := false
			if tails != nil {
				c, hit = tails.entry(t)
			}
			if hit {
				b = append(b, c.b...)
				continue
			}
			w := jsonWriter{b: b, indent: l.indent, prefix: l.prefix, depth: 3}
			start := len(b)
			w.transitionNames(t)
			b = w.b
			if c != nil {
				c.b = append(c.b[:0], b[start:]...)
			}
		}
		b = append(b, l.trEnd...)
	}
	// The rare members, and the anomalies with their free-form details, go
	// through the generic writer.
	w := jsonWriter{b: b, indent: l.indent, prefix: l.prefix, norm: norm, depth: 1, tc: *tc}
	if f.TransitionsDropped != 0 {
		w.key("transitions_dropped")
		w.int(int64(f.TransitionsDropped))
	}
	if len(f.Capped) > 0 {
		w.key("capped")
		list(&w, f.Capped, w.str)
	}
	w.key("anomalies")
	if err := w.anomalies(f.Anomalies); err != nil {
		return w.b, err
	}
	w.close('}')
	*tc = w.tc
	return w.b, nil
}

// AppendJSONElem appends f as an element of the "flows" list of WriteJSON's
// indented document (without the newline and indent before it), the bytes
// WriteJSONEncoded expects.
func (e *FlowEncoder) AppendJSONElem(b []byte, f *Flow) ([]byte, error) {
	return appendFlow(b, f, elemLayout, true, &e.tc, &e.elemTails)
}

// timeCache keeps the date and clock of the two latest seconds formatted:
// the times of one flow mostly share their second, or fall in two (a SYN
// and its retransmission a second later: with one second kept, the flows
// of a SYN flood formatted a date and clock for nearly every time).
type timeCache struct {
	e [2]clockEntry // the latest used first
}

type clockEntry struct {
	sec int64
	ok  bool
	b   [20]byte // "2006-01-02T15:04:05."
}

// append appends t in TimeLayout.
func (c *timeCache) append(b []byte, t Time) []byte {
	sec, nsec := splitTime(t)
	e := &c.e[0]
	switch {
	case e.ok && e.sec == sec:
	case c.e[1].ok && c.e[1].sec == sec:
		c.e[0], c.e[1] = c.e[1], c.e[0]
	default:
		c.e[1] = c.e[0]
		if _, ok := appendClock(e.b[:0], sec); !ok {
			e.ok = false
			return appendTime(b, t)
		}
		e.sec, e.ok = sec, true
	}
	return appendNanos(append(b, e.b[:]...), int(nsec))
}

// appendNanos appends nsec (0 ≤ nsec < 1e9) as nine digits and a 'Z', three
// digits at a time: a flow's record holds about ten times, and this is a
// third of appendDigits' work.
func appendNanos(b []byte, nsec int) []byte {
	u := uint32(nsec) % 1e9
	hi, mid, lo := &digitTriples[u/1e6], &digitTriples[u/1e3%1e3], &digitTriples[u%1e3]
	buf := [10]byte{hi[0], hi[1], hi[2], mid[0], mid[1], mid[2], lo[0], lo[1], lo[2], 'Z'}
	return append(b, buf[:]...)
}

// digitTriples holds "000" to "999".
var digitTriples = func() (t [1000][3]byte) {
	for i := range t {
		t[i] = [3]byte{byte('0' + i/100), byte('0' + i/10%10), byte('0' + i%10)}
	}
	return t
}()

func (w *jsonWriter) null() {
	if w.norm {
		w.b = append(w.b, '[', ']')
	} else {
		w.b = append(w.b, "null"...)
	}
}

func (w *jsonWriter) newline() {
	if !w.indent {
		return
	}
	w.b = append(w.b, '\n')
	w.b = append(w.b, w.prefix...)
	for range w.depth {
		w.b = append(w.b, ' ', ' ')
	}
}

// open starts an object or an array.
func (w *jsonWriter) open(c byte) {
	w.b = append(w.b, c)
	w.depth++
	w.first = true
}

// close ends the innermost object or array.
func (w *jsonWriter) close(c byte) {
	w.depth--
	if !w.first {
		w.newline()
	}
	w.b = append(w.b, c)
	w.first = false
}

// elem starts an array element.
func (w *jsonWriter) elem() {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.newline()
}

// key starts an object member; k needs no escaping.
func (w *jsonWriter) key(k string) {
	w.elem()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
	if w.indent {
		w.b = append(w.b, ' ')
	}
}

func (w *jsonWriter) uint(v uint64) { w.b = appendUint(w.b, v) }
func (w *jsonWriter) int(v int64)   { w.b = appendInt(w.b, v) }
func (w *jsonWriter) str(s string)  { w.b = appendJSONString(w.b, s) }
func (w *jsonWriter) time(t Time) {
	w.b = append(w.b, '"')
	w.b = w.tc.append(w.b, t)
	w.b = append(w.b, '"')
}

func (w *jsonWriter) uints(vs []uint64) { list(w, vs, w.uint) }

// list writes vs as an array, each element by put, or null for a nil slice.
func list[T any](w *jsonWriter, vs []T, put func(T)) {
	if vs == nil {
		w.null()
		return
	}
	w.open('[')
	for _, v := range vs {
		w.elem()
		put(v)
	}
	w.close(']')
}

// value writes v with encoding/json, re-indented to the current depth; it
// serves the free-form anomaly details.
func (w *jsonWriter) value(v any) error {
	var b []byte
	var err error
	if w.indent {
		pre := w.prefix
		for range w.depth {
			pre += "  "
		}
		b, err = json.MarshalIndent(v, pre, "  ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return err
	}
	w.b = append(w.b, b...)
	return nil
}

// flow writes f as encoding/json would, at depth 0.
func (w *jsonWriter) flow(f *Flow) error {
	var err error
	w.b, err = appendFlow(w.b, f, layoutOf(w.indent, w.prefix), w.norm, &w.tc, nil)
	w.first = false
	return err
}

// transitionNames writes the members of t after its time, and closes it.
func (w *jsonWriter) transitionNames(t *Transition) {
	w.key("event")
	w.str(t.Event)
	w.key("dir")
	w.str(t.Dir)
	w.key("orig_from")
	w.str(t.OrigFrom)
	w.key("orig_to")
	w.str(t.OrigTo)
	w.key("resp_from")
	w.str(t.RespFrom)
	w.key("resp_to")
	w.str(t.RespTo)
	w.close('}')
}

func (w *jsonWriter) anomalies(as []Anomaly) error {
	if as == nil {
		w.null()
		return nil
	}
	w.open('[')
	for i := range as {
		w.elem()
		if err := w.anomaly(&as[i]); err != nil {
			return err
		}
	}
	w.close(']')
	return nil
}

func (w *jsonWriter) anomaly(a *Anomaly) error {
	w.open('{')
	w.key("kind")
	w.str(a.Kind)
	w.key("severity")
	w.str(string(a.Severity))
	w.key("count")
	w.uint(a.Count)
	w.key("packets")
	w.uints(a.Packets)
	if len(a.Times) > 0 {
		w.key("times")
		list(w, a.Times, w.time)
	}
	w.key("message")
	w.str(a.Message)
	if len(a.Flows) > 0 {
		w.key("flows")
		w.uints(a.Flows)
	}
	if len(a.Details) > 0 {
		w.key("details")
		keys := make([]string, 0, len(a.Details))
		for k := range a.Details {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w.open('{')
		for _, k := range keys {
			w.elem()
			w.str(k)
			w.b = append(w.b, ':')
			if w.indent {
				w.b = append(w.b, ' ')
			}
			if err := w.value(a.Details[k]); err != nil {
				return err
			}
		}
		w.close('}')
	}
	w.close('}')
	return nil
}

// AppendFlowJSON appends f as compact JSON, the bytes json.Marshal gives.
func AppendFlowJSON(b []byte, f *Flow) ([]byte, error) {
	w := jsonWriter{b: b}
	err := w.flow(f)
	return w.b, err
}

// appendFlowJSONIndent appends f as json.MarshalIndent(f, prefix, "  ") gives.
func appendFlowJSONIndent(b []byte, f *Flow, prefix string) ([]byte, error) {
	w := jsonWriter{b: b, indent: true, prefix: prefix}
	err := w.flow(f)
	return w.b, err
}

// appendJSONFloat formats f as encoding/json does: the shortest decimal that
// reads back the same, in exponent form only for very small or large values.
func appendJSONFloat(b []byte, f float64) []byte {
	if b, ok := appendNanoDecimal(b, f); ok {
		return b
	}
	return appendJSONFloatShortest(b, f)
}

// appendNanoDecimal writes f, when it is a whole number of billionths n
// (float64(n)/1e9 is f) from 1e-6 to 1e6, as that decimal with its trailing
// zeros dropped. The report's floats are mostly such values (durations in
// seconds and RTTs in milliseconds, from nanoseconds), and for them this is
// the shortest decimal that reads back as f, which strconv spends a tenth
// of a flow's encoding to find: n has at most 15 significant digits, and
// two decimals of at most 15 digits are more than an ulp apart, so no other
// (shorter) one rounds to f. It reports false for other values.
func appendNanoDecimal(b []byte, f float64) ([]byte, bool) {
	if !(f >= 1e-6 && f < 1e6) {
		return b, false
	}
	n := int64(f*1e9 + 0.5)
	if float64(n)/1e9 != f {
		return b, false
	}
	b = strconv.AppendInt(b, n/1e9, 10)
	frac := int(n % 1e9)
	if frac == 0 {
		return b, true
	}
	width := 9
	for frac%10 == 0 {
		frac /= 10
		width--
	}
	return appendDigits(append(b, '.'), frac, width), true
}

// appendJSONFloatShortest is appendJSONFloat for any value, by strconv.
func appendJSONFloatShortest(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		// encoding/json refuses these; the report never holds them, and a
		// null keeps the document valid if it ever did.
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// jsonSafe tells the ASCII bytes that go into a JSON string as they are.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString quotes s as encoding/json does with HTML escaping on:
// <, > and & become \u003c, \u003e and \u0026, invalid UTF-8 becomes
// \ufffd, and U+2028 and U+2029 are escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	i := safePrefix8(s)
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// safePrefix8 returns a length, a multiple of 8, of a prefix of s whose bytes
// all go into a JSON string as they are, found eight bytes at a time: the
// strings of a flow record (endpoints, states, events) are plain ASCII, and
// this took a fifth of the cost of quoting them byte by byte.
func safePrefix8(s string) int {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	bs := unsafe.Slice(unsafe.StringData(s), len(s))
	i := 0
	for ; i+8 <= len(bs); i += 8 {
		x := binary.LittleEndian.Uint64(bs[i:])
		// A byte is unsafe when it is below 0x20, at or above 0x80, or one
		// of the five bytes encoding/json escapes; t gets a high bit set
		// wherever x has one (for those five, the "has a zero byte" test on
		// x^c). A borrow can flag a safe byte too, which only sends the
		// rest to the byte loop; a safe word never sets one.
		// (Go's - and | bind alike, left to right: each difference is
		// parenthesized.)
		t := (x - ones*0x20) | x |
			((x ^ ones*'"') - ones) | ((x ^ ones*'\\') - ones) |
			((x ^ ones*'<') - ones) | ((x ^ ones*'>') - ones) | ((x ^ ones*'&') - ones)
		if t&high != 0 {
			break
		}
	}
	return i
}

// appendTime appends t in TimeLayout (UTC, nine fractional digits) without
// going through time.Time.Format, which is several times slower.
func appendTime(b []byte, t Time) []byte {
	sec, nsec := splitTime(t)
	if p, ok := appendClock(b, sec); ok {
		return appendNanos(p, int(nsec))
	}
	return time.Unix(sec, nsec).UTC().AppendFormat(b, TimeLayout)
}

// splitTime splits t into seconds and nanoseconds, 0 ≤ nsec < 1e9.
func splitTime(t Time) (sec, nsec int64) {
	sec, nsec = int64(t)/1e9, int64(t)%1e9
	if nsec < 0 {
		sec--
		nsec += 1e9
	}
	return sec, nsec
}

// appendClock appends "2006-01-02T15:04:05." for second sec, if its year has
// four digits.
func appendClock(b []byte, sec int64) ([]byte, bool) {
	tt := time.Unix(sec, 0).UTC()
	year, month, day := tt.Date()
	if year < 0 || year > 9999 {
		return b, false
	}
	hour, min, s := tt.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, min, 2)
	b = append(b, ':')
	b = appendDigits(b, s, 2)
	return append(b, '.'), true
}

// appendDigits appends v (≥ 0) zero-padded to width digits.
func appendDigits(b []byte, v, width int) []byte {
	var buf [9]byte
	i := width
	for ; i >= 2; i -= 2 {
		d := v % 100
		v /= 100
		buf[i-2], buf[i-1] = digitPairs[2*d], digitPairs[2*d+1]
	}
	if i == 1 {
		buf[0] = byte('0' + v%10)
	}
	return append(b, buf[:width]...)
}

// appendUint appends v in decimal, as strconv.AppendUint(b, v, 10) does.
// It writes the digits in place, two a step, where strconv formats them
// into a buffer of its own and appends that (a call to memmove for a few
// bytes): a flow's line holds twenty to forty integers, and strconv was a
// third of the encoding of a SYN-flood flow's line.
func appendUint(b []byte, v uint64) []byte {
	// Small enough to inline: many of a flow's integers are single digits.
	if v < 10 {
		return append(b, byte('0'+v))
	}
	return appendUintLarge(b, v)
}

// appendUintLarge is appendUint for v ≥ 10.
func appendUintLarge(b []byte, v uint64) []byte {
	n := decimalLen(v)
	l := len(b)
	b = slices.Grow(b, n)[:l+n]
	i := l + n
	for v >= 100 {
		q := v / 100
		r := v - q*100
		i -= 2
		b[i], b[i+1] = digitPairs[2*r], digitPairs[2*r+1]
		v = q
	}
	if v >= 10 {
		b[i-2], b[i-1] = digitPairs[2*v], digitPairs[2*v+1]
	} else {
		b[i-1] = byte('0' + v)
	}
	return b
}

// appendInt appends v in decimal, as strconv.AppendInt(b, v, 10) does.
func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		// -v overflows for the smallest int64, but as a uint64 it is
		// still the right magnitude.
		return appendUint(append(b, '-'), uint64(-v))
	}
	return appendUint(b, uint64(v))
}

// decimalLen returns the number of decimal digits of v.
func decimalLen(v uint64) int {
	n := 1
	for v >= 10000 {
		v /= 10000
		n += 4
	}
	switch {
	case v >= 1000:
		return n + 3
	case v >= 100:
		return n + 2
	case v >= 10:
		return n + 1
	}
	return n
}

// digitPairs holds "00" to "99": appendDigits writes two digits a step.
var digitPairs = func() string {
	b := make([]byte, 0, 200)
	for i := range 100 {
		b = append(b, byte('0'+i/10), byte('0'+i%10))
	}
	return string(b)
}()
