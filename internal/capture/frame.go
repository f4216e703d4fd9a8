// Package capture reads packet captures (pcap, pcapng, optionally gzip-compressed)
// from files or stdin, merges several inputs into one time-ordered stream, decodes
// each frame down to its TCP header, and applies BPF filters. It does no analysis.
package capture

// Frame is one captured frame as delivered by a Source.
type Frame struct {
	Data     []byte // captured bytes; valid until the next Next() call (zero-copy)
	CapLen   int    // == len(Data)
	OrigLen  int    // original length on the wire
	Time     int64  // ns since Unix epoch
	LinkType uint16 // LINKTYPE_* value of the frame's interface
	File     string // file name as given ("-" shown as "stdin")
	Record   uint64 // 1-based record number within its file
	Offset   int64  // byte offset of the record header in the (decompressed) file
	// DataOffset is the byte offset of Data in the (decompressed) file, 0
	// when there is no file (live capture): a file's data never starts at 0.
	DataOffset int64
	// Pos is where Source.ReadAt can read Data again once its buffer is
	// reused: set for frames of an uncompressed regular file, 0 otherwise.
	Pos    uint64
	Number uint64 // 1-based frame number in the merged input
	// Stable is true when Data stays valid after Next, until the owner of
	// Options.Buffers lets its buffer be lent again.
	Stable bool
}

// Link-layer header types (LINKTYPE_* values from the tcpdump.org registry) that
// the decoder understands.
const (
	LinkTypeNull     uint16 = 0
	LinkTypeEthernet uint16 = 1
	LinkTypeFDDI     uint16 = 10
	LinkTypeRaw12    uint16 = 12 // DLT_RAW on most BSDs and Linux
	LinkTypeRaw14    uint16 = 14 // DLT_RAW on OpenBSD
	LinkTypeRaw      uint16 = 101
	LinkTypeLoop     uint16 = 108
	LinkTypeLinuxSLL uint16 = 113
	LinkTypeIPv4     uint16 = 228
	LinkTypeIPv6     uint16 = 229
	LinkTypeNFLog    uint16 = 239
	LinkTypeSLL2     uint16 = 276
)
