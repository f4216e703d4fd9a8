package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// openLoopback opens a live capture on lo with filter, skipping the test when
// this binary or this process may not capture.
func openLoopback(t *testing.T, iface, filter string) *Live {
	t.Helper()
	if !LiveSupported() {
		t.Skip("no capture helper: " + helperSkip)
	}
	l, err := OpenLive(LiveOptions{Iface: iface, Filter: filter, Timeout: 50 * time.Millisecond})
	if errors.Is(err, ErrPermission) {
		t.Skipf("this process may not capture (run as root or grant cap_net_raw): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// ownedPort returns a loopback listener on a port the kernel picked for it.
func ownedPort(t *testing.T) (net.Listener, int) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, ln.Addr().(*net.TCPAddr).Port
}

// echoOnce accepts one connection, echoes what it reads and closes.
func echoOnce(ln net.Listener) {
	c, err := ln.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.Copy(c, c)
}

// exchange dials addr, sends msg, reads the echo and closes.
func exchange(addr, msg string) error {
	c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if string(got) != msg {
		return fmt.Errorf("echo %q, want %q", got, msg)
	}
	return nil
}

func TestLiveWithoutHelper(t *testing.T) {
	t.Setenv(HelperEnv, filepath.Join(t.TempDir(), "missing"))
	if LiveSupported() {
		t.Error("LiveSupported with no helper")
	}
	_, err := OpenLive(LiveOptions{Iface: "lo"})
	if !errors.Is(err, ErrNoLiveSupport) || !strings.Contains(err.Error(), "live capture needs libpcap, through the capture helper "+HelperName) {
		t.Errorf("OpenLive: %v", err)
	}
	if _, err := ListInterfaces(); !errors.Is(err, ErrNoLiveSupport) {
		t.Errorf("ListInterfaces: %v", err)
	}
}

// TestLiveLoopback captures a real exchange on lo, checks what each frame
// carries, writes the frames with PcapWriter and reads them back.
func TestLiveLoopback(t *testing.T) {
	cases := []struct {
		iface    string
		linkType uint16
	}{
		{"lo", LinkTypeEthernet},
		{"any", LinkTypeSLL2},
	}
	for _, c := range cases {
		t.Run(c.iface, func(t *testing.T) {
			ln, port := ownedPort(t)
			l := openLoopback(t, c.iface, fmt.Sprintf("tcp and host 127.0.0.1 and port %d", port))
			if l.LinkType() != c.linkType || l.SnapLen() != DefaultMaxCapLen || l.Iface() != c.iface {
				t.Fatalf("link type %d snaplen %d iface %q", l.LinkType(), l.SnapLen(), l.Iface())
			}
			var file bytes.Buffer
			w, err := NewPcapWriter(&file, l.LinkType(), l.SnapLen(), l.Nanosecond())
			if err != nil {
				t.Fatal(err)
			}
			begin := time.Now()
			go echoOnce(ln)
			done := make(chan error, 1)
			go func() { done <- exchange(ln.Addr().String(), "hello, loopback") }()

			dec := NewDecoder(DecodeOptions{})
			var seg segment.Segment
			var frames []Frame
			fins := map[netip.AddrPort]bool{}
			deadline := time.Now().Add(5 * time.Second)
			for len(fins) < 2 && time.Now().Before(deadline) {
				if l.Await(deadline) != ReadFrame {
					continue
				}
				fr := l.Frame()
				if err := w.WriteFrame(fr); err != nil {
					t.Fatal(err)
				}
				cp := *fr
				cp.Data = bytes.Clone(fr.Data)
				frames = append(frames, cp)
				if r := dec.Decode(fr, &seg); r.Kind != KindTCP {
					t.Fatalf("frame %d: %v %s", fr.Number, r.Kind, r.Reason)
				}
				if seg.Src.Port() != uint16(port) && seg.Dst.Port() != uint16(port) {
					t.Fatalf("frame %d: %v -> %v passed the filter on port %d", fr.Number, seg.Src, seg.Dst, port)
				}
				if seg.Flags.Has(segment.FIN) {
					fins[seg.Src] = true
				}
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if len(fins) < 2 || len(frames) < 8 {
				t.Fatalf("saw %d frames and %d FINs in 5s", len(frames), len(fins))
			}
			for i, fr := range frames {
				n := uint64(i + 1)
				if fr.Number != n || fr.Record != n || fr.File != "iface:"+c.iface || fr.Offset != -1 ||
					fr.LinkType != c.linkType || fr.CapLen != len(fr.Data) || fr.OrigLen < fr.CapLen {
					t.Errorf("frame %d: %+v", i+1, fr)
				}
				if ts := time.Unix(0, fr.Time); ts.Before(begin.Add(-time.Second)) || ts.After(time.Now().Add(time.Second)) {
					t.Errorf("frame %d: time %v outside the test", n, ts)
				}
			}
			rec, dropped, ifDropped, err := l.Stats()
			if err != nil || rec < uint64(len(frames)) {
				t.Errorf("stats: received %d dropped %d/%d, err %v; delivered %d", rec, dropped, ifDropped, err, len(frames))
			}

			// What was written reads back as the same frames.
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			src, err := OpenReader(&file, "out.pcap", Options{})
			if err != nil {
				t.Fatal(err)
			}
			i := 0
			for ; src.Next(); i++ {
				got, want := src.Frame(), frames[i]
				wantTime := want.Time
				if !l.Nanosecond() {
					wantTime -= wantTime % 1e3
				}
				if !bytes.Equal(got.Data, want.Data) || got.Time != wantTime || got.OrigLen != want.OrigLen || got.LinkType != want.LinkType {
					t.Errorf("record %d read back differs", i+1)
				}
			}
			if i != len(frames) || src.Err() != nil {
				t.Errorf("read back %d of %d frames, err %v", i, len(frames), src.Err())
			}
		})
	}
}

// TestLiveStop checks that Stop from another goroutine ends Next promptly on
// an idle capture, that Await returns at its deadline, and that the counters
// survive Close.
func TestLiveStop(t *testing.T) {
	_, port := ownedPort(t)
	l := openLoopback(t, "lo", fmt.Sprintf("tcp port %d", port))

	start := time.Now()
	if st := l.Await(start.Add(100 * time.Millisecond)); st != ReadIdle {
		t.Fatalf("Await on an idle capture = %d", st)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > time.Second {
		t.Errorf("Await returned after %v", d)
	}

	go func() {
		time.Sleep(100 * time.Millisecond)
		l.Stop()
	}()
	start = time.Now()
	if l.Next() {
		t.Fatal("Next delivered a frame on an idle port")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Next returned %v after Stop", d)
	}
	if l.Err() != nil || l.Await(time.Time{}) != ReadDone {
		t.Errorf("after Stop: err %v", l.Err())
	}
	if _, _, _, err := l.Stats(); err != nil {
		t.Error(err)
	}
	l.Close()
	if _, _, _, err := l.Stats(); err != nil {
		t.Errorf("Stats after Close: %v", err)
	}
	l.Close() // a second Close is harmless
}

func TestLiveOpenErrors(t *testing.T) {
	openLoopback(t, "lo", "tcp port 1").Close() // skips unless we may capture
	cases := []struct {
		name   string
		opt    LiveOptions
		is     error
		want   []string
		reject []string
	}{
		{"unknown interface", LiveOptions{Iface: "nosuch0"}, ErrNoSuchInterface,
			[]string{`"nosuch0"`, "available:", "lo"}, nil},
		{"no interface", LiveOptions{}, ErrNoSuchInterface, nil, nil},
		{"syntax error in the middle", LiveOptions{Iface: "lo", Filter: "tcp port 80 and and tcp"}, ErrBadFilter,
			[]string{"syntax error", `at "and"`, "\n  tcp port 80 and and tcp\n                  ^^^"}, nil},
		{"stray parenthesis", LiveOptions{Iface: "lo", Filter: "tcp port 80)"}, ErrBadFilter,
			[]string{`at ")"`, "\n  tcp port 80)\n             ^"}, nil},
		{"ends too early", LiveOptions{Iface: "lo", Filter: "tcp port 80 and ("}, ErrBadFilter,
			[]string{"ends too early", "\n  tcp port 80 and (\n                   ^"}, nil},
		{"bad port", LiveOptions{Iface: "lo", Filter: "tcp port 99999"}, ErrBadFilter,
			[]string{"99999"}, []string{"^"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := OpenLive(c.opt)
			if err == nil {
				l.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, c.is) {
				t.Errorf("err %v, want %v", err, c.is)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q lacks %q", err, w)
				}
			}
			for _, w := range c.reject {
				if strings.Contains(err.Error(), w) {
					t.Errorf("err %q has %q", err, w)
				}
			}
		})
	}
}

func TestListInterfaces(t *testing.T) {
	if !LiveSupported() {
		t.Skip("no capture helper: " + helperSkip)
	}
	ifs, err := ListInterfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ifs {
		if f.Name == "lo" {
			if !f.Loopback || !f.Up {
				t.Errorf("lo: %+v", f)
			}
			found := false
			for _, a := range f.Addresses {
				found = found || a == "127.0.0.1/8"
			}
			if !found {
				t.Errorf("lo addresses %v lack 127.0.0.1/8", f.Addresses)
			}
			return
		}
	}
	t.Errorf("no lo among %d interfaces", len(ifs))
}
