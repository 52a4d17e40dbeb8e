package conv

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// The reference: every pass of every Problem, in float64, written plainly
// (one loop nest for all of them), the oracle every algorithm is checked
// against. It shares nothing with the algorithms but the Shape.
//
// One tap of a convolution joins a "short" position (an output position
// of a convolution, an input position of a transposed one) with a "long"
// one: long = short*stride - padBefore + r*dilation for kernel offset r.
// A convolution reads x at the long position (through the padding mode)
// and writes y at the short one; a transposed convolution reads x at the
// short position and writes y at the long one. The three passes of each
// move the same products between the same pairs: for every image n,
// every channel c and k of one group, every short position and kernel
// offset r whose long position is an element (zero padding, and positions
// outside a transposed output, contribute nothing),
//
//	forward:          y[n, k, yPos] += x[n, c, xPos] * w[c, k, r]
//	backward data:   dx[n, c, xPos] += dy[n, k, yPos] * w[c, k, r]
//	backward filter: dw[c, k, r]    += x[n, c, xPos] * dy[n, k, yPos]
//
// where w[c, k, r] is the weight joining c and k at offset r: in PyTorch's
// order w[k][c mod C/groups][r], or w[c][k mod K/groups][r] transposed.
// Forward then adds the bias b[k] to y, and backward filter sums dy over
// images and positions into db[k].
//
// It is plain but not slow: along the innermost spatial dim the taps of
// one short row and one kernel offset are a run, short positions one
// apart and long ones a stride apart, and the short positions whose long
// one lies inside the long row form a range computed once per kernel
// offset. A tight loop runs that range; only a convolution's taps past the
// edge go one by one through its padding mode. Each output element is
// summed by one goroutine in a fixed order, so the results do not depend
// on the number of goroutines.

// Reference computes the passes of s in float64: the activations in s's
// layout, the weights in PyTorch's order.
type Reference struct {
	s *Shape
	// axes are s's spatial dims, after leading unit axes that make three
	// of them, so that one loop nest serves 1D, 2D and 3D.
	axes [3]axis
	// inside[r] is the range of short coordinates of the last axis whose
	// long coordinate at kernel offset r lies in the long row.
	inside []span
	// edges says whether taps outside the long row read elements: a
	// convolution's padding modes other than zeros.
	edges bool
}

// axis is one spatial dim: its short, long and kernel sizes and how the
// long coordinate follows from the short one.
type axis struct {
	short, long, kernel   int
	stride, dilation, pad int // pad: the padding before the long positions
}

// unitAxis is a leading axis of a problem of fewer than three dims: one
// position, one kernel offset, no padding.
var unitAxis = axis{short: 1, long: 1, kernel: 1, stride: 1, dilation: 1}

// span is the short coordinates [lo, hi).
type span struct{ lo, hi int }

// NewReference returns the reference of a resolved problem.
func NewReference(s *Shape) *Reference {
	r := &Reference{s: s, edges: !s.Transposed && s.PaddingMode != Zeros}
	short, long := s.Out, s.In // convolution: short = y, long = x
	if s.Transposed {
		short, long = s.In, s.Out
	}
	lead := len(r.axes) - s.Dims
	for i := range r.axes {
		r.axes[i] = unitAxis
	}
	for d := range s.Dims {
		r.axes[lead+d] = axis{short[d], long[d], s.Kernel[d], s.Stride[d], s.Dilation[d], s.PadBefore[d]}
	}
	last := r.axes[2]
	r.inside = make([]span, last.kernel)
	for k := range r.inside {
		r.inside[k] = last.insideAt(k)
	}
	return r
}

// at is the long coordinate of short coordinate s at kernel offset k,
// before the padding mode.
func (a axis) at(s, k int) int { return s*a.stride - a.pad + k*a.dilation }

// insideAt is the range of short coordinates whose long coordinate at
// kernel offset k lies in [0, a.long): at(s, k) >= 0 from
// s = ceil((pad - k*dilation) / stride), and < long below
// s = ceil((long + pad - k*dilation) / stride).
func (a axis) insideAt(k int) span {
	lo := min(max(ceilDivSigned(a.pad-k*a.dilation, a.stride), 0), a.short)
	hi := min(max(ceilDivSigned(a.long+a.pad-k*a.dilation, a.stride), lo), a.short)
	return span{lo, hi}
}

// ceilDivSigned is ceil(a / b) for any a and b > 0.
func ceilDivSigned(a, b int) int {
	q := a / b // rounds toward zero: up for a < 0
	if a%b > 0 {
		q++
	}
	return q
}

// element maps long coordinate v of a dim of length n onto the element it
// reads, through the padding mode, and reports whether there is one
// (false: zero padding, or outside a transposed output).
func (r *Reference) element(v, n int) (int, bool) {
	if v >= 0 && v < n {
		return v, true
	}
	if r.s.Transposed {
		return 0, false
	}
	switch r.s.PaddingMode {
	case Reflect: // ... 2 1 | 0 1 2 ... n-1 | n-2 n-3 ...
		if v < 0 {
			return -v, true
		}
		return 2*(n-1) - v, true
	case Replicate:
		return min(max(v, 0), n-1), true
	case Circular:
		return ((v % n) + n) % n, true
	}
	return 0, false // zeros
}

// Forward returns y = conv(x, w) + b (b may be nil when the problem has no
// bias).
func (r *Reference) Forward(x, w, b []float64) []float64 {
	s := r.s
	r.check("x", x, s.XLen)
	r.check("w", w, s.WLen)
	if b != nil {
		r.check("b", b, s.K)
	}
	y := make([]float64, s.YLen)
	owners(s.N*s.K, func(i int) { // y[n, k, ...]
		n, k := i/s.K, i%s.K
		yp := r.yPlane(y, n, k)
		g := k / s.KPerG
		for c := g * s.CPerG; c < (g+1)*s.CPerG; c++ {
			r.taps(intoY, r.xPlane(x, n, c), yp, w, r.filter(c, k))
		}
		if b != nil {
			for p := range s.OutLen {
				y[yp.index(p)] += b[k]
			}
		}
	})
	return y
}

// BackwardData returns dx from dy and w.
func (r *Reference) BackwardData(dy, w []float64) []float64 {
	s := r.s
	r.check("dy", dy, s.YLen)
	r.check("w", w, s.WLen)
	dx := make([]float64, s.XLen)
	owners(s.N*s.C, func(i int) { // dx[n, c, ...]
		n, c := i/s.C, i%s.C
		xp := r.xPlane(dx, n, c)
		g := c / s.CPerG
		for k := g * s.KPerG; k < (g+1)*s.KPerG; k++ {
			r.taps(intoX, xp, r.yPlane(dy, n, k), w, r.filter(c, k))
		}
	})
	return dx
}

// BackwardFilter returns dw and db (db nil without bias) from x and dy.
func (r *Reference) BackwardFilter(x, dy []float64) (dw, db []float64) {
	s := r.s
	r.check("x", x, s.XLen)
	r.check("dy", dy, s.YLen)
	dw = make([]float64, s.WLen)
	owners(s.C*s.KPerG, func(i int) { // dw of channels c and k
		c, kl := i/s.KPerG, i%s.KPerG
		k := c/s.CPerG*s.KPerG + kl
		for n := range s.N {
			r.taps(intoW, r.xPlane(x, n, c), r.yPlane(dy, n, k), dw, r.filter(c, k))
		}
	})
	if s.Bias {
		db = make([]float64, s.K)
		for n := range s.N {
			for k := range s.K {
				yp := r.yPlane(dy, n, k)
				for p := range s.OutLen {
					db[k] += dy[yp.index(p)]
				}
			}
		}
	}
	return dw, db
}

func (r *Reference) check(name string, v []float64, n int) {
	if len(v) != n {
		panic(fmt.Sprintf("conv: reference %s has %d elements, want %d", name, len(v), n))
	}
}

// owners calls task(i) for every i < n on up to GOMAXPROCS goroutines.
// Each task owns the output elements it writes: no other task writes them,
// so how the tasks are shared out changes nothing.
func owners(n int, task func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				task(i)
			}
		})
	}
	wg.Wait()
}

// plane is one image and channel of an activation tensor: the element at
// flat spatial position p is v[index(p)].
type plane struct {
	v          []float64
	base, step int
}

func (p plane) index(pos int) int { return p.base + pos*p.step }

// xPlane is channel c of image n of x (or dx).
func (r *Reference) xPlane(v []float64, n, c int) plane {
	return r.plane(v, n, c, r.s.C, r.s.InSize)
}

// yPlane is channel k of image n of y (or dy).
func (r *Reference) yPlane(v []float64, n, k int) plane {
	return r.plane(v, n, k, r.s.K, r.s.OutLen)
}

func (r *Reference) plane(v []float64, n, c, ch, size int) plane {
	step := 1
	switch l := r.s.Layout; {
	case l == ChannelsLast:
		step = ch
	case l.Lanes() > 0:
		step = l.Lanes()
	}
	return plane{v, layoutIndex(r.s.Layout, n, c, ch, 0, size), step}
}

// filter is the index of weight (c, k) at kernel offset 0, in PyTorch's
// order; the kernel offsets follow it, last dim fastest.
func (r *Reference) filter(c, k int) int {
	s := r.s
	if s.Transposed {
		return (c*s.KPerG + k%s.KPerG) * s.KernelSize
	}
	return (k*s.CPerG + c%s.CPerG) * s.KernelSize
}

// into names the operand of a pass that the taps sum into.
type into int

const (
	intoY into = iota // forward
	intoX             // backward data
	intoW             // backward filter
)

// taps adds every tap between channel plane xp of x (or dx) and yp of y
// (or dy) into the operand to names; w[f:] is the filter of the two
// channels (the weights, or dw).
func (r *Reference) taps(to into, xp, yp plane, w []float64, f int) {
	sp, lp := yp, xp // convolution: short = y, long = x
	if r.s.Transposed {
		sp, lp = xp, yp
	}
	op := dot
	if to != intoW {
		op = scatter
		if (to == intoY) != r.s.Transposed { // the short side receives
			op = gather
		}
	}
	a0, a1, a2 := r.axes[0], r.axes[1], r.axes[2]
	for s0 := range a0.short {
		for s1 := range a1.short {
			sRow := (s0*a1.short + s1) * a2.short
			for k0 := range a0.kernel {
				l0, ok := r.element(a0.at(s0, k0), a0.long)
				if !ok {
					continue
				}
				for k1 := range a1.kernel {
					l1, ok := r.element(a1.at(s1, k1), a1.long)
					if !ok {
						continue
					}
					lRow := (l0*a1.long + l1) * a2.long
					wRow := f + (k0*a1.kernel+k1)*a2.kernel
					for k2 := range a2.kernel {
						r.row(op, sp, sRow, lp, lRow, w, wRow+k2, k2)
					}
				}
			}
		}
	}
}

// op is what one tap does with its short element, long element and
// weight.
type op int

const (
	gather  op = iota // short += weight * long
	scatter           // long += weight * short
	dot               // weight += short * long
)

// row runs the taps of one short row and one long row (sRow and lRow:
// the flat positions of their first elements) at kernel offset k of the
// last axis, with weight w[wi]: the range whose long coordinate lies in
// the row, then those past its edges.
func (r *Reference) row(o op, sp plane, sRow int, lp plane, lRow int, w []float64, wi, k int) {
	a, in := r.axes[2], r.inside[k]
	run(o, in.hi-in.lo, sp, sRow+in.lo, lp, lRow+a.at(in.lo, k), a.stride, w, wi)
	if !r.edges {
		return
	}
	for _, edge := range [...]span{{0, in.lo}, {in.hi, a.short}} {
		for s := edge.lo; s < edge.hi; s++ {
			if l, ok := r.element(a.at(s, k), a.long); ok {
				run(o, 1, sp, sRow+s, lp, lRow+l, 0, w, wi)
			}
		}
	}
}

// run does o on n taps: short flat positions from s one apart, long ones
// from l lStride apart, all with weight w[wi].
func run(o op, n int, sp plane, s int, lp plane, l, lStride int, w []float64, wi int) {
	si, ss := sp.index(s), sp.step
	li, ls := lp.index(l), lStride*lp.step
	switch o {
	case gather:
		axpy(n, w[wi], lp.v, li, ls, sp.v, si, ss)
	case scatter:
		axpy(n, w[wi], sp.v, si, ss, lp.v, li, ls)
	case dot:
		w[wi] += dotStrided(n, sp.v, si, ss, lp.v, li, ls)
	}
}

// axpy adds a*src[si + i*ss] to dst[di + i*ds] for every i < n.
func axpy(n int, a float64, src []float64, si, ss int, dst []float64, di, ds int) {
	for range n {
		dst[di] += a * src[si]
		si += ss
		di += ds
	}
}

// dotStrided is the sum of a[ai + i*as] * b[bi + i*bs] over i < n, in
// order.
func dotStrided(n int, a []float64, ai, as int, b []float64, bi, bs int) float64 {
	sum := 0.0
	for range n {
		sum += a[ai] * b[bi]
		ai += as
		bi += bs
	}
	return sum
}

// layoutIndex is the index of element (n, c, p) of an activation tensor
// with ch channels of plane elements (p the flat spatial position), in
// layout l.
func layoutIndex(l Layout, n, c, ch, p, plane int) int {
	switch L := l.Lanes(); {
	case l == ChannelsLast:
		return (n*plane+p)*ch + c
	case L > 0:
		return ((n*ceilDiv(ch, L)+c/L)*plane+p)*L + c%L
	}
	return (n*ch+c)*plane + p
}
