package capture

// Kind classifies a decoded frame.
type Kind uint8

// The kinds of frame the decoder tells apart.
const (
	KindTCP             Kind = iota // a TCP segment (possibly inside a tunnel)
	KindUDP                         // a UDP datagram
	KindICMP                        // ICMP or ICMPv6
	KindARP                         // ARP or RARP
	KindFragment                    // a non-atomic IPv4 or IPv6 fragment: counted, not analysed
	KindOtherIP                     // IP carrying another protocol
	KindOtherLink                   // a link-layer frame that does not carry IP
	KindUnsupportedLink             // a link type the decoder does not know
	KindMalformed                   // headers that are cut off or contradict each other
	numKinds
)

// String returns the kind's stable snake_case name, e.g. "ip_fragment".
func (k Kind) String() string {
	switch k {
	case KindTCP:
		return "tcp"
	case KindUDP:
		return "udp"
	case KindICMP:
		return "icmp"
	case KindARP:
		return "arp"
	case KindFragment:
		return "ip_fragment"
	case KindOtherIP:
		return "other_ip"
	case KindOtherLink:
		return "other_link"
	case KindUnsupportedLink:
		return "unsupported_link"
	case KindMalformed:
		return "malformed"
	}
	return "unknown_kind"
}

// Result is the outcome of decoding one frame. Reason is a short stable text
// for KindMalformed, KindUnsupportedLink and the KindOther* kinds, such as
// "truncated TCP header" or "bad IPv4 header length"; it is empty otherwise.
type Result struct {
	Kind   Kind
	Reason string
}
