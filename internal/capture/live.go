package capture

import (
	"errors"
	"time"
)

// The declarations of live capture, which runs in the capture helper
// (helper.go, live_client.go).

// Sentinel errors that classify the failures of OpenLive; test them with errors.Is.
var (
	// ErrNoLiveSupport means the capture helper, which links libpcap, cannot
	// be found.
	ErrNoLiveSupport = errors.New("live capture needs libpcap, through the capture helper " + HelperName +
		", which is neither next to this binary nor in PATH (install it with go install ./cmd/" + HelperName + ", or set " + HelperEnv + " to its path)")
	// ErrPermission means the process may not capture (neither root nor CAP_NET_RAW).
	ErrPermission = errors.New("permission denied")
	// ErrNoSuchInterface means libpcap does not know the interface.
	ErrNoSuchInterface = errors.New("no such interface")
	// ErrBadFilter means libpcap could not compile the filter expression.
	ErrBadFilter = errors.New("bad filter")
)

// DefaultLiveTimeout is the read timeout used when LiveOptions.Timeout is zero:
// the longest Next, Await or Stop wait for an idle interface.
const DefaultLiveTimeout = 100 * time.Millisecond

// DefaultLiveBuffer is the kernel ring size used when LiveOptions.BufferSize is
// zero: libpcap's own 2 MiB default fills in a few milliseconds of a busy
// link, and in immediate mode (no longer used) held only 8 packets of the
// "any" device at snaplen 262144, one fixed-size slot per packet.
const DefaultLiveBuffer = 32 << 20

// LiveOptions says what to capture and how.
type LiveOptions struct {
	// Iface is the interface name as libpcap knows it; "any" captures on all
	// interfaces (as LINKTYPE_LINUX_SLL2 where libpcap offers it).
	Iface string
	// Filter is a BPF expression compiled by libpcap and set on the handle, so
	// the kernel drops what does not match. Empty captures everything.
	Filter string
	// Snaplen is the most bytes kept per packet; zero means DefaultMaxCapLen.
	Snaplen int
	// Promisc puts the interface in promiscuous mode.
	Promisc bool
	// BufferSize is the kernel capture buffer in bytes; zero means
	// DefaultLiveBuffer. Packets that arrive while it is full are dropped and
	// counted in Stats.
	BufferSize int
	// Timeout bounds each wait for packets, hence how soon Stop takes effect
	// and how late Await may return after its deadline; zero means
	// DefaultLiveTimeout.
	Timeout time.Duration
}

// Interface is a capture device as libpcap lists it.
type Interface struct {
	Name        string
	Description string
	// Addresses are "IP/prefix" (or a bare IP when libpcap gives no netmask).
	Addresses []string
	Loopback  bool
	Up        bool
	Running   bool
}

// ReadStatus is what Await found.
type ReadStatus uint8

// The outcomes of Await.
const (
	ReadFrame ReadStatus = iota // a frame is ready: call Frame
	ReadIdle                    // the deadline passed without a frame
	ReadDone                    // the capture was stopped or failed (see Err)
)
