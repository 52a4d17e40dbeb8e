package gemm

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/convkit/convkit/kernels"
)

// determinismShapes exercise every way a call splits over threads (each
// is past parallelMinWork): the axpy forms split over k chunks (the
// issue's 1 x 100 x 9000 among them) and over their output, summed in k
// chunks; the dot forms split over rows and columns at counts that are
// not multiples of four; and tile products split by rows (tall) and by
// columns (wide), with k long enough for several kc blocks, A read in
// place where the per-thread block would have chosen another kc, the
// narrow family and the swapped product.
var determinismShapes = [][3]int{
	{1, 100, 9000}, {100, 1, 9001}, {3, 100, 3001}, {100, 3, 3000},
	{1, 4100, 700}, {4100, 2, 700}, {1030, 1, 900}, {1, 1030, 900},
	{130, 600, 700}, {40, 2000, 300}, {2000, 40, 300}, {1500, 8, 200}, {64, 1000, 500}, {1000, 5, 600},
}

// TestSgemmDeterministic checks that every path gives bitwise the same C
// on 1, 2 and 3 threads, and that 2 and 3 threads did split the work: each
// tile family in each operand form, the portable path over each ISA's
// micro-kernels, and each matrix-vector form forced on the shapes that
// admit it, under every ISA of kernels.Available().
func TestSgemmDeterministic(t *testing.T) {
	t.Parallel()
	shapes := determinismShapes
	if testing.Short() {
		shapes = shapes[:9]
	}
	paths(t, func(t *testing.T, tp testPath) { checkDeterministic(t, tp, shapes) })
	gemvPaths(t, gemvModes, func(t *testing.T, tp testPath) { checkDeterministic(t, tp, shapes) })
}

func checkDeterministic(t *testing.T, tp testPath, shapes [][3]int) {
	ctxs := []*Context{tp.context(1), tp.context(2), tp.context(3)}
	for _, sz := range shapes {
		for _, tr := range [4][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			tc := gemmCase{transA: tr[0], transB: tr[1], m: sz[0], n: sz[1], k: sz[2], alpha: 1.25, beta: 0.5, pad: 1}
			if f := tp.force.gemv; f != gemvNone && !gemvAdmits(f, tc.transA, tc.transB, tc.m, tc.n) {
				continue // the tile paths' subtests run it
			}
			ra, ca, rb, cb, lda, ldb, ldc := tc.dims()
			a := make([]float32, matLen(ra, ca, lda))
			b := make([]float32, matLen(rb, cb, ldb))
			c0 := make([]float32, matLen(tc.m, tc.n, ldc))
			r := rand.New(rand.NewPCG(uint64(tc.m), uint64(tc.n*tc.k)))
			fillRand(r, a)
			fillRand(r, b)
			fillRand(r, c0)
			var want []float32
			for i, ctx := range ctxs {
				c := append([]float32(nil), c0...)
				tp.sgemm(t, ctx, tc)(a, lda, b, ldb, c, ldc)
				if i == 0 {
					want = c
					continue
				}
				if s := ctx.last.split; s.jobs < 2 {
					t.Fatalf("%v on %d threads: not split (%+v)", tc, ctx.Threads(), s)
				}
				for x := range c {
					if math.Float32bits(c[x]) != math.Float32bits(want[x]) {
						t.Fatalf("%v: C[%d] = %v on %d threads, %v on 1 (%v, split %+v)", tc, x, c[x], ctx.Threads(), want[x], ctx.last.path, ctx.last.split)
					}
				}
			}
		}
	}
}

// TestSgemmAddressIndependent checks that where the operands sit in memory
// never changes the bits of C: a B whose rows start off 64-byte lines is
// packed instead of read in place (startsOnLine), but must be summed in the
// same order. Each product runs with its operands at an aligned address
// and one float past it, on every ISA's default tiles, on 1 and 2 threads.
// The conv-shaped product is the one that showed the difference (its kc
// had followed B's packing: 92,031 of 100,352 outputs differed).
func TestSgemmAddressIndependent(t *testing.T) {
	t.Parallel()
	shapes := [][3]int{{32, 3136, 2048}, {64, 784, 1152}, {16, 1024, 1024}, {1, 1024, 2048}, {3, 1024, 1024}}
	if testing.Short() {
		shapes = shapes[1:]
	}
	for _, isa := range kernels.Available() {
		for _, threads := range []int{1, 2} {
			tab, err := kernels.TableFor(isa)
			if err != nil {
				t.Fatal(err)
			}
			ctx := NewContext(threads)
			ctx.force.sel = selectFor(isa, tab.Gemm, 0)
			for _, sz := range shapes {
				for _, transA := range []bool{false, true} {
					m, n, k := sz[0], sz[1], sz[2]
					lda := k
					if transA {
						lda = m
					}
					r := rand.New(rand.NewPCG(uint64(m), uint64(n)))
					a0, b0 := make([]float32, m*k), make([]float32, k*n)
					fillRand(r, a0)
					fillRand(r, b0)
					var want []float32
					for shift := 0; shift < 2; shift++ {
						a, b := alignedCopy(a0, shift), alignedCopy(b0, shift)
						c := make([]float32, m*n)
						ctx.Sgemm(transA, false, m, n, k, 1, a, lda, b, n, 0, c, n)
						if shift == 0 {
							want = c
							continue
						}
						for x := range c {
							if math.Float32bits(c[x]) != math.Float32bits(want[x]) {
								t.Fatalf("%s %d threads %dx%dx%d transA=%v: C[%d] = %v with the operands one float off 64-byte lines, %v on them (%+v)",
									isa, threads, m, n, k, transA, x, c[x], want[x], ctx.last.tiles)
							}
						}
					}
				}
			}
		}
	}
}

// alignedCopy returns a copy of x that starts shift floats past a 64-byte
// line.
func alignedCopy(x []float32, shift int) []float32 {
	buf := make([]float32, len(x)+16+shift)
	off := int((64 - uintptr(unsafe.Pointer(&buf[0]))%64) % 64 / 4)
	out := buf[off+shift : off+shift+len(x)]
	copy(out, x)
	return out
}
