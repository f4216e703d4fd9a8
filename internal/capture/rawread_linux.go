package capture

import (
	"io"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// fileReader returns what a Source reads the opened file f through: f
// itself, or on one core (GOMAXPROCS 1) and for a regular file, a reader
// that makes each read(2) a raw system call, one the scheduler is not told
// of.
//
// A read of a megabyte from the page cache takes 100-200 µs. The runtime's
// monitor takes the processor back from a goroutine that has been in a
// system call for 20 µs when no other processor is idle, which on one core
// is every time: the read then returns to a processor it has to win back
// (the scheduler's slow path), and the monitor, having found work, keeps
// waking every 20 µs on the same core. A one-core run on the 2 M-packet mix
// made 2 700-6 600 context switches of each kind against 170-290 with raw
// reads, and took 0.08-0.13 CPU-s less on average (docs/performance.md,
// session 16). On several cores an idle processor keeps the monitor away,
// and a blocking read lets the other goroutines have the processor: the
// plain read is kept there.
//
// A raw read holds the processor, so nothing else runs until it returns;
// that is why only regular files, whose reads end, are read this way.
func fileReader(f *os.File) io.Reader {
	if runtime.GOMAXPROCS(0) != 1 {
		return f
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return f
	}
	return &rawFile{f: f, fd: f.Fd()}
}

// rawFile reads a regular file with raw read(2) calls (fileReader). It has
// only Read: the file is closed, sized and named through f by its Source.
type rawFile struct {
	f  *os.File
	fd uintptr
}

func (r *rawFile) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, r.fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
		switch {
		case e == syscall.EINTR:
			continue
		case e != 0:
			return 0, &os.PathError{Op: "read", Path: r.f.Name(), Err: e}
		case n == 0:
			return 0, io.EOF
		}
		return int(n), nil
	}
}

// pipeSize is the pipe buffer growPipe asks for: the most an unprivileged
// process may set by default (/proc/sys/fs/pipe-max-size).
const pipeSize = 1 << 20

// growPipe enlarges the buffer of f when f is a pipe (tcpdump -w - |
// tcpflow-analyze analyze -), and leaves anything else alone. With the
// default 64 KiB the writer and the analysis took turns every 64 KiB, and
// each turn is a wake-up of the other side: reading the 2 M-packet mix from
// cat took 0.2 CPU-s more than from the file (docs/performance.md, session
// 24). A pipe that cannot grow stays as it is.
func growPipe(f *os.File) {
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return
	}
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			syscall.Syscall(syscall.SYS_FCNTL, fd, fcntlSetPipeSize, pipeSize)
		})
	}
}

// fcntlSetPipeSize is F_SETPIPE_SZ.
const fcntlSetPipeSize = 1031
