package reassembly

import (
	"encoding/binary"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// fuzzRecord is the size of one encoded segment in FuzzTracker's input:
//
//	0     flags (low byte: direction in bit 7, TCP flags FIN…ACK in bits 0–4)
//	1     options: bit 0 MSS, bit 1 wscale, bit 2 SACK-permitted, bits 3–4 SACK
//	      block count, bits 5–7 wscale shift / time step
//	2–3   seq delta (signed, from the direction's previous seq)
//	4–5   ack delta (signed, from the direction's previous ack)
//	6–7   payload length (low 11 bits) and window class (top bits)
//	8     time step in 100 µs units
const fuzzRecord = 9

// FuzzTracker feeds random segment sequences to a Tracker and checks that it
// never panics and that its records stay bounded and its counters consistent.
func FuzzTracker(f *testing.F) {
	f.Add(uint8(0), []byte{
		0x02, 0x02, 0, 0, 0, 0, 0xff, 0xff, 1, // SYN wscale
		0x92, 0x03, 0, 0, 0, 1, 0xff, 0xff, 10, // SYN-ACK
		0x10, 0x00, 0, 1, 0, 1, 0xff, 0xff, 10, // ACK
		0x18, 0x00, 0, 0, 0, 0, 0xf0, 0x64, 1, // data 100
	})
	f.Add(uint8(3), []byte{
		0x18, 0x00, 0, 0, 0, 0, 0x80, 0x64, 1,
		0x18, 0x00, 0, 200, 0, 0, 0x80, 0x64, 1, // gap
		0x90, 0x18, 0, 0, 0, 100, 0x00, 0x00, 1, // zero window ACK with SACK
		0x18, 0x00, 0xff, 0x9c, 0, 0, 0x80, 0x01, 1, // back: probe-ish
		0x84, 0x00, 0, 0, 0, 0, 0, 0, 1, // RST
	})
	f.Fuzz(fuzzBody)
}

func fuzzBody(t *testing.T, cfgByte uint8, data []byte) {
	{
		cfg := &Config{
			MaxRanges:       int(cfgByte&7) + 1,
			MaxUnacked:      int(cfgByte>>3&7) + 1,
			KeepUnacked:     len(data)%3 != 0,
			KeepPayload:     cfgByte&0x40 != 0,
			MaxPayloadBytes: 64 << (cfgByte >> 7),
			TsharkCompat:    len(data)%2 == 1,
		}
		var tr Tracker
		tr.Init(cfg)
		var seq, ack [2]seqnum.Value
		seq[1], ack[0] = 0xFFFFFF00, 0xFFFFFF00 // exercise the wrap
		ack[1] = 1
		now := int64(1e9)
		payload := make([]byte, 2048)
		for i := range payload {
			payload[i] = byte(i)
		}
		var frame uint64
		for len(data) >= fuzzRecord {
			rec := data[:fuzzRecord]
			data = data[fuzzRecord:]
			d := segment.Dir(rec[0] >> 7)
			flags := segment.Flags(rec[0] & 0x1f)
			if flags&segment.FIN != 0 && flags&segment.RST != 0 {
				flags |= segment.ACK
			}
			seq[d] = seq[d].Add(seqnum.Size(int16(binary.BigEndian.Uint16(rec[2:]))))
			ack[d] = ack[d].Add(seqnum.Size(int16(binary.BigEndian.Uint16(rec[4:]))))
			n := int(binary.BigEndian.Uint16(rec[6:]) & 0x7ff)
			win := uint16(0)
			switch rec[6] >> 6 {
			case 1:
				win = 1
			case 2:
				win = 1024
			case 3:
				win = 65535
			}
			now += int64(rec[8]) * 100_000
			frame++
			s := segment.Segment{Frame: frame, Time: now, Seq: seq[d], Ack: ack[d], Flags: flags, Window: win, PayloadLen: n}
			if rec[1]&0x80 == 0 {
				s.Payload = payload[:n]
			} else {
				s.Payload = payload[1 : 1+n/2] // truncated, and different bytes
			}
			o := rec[1]
			s.Opts.HasMSS, s.Opts.MSS = o&1 != 0, 536
			s.Opts.HasWScale, s.Opts.WScale = o&2 != 0, o>>5*3
			s.Opts.SACKPermitted = o&4 != 0
			s.Opts.NumSACK = o >> 3 & 3
			for k := range s.Opts.NumSACK {
				s.Opts.SACK[k] = segment.Block{Left: ack[d].Add(seqnum.Size(100 * (k + 1))), Right: ack[d].Add(seqnum.Size(100*(k+1) + 50))}
			}
			r := tr.Add(d, &s)
			if r.NewBytes+r.RetransBytes != uint32(n) {
				t.Fatalf("frame %d: new %d + retrans %d != len %d", frame, r.NewBytes, r.RetransBytes, n)
			}
			if r.Class&(FastRetransmission|SpuriousRetransmission) != 0 && r.Class&Retransmission == 0 {
				t.Fatalf("frame %d: %v without Retransmission", frame, r.Class)
			}
			if r.Class&OverlapMismatch != 0 && !cfg.KeepPayload {
				t.Fatalf("frame %d: OverlapMismatch without KeepPayload", frame)
			}
			_ = r.Class.String()
			checkInvariants(t, &tr, cfg)
			if s.Flags&segment.SYN != 0 {
				seq[d]++
			}
			seq[d] = seq[d].Add(seqnum.Size(n))
		}
	}
}

func checkInvariants(t *testing.T, tr *Tracker, cfg *Config) {
	t.Helper()
	for d := range 2 {
		st := tr.Dir(segment.Dir(d))
		ds := &tr.d[d]
		if st.Holes > cfg.MaxRanges-1 || cap(ds.holes) > 2*cfg.MaxRanges+4 {
			t.Fatalf("dir %d: %d holes (cap %d), MaxRanges %d", d, st.Holes, cap(ds.holes), cfg.MaxRanges)
		}
		if !cfg.KeepUnacked && (st.Unacked > 0 || st.UnackedCapped) {
			t.Fatalf("dir %d: %d unacked (capped %v) without KeepUnacked", d, st.Unacked, st.UnackedCapped)
		}
		if st.Unacked > cfg.MaxUnacked || cap(ds.unacked) > 2*cfg.MaxUnacked+4 {
			t.Fatalf("dir %d: %d unacked (cap %d), MaxUnacked %d", d, st.Unacked, cap(ds.unacked), cfg.MaxUnacked)
		}
		if len(ds.pay) > cfg.MaxPayloadBytes {
			t.Fatalf("dir %d: payload copy %d > %d", d, len(ds.pay), cfg.MaxPayloadBytes)
		}
		if st.UniqueBytes+st.RetransBytes != st.PayloadBytes {
			t.Fatalf("dir %d: unique %d + retrans %d != payload %d", d, st.UniqueBytes, st.RetransBytes, st.PayloadBytes)
		}
		var sum uint64
		for i, h := range ds.holes {
			k := h.start.Size(h.end)
			if k == 0 || k > maxSeqSpan || h.start.LessThan(ds.lo) || h.end.GreaterThan(ds.hi) {
				t.Fatalf("dir %d: bad hole %d [%d,%d) in [%d,%d)", d, i, h.start, h.end, ds.lo, ds.hi)
			}
			if i > 0 && !ds.holes[i-1].end.LessThan(h.start) {
				t.Fatalf("dir %d: holes out of order or touching: %v", d, ds.holes)
			}
			sum += uint64(k)
		}
		if sum != ds.holeBytes || st.MissedBytes < sum {
			t.Fatalf("dir %d: holes sum %d, holeBytes %d, missed %d", d, sum, ds.holeBytes, st.MissedBytes)
		}
		if ds.st&stCover != 0 && ds.lo.Size(ds.hi) > maxSeqSpan {
			t.Fatalf("dir %d: span %d", d, ds.lo.Size(ds.hi))
		}
	}
}
