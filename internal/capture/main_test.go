package capture

import (
	"os"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture/capturetest"
)

// helperSkip says why the capture helper is missing, when it is.
var helperSkip string

func TestMain(m *testing.M) {
	var cleanup func()
	helperSkip, cleanup = capturetest.Setup()
	code := m.Run()
	cleanup()
	os.Exit(code)
}
