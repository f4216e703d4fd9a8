package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestPcapWriterRoundTrip(t *testing.T) {
	frames := []Frame{
		{Data: simpleTCP4(nil), OrigLen: 54, Time: 1_700_000_000_123_456_789},
		{Data: simpleTCP4([]byte("payload")), OrigLen: 1514, Time: 1_700_000_001_000_000_001}, // snapped on capture
		{Data: []byte{}, OrigLen: 0, Time: 1_700_000_002_999_999_999},
	}
	cases := []struct {
		name     string
		linkType uint16
		snapLen  int
		nano     bool
		magic    uint32
	}{
		{"micro ethernet", LinkTypeEthernet, 65535, false, pcapMagicMicro},
		{"nano sll2", LinkTypeSLL2, 262144, true, pcapMagicNano},
		{"default snaplen", LinkTypeRaw, 0, true, pcapMagicNano},
		{"cut to snaplen", LinkTypeEthernet, 40, false, pcapMagicMicro},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewPcapWriter(&buf, c.linkType, c.snapLen, c.nano)
			if err != nil {
				t.Fatal(err)
			}
			for i := range frames {
				if err := w.WriteFrame(&frames[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if w.Records() != uint64(len(frames)) {
				t.Errorf("records %d", w.Records())
			}
			h := buf.Bytes()
			snap := c.snapLen
			if snap <= 0 {
				snap = DefaultMaxCapLen
			}
			le := binary.LittleEndian
			if le.Uint32(h) != c.magic || le.Uint16(h[4:]) != 2 || le.Uint16(h[6:]) != 4 ||
				le.Uint32(h[16:]) != uint32(snap) || le.Uint32(h[20:]) != uint32(c.linkType) {
				t.Fatalf("header % x", h[:24])
			}
			src, err := OpenReader(bytes.NewReader(h), "w.pcap", Options{})
			if err != nil {
				t.Fatal(err)
			}
			i := 0
			for ; src.Next(); i++ {
				got, want := src.Frame(), frames[i]
				data := want.Data
				if len(data) > snap {
					data = data[:snap]
				}
				wantTime := want.Time
				if !c.nano {
					wantTime -= wantTime % 1000
				}
				wantOrig := max(want.OrigLen, len(want.Data))
				if !bytes.Equal(got.Data, data) || got.Time != wantTime || got.OrigLen != wantOrig || got.LinkType != c.linkType {
					t.Errorf("record %d: len %d time %d orig %d lt %d", i+1, len(got.Data), got.Time, got.OrigLen, got.LinkType)
				}
			}
			if i != len(frames) || src.Err() != nil || len(src.Problems()) != 0 {
				t.Errorf("read %d records, err %v, problems %v", i, src.Err(), src.Problems())
			}
		})
	}
}

// failWriter fails every write after n bytes.
type failWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		n := f.n
		f.n = 0
		return n, errDiskFull
	}
	f.n -= len(p)
	return len(p), nil
}

func TestPcapWriterErrors(t *testing.T) {
	w, err := NewPcapWriter(&failWriter{n: 100}, LinkTypeEthernet, 0, false)
	if err != nil {
		t.Fatal(err) // the header is buffered
	}
	big := Frame{Data: make([]byte, 70000), OrigLen: 70000}
	err = w.WriteFrame(&big) // larger than the buffer: written through, fails
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("WriteFrame: %v", err)
	}
	if err2 := w.WriteFrame(&big); err2 != err {
		t.Errorf("second WriteFrame: %v", err2)
	}
	if err := w.Flush(); !errors.Is(err, errDiskFull) {
		t.Errorf("Flush: %v", err)
	}
}
