//go:build linux

package netlab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Rules say what the forwarder does to the frames of one direction. The zero
// value forwards everything.
type Rules struct {
	// DropData drops the Nth TCP segment that carries payload (1-based,
	// counting every such frame, so the retransmission of a dropped segment
	// is a later frame and passes). 0 drops none.
	DropData int
	// DropEvery drops every Nth TCP segment that carries payload (counted
	// as DropData counts them, so a resend can be dropped too, as on a
	// lossy link). 0 drops none.
	DropEvery int
	// HoldData holds the Nth TCP segment with payload back until the next
	// segment with payload has been forwarded, so it arrives after it
	// (reordering by one). 0 holds none.
	HoldData int
	// HoldEvery holds every Nth TCP segment with payload as HoldData holds
	// one (N ≥ 2: a held segment leaves with the next one). 0 holds none.
	HoldEvery int
	// DupEvery sends every Nth TCP segment with payload twice, back to back,
	// as a misbehaving link or bridge may. 0 duplicates none.
	DupEvery int
	// HoldMax releases a held segment after this long when no later segment
	// came (default 200 ms).
	HoldMax time.Duration
	// Delay holds every frame of this direction this long before sending it
	// on (order is kept), giving the lab a realistic round-trip time.
	Delay time.Duration
	// Blackhole drops every frame after the first BlackholeAfter frames of
	// this direction: unanswered SYNs with BlackholeAfter 0, a peer that
	// vanishes mid-connection with a larger one.
	Blackhole      bool
	BlackholeAfter int
}

// DirStats counts what the forwarder did in one direction.
type DirStats struct {
	Frames     uint64 // frames read from the incoming side
	Data       uint64 // of which TCP segments with payload
	Forwarded  uint64 // frames written to the outgoing side
	Dropped    uint64 // frames dropped by a rule
	Held       uint64 // segments held back and released later
	Duplicated uint64 // segments sent twice
	NotIPv4    uint64 // frames that are not IPv4, dropped
	Oversize   uint64 // frames larger than the MTU (offloads not off), dropped
	SendErrs   uint64 // writes that failed
	QueueFull  uint64 // frames dropped because the delay line was full
	// SocketDrops counts frames the kernel dropped before the forwarder
	// read them (its socket buffer was full): loss no rule asked for.
	SocketDrops uint64
}

// Stats is what the forwarder did, per direction.
type Stats struct {
	ToServer, ToClient DirStats
}

// maxFrame is the largest frame forwarded: a 1500-byte MTU plus Ethernet.
const maxFrame = 1514

// action is what a direction's rules decide for one frame.
type action int

const (
	forward action = iota
	drop
	hold
	twice // forward, and again right after
)

// verdict applies rules to a frame, given this direction's frame and data
// segment counts including this frame (n and data) and whether it carries
// TCP payload. It is the forwarder's whole policy, kept free of I/O.
func (r *Rules) verdict(n, data uint64, isData bool) action {
	if r.Blackhole && n > uint64(max(r.BlackholeAfter, 0)) {
		return drop
	}
	if !isData {
		return forward
	}
	if r.DropData > 0 && data == uint64(r.DropData) {
		return drop
	}
	if r.DropEvery > 0 && data%uint64(r.DropEvery) == 0 {
		return drop
	}
	if r.HoldData > 0 && data == uint64(r.HoldData) {
		return hold
	}
	if r.HoldEvery > 1 && data%uint64(r.HoldEvery) == 0 {
		return hold
	}
	if r.DupEvery > 0 && data%uint64(r.DupEvery) == 0 {
		return twice
	}
	return forward
}

// direction is one way through the forwarder.
type direction struct {
	rules  Rules
	in     *os.File
	out    *os.File
	srcMAC net.HardwareAddr // the middle's MAC on the outgoing side
	dstMAC net.HardwareAddr // the peer's MAC on the outgoing side

	queue chan queued // the delay line, in arrival order

	mu     sync.Mutex // guards everything below
	stats  DirStats
	ipv4   uint64 // IPv4 frames seen, which the Blackhole rule counts
	held   []byte
	timer  *time.Timer
	closed bool
}

// queued is a frame in the delay line.
type queued struct {
	frame []byte
	due   time.Time
}

// queueLen bounds the delay line: at 200k frames/s and 10 ms, 2000 frames.
const queueLen = 1 << 14

// Forwarder moves frames between the middle's two veth ends, applying each
// direction's Rules.
type Forwarder struct {
	toServer, toClient *direction
	readers, senders   sync.WaitGroup
}

// StartForwarder opens packet sockets on the middle namespace's two veth
// ends and forwards between them until Close.
func StartForwarder(middle NS, toServer, toClient Rules) (*Forwarder, error) {
	var a, b *os.File
	err := middle.Run(func() error {
		var err error
		if a, err = OpenPacket(MidClient); err != nil {
			return err
		}
		if b, err = OpenPacket(MidServer); err != nil {
			a.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return NewForwarder(a, b, toServer, toClient)
}

// NewForwarder forwards between two bound packet sockets: client is the
// middle's end of the client's veth, server that of the server's. It owns
// the files and closes them on Close.
func NewForwarder(client, server *os.File, toServer, toClient Rules) (*Forwarder, error) {
	mac := func(s string) net.HardwareAddr { m, _ := net.ParseMAC(s); return m }
	f := &Forwarder{
		toServer: &direction{rules: toServer, in: client, out: server, srcMAC: mac(MidServerMAC), dstMAC: mac(ServerMAC)},
		toClient: &direction{rules: toClient, in: server, out: client, srcMAC: mac(MidClientMAC), dstMAC: mac(ClientMAC)},
	}
	for _, d := range []*direction{f.toServer, f.toClient} {
		if d.rules.HoldMax <= 0 {
			d.rules.HoldMax = 200 * time.Millisecond
		}
		d.queue = make(chan queued, queueLen)
		f.readers.Add(1)
		go func() {
			defer f.readers.Done()
			d.run()
		}()
		f.senders.Add(1)
		go func() {
			defer f.senders.Done()
			d.drain()
		}()
	}
	return f, nil
}

// Stats returns what the forwarder has done so far.
func (f *Forwarder) Stats() Stats {
	return Stats{ToServer: f.toServer.snapshot(), ToClient: f.toClient.snapshot()}
}

// Close stops forwarding (held and delayed frames are dropped) and closes
// the sockets.
func (f *Forwarder) Close() error {
	for _, d := range []*direction{f.toServer, f.toClient} {
		d.mu.Lock()
		d.closed = true
		if d.timer != nil {
			d.timer.Stop()
		}
		d.mu.Unlock()
	}
	err := errors.Join(f.toServer.in.Close(), f.toClient.in.Close())
	f.readers.Wait()
	// Nothing enqueues any more: the readers are gone and closed stops the
	// hold timer's release.
	close(f.toServer.queue)
	close(f.toClient.queue)
	f.senders.Wait()
	return err
}

func (d *direction) snapshot() DirStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.stats.SocketDrops += socketDrops(d.in)
	}
	return d.stats
}

// socketDrops returns the frames a packet socket dropped since the last call
// (PACKET_STATISTICS resets on read).
func socketDrops(f *os.File) uint64 {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0
	}
	var n uint64
	rc.Control(func(fd uintptr) {
		if st, err := unix.GetsockoptTpacketStats(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
			n = uint64(st.Drops)
		}
	})
	return n
}

// run reads frames until the incoming socket is closed.
func (d *direction) run() {
	buf := make([]byte, 1<<16)
	for {
		n, err := d.in.Read(buf)
		if err != nil {
			return // closed
		}
		d.handle(buf[:n])
	}
}

// handle applies the rules to one frame.
func (d *direction) handle(frame []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.stats.Frames++
	isData, ok := tcpPayload(frame)
	if !ok {
		d.stats.NotIPv4++
		return
	}
	if len(frame) > maxFrame {
		d.stats.Oversize++
		return
	}
	d.ipv4++
	if isData {
		d.stats.Data++
	}
	switch d.rules.verdict(d.ipv4, d.stats.Data, isData) {
	case drop:
		d.stats.Dropped++
		return
	case hold:
		d.releaseLocked() // one held at a time: a segment still held leaves first
		d.held = append([]byte(nil), frame...)
		d.timer = time.AfterFunc(d.rules.HoldMax, d.release)
		return
	case twice:
		d.stats.Duplicated++
		d.enqueue(append([]byte(nil), frame...))
	}
	d.enqueue(append([]byte(nil), frame...))
	if isData && d.held != nil {
		d.releaseLocked()
	}
}

// release sends the held segment, if it is still held.
func (d *direction) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.releaseLocked()
	}
}

func (d *direction) releaseLocked() {
	if d.held == nil {
		return
	}
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.stats.Held++
	d.enqueue(d.held)
	d.held = nil
}

// enqueue rewrites the frame as a router would (Ethernet addresses, TTL and
// checksums) and puts it in the delay line. d.mu is held.
func (d *direction) enqueue(frame []byte) {
	rewrite(frame, d.srcMAC, d.dstMAC)
	select {
	case d.queue <- queued{frame, time.Now().Add(d.rules.Delay)}:
	default:
		d.stats.QueueFull++
	}
}

// drain sends the frames of the delay line when they are due, until the
// line is closed.
func (d *direction) drain() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for q := range d.queue {
		if wait := time.Until(q.due); wait > 0 {
			t.Reset(wait)
			<-t.C
		}
		_, err := d.out.Write(q.frame)
		d.mu.Lock()
		if err != nil {
			d.stats.SendErrs++
		} else {
			d.stats.Forwarded++
		}
		d.mu.Unlock()
	}
}

// tcpPayload reports whether an Ethernet frame is IPv4 (ok) and whether it
// is a TCP segment carrying payload.
func tcpPayload(frame []byte) (data, ok bool) {
	if len(frame) < 14+20 || binary.BigEndian.Uint16(frame[12:14]) != 0x0800 {
		return false, false
	}
	ipb := frame[14:]
	ihl := int(ipb[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ipb[2:4]))
	if ipb[0]>>4 != 4 || ihl < 20 || total < ihl || total > len(ipb) {
		return false, false
	}
	if ipb[9] != unix.IPPROTO_TCP || total < ihl+20 {
		return false, true
	}
	doff := int(ipb[ihl+12]>>4) * 4
	return total-ihl-doff > 0, true
}

// rewrite sets the frame's Ethernet addresses, decrements the IPv4 TTL and
// recomputes the IPv4 and TCP checksums. The TCP checksum must be redone in
// any case: a segment read from a veth whose sender offloads checksums
// carries only the pseudo-header sum, and the receiving kernel would drop it.
func rewrite(frame []byte, src, dst net.HardwareAddr) {
	copy(frame[0:6], dst)
	copy(frame[6:12], src)
	ipb := frame[14:]
	ihl := int(ipb[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ipb[2:4]))
	if ipb[8] > 1 {
		ipb[8]--
	}
	ipb[10], ipb[11] = 0, 0
	binary.BigEndian.PutUint16(ipb[10:12], checksum(0, ipb[:ihl]))
	if ipb[9] != unix.IPPROTO_TCP || total < ihl+20 {
		return
	}
	seg := ipb[ihl:total]
	seg[16], seg[17] = 0, 0
	var pseudo [12]byte
	copy(pseudo[0:8], ipb[12:20])
	pseudo[9] = unix.IPPROTO_TCP
	binary.BigEndian.PutUint16(pseudo[10:12], uint16(len(seg)))
	binary.BigEndian.PutUint16(seg[16:18], checksum(sum(0, pseudo[:]), seg))
}

// sum adds b to the one's complement sum s, unfolded.
func sum(s uint32, b []byte) uint32 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

// checksum is the Internet checksum of b on top of the partial sum s.
func checksum(s uint32, b []byte) uint16 {
	s = sum(s, b)
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// OpenPacket opens an AF_PACKET socket bound to the interface ifname of the
// calling thread's network namespace, that reads every frame arriving on it
// (not those sent from it) and writes whole Ethernet frames. The socket is
// non-blocking and registered with the runtime poller, so Close wakes a
// blocked Read.
func OpenPacket(ifname string) (*os.File, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("netlab: interface %s: %w", ifname, err)
	}
	// Protocol 0 receives nothing until bind picks the interface.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("netlab: packet socket: %w", err)
	}
	for _, o := range []struct {
		name       string
		level, opt int
		v          int
	}{
		{"PACKET_IGNORE_OUTGOING", unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1},
		// A burst of a bulk transfer must not overflow the default 208 KiB
		// (about 90 frames): that would be loss the scenario did not ask for.
		{"SO_RCVBUFFORCE", unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 32 << 20},
		{"SO_SNDBUFFORCE", unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 8 << 20},
	} {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.v); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("netlab: %s on %s: %w", o.name, ifname, err)
		}
	}
	all := uint16(unix.ETH_P_ALL)
	sa := &unix.SockaddrLinklayer{Protocol: all<<8 | all>>8, Ifindex: ifi.Index}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlab: bind packet socket to %s: %w", ifname, err)
	}
	return os.NewFile(uintptr(fd), "packet:"+ifname), nil
}
