package capture

import (
	"strings"
	"testing"
)

func TestFilter(t *testing.T) {
	if !LiveSupported() {
		t.Skip("no capture helper: " + helperSkip)
	}
	f, err := CompileFilter("tcp port 80")
	if err != nil {
		t.Fatal(err)
	}
	eth := simpleTCP4(nil) // 1234 -> 80
	udp := ether(etherIPv4, ipv4(protoUDP, nil, udpDgram(53, 53, nil)))
	cases := []struct {
		name string
		fr   Frame
		want bool
	}{
		{"ethernet tcp 80", Frame{Data: eth, LinkType: 1}, true},
		{"ethernet udp", Frame{Data: udp, LinkType: 1}, false},
		{"raw ip tcp 80", Frame{Data: eth[14:], LinkType: LinkTypeRaw}, true},
		{"sll tcp 80", Frame{Data: cat(make([]byte, 14), be16(etherIPv4), eth[14:]), LinkType: LinkTypeLinuxSLL}, true},
		{"vlan needs the vlan keyword", Frame{Data: vlanEther([]uint16{etherVLAN}, etherIPv4, eth[14:]), LinkType: 1}, false},
	}
	for _, c := range cases {
		if got := f.Match(&c.fr); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
	if _, err := CompileFilter("tcp port eighty and ("); err == nil || !strings.Contains(err.Error(), `"tcp port eighty and ("`) {
		t.Errorf("syntax error = %v", err)
	}
	// An expression valid only for some link types compiles, and does not
	// match frames of link types it cannot be compiled for.
	g, err := CompileFilter("ether host 02:00:00:00:00:01")
	if err != nil {
		t.Fatal(err)
	}
	if !g.Match(&Frame{Data: eth, LinkType: 1}) || g.Match(&Frame{Data: eth[14:], LinkType: LinkTypeRaw}) || g.Err() == nil {
		t.Errorf("per-link-type compile: err %v", g.Err())
	}
}
