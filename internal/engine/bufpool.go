package engine

import (
	"sync"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
)

// bufferPool lends a Source its read buffers (capture.Options.Buffers) and
// takes each back once every round that may hold frames in it is merged, so
// that a round's segments can point into the reader's buffers: the reader no
// longer copies every payload into the round (about 0.15 CPU-second of two
// workers' run on the 2 M-packet mix).
type bufferPool struct {
	filling uint64 // the round the reader fills; the reader's alone
	// inRound counts the buffers retired while the reader fills this round;
	// the reader's alone. The pipeline hands a round on after roundBuffers
	// of them, so that the buffers lent stay few when frames are large or
	// not TCP at all.
	inRound int

	mu      sync.Mutex
	merged  uint64 // rounds merged, in order; the merger's
	retired []retiredBuf
	free    [][]byte
	made    int // buffers allocated because none was free
}

type retiredBuf struct {
	b     []byte
	round uint64 // the round being filled when the reader moved on from b
}

// maxFreeBuffers bounds the buffers kept for lending again.
const maxFreeBuffers = 64

// Buffer implements capture.BufferPool.
func (bp *bufferPool) Buffer(n int) []byte {
	bp.mu.Lock()
	// A buffer retired while round r was filled holds frames of rounds up
	// to r only.
	k := 0
	for k < len(bp.retired) && bp.retired[k].round < bp.merged {
		if len(bp.free) < maxFreeBuffers {
			bp.free = append(bp.free, bp.retired[k].b)
		}
		bp.retired[k] = retiredBuf{}
		k++
	}
	bp.retired = bp.retired[k:]
	var b []byte
	for i := len(bp.free) - 1; i >= 0; i-- {
		if cap(bp.free[i]) >= n {
			b = bp.free[i][:n]
			bp.free[i] = bp.free[len(bp.free)-1]
			bp.free = bp.free[:len(bp.free)-1]
			break
		}
	}
	if b == nil {
		bp.made++
	}
	bp.mu.Unlock()
	if b == nil {
		b = make([]byte, n)
	}
	return b
}

// Retire implements capture.BufferPool.
func (bp *bufferPool) Retire(b []byte) {
	bp.inRound++
	bp.mu.Lock()
	bp.retired = append(bp.retired, retiredBuf{b, bp.filling})
	bp.mu.Unlock()
}

// roundMerged counts a merged round.
func (bp *bufferPool) roundMerged() {
	bp.mu.Lock()
	bp.merged++
	bp.mu.Unlock()
}

// BufferPool returns the pool a Source feeding p should read into: its
// frames then stay valid until their round is merged, and Frame keeps their
// payloads without copying them.
func (p *Pipeline) BufferPool() capture.BufferPool { return &p.bufs }
