//go:build !cgo

package capture

import (
	"errors"
	"fmt"
	"time"
)

// LiveSupported reports whether this binary can capture live traffic: it needs
// libpcap, so it is false in builds without cgo.
const LiveSupported = false

// Sentinel errors that classify the failures of OpenLive (the same set as in
// cgo builds, so callers compile either way).
var (
	// ErrNoLiveSupport means the binary was built without cgo, hence without libpcap.
	ErrNoLiveSupport = errors.New("live capture needs libpcap: this binary was built without cgo")
	// ErrPermission means the process may not capture (neither root nor CAP_NET_RAW).
	ErrPermission = errors.New("permission denied")
	// ErrNoSuchInterface means libpcap does not know the interface.
	ErrNoSuchInterface = errors.New("no such interface")
	// ErrBadFilter means libpcap could not compile the filter expression.
	ErrBadFilter = errors.New("bad filter")
)

// DefaultLiveTimeout is the read timeout used when LiveOptions.Timeout is zero.
const DefaultLiveTimeout = 100 * time.Millisecond

// DefaultLiveBuffer is the kernel ring size used when LiveOptions.BufferSize is zero.
const DefaultLiveBuffer = 32 << 20

// LiveOptions says what to capture and how (see the cgo build for the fields).
type LiveOptions struct {
	Iface      string
	Filter     string
	Snaplen    int
	Promisc    bool
	BufferSize int
	Timeout    time.Duration
}

// Interface is a capture device as libpcap lists it.
type Interface struct {
	Name        string
	Description string
	Addresses   []string
	Loopback    bool
	Up          bool
	Running     bool
}

// ReadStatus is what Await found.
type ReadStatus uint8

// The outcomes of Await.
const (
	ReadFrame ReadStatus = iota // a frame is ready: call Frame
	ReadIdle                    // the deadline passed without a frame
	ReadDone                    // the capture was stopped or failed (see Err)
)

// Live is a live capture. Without cgo none can be opened; the methods exist so
// that callers compile.
type Live struct{ cur Frame }

// OpenLive always fails in a binary built without cgo.
func OpenLive(o LiveOptions) (*Live, error) {
	return nil, fmt.Errorf("%s: %w", o.Iface, ErrNoLiveSupport)
}

// ListInterfaces always fails in a binary built without cgo.
func ListInterfaces() ([]Interface, error) { return nil, ErrNoLiveSupport }

// Next returns false.
func (l *Live) Next() bool { return false }

// Await returns ReadDone.
func (l *Live) Await(deadline time.Time) ReadStatus { return ReadDone }

// Frame returns an empty frame.
func (l *Live) Frame() *Frame { return &l.cur }

// Err returns ErrNoLiveSupport.
func (l *Live) Err() error { return ErrNoLiveSupport }

// Stop does nothing.
func (l *Live) Stop() {}

// Stats returns ErrNoLiveSupport.
func (l *Live) Stats() (received, dropped, ifDropped uint64, err error) {
	return 0, 0, 0, ErrNoLiveSupport
}

// Close does nothing.
func (l *Live) Close() error { return nil }

// Iface returns "".
func (l *Live) Iface() string { return "" }

// LinkType returns 0.
func (l *Live) LinkType() uint16 { return 0 }

// SnapLen returns 0.
func (l *Live) SnapLen() int { return 0 }

// Nanosecond returns false.
func (l *Live) Nanosecond() bool { return false }
