// Package netlab builds a small network of Linux network namespaces in which
// real kernel TCP connections run through a user-space forwarder that can
// drop, hold back or black-hole chosen frames, so that tests can capture
// genuine loss, reordering and unanswered handshakes without tc netem.
//
// The lab is three namespaces, named after a prefix and the process id:
//
//	PREFIX-PID-a (client)          PREFIX-PID-m (middle)            PREFIX-PID-b (server)
//	a0 10.77.0.1/24 <== veth ==> mid-a [Forwarder] mid-b <== veth ==> b0 10.77.1.1/24
//
// The middle namespace has no addresses and does not route: every frame
// crosses it only through the Forwarder, which reads each side with an
// AF_PACKET socket, rewrites the Ethernet addresses like a router, applies
// its Rules and writes the frame out of the other side. The client and the
// server reach each other through gateway addresses (10.77.0.254,
// 10.77.1.254) whose neighbour entries are static, so nothing answers ARP.
// TSO/GSO are off on the veths (gso_max_segs 1) so that every frame the
// kernel sends is one wire-sized segment.
//
// Nothing leaves the namespaces: they have no other interfaces and no
// default route. All configuration is done with ip(8); sockets are created
// inside a namespace by a goroutine locked to an OS thread that joined it
// with setns(2) (NS.Run), and stay in that namespace when used elsewhere.
package netlab
