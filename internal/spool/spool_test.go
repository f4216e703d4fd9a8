package spool

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestSortedOrder adds records in a shuffled key order and checks that they
// come back in key order, equal keys in the order added, for records kept in
// memory, spilled in one or a few sorted runs, or in a run per record.
func TestSortedOrder(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		memLimit int
		maxLen   int
		spilled  bool
	}{
		{"empty", 0, 0, 10, false},
		{"memory", 500, 0, 100, false},
		{"spilled at once", 500, 1, 100, true},
		{"spilled midway", 2000, 20000, 50, true},
		{"a run per record, larger than the read buffer", 6, 1, 3 << 20, true},
		{"empty records, many runs", 100, 10, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tt.n)))
			s := &Spool{MemLimit: tt.memLimit, Dir: t.TempDir()}
			defer s.Close()
			type rec struct {
				key uint64
				b   []byte
			}
			var want []rec
			for i := 0; i < tt.n; i++ {
				key := uint64(rng.IntN(tt.n/2 + 1))
				b := make([]byte, rng.IntN(tt.maxLen+1))
				for j := range b {
					b[j] = byte(rng.Uint32())
				}
				b = append(b, fmt.Sprint(i)...) // tells equal keys apart
				want = append(want, rec{key, b})
				if err := s.Add(key, b); err != nil {
					t.Fatal(err)
				}
			}
			if s.Spilled() != tt.spilled {
				t.Fatalf("spilled = %v, want %v", s.Spilled(), tt.spilled)
			}
			if s.Len() != tt.n {
				t.Fatalf("Len = %d, want %d", s.Len(), tt.n)
			}
			// Stable sort of the model by key.
			for i := 1; i < len(want); i++ {
				for j := i; j > 0 && want[j-1].key > want[j].key; j-- {
					want[j-1], want[j] = want[j], want[j-1]
				}
			}
			next, err := s.Sorted()
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range want {
				got, err := next()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, w.b) {
					t.Fatalf("record %d (key %d): got %d bytes, want %d", i, w.key, len(got), len(w.b))
				}
			}
			if got, err := next(); got != nil || err != nil {
				t.Fatalf("after the last record: %q, %v", got, err)
			}
		})
	}
}

// TestNoFileLeft checks that the spool file is gone once the spool is
// closed (it is unlinked as soon as it is made).
func TestNoFileLeft(t *testing.T) {
	dir := t.TempDir()
	s := &Spool{MemLimit: 1, Dir: dir}
	for i := range 10 {
		if err := s.Add(uint64(i), []byte("record")); err != nil {
			t.Fatal(err)
		}
	}
	if !s.Spilled() {
		t.Fatal("not spilled")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 0 {
		t.Fatalf("files left: %v", left)
	}
}

// TestSpillFailureKeepsMemory checks that a directory where no file can be
// made keeps the records in memory, says why, and loses none.
func TestSpillFailureKeepsMemory(t *testing.T) {
	s := &Spool{MemLimit: 1, Dir: filepath.Join(t.TempDir(), "missing")}
	defer s.Close()
	for i := range 100 {
		if err := s.Add(uint64(99-i), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if s.Spilled() || s.SpillErr == nil || !os.IsNotExist(s.SpillErr) {
		t.Fatalf("spilled %v, SpillErr %v", s.Spilled(), s.SpillErr)
	}
	next, err := s.Sorted()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		got, err := next()
		if err != nil || len(got) != 1 || got[0] != byte(99-i) {
			t.Fatalf("record %d: %v %v", i, got, err)
		}
	}
}
