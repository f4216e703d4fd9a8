package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// The capture helper is the small program that links libpcap
// (cmd/tcpflow-analyze-capture): live capture, the list of interfaces and
// the compilation of BPF filters run there, in a process of its own, as
// Wireshark's dumpcap captures for tshark. The analysis then links neither
// libpcap nor gopacket's layers package, whose 5 MiB of lookup tables every
// garbage collection scanned (docs/performance.md, session 23), only the
// helper needs the capture privileges, and this package builds without cgo.
const (
	// HelperName is the helper's file name, looked for next to the running
	// binary and then in PATH.
	HelperName = "tcpflow-analyze-capture"
	// HelperEnv names the environment variable that gives the helper's path
	// instead.
	HelperEnv = "TCPFLOW_ANALYZE_CAPTURE"
	// HelperProto is the version of the protocol below. The helper refuses
	// a version it does not speak, so that a stale helper says so.
	HelperProto = 1
)

// HelperPath returns the capture helper to run: $TCPFLOW_ANALYZE_CAPTURE when
// set, else the helper next to this executable, else the one in PATH. The
// error wraps ErrNoLiveSupport.
func HelperPath() (string, error) {
	if p := os.Getenv(HelperEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w (%s=%s: %v)", ErrNoLiveSupport, HelperEnv, p, err)
		}
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		name := HelperName
		if runtime.GOOS == "windows" {
			name += ".exe"
		}
		p := filepath.Join(filepath.Dir(exe), name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath(HelperName); err == nil {
		return p, nil
	}
	return "", ErrNoLiveSupport
}

// LiveSupported reports whether live capture and BPF filters are available:
// whether the capture helper can be found (HelperPath).
func LiveSupported() bool {
	_, err := HelperPath()
	return err == nil
}

// HelperOpen is the first message of a capture: what the handle captures.
type HelperOpen struct {
	Proto    int    `json:"proto"`
	LinkType uint16 `json:"link_type"`
	SnapLen  int    `json:"snap_len"`
	Nano     bool   `json:"nano"`
}

// HelperError is a failure reported by the helper: its message, and the
// sentinel error it matches, by name.
type HelperError struct {
	Kind    string `json:"kind,omitempty"` // "permission", "no_such_interface", "bad_filter" or empty
	Message string `json:"message"`
}

// helperKinds names the sentinel errors that cross the process boundary.
var helperKinds = []struct {
	name string
	err  error
}{
	{"permission", ErrPermission},
	{"no_such_interface", ErrNoSuchInterface},
	{"bad_filter", ErrBadFilter},
}

// NewHelperError describes err for the other side.
func NewHelperError(err error) *HelperError {
	e := &HelperError{Message: err.Error()}
	for _, k := range helperKinds {
		if errors.Is(err, k.err) {
			e.Kind = k.name
			break
		}
	}
	return e
}

// Err returns the error the helper reported: its message, matching the
// sentinel its kind names.
func (e *HelperError) Err() error {
	for _, k := range helperKinds {
		if e.Kind == k.name {
			return &helperErr{msg: e.Message, is: k.err}
		}
	}
	return &helperErr{msg: e.Message}
}

// helperErr is an error that came from the helper.
type helperErr struct {
	msg string
	is  error
}

func (e *helperErr) Error() string { return e.msg }
func (e *helperErr) Unwrap() error { return e.is }

// The messages of a capture's stream, which the helper writes on its
// standard output: a kind byte, then for msgFrame a 16-byte header (the time
// in nanoseconds, the captured and the original length, little-endian) and
// the bytes; for msgStats three counters and a byte that is 1 on the final
// ones; for msgOpen and msgError a 4-byte length and JSON.
const (
	msgOpen  byte = 'O'
	msgFrame byte = 'F'
	msgStats byte = 'S'
	msgError byte = 'E'
)

// The helper's requests, single bytes on its standard input; closing it
// stops the capture.
const (
	// HelperStatsRequest asks for a msgStats after the frames read so far.
	HelperStatsRequest byte = 's'
)

// HelperWriter writes a capture's stream (the helper's side).
type HelperWriter struct {
	w   *bufio.Writer
	hdr [17]byte
}

// NewHelperWriter writes the stream to w, buffered: call Flush.
func NewHelperWriter(w io.Writer) *HelperWriter {
	return &HelperWriter{w: bufio.NewWriterSize(w, 64<<10)}
}

func (h *HelperWriter) json(kind byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h.hdr[0] = kind
	binary.LittleEndian.PutUint32(h.hdr[1:], uint32(len(b)))
	h.w.Write(h.hdr[:5])
	_, err = h.w.Write(b)
	return err
}

// Open writes the capture's first message.
func (h *HelperWriter) Open(o HelperOpen) error { return h.json(msgOpen, o) }

// Error writes a failure; it ends the stream.
func (h *HelperWriter) Error(err error) error { return h.json(msgError, NewHelperError(err)) }

// Frame writes one captured frame.
func (h *HelperWriter) Frame(fr *Frame) error {
	h.hdr[0] = msgFrame
	le := binary.LittleEndian
	le.PutUint64(h.hdr[1:], uint64(fr.Time))
	le.PutUint32(h.hdr[9:], uint32(len(fr.Data)))
	le.PutUint32(h.hdr[13:], uint32(max(fr.OrigLen, len(fr.Data))))
	h.w.Write(h.hdr[:])
	_, err := h.w.Write(fr.Data)
	return err
}

// Stats writes libpcap's counters; final marks those taken after the handle
// closed.
func (h *HelperWriter) Stats(received, dropped, ifDropped uint64, final bool) error {
	var b [26]byte
	b[0] = msgStats
	le := binary.LittleEndian
	le.PutUint64(b[1:], received)
	le.PutUint64(b[9:], dropped)
	le.PutUint64(b[17:], ifDropped)
	if final {
		b[25] = 1
	}
	_, err := h.w.Write(b[:])
	return err
}

// Buffered returns how many bytes wait for Flush.
func (h *HelperWriter) Buffered() int { return h.w.Buffered() }

// Flush writes what is buffered.
func (h *HelperWriter) Flush() error { return h.w.Flush() }

// helperMsg is one message read from a capture's stream.
type helperMsg struct {
	kind            byte
	data            []byte // msgFrame
	time            int64
	capLen, origLen int
	stats           [3]uint64 // msgStats
	final           bool
	open            HelperOpen // msgOpen
	err             error      // msgError, or a broken stream
}

// maxHelperFrame bounds a frame in the stream (libpcap's largest snapshot
// length), so that a corrupt stream cannot ask for gigabytes.
const maxHelperFrame = 1 << 20

// readHelperMsg reads the next message; buf is a buffer it may reuse for a
// frame's bytes. At the end of the stream it returns io.EOF. A frame's
// message allocates nothing: its header is read in place (readMsgHeader),
// and only the capture's header
// (msgOpen) is unmarshalled, into a variable of its own, not through &m
// (each frame's message was otherwise moved to the heap, 150 bytes a frame
// of a live capture; docs/performance.md, session 24).
func readHelperMsg(r *bufio.Reader, buf []byte) (helperMsg, error) {
	var m helperMsg
	kind, err := r.ReadByte()
	if err != nil {
		return m, err
	}
	m.kind = kind
	le := binary.LittleEndian
	switch kind {
	case msgFrame:
		hdr, err := readMsgHeader(r, 16)
		if err != nil {
			return m, fmt.Errorf("capture helper: a frame's header: %w", noEOF(err))
		}
		m.time = int64(le.Uint64(hdr[0:]))
		m.capLen, m.origLen = int(le.Uint32(hdr[8:])), int(le.Uint32(hdr[12:]))
		if m.capLen > maxHelperFrame {
			return m, fmt.Errorf("capture helper: a frame of %d bytes", m.capLen)
		}
		if cap(buf) < m.capLen {
			buf = make([]byte, m.capLen, max(m.capLen, 2048))
		}
		m.data = buf[:m.capLen]
		if _, err := readMsgFull(r, m.data); err != nil {
			return m, fmt.Errorf("capture helper: a frame's bytes: %w", noEOF(err))
		}
	case msgStats:
		hdr, err := readMsgHeader(r, 25)
		if err != nil {
			return m, fmt.Errorf("capture helper: statistics: %w", noEOF(err))
		}
		m.stats = [3]uint64{le.Uint64(hdr[0:]), le.Uint64(hdr[8:]), le.Uint64(hdr[16:])}
		m.final = hdr[24] == 1
	case msgOpen, msgError:
		hdr, err := readMsgHeader(r, 4)
		if err != nil {
			return m, fmt.Errorf("capture helper: a message's length: %w", noEOF(err))
		}
		n := le.Uint32(hdr[:4])
		if n > 1<<20 {
			return m, fmt.Errorf("capture helper: a message of %d bytes", n)
		}
		b := make([]byte, n)
		if _, err := readMsgFull(r, b); err != nil {
			return m, fmt.Errorf("capture helper: a message: %w", noEOF(err))
		}
		if kind == msgOpen {
			var open HelperOpen
			if err := json.Unmarshal(b, &open); err != nil {
				return m, fmt.Errorf("capture helper: the capture's header: %w", err)
			}
			m.open = open
		} else {
			var e HelperError
			if err := json.Unmarshal(b, &e); err != nil {
				return m, fmt.Errorf("capture helper: an error report: %w", err)
			}
			m.err = e.Err()
		}
	default:
		return m, fmt.Errorf("capture helper: unknown message %q", kind)
	}
	return m, nil
}

// readMsgHeader reads n bytes (at most the reader's buffer) and returns
// them in place, valid until the next read; it returns io.EOF when none
// came and io.ErrUnexpectedEOF when some did.
func readMsgHeader(r *bufio.Reader, n int) ([]byte, error) {
	b, err := r.Peek(n)
	if err != nil {
		if err == io.EOF && len(b) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	r.Discard(n)
	return b, nil
}

// readMsgFull is io.ReadFull on a bufio.Reader: it reads len(p) bytes, and
// returns io.EOF when none came and io.ErrUnexpectedEOF when some did.
func readMsgFull(r *bufio.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := r.Read(p[n:])
		n += k
		if err != nil {
			if n == len(p) {
				break
			}
			if err == io.EOF && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
	}
	return n, nil
}

// noEOF turns the end of the stream within a message into an error.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// runHelper runs the helper with args and returns its standard output; a
// failure it reports (one HelperError in JSON on standard error) comes back
// as that error.
func runHelper(args ...string) ([]byte, error) {
	path, err := HelperPath()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, helperFailure(path, err, errOut.Bytes())
	}
	return out.Bytes(), nil
}

// helperFailure makes the error of a helper that exited with err, having
// written stderr.
func helperFailure(path string, err error, stderr []byte) error {
	var e HelperError
	if line := bytes.TrimSpace(stderr); len(line) > 0 && json.Unmarshal(line, &e) == nil && e.Message != "" {
		return e.Err()
	}
	msg := strings.TrimSpace(string(stderr))
	if msg == "" {
		return fmt.Errorf("capture helper %s: %w", path, err)
	}
	return fmt.Errorf("capture helper %s: %w: %s", path, err, msg)
}
