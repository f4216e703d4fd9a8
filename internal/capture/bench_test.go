package capture

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// benchPcap builds an in-memory pcap of n Ethernet/IPv4/TCP frames with
// payloads of varying size.
func benchPcap(n int) []byte {
	var recs []testRecord
	for i := 0; i < n; i++ {
		recs = append(recs, testRecord{sec: uint32(1700000000 + i/1000), frac: uint32(i % 1000 * 1000),
			data: simpleTCP4(make([]byte, (i*37)%1400))})
	}
	return pcapFile(binary.LittleEndian, false, 1, recs...)
}

func BenchmarkRead(b *testing.B) {
	const n = 100000
	file := benchPcap(n)
	b.ReportAllocs()
	b.SetBytes(int64(len(file)))
	b.ResetTimer()
	frames := 0
	for i := 0; i < b.N; i++ {
		s, err := OpenReader(bytes.NewReader(file), "mem", Options{})
		if err != nil {
			b.Fatal(err)
		}
		for s.Next() {
			frames++
		}
		if s.Err() != nil {
			b.Fatal(s.Err())
		}
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "packets/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/packet")
}

func BenchmarkDecode(b *testing.B) {
	frames := []*Frame{}
	for _, d := range [][]byte{
		simpleTCP4(make([]byte, 1000)),
		vlanEther([]uint16{etherVLAN}, etherIPv4, tcp4(make([]byte, 10), []byte{optNOP, optNOP, optTimestamp, 10, 0, 0, 0, 1, 0, 0, 0, 2})),
		ether(etherIPv6, tcp6(make([]byte, 500), 0, nil)),
	} {
		frames = append(frames, &Frame{Data: d, CapLen: len(d), OrigLen: len(d), LinkType: 1})
	}
	for _, verify := range []bool{false, true} {
		name := "plain"
		if verify {
			name = "checksums"
		}
		b.Run(name, func(b *testing.B) {
			dec := NewDecoder(DecodeOptions{VerifyChecksums: verify})
			var seg segment.Segment
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if dec.Decode(frames[i%len(frames)], &seg).Kind != KindTCP {
					b.Fatal("not tcp")
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}
