package conv

import "fmt"

// The reference: every pass of every Problem, in float64, written plainly
// (one loop nest for all of them), the oracle every algorithm is checked
// against. It is slow by design; nothing here is tuned.
//
// One tap of a convolution joins a "short" position (an output position
// of a convolution, an input position of a transposed one) with a "long"
// one: long = short*stride - padBefore + r*dilation for kernel offset r.
// A convolution reads x at the long position (through the padding mode)
// and writes y at the short one; a transposed convolution reads x at the
// short position and writes y at the long one. The three passes of each
// move the same products between the same pairs.

// Reference computes the passes of s in float64: the activations in s's
// layout, the weights in PyTorch's order.
type Reference struct {
	s *Shape
}

// NewReference returns the reference of a resolved problem.
func NewReference(s *Shape) *Reference { return &Reference{s: s} }

// Forward returns y = conv(x, w) + b (b may be nil when the problem has no
// bias).
func (r *Reference) Forward(x, w, b []float64) []float64 {
	s := r.s
	r.check("x", x, s.XLen)
	r.check("w", w, s.WLen)
	y := make([]float64, s.YLen)
	r.eachTap(func(n, c, k int, xi, yi, wi int) { y[yi] += x[xi] * w[wi] })
	if b != nil {
		r.check("b", b, s.K)
		r.eachY(func(i, k int) { y[i] += b[k] })
	}
	return y
}

// BackwardData returns dx from dy and w.
func (r *Reference) BackwardData(dy, w []float64) []float64 {
	s := r.s
	r.check("dy", dy, s.YLen)
	r.check("w", w, s.WLen)
	dx := make([]float64, s.XLen)
	r.eachTap(func(n, c, k int, xi, yi, wi int) { dx[xi] += dy[yi] * w[wi] })
	return dx
}

// BackwardFilter returns dw and db (db nil without bias) from x and dy.
func (r *Reference) BackwardFilter(x, dy []float64) (dw, db []float64) {
	s := r.s
	r.check("x", x, s.XLen)
	r.check("dy", dy, s.YLen)
	dw = make([]float64, s.WLen)
	r.eachTap(func(n, c, k int, xi, yi, wi int) { dw[wi] += x[xi] * dy[yi] })
	if s.Bias {
		db = make([]float64, s.K)
		r.eachY(func(i, k int) { db[k] += dy[i] })
	}
	return dw, db
}

func (r *Reference) check(name string, v []float64, n int) {
	if len(v) != n {
		panic(fmt.Sprintf("conv: reference %s has %d elements, want %d", name, len(v), n))
	}
}

// eachY calls f with every index of y and its channel.
func (r *Reference) eachY(f func(i, k int)) {
	s := r.s
	pos := make([]int, s.Dims)
	for n := 0; n < s.N; n++ {
		for k := 0; k < s.K; k++ {
			forEach(s.Out, pos, func() { f(actIndex(s.Layout, n, k, s.K, pos, s.Out), k) })
		}
	}
}

// eachTap calls f(n, c, k, xi, yi, wi) for every product of the
// convolution: x[xi] * w[wi] contributes to y[yi]. Taps whose x position
// falls in zero padding are skipped; the other padding modes map theirs
// onto the input element they copy.
func (r *Reference) eachTap(f func(n, c, k, xi, yi, wi int)) {
	s := r.s
	d := s.Dims
	short, long := s.Out, s.In // convolution: short = y, long = x
	if s.Transposed {
		short, long = s.In, s.Out
	}
	sp, kp, lp := make([]int, d), make([]int, d), make([]int, d)
	for n := 0; n < s.N; n++ {
		for g := 0; g < s.Groups; g++ {
			for cl := 0; cl < s.CPerG; cl++ {
				for kl := 0; kl < s.KPerG; kl++ {
					c, k := g*s.CPerG+cl, g*s.KPerG+kl
					forEach(short, sp, func() {
						forEach(s.Kernel, kp, func() {
							if !r.longPos(sp, kp, long, lp) {
								return
							}
							wi := r.wIndex(c, k, cl, kl, kp)
							if s.Transposed {
								f(n, c, k, actIndex(s.Layout, n, c, s.C, sp, s.In), actIndex(s.Layout, n, k, s.K, lp, s.Out), wi)
							} else {
								f(n, c, k, actIndex(s.Layout, n, c, s.C, lp, s.In), actIndex(s.Layout, n, k, s.K, sp, s.Out), wi)
							}
						})
					})
				}
			}
		}
	}
}

// longPos sets lp to the long position of short position sp and kernel
// offset kp, through the padding mode, and reports whether it is an
// element (false: zero padding, or outside a transposed output).
func (r *Reference) longPos(sp, kp, long, lp []int) bool {
	s := r.s
	for i := range lp {
		v := sp[i]*s.Stride[i] - s.PadBefore[i] + kp[i]*s.Dilation[i]
		if v >= 0 && v < long[i] {
			lp[i] = v
			continue
		}
		if s.Transposed {
			return false
		}
		L := long[i]
		switch s.PaddingMode {
		case Zeros:
			return false
		case Reflect: // ... 2 1 | 0 1 2 ... L-1 | L-2 L-3 ...
			if v < 0 {
				v = -v
			} else {
				v = 2*(L-1) - v
			}
		case Replicate:
			v = min(max(v, 0), L-1)
		case Circular:
			v = ((v % L) + L) % L
		}
		lp[i] = v
	}
	return true
}

// wIndex is the index of weight (c, k, kp) in PyTorch's order.
func (r *Reference) wIndex(c, k, cl, kl int, kp []int) int {
	s := r.s
	i := k*s.CPerG + cl
	if s.Transposed {
		i = c*s.KPerG + kl
	}
	for d, v := range kp {
		i = i*s.Kernel[d] + v
	}
	return i
}

// actIndex is the index of element (n, c, pos) of an activation tensor
// with ch channels and spatial sizes sizes, in layout l.
func actIndex(l Layout, n, c, ch int, pos, sizes []int) int {
	sp := 0
	for d, v := range pos {
		sp = sp*sizes[d] + v
	}
	return layoutIndex(l, n, c, ch, sp, prod(sizes))
}

// layoutIndex is the index of element (n, c, p) of an activation tensor
// with ch channels of plane elements (p the flat spatial position), in
// layout l.
func layoutIndex(l Layout, n, c, ch, p, plane int) int {
	if l == ChannelsLast {
		return (n*plane+p)*ch + c
	}
	return (n*ch+c)*plane + p
}

// forEach calls f with pos running over every position of sizes, last dim
// fastest.
func forEach(sizes, pos []int, f func()) {
	for i := range pos {
		pos[i] = 0
	}
	for {
		f()
		d := len(pos) - 1
		for d >= 0 {
			pos[d]++
			if pos[d] < sizes[d] {
				break
			}
			pos[d] = 0
			d--
		}
		if d < 0 {
			return
		}
	}
}
