package pcapgen

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

// countRecords returns the records of a little-endian pcap and checks that
// their timestamps never go back.
func countRecords(t *testing.T, b []byte) uint64 {
	t.Helper()
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != MagicMicro {
		t.Fatalf("not a little-endian µs pcap")
	}
	var n uint64
	var last uint64
	for off := 24; off < len(b); n++ {
		if off+16 > len(b) {
			t.Fatalf("record %d: cut header", n)
		}
		ts := uint64(binary.LittleEndian.Uint32(b[off:]))*1e6 + uint64(binary.LittleEndian.Uint32(b[off+4:]))
		if ts < last {
			t.Fatalf("record %d: time goes back", n)
		}
		last = ts
		off += 16 + int(binary.LittleEndian.Uint32(b[off+8:]))
		if off > len(b) {
			t.Fatalf("record %d: cut data", n)
		}
	}
	return n
}

func TestWriteMix(t *testing.T) {
	tests := []struct {
		name string
		o    MixOptions
	}{
		{"short", MixOptions{Packets: 20000, Connections: 2000, Concurrency: 100, Seed: 1}},
		{"bulk heavy", MixOptions{Packets: 15000, Connections: 100, Concurrency: 20, Seed: 2, Loss: 0.01}},
		{"with flood", MixOptions{Packets: 30000, Connections: 2000, Concurrency: 200, Seed: 3, FloodSources: 3000}},
		{"flood only", MixOptions{Packets: 9000, FloodSources: 3000, Seed: 4}},
		{"tight budget", MixOptions{Packets: 15000, Connections: 2000, Concurrency: 100, Seed: 5, Loss: -1, Reuse: -1}},
		{"think time", MixOptions{Packets: 10000, Connections: 1000, Concurrency: 10, Seed: 6, Think: 1e9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a, b bytes.Buffer
			st, err := WriteMix(&a, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := WriteMix(&b, tt.o); err != nil {
				t.Fatal(err)
			}
			if sha256.Sum256(a.Bytes()) != sha256.Sum256(b.Bytes()) {
				t.Fatal("same options, different bytes")
			}
			if n := countRecords(t, a.Bytes()); n != st.Packets {
				t.Errorf("file has %d packets, stats say %d", n, st.Packets)
			}
			if st.Connections != uint64(tt.o.Connections) || st.FloodSYNs != uint64(tt.o.FloodSources) {
				t.Errorf("connections %d, flood %d; want %d, %d", st.Connections, st.FloodSYNs, tt.o.Connections, tt.o.FloodSources)
			}
			if d := float64(st.Packets)/float64(tt.o.Packets) - 1; d < -0.05 || d > 0.05 {
				t.Errorf("%d packets, asked for %d", st.Packets, tt.o.Packets)
			}
		})
	}
}

func TestWriteMixSeed(t *testing.T) {
	o := MixOptions{Packets: 5000, Connections: 500, Seed: 1}
	var a, b bytes.Buffer
	if _, err := WriteMix(&a, o); err != nil {
		t.Fatal(err)
	}
	o.Seed = 2
	if _, err := WriteMix(&b, o); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("seeds 1 and 2 gave the same capture")
	}
}

func TestWriteMixBadOptions(t *testing.T) {
	for _, o := range []MixOptions{
		{Packets: -1},
		{Connections: -5},
		{Loss: 0.5},
		{FloodSources: 1<<24 + 1},
		{VLAN: 4095},
		{VLAN: 10, Cooked: true},
	} {
		if _, err := WriteMix(&bytes.Buffer{}, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

func BenchmarkWriteMix(b *testing.B) {
	o := MixOptions{Packets: 200000, Connections: 20000, Seed: 1, FloodSources: 1000}
	b.ReportAllocs()
	var packets uint64
	for b.Loop() {
		st, err := WriteMix(discard{}, o)
		if err != nil {
			b.Fatal(err)
		}
		packets += st.Packets
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
