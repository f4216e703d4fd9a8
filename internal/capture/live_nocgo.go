//go:build !cgo

package capture

import (
	"fmt"
	"time"
)

// LiveSupported reports whether this binary can capture live traffic: it needs
// libpcap, so it is false in builds without cgo.
const LiveSupported = false

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

// PrefaultLinkedTables does nothing without cgo: gopacket's lookup tables are
// not linked (see the cgo build's).
func PrefaultLinkedTables() bool { return false }
