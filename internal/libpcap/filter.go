//go:build cgo

package libpcap

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"golang.org/x/net/bpf"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
)

// FilterSnapLen is the snapshot length filters for files are compiled for.
const FilterSnapLen = 262144

// Compile compiles the BPF expression expr for frames of link type lt (a
// LINKTYPE_* value) into the raw program that golang.org/x/net/bpf runs. The
// error wraps capture.ErrBadFilter and names the expression and the link type.
func Compile(expr string, lt uint16) ([]bpf.RawInstruction, error) {
	prog, err := pcap.CompileBPFFilter(layers.LinkType(dltForLinkType(lt)), FilterSnapLen, expr)
	if err != nil {
		return nil, &badFilter{fmt.Errorf("bad filter %q for link type %d: %w", expr, lt, err)}
	}
	raw := make([]bpf.RawInstruction, len(prog))
	for i, in := range prog {
		raw[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	return raw, nil
}

// badFilter is a compile error: its message is libpcap's, and it also
// matches capture.ErrBadFilter.
type badFilter struct{ err error }

func (e *badFilter) Error() string   { return e.err.Error() }
func (e *badFilter) Unwrap() []error { return []error{e.err, capture.ErrBadFilter} }

// dltForLinkType maps a LINKTYPE_* value to the DLT_* value libpcap's compiler
// expects; they differ for a few historical types.
func dltForLinkType(lt uint16) int {
	switch lt {
	case capture.LinkTypeRaw, capture.LinkTypeRaw14:
		return int(capture.LinkTypeRaw12)
	}
	return int(lt)
}
