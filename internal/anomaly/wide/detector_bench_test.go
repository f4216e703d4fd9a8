package wide

import (
	"net/netip"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// benchPeers returns n clients and 64 servers.
func benchPeers(n int) (clients, servers []netip.AddrPort) {
	clients = make([]netip.AddrPort, n)
	for i := range clients {
		clients[i] = netip.AddrPortFrom(host(1<<16+i), uint16(1024+i%60000))
	}
	servers = make([]netip.AddrPort, 64)
	for i := range servers {
		servers[i] = netip.AddrPortFrom(host(i), 443)
	}
	return clients, servers
}

// BenchmarkEvents feeds each per-connection event of the capture-wide
// detectors at 20 k connections a second of capture time.
func BenchmarkEvents(b *testing.B) {
	clients, servers := benchPeers(1 << 14)
	events := []struct {
		name string
		fn   func(d *Detector, i int, t int64)
	}{
		{"SYN", func(d *Detector, i int, t int64) {
			d.SYN(t, clients[i%len(clients)], servers[i%len(servers)], uint64(i))
		}},
		{"Handshake", func(d *Detector, i int, t int64) {
			d.Handshake(t, clients[i%len(clients)], servers[i%len(servers)])
		}},
		{"TimeWait", func(d *Detector, i int, t int64) {
			d.TimeWait(t, clients[i%len(clients)], servers[i%len(servers)], true, uint64(i), uint64(i))
		}},
		{"RST", func(d *Detector, i int, t int64) {
			d.RST(t, servers[i%len(servers)], clients[i%len(clients)], uint64(i))
		}},
	}
	for _, ev := range events {
		b.Run(ev.name, func(b *testing.B) {
			d := New(DefaultConfig())
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				ev.fn(d, i, t0+int64(i)*50_000)
				i++
			}
		})
	}
}

// BenchmarkFlowEnd is the per-flow cost of the scan and idle detectors.
func BenchmarkFlowEnd(b *testing.B) {
	clients, servers := benchPeers(1 << 14)
	flows := make([]report.Flow, len(clients))
	for i := range flows {
		flows[i] = report.Flow{ID: uint64(i), Orig: clients[i].String(), Resp: servers[i%len(servers)].String(),
			ConnState: "SF", Start: report.Time(t0 + int64(i)*50_000), End: report.Time(t0 + int64(i)*50_000 + 1e7),
			OrigPackets: 5, RespPackets: 5, OrigBytes: 300, RespBytes: 5000}
	}
	d := New(DefaultConfig())
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f := &flows[i%len(flows)]
		f.Start = report.Time(t0 + int64(i)*50_000)
		f.End = f.Start + 1e7
		d.FlowEnd(f)
		i++
	}
}

// BenchmarkNewClients is one connection's events (SYN, handshake,
// TIME_WAIT, end) from a new client each time, 10 k connections a second of
// capture time, against 24 servers: a busy server's capture, where every key
// of the per-client detectors is new.
func BenchmarkNewClients(b *testing.B) {
	servers := make([]netip.AddrPort, 24)
	for i := range servers {
		servers[i] = netip.AddrPortFrom(host(i), []uint16{80, 443, 8080}[i%3])
	}
	d := New(DefaultConfig())
	f := report.Flow{ConnState: "SF", OrigPackets: 5, RespPackets: 5, OrigBytes: 300, RespBytes: 5000}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		t := t0 + int64(i)*100_000
		c := netip.AddrPortFrom(host(1<<16+i%(1<<20)), 32768)
		s := servers[i%len(servers)]
		d.SYN(t, c, s, uint64(i))
		d.Handshake(t+1e6, c, s)
		d.TimeWait(t+5e6, c, s, true, uint64(i), uint64(i))
		f.ID, f.Start, f.End = uint64(i), report.Time(t), report.Time(t+5e6)
		d.FlowEndAt(&f, c, s)
		i++
	}
}
