package capture

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestFilterWithoutHelper(t *testing.T) {
	t.Setenv(HelperEnv, filepath.Join(t.TempDir(), "missing"))
	_, err := CompileFilter("tcp")
	if !errors.Is(err, ErrNoFilterSupport) || !strings.Contains(err.Error(), HelperName) {
		t.Errorf("err = %v", err)
	}
}
