package gemm

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convkit/convkit/internal/shape"
	"github.com/convkit/convkit/internal/shape/shapetest"
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

// FuzzSgemmArgs throws sizes and leading dimensions at Sgemm from
// shapetest.Wide, so that m, n, k, lda, ldb and ldc reach 0, math.MaxInt,
// 1<<62, math.MaxInt/2 and 1<<32 (and their neighbours, and negatives)
// beside slices of up to 255 elements. An argument list that the exact
// BLAS rules reject must panic with gemm's *shape.Error in this
// goroutine; one they accept must compute C = alpha*op(A)*op(B) + beta*C
// like the float64 oracle (the rules bound every offset it forms).
func FuzzSgemmArgs(f *testing.F) {
	// In Wide's encoding n<<3+7 is n, 4<<3+3 is MaxInt/2, 4<<3+2 is 1<<62
	// and 4<<3+1 is MaxInt: a valid 4 x 4 x 4 and the issue-7 probes.
	const four, half, p62, maxInt = 4<<3 + 7, 4<<3 + 3, 4<<3 + 2, 4<<3 + 1
	f.Add(false, false, int64(four), int64(four), int64(four), int64(four), int64(four), int64(four), uint8(16), uint8(16), uint8(16), uint8(0))
	f.Add(false, false, int64(half), int64(four), int64(four), int64(four), int64(four), int64(four), uint8(16), uint8(16), uint8(16), uint8(2))
	f.Add(false, false, int64(four), int64(four), int64(four), int64(half), int64(four), int64(four), uint8(16), uint8(16), uint8(16), uint8(1))
	f.Add(false, false, int64(four), int64(four), int64(four), int64(p62), int64(four), int64(four), uint8(16), uint8(16), uint8(16), uint8(0))
	f.Add(true, false, int64(1<<3+7), int64(4<<3+7), int64(1<<3+7), int64(maxInt), int64(four), int64(maxInt), uint8(4), uint8(4), uint8(4), uint8(2))
	f.Fuzz(func(t *testing.T, transA, transB bool, m64, n64, k64, lda64, ldb64, ldc64 int64, la, lb, lc, threads uint8) {
		m, n, k := shapetest.Wide(m64), shapetest.Wide(n64), shapetest.Wide(k64)
		lda, ldb, ldc := shapetest.Wide(lda64), shapetest.Wide(ldb64), shapetest.Wide(ldc64)
		ra, ca, rb, cb := m, k, k, n
		if transA {
			ra, ca = k, m
		}
		if transB {
			rb, cb = n, k
		}
		valid := m >= 0 && n >= 0 && k >= 0 &&
			shapetest.MatrixValid(ra, ca, lda, int(la)) &&
			shapetest.MatrixValid(rb, cb, ldb, int(lb)) &&
			shapetest.MatrixValid(m, n, ldc, int(lc))
		r := rand.New(rand.NewPCG(uint64(m64), uint64(k64)))
		a, b, c := make([]float32, la), make([]float32, lb), make([]float32, lc)
		fillRand(r, a)
		fillRand(r, b)
		fillRand(r, c)
		c0 := append([]float32(nil), c...)
		ctx := NewContext(int(threads%3) + 1)
		p := argPanic(func() { ctx.Sgemm(transA, transB, m, n, k, 1.25, a, lda, b, ldb, -0.5, c, ldc) })
		if !valid {
			var e *shape.Error
			if err, _ := p.(error); !errors.As(err, &e) || e.Op != "gemm" {
				t.Fatalf("m, n, k = %d, %d, %d, lda, ldb, ldc = %d, %d, %d, lengths %d, %d, %d: panic %v (%T), want a gemm *shape.Error",
					m, n, k, lda, ldb, ldc, la, lb, lc, p, p)
			}
			return
		}
		if p != nil {
			t.Fatalf("valid m, n, k = %d, %d, %d, lda, ldb, ldc = %d, %d, %d, lengths %d, %d, %d: panic %v", m, n, k, lda, ldb, ldc, la, lb, lc, p)
		}
		if m == 0 || n == 0 {
			return // nothing to compute, and m or n may be huge
		}
		want, mag := refGemm(transA, transB, m, n, k, 1.25, a, lda, b, ldb, -0.5, c0, ldc)
		tol := 2e-7 * float64(k+4)
		for i := range m {
			for j := range n {
				if g := float64(c[i*ldc+j]); !(math.Abs(g-want[i*n+j]) <= tol*mag[i*n+j]+1e-30) {
					t.Fatalf("m, n, k = %d, %d, %d, lda, ldb, ldc = %d, %d, %d: C[%d,%d] = %v, want %v", m, n, k, lda, ldb, ldc, i, j, g, want[i*n+j])
				}
			}
		}
	})
}
