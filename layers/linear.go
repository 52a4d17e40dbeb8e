package layers

import (
	"math"
	"math/rand/v2"

	"github.com/convkit/convkit/gemm"
	"github.com/convkit/convkit/internal/shape"
	"github.com/convkit/convkit/kernels"
)

// Linear is y = x·Wᵀ + b over the last dim of x (torch.nn.Linear): W is
// (Out, In), b is (Out). Its products run on convkit's SGEMM.
type Linear struct {
	In, Out int
	Weight  *Param
	Bias    *Param // nil without bias

	ctx     *gemm.Context
	x       *Tensor
	dims    []int // the output's shape, kept to build it without allocating
	out, dx buffers
}

// NewLinear returns a Linear layer initialized as PyTorch's defaults do
// (Kaiming-uniform weights and a uniform bias, both bounded by 1/√In),
// from a fixed seed; Reset re-initializes it from another.
func NewLinear(in, out int, bias bool) (*Linear, error) {
	op := shape.Op("linear")
	if in < 1 || out < 1 {
		return nil, op.Errorf("In", "In = %d and Out = %d must be >= 1", in, out)
	}
	if _, err := op.Product("Weight", "Out x In", out, in); err != nil {
		return nil, err
	}
	l := &Linear{In: in, Out: out, Weight: newParam("weight", out, in), ctx: gemm.NewContext(0)}
	if bias {
		l.Bias = newParam("bias", out)
	}
	l.Reset(rand.New(rand.NewPCG(0, 0)))
	return l, nil
}

// Reset draws the parameters as torch.nn.Linear.reset_parameters does:
// W and b uniform in ±1/√In (Kaiming-uniform with a = √5 gives that bound
// for W).
func (l *Linear) Reset(rng *rand.Rand) {
	bound := 1 / math.Sqrt(float64(l.In))
	uniform(rng, l.Weight.Value.Data, bound)
	if l.Bias != nil {
		uniform(rng, l.Bias.Value.Data, bound)
	}
}

// SetThreads sets the thread count of the layer's products (<= 0:
// GOMAXPROCS). Results are the same for every count.
func (l *Linear) SetThreads(n int) { l.ctx = gemm.NewContext(n) }

// Params returns the weight and the bias.
func (l *Linear) Params() []*Param {
	if l.Bias == nil {
		return []*Param{l.Weight}
	}
	return []*Param{l.Weight, l.Bias}
}

// rows checks that t's last dim is want and returns the number of rows.
func lastDimRows(op shape.Op, name string, t *Tensor, want int) (int, error) {
	if err := checkPlain(op, name, t); err != nil {
		return 0, err
	}
	if len(t.Shape) < 1 || t.Shape[len(t.Shape)-1] != want {
		return 0, op.Errorf(name, "%s has shape %v; its last dim must be %d", name, t.Shape, want)
	}
	return len(t.Data) / want, nil
}

// Forward computes y = x·Wᵀ + b.
func (l *Linear) Forward(x *Tensor) (*Tensor, error) {
	rows, err := lastDimRows("linear", "x", x, l.In)
	if err != nil {
		return nil, err
	}
	l.dims = append(append(l.dims[:0], x.Shape[:len(x.Shape)-1]...), l.Out)
	y := l.out.get(l.dims...)
	l.x = x
	if rows == 0 {
		return y, nil
	}
	l.ctx.Sgemm(false, true, rows, l.Out, l.In, 1, x.Data, l.In, l.Weight.Value.Data, l.In, 0, y.Data, l.Out)
	if l.Bias != nil {
		b := l.Bias.Value.Data
		for r := 0; r < rows; r++ {
			row := y.Data[r*l.Out : (r+1)*l.Out]
			kernels.Add(row, row, b)
		}
	}
	return y, nil
}

// Backward computes dW = dyᵀ·x, db = the column sums of dy, and, when
// needDX, dx = dy·W.
func (l *Linear) Backward(dy *Tensor, needDX bool) (*Tensor, error) {
	if l.x == nil {
		return nil, shape.Op("linear").Errorf("dy", "Backward before Forward")
	}
	rows, err := lastDimRows("linear", "dy", dy, l.Out)
	if err != nil {
		return nil, err
	}
	if want := len(l.x.Data) / l.In; rows != want || !sameDims(dy.Shape[:len(dy.Shape)-1], l.x.Shape[:len(l.x.Shape)-1]) {
		return nil, shape.Op("linear").Errorf("dy", "dy has shape %v; the last Forward's x was %v", dy.Shape, l.x.Shape)
	}
	dw := l.Weight.Grad.Data
	if rows == 0 {
		clear(dw)
	} else {
		l.ctx.Sgemm(true, false, l.Out, l.In, rows, 1, dy.Data, l.Out, l.x.Data, l.In, 0, dw, l.In)
	}
	if l.Bias != nil {
		columnSums(l.Bias.Grad.Data, dy.Data, rows)
	}
	if !needDX {
		return nil, nil
	}
	dx := l.dx.get(l.x.Shape...)
	if rows > 0 {
		l.ctx.Sgemm(false, false, rows, l.In, l.Out, 1, dy.Data, l.Out, l.Weight.Value.Data, l.In, 0, dx.Data, l.In)
	}
	return dx, nil
}

// columnSums sets sum[j] to the sum over rows of m[r][j], the rows added
// in order (m is rows x len(sum)).
func columnSums(sum, m []float32, rows int) {
	clear(sum)
	n := len(sum)
	for r := 0; r < rows; r++ {
		kernels.Add(sum, sum, m[r*n:(r+1)*n])
	}
}

// uniform fills v from U(-bound, bound).
func uniform(rng *rand.Rand, v []float32, bound float64) {
	for i := range v {
		v[i] = float32((2*rng.Float64() - 1) * bound)
	}
}
