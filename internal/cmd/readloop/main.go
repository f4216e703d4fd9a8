// Command readloop reads capture files and does nothing else: the bare cost of
// reading, the baseline that scripts/bench.sh compares analyze with.
//
//	go run ./internal/cmd/readloop FILE...            # internal/capture, merged like analyze
//	go run ./internal/cmd/readloop -mode decode FILE  # internal/capture and its decoder
//	go run ./internal/cmd/readloop -mode pcapgo FILE  # gopacket's pcapgo reader
//	go run ./internal/cmd/readloop -mode layers FILE  # pcapgo and a DecodingLayerParser
//
// It prints the packets read and the time taken on standard output.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

func main() {
	mode := flag.String("mode", "read", "read, decode, pcapgo or layers")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: readloop [-mode read|decode|pcapgo|layers] FILE...")
		os.Exit(2)
	}
	start := time.Now()
	n, err := run(*mode, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "readloop:", err)
		os.Exit(1)
	}
	el := time.Since(start)
	fmt.Printf("%d packets in %.3f s: %.2f M packets/s\n", n, el.Seconds(), float64(n)/el.Seconds()/1e6)
}

func run(mode string, files []string) (uint64, error) {
	switch mode {
	case "read", "decode":
		return readCapture(files, mode == "decode")
	case "pcapgo", "layers":
		var total uint64
		for _, f := range files {
			n, err := readPcapgo(f, mode == "layers")
			total += n
			if err != nil {
				return total, err
			}
		}
		return total, nil
	}
	return 0, fmt.Errorf("unknown mode %q", mode)
}

// readCapture reads files with internal/capture, merged in time order as
// analyze reads them, and decodes each frame when decode is set.
func readCapture(files []string, decode bool) (uint64, error) {
	src, err := capture.Open(files, capture.Options{})
	if err != nil {
		return 0, fmt.Errorf("open: %w", err)
	}
	defer src.Close()
	dec := capture.NewDecoder(capture.DecodeOptions{})
	var seg segment.Segment
	var n, tcp uint64
	for src.Next() {
		n++
		if decode && dec.Decode(src.Frame(), &seg).Kind == capture.KindTCP {
			tcp++
		}
	}
	if decode && tcp == 0 && n > 0 {
		return n, errors.New("no TCP segment decoded")
	}
	return n, src.Err()
}

// readPcapgo reads one pcap with gopacket's pcapgo reader, without copying
// the frames, and decodes Ethernet, IPv4, IPv6 and TCP when decode is set.
func readPcapgo(name string, decode bool) (uint64, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return 0, fmt.Errorf("pcapgo: %w", err)
	}
	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		payload gopacket.Payload
		decoded []gopacket.LayerType
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp, &payload)
	parser.IgnoreUnsupported = true
	var n uint64
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("pcapgo: %w", err)
		}
		n++
		if decode {
			_ = parser.DecodeLayers(data, &decoded)
		}
	}
}
