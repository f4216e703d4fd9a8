//go:build !cgo

package capture

import (
	"errors"
	"strings"
	"testing"
)

func TestFilterNoCgo(t *testing.T) {
	_, err := CompileFilter("tcp")
	if !errors.Is(err, ErrNoFilterSupport) || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Errorf("err = %v", err)
	}
}
