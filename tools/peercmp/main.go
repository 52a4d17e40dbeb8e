//go:build peercmp

// Command peercmp times convkit's Sgemm against OpenBLAS and oneDNN's
// dnnl_sgemm in one process, alternating the libraries call by call, so
// that the noise of a shared machine (steal time, a neighbour's bursts)
// falls on all of them alike. Separate processes run minutes apart, as
// the anchor programs do, can disagree by 30% on this VM; interleaved
// calls agree within a few percent from run to run.
//
// It needs cgo and the Debian packages libopenblas-dev and libdnnl-dev
// (../shared/anchors/install.sh), so it sits behind a build tag:
//
//	go run -tags peercmp ./tools/peercmp -isa avx2 -threads 1 -t 2
//	go run -tags peercmp ./tools/peercmp -isa avx2 -threads 2 -t 2 -turn 20ms
//
// With more than one thread, alternating single calls measures how fast
// each library wakes its sleeping threads rather than how fast it
// multiplies (the others' calls outlast every spin-wait), so -turn gives
// each library a run of back-to-back calls and drops the first of each.
// For each shape of the public GEMM workloads it prints the median and
// the 10th-percentile (fast end) GFLOPS of each library, and convkit's
// ratio to each peer at both. OpenBLAS runs with the kernels its own
// OPENBLAS_CORETYPE selection picks; set that variable to force others.
//
// Each peer is one file: openblas.go (linked), onednn.go (linked; leave
// it out with the tag nodnnl) and blis.go (loaded with dlopen, since it
// exports the same BLAS symbols as OpenBLAS; tag noblis). The header lines
// name each library's version and, for OpenBLAS, the kernels it chose.
// tools/avx512check.sh builds a static binary (-tags 'peercmp nodnnl
// noblis') to run on a machine without Go or the libraries.
package main

import (
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/blas"
	gonumblas "gonum.org/v1/gonum/blas/gonum"

	"github.com/convkit/convkit/bench"
	"github.com/convkit/convkit/gemm"
	"github.com/convkit/convkit/kernels"
)

// library is one SGEMM implementation under test: row-major, alpha 1,
// beta 0, C with leading dimension s.N.
type library struct {
	name string
	call func(s bench.GemmShape, a []float32, lda int, b []float32, ldb int, c []float32)
	// threads sets the library's thread count (nil: fixed at creation).
	threads func(n int)
}

// peers are the C libraries linked in, registered by their files' init.
var peers []library

func main() {
	only := flag.String("only", "", "comma-separated substrings: run only the shapes whose name contains one")
	secs := flag.Float64("t", 1, "seconds of interleaved calls per shape")
	threads := flag.Int("threads", 1, "threads for every library")
	turn := flag.Duration("turn", 0, "run each library this long before switching (0: one call); "+
		"with threads > 1 use ~20ms, so each library's threads are awake as in back-to-back use")
	shapesFile := flag.String("shapes", "", "GEMM shapes file in the bench format (default: the built-in public workloads)")
	isa := flag.String("isa", "", "convkit kernel path (default: the best this CPU has)")
	withGonum := flag.Bool("gonum", false, "add gonum's pure-Go Sgemm (GOMAXPROCS is set to -threads; slow: 10x the others' time per call)")
	flag.Parse()
	if *isa != "" {
		i, err := kernels.ParseISA(*isa)
		if err == nil {
			err = kernels.Use(i)
		}
		if err != nil {
			log.Fatal(err)
		}
	}
	ctx := gemm.NewContext(*threads)
	libs := append([]library{{name: "convkit", call: func(s bench.GemmShape, a []float32, lda int, b []float32, ldb int, c []float32) {
		ctx.Sgemm(s.TransA, s.TransB, s.M, s.N, s.K, 1, a, lda, b, ldb, 0, c, s.N)
	}}}, peers...)
	rank := map[string]int{"openblas": 0, "onednn": 1, "blis": 2, "gonum": 3} // the anchors' order
	slices.SortFunc(libs[1:], func(x, y library) int { return rank[x.name] - rank[y.name] })
	if *withGonum {
		// gonum's Sgemm runs on GOMAXPROCS goroutines; convkit's Context
		// and the C libraries' threads do not depend on it.
		runtime.GOMAXPROCS(max(*threads, 1))
		libs = append(libs, library{name: "gonum", call: func(s bench.GemmShape, a []float32, lda int, b []float32, ldb int, c []float32) {
			tA, tB := blas.NoTrans, blas.NoTrans
			if s.TransA {
				tA = blas.Trans
			}
			if s.TransB {
				tB = blas.Trans
			}
			gonumblas.Implementation{}.Sgemm(tA, tB, s.M, s.N, s.K, 1, a, lda, b, ldb, 0, c, s.N)
		}, threads: func(int) {}})
	}
	for _, l := range libs[1:] {
		l.threads(*threads)
	}

	fmt.Printf("# convkit %s, %d thread(s); GFLOPS as median / p10 (fast end) of interleaved calls; ratio = convkit / peer\n", kernels.Current(), *threads)
	fmt.Printf("%-18s", "shape")
	for _, l := range libs {
		fmt.Printf(" %15s", l.name)
	}
	for _, l := range libs[1:] {
		fmt.Printf(" %13s", "vs "+l.name)
	}
	fmt.Println()
	list := bench.DefaultGemmShapes()
	if *shapesFile != "" {
		var err error
		if list, err = bench.LoadGemmShapes(*shapesFile); err != nil {
			log.Fatal(err)
		}
	}
	for _, s := range list {
		if *only != "" && !slices.ContainsFunc(strings.Split(*only, ","), func(o string) bool { return strings.Contains(s.Name, o) }) {
			continue
		}
		r := rand.New(rand.NewPCG(1, 2))
		a, b := make([]float32, s.M*s.K), make([]float32, s.K*s.N)
		for i := range a {
			a[i] = r.Float32()*2 - 1
		}
		for i := range b {
			b[i] = r.Float32()*2 - 1
		}
		lda, ldb := s.K, s.N
		if s.TransA {
			lda = s.M
		}
		if s.TransB {
			ldb = s.K
		}
		cs := make([][]float32, len(libs))
		for i, l := range libs {
			cs[i] = make([]float32, s.M*s.N)
			l.call(s, a, lda, b, ldb, cs[i]) // warm up: workspaces, thread pools, JIT
			if d := maxRelDiff(cs[i], cs[0]); d > 1e-4 {
				log.Fatalf("%s: %s differs from convkit by %.2g", s.Name, l.name, d)
			}
		}
		times := make([][]float64, len(libs))
		end := time.Now().Add(time.Duration(*secs * float64(time.Second)))
		for n := 0; n < 5 || time.Now().Before(end); n++ {
			for i, l := range libs {
				turnEnd := time.Now().Add(*turn)
				for c := 0; ; c++ {
					t0 := time.Now()
					l.call(s, a, lda, b, ldb, cs[i])
					t1 := time.Now()
					keep := c > 0 || *turn == 0 // the first call of a turn wakes the library's threads
					if keep {
						times[i] = append(times[i], t1.Sub(t0).Seconds())
					}
					if keep && !t1.Before(turnEnd) {
						break
					}
				}
			}
		}
		med, p10 := make([]float64, len(libs)), make([]float64, len(libs))
		for i := range times {
			slices.Sort(times[i])
			med[i] = s.FLOPs() / 1e9 / times[i][len(times[i])/2]
			p10[i] = s.FLOPs() / 1e9 / times[i][len(times[i])/10]
		}
		fmt.Printf("%-18s", s.Name)
		for i := range libs {
			fmt.Printf(" %15s", fmt.Sprintf("%6.1f / %6.1f", med[i], p10[i]))
		}
		for i := range libs[1:] {
			fmt.Printf(" %13s", fmt.Sprintf("%.2f / %.2f", med[0]/med[i+1], p10[0]/p10[i+1]))
		}
		fmt.Println()
	}
}

// maxRelDiff is max|x-y| / max|y|: the libraries sum in different orders.
func maxRelDiff(x, y []float32) float64 {
	var d, m float64
	for i := range x {
		d = math.Max(d, math.Abs(float64(x[i]-y[i])))
		m = math.Max(m, math.Abs(float64(y[i])))
	}
	return d / m
}
