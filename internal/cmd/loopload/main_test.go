package main

import (
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	n, err := run("127.0.0.1:0", 200*time.Millisecond, 2, 100)
	if err != nil || n == 0 {
		t.Fatalf("%d connections, %v", n, err)
	}
	for _, bad := range []struct {
		addr    string
		d       time.Duration
		clients int
	}{
		{"192.0.2.1:80", time.Second, 1}, // not loopback
		{"127.0.0.1:0", 2 * time.Minute, 1},
		{"127.0.0.1:0", time.Second, 0},
		{"nonsense", time.Second, 1},
	} {
		if _, err := run(bad.addr, bad.d, bad.clients, 10); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
