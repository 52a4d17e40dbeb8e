package fft

import (
	"math/rand/v2"
	"testing"

	"github.com/convkit/convkit/kernels"
)

var ndShapes = [][]int{{1}, {12}, {3, 5}, {8, 8}, {6, 7}, {1, 9}, {9, 1}, {4, 6, 5}, {2, 3, 9}, {16, 16}, {5, 97}, {3, 4, 16}}

// dftND is the float64 DFT of x (shape dims) along every axis.
func dftND(x []complex128, dims []int, inverse bool) []complex128 {
	out := append([]complex128(nil), x...)
	for a := range dims {
		n, inner := dims[a], 1
		for _, d := range dims[a+1:] {
			inner *= d
		}
		outer := len(x) / (n * inner)
		col := make([]complex128, n)
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				for j := range col {
					col[j] = out[o*n*inner+j*inner+i]
				}
				for j, v := range dft(col, inverse) {
					out[o*n*inner+j*inner+i] = v
				}
			}
		}
	}
	return out
}

func ndCount(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// TestPlanNDAgainstDFT checks the complex N-D transforms both ways
// against the float64 DFT along every axis, and the round trip.
func TestPlanNDAgainstDFT(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for _, dims := range ndShapes {
		n := ndCount(dims)
		p, err := NewPlanND(dims...)
		if err != nil {
			t.Fatal(err)
		}
		x := randComplex(r, n)
		got, back := make([]complex64, n), make([]complex64, n)
		p.Forward(got, x)
		bound := errBound(n)
		if e := relErr(got, dftND(widen(x), dims, false)); e > bound {
			t.Errorf("%v: forward error %.3g > %.3g", dims, e, bound)
		}
		p.Inverse(back, got)
		scaled := widen(x)
		for i := range scaled {
			scaled[i] *= complex(float64(n), 0)
		}
		if e := relErr(back, scaled); e > 2*bound {
			t.Errorf("%v: round trip error %.3g", dims, e)
		}
	}
}

// TestRealPlanNDAgainstDFT checks the real N-D transform against the
// float64 DFT's half spectrum (the last dim halved) and its inverse
// against Len() times the input, leaving the spectrum unchanged.
func TestRealPlanNDAgainstDFT(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 11))
	for _, dims := range ndShapes {
		n := ndCount(dims)
		p, err := NewRealPlanND(dims...)
		if err != nil {
			t.Fatal(err)
		}
		x, xc := randReal(r, n)
		full := dftND(xc, dims, false)
		w := dims[len(dims)-1]
		sw := w/2 + 1
		want := make([]complex128, 0, p.SpectrumLen())
		for row := 0; row < n/w; row++ {
			want = append(want, full[row*w:row*w+sw]...)
		}
		spec := make([]complex64, p.SpectrumLen())
		p.Forward(spec, x)
		if e := relErr(spec, want); e > errBound(n) {
			t.Errorf("%v: forward error %.3g", dims, e)
		}
		kept := append([]complex64(nil), spec...)
		back := make([]float32, n)
		p.Inverse(back, spec)
		if e := scaledErr(back, x, n); e > 2*errBound(n) {
			t.Errorf("%v: round trip error %.3g", dims, e)
		}
		for i := range spec {
			if spec[i] != kept[i] {
				t.Fatalf("%v: Inverse changed its input at %d", dims, i)
			}
		}
		if got := p.SpectrumDims(); got[len(got)-1] != sw {
			t.Errorf("%v: spectrum dims %v", dims, got)
		}
	}
}

// TestNDErrorsAndAllocs checks the N-D plans' errors and that their
// steady-state calls allocate nothing.
func TestNDErrorsAndAllocs(t *testing.T) {
	for _, dims := range [][]int{{}, {4, 0}, {-1}, {1 << 40, 1 << 40}} {
		if _, err := NewPlanND(dims...); err == nil {
			t.Errorf("NewPlanND(%v): no error", dims)
		}
		if _, err := NewRealPlanND(dims...); err == nil {
			t.Errorf("NewRealPlanND(%v): no error", dims)
		}
	}
	for _, shapes := range [][2][]int{{{12, 10}, {6, 5, 14}}, {{64, 64}, {64, 64}}} { // 64 x 64: the generated path
		p, _ := NewPlanND(shapes[0]...)
		rp, _ := NewRealPlanND(shapes[1]...)
		x := make([]complex64, p.Len())
		xr, spec := make([]float32, rp.Len()), make([]complex64, rp.SpectrumLen())
		if a := testing.AllocsPerRun(20, func() {
			p.Forward(x, x)
			p.Inverse(x, x)
			rp.Forward(spec, xr)
			rp.Inverse(xr, spec)
		}); a != 0 {
			t.Errorf("%v, %v: %v allocations per call", shapes[0], shapes[1], a)
		}
	}
}

// TestWithMatchesPooled checks that the calls on the caller's work give
// the pooled calls' bits, and that short work panics.
func TestWithMatchesPooled(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 15))
	for _, dims := range [][]int{{97}, {12, 10}, {6, 5, 14}} {
		rp, _ := NewRealPlanND(dims...)
		x := make([]float32, rp.Len())
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		a, b := make([]complex64, rp.SpectrumLen()), make([]complex64, rp.SpectrumLen())
		work := make([]complex64, rp.WorkLen())
		rp.Forward(a, x)
		rp.ForwardWith(b, x, work)
		ya, yb := make([]float32, rp.Len()), make([]float32, rp.Len())
		rp.Inverse(ya, a)
		rp.InverseWith(yb, b, work)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%v: ForwardWith differs at %d", dims, i)
			}
		}
		for i := range ya {
			if ya[i] != yb[i] {
				t.Fatalf("%v: InverseWith differs at %d", dims, i)
			}
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%v: short work: no panic", dims)
				}
			}()
			rp.ForwardWith(b, x, work[:len(work)-1])
		}()
	}
}

// TestGrid2Paths runs the 2D plans of every host path on shapes whose
// dims are whole vectors of lanes, asserting the generated path ran:
// the complex transform both ways and the real forward against the
// float64 DFT, the real inverse against the Go path's on a spectrum
// whose undefined imaginary parts are not zero (both ignore them).
func TestGrid2Paths(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, isa := range lanePaths()[1:] {
		for _, dims := range [][]int{{8, 8}, {16, 16}, {32, 48}, {48, 16}, {64, 64}, {96, 32}, {32, 256}, {16, 576}, {32, 512}, {16, 1024}} {
			n := ndCount(dims)
			p, _ := NewPlanNDFor(isa, dims...)
			rp, _ := NewRealPlanNDFor(isa, dims...)
			if p.Path() == "go" || rp.Path() == "go" {
				if L := kernelsFor(isa).set.Lanes; dims[0]%L == 0 && dims[1]%L == 0 {
					t.Fatalf("%v %v: paths %s, %s: want the generated kernels", isa, dims, p.Path(), rp.Path())
				}
				continue
			}
			x := randComplex(r, n)
			for _, inverse := range []bool{false, true} {
				got := make([]complex64, n)
				p.transform(got, x, inverse)
				if e := relErr(got, dftND(widen(x), dims, inverse)); e > 2*errBound(n) {
					t.Errorf("%v %v inverse %v: error %.3g", isa, dims, inverse, e)
				}
			}
			xr, xc := randReal(r, n)
			full := dftND(xc, dims, false)
			w, sw := dims[1], dims[1]/2+1
			var want []complex128
			for row := 0; row < dims[0]; row++ {
				want = append(want, full[row*w:row*w+sw]...)
			}
			spec := make([]complex64, rp.SpectrumLen())
			rp.Forward(spec, xr)
			if e := relErr(spec, want); e > 2*errBound(n) {
				t.Errorf("%v %v: real forward error %.3g", isa, dims, e)
			} else {
				t.Logf("%v %v (%s): real forward error %.2g", isa, dims, rp.Path(), e)
			}
			for i := range spec {
				spec[i] += complex(0, float32(r.NormFloat64()))
			}
			goPlan, _ := NewRealPlanNDFor(kernels.Generic, dims...)
			back, ref := make([]float32, n), make([]float32, n)
			rp.Inverse(back, spec)
			goPlan.Inverse(ref, spec)
			if e := scaledErr(back, ref, 1); e > 2*errBound(n) {
				t.Errorf("%v %v: real inverse differs from the Go path's by %.3g", isa, dims, e)
			}
		}
	}
}

// TestMisalignedWork runs the generated paths' With calls on scratch
// that starts off a 64-byte boundary (a caller's slice of a larger
// buffer): the same results as the pooled calls, no short-work panic.
func TestMisalignedWork(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	for _, dims := range [][]int{{1024}, {4096}, {64, 64}, {32, 256}, {32, 512}, {48, 96}} {
		p, _ := NewPlanND(dims...)
		rp, _ := NewRealPlanND(dims...)
		for off := 1; off < 8; off += 3 {
			x := randComplex(r, p.Len())
			a, b := make([]complex64, p.Len()), make([]complex64, p.Len())
			p.Forward(a, x)
			p.ForwardWith(b, x, make([]complex64, p.WorkLen()+off)[off:])
			xr, _ := randReal(r, rp.Len())
			sa, sb := make([]complex64, rp.SpectrumLen()), make([]complex64, rp.SpectrumLen())
			rp.Forward(sa, xr)
			w := make([]complex64, rp.WorkLen()+off)[off:]
			rp.ForwardWith(sb, xr, w)
			ya, yb := make([]float32, rp.Len()), make([]float32, rp.Len())
			rp.Inverse(ya, sa)
			rp.InverseWith(yb, sa, w)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("%v (%s) offset %d: complex differs at %d", dims, p.Path(), off, i)
				}
			}
			for i := range sa {
				if sa[i] != sb[i] {
					t.Fatalf("%v (%s) offset %d: real forward differs at %d", dims, rp.Path(), off, i)
				}
			}
			for i := range ya {
				if ya[i] != yb[i] {
					t.Fatalf("%v (%s) offset %d: real inverse differs at %d", dims, rp.Path(), off, i)
				}
			}
		}
	}
}
