//go:build unix

// The guard pages this test relies on exist on unix only (internal/guardpage).

package kernels_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/convkit/convkit/internal/guardpage"
	"github.com/convkit/convkit/internal/prng"
	"github.com/convkit/convkit/kernels"
)

// microKs are the depths of the micro-kernel test: none, the first few
// (loop entry and exit), a prime, a power of two, and long enough for
// rounding to accumulate.
var microKs = []int{0, 1, 2, 3, 7, 16, 31, 100}

// microScalars are the alpha/beta cases. With nanC the whole C buffer is
// NaN before the call: beta == 0 (of either sign) promises C is not read,
// so no NaN may reach the tile.
var microScalars = []struct {
	alpha, beta float32
	nanC        bool
}{
	{1, 0, true},
	{0.75, 0, true},
	{2, float32(math.Copysign(0, -1)), true},
	{1, 1, false},
	{-0.5, 2, false},
	{0, 1.5, false},
	{1.25, -0.5, false},
}

// TestGemmMicro runs every micro-kernel this host can run (each ISA in
// Available whose table has one) against kernels.MicroGeneric with that
// kernel's own MR and NR, on slices placed flush against PROT_NONE pages, so
// that touching one element outside a, b or the C tile faults, and checks
// that C's elements between rows (ldc > NR) are left alone.
func TestGemmMicro(t *testing.T) {
	for _, isa := range kernels.Available() {
		tab, err := kernels.TableFor(isa)
		if err != nil {
			t.Fatalf("TableFor(%v): %v", isa, err)
		}
		g := tab.Gemm
		if g.Micro == nil {
			continue
		}
		t.Run(isa.String(), func(t *testing.T) {
			if g.MR < 1 || g.NR < 1 || g.MR > 32 || g.NR > 32 {
				t.Fatalf("tile %dx%d outside 1..32 (MicroGeneric's limit)", g.MR, g.NR)
			}
			seed := uint32(1)
			for _, k := range microKs {
				for _, s := range microScalars {
					for _, ldc := range []int{g.NR, g.NR + 1, 2*g.NR + 3} {
						for _, end := range []bool{true, false} {
							what := fmt.Sprintf("%dx%d k=%d alpha=%v beta=%v nanC=%v ldc=%d end=%v",
								g.MR, g.NR, k, s.alpha, s.beta, s.nanC, ldc, end)
							checkMicro(t, g, k, ldc, s.alpha, s.beta, s.nanC, end, seed, what)
							seed += 3
						}
					}
				}
			}
		})
	}
}

func checkMicro(t *testing.T, g kernels.GemmKernels, k, ldc int, alpha, beta float32, nanC, end bool, seed uint32, what string) {
	t.Helper()
	alloc := guardpage.Start
	if end {
		alloc = guardpage.End
	}
	mr, nr := g.MR, g.NR
	a, ba := alloc(k * mr)
	defer ba.Free()
	b, bb := alloc(k * nr)
	defer bb.Free()
	c, bc := alloc((mr-1)*ldc + nr)
	defer bc.Free()
	prng.Fill(a, seed)
	prng.Fill(b, seed+1)
	prng.Fill(c, seed+2)
	if nanC {
		for i := range c {
			c[i] = float32(math.NaN())
		}
	}
	c0 := append([]float32(nil), c...)
	want := append([]float32(nil), c...)
	kernels.MicroGeneric(mr, nr, k, a, b, want, ldc, alpha, beta)

	g.Micro(k, a, b, c, ldc, alpha, beta)

	bad := 0
	for idx := range c {
		i, j := idx/ldc, idx%ldc
		if j >= nr {
			if math.Float32bits(c[idx]) != math.Float32bits(c0[idx]) {
				t.Errorf("%s: c[%d] (row %d, column %d, outside the tile) changed from %v to %v", what, idx, i, j, c0[idx], c[idx])
				bad++
			}
			continue
		}
		// The kernels may fuse products into sums and add in another
		// order; the difference from the oracle is bounded by a few
		// roundings per term of the largest magnitude in play.
		var mag float64
		for p := 0; p < k; p++ {
			mag += math.Abs(float64(a[p*mr+i]) * float64(b[p*nr+j]))
		}
		mag *= math.Abs(float64(alpha))
		if beta != 0 {
			mag += math.Abs(float64(beta) * float64(c0[idx]))
		}
		tol := 2 * float64(k+3) * 0x1p-24 * mag
		if d := math.Abs(float64(c[idx]) - float64(want[idx])); !(d <= tol) {
			if bad < 5 {
				t.Errorf("%s: c[%d][%d] = %v, want %v (diff %.3g > tol %.3g)", what, i, j, c[idx], want[idx], d, tol)
			}
			bad++
		}
	}
	if bad >= 5 {
		t.Errorf("%s: %d elements wrong", what, bad)
	}
}

// BenchmarkGemmMicro times one micro-kernel call per ISA over a deep k (the
// packed panels stay in L1/L2), in GFLOPS of 2*MR*NR*k.
func BenchmarkGemmMicro(b *testing.B) {
	const k = 256
	for _, isa := range kernels.Available() {
		tab, _ := kernels.TableFor(isa)
		g := tab.Gemm
		if g.Micro == nil {
			continue
		}
		b.Run(isa.String(), func(b *testing.B) {
			ap := make([]float32, k*g.MR)
			bp := make([]float32, k*g.NR)
			c := make([]float32, g.MR*g.NR)
			prng.Fill(ap, 1)
			prng.Fill(bp, 2)
			for b.Loop() {
				g.Micro(k, ap, bp, c, g.NR, 1, 1)
			}
			b.ReportMetric(2*float64(g.MR*g.NR*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}
