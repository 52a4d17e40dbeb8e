package fft

import "math"

// bluestein is Bluestein's chirp transform of n points on a power-of-two
// length m >= 2n - 1: with the chirp c_j = exp(-pi i j^2 / n),
//
//	X[k] = c_k * sum_j (x_j c_j) conj(c_(k-j)),
//
// a circular convolution of length m, run as two transforms of m points
// against the chirp's spectrum, kept in the plan.
type bluestein struct {
	n, m  int
	chirp []complex128 // c_j, j < n
	spec  []complex64  // the m-point DFT of conj(c) wrapped around, / m
	inner *Plan
}

func newBluestein(n int) *bluestein {
	m := 1
	for m < 2*n-1 {
		m *= 2
	}
	b := &bluestein{n: n, m: m, chirp: make([]complex128, n)}
	for j := range b.chirp {
		// j^2 mod 2n keeps the angle exact for large j.
		e := (j * j) % (2 * n)
		s, c := math.Sincos(-math.Pi * float64(e) / float64(n))
		b.chirp[j] = complex(c, s)
	}
	b.inner, _ = NewPlan(m)
	b.spec = make([]complex64, m)
	for j := 0; j < n; j++ {
		c := complex64(complex(real(b.chirp[j]), -imag(b.chirp[j])) / complex(float64(m), 0))
		b.spec[j] = c
		if j > 0 {
			b.spec[m-j] = c
		}
	}
	b.inner.Forward(b.spec, b.spec)
	return b
}

// workLen is run's scratch: the padded signal and the inner plan's work.
func (b *bluestein) workLen() int { return b.m + b.inner.WorkLen() }

// run transforms src into dst on scratch s (workLen values); the inverse is
// the conjugate of the forward transform of the conjugate.
func (b *bluestein) run(dst, src, s []complex64, inverse bool) {
	a := s[:b.m]
	for j := 0; j < b.n; j++ {
		x := complex128(src[j])
		if inverse {
			x = complex(real(x), -imag(x))
		}
		a[j] = complex64(x * b.chirp[j])
	}
	clear(a[b.n:])
	work := s[b.m:b.workLen()]
	b.inner.ForwardWith(a, a, work)
	for i, v := range b.spec {
		a[i] *= v
	}
	b.inner.InverseWith(a, a, work)
	for k := 0; k < b.n; k++ {
		y := complex128(a[k]) * b.chirp[k]
		if inverse {
			y = complex(real(y), -imag(y))
		}
		dst[k] = complex64(y)
	}
}
