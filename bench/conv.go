package bench

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/convkit/convkit/gemm"
	"github.com/convkit/convkit/internal/prng"
	"github.com/convkit/convkit/kernels"
)

// Pass is one of the three convolution passes of training.
type Pass string

// The passes, as named on the command line and in reports.
const (
	Fwd       Pass = "fwd"        // y = conv(x, w)
	BwdData   Pass = "bwd-data"   // dx from dy and w
	BwdFilter Pass = "bwd-filter" // dw from dy and x
)

// Passes lists every pass in report order.
var Passes = []Pass{Fwd, BwdData, BwdFilter}

// Algorithm names accepted by -algo; "auto" lets the engine choose.
var Algos = []string{"auto", "direct", "im2col", "winograd", "fft"}

// AlgoVariants are the names that force one variant of an algorithm
// (winograd's tile sizes): accepted by -algo, left out of "all".
var AlgoVariants = []string{"winograd2", "winograd4", "winograd6"}

// ParsePasses parses a comma-separated list of pass names ("all" = every
// pass).
func ParsePasses(list string) ([]Pass, error) {
	if strings.TrimSpace(list) == "all" {
		return Passes, nil
	}
	var out []Pass
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		ok := false
		for _, q := range Passes {
			if Pass(p) == q {
				ok = true
			}
		}
		if !ok {
			return nil, fmt.Errorf("unknown pass %q (known: fwd, bwd-data, bwd-filter, all)", p)
		}
		out = append(out, Pass(p))
	}
	return out, nil
}

// ParseAlgos parses a comma-separated list of algorithm names ("all" =
// every explicit algorithm, without auto).
func ParseAlgos(list string) ([]string, error) {
	if strings.TrimSpace(list) == "all" {
		return Algos[1:], nil
	}
	var out []string
	for _, a := range strings.Split(list, ",") {
		a = strings.TrimSpace(a)
		ok := false
		for _, b := range append(Algos[:len(Algos):len(Algos)], AlgoVariants...) {
			if a == b {
				ok = true
			}
		}
		if !ok {
			return nil, fmt.Errorf("unknown algorithm %q (known: %s, %s, all)", a, strings.Join(Algos, ", "), strings.Join(AlgoVariants, ", "))
		}
		out = append(out, a)
	}
	return out, nil
}

// ErrNotImplemented is wrapped by engine errors for a pass, algorithm or
// shape the engine cannot run yet; such rows report
// "not implemented: <what>" instead of numbers.
var ErrNotImplemented = errors.New("not implemented")

// ErrUnsupported is wrapped by engine errors for an algorithm that exists
// but declines the shape or pass (its reason follows): the row's status
// is "unsupported: <reason>", not an error.
var ErrUnsupported = errors.New("unsupported")

// ConvEngine is how a convolution implementation plugs into the benchmark.
// Prepare is called once per shape: it allocates the tensors of the shape
// (random non-zero data) and returns a workload, or an error wrapping
// ErrNotImplemented if it cannot run the shape at all.
type ConvEngine interface {
	Prepare(s ConvShape) (ConvWorkload, error)
}

// ConvWorkload is one shape's tensors, prepared by a ConvEngine.
type ConvWorkload interface {
	// Runner returns a runner of one pass with one algorithm ("auto" lets
	// the engine choose) on threads goroutines, using the kernels bound
	// when it is called, or an error wrapping ErrNotImplemented.
	Runner(pass Pass, algo string, threads int) (ConvRunner, error)
	// Release frees the tensors; the workload is not used afterwards.
	Release()
}

// ConvRunner runs one prepared pass. Run is what is timed; it must not
// allocate in steady state.
type ConvRunner interface {
	// Run computes the pass once.
	Run() error
	// Algo names the algorithm actually used (what "auto" chose).
	Algo() string
	// MaxRelErr compares the result of the last Run with a float64
	// reference: max|y-ref| / max|ref| over the pass's output (used with
	// -verify), the metric of the golden sets and of the anchors.
	MaxRelErr() (float64, error)
}

// notImplementedEngine is the engine until the conv package lands: every
// shape prepares, every runner is not implemented.
type notImplementedEngine struct{}

func (notImplementedEngine) Prepare(ConvShape) (ConvWorkload, error) {
	return notImplementedWorkload{}, nil
}

type notImplementedWorkload struct{}

func (notImplementedWorkload) Runner(_ Pass, algo string, _ int) (ConvRunner, error) {
	return nil, fmt.Errorf("%w: conv engine (algo %s)", ErrNotImplemented, algo)
}

func (notImplementedWorkload) Release() {}

// DefaultConvEngine is the engine RunConv uses when ConvOptions.Engine is
// nil. The conv engine sets it from an init function of this package
// (a file bench/conv_engine.go, which may import package conv).
var DefaultConvEngine ConvEngine = notImplementedEngine{}

// ConvOptions configures RunConv; zero fields take the defaults listed.
type ConvOptions struct {
	Algos   []string      // empty: auto
	Passes  []Pass        // empty: all passes
	ISAs    []kernels.ISA // empty: kernels.Current()
	Threads []int         // empty: DefaultThreads()
	// Verify fills max_rel_err from ConvRunner.MaxRelErr.
	Verify bool
	// Layout is the activations' layout of every shape: "nchw" (or
	// empty: channels first, as the shape files give them), "nhwc", or a
	// blocked layout ("nchw16c", as conv.ParseLayout reads it).
	Layout string
	// LoweredGEMM adds, to the forward rows of every shape with N = 1,
	// groups = 1 and no transposition, a row of convkit's SGEMM on the
	// product the im2col algorithm computes (algo "sgemm:MxNxK": m = K,
	// n = the output positions, k = C*prod(filter)), per thread count and
	// ISA: the figure that lowering is measured against.
	LoweredGEMM bool
	Timing      Timing     // zero: DefaultTiming
	Peaks       *PeakMeter // probes the peak beside each shape's rows; nil: a new PeakMeter
	Engine      ConvEngine // nil: DefaultConvEngine
	// Progress, if set, is called with each row once its numbers are
	// final: after the peak probe that closes its shape.
	Progress func(Result)
}

// ConvTolerance is the default bound on max_rel_err for a verified row:
// 1e-6*sqrt(length of the reduction), for the reason GemmTolerance gives.
func ConvTolerance(s ConvShape) float64 {
	red := s.C / s.Groups * prod(s.Filter)
	if s.Transposed {
		red = s.K / s.Groups * prod(s.Filter)
	}
	return 1e-6 * math.Sqrt(float64(red))
}

// ConvToleranceOf is implemented by a ConvRunner whose algorithm has a
// documented error bound of its own (FFT, Winograd); it replaces
// ConvTolerance for that runner's rows.
type ConvToleranceOf interface {
	Tolerance() float64
}

// RunConv benchmarks every shape for each pass, algorithm, thread count and
// ISA, one row each, in that nesting order under the shape. Rows the engine
// cannot run say so in their status. Each shape's rows are one block of
// peakBlocks: pct_peak divides by the peak probed around them.
func RunConv(shapes []ConvShape, opt ConvOptions) []Result {
	if len(opt.Algos) == 0 {
		opt.Algos = []string{"auto"}
	}
	if len(opt.Passes) == 0 {
		opt.Passes = Passes
	}
	if len(opt.ISAs) == 0 {
		opt.ISAs = []kernels.ISA{kernels.Current()}
	}
	if len(opt.Threads) == 0 {
		opt.Threads = DefaultThreads()
	}
	if opt.Timing == (Timing{}) {
		opt.Timing = DefaultTiming
	}
	if opt.Peaks == nil {
		opt.Peaks = NewPeakMeter(0)
	}
	eng := opt.Engine
	if eng == nil {
		eng = DefaultConvEngine
	}
	prev := kernels.Current()
	defer kernels.Use(prev)

	blocks := newPeakBlocks(opt.Peaks)
	var out []Result
	var keys []peakKey // the peak of each row of the current shape
	if opt.Layout == "" {
		opt.Layout = "nchw"
	}
	for _, s := range shapes {
		s.Layout = opt.Layout
		first := len(out)
		keys = keys[:0]
		var work ConvWorkload
		var prepErr error
		if err := catch(func() { work, prepErr = eng.Prepare(s) }); err != nil {
			prepErr = err
		}
		for _, pass := range opt.Passes {
			for _, algo := range opt.Algos {
				for _, t := range opt.Threads {
					for _, isa := range opt.ISAs {
						r := newResult("conv", s.Name)
						r.Pass, r.Layout, r.Algo, r.ISA, r.Threads, r.FLOPs = string(pass), s.Layout, algo, isa.String(), t, s.FLOPs()
						if prepErr != nil {
							r.Status = statusOf(prepErr)
						} else {
							runConvRow(&r, s, work, opt, isa, blocks)
						}
						out, keys = append(out, r), append(keys, peakKey{isa, t})
					}
				}
			}
			if pass == Fwd && s.Depthwise() {
				for _, t := range opt.Threads {
					out, keys = append(out, memmoveRow(s, t, opt)), append(keys, peakKey{kernels.Current(), t})
				}
			}
			if pass == Fwd && opt.LoweredGEMM && s.N == 1 && s.Groups == 1 && !s.Transposed {
				for _, t := range opt.Threads {
					for _, isa := range opt.ISAs {
						out, keys = append(out, loweredGEMMRow(s, t, isa, opt, blocks)), append(keys, peakKey{isa, t})
					}
				}
			}
		}
		if work != nil {
			work.Release()
		}
		peaks := blocks.end()
		for i, k := range keys {
			r := &out[first+i]
			r.PctPeak = pctPeak(r.GFLOPS, peaks[k])
			if opt.Progress != nil {
				opt.Progress(*r)
			}
		}
	}
	return out
}

// runConvRow runs one row; blocks takes the opening peak probe of the
// row's (ISA, threads) just before the timing.
func runConvRow(r *Result, s ConvShape, work ConvWorkload, opt ConvOptions, isa kernels.ISA, blocks *peakBlocks) {
	if err := kernels.Use(isa); err != nil {
		r.Status = "error: " + err.Error()
		return
	}
	var run ConvRunner
	var err error
	if perr := catch(func() { run, err = work.Runner(Pass(r.Pass), r.Algo, r.Threads) }); perr != nil {
		err = perr
	}
	if err != nil {
		r.Status = statusOf(err)
		return
	}
	if a := run.Algo(); a != "" && a != r.Algo {
		r.Algo += ":" + a
	}
	blocks.before(peakKey{isa, r.Threads})
	var med time.Duration
	if perr := catch(func() { med, r.Runs, err = opt.Timing.Measure(run.Run) }); perr != nil {
		err = perr
	}
	if err != nil {
		r.Status = statusOf(err)
		return
	}
	r.MedianMs = float64(med) / float64(time.Millisecond)
	r.GFLOPS = s.FLOPs() / med.Seconds() / 1e9
	r.GBps = s.Bytes() / med.Seconds() / 1e9
	r.Status = StatusOK
	if opt.Verify {
		var e float64
		if perr := catch(func() { e, err = run.MaxRelErr() }); perr != nil {
			err = perr
		}
		if err != nil {
			r.Status = statusOf(err)
			return
		}
		r.MaxRelErr = e
		tol := ConvTolerance(s)
		if t, ok := run.(ConvToleranceOf); ok {
			tol = t.Tolerance()
		}
		if !(e <= tol) {
			r.Status = fmt.Sprintf("error: max_rel_err %.3g exceeds the tolerance %.3g", e, tol)
		}
	}
}

// statusOf maps an error to a row status.
func statusOf(err error) string {
	if errors.Is(err, ErrUnsupported) {
		return err.Error()
	}
	if errors.Is(err, ErrNotImplemented) {
		if msg := err.Error(); strings.HasPrefix(msg, "not implemented") {
			return msg
		}
		return "not implemented: " + err.Error()
	}
	return "error: " + err.Error()
}

// memmoveRow times Go's copy (the runtime's memmove) of s.Bytes()/2
// bytes into another buffer, the bytes split among threads goroutines:
// the same traffic as a pass of s, the yardstick of a memory-bound one.
// Its gbps counts the bytes read and written; it has no FLOPs.
func memmoveRow(s ConvShape, threads int, opt ConvOptions) Result {
	r := newResult("conv", s.Name)
	n := int(s.Bytes() / 8) // floats: read n, write n
	r.Pass, r.Layout, r.Algo, r.ISA, r.Threads = string(Fwd), s.Layout, fmt.Sprintf("memmove:%dB", 4*n), "go", threads
	src, dst := make([]float32, n), make([]float32, n)
	prng.Fill(src, 3)
	per := (n + threads - 1) / threads
	var wg sync.WaitGroup
	med, runs, err := opt.Timing.Measure(func() error {
		for lo := 0; lo < n; lo += per {
			hi := min(n, lo+per)
			wg.Go(func() { copy(dst[lo:hi], src[lo:hi]) })
		}
		wg.Wait()
		return nil
	})
	if err != nil {
		r.Status = statusOf(err)
		return r
	}
	r.Runs, r.MedianMs = runs, float64(med)/float64(time.Millisecond)
	r.GBps, r.Status = 8*float64(n)/med.Seconds()/1e9, StatusOK
	return r
}

// loweredGEMMRow times convkit's SGEMM on the GEMM of s's im2col forward
// pass (one image, one group), on random operands.
func loweredGEMMRow(s ConvShape, threads int, isa kernels.ISA, opt ConvOptions, blocks *peakBlocks) Result {
	m, n, k := s.K, prod(s.OutSpatial()), s.C*prod(s.Filter)
	r := newResult("conv", s.Name)
	r.Pass, r.Layout, r.Algo, r.ISA, r.Threads = string(Fwd), s.Layout, fmt.Sprintf("sgemm:%dx%dx%d", m, n, k), isa.String(), threads
	r.FLOPs = 2 * float64(m) * float64(n) * float64(k)
	if err := kernels.Use(isa); err != nil {
		r.Status = "error: " + err.Error()
		return r
	}
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	prng.Fill(a, 1)
	prng.Fill(b, 2)
	ctx := gemm.NewContext(threads)
	blocks.before(peakKey{isa, threads})
	med, runs, err := opt.Timing.Measure(func() error {
		return catch(func() { ctx.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) })
	})
	if err != nil {
		r.Status = statusOf(err)
		return r
	}
	r.Runs, r.MedianMs = runs, float64(med)/float64(time.Millisecond)
	r.GFLOPS, r.Status = r.FLOPs/med.Seconds()/1e9, StatusOK
	return r
}
