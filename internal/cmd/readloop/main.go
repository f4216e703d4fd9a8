// Command readloop reads capture files and does nothing else: the bare cost of
// reading, the baseline that scripts/bench.sh compares analyze with.
//
//	go run ./internal/cmd/readloop FILE...            # internal/capture, merged like analyze
//	go run ./internal/cmd/readloop -mode decode FILE  # internal/capture and its decoder
//	go run ./internal/cmd/readloop -mode lookup FILE  # ... and each segment's connection found
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
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/engine"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/flow"
	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

func main() {
	mode := flag.String("mode", "read", "read, decode, lookup, pcapgo or layers")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: readloop [-mode read|decode|lookup|pcapgo|layers] FILE...")
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
	case "lookup":
		st, err := lookupCapture(files)
		return st.packets, err
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

// lookupConn is what lookupCapture keeps of a connection.
type lookupConn struct {
	pkts uint64
	fins uint8
}

// lookupCapture reads and decodes like -mode decode, then finds each TCP
// segment's connection as analyze does before any of its trackers runs: the
// flow key and its hash, the flow index, an entry made for a new connection
// (the shard's oldest given up when the table is at analyze's default
// --max-flows, its oldest in its handshake past --max-half-open), and the
// entry filed as most recent. A connection is filed as closed at its RST or
// its second FIN, where it stays for its stragglers until --max-linger
// closed ones are newer. No analysis analyze does can cost less than
// this, so it is the floor under any ratio to a read loop
// (docs/performance.md, session 35).
func lookupCapture(files []string) (lookupStats, error) {
	var st lookupStats
	src, err := capture.Open(files, capture.Options{})
	if err != nil {
		return st, fmt.Errorf("open: %w", err)
	}
	defer src.Close()
	dec := capture.NewDecoder(capture.DecodeOptions{})
	var never [flow.NumClasses]int64
	for i := range never {
		never[i] = 1 << 62
	}
	// analyze's defaults: --max-flows, --max-half-open and --max-linger.
	cfg := engine.DefaultConfig()
	maxHalfOpen, maxLinger := cfg.MaxHalfOpen, cfg.MaxLinger
	t := flow.NewShardedTable[*lookupConn](never, cfg.MaxFlows, cfg.Shards())
	var free []*lookupConn
	var seg segment.Segment
	for src.Next() {
		st.packets++
		if dec.Decode(src.Frame(), &seg).Kind != capture.KindTCP {
			continue
		}
		st.segments++
		var k flow.Key
		h := k.SetOfHashed(&seg.Src, &seg.Dst)
		e := t.GetHashed(&k, h)
		if e == nil {
			if t.Full(h) {
				if old := t.Oldest(t.Shard(h)); old != nil {
					free = append(free, old.Value)
					t.Remove(old)
				}
			}
			e = t.InsertHashed(k, h, seg.Time, flow.ClassHandshake)
			if sh := t.Shard(h); t.ShardClassLen(sh, flow.ClassHandshake) > t.ShardMax(maxHalfOpen) {
				old := t.OldestOf(sh, flow.ClassHandshake)
				free = append(free, old.Value)
				t.Remove(old)
			}
			if m := len(free); m > 0 {
				e.Value, free = free[m-1], free[:m-1]
				*e.Value = lookupConn{}
			} else {
				e.Value = new(lookupConn)
			}
			st.conns++
		}
		c := e.Value
		c.pkts++
		if seg.Flags.Has(segment.FIN) {
			c.fins++
		}
		cls := flow.ClassEstablished
		if seg.Flags.Has(segment.RST) || c.fins >= 2 {
			cls = flow.ClassClosed
		}
		t.Touch(e, seg.Time, cls)
		if sh := t.Shard(h); cls == flow.ClassClosed && t.ShardClassLen(sh, cls) > t.ShardMax(maxLinger) {
			old := t.OldestOf(sh, cls)
			free = append(free, old.Value)
			t.Remove(old)
		}
	}
	if st.segments == 0 && st.packets > 0 {
		return st, errors.New("no TCP segment decoded")
	}
	return st, src.Err()
}

// lookupStats counts what lookupCapture read: frames, TCP segments, and the
// connections it made an entry for.
type lookupStats struct {
	packets, segments, conns uint64
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
