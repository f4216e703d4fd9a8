//go:build linux

package netlab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Capture is a tcpdump writing one interface of one namespace to a file.
type Capture struct {
	Path string
	cmd  *exec.Cmd
	file *os.File
	// exited is closed when tcpdump has exited; waitErr is then its status.
	exited  chan struct{}
	waitErr error

	mu     sync.Mutex
	stderr strings.Builder
}

// CaptureStats is what tcpdump said when it stopped.
type CaptureStats struct {
	Captured, Dropped int // packets written; packets the kernel dropped
}

// StartCapture runs tcpdump on iface inside ns, writing TCP frames to path,
// and returns once tcpdump is capturing. tcpdump writes to a pipe (-w -)
// that this process copies into path, so neither its privilege drop nor an
// AppArmor profile decides where the file may go.
func StartCapture(ns NS, iface, path string) (*Capture, error) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		return nil, fmt.Errorf("%w: tcpdump not found: %v", ErrUnsupported, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("netlab: capture file: %w", err)
	}
	// ip netns exec execs tcpdump in its own process, so signals reach it.
	// Immediate mode makes libpcap use a ring of snaplen-sized slots (a veth
	// claims TSO, so the MTU does not bound them): a 2048-byte snaplen keeps
	// whole frames and gives the 16 MiB ring ~8000 slots, where the default
	// 256 KiB would give 64 and lose packets of a bulk transfer.
	cmd := exec.Command("ip", "netns", "exec", ns.Name, tcpdump,
		"-i", iface, "-n", "-U", "--immediate-mode", "-B", "16384", "-s", "2048", "-w", "-", "tcp")
	cmd.Stdout = f
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("netlab: tcpdump stderr: %w", err)
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("netlab: start tcpdump in %s: %w", ns.Name, err)
	}
	c := &Capture{Path: path, cmd: cmd, file: f, exited: make(chan struct{})}
	ready := make(chan struct{})
	go c.readStderr(errPipe, ready)
	select {
	case <-ready:
		return c, nil
	case <-c.exited:
	case <-time.After(5 * time.Second):
	}
	_, serr := c.Stop()
	return nil, errors.Join(fmt.Errorf("netlab: tcpdump on %s/%s did not start capturing: %s", ns.Name, iface, c.log()), serr)
}

// readStderr keeps tcpdump's messages, closes ready at "listening on" and
// records tcpdump's exit.
func (c *Capture) readStderr(r io.Reader, ready chan struct{}) {
	sc := bufio.NewScanner(r)
	once := false
	for sc.Scan() {
		line := sc.Text()
		c.mu.Lock()
		c.stderr.WriteString(line + "\n")
		c.mu.Unlock()
		if !once && strings.Contains(line, "listening on") {
			once = true
			close(ready)
		}
	}
	io.Copy(io.Discard, r)
	c.waitErr = c.cmd.Wait()
	close(c.exited)
}

func (c *Capture) log() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.TrimSpace(c.stderr.String())
}

var (
	capturedRE = regexp.MustCompile(`(\d+) packets? captured`)
	droppedRE  = regexp.MustCompile(`(\d+) packets? dropped by kernel`)
)

// Stop interrupts tcpdump, waits for it to flush and exit (killing it after
// 5 s), closes the file and returns tcpdump's counts.
func (c *Capture) Stop() (CaptureStats, error) {
	var st CaptureStats
	c.cmd.Process.Signal(syscall.SIGINT)
	var werr error
	select {
	case <-c.exited:
		werr = c.waitErr
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-c.exited
		werr = errors.Join(errors.New("netlab: tcpdump did not stop within 5s; killed"), c.waitErr)
	}
	cerr := c.file.Close()
	msg := c.log()
	if m := capturedRE.FindStringSubmatch(msg); m != nil {
		st.Captured, _ = strconv.Atoi(m[1])
	}
	if m := droppedRE.FindStringSubmatch(msg); m != nil {
		st.Dropped, _ = strconv.Atoi(m[1])
	}
	var exit *exec.ExitError
	if errors.As(werr, &exit) && exit.Exited() && exit.ExitCode() == 0 {
		werr = nil
	}
	if werr != nil {
		werr = fmt.Errorf("netlab: tcpdump: %w: %s", werr, msg)
	}
	if cerr != nil {
		cerr = fmt.Errorf("netlab: capture file: %w", cerr)
	}
	return st, errors.Join(werr, cerr)
}

// settle waits for d or until ctx is done.
func settle(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
