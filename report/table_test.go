package report

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// tablewriterTable renders the way the flow table was rendered before
// renderTable: through tablewriter.Table, in batch, with the same style.
func tablewriterTable(t *testing.T, header []string, rows [][]string) string {
	t.Helper()
	var b bytes.Buffer
	tab := tablewriter.NewTable(&b,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleLight)})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
	)
	tab.Header(header)
	for _, r := range rows {
		if err := tab.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := tab.Render(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestRenderTableMatchesTablewriter requires renderTable, which drives
// tablewriter's renderer itself, to write what tablewriter.Table writes for
// the same cells: plain, empty, non-ASCII (the report's arrows, µ and …),
// wide (CJK), and cells wider than their header, in random tables.
func TestRenderTableMatchesTablewriter(t *testing.T) {
	cells := []string{"", "-", "1", "42#3*", "10.1.2.3:45678", "[2001:db8::1]:443", "TIME_WAIT",
		"SYN_RECEIVED", "SF", "RSTOS0", "12/9", "1.2KiB/345.6MiB", "250µs", "3.0h", "…", "→/←",
		"日本語", "a b  c", "x"}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 200 {
		cols := 1 + rng.IntN(11)
		header := make([]string, cols)
		for i := range header {
			header[i] = flowTableHeader[rng.IntN(len(flowTableHeader))]
		}
		rows := make([][]string, 1+rng.IntN(20))
		for j := range rows {
			rows[j] = make([]string, cols)
			for i := range rows[j] {
				rows[j][i] = cells[rng.IntN(len(cells))]
			}
		}
		var got bytes.Buffer
		renderTable(&got, header, rows)
		if want := tablewriterTable(t, header, rows); got.String() != want {
			t.Fatalf("table %d differs:\ngot:\n%s\nwant:\n%s", n, got.String(), want)
		}
	}
}

// TestRenderTableFlowRows compares the flow table's own header with a
// thousand rows of the kind writeTable makes.
func TestRenderTableFlowRows(t *testing.T) {
	var rows [][]string
	for i := range 1000 {
		rows = append(rows, []string{fmt.Sprint(i + 1), "10.1.2.3:" + fmt.Sprint(30000+i), "192.168.100.200:443",
			"TIME_WAIT", "CLOSED", "SF", fmt.Sprintf("%d/%d", i%17, i%13), "1.2KiB/345.6KiB",
			strings.Repeat("9", i%7) + "ms", "1.23ms", "-"})
	}
	var got bytes.Buffer
	renderTable(&got, flowTableHeader, rows)
	if want := tablewriterTable(t, flowTableHeader, rows); got.String() != want {
		t.Fatalf("flow table differs:\ngot:\n%.2000s\nwant:\n%.2000s", got.String(), want)
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestWriteTableReportsWriteErrors: the renderer drops its writer's errors,
// so WriteTable must return them from its buffer, for a table larger than
// the buffer as for a small one.
func TestWriteTableReportsWriteErrors(t *testing.T) {
	for _, n := range []int{1, 2000} {
		r := &Report{}
		for i := range n {
			f := *typicalFlow()
			f.ID = uint64(i + 1)
			r.Flows = append(r.Flows, f)
		}
		r.Summary.Flows = n
		err := WriteTable(failingWriter{}, r, Options{Limit: n})
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%d rows: error %v, want the writer's", n, err)
		}
	}
}
