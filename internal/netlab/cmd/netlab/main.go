//go:build linux

// Command netlab runs one role of a netlab scenario in the current network
// namespace; scripts/netns-capture.sh starts each role with ip netns exec:
//
//	netlab forward SCENARIO   in the middle namespace: forward between mid-a and mid-b
//	netlab server SCENARIO    in the server namespace: set its sysctls, listen on 10.77.1.1 and serve
//	netlab client SCENARIO    in the client namespace: connect and run the client
//	netlab list               the scenarios
//
// forward and server run until SIGINT or SIGTERM (server also ends when its
// one connection is done) and print "ready" on standard output once working.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/netlab"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "netlab:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 1 && args[0] == "list" {
		for _, s := range netlab.Scenarios() {
			fmt.Printf("%-11s %s\n", s.Name, s.Doc)
		}
		return nil
	}
	if len(args) != 2 {
		return errors.New("usage: netlab forward|server|client SCENARIO, or netlab list")
	}
	sc, err := netlab.ScenarioByName(args[1])
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ready := func() { fmt.Println("ready") }
	switch args[0] {
	case "forward":
		return forward(ctx, sc, ready)
	case "server":
		// The namespace's sysctls the scenario needs (this process is in it).
		if err := netlab.ApplySysctls(sc.ServerSysctls); err != nil {
			return err
		}
		return netlab.ServeAlone(ctx, sc, fmt.Sprintf("%s:%d", netlab.ServerIP, sc.Port), ready)
	case "client":
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		addr := fmt.Sprintf("%s:%d", netlab.ServerIP, sc.Port)
		var d net.Dialer
		return sc.Client(ctx, func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp4", addr) })
	}
	return fmt.Errorf("unknown role %q: want forward, server or client", args[0])
}

// forward runs the scenario's forwarder between the middle namespace's two
// veth ends until ctx ends, then prints what it did.
func forward(ctx context.Context, sc netlab.Scenario, ready func()) error {
	a, err := netlab.OpenPacket(netlab.MidClient)
	if err != nil {
		return err
	}
	b, err := netlab.OpenPacket(netlab.MidServer)
	if err != nil {
		a.Close()
		return err
	}
	f, err := netlab.NewForwarder(a, b, sc.ToServer, sc.ToClient)
	if err != nil {
		return err
	}
	ready()
	<-ctx.Done()
	st := f.Stats()
	fmt.Fprintf(os.Stderr, "forwarder to server: %+v\nforwarder to client: %+v\n", st.ToServer, st.ToClient)
	return f.Close()
}
