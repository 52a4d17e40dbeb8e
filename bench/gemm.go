package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"time"

	"gonum.org/v1/gonum/blas"
	gonumblas "gonum.org/v1/gonum/blas/gonum"

	"github.com/convkit/convkit/gemm"
	"github.com/convkit/convkit/internal/prng"
	"github.com/convkit/convkit/kernels"
)

// PeerGonum is the ISA column of the gonum peer rows.
const PeerGonum = "gonum"

// GemmOptions configures RunGemm. The zero value runs the bound ISA on
// DefaultThreads with DefaultTiming and no peers.
type GemmOptions struct {
	// ISAs to run, each bound with kernels.Use for its rows (the binding
	// is restored afterwards). Empty: kernels.Current().
	ISAs []kernels.ISA
	// Threads lists the thread counts. Empty: DefaultThreads().
	Threads []int
	// Peers adds a row per shape and thread count for gonum's pure-Go
	// Sgemm (blas/gonum), run with GOMAXPROCS set to the thread count.
	Peers bool
	// Timing of each row. Zero: DefaultTiming.
	Timing Timing
	// Peaks probes the peak beside each shape's rows, for pct_peak. Nil:
	// a new PeakMeter with default settings.
	Peaks *PeakMeter
	// Progress, if set, is called with each row once its numbers are
	// final: after the peak probe that closes its shape.
	Progress func(Result)
}

// DefaultThreads is 1 and runtime.NumCPU() (once if they are equal).
func DefaultThreads() []int {
	if n := runtime.NumCPU(); n > 1 {
		return []int{1, n}
	}
	return []int{1}
}

// peerMaxEstimate: a gonum row whose single call is estimated (at
// gonumGFLOPSPerThread) to take longer than this is skipped, and says so.
const (
	peerMaxEstimate      = 20 * time.Second
	gonumGFLOPSPerThread = 10.0
)

func (o *GemmOptions) fill() {
	if len(o.ISAs) == 0 {
		o.ISAs = []kernels.ISA{kernels.Current()}
	}
	if len(o.Threads) == 0 {
		o.Threads = DefaultThreads()
	}
	if o.Timing == (Timing{}) {
		o.Timing = DefaultTiming
	}
	if o.Peaks == nil {
		o.Peaks = NewPeakMeter(0)
	}
}

// RunGemm benchmarks every shape through gemm.NewContext(threads).Sgemm
// with alpha = 1, beta = 0, for each thread count and ISA (and the gonum
// peer if asked), and verifies each result against a float64 reference
// (all of C for small shapes, a fixed sample of entries otherwise). The
// matrices are allocated once per shape and filled with random non-zero
// values; C is set to NaN before each row so that an entry a kernel fails
// to write cannot pass on a previous row's value. Each shape's rows are one
// block of peakBlocks: pct_peak divides by the peak probed around them.
func RunGemm(shapes []GemmShape, opt GemmOptions) []Result {
	opt.fill()
	prev := kernels.Current()
	defer kernels.Use(prev)
	blocks := newPeakBlocks(opt.Peaks)
	var out []Result
	var keys []peakKey // the peak of each row of the current shape
	for si, s := range shapes {
		ra, ca := s.M, s.K
		if s.TransA {
			ra, ca = s.K, s.M
		}
		rb, cb := s.K, s.N
		if s.TransB {
			rb, cb = s.N, s.K
		}
		a := make([]float32, ra*ca)
		b := make([]float32, rb*cb)
		c := make([]float32, s.M*s.N)
		prng.Fill(a, uint32(2*si+1))
		prng.Fill(b, uint32(2*si+2))
		lda, ldb, ldc := ca, cb, s.N
		ver := newGemmVerifier(s, a, lda, b, ldb)
		first := len(out)
		keys = keys[:0]
		for _, t := range opt.Threads {
			for _, isa := range opt.ISAs {
				r := newResult("gemm", s.Name)
				r.ISA, r.Threads, r.FLOPs = isa.String(), t, s.FLOPs()
				key := peakKey{isa, t}
				if err := kernels.Use(isa); err != nil {
					r.Status = "error: " + err.Error()
				} else {
					ctx := gemm.NewContext(t)
					run := func() error {
						return catch(func() {
							ctx.Sgemm(s.TransA, s.TransB, s.M, s.N, s.K, 1, a, lda, b, ldb, 0, c, ldc)
						})
					}
					blocks.before(key)
					measureGemm(&r, s, run, c, ver, opt.Timing)
				}
				out, keys = append(out, r), append(keys, key)
			}
			if opt.Peers {
				r := newResult("gemm", s.Name)
				r.ISA, r.Threads, r.FLOPs = PeerGonum, t, s.FLOPs()
				key := peakKey{kernels.Best(), t} // the peer is held to the best path's peak
				if est := time.Duration(s.FLOPs() / (gonumGFLOPSPerThread * 1e9 * float64(t)) * float64(time.Second)); est > peerMaxEstimate {
					r.Status = fmt.Sprintf("skipped: gonum estimated at %.0fs per call (> %v)", est.Seconds(), peerMaxEstimate)
				} else {
					tA, tB := blas.NoTrans, blas.NoTrans
					if s.TransA {
						tA = blas.Trans
					}
					if s.TransB {
						tB = blas.Trans
					}
					run := func() error {
						return catch(func() {
							gonumblas.Implementation{}.Sgemm(tA, tB, s.M, s.N, s.K, 1, a, lda, b, ldb, 0, c, ldc)
						})
					}
					procs := runtime.GOMAXPROCS(t)
					blocks.before(key)
					measureGemm(&r, s, run, c, ver, opt.Timing)
					runtime.GOMAXPROCS(procs)
				}
				out, keys = append(out, r), append(keys, key)
			}
		}
		peaks := blocks.end()
		for i, k := range keys {
			out[first+i].PctPeak = pctPeak(out[first+i].GFLOPS, peaks[k])
		}
		// Ratios to the peer on the same shape and thread count.
		for i := first; i < len(out); i++ {
			if out[i].ISA == PeerGonum {
				continue
			}
			for j := first; j < len(out); j++ {
				if out[j].ISA == PeerGonum && out[j].Threads == out[i].Threads && out[j].GFLOPS > 0 {
					out[i].VsGonum = out[i].GFLOPS / out[j].GFLOPS
				}
			}
		}
		if opt.Progress != nil {
			for _, r := range out[first:] {
				opt.Progress(r)
			}
		}
	}
	return out
}

// measureGemm times run into r, verifies c and fills the columns of r but
// pct_peak (and vs_gonum), which need the other rows of the shape.
func measureGemm(r *Result, s GemmShape, run func() error, c []float32, ver *gemmVerifier, timing Timing) {
	for i := range c {
		c[i] = float32(math.NaN())
	}
	med, runs, err := timing.Measure(run)
	if err != nil {
		r.Status = "error: " + err.Error()
		return
	}
	r.Runs = runs
	r.MedianMs = float64(med) / float64(time.Millisecond)
	r.GFLOPS = s.FLOPs() / med.Seconds() / 1e9
	r.MaxRelErr = ver.relErr(c, s.N)
	r.Status = StatusOK
	if tol := GemmTolerance(s.K); !(r.MaxRelErr <= tol) {
		r.Status = fmt.Sprintf("error: max_rel_err %.3g exceeds 1e-6*sqrt(K) = %.3g", r.MaxRelErr, tol)
	}
}

// GemmTolerance is the bound on ||C-ref||/||ref|| that a GEMM row must meet:
// the rounding errors of a K-term float32 sum of terms of random sign grow
// like sqrt(K), and 1e-6 is about 17 roundings of float32 (2^-24 ≈ 6e-8),
// whatever order or fusion of the products the kernels choose.
func GemmTolerance(k int) float64 { return 1e-6 * math.Sqrt(float64(max(k, 1))) }

// catch turns a panic of f into an error, so that one failing row does not
// end the whole report.
func catch(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	f()
	return nil
}

// gemmVerifier computes reference entries of op(A)*op(B) in float64.
type gemmVerifier struct {
	s        GemmShape
	a, b     []float32
	lda, ldb int
	// idx lists the sampled entries (i*N+j); nil means every entry.
	idx []int
}

// fullVerifyMACs: shapes with at most this many multiply-adds are verified
// on every entry of C; larger ones on verifySamples entries.
const (
	fullVerifyMACs = 1 << 24
	verifySamples  = 2048
)

func newGemmVerifier(s GemmShape, a []float32, lda int, b []float32, ldb int) *gemmVerifier {
	v := &gemmVerifier{s: s, a: a, b: b, lda: lda, ldb: ldb}
	if float64(s.M)*float64(s.N)*float64(s.K) > fullVerifyMACs && s.M*s.N > verifySamples {
		rng := rand.New(rand.NewPCG(uint64(s.M), uint64(s.N)))
		// The corners catch edge-tile mistakes that random samples may miss.
		v.idx = []int{0, s.N - 1, (s.M - 1) * s.N, s.M*s.N - 1}
		for len(v.idx) < verifySamples {
			v.idx = append(v.idx, rng.IntN(s.M*s.N))
		}
	}
	return v
}

func (v *gemmVerifier) ref(i, j int) float64 {
	s := v.s
	sum := 0.0
	for p := 0; p < s.K; p++ {
		var av, bv float32
		if s.TransA {
			av = v.a[p*v.lda+i]
		} else {
			av = v.a[i*v.lda+p]
		}
		if s.TransB {
			bv = v.b[j*v.ldb+p]
		} else {
			bv = v.b[p*v.ldb+j]
		}
		sum += float64(av) * float64(bv)
	}
	return sum
}

// relErr returns ||c-ref||/||ref|| over the verified entries (NaN if any
// entry of c is NaN).
func (v *gemmVerifier) relErr(c []float32, ldc int) float64 {
	var d2, r2 float64
	add := func(e int) {
		i, j := e/v.s.N, e%v.s.N
		ref := v.ref(i, j)
		d := float64(c[i*ldc+j]) - ref
		d2 += d * d
		r2 += ref * ref
	}
	if v.idx == nil {
		for e := 0; e < v.s.M*v.s.N; e++ {
			add(e)
		}
	} else {
		for _, e := range v.idx {
			add(e)
		}
	}
	if r2 == 0 {
		return math.Sqrt(d2)
	}
	return math.Sqrt(d2 / r2)
}
