// Package segment defines the decoded TCP segment: the one value that travels from
// packet decoding through the flow table, the sequence tracker (reassembly) and the
// state tracker (fsm). It holds plain data only and imports no packet library, so
// that reassembly and fsm stay free of gopacket types and of I/O.
package segment

import (
	"net/netip"
	"strings"

	"github.com/tcpflow-analyze/tcpflow-analyze/seqnum"
)

// Flags is the set of TCP header flags, one bit each, in header order from FIN up.
type Flags uint16

// The TCP flags. AE is the former NS bit (RFC 3540), now AccECN's AE (RFC 9768 draft).
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
	AE
)

var flagNames = [...]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE"}

// Has reports whether every flag in x is set in f.
func (f Flags) Has(x Flags) bool { return f&x == x }

// Any reports whether at least one flag of x is set in f.
func (f Flags) Any(x Flags) bool { return f&x != 0 }

// String returns the set flags joined by "|" in header order, or "NONE".
func (f Flags) String() string {
	if f == 0 {
		return "NONE"
	}
	var b strings.Builder
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(n)
		}
	}
	if rest := f &^ (1<<len(flagNames) - 1); rest != 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString("0x")
		const hex = "0123456789abcdef"
		for s := 12; s >= 0; s -= 4 {
			b.WriteByte(hex[(rest>>s)&0xF])
		}
	}
	return b.String()
}

// Block is one SACK block: the bytes [Left, Right) that the receiver holds.
type Block struct {
	Left, Right seqnum.Value
}

// Options holds the TCP options that the analysis uses. A Has* field says whether
// the option was present; the value beside it is meaningless otherwise.
type Options struct {
	MSS           uint16
	HasMSS        bool
	WScale        uint8 // shift count as sent (RFC 7323 caps the effective value at 14)
	HasWScale     bool
	SACKPermitted bool
	SACK          [4]Block
	NumSACK       uint8 // number of valid entries in SACK
	TSVal, TSEcr  uint32
	HasTS         bool
	TFO           bool // TCP Fast Open option (kind 34, or the experimental kind 254 with magic 0xF989)
	MPTCP         bool // Multipath TCP option (kind 30)
}

// Segment is one decoded TCP segment. Payload aliases the capture buffer and is
// valid only until the source reads the next frame; everything else is a copy.
type Segment struct {
	Frame uint64 // 1-based number of the frame in the (merged) input
	Time  int64  // capture time in nanoseconds since the Unix epoch

	Src, Dst netip.AddrPort

	Seq, Ack seqnum.Value
	Flags    Flags
	Window   uint16 // raw window field, not scaled
	Urgent   uint16
	Opts     Options

	// PayloadLen is the TCP payload length on the wire, computed from the IP
	// header lengths, so it is right even when the frame was snapped short.
	PayloadLen int
	// Payload is the captured part of the payload: at most PayloadLen bytes.
	Payload []byte
	// PayloadPos says where Payload can be read again after its buffer is
	// gone: a position in the reader's own terms (a file and an offset),
	// which reassembly.Config.ReadPayload takes. 0 when it cannot be.
	PayloadPos uint64
	// IPLen is the length of the IP packet (header and payload) from its header.
	IPLen int

	// ChecksumChecked is true when the TCP checksum was verified (the option is on
	// and the whole segment was captured); BadChecksum is then its result.
	ChecksumChecked bool
	BadChecksum     bool
}

// SeqLen returns the segment's length in sequence space: payload plus one for SYN
// and one for FIN.
func (s *Segment) SeqLen() seqnum.Size {
	n := seqnum.Size(s.PayloadLen)
	if s.Flags&SYN != 0 {
		n++
	}
	if s.Flags&FIN != 0 {
		n++
	}
	return n
}

// End returns the sequence number just past the segment (Seq + SeqLen).
func (s *Segment) End() seqnum.Value { return s.Seq.Add(s.SeqLen()) }

// Truncated reports whether the capture holds fewer payload bytes than the wire had.
func (s *Segment) Truncated() bool { return len(s.Payload) < s.PayloadLen }

// Dir is the direction of a segment within its connection.
type Dir uint8

// The two directions: Orig is originator → responder, Resp is responder → originator.
const (
	Orig Dir = 0
	Resp Dir = 1
)

// Other returns the opposite direction.
func (d Dir) Other() Dir { return d ^ 1 }

// String returns "orig" or "resp".
func (d Dir) String() string {
	if d == Orig {
		return "orig"
	}
	if d == Resp {
		return "resp"
	}
	return "Dir(" + string(rune('0'+d%10)) + ")"
}
