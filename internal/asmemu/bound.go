package asmemu

// Gamma is the error bound γ_n = n·u/(1−n·u) of float32 arithmetic
// (u = 2^-24): a sum of products evaluated in float32 with n roundings on
// any path from input to result, in any order, fused or not, is within
// γ_n·Σ|term| of the exact value (Higham, Accuracy and Stability of
// Numerical Algorithms, 3.1). Tests comparing an interpreted kernel with
// a twin that sums in another order allow twice that, one bound each.
func Gamma(n int) float64 {
	const u = 0x1p-24
	return float64(n) * u / (1 - float64(n)*u)
}
