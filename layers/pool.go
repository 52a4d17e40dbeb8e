package layers

import (
	"math"

	"github.com/convkit/convkit/internal/shape"
	"github.com/convkit/convkit/kernels"
)

// Error is the typed error of a bad configuration or argument: the layer,
// the parameter at fault, and the rule it breaks with its values. Use
// errors.As to read it.
type Error = shape.Error

// PoolConfig is a max or average pooling, as torch.nn.MaxPool{1,2,3}d and
// AvgPool{1,2,3}d state it. Lists have one entry per spatial dim (1 to 3);
// Stride nil means the kernel size, Padding nil 0 and Dilation nil 1.
type PoolConfig struct {
	Kernel   []int
	Stride   []int
	Padding  []int
	Dilation []int // max pooling only
	CeilMode bool

	// Average pooling only: whether the zero padding counts in the divisor,
	// and a divisor that replaces it (0: none).
	CountIncludePad bool
	DivisorOverride int
}

// poolDim is one spatial dim of a resolved pooling: the window of output
// position o starts at o*stride - pad in the padded input.
type poolDim struct {
	in, out, k, stride, pad, dil int
}

// window returns the input positions the window of o covers, as the first
// one inside the input and how many (a step of dil apart).
func (d poolDim) window(o int) (first, count int) {
	s := o*d.stride - d.pad
	for s < 0 {
		s += d.dil
	}
	end := min(o*d.stride-d.pad+(d.k-1)*d.dil+1, d.in)
	if s >= end {
		return s, 0
	}
	return s, (end - s + d.dil - 1) / d.dil
}

// poolShape is a pooling resolved for one input shape: three spatial dims
// (leading ones of size 1 when the pooling has fewer), planes = N*C.
type poolShape struct {
	in     []int // the input's shape
	dims   [3]poolDim
	planes int
	inLen  int // elements per input plane
	outLen int // per output plane
	out    []int
}

// resolvePool checks cfg against the input shape x (N, C, spatial...) and
// resolves the output size by PyTorch's rules.
func resolvePool(op shape.Op, cfg *PoolConfig, max bool, x []int) (*poolShape, error) {
	nd := len(cfg.Kernel)
	if nd < 1 || nd > 3 {
		return nil, op.Errorf("Kernel", "Kernel has %d dims (%v); want 1 to 3", nd, cfg.Kernel)
	}
	if len(x) != nd+2 {
		return nil, op.Errorf("x", "x has shape %v; want N, C and %d spatial dims", x, nd)
	}
	list := func(name string, v []int, def func(i int) int) ([]int, error) {
		if v == nil {
			out := make([]int, nd)
			for i := range out {
				out[i] = def(i)
			}
			return out, nil
		}
		if len(v) != nd {
			return nil, op.Errorf(name, "%s = %v has %d entries; Kernel has %d", name, v, len(v), nd)
		}
		return v, nil
	}
	stride, err := list("Stride", cfg.Stride, func(i int) int { return cfg.Kernel[i] })
	if err != nil {
		return nil, err
	}
	pad, err := list("Padding", cfg.Padding, func(int) int { return 0 })
	if err != nil {
		return nil, err
	}
	dil, err := list("Dilation", cfg.Dilation, func(int) int { return 1 })
	if err != nil {
		return nil, err
	}
	if !max && cfg.Dilation != nil {
		for _, d := range dil {
			if d != 1 {
				return nil, op.Errorf("Dilation", "Dilation = %v: average pooling has none", dil)
			}
		}
	}
	if cfg.DivisorOverride < 0 || (max && cfg.DivisorOverride != 0) {
		return nil, op.Errorf("DivisorOverride", "DivisorOverride = %d: want 0 (none) or a positive divisor, average pooling only", cfg.DivisorOverride)
	}
	ps := &poolShape{dims: [3]poolDim{{1, 1, 1, 1, 0, 1}, {1, 1, 1, 1, 0, 1}, {1, 1, 1, 1, 0, 1}}}
	ps.out = append(ps.out, x[0], x[1])
	if ps.planes, err = op.Product("x", "N x C", x[0], x[1]); err != nil {
		return nil, err
	}
	for i := 0; i < nd; i++ {
		d := poolDim{in: x[2+i], k: cfg.Kernel[i], stride: stride[i], pad: pad[i], dil: dil[i]}
		if d.k < 1 || d.stride < 1 || d.dil < 1 || d.pad < 0 {
			return nil, op.Errorf("Kernel", "dim %d: kernel %d, stride %d, dilation %d must be >= 1 and padding %d >= 0", i, d.k, d.stride, d.dil, d.pad)
		}
		if 2*d.pad > d.k {
			return nil, op.Errorf("Padding", "dim %d: padding %d is more than half the kernel %d", i, d.pad, d.k)
		}
		span := d.in + 2*d.pad - d.dil*(d.k-1) - 1
		if span < 0 {
			return nil, op.Errorf("x", "dim %d: the window (kernel %d, dilation %d) is larger than the padded input %d", i, d.k, d.dil, d.in+2*d.pad)
		}
		d.out = span/d.stride + 1
		if cfg.CeilMode {
			d.out = (span+d.stride-1)/d.stride + 1
			if (d.out-1)*d.stride >= d.in+d.pad { // the last window must start inside
				d.out--
			}
		}
		ps.dims[3-nd+i] = d
		ps.out = append(ps.out, d.out)
	}
	var ok bool
	ps.inLen, ok = shape.Product(ps.dims[0].in, ps.dims[1].in, ps.dims[2].in)
	ps.outLen, _ = shape.Product(ps.dims[0].out, ps.dims[1].out, ps.dims[2].out)
	if !ok {
		return nil, op.Errorf("x", "x has shape %v: too many elements", x)
	}
	return ps, nil
}

// MaxPool is max pooling over 1 to 3 spatial dims (torch.nn.MaxPool*d).
// The padding is -Inf; a NaN in a window wins it, as in PyTorch. Forward
// keeps the argmax of every output (Indices), flattened over the spatial
// dims of one (n, c) plane as return_indices gives it; Backward routes dy
// through them.
type MaxPool struct {
	pooling
	// reluBefore: the input is a ReLU's output whose mask this layer's
	// Backward applies (set by Sequential after a Conv with its ReLU
	// fused, which then skips it): the winner of a window was positive
	// exactly where the window's max is, so the mask is applied to dy, a
	// quarter of the elements for 2x2 pooling.
	reluBefore bool
	y          *Tensor // the last Forward's output
	masked     buffers
	in         *Tensor // the last Forward's x
	indices    []int32
	haveIdx    bool // indices are the last Forward's (the 2x2 path makes them on demand)
	idx        map[int][]int32
}

// pooling is what max and average pooling share: the configuration, the
// resolved shapes, the buffers.
type pooling struct {
	cfg     PoolConfig
	op      shape.Op
	shapes  poolShapes
	ps      *poolShape // the last Forward's
	out, dx buffers
}

// forwardStart checks x, resolves the pooling's shape for it and returns
// the output's buffer.
func (p *pooling) forwardStart(x *Tensor, isMax bool) (*Tensor, error) {
	if err := checkTensor(p.op, "x", x); err != nil {
		return nil, err
	}
	ps, err := p.shapes.resolve(p.op, &p.cfg, isMax, x.Shape)
	if err != nil {
		return nil, err
	}
	p.ps = ps
	return p.out.get(ps.out...), nil
}

// backwardStart checks dy against the last Forward and returns dx's
// buffer, or nil (and the error, if any) when there is nothing to compute.
func (p *pooling) backwardStart(dy *Tensor, needDX bool) (*Tensor, error) {
	if p.ps == nil {
		return nil, p.op.Errorf("dy", "Backward before Forward")
	}
	if err := checkGrad(p.op, dy, p.ps.out); err != nil || !needDX {
		return nil, err
	}
	return p.dx.get(p.ps.in...), nil
}

// newPooling validates what it can of cfg without an input (the rest is
// checked against each input's shape).
func newPooling(kind string, cfg PoolConfig) (pooling, error) {
	p := pooling{cfg: cfg, op: shape.Op(poolName(kind, len(cfg.Kernel)))}
	return p, checkPoolConfig(p.op, &cfg, kind == "max")
}

// NewMaxPool validates what it can of cfg without an input (the rest is
// checked against each input's shape).
func NewMaxPool(cfg PoolConfig) (*MaxPool, error) {
	p, err := newPooling("max", cfg)
	if err != nil {
		return nil, err
	}
	return &MaxPool{pooling: p, idx: map[int][]int32{}}, nil
}

// AvgPool is average pooling over 1 to 3 spatial dims (torch.nn.AvgPool*d),
// with PyTorch's divisor rules: the window clipped to the padded input,
// the padding counted or not (CountIncludePad), or DivisorOverride.
type AvgPool struct {
	pooling
}

// NewAvgPool validates what it can of cfg without an input.
func NewAvgPool(cfg PoolConfig) (*AvgPool, error) {
	p, err := newPooling("avg", cfg)
	if err != nil {
		return nil, err
	}
	return &AvgPool{pooling: p}, nil
}

func poolName(kind string, nd int) string {
	return kind + "_pool" + string(rune('0'+nd)) + "d"
}

// checkPoolConfig resolves cfg on a dummy input as large as the window
// needs, so a bad configuration fails at construction.
func checkPoolConfig(op shape.Op, cfg *PoolConfig, max bool) error {
	x := []int{1, 1}
	for i, k := range cfg.Kernel {
		d := 1
		if cfg.Dilation != nil && i < len(cfg.Dilation) && cfg.Dilation[i] > 0 {
			d = cfg.Dilation[i]
		}
		x = append(x, max0(d*(k-1)+1))
	}
	_, err := resolvePool(op, cfg, max, x)
	return err
}

func max0(v int) int { return max(v, 1) }

// poolShapes keeps a pooling's resolved shapes, one per input shape (the
// training batch, the last batch, the evaluation batch), so that a call
// on a shape seen before allocates nothing.
type poolShapes struct {
	kept []*poolShape
}

// resolve returns the pooling's shape for input dims x, resolving and
// keeping it on first use.
func (k *poolShapes) resolve(op shape.Op, cfg *PoolConfig, isMax bool, x []int) (*poolShape, error) {
	for _, ps := range k.kept {
		if sameDims(ps.in, x) {
			return ps, nil
		}
	}
	ps, err := resolvePool(op, cfg, isMax, x)
	if err != nil {
		return nil, err
	}
	ps.in = append([]int(nil), x...)
	k.kept = append(k.kept, ps)
	return ps, nil
}

// Forward computes y = maxpool(x) and records the argmax of each output
// (the 2x2 stride-2 path finds them again from x only when Indices asks).
func (p *MaxPool) Forward(x *Tensor) (*Tensor, error) {
	y, err := p.forwardStart(x, true)
	if err != nil {
		return nil, err
	}
	n := len(y.Data)
	if p.idx[n] == nil {
		p.idx[n] = make([]int32, n)
	}
	p.indices, p.in, p.y = p.idx[n], x, y
	if p.ps.pairs2x2() {
		ow, w := p.ps.dims[2].out, p.ps.dims[2].in
		p.ps.slices2x2(func(yAt, xAt, rows int) {
			kernels.MaxPool2(y.Data[yAt:], x.Data[xAt:], rows, ow, w)
		})
		p.haveIdx = false
		return y, nil
	}
	maxPoolForward(p.ps, y.Data, p.indices, x.Data)
	p.haveIdx = true
	return y, nil
}

// Indices are the argmax positions of the last Forward, one per output
// element, each flattened over its plane's spatial dims (the window's
// first maximum, or its last NaN, as PyTorch's return_indices gives).
func (p *MaxPool) Indices() []int32 {
	if !p.haveIdx && p.in != nil {
		p.indices2x2()
	}
	return p.indices
}

// indices2x2 finds the argmax of every 2x2 window by MaxPool2's rule.
func (p *MaxPool) indices2x2() {
	ps, x := p.ps, p.in.Data
	ow, w := ps.dims[2].out, ps.dims[2].in
	ps.slices2x2(func(yAt, xAt, rows int) {
		for r := 0; r < rows; r++ {
			for j := 0; j < ow; j++ {
				a := xAt + 2*r*w + 2*j
				at := [4]int{a, a + 1, a + w, a + w + 1}
				k := 0
				for i := 1; i < 4; i++ {
					if v := x[at[i]]; v > x[at[k]] || v != v {
						k = i
					}
				}
				p.indices[yAt+r*ow+j] = int32(at[k] % ps.inLen)
			}
		}
	})
	p.haveIdx = true
}

// Backward computes dx: each dy element added at its argmax (masked by
// the ReLU before, when it applies that mask).
func (p *MaxPool) Backward(dy *Tensor, needDX bool) (*Tensor, error) {
	dx, err := p.backwardStart(dy, needDX)
	if dx == nil {
		return nil, err
	}
	if p.reluBefore {
		g := p.masked.get(dy.Shape...)
		kernels.ReluBackward(g.Data, p.y.Data, dy.Data)
		dy = g
	}
	ps := p.ps
	if ps.pairs2x2() {
		p.backward2x2(dx.Data, dy.Data)
		return dx, nil
	}
	clear(dx.Data)
	idx := p.Indices()
	for pl := 0; pl < ps.planes; pl++ {
		dxp := dx.Data[pl*ps.inLen : (pl+1)*ps.inLen]
		for i, g := range dy.Data[pl*ps.outLen : (pl+1)*ps.outLen] {
			if at := idx[pl*ps.outLen+i]; at >= 0 && int(at) < ps.inLen { // a window wholly in the padding has none
				dxp[at] += g
			}
		}
	}
	return dx, nil
}

// backward2x2 routes dy through the 2x2 windows on the vector kernel,
// which writes every element of the windows; the column and row an odd
// size leaves outside them are zeroed first.
func (p *MaxPool) backward2x2(dx, dy []float32) {
	ps, x := p.ps, p.in.Data
	ow, w := ps.dims[2].out, ps.dims[2].in
	if 2*ow != w || 2*ps.dims[1].out != ps.dims[1].in {
		clear(dx)
	}
	ps.slices2x2(func(yAt, xAt, rows int) {
		kernels.MaxPool2Backward(dx[xAt:], x[xAt:], dy[yAt:], rows, ow, w)
	})
}

// Params returns none: pooling has no parameters.
func (p *MaxPool) Params() []*Param { return nil }

// maxPoolForward is the forward sweep: per plane, per output, the max over
// the window's positions inside the input. A window can lie wholly in the
// padding (a dilated one): it gives -Inf, and PyTorch's index, past the
// plane, which Backward skips.
// As in PyTorch, v > best || v is NaN takes a position: the last NaN of a
// window wins it.
func maxPoolForward(ps *poolShape, y []float32, indices []int32, x []float32) {
	dd, dh, dw := ps.dims[0], ps.dims[1], ps.dims[2]
	ps.windows(func(o, plane int, _, first, count [3]int) {
		xp := x[plane : plane+ps.inLen]
		best := float32(math.Inf(-1))
		at := (first[0]*dh.in+first[1])*dw.in + first[2]
		for i := 0; i < count[0]; i++ {
			for j := 0; j < count[1]; j++ {
				row := ((first[0]+i*dd.dil)*dh.in + first[1] + j*dh.dil) * dw.in
				for k := 0; k < count[2]; k++ {
					pos := row + first[2] + k*dw.dil
					if v := xp[pos]; v > best || v != v {
						best, at = v, pos
					}
				}
			}
		}
		y[o], indices[o] = best, int32(at)
	})
}

// windows calls f for every output of the general window loop, in order:
// its index o in the output, its plane's offset in the input, its
// coordinates, and per dim its window's first position inside the input
// and how many (dilation apart).
func (ps *poolShape) windows(f func(o, plane int, out, first, count [3]int)) {
	dd, dh, dw := ps.dims[0], ps.dims[1], ps.dims[2]
	o := 0
	for pl := 0; pl < ps.planes; pl++ {
		for od := 0; od < dd.out; od++ {
			d0, nd := dd.window(od)
			for oh := 0; oh < dh.out; oh++ {
				h0, nh := dh.window(oh)
				for ow := 0; ow < dw.out; ow++ {
					w0, nw := dw.window(ow)
					f(o, pl*ps.inLen, [3]int{od, oh, ow}, [3]int{d0, h0, w0}, [3]int{nd, nh, nw})
					o++
				}
			}
		}
	}
}

// pairs2x2 reports whether the pooling is the common 2x2 stride-2
// unpadded one (LeNet's, VGG's, U-Net's) over the last two dims, which
// runs on the vector kernels kernels.MaxPool2 and MaxPool2Backward: two
// input rows give one output row.
func (ps *poolShape) pairs2x2() bool {
	dd, dh, dw := ps.dims[0], ps.dims[1], ps.dims[2]
	return dd.k == 1 && dd.stride == 1 && dd.pad == 0 &&
		dh.k == 2 && dw.k == 2 && dh.stride == 2 && dw.stride == 2 &&
		dh.pad == 0 && dw.pad == 0 && dh.dil == 1 && dw.dil == 1 &&
		2*dh.out <= dh.in && 2*dw.out <= dw.in // ceil mode's partial windows take the general loop
}

// slices2x2 calls f for each run of output rows that the kernels can take
// in one call: rows output rows from y[yAt:] on input rows from x[xAt:],
// 2·W floats apart. When H is even the rows of every plane and depth are
// one such run; otherwise each (plane, depth) slice is one.
func (ps *poolShape) slices2x2(f func(yAt, xAt, rows int)) {
	dd, dh, dw := ps.dims[0], ps.dims[1], ps.dims[2]
	if dh.in == 2*dh.out {
		f(0, 0, ps.planes*dd.out*dh.out)
		return
	}
	for s := 0; s < ps.planes*dd.out; s++ {
		f(s*dh.out*dw.out, s*dh.in*dw.in, dh.out)
	}
}

// Forward computes y = avgpool(x).
func (p *AvgPool) Forward(x *Tensor) (*Tensor, error) {
	y, err := p.forwardStart(x, false)
	if err != nil {
		return nil, err
	}
	p.sweep(y.Data, x.Data, false)
	return y, nil
}

// Backward computes dx: each dy element spread evenly over its window.
func (p *AvgPool) Backward(dy *Tensor, needDX bool) (*Tensor, error) {
	dx, err := p.backwardStart(dy, needDX)
	if dx == nil {
		return nil, err
	}
	clear(dx.Data)
	p.sweep(dy.Data, dx.Data, true)
	return dx, nil
}

// Params returns none: pooling has no parameters.
func (p *AvgPool) Params() []*Param { return nil }

// divisor is PyTorch's for a window: the product over dims of the window
// clipped to the padded input (CountIncludePad) or to the input.
func (p *AvgPool) divisor(s [3]int, n [3]int) float32 {
	if p.cfg.DivisorOverride > 0 {
		return float32(p.cfg.DivisorOverride)
	}
	if !p.cfg.CountIncludePad {
		return float32(n[0] * n[1] * n[2])
	}
	div := 1
	for i, d := range p.ps.dims {
		start := s[i]*d.stride - d.pad
		div *= min(start+d.k, d.in+d.pad) - start
	}
	return float32(div)
}

// sweep runs the windows: forward (y = mean, back false: a is y, b is x)
// or backward (back: a is dy, b is dx, each dy/divisor added over the
// window).
func (p *AvgPool) sweep(a, b []float32, back bool) {
	dh, dw := p.ps.dims[1], p.ps.dims[2]
	p.ps.windows(func(o, plane int, out, first, count [3]int) {
		div := p.divisor(out, count)
		var s float32
		g := a[o] / div
		for i := 0; i < count[0]; i++ {
			for j := 0; j < count[1]; j++ {
				row := b[plane+((first[0]+i)*dh.in+first[1]+j)*dw.in+first[2]:][:count[2]]
				for k := range row {
					if back {
						row[k] += g
					} else {
						s += row[k]
					}
				}
			}
		}
		if !back {
			a[o] = s / div
		}
	})
}

// checkGrad checks that dy has the shape of the last Forward's output.
func checkGrad(op shape.Op, dy *Tensor, want []int) error {
	if want == nil {
		return op.Errorf("dy", "Backward before Forward")
	}
	if err := checkTensor(op, "dy", dy); err != nil {
		return err
	}
	if !sameDims(dy.Shape, want) {
		return op.Errorf("dy", "dy has shape %v; the last Forward's output has %v", dy.Shape, want)
	}
	return nil
}
