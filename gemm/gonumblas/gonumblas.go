// Package gonumblas plugs convkit's SGEMM into gonum. Implementation is
// gonum's native BLAS (gonum.org/v1/gonum/blas/gonum) with Sgemm replaced
// by gemm.Sgemm, so that
//
//	blas32.Use(gonumblas.Implementation{})
//
// makes blas32.Gemm, and everything in gonum built on it, run convkit's
// kernels. Every other routine is gonum's own. It lives in its own package
// so that package gemm does not import gonum.
package gonumblas

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/convkit/convkit/gemm"
	"github.com/convkit/convkit/internal/shape"
)

// Implementation is gonum's BLAS with convkit's Sgemm.
type Implementation struct {
	gonum.Implementation
}

var _ blas.Float32 = Implementation{}

// gonum's panic messages (blas/gonum/errors.go), so that callers that
// recover them see the same values.
const (
	badTranspose = "blas: illegal transpose"
	mLT0         = "blas: m < 0"
	nLT0         = "blas: n < 0"
	kLT0         = "blas: k < 0"
	badLdA       = "blas: bad leading dimension of A"
	badLdB       = "blas: bad leading dimension of B"
	badLdC       = "blas: bad leading dimension of C"
	shortA       = "blas: insufficient length of a"
	shortB       = "blas: insufficient length of b"
	shortC       = "blas: insufficient length of c"
)

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices
// (gonum's convention), op(X) = X or X^T (blas.ConjTrans is Trans for real
// matrices). Arguments are checked in gonum's order with gonum's panics;
// the product runs on gemm.Sgemm.
func (Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	aTrans, ok := trans(tA)
	if !ok {
		panic(badTranspose)
	}
	bTrans, ok := trans(tB)
	if !ok {
		panic(badTranspose)
	}
	switch {
	case m < 0:
		panic(mLT0)
	case n < 0:
		panic(nLT0)
	case k < 0:
		panic(kLT0)
	}
	colsA, colsB := k, n
	if aTrans {
		colsA = m
	}
	if bTrans {
		colsB = k
	}
	switch {
	case lda < max(1, colsA):
		panic(badLdA)
	case ldb < max(1, colsB):
		panic(badLdB)
	case ldc < max(1, n):
		panic(badLdC)
	}
	if m == 0 || n == 0 {
		return
	}
	rowsA, rowsB := m, k
	if aTrans {
		rowsA = k
	}
	if bTrans {
		rowsB = n
	}
	switch {
	case short(a, rowsA, colsA, lda):
		panic(shortA)
	case short(b, rowsB, colsB, ldb):
		panic(shortB)
	case short(c, m, n, ldc):
		panic(shortC)
	}
	if (alpha == 0 || k == 0) && beta == 1 {
		return
	}
	gemm.Sgemm(aTrans, bTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// short reports whether x is shorter than gonum asks for a rows x cols
// matrix with leading dimension ld: (rows-1)*ld + cols elements when
// rows >= 1, even when cols is 0 (BLAS asks for none then, gonum for the
// rows' starts). Unlike gonum's own check it cannot overflow: a need
// beyond math.MaxInt is short, where gonum's wraps and may pass.
func short(x []float32, rows, cols, ld int) bool {
	if rows == 0 {
		return false
	}
	last, ok := shape.Mul(rows-1, ld)
	if !ok {
		return true
	}
	need, ok := shape.Add(last, cols)
	return !ok || len(x) < need
}

func trans(t blas.Transpose) (transposed, ok bool) {
	switch t {
	case blas.NoTrans:
		return false, true
	case blas.Trans, blas.ConjTrans:
		return true, true
	}
	return false, false
}
