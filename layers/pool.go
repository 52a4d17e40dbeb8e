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
	lanes  int   // the input's channel block (0: row-major)
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
	ps, err := p.shapes.resolve(p.op, &p.cfg, isMax, x)
	if err != nil {
		return nil, err
	}
	p.ps = ps
	return p.out.getBlocked(ps.lanes, ps.out...), nil
}

// backwardStart checks dy against the last Forward and returns dx's
// buffer, or nil (and the error, if any) when there is nothing to compute.
func (p *pooling) backwardStart(dy *Tensor, needDX bool) (*Tensor, error) {
	if p.ps == nil {
		return nil, p.op.Errorf("dy", "Backward before Forward")
	}
	if err := checkGrad(p.op, dy, p.ps.out, p.ps.lanes); err != nil || !needDX {
		return nil, err
	}
	return p.dx.getBlocked(p.ps.lanes, p.ps.in...), nil
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

// resolve returns the pooling's shape for input x's dims and layout,
// resolving and keeping it on first use.
func (k *poolShapes) resolve(op shape.Op, cfg *PoolConfig, isMax bool, x *Tensor) (*poolShape, error) {
	for _, ps := range k.kept {
		if ps.lanes == x.Lanes && sameDims(ps.in, x.Shape) {
			return ps, nil
		}
	}
	ps, err := resolvePool(op, cfg, isMax, x.Shape)
	if err != nil {
		return nil, err
	}
	ps.in, ps.lanes = append([]int(nil), x.Shape...), x.Lanes
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
	if p.ps.pairs2x2() && p.ps.lanes == 0 {
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
// first maximum, or its last NaN, as PyTorch's return_indices gives). For
// a blocked input they are in the output's blocked order (the padding
// lanes' entries mean nothing).
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
		g := p.masked.like(dy)
		kernels.ReluBackward(g.Data, p.y.Data, dy.Data)
		dy = g
	}
	ps := p.ps
	if ps.pairs2x2() && ps.lanes == 0 {
		p.backward2x2(dx.Data, dy.Data)
		return dx, nil
	}
	clear(dx.Data)
	idx := p.Indices()
	for pl := 0; pl < ps.vecPlanes(); pl++ {
		in, out, step, nl := ps.planeAt(pl)
		dxp := dx.Data[in : in+ps.inLen*step]
		for i := 0; i < ps.outLen; i++ {
			o := out + i*step
			for l, at := range idx[o : o+nl] {
				if at >= 0 && int(at) < ps.inLen { // a window wholly in the padding has none
					dxp[int(at)*step+l] += dy.Data[o+l]
				}
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
	var best [maxLanes]float32
	var at [maxLanes]int32
	ps.windows(func(o, plane, step, nl int, _, first, count [3]int) {
		xp := x[plane : plane+ps.inLen*step]
		b, a := best[:nl], at[:nl]
		first0 := int32((first[0]*dh.in+first[1])*dw.in + first[2])
		for l := range b {
			b[l], a[l] = float32(math.Inf(-1)), first0
		}
		for i := 0; i < count[0]; i++ {
			for j := 0; j < count[1]; j++ {
				row := ((first[0]+i*dd.dil)*dh.in + first[1] + j*dh.dil) * dw.in
				for k := 0; k < count[2]; k++ {
					pos := row + first[2] + k*dw.dil
					for l, v := range xp[pos*step : pos*step+nl] {
						if v > b[l] || v != v {
							b[l], a[l] = v, int32(pos)
						}
					}
				}
			}
		}
		copy(y[o:o+nl], b)
		copy(indices[o:o+nl], a)
	})
}

// maxLanes is the widest channel block (AVX-512's 16).
const maxLanes = 16

// windows calls f for every output of the general window loop, in order:
// its first index o in the output, its plane's first element in the
// input and the step between positions, the lanes the output holds (a
// channel, or a block's real channels: nl lanes at o, o+1, ...; at each
// input position the same), its coordinates, and per dim its window's
// first position inside the input and how many (dilation apart).
func (ps *poolShape) windows(f func(o, plane, step, nl int, out, first, count [3]int)) {
	dd, dh, dw := ps.dims[0], ps.dims[1], ps.dims[2]
	for pl := 0; pl < ps.vecPlanes(); pl++ {
		in, o, step, nl := ps.planeAt(pl)
		for od := 0; od < dd.out; od++ {
			d0, nd := dd.window(od)
			for oh := 0; oh < dh.out; oh++ {
				h0, nh := dh.window(oh)
				for ow := 0; ow < dw.out; ow++ {
					w0, nw := dw.window(ow)
					f(o, in, step, nl, [3]int{od, oh, ow}, [3]int{d0, h0, w0}, [3]int{nd, nh, nw})
					o += step
				}
			}
		}
	}
}

// vecPlanes is the planes the window loops sweep: N x C channel planes,
// or N x ceil(C/L) planes of blocks (every lane of a block at once).
func (ps *poolShape) vecPlanes() int {
	if L := ps.lanes; L > 0 {
		return ps.in[0] * ((ps.in[1] + L - 1) / L)
	}
	return ps.planes
}

// planeAt locates vector plane pl in the input and the output: each
// one's first element, the step between positions and the real lanes.
func (ps *poolShape) planeAt(pl int) (in, out, step, nl int) {
	L := ps.lanes
	if L == 0 {
		return pl * ps.inLen, pl * ps.outLen, 1, 1
	}
	cb := (ps.in[1] + L - 1) / L
	return pl * ps.inLen * L, pl * ps.outLen * L, L, min(L, ps.in[1]-pl%cb*L)
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
	var sum, grad [maxLanes]float32
	p.ps.windows(func(o, plane, step, nl int, out, first, count [3]int) {
		div := p.divisor(out, count)
		s, g := sum[:nl], grad[:nl]
		for l := range s {
			s[l], g[l] = 0, a[o+l]/div
		}
		for i := 0; i < count[0] && count[2] > 0; i++ {
			for j := 0; j < count[1]; j++ {
				at := plane + (((first[0]+i)*dh.in+first[1]+j)*dw.in+first[2])*step
				row := b[at : at+(count[2]-1)*step+nl]
				for k := 0; k < len(row); k += step {
					v := row[k : k+nl]
					for l := range v {
						if back {
							v[l] += g[l]
						} else {
							s[l] += v[l]
						}
					}
				}
			}
		}
		if !back {
			for l, v := range s {
				a[o+l] = v / div
			}
		}
	})
}

// checkGrad checks that dy has the shape and layout (lanes) of the last
// Forward's output.
func checkGrad(op shape.Op, dy *Tensor, want []int, lanes int) error {
	if want == nil {
		return op.Errorf("dy", "Backward before Forward")
	}
	if err := checkTensor(op, "dy", dy); err != nil {
		return err
	}
	if !sameDims(dy.Shape, want) || dy.Lanes != lanes {
		return op.Errorf("dy", "dy has shape %v%s; the last Forward's output has %v%s", dy.Shape, blockedNote(dy.Lanes), want, blockedNote(lanes))
	}
	return nil
}
