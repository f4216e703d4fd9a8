package capture

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/segment"
)

// corpusDir finds the shared capture corpus next to the module root.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("module root not found")
		}
		dir = parent
	}
	pcaps := filepath.Join(dir, "..", "shared", "pcaps")
	if _, err := os.Stat(pcaps); err != nil {
		t.Skipf("capture corpus not available at %s: %v", pcaps, err)
	}
	return pcaps
}

type oracle struct {
	PacketCount    int    `json:"packet_count"`
	TCPPacketCount int    `json:"tcp_packet_count"`
	TsharkRC       int    `json:"tshark_rc"`
	TsharkStderr   string `json:"tshark_stderr"`
}

// deliberateTCPDiff lists the files whose TCP count differs from tshark's on
// purpose, with the reason.
var deliberateTCPDiff = map[string]string{
	// tshark reassembles IP fragments and counts the reassembled segment as
	// TCP in the last fragment's frame; the decoder counts fragments as
	// ip_fragment and never reassembles.
	"pcpp__frag_http_req.pcap":        "IPv4 fragments reassembled by tshark",
	"sv__frag-ip-tcp-syn.pcap":        "IPv4 fragments reassembled by tshark",
	"sv__frag-eth-vlan-ipv6-tcp.pcap": "IPv6 fragments reassembled by tshark",
	"zeek__fragmented-syn.pcap":       "IPv4 fragments reassembled by tshark",
	// tshark shows a TCP layer (marked malformed) for headers that contradict
	// the IP lengths or have a data offset below 5; the decoder reports them
	// as malformed instead of handing bogus segments to the analysis.
	"pcpp__tcp-malformed.pcap":                  "TCP data offset beyond the IP payload (2 frames)",
	"tcpdump__heapoverflow-tcp_print.pcap":      "fuzzed TCP header cut short (1 frame)",
	"gopacket__linux_sll_oversized_addr.pcapng": "frame 87: TCP options cut off (origlen wrong); frame 95: data offset 0",
	// FDDI is not a supported link type (unsupported_link by design).
	"zeek__llc.pcap": "FDDI link type not supported",
}

// unsupportedFiles are captures tshark reads that Open rejects on purpose.
var unsupportedFiles = map[string]string{}

func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	oracles, err := filepath.Glob(filepath.Join(dir, "*.tshark.json"))
	if err != nil || len(oracles) == 0 {
		t.Skipf("no oracles in %s", dir)
	}
	sort.Strings(oracles)
	dec := NewDecoder(DecodeOptions{VerifyChecksums: true})
	var seg segment.Segment
	var files, agree, exactTCP, frameAgree, frameChecked int
	var table strings.Builder
	table.WriteString("\nfile                                                          frames(ours/tshark)  tcp(ours/tshark)  note\n")
	for _, o := range oracles {
		name := strings.TrimSuffix(filepath.Base(o), ".tshark.json")
		raw, err := os.ReadFile(o)
		if err != nil {
			t.Fatal(err)
		}
		var want oracle
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("%s: %v", o, err)
		}
		files++
		src, err := Open([]string{filepath.Join(dir, name)}, Options{})
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), name) {
				t.Errorf("%s: open error is not a clear *InputError naming the file: %v", name, err)
			}
			if why, ok := unsupportedFiles[name]; ok {
				agree++
				table.WriteString(pad(name, 62) + pad("rejected", 21) + pad("-", 18) + "deliberate: " + why + "\n")
				continue
			}
			if want.TsharkRC == 0 {
				t.Errorf("%s: tshark reads it but Open fails: %v", name, err)
			} else {
				agree++ // both call it unreadable
			}
			table.WriteString(pad(name, 62) + pad("rejected", 21) + pad("-", 18) + err.Error() + "\n")
			continue
		}
		frames, tcp := 0, 0
		kinds := map[Kind]int{}
		for src.Next() {
			f := src.Frame()
			frames++
			if f.Number != uint64(frames) {
				t.Fatalf("%s: frame number %d, want %d", name, f.Number, frames)
			}
			r := dec.Decode(f, &seg)
			kinds[r.Kind]++
			if r.Kind == KindTCP {
				tcp++
				if len(seg.Payload) > seg.PayloadLen || seg.PayloadLen < 0 {
					t.Errorf("%s frame %d: payload %d of %d", name, frames, len(seg.Payload), seg.PayloadLen)
				}
			}
		}
		readErr := src.Err()
		problems := src.Problems()
		src.Close()
		note := ""
		ok := true
		if want.TsharkRC == 0 {
			frameChecked++
			if frames == want.PacketCount {
				frameAgree++
			} else {
				ok = false
				t.Errorf("%s: %d frames, tshark %d", name, frames, want.PacketCount)
			}
			if readErr != nil {
				t.Errorf("%s: unexpected error: %v", name, readErr)
			}
		} else {
			// tshark calls the file broken: we must say so too.
			if readErr == nil && len(problems) == 0 {
				t.Errorf("%s: tshark says %q but we report nothing", name, want.TsharkStderr)
			}
			if readErr != nil {
				note = readErr.Error()
			} else {
				note = problems[len(problems)-1].Error()
			}
			note = strings.TrimPrefix(note, filepath.Join(dir, name)+": ")
		}
		if tcp == want.TCPPacketCount {
			exactTCP++
		} else {
			if why, ok2 := deliberateTCPDiff[name]; ok2 {
				note = "deliberate: " + why
			} else {
				ok = false
				note = "DIFF " + kindSummary(kinds)
			}
		}
		if ok {
			agree++
		}
		table.WriteString(pad(name, 62) + pad(itoa(frames)+"/"+itoa(want.PacketCount), 21) + pad(itoa(tcp)+"/"+itoa(want.TCPPacketCount), 18) + note + "\n")
	}
	t.Logf("%s", table.String())
	t.Logf("agreement (exact or deliberate): %d of %d files; TCP counts equal on %d files; frame counts equal on %d of %d files tshark read fully",
		agree, files, exactTCP, frameAgree, frameChecked)
	if agree*10 < files*9 {
		t.Errorf("agreement %d/%d is below 90%%", agree, files)
	}
}

func kindSummary(m map[Kind]int) string {
	var parts []string
	for k := Kind(0); k < numKinds; k++ {
		if m[k] > 0 {
			parts = append(parts, k.String()+"="+itoa(m[k]))
		}
	}
	return strings.Join(parts, " ")
}

func pad(s string, n int) string {
	if len(s) >= n {
		return s + " "
	}
	return s + strings.Repeat(" ", n-len(s))
}
