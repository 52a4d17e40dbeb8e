package fft

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/convkit/convkit/internal/guardpage"
	"github.com/convkit/convkit/kernels"
)

// hostKernels are the generated kernel sets of every path this host runs.
func hostKernels() []laneKernels {
	var out []laneKernels
	for _, isa := range []kernels.ISA{kernels.AVX2, kernels.AVX512, kernels.NEON} {
		if k := kernelsFor(isa); k.set != nil {
			out = append(out, k)
		}
	}
	return out
}

// laneLens are the run lengths the kernels are checked on: 0, 1, primes,
// around every vector width.
var laneLens = []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 15, 16, 17, 23, 31, 32, 33, 47, 64, 100}

// layout places streams runs of n floats, step apart, with the imaginary
// planes im floats after the real ones (im < 0: before), in one buffer
// whose first and last floats are used: it returns the buffer length and
// the real offset.
func layout(streams, n, step, im int) (size, re int) {
	last := (streams - 1) * step
	lo := min(0, im) + min(0, last)
	hi := max(0, im) + max(0, last) + n
	return hi - lo, -lo
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// sameBits fails unless got and want agree bit for bit.
func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %v, twin %v", what, i, got[i], want[i])
		}
	}
}

// guarded runs call on copies of src and dst flush against guard pages,
// at the start then at the end of each buffer, and returns dst.
func guarded(t *testing.T, dst, src []float32, call func(dst, src []float32)) []float32 {
	var out []float32
	for _, end := range []bool{false, true} {
		alloc := guardpage.Start
		if end {
			alloc = guardpage.End
		}
		gs, b1 := alloc(len(src))
		gd, b2 := alloc(len(dst))
		copy(gs, src)
		copy(gd, dst)
		call(gd, gs)
		out = append(out[:0], gd...)
		b1.Free()
		b2.Free()
	}
	return out
}

func TestLaneKernelsAgainstTwins(t *testing.T) {
	ks := hostKernels()
	if len(ks) == 0 {
		t.Skip("no generated FFT kernels on this host")
	}
	r := rand.New(rand.NewPCG(1, 2))
	twin := laneKernels{}
	for _, k := range ks {
		for _, n := range laneLens {
			for _, radix := range []int{2, 3, 4, 8} {
				if !k.hasRadix(radix) {
					continue
				}
				for _, geo := range [][4]int{{1, 1, 1, 0}, {3, -1, 1, 0}, {2, 2, 1, 0}, {1, 1, 3, 0}, {2, -1, 2, 0}, {1, 1, 1, 1}, {2, -1, 2, 1}} { // step, im as multiples of n; butterflies; plain
					count, plain := geo[2], geo[3] == 1
					step, im := geo[0]*max(n, 1), geo[1]*(radix*count*geo[0]*max(n, 1))
					ss, sre := layout(radix*count, n, step, im)
					dim := -(radix*count*(step+1) + n) // past the real planes' span
					ds, dre := layout(radix*count, n, step+1, dim)
					src, dst0 := randSlice(r, ss), randSlice(r, ds)
					tw := randSlice(r, 2*(radix-1)*count)
					in := run{re: sre, im: sre + im, step: step}
					out := run{re: dre, im: dre + dim, step: step + 1}
					want := append([]float32{}, dst0...)
					in.data, out.data = src, want
					twin.butterfly(radix, out, in, n, tw, count, radix*step, radix*(step+1), plain)
					got := guarded(t, dst0, src, func(d, s []float32) {
						in.data, out.data = s, d
						k.butterfly(radix, out, in, n, tw, count, radix*step, radix*(step+1), plain)
					})
					sameBits(t, fmt.Sprintf("%s radix %d n=%d geo %v", k.name(), radix, n, geo), got, want)
				}
			}
			for _, im := range []int{6 * (n + 3), -6 * (n + 3)} {
				// Six rows n+3 apart: the pairs (1, 5), (2, 4), (3, 3) in
				// one call, the last one row with itself; then (0, 5) alone.
				S := n + 3
				size, re := layout(6, n, S, im)
				src, dst0 := randSlice(r, size), randSlice(r, size)
				tw := make([][3]float32, 3)
				for i := range tw {
					tw[i] = [3]float32{0.5, float32(r.NormFloat64()), float32(r.NormFloat64())}
				}
				at := func(d []float32, row, step int) run {
					return run{data: d, re: re + row*S, im: re + im + row*S, step: step}
				}
				for _, c := range []struct{ row, step, count, next int }{{1, 4 * S, 3, S}, {0, 5 * S, 1, 0}} {
					want := append([]float32{}, dst0...)
					twin.realPair(at(want, c.row, c.step), at(src, c.row, c.step), n, tw[:c.count], c.next, c.next)
					got := guarded(t, dst0, src, func(d, s []float32) {
						k.realPair(at(d, c.row, c.step), at(s, c.row, c.step), n, tw[:c.count], c.next, c.next)
					})
					sameBits(t, fmt.Sprintf("%s realPair n=%d im=%d count %d", k.name(), n, im, c.count), got, want)
				}
			}
			for _, rows := range []int{1, 3} { // rows n+1 apart, planes after them
				pitch := n + 1
				size := 2 * rows * pitch
				a, dst0, w := randSlice(r, size), randSlice(r, size), randSlice(r, 2*rows)
				want := append([]float32{}, dst0...)
				view := func(d []float32) run { return run{data: d, im: rows * pitch} }
				twin.scaleAddConj(view(want), view(a), n, rows, pitch, w)
				got := guarded(t, dst0, a, func(d, s []float32) {
					k.scaleAddConj(view(d), view(s), n, rows, pitch, w)
				})
				sameBits(t, fmt.Sprintf("%s scaleAddConj n=%d rows=%d", k.name(), n, rows), got, want)
			}
			for kind := Mul; kind <= MulAddConj; kind++ {
				size, re := layout(1, n, 0, -n)
				a, b, dst0 := randSlice(r, 2*n), randSlice(r, 2*n), randSlice(r, size)
				want := append([]float32{}, dst0...)
				twin.mul(kind, run{data: want, re: re, im: re - n}, run{data: a, im: n}, run{data: b, im: n}, n)
				got := guarded(t, dst0, a, func(d, s []float32) {
					k.mul(kind, run{data: d, re: re, im: re - n}, run{data: s, im: n}, run{data: b, im: n}, n)
				})
				sameBits(t, fmt.Sprintf("%s mul %d n=%d", k.name(), kind, n), got, want)
			}
		}
	}
}

// TestLaneKernelsInPlace: RealPair and the products may write over
// their sources, as LanePlan's callers do.
func TestLaneKernelsInPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range append(hostKernels(), laneKernels{}) {
		n := 37
		data := randSlice(r, 4*n)
		tw := [][3]float32{{1, 0.25, -0.75}}
		ref := append([]float32{}, data...) // the twin out of place
		laneKernels{}.realPair(run{data: ref, im: n, step: 2 * n}, run{data: append([]float32{}, data...), im: n, step: 2 * n}, n, tw, 0, 0)
		got := append([]float32{}, data...)
		k.realPair(run{data: got, im: n, step: 2 * n}, run{data: got, im: n, step: 2 * n}, n, tw, 0, 0)
		sameBits(t, k.name()+" realPair in place", got, ref)
		a := randSlice(r, 2*n)
		b := randSlice(r, 2*n)
		ref = append([]float32{}, a...)
		laneKernels{}.mul(Mul, run{data: ref, im: n}, run{data: append([]float32{}, a...), im: n}, run{data: b, im: n}, n)
		k.mul(Mul, run{data: a, im: n}, run{data: a, im: n}, run{data: b, im: n}, n)
		sameBits(t, k.name()+" mul in place", a, ref)
	}
}

// dft64 is the float64 DFT of each of lanes signals of src (n elements).
func dft64(src Split, n, lanes int, inverse bool) [][]complex128 {
	sign := -1.0
	if inverse {
		sign = 1
	}
	w := make([]complex128, n)
	for e := range w {
		w[e] = cmplx.Rect(1, sign*2*math.Pi*float64(e)/float64(n))
	}
	out := make([][]complex128, lanes)
	x := make([]complex128, n)
	for l := range out {
		out[l] = make([]complex128, n)
		for j := range x {
			x[j] = complex(float64(src.Data[src.Re+j*src.Step+l]), float64(src.Data[src.Im+j*src.Step+l]))
		}
		for k := 0; k < n; k++ {
			var s complex128
			for j, v := range x {
				s += v * w[j*k%n]
			}
			out[l][k] = s
		}
	}
	return out
}

// lanePaths are the paths a LanePlan test runs: the twins, then every
// generated set of the host.
func lanePaths() []kernels.ISA {
	out := []kernels.ISA{kernels.Generic}
	for _, k := range hostKernels() {
		isa, _ := kernels.ParseISA(k.set.ISA)
		out = append(out, isa)
	}
	return out
}

func TestLanePlanAgainstDFT(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	lens := []int{1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 27, 32, 36, 48, 54, 64, 81, 96, 128, 144, 162, 243, 256, 288}
	for _, isa := range lanePaths() {
		for _, n := range lens {
			p, err := NewLanePlan(n, isa)
			if err != nil {
				t.Fatal(err)
			}
			if want := kernelsFor(isa).name(); p.Path() != want {
				t.Fatalf("%v: path %s, want %s", isa, p.Path(), want)
			}
			for _, lanes := range []int{1, 5, 16, 19} {
				for _, strided := range []bool{false, true} {
					src := Dense(randSlice(r, 2*n*lanes), n, lanes)
					dst := Dense(make([]float32, 2*n*lanes), n, lanes)
					if strided { // rows of 2*lanes+3 floats, im beside re
						step := 2*lanes + 3
						src = Split{Data: randSlice(r, n*step), Re: 0, Im: lanes + 1, Step: step}
						dst = Split{Data: make([]float32, n*step+1), Re: lanes + 2, Im: 1, Step: step}
					}
					work := make([]float32, p.WorkLen(lanes))
					for _, inverse := range []bool{false, true} {
						if inverse {
							p.Inverse(dst, src, lanes, work)
						} else {
							p.Forward(dst, src, lanes, work)
						}
						want := dft64(src, n, lanes, inverse)
						var worst, scale float64
						for l := range want {
							for k, w := range want[l] {
								g := complex(float64(dst.Data[dst.Re+k*dst.Step+l]), float64(dst.Data[dst.Im+k*dst.Step+l]))
								worst = max(worst, cmplx.Abs(g-w))
								scale = max(scale, cmplx.Abs(w))
							}
						}
						if worst > 1e-6*scale*math.Log2(float64(2*n)) {
							t.Fatalf("%v n=%d lanes=%d strided=%v inverse=%v: error %.3g of %.3g", isa, n, lanes, strided, inverse, worst, scale)
						}
					}
				}
			}
		}
	}
}

func TestLanePlanErrors(t *testing.T) {
	for _, n := range []int{0, -1, 5, 7, 10, 97} {
		if _, err := NewLanePlan(n, kernels.Generic); err == nil {
			t.Errorf("NewLanePlan(%d): no error", n)
		}
	}
	p, _ := NewLanePlan(8, kernels.Generic)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "source") {
			t.Fatalf("short source: panic %v, want one naming the source", r)
		}
	}()
	p.Forward(Dense(make([]float32, 32), 8, 2), Dense(make([]float32, 31), 8, 2), 2, make([]float32, p.WorkLen(2)))
}

func TestLanePlanAllocs(t *testing.T) {
	p, _ := NewLanePlan(288, kernels.Current())
	src, dst := Dense(make([]float32, 2*288*16), 288, 16), Dense(make([]float32, 2*288*16), 288, 16)
	work := make([]float32, p.WorkLen(16))
	if a := testing.AllocsPerRun(10, func() { p.Forward(dst, src, 16, work) }); a != 0 {
		t.Fatalf("Forward allocates %v times", a)
	}
}

func TestRealLanePlanAgainstDFT(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, isa := range lanePaths() {
		for _, n := range []int{2, 4, 6, 8, 12, 18, 24, 32, 54, 64, 96, 144, 162, 288} {
			p, err := NewRealLanePlan(n, isa)
			if err != nil {
				t.Fatal(err)
			}
			for _, lanes := range []int{1, 7, 16, 33} {
				step := lanes + 2
				x := randSlice(r, (n-1)*step+lanes)
				m := n/2 + 1
				spec := Dense(make([]float32, 2*m*lanes), m, lanes)
				work := make([]float32, p.WorkLen(lanes))
				p.Forward(spec, x, step, lanes, work)
				var worst, scale float64
				for l := 0; l < lanes; l++ {
					for k := 0; k < m; k++ {
						var s complex128
						for j := 0; j < n; j++ {
							s += complex(float64(x[j*step+l]), 0) * cmplx.Rect(1, -2*math.Pi*float64(j*k%n)/float64(n))
						}
						g := complex(float64(spec.Data[spec.Re+k*lanes+l]), float64(spec.Data[spec.Im+k*lanes+l]))
						worst, scale = max(worst, cmplx.Abs(g-s)), max(scale, cmplx.Abs(s))
					}
				}
				if worst > 1e-6*scale*math.Log2(float64(2*n)) {
					t.Fatalf("%v n=%d lanes=%d: forward error %.3g of %.3g", isa, n, lanes, worst, scale)
				}
				back := make([]float32, len(x))
				p.Inverse(back, step, spec, lanes, work)
				for l := 0; l < lanes; l++ {
					for j := 0; j < n; j++ {
						if d := math.Abs(float64(back[j*step+l])/float64(n) - float64(x[j*step+l])); d > 1e-5 {
							t.Fatalf("%v n=%d lanes=%d: round trip [%d][%d] off by %.3g", isa, n, lanes, j, l, d)
						}
					}
				}
			}
		}
	}
}

func TestRealLanePlanAllocs(t *testing.T) {
	p, _ := NewRealLanePlan(288, kernels.Current())
	m := p.SpectrumLen()
	x, spec := make([]float32, 288*16), Dense(make([]float32, 2*m*16), m, 16)
	work := make([]float32, p.WorkLen(16))
	if a := testing.AllocsPerRun(10, func() {
		p.Forward(spec, x, 16, 16, work)
		p.Inverse(x, 16, spec, 16, work)
	}); a != 0 {
		t.Fatalf("Forward and Inverse allocate %v times", a)
	}
}

// TestReachOverflow: offsets and steps near the int range never pass
// the kernels' bounds check.
func TestReachOverflow(t *testing.T) {
	data := make([]float32, 64)
	for _, r := range []run{
		{data: data, re: 0, im: math.MaxInt - 3, step: 8},
		{data: data, re: 4, im: 8, step: math.MaxInt / 2},
		{data: data, re: 4, im: 8, step: math.MinInt / 2},
		{data: data, re: -1, im: 8, step: 1},
	} {
		if r.reach(2, 4) {
			t.Errorf("%+v passes", r)
		}
	}
	if !(run{data: data, re: 0, im: 32, step: 8}).reach(4, 8) {
		t.Error("an in-range run fails")
	}
	if !(run{data: data, re: 24, im: 56, step: -8}).reach(4, 8) {
		t.Error("an in-range run backwards fails")
	}
}
