// Command loopload makes a busy loopback of real kernel TCP: a server on a
// loopback address that answers each connection's request with a response,
// and clients that open connections to it back to back for a bounded time.
// -close says who ends each connection: the server (it closes after its
// response), the client (it closes once it has read the response, and the
// server after it), or a reset (the server aborts with RST). It prints how
// many connections completed.
//
//	go run ./internal/cmd/loopload -duration 4s -clients 32
//
// It sends traffic to the loopback address it listens on, nowhere else.
// scripts/live-bench.sh runs it under tcpflow-analyze live, and
// scripts/kernel-capture.sh under tcpdump.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "loopback address and port to serve and connect to")
	duration := flag.Duration("duration", 4*time.Second, "how long the clients connect (at most 1m)")
	clients := flag.Int("clients", 32, "clients connecting back to back (1-256)")
	resp := flag.Int("response", 1000, "bytes of each response (at most 1 MiB)")
	closing := flag.String("close", "server", "who ends each connection: server (closes after its response), client (closes once it has read it; the server closes after), or reset (the server aborts with RST after its response)")
	flag.Parse()
	res, err := run(*addr, *duration, *clients, *resp, *closing)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loopload:", err)
		os.Exit(2)
	}
	fmt.Printf("connections %d\n", res.conns)
}

// result is what a run did.
type result struct {
	conns       int64 // connections whose response came whole
	resets      int64 // of which the client's read ended with a reset
	clientFirst int64 // connections whose client closed before the server
}

// run serves on addr and has clients connect to it for d.
func run(addr string, d time.Duration, clients, resp int, closing string) (result, error) {
	ap, err := netip.ParseAddrPort(addr)
	switch {
	case err != nil:
		return result{}, err
	case !ap.Addr().IsLoopback():
		return result{}, errors.New(addr + " is not a loopback address")
	case d <= 0 || d > time.Minute:
		return result{}, errors.New("the duration must be above 0 and at most 1m")
	case clients < 1 || clients > 256:
		return result{}, errors.New("clients must be 1-256")
	case resp < 0 || resp > 1<<20:
		return result{}, errors.New("the response must be 0 to 1 MiB")
	case closing != "server" && closing != "client" && closing != "reset":
		return result{}, errors.New("-close must be server, client or reset")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return result{}, err
	}
	defer ln.Close()
	var n, resets, clientFirst atomic.Int64
	addr = ln.Addr().String() // the port chosen for :0
	body := make([]byte, resp)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				buf := make([]byte, 512)
				if _, err := c.Read(buf); err != nil {
					return
				}
				if _, err := c.Write(body); err != nil {
					return
				}
				switch closing {
				case "client":
					// Wait for the client's FIN, then close.
					c.SetReadDeadline(time.Now().Add(5 * time.Second))
					if _, err := io.Copy(io.Discard, c); err == nil {
						clientFirst.Add(1)
					}
				case "reset":
					if tc, ok := c.(*net.TCPConn); ok {
						tc.SetLinger(0)
					}
				}
			}(c)
		}
	}()
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					continue
				}
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: loopload\r\n\r\n")); err == nil {
					var got int64
					var err error
					if closing == "client" {
						got, err = io.CopyN(io.Discard, c, int64(resp))
					} else {
						got, err = io.Copy(io.Discard, c)
					}
					// With -close reset the read ends in an error after
					// the whole response: it counts when every byte came.
					if err == nil || got == int64(resp) {
						n.Add(1)
					}
					if errors.Is(err, syscall.ECONNRESET) {
						resets.Add(1)
					}
				}
				c.Close()
			}
		}()
	}
	wg.Wait()
	return result{conns: n.Load(), resets: resets.Load(), clientFirst: clientFirst.Load()}, nil
}
