//go:build linux

package netlab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The lab's fixed addresses and interface names. They are used only inside
// the namespaces the lab creates.
const (
	ClientIP  = "10.77.0.1"
	ServerIP  = "10.77.1.1"
	ClientGW  = "10.77.0.254" // the middle, as the client sees it
	ServerGW  = "10.77.1.254" // the middle, as the server sees it
	ClientIf  = "a0"          // the client's veth, in namespace a
	ServerIf  = "b0"          // the server's veth, in namespace b
	MidClient = "mid-a"       // the middle's end of the client's veth
	MidServer = "mid-b"       // the middle's end of the server's veth

	ClientMAC    = "02:77:00:00:00:01"
	MidClientMAC = "02:77:00:00:00:fe"
	ServerMAC    = "02:77:00:00:01:01"
	MidServerMAC = "02:77:00:00:01:fe"
)

// DefaultPrefix starts the names of the lab's namespaces.
const DefaultPrefix = "tfa"

// ErrUnsupported is returned (wrapped) by New when this process cannot build
// a lab: it is not root, or ip(8) or network namespaces are missing. Tests
// skip on it.
var ErrUnsupported = errors.New("netlab: network namespaces are not available")

// NS is one network namespace made by ip-netns(8).
type NS struct {
	Name string
}

// path is the namespace's bind mount, which setns(2) takes.
func (n NS) path() string { return filepath.Join("/run/netns", n.Name) }

// Run calls f in a goroutine locked to an OS thread that has joined the
// namespace, and returns its error. Sockets f creates belong to the
// namespace for their whole life, whichever goroutine uses them later. The
// thread is never unlocked: it exits with the goroutine, so no other
// goroutine ever runs in the namespace.
func (n NS) Run(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(n.path(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("netlab: open namespace %s: %w", n.Name, err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- fmt.Errorf("netlab: setns %s: %w", n.Name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// Listen listens on TCP addr inside the namespace, with lc's options.
func (n NS) Listen(lc *net.ListenConfig, addr string) (net.Listener, error) {
	var ln net.Listener
	err := n.Run(func() error {
		var err error
		ln, err = lc.Listen(context.Background(), "tcp4", addr)
		return err
	})
	return ln, err
}

// Dial connects to TCP addr from inside the namespace. The socket is created
// in the namespace; the connect may finish on any thread.
func (n NS) Dial(ctx context.Context, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.Run(func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, "tcp4", addr)
		return err
	})
	return c, err
}

// Options configure a lab.
type Options struct {
	// Prefix starts the namespace names (default DefaultPrefix).
	Prefix string
	// ToServer and ToClient are the forwarder's rules for each direction.
	ToServer, ToClient Rules
	// ServerSysctls are set in the server's namespace, keyed by their path
	// under /proc/sys (e.g. "net/ipv4/tcp_window_scaling").
	ServerSysctls map[string]string
}

// Lab is a running lab: three namespaces and the forwarder between them.
type Lab struct {
	Client, Middle, Server NS
	fwd                    *Forwarder
	made                   []NS
}

// Names returns the names of the client, middle and server namespaces of a
// lab with this prefix made by process pid.
func Names(prefix string, pid int) (client, middle, server NS) {
	p := fmt.Sprintf("%s-%d-", prefix, pid)
	return NS{p + "a"}, NS{p + "m"}, NS{p + "b"}
}

// Check reports (wrapping ErrUnsupported) why this process cannot build a
// lab, or nil.
func Check() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: needs root (euid %d)", ErrUnsupported, os.Geteuid())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("%w: ip(8) not found: %v", ErrUnsupported, err)
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		return fmt.Errorf("%w: no network namespaces in this kernel: %v", ErrUnsupported, err)
	}
	return nil
}

// New builds a lab for this process: it removes stale namespaces of dead
// processes with the same prefix, creates the namespaces and veths, and
// starts the forwarder. Close removes everything. Only one lab per prefix
// can exist in a process at a time.
func New(opts Options) (*Lab, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if _, err := RemoveStale(opts.Prefix); err != nil {
		return nil, err
	}
	l := &Lab{}
	l.Client, l.Middle, l.Server = Names(opts.Prefix, os.Getpid())
	if err := l.build(opts.ServerSysctls); err != nil {
		return nil, errors.Join(err, l.Close())
	}
	fwd, err := StartForwarder(l.Middle, opts.ToServer, opts.ToClient)
	if err != nil {
		return nil, errors.Join(err, l.Close())
	}
	l.fwd = fwd
	return l, nil
}

// build creates and configures the namespaces.
func (l *Lab) build(serverSysctls map[string]string) error {
	for _, n := range []NS{l.Client, l.Middle, l.Server} {
		if err := ip("netns", "add", n.Name); err != nil {
			if strings.Contains(err.Error(), "Operation not permitted") {
				return fmt.Errorf("%w: %v", ErrUnsupported, err)
			}
			return err
		}
		l.made = append(l.made, n)
	}
	for _, args := range SetupCommands(l.Client.Name, l.Middle.Name, l.Server.Name) {
		if err := ip(args...); err != nil {
			return err
		}
	}
	// Keep the wire quiet (no IPv6 neighbour discovery) and make sure the
	// middle's kernel never routes: only the forwarder moves frames.
	for _, n := range []NS{l.Client, l.Middle, l.Server} {
		if err := n.Run(func() error {
			writeSysctl("net/ipv6/conf/all/disable_ipv6", "1") // absent without IPv6: fine
			writeSysctl("net/ipv6/conf/default/disable_ipv6", "1")
			if n == l.Middle {
				return writeSysctl("net/ipv4/ip_forward", "0")
			}
			if n == l.Server {
				return ApplySysctls(serverSysctls)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// SetupCommands returns the ip(8) argument lists that wire up three existing
// namespaces as a lab: veths, addresses, static neighbours, routes. The
// shell script scripts/netns-capture.sh runs the same commands.
func SetupCommands(client, middle, server string) [][]string {
	veth := func(mid, midMAC, peerNS, peer, peerMAC string) []string {
		return []string{"-n", middle, "link", "add", "name", mid, "address", midMAC, "gso_max_segs", "1",
			"type", "veth", "peer", "name", peer, "address", peerMAC, "gso_max_segs", "1", "netns", peerNS}
	}
	return [][]string{
		veth(MidClient, MidClientMAC, client, ClientIf, ClientMAC),
		veth(MidServer, MidServerMAC, server, ServerIf, ServerMAC),
		{"-n", middle, "link", "set", "dev", MidClient, "up"},
		{"-n", middle, "link", "set", "dev", MidServer, "up"},
		{"-n", client, "link", "set", "dev", "lo", "up"},
		{"-n", client, "addr", "add", ClientIP + "/24", "dev", ClientIf},
		{"-n", client, "link", "set", "dev", ClientIf, "up"},
		{"-n", client, "neigh", "replace", ClientGW, "lladdr", MidClientMAC, "dev", ClientIf, "nud", "permanent"},
		{"-n", client, "route", "add", "10.77.1.0/24", "via", ClientGW, "dev", ClientIf},
		{"-n", server, "link", "set", "dev", "lo", "up"},
		{"-n", server, "addr", "add", ServerIP + "/24", "dev", ServerIf},
		{"-n", server, "link", "set", "dev", ServerIf, "up"},
		{"-n", server, "neigh", "replace", ServerGW, "lladdr", MidServerMAC, "dev", ServerIf, "nud", "permanent"},
		{"-n", server, "route", "add", "10.77.0.0/24", "via", ServerGW, "dev", ServerIf},
	}
}

// Forwarder returns the lab's forwarder.
func (l *Lab) Forwarder() *Forwarder { return l.fwd }

// Close stops the forwarder and deletes the namespaces (their veths go with
// them). It may be called more than once.
func (l *Lab) Close() error {
	var errs []error
	if l.fwd != nil {
		errs = append(errs, l.fwd.Close())
		l.fwd = nil
	}
	for i := len(l.made) - 1; i >= 0; i-- {
		if err := ip("netns", "del", l.made[i].Name); err != nil {
			errs = append(errs, err)
		}
	}
	l.made = nil
	return errors.Join(errs...)
}

// staleName matches the namespaces a lab makes: PREFIX-PID-{a,b,m}.
func staleName(prefix string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `-([0-9]+)-[abm]$`)
}

// RemoveStale deletes the namespaces with this prefix whose process is gone
// (left by a test that was killed), and returns their names.
func RemoveStale(prefix string) ([]string, error) {
	ents, err := os.ReadDir("/run/netns")
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("netlab: list namespaces: %w", err)
	}
	re := staleName(prefix)
	var removed []string
	var errs []error
	for _, e := range ents {
		m := re.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || processAlive(pid) {
			continue
		}
		if err := ip("netns", "del", e.Name()); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, e.Name())
	}
	return removed, errors.Join(errs...)
}

// processAlive reports whether a process with this id exists.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// ip runs ip(8) with args, bounded in time.
func ip(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("netlab: ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ApplySysctls sets sysctls (keyed by their path under /proc/sys) in the
// calling thread's network namespace.
func ApplySysctls(m map[string]string) error {
	for k, v := range m {
		if err := writeSysctl(k, v); err != nil {
			return err
		}
	}
	return nil
}

// writeSysctl sets a sysctl of the calling thread's network namespace; key
// is the path under /proc/sys.
func writeSysctl(key, value string) error {
	p := filepath.Join("/proc/sys", key)
	if err := os.WriteFile(p, []byte(value), 0); err != nil {
		return fmt.Errorf("netlab: sysctl %s: %w", key, err)
	}
	return nil
}
