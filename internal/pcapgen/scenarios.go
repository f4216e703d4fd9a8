package pcapgen

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// Scenario is one committed test capture: how to build it and what it shows.
type Scenario struct {
	Name        string // snake_case identifier
	File        string // file name in testdata/pcaps
	Description string // what the capture holds and the expected end states
	// Conns is the number of TCP connections in the capture (a reused 4-tuple
	// counts once per connection).
	Conns int
	// Build writes the capture to w.
	Build func(w io.Writer) error
}

// addr4 returns 192.0.2.last:port. The scenarios use documentation prefixes
// (RFC 5737, RFC 3849), so no capture names a real host.
func addr4(last byte, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, last}), port)
}

// clientAP is the usual client, serverAP the usual server.
func clientAP(port uint16) netip.AddrPort { return addr4(10, port) }
func serverAP() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, 20}), 8001)
}

func client6(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("2001:db8::10"), port)
}

func server6() netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("2001:db8:1::20"), 8001)
}

// exchange writes the handshake, a 300-byte request and a 5000-byte response.
func exchange(k *Conn) {
	k.Handshake()
	k.Send(Client, 300)
	k.Send(Server, 5000)
}

// simple builds a capture of format f holding one conversation that body writes.
func simple(f Format, o ConnOpts, body func(k *Conn)) func(io.Writer) error {
	return func(w io.Writer) error {
		c := NewCapture(w, f)
		body(c.Conn(clientAP(41000), serverAP(), o))
		return c.Close()
	}
}

// Scenarios returns every committed capture, in a fixed order.
func Scenarios() []Scenario {
	return append(basicScenarios(), anomalyScenarios()...)
}

// basicScenarios returns the captures of well-behaved connections and of the
// file and link-layer variants.
func basicScenarios() []Scenario {
	return []Scenario{
		{
			Name: "normal_exchange", File: "normal_exchange.pcap", Conns: 1,
			Description: "One IPv4 connection 192.0.2.10:41000 → 198.51.100.20:8001 on Ethernet: " +
				"three-way handshake (MSS, SACK, timestamps, window scale 7), a 300-byte request, " +
				"a 5000-byte response, then the client closes first (FIN, ACK, FIN, ACK). " +
				"Expected: client TIME_WAIT, server CLOSED.",
			Build: simple(Format{}, LinuxOpts(), func(k *Conn) {
				exchange(k)
				k.Close(Client)
			}),
		},
		{
			Name: "server_closes_first", File: "server_closes_first.pcap", Conns: 1,
			Description: "Like normal_exchange, but the server sends the first FIN. " +
				"Expected: server TIME_WAIT, client CLOSED.",
			Build: simple(Format{}, LinuxOpts(), func(k *Conn) {
				exchange(k)
				k.Close(Server)
			}),
		},
		{
			Name: "simultaneous_close", File: "simultaneous_close.pcap", Conns: 1,
			Description: "Request and response, then both sides send FIN before seeing the other's: " +
				"the FINs cross, neither acknowledges the other's FIN, then both ACKs cross. " +
				"Expected: both sides FIN_WAIT_1 → CLOSING → TIME_WAIT.",
			Build: simple(Format{}, LinuxOpts(), func(k *Conn) {
				exchange(k)
				k.SimultaneousClose()
			}),
		},
		{
			Name: "fin_ack_combined", File: "fin_ack_combined.pcap", Conns: 1,
			Description: "Request and response, then the client's FIN is answered by one FIN|ACK " +
				"that acknowledges it, and the client's last ACK (three-segment close). " +
				"Expected: client FIN_WAIT_1 → TIME_WAIT without FIN_WAIT_2; server CLOSE_WAIT → LAST_ACK → CLOSED.",
			Build: simple(Format{}, LinuxOpts(), func(k *Conn) {
				exchange(k)
				k.CloseCombined(Client)
			}),
		},
		{
			Name: "rst_reject", File: "rst_reject.pcap", Conns: 1,
			Description: "A SYN to a closed port answered by RST|ACK (seq 0, ack ISN+1). " +
				"Expected: connection refused, both sides CLOSED, no data.",
			Build: simple(Format{}, LinuxOpts(), func(k *Conn) {
				k.Syn()
				k.Refuse()
			}),
		},
		{
			Name: "syn_no_answer", File: "syn_no_answer.pcap", Conns: 1,
			Description: "A SYN and three retransmissions of it 1 s, 2 s and 4 s apart " +
				"(at 0, 1, 3 and 7 s), never answered. Expected: client SYN_SENT (unanswered), " +
				"three SYN retransmissions, no server packet.",
			Build: simple(Format{}, LinuxOpts(), func(k *Conn) {
				k.Syn()
				k.SynRetries(3, time.Second)
			}),
		},
		{
			Name: "rst_established", File: "rst_established.pcap", Conns: 1,
			Description: "Handshake, a 300-byte request, 3000 bytes of response, then the server " +
				"sends RST|ACK. Expected: reset by the server while ESTABLISHED; both sides CLOSED.",
			Build: simple(Format{}, LinuxOpts(), func(k *Conn) {
				k.Handshake()
				k.Send(Client, 300)
				k.Send(Server, 3000)
				k.Reset(Server)
			}),
		},
		{
			Name: "port_reuse", File: "port_reuse.pcap", Conns: 4,
			Description: "Four connections on two 4-tuples. 192.0.2.10:41010 → :8001 twice: the first " +
				"closes (client first), the second starts 70 s later, after TIME_WAIT, with another ISN. " +
				"192.0.2.10:41011 → :8001 twice: the first is closed by the server (server TIME_WAIT), " +
				"and 1 s later, during that TIME_WAIT, a SYN with a higher ISN opens the second. " +
				"Expected: four connections, each ending client TIME_WAIT / server CLOSED except the " +
				"first on :41011 (server TIME_WAIT / client CLOSED).",
			Build: buildPortReuse,
		},
		{
			Name: "midstream", File: "midstream.pcap", Conns: 1,
			Description: "The capture starts inside an established connection (no SYNs): the client has sent " +
				"500 bytes and the server 1,000,000 before the first packet. The server sends 20000 more " +
				"bytes, then the client closes first. Expected: connection picked up mid-stream; " +
				"client TIME_WAIT, server CLOSED; 20000 bytes seen from the server.",
			Build: simple(Format{}, withISN(LinuxOpts(), 0x1c2d3e4f, 0x5a6b7c8d), func(k *Conn) {
				k.Skip(Client, 500)
				k.Skip(Server, 1_000_000)
				k.Send(Server, 20000)
				k.Close(Client)
			}),
		},
		{
			Name: "simultaneous_open", File: "simultaneous_open.pcap", Conns: 1,
			Description: "Both ends send a SYN (the SYNs cross), then both send SYN|ACK; then 400 bytes each " +
				"way and a close by 192.0.2.10. Expected: both SYN_SENT → SYN_RECEIVED → ESTABLISHED; " +
				"192.0.2.10 TIME_WAIT, 198.51.100.20 CLOSED.",
			Build: simple(Format{}, LinuxOpts(), func(k *Conn) {
				k.SimultaneousOpen()
				k.Send(Client, 400)
				k.Send(Server, 400)
				k.Close(Client)
			}),
		},
		{
			Name: "ipv6", File: "ipv6.pcap", Conns: 2,
			Description: "Two IPv6 connections 2001:db8::10 → [2001:db8:1::20]:8001 with ECN negotiated " +
				"(SYN ECE|CWR, SYN-ACK ECE, data ECT(0)). Every packet of the first (client port 41000) " +
				"carries a hop-by-hop header (router alert), every packet of the second (41001) a " +
				"destination-options header. Each: request, response, client closes first. " +
				"Expected: client TIME_WAIT, server CLOSED for both.",
			Build: buildIPv6,
		},
		{
			Name: "vlan", File: "vlan.pcap", Conns: 2,
			Description: "Two connections on Ethernet with VLAN tags: 192.0.2.10:41000 in 802.1Q VLAN 100 " +
				"(priority 5), and 192.0.2.11:41001 in QinQ (outer 802.1ad VLAN 200, inner 802.1Q VLAN 300). " +
				"Each: request, response, client closes first. Expected: client TIME_WAIT, server CLOSED.",
			Build: buildVLAN,
		},
		{
			Name: "sll2", File: "sll2.pcap", Conns: 1,
			Description: "normal_exchange on Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 276), " +
				"client packets OUTGOING and server packets HOST, interface index 2. " +
				"Expected: client TIME_WAIT, server CLOSED.",
			Build: simple(Format{Link: LinkSLL2}, LinuxOpts(), func(k *Conn) {
				exchange(k)
				k.Close(Client)
			}),
		},
		{
			Name: "sll", File: "sll.pcap", Conns: 1,
			Description: "normal_exchange on Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 113). " +
				"Expected: client TIME_WAIT, server CLOSED.",
			Build: simple(Format{Link: LinkSLL}, LinuxOpts(), func(k *Conn) {
				exchange(k)
				k.Close(Client)
			}),
		},
		{
			Name: "raw_ip", File: "raw_ip.pcap", Conns: 2,
			Description: "Raw IP link type (LINKTYPE_RAW, 101): an IPv4 connection 192.0.2.10:41000 → " +
				"198.51.100.20:8001 and an IPv6 one 2001:db8::10:41000 → [2001:db8:1::20]:8001, " +
				"each request, response, client closes first. Expected: client TIME_WAIT, server CLOSED.",
			Build: buildTwoFamilies(Format{Link: LinkRaw}, clientAP(41000), serverAP(), client6(41000), server6()),
		},
		{
			Name: "null_loopback", File: "null_loopback.pcap", Conns: 2,
			Description: "BSD loopback (LINKTYPE_NULL, 0; address family little-endian, AF_INET 2 and " +
				"AF_INET6 30): 127.0.0.1:41000 → 127.0.0.1:8001 and [::1]:41000 → [::1]:8001, " +
				"each request, response, client closes first. Expected: client TIME_WAIT, server CLOSED.",
			Build: buildTwoFamilies(Format{Null: true},
				netip.MustParseAddrPort("127.0.0.1:41000"), netip.MustParseAddrPort("127.0.0.1:8001"),
				netip.MustParseAddrPort("[::1]:41000"), netip.MustParseAddrPort("[::1]:8001")),
		},
		{
			Name: "pcapng_two_linktypes", File: "pcapng_two_linktypes.pcapng", Conns: 2,
			Description: "pcapng with a section comment and two interfaces: 0 eth0 (Ethernet, µs " +
				"timestamps), 1 any (Linux SLL2, ns timestamps). 192.0.2.10:41000 → :8001 is on " +
				"interface 0 and 192.0.2.12:41002 → :8001 on interface 1, interleaved in time. " +
				"Each: request, response, client closes first. Expected: client TIME_WAIT, server CLOSED.",
			Build: buildPcapngTwo,
		},
		{
			Name: "nanosecond", File: "nanosecond.pcap", Conns: 1,
			Description: "normal_exchange in a big-endian pcap with nanosecond timestamps (magic a1b23c4d), " +
				"starting at 2024-01-02T03:04:05.123456789Z with an RTT of 1.234567 ms and 1.111 µs " +
				"packet gaps, so the timestamps need nanoseconds. Expected: client TIME_WAIT, server CLOSED.",
			Build: simple(Format{Nano: true, BigEndian: true, Start: DefaultStart().Add(123456789)},
				withTiming(LinuxOpts(), 1234567*time.Nanosecond, 1111*time.Nanosecond), func(k *Conn) {
					exchange(k)
					k.Close(Client)
				}),
		},
		{
			Name: "microsecond_bigendian", File: "microsecond_bigendian.pcap", Conns: 1,
			Description: "normal_exchange in a big-endian pcap with microsecond timestamps " +
				"(magic a1b2c3d4 written big-endian). Expected: client TIME_WAIT, server CLOSED.",
			Build: simple(Format{BigEndian: true}, LinuxOpts(), func(k *Conn) {
				exchange(k)
				k.Close(Client)
			}),
		},
		{
			Name: "truncated", File: "truncated.pcap", Conns: 1,
			Description: "A transfer whose file ends in the middle of its last record: handshake, a " +
				"300-byte request, then 5000 bytes of response of which the last data segment is cut " +
				"(its record header is whole, its data is not). Expected: readers report the file cut " +
				"short after 8 whole packets; the connection is still ESTABLISHED at the end.",
			Build: simple(Format{Truncate: true}, LinuxOpts(), func(k *Conn) {
				k.Handshake()
				k.Send(Client, 300)
				k.Write(Server, 5000)
			}),
		},
		{
			Name: "snapped", File: "snapped.pcap", Conns: 1,
			Description: "normal_exchange with a 20000-byte response, captured with snaplen 96: every " +
				"full-size frame is cut (caplen 96 < origlen), so payload lengths and byte counts must " +
				"come from the IP and TCP headers. Expected: 300 bytes client → server, 20000 bytes " +
				"server → client; client TIME_WAIT, server CLOSED.",
			Build: simple(Format{Snaplen: 96}, LinuxOpts(), func(k *Conn) {
				k.Handshake()
				k.Send(Client, 300)
				k.Send(Server, 20000)
				k.Close(Client)
			}),
		},
		{
			Name: "gzip", File: "gzip.pcap.gz", Conns: 1,
			Description: "normal_exchange in a gzip-compressed pcap. Expected: read like the " +
				"uncompressed file; client TIME_WAIT, server CLOSED.",
			Build: simple(Format{Gzip: true}, LinuxOpts(), func(k *Conn) {
				exchange(k)
				k.Close(Client)
			}),
		},
		{
			Name: "non_tcp_mix", File: "non_tcp_mix.pcap", Conns: 2,
			Description: "TCP among other traffic on Ethernet (short frames padded to 60 bytes): ARP " +
				"request and reply, a DNS query and answer over UDP, ICMP echo request and reply, an " +
				"ICMPv6 echo pair, a 3000-byte UDP datagram in three IPv4 fragments (MF/offset), and " +
				"two TCP connections: 192.0.2.10:41000 → :8001 (request, response, client closes " +
				"first) and 192.0.2.10:41001 → :8001 whose packets carry an IPv4 Record Route option " +
				"(request, response, server closes first). Expected: two TCP connections; " +
				"41000 client TIME_WAIT / server CLOSED, 41001 server TIME_WAIT / client CLOSED.",
			Build: buildNonTCPMix,
		},
		{
			Name: "seq_wrap", File: "seq_wrap.pcap", Conns: 1,
			Description: "Sequence numbers that wrap 2^32: client ISN 0xffffc000 sends 40000 bytes " +
				"(wrapping after 16383 bytes), server ISN 0xffffffff (its first data byte is " +
				"sequence 0) sends 30000 bytes; client closes first. Expected: 40000 and 30000 bytes, " +
				"no retransmission or out-of-order; client TIME_WAIT, server CLOSED.",
			Build: simple(Format{}, withISN(LinuxOpts(), 0xffffc000, 0xffffffff), func(k *Conn) {
				k.Handshake()
				k.Send(Client, 40000)
				k.Send(Server, 30000)
				k.Close(Client)
			}),
		},
	}
}

func withISN(o ConnOpts, client, server uint32) ConnOpts {
	o.ClientISN, o.ServerISN = seqnum.Value(client), seqnum.Value(server)
	return o
}

func withTiming(o ConnOpts, rtt, gap time.Duration) ConnOpts {
	o.RTT, o.Gap = rtt, gap
	return o
}

func buildPortReuse(w io.Writer) error {
	c := NewCapture(w, Format{})
	o := LinuxOpts()
	a1 := c.Conn(clientAP(41010), serverAP(), withISN(o, 1000000, 2000000))
	exchange(a1)
	a1.Close(Client)
	aEnd := c.Now()

	c.Advance(time.Second)
	b1 := c.Conn(clientAP(41011), serverAP(), withISN(o, 3000000, 4000000))
	exchange(b1)
	b1.Close(Server)
	c.Advance(time.Second)
	// A new SYN while the server holds the old connection in TIME_WAIT; its
	// ISN is above the old connection's last sequence number, so it is accepted.
	b2 := c.Conn(clientAP(41011), serverAP(), withISN(o, 3100000, 4100000))
	exchange(b2)
	b2.Close(Client)

	c.SetTime(aEnd.Add(70 * time.Second))
	a2 := c.Conn(clientAP(41010), serverAP(), withISN(o, 1900000000, 2900000000))
	exchange(a2)
	a2.Close(Client)
	return c.Close()
}

func buildIPv6(w io.Writer) error {
	c := NewCapture(w, Format{})
	o := LinuxOpts()
	o.ECN = true
	o.MSS = 1440
	// Router alert (type 5, value 0: MLD) in a hop-by-hop header.
	o.IPv6Ext = []IPv6Ext{{Type: IPv6HopByHop, Options: []byte{5, 2, 0, 0}}}
	k := c.Conn(client6(41000), server6(), o)
	exchange(k)
	k.Close(Client)
	c.Advance(100 * time.Millisecond)
	// An experimental option (type 0x1e, RFC 4727; skip if unknown) in a
	// destination-options header.
	o.IPv6Ext = []IPv6Ext{{Type: IPv6DestOpts, Options: []byte{0x1e, 4, 0xde, 0xad, 0xbe, 0xef}}}
	k = c.Conn(client6(41001), server6(), o)
	exchange(k)
	k.Close(Client)
	return c.Close()
}

func buildVLAN(w io.Writer) error {
	c := NewCapture(w, Format{})
	o := LinuxOpts()
	o.VLANs = []VLAN{{ID: 100, Priority: 5}}
	k := c.Conn(clientAP(41000), serverAP(), o)
	exchange(k)
	k.Close(Client)
	c.Advance(100 * time.Millisecond)
	o.VLANs = []VLAN{{TPID: TPID8021AD, ID: 200}, {TPID: TPID8021Q, ID: 300}}
	k = c.Conn(addr4(11, 41001), serverAP(), o)
	exchange(k)
	k.Close(Client)
	return c.Close()
}

func buildTwoFamilies(f Format, c4, s4, c6, s6 netip.AddrPort) func(io.Writer) error {
	return func(w io.Writer) error {
		c := NewCapture(w, f)
		k := c.Conn(c4, s4, LinuxOpts())
		exchange(k)
		k.Close(Client)
		c.Advance(100 * time.Millisecond)
		k = c.Conn(c6, s6, LinuxOpts())
		exchange(k)
		k.Close(Client)
		return c.Close()
	}
}

func buildPcapngTwo(w io.Writer) error {
	c := NewCapture(w, Format{
		NG:      true,
		Comment: "tcpflow-analyze test capture: one flow on an Ethernet interface, one on a Linux SLL2 interface",
		Interfaces: []Interface{
			{Link: LinkEthernet, Name: "eth0"},
			{Link: LinkSLL2, Name: "any", Nano: true},
		},
	})
	o := LinuxOpts()
	k0 := c.Conn(clientAP(41000), serverAP(), o)
	o.Iface = 1
	o.RTT = 7 * time.Millisecond
	o.Gap = 1234 * time.Nanosecond
	k1 := c.Conn(addr4(12, 41002), serverAP(), o)
	// Interleave the two conversations step by step.
	k0.Handshake()
	k1.Handshake()
	k0.Send(Client, 300)
	k1.Send(Client, 200)
	k0.Send(Server, 5000)
	k1.Send(Server, 3000)
	k1.Close(Client)
	k0.Close(Client)
	return c.Close()
}

func buildNonTCPMix(w io.Writer) error {
	c := NewCapture(w, Format{})
	cli, srv := clientAP(41000), serverAP()
	cliMAC, gwMAC := MACFor(cli.Addr()), MACFor(srv.Addr())
	gw := netip.AddrFrom4([4]byte{192, 0, 2, 1})
	dns := netip.AddrFrom4([4]byte{192, 0, 2, 53})
	eth := func(src, dst MAC) Link { return Link{Src: src, Dst: dst, Pad: true} }
	ip4 := func(src, dst netip.Addr, id uint16) *IP { return &IP{Src: src, Dst: dst, ID: id, DF: true} }

	c.ARP(0, eth(cliMAC, BroadcastMAC()), ARPRequest, cliMAC, cli.Addr(), MAC{}, gw)
	c.Advance(300 * time.Microsecond)
	c.ARP(0, eth(gwMAC, cliMAC), ARPReply, gwMAC, gw, cliMAC, cli.Addr())
	c.Advance(time.Millisecond)

	query := dnsMessage(false)
	c.UDP(0, eth(cliMAC, gwMAC), ip4(cli.Addr(), dns, 0x1001), 53000, 53, query)
	c.Advance(4 * time.Millisecond)
	c.UDP(0, eth(gwMAC, cliMAC), ip4(dns, cli.Addr(), 0x2001), 53, 53000, dnsMessage(true))
	c.Advance(time.Millisecond)

	o := LinuxOpts()
	o.Pad = true
	k := c.Conn(cli, srv, o)
	k.Handshake()
	c.Advance(time.Millisecond)

	ping := c.Payload(99, 0, 56)
	c.ICMPEcho(0, eth(cliMAC, gwMAC), ip4(cli.Addr(), srv.Addr(), 0x1002), false, 0x4242, 1, ping)
	c.Advance(10 * time.Millisecond)
	c.ICMPEcho(0, eth(gwMAC, cliMAC), ip4(srv.Addr(), cli.Addr(), 0x2002), true, 0x4242, 1, ping)
	c.Advance(time.Millisecond)

	k.Send(Client, 300)
	k.Send(Server, 5000)
	c.Advance(time.Millisecond)

	// A 3000-byte UDP datagram in three fragments of at most 1480 bytes.
	dgram := AppendUDP(nil, cli.Addr(), srv.Addr(), 41500, 8002, c.Payload(98, 0, 3000-8))
	c.IPv4Fragments(0, eth(cliMAC, gwMAC), ip4(cli.Addr(), srv.Addr(), 0x1003), ProtoUDP, dgram, 1480, 20*time.Microsecond)
	c.Advance(time.Millisecond)

	c6, s6 := client6(0).Addr(), server6().Addr()
	ping6 := c.Payload(97, 0, 32)
	c.ICMPEcho(0, eth(cliMAC, gwMAC), &IP{Src: c6, Dst: s6}, false, 0x4343, 1, ping6)
	c.Advance(10 * time.Millisecond)
	c.ICMPEcho(0, eth(gwMAC, cliMAC), &IP{Src: s6, Dst: c6}, true, 0x4343, 1, ping6)
	c.Advance(time.Millisecond)

	// Record Route with room for two addresses (length 11, pointer 4).
	o.IPOptions = []byte{7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0}
	k2 := c.Conn(clientAP(41001), srv, o)
	exchange(k2)
	k2.Close(Server)
	c.Advance(time.Millisecond)

	k.Close(Client)
	return c.Close()
}

// dnsMessage returns a DNS query for example.com/A, or its answer 192.0.2.80.
func dnsMessage(answer bool) []byte {
	m := []byte{0x1a, 0x2b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	if answer {
		m[2], m[3], m[7] = 0x81, 0x80, 1
	}
	m = append(m, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1)
	if answer {
		m = append(m, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4, 192, 0, 2, 80)
	}
	return m
}

// README returns the testdata/pcaps README listing the scenarios.
func README(ss []Scenario) []byte {
	var b bytes.Buffer
	b.WriteString("# Test captures\n\n")
	b.WriteString("Generated by `go run ./internal/cmd/gentestdata` from the scenarios in\n")
	b.WriteString("`internal/pcapgen`; do not edit these files by hand. `go test ./internal/pcapgen`\n")
	b.WriteString("fails when a file differs from what its scenario builds.\n\n")
	b.WriteString("Addresses are from the documentation prefixes (192.0.2.0/24, 198.51.100.0/24,\n")
	b.WriteString("2001:db8::/32), loopback, or 10.0.0.0/8 (the spoofed sources of syn_flood). The\n")
	b.WriteString("capture clock starts at 2024-01-02T03:04:05Z unless stated. Payload bytes are\n")
	b.WriteString("pseudo-random from a fixed seed; a retransmission repeats the original bytes.\n\n")
	b.WriteString("| File | TCP conns | What it shows |\n|---|---|---|\n")
	for _, s := range ss {
		fmt.Fprintf(&b, "| `%s` | %d | %s |\n", s.File, s.Conns, strings.ReplaceAll(s.Description, "|", "\\|"))
	}
	return b.Bytes()
}
