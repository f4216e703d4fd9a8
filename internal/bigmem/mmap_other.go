//go:build !linux

package bigmem

func mapAnon(int) ([]byte, bool) { return nil, false }

func remap([]byte, int) ([]byte, bool) { return nil, false }

func reserveAnon(int, bool) ([]byte, bool) { return nil, false }

func unmapRaw([]byte) {}

func populate([]byte, int, int) {}

func unmap([]byte) {}

// canAdviseHuge tells whether adviseHuge can work here.
const canAdviseHuge = false

func adviseHuge([]byte) bool { return false }
