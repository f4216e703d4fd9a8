//go:build !cgo

// Command tcpflow-analyze-capture is tcpflow-analyze's capture helper, which
// links libpcap; built without cgo it can only say so.
package main

import (
	"encoding/json"
	"errors"
	"os"

	"github.com/tcpflow-analyze/tcpflow-analyze/internal/capture"
)

func main() {
	err := errors.New(capture.HelperName + " needs libpcap: it was built without cgo (CGO_ENABLED=0)")
	json.NewEncoder(os.Stderr).Encode(capture.NewHelperError(err))
	os.Exit(2)
}
