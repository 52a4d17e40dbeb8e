// Package prng fills float32 slices with deterministic pseudo-random data
// for the tests and the benchmarks: the same seed gives the same values on
// every platform and Go version, which math/rand/v2 does not promise for
// its float generators. It is not for anything that needs statistical
// quality.
package prng

// Fill writes values in [-1, 1), none of them zero, into s, from a
// xorshift32 stream seeded by seed. Non-zero data means a kernel that
// ignores an operand, or an element of one, cannot pass by accident.
func Fill(s []float32, seed uint32) {
	x := seed*2654435761 + 1 // Knuth's multiplicative hash: nearby seeds give unrelated streams
	for i := range s {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		v := float32(x>>8)/float32(1<<24)*2 - 1
		if v == 0 {
			v = 0.5
		}
		s[i] = v
	}
}
