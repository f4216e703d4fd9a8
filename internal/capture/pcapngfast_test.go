package capture

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// openPcapng opens a pcapng file for fastMatchesSlow.
func openPcapng(limit int) func(*bufReader, warnFunc) (slowPathReader, error) {
	return func(in *bufReader, warn warnFunc) (slowPathReader, error) {
		r, err := newPcapngReader(in, "f.pcapng", Options{MaxCapLen: limit}, warn)
		if err != nil {
			return nil, err
		}
		return r, nil
	}
}

// randomPcapng returns a random pcapng file that tests the reader's edges:
// both byte orders, sections and interfaces with decimal and binary
// timestamp units and offsets, timestamps that saturate, every kind of
// packet block and blocks that carry none, EPBs with options after their
// data, captured lengths beyond the original length, the limit or the
// block, unknown interfaces, trailing lengths that disagree, and, one
// time in three, a file cut short anywhere.
func randomPcapng(r *rand.Rand, limit int) []byte {
	var order binOrder = binary.LittleEndian
	if r.IntN(2) == 0 {
		order = binary.BigEndian
	}
	b := ngSHB(order, 1, 0)
	ifaces := 0
	// Half the files have no faults that stop the reading, so that most
	// of their frames are read.
	faults := r.IntN(2) == 0
	addIface := func() {
		resol := -1
		switch r.IntN(5) {
		case 1:
			resol = r.IntN(10) // 1 s to 1 ns
		case 2:
			resol = 10 + r.IntN(9) // below a nanosecond
		case 3:
			resol = 0x80 | r.IntN(40) // binary units
		case 4:
			resol = 6
		}
		var offset int64
		if r.IntN(4) == 0 {
			offset = int64(r.IntN(1000)) - 500
		}
		b = append(b, ngIDB(order, uint16(1+r.IntN(2)*100), resol, offset)...)
		ifaces++
	}
	addIface()
	for range 1 + r.IntN(40) {
		data := make([]byte, r.IntN(limit))
		for i := range data {
			data[i] = byte(r.IntN(256))
		}
		ts := uint64(r.Int64N(1 << 40))
		switch r.IntN(10) {
		case 0:
			ts = ^uint64(0) - uint64(r.IntN(1000)) // saturates in any unit
		case 1:
			ts = uint64(r.Int64N(1 << 62))
		case 2, 3:
			// Around the last timestamp that converts without saturating,
			// in microseconds (the default unit) or another decimal one.
			e := uint8(6)
			if r.IntN(2) == 0 {
				e = uint8(r.IntN(10))
			}
			ts = (1<<63-1)/pow10(9-e) + uint64(r.IntN(7)) - 3
		}
		switch r.IntN(16) {
		case 0:
			addIface()
		case 1:
			b = append(b, ngSPB(order, data)...)
		case 2:
			iface := r.IntN(max(ifaces, 1))
			if faults && r.IntN(4) == 0 {
				iface = ifaces // unknown
			}
			b = append(b, ngPB(order, uint16(iface), ts, data)...)
		case 3:
			b = append(b, ngBlock(order, uint32(4+r.IntN(2)), make([]byte, 4*r.IntN(5)))...)
		case 4:
			b = append(b, ngSHB(order, 1, 0)...)
			ifaces = 0
			if !faults || r.IntN(2) == 0 {
				addIface()
			}
		default:
			iface := uint32(r.IntN(max(ifaces, 1)))
			if faults && r.IntN(8) == 0 {
				iface = uint32(ifaces) // unknown
			}
			origLen := len(data) + r.IntN(3)*r.IntN(100)
			if r.IntN(8) == 0 && len(data) > 0 { // a warning, not a fault
				origLen = 1 + r.IntN(len(data)) // below the captured length
			}
			blk := ngEPB(order, iface, ts, data, origLen)
			if r.IntN(4) == 0 {
				// An option after the data: the block grows past it.
				body := blk[8 : len(blk)-4]
				body = append(append([]byte{}, body...), ngOpt(order, 1, []byte("comment"))...)
				body = append(body, 0, 0, 0, 0)
				blk = ngBlock(order, ngBlockEPB, body)
			}
			switch fault := r.IntN(16); {
			case !faults:
			case fault == 0: // the captured length overruns the block
				order.PutUint32(blk[20:], uint32(len(blk)))
			case fault == 1: // the trailing length disagrees
				order.PutUint32(blk[len(blk)-4:], uint32(len(blk)+4))
			case fault == 2: // a length that is not a multiple of 4
				order.PutUint32(blk[4:], uint32(len(blk)-1))
			}
			b = append(b, blk...)
		}
	}
	if faults && r.IntN(3) == 0 {
		b = b[:r.IntN(len(b)+1)]
	}
	return b
}

// TestPcapngFastPathMatchesSlow holds pcapngReader.next's fast path to the
// block-by-block path on random files (randomPcapng), read through small
// buffers that blocks straddle. Every frame, error and warning must be the
// same.
func TestPcapngFastPathMatchesSlow(t *testing.T) {
	const limit = 300
	fastFrames := 0
	for seed := range uint64(400) {
		r := rand.New(rand.NewPCG(seed, 13))
		b := randomPcapng(r, limit)
		fastFrames += fastMatchesSlow(t, fmt.Sprintf("seed %d", seed), b, 16+r.IntN(800), openPcapng(limit))
	}
	if fastFrames < 3000 {
		t.Fatalf("only %d frames read: the random files test too little", fastFrames)
	}
}

// FuzzPcapngFastPathMatchesSlow is TestPcapngFastPathMatchesSlow on
// arbitrary blocks after a section header and an interface of either byte
// order, read through a buffer of the given size.
func FuzzPcapngFastPathMatchesSlow(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 4 {
		b := randomPcapng(r, 300)
		f.Add(b[min(len(b), 28):], uint8(i), uint16(64+i*100))
	}
	f.Fuzz(func(t *testing.T, blocks []byte, kind uint8, size uint16) {
		var order binOrder = binary.LittleEndian
		if kind&1 != 0 {
			order = binary.BigEndian
		}
		resol := -1
		if kind&2 != 0 {
			resol = 9
		}
		b := append(append(ngSHB(order, 1, 0), ngIDB(order, 1, resol, 0)...), blocks...)
		fastMatchesSlow(t, "fuzz input", b, 16+int(size%2048), openPcapng(300))
	})
}
