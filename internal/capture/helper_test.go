package capture

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHelperStreamRoundTrip writes every kind of message with HelperWriter
// and reads them back as Live reads them.
func TestHelperStreamRoundTrip(t *testing.T) {
	var b bytes.Buffer
	w := NewHelperWriter(&b)
	open := HelperOpen{Proto: HelperProto, LinkType: LinkTypeSLL2, SnapLen: 1500, Nano: true}
	frames := []Frame{
		{Data: []byte{1, 2, 3}, OrigLen: 60, Time: 1_700_000_000_123_456_789},
		{Data: nil, OrigLen: 0, Time: -5},                  // an empty frame, a time before 1970
		{Data: bytes.Repeat([]byte{7}, 4000), OrigLen: 10}, // OrigLen below the bytes: raised to them
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.Open(open))
	for i := range frames {
		must(w.Frame(&frames[i]))
	}
	must(w.Stats(10, 2, 1, false))
	must(w.Error(fmt.Errorf("cannot capture on eth9: %w", ErrNoSuchInterface)))
	must(w.Stats(12, 3, 1, true))
	must(w.Flush())

	r := bufio.NewReader(&b)
	var got []helperMsg
	for {
		m, err := readHelperMsg(r, nil)
		if err == io.EOF {
			break
		}
		must(err)
		got = append(got, m)
	}
	if len(got) != 7 {
		t.Fatalf("%d messages", len(got))
	}
	if got[0].kind != msgOpen || got[0].open != open {
		t.Errorf("open: %+v", got[0])
	}
	for i, fr := range frames {
		m := got[1+i]
		if m.kind != msgFrame || !bytes.Equal(m.data, fr.Data) || m.capLen != len(fr.Data) ||
			m.origLen != max(fr.OrigLen, len(fr.Data)) || m.time != fr.Time {
			t.Errorf("frame %d: %+v", i, m)
		}
	}
	if m := got[4]; m.kind != msgStats || m.stats != [3]uint64{10, 2, 1} || m.final {
		t.Errorf("stats: %+v", m)
	}
	if m := got[5]; m.kind != msgError || !errors.Is(m.err, ErrNoSuchInterface) || m.err.Error() != "cannot capture on eth9: no such interface" {
		t.Errorf("error: %+v", m)
	}
	if m := got[6]; m.stats != [3]uint64{12, 3, 1} || !m.final {
		t.Errorf("final stats: %+v", m)
	}
}

// TestHelperErrorKinds checks that each sentinel error crosses the process
// boundary, and that other errors keep their message only.
func TestHelperErrorKinds(t *testing.T) {
	for _, sentinel := range []error{ErrPermission, ErrNoSuchInterface, ErrBadFilter} {
		e := NewHelperError(fmt.Errorf("opening: %w", sentinel)).Err()
		if !errors.Is(e, sentinel) || e.Error() != "opening: "+sentinel.Error() {
			t.Errorf("%v: came back as %v", sentinel, e)
		}
	}
	e := NewHelperError(errors.New("the interface is down")).Err()
	if e.Error() != "the interface is down" || errors.Is(e, ErrPermission) || errors.Is(e, ErrBadFilter) || errors.Is(e, ErrNoSuchInterface) {
		t.Errorf("plain error came back as %v", e)
	}
	if err := helperFailure("/x/helper", errors.New("exit status 2"), []byte(`{"kind":"bad_filter","message":"bad filter \"(\""}`+"\n")); !errors.Is(err, ErrBadFilter) {
		t.Errorf("helperFailure with a report: %v", err)
	}
	if err := helperFailure("/x/helper", errors.New("signal: killed"), []byte("panic: boom\n")); err.Error() != "capture helper /x/helper: signal: killed: panic: boom" {
		t.Errorf("helperFailure without a report: %v", err)
	}
}

// TestHelperStreamBroken checks that a stream cut inside a message, an
// unknown message and an impossible length are errors, not frames.
func TestHelperStreamBroken(t *testing.T) {
	var b bytes.Buffer
	w := NewHelperWriter(&b)
	w.Frame(&Frame{Data: []byte("abcdef")})
	w.Flush()
	whole := b.Bytes()
	for n := 1; n < len(whole); n++ {
		if _, err := readHelperMsg(bufio.NewReader(bytes.NewReader(whole[:n])), nil); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d: %v", n, err)
		}
	}
	for _, bad := range [][]byte{
		{'X'},
		{msgFrame, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0},
		{msgOpen, 0xff, 0xff, 0xff, 0xff},
		{msgOpen, 1, 0, 0, 0, '{'},
	} {
		if m, err := readHelperMsg(bufio.NewReader(bytes.NewReader(bad)), nil); err == nil {
			t.Errorf("%q read as %+v", bad, m)
		}
	}
}

// FuzzHelperStream feeds arbitrary bytes to the stream's reader: it must end
// with an error or io.EOF, never panic, and never return a frame longer than
// its stated length.
func FuzzHelperStream(f *testing.F) {
	var b bytes.Buffer
	w := NewHelperWriter(&b)
	w.Open(HelperOpen{Proto: HelperProto, LinkType: 1, SnapLen: 262144})
	w.Frame(&Frame{Data: []byte{1, 2, 3, 4}, OrigLen: 60, Time: 42})
	w.Stats(1, 0, 0, true)
	w.Error(ErrPermission)
	w.Flush()
	f.Add(b.Bytes())
	f.Add([]byte{msgStats})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for i := 0; i <= len(data); i++ {
			m, err := readHelperMsg(r, nil)
			if err != nil {
				return
			}
			if m.kind == msgFrame && len(m.data) != m.capLen {
				t.Fatalf("frame of %d bytes says %d", len(m.data), m.capLen)
			}
		}
		t.Fatalf("more messages than bytes")
	})
}

// TestLiveHelperFailures runs stand-ins for the helper that fail in the ways
// a broken or stale installation would, and checks what OpenLive says.
func TestLiveHelperFailures(t *testing.T) {
	cases := []struct {
		name, script string
		want         string
		is           error
	}{
		{"crash", "echo 'panic: boom' >&2; exit 3", "exit status 3: panic: boom", nil},
		{"silent", "exit 0", "ended before the capture began", nil},
		{"stale", printed(func(w *HelperWriter) { w.Open(HelperOpen{Proto: HelperProto + 1}) }), "speaks protocol 2, not 1", nil},
		{"refused", printed(func(w *HelperWriter) { w.Error(fmt.Errorf("cannot capture on lo: %w", ErrPermission)) }) + "; exit 2",
			"cannot capture on lo: permission denied", ErrPermission},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			standIn(t, "cat >/dev/null &\n"+c.script)
			l, err := OpenLive(LiveOptions{Iface: "lo"})
			if err == nil {
				l.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
				t.Errorf("err %v, want %q", err, c.want)
			}
		})
	}
}

// standIn makes a shell script running body the capture helper of this test.
func standIn(t *testing.T, body string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "helper")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(HelperEnv, path)
}

// printed returns a shell command that prints the stream write makes, every
// byte as an octal escape of printf's format.
func printed(write func(w *HelperWriter)) string {
	var b bytes.Buffer
	w := NewHelperWriter(&b)
	write(w)
	w.Flush()
	var s strings.Builder
	s.WriteString("printf '")
	for _, c := range b.Bytes() {
		fmt.Fprintf(&s, "\\%03o", c)
	}
	s.WriteString("'")
	return s.String()
}

// TestLiveHelperDiesMidCapture runs a stand-in helper that opens, sends two
// frames and exits without its final counters: the frames come, then the
// capture ends with an error that says how the helper ended, and Stats
// still reports what it can.
func TestLiveHelperDiesMidCapture(t *testing.T) {
	standIn(t, printed(func(w *HelperWriter) {
		w.Open(HelperOpen{Proto: HelperProto, LinkType: LinkTypeEthernet, SnapLen: 1500, Nano: true})
		w.Frame(&Frame{Data: []byte("one"), Time: 1e9})
		w.Frame(&Frame{Data: []byte("two"), Time: 2e9})
	})+"\necho 'killed by the test' >&2\nexit 9")
	l, err := OpenLive(LiveOptions{Iface: "eth9"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var got []string
	for l.Next() {
		got = append(got, string(l.Frame().Data))
	}
	if strings.Join(got, ",") != "one,two" {
		t.Errorf("frames %q", got)
	}
	if err := l.Err(); err == nil || !strings.Contains(err.Error(), "exit status 9: killed by the test") {
		t.Errorf("Err() = %v", err)
	}
	if _, _, _, err := l.Stats(); err == nil {
		t.Error("Stats without any counters: no error")
	}
}

// TestLiveStatsAfterStop runs a stand-in helper that sends its final counters
// only once its input ends, as the real one does: Stats after Stop, before
// Close, must wait for them.
func TestLiveStatsAfterStop(t *testing.T) {
	standIn(t, printed(func(w *HelperWriter) {
		w.Open(HelperOpen{Proto: HelperProto, LinkType: LinkTypeEthernet, SnapLen: 1500})
	})+"\ncat >/dev/null\n"+printed(func(w *HelperWriter) { w.Stats(7, 1, 0, true) }))
	l, err := OpenLive(LiveOptions{Iface: "eth9"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Stop()
	if st := l.Await(time.Time{}); st != ReadDone {
		t.Fatalf("Await after Stop = %d", st)
	}
	rec, drop, ifDrop, err := l.Stats()
	if err != nil || rec != 7 || drop != 1 || ifDrop != 0 {
		t.Errorf("Stats after Stop = %d %d %d, %v", rec, drop, ifDrop, err)
	}
	if l.Err() != nil {
		t.Errorf("Err after Stop = %v", l.Err())
	}
}

// TestLiveStatsMidStream runs a stand-in helper that answers a statistics
// request in the middle of the frames, as the real one does: Stats reads the
// stream ahead to the answer, and the frames it passed, those of the batch
// being read and those after the answer still come to Next, all of them, in
// order, and the final counters come after Stop.
func TestLiveStatsMidStream(t *testing.T) {
	frame := func(w *HelperWriter, s string) { w.Frame(&Frame{Data: []byte(s), Time: 1e9}) }
	standIn(t, printed(func(w *HelperWriter) {
		w.Open(HelperOpen{Proto: HelperProto, LinkType: LinkTypeEthernet, SnapLen: 1500})
		frame(w, "one")
		frame(w, "two")
		frame(w, "three")
	})+"\nhead -c 1 >/dev/null\n"+printed(func(w *HelperWriter) {
		frame(w, "four")
		w.Stats(4, 1, 0, false)
		frame(w, "five")
	})+"\ncat >/dev/null\n"+printed(func(w *HelperWriter) { w.Stats(5, 1, 0, true) }))
	l, err := OpenLive(LiveOptions{Iface: "eth9"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !l.Next() || string(l.Frame().Data) != "one" {
		t.Fatalf("first frame: %q, %v", l.Frame().Data, l.Err())
	}
	if rec, drop, _, err := l.Stats(); err != nil || rec != 4 || drop != 1 {
		t.Fatalf("Stats = %d %d, %v", rec, drop, err)
	}
	got := []string{"one"}
	for deadline := time.Now().Add(5 * time.Second); len(got) < 5 && l.Await(deadline) == ReadFrame; {
		got = append(got, string(l.Frame().Data))
	}
	if strings.Join(got, ",") != "one,two,three,four,five" {
		t.Fatalf("frames %q", got)
	}
	l.Stop()
	if rec, _, _, err := l.Stats(); err != nil || rec != 5 {
		t.Fatalf("final Stats = %d, %v", rec, err)
	}
}

// TestHelperFrameReadAllocs checks that reading a frame's message into a
// buffer with room allocates nothing: a live capture reads one per frame.
func TestHelperFrameReadAllocs(t *testing.T) {
	var stream bytes.Buffer
	w := NewHelperWriter(&stream)
	fr := Frame{Data: bytes.Repeat([]byte{9}, 1500), OrigLen: 1514, Time: 42}
	const n = 200
	for range n {
		if err := w.Frame(&fr); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	data := stream.Bytes()
	src := bytes.NewReader(data)
	r := bufio.NewReaderSize(src, 64<<10)
	buf := make([]byte, 0, 2048)
	allocs := testing.AllocsPerRun(5, func() {
		src.Reset(data)
		r.Reset(src)
		for range n {
			m, err := readHelperMsg(r, buf)
			if err != nil || m.kind != msgFrame || len(m.data) != 1500 {
				t.Fatalf("message %+v, %v", m, err)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%.0f allocations for %d frames", allocs, n)
	}
}
