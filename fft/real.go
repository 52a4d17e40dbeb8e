package fft

import (
	"fmt"
	"sync"

	"github.com/convkit/convkit/kernels"
)

// RealPlan is the real transform of n points: the forward to the half
// spectrum of n/2 + 1 values, and its inverse. Like Plan it is safe for
// concurrent use and allocates nothing per call.
type RealPlan struct {
	n    int
	half *Plan         // the complex transform of n/2 points (even n)
	full *Plan         // the complex transform of n points (odd n)
	tw   []complex64   // exp(-2 pi i k / n), k <= n/2 (even n)
	fast *realFourStep // the generated kernels' path, where half has one
	work sync.Pool
}

// NewRealPlan returns the plan of the real transforms of n points on the
// host's bound path (kernels.Current), or an error for n < 1.
func NewRealPlan(n int) (*RealPlan, error) { return NewRealPlanFor(n, kernels.Current()) }

// NewRealPlanFor is NewRealPlan on path isa: the generated kernels where
// the complex transform of n/2 runs on them (NewPlanFor), else Go.
func NewRealPlanFor(n int, isa kernels.ISA) (*RealPlan, error) {
	if n < 1 {
		return nil, fmt.Errorf("fft: real length %d: want >= 1", n)
	}
	p := &RealPlan{n: n}
	if n%2 == 1 {
		p.full, _ = NewPlanFor(n, isa)
	} else {
		p.half, _ = NewPlanFor(n/2, isa)
		if p.half.fast != nil {
			p.fast = newRealFourStep(p.half.fast)
		}
		w := twiddles(n)
		p.tw = make([]complex64, n/2+1)
		for k := range p.tw {
			p.tw[k] = complex64(w[k%n])
		}
	}
	p.work.New = newPool(p.WorkLen())
	return p, nil
}

// Len is the plan's real length; the spectrum holds Len()/2 + 1 values.
func (p *RealPlan) Len() int { return p.n }

// Path is the kernels the plan runs: an ISA's name, or "go".
func (p *RealPlan) Path() string {
	if p.fast != nil {
		return p.fast.c.k.name()
	}
	return "go"
}

// WorkLen is the scratch values ForwardWith and InverseWith take.
func (p *RealPlan) WorkLen() int {
	if p.fast != nil {
		return (p.fast.c.workLen() + 1) / 2
	}
	if p.full != nil {
		return p.n + p.full.WorkLen()
	}
	return p.n/2 + p.half.WorkLen()
}

// Forward computes the half spectrum dst[0..n/2] of the n real values
// src. It panics naming the lengths if either is short.
func (p *RealPlan) Forward(dst []complex64, src []float32) {
	wp := p.work.Get().(*[]complex64)
	p.ForwardWith(dst, src, *wp)
	p.work.Put(wp)
}

// Inverse computes the n real values dst of the half spectrum src (the
// unnormalized inverse: Inverse of Forward multiplies by n).
func (p *RealPlan) Inverse(dst []float32, src []complex64) {
	wp := p.work.Get().(*[]complex64)
	p.InverseWith(dst, src, *wp)
	p.work.Put(wp)
}

// ForwardWith is Forward on the caller's scratch work (WorkLen values).
func (p *RealPlan) ForwardWith(dst []complex64, src []float32, work []complex64) {
	n := p.n
	if len(dst) < n/2+1 || len(src) < n || len(work) < p.WorkLen() {
		panic(fmt.Sprintf("fft: a real transform of %d points: len(dst) = %d (want %d), len(src) = %d, len(work) = %d (want %d)", n, len(dst), n/2+1, len(src), len(work), p.WorkLen()))
	}
	if p.fast != nil {
		p.fast.forward(dst, src, floats(work))
		return
	}
	if p.full != nil {
		p.oddForward(dst, src, work)
		return
	}
	// z[j] = x[2j] + i x[2j+1]; Z = DFT_(n/2)(z), then per k the even
	// and odd halves' spectra E = (Z[k] + conj Z[h-k]) / 2 and O = (Z[k]
	// - conj Z[h-k]) / 2i give X[k] = E + w^k O.
	h := n / 2
	z := dst[:h]
	for j := 0; j < h; j++ {
		z[j] = complex(src[2*j], src[2*j+1])
	}
	p.half.ForwardWith(z, z, work[h:])
	z0 := z[0]
	dst[0] = complex(real(z0)+imag(z0), 0)
	dst[h] = complex(real(z0)-imag(z0), 0)
	for k := 1; k <= h/2; k++ {
		a, b := z[k], z[h-k]
		dst[k], dst[h-k] = p.unzip(a, b, k), p.unzip(b, a, h-k)
	}
}

// unzip is X[k] from Z[k] = a and Z[h-k] = b.
func (p *RealPlan) unzip(a, b complex64, k int) complex64 {
	bc := complex(real(b), -imag(b))
	e := (a + bc) * 0.5
	o := (a - bc) * complex(0, -0.5)
	return e + p.tw[k]*o
}

// oddForward runs an odd length on the complex transform, in work.
func (p *RealPlan) oddForward(dst []complex64, src []float32, work []complex64) {
	buf := work[:p.n]
	for j, v := range src[:p.n] {
		buf[j] = complex(v, 0)
	}
	p.full.ForwardWith(buf, buf, work[p.n:])
	copy(dst, buf[:p.n/2+1])
}

// InverseWith is Inverse on the caller's scratch work (WorkLen values).
func (p *RealPlan) InverseWith(dst []float32, src, work []complex64) {
	n := p.n
	if len(dst) < n || len(src) < n/2+1 || len(work) < p.WorkLen() {
		panic(fmt.Sprintf("fft: a real inverse of %d points: len(dst) = %d, len(src) = %d (want %d), len(work) = %d (want %d)", n, len(dst), len(src), n/2+1, len(work), p.WorkLen()))
	}
	if p.fast != nil {
		p.fast.inverse(dst, src, floats(work))
		return
	}
	if p.full != nil {
		p.oddInverse(dst, src, work)
		return
	}
	// The forward's steps backwards: Z[k] = E + i O with E = (X[k] +
	// conj X[h-k]) / ... (the 1/2 factors dropped: the inverse is
	// unnormalized), then z = IDFT_(h)(Z), x[2j] + i x[2j+1] = z[j].
	h := n / 2
	z := work[:h]
	x0, xh := real(src[0]), real(src[h])
	z[0] = complex(x0+xh, x0-xh)
	for k := 1; k < h; k++ {
		a, b := src[k], src[h-k]
		bc := complex(real(b), -imag(b))
		e := a + bc
		w := complex(real(p.tw[k]), -imag(p.tw[k]))
		o := (a - bc) * w
		z[k] = e + complex(0, 1)*o
	}
	p.half.InverseWith(z, z, work[h:])
	for j := 0; j < h; j++ {
		dst[2*j], dst[2*j+1] = real(z[j]), imag(z[j])
	}
}

// oddInverse mirrors the half spectrum into a full one and runs the
// complex inverse.
func (p *RealPlan) oddInverse(dst []float32, src, work []complex64) {
	n := p.n
	buf := work[:n]
	buf[0] = complex(real(src[0]), 0)
	for k := 1; k <= n/2; k++ {
		buf[k] = src[k]
		buf[n-k] = complex(real(src[k]), -imag(src[k]))
	}
	p.full.InverseWith(buf, buf, work[n:])
	for j := range dst[:n] {
		dst[j] = real(buf[j])
	}
}
