package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// recordReader is a reader for one capture format.
type recordReader interface {
	// next fills f with the next frame. It returns io.EOF at a clean end, an
	// *InputError wrapping ErrCutShort when the input ends inside a record, and
	// another *InputError for anything that stops the file.
	next(f *Frame) error
}

// snoopMagic is the first four bytes of a snoop file ("snoo").
const snoopMagic = 0x736e6f6f

// maxCompressedLayers bounds nesting such as gzip inside gzip.
const maxCompressedLayers = 2

// sniff identifies the format of the input by its first bytes (never by its
// name) and returns a reader for it. It unwraps gzip and zstd compression,
// decompressing on a goroutine of its own if ahead is set and there are cores
// for it. Its read buffers and decoders come from sp (which may be nil), and
// go back to it when the returned io.Closer is closed; the buffer frames are
// read from does not when opt.Buffers lends buffers. plain reports that the
// records are read as they lie in r, not decompressed.
func sniff(r io.Reader, name string, opt Options, size int, ahead bool, sp *spares, warn warnFunc) (rd recordReader, c io.Closer, plain bool, err error) {
	// Every buffer and decompressor taken, to be given back or closed the
	// innermost first: a decompressor is closed before the buffer it reads
	// (decompress).
	var cs closers
	var closer io.Closer
	keep := func(c io.Closer) {
		if c != nil {
			cs = append(cs, c)
			closer = cs
		}
	}
	in, under := sp.reader(r, size)
	var outer *compression // the compression in is the inside of, if any
	for layer := 0; ; layer++ {
		head := in.peek(8)
		if len(head) < 8 && in.err != nil && !errors.Is(in.err, io.EOF) {
			// Not an empty or short file: its first bytes could not be
			// read (a zstd window past the limit, a damaged stream).
			keep(under)
			return nil, closer, false, firstBytesError(name, outer, in.err)
		}
		if c := compressionOf(head); c != nil {
			if layer >= maxCompressedLayers {
				keep(under)
				return nil, closer, false, &InputError{File: name, Offset: 0, Msg: "compressed data nested too deeply", Err: ErrUnsupported}
			}
			zr, err := decompress(c, in, under, sp, size, ahead)
			if err != nil {
				keep(under)
				return nil, closer, false, decompressError(name, c, err)
			}
			keep(zr) // it closes under
			in, under = sp.reader(zr, size)
			outer = c
			continue
		}
		if opt.Buffers == nil {
			// Lent buffers go back to their pool, not to the spares.
			keep(under)
		}
		if len(head) < 4 {
			if len(head) == 0 {
				return nil, closer, false, &InputError{File: name, Offset: -1, Msg: "not a capture file (empty)", Err: ErrNotCapture}
			}
			return nil, closer, false, &InputError{File: name, Offset: -1, Msg: fmt.Sprintf("not a capture file (first bytes 0x%x)", head), Err: ErrNotCapture}
		}
		// Frames are views of this reader's buffer.
		in.pool = opt.Buffers
		switch magic := binary.BigEndian.Uint32(head); magic {
		case pcapMagicMicro, pcapMagicNano, pcapMagicMicroSwapped, pcapMagicNanoSwapped:
			pr, err := newPcapReader(in, name, opt, warn)
			return pr, closer, outer == nil, err
		case ngBlockSHB:
			nr, err := newPcapngReader(in, name, opt, warn)
			return nr, closer, outer == nil, err
		case snoopMagic:
			if bytes.HasPrefix(head, []byte("snoop\x00\x00\x00")) {
				sr, err := newSnoopReader(in, name, opt, warn)
				return sr, closer, outer == nil, err
			}
		case pcapMagicModified, pcapMagicModifiedSwap:
			return nil, closer, false, unsupported(name, "modified (Kuznetzov) pcap")
		}
		if f := otherFormat(head); f != "" {
			return nil, closer, false, unsupported(name, f)
		}
		return nil, closer, false, &InputError{File: name, Offset: -1, Msg: fmt.Sprintf("not a capture file (first bytes 0x%x)", head), Err: ErrNotCapture}
	}
}

// firstBytesError describes a file whose first bytes, decompressed as c if
// c is not nil, could not be read.
func firstBytesError(name string, c *compression, err error) error {
	msg := "cannot read the first bytes"
	if c != nil {
		msg = "cannot decompress the first bytes (" + c.name + ")"
		if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
			// A stream decoder says one or the other for a window past
			// its limit (it decodes no more than a window at a time).
			msg += fmt.Sprintf(": the stream needs a window over %d MiB (zstd --long=28 or more)", zstdMaxWindow>>20)
		}
	}
	return &InputError{File: name, Offset: 0, Msg: msg, Err: err}
}

func unsupported(name, format string) error {
	return &InputError{File: name, Offset: -1, Msg: "unsupported capture format: " + format, Err: ErrUnsupported}
}

// otherFormat names capture and compression formats that are recognised but
// not read.
func otherFormat(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("GMBU")):
		return "Microsoft Network Monitor"
	case bytes.HasPrefix(head, []byte("XCP\x00")):
		return "NetXRay / Sniffer"
	case bytes.HasPrefix(head, []byte("BZh")):
		return "bzip2-compressed file (decompress it first)"
	case bytes.HasPrefix(head, []byte("\xfd7zXZ")):
		return "xz-compressed file (decompress it first)"
	case bytes.HasPrefix(head, []byte("\x04\x22\x4d\x18")):
		return "lz4-compressed file (decompress it first)"
	}
	return ""
}
