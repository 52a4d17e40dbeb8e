//go:build unix

package gemm

import (
	"testing"

	"github.com/convkit/convkit/internal/guardpage"
)

// TestSgemmGuardPages runs whole products on exact-size matrices that end
// (then start) at a PROT_NONE page, on every path and operand form and
// every matrix-vector form: any read or write outside A, B or C faults.
func TestSgemmGuardPages(t *testing.T) {
	t.Parallel()
	shapes := [][3]int{{1, 1, 1}, {7, 17, 5}, {13, 33, 9}, {61, 29, 31}, {5, 70, 130}, {130, 9, 3}, {1, 40, 33}, {40, 1, 33}, {1, 1, 20}}
	for _, end := range []bool{true, false} {
		alloc := func(n int) ([]float32, func()) {
			if end {
				s, b := guardpage.End(n)
				return s, b.Free
			}
			s, b := guardpage.Start(n)
			return s, b.Free
		}
		run := func(t *testing.T, tp testPath) {
			for _, threads := range []int{1, 2} {
				ctx := tp.context(threads)
				for _, sz := range shapes {
					for _, tr := range [4][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
						tc := gemmCase{transA: tr[0], transB: tr[1], m: sz[0], n: sz[1], k: sz[2], alpha: 1, beta: float32(sz[0] % 2)}
						check(t, tc, alloc, tp.sgemm(t, ctx, tc))
					}
				}
			}
		}
		paths(t, run)
		gemvPaths(t, gemvModes, run)
	}
}
