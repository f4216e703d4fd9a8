package cli

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// overlapCapture writes a capture of one connection whose client sends a
// request, then sends part of it again with other bytes, after the server
// acknowledged only its first part, and a second connection whose
// retransmission repeats the same bytes.
func overlapCapture(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	c := pcapgen.NewCapture(&buf, pcapgen.Format{})
	server := netip.MustParseAddrPort("192.0.2.10:80")
	for i, again := range []string{"WORLD, this is", "world, this is"} {
		k := c.Conn(netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), uint16(40000+i)), server, pcapgen.ConnOpts{})
		k.Handshake()
		start := k.NextSeq(pcapgen.Client)
		k.SendBytes(pcapgen.Client, []byte("hello world, this is the request"))
		k.Wait(200 * time.Millisecond)
		// Six bytes in: "world, this is" sent again, as it was or changed.
		k.Raw(pcapgen.Client, segment.ACK|segment.PSH, start.Add(seqnum.Size(6)), k.RcvNxt(pcapgen.Client), []byte(again))
		k.Ack(pcapgen.Server)
		k.Close(pcapgen.Client)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestOverlapMismatchFromFileAndStdin checks that retransmitted bytes that
// differ are found the same when the payload is kept by its place in the
// file (a regular file) as when it is copied (standard input), and that
// bytes sent again unchanged are not called a mismatch.
func TestOverlapMismatchFromFileAndStdin(t *testing.T) {
	data := overlapCapture(t)
	path := filepath.Join(t.TempDir(), "overlap.pcap")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fromFile, err := ndjsonWith(path, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s := &IO{In: bytes.NewReader(data), Out: &out, Err: &bytes.Buffer{}}
	if err := RunAnalyze(&AnalyzeOptions{Files: []string{"-"}, Output: "ndjson", Engine: engine.DefaultConfig()}, s); err != nil {
		t.Fatal(err)
	}
	fromStdin := strings.ReplaceAll(out.String(), `"stdin"`, `"`+path+`"`)
	if fromFile != fromStdin {
		t.Errorf("the file and standard input give other reports\n%s", firstDiff(fromStdin, fromFile))
	}
	lines := strings.Split(strings.TrimSpace(fromFile), "\n")
	var flows []string
	for _, l := range lines {
		if strings.HasPrefix(l, `{"type":"flow"`) {
			flows = append(flows, l)
		}
	}
	if len(flows) != 2 {
		t.Fatalf("%d flows, want 2:\n%s", len(flows), fromFile)
	}
	if !strings.Contains(flows[0], `"kind":"overlap_mismatch"`) {
		t.Errorf("changed bytes sent again: no overlap_mismatch\n%s", flows[0])
	}
	if strings.Contains(flows[1], `"kind":"overlap_mismatch"`) {
		t.Errorf("the same bytes sent again: overlap_mismatch\n%s", flows[1])
	}
}
