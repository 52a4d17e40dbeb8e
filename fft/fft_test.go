package fft

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/convkit/convkit/kernels"
)

// testSizes covers every size class: 1, 2, powers of two, 2,3,5,7-smooth
// sizes, primes (Bluestein) and composites with a large prime factor.
var testSizes = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 25, 27, 30, 31, 32, 49, 60, 64, 97, 100, 121, 127, 128, 210, 243, 256, 343, 500, 509, 1000, 1024, 1031, 2048, 4096}

// dft is the float64 DFT of x, the sign of the exponent by direction.
func dft(x []complex128, inverse bool) []complex128 {
	n := len(x)
	sign := -1.0
	if inverse {
		sign = 1
	}
	out := make([]complex128, n)
	for k := range out {
		var s complex128
		for j, v := range x {
			e := (j * k) % n
			s += v * cmplx.Rect(1, sign*2*math.Pi*float64(e)/float64(n))
		}
		out[k] = s
	}
	return out
}

func randComplex(r *rand.Rand, n int) []complex64 {
	x := make([]complex64, n)
	for i := range x {
		x[i] = complex(float32(r.NormFloat64()), float32(r.NormFloat64()))
	}
	return x
}

func widen(x []complex64) []complex128 {
	out := make([]complex128, len(x))
	for i, v := range x {
		out[i] = complex128(v)
	}
	return out
}

// relErr is max|got - want| / max|want|.
func relErr(got []complex64, want []complex128) float64 {
	var num, den float64
	for i, w := range want {
		num = max(num, cmplx.Abs(complex128(got[i])-w))
		den = max(den, cmplx.Abs(w))
	}
	if den == 0 {
		return num
	}
	return num / den
}

// errBound is the tests' bound for a transform of n points: a few float32
// roundings per level of the factorization (Bluestein adds two
// transforms of its length).
func errBound(n int) float64 { return 2e-7 * (4 + 3*math.Log2(float64(2*n))) }

// TestComplexAgainstDFT checks both directions of every size class
// against the float64 DFT, out of place and in place.
func TestComplexAgainstDFT(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range testSizes {
		p, err := NewPlan(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, inverse := range []bool{false, true} {
			x := randComplex(r, n)
			want := dft(widen(x), inverse)
			got := make([]complex64, n)
			inPlace := append([]complex64(nil), x...)
			if inverse {
				p.Inverse(got, x)
				p.Inverse(inPlace, inPlace)
			} else {
				p.Forward(got, x)
				p.Forward(inPlace, inPlace)
			}
			e := relErr(got, want)
			if e > errBound(n) {
				t.Errorf("n %d inverse %v: error %.3g > %.3g", n, inverse, e, errBound(n))
			}
			if !inverse && (n == 97 || n == 1000 || n == 1031 || n == 4096) {
				t.Logf("n %d: forward error %.2g (bound %.2g)", n, e, errBound(n))
			}
			for i := range got {
				if got[i] != inPlace[i] {
					t.Fatalf("n %d: in place [%d] = %v, out of place %v", n, i, inPlace[i], got[i])
				}
			}
		}
	}
}

// TestComplexIdentities checks the round trip (Inverse of Forward is n
// times the input), Parseval's sum and linearity.
func TestComplexIdentities(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range testSizes {
		p, _ := NewPlan(n)
		x, y := randComplex(r, n), randComplex(r, n)
		fx, fy, back := make([]complex64, n), make([]complex64, n), make([]complex64, n)
		p.Forward(fx, x)
		p.Forward(fy, y)
		p.Inverse(back, fx)
		scaled := make([]complex128, n)
		var ex, efx float64
		for i := range x {
			scaled[i] = complex128(x[i]) * complex(float64(n), 0)
			ex += math.Pow(cmplx.Abs(complex128(x[i])), 2)
			efx += math.Pow(cmplx.Abs(complex128(fx[i])), 2)
		}
		if e := relErr(back, scaled); e > 2*errBound(n) {
			t.Errorf("n %d: round trip error %.3g", n, e)
		}
		if d := math.Abs(efx/float64(n)-ex) / ex; d > 4*errBound(n) {
			t.Errorf("n %d: Parseval: sum |X|^2 / n = %v, sum |x|^2 = %v", n, efx/float64(n), ex)
		}
		a, b := complex64(complex(0.5, -1.5)), complex64(complex(2, 0.25))
		comb := make([]complex64, n)
		want := make([]complex128, n)
		for i := range comb {
			comb[i] = a*x[i] + b*y[i]
			want[i] = complex128(a)*complex128(fx[i]) + complex128(b)*complex128(fy[i])
		}
		p.Forward(comb, comb)
		if e := relErr(comb, want); e > 4*errBound(n) {
			t.Errorf("n %d: linearity error %.3g", n, e)
		}
	}
}

// TestRealAgainstDFT checks the real transforms of every size class
// against the float64 DFT's half spectrum, and the inverse against n
// times the input.
func TestRealAgainstDFT(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range testSizes {
		p, err := NewRealPlan(n)
		if err != nil {
			t.Fatal(err)
		}
		x, xc := randReal(r, n)
		want := dft(xc, false)[:n/2+1]
		spec := make([]complex64, n/2+1)
		p.Forward(spec, x)
		if e := relErr(spec, want); e > errBound(n) {
			t.Errorf("real n %d: error %.3g > %.3g", n, e, errBound(n))
		}
		back := make([]float32, n)
		p.Inverse(back, spec)
		if e := scaledErr(back, x, n); e > 2*errBound(n) {
			t.Errorf("real n %d: round trip error %.3g", n, e)
		}
	}
}

// randReal is n normal values and the same widened to complex.
func randReal(r *rand.Rand, n int) ([]float32, []complex128) {
	x, xc := make([]float32, n), make([]complex128, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
		xc[i] = complex(float64(x[i]), 0)
	}
	return x, xc
}

// scaledErr is max|got - n*x| / max|n*x|: a round trip's error.
func scaledErr(got, x []float32, n int) float64 {
	var num, den float64
	for i, v := range x {
		num = max(num, math.Abs(float64(got[i])-float64(n)*float64(v)))
		den = max(den, math.Abs(float64(n)*float64(v)))
	}
	return num / den
}

// TestRealInverseIgnoresNonHermitian checks that the inverse reads only
// the real parts of X[0] and, for even n, X[n/2].
func TestRealInverseIgnoresNonHermitian(t *testing.T) {
	for _, n := range []int{8, 9, 12, 97} {
		p, _ := NewRealPlan(n)
		r := rand.New(rand.NewPCG(uint64(n), 1))
		spec := randComplex(r, n/2+1)
		a, b := make([]float32, n), make([]float32, n)
		p.Inverse(a, spec)
		spec[0] = complex(real(spec[0]), 7)
		if n%2 == 0 {
			spec[n/2] = complex(real(spec[n/2]), -3)
		}
		p.Inverse(b, spec)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("n %d: [%d] %v, %v with other imaginary parts", n, i, a[i], b[i])
			}
		}
	}
}

// TestConcurrentAndAllocs runs one plan from several goroutines at once
// (each result as alone) and wants steady-state calls to allocate
// nothing.
func TestConcurrentAndAllocs(t *testing.T) {
	for _, n := range []int{1024, 97, 360, 4096} { // 1024, 4096: the generated path where the host has one
		p, _ := NewPlan(n)
		rp, _ := NewRealPlan(n)
		x := randComplex(rand.New(rand.NewPCG(7, uint64(n))), n)
		want := make([]complex64, n)
		p.Forward(want, x)
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got := make([]complex64, n)
				for it := 0; it < 50; it++ {
					p.Forward(got, x)
					for i := range got {
						if got[i] != want[i] {
							t.Errorf("n %d: concurrent result differs at %d", n, i)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		out := make([]complex64, n)
		xr, spec := make([]float32, n), make([]complex64, n/2+1)
		if a := testing.AllocsPerRun(20, func() {
			p.Forward(out, x)
			p.Inverse(out, out)
			rp.Forward(spec, xr)
			rp.Inverse(xr, spec)
		}); a != 0 {
			t.Errorf("n %d: %v allocations per call", n, a)
		}
	}
}

// TestErrors checks the plans' length errors and the calls' panics on
// short slices, naming the lengths.
func TestErrors(t *testing.T) {
	if _, err := NewPlan(0); err == nil {
		t.Error("NewPlan(0): no error")
	}
	if _, err := NewRealPlan(-1); err == nil {
		t.Error("NewRealPlan(-1): no error")
	}
	p, _ := NewPlan(8)
	rp, _ := NewRealPlan(8)
	for name, call := range map[string]func(){
		"complex dst": func() { p.Forward(make([]complex64, 7), make([]complex64, 8)) },
		"complex src": func() { p.Inverse(make([]complex64, 8), make([]complex64, 3)) },
		"real dst":    func() { rp.Forward(make([]complex64, 4), make([]float32, 8)) },
		"real src":    func() { rp.Inverse(make([]float32, 7), make([]complex64, 5)) },
	} {
		func() {
			defer func() {
				if e := recover(); e == nil || !strings.Contains(e.(string), "8 points") {
					t.Errorf("%s: panic %v, want one naming the length", name, e)
				}
			}()
			call()
		}()
	}
}

// TestBatch checks the batched calls against one call per transform, at
// contiguous and padded distances, and the check of their reach.
func TestBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 13))
	for _, n := range []int{1, 12, 97, 256} {
		p, _ := NewPlan(n)
		rp, _ := NewRealPlan(n)
		for _, dist := range []int{n, n + 3} {
			const count = 5
			src := randComplex(r, (count-1)*dist+n)
			dst := make([]complex64, len(src))
			p.ForwardBatch(dst, src, count, dist, dist)
			one := make([]complex64, n)
			for b := 0; b < count; b++ {
				p.Forward(one, src[b*dist:])
				for i := range one {
					if dst[b*dist+i] != one[i] {
						t.Fatalf("n %d dist %d: transform %d differs at %d", n, dist, b, i)
					}
				}
			}
			back := make([]complex64, len(src))
			p.InverseBatch(back, dst, count, dist, dist)
			xr := make([]float32, (count-1)*dist+n)
			for i := range xr {
				xr[i] = float32(r.NormFloat64())
			}
			sd := n/2 + 2
			spec := make([]complex64, (count-1)*sd+n/2+1)
			rp.ForwardBatch(spec, xr, count, sd, dist)
			rone := make([]complex64, n/2+1)
			for b := 0; b < count; b++ {
				rp.Forward(rone, xr[b*dist:])
				for i := range rone {
					if spec[b*sd+i] != rone[i] {
						t.Fatalf("real n %d: transform %d differs at %d", n, b, i)
					}
				}
			}
			rp.InverseBatch(xr, spec, count, dist, sd)
		}
		func() {
			defer func() {
				if e := recover(); e == nil || !strings.Contains(fmt.Sprint(e), "batch") {
					t.Errorf("n %d: short batch: panic %v", n, e)
				}
			}()
			p.ForwardBatch(make([]complex64, 2*n), make([]complex64, 3*n-1), 3, n, n)
		}()
	}
}

// wantPath is the path a complex plan of n on isa must run: isa's
// kernels where n splits into two multiples of their lanes, AVX2's on an
// AVX-512 plan too short for its own, else Go.
func wantPath(n int, isa kernels.ISA) string {
	for _, p := range []kernels.ISA{isa, kernels.AVX2} {
		if k := kernelsFor(p); k.set != nil && (p == isa || isa == kernels.AVX512) {
			if _, _, ok := fourStepSplit(n, k.set.Lanes); ok {
				return k.name()
			}
		}
	}
	return "go"
}

// TestFourStepPaths runs the complex plans of every host path on the
// lengths that split into two factors of whole vectors, asserting that
// the generated path ran: against the float64 DFT up to 1024 points and
// against the Go path's float64-accumulated plan past that, both
// directions, in place and out of place.
func TestFourStepPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, isa := range lanePaths()[1:] {
		for _, n := range []int{64, 144, 256, 576, 1024, 2304, 4096, 6912, 16384} {
			p, err := NewPlanFor(n, isa)
			if err != nil {
				t.Fatal(err)
			}
			if want := wantPath(n, isa); p.Path() != want {
				t.Fatalf("%v n=%d: path %s, want %s", isa, n, p.Path(), want)
			}
			goPlan, _ := NewPlanFor(n, kernels.Generic)
			for _, inverse := range []bool{false, true} {
				x := randComplex(r, n)
				var want []complex128
				if n <= 1024 {
					want = dft(widen(x), inverse)
				} else {
					ref := make([]complex64, n)
					goPlan.transform(ref, x, inverse)
					want = widen(ref)
				}
				got := make([]complex64, n)
				inPlace := append([]complex64(nil), x...)
				p.transform(got, x, inverse)
				p.transform(inPlace, inPlace, inverse)
				if e := relErr(got, want); e > 2*errBound(n) {
					t.Errorf("%v n=%d inverse %v: error %.3g > %.3g", isa, n, inverse, e, 2*errBound(n))
				} else if !inverse {
					t.Logf("%v n=%d (%s): forward error %.2g", isa, n, p.Path(), e)
				}
				for i := range got {
					if got[i] != inPlace[i] {
						t.Fatalf("%v n=%d: in place [%d] = %v, out of place %v", isa, n, i, inPlace[i], got[i])
					}
				}
			}
		}
	}
}

// TestRealFourStepPaths is TestFourStepPaths for the real plans: the
// forward against the float64 DFT, the inverse by its round trip and
// against the Go path, the path asserted; the inverse ignores the
// imaginary parts of X[0] and X[n/2].
func TestRealFourStepPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, isa := range lanePaths()[1:] {
		for _, n := range []int{128, 512, 1152, 2048, 4608, 8192, 32768} {
			p, _ := NewRealPlanFor(n, isa)
			if want := wantPath(n/2, isa); p.Path() != want {
				t.Fatalf("%v n=%d: path %s, want %s", isa, n, p.Path(), want)
			}
			goPlan, _ := NewRealPlanFor(n, kernels.Generic)
			x, x64 := randReal(r, n)
			spec := make([]complex64, n/2+1)
			p.Forward(spec, x)
			var want []complex128
			if n <= 2048 {
				want = dft(x64, false)[:n/2+1]
			} else {
				ref := make([]complex64, n/2+1)
				goPlan.Forward(ref, x)
				want = widen(ref)
			}
			if e := relErr(spec, want); e > 2*errBound(n) {
				t.Errorf("%v n=%d: forward error %.3g > %.3g", isa, n, e, 2*errBound(n))
			} else {
				t.Logf("%v n=%d (%s): forward error %.2g", isa, n, p.Path(), e)
			}
			spec[0] += complex(0, 5) // ignored
			spec[n/2] += complex(0, -3)
			back, ref := make([]float32, n), make([]float32, n)
			p.Inverse(back, spec)
			goPlan.Inverse(ref, spec)
			if e := scaledErr(back, x, n); e > 2*errBound(n) {
				t.Errorf("%v n=%d: round trip error %.3g", isa, n, e)
			}
			if e := scaledErr(back, ref, 1); e > 2*errBound(n) {
				t.Errorf("%v n=%d: inverse differs from the Go path's by %.3g", isa, n, e)
			}
		}
	}
}
