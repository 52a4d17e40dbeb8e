package fft

import (
	"math"
	"unsafe"
)

// realFourStep is the real transform of 2m points on the four-step
// complex transform of m (fourStep): the samples' pairs are the complex
// values z[j] = x[2j] + i x[2j+1], which the split form holds as they
// come (Unzip); the spectrum's frequencies k and m - k then separate
// (RealHalf, k the lanes, m - k reversed). Frequencies 0 and m/2 are
// the two the vectors leave: Go does them.
type realFourStep struct {
	c        *fourStep
	fwd, inv []float32 // RealHalf's beta per k <= m/2: the real plane, then the imaginary
}

func newRealFourStep(c *fourStep) *realFourStep {
	m := c.n
	h := m/2 + 1
	r := &realFourStep{c: c, fwd: make([]float32, 2*h), inv: make([]float32, 2*h)}
	for k := 0; k < h; k++ {
		s, co := math.Sincos(2 * math.Pi * float64(k) / float64(2*m))
		// As RealLanePlan's: forward beta = -i w^k / 2, inverse i conj(w^k).
		r.fwd[k], r.fwd[h+k] = float32(-s/2), float32(-co/2)
		r.inv[k], r.inv[h+k] = float32(-s), float32(co)
	}
	return r
}

// halves runs RealHalf over the frequencies 1 .. m/2-1 from src to dst:
// whole vectors from 1, then one vector ending at m/2 - 1 over the rest
// (it recomputes some frequencies, identically: out of place, each
// frequency's value is its own).
func (r *realFourStep) halves(dst, src run, tw []float32, alpha float32) {
	m, L := r.c.n, r.c.k.set.Lanes
	h := m/2 - 1
	t := run{data: tw, im: m/2 + 1}
	r.c.k.realHalf(dst, src, t, m, 1, h/L, L, alpha)
	if h%L != 0 {
		r.c.k.realHalf(dst, src, t, m, m/2-L, 1, L, alpha)
	}
}

// planeRun is split buffer s's planes as a run (swapped: the planes
// exchanged, for an inverse).
func planeRun(s Split, swapped bool) run {
	if swapped {
		return run{data: s.Data, re: s.Im, im: s.Re}
	}
	return run{data: s.Data, re: s.Re, im: s.Im}
}

// forward computes the half spectrum dst (m+1 values) of the 2m reals x.
func (r *realFourStep) forward(dst []complex64, x []float32, work []float32) {
	c, m := r.c, r.c.n
	work = c.checkWork(work)
	a, b := c.split(work, 0, c.n2), c.split(work, 1, c.n2)
	c.k.unzip(c.plane(a, false), c.plane(a, true), pairs(x, m))
	c.core(work)
	r.halves(planeRun(a, false), planeRun(b, false), r.fwd, 0.5)
	zr, zi := work[b.Re:], work[b.Im:]
	xr, xi := work[a.Re:], work[a.Im:]
	xr[0], xi[0] = zr[0]+zi[0], 0
	xr[m], xi[m] = zr[0]-zi[0], 0
	xr[m/2], xi[m/2] = zr[m/2], -zi[m/2]
	c.k.zip(dst[:m+1], xr[:m+1], xi[:m+1])
}

// inverse computes the 2m reals x of the half spectrum src (m+1 values,
// the imaginary parts of src[0] and src[m] ignored), unnormalized.
func (r *realFourStep) inverse(x []float32, src []complex64, work []float32) {
	c, m := r.c, r.c.n
	work = c.checkWork(work)
	a, b := c.split(work, 0, c.n2), c.split(work, 1, c.n2)
	c.k.unzip(work[b.Re:][:m+1], work[b.Im:][:m+1], src[:m+1])
	// Z into buffer 0 with its planes swapped: the complex inverse is the
	// forward on swapped planes.
	r.halves(planeRun(a, true), planeRun(b, false), r.inv, 1)
	xr, xi := work[b.Re:], work[b.Im:]
	zr, zi := work[a.Im:], work[a.Re:]
	zr[0], zi[0] = xr[0]+xr[m], xr[0]-xr[m]
	zr[m/2], zi[m/2] = 2*xr[m/2], -2*xi[m/2]
	c.core(work)
	c.k.zip(pairs(x, m), c.plane(b, true), c.plane(b, false))
}

// pairs views 2m floats as m complex values.
func pairs(x []float32, m int) []complex64 {
	x = x[:2*m]
	return unsafe.Slice((*complex64)(unsafe.Pointer(unsafe.SliceData(x))), m)
}
