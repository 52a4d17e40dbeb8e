package gemm

import (
	"math"
	"testing"
)

// FuzzSgemm checks random shapes, transposes, scalars, paddings and thread
// counts against the float64 oracle on the bound path.
func FuzzSgemm(f *testing.F) {
	f.Add(false, false, uint8(7), uint8(17), uint8(5), float32(1), float32(0), uint8(0), uint8(1))
	f.Add(true, true, uint8(33), uint8(1), uint8(64), float32(-0.5), float32(2), uint8(3), uint8(2))
	f.Fuzz(func(t *testing.T, transA, transB bool, m, n, k uint8, alpha, beta float32, pad, threads uint8) {
		if math.IsNaN(float64(alpha)) || math.IsInf(float64(alpha), 0) || math.Abs(float64(alpha)) > 1e6 ||
			math.IsNaN(float64(beta)) || math.IsInf(float64(beta), 0) || math.Abs(float64(beta)) > 1e6 {
			t.Skip("scalars outside the oracle's error model")
		}
		tc := gemmCase{transA: transA, transB: transB, m: int(m % 100), n: int(n % 100), k: int(k % 100), alpha: alpha, beta: beta, pad: int(pad % 5)}
		ctx := NewContext(int(threads%3) + 1)
		check(t, tc, heapAlloc, func(a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
			ctx.Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
		})
	})
}
