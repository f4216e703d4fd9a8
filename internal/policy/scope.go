package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/tcpflow-analyze/tcpflow-analyze/report"
)

// Scope restricts the rules to some connections. The zero Scope takes every
// flow. Lists that are given must all match.
type Scope struct {
	// ServerPorts are responder ports.
	ServerPorts []uint16 `json:"server_ports,omitempty"`
	// Servers are responder addresses or networks.
	Servers []netip.Prefix `json:"servers,omitempty"`
	// Clients are originator addresses or networks.
	Clients []netip.Prefix `json:"clients,omitempty"`
}

// Empty reports whether s takes every flow.
func (s Scope) Empty() bool {
	return len(s.ServerPorts) == 0 && len(s.Servers) == 0 && len(s.Clients) == 0
}

// Match reports whether flow f is in scope. A flow whose endpoints cannot be
// parsed is out of any non-empty scope.
func (s Scope) Match(f *report.Flow) bool {
	if s.Empty() {
		return true
	}
	resp, err := netip.ParseAddrPort(f.Resp)
	if err != nil || !s.matchResp(resp) {
		return false
	}
	if len(s.Clients) > 0 {
		orig, err := netip.ParseAddrPort(f.Orig)
		if err != nil || !containsAddr(s.Clients, orig.Addr()) {
			return false
		}
	}
	return true
}

// MatchAddrs reports whether a flow from orig to resp is in scope.
func (s Scope) MatchAddrs(orig, resp netip.AddrPort) bool {
	if s.Empty() {
		return true
	}
	return s.matchResp(resp) && (len(s.Clients) == 0 || containsAddr(s.Clients, orig.Addr()))
}

// matchResp reports whether resp is a server the scope takes.
func (s Scope) matchResp(resp netip.AddrPort) bool {
	if len(s.ServerPorts) > 0 && !slices.Contains(s.ServerPorts, resp.Port()) {
		return false
	}
	return len(s.Servers) == 0 || containsAddr(s.Servers, resp.Addr())
}

func containsAddr(nets []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// String describes s for the verdict line.
func (s Scope) String() string {
	if s.Empty() {
		return "all flows"
	}
	var parts []string
	if len(s.ServerPorts) > 0 {
		ps := make([]string, len(s.ServerPorts))
		for i, p := range s.ServerPorts {
			ps[i] = fmt.Sprint(p)
		}
		parts = append(parts, "server port "+strings.Join(ps, ","))
	}
	if len(s.Servers) > 0 {
		parts = append(parts, "server "+joinPrefixes(s.Servers))
	}
	if len(s.Clients) > 0 {
		parts = append(parts, "client "+joinPrefixes(s.Clients))
	}
	return strings.Join(parts, "; ")
}

func joinPrefixes(ps []netip.Prefix) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		if p.IsSingleIP() {
			out[i] = p.Addr().String()
		} else {
			out[i] = p.String()
		}
	}
	return strings.Join(out, ",")
}

// ParsePrefix reads an address ("10.0.0.1", "2001:db8::1") as a single-address
// prefix, or a network in CIDR notation ("10.0.0.0/8"). IPv4-mapped IPv6
// addresses are read as IPv4.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or a network: %w", s, err)
		}
		if p.Addr().Is4In6() {
			bits := p.Bits() - 96
			if bits < 0 {
				return netip.Prefix{}, fmt.Errorf("%q: an IPv4-mapped network needs at least /96", s)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), bits)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or a network: %w", s, err)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
