package main

import (
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	for _, closing := range []string{"server", "client", "reset"} {
		n, err := run("127.0.0.1:0", 200*time.Millisecond, 2, 100, closing)
		if err != nil || n == 0 {
			t.Fatalf("-close %s: %d connections, %v", closing, n, err)
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
