package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// TestLookupKeepsClosedConnections checks the lookup loop's bookkeeping on
// three whole connections: each is one entry, and its last ACK, which comes
// after both FINs, finds the connection it closes instead of making another.
func TestLookupKeepsClosedConnections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "three.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	c := pcapgen.NewCapture(f, pcapgen.Format{})
	link := pcapgen.Link{Type: pcapgen.LinkEthernet}
	cli, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	const (
		S = segment.SYN
		A = segment.ACK
		F = segment.FIN
	)
	for port := uint16(40000); port < 40003; port++ {
		for _, p := range []struct {
			c2s      bool
			flags    segment.Flags
			seq, ack seqnum.Value
		}{
			{true, S, 100, 0}, {false, S | A, 500, 101}, {true, A, 101, 501},
			{true, F | A, 101, 501}, {false, F | A, 501, 102}, {true, A, 102, 502},
		} {
			ip, h := &pcapgen.IP{Src: cli, Dst: srv}, &pcapgen.TCP{SrcPort: port, DstPort: 80, Seq: p.seq, Ack: p.ack, Flags: p.flags, Window: 1000}
			if !p.c2s {
				ip.Src, ip.Dst = srv, cli
				h.SrcPort, h.DstPort = 80, port
			}
			c.TCP(0, link, ip, h, nil)
			c.Advance(time.Millisecond)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := lookupCapture([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	if st.packets != 18 || st.segments != 18 || st.conns != 3 {
		t.Fatalf("packets %d, segments %d, connections %d; want 18, 18, 3", st.packets, st.segments, st.conns)
	}
}
