package main

import (
	"testing"
	"time"
)

// TestRun runs each way of ending connections and checks that it is the one
// that happened: resets only with -close reset, clients closing first only
// with -close client.
func TestRun(t *testing.T) {
	for _, closing := range []string{"server", "client", "reset"} {
		res, err := run("127.0.0.1:0", 200*time.Millisecond, 2, 100, closing)
		if err != nil || res.conns == 0 {
			t.Fatalf("-close %s: %+v, %v", closing, res, err)
		}
		if (res.resets > 0) != (closing == "reset") || (res.clientFirst > 0) != (closing == "client") {
			t.Errorf("-close %s: %d connections, %d reset, %d closed first by the client", closing, res.conns, res.resets, res.clientFirst)
		}
	}
	for _, bad := range []struct {
		addr    string
		d       time.Duration
		clients int
		closing string
	}{
		{"192.0.2.1:80", time.Second, 1, "server"}, // not loopback
		{"127.0.0.1:0", 2 * time.Minute, 1, "server"},
		{"127.0.0.1:0", time.Second, 0, "server"},
		{"nonsense", time.Second, 1, "server"},
		{"127.0.0.1:0", time.Second, 1, "nobody"},
	} {
		if _, err := run(bad.addr, bad.d, bad.clients, 10, bad.closing); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
