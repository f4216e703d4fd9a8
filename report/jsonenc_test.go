package report

import (
	"bytes"
	"encoding/json"
	"math"
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
		-1, -1_000_000_001, 0, 1_700_000_001_000_000_002, math.MaxInt64, math.MinInt64, 5} {
		if got, want := string(c.append(nil, v)), v.String(); got != want {
			t.Errorf("cached %d = %s, want %s", int64(v), got, want)
		}
	}
}
