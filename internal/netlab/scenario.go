//go:build linux

package netlab

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Port is the server's listening port in every scenario but Rejected's.
const Port = 8080

// ClosedPort is a port nothing listens on.
const ClosedPort = 8081

// BulkBytes is how much the bulk scenarios upload.
const BulkBytes = 2 << 20

// OneWay is the forwarder's delay in each direction in every scenario: a
// 10 ms round trip. Without it the RTT is tens of microseconds, the kernel's
// RACK resends a merely reordered segment at once, and Wireshark's rules
// (which the analysis follows) call a resend within the handshake RTT of the
// newest segment out-of-order: the kinds seen would depend on scheduling.
const OneWay = 5 * time.Millisecond

// delayed returns r with the lab's one-way delay.
func delayed(r Rules) Rules {
	r.Delay = OneWay
	return r
}

// DialFunc connects the client to the server.
type DialFunc func(ctx context.Context) (net.Conn, error)

// Scenario is one piece of client/server traffic and what the forwarder does
// to it.
type Scenario struct {
	Name string
	// Doc says in one line what happens on the wire.
	Doc string
	// ToServer and ToClient are the forwarder's rules.
	ToServer, ToClient Rules
	// Port is where the client connects.
	Port int
	// ServerSysctls are set in the server's namespace (see Options).
	ServerSysctls map[string]string
	// ListenControl, if not nil, sets options on the listening socket
	// (inherited by the accepted one) before it listens.
	ListenControl func(network, address string, c syscall.RawConn) error
	// Serve handles the listener (on Port) until it has served the scenario's
	// one connection or ctx is done; nil means nothing listens.
	Serve func(ctx context.Context, ln net.Listener) error
	// Client runs the client side; it returns nil when the connection ended
	// as the scenario intends (refused, timed out, ...).
	Client func(ctx context.Context, dial DialFunc) error
	// Linger is how long to keep capturing after the client returned, for
	// the last segments (and keep-alives) to cross.
	Linger time.Duration
}

// Scenario names.
const (
	Clean      = "clean"
	Drop       = "drop"
	Reorder    = "reorder"
	Lossy      = "lossy"
	Jumbled    = "jumbled"
	SlowReader = "slow-reader"
	Doubled    = "doubled"
	Rejected   = "rejected"
	SYNDrop    = "syn-drop"
	CloseWait  = "close-wait"
)

// Scenarios returns the lab's scenarios, in a fresh slice.
func Scenarios() []Scenario {
	return []Scenario{
		{
			Name: Clean, Doc: "request, 1000-byte response, the client closes first: SF, client in TIME_WAIT",
			ToServer: delayed(Rules{}), ToClient: delayed(Rules{}),
			Port: Port, Serve: serveRequest, Client: clientRequest, Linger: 200 * time.Millisecond,
		},
		{
			Name: Drop, Doc: "2 MiB upload; the forwarder drops the 300th data segment to the server",
			ToServer: delayed(Rules{DropData: 300}), ToClient: delayed(Rules{}),
			ServerSysctls: steadyWindowSysctls, ListenControl: steadyWindow,
			Port: Port, Serve: serveBulk, Client: clientBulk, Linger: 200 * time.Millisecond,
		},
		{
			Name: Lossy, Doc: "2 MiB upload; the forwarder drops every 40th data segment to the server: the kernel recovers with SACK, fast retransmissions and RACK",
			ToServer: delayed(Rules{DropEvery: 40}), ToClient: delayed(Rules{}),
			Port: Port, Serve: serveBulk, Client: clientBulk, Linger: 300 * time.Millisecond,
		},
		{
			Name: Jumbled, Doc: "2 MiB upload; the forwarder holds every 30th data segment to the server back behind the next: reordering without loss, which the kernel may take for loss and resend",
			ToServer: delayed(Rules{HoldEvery: 30}), ToClient: delayed(Rules{}),
			Port: Port, Serve: serveBulk, Client: clientBulk, Linger: 300 * time.Millisecond,
		},
		{
			Name: Doubled, Doc: "2 MiB upload; the forwarder sends every 50th data segment to the server twice",
			ToServer: delayed(Rules{DupEvery: 50}), ToClient: delayed(Rules{}),
			Port: Port, Serve: serveBulk, Client: clientBulk, Linger: 300 * time.Millisecond,
		},
		{
			Name: SlowReader, Doc: "256 KiB upload to a server with a 16 KiB receive buffer that stops reading for 600 ms: zero windows, the client's probes, window updates",
			ToServer: delayed(Rules{}), ToClient: delayed(Rules{}),
			ListenControl: smallWindow,
			Port:          Port, Serve: serveSlow, Client: clientUpload(SlowBytes), Linger: 300 * time.Millisecond,
		},
		{
			Name: Reorder, Doc: "2 MiB upload; the forwarder holds the 300th data segment back behind the 301st",
			ToServer: delayed(Rules{HoldData: 300}), ToClient: delayed(Rules{}),
			ServerSysctls: steadyWindowSysctls, ListenControl: steadyWindow,
			Port: Port, Serve: serveBulk, Client: clientBulk, Linger: 200 * time.Millisecond,
		},
		{
			Name: Rejected, Doc: "connect to a port nothing listens on: SYN, RST",
			ToServer: delayed(Rules{}), ToClient: delayed(Rules{}),
			Port: ClosedPort, Client: clientRefused, Linger: 200 * time.Millisecond,
		},
		{
			Name: SYNDrop, Doc: "the forwarder drops everything to the server: the client's SYNs go unanswered (2 within 1.6 s)",
			ToServer: delayed(Rules{Blackhole: true}), ToClient: delayed(Rules{}),
			Port: Port, Serve: serveNone, Client: clientTimeout(1600 * time.Millisecond), Linger: 100 * time.Millisecond,
		},
		{
			Name: CloseWait, Doc: "the client sends and closes; the server never closes and sends keep-alives every second (the client's kernel answers them)",
			ToServer: delayed(Rules{}), ToClient: delayed(Rules{}),
			Port: Port, Serve: serveCloseWait, Client: clientSendClose, Linger: 2500 * time.Millisecond,
		},
	}
}

// ScenarioByName returns the scenario called name.
func ScenarioByName(name string) (Scenario, error) {
	var names []string
	for _, s := range Scenarios() {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return Scenario{}, fmt.Errorf("netlab: no scenario %q (have %v)", name, names)
}

// Result is what RunScenario captured.
type Result struct {
	// ClientPcap was captured on the client's veth (before the forwarder for
	// what the client sends), ServerPcap on the server's (after it).
	ClientPcap, ServerPcap   string
	ClientStats, ServerStats CaptureStats
	Forwarder                Stats
}

// RunScenario builds a lab with the scenario's rules, captures on both
// veths into dir while the scenario runs, tears the lab down and returns
// the captures. The run is bounded by ctx.
func RunScenario(ctx context.Context, sc Scenario, prefix, dir string) (res Result, err error) {
	lab, err := New(Options{Prefix: prefix, ToServer: sc.ToServer, ToClient: sc.ToClient, ServerSysctls: sc.ServerSysctls})
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, lab.Close()) }()
	res.ClientPcap = filepath.Join(dir, sc.Name+"-client.pcap")
	res.ServerPcap = filepath.Join(dir, sc.Name+"-server.pcap")
	cc, err := StartCapture(lab.Client, ClientIf, res.ClientPcap)
	if err != nil {
		return res, err
	}
	sc2, err := StartCapture(lab.Server, ServerIf, res.ServerPcap)
	if err != nil {
		_, serr := cc.Stop()
		return res, errors.Join(err, serr)
	}
	var cerr, serr error
	runErr := lab.Run(ctx, sc, func() {
		res.ClientStats, cerr = cc.Stop()
		res.ServerStats, serr = sc2.Stop()
		res.Forwarder = lab.Forwarder().Stats()
	})
	return res, errors.Join(runErr, cerr, serr)
}

// Run runs the scenario's server and client in the lab, waits Linger, calls
// done (to stop captures: the server is still as the scenario left it) and
// then stops the server.
func (l *Lab) Run(ctx context.Context, sc Scenario, done func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srvDone := make(chan error, 1)
	var ln net.Listener
	if sc.Serve != nil {
		var err error
		lc := &net.ListenConfig{Control: sc.ListenControl}
		if ln, err = l.Server.Listen(lc, fmt.Sprintf("%s:%d", ServerIP, sc.Port)); err != nil {
			return err
		}
		go func() { srvDone <- sc.Serve(ctx, ln) }()
	} else {
		srvDone <- nil
	}
	addr := fmt.Sprintf("%s:%d", ServerIP, sc.Port)
	cerr := sc.Client(ctx, func(ctx context.Context) (net.Conn, error) { return l.Client.Dial(ctx, addr) })
	if cerr != nil {
		cerr = fmt.Errorf("netlab: %s client: %w", sc.Name, cerr)
	}
	settle(ctx, sc.Linger)
	if done != nil {
		done()
	}
	cancel()
	if ln != nil {
		ln.Close()
	}
	var serr error
	select {
	case serr = <-srvDone:
	case <-time.After(5 * time.Second):
		serr = errors.New("did not stop within 5s")
	}
	if serr != nil {
		serr = fmt.Errorf("netlab: %s server: %w", sc.Name, serr)
	}
	return errors.Join(cerr, serr)
}

// ServeAlone runs the scenario's server on addr in the current network
// namespace until it is done or ctx ends (for the netlab command). ready,
// if not nil, is called once the listener is up.
func ServeAlone(ctx context.Context, sc Scenario, addr string, ready func()) error {
	if sc.Serve == nil {
		if ready != nil {
			ready()
		}
		<-ctx.Done()
		return nil
	}
	lc := &net.ListenConfig{Control: sc.ListenControl}
	ln, err := lc.Listen(ctx, "tcp4", addr)
	if err != nil {
		return fmt.Errorf("netlab: listen: %w", err)
	}
	defer ln.Close()
	if ready != nil {
		ready()
	}
	go func() { <-ctx.Done(); ln.Close() }()
	return sc.Serve(ctx, ln)
}

// acceptOne accepts one connection and closes it when ctx ends, so that a
// handler blocked on it returns.
func acceptOne(ctx context.Context, ln net.Listener) (net.Conn, error) {
	c, err := ln.Accept()
	if err != nil {
		return nil, fmt.Errorf("accept: %w", err)
	}
	go func() { <-ctx.Done(); c.Close() }()
	return c, nil
}

// serveRequest reads one request line, answers 1000 bytes, waits for the
// client's FIN and closes.
func serveRequest(ctx context.Context, ln net.Listener) error {
	c, err := acceptOne(ctx, ln)
	if err != nil {
		return err
	}
	defer c.Close()
	req := make([]byte, len("GET /\n"))
	if _, err := io.ReadFull(c, req); err != nil {
		return fmt.Errorf("read request: %w", err)
	}
	if _, err := c.Write(make([]byte, 1000)); err != nil {
		return fmt.Errorf("write response: %w", err)
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		return fmt.Errorf("wait for FIN: %w", err)
	}
	return nil
}

func clientRequest(ctx context.Context, dial DialFunc) error {
	c, err := dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /\n"); err != nil {
		return fmt.Errorf("write request: %w", err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1000)); err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	return c.Close()
}

// serveBulk reads until EOF, answers with the byte count and closes.
func serveBulk(ctx context.Context, ln net.Listener) error {
	c, err := acceptOne(ctx, ln)
	if err != nil {
		return err
	}
	defer c.Close()
	n, err := io.Copy(io.Discard, c)
	if err != nil {
		return fmt.Errorf("read upload: %w", err)
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	if _, err := c.Write(b[:]); err != nil {
		return fmt.Errorf("write count: %w", err)
	}
	return nil
}

// steadyWindowSysctls and steadyWindow keep the server's advertised window
// at one size for the whole transfer: no window scaling (so the window is at
// most 64 KiB, about where it starts) and a fixed 4 MiB receive buffer (no
// autotuning, and always more free space than the window). Otherwise the
// window is still growing, a little with every segment, when the bulk
// scenarios' segment 300 is lost; the receiver's repeated ACKs then carry
// ever larger windows, which by Wireshark's rule are window updates, not
// duplicate ACKs.
var steadyWindowSysctls = map[string]string{"net/ipv4/tcp_window_scaling": "0"}

// steadyWindow is the listener Control of the bulk scenarios (see
// steadyWindowSysctls). Set on the listener, the options hold from the
// handshake on.
var steadyWindow = receiveBuffer(4 << 20)

// receiveBuffer returns a listener Control that fixes the receive buffer of
// the connections it accepts at n bytes (no autotuning).
func receiveBuffer(n int) func(network, address string, rc syscall.RawConn) error {
	return func(network, address string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, n)
		}); err != nil {
			return fmt.Errorf("receive buffer: %w", err)
		}
		if serr != nil {
			return fmt.Errorf("receive buffer of %d bytes: %w", n, serr)
		}
		return nil
	}
}

// clientBulk uploads BulkBytes, half-closes and checks the server's count.
func clientBulk(ctx context.Context, dial DialFunc) error {
	return clientUpload(BulkBytes)(ctx, dial)
}

// clientUpload uploads n bytes, half-closes and checks the server's count.
func clientUpload(n int) func(ctx context.Context, dial DialFunc) error {
	return func(ctx context.Context, dial DialFunc) error {
		c, err := dial(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(make([]byte, n)); err != nil {
			return fmt.Errorf("upload: %w", err)
		}
		if err := c.(*net.TCPConn).CloseWrite(); err != nil {
			return fmt.Errorf("half-close: %w", err)
		}
		b, err := io.ReadAll(c)
		if err != nil {
			return fmt.Errorf("read count: %w", err)
		}
		if len(b) != 8 || binary.BigEndian.Uint64(b) != uint64(n) {
			return fmt.Errorf("the server counted %x, want %d bytes", b, n)
		}
		return c.Close()
	}
}

// SlowBytes is how much the slow-reader scenario uploads.
const SlowBytes = 256 << 10

// serveSlow reads 32 KiB of the upload, stops reading for 600 ms (longer
// than the sender's first persist timeouts, so it probes the zero window),
// then reads the rest and answers with the count, as serveBulk does.
func serveSlow(ctx context.Context, ln net.Listener) error {
	c, err := acceptOne(ctx, ln)
	if err != nil {
		return err
	}
	defer c.Close()
	n, err := io.CopyN(io.Discard, c, 32<<10)
	if err != nil {
		return fmt.Errorf("read upload: %w", err)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(600 * time.Millisecond):
	}
	m, err := io.Copy(io.Discard, c)
	if err != nil {
		return fmt.Errorf("read upload: %w", err)
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n+m))
	if _, err := c.Write(b[:]); err != nil {
		return fmt.Errorf("write count: %w", err)
	}
	return nil
}

// smallWindow is the slow-reader scenario's listener Control: a 16 KiB
// receive buffer, which the upload fills while the server does not read.
var smallWindow = receiveBuffer(16 << 10)

// clientRefused expects the connect to be refused.
func clientRefused(ctx context.Context, dial DialFunc) error {
	c, err := dial(ctx)
	if err == nil {
		c.Close()
		return errors.New("the connect succeeded; want it refused")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("want connection refused: %w", err)
	}
	return nil
}

// serveNone only waits: its connection never arrives.
func serveNone(ctx context.Context, ln net.Listener) error {
	c, err := ln.Accept()
	if err == nil {
		c.Close()
		return errors.New("a connection arrived; want none")
	}
	return nil
}

// clientTimeout expects the connect to time out after d.
func clientTimeout(d time.Duration) func(context.Context, DialFunc) error {
	return func(ctx context.Context, dial DialFunc) error {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		c, err := dial(ctx)
		if err == nil {
			c.Close()
			return errors.New("the connect succeeded; want no answer")
		}
		if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
			return fmt.Errorf("want a timeout: %w", err)
		}
		return nil
	}
}

// clientSendClose sends a few bytes and closes at once.
func clientSendClose(ctx context.Context, dial DialFunc) error {
	c, err := dial(ctx)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(c, "bye\n"); err != nil {
		c.Close()
		return fmt.Errorf("write: %w", err)
	}
	return c.Close()
}

// serveCloseWait reads to EOF and then keeps the socket open, with TCP
// keep-alives every second, until ctx ends: an application that forgot to
// close.
func serveCloseWait(ctx context.Context, ln net.Listener) error {
	c, err := acceptOne(ctx, ln)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.(*net.TCPConn).SetKeepAliveConfig(net.KeepAliveConfig{
		Enable: true, Idle: time.Second, Interval: time.Second, Count: 9,
	}); err != nil {
		return fmt.Errorf("keep-alive: %w", err)
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		return fmt.Errorf("read to EOF: %w", err)
	}
	<-ctx.Done() // the leak: no Close until the scenario ends
	return nil
}
