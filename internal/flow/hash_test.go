package flow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// hashFamilies returns sets of keys shaped as captures shape them: one
// client's ephemeral ports to one server (the loopback capture), both ports
// varying, sequential and random IPv4 sources to one service (a scan, a
// spoofed flood), and IPv6 sources varying in their last or first bytes.
func hashFamilies() map[string][]Key {
	fam := map[string][]Key{}
	add := func(name string, src, dst netip.AddrPort) {
		fam[name] = append(fam[name], KeyOf(src, dst))
	}
	lo, lo2 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	srv4, srv6 := netip.MustParseAddr("198.51.100.80"), netip.MustParseAddr("2001:db8::80")
	for p := 1024; p < 65536; p++ {
		add("loopback ports", netip.AddrPortFrom(lo, uint16(p)), netip.AddrPortFrom(lo, 18081))
	}
	for i := range 65536 {
		add("both ports", netip.AddrPortFrom(lo, uint16(i>>8)), netip.AddrPortFrom(lo2, uint16(i&255)))
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 65536 {
		a := [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
		add("sequential sources", netip.AddrPortFrom(netip.AddrFrom4(a), 40000), netip.AddrPortFrom(srv4, 80))
		v := r.Uint32()
		a = [4]byte{10, byte(v >> 16), byte(v >> 8), byte(v)}
		add("spoofed sources", netip.AddrPortFrom(netip.AddrFrom4(a), uint16(v>>8)), netip.AddrPortFrom(srv4, 80))
		b := srv6.As16()
		b[14], b[15] = byte(i>>8), byte(i)
		add("IPv6 last bytes", netip.AddrPortFrom(netip.AddrFrom16(b), 40000), netip.AddrPortFrom(srv6, 443))
		b = srv6.As16()
		b[2], b[3] = byte(i>>8), byte(i)
		add("IPv6 prefix", netip.AddrPortFrom(netip.AddrFrom16(b), 40000), netip.AddrPortFrom(srv6, 443))
	}
	return fam
}

// chiZ returns the chi-square statistic of hs's values of bits
// [shift, shift+width), as a z-score: about normal for a random function, far
// above 0 when buckets fill unevenly and far below when they fill more evenly
// than chance, the mark of a hash nearly linear in what varies.
func chiZ(hs []uint64, shift, width uint) float64 {
	n := 1 << width
	counts := make([]float64, n)
	for _, h := range hs {
		counts[h>>shift&uint64(n-1)]++
	}
	want := float64(len(hs)) / float64(n)
	var chi float64
	for _, c := range counts {
		chi += (c - want) * (c - want) / want
	}
	return (chi - float64(n-1)) / math.Sqrt(2*float64(n-1))
}

// TestKeyHashSpreads checks that every part of the hash the tables use, the
// index's slot (low bits), the shard (top bits), the tomb tables' two
// buckets (bits 3 and 35 up, which must also be independent of each other)
// and their pending bits (50 up), spreads each family of keys as a random
// function would. A hash that mixed the ports with one multiply by a constant
// filled the loopback capture's buckets more evenly than chance (z down to
// −40), and its two tomb buckets moved together (z near 300).
func TestKeyHashSpreads(t *testing.T) {
	parts := []struct {
		name         string
		shift, width uint
	}{{"slot", 0, 12}, {"shard", 60, 4}, {"tomb bucket", 3, 12}, {"tomb alt", 35, 12}, {"pending", 50, 8}}
	for name, keys := range hashFamilies() {
		hs := make([]uint64, len(keys))
		joint := make([]uint64, len(keys))
		for i, k := range keys {
			hs[i] = k.Hash()
			joint[i] = hs[i]>>3&63 | (hs[i]>>35&63)<<6
		}
		for _, p := range parts {
			if z := chiZ(hs, p.shift, p.width); math.Abs(z) > 6 {
				t.Errorf("%s: the %s bits spread with chi-square z %.1f, want within ±6", name, p.name, z)
			}
		}
		if z := chiZ(joint, 0, 12); math.Abs(z) > 6 {
			t.Errorf("%s: the two tomb buckets together spread with chi-square z %.1f, want within ±6", name, z)
		}
	}
}

// TestKeyHashAvalanche checks that flipping any one bit of a key's ports or
// addresses flips each bit of its hash half the time, over random IPv4 and
// IPv6 keys.
func TestKeyHashAvalanche(t *testing.T) {
	const n = 6000
	r := rand.New(rand.NewPCG(7, 8))
	for _, v6 := range []bool{false, true} {
		family := "IPv4"
		if v6 {
			family = "IPv6"
		}
		width := 32 // address bits that vary
		if v6 {
			width = 128
		}
		worst, at := 0.0, ""
		for in := range 32 + 2*width {
			var flips [64]int
			for range n {
				var a, b [16]byte
				for i := range a {
					a[i], b[i] = byte(r.Uint32()), byte(r.Uint32())
				}
				ports := r.Uint32()
				key := func(a, b [16]byte, ports uint32) Key {
					if !v6 {
						return Key{netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[:4])), uint16(ports>>16)), netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[:4])), uint16(ports))}
					}
					return Key{netip.AddrPortFrom(netip.AddrFrom16(a), uint16(ports>>16)), netip.AddrPortFrom(netip.AddrFrom16(b), uint16(ports))}
				}
				h := key(a, b, ports).Hash()
				switch bit := in - 32; {
				case bit < 0:
					ports ^= 1 << in
				case bit < width:
					a[bit/8] ^= 1 << (bit % 8)
				default:
					b[(bit-width)/8] ^= 1 << ((bit - width) % 8)
				}
				d := h ^ key(a, b, ports).Hash()
				for o := range flips {
					flips[o] += int(d >> o & 1)
				}
			}
			for o, f := range flips {
				if bias := math.Abs(float64(f)/n - 0.5); bias > worst {
					worst, at = bias, fmt.Sprintf("input bit %d, output bit %d", in, o)
				}
			}
		}
		// The bias of a fair coin over n flips has a standard deviation of
		// 0.5/√n, 0.0065 here; the worst of the 6 144 (IPv4) or 18 432
		// (IPv6) pairs of an input and an output bit is near 4.5 of them.
		if worst > 0.04 {
			t.Errorf("%s keys: a flipped bit changes a hash bit with bias %.3f (%s), want at most 0.04", family, worst, at)
		}
	}
}
