package pcapgen

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"
)

func TestPcapHeader(t *testing.T) {
	tests := []struct {
		name string
		o    PcapOptions
		want string
	}{
		{"micro little", PcapOptions{Link: LinkEthernet}, "d4c3b2a1 0200 0400 00000000 00000000 00000400 01000000"},
		{"micro big", PcapOptions{Link: LinkEthernet, BigEndian: true}, "a1b2c3d4 0002 0004 00000000 00000000 00040000 00000001"},
		{"nano little", PcapOptions{Link: LinkSLL2, Nano: true, Snaplen: 96}, "4d3cb2a1 0200 0400 00000000 00000000 60000000 14010000"},
		{"nano big", PcapOptions{Link: LinkRaw, Nano: true, BigEndian: true, Snaplen: 65535}, "a1b23c4d 0002 0004 00000000 00000000 0000ffff 00000065"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if _, err := NewPcapWriter(&b, tt.o); err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tt.want); !bytes.Equal(b.Bytes(), want) {
				t.Errorf("header\n got %x\nwant %x", b.Bytes(), want)
			}
		})
	}
}

func TestPcapRecords(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC)
	frame := bytes.Repeat([]byte{0xab}, 100)
	for _, nano := range []bool{false, true} {
		for _, big := range []bool{false, true} {
			var b bytes.Buffer
			w, err := NewPcapWriter(&b, PcapOptions{Nano: nano, BigEndian: big, Snaplen: 64})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WritePacket(ts, frame); err != nil {
				t.Fatal(err)
			}
			if err := w.WritePacket(ts, frame[:10]); err != nil {
				t.Fatal(err)
			}
			var order binary.ByteOrder = binary.LittleEndian
			if big {
				order = binary.BigEndian
			}
			r := b.Bytes()[24:]
			frac := uint32(123456)
			if nano {
				frac = 123456789
			}
			if sec, f := order.Uint32(r), order.Uint32(r[4:]); sec != uint32(ts.Unix()) || f != frac {
				t.Errorf("nano=%v big=%v: ts %d.%d", nano, big, sec, f)
			}
			if incl, orig := order.Uint32(r[8:]), order.Uint32(r[12:]); incl != 64 || orig != 100 {
				t.Errorf("nano=%v big=%v: caplen %d origlen %d, want 64 100", nano, big, incl, orig)
			}
			r = r[16+64:]
			if incl, orig := order.Uint32(r[8:]), order.Uint32(r[12:]); incl != 10 || orig != 10 || len(r) != 26 {
				t.Errorf("short record: caplen %d origlen %d rest %d", incl, orig, len(r))
			}
		}
	}
}

// block is one pcapng block, read back independently of the writer.
type block struct {
	typ  uint32
	body []byte
}

func readBlocks(t *testing.T, b []byte) ([]block, binary.ByteOrder) {
	t.Helper()
	var order binary.ByteOrder = binary.LittleEndian
	if len(b) < 12 || binary.LittleEndian.Uint32(b) != 0x0a0d0d0a {
		t.Fatalf("no section header")
	}
	if binary.BigEndian.Uint32(b[8:]) == 0x1a2b3c4d {
		order = binary.BigEndian
	}
	var bs []block
	for len(b) > 0 {
		if len(b) < 12 {
			t.Fatalf("%d trailing bytes", len(b))
		}
		n := int(order.Uint32(b[4:]))
		if n%4 != 0 || n < 12 || n > len(b) {
			t.Fatalf("block length %d of %d", n, len(b))
		}
		if tail := int(order.Uint32(b[n-4:])); tail != n {
			t.Fatalf("block length %d at the start, %d at the end", n, tail)
		}
		bs = append(bs, block{order.Uint32(b), b[8 : n-4]})
		b = b[n:]
	}
	return bs, order
}

// options decodes a pcapng option list into code → value.
func options(t *testing.T, order binary.ByteOrder, b []byte) map[uint16][]byte {
	t.Helper()
	m := map[uint16][]byte{}
	for len(b) >= 4 {
		code, n := order.Uint16(b), int(order.Uint16(b[2:]))
		if code == 0 {
			return m
		}
		m[code] = b[4 : 4+n]
		b = b[4+(n+3)&^3:]
	}
	if len(b) != 0 {
		t.Fatalf("options end with %d stray bytes", len(b))
	}
	return m
}

func TestPcapng(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC)
	for _, big := range []bool{false, true} {
		var buf bytes.Buffer
		w, err := NewPcapngWriter(&buf, PcapngOptions{
			BigEndian: big, Comment: "hello",
			Interfaces: []Interface{{Link: LinkEthernet, Name: "eth0"}, {Link: LinkSLL2, Nano: true, Snaplen: 8}},
		})
		if err != nil {
			t.Fatal(err)
		}
		frame := []byte("0123456789a")
		must(t, w.WritePacket(0, ts, frame))
		must(t, w.WritePacketComment(1, ts, frame, "cut"))
		must(t, w.WriteSimplePacket(frame))
		if err := w.WritePacket(2, ts, frame); !errors.Is(err, ErrNoInterface) {
			t.Errorf("packet on a missing interface: %v", err)
		}
		bs, order := readBlocks(t, buf.Bytes())
		if len(bs) != 6 {
			t.Fatalf("big=%v: %d blocks, want SHB, 2 IDB, 2 EPB, SPB", big, len(bs))
		}
		if got := options(t, order, bs[0].body[16:])[1]; string(got) != "hello" {
			t.Errorf("section comment %q", got)
		}
		for i, want := range []struct {
			link   LinkType
			res    byte
			snap   uint32
			ifname string
		}{{LinkEthernet, 6, DefaultSnaplen, "eth0"}, {LinkSLL2, 9, 8, ""}} {
			idb := bs[1+i]
			opts := options(t, order, idb.body[8:])
			if idb.typ != 1 || LinkType(order.Uint16(idb.body)) != want.link || order.Uint32(idb.body[4:]) != want.snap ||
				!bytes.Equal(opts[9], []byte{want.res}) || string(opts[2]) != want.ifname {
				t.Errorf("big=%v IDB %d: %x", big, i, idb.body)
			}
		}
		for i, want := range []struct {
			ts      uint64
			caplen  uint32
			comment string
		}{{uint64(ts.UnixNano() / 1000), 11, ""}, {uint64(ts.UnixNano()), 8, "cut"}} {
			epb := bs[3+i].body
			if bs[3+i].typ != 6 || order.Uint32(epb) != uint32(i) {
				t.Errorf("EPB %d: type %d interface %d", i, bs[3+i].typ, order.Uint32(epb))
			}
			if got := uint64(order.Uint32(epb[4:]))<<32 | uint64(order.Uint32(epb[8:])); got != want.ts {
				t.Errorf("EPB %d: timestamp %d, want %d", i, got, want.ts)
			}
			caplen, orig := order.Uint32(epb[12:]), order.Uint32(epb[16:])
			if caplen != want.caplen || orig != 11 {
				t.Errorf("EPB %d: caplen %d origlen %d", i, caplen, orig)
			}
			if got := options(t, order, epb[20+(caplen+3)&^3:])[1]; string(got) != want.comment {
				t.Errorf("EPB %d: comment %q", i, got)
			}
		}
		if spb := bs[5]; spb.typ != 3 || order.Uint32(spb.body) != 11 || len(spb.body) != 4+12 {
			t.Errorf("SPB: %x", spb.body)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestTruncateAndGzip(t *testing.T) {
	write := func(f Format) []byte {
		var b bytes.Buffer
		c := NewCapture(&b, f)
		for i := range 3 {
			c.WriteFrame(0, bytes.Repeat([]byte{byte(i)}, 100))
		}
		must(t, c.Close())
		return b.Bytes()
	}
	full := write(Format{})
	if len(full) != 24+3*116 {
		t.Fatalf("full file %d bytes", len(full))
	}
	cut := write(Format{Truncate: true})
	if want := len(full) - 116 + 58; len(cut) != want || !bytes.Equal(cut, full[:want]) {
		t.Errorf("truncated file %d bytes, want the first %d of the full file", len(cut), want)
	}
	z := write(Format{Gzip: true})
	r, err := gzip.NewReader(bytes.NewReader(z))
	must(t, err)
	plain, err := io.ReadAll(r)
	must(t, err)
	if !bytes.Equal(plain, full) {
		t.Error("gzip content differs from the plain file")
	}
	zc := write(Format{Gzip: true, Truncate: true})
	r, err = gzip.NewReader(bytes.NewReader(zc))
	must(t, err)
	plain, err = io.ReadAll(r)
	must(t, err)
	if !bytes.Equal(plain, cut) {
		t.Error("gzip of a truncated file: content differs")
	}
}

type failWriter struct{ n int }

var errDisk = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errDisk
	}
	return len(p), nil
}

func TestErrorsAreSticky(t *testing.T) {
	c := NewCapture(&failWriter{n: 100}, Format{})
	k := c.Conn(clientAP(1), serverAP(), LinuxOpts())
	k.Handshake()
	k.Send(Server, 1<<20) // well past the bufio buffer
	if err := c.Close(); !errors.Is(err, errDisk) {
		t.Errorf("Close = %v, want the write error", err)
	}
	c = NewCapture(io.Discard, Format{})
	c.WriteFrame(1, []byte{1})
	if err := c.Close(); !errors.Is(err, ErrNoInterface) {
		t.Errorf("pcap interface 1: %v", err)
	}
}

func TestClockRoundsToMicroseconds(t *testing.T) {
	var b bytes.Buffer
	c := NewCapture(&b, Format{NG: true, Interfaces: []Interface{{Link: LinkRaw, Nano: true}, {Link: LinkRaw}}})
	c.Advance(1500)
	c.WriteFrame(0, []byte{0x45})
	c.WriteFrame(1, []byte{0x45})
	if got := c.Now().Sub(DefaultStart()); got != 2*time.Microsecond {
		t.Errorf("clock after a µs interface: %v, want 2µs", got)
	}
	must(t, c.Close())
}
