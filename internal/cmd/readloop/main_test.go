package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
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
	server := netip.MustParseAddrPort("10.0.0.2:80")
	for i := range 3 {
		k := c.Conn(netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(40000+i)), server, pcapgen.LinuxOpts())
		k.Handshake()
		k.Send(pcapgen.Client, 100)
		if i%2 == 0 {
			k.Close(pcapgen.Client) // FIN, ACK, FIN, ACK
		} else {
			k.CloseCombined(pcapgen.Server) // FIN, FIN|ACK, ACK
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
	if st.packets < 3*8 || st.segments != st.packets || st.conns != 3 {
		t.Fatalf("packets %d, segments %d, connections %d; want at least 24, all TCP, 3 connections", st.packets, st.segments, st.conns)
	}
}
