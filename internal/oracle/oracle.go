// Package oracle reads the reference results that sit beside the shared capture
// corpus (tshark JSON summaries, Zeek conn.log baselines, SOURCES.json) so that
// tests can measure how far our analysis agrees with those tools.
package oracle

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// CorpusDir finds ../shared/pcaps beside the module root that holds start (a
// directory inside the module). It returns "" when the corpus is absent.
func CorpusDir(start string) string {
	dir, err := filepath.Abs(start)
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			c := filepath.Join(dir, "..", "shared", "pcaps")
			if st, err := os.Stat(c); err == nil && st.IsDir() {
				return c
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

var oracleSuffixes = []string{".json", ".log", ".txt", ".out", ".yaml", ".md", ".sh"}

// Captures lists the capture files of the corpus (everything that is not an oracle).
func Captures(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading corpus %s: %w", dir, err)
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") {
			continue
		}
		skip := false
		for _, s := range oracleSuffixes {
			if strings.HasSuffix(n, s) {
				skip = true
			}
		}
		if !skip {
			out = append(out, filepath.Join(dir, n))
		}
	}
	sort.Strings(out)
	return out, nil
}

// Tshark is the part of a *.tshark.json oracle that tests use.
type Tshark struct {
	PacketCount          int                   `json:"packet_count"`
	TCPPacketCount       int                   `json:"tcp_packet_count"`
	TCPConversationCount int                   `json:"tcp_conversation_count"`
	TCPStreamCount       int                   `json:"tcp_stream_count"`
	TsharkRC             int                   `json:"tshark_rc"`
	TsharkStderr         string                `json:"tshark_stderr"`
	Analysis             map[string]TsharkFlag `json:"tcp_analysis"`
	Streams              []TsharkStream        `json:"streams"`
	Capinfos             map[string]any        `json:"capinfos"`
}

// TsharkFlag counts the frames carrying one tcp.analysis flag.
type TsharkFlag struct {
	Count  int      `json:"count"`
	Frames []uint64 `json:"frames"`
}

// TsharkStream is one tcp.stream as tshark saw it.
type TsharkStream struct {
	Stream       int    `json:"stream"`
	FirstFrame   uint64 `json:"first_frame"`
	Src          string `json:"src"`
	SrcPort      string `json:"srcport"`
	Dst          string `json:"dst"`
	DstPort      string `json:"dstport"`
	Frames       int    `json:"frames"`
	PayloadBytes int    `json:"payload_bytes"`
	Completeness *int   `json:"completeness"`
}

// LoadTshark reads capture+".tshark.json"; ok is false when there is none.
func LoadTshark(capture string) (t *Tshark, ok bool, err error) {
	b, err := os.ReadFile(capture + ".tshark.json")
	if os.IsNotExist(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading tshark oracle: %w", err)
	}
	t = new(Tshark)
	if err := json.Unmarshal(b, t); err != nil {
		return nil, false, fmt.Errorf("parsing %s.tshark.json: %w", filepath.Base(capture), err)
	}
	return t, true, nil
}

// ZeekConn is one row of a Zeek conn.log.
type ZeekConn struct {
	OrigH, OrigP, RespH, RespP string
	Proto                      string
	ConnState, History         string
	// HasTuple, HasConnState and HasHistory say which columns the log has: a
	// zeek-cut baseline may leave any of them out.
	HasTuple, HasConnState, HasHistory bool
}

// LoadZeekConn reads a Zeek conn.log (TSV with a #fields header, possibly a
// zeek-cut subset with a bare header line) and returns its TCP rows in order.
func LoadZeekConn(path string) ([]ZeekConn, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading zeek log: %w", err)
	}
	defer f.Close()
	var fields []string
	var rows []ZeekConn
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#fields\t"):
			fields = strings.Split(line, "\t")[1:]
			continue
		case strings.HasPrefix(line, "#"), strings.TrimSpace(line) == "":
			continue
		}
		cols := strings.Split(line, "\t")
		if fields == nil || (len(cols) > 0 && cols[0] == "uid") || (len(cols) > 0 && cols[0] == "ts") {
			// zeek-cut output: the first plain line names the columns, the
			// second gives their types.
			if fields == nil || cols[0] == "uid" || cols[0] == "ts" {
				fields = cols
				continue
			}
		}
		if len(cols) > 0 && (cols[0] == "string" || cols[0] == "time") {
			continue
		}
		get := func(name string) string {
			for i, f := range fields {
				if f == name && i < len(cols) {
					return cols[i]
				}
			}
			return ""
		}
		has := func(name string) bool {
			for _, f := range fields {
				if f == name {
					return true
				}
			}
			return false
		}
		r := ZeekConn{
			OrigH: get("id.orig_h"), OrigP: get("id.orig_p"),
			RespH: get("id.resp_h"), RespP: get("id.resp_p"),
			Proto: get("proto"), ConnState: get("conn_state"), History: get("history"),
			HasTuple:     has("id.orig_h") && has("id.resp_p"),
			HasConnState: has("conn_state"),
			HasHistory:   has("history"),
		}
		if r.Proto != "" && r.Proto != "tcp" {
			continue
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return rows, nil
}

// Source is one entry of SOURCES.json.
type Source struct {
	File    string `json:"file"`
	Oracles []struct {
		Kind string `json:"kind"`
		File string `json:"file"`
		Exec string `json:"exec"`
	} `json:"oracles"`
}

// LoadSources reads SOURCES.json from the corpus directory, keyed by file name.
func LoadSources(dir string) (map[string]Source, error) {
	b, err := os.ReadFile(filepath.Join(dir, "SOURCES.json"))
	if err != nil {
		return nil, fmt.Errorf("reading SOURCES.json: %w", err)
	}
	var doc struct {
		Files []Source `json:"files"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parsing SOURCES.json: %w", err)
	}
	m := make(map[string]Source, len(doc.Files))
	for _, s := range doc.Files {
		m[s.File] = s
	}
	return m, nil
}

// ZeekChecksums reports whether the Zeek baseline for oracle file name was made
// with checksum verification on (no -C flag), so bad-checksum packets were dropped.
func (s Source) ZeekChecksums(oracleFile string) bool {
	for _, o := range s.Oracles {
		if o.File == oracleFile {
			for _, w := range strings.Fields(o.Exec) {
				if w == "-C" || (strings.HasPrefix(w, "-") && !strings.HasPrefix(w, "--") && strings.Contains(w, "C") && len(w) <= 4) {
					return false
				}
			}
			return true
		}
	}
	return false
}

// FlagKinds is a tshark tcp.analysis flag and the anomaly kinds whose
// packet counts add up to it.
type FlagKinds struct {
	Flag  string
	Kinds []string
}

// ComparedFlags are the flags the tests compare with tshark's on every
// capture. tshark's tcp.analysis.retransmission also marks fast and
// spurious retransmissions, so ours are summed the same way.
var ComparedFlags = []FlagKinds{
	{"retransmission", []string{"retransmission", "fast_retransmission", "spurious_retransmission"}},
	{"out_of_order", []string{"out_of_order"}},
	{"duplicate_ack", []string{"duplicate_ack"}},
	{"zero_window", []string{"zero_window"}},
	{"zero_window_probe", []string{"zero_window_probe"}},
	{"keep_alive", []string{"keep_alive"}},
	{"window_full", []string{"window_full"}},
	{"lost_segment", []string{"lost_segment"}},
	{"ack_lost_segment", []string{"ack_unseen_segment"}},
}
