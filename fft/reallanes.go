package fft

import (
	"fmt"
	"math"

	"github.com/convkit/convkit/kernels"
)

// RealLanePlan is the real DFT of one even length n of factors 2 and 3
// over batches of real signals side by side (element j of signal l at
// x[j*step + l]: the columns of a row-major array), into the half
// spectrum X[0..n/2] in split form (Split, n/2+1 elements), and back. It
// runs the complex LanePlan of n/2 points on the signals' even and odd
// elements as real and imaginary parts, then RealPair kernels that
// separate the two. Immutable and safe for concurrent use; the calls
// take the caller's scratch and allocate nothing.
type RealLanePlan struct {
	n    int
	half *LanePlan
	fwd  [][3]float32 // per k <= n/4: RealPair's alpha, beta forward
	inv  [][3]float32 // and inverse
}

// NewRealLanePlan returns the plan of n-point real transforms on path
// isa, or an error if n is not even and a product of 2s and 3s.
func NewRealLanePlan(n int, isa kernels.ISA) (*RealLanePlan, error) {
	if n < 2 || n%2 != 0 {
		return nil, fmt.Errorf("fft: real lane transform of length %d: want an even length", n)
	}
	half, err := NewLanePlan(n/2, isa)
	if err != nil {
		return nil, err
	}
	p := &RealLanePlan{n: n, half: half}
	for k := 0; k <= n/4; k++ {
		s, c := math.Sincos(2 * math.Pi * float64(k) / float64(n))
		// Forward: X[k] = E/2 + w^k (A - conj B)/(2i), w = e^(-2 pi i/n):
		// beta = -i w^k / 2. Inverse: Z[k] = E + i conj(w^k) D.
		p.fwd = append(p.fwd, [3]float32{0.5, float32(-s / 2), float32(-c / 2)})
		p.inv = append(p.inv, [3]float32{1, float32(-s), float32(c)})
	}
	return p, nil
}

// Len is the plan's real transform length.
func (p *RealLanePlan) Len() int { return p.n }

// SpectrumLen is the elements of a half spectrum: n/2 + 1.
func (p *RealLanePlan) SpectrumLen() int { return p.n/2 + 1 }

// WorkLen is the scratch floats a call on lanes signals takes.
func (p *RealLanePlan) WorkLen(lanes int) int { return p.half.WorkLen(lanes) + 2*p.SpectrumLen()*lanes }

// Forward computes the half spectra dst (n/2+1 elements) of lanes real
// signals of x, element j of signal l at x[j*step+l], unnormalized. dst
// must not overlap x or work.
func (p *RealLanePlan) Forward(dst Split, x []float32, step, lanes int, work []float32) {
	if lanes == 0 {
		return
	}
	p.check("transform", dst, x, step, lanes, work)
	p.half.Forward(dst, Split{Data: x, Re: 0, Im: step, Step: 2 * step}, lanes, work)
	p.pairs(dst, dst, lanes, p.fwd, 0)
}

// Inverse computes lanes real signals into x (element j of signal l at
// x[j*step+l]) from their half spectra src, unnormalized (Inverse of
// Forward multiplies by n). The imaginary parts of X[0] and X[n/2] are
// read, not ignored: a real signal's spectrum has them zero, and the
// inverse of one where they are not is not the real part of a complex
// inverse. src is read only.
func (p *RealLanePlan) Inverse(x []float32, step int, src Split, lanes int, work []float32) {
	if lanes == 0 {
		return
	}
	p.check("inverse", src, x, step, lanes, work)
	m := p.n / 2
	zl := 2 * (m + 1) * lanes
	z := Dense(work[:zl], m+1, lanes)
	p.pairs(z, src, lanes, p.inv, m)
	p.half.Inverse(Split{Data: x, Re: 0, Im: step, Step: 2 * step}, z, lanes, work[zl:])
}

// check panics naming the call's operands if the spectrum, the real
// signals (lanes of x, step apart) or work is short.
func (p *RealLanePlan) check(what string, spec Split, x []float32, step, lanes int, work []float32) {
	spec.check("real transform's spectrum", p.n/2+1, lanes)
	if step < lanes || len(x) < (p.n-1)*step+lanes {
		panic(fmt.Sprintf("fft: real lane %s of %d x %d lanes (step %d): len(x) = %d, need %d", what, p.n, lanes, step, len(x), (p.n-1)*step+lanes))
	}
	if len(work) < p.WorkLen(lanes) {
		panic(fmt.Sprintf("fft: real lane %s of %d x %d: len(work) = %d, need %d", what, p.n, lanes, len(work), p.WorkLen(lanes)))
	}
}

// pairs runs RealPair on the rows k and n/2-k of src into dst, for k <=
// n/4; k = 0 pairs row 0 with row b0 (0 forward, where row n/2 is the
// output's; n/2 inverse), its second output row n/2.
func (p *RealLanePlan) pairs(dst, src Split, lanes int, tw [][3]float32, b0 int) {
	m := p.n / 2
	// k = 0 pairs with row b0 and writes row m; k >= 1 with row m - k,
	// one kernel call for all of them.
	a, o1 := src.at(0), dst.at(0)
	a.step, o1.step = src.at(b0).re-a.re, dst.at(m).re-o1.re
	p.half.k.realPair(o1, a, lanes, tw[:1], 0, 0)
	if len(tw) > 1 {
		a, o1 = src.at(1), dst.at(1)
		a.step, o1.step = (m-2)*src.Step, (m-2)*dst.Step
		p.half.k.realPair(o1, a, lanes, tw[1:], src.Step, dst.Step)
	}
}

// SplitOps are the split complex products of one path (MulKind): the
// pointwise products of FFT convolution and of four-step twiddles.
type SplitOps struct{ k laneKernels }

// SplitOpsFor returns the products of path isa (its generated kernels,
// the twins where it has none).
func SplitOpsFor(isa kernels.ISA) SplitOps { return SplitOps{kernelsFor(isa)} }

// Path is the name of the kernels: the ISA, or "go".
func (o SplitOps) Path() string { return o.k.name() }

// Mul computes kind's product over n elements of lanes values: dst (+)=
// a * b or a * conj(b). dst may be a or b.
func (o SplitOps) Mul(kind MulKind, dst, a, b Split, n, lanes int) {
	if n <= 0 || lanes <= 0 {
		return
	}
	dst.check("product's destination", n, lanes)
	a.check("product's a", n, lanes)
	b.check("product's b", n, lanes)
	if dst.Step == lanes && a.Step == lanes && b.Step == lanes {
		n, lanes = 1, n*lanes
	}
	for j := 0; j < n; j++ {
		o.k.mul(kind, dst.at(j), a.at(j), b.at(j), lanes)
	}
}

// MulAddConjRows computes dst[j] += a[j] * conj(w[j]) over n elements of
// lanes values: one complex w[j] = w[2j] + i w[2j+1] per element (row),
// the same for all its lanes (a filter's frequency times a batch of
// tiles). dst may be a.
func (o SplitOps) MulAddConjRows(dst, a Split, w []float32, n, lanes int) {
	if n <= 0 || lanes <= 0 {
		return
	}
	dst.check("rows product's destination", n, lanes)
	a.check("rows product's a", n, lanes)
	if len(w) < 2*n {
		panic(fmt.Sprintf("fft: rows product of %d elements: len(w) = %d, need %d", n, len(w), 2*n))
	}
	if dst.Step != a.Step {
		for j := 0; j < n; j++ {
			o.k.scaleAddConj(dst.at(j), a.at(j), lanes, 1, 0, w[2*j:2*j+2])
		}
		return
	}
	o.k.scaleAddConj(dst.at(0), a.at(0), lanes, n, a.Step, w)
}

// MulConjRowsSum sets dst to the sum over chans inputs of
// MulAddConjRows' products: dst[j] = sum_c a_c[j] * conj(w_c[j]), a_c = a
// moved c*aChan floats (both planes) and w_c = w[c*wChan:], in order of
// c, bit for bit chans calls of MulAddConjRows on a cleared dst, the
// sum stored once per vector. a and dst must have the same Step.
func (o SplitOps) MulConjRowsSum(dst, a Split, aChan int, w []float32, wChan, chans, n, lanes int) {
	if n <= 0 || lanes <= 0 || chans <= 0 {
		return
	}
	// The channel distances bounded by division first, so that no
	// product below can overflow into a false yes (the kernel trusts it).
	if chans > 1 && (aChan < 0 || wChan < 0 || aChan > len(a.Data)/(chans-1) || wChan > len(w)/(chans-1)) {
		panic(fmt.Sprintf("fft: rows sum of %d inputs %d floats apart, weights %d apart: outside slices of %d and %d floats", chans, aChan, wChan, len(a.Data), len(w)))
	}
	last := a
	last.Re, last.Im = a.Re+(chans-1)*aChan, a.Im+(chans-1)*aChan
	dst.check("rows sum's destination", n, lanes)
	a.check("rows sum's first input", n, lanes)
	last.check("rows sum's last input", n, lanes)
	if dst.Step != a.Step || aChan < 0 || wChan < 0 || len(w) < (chans-1)*wChan+2*n {
		panic(fmt.Sprintf("fft: rows sum of %d inputs x %d elements: steps %d, %d, %d weights at %d apart, need %d", chans, n, dst.Step, a.Step, len(w), wChan, (chans-1)*wChan+2*n))
	}
	o.k.conjSum(dst.at(0), a.at(0), lanes, n, a.Step, w, chans, aChan, wChan)
}
