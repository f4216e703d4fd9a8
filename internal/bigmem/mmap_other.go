//go:build !linux

package bigmem

func mapAnon(int) ([]byte, bool) { return nil, false }

func unmap([]byte) {}

func adviseHuge([]byte) bool { return false }
