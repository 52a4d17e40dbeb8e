package layers

import (
	"math"
	"math/rand/v2"

	"github.com/convkit/convkit/conv"
	"github.com/convkit/convkit/internal/shape"
	"github.com/convkit/convkit/kernels"
)

// ConvConfig is a convolution layer: torch.nn.Conv{1,2,3}d, or
// ConvTranspose{1,2,3}d with Transposed. The spatial dims are
// len(Kernel); Stride, Dilation and OutputPadding default as in
// conv.Problem.
type ConvConfig struct {
	In, Out       int // channels
	Kernel        []int
	Stride        []int
	Padding       conv.Padding
	Dilation      []int
	Groups        int
	NoBias        bool
	PaddingMode   conv.PaddingMode
	Transposed    bool
	OutputPadding []int

	// ReLU applies a ReLU in the convolution's fused epilogue (a Sequential
	// sets it when a ReLU follows the layer).
	ReLU bool
	// Algorithm is the engine's algorithm for every pass ("" or "auto": the
	// fastest per pass).
	Algorithm string
	// Threads is the plans' thread count (<= 0: GOMAXPROCS).
	Threads int
}

// Conv is a convolution layer on the engine of package conv. It keeps a
// plan per input shape, made on that shape's first call.
type Conv struct {
	cfg    ConvConfig
	Weight *Param // (Out, In/Groups, kernel...), or (In, Out/Groups, ...) transposed
	Bias   *Param // nil with NoBias

	plans   []convPlan
	cur     *convPlan
	x, y    *Tensor
	out, dx buffers
	masked  buffers // dy through the fused ReLU
	ep      conv.Epilogue

	// A batch norm that follows the layer folds into it in evaluation
	// (set by Sequential): the plans then have a bias even without one
	// of the layer's own, zero in training.
	bn          *BatchNorm
	noFold      bool      // Sequential.SetFolding(false)
	foldedLast  bool      // the last Forward ran folded
	foldW       []float32 // the folded weights and bias of the last Forward
	foldB, zero []float32
	foldScale   []float64 // per output channel: γ/√(var+ε)
	dbScratch   []float32 // db of a plan's bias the layer does not have
	// maskedAfter: the max pool after the fused ReLU applies its mask to
	// the gradient (set by Sequential), so Backward takes dy as masked.
	maskedAfter bool
}

type convPlan struct {
	x     []int
	lanes int // the activations' channel block (0: row-major)
	plan  *conv.Plan
	y     []int
}

// NewConv validates cfg (as conv.Problem.Resolve does, on the smallest
// input the filter fits) and returns the layer initialized as PyTorch's
// defaults do, from a fixed seed; Reset re-initializes it from another.
func NewConv(cfg ConvConfig) (*Conv, error) {
	if cfg.Groups == 0 {
		cfg.Groups = 1
	}
	c := &Conv{cfg: cfg}
	probe := c.problem(nil)
	if err := checkConvConfig(probe); err != nil {
		return nil, err
	}
	s, err := probe.Resolve()
	if err != nil {
		return nil, err
	}
	c.Weight = newParam("weight", s.WShape()...)
	if !cfg.NoBias {
		c.Bias = newParam("bias", cfg.Out)
	}
	c.ep.ReLU = cfg.ReLU
	c.Reset(rand.New(rand.NewPCG(0, 0)))
	return c, nil
}

// checkConvConfig rejects what Resolve cannot see on a probe input.
func checkConvConfig(p conv.Problem) error {
	op := shape.Op("conv")
	if len(p.Kernel) < 1 || len(p.Kernel) > 3 {
		return op.Errorf("Kernel", "Kernel = %v has %d dims; want 1 to 3", p.Kernel, len(p.Kernel))
	}
	for _, k := range p.Kernel {
		if k < 1 {
			return op.Errorf("Kernel", "Kernel = %v: every size must be >= 1", p.Kernel)
		}
	}
	return nil
}

// problem is the layer's conv.Problem for input shape x (nil: a probe input
// just large enough for the filter, to validate the configuration).
func (c *Conv) problem(x []int) conv.Problem {
	cfg := &c.cfg
	p := conv.Problem{C: cfg.In, K: cfg.Out, Kernel: cfg.Kernel, Stride: cfg.Stride, Dilation: cfg.Dilation,
		Padding: cfg.Padding, Groups: cfg.Groups, Bias: !cfg.NoBias, PaddingMode: cfg.PaddingMode,
		Transposed: cfg.Transposed, OutputPadding: cfg.OutputPadding}
	if x != nil {
		p.N, p.In = x[0], x[2:]
		return p
	}
	p.N = 1
	for i, k := range cfg.Kernel {
		d := 1
		if i < len(cfg.Dilation) {
			d = max(cfg.Dilation[i], 1)
		}
		pad := 0
		for _, side := range [][]int{cfg.Padding.Before, cfg.Padding.After} {
			if i < len(side) {
				pad = max(pad, side[i])
			}
		}
		op := 0
		if i < len(cfg.OutputPadding) {
			op = cfg.OutputPadding[i]
		}
		p.In = append(p.In, 2*(d*(k-1)+1)+2*pad+op+2) // room for every rule
	}
	return p
}

// Reset draws the parameters as reset_parameters of torch.nn.Conv*d does:
// weight and bias uniform in ±1/√fan_in, fan_in = weight.size(1)·prod(Kernel).
func (c *Conv) Reset(rng *rand.Rand) {
	ws := c.Weight.Value.Shape
	fanIn := 1
	for _, d := range ws[1:] {
		fanIn *= d
	}
	bound := 1 / math.Sqrt(float64(fanIn))
	uniform(rng, c.Weight.Value.Data, bound)
	if c.Bias != nil {
		uniform(rng, c.Bias.Value.Data, bound)
	}
}

// SetThreads sets the thread count of the plans made from now on, and
// drops the plans made so far.
func (c *Conv) SetThreads(n int) { c.cfg.Threads, c.plans, c.cur, c.x = n, nil, nil, nil }

// fuseReLU makes the layer apply ReLU in its epilogue.
func (c *Conv) fuseReLU() { c.cfg.ReLU, c.ep.ReLU = true, true }

// Params returns the weight and the bias.
func (c *Conv) Params() []*Param {
	if c.Bias == nil {
		return []*Param{c.Weight}
	}
	return []*Param{c.Weight, c.Bias}
}

// Algorithms names the algorithm of each pass of the last input's plan
// (forward, backward-data, backward-filter), as the engine chose them.
func (c *Conv) Algorithms() [3]string {
	var a [3]string
	if c.cur != nil {
		for i, p := range []conv.Pass{conv.PassForward, conv.PassBackwardData, conv.PassBackwardFilter} {
			a[i] = c.cur.plan.Algorithm(p)
		}
	}
	return a
}

// planFor returns the plan of input shape x in the layout of lanes,
// making it on first use.
func (c *Conv) planFor(x []int, lanes int) (*convPlan, error) {
	if c.cur != nil && c.cur.lanes == lanes && sameDims(c.cur.x, x) {
		return c.cur, nil
	}
	for i := range c.plans {
		if c.plans[i].lanes == lanes && sameDims(c.plans[i].x, x) {
			c.cur = &c.plans[i]
			return c.cur, nil
		}
	}
	op := shape.Op("conv")
	if len(x) != len(c.cfg.Kernel)+2 || x[1] != c.cfg.In {
		return nil, op.Errorf("x", "x has shape %v; want (N, %d, %d spatial dims)", x, c.cfg.In, len(c.cfg.Kernel))
	}
	p := c.problem(x)
	p.Bias = p.Bias || c.bn != nil
	if lanes > 0 {
		p.Layout, _ = conv.Blocked(lanes)
	}
	pl, err := conv.NewPlan(p, conv.Options{Algorithm: c.cfg.Algorithm, Threads: c.cfg.Threads})
	if err != nil {
		return nil, err
	}
	s := pl.Shape()
	y := append([]int{s.N, s.K}, s.Out...)
	c.plans = append(c.plans, convPlan{x: append([]int(nil), x...), lanes: lanes, plan: pl, y: y})
	c.cur = &c.plans[len(c.plans)-1]
	return c.cur, nil
}

// Forward computes y = conv(x, W) + b, with the fused ReLU when set.
func (c *Conv) Forward(x *Tensor) (*Tensor, error) {
	if err := checkTensor("conv", "x", x); err != nil {
		return nil, err
	}
	cp, err := c.planFor(x.Shape, x.Lanes)
	if err != nil {
		return nil, err
	}
	y := c.out.getBlocked(x.Lanes, cp.y...)
	w, b := c.Weight.Value.Data, c.bias()
	c.foldedLast = c.folding()
	if c.foldedLast {
		w, b = c.fold()
	}
	cp.plan.Forward(y.Data, x.Data, w, b, &c.ep)
	c.x, c.y = x, y
	return y, nil
}

// bias is the plans' bias: the layer's, or zeros where a batch norm may
// fold in and the layer has none.
func (c *Conv) bias() []float32 {
	switch {
	case c.Bias != nil:
		return c.Bias.Value.Data
	case c.bn != nil:
		if c.zero == nil {
			c.zero = make([]float32, c.cfg.Out)
		}
		return c.zero
	}
	return nil
}

// folding reports whether Forward runs with the following batch norm
// folded in: in evaluation, on running statistics, unless turned off.
func (c *Conv) folding() bool { return c.bn != nil && !c.noFold && !c.bn.batchStats() }

// attachBatchNorm makes bn fold into the layer in evaluation. The plans
// made so far have no bias where the layer has none: they are dropped.
func (c *Conv) attachBatchNorm(bn *BatchNorm) { c.bn, c.plans, c.cur = bn, nil, nil }

// fold returns the weights and bias with the batch norm applied: each
// output channel's filter scaled by γ/√(var+ε), its bias
// (b - mean)·γ/√(var+ε) + β, computed in float64.
func (c *Conv) fold() (w, b []float32) {
	bn := c.bn
	if c.foldW == nil {
		c.foldW, c.foldB = make([]float32, c.Weight.Value.Len()), make([]float32, c.cfg.Out)
		c.foldScale = make([]float64, c.cfg.Out)
	}
	bias := c.bias()
	for k := range c.foldScale {
		scale := 1 / math.Sqrt(float64(bn.RunningVar.Data[k])+bn.cfg.Eps)
		shift := -float64(bn.RunningMean.Data[k]) * scale
		if bn.Weight != nil {
			g := float64(bn.Weight.Value.Data[k])
			scale, shift = scale*g, shift*g+float64(bn.Bias.Value.Data[k])
		}
		c.foldScale[k], c.foldB[k] = scale, float32(float64(bias[k])*scale+shift)
	}
	// The weights are blocks of one filter's taps, each an output
	// channel's: (Out, In/G, k...) has In/G blocks per channel in a row;
	// transposed, (In, Out/G, k...) has channel g·Out/G + o at block
	// (ci, o) for input channel ci of group g.
	src := c.Weight.Value.Data
	ks := len(src) / (c.Weight.Value.Shape[0] * c.Weight.Value.Shape[1])
	kpg, cpg := c.cfg.Out/c.cfg.Groups, c.cfg.In/c.cfg.Groups
	for blk := 0; blk < len(src)/ks; blk++ {
		k := blk / cpg
		if c.cfg.Transposed {
			k = blk/c.Weight.Value.Shape[1]/cpg*kpg + blk%kpg
		}
		for i, v := range src[blk*ks : (blk+1)*ks] {
			c.foldW[blk*ks+i] = float32(float64(v) * c.foldScale[k])
		}
	}
	return c.foldW, c.foldB
}

// Backward computes dW, db and, when needDX, dx (through the fused ReLU
// first, when set).
func (c *Conv) Backward(dy *Tensor, needDX bool) (*Tensor, error) {
	if c.x == nil || c.cur == nil {
		return nil, shape.Op("conv").Errorf("dy", "Backward before Forward")
	}
	if err := checkGrad("conv", dy, c.cur.y, c.cur.lanes); err != nil {
		return nil, err
	}
	g := dy
	if c.cfg.ReLU && !c.maskedAfter {
		g = c.masked.like(dy)
		kernels.ReluBackward(g.Data, c.y.Data, dy.Data)
	}
	if c.foldedLast {
		return nil, shape.Op("conv").Errorf("dy", "the last Forward ran with the batch norm folded in (evaluation): Sequential.SetFolding(false) takes gradients in evaluation")
	}
	var db []float32
	switch {
	case c.Bias != nil:
		db = c.Bias.Grad.Data
	case c.bn != nil: // the plan's bias, which the layer does not have
		if c.dbScratch == nil {
			c.dbScratch = make([]float32, c.cfg.Out)
		}
		db = c.dbScratch
	}
	c.cur.plan.BackwardFilter(c.Weight.Grad.Data, db, c.x.Data, g.Data, false)
	if !needDX {
		return nil, nil
	}
	dx := c.dx.like(c.x)
	c.cur.plan.BackwardData(dx.Data, g.Data, c.Weight.Value.Data)
	return dx, nil
}
