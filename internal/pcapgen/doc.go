// Package pcapgen writes packet captures for the project's own tests: pcap and
// pcapng files (any link type, µs or ns timestamps, either byte order, snapped,
// gzip-compressed or cut short), frame encoders from the link layer up to TCP,
// UDP, ICMP and ARP, and a conversation builder that keeps TCP sequence,
// acknowledgement and timestamp bookkeeping on a deterministic capture clock.
//
// The package uses the standard library only and shares no code with the
// project's decoder, so a capture written here is an independent check of it.
//
// A scenario is written in a few lines:
//
//	c := pcapgen.NewCapture(w, pcapgen.Format{})
//	k := c.Conn(client, server, pcapgen.LinuxOpts())
//	k.Handshake()
//	k.Send(pcapgen.Client, 300)
//	k.Send(pcapgen.Server, 5000)
//	k.Close(pcapgen.Client)
//	return c.Close()
//
// Errors are sticky: the first write error stops further output and is returned
// by [Capture.Close] and [Capture.Err], so scenario code need not check each step.
//
// Scenarios lists the captures committed in testdata/pcaps; the command
// internal/cmd/gentestdata writes them.
package pcapgen
