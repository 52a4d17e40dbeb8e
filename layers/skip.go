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
	y := r.out.get(x.Shape...)
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
	dx := r.dx.get(dy.Shape...)
	kernels.Add(dx.Data, dy.Data, g.Data)
	return dx, nil
}

// Params returns the body's, under "body.".
func (r *Residual) Params() []*Param { return prefixed("body.", r.Body.Params()) }

// Concat is y = cat(x, Body(x)) along dim 1 (the channels): the input's
// channels first, then the body's. Body must keep every other dim.
type Concat struct {
	Body    Layer
	x, b    []int
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
	c.x, c.b = append(c.x[:0], x.Shape...), append(c.b[:0], b.Shape...)
	n := x.Shape[0]
	cx, cb := x.Shape[1], b.Shape[1]
	per := len(x.Data) / max(n*cx, 1)
	y := c.out.getWithChannels(x.Shape, cx+cb)
	for i := 0; i < n; i++ {
		dst := y.Data[i*(cx+cb)*per:]
		copy(dst[:cx*per], x.Data[i*cx*per:(i+1)*cx*per])
		copy(dst[cx*per:(cx+cb)*per], b.Data[i*cb*per:(i+1)*cb*per])
	}
	return y, nil
}

// Backward splits dy into its two parts: the body's goes through the body,
// and the input's gradient is its part plus the body's input gradient.
func (c *Concat) Backward(dy *Tensor, needDX bool) (*Tensor, error) {
	if c.x == nil {
		return nil, shape.Op("concat").Errorf("dy", "Backward before Forward")
	}
	n, cx, cb := c.x[0], c.x[1], c.b[1]
	per := 1
	for _, d := range c.x[2:] {
		per *= d
	}
	if len(dy.Data) != n*(cx+cb)*per {
		return nil, shape.Op("concat").Errorf("dy", "dy has shape %v; the last Forward's output has %d channels of %v", dy.Shape, cx+cb, c.x)
	}
	db := c.dbody.get(c.b...)
	for i := 0; i < n; i++ {
		copy(db.Data[i*cb*per:(i+1)*cb*per], dy.Data[(i*(cx+cb)+cx)*per:(i+1)*(cx+cb)*per])
	}
	g, err := c.Body.Backward(db, needDX)
	if err != nil || !needDX {
		return nil, err
	}
	dx := c.dx.get(c.x...)
	for i := 0; i < n; i++ {
		at := i * cx * per
		kernels.Add(dx.Data[at:at+cx*per], dy.Data[i*(cx+cb)*per:][:cx*per], g.Data[at:at+cx*per])
	}
	return dx, nil
}

// Params returns the body's, under "body.".
func (c *Concat) Params() []*Param { return prefixed("body.", c.Body.Params()) }

// getWithChannels is get for dims with dim 1 replaced by c.
func (b *buffers) getWithChannels(dims []int, c int) *Tensor {
	for _, t := range b.ts {
		if len(t.Shape) == len(dims) && t.Shape[1] == c && sameDims(t.Shape[2:], dims[2:]) && t.Shape[0] == dims[0] {
			return t
		}
	}
	d := append([]int(nil), dims...)
	d[1] = c
	return b.get(d...)
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
	y := d.out.get(x.Shape...)
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
	dx := d.dx.get(dy.Shape...)
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
		out = append(out, &Buffer{Name: prefix + b.Name, Value: b.Value})
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
