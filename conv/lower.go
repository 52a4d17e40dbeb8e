package conv

// Lowering between activations and column matrices, for every problem.
//
// A column matrix of a group has one row per (channel, kernel offset) pair
// of the "long" tensor's channels of the group and one column per "short"
// position (see reference.go): col[(c, r), j] = long[c, long(j, r)], 0
// where that falls in zero padding. For a convolution the long tensor is x
// and the short positions are y's; for a transposed one, y and x's.
// im2col fills a tile of columns [j0, j0+cols); col2im adds a tile back
// (the adjoint, which sends a padded element's gradient to the input
// element the padding mode copied).

// taps precomputes, for one short position, where each kernel offset
// lands in the long tensor: the plane offset of the element, or -1.
type lowering struct {
	s           *Shape
	short, long []int // spatial sizes
	longPlane   int
	// off[j*KernelSize+r] is the long plane offset of short position j
	// and kernel offset r, or -1 (zero padding, or outside a transposed
	// output). Built once per plan: the lowering's inner loops are then
	// plain gathers.
	off []int32
	// identity: every short position reads the long position of the same
	// index and nothing else (1x1 filters, stride 1, no padding), so the
	// long tensor is its own column matrix and the GEMMs read and write the
	// activations directly, with no lowering at all.
	identity bool
}

func newLowering(s *Shape) *lowering {
	short, long := s.Out, s.In
	if s.Transposed {
		short, long = s.In, s.Out
	}
	l := &lowering{s: s, short: short, long: long, longPlane: prod(long)}
	l.identity = s.KernelSize == 1 && prod(short) == l.longPlane
	for i := range s.Stride {
		l.identity = l.identity && s.Stride[i] == 1 && s.PadBefore[i] == 0 && s.PadAfter[i] == 0
	}
	if l.identity {
		return l // no offset table: nothing is lowered
	}
	ref := Reference{s: s}
	d := s.Dims
	sp, kp, lp := make([]int, d), make([]int, d), make([]int, d)
	shortLen := prod(short)
	l.off = make([]int32, 0, shortLen*s.KernelSize)
	forEach(short, sp, func() {
		forEach(s.Kernel, kp, func() {
			if !ref.longPos(sp, kp, long, lp) {
				l.off = append(l.off, -1)
				return
			}
			o := 0
			for i, v := range lp {
				o = o*long[i] + v
			}
			l.off = append(l.off, int32(o))
		})
	})
	return l
}

// im2col fills col (rows x cols, row-major, ld = cols) with columns
// [j0, j0+cols) of the lowering of src: chans planes of the long tensor,
// each longPlane floats, channels-first.
func (l *lowering) im2col(col, src []float32, chans, j0, cols int) {
	ks := l.s.KernelSize
	for c := 0; c < chans; c++ {
		plane := src[c*l.longPlane : (c+1)*l.longPlane]
		for r := 0; r < ks; r++ {
			row := col[(c*ks+r)*cols : (c*ks+r+1)*cols]
			for j := range row {
				if o := l.off[(j0+j)*ks+r]; o >= 0 {
					row[j] = plane[o]
				} else {
					row[j] = 0
				}
			}
		}
	}
}

// col2im adds columns [j0, j0+cols) of col back into dst (chans planes of
// the long tensor), in a fixed order: channel, kernel offset, column.
func (l *lowering) col2im(dst, col []float32, chans, j0, cols int) {
	ks := l.s.KernelSize
	for c := 0; c < chans; c++ {
		plane := dst[c*l.longPlane : (c+1)*l.longPlane]
		for r := 0; r < ks; r++ {
			row := col[(c*ks+r)*cols : (c*ks+r+1)*cols]
			for j, v := range row {
				if o := l.off[(j0+j)*ks+r]; o >= 0 {
					plane[o] += v
				}
			}
		}
	}
}

func prod(v []int) int {
	p := 1
	for _, x := range v {
		p *= x
	}
	return p
}
