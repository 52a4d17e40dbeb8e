package im2col

import (
	"fmt"

	"github.com/convkit/convkit/kernels"
)

// Mode is how a position past the long tensor's edge reads (the padding
// modes of torch.nn.Conv*d).
type Mode uint8

// The modes.
const (
	Zeros     Mode = iota // zero
	Reflect               // the edge mirrored, the edge element not repeated
	Replicate             // the edge element repeated
	Circular              // the tensor wrapped around
)

// Geometry is one lowering. A tap joins a short position sp and a kernel
// offset kp with the long position
//
//	lp[i] = sp[i]*Stride[i] - Pad[i] + kp[i]*Dilation[i]
//
// in every spatial dim i. For a convolution the long tensor is its input
// and the short positions are its output's; for a transposed convolution
// the roles are exchanged (and Mode is Zeros: a tap outside the long
// tensor is dropped). Every slice has one entry per spatial dim (1 to 3).
type Geometry struct {
	Short, Long, Kernel []int
	Stride, Dilation    []int
	Pad                 []int // before the first element, per dim
	Mode                Mode
}

// Lowering lowers planes of a long tensor into column matrices and adds
// them back. The column matrix of chans channels has chans*KernelSize
// rows, row c*KernelSize+r holding channel c at kernel offset r (offsets
// flattened row-major, the last dim fastest: PyTorch's weight order), and
// one column per short position (flattened row-major):
//
//	col[(c, r), j] = long[c, lp(j, r)], or the padding mode's value
//
// Lower fills a tile of columns and Lift adds a tile back (the adjoint: a
// padded element's value goes to the element the mode copied). The inner
// loops copy whole runs along the last dim; only the few elements in the
// padding are mapped one at a time. A Lowering holds no buffers and may be
// used by several goroutines at once.
type Lowering struct {
	g          Geometry
	d          int // spatial dims
	kernelSize int
	shortLen   int
	longPlane  int
	// The last dim: short and long sizes, the kernel taps, and the
	// stride, dilation and padding.
	shortW, longW, kw int
	stride, dil, pad  int
	// first[kl] and end[kl] bound the short positions o along the last dim
	// whose tap kl lands inside the long row: first[kl] <= o < end[kl].
	first, end []int
	// rowOf[so*outerTaps+ko] is the long row (the flattened index of the
	// long position over the outer dims) that short row so reads at outer
	// kernel offset ko, through the padding mode, or -1 where it reads
	// zeros (or, transposed, nothing).
	rowOf     []int32
	outerTaps int
	identity  bool
}

// New returns the lowering of g. It panics if g's slices disagree in
// length or hold sizes below 1 (the convolution's validation rules those
// out before a lowering is built).
func New(g Geometry) *Lowering {
	d := len(g.Short)
	for _, v := range [][]int{g.Long, g.Kernel, g.Stride, g.Dilation, g.Pad} {
		if len(v) != d || d < 1 || d > 3 {
			panic(fmt.Sprintf("im2col: geometry with %d short dims and a slice of %d", d, len(v)))
		}
	}
	last := d - 1
	l := &Lowering{g: g, d: d, kernelSize: prod(g.Kernel), shortLen: prod(g.Short), longPlane: prod(g.Long),
		shortW: g.Short[last], longW: g.Long[last], kw: g.Kernel[last],
		stride: g.Stride[last], dil: g.Dilation[last], pad: g.Pad[last]}
	l.identity = l.kernelSize == 1 && l.shortLen == l.longPlane
	for i := range d {
		l.identity = l.identity && g.Stride[i] == 1 && g.Pad[i] == 0 && g.Short[i] == g.Long[i]
	}
	l.first, l.end = make([]int, l.kw), make([]int, l.kw)
	for kl := range l.kw {
		l.first[kl], l.end[kl] = l.inside(kl)
	}
	l.buildRows()
	return l
}

// inside bounds the short positions o along the last dim for which
// o*stride - pad + kl*dil lies in [0, longW).
func (l *Lowering) inside(kl int) (first, end int) {
	base := kl*l.dil - l.pad // long = o*stride + base
	first = 0
	if base < 0 {
		first = ceilDiv(-base, l.stride)
	}
	end = 0
	if l.longW-1-base >= 0 {
		end = (l.longW-1-base)/l.stride + 1
	}
	first, end = min(first, l.shortW), min(end, l.shortW)
	return first, max(first, end)
}

// buildRows fills rowOf for every short row and outer kernel offset.
func (l *Lowering) buildRows() {
	g, outer := l.g, l.d-1
	shortRows, taps := prod(g.Short[:outer]), prod(g.Kernel[:outer])
	l.outerTaps = taps
	l.rowOf = make([]int32, shortRows*taps)
	sp, kp := make([]int, outer), make([]int, outer)
	for so := range shortRows {
		unflatten(so, g.Short[:outer], sp)
		for ko := range taps {
			unflatten(ko, g.Kernel[:outer], kp)
			row := 0
			for i := range outer {
				v := mapIndex(sp[i]*g.Stride[i]-g.Pad[i]+kp[i]*g.Dilation[i], g.Long[i], g.Mode)
				if v < 0 {
					row = -1
					break
				}
				row = row*g.Long[i] + v
			}
			l.rowOf[so*taps+ko] = int32(row)
		}
	}
}

// mapIndex maps a long index v along a dim of size n through the mode:
// v itself inside, the mode's source outside, -1 for zeros. The
// convolution's validation keeps reflect padding below n and circular
// padding at most n, so one reflection or wrap suffices.
func mapIndex(v, n int, m Mode) int {
	if v >= 0 && v < n {
		return v
	}
	switch m {
	case Reflect:
		if v < 0 {
			return -v
		}
		return 2*(n-1) - v
	case Replicate:
		return min(max(v, 0), n-1)
	case Circular:
		return ((v % n) + n) % n
	}
	return -1
}

// Identity reports whether the lowering is the identity: every short
// position reads the long position of the same index and nothing else (a
// 1x1 filter, stride 1, no padding, equal sizes). The long tensor is then
// its own column matrix, and callers skip the lowering.
func (l *Lowering) Identity() bool { return l.identity }

// KernelSize is the number of kernel offsets (rows per channel).
func (l *Lowering) KernelSize() int { return l.kernelSize }

// ShortLen is the number of short positions (columns).
func (l *Lowering) ShortLen() int { return l.shortLen }

// LongPlane is the number of elements of one channel of the long tensor.
func (l *Lowering) LongPlane() int { return l.longPlane }

// Lower fills col (chans*KernelSize rows of cols floats, row-major) with
// the columns [j0, j0+cols) of the lowering of src, chans channels of
// LongPlane floats each.
func (l *Lowering) Lower(col, src []float32, chans, j0, cols int) {
	l.check(col, src, chans, j0, cols)
	l.eachRun(j0, cols, func(so, a, b, dcol int) {
		for ko := range l.outerTaps {
			lrow := int(l.rowOf[so*l.outerTaps+ko])
			for c := range chans {
				r := (c*l.kernelSize + ko*l.kw) * cols
				if lrow < 0 {
					for kl := range l.kw {
						clear(col[r+kl*cols+dcol:][:b-a])
					}
					continue
				}
				row := src[c*l.longPlane+lrow*l.longW:][:l.longW]
				for kl := range l.kw {
					l.lowerRun(col[r+kl*cols+dcol:][:b-a], row, a, b, kl)
				}
			}
		}
	})
}

// Lift adds the columns [j0, j0+cols) of col back into dst, chans
// channels of LongPlane floats: the adjoint of Lower. The additions into
// each element come in a fixed order (run, outer kernel offset, channel,
// last-dim kernel offset), the same for any tiling of the same columns
// that starts tiles at the same j0s.
func (l *Lowering) Lift(dst, col []float32, chans, j0, cols int) {
	l.check(col, dst, chans, j0, cols)
	l.eachRun(j0, cols, func(so, a, b, dcol int) {
		for ko := range l.outerTaps {
			lrow := int(l.rowOf[so*l.outerTaps+ko])
			if lrow < 0 {
				continue
			}
			for c := range chans {
				r := (c*l.kernelSize + ko*l.kw) * cols
				row := dst[c*l.longPlane+lrow*l.longW:][:l.longW]
				for kl := range l.kw {
					l.liftRun(row, col[r+kl*cols+dcol:][:b-a], a, b, kl)
				}
			}
		}
	})
}

func (l *Lowering) check(col, long []float32, chans, j0, cols int) {
	if chans < 0 || j0 < 0 || cols < 0 || j0 > l.shortLen-cols {
		panic(fmt.Sprintf("im2col: columns [%d, %d+%d) of %d, %d channels", j0, j0, cols, l.shortLen, chans))
	}
	if len(col) < chans*l.kernelSize*cols {
		panic(fmt.Sprintf("im2col: len(col) = %d, need %d (%d rows x %d columns)", len(col), chans*l.kernelSize*cols, chans*l.kernelSize, cols))
	}
	if len(long) < chans*l.longPlane {
		panic(fmt.Sprintf("im2col: long tensor of %d floats, need %d (%d channels x %d)", len(long), chans*l.longPlane, chans, l.longPlane))
	}
}

// eachRun calls f for each run of the columns [j0, j0+cols) that lies in
// one short row: the row so and the last-dim positions [a, b), which start
// dcol columns into the tile.
func (l *Lowering) eachRun(j0, cols int, f func(so, a, b, dcol int)) {
	for j := j0; j < j0+cols; {
		so, a := j/l.shortW, j%l.shortW
		b := min(l.shortW, a+j0+cols-j)
		f(so, a, b, j-j0)
		j += b - a
	}
}

// lowerRun fills dst with the positions [a, b) of a short row at last-dim
// tap kl, from one long row.
func (l *Lowering) lowerRun(dst, row []float32, a, b, kl int) {
	lo, hi := clamp(l.first[kl], a, b), clamp(l.end[kl], a, b)
	base := kl*l.dil - l.pad
	l.lowerEdge(dst[:lo-a], row, a, base)
	mid := dst[lo-a : hi-a]
	if len(mid) > 0 {
		start := lo*l.stride + base
		switch l.stride {
		case 1:
			copy(mid, row[start:])
		case 2:
			gather2(mid, row[start:])
		default:
			for i := range mid {
				mid[i] = row[start+i*l.stride]
			}
		}
	}
	l.lowerEdge(dst[hi-a:], row, max(hi, a), base)
}

// lowerEdge fills dst with the positions from o0 on that fall in the
// padding: zeros, or the mode's source element.
func (l *Lowering) lowerEdge(dst, row []float32, o0, base int) {
	for i := range dst {
		if v := mapIndex((o0+i)*l.stride+base, l.longW, l.g.Mode); v >= 0 {
			dst[i] = row[v]
		} else {
			dst[i] = 0
		}
	}
}

// liftRun adds src (positions [a, b) of a short row at last-dim tap kl)
// into one long row.
func (l *Lowering) liftRun(row, src []float32, a, b, kl int) {
	lo, hi := clamp(l.first[kl], a, b), clamp(l.end[kl], a, b)
	base := kl*l.dil - l.pad
	l.liftEdge(row, src[:lo-a], a, base)
	mid := src[lo-a : hi-a]
	if n := len(mid); n > 0 {
		start := lo*l.stride + base
		switch l.stride {
		case 1:
			dst := row[start : start+n]
			kernels.Add(dst, dst, mid)
		case 2:
			scatterAdd2(row[start:], mid)
		default:
			for i, v := range mid {
				row[start+i*l.stride] += v
			}
		}
	}
	l.liftEdge(row, src[hi-a:], max(hi, a), base)
}

// liftEdge adds the padding positions from o0 on to the elements the mode
// copied them from (nothing for zeros).
func (l *Lowering) liftEdge(row, src []float32, o0, base int) {
	for i, v := range src {
		if x := mapIndex((o0+i)*l.stride+base, l.longW, l.g.Mode); x >= 0 {
			row[x] += v
		}
	}
}

func clamp(v, lo, hi int) int { return min(max(v, lo), hi) }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func prod(v []int) int {
	p := 1
	for _, x := range v {
		p *= x
	}
	return p
}

// unflatten writes the row-major position of flat index i over sizes.
func unflatten(i int, sizes, pos []int) {
	for k := len(sizes) - 1; k >= 0; k-- {
		pos[k] = i % sizes[k]
		i /= sizes[k]
	}
}

// gather2 and scatterAdd2 are the stride-2 runs (to be bound to the generated kernels).
func gather2(dst, src []float32) {
	for i := range dst {
		dst[i] = src[2*i]
	}
}

func scatterAdd2(dst, src []float32) {
	for i, v := range src {
		dst[2*i] += v
	}
}
