package kernels

import "math"

// FMA32 returns x*y+z rounded once to float32, as VFMADD231PS does. The
// product of two float32 is exact in float64; the sum is rounded to
// float64 by round-to-odd (TwoSum gives its exact error), which rounds
// correctly on to float32 (53 >= 24+2 bits), where rounding it to nearest
// twice could not.
func FMA32(x, y, z float32) float32 {
	p, zz := float64(x)*float64(y), float64(z)
	s := p + zz
	if math.IsInf(s, 0) || math.IsNaN(s) {
		return float32(s)
	}
	bv := s - p
	e := (p - (s - bv)) + (zz - bv) // s + e == p + zz exactly
	if e != 0 && math.Float64bits(s)&1 == 0 {
		s = math.Nextafter(s, math.Copysign(math.Inf(1), e))
	}
	return float32(s)
}
