package gemm

import (
	"math"
	"testing"
)

// checkTile verifies one call of a generated tile kernel: got must hold
// alpha*op(A)*B + beta*c0 in its first nr columns of each of rows rows
// (A read as mode 'R', row-major with stride sa, or 'P', k-major with
// stride sa; B k-major with stride sb), and c0 unchanged in every other
// column up to ldc, so a kernel that writes outside its tile fails.
func checkTile(t *testing.T, label string, mode byte, rows, nr, k int, a []float32, sa int, b []float32, sb int, c0, got []float32, ldc int, alpha, beta float32) {
	t.Helper()
	for i := 0; i < rows; i++ {
		for j := 0; j < ldc && i*ldc+j < len(got); j++ {
			g := got[i*ldc+j]
			if j >= nr {
				if math.Float32bits(g) != math.Float32bits(c0[i*ldc+j]) {
					t.Fatalf("%s: wrote C[%d,%d] outside the tile", label, i, j)
				}
				continue
			}
			var s, mag float64
			for p := 0; p < k; p++ {
				var av float32
				if mode == 'R' {
					av = a[i*sa+p]
				} else {
					av = a[i+p*sa]
				}
				s += float64(av) * float64(b[p*sb+j])
				mag += math.Abs(float64(av) * float64(b[p*sb+j]))
			}
			want := float64(alpha) * s
			mag *= math.Abs(float64(alpha))
			if beta != 0 {
				want += float64(beta) * float64(c0[i*ldc+j])
				mag += math.Abs(float64(beta) * float64(c0[i*ldc+j]))
			}
			if !closeEnough(float64(g), want, mag, k) {
				t.Fatalf("%s: C[%d,%d] = %v, want %v", label, i, j, g, want)
			}
		}
	}
}
