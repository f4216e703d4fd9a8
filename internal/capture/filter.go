package capture

import "errors"

// ErrNoFilterSupport is returned by CompileFilter in binaries built without cgo.
var ErrNoFilterSupport = errors.New("BPF filters need libpcap: this binary was built without cgo (CGO_ENABLED=0)")

// dltForLinkType maps a LINKTYPE_* value to the DLT_* value libpcap's compiler
// expects; they differ for a few historical types.
func dltForLinkType(lt uint16) int {
	switch lt {
	case LinkTypeRaw, LinkTypeRaw14:
		return int(LinkTypeRaw12)
	}
	return int(lt)
}
