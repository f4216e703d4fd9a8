package pcapgen_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/pcapgen"
)

// A scenario: a request and response, a lost segment retransmitted after three
// duplicate ACKs, and a close by the client.
func Example() {
	var out bytes.Buffer
	c := pcapgen.NewCapture(&out, pcapgen.Format{Nano: true})
	o := pcapgen.LinuxOpts()
	o.RTT = 30 * time.Millisecond
	k := c.Conn(netip.MustParseAddrPort("192.0.2.10:41000"), netip.MustParseAddrPort("198.51.100.20:8001"), o)
	k.Handshake()
	k.Send(pcapgen.Client, 300)

	ss := k.SegmentSize()
	lost := k.Lose(pcapgen.Server, ss) // seen by the capture, lost after it
	var acks []pcapgen.AckPoint
	for range 3 {
		k.Data(pcapgen.Server, ss)
		acks = append(acks, k.AckPoint(pcapgen.Client))
	}
	for _, a := range acks {
		k.AckAt(a) // three duplicate ACKs with SACK blocks
	}
	k.Retransmit(lost)
	k.Ack(pcapgen.Client)

	k.Close(pcapgen.Client)
	fmt.Println(c.Close(), k.NextSeq(pcapgen.Server)-k.ISN(pcapgen.Server))
	// Output: <nil> 5794
}
