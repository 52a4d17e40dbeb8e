package layers

import (
	"math/rand/v2"

	"github.com/convkit/convkit/internal/shape"
	"github.com/convkit/convkit/kernels"
)

// Skip connections, written as containers so that a network with them is
// still a tree of Layers: Residual is ResNet's y = x + body(x), Concat is
// U-Net's y = cat(x, body(x)) along the channels. A U-Net level is
// Concat{down, inner, up}: the encoder's output x goes both ways, and the
// decoder sees it beside the upsampled features.

// Residual is y = x + Body(x): Body must keep x's shape.
type Residual struct {
	Body    Layer
	out, dx buffers
}

// NewResidual returns the residual connection around body.
func NewResidual(body Layer) *Residual { return &Residual{Body: body} }

// Forward computes x + Body(x).
func (r *Residual) Forward(x *Tensor) (*Tensor, error) {
	b, err := r.Body.Forward(x)
	if err != nil {
		return nil, err
	}
	if !b.SameShape(x) {
		return nil, shape.Op("residual").Errorf("Body", "the body maps %v to %v; a residual needs the same shape", x.Shape, b.Shape)
	}
	y := r.out.like(x)
	kernels.Add(y.Data, x.Data, b.Data)
	return y, nil
}

// Backward passes dy to the body and adds the body's input gradient to
// dy, the gradient of the identity path.
func (r *Residual) Backward(dy *Tensor, needDX bool) (*Tensor, error) {
	g, err := r.Body.Backward(dy, needDX)
	if err != nil || !needDX {
		return nil, err
	}
	dx := r.dx.like(dy)
	kernels.Add(dx.Data, dy.Data, g.Data)
	return dx, nil
}

// Params returns the body's, under "body.".
func (r *Residual) Params() []*Param { return prefixed("body.", r.Body.Params()) }

// Concat is y = cat(x, Body(x)) along dim 1 (the channels): the input's
// channels first, then the body's. Body must keep every other dim.
type Concat struct {
	Body    Layer
	x, b, y []int // the last Forward's input, body output and output shapes
	lanes   int   // and their layout
	out, dx buffers
	dbody   buffers
}

// NewConcat returns the concatenating skip connection around body.
func NewConcat(body Layer) *Concat { return &Concat{Body: body} }

// Forward computes cat(x, Body(x)).
func (c *Concat) Forward(x *Tensor) (*Tensor, error) {
	b, err := c.Body.Forward(x)
	if err != nil {
		return nil, err
	}
	if len(b.Shape) != len(x.Shape) || len(x.Shape) < 2 {
		return nil, shape.Op("concat").Errorf("Body", "the body maps %v to %v; a concatenation needs the same rank, at least 2", x.Shape, b.Shape)
	}
	for i := range x.Shape {
		if i != 1 && x.Shape[i] != b.Shape[i] {
			return nil, shape.Op("concat").Errorf("Body", "the body maps %v to %v: dim %d differs; only the channels may", x.Shape, b.Shape, i)
		}
	}
	if b.Lanes != x.Lanes {
		return nil, shape.Op("concat").Errorf("Body", "the body answers in channel blocks of %d, its input has %d", b.Lanes, x.Lanes)
	}
	c.x, c.b, c.lanes = append(c.x[:0], x.Shape...), append(c.b[:0], b.Shape...), x.Lanes
	y := c.out.getWithChannels(x, x.Shape[1]+b.Shape[1])
	c.y = y.Shape
	copyChannels(y, 0, x, 0, x.Shape[1])
	copyChannels(y, x.Shape[1], b, 0, b.Shape[1])
	return y, nil
}

// Backward splits dy into its two parts: the body's goes through the body,
// and the input's gradient is its part plus the body's input gradient.
func (c *Concat) Backward(dy *Tensor, needDX bool) (*Tensor, error) {
	if c.x == nil {
		return nil, shape.Op("concat").Errorf("dy", "Backward before Forward")
	}
	cx, cb := c.x[1], c.b[1]
	if err := checkGrad("concat", dy, c.y, c.lanes); err != nil {
		return nil, err
	}
	db := c.dbody.getBlocked(c.lanes, c.b...)
	copyChannels(db, 0, dy, cx, cb)
	g, err := c.Body.Backward(db, needDX)
	if err != nil || !needDX {
		return nil, err
	}
	dx := c.dx.getBlocked(c.lanes, c.x...)
	copyChannels(dx, 0, dy, 0, cx)
	kernels.Add(dx.Data, dx.Data, g.Data)
	return dx, nil
}

// copyChannels copies channels [sc0, sc0+nc) of every image of src into
// channels [dc0, dc0+nc) of dst (the same layout, batch and positions):
// runs of whole images' channel ranges, whole blocks where both ranges
// start a block and end one (or end their tensor's channels, whose
// padding lanes are zero), else a channel plane at a time.
func copyChannels(dst *Tensor, dc0 int, src *Tensor, sc0, nc int) {
	L, n, sp := src.Lanes, src.Shape[0], spatialOf(src.Shape)
	dC, sC := dst.Shape[1], src.Shape[1]
	whole := L == 0 || dc0%L == 0 && sc0%L == 0 && (nc%L == 0 || dc0+nc == dC && sc0+nc == sC)
	if whole {
		unit := 1 // the channels of a run: a block's, or one
		if L > 0 {
			unit = L
		}
		run := (nc + unit - 1) / unit * unit * sp
		dImg, sImg := len(dst.Data)/max(n, 1), len(src.Data)/max(n, 1)
		for i := 0; i < n; i++ {
			copy(dst.Data[i*dImg+dc0/unit*unit*sp:][:run], src.Data[i*sImg+sc0/unit*unit*sp:][:run])
		}
		return
	}
	for i := 0; i < n; i++ {
		for c := 0; c < nc; c++ {
			db, step := channelPlane(L, i, dC, dc0+c, sp)
			sb, _ := channelPlane(L, i, sC, sc0+c, sp)
			d, s := stridedPlane(dst.Data, db, step, sp), stridedPlane(src.Data, sb, step, sp)
			for j := 0; j < len(s); j += step {
				d[j] = s[j]
			}
		}
	}
}

// Params returns the body's, under "body.".
func (c *Concat) Params() []*Param { return prefixed("body.", c.Body.Params()) }

// getWithChannels is like for t's dims with dim 1 replaced by c.
func (b *buffers) getWithChannels(t *Tensor, c int) *Tensor {
	for _, u := range b.ts {
		if u.Lanes == t.Lanes && len(u.Shape) == len(t.Shape) && u.Shape[0] == t.Shape[0] && u.Shape[1] == c && sameDims(u.Shape[2:], t.Shape[2:]) {
			return u
		}
	}
	d := append([]int(nil), t.Shape...)
	d[1] = c
	return b.getBlocked(t.Lanes, d...)
}

// prefixed returns ps with prefix before each name.
func prefixed(prefix string, ps []*Param) []*Param {
	out := make([]*Param, len(ps))
	for i, p := range ps {
		out[i] = &Param{Name: prefix + p.Name, Value: p.Value, Grad: p.Grad}
	}
	return out
}

// Dropout zeroes each input element with probability P in training and
// scales the others by 1/(1-P), as torch.nn.Dropout does; in evaluation
// it is the identity. Its masks come from its own stream, seeded, so a
// run is reproducible.
type Dropout struct {
	P        float64
	training bool
	rng      *rand.Rand
	mask     []float32 // the last Forward's: 0 or 1/(1-P)
	out, dx  buffers
	identity bool // the last Forward passed x through
}

// NewDropout validates p (0 <= p < 1) and returns the layer, in training
// mode, drawing its masks from seed.
func NewDropout(p float64, seed uint64) (*Dropout, error) {
	if p < 0 || p >= 1 {
		return nil, shape.Op("dropout").Errorf("P", "P = %g: want 0 <= P < 1", p)
	}
	return &Dropout{P: p, training: true, rng: rand.New(rand.NewPCG(seed, 0x5eed))}, nil
}

// SetTraining switches dropout on (true) or off.
func (d *Dropout) SetTraining(training bool) { d.training = training }

// Forward drops and scales in training; passes x in evaluation.
func (d *Dropout) Forward(x *Tensor) (*Tensor, error) {
	if err := checkTensor("dropout", "x", x); err != nil {
		return nil, err
	}
	if !d.training || d.P == 0 {
		d.identity = true
		return x, nil
	}
	d.identity = false
	if cap(d.mask) < len(x.Data) {
		d.mask = make([]float32, len(x.Data))
	}
	d.mask = d.mask[:len(x.Data)]
	keep := float32(1 / (1 - d.P))
	y := d.out.like(x)
	for i, v := range x.Data {
		m := keep
		if d.rng.Float64() < d.P {
			m = 0
		}
		d.mask[i] = m
		y.Data[i] = v * m
	}
	return y, nil
}

// Backward applies the last Forward's mask to dy.
func (d *Dropout) Backward(dy *Tensor, needDX bool) (*Tensor, error) {
	switch {
	case !needDX:
		return nil, nil
	case d.identity:
		return dy, nil
	}
	if len(dy.Data) != len(d.mask) {
		return nil, shape.Op("dropout").Errorf("dy", "dy has %d elements; the last Forward had %d", len(dy.Data), len(d.mask))
	}
	dx := d.dx.like(dy)
	for i, g := range dy.Data {
		dx.Data[i] = g * d.mask[i]
	}
	return dx, nil
}

// Params returns none.
func (d *Dropout) Params() []*Param { return nil }

// setTraining, setThreads, resetFrom and buffersOf pass a container's
// calls on to a body that has them.
func setTraining(body Layer, training bool) {
	if t, ok := body.(Trainable); ok {
		t.SetTraining(training)
	}
}

func setThreads(body Layer, n int) {
	if t, ok := body.(interface{ SetThreads(int) }); ok {
		t.SetThreads(n)
	}
}

func resetFrom(body Layer, rng *rand.Rand) {
	switch r := body.(type) {
	case interface{ ResetFrom(*rand.Rand) }:
		r.ResetFrom(rng)
	case interface{ Reset(*rand.Rand) }:
		r.Reset(rng)
	}
}

func buffersOf(prefix string, body Layer) []*Buffer {
	st, ok := body.(Stateful)
	if !ok {
		return nil
	}
	var out []*Buffer
	for _, b := range st.Buffers() {
		out = append(out, &Buffer{Name: prefix + b.Name, Value: b.Value, Count: b.Count})
	}
	return out
}

// SetTraining sets the body's mode.
func (r *Residual) SetTraining(training bool) { setTraining(r.Body, training) }

// SetThreads sets the body's thread count.
func (r *Residual) SetThreads(n int) { setThreads(r.Body, n) }

// ResetFrom re-initializes the body from rng.
func (r *Residual) ResetFrom(rng *rand.Rand) { resetFrom(r.Body, rng) }

// Buffers returns the body's, under "body.".
func (r *Residual) Buffers() []*Buffer { return buffersOf("body.", r.Body) }

// SetTraining sets the body's mode.
func (c *Concat) SetTraining(training bool) { setTraining(c.Body, training) }

// SetThreads sets the body's thread count.
func (c *Concat) SetThreads(n int) { setThreads(c.Body, n) }

// ResetFrom re-initializes the body from rng.
func (c *Concat) ResetFrom(rng *rand.Rand) { resetFrom(c.Body, rng) }

// Buffers returns the body's, under "body.".
func (c *Concat) Buffers() []*Buffer { return buffersOf("body.", c.Body) }
