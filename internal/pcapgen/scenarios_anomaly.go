package pcapgen

import (
	"io"
	"net/netip"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// anomalyScenarios returns the captures of misbehaving connections.
func anomalyScenarios() []Scenario {
	return []Scenario{
		{
			Name: "lossy_transfer", File: "lossy_transfer.pcap", Conns: 1,
			Description: "A 20 ms-RTT transfer from 198.51.100.20:8001 to 192.0.2.10:41000 with SACK, in four acts. " +
				"(1) Fast retransmission: the 2nd of six segments is seen but lost beyond the capture point; " +
				"the client ACKs the 1st, then sends four duplicate ACKs with growing SACK blocks; the server " +
				"retransmits the lost segment and the client ACKs everything. " +
				"(2) Retransmission after RTO: the last of three segments is seen and lost, no duplicate ACKs " +
				"follow, and it is retransmitted 220 ms after the ACK of the other two. " +
				"(3) Out-of-order arrival: two segments pass the capture point in swapped order 20 µs apart " +
				"(not a retransmission). " +
				"(4) Loss before the capture point: a segment is never seen, the next three are, the client " +
				"sends three duplicate ACKs, and the retransmission fills the hole. " +
				"Then the client closes first. Expected: client TIME_WAIT, server CLOSED; two retransmissions " +
				"of seen segments (one fast, one after RTO), one out-of-order segment, one segment first " +
				"seen as its retransmission after three duplicate ACKs; " +
				"server payload 15 segments of 1448 bytes (21720 bytes) in 17 data frames.",
			Build: buildLossyTransfer,
		},
		{
			Name: "zero_window", File: "zero_window.pcap", Conns: 1,
			Description: "The server 198.51.100.20:8001 streams to 192.0.2.10:41000 (window scale 7) until the client's " +
				"advertised window falls to 0; the server sends one-byte zero-window probes 200, 400 and 800 ms " +
				"apart, each answered by an ACK still advertising 0; 300 ms later the client reopens the window " +
				"(window update to 501, i.e. 64128 bytes), the server sends 20000 more bytes and closes first. " +
				"Expected: zero window advertised by the client, three probes and their ACKs, window reopened; " +
				"server TIME_WAIT, client CLOSED.",
			Build: buildZeroWindow,
		},
		{
			Name: "keep_alive", File: "keep_alive.pcap", Conns: 1,
			Description: "After a request and response, 192.0.2.10:41000 → :8001 goes idle; the client sends three " +
				"keep-alive probes (seq = next − 1, no data) 45 s apart, each ACKed by the server, then 10 s " +
				"later a 100-byte exchange each way and the client closes first. Expected: idle connection kept " +
				"alive for 145 s, three keep-alives and three keep-alive ACKs; client TIME_WAIT, server CLOSED.",
			Build: buildKeepAlive,
		},
		{
			Name: "syn_flood", File: "syn_flood.pcap", Conns: 2004,
			Description: "2000 SYNs to 198.51.100.20:8001 within 2.5 s from random spoofed sources in 10.0.0.0/8, " +
				"each answered by a SYN-ACK that is never ACKed; one source in ten answers the SYN-ACK with an " +
				"RST (the real owner of the address), the others get the SYN-ACK retransmitted 1 s later while " +
				"the capture lasts. Four real clients 192.0.2.30-33 complete handshakes among the flood, " +
				"exchange 200/1000 bytes and close (client first). Expected: 2004 connections, 4 established " +
				"and closed normally, 200 reset in SYN_RECEIVED, the rest left half-open in SYN_RECEIVED.",
			Build: buildSynFlood,
		},
		{
			Name: "time_wait_storm", File: "time_wait_storm.pcap", Conns: 300,
			Description: "300 short connections from 192.0.2.10, ports 41000-41299 in turn, to 198.51.100.20:8001, " +
				"1 ms RTT, ten at a time overlapping: handshake, 100-byte request, 400-byte response, the client closes first. " +
				"Expected: 300 connections, each client TIME_WAIT and server CLOSED.",
			Build: buildTimeWaitStorm,
		},
		{
			Name: "close_wait_leak", File: "close_wait_leak.pcap", Conns: 2,
			Description: "192.0.2.10:41000 → :8001: request and response, then the client sends FIN and the server " +
				"ACKs it but sends no FIN; the server keeps the connection alive with keep-alives 10, 20 and " +
				"30 s later, each ACKed by the client, and the capture ends 30 s after the FIN. A control " +
				"connection 192.0.2.10:41001 → :8001 closes normally (client first) meanwhile. Expected: " +
				"41000 server stuck in CLOSE_WAIT (client FIN_WAIT_2) for 30 s; 41001 client TIME_WAIT, server CLOSED.",
			Build: buildCloseWaitLeak,
		},
	}
}

func buildLossyTransfer(w io.Writer) error {
	c := NewCapture(w, Format{})
	o := LinuxOpts()
	o.RTT = 20 * time.Millisecond
	k := c.Conn(clientAP(41000), serverAP(), o)
	k.Handshake()
	k.Send(Client, 300)
	ss := k.SegmentSize()

	// (1) Fast retransmission after duplicate ACKs.
	var acks [8]AckPoint
	k.Data(Server, ss)
	acks[0] = k.AckPoint(Client)
	lost := k.Lose(Server, ss)
	for i := 1; i <= 4; i++ {
		k.Data(Server, ss)
		acks[i] = k.AckPoint(Client)
	}
	for _, a := range acks[:5] {
		k.AckAt(a)
	}
	k.Retransmit(lost)
	k.Ack(Client)

	// (2) Retransmission after RTO: a lost tail segment brings no duplicate ACKs.
	k.Wait(5 * time.Millisecond)
	k.Data(Server, ss)
	k.Data(Server, ss)
	tail := k.Lose(Server, ss)
	k.Ack(Client)
	k.Wait(220 * time.Millisecond)
	k.Retransmit(tail)
	k.Ack(Client)

	// (3) Out-of-order arrival.
	k.Wait(5 * time.Millisecond)
	k.Reorder(Server, ss, ss)
	k.Ack(Client)

	// (4) A segment lost before the capture point.
	k.Wait(5 * time.Millisecond)
	hole := k.Drop(Server, ss)
	for i := range 3 {
		k.Data(Server, ss)
		acks[i] = k.AckPoint(Client)
	}
	for _, a := range acks[:3] {
		k.AckAt(a)
	}
	k.Retransmit(hole)
	k.Ack(Client)

	k.Wait(5 * time.Millisecond)
	k.Close(Client)
	return c.Close()
}

func buildZeroWindow(w io.Writer) error {
	c := NewCapture(w, Format{})
	k := c.Conn(clientAP(41000), serverAP(), LinuxOpts())
	k.Handshake()
	k.Send(Client, 300)
	const shift = 7
	rwnd := 501 << shift // what the client's window allows, in bytes
	ss := k.SegmentSize()
	// The client's application stops reading: every byte received shrinks the
	// window it advertises until nothing is left.
	for rwnd > 0 {
		n := min(rwnd, 8*ss)
		k.Write(Server, n)
		rwnd -= n
		k.SetWindow(Client, uint16(rwnd>>shift))
		k.Ack(Client)
	}
	for _, d := range []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond} {
		k.Wait(d)
		k.ZeroWindowProbe(Server)
		k.Ack(Client)
	}
	k.Wait(300 * time.Millisecond)
	k.SetWindow(Client, 501)
	k.Ack(Client) // window update
	k.Send(Server, 20000)
	k.Close(Server)
	return c.Close()
}

func buildKeepAlive(w io.Writer) error {
	c := NewCapture(w, Format{})
	k := c.Conn(clientAP(41000), serverAP(), LinuxOpts())
	k.Handshake()
	k.Send(Client, 300)
	k.Send(Server, 2000)
	for range 3 {
		k.Wait(45 * time.Second)
		k.KeepAlive(Client)
		k.Ack(Server)
	}
	k.Wait(10 * time.Second)
	k.Send(Client, 100)
	k.Send(Server, 100)
	k.Close(Client)
	return c.Close()
}

// splitmix is a small deterministic generator for scenario randomness.
type splitmix struct{ x uint64 }

func (r *splitmix) next() uint64 {
	r.x += 0x9e3779b97f4a7c15
	z := r.x
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func buildSynFlood(w io.Writer) error {
	c := NewCapture(w, Format{})
	srv := serverAP()
	r := splitmix{x: 0x5eed}
	const (
		syns     = 2000
		interval = 1250 * time.Microsecond // 2000 SYNs in 2.5 s
		rto      = time.Second
	)
	type pending struct {
		k   *Conn
		due time.Time
	}
	var queue []pending // SYN-ACK retransmissions, in due order
	flush := func(until time.Time) {
		for len(queue) > 0 && !queue[0].due.After(until) {
			if queue[0].due.After(c.Now()) {
				c.SetTime(queue[0].due)
			}
			queue[0].k.SynAck()
			queue = queue[1:]
		}
	}
	legit := 0
	start := c.Now()
	for i := range syns {
		at := start.Add(time.Duration(i) * interval)
		flush(at)
		if at.After(c.Now()) {
			c.SetTime(at)
		}
		if i%500 == 250 {
			// A real client gets through among the flood.
			o := LinuxOpts()
			o.RTT = time.Millisecond
			k := c.Conn(addr4(byte(30+legit), 41000), srv, o)
			legit++
			k.Handshake()
			k.Send(Client, 200)
			k.Send(Server, 1000)
			k.Close(Client)
		}
		x := r.next()
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(x >> 8), byte(x >> 16), byte(x >> 24)}), uint16(1024+(x>>32)%64512))
		k := c.Conn(src, srv, ConnOpts{RTT: 200 * time.Microsecond, SynWindow: 512, ClientISN: seqnum.Value(x >> 32)})
		k.Syn()
		k.SynAck()
		if i%10 == 9 {
			// The owner of the spoofed address never sent a SYN: it resets.
			k.SetWindow(Client, 0)
			k.Raw(Client, segment.RST, k.ISN(Client)+1, 0, nil)
			continue
		}
		queue = append(queue, pending{k, c.Now().Add(rto)})
	}
	end := start.Add(syns*interval + 500*time.Millisecond)
	flush(end)
	return c.Close()
}

func buildTimeWaitStorm(w io.Writer) error { return TimeWaitStorm(w, Client) }

// TimeWaitStorm writes the time_wait_storm scenario with closer sending the
// first FIN of every connection: with Server, TIME_WAIT sits on the server
// (an HTTP/1.0 server's storm), which no committed capture shows.
func TimeWaitStorm(w io.Writer, closer Side) error {
	c := NewCapture(w, Format{})
	o := LinuxOpts()
	o.RTT = time.Millisecond
	// Ten connections at a time overlap, interleaved phase by phase.
	const total, batch = 300, 10
	var ks [batch]*Conn
	for b := 0; b < total; b += batch {
		for i := range ks {
			ks[i] = c.Conn(clientAP(uint16(41000+b+i)), serverAP(), o)
			ks[i].Handshake()
			c.Advance(200 * time.Microsecond)
		}
		for _, k := range ks {
			k.Send(Client, 100)
		}
		for _, k := range ks {
			k.Send(Server, 400)
		}
		for _, k := range ks {
			k.Close(closer)
		}
		c.Advance(2 * time.Millisecond)
	}
	return c.Close()
}

func buildCloseWaitLeak(w io.Writer) error {
	c := NewCapture(w, Format{})
	k := c.Conn(clientAP(41000), serverAP(), LinuxOpts())
	exchange(k)
	k.Fin(Client)
	k.Ack(Server) // and no FIN: the server application never closes
	finAt := c.Now()

	c.Advance(2 * time.Second)
	ctl := c.Conn(clientAP(41001), serverAP(), LinuxOpts())
	exchange(ctl)
	ctl.Close(Client)

	for i := 1; i <= 3; i++ {
		c.SetTime(finAt.Add(time.Duration(i) * 10 * time.Second))
		k.KeepAlive(Server)
		k.Ack(Client)
	}
	return c.Close()
}
