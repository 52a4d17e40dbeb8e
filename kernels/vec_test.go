package kernels

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// vecSizes covers the empty slice, every length below two AVX-512 vectors'
// worth of tail cases, primes, and each vector width (8, 16) and unrolled
// block (32, 64) plus and minus one.
var vecSizes = []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 15, 16, 17, 31, 32, 33, 61, 63, 64, 65,
	100, 127, 128, 129, 257, 1000, 1021, 4099}

// eachISA runs f once for every path this host can run, as a subtest named
// after the path, and once for each generated amd64 path in the assembly
// interpreter (eachEmulated).
func eachISA(t *testing.T, f func(t *testing.T, tab *Table)) {
	for _, isa := range Available() {
		tab, err := TableFor(isa)
		if err != nil {
			t.Fatalf("TableFor(%v): %v", isa, err)
		}
		t.Run(isa.String(), func(t *testing.T) { f(t, tab) })
	}
	eachEmulated(t, f)
}

// randVec returns n random non-zero float32 in [-1, 1) scaled by powers of
// two in [2^-4, 2^4], so that sums cancel and exponents differ.
func randVec(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		v := r.Float32()*2 - 1
		if v == 0 {
			v = 0.5
		}
		s[i] = float32(math.Ldexp(float64(v), r.IntN(9)-4))
	}
	return s
}

func clone(s []float32) []float32 { return append([]float32(nil), s...) }

// sameBits reports whether a and b are the same float32, bit for bit (so
// -0 differs from +0 and NaN payloads count).
func sameBits(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }

func checkBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if !sameBits(got[i], want[i]) {
			if bad < 5 {
				t.Errorf("%s: [%d] = %v (%#08x), want %v (%#08x)", what, i,
					got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d elements differ", what, bad)
	}
}

// fusedAxpy is alpha*x + y with a single rounding, computed exactly.
func fusedAxpy(alpha, x, y float32) float32 {
	p := new(big.Float).SetPrec(1024).SetFloat64(float64(alpha))
	p.Mul(p, new(big.Float).SetFloat64(float64(x)))
	p.Add(p, new(big.Float).SetFloat64(float64(y)))
	f, _ := p.Float32()
	return f
}

// reduceBound is the error allowed to a float32 reduction of terms whose
// absolute values sum to absSum: reassociation changes the rounding, and
// the error of a sum of n terms grows like sqrt(n) on random data.
func reduceBound(n int, absSum float64) float64 {
	return 1e-6 * math.Sqrt(float64(max(n, 1))) * absSum
}

func TestVecAxpy(t *testing.T) {
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(1, 1))
		for _, n := range vecSizes {
			alpha := randVec(r, 1)[0]
			x, y := randVec(r, n), randVec(r, n)
			got := clone(y)
			tab.Vec.Axpy(alpha, x, got)
			for i := range got {
				// The Go spec lets alpha*x[i] + y[i] be fused or not; a
				// kernel must give exactly one of the two roundings.
				unfused := float32(alpha*x[i]) + y[i]
				if !sameBits(got[i], unfused) && !sameBits(got[i], fusedAxpy(alpha, x[i], y[i])) {
					t.Errorf("n=%d: y[%d] = %v, want %v (or fused %v)", n, i, got[i], unfused, fusedAxpy(alpha, x[i], y[i]))
					break
				}
			}
		}
	})
}

func TestVecDot(t *testing.T) {
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(2, 2))
		for _, n := range vecSizes {
			x, y := randVec(r, n), randVec(r, n)
			var ref, abs float64
			for i := range x {
				p := float64(x[i]) * float64(y[i])
				ref += p
				abs += math.Abs(p)
			}
			got := tab.Vec.Dot(x, y)
			if d := math.Abs(float64(got) - ref); d > reduceBound(n, abs) || (n == 0 && !sameBits(got, 0)) {
				t.Errorf("n=%d: Dot = %v, want %v (error %g, bound %g; generic %v)", n, got, ref, d, reduceBound(n, abs), DotGeneric(x, y))
			}
		}
	})
}

// TestVecDotShifts checks DotShifts3 and DotShifts5 against float64 dot
// products of each window, at steps 0 (one window), 1 (overlapping) and
// 23 (apart), and that they set sums (not add to it) and leave the rest
// of it alone; and the checked DotShifts for the other counts.
func TestVecDotShifts(t *testing.T) {
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(21, 21))
		for _, taps := range []int{3, 5} {
			for _, step := range []int{0, 1, 23} {
				for _, n := range vecSizes {
					x, y := randVec(r, n), randVec(r, n+(taps-1)*step)
					sums := []float32{9, 9, 9, 9, 9, 9}
					switch taps {
					case 3:
						tab.Vec.DotShifts3(x, y, step, sums)
					default:
						tab.Vec.DotShifts5(x, y, step, sums)
					}
					checkShiftedDots(t, fmt.Sprintf("DotShifts%d n=%d step=%d", taps, n, step), sums[:taps], x, y, step)
					if sums[taps] != 9 {
						t.Errorf("DotShifts%d n=%d step=%d: sums[%d] = %v, want it left at 9", taps, n, step, taps, sums[taps])
					}
				}
			}
		}
	})
	r := rand.New(rand.NewPCG(22, 22))
	for _, windows := range []int{0, 1, 2, 3, 4, 5, 7} {
		x := randVec(r, 37)
		y := randVec(r, 37+max(0, windows-1)*4)
		sums := make([]float32, windows)
		DotShifts(x, y, 4, sums)
		checkShiftedDots(t, fmt.Sprintf("DotShifts windows=%d", windows), sums, x, y, 4)
	}
}

// TestVecDotGrid3 checks DotGrid3 against float64 dot products of each
// pair of windows, at steps 0, 1 and apart (x's a row of 23 floats, y's
// a column), on sizes around the vector tails; that it sets the 9 sums
// and leaves the rest alone; and the checked wrapper on n = 0.
func TestVecDotGrid3(t *testing.T) {
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(23, 23))
		for _, st := range [][2]int{{0, 0}, {1, 1}, {23, 1}, {23, 2}, {5, 40}} {
			for _, n := range vecSizes {
				x, y := randVec(r, n+2*st[0]), randVec(r, n+2*st[1])
				sums := make([]float32, 10)
				for i := range sums {
					sums[i] = 9
				}
				tab.Vec.DotGrid3(x, y, n, st[0], st[1], sums)
				for a := 0; a < 3; a++ {
					checkShiftedDots(t, fmt.Sprintf("DotGrid3 n=%d steps=%v x window %d", n, st, a), sums[3*a:3*a+3], x[a*st[0]:][:n], y, st[1])
				}
				if sums[9] != 9 {
					t.Errorf("DotGrid3 n=%d: sums[9] = %v, want it left at 9", n, sums[9])
				}
			}
		}
	})
	sums := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	DotGrid3(nil, nil, 0, 3, 4, sums)
	for i, v := range sums {
		if v != 0 {
			t.Errorf("DotGrid3 of n = 0: sums[%d] = %v, want 0", i, v)
		}
	}
}

// checkShiftedDots checks sums[w] against the float64 dot of x and
// y[w*step:].
func checkShiftedDots(t *testing.T, what string, sums, x, y []float32, step int) {
	t.Helper()
	for w, got := range sums {
		var ref, abs float64
		for i := range x {
			p := float64(x[i]) * float64(y[w*step+i])
			ref += p
			abs += math.Abs(p)
		}
		if d := math.Abs(float64(got) - ref); d > reduceBound(len(x), abs) {
			t.Errorf("%s window %d: %v, want %v (error %g)", what, w, got, ref, d)
		}
	}
}

// TestVecCopyRows checks CopyRows bit for bit against the twin: rows of
// every vecSizes width between pitches at and past the width, the floats
// between dst's rows and past its last left alone; and the checked
// CopyRows on empty copies.
func TestVecCopyRows(t *testing.T) {
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(23, 23))
		for _, rows := range []int{1, 2, 5} {
			for _, w := range vecSizes {
				for _, gap := range []int{0, 3} {
					dp, sp := w+gap, w+2*gap+1
					src := randVec(r, (rows-1)*sp+w)
					dst := randVec(r, (rows-1)*dp+w+7)
					want := clone(dst)
					tab.Vec.CopyRows(dst, src, rows, w, dp, sp)
					CopyRowsGeneric(want, src, rows, w, dp, sp)
					checkBits(t, fmt.Sprintf("CopyRows rows=%d w=%d gap=%d", rows, w, gap), dst, want)
				}
			}
		}
	})
	CopyRows(nil, nil, 0, 5, 9, 9)
	CopyRows(nil, nil, 4, 0, 9, 9)
	eachISA(t, func(t *testing.T, tab *Table) {
		tab.Vec.CopyRows(nil, nil, 0, 5, 9, 9) // the raw kernels too: nothing touched
		tab.Vec.CopyRows(nil, nil, 4, 0, 9, 9)
	})
}

func TestVecSum(t *testing.T) {
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(3, 3))
		for _, n := range vecSizes {
			x := randVec(r, n)
			var ref, abs float64
			for _, v := range x {
				ref += float64(v)
				abs += math.Abs(float64(v))
			}
			got := tab.Vec.Sum(x)
			if d := math.Abs(float64(got) - ref); d > reduceBound(n, abs) || (n == 0 && !sameBits(got, 0)) {
				t.Errorf("n=%d: Sum = %v, want %v (error %g, bound %g; generic %v)", n, got, ref, d, reduceBound(n, abs), SumGeneric(x))
			}
		}
	})
}

func TestVecScale(t *testing.T) {
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(4, 4))
		for _, n := range vecSizes {
			alpha := randVec(r, 1)[0]
			x := randVec(r, n)
			got, want := clone(x), clone(x)
			tab.Vec.Scale(alpha, got)
			ScaleGeneric(alpha, want)
			checkBits(t, fmt.Sprintf("Scale n=%d", n), got, want)
		}
	})
}

func TestVecAdd(t *testing.T) {
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(5, 5))
		for _, n := range vecSizes {
			x, y := randVec(r, n), randVec(r, n)
			got, want := make([]float32, n), make([]float32, n)
			tab.Vec.Add(got, x, y)
			AddGeneric(want, x, y)
			checkBits(t, fmt.Sprintf("Add n=%d", n), got, want)
		}
	})
}

func TestVecRelu(t *testing.T) {
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(6, 6))
		for _, n := range vecSizes {
			x := randVec(r, n)
			got, want := make([]float32, n), make([]float32, n)
			tab.Vec.Relu(got, x)
			ReluGeneric(want, x)
			checkBits(t, fmt.Sprintf("Relu n=%d", n), got, want)

			// In place: dst and x are the same slice.
			inPlace := clone(x)
			tab.Vec.Relu(inPlace, inPlace)
			checkBits(t, fmt.Sprintf("Relu in place n=%d", n), inPlace, want)
		}
	})
}

func TestVecReluBackward(t *testing.T) {
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(7, 7))
		for _, n := range vecSizes {
			x, dy := randVec(r, n), randVec(r, n)
			got, want := make([]float32, n), make([]float32, n)
			tab.Vec.ReluBackward(got, x, dy)
			ReluBackwardGeneric(want, x, dy)
			checkBits(t, fmt.Sprintf("ReluBackward n=%d", n), got, want)
		}
	})
}

func TestVecMax(t *testing.T) {
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(8, 8))
		for _, n := range vecSizes {
			x := randVec(r, n)
			if got, want := tab.Vec.Max(x), MaxGeneric(x); !sameBits(got, want) {
				t.Errorf("n=%d: Max = %v, want %v", n, got, want)
			}
			// All negative: the masked tail lanes must not act as zeros.
			for i := range x {
				x[i] = -float32(math.Abs(float64(x[i])))
			}
			if got, want := tab.Vec.Max(x), MaxGeneric(x); !sameBits(got, want) {
				t.Errorf("n=%d all negative: Max = %v, want %v", n, got, want)
			}
		}
	})
}

// specials are the float32 values whose handling the contracts spell out,
// with NaNs of several payloads and signs (a signalling one included).
var specials = []float32{
	float32(math.NaN()),
	math.Float32frombits(0xffc00000), // negative quiet NaN
	math.Float32frombits(0x7fc12345), // quiet NaN with a payload
	math.Float32frombits(0x7f800001), // signalling NaN
	float32(math.Inf(1)), float32(math.Inf(-1)),
	0, float32(math.Copysign(0, -1)),
	math.Float32frombits(1), -math.Float32frombits(1), // smallest denormals
	math.MaxFloat32, -math.MaxFloat32,
}

// withSpecials returns random vectors of length n with specials sprinkled
// in, every position getting one for small n, so that each lies in the
// unrolled body, the single-vector loop and the masked tail in turn.
func withSpecials(r *rand.Rand, n int) []float32 {
	x := randVec(r, n)
	for i := range x {
		if n <= 70 || r.IntN(4) == 0 {
			x[i] = specials[r.IntN(len(specials))]
		} else if r.IntN(2) == 0 {
			x[i] = -x[i]
		}
	}
	return x
}

func TestVecSpecials(t *testing.T) {
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(9, 9))
		for n := 0; n <= 70; n++ {
			for range 4 {
				x, dy := withSpecials(r, n), withSpecials(r, n)
				got, want := make([]float32, n), make([]float32, n)
				tab.Vec.Relu(got, x)
				ReluGeneric(want, x)
				checkBits(t, fmt.Sprintf("Relu specials n=%d", n), got, want)

				tab.Vec.ReluBackward(got, x, dy)
				ReluBackwardGeneric(want, x, dy)
				checkBits(t, fmt.Sprintf("ReluBackward specials n=%d", n), got, want)
			}
		}
	})
}

func TestVecMaxSpecials(t *testing.T) {
	eachISA(t, func(t *testing.T, tab *Table) {
		nan := float32(math.NaN())
		inf := float32(math.Inf(1))
		if got := tab.Vec.Max(nil); !sameBits(got, float32(math.Inf(-1))) {
			t.Errorf("Max(empty) = %v, want -Inf", got)
		}
		r := rand.New(rand.NewPCG(10, 10))
		for _, n := range append([]int{1, 2, 3, 5, 8, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 70}, 129, 1021) {
			base := randVec(r, n)
			for p := 0; p < n; p++ {
				x := clone(base)
				x[p] = nan
				if got := tab.Vec.Max(x); got == got {
					t.Errorf("n=%d NaN at %d: Max = %v, want NaN", n, p, got)
				}
				x[p] = math.Float32frombits(0xffc00000) // negative NaN
				if got := tab.Vec.Max(x); got == got {
					t.Errorf("n=%d -NaN at %d: Max = %v, want NaN", n, p, got)
				}
				x[p] = inf
				if got := tab.Vec.Max(x); got != inf {
					t.Errorf("n=%d +Inf at %d: Max = %v, want +Inf", n, p, got)
				}
			}
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(math.Inf(-1))
			}
			if got := tab.Vec.Max(x); !sameBits(got, float32(math.Inf(-1))) {
				t.Errorf("n=%d all -Inf: Max = %v, want -Inf", n, got)
			}
			for range 4 {
				x := withSpecials(r, n)
				got, want := tab.Vec.Max(x), MaxGeneric(x)
				if (got != got) != (want != want) || (want == want && got != want) {
					t.Errorf("n=%d specials %v: Max = %v, want %v", n, x, got, want)
				}
			}
		}
	})
}

func TestVecReductionSpecials(t *testing.T) {
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(11, 11))
		for _, n := range []int{1, 7, 16, 33, 100} {
			for p := 0; p < n; p += max(1, n/7) {
				x, y := randVec(r, n), randVec(r, n)
				x[p] = float32(math.NaN())
				if got := tab.Vec.Sum(x); got == got {
					t.Errorf("n=%d NaN at %d: Sum = %v, want NaN", n, p, got)
				}
				if got := tab.Vec.Dot(x, y); got == got {
					t.Errorf("n=%d NaN at %d: Dot = %v, want NaN", n, p, got)
				}
				x[p] = float32(math.Inf(-1))
				if got := tab.Vec.Sum(x); !math.IsInf(float64(got), -1) {
					t.Errorf("n=%d -Inf at %d: Sum = %v, want -Inf", n, p, got)
				}
			}
		}
	})
}

// sentinel fills the part of a buffer a kernel must not touch; a NaN with a
// payload no arithmetic produces, so any write or any read of it shows.
var sentinel = math.Float32frombits(0x7fa5a5a5)

// padded returns random data of length n followed by pad sentinels, with
// the capacity of the whole buffer (as a caller's sub-slice would have).
func padded(r *rand.Rand, n, pad int) []float32 {
	s := append(randVec(r, n), make([]float32, pad)...)
	for i := n; i < len(s); i++ {
		s[i] = sentinel
	}
	return s
}

func checkSentinels(t *testing.T, what string, s []float32, n int) {
	t.Helper()
	for i := n; i < len(s); i++ {
		if !sameBits(s[i], sentinel) {
			t.Errorf("%s: element %d past the end was overwritten with %v", what, i, s[i])
			return
		}
	}
}

// TestVecBounds gives every kernel inputs longer than the length it must
// use, with sentinel NaNs past that length: nothing past it may be written,
// and no result may depend on it.
func TestVecBounds(t *testing.T) {
	const pad = 40
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(12, 12))
		v := tab.Vec
		for _, n := range vecSizes {
			what := func(k string) string { return fmt.Sprintf("%s n=%d", k, n) }
			x, y, dst := padded(r, n, pad), padded(r, n, pad), padded(r, n, pad)

			v.Axpy(2, x[:n], y)
			checkSentinels(t, what("Axpy y"), y, n)

			if d := v.Dot(x[:n], y); d != d {
				t.Errorf("%s = NaN: read y past len(x)", what("Dot"))
			}

			v.Scale(3, x[:n])
			checkSentinels(t, what("Scale x"), x, n)

			v.Add(dst[:n], x, y)
			checkSentinels(t, what("Add dst"), dst, n)
			if n > 0 && dst[n-1] != dst[n-1] {
				t.Errorf("%s: NaN in the output", what("Add"))
			}

			v.Relu(dst[:n], x)
			checkSentinels(t, what("Relu dst"), dst, n)

			v.ReluBackward(dst[:n], x, y)
			checkSentinels(t, what("ReluBackward dx"), dst, n)

			if m := v.Max(x[:n]); m != m {
				t.Errorf("%s = NaN: read past len(x)", what("Max"))
			}
			if s := v.Sum(x[:n]); s != s {
				t.Errorf("%s = NaN: read past len(x)", what("Sum"))
			}
		}
	})
}

// vecBenches are the kernels BenchmarkVec runs, with the bytes each reads
// and writes per element (the unit of the benchmarks' MB/s).
var vecBenches = []struct {
	name  string
	bytes int64
	run   func(v *VecKernels, x, y, dst []float32)
}{
	{"Axpy", 12, func(v *VecKernels, x, y, _ []float32) { v.Axpy(1e-7, x, y) }},
	{"Dot", 8, func(v *VecKernels, x, y, _ []float32) { benchSink += v.Dot(x, y) }},
	{"Scale", 8, func(v *VecKernels, x, _, _ []float32) { v.Scale(1, x) }},
	{"Add", 12, func(v *VecKernels, x, y, dst []float32) { v.Add(dst, x, y) }},
	{"Relu", 8, func(v *VecKernels, x, _, dst []float32) { v.Relu(dst, x) }},
	{"ReluBackward", 12, func(v *VecKernels, x, y, dst []float32) { v.ReluBackward(dst, x, y) }},
	{"Max", 4, func(v *VecKernels, x, _, _ []float32) { benchSink += v.Max(x) }},
	{"Sum", 4, func(v *VecKernels, x, _, _ []float32) { benchSink += v.Sum(x) }},
	// The stride-2 kernels run on n/2 pairs: per element of n, Gather2
	// reads one float and writes half of one, ScatterAdd2 reads and
	// writes one and reads half of one.
	{"Gather2", 6, func(v *VecKernels, x, _, dst []float32) { v.Gather2(dst[:len(x)/2], x) }},
	{"ScatterAdd2", 10, func(v *VecKernels, x, y, _ []float32) { v.ScatterAdd2(y, x[:len(y)/2]) }},
	// Interleave2 reads two rows of n/2 and writes one of n: 8 bytes per
	// element of n.
	{"Interleave2", 8, func(v *VecKernels, x, y, dst []float32) { v.Interleave2(dst, x[:len(x)/2], y[:len(x)/2]) }},
}

var benchSink float32

// BenchmarkVec measures every vector kernel of every path on a few sizes,
// as BenchmarkVec/<kernel>/<n>/<isa>; b.SetBytes counts the bytes read plus
// written, so the output gives memory throughput in MB/s.
func BenchmarkVec(b *testing.B) {
	r := rand.New(rand.NewPCG(13, 13))
	for _, k := range vecBenches {
		b.Run(k.name, func(b *testing.B) {
			for _, n := range []int{256, 4096, 65536} {
				b.Run(fmt.Sprint(n), func(b *testing.B) {
					x, y, dst := randVec(r, n), randVec(r, n), make([]float32, n)
					for _, isa := range Available() {
						tab, _ := TableFor(isa)
						b.Run(isa.String(), func(b *testing.B) {
							b.SetBytes(k.bytes * int64(n))
							for b.Loop() {
								k.run(&tab.Vec, x, y, dst)
							}
						})
					}
				})
			}
		})
	}
}
