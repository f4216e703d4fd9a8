package capture

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
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

	msgs   chan *msgBatch // from the stream's reader, closed at its end
	free   chan *msgBatch // batches given back to the reader
	batch  *msgBatch      // the batch being read, from its message pos
	pos    int
	queue  []*msgBatch // batches Stats read ahead of Await
	cur    Frame
	number uint64
	done   bool
	err    error

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
// timeout, with the filter set on the handle. Errors wrap ErrNoLiveSupport
// (no helper), ErrPermission, ErrNoSuchInterface (the message lists the
// interfaces libpcap sees) or ErrBadFilter (the message points at the part
// of the expression libpcap could not parse).
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
		msgs: make(chan *msgBatch, batchesInFlight), free: make(chan *msgBatch, batchesInFlight)}
	cmd.Stderr = l.stderr
	if l.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("capture on %s: %w", o.Iface, err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("capture on %s: %w", o.Iface, err)
	}
	if f, ok := out.(*os.File); ok {
		// The helper flushes every 10 ms, 130 KB at 130 000 frames a
		// second: a 64 KiB pipe would stall it mid-flush. (No change was
		// measurable at that rate on loopback; this is headroom.)
		growPipe(f)
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

// msgBatch is a run of the stream's messages as the reader hands them on,
// the frames' bytes in its arena. A channel operation for each frame, and
// one more to give its buffer back, cost a live run on a busy loopback more
// than analyzing the frames did (docs/performance.md, session 24).
type msgBatch struct {
	msgs  []helperMsg
	arena []byte
}

const (
	// batchMsgs and batchArena bound a batch; the reader also hands one on
	// as soon as the stream has nothing more buffered, so that a quiet
	// link's frames do not wait for company.
	batchMsgs  = 256
	batchArena = 256 << 10
	// batchFrameRoom is the room a batch's arena must have left for another
	// frame; a larger frame gets a buffer of its own.
	batchFrameRoom = 16 << 10
	// batchesInFlight bounds the batches between the reader and Await.
	batchesInFlight = 8
	// msgTaken marks a message Stats took ahead of Await, which skips it.
	msgTaken byte = 0
)

// read passes the stream's messages on in batches until its end, reusing
// the batches Await gives back.
func (l *Live) read(r *bufio.Reader) {
	defer close(l.msgs)
	var b *msgBatch
	for {
		if b == nil {
			select {
			case b = <-l.free:
			default:
				b = &msgBatch{arena: make([]byte, 0, batchArena)}
			}
		}
		room := b.arena[len(b.arena):cap(b.arena)]
		m, err := readHelperMsg(r, room)
		if err == io.EOF {
			l.msgs <- b
			return
		}
		if err != nil {
			b.msgs = append(b.msgs, helperMsg{kind: msgError, err: fmt.Errorf("capture on %s: %w", l.iface, err)})
			l.msgs <- b
			io.Copy(io.Discard, r) // let the helper finish
			return
		}
		if m.kind == msgFrame && m.capLen <= len(room) {
			b.arena = b.arena[:len(b.arena)+m.capLen] // readHelperMsg read it into room
		}
		b.msgs = append(b.msgs, m)
		if len(b.msgs) >= batchMsgs || cap(b.arena)-len(b.arena) < batchFrameRoom || r.Buffered() == 0 {
			l.msgs <- b
			b = nil
		}
	}
}

// next returns the next message, from the batch being read, then those
// Stats read ahead, then the reader's; ok is false at the stream's end, idle
// true when deadline (not zero) passed first.
func (l *Live) next(deadline time.Time) (m helperMsg, ok, idle bool) {
	for {
		if b := l.batch; b != nil && l.pos < len(b.msgs) {
			m = b.msgs[l.pos]
			l.pos++
			if m.kind == msgTaken {
				continue
			}
			return m, true, false
		}
		// The batch is spent, and the frame Await returned from it last
		// is no longer valid: the reader may fill it again.
		l.release()
		if len(l.queue) > 0 {
			l.batch, l.pos = l.queue[0], 0
			l.queue = l.queue[1:]
			continue
		}
		b, ok, idle := l.receive(deadline)
		if !ok || idle {
			return m, ok, idle
		}
		l.batch, l.pos = b, 0
	}
}

// receive waits for the reader's next batch; ok is false at the stream's
// end, idle true when deadline (not zero) passed first.
func (l *Live) receive(deadline time.Time) (b *msgBatch, ok, idle bool) {
	if deadline.IsZero() {
		b, ok = <-l.msgs
		return b, ok, false
	}
	select {
	case b, ok = <-l.msgs: // waiting already: no timer
		return b, ok, false
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case b, ok = <-l.msgs:
		return b, ok, false
	case <-t.C:
		return nil, false, true
	}
}

// release gives the batch being read back to the reader.
func (l *Live) release() {
	b := l.batch
	if b == nil {
		return
	}
	l.batch, l.pos = nil, 0
	clear(b.msgs)
	b.msgs, b.arena = b.msgs[:0], b.arena[:0]
	select {
	case l.free <- b:
	default:
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
	l.cur.Data = nil
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
// request, keeping the batches it reads for Await, the answer taken out.
// The answer follows the frames read before the request, so it is in none
// of the batches already received.
func (l *Live) awaitStats() {
	for {
		b, ok := <-l.msgs
		if !ok {
			l.done = true
			l.ended()
			return
		}
		l.queue = append(l.queue, b)
		for i := range b.msgs {
			switch m := &b.msgs[i]; m.kind {
			case msgStats:
				l.keepStats(*m)
				m.kind = msgTaken
				return
			case msgError:
				return
			}
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
	if b := l.batch; b != nil {
		for _, m := range b.msgs[l.pos:] {
			l.closeMsg(m)
		}
		l.release()
	}
	for _, b := range l.queue {
		for _, m := range b.msgs {
			l.closeMsg(m)
		}
	}
	l.queue = nil
	for b := range l.msgs {
		for _, m := range b.msgs {
			l.closeMsg(m)
		}
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
