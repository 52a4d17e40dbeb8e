package gemm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/convkit/convkit/kernels"
)

// benchShapes mirrors bench/shapes/gemm_shapes.tsv (the public workloads).
var benchShapes = []struct {
	name           string
	m, n, k        int
	transA, transB bool
}{
	{"square_64", 64, 64, 64, false, false},
	{"square_128", 128, 128, 128, false, false},
	{"square_256", 256, 256, 256, false, false},
	{"square_512", 512, 512, 512, false, false},
	{"square_1024", 1024, 1024, 1024, false, false},
	{"square_2048", 2048, 2048, 2048, false, false},
	{"tall_skinny", 4096, 64, 4096, false, false},
	{"conv_resnet_c64", 64, 3136, 576, false, false},
	{"conv_resnet_c256", 256, 196, 2304, false, false},
	{"fc_batch64", 64, 1000, 4096, false, true},
	{"transA_512", 512, 512, 512, true, false},
	{"odd_333x517x129", 333, 517, 129, false, false},
}

// benchOperands returns random A, B, C for a shape with tight leading
// dimensions.
func benchOperands(m, n, k int, transA, transB bool) (a []float32, lda int, b []float32, ldb int, c []float32) {
	r := rand.New(rand.NewPCG(1, 2))
	a, b, c = make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	fillRand(r, a)
	fillRand(r, b)
	fillRand(r, c)
	lda, ldb = k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	return a, lda, b, ldb, c
}

func benchGemm(b *testing.B, ctx *Context, m, n, k int, transA, transB bool) {
	a, lda, bm, ldb, c := benchOperands(m, n, k, transA, transB)
	ctx.Sgemm(transA, transB, m, n, k, 1, a, lda, bm, ldb, 0, c, n) // size the workspace
	best := time.Duration(1 << 62)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		ctx.Sgemm(transA, transB, m, n, k, 1, a, lda, bm, ldb, 0, c, n)
		best = min(best, time.Since(t0))
	}
	flop := 2 * float64(m) * float64(n) * float64(k)
	b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
	// The fastest call: on a shared machine the mean mixes in time slices
	// lost to other processes.
	b.ReportMetric(flop/best.Seconds()/1e9, "best_GFLOPS")
}

// BenchmarkSgemm reports GFLOPS per shape, kernel path and thread count:
// BenchmarkSgemm/<shape>/<isa>/t<threads>.
func BenchmarkSgemm(b *testing.B) {
	orig := kernels.Current()
	defer kernels.Use(orig)
	for _, s := range benchShapes {
		for _, isa := range kernels.Available() {
			if isa == kernels.Generic && s.m*s.n*s.k > 256*256*256 {
				continue // minutes per op, and not what this measures
			}
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/t%d", s.name, isa, threads), func(b *testing.B) {
					kernels.Use(isa)
					benchGemm(b, NewContext(threads), s.m, s.n, s.k, s.transA, s.transB)
				})
			}
		}
	}
}

// BenchmarkSgemmTiles compares the generated tile families of each path on
// one thread: BenchmarkSgemmTiles/<shape>/<tile>.
func BenchmarkSgemmTiles(b *testing.B) {
	for _, s := range benchShapes {
		for _, isa := range kernels.Available() {
			for i, tk := range tileCandidates(isa) {
				b.Run(fmt.Sprintf("%s/%s", s.name, tk.name), func(b *testing.B) {
					benchGemm(b, benchContext(isa, i, nil), s.m, s.n, s.k, s.transA, s.transB)
				})
			}
		}
	}
}

func benchISAs() []kernels.ISA { return kernels.Available() }

// benchContext returns a one-thread Context that runs tile family tile of
// path isa, its blocking changed by edit (when not nil).
func benchContext(isa kernels.ISA, tile int, edit func(bl *blocking)) *Context {
	tbl, err := kernels.TableFor(isa)
	if err != nil {
		panic(err)
	}
	ctx := NewContext(1)
	ctx.force.sel = selectFor(isa, tbl.Gemm, tile)
	if edit != nil {
		edit(&ctx.force.sel.bl)
	}
	return ctx
}

// BenchmarkSgemmBlocking sweeps the cache blocking (kc, and mc as a share
// of L2) of every generated tile family on large squares, one thread:
// BenchmarkSgemmBlocking/<n>/<tile>/kc<kc>/mc<mc>. It is how the rule in
// blockingFrom is checked on a new CPU.
func BenchmarkSgemmBlocking(b *testing.B) {
	for _, n := range []int{1024, 2048} {
		for _, isa := range kernels.Available() {
			for i, tk := range tileCandidates(isa) {
				for _, kc := range []int{128, 192, 256, 320, 384, 512} {
					_, l2, _ := kernels.Caches()
					for _, share := range []int{4, 2} { // mc x kc takes l2/share
						mc := max(tk.mr, l2/share/(4*kc)/tk.mr*tk.mr)
						b.Run(fmt.Sprintf("%d/%s/kc%d/mc%d", n, tk.name, kc, mc), func(b *testing.B) {
							benchGemm(b, benchContext(isa, i, func(bl *blocking) { bl.kc, bl.mc = kc, mc }), n, n, n, false, false)
						})
					}
				}
			}
		}
	}
}

// BenchmarkSgemmTilesAB compares the tile families of each path call by
// call in one loop (family 0, 1, ..., 0, 1, ...), so that a shared
// machine's slow phases fall on all of them alike; separate benchmarks a
// second apart can differ by 20% on a VM with steal time. It reports each
// family's median GFLOPS and its median time relative to the default's:
// BenchmarkSgemmTilesAB/<shape>/<isa> with metrics <tile>_GFLOPS and
// <tile>_x (> 1: faster than the default).
func BenchmarkSgemmTilesAB(b *testing.B) {
	for _, s := range benchShapes {
		for _, isa := range kernels.Available() {
			cands := tileCandidates(isa)
			if len(cands) < 2 {
				continue
			}
			b.Run(fmt.Sprintf("%s/%s", s.name, isa), func(b *testing.B) {
				ctxs := make([]*Context, len(cands))
				for i := range cands {
					ctxs[i] = benchContext(isa, i, nil)
				}
				a, lda, bm, ldb, c := benchOperands(s.m, s.n, s.k, s.transA, s.transB)
				call := func(i int) time.Duration {
					t0 := time.Now()
					ctxs[i].Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
					return time.Since(t0)
				}
				for i := range ctxs {
					call(i) // size the workspace
				}
				times := make([][]time.Duration, len(ctxs))
				b.ResetTimer()
				for b.Loop() {
					for i := range ctxs {
						times[i] = append(times[i], call(i))
					}
				}
				flop := 2 * float64(s.m) * float64(s.n) * float64(s.k)
				med := make([]float64, len(ctxs))
				for i, t := range times {
					slices.Sort(t)
					med[i] = t[len(t)/2].Seconds()
					b.ReportMetric(flop/med[i]/1e9, cands[i].name+"_GFLOPS")
				}
				for i := 1; i < len(ctxs); i++ {
					b.ReportMetric(med[0]/med[i], cands[i].name+"_x")
				}
			})
		}
	}
}

// BenchmarkSgemmLockedCaller runs a two-thread product from a goroutine
// that is, and one that is not, locked to its OS thread (as a cgo callback
// or a GUI loop would be): waiting for the helper must not hand the
// caller's thread to the scheduler (see recv).
func BenchmarkSgemmLockedCaller(b *testing.B) {
	for _, locked := range []bool{false, true} {
		b.Run(fmt.Sprintf("locked=%v", locked), func(b *testing.B) {
			if locked {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			benchGemm(b, NewContext(2), 256, 256, 256, false, false)
		})
	}
}

// BenchmarkSgemmScaling times large squares on one thread and on
// GOMAXPROCS threads, alternating call by call, and reports the speedup
// (metric tN/t1): the noise of a shared machine falls on both alike.
func BenchmarkSgemmScaling(b *testing.B) {
	threads := runtime.GOMAXPROCS(0)
	if threads < 2 {
		b.Skip("GOMAXPROCS < 2")
	}
	for _, n := range []int{1024, 2048} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			a, lda, bm, ldb, c := benchOperands(n, n, n, false, false)
			ctxs := []*Context{NewContext(1), NewContext(threads)}
			times := make([][]time.Duration, len(ctxs))
			for b.Loop() {
				for i, ctx := range ctxs {
					t0 := time.Now()
					ctx.Sgemm(false, false, n, n, n, 1, a, lda, bm, ldb, 0, c, n)
					times[i] = append(times[i], time.Since(t0))
				}
			}
			flop := 2 * float64(n) * float64(n) * float64(n)
			var gflops [2]float64
			for i, t := range times {
				slices.Sort(t)
				gflops[i] = flop / t[len(t)/2].Seconds() / 1e9
			}
			b.ReportMetric(gflops[0], "t1_GFLOPS")
			b.ReportMetric(gflops[1], fmt.Sprintf("t%d_GFLOPS", threads))
			b.ReportMetric(gflops[1]/gflops[0], "tN/t1")
		})
	}
}
