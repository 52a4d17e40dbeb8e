package bench

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/convkit/convkit/conv"
	"github.com/convkit/convkit/golden"
)

// The conv engine in the benchmark: package conv's plans, one per row
// (problem, pass, algorithm, thread count), built before the timing.
// Algorithms conv names but does not deliver yet report "not
// implemented".
func init() { DefaultConvEngine = convEngine{} }

type convEngine struct{}

// problemOf is the conv.Problem of a benchmark shape, in its layout.
func problemOf(s ConvShape) conv.Problem {
	layout, err := conv.ParseLayout(s.Layout)
	if err != nil || s.Layout == "" {
		layout = conv.ChannelsFirst // the options were checked: "" is nchw
	}
	d := s.Dims()
	per := func(v int) []int {
		out := make([]int, d)
		for i := range out {
			out[i] = v
		}
		return out
	}
	return conv.Problem{N: s.N, C: s.C, K: s.K, In: s.Spatial, Kernel: s.Filter,
		Stride: per(s.Stride), Dilation: per(s.Dilation), Padding: conv.Pad(per(s.Pad)...),
		Groups: s.Groups, Transposed: s.Transposed, Bias: true, Layout: layout}
}

func (convEngine) Prepare(s ConvShape) (ConvWorkload, error) {
	p := problemOf(s)
	sh, err := p.Resolve()
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(uint64(sh.XLen), uint64(sh.WLen)))
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	return &convWork{p: p, s: sh, x: fill(sh.XLen), w: fill(sh.WLen), b: fill(sh.K), dy: fill(sh.YLen),
		y: make([]float32, sh.YLen), dx: make([]float32, sh.XLen), dw: make([]float32, sh.WLen), db: make([]float32, sh.K)}, nil
}

// convWork is one shape's tensors.
type convWork struct {
	p             conv.Problem
	s             *conv.Shape
	x, w, b, dy   []float32
	y, dx, dw, db []float32
}

func (cw *convWork) Release() {}

// convPasses maps the benchmark's passes to conv's.
var convPasses = map[Pass]conv.Pass{Fwd: conv.PassForward, BwdData: conv.PassBackwardData, BwdFilter: conv.PassBackwardFilter}

func (cw *convWork) Runner(pass Pass, algo string, threads int) (ConvRunner, error) {
	cp, ok := convPasses[pass]
	if !ok {
		return nil, fmt.Errorf("unknown pass %q", pass)
	}
	pl, err := conv.NewPlan(cw.p, conv.Options{Threads: threads, Algorithm: algo, Passes: conv.PassSet(cp)})
	if errors.Is(err, conv.ErrNotImplemented) {
		return nil, fmt.Errorf("%w: conv algorithm %s", ErrNotImplemented, algo)
	}
	var ue *conv.UnsupportedError
	if errors.As(err, &ue) && algo != "" && algo != "auto" {
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, ue.Reason)
	}
	if err != nil {
		return nil, err
	}
	if cp != conv.PassBackwardFilter {
		// The weights are fixed while a row is timed: packed once, as a
		// plan is for inference (training packs them again after each
		// optimizer step; BenchmarkPackWeights in package conv times that).
		pl.PackWeights(cw.w)
	}
	return &convRun{cw: cw, pl: pl, pass: pass, algo: pl.Variant(cp)}, nil
}

// convRun runs one pass of a plan.
type convRun struct {
	cw   *convWork
	pl   *conv.Plan
	pass Pass
	algo string
}

func (r *convRun) Run() error {
	cw := r.cw
	switch r.pass {
	case Fwd:
		r.pl.Forward(cw.y, cw.x, nil, cw.b, nil) // the packed weights
	case BwdData:
		r.pl.BackwardData(cw.dx, cw.dy, nil)
	case BwdFilter:
		r.pl.BackwardFilter(cw.dw, cw.db, cw.x, cw.dy, false)
	default:
		return fmt.Errorf("unknown pass %q", r.pass)
	}
	return nil
}

// Algo names the algorithm the plan runs, its variant where it has some
// (the report writes auto's choice as auto:<name>, e.g. auto:winograd4).
func (r *convRun) Algo() string { return r.algo }

// MaxRelErr compares the last result with conv's float64 reference:
// max|y-ref| / max|ref| over the pass's output (dw for bwd-filter).
func (r *convRun) MaxRelErr() (float64, error) {
	cw := r.cw
	ref := conv.NewReference(cw.s)
	var got []float32
	var want []float64
	switch r.pass {
	case Fwd:
		got, want = cw.y, ref.Forward(golden.F64(cw.x), golden.F64(cw.w), golden.F64(cw.b))
	case BwdData:
		got, want = cw.dx, ref.BackwardData(golden.F64(cw.dy), golden.F64(cw.w))
	default:
		got = cw.dw
		want, _ = ref.BackwardFilter(golden.F64(cw.x), golden.F64(cw.dy))
	}
	var num, den float64
	for i := range want {
		num, den = max(num, math.Abs(float64(got[i])-want[i])), max(den, math.Abs(want[i]))
	}
	if den == 0 {
		return num, nil
	}
	return num / den, nil
}
