//go:build cgo

// Package libpcap is the one part of the project that links libpcap, through
// gopacket's pcap package: live capture, the interfaces it can capture on,
// and compiling BPF filter expressions. Only the capture helper
// (cmd/tcpflow-analyze-capture) imports it, so that the analysis never links
// libpcap and gopacket's layers package (docs/performance.md, session 23);
// internal/capture talks to the helper.
package libpcap

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
)

// Live delivers the frames captured on one interface: Frame.File is
// "iface:NAME", Record and Number count the frames from 1, Offset is -1 and
// LinkType is the handle's (a LINKTYPE_* value).
//
// One goroutine reads (Next or Await, Frame) and finally calls Close; any
// goroutine may call Stop. Stats may be called by the reading goroutine at any
// time, and after Close it returns the counters as they were at Close.
type Live struct {
	h        *pcap.Handle
	iface    string
	file     string
	linkType uint16
	snapLen  int
	nano     bool

	cur    capture.Frame
	number uint64
	stop   atomic.Bool
	done   bool
	err    error

	closeOnce sync.Once
	final     *pcap.Stats
	finalErr  error
}

// OpenLive opens a live capture with the filter set on the handle. It is
// buffered, not in immediate mode: the kernel packs frames into the blocks
// of libpcap's ring (TPACKET_V3 on Linux) and wakes the helper when a block
// is full or the read timeout passes, where immediate mode woke it for
// nearly every frame. On a busy loopback (about 130 000 frames a second),
// immediate mode took 2.9 CPU-s for 4 s of traffic and the kernel dropped a
// fifth of the frames; buffered, 1.9 CPU-s and none (docs/performance.md,
// session 24). Frames wait at most one read timeout (DefaultLiveTimeout) in
// the kernel, well within the live view's interval. Errors wrap capture.ErrPermission, capture.ErrNoSuchInterface (the
// message lists the interfaces libpcap sees) or capture.ErrBadFilter (the
// message points at the part of the expression libpcap could not parse).
func OpenLive(o capture.LiveOptions) (*Live, error) {
	if o.Iface == "" {
		return nil, fmt.Errorf("no interface given: %w", capture.ErrNoSuchInterface)
	}
	if o.Snaplen <= 0 {
		o.Snaplen = capture.DefaultMaxCapLen
	}
	if o.Timeout <= 0 {
		o.Timeout = capture.DefaultLiveTimeout
	}
	if o.BufferSize <= 0 {
		o.BufferSize = capture.DefaultLiveBuffer
	}
	in, err := pcap.NewInactiveHandle(o.Iface)
	if err != nil {
		return nil, openError(o.Iface, err)
	}
	defer in.CleanUp() // a no-op once Activate has taken the handle over
	for _, set := range []func() error{
		func() error { return in.SetSnapLen(o.Snaplen) },
		func() error { return in.SetPromisc(o.Promisc) },
		func() error { return in.SetTimeout(o.Timeout) },
		func() error { return in.SetImmediateMode(false) },
		func() error { return in.SetBufferSize(o.BufferSize) },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("cannot set up capture on %s: %w", o.Iface, err)
		}
	}
	h, err := in.Activate()
	if err != nil {
		return nil, openError(o.Iface, err)
	}
	// Cooked capture (the "any" device): prefer SLL2, which names the interface.
	if h.LinkType() == layers.LinkTypeLinuxSLL {
		_ = h.SetLinkType(layers.LinkType(capture.LinkTypeSLL2)) // keep SLL when libpcap offers no SLL2
	}
	if o.Filter != "" {
		if err := h.SetBPFFilter(o.Filter); err != nil {
			lt := h.LinkType()
			h.Close()
			return nil, filterError(o.Filter, lt, err)
		}
	}
	l := &Live{
		h:        h,
		iface:    o.Iface,
		file:     "iface:" + o.Iface,
		linkType: linkTypeOfDLT(int(h.LinkType())),
		snapLen:  h.SnapLen(),
		nano:     h.Resolution().Exponent == -9,
	}
	return l, nil
}

// openError classifies an error from creating or activating a handle.
func openError(iface string, err error) error {
	msg := err.Error()
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "permission denied") || strings.Contains(low, "operation not permitted"):
		if strings.EqualFold(msg, capture.ErrPermission.Error()) {
			return fmt.Errorf("cannot capture on %s: %w", iface, capture.ErrPermission)
		}
		return fmt.Errorf("cannot capture on %s: %w (%s)", iface, capture.ErrPermission, msg)
	case strings.Contains(low, "no such device"):
		var n []string
		if ifs, lerr := ListInterfaces(); lerr == nil {
			for _, f := range ifs {
				n = append(n, f.Name)
			}
		} else {
			n = interfaceNames()
		}
		names := "none"
		if len(n) > 0 {
			names = strings.Join(n, ", ")
		}
		return fmt.Errorf("cannot capture on %q: %w (available: %s)", iface, capture.ErrNoSuchInterface, names)
	case strings.Contains(low, "not up"):
		return fmt.Errorf("cannot capture on %s: the interface is down: %w", iface, err)
	}
	return fmt.Errorf("cannot capture on %s: %w", iface, err)
}

// linkTypeOfDLT maps a libpcap DLT_* value to the LINKTYPE_* value written in
// files; they differ for raw IP.
func linkTypeOfDLT(dlt int) uint16 {
	switch dlt {
	case int(capture.LinkTypeRaw12), int(capture.LinkTypeRaw14):
		return capture.LinkTypeRaw
	}
	return uint16(dlt)
}

// Next waits for the next frame and reports whether there is one. It returns
// false once the capture is stopped (Stop) or has failed (Err). The previous
// frame's Data becomes invalid.
func (l *Live) Next() bool {
	for {
		switch l.Await(time.Time{}) {
		case capture.ReadFrame:
			return true
		case capture.ReadDone:
			return false
		}
	}
}

// Await waits for the next frame until deadline (the zero time: no deadline).
// It returns capture.ReadIdle no later than one read timeout after the deadline
// when no frame came, and capture.ReadDone once the capture is stopped or
// failed. The previous frame's Data becomes invalid.
func (l *Live) Await(deadline time.Time) capture.ReadStatus {
	for {
		if l.done {
			return capture.ReadDone
		}
		if l.stop.Load() {
			l.done = true
			return capture.ReadDone
		}
		data, ci, err := l.h.ZeroCopyReadPacketData()
		switch {
		case err == nil:
			l.number++
			l.cur = capture.Frame{
				Data:     data,
				CapLen:   len(data),
				OrigLen:  ci.Length,
				Time:     ci.Timestamp.UnixNano(),
				LinkType: l.linkType,
				File:     l.file,
				Record:   l.number,
				Offset:   -1,
				Number:   l.number,
			}
			if l.cur.OrigLen < l.cur.CapLen {
				l.cur.OrigLen = l.cur.CapLen
			}
			return capture.ReadFrame
		case errors.Is(err, pcap.NextErrorTimeoutExpired):
		case errors.Is(err, io.EOF):
			l.done = true
			return capture.ReadDone
		default:
			l.done = true
			detail := err.Error()
			if e := l.h.Error(); e != nil && e.Error() != "" {
				detail = e.Error()
			}
			l.err = fmt.Errorf("capture on %s: frame %d: %s: %w", l.iface, l.number+1, detail, err)
			return capture.ReadDone
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return capture.ReadIdle
		}
	}
}

// Frame returns the current frame; its Data points into libpcap's buffer and
// is overwritten by the next call to Next or Await.
func (l *Live) Frame() *capture.Frame { return &l.cur }

// Err returns the error that ended the capture, or nil if it was stopped.
func (l *Live) Err() error { return l.err }

// Stop makes Next and Await return capture.ReadDone within one read timeout.
// It may be called from any goroutine, any number of times.
func (l *Live) Stop() { l.stop.Store(true) }

// Stats returns libpcap's counters (pcap_stats): packets received by the
// filter, dropped for lack of buffer space, and dropped by the interface or
// its driver.
func (l *Live) Stats() (received, dropped, ifDropped uint64, err error) {
	st, err := l.final, l.finalErr
	if st == nil && err == nil {
		st, err = l.h.Stats()
	}
	if err != nil {
		return 0, 0, 0, fmt.Errorf("capture statistics for %s: %w", l.iface, err)
	}
	return uint64(st.PacketsReceived), uint64(st.PacketsDropped), uint64(st.PacketsIfDropped), nil
}

// Close records the final counters and closes the handle. It must not run
// while another goroutine is in Next or Await (call Stop there instead).
func (l *Live) Close() error {
	l.closeOnce.Do(func() {
		l.final, l.finalErr = l.h.Stats()
		l.done = true
		l.h.Close()
	})
	return nil
}

// Iface returns the interface name.
func (l *Live) Iface() string { return l.iface }

// LinkType returns the LINKTYPE_* value of every frame.
func (l *Live) LinkType() uint16 { return l.linkType }

// SnapLen returns the handle's snapshot length.
func (l *Live) SnapLen() int { return l.snapLen }

// Nanosecond reports whether timestamps have nanosecond precision (else
// microsecond).
func (l *Live) Nanosecond() bool { return l.nano }

// pcap_if_t flags.
const (
	pcapIfLoopback = 0x1
	pcapIfUp       = 0x2
	pcapIfRunning  = 0x4
)

// ListInterfaces returns the devices libpcap can capture on, in its order.
func ListInterfaces() ([]capture.Interface, error) {
	devs, err := pcap.FindAllDevs()
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	out := make([]capture.Interface, 0, len(devs))
	for _, d := range devs {
		f := capture.Interface{
			Name: d.Name, Description: d.Description,
			Loopback: d.Flags&pcapIfLoopback != 0,
			Up:       d.Flags&pcapIfUp != 0,
			Running:  d.Flags&pcapIfRunning != 0,
		}
		for _, a := range d.Addresses {
			if a.IP == nil {
				continue
			}
			if a.Netmask != nil {
				if ones, bits := a.Netmask.Size(); bits != 0 {
					f.Addresses = append(f.Addresses, fmt.Sprintf("%s/%d", a.IP, ones))
					continue
				}
			}
			f.Addresses = append(f.Addresses, a.IP.String())
		}
		out = append(out, f)
	}
	return out, nil
}

// filterError builds the error for an expression libpcap rejected on a handle
// of link type lt. For a syntax error it finds the first word at which no
// valid expression can continue, and shows it under the expression.
func filterError(expr string, lt layers.LinkType, err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "syntax error") {
		return fmt.Errorf("%w %q: %s", capture.ErrBadFilter, expr, msg)
	}
	compiles := func(s string) bool {
		_, e := pcap.CompileBPFFilter(lt, capture.DefaultMaxCapLen, s)
		return e == nil || !strings.Contains(e.Error(), "syntax error")
	}
	start, end, ok := syntaxErrorAt(expr, compiles)
	if !ok {
		return fmt.Errorf("%w %q: %s", capture.ErrBadFilter, expr, msg)
	}
	if start >= len(expr) {
		return fmt.Errorf("%w %q: %s: the expression ends too early\n  %s\n  %s^", capture.ErrBadFilter, expr, msg, expr, strings.Repeat(" ", len(expr)))
	}
	return fmt.Errorf("%w %q: %s at %q\n  %s\n  %s%s", capture.ErrBadFilter, expr, msg, expr[start:end],
		expr, strings.Repeat(" ", start), strings.Repeat("^", end-start))
}

// syntaxErrorAt locates a syntax error in expr: the byte range of the first
// word whose prefix of expr cannot be completed into a valid expression, or
// (len, len) when every prefix can (the expression stops too early). ok is
// false when even the whole expression parses. parses reports whether a string
// is syntactically valid; semantic errors (unknown host, bad port) count as valid.
func syntaxErrorAt(expr string, parses func(string) bool) (start, end int, ok bool) {
	if parses(expr) {
		return 0, 0, false
	}
	words := filterWords(expr)
	for _, w := range words {
		prefix := expr[:w[1]]
		if !completable(prefix, parses) {
			return w[0], w[1], true
		}
	}
	return len(expr), len(expr), true
}

// completable reports whether some short continuation makes prefix parse.
func completable(prefix string, parses func(string) bool) bool {
	closers := unclosed(prefix)
	for _, a := range []string{"", " 1", " tcp"} {
		for _, b := range []string{"", " = 1"} {
			if parses(prefix + a + closers + b) {
				return true
			}
		}
	}
	return false
}

// unclosed returns the brackets that close what prefix left open, innermost first.
func unclosed(prefix string) string {
	var stack []byte
	for i := 0; i < len(prefix); i++ {
		switch prefix[i] {
		case '(':
			stack = append(stack, ')')
		case '[':
			stack = append(stack, ']')
		case ')', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	var b strings.Builder
	for i := len(stack) - 1; i >= 0; i-- {
		b.WriteByte(stack[i])
	}
	return b.String()
}

// filterWords splits a filter expression into words: runs of characters other
// than blanks and parentheses, and each parenthesis alone. It returns their
// byte ranges.
func filterWords(expr string) [][2]int {
	var out [][2]int
	start := -1
	flush := func(i int) {
		if start >= 0 {
			out = append(out, [2]int{start, i})
			start = -1
		}
	}
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; {
		case c == ' ' || c == '\t' || c == '\n':
			flush(i)
		case c == '(' || c == ')':
			flush(i)
			out = append(out, [2]int{i, i + 1})
		default:
			if start < 0 {
				start = i
			}
		}
	}
	flush(len(expr))
	return out
}

// interfaceNames returns the sorted names of the interfaces the OS knows, for
// messages when libpcap cannot list them.
func interfaceNames() []string {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	names := make([]string, len(ifs))
	for i, f := range ifs {
		names[i] = f.Name
	}
	sort.Strings(names)
	return names
}
