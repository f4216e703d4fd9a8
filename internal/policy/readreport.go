package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// LoadReport reads a JSON report written by `analyze -o json`, to serve as a
// baseline.
func LoadReport(path string) (*report.Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading baseline: %w", err)
	}
	rep, err := DecodeReport(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %w", path, err)
	}
	return rep, nil
}

// ErrNotReport is returned for JSON that is not an analysis report.
var ErrNotReport = errors.New(`not a tcpflow-analyze JSON report (expected an object with "summary" and "flows", as written by analyze -o json)`)

// DecodeReport reads one JSON report. Fields it does not know are ignored, so a
// report from a newer version still reads.
func DecodeReport(r io.Reader) (*report.Report, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading report: %w", err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotReport, err)
	}
	if _, ok := top["summary"]; !ok {
		return nil, ErrNotReport
	}
	if _, ok := top["flows"]; !ok {
		return nil, ErrNotReport
	}
	var jr jsonReport
	if err := json.Unmarshal(data, &jr); err != nil {
		return nil, fmt.Errorf("decoding report: %w", err)
	}
	return jr.report(), nil
}

// The json* types read the report's timestamps, which report.Time writes as
// text but cannot read back; every other field comes through the embedded
// report types, whose shallower shadowing fields win in encoding/json.
type (
	jsonTime report.Time

	jsonReport struct {
		Summary   jsonSummary   `json:"summary"`
		Flows     []jsonFlow    `json:"flows"`
		Anomalies []jsonAnomaly `json:"anomalies"`
	}
	jsonSummary struct {
		report.Summary
		Start *jsonTime `json:"start"`
		End   *jsonTime `json:"end"`
	}
	jsonFlow struct {
		report.Flow
		Start       jsonTime         `json:"start"`
		End         jsonTime         `json:"end"`
		Transitions []jsonTransition `json:"transitions"`
		Anomalies   []jsonAnomaly    `json:"anomalies"`
	}
	jsonTransition struct {
		report.Transition
		Time jsonTime `json:"time"`
	}
	jsonAnomaly struct {
		report.Anomaly
		Times []jsonTime `json:"times"`
	}
)

// UnmarshalText reads a timestamp in report.TimeLayout (any RFC 3339 time).
func (t *jsonTime) UnmarshalText(b []byte) error {
	v, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return fmt.Errorf("timestamp %q: %w", b, err)
	}
	*t = jsonTime(v.UnixNano())
	return nil
}

func (jr *jsonReport) report() *report.Report {
	r := &report.Report{Summary: jr.Summary.Summary}
	if jr.Summary.Start != nil {
		v := report.Time(*jr.Summary.Start)
		r.Summary.Start = &v
	}
	if jr.Summary.End != nil {
		v := report.Time(*jr.Summary.End)
		r.Summary.End = &v
	}
	r.Flows = make([]report.Flow, len(jr.Flows))
	for i, jf := range jr.Flows {
		f := jf.Flow
		f.Start, f.End = report.Time(jf.Start), report.Time(jf.End)
		f.Transitions = nil
		for _, jt := range jf.Transitions {
			t := jt.Transition
			t.Time = report.Time(jt.Time)
			f.Transitions = append(f.Transitions, t)
		}
		f.Anomalies = anomalies(jf.Anomalies)
		r.Flows[i] = f
	}
	r.Anomalies = anomalies(jr.Anomalies)
	return r
}

func anomalies(ja []jsonAnomaly) []report.Anomaly {
	if ja == nil {
		return nil
	}
	out := make([]report.Anomaly, len(ja))
	for i, a := range ja {
		out[i] = a.Anomaly
		out[i].Times = nil
		for _, t := range a.Times {
			out[i].Times = append(out[i].Times, report.Time(t))
		}
	}
	return out
}
