package capture

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Live delivers the frames captured on one interface, like Source does for
// files: Frame.File is "iface:NAME", Record and Number count the frames from 1,
// Offset is -1 and LinkType is the handle's (a LINKTYPE_* value). libpcap
// captures in the helper (HelperPath), which streams the frames here.
//
// One goroutine reads (Next or Await, Frame, Stats) and finally calls Close;
// any goroutine may call Stop. After Close, Stats returns the final counters.
type Live struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	stderr   *bytes.Buffer // what the helper said besides its messages
	iface    string
	file     string
	linkType uint16
	snapLen  int
	nano     bool

	msgs    chan helperMsg // from the stream's reader, closed at its end
	free    chan []byte    // frame buffers given back to the reader
	pending []helperMsg    // read by Stats ahead of Await
	cur     Frame
	number  uint64
	done    bool
	err     error

	stats    [3]uint64
	hasStats bool
	final    bool

	stopped   atomic.Bool
	stopOnce  sync.Once
	closeOnce sync.Once
	waitOnce  sync.Once
	waitErr   error
}

// OpenLive starts a live capture, buffered by the kernel for at most one read
// timeout, with the filter set on the handle. Errors wrap ErrNoLiveSupport (no helper), ErrPermission,
// ErrNoSuchInterface (the message lists the interfaces libpcap sees) or
// ErrBadFilter (the message points at the part of the expression libpcap
// could not parse).
func OpenLive(o LiveOptions) (*Live, error) {
	if o.Iface == "" {
		return nil, fmt.Errorf("no interface given: %w", ErrNoSuchInterface)
	}
	path, err := HelperPath()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Iface, err)
	}
	args := []string{"capture", "-proto", strconv.Itoa(HelperProto), "-i", o.Iface, "-f", o.Filter,
		"-snaplen", strconv.Itoa(o.Snaplen), "-buffer", strconv.Itoa(o.BufferSize), "-timeout", o.Timeout.String()}
	if o.Promisc {
		args = append(args, "-promisc")
	}
	cmd := exec.Command(path, args...)
	l := &Live{cmd: cmd, stderr: new(bytes.Buffer), iface: o.Iface, file: "iface:" + o.Iface,
		msgs: make(chan helperMsg, 256), free: make(chan []byte, 256)}
	cmd.Stderr = l.stderr
	if l.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("capture on %s: %w", o.Iface, err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("capture on %s: %w", o.Iface, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("capture on %s: starting %s: %w", o.Iface, path, err)
	}
	r := bufio.NewReaderSize(out, 256<<10)
	first, err := readHelperMsg(r, nil)
	switch {
	case err == nil && first.kind == msgOpen && first.open.Proto == HelperProto:
	case err == nil && first.kind == msgOpen:
		err = fmt.Errorf("capture helper %s speaks protocol %d, not %d: install the one built with this tcpflow-analyze", path, first.open.Proto, HelperProto)
	case err == nil && first.kind == msgError:
		err = first.err
	case err == nil:
		err = fmt.Errorf("capture helper %s: a capture began with %q", path, first.kind)
	case err == io.EOF:
		err = fmt.Errorf("capture helper %s ended before the capture began", path)
	}
	if err != nil {
		l.stdin.Close()
		io.Copy(io.Discard, r)
		if werr := cmd.Wait(); werr != nil && first.kind != msgError {
			err = helperFailure(path, werr, l.stderr.Bytes())
		}
		return nil, err
	}
	l.linkType, l.snapLen, l.nano = first.open.LinkType, first.open.SnapLen, first.open.Nano
	go l.read(r)
	return l, nil
}

// read passes the stream's messages on until its end, reusing the frame
// buffers Await gives back.
func (l *Live) read(r *bufio.Reader) {
	defer close(l.msgs)
	for {
		var buf []byte
		select {
		case buf = <-l.free:
		default:
		}
		m, err := readHelperMsg(r, buf)
		if err == io.EOF {
			return
		}
		if err != nil {
			l.msgs <- helperMsg{kind: msgError, err: fmt.Errorf("capture on %s: %w", l.iface, err)}
			io.Copy(io.Discard, r) // let the helper finish
			return
		}
		l.msgs <- m
	}
}

// next returns the next message, from those Stats read ahead first; ok is
// false at the stream's end, idle true when deadline (not zero) passed first.
func (l *Live) next(deadline time.Time) (m helperMsg, ok, idle bool) {
	if len(l.pending) > 0 {
		m = l.pending[0]
		l.pending = l.pending[1:]
		return m, true, false
	}
	if deadline.IsZero() {
		m, ok = <-l.msgs
		return m, ok, false
	}
	select {
	case m, ok = <-l.msgs: // waiting already: no timer
		return m, ok, false
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case m, ok = <-l.msgs:
		return m, ok, false
	case <-t.C:
		return m, false, true
	}
}

// Next waits for the next frame and reports whether there is one. It returns
// false once the capture is stopped (Stop) or has failed (Err). The previous
// frame's Data becomes invalid.
func (l *Live) Next() bool { return l.Await(time.Time{}) == ReadFrame }

// Await waits for the next frame until deadline (the zero time: no deadline).
// It returns ReadIdle when the deadline passed without a frame, and ReadDone
// once the capture is stopped or failed. The previous frame's Data becomes
// invalid.
func (l *Live) Await(deadline time.Time) ReadStatus {
	l.recycle()
	for {
		if l.done {
			return ReadDone
		}
		if l.stopped.Load() {
			l.done = true
			return ReadDone
		}
		m, ok, idle := l.next(deadline)
		switch {
		case idle:
			return ReadIdle
		case !ok:
			l.done = true
			l.ended()
			return ReadDone
		}
		switch m.kind {
		case msgFrame:
			l.number++
			l.cur = Frame{Data: m.data, CapLen: m.capLen, OrigLen: m.origLen, Time: m.time, LinkType: l.linkType,
				File: l.file, Record: l.number, Offset: -1, Number: l.number}
			return ReadFrame
		case msgStats:
			l.keepStats(m)
		case msgError:
			l.done = true
			l.err = m.err
			return ReadDone
		}
	}
}

// ended notes why the stream ended when nobody stopped the capture: a helper
// that ends by itself without its final counters failed (it was killed, say).
func (l *Live) ended() {
	if l.stopped.Load() || l.final || l.err != nil {
		return
	}
	if err := l.wait(); err != nil {
		l.err = fmt.Errorf("capture on %s: %w", l.iface, helperFailure(l.cmd.Path, err, l.stderr.Bytes()))
		return
	}
	l.err = fmt.Errorf("capture on %s: the capture helper %s ended without being asked", l.iface, l.cmd.Path)
}

// wait waits for the helper to exit, once, and returns how it did.
func (l *Live) wait() error {
	l.waitOnce.Do(func() { l.waitErr = l.cmd.Wait() })
	return l.waitErr
}

// recycle gives the current frame's buffer back to the reader.
func (l *Live) recycle() {
	if b := l.cur.Data; cap(b) > 0 && cap(b) <= 64<<10 {
		select {
		case l.free <- b[:0]:
		default:
		}
	}
	l.cur.Data = nil
}

func (l *Live) keepStats(m helperMsg) {
	l.stats, l.hasStats = m.stats, true
	l.final = l.final || m.final
}

// Frame returns the current frame; its Data is overwritten by the next call
// to Next or Await.
func (l *Live) Frame() *Frame { return &l.cur }

// Err returns the error that ended the capture, or nil if it was stopped.
func (l *Live) Err() error { return l.err }

// Stop makes Next and Await return ReadDone: at once when they are called
// next, and within one read timeout for one that waits. It may be called from
// any goroutine, any number of times.
func (l *Live) Stop() {
	l.stopOnce.Do(func() {
		l.stopped.Store(true)
		l.stdin.Close() // the helper stops on the end of its input
	})
}

// Stats returns libpcap's counters (pcap_stats): packets received by the
// filter, dropped for lack of buffer space, and dropped by the interface or
// its driver. While the capture runs it asks the helper, whose answer counts
// at least the frames delivered so far; once the capture is stopped it waits
// for the helper's final counters.
func (l *Live) Stats() (received, dropped, ifDropped uint64, err error) {
	switch {
	case l.final:
	case l.stopped.Load():
		// Stopped: the helper sends its final counters as it ends.
		l.drain()
	case !l.done:
		if _, werr := l.stdin.Write([]byte{HelperStatsRequest}); werr == nil {
			l.awaitStats()
		}
	}
	if !l.hasStats {
		if l.err != nil {
			return 0, 0, 0, fmt.Errorf("capture statistics for %s: %w", l.iface, l.err)
		}
		return 0, 0, 0, fmt.Errorf("capture statistics for %s: the capture helper sent none", l.iface)
	}
	return l.stats[0], l.stats[1], l.stats[2], nil
}

// awaitStats reads the stream up to the helper's answer to a statistics
// request, keeping the frames and errors it passes for Await.
func (l *Live) awaitStats() {
	for {
		m, ok := <-l.msgs
		if !ok {
			l.done = true
			l.ended()
			return
		}
		if m.kind == msgStats {
			l.keepStats(m)
			return
		}
		l.pending = append(l.pending, m)
		if m.kind == msgError {
			return
		}
	}
}

// Close stops the capture, waits for the helper to end and keeps its final
// counters. It must not run while another goroutine is in Next or Await (call
// Stop there instead).
func (l *Live) Close() error {
	l.closeOnce.Do(func() {
		l.Stop()
		l.drain()
		l.done = true
		if err := l.wait(); err != nil && l.err == nil && !l.final {
			l.err = helperFailure(l.cmd.Path, err, l.stderr.Bytes())
		}
	})
	return nil
}

// drain reads the stream to its end, once the capture is stopped, keeping
// the counters and the first error and dropping the frames.
func (l *Live) drain() {
	for _, m := range l.pending {
		l.closeMsg(m)
	}
	l.pending = nil
	for m := range l.msgs {
		l.closeMsg(m)
	}
}

// closeMsg takes what drain needs from a message.
func (l *Live) closeMsg(m helperMsg) {
	switch m.kind {
	case msgStats:
		l.keepStats(m)
	case msgError:
		if l.err == nil && !errors.Is(m.err, io.ErrUnexpectedEOF) {
			l.err = m.err
		}
	}
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

// ListInterfaces returns the devices libpcap can capture on, in its order.
func ListInterfaces() ([]Interface, error) {
	out, err := runHelper("interfaces", "-proto", strconv.Itoa(HelperProto))
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	var ifs []Interface
	if err := json.Unmarshal(out, &ifs); err != nil {
		return nil, fmt.Errorf("listing interfaces: the capture helper's answer: %w", err)
	}
	return ifs, nil
}
