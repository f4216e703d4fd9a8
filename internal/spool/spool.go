// Package spool keeps byte records under uint64 keys and gives them back in
// key order. Records stay in memory up to a budget; past it each full buffer
// is sorted and written to an unlinked temporary file as a run, and the runs
// are merged at the end. Memory stays at the budget plus a read buffer per
// run, however many records there are: the JSON document, whose flows are
// listed in id order after the summary, needs no more than that to hold a
// capture's million flows.
package spool

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// DefaultMemLimit is the bytes of records a Spool keeps in memory before it
// writes them to a file.
const DefaultMemLimit = 8 << 20

// runBuffer is the read buffer of each run while they are merged.
const runBuffer = 32 << 10

// Spool collects records. The zero value keeps up to DefaultMemLimit bytes
// in memory and spills to os.TempDir. It is not safe for concurrent use.
type Spool struct {
	// MemLimit is the bytes kept in memory before spilling (0 = DefaultMemLimit).
	MemLimit int
	// Dir is where the temporary file goes ("" = os.TempDir()).
	Dir string
	// SpillErr is why the records stayed in memory past MemLimit (the
	// temporary file could not be made), or nil.
	SpillErr error

	mem  []byte  // the records of the current run
	idx  []entry // one per record of the current run, in the order added
	n    int     // records added
	f    *os.File
	w    *bufio.Writer
	size int64   // bytes written to the file
	runs []int64 // where each run written starts; the last ends at size
	err  error   // the first error; Add and Sorted return it
}

type entry struct {
	key uint64
	off int // in mem
	n   int
}

// Add keeps rec under key. Records of equal keys come back in the order
// they were added.
func (s *Spool) Add(key uint64, rec []byte) error {
	if s.err != nil {
		return s.err
	}
	s.idx = append(s.idx, entry{key, len(s.mem), len(rec)})
	s.mem = append(s.mem, rec...)
	s.n++
	if s.SpillErr == nil && len(s.mem) > s.limit() {
		s.spill()
	}
	return s.err
}

func (s *Spool) limit() int {
	if s.MemLimit > 0 {
		return s.MemLimit
	}
	return DefaultMemLimit
}

// sortIdx orders the current run by key, equal keys in the order added.
func (s *Spool) sortIdx() {
	// Records come in about key order (connections end roughly in the order
	// they began), which the sort handles in close to linear time.
	// A record's place in memory follows the order added, so ordering
	// equal keys by it keeps them in that order without a stable sort,
	// which took 40 % longer on -o json's nearly sorted runs. (Two records
	// at one place are both empty: either order reads back the same.)
	slices.SortFunc(s.idx, func(a, b entry) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		case a.off < b.off:
			return -1
		case a.off > b.off:
			return 1
		}
		return 0
	})
}

// spill writes the current run to the file, sorted, making the file first;
// when no file can be made, SpillErr says why and the records stay.
func (s *Spool) spill() {
	if s.f == nil {
		dir := s.Dir
		if dir == "" {
			dir = os.TempDir()
		}
		f, err := os.CreateTemp(dir, "tcpflow-analyze-*.spool")
		if err != nil {
			s.SpillErr = err
			return
		}
		// Unlinked at once where the system allows it, so that nothing is
		// left behind if the process dies; Close removes it otherwise.
		_ = os.Remove(f.Name())
		s.f = f
		s.w = bufio.NewWriterSize(f, 256<<10)
	}
	s.sortIdx()
	s.runs = append(s.runs, s.size)
	var hdr [8 + binary.MaxVarintLen64]byte
	for _, e := range s.idx {
		binary.LittleEndian.PutUint64(hdr[:8], e.key)
		h := 8 + binary.PutUvarint(hdr[8:], uint64(e.n))
		if _, err := s.w.Write(hdr[:h]); err != nil {
			s.fail(err)
			return
		}
		if _, err := s.w.Write(s.mem[e.off : e.off+e.n]); err != nil {
			s.fail(err)
			return
		}
		s.size += int64(h + e.n)
	}
	s.mem, s.idx = s.mem[:0], s.idx[:0]
}

func (s *Spool) fail(err error) error {
	name := ""
	if s.f != nil {
		name = " " + s.f.Name()
	}
	s.err = fmt.Errorf("spool file%s: %w", name, err)
	return s.err
}

// Len returns the number of records added.
func (s *Spool) Len() int { return s.n }

// Spilled reports whether records went to a file.
func (s *Spool) Spilled() bool { return s.f != nil }

// Sorted returns the records in key order, one per call of next, which
// returns nil after the last. A slice it returns is valid until the next
// call. No record may be added once Sorted was called.
func (s *Spool) Sorted() (next func() ([]byte, error), err error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.f == nil {
		s.sortIdx()
		i := 0
		return func() ([]byte, error) {
			if i == len(s.idx) {
				return nil, nil
			}
			e := s.idx[i]
			i++
			return s.mem[e.off : e.off+e.n], nil
		}, nil
	}
	if len(s.idx) > 0 {
		if s.spill(); s.err != nil {
			return nil, s.err
		}
	}
	if err := s.w.Flush(); err != nil {
		return nil, s.fail(err)
	}
	s.mem, s.idx = nil, nil
	m := &merger{}
	for i, start := range s.runs {
		end := s.size
		if i+1 < len(s.runs) {
			end = s.runs[i+1]
		}
		r := &run{r: bufio.NewReaderSize(io.NewSectionReader(s.f, start, end-start), runBuffer), seq: i}
		if ok, err := r.read(); err != nil {
			return nil, s.fail(err)
		} else if ok {
			m.h = append(m.h, r)
		}
	}
	heap.Init(m)
	var last *run // the run of the record returned last: read on next call
	return func() ([]byte, error) {
		if last != nil {
			ok, err := last.read()
			if err != nil {
				return nil, s.fail(err)
			}
			if ok {
				heap.Fix(m, 0)
			} else {
				heap.Pop(m)
			}
			last = nil
		}
		if len(m.h) == 0 {
			return nil, nil
		}
		last = m.h[0]
		return last.rec, nil
	}, nil
}

// Close releases the file, if there is one.
func (s *Spool) Close() error {
	s.mem, s.idx = nil, nil
	if s.f == nil {
		return nil
	}
	f := s.f
	s.f, s.w = nil, nil
	err := f.Close()
	if rerr := os.Remove(f.Name()); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}

// run reads one sorted run of the file, one record ahead.
type run struct {
	r   *bufio.Reader
	seq int // the run's place in the file: equal keys come from earlier runs first
	key uint64
	rec []byte
}

// read reads the next record, or reports that the run is over.
func (r *run) read() (bool, error) {
	var k [8]byte
	if _, err := io.ReadFull(r.r, k[:]); err != nil {
		if err == io.EOF {
			return false, nil
		}
		return false, err
	}
	n, err := binary.ReadUvarint(r.r)
	if err != nil {
		return false, fmt.Errorf("record length: %w", noEOF(err))
	}
	if n > 1<<31 {
		return false, fmt.Errorf("record length %d", n)
	}
	r.key = binary.LittleEndian.Uint64(k[:])
	r.rec = slices.Grow(r.rec[:0], int(n))[:n]
	if _, err := io.ReadFull(r.r, r.rec); err != nil {
		return false, fmt.Errorf("record: %w", noEOF(err))
	}
	return true, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// merger is a heap of runs by their next record's key.
type merger struct{ h []*run }

func (m *merger) Len() int { return len(m.h) }
func (m *merger) Less(i, j int) bool {
	a, b := m.h[i], m.h[j]
	if a.key != b.key {
		return a.key < b.key
	}
	return a.seq < b.seq
}
func (m *merger) Swap(i, j int) { m.h[i], m.h[j] = m.h[j], m.h[i] }
func (m *merger) Push(x any)    { m.h = append(m.h, x.(*run)) }
func (m *merger) Pop() any {
	x := m.h[len(m.h)-1]
	m.h = m.h[:len(m.h)-1]
	return x
}
