//go:build linux

package netlab

import (
	"encoding/binary"
	"net"
	"testing"
)

// TestVerdict checks the forwarder's rules without sockets.
func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		name   string
		r      Rules
		n, d   uint64
		isData bool
		want   action
	}{
		{"zero rules forward", Rules{}, 5, 3, true, forward},
		{"drop the Nth data segment", Rules{DropData: 3}, 5, 3, true, drop},
		{"not another one", Rules{DropData: 3}, 6, 4, true, forward},
		{"pure ACKs are not counted", Rules{DropData: 3}, 6, 3, false, forward},
		{"hold the Nth", Rules{HoldData: 2}, 4, 2, true, hold},
		{"drop every Nth", Rules{DropEvery: 4}, 9, 8, true, drop},
		{"between them", Rules{DropEvery: 4}, 10, 9, true, forward},
		{"not a pure ACK", Rules{DropEvery: 4}, 9, 8, false, forward},
		{"hold every Nth", Rules{HoldEvery: 3}, 7, 6, true, hold},
		{"not the one after", Rules{HoldEvery: 3}, 8, 7, true, forward},
		{"never every one", Rules{HoldEvery: 1}, 8, 7, true, forward},
		{"twice every Nth", Rules{DupEvery: 5}, 11, 10, true, twice},
		{"once between", Rules{DupEvery: 5}, 12, 11, true, forward},
		{"black hole from the start", Rules{Blackhole: true}, 1, 0, false, drop},
		{"black hole after K", Rules{Blackhole: true, BlackholeAfter: 3}, 3, 1, true, forward},
		{"black hole after K, then", Rules{Blackhole: true, BlackholeAfter: 3}, 4, 1, true, drop},
	} {
		if got := tc.r.verdict(tc.n, tc.d, tc.isData); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRewrite checks that a forwarded frame gets the new MACs, one less TTL
// and valid checksums (verified by summing to zero).
func TestRewrite(t *testing.T) {
	frame := make([]byte, 14+20+20+5)
	binary.BigEndian.PutUint16(frame[12:], 0x0800)
	ip := frame[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], 20+20+5)
	copy(ip[12:], net.ParseIP(ClientIP).To4())
	copy(ip[16:], net.ParseIP(ServerIP).To4())
	tcp := ip[20:]
	tcp[12] = 5 << 4
	copy(tcp[20:], "hello")
	tcp[16], tcp[17] = 0xde, 0xad // a partial (offloaded) checksum
	if data, ok := tcpPayload(frame); !ok || !data {
		t.Fatalf("tcpPayload = %v, %v", data, ok)
	}
	src, _ := net.ParseMAC(MidServerMAC)
	dst, _ := net.ParseMAC(ServerMAC)
	rewrite(frame, src, dst)
	if net.HardwareAddr(frame[0:6]).String() != ServerMAC || net.HardwareAddr(frame[6:12]).String() != MidServerMAC {
		t.Errorf("MACs %x", frame[:12])
	}
	if ip[8] != 63 {
		t.Errorf("TTL %d, want 63", ip[8])
	}
	if c := checksum(0, ip[:20]); c != 0 {
		t.Errorf("IPv4 header checksum does not verify (%#x)", c)
	}
	var pseudo [12]byte
	copy(pseudo[:8], ip[12:20])
	pseudo[9] = 6
	binary.BigEndian.PutUint16(pseudo[10:], uint16(len(tcp)))
	if c := checksum(sum(0, pseudo[:]), tcp); c != 0 {
		t.Errorf("TCP checksum does not verify (%#x)", c)
	}
	if _, ok := tcpPayload(frame[:20]); ok {
		t.Error("a runt frame counted as IPv4")
	}
}
