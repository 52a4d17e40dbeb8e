package conv

import (
	"fmt"
	"math"
	"slices"

	"github.com/convkit/convkit/winograd"
)

// winogradAlgo is Winograd's minimal filtering F(m x m, 3 x 3) for 2D
// 3x3 convolutions at stride 1 and dilation 1: per tile of m x m outputs,
// the (m+2)^2 transformed inputs times the transformed filters, summed
// over the input channels as alpha^2 matrix products, then transformed
// back (see winograd_engine.go); the backward-filter pass runs the
// weight-gradient form F(3 x 3, m x m), m = 2 or 4 (winograd_filter.go).
// m = 0 is the algorithm "winograd", which
// takes the fastest variant in the precision bound and workspace limit;
// "winograd2", "winograd4" and "winograd6" force one (named, never auto's
// candidates).
//
// Its numerics are bounded, not exact (see winogradBound): the
// transforms round, and an infinite or NaN input spreads NaN over the
// outputs of every tile whose patch holds it, where the definition keeps
// them to the outputs it reaches.
type winogradAlgo struct{ m int }

func (a winogradAlgo) Name() string {
	if a.m == 0 {
		return "winograd"
	}
	return fmt.Sprintf("winograd%d", a.m)
}

func (winogradAlgo) perPassEngine() {}
func (winogradAlgo) Exact() bool    { return false }

// winogradVariants are the algorithms forced by name.
var winogradVariants = []Algorithm{winogradAlgo{m: 2}, winogradAlgo{m: 4}, winogradAlgo{m: 6}}

// winogradBoundLimit is the largest error bound the default precision
// admits (Options.Precision Bounded).
const winogradBoundLimit = 1e-4

// winogradBound is variant m's documented error bound for a sum over c
// input channels: max|y - ref| / max|ref| against the float64 oracle, for
// inputs like the golden sets' (normal data, weights scaled by
// 1/sqrt(fan_in)), forward and backward-data. The rounding of the
// transforms dominates; the measured error grows more slowly than
// sqrt(c), so the bound is k*sqrt(max(c, 16)), each k twice the largest
// measured error / sqrt(c) over c = 16..512 (TestWinogradErrorBound: the
// public shapes and smaller ones). Measured on the public shapes
// (c = 64..512, forward): F(2x2) 3.7e-7..8e-7, F(4x4) 6.1e-6..1.1e-5,
// F(6x6) 1e-5..2.3e-5; direct 9e-7..2.3e-6.
func winogradBound(m, c int) float64 {
	var k float64
	switch m {
	case 2:
		k = 1.2e-7
	case 4:
		k = 2.2e-6
	default:
		k = 3e-6
	}
	return k * math.Sqrt(float64(max(c, 16)))
}

// winogradProblem is pass's forward problem of s for the Winograd
// engine, or the reason it cannot run it.
func winogradProblem(s *Shape, pass Pass, name string) (derived, error) {
	no := func(format string, a ...any) (derived, error) {
		return derived{}, &UnsupportedError{Algorithm: name, Pass: pass, Reason: fmt.Sprintf(format, a...)}
	}
	if s.Dims != 2 || !slices.Equal(s.Kernel, []int{3, 3}) {
		return no("kernel %v: Winograd F(m x m, 3 x 3) computes 2D 3x3 filters", s.Kernel)
	}
	d, err := derive(s, pass)
	if err != nil {
		return no("%v", err.(*UnsupportedError).Reason)
	}
	if d.phases != nil {
		return no("stride %v: Winograd needs stride 1", s.Stride)
	}
	ds := d.s
	if !slices.Equal(ds.Stride, []int{1, 1}) || !slices.Equal(ds.Dilation, []int{1, 1}) {
		return no("stride %v, dilation %v: Winograd needs stride 1 and dilation 1", ds.Stride, ds.Dilation)
	}
	if ds.CPerG < 4 || ds.KPerG < 4 {
		return no("%d input and %d output channels per group: under 4, the %d-channel blocks of the transforms would be mostly padding", ds.CPerG, ds.KPerG, directLanes())
	}
	return d, nil
}

func (a winogradAlgo) Supports(s *Shape, pass Pass) error {
	if pass == PassBackwardFilter {
		_, _, err := a.gradProblem(s)
		return err
	}
	_, err := winogradProblem(s, pass, a.Name())
	return err
}

// nativeBlocked reports whether pass of the blocked s runs in that layout
// itself: every pass, in the kernels' own blocks, with every group's
// channels starting a block (x's and dy's patches copied by whole
// blocks, rows written out as runs).
func (a winogradAlgo) nativeBlocked(s *Shape, pass Pass) bool {
	L := directLanes()
	if s.Layout.Lanes() != L {
		return false
	}
	d, err := winogradProblem(s, pass, a.Name())
	return err == nil && (d.s.Groups == 1 || d.s.CPerG%L == 0 && d.s.KPerG%L == 0)
}

// variants returns the variants a may run for the forward problem ds
// under the precision bound: the forced one, or every one whose bound
// for ds's channel sum is within winogradBoundLimit.
func (a winogradAlgo) variants(ds *Shape) []*winograd.Variant {
	var out []*winograd.Variant
	for _, v := range winograd.Variants() {
		switch {
		case a.m != 0 && v.M == a.m:
			out = append(out, v)
		case a.m == 0 && winogradBound(v.M, ds.CPerG) <= winogradBoundLimit:
			out = append(out, v)
		}
	}
	return out
}

// choose returns the layout of the variant of pass that runs fastest in
// the model on one thread within limit bytes of workspace (the engine's
// own and, for a flipped form, the exchanged weights), cut for threads;
// the variant is the one-thread choice so that the bits never follow the
// thread count.
func (a winogradAlgo) choose(s *Shape, pass Pass, threads int, limit int64) (*winoLayout, error) {
	if pass == PassBackwardFilter {
		panic("conv: winogradAlgo.choose of the backward-filter pass (chooseGrad)")
	}
	d, err := winogradProblem(s, pass, a.Name())
	if err != nil {
		return nil, err
	}
	if limit > 0 && d.flip {
		limit = max(1, limit-4*int64(s.WLen))
	}
	var best *winoLayout
	for _, v := range a.variants(d.s) {
		l := newWinoLayout(d.s, v, 1, limit)
		if limit > 0 && l.bytes() > limit {
			continue
		}
		if best == nil || l.cycles() < best.cycles() {
			best = l
		}
	}
	if best == nil {
		return nil, &UnsupportedError{Algorithm: a.Name(), Pass: pass, Reason: fmt.Sprintf("no variant within the error bound %g fits the workspace limit of %d bytes", winogradBoundLimit, limit)}
	}
	if threads > 1 {
		if l := newWinoLayout(d.s, best.v, threads, limit); limit <= 0 || l.bytes() <= limit {
			best = l
		}
	}
	best.d = d
	return best, nil
}

// gradVariants returns the variants of the weight-gradient form a may
// run for the forward problem ds: the forced one, or every one whose
// bound for the sum over ds's images and output positions is within
// winogradBoundLimit. F(3x3, 6x6) never runs: its G' spans 1/360 to
// 16/45, and its error passes 1e-4 on every public shape.
func (a winogradAlgo) gradVariants(ds *Shape) []*winograd.Variant {
	var out []*winograd.Variant
	for _, v := range winograd.Variants() {
		switch {
		case v.M > 4:
		case a.m != 0 && v.M == a.m:
			out = append(out, v)
		case a.m == 0 && winogradGradBound(v.M, ds.N*ds.OutLen) <= winogradBoundLimit:
			out = append(out, v)
		}
	}
	return out
}

// gradProblem is the forward problem of the backward-filter pass of s
// and the weight-gradient variants a may run on it, or why none.
func (a winogradAlgo) gradProblem(s *Shape) (derived, []*winograd.Variant, error) {
	d, err := winogradProblem(s, PassBackwardFilter, a.Name())
	if err != nil {
		return d, nil, err
	}
	vs := a.gradVariants(d.s)
	if len(vs) == 0 {
		return d, nil, &UnsupportedError{Algorithm: a.Name(), Pass: PassBackwardFilter, Reason: winogradGradNone(a.m, d.s)}
	}
	return d, vs, nil
}

// chooseGrad returns the layout of the weight-gradient form whose variant
// runs fastest in the model on one thread within limit bytes (0: no
// limit) on one thread, cut for the most of threads that fit: the
// variant, and so the bits, never follow the thread count.
func (a winogradAlgo) chooseGrad(s *Shape, threads int, limit int64) (*winoGradLayout, error) {
	d, vs, err := a.gradProblem(s)
	if err != nil {
		return nil, err
	}
	var best *winoGradLayout
	for _, v := range vs {
		l := newWinoGradLayout(d.s, v, 1)
		if limit > 0 && l.bytes() > limit {
			continue
		}
		if best == nil || l.cycles() < best.cycles() {
			best = l
		}
	}
	if best == nil {
		return nil, &UnsupportedError{Algorithm: a.Name(), Pass: PassBackwardFilter, Reason: fmt.Sprintf("no variant of the weight-gradient form fits the workspace limit of %d bytes", limit)}
	}
	for t := max(1, threads); t > 1; t-- {
		if l := newWinoGradLayout(d.s, best.v, t); limit <= 0 || l.bytes() <= limit {
			best = l
			break
		}
	}
	best.d = d
	return best, nil
}

// gradBiasBytes is the bias gradient's scratch (biasGrad's float64 and
// float32 sums per output channel).
func gradBiasBytes(s *Shape) int64 {
	if !s.Bias {
		return 0
	}
	return 12 * int64(s.K)
}

// gradLimit is what a workspace limit leaves the weight-gradient form's
// engine (0: no limit).
func gradLimit(s *Shape, limit int64) int64 {
	if limit <= 0 {
		return 0
	}
	return max(1, limit-gradBiasBytes(s))
}

// winogradGradNone is why no weight-gradient variant runs forced variant
// m (0: any) on ds.
func winogradGradNone(m int, ds *Shape) string {
	if m > 4 {
		return fmt.Sprintf("the weight-gradient form F(3x3, %dx%d) is not accurate in float32 (G' spans 1/360 to 16/45): F(3x3, 2x2) and F(3x3, 4x4) compute it", m, m)
	}
	return fmt.Sprintf("no weight-gradient variant's error bound over %d positions is within %g", ds.N*ds.OutLen, winogradBoundLimit)
}

// winoBytes is the workspace of layout l for its pass: the engine's and
// the exchanged weights of a flipped form.
func winoBytes(s *Shape, l *winoLayout) int64 {
	n := l.bytes()
	if l.d.flip {
		n += 4 * int64(s.WLen)
	}
	return n
}

// Workspace is the bytes of what choose takes on cfg.Threads within the
// limit; over the limit (no variant fits) the least any variant needs,
// which exceeds it.
func (a winogradAlgo) Workspace(s *Shape, cfg Config) int64 {
	if cfg.pass == PassBackwardFilter {
		if l, err := a.chooseGrad(s, cfg.Threads, gradLimit(s, cfg.WorkspaceLimit)); err == nil {
			return l.bytes() + gradBiasBytes(s)
		}
		d, vs, err := a.gradProblem(s)
		if err != nil {
			return 0
		}
		least := int64(math.MaxInt64)
		for _, v := range vs {
			least = min(least, newWinoGradLayout(d.s, v, 1).bytes()+gradBiasBytes(s))
		}
		return max(least, cfg.WorkspaceLimit+1)
	}
	if l, err := a.choose(s, cfg.pass, cfg.Threads, cfg.WorkspaceLimit); err == nil {
		return winoBytes(s, l)
	}
	d, err := winogradProblem(s, cfg.pass, a.Name())
	if err != nil {
		return 0
	}
	least := int64(math.MaxInt64)
	for _, v := range a.variants(d.s) {
		l := newWinoLayout(d.s, v, 1, 1) // limit 1: the smallest cut
		l.d = d
		least = min(least, winoBytes(s, l))
	}
	return max(least, cfg.WorkspaceLimit+1)
}

func (a winogradAlgo) Cost(s *Shape, pass Pass, h Host, threads int) float64 {
	perCycle := h.PeakGFLOPS * 1e9 / float64(4*directLanes())
	if pass == PassBackwardFilter {
		l, err := a.chooseGrad(s, threads, 0)
		if err != nil {
			return math.Inf(1)
		}
		return l.cycles() / (perCycle * float64(max(1, threads)))
	}
	l, err := a.choose(s, pass, threads, 0)
	if err != nil {
		return math.Inf(1)
	}
	return l.itemCycles() * float64(ceilDiv(l.items(), l.threadsOf())) / perCycle
}

// New makes the engine for cfg.pass; the plan adds its other passes.
func (a winogradAlgo) New(s *Shape, cfg Config) (Engine, error) {
	pl := &winogradPlan{a: a, s: s}
	if _, err := pl.addPass(cfg.pass, cfg); err != nil {
		return nil, err
	}
	return pl, nil
}

// winogradPlan is the Winograd algorithm's Engine: a forward engine per
// pass (the backward-data pass on the flipped filter), and the
// weight-gradient form's for the backward-filter pass.
type winogradPlan struct {
	a        winogradAlgo
	s        *Shape
	passes   [numPasses]*winoPass
	biasAcc  []float64 // biasGrad's scratch (backward-filter with bias)
	biasPart []float32
}

// winoPass is one pass: its engine (e, or g for the backward-filter
// pass) and, for a flipped form, the exchanged weights.
type winoPass struct {
	e *winoEngine
	g *winoGrad
	flipper
}

// bytes is the pass's workspace.
func (p *winoPass) bytes(s *Shape) int64 {
	if p.g != nil {
		return p.g.bytes() + gradBiasBytes(s)
	}
	return winoBytes(s, p.e.winoLayout)
}

func (pl *winogradPlan) Workspace() int64 {
	var n int64
	for _, p := range pl.passes {
		if p != nil {
			n += p.bytes(pl.s)
		}
	}
	return n
}

func (pl *winogradPlan) addPass(pass Pass, cfg Config) (int64, error) {
	if pl.passes[pass] != nil {
		return 0, nil
	}
	if pass == PassBackwardFilter {
		l, err := pl.a.chooseGrad(pl.s, max(1, cfg.Threads), gradLimit(pl.s, cfg.WorkspaceLimit))
		if err != nil {
			return 0, err
		}
		pl.passes[pass] = &winoPass{g: newWinoGrad(l)}
		if pl.s.Bias {
			pl.biasAcc, pl.biasPart = make([]float64, pl.s.K), make([]float32, pl.s.K)
		}
		return pl.passes[pass].bytes(pl.s), nil
	}
	l, err := pl.a.choose(pl.s, pass, max(1, cfg.Threads), cfg.WorkspaceLimit)
	if err != nil {
		return 0, err
	}
	pl.passes[pass] = &winoPass{e: newWinoEngine(l), flipper: newFlipper(pl.s, l.d.flip)}
	return winoBytes(pl.s, l), nil
}

func (pl *winogradPlan) pass(pass Pass) *winoPass {
	p := pl.passes[pass]
	if p == nil {
		panic(fmt.Sprintf("conv: the winograd engine was not made for %s", pass))
	}
	return p
}

func (pl *winogradPlan) Forward(y, x, w, b []float32, ep *Epilogue) {
	p := pl.pass(PassForward)
	p.e.forward(y, x, p.weights(w), b, ep)
}

func (pl *winogradPlan) BackwardData(dx, dy, w []float32) {
	p := pl.pass(PassBackwardData)
	p.e.forward(dx, dy, p.weights(w), nil, nil)
}

// BackwardFilter computes dw on the weight-gradient form (of a
// transposed problem, the convolution it transposes, x and dy exchanged)
// and db from dy.
func (pl *winogradPlan) BackwardFilter(dw, db, x, dy []float32, accumulate bool) {
	p := pl.pass(PassBackwardFilter)
	if p.g.d.swap {
		p.g.backwardFilter(dw, dy, x, accumulate)
	} else {
		p.g.backwardFilter(dw, x, dy, accumulate)
	}
	if pl.s.Bias && db != nil {
		biasGrad(pl.s, db, dy, accumulate, pl.biasAcc, pl.biasPart)
	}
}

// variant is the forced name of the variant pass runs: winograd4.
func (pl *winogradPlan) variant(pass Pass) string {
	p := pl.pass(pass)
	if p.g != nil {
		return fmt.Sprintf("winograd%d", p.g.m)
	}
	return fmt.Sprintf("winograd%d", p.e.m)
}

func (pl *winogradPlan) packedFor(pass Pass) bool {
	p := pl.passes[pass]
	return p != nil && p.e != nil && p.e.packed
}

// PackWeights transforms w for every pass that reads it (Forward and
// BackwardData then take w == nil): the filter transform, which a
// training step pays once.
func (pl *winogradPlan) PackWeights(w []float32) {
	for _, p := range pl.passes {
		if p != nil && p.e != nil {
			p.e.pack(p.weights(w))
			p.e.packed = true
		}
	}
}

// winogradGradBound is the weight-gradient form F(3x3, m x m)'s
// documented error bound for a sum over positions (images x output
// positions): max|dW - ref| / max|ref| against the float64 oracle, for
// inputs like the golden sets' (normal x and dy). The sum's own rounding
// grows with the positions no faster than |ref| does; the transforms'
// dominates, so the bound is k*max(positions, 16)^(1/4), each k twice
// the largest measured error / positions^(1/4) over the shapes of
// TestWinogradErrorBound (F(3x3, 2x2): 2.6e-7..1.3e-6; F(3x3, 4x4):
// 3.3e-6..6.1e-6; direct 1e-7..2e-6). F(3x3, 4x4) stays within 1e-4 up
// to about 700,000 positions.
func winogradGradBound(m, positions int) float64 {
	k := 3.5e-7
	if m == 4 {
		k = 3.4e-6
	}
	return k * math.Sqrt(math.Sqrt(float64(max(positions, 16))))
}
