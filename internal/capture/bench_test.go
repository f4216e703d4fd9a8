package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
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

// readMem reads the capture file in data to its end and returns its frames.
func readMem(b *testing.B, data []byte) int {
	s, err := OpenReader(bytes.NewReader(data), "mem", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	frames := countFrames(s)
	if s.Err() != nil {
		b.Fatal(s.Err())
	}
	return frames
}

func BenchmarkRead(b *testing.B) {
	const n = 100000
	file := benchPcap(n)
	b.ReportAllocs()
	b.SetBytes(int64(len(file)))
	b.ResetTimer()
	frames := 0
	for i := 0; i < b.N; i++ {
		frames += readMem(b, file)
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
	// "ipv4" is the fast path's frame alone (etherTCP4); "mixed" adds a
	// VLAN tag and IPv6, which take the general path.
	for _, set := range []struct {
		name   string
		frames []*Frame
	}{{"ipv4", frames[:1]}, {"mixed", frames}} {
		for _, verify := range []bool{false, true} {
			name := set.name + "/plain"
			if verify {
				name = set.name + "/checksums"
			}
			b.Run(name, func(b *testing.B) {
				dec := NewDecoder(DecodeOptions{VerifyChecksums: verify})
				var seg segment.Segment
				b.ReportAllocs()
				j := 0
				for i := 0; i < b.N; i++ {
					// No i%len: a division takes as long as the decoding.
					if dec.Decode(set.frames[j], &seg).Kind != KindTCP {
						b.Fatal("not tcp")
					}
					if j++; j == len(set.frames) {
						j = 0
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
			})
		}
	}
}

// BenchmarkReadCompressed reads a capture compressed with gzip and zstd,
// decompressed on the reading goroutine and read ahead on another. Bytes
// per second are the decompressed capture's.
func BenchmarkReadCompressed(b *testing.B) {
	const n = 100000
	file := benchPcap(n)
	for _, tc := range []struct {
		name string
		data []byte
	}{{"gzip", gzipBytes(file)}, {"zstd", zstdBytes(file)}} {
		for _, ahead := range []bool{false, true} {
			b.Run(tc.name+map[bool]string{false: "/direct", true: "/ahead"}[ahead], func(b *testing.B) {
				old := readAheadCores
				defer func() { readAheadCores = old }()
				readAheadCores = 1 << 30
				if ahead {
					readAheadCores = 1
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(file)))
				frames := 0
				for b.Loop() {
					frames += readMem(b, tc.data)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/packet")
			})
		}
	}
}

// BenchmarkReadRotated reads 200 files that follow one another in time, as
// a rotating capture writes them, against the same frames in one file.
func BenchmarkReadRotated(b *testing.B) {
	const files, per = 200, 500
	dir := b.TempDir()
	var names []string
	var all []testRecord
	for i := range files {
		var recs []testRecord
		for j := range per {
			recs = append(recs, testRecord{sec: uint32(1700000000 + i), frac: uint32(j * 1000), data: simpleTCP4(make([]byte, (j*37)%1400))})
		}
		all = append(all, recs...)
		names = append(names, writeFile(b, dir, fmt.Sprintf("part%03d.pcap", i), pcapFile(binary.LittleEndian, false, 1, recs...)))
	}
	whole := writeFile(b, dir, "whole.pcap", pcapFile(binary.LittleEndian, false, 1, all...))
	for _, tc := range []struct {
		name  string
		files []string
	}{{"one_file", []string{whole}}, {"200_files", names}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			frames := 0
			for b.Loop() {
				s, err := Open(tc.files, Options{})
				if err != nil {
					b.Fatal(err)
				}
				frames += countFrames(s)
				if s.Err() != nil || frames%(files*per) != 0 {
					b.Fatal(s.Err(), frames)
				}
				s.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/packet")
		})
	}
}
