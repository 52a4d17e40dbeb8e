package conv

import (
	"fmt"
	"slices"
)

// The direct algorithm's passes are forward convolutions on the kernels
// of direct.go, of a problem derived from the plan's:
//
//   - a convolution's forward pass: the problem itself;
//   - its backward-data pass, at stride 1: dx = conv(dy, w') with w' the
//     filter flipped in every dim and its input and output channels
//     exchanged (per group), padded by dilation*(k-1) - padding on each
//     side;
//   - a transposed convolution's backward-data pass: the forward pass of
//     the convolution it transposes, on the weights as stored;
//   - a transposed convolution's forward pass, at stride 1: that
//     convolution's backward-data pass, as above.
//
// A stride above 1 in the flipped forms would make most taps of the
// derived problem zero: a strided backward-data pass runs by stride
// phases instead (direct_phases.go); a strided transposed forward pass,
// a padding mode other than zeros and a padding beyond the filter's span
// are declined with the reason, and auto runs them on im2col.

// derived is one pass's forward problem.
type derived struct {
	s      *Shape
	flip   bool    // the weights are flipped and their channels exchanged (exchangeWeights)
	swap   bool    // backward-filter of a transposed problem: x and dy exchanged
	phases []phase // a strided backward-data pass by stride phases (s: the convolution itself)
}

// derive returns pass's forward problem of s, or the reason direct
// cannot compute the pass.
func derive(s *Shape, pass Pass) (derived, error) {
	no := func(format string, a ...any) (derived, error) {
		return derived{}, &UnsupportedError{Algorithm: "direct", Pass: pass, Reason: fmt.Sprintf(format, a...)}
	}
	unit := !slices.ContainsFunc(s.Stride, func(v int) bool { return v != 1 })
	p := Problem{N: s.N, Kernel: s.Kernel, Dilation: s.Dilation, Groups: s.Groups, Layout: s.Layout}
	switch {
	case pass != PassBackwardData && !s.Transposed: // forward, backward-filter
		return derived{s: s}, nil
	case pass != PassForward && s.Transposed: // the forward problem (and filter) of the convolution it transposes
		p.C, p.K, p.In, p.Stride = s.K, s.C, s.Out, s.Stride
		p.Padding = Padding{Kind: Explicit, Before: s.PadBefore, After: s.PadAfter}
		d, err := resolveDerived(p, pass)
		if err == nil && !slices.Equal(d.s.Out, s.In) {
			return no("output_padding %v reaches past a stride: the convolution it transposes has another output size", s.OutputPadding)
		}
		d.swap = pass == PassBackwardFilter
		return d, err
	case s.PaddingMode != Zeros:
		return no("padding_mode %s: only zeros has a flipped-filter form", s.PaddingMode)
	case !unit && s.Transposed:
		return no("stride %v: the flipped filter's taps would mostly meet zeros, and stride phases are built for backward-data alone (im2col runs it)", s.Stride)
	case !unit:
		phases, err := stridePhases(s)
		return derived{s: s, phases: phases}, err
	}
	// A flipped form: backward-data, or a transposed forward pass.
	before, after := make([]int, s.Dims), make([]int, s.Dims)
	for i := range before {
		pb, pa := s.PadBefore[i], s.PadAfter[i]
		if s.Transposed {
			pa -= s.OutputPadding[i] // the transposed convolution's padding after its extra rows
		}
		before[i], after[i] = s.spans[i]-pb, s.spans[i]-pa
		if before[i] < 0 || after[i] < 0 {
			return no("padding %v beyond the filter's span %v: the flipped form would crop", s.PadBefore, s.spans)
		}
	}
	p.Padding = Padding{Kind: Explicit, Before: before, After: after}
	if s.Transposed {
		p.C, p.K, p.In, p.Bias = s.C, s.K, s.In, s.Bias
	} else {
		p.C, p.K, p.In = s.K, s.C, s.Out
	}
	d, err := resolveDerived(p, pass)
	d.flip = true
	return d, err
}

// resolveDerived resolves a derived problem; an error would be a bug in
// derive, reported as a reason rather than a panic.
func resolveDerived(p Problem, pass Pass) (derived, error) {
	ds, err := p.Resolve()
	if err != nil {
		return derived{}, &UnsupportedError{Algorithm: "direct", Pass: pass, Reason: "derived problem: " + err.Error()}
	}
	return derived{s: ds}, nil
}

// exchangeWeights writes filters of w with their channels exchanged and
// their taps gathered: w holds groups x a x b filters of kt taps (a: the
// outer channels per group), dst groups x b x a filters of len(taps):
//
//	dst[((g*b+j)*a+i)*len(taps)+t] = w[((g*a+i)*b+j)*kt+taps[t]]
//
// A flipped form's taps are all of them reversed; a stride phase's, its
// sub-filter's.
func exchangeWeights(dst, w []float32, groups, a, b, kt int, taps []int) {
	nt := len(taps)
	for g := 0; g < groups; g++ {
		for i := 0; i < a; i++ {
			for j := 0; j < b; j++ {
				src := w[((g*a+i)*b+j)*kt:][:kt]
				out := dst[((g*b+j)*a+i)*nt:][:nt]
				for t, st := range taps {
					out[t] = src[st]
				}
			}
		}
	}
}

// reversedTaps is 0..n-1 reversed: a flipped filter's taps.
func reversedTaps(n int) []int {
	taps := make([]int, n)
	for t := range taps {
		taps[t] = n - 1 - t
	}
	return taps
}

// directPass is one pass of a direct plan: the forward engine of its
// derived problem and, for a flipped form, the flipped weights; or for
// backward-filter the filter engine.
type directPass struct {
	d       derived
	bytes   int64         // its workspace (passBytes)
	e       forwardEngine // forward and backward-data: the derived forward problem
	f       filterEngine  // backward-filter
	flipper               // a flipped form's exchanged weights (zero: read as given)
}

// flipper holds the weights of a flipped form (derive): flipped in every
// dim, input and output channels exchanged per group.
type flipper struct {
	flipped []float32 // nil: the weights are read as given
	a, b    int       // exchangeWeights' channel counts
	flipMap []int     // the flipped filter's taps
	groups  int
	taps    int
}

// newFlipper is the flipper of s's flipped form (flip false: none).
func newFlipper(s *Shape, flip bool) flipper {
	if !flip {
		return flipper{}
	}
	f := flipper{flipped: make([]float32, s.WLen), flipMap: reversedTaps(s.KernelSize), groups: s.Groups, taps: s.KernelSize}
	f.a, f.b = s.KPerG, s.CPerG // a convolution's [K][C/groups] filters
	if s.Transposed {
		f.a, f.b = s.CPerG, s.KPerG // a transposed one's [C][K/groups]
	}
	return f
}

// weights returns w in the form the derived problem reads (nil stays
// nil: the packed weights).
func (f *flipper) weights(w []float32) []float32 {
	if w == nil || f.flipped == nil {
		return w
	}
	exchangeWeights(f.flipped, w, f.groups, f.a, f.b, f.taps, f.flipMap)
	return f.flipped
}

// forwardEngine runs a derived forward problem: the tile engine
// (directEngine), the width engine (dwEngine) or the channel engine
// (dcEngine).
type forwardEngine interface {
	Forward(y, x, w, b []float32, ep *Epilogue)
	PackWeights(w []float32)
	packedWeights() bool // the weights are PackWeights' (no call with w since)
}

// filterEngine runs a derived problem's backward-filter pass.
type filterEngine interface {
	// backwardFilter computes dW and, where the engine sums dy as it
	// sweeps it (the width engine), db unless db is nil, reporting
	// whether it did; the others leave db to biasGrad.
	backwardFilter(dw, db, x, dy []float32, accumulate bool) (dbDone bool)
}

// newForwardEngine is the engine of the forward problem s: the width
// engine or the tile engine.
func newForwardEngine(s *Shape, threads int) forwardEngine {
	switch {
	case s.byWidth():
		return newDWEngine(newDWLayout(s, threads), threads)
	case s.byChannels():
		return newDCEngine(newDCLayout(s, threads), threads)
	}
	return newDirectEngine(newDirectLayout(s, threads), threads)
}

// forwardBytes and forwardCycles are newForwardEngine's workspace and
// modelled cycles (its kernels and copies).
func forwardBytes(s *Shape, threads int) int64 {
	switch {
	case s.byWidth():
		return newDWLayout(s, threads).bytes()
	case s.byChannels():
		return newDCLayout(s, threads).bytes()
	}
	return newDirectLayout(s, threads).bytes()
}

func forwardCycles(s *Shape, threads int) float64 {
	switch {
	case s.byWidth():
		return newDWLayout(s, threads).cycles()
	case s.byChannels():
		return newDCLayout(s, threads).cycles()
	}
	return newDirectLayout(s, threads).modelCost()
}

// newDirectPass makes pass's engine on threads; n is its workspace
// (passBytes).
func newDirectPass(s *Shape, pass Pass, d derived, threads int, n int64) *directPass {
	switch {
	case d.phases != nil:
		return &directPass{d: d, bytes: n, e: newPhasedEngine(s, d.phases, threads)}
	case pass == PassBackwardFilter && d.s.byChannels():
		return &directPass{d: d, bytes: n, f: newDCFilter(d.s, threads)}
	case pass == PassBackwardFilter && d.s.byWidth():
		return &directPass{d: d, bytes: n, f: newDWFilter(d.s, threads)}
	case pass == PassBackwardFilter:
		return &directPass{d: d, bytes: n, f: newDirectFilter(d.s, threads)}
	}
	return &directPass{d: d, bytes: n, e: newForwardEngine(d.s, threads), flipper: newFlipper(s, d.flip)}
}

// directPlan is the direct algorithm's Engine: a directPass per pass it
// was made for (Config.pass, then addPass).
type directPlan struct {
	s        *Shape
	passes   [numPasses]*directPass
	biasAcc  []float64 // biasGrad's scratch (backward-filter with bias)
	biasPart []float32
}

func (pl *directPlan) Workspace() int64 {
	var n int64
	for _, p := range pl.passes {
		if p != nil {
			n += p.bytes
		}
	}
	return n
}

// addPass makes the pass's engine, returning its workspace.
func (pl *directPlan) addPass(pass Pass, cfg Config) (int64, error) {
	if pl.passes[pass] != nil {
		return 0, nil
	}
	d, err := deriveSupported(pl.s, pass)
	if err != nil {
		return 0, err
	}
	threads := fitThreads(pl.s, pass, d, cfg)
	n := passBytes(pl.s, pass, d, threads)
	if lim := cfg.WorkspaceLimit; lim > 0 && n > lim {
		return 0, pl.s.op().Errorf("workspace_limit", "direct needs %d bytes of workspace for %s, the limit is %d", n, pass, lim)
	}
	pl.passes[pass] = newDirectPass(pl.s, pass, d, threads, n)
	if pass == PassBackwardFilter && pl.s.Bias {
		pl.biasAcc, pl.biasPart = make([]float64, pl.s.K), make([]float32, pl.s.K)
	}
	return n, nil
}

func (pl *directPlan) pass(pass Pass) *directPass {
	p := pl.passes[pass]
	if p == nil {
		panic(fmt.Sprintf("conv: the direct engine was not made for %s", pass))
	}
	return p
}

func (pl *directPlan) Forward(y, x, w, b []float32, ep *Epilogue) {
	p := pl.pass(PassForward)
	p.e.Forward(y, x, p.weights(w), b, ep)
}

func (pl *directPlan) BackwardData(dx, dy, w []float32) {
	p := pl.pass(PassBackwardData)
	p.e.Forward(dx, dy, p.weights(w), nil, nil)
}

func (pl *directPlan) BackwardFilter(dw, db, x, dy []float32, accumulate bool) {
	p := pl.pass(PassBackwardFilter)
	if !pl.s.Bias {
		db = nil
	}
	var summed bool
	if p.d.swap { // the derived problem's dy is x: db is not its sum
		p.f.backwardFilter(dw, nil, dy, x, accumulate)
	} else {
		summed = p.f.backwardFilter(dw, db, x, dy, accumulate)
	}
	if db != nil && !summed {
		biasGrad(pl.s, db, dy, accumulate, pl.biasAcc, pl.biasPart)
	}
}

// packedFor reports whether pass's packed weights are PackWeights' (a
// call with explicit weights packs over them).
func (pl *directPlan) packedFor(pass Pass) bool {
	p := pl.passes[pass]
	return p != nil && p.e != nil && p.e.packedWeights()
}

// PackWeights packs w for every pass that reads it (Forward and
// BackwardData then take w == nil).
func (pl *directPlan) PackWeights(w []float32) {
	for _, p := range pl.passes {
		if p != nil && p.e != nil {
			p.e.PackWeights(p.weights(w))
		}
	}
}
