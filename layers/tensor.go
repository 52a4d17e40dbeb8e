package layers

import (
	"fmt"

	"github.com/convkit/convkit/internal/shape"
)

// Tensor is a shape and its float32 data, row-major (NCHW for images):
// the last dimension is contiguous. It is deliberately small: the layers
// need a shape to check and a slice to hand to the kernels, nothing more.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor returns a zeroed tensor of that shape. It panics on a negative
// dimension or a size that overflows int, as make does.
func NewTensor(dims ...int) *Tensor {
	n, err := elements(dims)
	if err != nil {
		panic("layers: NewTensor: " + err.Error())
	}
	return &Tensor{Shape: append([]int(nil), dims...), Data: make([]float32, n)}
}

// FromData wraps data as a tensor of that shape (no copy); the sizes must
// agree.
func FromData(data []float32, dims ...int) (*Tensor, error) {
	n, err := elements(dims)
	if err != nil {
		return nil, err
	}
	if n != len(data) {
		return nil, fmt.Errorf("layers: shape %v has %d elements, data has %d", dims, n, len(data))
	}
	return &Tensor{Shape: append([]int(nil), dims...), Data: data}, nil
}

// Len is the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Dims is the number of dimensions.
func (t *Tensor) Dims() int { return len(t.Shape) }

// Reshape returns a tensor sharing t's data with another shape of the same
// size.
func (t *Tensor) Reshape(dims ...int) (*Tensor, error) { return FromData(t.Data, dims...) }

// SameShape reports whether t and u have the same dimensions.
func (t *Tensor) SameShape(u *Tensor) bool { return sameDims(t.Shape, u.Shape) }

// String gives the shape, for error messages and logs.
func (t *Tensor) String() string { return fmt.Sprintf("Tensor%v", t.Shape) }

// checkTensor is the check at every layer's entry: t's dims are
// non-negative and its data holds exactly their product, so that the
// layer's loops and kernels can trust the shape.
func checkTensor(op shape.Op, name string, t *Tensor) error {
	if t == nil {
		return op.Errorf(name, "%s is nil", name)
	}
	n, err := elements(t.Shape)
	if err != nil {
		return op.Errorf(name, "%s: %v", name, err)
	}
	if n != len(t.Data) {
		return op.Errorf(name, "%s has shape %v (%d elements) but %d data", name, t.Shape, n, len(t.Data))
	}
	return nil
}

func elements(dims []int) (int, error) {
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("layers: negative dimension in shape %v", dims)
		}
	}
	n, ok := shape.Product(dims...)
	if !ok {
		return 0, fmt.Errorf("layers: shape %v has more than math.MaxInt elements", dims)
	}
	return n, nil
}

func sameDims(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// buffers keeps a layer's output (or gradient) tensors, one per shape, so
// that a network run on the same batch sizes allocates only the first time:
// the training batch, the smaller last batch and the evaluation batch each
// get one tensor and keep it. A layer's returned tensor is therefore valid
// until its next call with the same shape.
type buffers struct {
	ts []*Tensor
}

// get returns the kept tensor of shape dims, making it on first use. Its
// contents are whatever the last call left.
func (b *buffers) get(dims ...int) *Tensor {
	for _, t := range b.ts {
		if sameDims(t.Shape, dims) {
			return t
		}
	}
	t := NewTensor(dims...)
	b.ts = append(b.ts, t)
	return t
}
