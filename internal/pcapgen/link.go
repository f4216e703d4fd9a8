package pcapgen

import (
	"encoding/binary"
	"fmt"
)

// LinkType is a LINKTYPE_ value from the pcap and pcapng link-type registry.
type LinkType uint16

// The link types the encoders produce. Any other value may still be written to a
// file header; the frames are then the caller's business.
const (
	LinkNull     LinkType = 0   // BSD loopback: 4-byte address family in host byte order
	LinkEthernet LinkType = 1   // Ethernet II, with optional VLAN tags
	LinkRaw      LinkType = 101 // raw IPv4 or IPv6, no link header
	LinkSLL      LinkType = 113 // Linux cooked capture v1
	LinkSLL2     LinkType = 276 // Linux cooked capture v2
)

// String returns the short name of the link type, or its number.
func (t LinkType) String() string {
	switch t {
	case LinkNull:
		return "NULL"
	case LinkEthernet:
		return "EN10MB"
	case LinkRaw:
		return "RAW"
	case LinkSLL:
		return "LINUX_SLL"
	case LinkSLL2:
		return "LINUX_SLL2"
	}
	return fmt.Sprintf("LINKTYPE(%d)", uint16(t))
}

// EtherTypes carried in Ethernet, VLAN and SLL headers.
const (
	EtherTypeIPv4 uint16 = 0x0800
	EtherTypeARP  uint16 = 0x0806
	EtherTypeIPv6 uint16 = 0x86dd
	TPID8021Q     uint16 = 0x8100 // customer VLAN tag (802.1Q)
	TPID8021AD    uint16 = 0x88a8 // service VLAN tag (802.1ad, QinQ outer tag)
)

// Address families written in a LinkNull header. AFInet6 is the macOS value;
// the BSDs use 24 or 28 and readers accept all three.
const (
	AFInet  uint32 = 2
	AFInet6 uint32 = 30
)

// Linux packet types of the SLL and SLL2 headers.
const (
	PacketHost      uint16 = 0 // addressed to the capturing host
	PacketBroadcast uint16 = 1
	PacketMulticast uint16 = 2
	PacketOtherHost uint16 = 3
	PacketOutgoing  uint16 = 4 // sent by the capturing host
)

// MAC is a 48-bit Ethernet address.
type MAC [6]byte

// BroadcastMAC returns ff:ff:ff:ff:ff:ff.
func BroadcastMAC() MAC { return MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} }

// String formats the address as six colon-separated hex bytes.
func (m MAC) String() string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// VLAN is one 802.1Q or 802.1ad tag.
type VLAN struct {
	TPID     uint16 // TPID8021Q when zero
	ID       uint16 // VLAN identifier, 12 bits
	Priority uint8  // PCP, 3 bits
	DEI      bool
}

// Link is the link layer of a frame.
type Link struct {
	Type LinkType
	// Src and Dst are the Ethernet addresses; SLL and SLL2 record Src as the
	// link-layer address of the frame.
	Src, Dst MAC
	// VLANs are the Ethernet VLAN tags, outermost first.
	VLANs []VLAN
	// PacketType is the SLL/SLL2 packet type (PacketHost, PacketOutgoing, ...).
	PacketType uint16
	// IfIndex is the SLL2 interface index.
	IfIndex uint32
	// BigEndian writes the LinkNull address family big-endian; it should match
	// the byte order of the file, which stands for that of the capturing host.
	BigEndian bool
	// Pad pads Ethernet frames shorter than 60 bytes with zeros, as a NIC does on
	// receive, so the frame is longer than the IP packet it carries.
	Pad bool
}

// HeaderLen returns the length of the link header Append writes.
func (l *Link) HeaderLen() int {
	switch l.Type {
	case LinkEthernet:
		return 14 + 4*len(l.VLANs)
	case LinkSLL:
		return 16
	case LinkSLL2:
		return 20
	case LinkNull:
		return 4
	}
	return 0
}

// Append appends the link header for a payload of the given EtherType to b.
// LinkRaw and unknown types append nothing. For LinkNull the EtherType picks the
// address family (IPv6 gives AFInet6, anything else AFInet).
func (l *Link) Append(b []byte, etherType uint16) []byte {
	switch l.Type {
	case LinkEthernet:
		b = append(b, l.Dst[:]...)
		b = append(b, l.Src[:]...)
		for _, v := range l.VLANs {
			tpid := v.TPID
			if tpid == 0 {
				tpid = TPID8021Q
			}
			tci := uint16(v.Priority&7)<<13 | v.ID&0x0fff
			if v.DEI {
				tci |= 1 << 12
			}
			b = binary.BigEndian.AppendUint16(b, tpid)
			b = binary.BigEndian.AppendUint16(b, tci)
		}
		b = binary.BigEndian.AppendUint16(b, etherType)
	case LinkSLL:
		b = binary.BigEndian.AppendUint16(b, l.PacketType)
		b = binary.BigEndian.AppendUint16(b, 1) // ARPHRD_ETHER
		b = binary.BigEndian.AppendUint16(b, 6)
		b = append(b, l.Src[:]...)
		b = append(b, 0, 0)
		b = binary.BigEndian.AppendUint16(b, etherType)
	case LinkSLL2:
		b = binary.BigEndian.AppendUint16(b, etherType)
		b = append(b, 0, 0)
		b = binary.BigEndian.AppendUint32(b, l.IfIndex)
		b = binary.BigEndian.AppendUint16(b, 1) // ARPHRD_ETHER
		b = append(b, byte(l.PacketType), 6)
		b = append(b, l.Src[:]...)
		b = append(b, 0, 0)
	case LinkNull:
		af := AFInet
		if etherType == EtherTypeIPv6 {
			af = AFInet6
		}
		if l.BigEndian {
			b = binary.BigEndian.AppendUint32(b, af)
		} else {
			b = binary.LittleEndian.AppendUint32(b, af)
		}
	}
	return b
}

// pad extends the frame that starts at b[start:] to the Ethernet minimum when
// l.Pad asks for it.
func (l *Link) pad(b []byte, start int) []byte {
	if l.Pad && l.Type == LinkEthernet {
		for len(b)-start < 60 {
			b = append(b, 0)
		}
	}
	return b
}
