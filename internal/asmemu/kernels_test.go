package asmemu

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/convkit/convkit/kernels"
)

// TestKernels runs every generated function through the interpreter on
// many shapes: where the host has the function's ISA, also natively on the
// same inputs, requiring bitwise the same memory and results; everywhere,
// against its Go twin within a bound derived from the data. It then
// requires that every function and every opcode of the files ran.
func TestKernels(t *testing.T) {
	p := generatedProgram(t)
	fams, err := p.TileFamilies()
	if err != nil {
		t.Fatal(err)
	}
	family := map[string]TileFamily{}
	for _, f := range fams {
		for r := 1; r <= f.MR; r++ {
			for _, form := range []byte(f.Forms) {
				family[f.Kernel(form, r)] = f
			}
		}
		if f.Micro {
			family[f.MicroKernel()] = f
		}
	}
	t.Run("each", func(t *testing.T) {
		for _, name := range p.Funcs() {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				switch f, ok := family[name]; {
				case ok && strings.HasPrefix(name, "SgemmMicro"):
					testMicro(t, p, name, f)
				case ok:
					testTile(t, p, name, f)
				case vecName.MatchString(name):
					testVector(t, p, name)
				case rowKernel.MatchString(name):
					testRowKernel(t, p, name)
				case directName.MatchString(name):
					testDirect(t, p, name)
				case unpackName.MatchString(name):
					testUnpack(t, p, name)
				case dwName.MatchString(name):
					testDepthwise(t, p, name)
				case winogradName.MatchString(name):
					testWinograd(t, p, name)
				case fftName.MatchString(name):
					testFFT(t, p, name)
				default:
					t.Fatalf("no test for %s", name)
				}
			})
		}
	})
	if t.Failed() {
		return
	}
	for _, name := range p.Funcs() {
		if p.FuncStats(name).Calls == 0 {
			t.Errorf("%s was never interpreted", name)
		}
		if natives[name] != nil && hostRuns(isaOf(name)) && nativeRuns.n[name] == 0 {
			t.Errorf("%s was never compared with the hardware", name)
		}
	}
	for op, n := range p.Executed() {
		if n == 0 {
			t.Errorf("opcode %s was never executed: no test checks it", op)
		}
	}
}

// TestNativesComplete checks that the natives list has every generated
// function, so that none misses the comparison with the hardware.
func TestNativesComplete(t *testing.T) {
	p := generatedProgram(t)
	if len(natives) == 0 {
		t.Skip("the generated functions do not run on this build")
	}
	for _, name := range p.Funcs() {
		if natives[name] == nil {
			t.Errorf("%s: not in natives (native_amd64_test.go)", name)
		}
	}
	if len(natives) != len(p.Funcs()) {
		t.Errorf("natives lists %d functions, the files define %d", len(natives), len(p.Funcs()))
	}
}

func generatedProgram(t *testing.T) *Program {
	t.Helper()
	p, err := Generated()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// call runs name interpreted on the arguments mk builds and, where the
// host can, natively on a second, identical set, and requires bitwise the
// same memory and results. mk returns the arguments and the regions the
// kernel may touch beyond them. It returns the interpreted call's
// arguments and results.
func call(t *testing.T, p *Program, name string, mk func() ([]any, []Region)) (args, res []any) {
	t.Helper()
	args, mem := mk()
	res, err := p.CallIn(mem, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	fn := natives[name]
	if fn == nil || !hostRuns(isaOf(name)) {
		return args, res
	}
	nargs, nmem := mk()
	nres := callNative(fn, nargs)
	for i := range args {
		if d := differ(args[i], nargs[i]); d != "" {
			t.Fatalf("%s: argument %d: %s", name, i, d)
		}
	}
	for i := range mem {
		if !bytes.Equal(mem[i].b, nmem[i].b) {
			t.Fatalf("%s: region %s: interpreted and native differ", name, mem[i].name)
		}
	}
	for i := range res {
		if d := differ(res[i], nres[i]); d != "" {
			t.Fatalf("%s: result %d: %s", name, i, d)
		}
	}
	nativeRuns.Lock()
	nativeRuns.n[name]++
	nativeRuns.Unlock()
	return args, res
}

// nativeRuns counts, per function, the calls compared with the hardware.
var nativeRuns = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

func isaOf(name string) string {
	if strings.Contains(name, "AVX512") {
		return "AVX512"
	}
	return "AVX2"
}

// callNative calls the stub fn, passing a slice given for a pointer
// parameter ([]float32 for *float32, []*float32 for **float32) as the
// address of its first element, nil if it is empty.
func callNative(fn any, args []any) []any {
	fv := reflect.ValueOf(fn)
	in := make([]reflect.Value, len(args))
	for i, a := range args {
		pt, av := fv.Type().In(i), reflect.ValueOf(a)
		switch {
		case a == nil, pt.Kind() == reflect.Pointer && av.Kind() == reflect.Slice && av.Len() == 0:
			in[i] = reflect.Zero(pt)
		case pt.Kind() == reflect.Pointer && av.Kind() == reflect.Slice:
			in[i] = av.Index(0).Addr()
		default:
			in[i] = av
		}
	}
	var out []any
	for _, v := range fv.Call(in) {
		out = append(out, v.Interface())
	}
	return out
}

// differ describes how a and b (arguments or results) differ bit for bit,
// or returns "" if they do not.
func differ(a, b any) string {
	switch x := a.(type) {
	case []float32:
		y := b.([]float32)
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return fmt.Sprintf("[%d] interpreted %v (%#x), native %v (%#x)", i, x[i], math.Float32bits(x[i]), y[i], math.Float32bits(y[i]))
			}
		}
	case float32:
		return differ([]float32{x}, []float32{b.(float32)})
	case *[4]float32:
		return differ(x[:], b.(*[4]float32)[:])
	default:
		if !reflect.DeepEqual(a, b) {
			return fmt.Sprintf("interpreted %v, native %v", a, b)
		}
	}
	return ""
}

// specials are the inputs with their own rules: NaNs of several payloads
// (one signalling), infinities, signed zeros, subnormals.
var specials = []uint32{0x7fc00001, 0xffc12345, 0x7f800001, 0x7f800000, 0xff800000, 0, 0x80000000, 0x00000005, 0x80400000, 0x00800000}

// The kinds of input of the vector tests.
const (
	plain   = iota // finite, in [-2, 2)
	special        // one in eight a special
	nans           // half NaNs of distinct payloads: which NaN wins shows
	zeros          // signed zeros and negatives: which zero wins shows
	numKinds
)

// floats returns n floats of the given kind from r.
func floats(r *rand.Rand, n int, kind int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = r.Float32()*4 - 2
		switch {
		case kind == special && r.IntN(8) == 0:
			x[i] = math.Float32frombits(specials[r.IntN(len(specials))])
		case kind == nans && r.IntN(2) == 0:
			x[i] = math.Float32frombits(0x7f800000 | r.Uint32()&0x807fffff | 1)
		case kind == zeros:
			x[i] = [4]float32{0, float32(math.Copysign(0, -1)), -1, -0x1p-140}[r.IntN(4)]
		}
	}
	return x
}

// near reports whether got is want within bound: both NaN, the same
// infinity, or finite and within bound of each other.
func near(got, want float32, bound float64) bool {
	g, w := float64(got), float64(want)
	switch {
	case math.IsNaN(w) || math.IsNaN(g):
		return math.IsNaN(w) && math.IsNaN(g)
	case math.IsInf(w, 0) || math.IsInf(g, 0):
		return g == w
	}
	return math.Abs(g-w) <= bound
}

// tiny covers the absolute error of results that underflow.
const tiny = 0x1p-126

var vecName = regexp.MustCompile(`^(Axpy|Dot|Scale|Add|Relu|ReluBackward|Max|Sum|Gather2|ScatterAdd2|Interleave2|MaxPool2|MaxPool2Backward|DotShifts3|DotShifts5|DotGrid3|CopyRows|FmaPeak)(AVX2|AVX512)$`)

// vecSizes cover empty, the tail alone, every tail length around the
// vector and unrolled-loop sizes of both ISAs, and primes.
var vecSizes = []int{0, 1, 2, 3, 5, 7, 8, 9, 13, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 97, 127, 128, 129, 191, 255, 256, 257, 1031}

// testVector checks one vector primitive against its kernels twin.
func testVector(t *testing.T, p *Program, name string) {
	op := vecName.FindStringSubmatch(name)[1]
	if op == "FmaPeak" {
		testPeak(t, p, name)
		return
	}
	for _, n := range vecSizes {
		for kind := range numKinds {
			label := fmt.Sprintf("%s n=%d kind=%d", name, n, kind)
			seed := uint64(n*numKinds + kind)
			inputs := func() (float32, []float32, []float32, []float32) {
				r := rand.New(rand.NewPCG(seed, 7))
				alpha := r.Float32()*4 - 2
				if kind == nans {
					alpha = math.Float32frombits(0x7fc00077)
				}
				return alpha, floats(r, n, kind), floats(r, n, kind), floats(r, n, kind)
			}
			alpha, x, y, z := inputs()
			// The stride-2 kernels: a row of n and one of 2n-1, the
			// tightest their contracts allow.
			pairs := func() (row, strided []float32) {
				r := rand.New(rand.NewPCG(seed, 8))
				return floats(r, n, kind), floats(r, max(2*n-1, 0), kind)
			}
			switch op {
			case "Axpy":
				args, _ := call(t, p, name, func() ([]any, []Region) { a, x, y, _ := inputs(); return []any{a, x, y}, nil })
				want := append([]float32(nil), y...)
				kernels.AxpyGeneric(alpha, x, want)
				elementwise(t, label, args[2].([]float32), want, func(i int) float64 {
					return 2 * Gamma(2) * (math.Abs(float64(alpha)*float64(x[i])) + math.Abs(float64(y[i])))
				})
			case "Scale":
				args, _ := call(t, p, name, func() ([]any, []Region) { a, x, _, _ := inputs(); return []any{a, x}, nil })
				kernels.ScaleGeneric(alpha, x)
				elementwise(t, label, args[1].([]float32), x, nil)
			case "Add":
				args, _ := call(t, p, name, func() ([]any, []Region) { _, x, y, z := inputs(); return []any{z, x, y}, nil })
				kernels.AddGeneric(z, x, y)
				elementwise(t, label, args[0].([]float32), z, nil)
			case "Relu":
				args, _ := call(t, p, name, func() ([]any, []Region) { _, x, _, z := inputs(); return []any{z, x}, nil })
				kernels.ReluGeneric(z, x)
				elementwise(t, label, args[0].([]float32), z, nil)
			case "ReluBackward":
				args, _ := call(t, p, name, func() ([]any, []Region) { _, x, y, z := inputs(); return []any{z, x, y}, nil })
				kernels.ReluBackwardGeneric(z, x, y)
				elementwise(t, label, args[0].([]float32), z, nil)
			case "Gather2":
				args, _ := call(t, p, name, func() ([]any, []Region) { d, s := pairs(); return []any{d, s}, nil })
				d, s := pairs()
				kernels.Gather2Generic(d, s)
				if diff := differ(args[0], d); diff != "" {
					t.Fatalf("%s: dst%s, the twin's", label, diff)
				}
			case "ScatterAdd2":
				args, _ := call(t, p, name, func() ([]any, []Region) { s, d := pairs(); return []any{d, s}, nil })
				s, d := pairs()
				before := append([]float32(nil), d...)
				kernels.ScatterAdd2Generic(d, s)
				got := args[0].([]float32)
				// The sums as Add's (a NaN's payload aside); the odd
				// elements bit for bit as they were.
				for i := range d {
					if i%2 == 1 && math.Float32bits(got[i]) != math.Float32bits(before[i]) {
						t.Fatalf("%s: odd dst[%d] = %#x, was %#x", label, i, math.Float32bits(got[i]), math.Float32bits(before[i]))
					}
				}
				elementwise(t, label, got, d, nil)
			case "Interleave2":
				odd := func() []float32 { return floats(rand.New(rand.NewPCG(seed, 9)), n, kind) }
				args, _ := call(t, p, name, func() ([]any, []Region) { e, _ := pairs(); return []any{make([]float32, 2*n), e, odd()}, nil })
				e, _ := pairs()
				d := make([]float32, 2*n)
				kernels.Interleave2Generic(d, e, odd())
				if diff := differ(args[0], d); diff != "" {
					t.Fatalf("%s: dst%s, the twin's", label, diff)
				}
			case "MaxPool2", "MaxPool2Backward":
				testPool2(t, p, name, op, label, seed, n, kind)
			case "CopyRows":
				testCopyRows(t, p, name, label, seed, n, kind)
			case "DotGrid3":
				testDotGrid3(t, p, name, label, seed, n, kind)
			case "DotShifts3", "DotShifts5":
				testDotShifts(t, p, name, label, seed, n, kind, int(op[len(op)-1]-'0'))
			case "Max":
				_, res := call(t, p, name, func() ([]any, []Region) { _, x, _, _ := inputs(); return []any{x}, nil })
				// The twin keeps the first of equal zeros, the kernels'
				// VMAXPS tree whichever it meets last: only the value
				// is specified.
				if got, want := res[0].(float32), kernels.MaxGeneric(x); got != want && !(got != got && want != want) {
					t.Fatalf("%s: %v, the twin %v", label, got, want)
				}
			case "Dot":
				_, res := call(t, p, name, func() ([]any, []Region) { _, x, y, _ := inputs(); return []any{x, y}, nil })
				var mag float64
				for i := range x {
					mag += math.Abs(float64(x[i]) * float64(y[i]))
				}
				reduction(t, label, res[0].(float32), kernels.DotGeneric(x, y), 2*Gamma(n+1)*mag)
			case "Sum":
				_, res := call(t, p, name, func() ([]any, []Region) { _, x, _, _ := inputs(); return []any{x}, nil })
				var mag float64
				for _, v := range x {
					mag += math.Abs(float64(v))
				}
				reduction(t, label, res[0].(float32), kernels.SumGeneric(x), 2*Gamma(n+1)*mag)
			}
		}
	}
}

// elementwise compares got with the twin's want element by element: within
// bound(i), or (bound nil: one rounding each, the same) equal bit for bit
// up to NaN payloads.
func elementwise(t *testing.T, label string, got, want []float32, bound func(i int) float64) {
	t.Helper()
	for i := range want {
		b := 0.0
		if bound != nil {
			b = bound(i) + tiny
		}
		ok := near(got[i], want[i], b)
		if bound == nil && !math.IsNaN(float64(want[i])) {
			ok = math.Float32bits(got[i]) == math.Float32bits(want[i])
		}
		if !ok {
			t.Fatalf("%s: [%d] = %v (%#x), the twin %v (%#x)", label, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func reduction(t *testing.T, label string, got, want float32, bound float64) {
	t.Helper()
	if !near(got, want, bound+tiny) {
		t.Fatalf("%s: %v, the twin %v (bound %g)", label, got, want, bound)
	}
}

// testPeak checks FmaPeak's flop count: none for 0 iterations, the same
// count per iteration (the twin's count differs: it is another loop).
func testPeak(t *testing.T, p *Program, name string) {
	flops := map[int]int{}
	for _, iters := range []int{0, 1, 3} {
		_, res := call(t, p, name, func() ([]any, []Region) { return []any{iters}, nil })
		flops[iters] = res[0].(int)
	}
	if flops[0] != 0 || flops[1] <= 0 || flops[3] != 3*flops[1] {
		t.Fatalf("%s: flops for 0, 1, 3 iterations: %d, %d, %d", name, flops[0], flops[1], flops[3])
	}
}

// testPool2 checks a pooling kernel on rows of n outputs: one row, and
// three rows with a pitch past the windows (an odd width).
func testPool2(t *testing.T, p *Program, name, op, label string, seed uint64, n, kind int) {
	for _, g := range [][2]int{{1, 2 * n}, {3, 2*n + 1}} {
		rows, w := g[0], g[1]
		inputs := func() []any {
			r := rand.New(rand.NewPCG(seed, 9))
			x, y := floats(r, 2*rows*w, kind), floats(r, rows*n, kind)
			if op == "MaxPool2" {
				return []any{y, x, rows, n, w}
			}
			return []any{floats(r, 2*rows*w, kind), x, y, rows, n, w}
		}
		args, _ := call(t, p, name, func() ([]any, []Region) { return inputs(), nil })
		in := inputs()
		if op == "MaxPool2" {
			kernels.MaxPool2Generic(in[0].([]float32), in[1].([]float32), rows, n, w)
		} else {
			kernels.MaxPool2BackwardGeneric(in[0].([]float32), in[1].([]float32), in[2].([]float32), rows, n, w)
		}
		if diff := differ(args[0], in[0]); diff != "" {
			t.Fatalf("%s rows=%d w=%d: output%s, the twin's", label, rows, w, diff)
		}
	}
}

// testDotShifts checks DotShifts<taps> against its twin at several steps
// (0: every window the same; 1: overlapping; 19: apart), y the tightest
// the contract allows: len(x)+(taps-1)*step.
func testDotShifts(t *testing.T, p *Program, name, label string, seed uint64, n, kind, taps int) {
	for _, step := range []int{0, 1, 19} {
		mk := func() ([]any, []Region) {
			r := rand.New(rand.NewPCG(seed, 10))
			return []any{floats(r, n, kind), floats(r, n+(taps-1)*step, kind), step, make([]float32, taps)}, nil
		}
		args, _ := call(t, p, name, mk)
		in, _ := mk()
		x, y := in[0].([]float32), in[1].([]float32)
		got := args[3].([]float32)
		for w := 0; w < taps; w++ {
			var mag float64
			for i := range x {
				mag += math.Abs(float64(x[i]) * float64(y[w*step+i]))
			}
			reduction(t, fmt.Sprintf("%s step=%d window %d", label, step, w), got[w], kernels.DotGeneric(x, y[w*step:]), 2*Gamma(n+1)*mag)
		}
	}
}

// testDotGrid3 checks DotGrid3 against the twin's dots (within the
// reduction bound) at window steps of 0, 1 and apart.
func testDotGrid3(t *testing.T, p *Program, name, label string, seed uint64, n, kind int) {
	for _, st := range [][2]int{{0, 0}, {1, 1}, {19, 2}} {
		mk := func() ([]any, []Region) {
			r := rand.New(rand.NewPCG(seed, 12))
			return []any{floats(r, n+2*st[0], kind), floats(r, n+2*st[1], kind), n, st[0], st[1], make([]float32, 9)}, nil
		}
		args, _ := call(t, p, name, mk)
		in, _ := mk()
		x, y := in[0].([]float32), in[1].([]float32)
		got := args[5].([]float32)
		for a := 0; a < 3; a++ {
			for b := 0; b < 3; b++ {
				xa, yb := x[a*st[0]:][:n], y[b*st[1]:][:n]
				var mag float64
				for i := range xa {
					mag += math.Abs(float64(xa[i]) * float64(yb[i]))
				}
				reduction(t, fmt.Sprintf("%s steps=%v sum %d", label, st, 3*a+b), got[3*a+b], kernels.DotGeneric(xa, yb), 2*Gamma(n+1)*mag)
			}
		}
	}
}

// testCopyRows checks CopyRows against its twin on 3 rows of n floats,
// both sides the tightest their pitches allow (n+5 and n+2), and the
// floats between dst's rows kept.
func testCopyRows(t *testing.T, p *Program, name, label string, seed uint64, n, kind int) {
	const rows = 3
	dp, sp := n+5, n+2
	mk := func() ([]any, []Region) {
		r := rand.New(rand.NewPCG(seed, 11))
		return []any{floats(r, (rows-1)*dp+n, kind), floats(r, (rows-1)*sp+n, kind), rows, n, dp, sp}, nil
	}
	args, _ := call(t, p, name, mk)
	in, _ := mk()
	want := in[0].([]float32)
	kernels.CopyRowsGeneric(want, in[1].([]float32), rows, n, dp, sp)
	if diff := differ(args[0], want); diff != "" {
		t.Fatalf("%s: dst%s, the twin's", label, diff)
	}
}
