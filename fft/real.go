package fft

import "fmt"

// RealPlan is the real transform of n points: the forward to the half
// spectrum of n/2 + 1 values, and its inverse. Like Plan it is safe for
// concurrent use and allocates nothing per call.
type RealPlan struct {
	n    int
	half *Plan       // the complex transform of n/2 points (even n)
	full *Plan       // the complex transform of n points (odd n)
	tw   []complex64 // exp(-2 pi i k / n), k <= n/2 (even n)
}

// NewRealPlan returns the plan of the real transforms of n points, or an
// error for n < 1.
func NewRealPlan(n int) (*RealPlan, error) {
	if n < 1 {
		return nil, fmt.Errorf("fft: real length %d: want >= 1", n)
	}
	p := &RealPlan{n: n}
	var err error
	if n%2 == 1 {
		p.full, err = NewPlan(n)
		return p, err
	}
	p.half, err = NewPlan(n / 2)
	w := twiddles(n)
	p.tw = make([]complex64, n/2+1)
	for k := range p.tw {
		p.tw[k] = complex64(w[k%n])
	}
	return p, err
}

// Len is the plan's real length; the spectrum holds Len()/2 + 1 values.
func (p *RealPlan) Len() int { return p.n }

// Forward computes the half spectrum dst[0..n/2] of the n real values
// src. It panics naming the lengths if either is short.
func (p *RealPlan) Forward(dst []complex64, src []float32) {
	n := p.n
	if len(dst) < n/2+1 || len(src) < n {
		panic(fmt.Sprintf("fft: a real transform of %d points: len(dst) = %d (want %d), len(src) = %d", n, len(dst), n/2+1, len(src)))
	}
	if p.full != nil {
		p.oddForward(dst, src)
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
	p.half.Forward(z, z)
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

// oddForward runs an odd length on the complex transform, through dst
// and the plan's scratch.
func (p *RealPlan) oddForward(dst []complex64, src []float32) {
	sp := p.full.scratch.Get().(*[]complex64)
	defer p.full.scratch.Put(sp)
	buf := make2(sp, p.n)
	for j, v := range src[:p.n] {
		buf[j] = complex(v, 0)
	}
	p.full.Forward(buf, buf)
	copy(dst, buf[:p.n/2+1])
}

// Inverse computes the n real values dst of the half spectrum src (the
// unnormalized inverse: Inverse of Forward multiplies by n).
func (p *RealPlan) Inverse(dst []float32, src []complex64) {
	n := p.n
	if len(dst) < n || len(src) < n/2+1 {
		panic(fmt.Sprintf("fft: a real inverse of %d points: len(dst) = %d, len(src) = %d (want %d)", n, len(dst), len(src), n/2+1))
	}
	if p.full != nil {
		p.oddInverse(dst, src)
		return
	}
	// The forward's steps backwards: Z[k] = E + i O with E = (X[k] +
	// conj X[h-k]) / ... (the 1/2 factors dropped: the inverse is
	// unnormalized), then z = IDFT_(h)(Z), x[2j] + i x[2j+1] = z[j].
	h := n / 2
	sp := p.half.scratch.Get().(*[]complex64)
	defer p.half.scratch.Put(sp)
	z := make2(sp, h)
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
	p.half.Inverse(z, z)
	for j := 0; j < h; j++ {
		dst[2*j], dst[2*j+1] = real(z[j]), imag(z[j])
	}
}

// oddInverse mirrors the half spectrum into a full one and runs the
// complex inverse.
func (p *RealPlan) oddInverse(dst []float32, src []complex64) {
	n := p.n
	sp := p.full.scratch.Get().(*[]complex64)
	defer p.full.scratch.Put(sp)
	buf := make2(sp, n)
	buf[0] = complex(real(src[0]), 0)
	for k := 1; k <= n/2; k++ {
		buf[k] = src[k]
		buf[n-k] = complex(real(src[k]), -imag(src[k]))
	}
	p.full.Inverse(buf, buf)
	for j := range dst[:n] {
		dst[j] = real(buf[j])
	}
}

// make2 is the first n values of a pooled scratch slice.
func make2(sp *[]complex64, n int) []complex64 { return (*sp)[:n] }
