package layers

import (
	"github.com/convkit/convkit/internal/shape"
	"github.com/convkit/convkit/kernels"
)

// ReLU is y = max(x, 0) (NaN passes through, as in PyTorch).
type ReLU struct {
	y       *Tensor
	out, dx buffers
}

// NewReLU returns a ReLU layer.
func NewReLU() *ReLU { return &ReLU{} }

// Forward computes y = relu(x).
func (r *ReLU) Forward(x *Tensor) (*Tensor, error) {
	if err := checkTensor("relu", "x", x); err != nil {
		return nil, err
	}
	y := r.out.like(x)
	kernels.Relu(y.Data, x.Data)
	r.y = y
	return y, nil
}

// Backward computes dx = dy where y > 0, else 0 (PyTorch's rule, which
// uses the output: relu(x) > 0 exactly where x > 0).
func (r *ReLU) Backward(dy *Tensor, needDX bool) (*Tensor, error) {
	if r.y == nil {
		return nil, shape.Op("relu").Errorf("dy", "Backward before Forward")
	}
	if err := checkGrad("relu", dy, r.y.Shape, r.y.Lanes); err != nil || !needDX {
		return nil, err
	}
	dx := r.dx.like(dy)
	kernels.ReluBackward(dx.Data, r.y.Data, dy.Data)
	return dx, nil
}

// Params returns none.
func (r *ReLU) Params() []*Param { return nil }

// LeakyReLU is y = x for x > 0, else Slope·x (torch.nn.LeakyReLU's
// negative_slope, 0.01 by default).
type LeakyReLU struct {
	Slope   float32
	x       *Tensor
	out, dx buffers
}

// NewLeakyReLU returns a LeakyReLU with that negative slope.
func NewLeakyReLU(slope float32) *LeakyReLU { return &LeakyReLU{Slope: slope} }

// Forward computes y.
func (r *LeakyReLU) Forward(x *Tensor) (*Tensor, error) {
	if err := checkTensor("leaky_relu", "x", x); err != nil {
		return nil, err
	}
	y := r.out.like(x)
	for i, v := range x.Data {
		if v <= 0 {
			v *= r.Slope
		}
		y.Data[i] = v
	}
	r.x = x
	return y, nil
}

// Backward computes dx = dy for x > 0, else Slope·dy.
func (r *LeakyReLU) Backward(dy *Tensor, needDX bool) (*Tensor, error) {
	if r.x == nil {
		return nil, shape.Op("leaky_relu").Errorf("dy", "Backward before Forward")
	}
	if err := checkGrad("leaky_relu", dy, r.x.Shape, r.x.Lanes); err != nil || !needDX {
		return nil, err
	}
	dx := r.dx.like(dy)
	for i, g := range dy.Data {
		if r.x.Data[i] <= 0 {
			g *= r.Slope
		}
		dx.Data[i] = g
	}
	return dx, nil
}

// Params returns none.
func (r *LeakyReLU) Params() []*Param { return nil }

// Flatten reshapes (N, ...) to (N, rest), as torch.nn.Flatten does; the
// data is shared, not copied.
type Flatten struct {
	x       []int
	out, dx []*Tensor
}

// NewFlatten returns a Flatten layer.
func NewFlatten() *Flatten { return &Flatten{} }

// Forward returns x viewed as (N, prod(rest)).
func (f *Flatten) Forward(x *Tensor) (*Tensor, error) {
	if err := checkPlain("flatten", "x", x); err != nil {
		return nil, err
	}
	if len(x.Shape) < 2 {
		return nil, shape.Op("flatten").Errorf("x", "x has shape %v; want (N, ...) of at least 2 dims", x.Shape)
	}
	f.x = append(f.x[:0], x.Shape...)
	n := x.Shape[0]
	rest := 1
	if n > 0 {
		rest = len(x.Data) / n
	}
	return view(&f.out, x.Data, n, rest), nil
}

// Backward returns dy viewed in the shape of Forward's x.
func (f *Flatten) Backward(dy *Tensor, needDX bool) (*Tensor, error) {
	if f.x == nil {
		return nil, shape.Op("flatten").Errorf("dy", "Backward before Forward")
	}
	n, _ := shape.Product(f.x...)
	if err := checkPlain("flatten", "dy", dy); err != nil {
		return nil, err
	}
	if len(dy.Data) != n || len(dy.Shape) != 2 || dy.Shape[0] != f.x[0] {
		return nil, shape.Op("flatten").Errorf("dy", "dy has shape %v; the last Forward's output has %d rows of %d", dy.Shape, f.x[0], n/max(f.x[0], 1))
	}
	if !needDX {
		return nil, nil
	}
	return view(&f.dx, dy.Data, f.x...), nil
}

// Params returns none.
func (f *Flatten) Params() []*Param { return nil }

// view returns a kept tensor header of that shape over data, allocating
// a header only for a new shape.
func view(kept *[]*Tensor, data []float32, dims ...int) *Tensor {
	for _, t := range *kept {
		if sameDims(t.Shape, dims) {
			t.Data = data
			return t
		}
	}
	t := &Tensor{Shape: append([]int(nil), dims...), Data: data}
	*kept = append(*kept, t)
	return t
}
