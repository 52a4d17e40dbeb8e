package gonumblas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/gonum"
)

func general(r *rand.Rand, rows, cols, pad int) blas32.General {
	g := blas32.General{Rows: rows, Cols: cols, Stride: max(1, cols+pad)}
	g.Data = make([]float32, max(0, (rows-1)*g.Stride+cols))
	if rows == 0 {
		g.Data = nil
	}
	for i := range g.Data {
		g.Data[i] = r.Float32()*2 - 1
	}
	return g
}

// TestGemmThroughBlas32 runs blas32.Gemm with this package in use and
// compares against gonum's own implementation.
func TestGemmThroughBlas32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	defer blas32.Use(gonum.Implementation{})
	for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans, blas.ConjTrans} {
		for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans, blas.ConjTrans} {
			for _, sz := range [][3]int{{1, 1, 1}, {7, 5, 3}, {33, 17, 65}, {70, 90, 20}, {0, 3, 3}, {4, 4, 0}} {
				m, n, k := sz[0], sz[1], sz[2]
				ra, ca := m, k
				if tA != blas.NoTrans {
					ra, ca = k, m
				}
				rb, cb := k, n
				if tB != blas.NoTrans {
					rb, cb = n, k
				}
				a, b := general(r, ra, ca, 1), general(r, rb, cb, 2)
				c := general(r, m, n, 3)
				want := blas32.General{Rows: m, Cols: n, Stride: c.Stride, Data: append([]float32(nil), c.Data...)}
				blas32.Use(gonum.Implementation{})
				blas32.Gemm(tA, tB, 1.5, a, b, 0.5, want)
				blas32.Use(Implementation{})
				blas32.Gemm(tA, tB, 1.5, a, b, 0.5, c)
				for i := range c.Data {
					if d := math.Abs(float64(c.Data[i] - want.Data[i])); d > 1e-5*float64(k+1) {
						t.Fatalf("%c%c %v: C[%d] = %v, gonum %v", tA, tB, sz, i, c.Data[i], want.Data[i])
					}
				}
			}
		}
	}
}

// TestPanicsMatchGonum: bad arguments panic with gonum's values.
func TestPanicsMatchGonum(t *testing.T) {
	x := make([]float32, 16)
	cases := []func(impl blas.Float32Level3){
		func(impl blas.Float32Level3) { impl.Sgemm('X', blas.NoTrans, 2, 2, 2, 1, x, 2, x, 2, 0, x, 2) },
		func(impl blas.Float32Level3) { impl.Sgemm(blas.NoTrans, 'X', 2, 2, 2, 1, x, 2, x, 2, 0, x, 2) },
		func(impl blas.Float32Level3) {
			impl.Sgemm(blas.NoTrans, blas.NoTrans, -1, 2, 2, 1, x, 2, x, 2, 0, x, 2)
		},
		func(impl blas.Float32Level3) {
			impl.Sgemm(blas.NoTrans, blas.NoTrans, 2, -1, 2, 1, x, 2, x, 2, 0, x, 2)
		},
		func(impl blas.Float32Level3) {
			impl.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, -1, 1, x, 2, x, 2, 0, x, 2)
		},
		func(impl blas.Float32Level3) { impl.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 3, 1, x, 2, x, 2, 0, x, 2) },
		func(impl blas.Float32Level3) { impl.Sgemm(blas.Trans, blas.Trans, 3, 2, 2, 1, x, 3, x, 1, 0, x, 2) },
		func(impl blas.Float32Level3) { impl.Sgemm(blas.NoTrans, blas.NoTrans, 2, 3, 2, 1, x, 2, x, 3, 0, x, 2) },
		func(impl blas.Float32Level3) {
			impl.Sgemm(blas.NoTrans, blas.NoTrans, 4, 4, 4, 1, x[:15], 4, x, 4, 0, x, 4)
		},
		func(impl blas.Float32Level3) {
			impl.Sgemm(blas.NoTrans, blas.NoTrans, 4, 4, 4, 1, x, 4, x[:15], 4, 0, x, 4)
		},
		func(impl blas.Float32Level3) {
			impl.Sgemm(blas.NoTrans, blas.NoTrans, 4, 4, 4, 1, x, 4, x, 4, 0, x[:15], 4)
		},
		func(impl blas.Float32Level3) {
			impl.Sgemm(blas.NoTrans, blas.NoTrans, 0, 4, 4, 1, nil, 4, nil, 4, 0, nil, 4)
		}, // no panic
		func(impl blas.Float32Level3) {
			impl.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 0, 1, nil, 1, x, 2, 0, x, 2)
		}, // k = 0: gonum still asks for the starts of A's rows
		func(impl blas.Float32Level3) {
			impl.Sgemm(blas.Trans, blas.NoTrans, 2, 2, 0, 1, nil, 2, nil, 2, 0, x, 2)
		}, // k = 0 rows of A^T and of B: no panic
	}
	for i, f := range cases {
		got, want := recovered(func() { f(Implementation{}) }), recovered(func() { f(gonum.Implementation{}) })
		if got != want {
			t.Errorf("case %d: panic %q, gonum panics %q", i, got, want)
		}
	}
}

// TestHugeSizesPanic: sizes and leading dimensions whose length
// requirement overflows int panic with gonum's "insufficient length"
// value, where gonum's own check wraps and passes (so it is not the
// reference here); a one-row matrix may have any leading dimension.
func TestHugeSizesPanic(t *testing.T) {
	x := make([]float32, 16)
	const half, p62 = math.MaxInt / 2, 1 << 62
	for _, tc := range []struct {
		f    func()
		want string
	}{
		{func() { Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, half, 4, 4, 1, x, 4, x, 4, 0, x, 4) }, shortA},
		{func() { Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, 4, 4, 4, 1, x, half, x, 4, 0, x, 4) }, shortA},
		{func() { Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, 4, 4, 4, 1, x, p62, x, 4, 0, x, 4) }, shortA},
		{func() { Implementation{}.Sgemm(blas.NoTrans, blas.Trans, 4, 4, 4, 1, x, 4, x, math.MaxInt, 0, x, 4) }, shortB},
		{func() { Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, 4, 4, 4, 1, x, 4, x, 4, 0, x, p62+1) }, shortC},
		{func() {
			Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, 1, 4, 4, 1, x, math.MaxInt, x, 4, 0, x, p62)
		}, ""},
	} {
		if got := recovered(tc.f); got != tc.want {
			t.Errorf("panic %q, want %q", got, tc.want)
		}
	}
}

func recovered(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

// BenchmarkSgemm compares gonum's native Sgemm with convkit's through the
// same blas32 entry point: BenchmarkSgemm/<size>/<impl>.
func BenchmarkSgemm(b *testing.B) {
	defer blas32.Use(gonum.Implementation{})
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{64, 256, 512} {
		a, bm, c := general(r, n, n, 0), general(r, n, n, 0), general(r, n, n, 0)
		for _, impl := range []struct {
			name string
			f    blas.Float32
		}{{"gonum", gonum.Implementation{}}, {"convkit", Implementation{}}} {
			b.Run(fmt.Sprintf("%d/%s", n, impl.name), func(b *testing.B) {
				blas32.Use(impl.f)
				for b.Loop() {
					blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, a, bm, 0, c)
				}
				b.ReportMetric(2*float64(n*n*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
			})
		}
	}
}
