package gemm

import (
	"fmt"
	"runtime"
)

// Context runs SGEMMs with a fixed thread count and a workspace that is
// sized on first use and reused, so that steady-state calls allocate
// nothing. A Context must not be used by two goroutines at once.
type Context struct {
	threads int
}

// NewContext returns a Context that runs on threads goroutines
// (threads <= 0 means runtime.GOMAXPROCS(0)).
func NewContext(threads int) *Context {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return &Context{threads: threads}
}

// Threads returns the Context's thread count.
func (ctx *Context) Threads() int { return ctx.threads }

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major float32
// matrices, where op(X) is X or its transpose, op(A) is m x k, op(B) is
// k x n and C is m x n. As in BLAS, beta == 0 means C is not read (NaN in C
// is overwritten) and alpha == 0 means A and B are not read.
// Invalid arguments panic with a message naming the parameter.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	NewContext(0).Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Sgemm is the package-level Sgemm on this Context's threads and workspace.
func (ctx *Context) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	reference(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// checkArgs panics, naming the parameter and its value, on any argument
// that would make the kernels read or write outside a slice.
func checkArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 {
		panic(fmt.Sprintf("gemm: m = %d < 0", m))
	}
	if n < 0 {
		panic(fmt.Sprintf("gemm: n = %d < 0", n))
	}
	if k < 0 {
		panic(fmt.Sprintf("gemm: k = %d < 0", k))
	}
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	checkMatrix("a", rowsA, colsA, a, lda)
	checkMatrix("b", rowsB, colsB, b, ldb)
	checkMatrix("c", m, n, c, ldc)
}

func checkMatrix(name string, rows, cols int, x []float32, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("gemm: ld%s = %d < max(1, %d columns)", name, ld, cols))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("gemm: len(%s) = %d, need %d for %d x %d with ld%s = %d", name, len(x), need, rows, cols, name, ld))
	}
}

// reference is the straightforward triple loop, accumulating in float32;
// it is correct for every argument checkArgs accepts.
func reference(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			if alpha != 0 {
				for p := 0; p < k; p++ {
					av := a[i*lda+p]
					if transA {
						av = a[p*lda+i]
					}
					bv := b[p*ldb+j]
					if transB {
						bv = b[j*ldb+p]
					}
					s += av * bv
				}
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}
