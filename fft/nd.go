package fft

import (
	"fmt"
	"sync"

	"github.com/convkit/convkit/internal/shape"
	"github.com/convkit/convkit/kernels"
)

// PlanND is the complex transform of an array of dims (row-major: the
// last dim contiguous), 1 to 3 dims or more: a 1D transform along every
// axis. Safe for concurrent use; steady-state calls allocate nothing.
type PlanND struct {
	dims []int
	n    int
	axes []*Plan // one per dim
	grid *grid2  // 2D on the generated kernels, where the dims qualify
	work sync.Pool
}

// NewPlanND returns the plan of the complex transforms of dims on the
// host's bound path, or an error naming a dim under 1 or a size that
// overflows int.
func NewPlanND(dims ...int) (*PlanND, error) { return NewPlanNDFor(kernels.Current(), dims...) }

// NewPlanNDFor is NewPlanND on path isa: 2D arrays whose dims are
// products of 2s and 3s and multiples of the vectors' lanes run on its
// generated kernels (grid2), every axis of the others on NewPlanFor's.
func NewPlanNDFor(isa kernels.ISA, dims ...int) (*PlanND, error) {
	n, err := ndLen(dims)
	if err != nil {
		return nil, err
	}
	p := &PlanND{dims: append([]int(nil), dims...), n: n}
	for _, d := range dims {
		a, _ := NewPlanFor(d, isa)
		p.axes = append(p.axes, a)
	}
	if len(dims) == 2 {
		p.grid = newGrid2(dims[0], dims[1], isa, false)
	}
	p.work.New = newPool(p.WorkLen())
	return p, nil
}

// Path is the kernels the plan runs: an ISA's name, or "go" (for N-D
// arrays other than 2D, the first axis's path).
func (p *PlanND) Path() string {
	if p.grid != nil {
		return p.grid.name()
	}
	return p.axes[0].Path()
}

// WorkLen is the scratch values ForwardWith and InverseWith take.
func (p *PlanND) WorkLen() int {
	if p.grid != nil {
		return (p.grid.workLen() + 1) / 2
	}
	return axesWorkLen(p.axes)
}

// ndLen is the element count of dims, or an error.
func ndLen(dims []int) (int, error) {
	if len(dims) == 0 {
		return 0, fmt.Errorf("fft: no dims")
	}
	n := 1
	for i, d := range dims {
		if d < 1 {
			return 0, fmt.Errorf("fft: dims %v: dim %d is %d, want >= 1", dims, i, d)
		}
		var ok bool
		if n, ok = shape.Mul(n, d); !ok {
			return 0, fmt.Errorf("fft: dims %v: the element count overflows int", dims)
		}
	}
	return n, nil
}

// Len is the array's element count.
func (p *PlanND) Len() int { return p.n }

// Forward computes dst = DFT(src) over every axis (dst and src may be the
// same slice). It panics naming the lengths if either is short.
func (p *PlanND) Forward(dst, src []complex64) { p.transform(dst, src, false) }

// Inverse computes the unnormalized inverse over every axis: Inverse of
// Forward multiplies by Len().
func (p *PlanND) Inverse(dst, src []complex64) { p.transform(dst, src, true) }

// ForwardWith is Forward on the caller's scratch work (WorkLen values).
func (p *PlanND) ForwardWith(dst, src, work []complex64) { p.transformWith(dst, src, work, false) }

// InverseWith is Inverse on the caller's scratch work (WorkLen values).
func (p *PlanND) InverseWith(dst, src, work []complex64) { p.transformWith(dst, src, work, true) }

func (p *PlanND) transform(dst, src []complex64, inverse bool) {
	wp := p.work.Get().(*[]complex64)
	p.transformWith(dst, src, *wp, inverse)
	p.work.Put(wp)
}

func (p *PlanND) transformWith(dst, src, work []complex64, inverse bool) {
	if len(dst) < p.n || len(src) < p.n || len(work) < p.WorkLen() {
		panic(fmt.Sprintf("fft: a transform of %v (%d points): len(dst) = %d, len(src) = %d, len(work) = %d (want %d)", p.dims, p.n, len(dst), len(src), len(work), p.WorkLen()))
	}
	if p.grid != nil {
		p.grid.transform(dst, src, floats(work), inverse)
		return
	}
	if len(p.dims) == 1 {
		p.axes[0].transformWith(dst, src, work, inverse)
		return
	}
	if &dst[0] != &src[0] {
		copy(dst[:p.n], src[:p.n])
	}
	for a := range p.dims {
		alongAxis(dst[:p.n], p.dims, a, p.axes[a], work, inverse)
	}
}

// alongAxis transforms every line of x (shape dims) along axis a in
// place on work (the line's values and pl's work): the last axis's lines
// are contiguous; the others' are gathered into a column, transformed
// and scattered back.
func alongAxis(x []complex64, dims []int, a int, pl *Plan, work []complex64, inverse bool) {
	n := dims[a]
	inner := 1
	for _, d := range dims[a+1:] {
		inner *= d
	}
	outer := len(x) / (n * inner)
	col, pw := work[:n], work[n:]
	if inner == 1 {
		for o := 0; o < outer; o++ {
			line := x[o*n : (o+1)*n]
			pl.transformWith(line, line, pw, inverse)
		}
		return
	}
	for o := 0; o < outer; o++ {
		base := o * n * inner
		for i := 0; i < inner; i++ {
			for j := range col {
				col[j] = x[base+j*inner+i]
			}
			pl.transformWith(col, col, pw, inverse)
			for j, v := range col {
				x[base+j*inner+i] = v
			}
		}
	}
}

// axesWorkLen is alongAxis's work for the plans axes: the longest line
// and the most any plan takes.
func axesWorkLen(axes []*Plan) int {
	line, w := 0, 0
	for _, a := range axes {
		line, w = max(line, a.Len()), max(w, a.WorkLen())
	}
	return line + w
}

// RealPlanND is the real transform of an array of dims (row-major): the
// forward to the half spectrum, whose last dim is halved to
// dims[last]/2 + 1 complex values (the other dims whole), and its
// inverse. Safe for concurrent use; steady-state calls allocate nothing.
type RealPlanND struct {
	dims  []int
	spec  []int // the spectrum's dims
	n, sn int   // real and spectrum element counts
	last  *RealPlan
	axes  []*Plan // the complex transforms of dims[:last]
	grid  *grid2  // 2D on the generated kernels, where the dims qualify
	work  sync.Pool
}

// NewRealPlanND returns the plan of the real transforms of dims on the
// host's bound path, or an error naming a dim under 1 or a size that
// overflows int.
func NewRealPlanND(dims ...int) (*RealPlanND, error) {
	return NewRealPlanNDFor(kernels.Current(), dims...)
}

// NewRealPlanNDFor is NewRealPlanND on path isa, as NewPlanNDFor (the
// last dim even).
func NewRealPlanNDFor(isa kernels.ISA, dims ...int) (*RealPlanND, error) {
	n, err := ndLen(dims)
	if err != nil {
		return nil, err
	}
	d := len(dims)
	p := &RealPlanND{dims: append([]int(nil), dims...), n: n}
	p.spec = append([]int(nil), dims...)
	p.spec[d-1] = dims[d-1]/2 + 1
	p.sn = n / dims[d-1] * p.spec[d-1]
	p.last, _ = NewRealPlanFor(dims[d-1], isa)
	for _, v := range dims[:d-1] {
		a, _ := NewPlanFor(v, isa)
		p.axes = append(p.axes, a)
	}
	if d == 2 && dims[1]%2 == 0 {
		p.grid = newGrid2(dims[0], dims[1], isa, true)
	}
	p.work.New = newPool(p.WorkLen())
	return p, nil
}

// WorkLen is the scratch values ForwardWith and InverseWith take: the
// inverse's copy of its spectrum, then the rows' or the axes' work.
func (p *RealPlanND) WorkLen() int {
	if p.grid != nil {
		return (p.grid.workLen() + 1) / 2
	}
	return p.sn + max(p.last.WorkLen(), axesWorkLen(p.axes))
}

// Path is the kernels the plan runs: an ISA's name, or "go" (for N-D
// arrays other than 2D, the rows' path).
func (p *RealPlanND) Path() string {
	if p.grid != nil {
		return p.grid.k.name()
	}
	return p.last.Path()
}

// Len is the real array's element count.
func (p *RealPlanND) Len() int { return p.n }

// SpectrumLen is the half spectrum's element count.
func (p *RealPlanND) SpectrumLen() int { return p.sn }

// SpectrumDims is the half spectrum's dims: dims with the last halved.
func (p *RealPlanND) SpectrumDims() []int { return append([]int(nil), p.spec...) }

// Forward computes the half spectrum dst (SpectrumLen values) of the real
// array src (Len values): each row's real transform, then the complex
// transforms along the other axes. It panics naming the lengths if
// either is short.
func (p *RealPlanND) Forward(dst []complex64, src []float32) {
	wp := p.work.Get().(*[]complex64)
	p.ForwardWith(dst, src, *wp)
	p.work.Put(wp)
}

// Inverse computes the real array dst (Len values) of the half spectrum
// src (SpectrumLen values, left unchanged): the unnormalized inverse,
// Inverse of Forward multiplying by Len().
func (p *RealPlanND) Inverse(dst []float32, src []complex64) {
	wp := p.work.Get().(*[]complex64)
	p.InverseWith(dst, src, *wp)
	p.work.Put(wp)
}

// ForwardWith is Forward on the caller's scratch work (WorkLen values).
func (p *RealPlanND) ForwardWith(dst []complex64, src []float32, work []complex64) {
	if len(dst) < p.sn || len(src) < p.n || len(work) < p.WorkLen() {
		panic(fmt.Sprintf("fft: a real transform of %v: len(dst) = %d (want %d), len(src) = %d (want %d), len(work) = %d (want %d)", p.dims, len(dst), p.sn, len(src), p.n, len(work), p.WorkLen()))
	}
	if p.grid != nil {
		p.grid.realForward(dst, src, floats(work))
		return
	}
	w, sw := p.dims[len(p.dims)-1], p.spec[len(p.spec)-1]
	rest := work[p.sn:]
	for r := 0; r < p.n/w; r++ {
		p.last.ForwardWith(dst[r*sw:(r+1)*sw], src[r*w:(r+1)*w], rest)
	}
	for a := range p.axes {
		alongAxis(dst[:p.sn], p.spec, a, p.axes[a], rest, false)
	}
}

// InverseWith is Inverse on the caller's scratch work (WorkLen values).
func (p *RealPlanND) InverseWith(dst []float32, src, work []complex64) {
	if len(dst) < p.n || len(src) < p.sn || len(work) < p.WorkLen() {
		panic(fmt.Sprintf("fft: a real inverse of %v: len(dst) = %d (want %d), len(src) = %d (want %d), len(work) = %d (want %d)", p.dims, len(dst), p.n, len(src), p.sn, len(work), p.WorkLen()))
	}
	if p.grid != nil {
		p.grid.realInverse(dst, src, floats(work))
		return
	}
	s, rest := work[:p.sn], work[p.sn:]
	copy(s, src[:p.sn])
	for a := range p.axes {
		alongAxis(s, p.spec, a, p.axes[a], rest, true)
	}
	w, sw := p.dims[len(p.dims)-1], p.spec[len(p.spec)-1]
	for r := 0; r < p.n/w; r++ {
		p.last.InverseWith(dst[r*w:(r+1)*w], s[r*sw:(r+1)*sw], rest)
	}
}
