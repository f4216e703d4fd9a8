package capture

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"golang.org/x/net/bpf"
)

// Filter is a compiled BPF filter expression. libpcap compiles it, in the
// capture helper (HelperPath), once per link type (lazily, since a pcapng
// file may mix link types), and the program runs in a pure-Go BPF virtual
// machine. A Filter is safe for concurrent use.
type Filter struct {
	expr string
	mu   sync.Mutex
	vms  map[uint16]*bpf.VM
	errs map[uint16]error
	err  error // the first compile error recorded in errs
}

// CompileFilter compiles expr with libpcap. A syntax error comes back naming
// the expression. The expression is checked against Ethernet first and raw IP
// second, so that link-specific expressions are accepted. Without the capture
// helper the error wraps ErrNoFilterSupport.
func CompileFilter(expr string) (*Filter, error) {
	if _, err := HelperPath(); err != nil {
		return nil, fmt.Errorf("filter %q: %w", expr, ErrNoFilterSupport)
	}
	f := &Filter{expr: expr, vms: make(map[uint16]*bpf.VM), errs: make(map[uint16]error)}
	_, err := f.vm(LinkTypeEthernet)
	if err == nil {
		return f, nil
	}
	if _, err2 := f.vm(LinkTypeRaw); err2 == nil {
		return f, nil
	}
	return nil, err
}

// String returns the filter expression.
func (f *Filter) String() string { return f.expr }

// vm returns the program for link type lt, compiling it on first use.
func (f *Filter) vm(lt uint16) (*bpf.VM, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if vm, ok := f.vms[lt]; ok {
		return vm, nil
	}
	if err, ok := f.errs[lt]; ok {
		return nil, err
	}
	vm, err := compileFor(f.expr, lt)
	if err != nil {
		f.errs[lt] = err
		if f.err == nil {
			f.err = err
		}
		return nil, err
	}
	f.vms[lt] = vm
	return vm, nil
}

// compileFor has the helper compile expr for link type lt.
func compileFor(expr string, lt uint16) (*bpf.VM, error) {
	out, err := runHelper("compile", "-proto", strconv.Itoa(HelperProto), "-linktype", strconv.Itoa(int(lt)), "--", expr)
	if err != nil {
		return nil, err
	}
	var prog [][4]uint32
	if err := json.Unmarshal(out, &prog); err != nil {
		return nil, fmt.Errorf("filter %q for link type %d: the capture helper's answer: %w", expr, lt, err)
	}
	raw := make([]bpf.RawInstruction, len(prog))
	for i, in := range prog {
		raw[i] = bpf.RawInstruction{Op: uint16(in[0]), Jt: uint8(in[1]), Jf: uint8(in[2]), K: in[3]}
	}
	insts, ok := bpf.Disassemble(raw)
	if !ok {
		return nil, fmt.Errorf("filter %q for link type %d: libpcap produced an instruction the BPF VM cannot run", expr, lt)
	}
	vm, err := bpf.NewVM(insts)
	if err != nil {
		return nil, fmt.Errorf("filter %q for link type %d: %w", expr, lt, err)
	}
	return vm, nil
}

// Match reports whether the frame passes the filter. A frame whose link type
// the expression cannot be compiled for does not match; Err tells why.
func (f *Filter) Match(fr *Frame) bool {
	vm, err := f.vm(fr.LinkType)
	if err != nil {
		return false
	}
	n, err := vm.Run(fr.Data)
	return err == nil && n > 0
}

// Err returns the first error met compiling the expression for a link type
// seen by Match, or nil.
func (f *Filter) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}
