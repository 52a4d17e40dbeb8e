package im2col

import (
	"fmt"
	"slices"

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
	// natural[so*outerTaps+ko]: short row so at outer offset ko reads a
	// long row inside the tensor (not padding).
	natural  []bool
	identity bool
	// flat: every stride is 1 and the short and long sizes agree in every
	// dim but the outermost, so the long offset of short position j at
	// kernel offset r is j + shift[r] wherever the tap is inside: a row
	// of the column matrix is one run of the plane, but for the taps in
	// the padding (the lowering's fast path).
	flat  bool
	shift []int
	// padRows[ko] lists, ascending, the short rows that read padding at
	// outer kernel offset ko (rowOf < 0), for a flat zero-padded
	// lowering: its rows are fixed by clearing these runs and the
	// last dim's edge taps, with no walk over every run.
	padRows [][]int32
	// A phased lowering (zero padding, a last-dim stride s > 1) may read
	// a long tensor whose rows Phase has grouped by index mod s: phase p
	// (the elements x = p mod s) from phaseOff[p] on, x at
	// phaseOff[p] + x/s. The taps of a run at last-dim offset kl are then
	// one run of their phase, from phaseStart[kl] + the run's first
	// short position on: a copy instead of a strided gather.
	phaseOff, phaseStart []int
	// disjoint: in every dim the stride is the kernel size, the dilation
	// 1 and the padding 0, so that each long position is the tap of at
	// most one (column, row) (a 2x2 stride-2 transposed convolution);
	// covers: of exactly one (no long position past the last tap).
	disjoint, covers bool
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
	l.buildShifts()
	if l.flat && g.Mode == Zeros {
		l.buildPadRows()
	}
	if l.stride > 1 && g.Mode == Zeros {
		l.buildPhases()
	}
	l.disjoint, l.covers = true, true
	for i := range d {
		// Long >= Short*Stride: every tap inside (no padding after
		// either: a convolution may pad only after its input).
		l.disjoint = l.disjoint && g.Stride[i] == g.Kernel[i] && g.Dilation[i] == 1 && g.Pad[i] == 0 &&
			g.Long[i] >= g.Short[i]*g.Stride[i]
		l.covers = l.covers && g.Long[i] == g.Short[i]*g.Stride[i]
	}
	l.covers = l.covers && l.disjoint
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
	l.natural = make([]bool, shortRows*taps)
	sp, kp := make([]int, outer), make([]int, outer)
	for so := range shortRows {
		unflatten(so, g.Short[:outer], sp)
		for ko := range taps {
			unflatten(ko, g.Kernel[:outer], kp)
			row, natural := 0, true
			for i := range outer {
				u := sp[i]*g.Stride[i] - g.Pad[i] + kp[i]*g.Dilation[i]
				natural = natural && u >= 0 && u < g.Long[i]
				v := MapIndex(u, g.Long[i], g.Mode)
				if v < 0 {
					row = -1
					break
				}
				row = row*g.Long[i] + v
			}
			l.rowOf[so*taps+ko], l.natural[so*taps+ko] = int32(row), natural
		}
	}
}

// buildShifts decides flat and fills the shifts of a flat lowering.
func (l *Lowering) buildShifts() {
	g := l.g
	l.flat = true
	for i := range l.d {
		l.flat = l.flat && g.Stride[i] == 1 && (i == 0 || g.Short[i] == g.Long[i])
	}
	if !l.flat {
		return
	}
	kp := make([]int, l.d)
	l.shift = make([]int, l.kernelSize)
	for r := range l.kernelSize {
		unflatten(r, g.Kernel, kp)
		off := 0
		for i := range l.d {
			off = off*g.Long[i] + kp[i]*g.Dilation[i] - g.Pad[i]
		}
		l.shift[r] = off
	}
}

// buildPadRows fills padRows from rowOf.
func (l *Lowering) buildPadRows() {
	l.padRows = make([][]int32, l.outerTaps)
	for i, row := range l.rowOf {
		if so, ko := i/l.outerTaps, i%l.outerTaps; row < 0 {
			l.padRows[ko] = append(l.padRows[ko], int32(so))
		}
	}
}

// buildPhases fills phaseOff and phaseStart.
func (l *Lowering) buildPhases() {
	s := l.stride
	l.phaseOff = make([]int, s)
	for p := 1; p < s; p++ {
		l.phaseOff[p] = l.phaseOff[p-1] + ceilDiv(max(0, l.longW-(p-1)), s)
	}
	l.phaseStart = make([]int, l.kw)
	for kl := range l.kw {
		base := kl*l.dil - l.pad
		p := ((base % s) + s) % s
		l.phaseStart[kl] = l.phaseOff[p] + (base-p)/s
	}
}

// Phased reports whether LowerPhased applies: zero padding and a stride
// above 1 along the last dim.
func (l *Lowering) Phased() bool { return l.phaseOff != nil }

// Phase copies chans planes of src (LongPlane floats each) into dst, each
// long row's elements grouped by their index mod the last dim's stride s
// (x in phase x mod s, in order), for LowerPhased. It panics unless the
// lowering is phased.
func (l *Lowering) Phase(dst, src []float32, chans int) {
	if !l.Phased() {
		panic("im2col: Phase on a lowering that is not phased")
	}
	n := chans * l.longPlane
	dst, src = dst[:n], src[:n]
	vec := &kernels.Bound().Vec
	for r := 0; r < n; r += l.longW {
		row, out := src[r:r+l.longW], dst[r:r+l.longW]
		for p, off := range l.phaseOff {
			if p < l.longW {
				gatherStrided(out[off:off+ceilDiv(l.longW-p, l.stride)], row[p:], l.stride, vec)
			}
		}
	}
}

// LowerPhased is Lower on a long tensor that Phase has reordered: the
// same columns, from runs that are copies.
func (l *Lowering) LowerPhased(col []float32, ld int, phased []float32, chans, j0, cols int) {
	if !l.Phased() {
		panic("im2col: LowerPhased on a lowering that is not phased")
	}
	l.check(col, ld, phased, chans, j0, cols)
	l.walk(col, ld, phased, chans, j0, cols, false, true)
}

// Disjoint reports whether each long position is the tap of at most one
// (column, row) of the column matrix (every stride the kernel size,
// dilation 1, no padding): Place applies.
func (l *Lowering) Disjoint() bool { return l.disjoint }

// Covers reports whether each long position is the tap of exactly one:
// Disjoint, and no positions past the last tap (a transposed
// convolution's output padding), so that Place writes every element.
func (l *Lowering) Covers() bool { return l.covers }

// Place is Lift for a disjoint lowering: it stores the columns [j0,
// j0+cols) of col at their taps' positions in dst instead of adding them
// (every element written at most once, none read), leaving the positions
// no tap of the tile reaches as they are. A 2-tap stride-2 last dim zips
// each pair of rows on Interleave2. It panics unless Disjoint.
func (l *Lowering) Place(dst, col []float32, ld, chans, j0, cols int) {
	if !l.disjoint {
		panic("im2col: Place on a lowering that is not disjoint")
	}
	l.check(col, ld, dst, chans, j0, cols)
	vec := &kernels.Bound().Vec
	so0, a0 := j0/l.shortW, j0%l.shortW
	for c := range chans {
		plane := dst[c*l.longPlane:][:l.longPlane]
		for ko := range l.outerTaps {
			row := col[(c*l.kernelSize+ko*l.kw)*ld:]
			if l.kw == 2 {
				l.placePairs(plane, row[:cols], row[ld:][:cols], ko, so0, a0, vec)
				continue
			}
			for kl := range l.kw {
				l.placeRuns(plane, row[kl*ld:][:cols], ko, kl, so0, a0)
			}
		}
	}
}

// placePairs stores the rows of last-dim taps 0 and 1 at outer offset ko,
// zipped run by run into their long rows.
func (l *Lowering) placePairs(plane, even, odd []float32, ko, so0, a0 int, vec *kernels.VecKernels) {
	cols := len(even)
	for so, a, d := so0, a0, 0; d < cols; so, a = so+1, 0 {
		b := min(l.shortW, a+cols-d)
		lrow := int(l.rowOf[so*l.outerTaps+ko])
		start := lrow*l.longW + 2*a
		vec.Interleave2(plane[start:start+2*(b-a)], even[d:d+b-a], odd[d:d+b-a])
		d += b - a
	}
}

// placeRuns stores the row src of last-dim tap kl at outer offset ko, run
// by run, at its stride.
func (l *Lowering) placeRuns(plane, src []float32, ko, kl, so0, a0 int) {
	cols := len(src)
	for so, a, d := so0, a0, 0; d < cols; so, a = so+1, 0 {
		b := min(l.shortW, a+cols-d)
		run := src[d : d+b-a]
		d += b - a
		lrow := int(l.rowOf[so*l.outerTaps+ko])
		dst := plane[lrow*l.longW+a*l.stride+kl:]
		if l.stride == 1 {
			copy(dst, run)
			continue
		}
		dst = dst[:(len(run)-1)*l.stride+1]
		for i, v := range run {
			dst[i*l.stride] = v
		}
	}
}

// MapIndex maps a long index v along a dim of size n through the mode:
// v itself inside, the mode's source outside, -1 for zeros. The
// convolution's validation keeps reflect padding below n and circular
// padding at most n, so one reflection or wrap suffices.
func MapIndex(v, n int, m Mode) int {
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

// TableBytes is the memory of the lowering's own tables (the rows each
// short row reads, the ranges of the last dim's taps).
func (l *Lowering) TableBytes() int64 {
	pads := 0
	for _, r := range l.padRows {
		pads += len(r)
	}
	return int64(4*len(l.rowOf) + len(l.natural) + 8*(len(l.first)+len(l.end)+len(l.shift)+len(l.phaseOff)+len(l.phaseStart)) + 4*pads + 24*len(l.padRows))
}

// KernelSize is the number of kernel offsets (rows per channel).
func (l *Lowering) KernelSize() int { return l.kernelSize }

// ShortLen is the number of short positions (columns).
func (l *Lowering) ShortLen() int { return l.shortLen }

// LongPlane is the number of elements of one channel of the long tensor.
func (l *Lowering) LongPlane() int { return l.longPlane }

// Lower fills col (chans*KernelSize rows of cols floats, row-major, rows
// ld floats apart) with the columns [j0, j0+cols) of the lowering of src,
// chans channels of LongPlane floats each. It writes col row by row: a flat
// lowering copies the plane once per row and fixes the padding taps, any
// other one copies it run by run (a run is the part of the tile in one
// short row).
func (l *Lowering) Lower(col []float32, ld int, src []float32, chans, j0, cols int) {
	l.check(col, ld, src, chans, j0, cols)
	l.walk(col, ld, src, chans, j0, cols, false, false)
}

// Lift adds the columns [j0, j0+cols) of col (rows ld floats apart) back into dst, chans
// channels of LongPlane floats: the adjoint of Lower. The additions into
// each element come in a fixed order (channel, kernel offset, column),
// the same for any thread count. Lift may overwrite col (the taps it has
// moved out of a row before adding the rest in one pass).
func (l *Lowering) Lift(dst, col []float32, ld, chans, j0, cols int) {
	l.check(col, ld, dst, chans, j0, cols)
	l.walk(col, ld, dst, chans, j0, cols, true, false)
}

// walk runs Lower (or, with lift, Lift) over every row of the tile, in
// the column matrix's row order: channel, outer kernel offset ko,
// last-dim kernel offset kl. (A branch per row, not a func value: the
// rows of small planes are short enough for an indirect call to show.)
func (l *Lowering) walk(col []float32, ld int, long []float32, chans, j0, cols int, lift, phased bool) {
	vec := &kernels.Bound().Vec
	so0, a0 := j0/l.shortW, j0%l.shortW
	for c := range chans {
		plane := long[c*l.longPlane:][:l.longPlane]
		for ko := range l.outerTaps {
			for kl := range l.kw {
				row := col[(c*l.kernelSize+ko*l.kw+kl)*ld:][:cols]
				switch {
				case lift && l.flat:
					l.liftFlat(plane, row, ko, kl, j0, so0, a0)
				case lift:
					l.liftRuns(plane, row, ko, kl, so0, a0, vec)
				case l.flat:
					l.lowerFlat(row, plane, ko, kl, j0, so0, a0)
				case phased:
					l.lowerPhasedRuns(row, plane, ko, kl, so0, a0)
				default:
					l.lowerRuns(row, plane, ko, kl, so0, a0, vec)
				}
			}
		}
	}
}

func (l *Lowering) check(col []float32, ld int, long []float32, chans, j0, cols int) {
	if chans < 0 || j0 < 0 || cols < 0 || j0 > l.shortLen-cols || ld < cols {
		panic(fmt.Sprintf("im2col: columns [%d, %d+%d) of %d, %d channels, rows %d apart", j0, j0, cols, l.shortLen, chans, ld))
	}
	if rows := chans * l.kernelSize; rows > 0 && len(col) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("im2col: len(col) = %d, need %d (%d rows x %d columns, %d apart)", len(col), (rows-1)*ld+cols, rows, cols, ld))
	}
	if len(long) < chans*l.longPlane {
		panic(fmt.Sprintf("im2col: long tensor of %d floats, need %d (%d channels x %d)", len(long), chans*l.longPlane, chans, l.longPlane))
	}
}

// lowerRuns fills the row dst of kernel offset (ko, kl) run by run. A
// run whose taps all land inside its long row is one copy (or gather); only
// the others go through lowerZeroEnds (zero padding) or lowerRun's
// clipping (the other modes). vec is the bound vector
// kernels, read once per call (their lengths hold by construction).
func (l *Lowering) lowerRuns(dst, plane []float32, ko, kl, so0, a0 int, vec *kernels.VecKernels) {
	cols := len(dst)
	first, end, base := l.first[kl], l.end[kl], kl*l.dil-l.pad
	for so, a, d := so0, a0, 0; d < cols; so, a = so+1, 0 {
		b := min(l.shortW, a+cols-d)
		run := dst[d : d+b-a]
		d += b - a
		lrow := int(l.rowOf[so*l.outerTaps+ko])
		switch {
		case lrow < 0:
			clear(run)
		case a >= first && b <= end:
			src := plane[lrow*l.longW+a*l.stride+base:]
			switch l.stride {
			case 1:
				copy(run, src)
			default:
				gatherStrided(run, src, l.stride, vec)
			}
		case l.g.Mode == Zeros:
			l.lowerZeroEnds(run, plane[lrow*l.longW:][:l.longW], a, b, kl, vec)
		default:
			l.lowerRun(run, plane[lrow*l.longW:][:l.longW], a, b, kl)
		}
	}
}

// lowerZeroEnds fills the run dst of short positions [a, b) from the
// long row row at last-dim tap kl under zero padding: the taps inside
// gathered, the few at its ends zeroed in place, with no call per padding
// element (the stem's 7x7 stride-2 lowering has taps in the padding in 5
// of its 7 columns of taps, so most of its runs took lowerRun's clipping).
func (l *Lowering) lowerZeroEnds(dst, row []float32, a, b, kl int, vec *kernels.VecKernels) {
	lo, hi := clamp(l.first[kl], a, b)-a, clamp(l.end[kl], a, b)-a
	for i := range lo {
		dst[i] = 0
	}
	for i := hi; i < len(dst); i++ {
		dst[i] = 0
	}
	if lo == hi {
		return
	}
	src := row[(a+lo)*l.stride+kl*l.dil-l.pad:]
	if l.stride == 1 {
		copy(dst[lo:hi], src)
	} else {
		gatherStrided(dst[lo:hi], src, l.stride, vec)
	}
}

// lowerPhasedRuns is lowerRuns on a phased long tensor: the inside
// taps of each run are one run of their phase.
func (l *Lowering) lowerPhasedRuns(dst, plane []float32, ko, kl, so0, a0 int) {
	cols := len(dst)
	first, end, start := l.first[kl], l.end[kl], l.phaseStart[kl]
	for so, a, d := so0, a0, 0; d < cols; so, a = so+1, 0 {
		b := min(l.shortW, a+cols-d)
		run := dst[d : d+b-a]
		d += b - a
		lrow := int(l.rowOf[so*l.outerTaps+ko])
		if lrow < 0 {
			clear(run)
			continue
		}
		lo, hi := clamp(first, a, b), clamp(end, a, b)
		clear(run[:lo-a])
		if lo < hi {
			copy(run[lo-a:hi-a], plane[lrow*l.longW+start+lo:])
		}
		clear(run[hi-a:])
	}
}

// gatherStrided sets dst[i] = src[i*stride] (stride >= 2): stride 2 on
// the generated Gather2, others in a loop over a source resliced to what
// it reads (one bounds check per element left).
func gatherStrided(dst, src []float32, stride int, vec *kernels.VecKernels) {
	n := len(dst)
	if n == 0 {
		return
	}
	if stride == 2 {
		vec.Gather2(dst, src)
		return
	}
	src = src[:(n-1)*stride+1]
	i, j := 0, 0
	switch stride {
	// Constant strides let the compiler prove a group's four reads
	// inside the group's one reslice: one bounds check per four elements
	// instead of one each (alexnet_11x11s4's lowering on Zen 4:
	// 28% of the im2col forward before).
	case 3:
		for ; i+4 <= n; i, j = i+4, j+12 {
			s, d := src[j:j+10:j+10], dst[i:i+4:i+4]
			d[0], d[1], d[2], d[3] = s[0], s[3], s[6], s[9]
		}
	case 4:
		for ; i+4 <= n; i, j = i+4, j+16 {
			s, d := src[j:j+13:j+13], dst[i:i+4:i+4]
			d[0], d[1], d[2], d[3] = s[0], s[4], s[8], s[12]
		}
	}
	for ; i < n; i, j = i+1, j+stride {
		dst[i] = src[j]
	}
}

// liftRuns is lowerRuns' adjoint: it adds the row src of kernel offset
// (ko, kl) into the plane, run by run.
func (l *Lowering) liftRuns(plane, src []float32, ko, kl, so0, a0 int, vec *kernels.VecKernels) {
	cols := len(src)
	first, end, base := l.first[kl], l.end[kl], kl*l.dil-l.pad
	for so, a, d := so0, a0, 0; d < cols; so, a = so+1, 0 {
		b := min(l.shortW, a+cols-d)
		run := src[d : d+b-a]
		d += b - a
		lrow := int(l.rowOf[so*l.outerTaps+ko])
		switch {
		case lrow < 0:
		case a >= first && b <= end:
			dst := plane[lrow*l.longW+a*l.stride+base:]
			switch l.stride {
			case 1:
				vec.Add(dst[:len(run)], dst, run)
			case 2:
				vec.ScatterAdd2(dst, run)
			default:
				for i, v := range run {
					dst[i*l.stride] += v
				}
			}
		default:
			l.liftRun(plane[lrow*l.longW:][:l.longW], run, a, b, kl)
		}
	}
}

// window clips the run of cols plane elements from start to the plane:
// the part [lo, hi) of the row lies inside it.
func (l *Lowering) window(start, cols int) (lo, hi int) {
	lo, hi = clamp(-start, 0, cols), clamp(l.longPlane-start, 0, cols)
	return lo, max(lo, hi)
}

// lowerFlat fills the row dst of kernel offset (ko, kl) of a flat
// lowering: one copy of the plane, then the runs of short rows that read
// padding redone, and the padding taps at the ends of the other runs set
// (for zero padding, by zeroPadding).
func (l *Lowering) lowerFlat(dst, plane []float32, ko, kl, j0, so0, a0 int) {
	cols := len(dst)
	start := j0 + l.shift[ko*l.kw+kl]
	lo, hi := l.window(start, cols)
	clear(dst[:lo])
	if lo < hi {
		copy(dst[lo:hi], plane[start+lo:])
	}
	clear(dst[hi:])
	if l.padRows != nil {
		l.zeroPadding(dst, ko, kl, so0, a0)
		return
	}
	base := kl*l.dil - l.pad
	first, end := l.first[kl], l.end[kl]
	for so, a, d := so0, a0, 0; d < cols; so, a = so+1, 0 {
		b := min(l.shortW, a+cols-d)
		run := dst[d : d+b-a]
		i := so*l.outerTaps + ko
		switch lrow := int(l.rowOf[i]); {
		case !l.natural[i] && lrow < 0:
			clear(run)
		case !l.natural[i]:
			l.lowerRun(run, plane[lrow*l.longW:][:l.longW], a, b, kl)
		case a < first || b > end:
			row := plane[lrow*l.longW:][:l.longW]
			l.lowerEdge(run[:clamp(first, a, b)-a], row, a, base)
			if e := clamp(end, a, b); e < b {
				l.lowerEdge(run[e-a:], row, e, base)
			}
		}
		d += b - a
	}
}

// zeroPadding zeroes the taps of the row dst (kernel offset (ko, kl),
// from short position (so0, a0) on) of a flat zero-padded lowering that
// fall in the padding: the runs of the short rows in padRows[ko], and
// the last dim's edge taps in every run, in a strided loop per edge
// column. (Walking every run instead cost resnet_3x3_c64's lowering
// about half of its time: 32 runs of 56 columns per row of its tiles.)
func (l *Lowering) zeroPadding(dst []float32, ko, kl, so0, a0 int) {
	cols, w := len(dst), l.shortW
	if rows := l.padRows[ko]; len(rows) > 0 {
		i, _ := slices.BinarySearch(rows, int32(so0))
		for ; i < len(rows); i++ {
			p := (int(rows[i])-so0)*w - a0 // where the row starts in dst
			if p >= cols {
				break
			}
			clear(dst[max(p, 0):min(p+w, cols)])
		}
	}
	first, end := l.first[kl], l.end[kl]
	if first == 0 && end == w {
		return
	}
	if cols < w {
		// At most two runs, which need not reach the edges (1D: one
		// short row, and its edge taps in only the first and last
		// tiles).
		for a, d := a0, 0; d < cols; a = 0 {
			b := min(w, a+cols-d)
			run := dst[d : d+b-a]
			clear(run[:clamp(first, a, b)-a])
			clear(run[clamp(end, a, b)-a:])
			d += b - a
		}
		return
	}
	// The tile holds every column: zero each edge column from its first
	// position in dst on (no division: two of them per row cost as much
	// as the stores).
	for o := range first {
		zeroEvery(dst, o-a0, w)
	}
	for o := end; o < w; o++ {
		zeroEvery(dst, o-a0, w)
	}
}

// zeroEvery zeroes dst[p], dst[p+w], ... from the first p in the series
// that is not negative (p >= -w).
func zeroEvery(dst []float32, p, w int) {
	if p < 0 {
		p += w
	}
	for ; p < len(dst); p += w {
		dst[p] = 0
	}
}

// liftFlat adds the row src of kernel offset (ko, kl) of a flat lowering
// into the plane: first the taps that read padding, each to where the
// mode copied it from (zeros: nowhere), clearing them in src, then the
// rest in one pass.
func (l *Lowering) liftFlat(plane, src []float32, ko, kl, j0, so0, a0 int) {
	cols := len(src)
	if l.padRows != nil {
		// Taps in zero padding go nowhere: drop them before the one
		// pass adds the rest.
		l.zeroPadding(src, ko, kl, so0, a0)
	} else {
		l.liftFlatEdges(plane, src, ko, kl, so0, a0)
	}
	start := j0 + l.shift[ko*l.kw+kl]
	if lo, hi := l.window(start, cols); lo < hi {
		win := plane[start+lo : start+hi]
		kernels.Add(win, win, src[lo:hi])
	}
}

// liftFlatEdges adds the taps of the row src that read padding (other
// than zeros) to where the mode copied them from, and clears them in src.
func (l *Lowering) liftFlatEdges(plane, src []float32, ko, kl, so0, a0 int) {
	cols := len(src)
	base := kl*l.dil - l.pad
	first, end := l.first[kl], l.end[kl]
	for so, a, d := so0, a0, 0; d < cols; so, a = so+1, 0 {
		b := min(l.shortW, a+cols-d)
		run := src[d : d+b-a]
		i := so*l.outerTaps + ko
		switch lrow := int(l.rowOf[i]); {
		case !l.natural[i]:
			if lrow >= 0 {
				l.liftRun(plane[lrow*l.longW:][:l.longW], run, a, b, kl)
			}
			clear(run)
		case a < first || b > end:
			row := plane[lrow*l.longW:][:l.longW]
			lead := run[:clamp(first, a, b)-a]
			l.liftEdge(row, lead, a, base)
			clear(lead)
			if e := clamp(end, a, b); e < b {
				l.liftEdge(row, run[e-a:], e, base)
				clear(run[e-a:])
			}
		}
		d += b - a
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
		default:
			gatherStrided(mid, row[start:], l.stride, &kernels.Bound().Vec)
		}
	}
	l.lowerEdge(dst[hi-a:], row, max(hi, a), base)
}

// lowerEdge fills dst with the positions from o0 on that fall in the
// padding: zeros, or the mode's source element.
func (l *Lowering) lowerEdge(dst, row []float32, o0, base int) {
	for i := range dst {
		if v := MapIndex((o0+i)*l.stride+base, l.longW, l.g.Mode); v >= 0 {
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
			kernels.ScatterAdd2(row[start:], mid)
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
		if x := MapIndex((o0+i)*l.stride+base, l.longW, l.g.Mode); x >= 0 {
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
