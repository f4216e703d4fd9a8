// Package fixhash holds the fixed (seedless) 64-bit mixing that the analysis
// hashes with where the result must not change between runs or workers:
// sharding connections, the flow and tomb tables (which tombs a full table
// gives up shows in the report), and distinct-address counts.
package fixhash

// Mix64 is SplitMix64's finaliser: a bijection of 64-bit values whose output
// bits each depend on every input bit.
func Mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
