package capture

import "encoding/binary"

// endian is a capture file's byte order. Unlike a binary.ByteOrder
// interface its methods inline: the four fields of every pcap record header
// went through dynamic calls, about 80 instructions a packet.
type endian struct{ big bool }

var (
	bigEndian    = endian{big: true}
	littleEndian = endian{}
)

func (e endian) Uint16(b []byte) uint16 {
	if e.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (e endian) Uint32(b []byte) uint32 {
	if e.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (e endian) Uint64(b []byte) uint64 {
	if e.big {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}
