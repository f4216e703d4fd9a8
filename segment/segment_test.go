package segment

import "testing"

func TestFlagsString(t *testing.T) {
	tests := []struct {
		f    Flags
		want string
	}{
		{0, "NONE"},
		{SYN, "SYN"},
		{SYN | ACK, "SYN|ACK"},
		{FIN | PSH | URG, "FIN|PSH|URG"},
		{FIN | SYN | RST | PSH | ACK | URG | ECE | CWR | AE, "FIN|SYN|RST|PSH|ACK|URG|ECE|CWR|AE"},
		{1 << 12, "0x1000"},
	}
	for _, tc := range tests {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("Flags(%#x).String() = %q, want %q", uint16(tc.f), got, tc.want)
		}
	}
}

func TestSeqLen(t *testing.T) {
	tests := []struct {
		name string
		seg  Segment
		want uint32
		end  uint32
	}{
		{"pure ack", Segment{Seq: 100, Flags: ACK}, 0, 100},
		{"syn", Segment{Seq: 0xFFFFFFFF, Flags: SYN}, 1, 0},
		{"data and fin", Segment{Seq: 10, Flags: FIN | ACK, PayloadLen: 5}, 6, 16},
	}
	for _, tc := range tests {
		if got := tc.seg.SeqLen(); uint32(got) != tc.want {
			t.Errorf("%s: SeqLen = %d, want %d", tc.name, got, tc.want)
		}
		if got := tc.seg.End(); uint32(got) != tc.end {
			t.Errorf("%s: End = %d, want %d", tc.name, got, tc.end)
		}
	}
}
