package layers

import (
	"fmt"

	"github.com/convkit/convkit/conv"
	"github.com/convkit/convkit/internal/shape"
)

// Tensor is a shape and its float32 data, row-major (NCHW for images):
// the last dimension is contiguous. It is deliberately small: the layers
// need a shape to check and a slice to hand to the kernels, nothing more.
//
// A blocked tensor (Lanes > 0) holds an image batch with its channels in
// blocks of Lanes, the direct kernels' layout (nChw16c for 16):
// N x ceil(C/Lanes) x spatial x Lanes, a pixel's Lanes channels of a
// block contiguous. Its Shape is still the logical (N, C, spatial...);
// the last block's lanes past C are zero. A Sequential in blocked mode
// (SetBlocked) keeps activations so from layer to layer; Blocked and
// Plain convert.
type Tensor struct {
	Shape []int
	Data  []float32
	Lanes int // 0: row-major; else the channel block of a blocked tensor
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

// NewBlocked returns a zeroed blocked tensor of logical shape dims (N, C,
// spatial...) with channel blocks of lanes (4, 8 or 16).
func NewBlocked(lanes int, dims ...int) *Tensor {
	n, err := dataLen(dims, lanes)
	if err != nil {
		panic("layers: NewBlocked: " + err.Error())
	}
	return &Tensor{Shape: append([]int(nil), dims...), Data: make([]float32, n), Lanes: lanes}
}

// Blocked returns t with its channels in blocks of the host's direct
// kernels (conv.BlockedLayout), a new tensor; t itself when it is
// blocked already.
func (t *Tensor) Blocked() (*Tensor, error) {
	if t.Lanes > 0 {
		return t, nil
	}
	if err := checkTensor("tensor", "t", t); err != nil {
		return nil, err
	}
	var r reorder
	out := NewBlocked(conv.BlockedLayout().Lanes(), t.Shape...)
	if err := r.to(out, t); err != nil {
		return nil, err
	}
	return out, nil
}

// Plain returns t row-major, a new tensor; t itself when it is plain.
func (t *Tensor) Plain() (*Tensor, error) {
	if t.Lanes == 0 {
		return t, nil
	}
	if err := checkTensor("tensor", "t", t); err != nil {
		return nil, err
	}
	var r reorder
	out := NewTensor(t.Shape...)
	if err := r.to(out, t); err != nil {
		return nil, err
	}
	return out, nil
}

// Len is the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Dims is the number of dimensions.
func (t *Tensor) Dims() int { return len(t.Shape) }

// Reshape returns a tensor sharing t's data with another shape of the same
// size; t must be row-major.
func (t *Tensor) Reshape(dims ...int) (*Tensor, error) {
	if t.Lanes > 0 {
		return nil, fmt.Errorf("layers: Reshape of a blocked tensor (channel blocks of %d): Plain first", t.Lanes)
	}
	return FromData(t.Data, dims...)
}

// SameShape reports whether t and u have the same dimensions (and
// layout).
func (t *Tensor) SameShape(u *Tensor) bool { return t.Lanes == u.Lanes && sameDims(t.Shape, u.Shape) }

// String gives the shape, for error messages and logs.
func (t *Tensor) String() string { return fmt.Sprintf("Tensor%v", t.Shape) }

// checkTensor is the check at every layer's entry: t's dims are
// non-negative and its data holds exactly their product, so that the
// layer's loops and kernels can trust the shape.
func checkTensor(op shape.Op, name string, t *Tensor) error {
	if t == nil {
		return op.Errorf(name, "%s is nil", name)
	}
	n, err := dataLen(t.Shape, t.Lanes)
	if err != nil {
		return op.Errorf(name, "%s: %v", name, err)
	}
	if n != len(t.Data) {
		return op.Errorf(name, "%s has shape %v (%d elements%s) but %d data", name, t.Shape, n, blockedNote(t.Lanes), len(t.Data))
	}
	return nil
}

// checkPlain is checkTensor for the layers that take row-major tensors
// alone (Flatten, Linear, the loss): a blocked one is an error naming
// the way out.
func checkPlain(op shape.Op, name string, t *Tensor) error {
	if err := checkTensor(op, name, t); err != nil {
		return err
	}
	if t.Lanes > 0 {
		return op.Errorf(name, "%s is blocked (channels in blocks of %d): this layer takes row-major tensors (Tensor.Plain, or a Sequential, which reorders)", name, t.Lanes)
	}
	return nil
}

func blockedNote(lanes int) string {
	if lanes == 0 {
		return ""
	}
	return fmt.Sprintf(" in channel blocks of %d", lanes)
}

// dataLen is the floats a tensor of dims holds: their product, the
// channels (dims[1]) rounded up to whole blocks when lanes > 0.
func dataLen(dims []int, lanes int) (int, error) {
	if lanes == 0 {
		return elements(dims)
	}
	if _, ok := conv.Blocked(lanes); !ok {
		return 0, fmt.Errorf("layers: %d lanes per channel block: want 4, 8 or 16", lanes)
	}
	if len(dims) < 3 {
		return 0, fmt.Errorf("layers: a blocked tensor has N, C and spatial dims; shape %v has %d dims", dims, len(dims))
	}
	n := 1
	for i, d := range dims { // no copy of dims: every layer call checks its tensors
		if d < 0 {
			return 0, fmt.Errorf("layers: negative dimension in shape %v", dims)
		}
		if i == 1 {
			d += (lanes - d%lanes) % lanes // at most 15 more: d is a tensor's channel count, far below MaxInt-15
			if d < 0 {
				return 0, fmt.Errorf("layers: shape %v: the channels overflow int in blocks of %d", dims, lanes)
			}
		}
		var ok bool
		if n, ok = shape.Mul(n, d); !ok {
			return 0, fmt.Errorf("layers: shape %v in channel blocks of %d has more than math.MaxInt elements", dims, lanes)
		}
	}
	return n, nil
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

// get returns the kept row-major tensor of shape dims, making it on first
// use. Its contents are whatever the last call left.
func (b *buffers) get(dims ...int) *Tensor { return b.getBlocked(0, dims...) }

// like is get of t's shape and layout.
func (b *buffers) like(t *Tensor) *Tensor { return b.getBlocked(t.Lanes, t.Shape...) }

// getBlocked is get of a tensor in channel blocks of lanes (0: row-major).
// The last block's lanes past C are zero when made and must be left so.
func (b *buffers) getBlocked(lanes int, dims ...int) *Tensor {
	for _, t := range b.ts {
		if t.Lanes == lanes && sameDims(t.Shape, dims) {
			return t
		}
	}
	var t *Tensor
	if lanes == 0 {
		t = NewTensor(dims...)
	} else {
		t = NewBlocked(lanes, dims...)
	}
	b.ts = append(b.ts, t)
	return t
}
