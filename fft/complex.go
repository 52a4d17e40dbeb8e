package fft

import (
	"fmt"
	"math"
	"sync"

	"github.com/convkit/convkit/kernels"
)

// Plan is the complex transform of one length. It is immutable after
// NewPlan and safe for concurrent use: each call takes its scratch from
// the plan's pool, or from the caller (the With calls, WorkLen values),
// which never allocates.
type Plan struct {
	n       int
	factors []int        // the mixed-radix factors, in order (nil: Bluestein)
	tw      []complex128 // exp(-2 pi i e / n), e < n
	blue    *bluestein
	fast    *fourStep // the generated kernels' path, where n has one
	scratch sync.Pool // *[]complex64 of scratchLen
}

// NewPlan returns the plan of the complex transforms of n points on the
// host's bound path (kernels.Current), or an error for n < 1.
func NewPlan(n int) (*Plan, error) { return NewPlanFor(n, kernels.Current()) }

// NewPlanFor is NewPlan on path isa: the generated kernels of isa where
// n splits into two factors of 2s and 3s, each a multiple of the
// vector's lanes (256 and up, on AVX-512), else (and for kernels.Generic)
// the Go path.
func NewPlanFor(n int, isa kernels.ISA) (*Plan, error) {
	if n < 1 {
		return nil, fmt.Errorf("fft: length %d: want >= 1", n)
	}
	p := &Plan{n: n, fast: newFourStep(n, isa)}
	if f, ok := smoothFactors(n); ok {
		p.factors = f
		p.tw = twiddles(n)
	} else {
		p.blue = newBluestein(n)
	}
	p.scratch.New = newPool(p.WorkLen())
	return p, nil
}

// newPool is a sync.Pool's New of n-value work buffers.
func newPool(n int) func() any {
	return func() any {
		s := make([]complex64, n)
		return &s
	}
}

// Len is the plan's transform length.
func (p *Plan) Len() int { return p.n }

// Path is the kernels the plan runs: an ISA's name, or "go".
func (p *Plan) Path() string {
	if p.fast != nil {
		return p.fast.k.name()
	}
	return "go"
}

// WorkLen is the scratch values ForwardWith and InverseWith take.
func (p *Plan) WorkLen() int {
	switch {
	case p.fast != nil:
		return max(p.n, (p.fast.workLen()+1)/2)
	case p.blue != nil:
		return p.blue.workLen()
	}
	return p.n
}

// Forward computes dst = DFT(src), both of Len() values (dst and src may
// be the same slice). It panics naming the lengths if either is short.
func (p *Plan) Forward(dst, src []complex64) { p.transform(dst, src, false) }

// Inverse computes the unnormalized inverse: dst[j] = sum_k src[k]
// exp(+2 pi i j k / n).
func (p *Plan) Inverse(dst, src []complex64) { p.transform(dst, src, true) }

// ForwardWith is Forward on the caller's scratch work (WorkLen values).
func (p *Plan) ForwardWith(dst, src, work []complex64) { p.transformWith(dst, src, work, false) }

// InverseWith is Inverse on the caller's scratch work (WorkLen values).
func (p *Plan) InverseWith(dst, src, work []complex64) { p.transformWith(dst, src, work, true) }

func (p *Plan) transform(dst, src []complex64, inverse bool) {
	sp := p.scratch.Get().(*[]complex64)
	p.transformWith(dst, src, *sp, inverse)
	p.scratch.Put(sp)
}

func (p *Plan) transformWith(dst, src, s []complex64, inverse bool) {
	if len(dst) < p.n || len(src) < p.n || len(s) < p.WorkLen() {
		panic(fmt.Sprintf("fft: a transform of %d points: len(dst) = %d, len(src) = %d, len(work) = %d (want %d)", p.n, len(dst), len(src), len(s), p.WorkLen()))
	}
	if p.fast != nil {
		p.fast.transform(dst, src, floats(s), inverse)
		return
	}
	if p.blue != nil {
		p.blue.run(dst[:p.n], src[:p.n], s, inverse)
		return
	}
	// The recursion reads src with strides and writes dst in order: an
	// in-place call first copies src aside.
	in := src[:p.n]
	if &dst[0] == &src[0] {
		copy(s, in)
		in = s[:p.n]
	}
	p.mixed(dst[:p.n], in, 1, p.factors, inverse)
}

// mixed computes the DFT of the n = len(out) values in[0], in[stride],
// ... into out by decimation in time on factors: radix r = factors[0]
// splits the input into r sequences of stride r*stride, whose DFTs land
// in out's r quarters, then each output quadruple (k, k+m, ..., k+(r-1)m)
// comes from the r values at those positions, twiddled.
func (p *Plan) mixed(out, in []complex64, stride int, factors []int, inverse bool) {
	n := len(out)
	if n == 1 {
		out[0] = in[0]
		return
	}
	r := factors[0]
	m := n / r
	if m == 1 { // the last factor: its r inputs straight in, no calls per point
		for j := 0; j < r; j++ {
			out[j] = in[j*stride]
		}
	} else {
		for j := 0; j < r; j++ {
			p.mixed(out[j*m:(j+1)*m], in[j*stride:], stride*r, factors[1:], inverse)
		}
	}
	step := p.n / n // out's twiddle exp(-2 pi i / n) is tw[step]
	switch r {
	case 2:
		p.radix2(out, m, step, inverse)
	case 3:
		p.radix3(out, m, step, inverse)
	case 4:
		p.radix4(out, m, step, inverse)
	default:
		p.radixGeneric(out, r, m, step, inverse)
	}
}

// twiddle is exp(-+2 pi i e / n) for the plan's n and e < n, the sign by
// direction (the butterflies' exponents never reach n).
func (p *Plan) twiddle(e int, inverse bool) complex128 {
	w := p.tw[e]
	if inverse {
		return complex(real(w), -imag(w))
	}
	return w
}

func (p *Plan) radix2(out []complex64, m, step int, inverse bool) {
	for k := 0; k < m; k++ {
		a := complex128(out[k])
		b := p.twiddle(k*step, inverse) * complex128(out[k+m])
		out[k], out[k+m] = complex64(a+b), complex64(a-b)
	}
}

// radix3 is the butterfly of radix 3: with s = t1 + t2 and d = t1 - t2,
// the outputs a + s and a - s/2 -+ i (sqrt(3)/2) d.
func (p *Plan) radix3(out []complex64, m, step int, inverse bool) {
	h := complex(0, -math.Sqrt(3)/2) // -i sin(2 pi / 3), the forward's
	if inverse {
		h = -h
	}
	for k := 0; k < m; k++ {
		a := complex128(out[k])
		b := p.twiddle(k*step, inverse) * complex128(out[k+m])
		c := p.twiddle(2*k*step, inverse) * complex128(out[k+2*m])
		sum, diff := b+c, h*(b-c)
		mid := a - sum*0.5
		out[k] = complex64(a + sum)
		out[k+m] = complex64(mid + diff)
		out[k+2*m] = complex64(mid - diff)
	}
}

func (p *Plan) radix4(out []complex64, m, step int, inverse bool) {
	// -i for the forward transform, +i for the inverse.
	rot := complex(0, -1)
	if inverse {
		rot = complex(0, 1)
	}
	for k := 0; k < m; k++ {
		a := complex128(out[k])
		b := p.twiddle(k*step, inverse) * complex128(out[k+m])
		c := p.twiddle(2*k*step, inverse) * complex128(out[k+2*m])
		d := p.twiddle(3*k*step, inverse) * complex128(out[k+3*m])
		s0, s1 := a+c, a-c
		t0, t1 := b+d, rot*(b-d)
		out[k] = complex64(s0 + t0)
		out[k+m] = complex64(s1 + t1)
		out[k+2*m] = complex64(s0 - t0)
		out[k+3*m] = complex64(s1 - t1)
	}
}

// radixGeneric is the butterfly of any radix r <= 7: per output index k,
// the r twiddled values t_j, then out[k + q*m] = sum_j t_j w_r^(j*q).
func (p *Plan) radixGeneric(out []complex64, r, m, step int, inverse bool) {
	var t [maxRadix]complex128
	rstep := p.n / r // exp(-2 pi i / r)
	for k := 0; k < m; k++ {
		for j := 0; j < r; j++ {
			t[j] = p.twiddle(j*k*step, inverse) * complex128(out[k+j*m])
		}
		for q := 0; q < r; q++ {
			var sum complex128
			for j := 0; j < r; j++ {
				sum += t[j] * p.twiddle((j*q%r)*rstep, inverse)
			}
			out[k+q*m] = complex64(sum)
		}
	}
}

// maxRadix is the largest factor of the mixed-radix path.
const maxRadix = 7

// smoothFactors factors n into 4s, 2s, 3s, 5s and 7s (4 first), or
// reports that n has a larger prime factor.
func smoothFactors(n int) ([]int, bool) {
	var f []int
	for _, r := range []int{4, 2, 3, 5, 7} {
		for n%r == 0 {
			f = append(f, r)
			n /= r
		}
	}
	return f, n == 1
}

// twiddles is exp(-2 pi i e / n) for e < n, each from its own angle in
// float64 (no accumulated rotation).
func twiddles(n int) []complex128 {
	w := make([]complex128, n)
	for e := range w {
		s, c := math.Sincos(-2 * math.Pi * float64(e) / float64(n))
		w[e] = complex(c, s)
	}
	return w
}

// GoodLen is the smallest length >= n whose prime factors are 2, 3, 5
// and 7: the mixed-radix path's lengths (a convolution pads to one).
func GoodLen(n int) int {
	for m := max(1, n); ; m++ {
		if _, ok := smoothFactors(m); ok {
			return m
		}
	}
}
