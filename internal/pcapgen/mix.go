package pcapgen

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// MixOptions sizes a capture written by WriteMix.
type MixOptions struct {
	// Packets is the number of packets to aim for, the flood included. The
	// ordinary connections are sized so that the total comes close to it.
	Packets int
	// Connections is the number of ordinary connections (the flood's spoofed
	// SYNs are counted apart, in FloodSources).
	Connections int
	// Concurrency is the number of connection slots: each slot runs its
	// connections one after the other, so at most this many are open at once
	// (the flood aside). 1000 when zero.
	Concurrency int
	// Think is the mean idle time of a slot between two of its connections
	// (exponentially distributed, in capture time); zero runs them back to back.
	// It sets the connection rate: about Concurrency / (Think + 60 ms) per second.
	Think time.Duration
	// Seed makes the capture: the same options give the same bytes.
	Seed uint64
	// FloodSources is the number of spoofed sources of a SYN flood against
	// 198.51.100.80:80, one SYN each, FloodRate a second, starting when a quarter
	// of the ordinary connections have started. The server answers each with a
	// SYN-ACK; one source in ten resets it, the others get the SYN-ACK again a
	// second later.
	FloodSources int
	// FloodRate is the flood's SYNs per second of capture time; 50000 when zero.
	FloodRate int
	// Loss is the probability that a data segment is lost (before or after the
	// capture point) or overtaken, so that a flight of k segments has a loss
	// event with probability about k·Loss. 0.002 when zero; negative for none.
	Loss float64
	// Reuse is the probability that a connection reuses the 4-tuple of one that
	// just closed, while it is still in TIME_WAIT. 0.01 when zero; negative for none.
	Reuse float64
	// The same traffic in the forms captures come in: NG writes pcapng
	// instead of pcap, IPv6 maps every address a.b.c.d to 2001:db8::a.b.c.d,
	// VLAN (1-4094; 0 for none) tags every Ethernet frame with that 802.1Q
	// VLAN, and Cooked frames the packets in Linux cooked v2 headers (as
	// tcpdump -i any writes them) instead of Ethernet. The connections, their
	// timing and their sequence numbers are those of the default form.
	NG, IPv6, Cooked bool
	VLAN             uint16
}

// MixStats tells what WriteMix wrote.
type MixStats struct {
	Packets     uint64 // every packet written
	Connections uint64 // ordinary connections (port reuse included)
	Bulk        uint64 // bulk transfers among them
	Refused     uint64 // connections answered by RST
	Aborted     uint64 // connections the client reset instead of closing
	Reused      uint64 // connections that reused a 4-tuple in TIME_WAIT
	LossEvents  uint64 // losses, drops before the capture point and reorderings
	FloodSYNs   uint64 // spoofed SYNs
	Duration    time.Duration
}

// Defaults of MixOptions.
const (
	defaultConcurrency = 1000
	defaultFloodRate   = 50000
	defaultLoss        = 0.002
	defaultReuse       = 0.01
)

func (o *MixOptions) normalize() error {
	if o.Packets < 0 || o.Connections < 0 || o.FloodSources < 0 || o.Concurrency < 0 || o.FloodRate < 0 || o.Think < 0 {
		return errors.New("mix: negative size")
	}
	if o.FloodSources > 1<<24 {
		return fmt.Errorf("mix: at most %d flood sources", 1<<24)
	}
	if o.VLAN > 4094 {
		return fmt.Errorf("mix: VLAN %d is not a VLAN identifier (1-4094)", o.VLAN)
	}
	if o.VLAN != 0 && o.Cooked {
		return errors.New("mix: a cooked capture has no VLAN tags")
	}
	if o.Concurrency == 0 {
		o.Concurrency = defaultConcurrency
	}
	if o.FloodRate == 0 {
		o.FloodRate = defaultFloodRate
	}
	switch {
	case o.Loss == 0:
		o.Loss = defaultLoss
	case o.Loss < 0:
		o.Loss = 0
	case o.Loss > 0.2:
		return fmt.Errorf("mix: loss %g above 0.2", o.Loss)
	}
	switch {
	case o.Reuse == 0:
		o.Reuse = defaultReuse
	case o.Reuse < 0:
		o.Reuse = 0
	}
	return nil
}

// WriteMix writes a pcap of realistic TCP traffic, deterministic in o.Seed:
// short HTTP-like connections (request, response, the client closes; some
// refused, some reset by the client), bulk transfers with loss before and after
// the capture point and reordering, 4-tuples reused in TIME_WAIT, and a SYN
// flood from spoofed sources. Connections run in Concurrency slots interleaved
// by a deterministic schedule on the capture clock, so memory stays bounded by
// Concurrency (and the flood's retransmission queue) whatever the size.
//
// Addresses: clients in 172.16.0.0/12, servers 198.51.100.1-8 on ports 80,
// 443 and 8080, flood sources in 10.0.0.0/8.
func WriteMix(w io.Writer, o MixOptions) (MixStats, error) {
	if err := o.normalize(); err != nil {
		return MixStats{}, err
	}
	m := newMixer(w, o)
	m.run()
	m.st.Duration = m.c.Now().Sub(m.start)
	err := m.c.Close()
	if err != nil {
		err = fmt.Errorf("mix: %w", err)
	}
	return m.st, err
}

// connKind is the shape of an ordinary connection.
type connKind uint8

const (
	kindNormal   connKind = iota // request, response, FIN-ACK-FIN-ACK
	kindCombined                 // request, response, FIN, FIN|ACK, ACK
	kindAborted                  // request, response, client RST
	kindRefused                  // SYN, RST|ACK
	kindBulk                     // request, long response in flights, normal close
)

// phase is where a connection's script stands.
type phase uint8

const (
	phSyn phase = iota
	phSynAck
	phRequest // ACK of the SYN-ACK and the request
	phFlight  // a flight of response data
	phAcks    // the client's ACKs of the flight
	phLossAcks
	phRetransmit
	phRetransmitAck
	phClose
	phCloseServer
	phCloseLast
	phRefuse
	phDone
)

// flightSegs is the number of segments per flight (the initial window).
const flightSegs = 10

// mixConn is one ordinary connection in progress.
type mixConn struct {
	k       *Conn
	slot    int
	due     int64 // capture time of the next step, ns since the start
	seq     uint64
	kind    connKind
	ph      phase
	tuple   [2]netip.AddrPort
	rtt     int64
	think   int64
	respLen int // response bytes still to send
	flight  int // segments of the current flight
	flightB int // bytes of the current flight
	ackBase seqnum.Value
	lost    Span
	lostRTO bool
	planned int // packets still planned
}

// floodEntry is one spoofed connection awaiting its reset or retransmission.
type floodEntry struct {
	due       int64
	src       netip.AddrPort
	isn, sisn seqnum.Value
}

// fifo is a queue of flood entries; due times are pushed in order.
type fifo struct {
	q    []floodEntry
	head int
}

func (f *fifo) push(e floodEntry) {
	if f.head > 0 && f.head == len(f.q) {
		f.q, f.head = f.q[:0], 0
	} else if f.head > 4096 && f.head*2 > len(f.q) {
		n := copy(f.q, f.q[f.head:])
		f.q, f.head = f.q[:n], 0
	}
	f.q = append(f.q, e)
}

func (f *fifo) peek() *floodEntry {
	if f.head < len(f.q) {
		return &f.q[f.head]
	}
	return nil
}

func (f *fifo) pop() { f.head++ }

// mixHeap orders connections by due time, then by sequence number.
type mixHeap []*mixConn

func (h mixHeap) less(i, j int) bool {
	if h[i].due != h[j].due {
		return h[i].due < h[j].due
	}
	return h[i].seq < h[j].seq
}

func (h *mixHeap) push(x *mixConn) {
	*h = append(*h, x)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *mixHeap) pop() *mixConn {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = nil
	s = s[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s.less(r, l) {
			m = r
		}
		if !s.less(m, i) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

type mixer struct {
	o     MixOptions
	c     *Capture
	r     splitmix
	start time.Time
	st    MixStats

	heap    mixHeap
	seq     uint64
	started int // ordinary connections started
	// committed is the packets written plus those planned for the open
	// connections and for the rest of the flood.
	committed int64

	recent [64][2]netip.AddrPort // 4-tuples of connections just closed
	nrec   int

	floodNext    int64 // capture time of the next flood SYN, -1 before it starts
	floodSent    int
	rstQ, rtxQ   fifo
	floodServer  netip.AddrPort
	floodIP      IP
	floodHdr     TCP
	floodEnabled bool
	vlans        []VLAN // the tag of every frame (MixOptions.VLAN)
}

// addr returns the address a.b.c.d in the capture's IP version: as it is,
// or 2001:db8::a.b.c.d (MixOptions.IPv6).
func (m *mixer) addr(a [4]byte) netip.Addr {
	if !m.o.IPv6 {
		return netip.AddrFrom4(a)
	}
	return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 12: a[0], 13: a[1], 14: a[2], 15: a[3]})
}

func newMixer(w io.Writer, o MixOptions) *mixer {
	m := &mixer{o: o, r: splitmix{x: o.Seed ^ 0x6d69785f67656e21}, floodNext: -1}
	f := Format{Seed: o.Seed, NG: o.NG}
	if o.Cooked {
		f.Link = LinkSLL2
	}
	m.c = NewCapture(w, f)
	m.start = m.c.Now()
	if o.VLAN != 0 {
		m.vlans = []VLAN{{ID: o.VLAN}}
	}
	m.floodServer = netip.AddrPortFrom(m.addr([4]byte{198, 51, 100, 80}), 80)
	m.floodEnabled = o.FloodSources > 0
	// Each flood source costs three packets: SYN, SYN-ACK, then RST or the
	// SYN-ACK again.
	m.committed = 3 * int64(o.FloodSources)
	return m
}

// now returns the capture clock in ns since the start.
func (m *mixer) now() int64 { return int64(m.c.Now().Sub(m.start)) }

// at moves the clock to t unless it is already later.
func (m *mixer) at(t int64) {
	if t > m.now() {
		m.c.SetTime(m.start.Add(time.Duration(t)))
	}
}

func (m *mixer) rand(n int) int { return int(m.r.next() % uint64(n)) }
func (m *mixer) chance(p float64) bool {
	return p > 0 && float64(m.r.next()>>11)/(1<<53) < p
}

// expo returns an exponentially distributed duration of mean mean.
func (m *mixer) expo(mean int64) int64 {
	u := float64(m.r.next()>>11)/(1<<53) + 1e-12
	return int64(-float64(mean) * math.Log(u))
}

func (m *mixer) run() {
	for s := 0; s < m.o.Concurrency && m.started < m.o.Connections; s++ {
		// Slots start spread over the first 10 ms.
		m.startConn(s, int64(m.rand(10_000))*1000)
	}
	if m.floodEnabled && m.o.Connections == 0 {
		m.floodNext = 0
	}
	for {
		t, src := int64(-1), 0
		if len(m.heap) > 0 {
			t, src = m.heap[0].due, 1
		}
		if m.floodNext >= 0 && m.floodSent < m.o.FloodSources && (src == 0 || m.floodNext < t) {
			t, src = m.floodNext, 2
		}
		if e := m.rstQ.peek(); e != nil && (src == 0 || e.due < t) {
			t, src = e.due, 3
		}
		if e := m.rtxQ.peek(); e != nil && (src == 0 || e.due < t) {
			t, src = e.due, 4
		}
		if src == 0 || m.c.Err() != nil {
			return
		}
		m.at(t)
		switch src {
		case 1:
			k := m.heap.pop()
			if m.step(k) {
				m.heap.push(k)
			}
		case 2:
			m.floodSYN()
		case 3:
			e := m.rstQ.q[m.rstQ.head]
			m.rstQ.pop()
			m.floodRST(&e)
		case 4:
			e := m.rtxQ.q[m.rtxQ.head]
			m.rtxQ.pop()
			m.floodSynAck(&e)
		}
	}
}

// budget returns the packets the next connection should have for the total
// to come out at o.Packets.
func (m *mixer) budget() float64 {
	left := m.o.Connections - m.started
	if left <= 0 {
		return 10
	}
	return float64(int64(m.o.Packets)-m.committed) / float64(left)
}

// bulkShare returns the share of bulk transfers for a packet budget of b per
// connection: a few when the budget hardly covers short connections (ten
// packets each), more as it grows.
func bulkShare(b float64) float64 {
	switch {
	case b < 12:
		return 0.002
	case b < 40:
		return 0.01
	}
	return 0.03
}

// flightPackets returns the packets of a response of n segments sent in
// flights: each flight's segments and one ACK per two of them.
func flightPackets(n int) int {
	p := 0
	for n > 0 {
		k := min(n, flightSegs)
		p += k + (k+1)/2
		n -= k
	}
	return p
}

// segsFor returns the response segments whose flights make about p packets.
func segsFor(p float64) int {
	return max(1, int(p/1.5+0.5))
}

// startConn opens the next ordinary connection of slot at time t.
func (m *mixer) startConn(slot int, t int64) {
	i := m.started
	m.started++
	m.st.Connections++
	k := &mixConn{slot: slot, due: t, seq: m.seq}
	m.seq++

	// Round-trip times: a LAN, a region, another continent.
	switch u := m.rand(10); {
	case u < 4:
		k.rtt = int64(100+m.rand(900)) * 1000
	case u < 8:
		k.rtt = int64(5+m.rand(25)) * 1e6
	default:
		k.rtt = int64(50+m.rand(100)) * 1e6
	}
	k.think = int64(m.rand(5000)) * 1000

	reuse := false
	if m.nrec > 0 && m.chance(m.o.Reuse) {
		// Take the tuple out of the ring, so that no two open connections share it.
		j := m.rand(min(m.nrec, len(m.recent)))
		if m.recent[j][0].IsValid() {
			k.tuple, m.recent[j] = m.recent[j], [2]netip.AddrPort{}
			reuse = true
			m.st.Reused++
		}
	}
	if !reuse {
		// Client i: a distinct address for each of the first 2^20, then the
		// next port; a multiplicative permutation scatters them.
		a := uint32(i) * 0x9e3b5 & (1<<20 - 1)
		port := uint16(32768 + (i>>20)%28000)
		k.tuple[0] = netip.AddrPortFrom(m.addr([4]byte{172, 16 | byte(a>>16), byte(a >> 8), byte(a)}), port)
		srv := m.rand(8)
		sport := [3]uint16{80, 443, 8080}[m.rand(3)]
		k.tuple[1] = netip.AddrPortFrom(m.addr([4]byte{198, 51, 100, byte(1 + srv)}), sport)
	}

	// Size the connection to the packet budget.
	b := m.budget()
	reqSegs := 1
	switch {
	case m.chance(0.01):
		k.kind = kindRefused
		k.planned = 2
	case m.chance(bulkShare(b)):
		k.kind = kindBulk
		p := max(100, 25*b)
		p = p * (0.5 + float64(m.rand(1000))/1000) // 0.5..1.5 of it
		// Near the end of a small capture, a bulk transfer takes at most a
		// quarter of what is left.
		p = max(30, min(p, float64(int64(m.o.Packets)-m.committed)/4))
		segs := segsFor(p - 8)
		k.respLen = segs * 1448
		k.planned = 3 + reqSegs + flightPackets(segs) + 4
		m.st.Bulk++
	default:
		// short: 7 (aborted), 9 (combined close) or 10+ packets (normal close).
		switch {
		case b < 7:
			if m.chance((7 - b) / 5) {
				k.kind, k.planned = kindRefused, 2
			} else {
				k.kind = kindAborted
			}
		case b < 9:
			if m.chance((9 - b) / 2) {
				k.kind = kindAborted
			} else {
				k.kind = kindCombined
			}
		case b < 10:
			if m.chance(10 - b) {
				k.kind = kindCombined
			} else {
				k.kind = kindNormal
			}
		default:
			k.kind = kindNormal
			if m.chance(0.03) {
				k.kind = kindAborted
			}
		}
		if k.kind != kindRefused {
			segs := 1
			if b > 10 {
				// Spread the extra packets uniformly over 0..2× their mean.
				extra := (b - 10) * float64(m.rand(2001)) / 1000
				segs = segsFor(2 + extra)
			}
			// A response ends with a partial segment.
			k.respLen = (segs-1)*1448 + 100 + m.rand(1300)
			k.planned = 3 + reqSegs + flightPackets(segs)
			switch k.kind {
			case kindNormal:
				k.planned += 4
			case kindCombined:
				k.planned += 3
			case kindAborted:
				k.planned++
			}
		}
	}
	if k.kind == kindRefused {
		m.st.Refused++
	}
	if k.kind == kindAborted {
		m.st.Aborted++
	}
	m.committed += int64(k.planned)

	o := LinuxOpts()
	o.RTT = time.Duration(k.rtt)
	o.ClientISN = seqnum.Value(m.r.next())
	o.ServerISN = seqnum.Value(m.r.next())
	if o.ClientISN == 0 {
		o.ClientISN = 1
	}
	if o.ServerISN == 0 {
		o.ServerISN = 1
	}
	o.ClientMAC = MAC{0x02, 0x00, 0xac, 0x10, 0x00, 0x01}
	o.ServerMAC = MAC{0x02, 0x00, 0xc6, 0x33, 0x64, 0x01}
	o.VLANs = m.vlans
	k.k = m.c.Conn(k.tuple[0], k.tuple[1], o)
	m.heap.push(k)
}

// wrote accounts for n packets written by connection k.
func (m *mixer) wrote(k *mixConn, n int) {
	m.st.Packets += uint64(n)
	k.planned -= n
}

// extra accounts for n packets that k's plan did not foresee.
func (m *mixer) extra(k *mixConn, n int) {
	m.committed += int64(n)
	k.planned += n
}

// step writes the next packets of k and reports whether it has more.
func (m *mixer) step(k *mixConn) bool {
	c := k.k
	half := k.rtt / 2
	switch k.ph {
	case phSyn:
		c.Syn()
		m.wrote(k, 1)
		k.ph = phSynAck
		if k.kind == kindRefused {
			k.ph = phRefuse
		}
		k.due = m.now() + half
	case phRefuse:
		c.Refuse()
		m.wrote(k, 1)
		return m.done(k)
	case phSynAck:
		c.SynAck()
		m.wrote(k, 1)
		k.ph = phRequest
		k.due = m.now() + half
	case phRequest:
		c.Ack(Client)
		c.Data(Client, 80+m.rand(500))
		m.wrote(k, 2)
		k.ph = phFlight
		k.due = m.now() + half + k.think
	case phFlight:
		m.flight(k)
	case phAcks:
		// One ACK per two segments and one for the last, each for the data
		// up to its segment.
		seg := c.SegmentSize()
		for i := 1; i <= k.flight; i++ {
			if i%2 == 0 || i == k.flight {
				c.Raw(Client, segment.ACK, c.NextSeq(Client), k.ackBase.Add(seqnum.Size(min(i*seg, k.flightB))), nil)
				m.wrote(k, 1)
			}
		}
		m.afterFlight(k)
	case phLossAcks:
		// The first ACK moves up to the hole, three more repeat it with SACK.
		c.DupAck(Client, 4)
		m.wrote(k, 4)
		k.ph = phRetransmit
		k.due = m.now() + half
		if k.lostRTO {
			k.due = m.now() + 200e6 + k.rtt
		}
	case phRetransmit:
		c.Retransmit(k.lost)
		m.wrote(k, 1)
		k.ph = phRetransmitAck
		k.due = m.now() + half
	case phRetransmitAck:
		c.Ack(Client)
		m.wrote(k, 1)
		m.afterFlight(k)
	case phClose:
		switch k.kind {
		case kindAborted:
			c.Reset(Client)
			m.wrote(k, 1)
			return m.done(k)
		default:
			c.Fin(Client)
			m.wrote(k, 1)
			k.ph = phCloseServer
			k.due = m.now() + half
		}
	case phCloseServer:
		if k.kind == kindCombined {
			c.Fin(Server)
			m.wrote(k, 1)
		} else {
			c.Ack(Server)
			c.Fin(Server)
			m.wrote(k, 2)
		}
		k.ph = phCloseLast
		k.due = m.now() + half
	case phCloseLast:
		c.Ack(Client)
		m.wrote(k, 1)
		return m.done(k)
	}
	return true
}

// afterFlight schedules the next flight or the close.
func (m *mixer) afterFlight(k *mixConn) {
	k.due = m.now() + k.rtt/2
	if k.respLen > 0 {
		k.ph = phFlight
		return
	}
	k.ph = phClose
	k.due = m.now() + int64(m.rand(1000))*1000
}

// flight writes the next flight of the response, with a loss event now and
// then: a segment lost after the capture point (retransmitted after four ACKs,
// or after an RTO when too few segments follow it), a segment lost before it
// (a gap, then its retransmission), or two segments swapped.
func (m *mixer) flight(k *mixConn) {
	c := k.k
	seg := c.SegmentSize()
	n := min((k.respLen+seg-1)/seg, flightSegs)
	bytes := min(k.respLen, n*seg)
	k.respLen -= bytes
	k.flight, k.flightB = n, bytes
	k.ackBase = c.NextSeq(Server)
	k.due = m.now() + k.rtt/2
	if m.chance(m.o.Loss * float64(n)) {
		m.st.LossEvents++
		at := m.rand(n) // the segment it happens to
		pre := at * seg
		size := min(seg, bytes-pre)
		post := bytes - pre - size
		if pre > 0 {
			c.Write(Server, pre)
		}
		switch ev := m.rand(3); {
		case ev == 2 && post > 0:
			// Reordering: the segment arrives after the next one.
			n2 := min(seg, post)
			c.Reorder(Server, size, n2)
			if post > n2 {
				c.Write(Server, post-n2)
			}
			m.wrote(k, n)
			k.ph = phAcks
			return
		case ev == 1:
			// The retransmission takes the planned place of the dropped segment.
			k.lost = c.Drop(Server, size)
			m.wrote(k, n-1)
		default:
			k.lost = c.Lose(Server, size)
			m.wrote(k, n)
			m.extra(k, 1) // its retransmission
		}
		if post > 0 {
			c.Write(Server, post)
		}
		// Planned: (n+1)/2 ACKs. Now: four ACKs and the ACK of the retransmission.
		m.extra(k, 4+1-(n+1)/2)
		k.lostRTO = post < 3*seg
		k.ph = phLossAcks
		return
	}
	c.Write(Server, bytes)
	m.wrote(k, n)
	k.ph = phAcks
}

// done retires k: its 4-tuple may be reused, its slot starts the next
// connection after the think time.
func (m *mixer) done(k *mixConn) bool {
	m.committed -= int64(k.planned) // correct any drift from the plan
	if k.kind != kindRefused {
		m.recent[m.nrec%len(m.recent)] = k.tuple
		m.nrec++
	}
	if m.floodEnabled && m.floodNext < 0 && m.started >= m.o.Connections/4 {
		m.floodNext = m.now()
	}
	if m.started < m.o.Connections {
		t := m.now() + int64(m.rand(1000))*1000
		if m.o.Think > 0 {
			t += m.expo(int64(m.o.Think))
		}
		m.startConn(k.slot, t)
	}
	return false
}

// floodSource returns spoofed source i: a permutation of 10.0.0.0/8, so the
// first 2^24 sources are distinct.
func (m *mixer) floodSource(i int) netip.AddrPort {
	a := (uint32(i)*0x5bd1e9 + uint32(m.o.Seed)) & (1<<24 - 1)
	port := uint16(1024 + (uint32(i)*2654435761>>8)%64000)
	return netip.AddrPortFrom(m.addr([4]byte{10, byte(a >> 16), byte(a >> 8), byte(a)}), port)
}

// floodPacket writes one packet between spoofed source src and the flood server.
func (m *mixer) floodPacket(src netip.AddrPort, fromServer bool, flags segment.Flags, seq, ack seqnum.Value) {
	a, b := src, m.floodServer
	l := Link{Src: MAC{0x02, 0x00, 0x0a, 0, 0, 1}, Dst: MAC{0x02, 0x00, 0xc6, 0x33, 0x64, 0x50}, VLANs: m.vlans}
	if fromServer {
		a, b = b, a
		l.Src, l.Dst = l.Dst, l.Src
	}
	ip := &m.floodIP
	*ip = IP{Src: a.Addr(), Dst: b.Addr(), TTL: 64, ID: uint16(seq)}
	h := &m.floodHdr
	*h = TCP{SrcPort: a.Port(), DstPort: b.Port(), Seq: seq, Ack: ack, Flags: flags, Window: 512}
	if flags&segment.SYN != 0 {
		h.Opts.MSS, h.Opts.HasMSS = 1460, true
		if fromServer {
			h.Window = 64240
			h.Opts.SACKPermitted = true
			h.Opts.WScale, h.Opts.HasWScale = 7, true
		}
	}
	if flags&segment.RST != 0 {
		h.Window = 0
	}
	m.c.TCP(0, l, ip, h, nil)
	m.st.Packets++ // already in committed, from newMixer
}

// floodSYN writes the next spoofed SYN and its SYN-ACK.
func (m *mixer) floodSYN() {
	i := m.floodSent
	m.floodSent++
	m.st.FloodSYNs++
	e := floodEntry{src: m.floodSource(i), isn: seqnum.Value(m.r.next()), sisn: seqnum.Value(m.r.next())}
	m.floodPacket(e.src, false, segment.SYN, e.isn, 0)
	m.c.Advance(100 * time.Microsecond)
	m.floodSynAck(&e)
	now := m.now()
	if i%10 == 9 {
		// The real owner of the address did not send the SYN: it resets.
		e.due = now + 1e6
		m.rstQ.push(e)
	} else {
		e.due = now + 1e9
		m.rtxQ.push(e)
	}
	m.floodNext += int64(1e9) / int64(m.o.FloodRate)
}

func (m *mixer) floodSynAck(e *floodEntry) {
	m.floodPacket(e.src, true, segment.SYN|segment.ACK, e.sisn, e.isn+1)
}

func (m *mixer) floodRST(e *floodEntry) {
	m.floodPacket(e.src, false, segment.RST, e.sisn+1, 0)
}
