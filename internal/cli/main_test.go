package cli

import (
	"os"
	"testing"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture/capturetest"
)

// helperSkip says why the capture helper is missing, when it is.
var helperSkip string

func TestMain(m *testing.M) { os.Exit(capturetest.Main(m, &helperSkip)) }
