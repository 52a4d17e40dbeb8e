package layers

import (
	"fmt"

	"github.com/convkit/convkit/conv"
)

// The blocked layout in the layers: the conv-family layers (Conv, the
// activations, pooling, batch norm, dropout, Residual, Concat) take
// either layout and answer in the layout they were given; Flatten,
// Linear and the loss take row-major tensors. A Sequential reorders
// where its layers need it (blockedLayer), so that in blocked mode the
// activations stay blocked from the network's input to its first
// Flatten.

// blockedLayer is a layer that takes blocked tensors.
type blockedLayer interface {
	takesBlocked() bool
}

// takesBlocked reports whether l takes a blocked input.
func takesBlocked(l Layer) bool {
	b, ok := l.(blockedLayer)
	return ok && b.takesBlocked()
}

func (*Conv) takesBlocked() bool      { return true }
func (*ReLU) takesBlocked() bool      { return true }
func (*LeakyReLU) takesBlocked() bool { return true }
func (*MaxPool) takesBlocked() bool   { return true }
func (*AvgPool) takesBlocked() bool   { return true }
func (*BatchNorm) takesBlocked() bool { return true }
func (*Dropout) takesBlocked() bool   { return true }
func (*Sequential) takesBlocked() bool {
	return true // it reorders for its own layers
}
func (r *Residual) takesBlocked() bool { return takesBlocked(r.Body) }
func (c *Concat) takesBlocked() bool   { return takesBlocked(c.Body) }

// reorder moves tensors between row-major and blocked order on
// conv.Reorderer, one per block size, made on first use.
type reorder struct {
	threads int
	by      map[int]*conv.Reorderer
}

// to writes src into dst, which has src's shape in the other layout.
func (r *reorder) to(dst, src *Tensor) error {
	if !sameDims(dst.Shape, src.Shape) || (dst.Lanes == 0) == (src.Lanes == 0) || len(src.Shape) < 3 {
		return fmt.Errorf("layers: reorder of %v (lanes %d) into %v (lanes %d)", src.Shape, src.Lanes, dst.Shape, dst.Lanes)
	}
	lanes := max(dst.Lanes, src.Lanes)
	if r.by == nil {
		r.by = map[int]*conv.Reorderer{}
	}
	ro := r.by[lanes]
	if ro == nil {
		l, _ := conv.Blocked(lanes)
		ro = conv.NewReorderer(l, r.threads)
		r.by[lanes] = ro
	}
	n, c, sp := src.Shape[0], src.Shape[1], spatialOf(src.Shape)
	if dst.Lanes > 0 {
		ro.ToBlocked(dst.Data, src.Data, n, c, sp)
	} else {
		ro.ToChannelsFirst(dst.Data, src.Data, n, c, sp)
	}
	return nil
}

// setThreads drops the reorderers: the next are made for n threads.
func (r *reorder) setThreads(n int) { r.threads, r.by = n, nil }

// spatialOf is the product of dims past N and C.
func spatialOf(dims []int) int {
	s := 1
	for _, d := range dims[2:] {
		s *= d
	}
	return s
}

// channelPlane locates channel c of image n of a tensor of the given
// layout, c channels of sp positions each: its first element and the
// step from one position to the next (1 row-major, lanes blocked).
func channelPlane(lanes, n, ch, c, sp int) (base, step int) {
	if lanes == 0 {
		return (n*ch + c) * sp, 1
	}
	return ((n*((ch+lanes-1)/lanes)+c/lanes)*sp)*lanes + c%lanes, lanes
}

// stridedPlane is the slice holding a channel plane of sp positions from
// base, step apart: index it at j*step for j < sp.
func stridedPlane(v []float32, base, step, sp int) []float32 {
	if sp == 0 {
		return v[base:base]
	}
	return v[base : base+(sp-1)*step+1]
}
