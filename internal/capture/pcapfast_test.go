package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// readPcapWith reads every record of the pcap file b through a buffer of
// size bytes, with pcapReader.next, or with nextSlow alone when slow, and
// returns what each step gave (frame or error) and the warnings, as text.
func readPcapWith(t *testing.T, b []byte, size, limit int, slow bool) (steps, warns []string) {
	t.Helper()
	in := newBufReader(bytes.NewReader(b), size)
	warn := func(rec uint64, off int64, msg string) {
		warns = append(warns, fmt.Sprintf("%d@%d %s", rec, off, msg))
	}
	r, err := newPcapReader(in, "f.pcap", Options{MaxCapLen: limit}, warn)
	if err != nil {
		t.Fatal(err)
	}
	for {
		var f Frame
		if slow {
			err = r.nextSlow(&f)
		} else {
			err = r.next(&f)
		}
		if err != nil {
			return append(steps, err.Error()), warns
		}
		steps = append(steps, fmt.Sprintf("%x cap %d orig %d t %d link %d %s rec %d off %d data %d pos %d n %d %v",
			f.Data, f.CapLen, f.OrigLen, f.Time, f.LinkType, f.File, f.Record, f.Offset, f.DataOffset, f.Pos, f.Number, f.Stable))
	}
}

// TestPcapFastPathMatchesSlow holds pcapReader.next's fast path to the
// field-by-field path on random files: both byte orders and both timestamp
// units, records straddling small buffers, captured lengths beyond the
// original length or the limit, sub-second fields out of range, and files
// cut short anywhere. Every frame, error and warning must be the same.
func TestPcapFastPathMatchesSlow(t *testing.T) {
	const limit = 300
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 11))
		var order binOrder = binary.LittleEndian
		if r.IntN(2) == 0 {
			order = binary.BigEndian
		}
		nano := r.IntN(2) == 0
		b := pcapFile(order, nano, 1)
		for range 1 + r.IntN(40) {
			capLen := uint32(r.IntN(limit))
			origLen := capLen + uint32(r.IntN(3)*r.IntN(100))
			frac := uint32(r.IntN(1e6))
			switch r.IntN(12) {
			case 0:
				origLen = capLen - uint32(r.IntN(int(capLen)+1)) // may be below capLen
			case 1:
				capLen = limit + uint32(r.IntN(5)) // beyond the limit: the file stops
			case 2:
				frac = 1e9 + uint32(r.IntN(10)) // out of range in either unit
			case 3:
				frac = 1e6 + uint32(r.IntN(1e6)) // out of range for microseconds only
			}
			b = order.AppendUint32(b, uint32(r.Uint32()))
			b = order.AppendUint32(b, frac)
			b = order.AppendUint32(b, capLen)
			b = order.AppendUint32(b, origLen)
			for range min(capLen, limit+8) {
				b = append(b, byte(r.IntN(256)))
			}
		}
		if r.IntN(3) == 0 {
			b = b[:pcapFileHeaderLen+r.IntN(len(b)-pcapFileHeaderLen+1)]
		}
		size := 16 + r.IntN(600)
		fast, fastWarns := readPcapWith(t, b, size, limit, false)
		slow, slowWarns := readPcapWith(t, b, size, limit, true)
		if fmt.Sprint(fast) != fmt.Sprint(slow) || fmt.Sprint(fastWarns) != fmt.Sprint(slowWarns) {
			t.Fatalf("seed %d (buffer %d): fast path\n%q\n%q\nslow path\n%q\n%q", seed, size, fast, fastWarns, slow, slowWarns)
		}
	}
}
