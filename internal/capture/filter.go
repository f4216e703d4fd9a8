package capture

import "errors"

// ErrNoFilterSupport is returned by CompileFilter when the capture helper,
// which compiles filters with libpcap, cannot be found.
var ErrNoFilterSupport = errors.New("BPF filters need libpcap, through the capture helper " + HelperName +
	", which is neither next to this binary nor in PATH (install it with go install ./cmd/" + HelperName + ", or set " + HelperEnv + " to its path)")
