//go:build cgo

// Command tcpflow-analyze-capture is tcpflow-analyze's capture helper: the
// one program of the project that links libpcap (through gopacket's pcap
// package). tcpflow-analyze runs it for live capture, to list interfaces and
// to compile BPF filters, and reads its answers (internal/capture). Only it
// needs the capture privileges:
//
//	sudo setcap cap_net_raw,cap_net_admin=eip $(command -v tcpflow-analyze-capture)
//
// It is not meant to be run by hand. Its commands:
//
//	capture -i IFACE [-f EXPR] [-snaplen N] [-promisc] [-buffer BYTES] [-timeout D]
//	    streams the capture on standard output until its standard input ends
//	    or it gets SIGINT or SIGTERM; a byte 's' on standard input asks for
//	    libpcap's counters
//	interfaces
//	    the interfaces libpcap can capture on, as JSON
//	compile -linktype N -- EXPR
//	    the BPF program for frames of that LINKTYPE_* value, as JSON
//
// A failure is one JSON object on standard error (capture.HelperError), and
// exit status 2.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
	"github.com/tcpflow-analyze/tcpflow-analyze/internal/libpcap"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: %s capture|interfaces|compile [flags]", capture.HelperName))
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(capture.HelperName+" "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Int("proto", capture.HelperProto, "protocol version the caller speaks")
	var err error
	switch cmd {
	case "capture":
		var o capture.LiveOptions
		fs.StringVar(&o.Iface, "i", "", "interface")
		fs.StringVar(&o.Filter, "f", "", "BPF filter")
		fs.IntVar(&o.Snaplen, "snaplen", 0, "snapshot length")
		fs.BoolVar(&o.Promisc, "promisc", false, "promiscuous mode")
		fs.IntVar(&o.BufferSize, "buffer", 0, "kernel buffer in bytes")
		fs.DurationVar(&o.Timeout, "timeout", 0, "read timeout")
		if err = parse(fs, args); err == nil {
			err = runCapture(o)
		}
	case "interfaces":
		if err = parse(fs, args); err == nil {
			err = listInterfaces()
		}
	case "compile":
		lt := fs.Uint("linktype", uint(capture.LinkTypeEthernet), "LINKTYPE_* value")
		if err = parse(fs, args); err == nil {
			err = compile(fs.Args(), uint16(*lt))
		}
	default:
		err = fmt.Errorf("%s: unknown command %q", capture.HelperName, cmd)
	}
	if err != nil {
		fail(err)
	}
}

// parse parses args into fs and checks the protocol version it gives.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s: %w", fs.Name(), err)
	}
	if p := fs.Lookup("proto").Value.(flag.Getter).Get().(int); p != capture.HelperProto {
		return fmt.Errorf("%s speaks protocol %d, not %d: install the one built with this tcpflow-analyze", capture.HelperName, capture.HelperProto, p)
	}
	return nil
}

// fail reports err on standard error, as JSON, and exits with status 2.
func fail(err error) {
	json.NewEncoder(os.Stderr).Encode(capture.NewHelperError(err))
	os.Exit(2)
}

func listInterfaces() error {
	ifs, err := libpcap.ListInterfaces()
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(ifs)
}

func compile(args []string, lt uint16) error {
	if len(args) != 1 {
		return fmt.Errorf("compile: one expression expected, got %d", len(args))
	}
	prog, err := libpcap.Compile(args[0], lt)
	if err != nil {
		return err
	}
	out := make([][4]uint32, len(prog))
	for i, in := range prog {
		out[i] = [4]uint32{uint32(in.Op), uint32(in.Jt), uint32(in.Jf), in.K}
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// flushEvery bounds how long a captured frame waits in the output buffer.
const flushEvery = 10 * time.Millisecond

// clockEvery is how many frames may pass between two readings of the
// clock while frames keep coming (the first frame after a flush reads it).
const clockEvery = 32

// idleWake is how often an idle capture looks for a statistics request.
const idleWake = 100 * time.Millisecond

// runCapture captures until standard input ends or a signal comes, writing
// the stream of internal/capture's HelperWriter on standard output. An open
// failure is written in the stream too (the caller reads only that).
func runCapture(o capture.LiveOptions) error {
	w := capture.NewHelperWriter(os.Stdout)
	l, err := libpcap.OpenLive(o)
	if err != nil {
		w.Error(err)
		w.Flush()
		os.Exit(2)
	}
	defer l.Close()
	statsWanted := make(chan struct{}, 1)
	go func() {
		// Each 's' asks for the counters; the end of the input stops.
		var b [64]byte
		for {
			n, err := os.Stdin.Read(b[:])
			for _, c := range b[:n] {
				if c == capture.HelperStatsRequest {
					select {
					case statsWanted <- struct{}{}:
					default:
					}
				}
			}
			if err != nil {
				l.Stop()
				return
			}
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		l.Stop()
	}()

	w.Open(capture.HelperOpen{Proto: capture.HelperProto, LinkType: l.LinkType(), SnapLen: l.SnapLen(), Nano: l.Nanosecond()})
	if err := w.Flush(); err != nil {
		return err
	}
	// The clock is read when the capture goes idle, every clockEvery
	// frames, and when a frame's capture time says the flush is due: not
	// for every frame, where two readings were a tenth of the helper's time
	// on a busy link (this hypervisor's clock is slow to read).
	lastFlush := time.Now()
	pending := 0 // frames written since the last flush
	for {
		deadline := lastFlush.Add(idleWake)
		if pending > 0 {
			deadline = lastFlush.Add(flushEvery)
		}
		st := l.Await(deadline)
		if st == capture.ReadDone {
			break
		}
		due := st == capture.ReadIdle
		if st == capture.ReadFrame {
			fr := l.Frame()
			if err := w.Frame(fr); err != nil {
				return nil // the reader went away
			}
			pending++
			due = pending%clockEvery == 1 || fr.Time-lastFlush.UnixNano() >= int64(flushEvery)
		}
		select {
		case <-statsWanted:
			// The counters follow the frames read so far in the stream, so
			// that they count at least those.
			rec, drop, ifDrop, err := l.Stats()
			if err != nil {
				w.Error(err)
				w.Flush()
				return nil
			}
			w.Stats(rec, drop, ifDrop, false)
			w.Flush()
			lastFlush, pending = time.Now(), 0
		default:
		}
		if !due {
			continue
		}
		if now := time.Now(); st == capture.ReadIdle || now.Sub(lastFlush) >= flushEvery {
			if err := w.Flush(); err != nil {
				return nil
			}
			lastFlush, pending = now, 0
		}
	}
	readErr := l.Err()
	l.Close()
	if readErr != nil {
		w.Error(readErr)
	}
	if rec, drop, ifDrop, err := l.Stats(); err == nil {
		w.Stats(rec, drop, ifDrop, true)
	} else if readErr == nil {
		w.Error(err)
	}
	w.Flush()
	return nil
}
