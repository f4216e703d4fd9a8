package report

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// encodingJSONFlow is the reference: what encoding/json writes for f.
func encodingJSONFlow(t testing.TB, f *Flow, indent bool) []byte {
	t.Helper()
	var b []byte
	var err error
	if indent {
		b, err = json.MarshalIndent(f, "    ", "  ")
	} else {
		b, err = json.Marshal(f)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkFlowJSON(t testing.TB, f *Flow) {
	t.Helper()
	got, err := AppendFlowJSON(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	if want := encodingJSONFlow(t, f, false); !bytes.Equal(got, want) {
		t.Fatalf("compact:\n got %s\nwant %s", got, want)
	}
	// The encoder, from its caches of dates and names, gives the same bytes.
	var enc FlowEncoder
	for range 2 { // the second time from its caches
		line, err := enc.AppendNDJSON(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := AppendNDJSONFlow(nil, f); !bytes.Equal(line, want) {
			t.Fatalf("FlowEncoder:\n got %s\nwant %s", line, want)
		}
		elem, err := enc.AppendJSONElem(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		w := jsonWriter{indent: true, prefix: "    ", norm: true}
		if err := w.flow(f); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(elem, w.b) {
			t.Fatalf("FlowEncoder element:\n got %s\nwant %s", elem, w.b)
		}
	}
	got, err = appendFlowJSONIndent(nil, f, "    ")
	if err != nil {
		t.Fatal(err)
	}
	if want := encodingJSONFlow(t, f, true); !bytes.Equal(got, want) {
		t.Fatalf("indented:\n got %s\nwant %s", got, want)
	}
}

func TestFlowJSONMatchesEncodingJSON(t *testing.T) {
	rtt, tiny, huge := 0.125, 3e-9, 2.5e22
	tests := []struct {
		name string
		f    Flow
	}{
		{"zero", Flow{}},
		{"sample flow", sample().Flows[0]},
		{"ipv6 midstream", sample().Flows[1]},
		{"every field", Flow{ID: 7, Orig: "10.0.0.1:1", Resp: "10.0.0.2:2", Generation: 3, Midstream: true,
			ConnState: "RSTO", History: "ShADadR", OrigState: "CLOSED", RespState: "LISTEN", EndReason: "reset",
			FirstPacket: 1, LastPacket: math.MaxUint64, Start: -1, End: Time(math.MaxInt64), DurationSec: 1e-7,
			OrigPackets: 1, RespPackets: 2, OrigSeqPackets: 3, RespSeqPackets: 4, OrigBytes: 5, RespBytes: 6,
			OrigIPBytes: 7, RespIPBytes: 8, MissedBytes: 9, HandshakeRTTMs: &rtt, MSS: [2]int{1460, -1},
			WindowScale: [2]int{7, 0}, TransitionsDropped: 4, Capped: []string{"holes", "timeline"},
			Transitions: []Transition{{Packet: 1, Time: 1_700_000_000_123_456_789, Event: "syn", Dir: "orig",
				OrigFrom: "CLOSED", OrigTo: "SYN_SENT", RespFrom: "LISTEN", RespTo: "LISTEN"}, {}},
			Anomalies: []Anomaly{
				{Kind: "reset", Severity: SeverityError, Count: 2, Packets: []uint64{3, 4},
					Times: []Time{5, 6}, Message: "a <b> & \"c\"\n\t\\ \x01 \u2028 é \xff", Flows: []uint64{1},
					Details: map[string]any{"z": 1.5, "a": []int{1, 2}, "m": map[string]int{"x": 1}, "s": "<"}},
				{Kind: "k", Packets: []uint64{}},
			}}},
		{"empty lists", Flow{Transitions: []Transition{}, Anomalies: []Anomaly{}, Capped: []string{}}},
		{"float forms", Flow{DurationSec: tiny, HandshakeRTTMs: &huge}},
		{"large float", Flow{DurationSec: 123456789.000001}},
		{"negative zero", Flow{DurationSec: math.Copysign(0, -1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkFlowJSON(t, &tc.f) })
	}
}

func TestAppendTime(t *testing.T) {
	for _, v := range []Time{0, 1, -1, 999_999_999, -1_000_000_000, 1_700_000_000_123_456_789,
		253402300799_999_999_999 / 1000, math.MaxInt64, math.MinInt64} {
		want, _ := json.Marshal(time.Unix(0, int64(v)).UTC().Format(TimeLayout))
		got := []byte(`"` + v.String() + `"`)
		if !bytes.Equal(got, want) {
			t.Errorf("Time(%d) = %s, want %s", int64(v), got, want)
		}
	}
}

func FuzzFlowJSON(f *testing.F) {
	f.Add("10.0.0.1:80", "ShAD", 1.5, int64(1_700_000_000_000_000_000), uint64(3))
	f.Add("<&>\u2028\xff\"\\", "", 1e-9, int64(-5), uint64(0))
	f.Fuzz(func(t *testing.T, s, h string, d float64, ts int64, n uint64) {
		if math.IsInf(d, 0) || math.IsNaN(d) {
			return
		}
		fl := Flow{ID: n, Orig: s, History: h, DurationSec: d, Start: Time(ts), HandshakeRTTMs: &d,
			Transitions: []Transition{{Time: Time(ts), Event: s}},
			Anomalies:   []Anomaly{{Kind: h, Message: s, Packets: []uint64{n}, Times: []Time{Time(ts)}}}}
		checkFlowJSON(t, &fl)
	})
}

func TestTimeCache(t *testing.T) {
	var c timeCache
	for _, v := range []Time{1_700_000_000_123_456_789, 1_700_000_000_999_999_999, 1_700_000_001_000_000_001,
		-1, -1_000_000_001, 0, 1_700_000_001_000_000_002, math.MaxInt64, math.MinInt64, 5,
		// Two seconds in turn, then a third: each from its entry.
		1_700_000_000_000_000_007, 1_700_000_001_000_000_008, 1_700_000_000_000_000_009, 1_700_000_001_000_000_010,
		1_700_000_002_000_000_011, 1_700_000_000_000_000_012, 1_700_000_002_000_000_013} {
		if got, want := string(c.append(nil, v)), v.String(); got != want {
			t.Errorf("cached %d = %s, want %s", int64(v), got, want)
		}
	}
}

// typicalFlow is a clean connection as the engine reports it: eight
// transitions, no findings.
func typicalFlow() *Flow {
	f := sample().Flows[0]
	steps := [][6]string{
		{"SYN", "orig", "CLOSED", "SYN_SENT", "LISTEN", "SYN_RECEIVED"},
		{"SYN+ACK", "resp", "SYN_SENT", "ESTABLISHED", "SYN_RECEIVED", "SYN_RECEIVED"},
		{"ACK", "orig", "ESTABLISHED", "ESTABLISHED", "SYN_RECEIVED", "ESTABLISHED"},
		{"FIN", "orig", "ESTABLISHED", "FIN_WAIT_1", "ESTABLISHED", "CLOSE_WAIT"},
		{"ACK", "resp", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSE_WAIT"},
		{"FIN", "resp", "FIN_WAIT_2", "TIME_WAIT", "CLOSE_WAIT", "LAST_ACK"},
		{"ACK", "orig", "TIME_WAIT", "TIME_WAIT", "LAST_ACK", "CLOSED"},
		{"timer", "orig", "TIME_WAIT", "CLOSED", "CLOSED", "CLOSED"},
	}
	for i, s := range steps {
		f.Transitions = append(f.Transitions, Transition{Packet: uint64(i + 1), Time: f.Start + Time(i)*1000,
			Event: s[0], Dir: s[1], OrigFrom: s[2], OrigTo: s[3], RespFrom: s[4], RespTo: s[5]})
	}
	f.Anomalies = nil
	return &f
}

func BenchmarkAppendNDJSONFlow(b *testing.B) {
	f := typicalFlow()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendNDJSONFlow(buf[:0], f)
	}
	b.SetBytes(int64(len(buf)))
}

// TestFlowEncoderMatches: the caching encoder writes what AppendNDJSONFlow
// writes, flow after flow, with names at other addresses (built at run time)
// and with empty ones.
func TestFlowEncoderMatches(t *testing.T) {
	var enc FlowEncoder
	built := typicalFlow()
	for i := range built.Transitions {
		tr := &built.Transitions[i]
		tr.Event = strings.Clone(tr.Event)
		tr.OrigTo = strings.ToUpper(strings.ToLower(tr.OrigTo)) + ""
	}
	odd := typicalFlow()
	odd.Transitions[2].Event, odd.Transitions[3].Dir = "", "<&>"
	flows := []*Flow{typicalFlow(), typicalFlow(), built, odd, typicalFlow(), &sample().Flows[1], built, odd}
	var got []byte
	for i, f := range flows {
		want, err := AppendNDJSONFlow(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		got, err = enc.AppendNDJSON(got[:0], f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("flow %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func BenchmarkFlowEncoder(b *testing.B) {
	f := typicalFlow()
	var enc FlowEncoder
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = enc.AppendNDJSON(buf[:0], f)
	}
	b.SetBytes(int64(len(buf)))
}

// TestNanoDecimalIsTheShortest: for every value the fast path takes, its
// decimal is the one strconv's shortest formatting gives (and encoding/json
// writes); values it declines go to strconv. Durations in seconds and RTTs
// in milliseconds from nanoseconds, across every magnitude, edges of the
// range, and doubles that are no whole number of billionths.
func TestNanoDecimalIsTheShortest(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var vals []float64
	for _, n := range []int64{0, 1, 999, 1000, 1001, 1e9, 1e9 + 1, 1e15 - 1, 1e15, 1e15 + 1, 1 << 53, 123456789012345} {
		vals = append(vals, float64(n)/1e9, float64(n)/1e6, float64(n))
	}
	for range 200_000 {
		n := r.Int64N(int64(1) << r.IntN(54)) // every magnitude
		vals = append(vals, float64(n)/1e9, float64(n)/1e6, float64(n)/1e3)
	}
	for range 20_000 {
		vals = append(vals, r.Float64()*math.Pow(10, float64(r.IntN(14)-7)), -r.Float64())
	}
	fast := 0
	for _, f := range vals {
		want := string(appendJSONFloatShortest(nil, f))
		if got := string(appendJSONFloat(nil, f)); got != want {
			t.Fatalf("%v (%b): %s, want %s", f, math.Float64bits(f), got, want)
		}
		if _, ok := appendNanoDecimal(nil, f); ok {
			fast++
		}
	}
	if fast < len(vals)/2 {
		t.Errorf("the fast path took %d of %d values", fast, len(vals))
	}
	for _, f := range vals[:1000] {
		j, _ := json.Marshal(f)
		if got := string(appendJSONFloat(nil, f)); got != string(j) {
			t.Fatalf("%v: %s, encoding/json %s", f, got, j)
		}
	}
}

func BenchmarkJSONFloat(b *testing.B) {
	vals := []float64{0.011025, 1.234567891, 42.5, 0.000123, 3.141592653589793}
	var buf []byte
	for b.Loop() {
		for _, f := range vals {
			buf = appendJSONFloat(buf[:0], f)
		}
	}
}

// TestAppendJSONStringEveryByte puts each byte value, and each rune encoding/json
// escapes, at each position of strings of 1 to 24 bytes (the word-at-a-time scan
// checks 8 bytes at once) and compares the quoting with encoding/json's.
func TestAppendJSONStringEveryByte(t *testing.T) {
	specials := []string{"\u2028", "\u2029", "é", "\xff", "\xe2\x80"}
	for n := 1; n <= 24; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256+len(specials); c++ {
				ins := string([]byte{byte(c)})
				if c >= 256 {
					ins = specials[c-256]
				}
				s := strings.Repeat("a", pos) + ins + strings.Repeat("b", n-pos-1)
				want, _ := json.Marshal(s)
				if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
					t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
				}
			}
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("10.0.0.1:80")
	f.Add("<&>\u2028\xff\"\\ TIME_WAIT")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

// TestAppendIntMatchesStrconv: appendUint and appendInt write what strconv
// writes, for every power of ten and its neighbours, the ends of the ranges,
// and random values of every magnitude, after bytes already in the buffer.
func TestAppendIntMatchesStrconv(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	us := []uint64{0, 1, 9, 10, 11, 99, 100, math.MaxUint32, math.MaxUint64, math.MaxUint64 - 1}
	for p := uint64(1); p <= 1e19; p *= 10 {
		us = append(us, p-1, p, p+1)
		if p == 1e19 {
			break
		}
	}
	for range 100_000 {
		us = append(us, r.Uint64()>>r.IntN(64))
	}
	for _, v := range us {
		if got, want := string(appendUint([]byte("x"), v)), "x"+strconv.FormatUint(v, 10); got != want {
			t.Fatalf("appendUint(%d) = %s, want %s", v, got, want)
		}
		for _, i := range []int64{int64(v), -int64(v)} {
			if got, want := string(appendInt([]byte("ab"), i)), "ab"+strconv.FormatInt(i, 10); got != want {
				t.Fatalf("appendInt(%d) = %s, want %s", i, got, want)
			}
		}
	}
	for _, i := range []int64{math.MinInt64, math.MinInt64 + 1, math.MaxInt64, -1, -10, -99} {
		if got, want := string(appendInt(nil, i)), strconv.FormatInt(i, 10); got != want {
			t.Fatalf("appendInt(%d) = %s, want %s", i, got, want)
		}
	}
}

// BenchmarkFlowRecordDecode reads back the record of a typical flow, as
// `-o json` does for every flow from its spool: a decoder that has seen the
// flow's recurring strings before, the originator's endpoint new each time.
func BenchmarkFlowRecordDecode(b *testing.B) {
	f := typicalFlow()
	var recs [][]byte
	for i := range 50_000 {
		g := *f
		g.Orig = "10." + strconv.Itoa(i>>8) + "." + strconv.Itoa(i&255) + ".7:" + strconv.Itoa(40000+i%20000)
		rec, err := AppendFlowRecord(nil, &g)
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, rec)
	}
	var d FlowRecordDecoder
	var g Flow
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := d.Decode(recs[i%len(recs)], &g); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkAppendFlowRecord writes the record of a typical flow, as -o json
// does for every flow it spools.
func BenchmarkAppendFlowRecord(b *testing.B) {
	f := typicalFlow()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendFlowRecord(buf[:0], f); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTailCacheKeepsCommonTransitions: transitions that differ in one name
// only (here the state the FIN-ACK's receiver left, or the direction) hit
// every time when they alternate, two by two, whatever sets their names
// choose.
func TestTailCacheKeepsCommonTransitions(t *testing.T) {
	base := Transition{Event: "FIN_ACK_CTL", Dir: "resp", OrigFrom: "FIN_WAIT_1", OrigTo: "TIME_WAIT", RespFrom: "CLOSE_WAIT", RespTo: "LAST_ACK"}
	var ts []Transition
	for _, from := range []string{"FIN_WAIT_1", "FIN_WAIT_2", "ESTABLISHED"} {
		for _, dir := range []string{"orig", "resp"} {
			tr := base
			tr.OrigFrom, tr.Dir = from, dir
			ts = append(ts, tr)
		}
	}
	for i := range ts {
		for j := range ts {
			if i == j {
				continue
			}
			var c tailCache
			for _, k := range []int{i, j} {
				e, hit := c.entry(&ts[k])
				if hit {
					t.Fatalf("%+v: a hit in an empty cache", ts[k])
				}
				e.b = append(e.b[:0], ts[k].OrigFrom+ts[k].Dir...)
			}
			for range 3 {
				for _, k := range []int{i, j} {
					e, hit := c.entry(&ts[k])
					if !hit || string(e.b) != ts[k].OrigFrom+ts[k].Dir {
						t.Fatalf("%+v after %+v: hit %v, %q", ts[k], ts[i+j-k], hit, e.b)
					}
				}
			}
		}
	}
}
