package pcapgen

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// seg is what the tests read back from a written Ethernet/IPv4 capture.
type seg struct {
	t        time.Duration
	srcPort  uint16
	seq, ack uint32
	flags    segment.Flags
	win      uint16
	n        int
	sack     int // number of SACK blocks
}

// readSegs parses a little-endian µs pcap of Ethernet/IPv4/TCP frames written
// without snapping, with just enough code to check the builder.
func readSegs(t *testing.T, b []byte) []seg {
	t.Helper()
	var out []seg
	start := DefaultStart()
	for b = b[24:]; len(b) > 0; {
		sec, usec := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
		n := int(binary.LittleEndian.Uint32(b[8:]))
		f := b[16 : 16+n]
		b = b[16+n:]
		ip := f[14:]
		ihl := int(ip[0]&15) * 4
		tcp := ip[ihl:binary.BigEndian.Uint16(ip[2:])]
		off := int(tcp[12]>>4) * 4
		s := seg{
			t:       time.Unix(int64(sec), int64(usec)*1000).Sub(start),
			srcPort: binary.BigEndian.Uint16(tcp),
			seq:     binary.BigEndian.Uint32(tcp[4:]),
			ack:     binary.BigEndian.Uint32(tcp[8:]),
			flags:   segment.Flags(tcp[13]) | segment.Flags(tcp[12]&1)<<8,
			win:     binary.BigEndian.Uint16(tcp[14:]),
			n:       len(tcp) - off,
		}
		for o := tcp[20:off]; len(o) > 0; {
			if o[0] <= 1 {
				o = o[1:]
				continue
			}
			if o[0] == OptSACK {
				s.sack = (int(o[1]) - 2) / 8
			}
			o = o[o[1]:]
		}
		out = append(out, s)
	}
	return out
}

func TestHandshakeSendClose(t *testing.T) {
	var b bytes.Buffer
	c := NewCapture(&b, Format{})
	o := LinuxOpts()
	o.ClientISN, o.ServerISN = 1000, 0x7ffffff0
	o.RTT = 10 * time.Millisecond
	k := c.Conn(clientAP(41000), serverAP(), o)
	k.Handshake()
	k.Send(Client, 100)
	k.Send(Server, 3*1448)
	k.Close(Server)
	must(t, c.Close())
	got := readSegs(t, b.Bytes())
	const C, S = 41000, 8001
	A := segment.ACK
	want := []seg{
		{0, C, 1000, 0, segment.SYN, 64240, 0, 0},
		{5 * time.Millisecond, S, 0x7ffffff0, 1001, segment.SYN | A, 64240, 0, 0},
		{10 * time.Millisecond, C, 1001, 0x7ffffff1, A, 501, 0, 0},
		{10*time.Millisecond + 20*time.Microsecond, C, 1001, 0x7ffffff1, A | segment.PSH, 501, 100, 0},
		{15*time.Millisecond + 20*time.Microsecond, S, 0x7ffffff1, 1101, A, 501, 0, 0},
		{15*time.Millisecond + 40*time.Microsecond, S, 0x7ffffff1, 1101, A, 501, 1448, 0},
		{15*time.Millisecond + 60*time.Microsecond, S, 0x7ffffff1 + 1448, 1101, A, 501, 1448, 0},
		{15*time.Millisecond + 80*time.Microsecond, S, 0x7ffffff1 + 2896, 1101, A | segment.PSH, 501, 1448, 0},
		{20*time.Millisecond + 80*time.Microsecond, C, 1101, 0x7ffffff1 + 2896, A, 501, 0, 0},
		{20*time.Millisecond + 100*time.Microsecond, C, 1101, 0x7ffffff1 + 4344, A, 501, 0, 0},
		{25*time.Millisecond + 100*time.Microsecond, S, 0x7ffffff1 + 4344, 1101, segment.FIN | A, 501, 0, 0},
		{30*time.Millisecond + 100*time.Microsecond, C, 1101, 0x7ffffff1 + 4345, A, 501, 0, 0},
		{30*time.Millisecond + 120*time.Microsecond, C, 1101, 0x7ffffff1 + 4345, segment.FIN | A, 501, 0, 0},
		{35*time.Millisecond + 120*time.Microsecond, S, 0x7ffffff1 + 4345, 1102, A, 501, 0, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("%d segments, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("segment %d:\n got %+v\nwant %+v", i+1, got[i], want[i])
		}
	}
	if k.NextSeq(Server) != seqnum.Value(0x7ffffff1+4345) || k.RcvNxt(Client) != k.NextSeq(Server) {
		t.Errorf("bookkeeping: server next %d, client expects %d", k.NextSeq(Server), k.RcvNxt(Client))
	}
}

func TestLossAndSACK(t *testing.T) {
	var b bytes.Buffer
	c := NewCapture(&b, Format{})
	o := LinuxOpts()
	o.ClientISN, o.ServerISN = 100, 200
	k := c.Conn(clientAP(41000), serverAP(), o)
	ss := k.SegmentSize()
	k.Data(Server, ss)
	lost := k.Lose(Server, ss)
	hole := k.Drop(Server, ss)
	k.Data(Server, ss)
	k.Ack(Client)
	k.Retransmit(lost)
	k.Ack(Client)
	k.Retransmit(hole)
	k.Ack(Client)
	must(t, c.Close())
	got := readSegs(t, b.Bytes())
	base := uint32(201)
	acks := []struct {
		i    int
		ack  uint32
		sack int
	}{{3, base + uint32(ss), 1}, {5, base + 2*uint32(ss), 1}, {7, base + 4*uint32(ss), 0}}
	if len(got) != 8 {
		t.Fatalf("%d segments: %+v", len(got), got)
	}
	for _, a := range acks {
		if got[a.i].ack != a.ack || got[a.i].sack != a.sack {
			t.Errorf("ACK %d: ack %d with %d SACK blocks, want %d with %d", a.i, got[a.i].ack, got[a.i].sack, a.ack, a.sack)
		}
	}
	if got[4].seq != uint32(lost.Seq) || got[6].seq != uint32(hole.Seq) || got[4].n != ss {
		t.Errorf("retransmissions at %d and %d, want %d and %d", got[4].seq, got[6].seq, lost.Seq, hole.Seq)
	}
}

func TestSimultaneousOpenAndClose(t *testing.T) {
	var b bytes.Buffer
	c := NewCapture(&b, Format{})
	o := ConnOpts{ClientISN: 10, ServerISN: 20}
	k := c.Conn(clientAP(41000), serverAP(), o)
	k.SimultaneousOpen()
	k.SimultaneousClose()
	must(t, c.Close())
	got := readSegs(t, b.Bytes())
	A, F, S := segment.ACK, segment.FIN, segment.SYN
	want := []struct {
		seq, ack uint32
		flags    segment.Flags
	}{
		{10, 0, S}, {20, 0, S}, {10, 21, S | A}, {20, 11, S | A},
		{11, 21, F | A}, {21, 11, F | A}, {12, 22, A}, {22, 12, A},
	}
	if len(got) != len(want) {
		t.Fatalf("%d segments", len(got))
	}
	for i, w := range want {
		if got[i].seq != w.seq || got[i].ack != w.ack || got[i].flags != w.flags {
			t.Errorf("segment %d: %d/%d %v, want %d/%d %v", i+1, got[i].seq, got[i].ack, got[i].flags, w.seq, w.ack, w.flags)
		}
	}
	// The crossing packets follow each other by Gap.
	if d := got[1].t - got[0].t; d != 20*time.Microsecond {
		t.Errorf("crossing SYNs %v apart", d)
	}
}

func TestSynRetriesBackoff(t *testing.T) {
	var b bytes.Buffer
	c := NewCapture(&b, Format{})
	k := c.Conn(clientAP(41000), serverAP(), ConnOpts{})
	k.Syn()
	k.SynRetries(3, time.Second)
	must(t, c.Close())
	got := readSegs(t, b.Bytes())
	for i, want := range []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second} {
		if got[i].t != want || got[i].flags != segment.SYN || got[i].seq != got[0].seq {
			t.Errorf("SYN %d at %v (%v seq %d)", i, got[i].t, got[i].flags, got[i].seq)
		}
	}
}

func TestSequenceWrap(t *testing.T) {
	c := NewCapture(io.Discard, Format{})
	k := c.Conn(clientAP(41000), serverAP(), ConnOpts{ClientISN: 0xffffff00})
	k.Send(Client, 1000)
	if got := k.NextSeq(Client); got != seqnum.Value(0xffffff01+1000-1<<32) {
		t.Errorf("next sequence %#x", uint32(got))
	}
	if k.RcvNxt(Server) != k.NextSeq(Client) {
		t.Errorf("server expects %#x", uint32(k.RcvNxt(Server)))
	}
	must(t, c.Close())
}

func TestReceiveBlocks(t *testing.T) {
	e := endpoint{rcvNxt: 100}
	e.receive(200, 300)
	e.receive(400, 500)
	e.receive(300, 400) // joins both blocks
	if e.nblocks != 1 || e.blocks[0] != (segment.Block{Left: 200, Right: 500}) {
		t.Fatalf("blocks %v", e.blocks[:e.nblocks])
	}
	e.receive(600, 700)
	if e.blocks[0].Left != 600 {
		t.Errorf("most recent block not first: %v", e.blocks[:e.nblocks])
	}
	e.receive(50, 150) // fills the hole up to 150 only
	if e.rcvNxt != 150 || e.nblocks != 2 {
		t.Errorf("rcvNxt %d blocks %v", e.rcvNxt, e.blocks[:e.nblocks])
	}
	e.receive(150, 200)
	if e.rcvNxt != 500 || e.nblocks != 1 {
		t.Errorf("rcvNxt %d blocks %v", e.rcvNxt, e.blocks[:e.nblocks])
	}
	e.receive(100, 200) // duplicate
	if e.rcvNxt != 500 {
		t.Errorf("duplicate moved rcvNxt to %d", e.rcvNxt)
	}
}

func TestSendDoesNotAllocate(t *testing.T) {
	c := NewCapture(io.Discard, Format{})
	k := c.Conn(clientAP(41000), serverAP(), LinuxOpts())
	k.Handshake()
	k.Send(Server, 64<<10) // warm up buffers
	allocs := testing.AllocsPerRun(20, func() { k.Send(Server, 64<<10) })
	if allocs != 0 {
		t.Errorf("Send allocates %.1f times per call", allocs)
	}
	must(t, c.Close())
}

// BenchmarkSend measures the writer at full speed: a bulk transfer with ACKs.
func BenchmarkSend(b *testing.B) {
	c := NewCapture(io.Discard, Format{})
	k := c.Conn(clientAP(41000), serverAP(), LinuxOpts())
	k.Handshake()
	const n = 1 << 20
	per := (n+k.SegmentSize()-1)/k.SegmentSize()*3/2 + 1
	b.SetBytes(n)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		k.Send(Server, n)
	}
	b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "packets/s")
	if err := c.Close(); err != nil {
		b.Fatal(err)
	}
}
