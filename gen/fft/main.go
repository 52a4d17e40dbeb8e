// Command fft generates convkit's FFT kernels: AVX2+FMA and AVX-512 on
// amd64, NEON on arm64, from one description written against gen/kw.
// asm/doc.go runs it:
//
//	go run -C ../gen ./fft -out ../asm/fft_amd64.s -stubs ../asm/fft_amd64.go -table ../asm/fft_kernels_amd64.go -pkg asm
//	go run -C ../gen ./fft -arch arm64 -out ../asm/fft_arm64.s -stubs ../asm/fft_arm64.go -table ../asm/fft_kernels_arm64.go -pkg asm
//
// The kernels work on split complex data (the real parts in one plane,
// the imaginary parts in another, im bytes after the real ones) and on
// runs of n floats: every float of a run is one lane, so the same
// arithmetic runs in every lane and no kernel needs a shuffle. A lane is
// one signal of a batch of transforms (package fft's LanePlan), or one
// frequency of a pointwise product.
//
//   - Radix2, Radix3, Radix4: the butterflies of a Stockham decimation-
//     in-frequency stage, y_u = w_u * sum_t x_t e^(-2 pi i t u / r), the
//     input t at src + t*srcStep, the output u at dst + u*dstStep, w_u
//     (u >= 1) the complex twiddles tw[2(u-1)], tw[2(u-1)+1]; count of
//     them in one call, srcNext and dstNext apart, each with its own
//     r-1 twiddles (a whole stage is one call where its runs are dense).
//   - RealPair: the step between a real transform and the complex one of
//     half its length, both ways, on a pair of rows A (src) and B (src +
//     srcStep): E = A + conj(B), D = A - conj(B), out1 = alpha*E + beta*D
//     at dst and out2 = conj(alpha*E - beta*D) at dst + dstStep, with
//     alpha, beta = tw[0], tw[1] + i tw[2].
//   - ScaleAddConj: dst += src * conj(w_r) on rows of runs, one complex
//     w_r per row: the products of overlap-save tiles (the lanes) with a
//     filter's frequencies (the rows).
//   - Mul, MulConj, MulAdd, MulAddConj: dst (+)= a * b or a * conj(b),
//     the products of FFT convolution and the four-step twiddles.
//
// A complex product takes Mul, then FMA or FNMA: the pure-Go twins in
// package fft follow the same order, so kernels and twins agree bit for
// bit.
package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/convkit/convkit/gen/kw"
)

// archISAs are the ISAs of each architecture's output, in emission order.
var archISAs = map[string][]kw.ISA{"amd64": {kw.AVX2, kw.AVX512}, "arm64": {kw.NEON}}

// butterflySig is the signature of the butterfly and RealPair kernels
// (asm.FFTFunc); mulSig that of the products (asm.FFTMulFunc).
const (
	butterflySig = "func(dst *float32, src *float32, tw *float32, n int, srcStep int, dstStep int, srcIm int, dstIm int)"
	stageSig     = "func(dst *float32, src *float32, tw *float32, n int, srcStep int, dstStep int, srcIm int, dstIm int, count int, srcNext int, dstNext int)"
	mulSig       = "func(dst *float32, a *float32, b *float32, n int, dstIm int, aIm int, bIm int)"
	rowsSig      = "func(dst *float32, src *float32, tw *float32, n int, rows int, pitch int, srcIm int, dstIm int)"
	transposeSig = "func(dst *float32, src *float32, rows int, cols int, srcPitch int, dstPitch int)"
	unzipSig     = "func(re *float32, im *float32, src *float32, n int, rows int, srcPitch int, dstPitch int)"
	zipSig       = "func(dst *float32, re *float32, im *float32, n int, rows int, dstPitch int, srcPitch int)"
	sumSig       = "func(dst *float32, src *float32, tw *float32, n int, rows int, pitch int, srcIm int, dstIm int, chans int, srcChan int, twChan int)"
	halfSig      = "func(dstA *float32, dstB *float32, srcA *float32, srcB *float32, tw *float32, alpha float32, count int, dstIm int, srcIm int, twIm int)"
)

// products are the Mul kernels: accumulate into dst, conjugate b.
var products = []struct {
	name      string
	acc, conj bool
}{{"Mul", false, false}, {"MulConj", false, true}, {"MulAdd", true, false}, {"MulAddConj", true, true}}

func main() {
	kw.MainWith("fft", "fftMaskTab", func(f *kw.Func) {
		for _, r := range radices(f.ISA) {
			genButterfly(f, r, false)
			genButterfly(f, r, true)
		}
		genRealPair(f)
		genScaleAddConj(f)
		genConjSum(f)
		for _, p := range products {
			genMul(f, p.name, p.acc, p.conj)
		}
		genTranspose(f)
		genUnzip(f)
		genZip(f)
		genRealHalf(f)
	}, kw.Options{Table: goTable})
}

// radices are the butterflies of an ISA: radix 8 needs 16 registers for
// its inputs alone, so only ISAs with 32 have it.
func radices(isa kw.ISA) []int {
	if isa.Regs >= 32 {
		return []int{2, 3, 4, 8}
	}
	return []int{2, 3, 4}
}

// goTable returns the declarations of asm/fft_kernels_<arch>.go.
func goTable(arch string) string {
	var b strings.Builder
	b.WriteString("// FFTKernels lists every generated FFT kernel, by ISA.\n")
	b.WriteString("var FFTKernels = []FFTKernelSet{\n")
	for _, isa := range archISAs[arch] {
		n := isa.Name
		fmt.Fprintf(&b, "{ISA: %q, Lanes: %d,\n", n, isa.Lanes)
		for _, last := range []string{"", "Last"} {
			fmt.Fprintf(&b, "Radix%s: [9]Kernel[FFTStageFunc]{", last)
			for _, r := range radices(isa) {
				fmt.Fprintf(&b, "%d: {Name: \"FFTRadix%d%s%s\", Func: FFTRadix%d%s%s}, ", r, r, last, n, r, last, n)
			}
			b.WriteString("},\n")
		}
		fmt.Fprintf(&b, "RealPair: Kernel[FFTStageFunc]{Name: \"FFTRealPair%s\", Func: FFTRealPair%s},\n", n, n)
		fmt.Fprintf(&b, "ScaleAddConj: Kernel[FFTRowsFunc]{Name: \"FFTScaleAddConj%s\", Func: FFTScaleAddConj%s},\n", n, n)
		fmt.Fprintf(&b, "ConjSum: Kernel[FFTSumFunc]{Name: \"FFTConjSum%s\", Func: FFTConjSum%s},\n", n, n)
		for _, p := range products {
			fmt.Fprintf(&b, "%s: Kernel[FFTMulFunc]{Name: \"FFT%s%s\", Func: FFT%s%s},\n", p.name, p.name, n, p.name, n)
		}
		fmt.Fprintf(&b, "Transpose: Kernel[FFTTransposeFunc]{Name: \"FFTTranspose%s\", Func: FFTTranspose%s},\n", n, n)
		fmt.Fprintf(&b, "Unzip: Kernel[FFTUnzipFunc]{Name: \"FFTUnzip%s\", Func: FFTUnzip%s},\n", n, n)
		fmt.Fprintf(&b, "Zip: Kernel[FFTZipFunc]{Name: \"FFTZip%s\", Func: FFTZip%s},\n", n, n)
		fmt.Fprintf(&b, "RealHalf: Kernel[FFTRealHalfFunc]{Name: \"FFTRealHalf%s\", Func: FFTRealHalf%s},\n", n, n)
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// cplx is a complex vector: real and imaginary lanes.
type cplx struct{ re, im kw.V }

// streams are the r pointers of one side of a butterfly (base + t*step,
// t < r), each with its imaginary plane im bytes on (an index register).
type streams struct {
	p  []kw.G
	im kw.G
}

func newStreams(f *kw.Func, base, step, im kw.G, r int) streams {
	s := streams{p: []kw.G{base}, im: im}
	for t := 1; t < r; t++ {
		p := f.MoveGP(s.p[t-1])
		f.AddGP(p, step)
		s.p = append(s.p, p)
	}
	return s
}

// sides are the two kinds of the r streams of a butterfly's side:
// streams (a pointer each) and strided (one pointer and the step).
type sides interface {
	ptrs() []kw.G // the pointers the loop advances
	load(f *kw.Func, st kw.Step, t int) cplx
	store(f *kw.Func, st kw.Step, t int, c cplx)
}

func (s streams) ptrs() []kw.G { return s.p }

// strided is a side whose stream t is base + t*step, its address formed
// on each use (one or two LEAs from base, step and 3*step): 8 streams
// in 4 registers.
type strided struct{ base, step, step3, im kw.G }

func newStrided(f *kw.Func, base, step, im kw.G) strided {
	s3 := f.GP()
	f.MulImm(s3, step, 3)
	return strided{base: base, step: step, step3: s3, im: im}
}

func (s strided) ptrs() []kw.G { return []kw.G{s.base} }

// addr returns a register holding stream t's address (t < 8).
func (s strided) addr(f *kw.Func, t int) kw.G {
	lea := func(base, index kw.G, scale int) kw.G {
		g := f.GP()
		f.Lea(kw.Mem{Base: base, Index: index, Scale: scale}, g)
		return g
	}
	switch t {
	case 0:
		return s.base
	case 1, 2, 4:
		return lea(s.base, s.step, t)
	case 3, 6:
		return lea(s.base, s.step3, t/3)
	}
	return lea(lea(s.base, s.step3, 1), s.step, t-3) // 5, 7
}

func (s strided) load(f *kw.Func, st kw.Step, t int) cplx {
	p := s.addr(f, t)
	return streams{p: []kw.G{p}, im: s.im}.load(f, st, 0)
}

func (s strided) store(f *kw.Func, st kw.Step, t int, c cplx) {
	p := s.addr(f, t)
	streams{p: []kw.G{p}, im: s.im}.store(f, st, 0, c)
}

func (s streams) reAt(st kw.Step, t int) kw.Mem { return st.At(s.p[t], 0) }
func (s streams) imAt(st kw.Step, t int) kw.Mem {
	m := st.At(s.p[t], 0)
	m.Index, m.Scale = s.im, 1
	return m
}

func (s streams) load(f *kw.Func, st kw.Step, t int) cplx {
	c := cplx{f.Vec(), f.Vec()}
	f.Load(st, s.reAt(st, t), c.re)
	f.Load(st, s.imAt(st, t), c.im)
	return c
}

func (s streams) store(f *kw.Func, st kw.Step, t int, c cplx) {
	f.Store(st, c.re, s.reAt(st, t))
	f.Store(st, c.im, s.imAt(st, t))
}

// add, sub: lane-wise complex sums.
func add(f *kw.Func, x, y cplx) cplx {
	z := cplx{f.Vec(), f.Vec()}
	f.Binary(kw.Add, z.re, x.re, y.re)
	f.Binary(kw.Add, z.im, x.im, y.im)
	return z
}

func sub(f *kw.Func, x, y cplx) cplx {
	z := cplx{f.Vec(), f.Vec()}
	f.Binary(kw.Sub, z.re, x.re, y.re)
	f.Binary(kw.Sub, z.im, x.im, y.im)
	return z
}

// twiddle returns x * (wr + i wi): re = x.re*wr - x.im*wi, im = x.re*wi +
// x.im*wr (Mul, then FNMA or FMA).
func twiddle(f *kw.Func, x cplx, wr, wi kw.Operand) cplx {
	z := cplx{f.Vec(), f.Vec()}
	f.Mul(z.re, x.re, wr)
	f.FNMA(z.re, x.im, wi)
	f.Mul(z.im, x.re, wi)
	f.FMA(z.im, x.im, wr)
	return z
}

// splat returns the float32 v in every lane.
func splat(f *kw.Func, v float64) kw.V { return f.Splat(math.Float32bits(float32(v))) }

// genButterfly emits FFTRadix<r><ISA>: count butterflies of one stage,
// each on its runs of n lanes with its own twiddles. The butterflies'
// pointers and count live in the argument slots between butterflies
// (StoreParam), so that the inner loop keeps every register for its 2r
// streams.
//
// last: FFTRadix<r>Last<ISA>, a stage's last, whose twiddles are all 1
// (m = 1): none is read or multiplied (a third of radix 8's arithmetic).
func genButterfly(f *kw.Func, r int, last bool) {
	name := fmt.Sprintf("FFTRadix%d%s", r, f.ISA.Name)
	spec := fmt.Sprintf("\t  w_0 = 1, w_u = tw[2(%d b + u-1)] + i tw[2(%d b + u-1)+1]", r-1, r-1)
	if last {
		name = fmt.Sprintf("FFTRadix%dLast%s", r, f.ISA.Name)
		spec = "\t  w_u = 1 (tw is not read)"
	}
	f.Function(name, stageSig,
		fmt.Sprintf("%s is count radix-%d butterflies of a Stockham decimation-in-frequency", name, r),
		"stage on runs of n lanes of split complex data (bytes: steps, the",
		"imaginary planes' offsets, the distances between butterflies):",
		"",
		fmt.Sprintf("\tfor b < count, l < n, u < %d: y_u = w_u * sum_t x_t e^(-2 pi i t u / %d)", r, r),
		"\t  x_t = src[b*srcNext + t*srcStep + 4l] + i src[... + srcIm]",
		"\t  y_u to dst[b*dstNext + u*dstStep + 4l] and dst[... + dstIm]",
		spec,
		"",
		"Its reference and test oracle is fft's radix twin (butterflyGo).")
	n0, count := f.Int("n"), f.Int("count")
	f.JumpIfNotPositive(n0, "end")
	f.JumpIfNotPositive(count, "end")
	sim, dim := f.Int("srcIm"), f.Int("dstIm")
	f.Label("butterfly")
	n := f.Int("n")
	tw := f.Int("tw")
	var in, out sides
	if r == 8 { // 16 stream pointers would not fit amd64's registers
		in, out = newStrided(f, f.Int("src"), f.Int("srcStep"), sim), newStrided(f, f.Int("dst"), f.Int("dstStep"), dim)
	} else {
		in, out = newStreams(f, f.Int("src"), f.Int("srcStep"), sim, r), newStreams(f, f.Int("dst"), f.Int("dstStep"), dim, r)
	}
	// The twiddles: in registers where there are enough (AVX-512, NEON),
	// else broadcast from tw on each use.
	keep := f.ISA.Regs >= 32 && r <= 4 && !last
	w := make([]cplx, r)
	if keep {
		for u := 1; u < r; u++ {
			w[u] = cplx{f.Vec(), f.Vec()}
			f.Broadcast(kw.Mem{Base: tw, Disp: 8 * (u - 1)}, w[u].re)
			f.Broadcast(kw.Mem{Base: tw, Disp: 8*(u-1) + 4}, w[u].im)
		}
	}
	var c3, s3 kw.V // radix 3: -1/2 and sin(2 pi / 3); radix 8: sqrt(1/2) in c3
	switch r {
	case 3:
		c3, s3 = splat(f, -0.5), splat(f, math.Sqrt(3)/2)
	case 8:
		c3 = splat(f, math.Sqrt(0.5))
	}
	ptrs := append(append([]kw.G{}, in.ptrs()...), out.ptrs()...)
	f.Loop(n, ptrs, 1, func(st kw.Step) {
		var y []cplx
		if r == 8 {
			y = dft8(f, func(t int) cplx { return in.load(f, st, t) }, c3)
		} else {
			x := make([]cplx, r)
			for t := range x {
				x[t] = in.load(f, st, t)
			}
			y = dft(f, x, c3, s3)
		}
		for u := range y {
			if u > 0 && !last {
				wu := w[u]
				if !keep {
					wu = cplx{f.Vec(), f.Vec()}
					f.Broadcast(kw.Mem{Base: tw, Disp: 8 * (u - 1)}, wu.re)
					f.Broadcast(kw.Mem{Base: tw, Disp: 8*(u-1) + 4}, wu.im)
				}
				y[u] = twiddle(f, y[u], wu.re, wu.im)
			}
			out.store(f, st, u, y[u])
		}
	})
	// The next butterfly: its pointers and the count back to their slots.
	f.AddImm(tw, 8*(r-1))
	f.StoreParam(tw, "tw")
	for _, p := range []struct{ ptr, next string }{{"src", "srcNext"}, {"dst", "dstNext"}} {
		g := f.Int(p.ptr)
		f.AddGP(g, f.Int(p.next))
		f.StoreParam(g, p.ptr)
	}
	c := f.Int("count")
	f.SubImm(c, 1)
	f.StoreParam(c, "count")
	f.JumpIfNotPositive(c, "end")
	f.Jump("butterfly")
	f.Label("end")
	f.Ret()
}

// dft8 returns the forward DFT of the 8 points load(t): the DFTs of the
// even and of the odd points (loaded in turn, so that at most 16
// vectors are live), then y_u = E_u + W^u O_u and y_(u+4) = E_u - W^u
// O_u with W = e^(-i pi/4) = h(1 - i), h = sqrt(1/2):
//
//	W O = h((O.re + O.im) + i(O.im - O.re))
//	W^2 O = O.im - i O.re
//	W^3 O = h((O.im - O.re) - i(O.re + O.im))
//
// the h products fused into the sums, in the order the twin follows.
func dft8(f *kw.Func, load func(t int) cplx, h kw.V) []cplx {
	e := dft(f, []cplx{load(0), load(2), load(4), load(6)}, kw.V{}, kw.V{})
	o := dft(f, []cplx{load(1), load(3), load(5), load(7)}, kw.V{}, kw.V{})
	y := make([]cplx, 8)
	y[0], y[4] = add(f, e[0], o[0]), sub(f, e[0], o[0])
	y[2], y[6] = cplx{f.Vec(), f.Vec()}, cplx{f.Vec(), f.Vec()}
	f.Binary(kw.Add, y[2].re, e[2].re, o[2].im)
	f.Binary(kw.Sub, y[2].im, e[2].im, o[2].re)
	f.Binary(kw.Sub, y[6].re, e[2].re, o[2].im)
	f.Binary(kw.Add, y[6].im, e[2].im, o[2].re)
	for _, u := range []int{1, 3} {
		sum, diff := f.Vec(), f.Vec()
		f.Binary(kw.Add, sum, o[u].re, o[u].im)
		f.Binary(kw.Sub, diff, o[u].im, o[u].re)
		a, b := cplx{f.Vec(), f.Vec()}, cplx{f.Vec(), f.Vec()}
		f.Move(e[u].re, a.re)
		f.Move(e[u].im, a.im)
		f.Move(e[u].re, b.re)
		f.Move(e[u].im, b.im)
		if u == 1 { // y1 = E1 + h(sum + i diff), y5 = E1 - h(sum + i diff)
			f.FMA(a.re, sum, h)
			f.FMA(a.im, diff, h)
			f.FNMA(b.re, sum, h)
			f.FNMA(b.im, diff, h)
		} else { // y3 = E3 + h(diff - i sum), y7 = E3 - h(diff - i sum)
			f.FMA(a.re, diff, h)
			f.FNMA(a.im, sum, h)
			f.FNMA(b.re, diff, h)
			f.FMA(b.im, sum, h)
		}
		y[u], y[u+4] = a, b
	}
	return y
}

// dft returns the forward DFT of x (2, 3 or 4 points), in the order the
// twin follows.
func dft(f *kw.Func, x []cplx, c3, s3 kw.V) []cplx {
	switch len(x) {
	case 2:
		return []cplx{add(f, x[0], x[1]), sub(f, x[0], x[1])}
	case 3:
		// y0 = x0 + s; t = x0 - s/2; d = sin(2pi/3)(x1 - x2);
		// y1 = t - i d, y2 = t + i d, s = x1 + x2.
		s, d := add(f, x[1], x[2]), sub(f, x[1], x[2])
		y0 := add(f, x[0], s)
		t := cplx{f.Vec(), f.Vec()}
		f.Move(x[0].re, t.re)
		f.FMA(t.re, s.re, c3)
		f.Move(x[0].im, t.im)
		f.FMA(t.im, s.im, c3)
		y1, y2 := cplx{f.Vec(), f.Vec()}, cplx{f.Vec(), f.Vec()}
		f.Move(t.re, y1.re)
		f.FMA(y1.re, d.im, s3) // t.re + s3 d.im
		f.Move(t.im, y1.im)
		f.FNMA(y1.im, d.re, s3) // t.im - s3 d.re
		f.Move(t.re, y2.re)
		f.FNMA(y2.re, d.im, s3)
		f.Move(t.im, y2.im)
		f.FMA(y2.im, d.re, s3)
		return []cplx{y0, y1, y2}
	}
	// y0 = s02 + s13, y2 = s02 - s13, y1 = d02 - i d13, y3 = d02 + i d13.
	s02, d02 := add(f, x[0], x[2]), sub(f, x[0], x[2])
	s13, d13 := add(f, x[1], x[3]), sub(f, x[1], x[3])
	y1, y3 := cplx{f.Vec(), f.Vec()}, cplx{f.Vec(), f.Vec()}
	f.Binary(kw.Add, y1.re, d02.re, d13.im)
	f.Binary(kw.Sub, y1.im, d02.im, d13.re)
	f.Binary(kw.Sub, y3.re, d02.re, d13.im)
	f.Binary(kw.Add, y3.im, d02.im, d13.re)
	return []cplx{add(f, s02, s13), y1, sub(f, s02, s13), y3}
}

// genRealPair emits FFTRealPair<ISA>.
func genRealPair(f *kw.Func) {
	name := "FFTRealPair" + f.ISA.Name
	f.Function(name, stageSig,
		name+" is the step between a real transform and the complex one of half",
		"its length, on runs of n lanes of count pairs of rows (bytes), the rows",
		"of pair b converging on each other (the rows k and n/2 - k of a spectrum):",
		"",
		"\tfor b < count, l < n: A = src + b*srcNext, B = A + srcStep - 2b*srcNext",
		"\t  E = A + conj(B), D = A - conj(B), P = beta*D",
		"\t  dst row (dst + b*dstNext) = alpha*E + P",
		"\t  dst row + dstStep - 2b*dstNext = conj(alpha*E - P)",
		"\t  alpha = tw[3b], beta = tw[3b+1] + i tw[3b+2]",
		"",
		"A row and B may be one (so may dst's), and dst may be src: each lane is",
		"loaded before it is stored, and the first output row is stored before",
		"the second. Its reference and test oracle is fft's realPairGo.")
	n0, count := f.Int("n"), f.Int("count")
	f.JumpIfNotPositive(n0, "end")
	f.JumpIfNotPositive(count, "end")
	sim, dim := f.Int("srcIm"), f.Int("dstIm")
	f.Label("pair")
	n, tw := f.Int("n"), f.Int("tw")
	in := newStreams(f, f.Int("src"), f.Int("srcStep"), sim, 2)
	out := newStreams(f, f.Int("dst"), f.Int("dstStep"), dim, 2)
	alpha, br, bi := f.Vec(), f.Vec(), f.Vec()
	f.Broadcast(kw.Mem{Base: tw}, alpha)
	f.Broadcast(kw.Mem{Base: tw, Disp: 4}, br)
	f.Broadcast(kw.Mem{Base: tw, Disp: 8}, bi)
	ptrs := append(append([]kw.G{}, in.p...), out.p...)
	f.Loop(n, ptrs, 1, func(st kw.Step) {
		a, b := in.load(f, st, 0), in.load(f, st, 1)
		e, d := cplx{f.Vec(), f.Vec()}, cplx{f.Vec(), f.Vec()}
		f.Binary(kw.Add, e.re, a.re, b.re)
		f.Binary(kw.Sub, e.im, a.im, b.im)
		f.Binary(kw.Sub, d.re, a.re, b.re)
		f.Binary(kw.Add, d.im, a.im, b.im)
		p := twiddle(f, d, br, bi)
		f.Mul(e.re, e.re, alpha)
		f.Mul(e.im, e.im, alpha)
		o1 := add(f, e, p)
		o2 := cplx{f.Vec(), f.Vec()}
		f.Binary(kw.Sub, o2.re, e.re, p.re)
		f.Binary(kw.Sub, o2.im, p.im, e.im)
		out.store(f, st, 0, o1)
		out.store(f, st, 1, o2)
	})
	// The next pair: one row on, the partner one row back.
	f.AddImm(tw, 12)
	f.StoreParam(tw, "tw")
	for _, p := range []struct{ ptr, step, next string }{{"src", "srcStep", "srcNext"}, {"dst", "dstStep", "dstNext"}} {
		g, st, nx := f.Int(p.ptr), f.Int(p.step), f.Int(p.next)
		f.AddGP(g, nx)
		f.StoreParam(g, p.ptr)
		f.ShlImm(nx, 1)
		f.SubGP(st, nx)
		f.StoreParam(st, p.step)
	}
	c := f.Int("count")
	f.SubImm(c, 1)
	f.StoreParam(c, "count")
	f.JumpIfNotPositive(c, "end")
	f.Jump("pair")
	f.Label("end")
	f.Ret()
}

// genMul emits FFT<name><ISA>: dst (+)= a*b or a*conj(b).
func genMul(f *kw.Func, base string, acc, conj bool) {
	name := "FFT" + base + f.ISA.Name
	op, bb := "=", "b"
	if acc {
		op = "+="
	}
	if conj {
		bb = "conj(b)"
	}
	f.Function(name, mulSig,
		fmt.Sprintf("%s is dst %s a * %s on n lanes of split complex data, the", name, op, bb),
		"imaginary planes dstIm, aIm and bIm bytes after the real ones; dst may",
		"be a or b. Its reference and test oracle is fft's mulGo.")
	n := f.Int("n")
	f.JumpIfNotPositive(n, "end")
	d := streams{p: []kw.G{f.Int("dst")}, im: f.Int("dstIm")}
	a := streams{p: []kw.G{f.Int("a")}, im: f.Int("aIm")}
	b := streams{p: []kw.G{f.Int("b")}, im: f.Int("bIm")}
	f.Loop(n, []kw.G{d.p[0], a.p[0], b.p[0]}, 1, func(st kw.Step) {
		x, y := a.load(f, st, 0), b.load(f, st, 0)
		z := cplx{f.Vec(), f.Vec()}
		if acc {
			z = d.load(f, st, 0)
			f.FMA(z.re, x.re, y.re)
		} else {
			f.Mul(z.re, x.re, y.re)
		}
		// re: + a.re b.re -/+ a.im b.im; im: a.re (+/-) b.im + a.im b.re.
		if conj {
			f.FMA(z.re, x.im, y.im)
		} else {
			f.FNMA(z.re, x.im, y.im)
		}
		if acc {
			f.FMA(z.im, x.im, y.re)
		} else {
			f.Mul(z.im, x.im, y.re)
		}
		if conj {
			f.FNMA(z.im, x.re, y.im)
		} else {
			f.FMA(z.im, x.re, y.im)
		}
		d.store(f, st, 0, z)
	})
	f.Label("end")
	f.Ret()
}

// macConj is z += x * conj(w): re += x.re wr + x.im wi, im += x.im wr -
// x.re wi, each product fused, in the order the twins follow.
func macConj(f *kw.Func, z, x cplx, wr, wi kw.V) {
	f.FMA(z.re, x.re, wr)
	f.FMA(z.re, x.im, wi)
	f.FMA(z.im, x.im, wr)
	f.FNMA(z.im, x.re, wi)
}

// genScaleAddConj emits FFTScaleAddConj<ISA>.
func genScaleAddConj(f *kw.Func) {
	name := "FFTScaleAddConj" + f.ISA.Name
	f.Function(name, rowsSig,
		name+" is dst += src * conj(w_r) on rows rows of n lanes of split complex",
		"data, rows pitch bytes apart on both sides, the imaginary planes srcIm and",
		"dstIm bytes after the real ones, w_r = tw[2r] + i tw[2r+1] the same for every",
		"lane of row r: the products of overlap-save tiles (the lanes) with a",
		"filter's frequencies (the rows). Its reference and test oracle is fft's",
		"scaleAddConjGo.")
	n0, rows := f.Int("n"), f.Int("rows")
	f.JumpIfNotPositive(n0, "end")
	f.JumpIfNotPositive(rows, "end")
	src, dst, tw := f.Int("src"), f.Int("dst"), f.Int("tw")
	sim, dim, pitch := f.Int("srcIm"), f.Int("dstIm"), f.Int("pitch")
	f.Label("row")
	wr, wi := f.Vec(), f.Vec()
	f.Broadcast(kw.Mem{Base: tw}, wr)
	f.Broadcast(kw.Mem{Base: tw, Disp: 4}, wi)
	in := streams{p: []kw.G{f.MoveGP(src)}, im: sim}
	out := streams{p: []kw.G{f.MoveGP(dst)}, im: dim}
	n := f.MoveGP(n0)
	f.Loop(n, []kw.G{in.p[0], out.p[0]}, 1, func(st kw.Step) {
		x, z := in.load(f, st, 0), out.load(f, st, 0)
		macConj(f, z, x, wr, wi)
		out.store(f, st, 0, z)
	})
	f.AddGP(src, pitch)
	f.AddGP(dst, pitch)
	f.AddImm(tw, 8)
	f.DecJumpNonZero(rows, "row")
	f.Label("end")
	f.Ret()
}

// genTranspose emits FFTTranspose<ISA>: a float plane transposed in
// blocks of Lanes x Lanes, each block in registers. Signed pitches make
// it a reversal of either axis too (a negative source pitch reverses
// the destination's columns, a negative destination pitch its rows):
// the mirrored half spectra of the real transforms need that.
func genTranspose(f *kw.Func) {
	L := f.ISA.Lanes
	name := "FFTTranspose" + f.ISA.Name
	f.Function(name, transposeSig,
		fmt.Sprintf("%s transposes a plane of rows*%d x cols*%d floats in blocks of %d x %d,", name, L, L, L, L),
		"the pitches in bytes and signed:",
		"",
		fmt.Sprintf("\tfor i < rows*%d, j < cols*%d:", L, L),
		"\t  dst[j*dstPitch + 4i] = src[i*srcPitch + 4j]",
		"",
		"dst must not overlap src. Its reference and test oracle is fft's",
		"transposeGo.")
	rows, cols := f.Int("rows"), f.Int("cols")
	f.JumpIfNotPositive(rows, "end")
	f.JumpIfNotPositive(cols, "end")
	src, dst := f.Int("src"), f.Int("dst")
	sp, dp := f.Int("srcPitch"), f.Int("dstPitch")
	spL := f.GP()
	f.MulImm(spL, sp, L)
	f.Label("row")
	s, d, c := f.MoveGP(src), f.MoveGP(dst), f.MoveGP(cols)
	f.Label("col")
	q := f.MoveGP(s)
	x := make([]kw.V, L)
	for r := range x {
		x[r] = f.Vec()
		f.LoadVec(kw.Mem{Base: q}, x[r])
		if r < L-1 {
			f.AddGP(q, sp)
		}
	}
	for _, v := range f.Transpose(x) {
		f.StoreVec(v, kw.Mem{Base: d})
		f.AddGP(d, dp) // after the block, d is the next block's: L rows on
	}
	f.AddImm(s, f.ISA.VBytes())
	f.DecJumpNonZero(c, "col")
	// The next block row: L source rows on, L destination floats on.
	f.AddGP(src, spL)
	f.AddImm(dst, f.ISA.VBytes())
	f.DecJumpNonZero(rows, "row")
	f.Label("end")
	f.Ret()
}

// genUnzip emits FFTUnzip<ISA>: interleaved complex values (or a real
// signal's even and odd samples) into the two planes of split form, on
// rows of n pairs (a block of columns of a larger array).
func genUnzip(f *kw.Func) {
	name := "FFTUnzip" + f.ISA.Name
	f.Function(name, unzipSig,
		name+" splits rows rows of n pairs of floats into planes (pitches in bytes):",
		"",
		"\tfor r < rows, l < n:",
		"\t  re[r*dstPitch + 4l] = src[r*srcPitch + 8l], im[... + 4l] = src[... + 8l + 4]",
		"",
		"Its reference and test oracle is fft's unzipGo.")
	pairRows(f, "src", "srcPitch", "dstPitch", func(st kw.Step, j int, pairs, re, im kw.G) {
		e, o := f.Vec(), f.Vec()
		f.LoadPairs(st, st.PairAt(pairs, j), e, o)
		f.Store(st, e, st.At(re, j))
		f.Store(st, o, st.At(im, j))
	})
}

// pairRows emits the loop Unzip and Zip share: rows rows of n pairs at
// the pointer argument pairs (pairsPitch bytes apart) beside n values of
// the planes re and im (planesPitch apart), body run per vector j of a
// step with the step's pointers.
func pairRows(f *kw.Func, pairs, pairsPitch, planesPitch string, body func(st kw.Step, j int, pairs, re, im kw.G)) {
	n0, rows := f.Int("n"), f.Int("rows")
	f.JumpIfNotPositive(n0, "end")
	f.JumpIfNotPositive(rows, "end")
	re, im, pp := f.Int("re"), f.Int("im"), f.Int(pairs)
	f.Label("row")
	n, r, i, p := f.Int("n"), f.MoveGP(re), f.MoveGP(im), f.MoveGP(pp)
	f.LoopWholePairs(n, []kw.G{r, i}, []kw.G{p}, 2, func(st kw.Step) {
		for j := 0; j < st.Count; j++ {
			body(st, j, p, r, i)
		}
	})
	vp := f.Int(planesPitch)
	f.AddGP(re, vp)
	f.AddGP(im, vp)
	f.AddGP(pp, f.Int(pairsPitch))
	f.DecJumpNonZero(rows, "row")
	f.Label("end")
	f.Ret()
}

// genZip emits FFTZip<ISA>, the inverse of FFTUnzip.
func genZip(f *kw.Func) {
	name := "FFTZip" + f.ISA.Name
	f.Function(name, zipSig,
		name+" interleaves rows rows of n values of two planes into pairs of floats",
		"(pitches in bytes):",
		"",
		"\tfor r < rows, l < n:",
		"\t  dst[r*dstPitch + 8l] = re[r*srcPitch + 4l], dst[... + 8l + 4] = im[... + 4l]",
		"",
		"Its reference and test oracle is fft's zipGo.")
	pairRows(f, "dst", "dstPitch", "srcPitch", func(st kw.Step, j int, pairs, re, im kw.G) {
		e, o := f.Vec(), f.Vec()
		f.Load(st, st.At(re, j), e)
		f.Load(st, st.At(im, j), o)
		f.StorePairs(st, e, o, st.PairAt(pairs, j))
	})
}

// genRealHalf emits FFTRealHalf<ISA>: RealPair's step for one signal,
// the frequencies the lanes, so that the partner of frequency k, m - k,
// runs backwards: the B side is loaded and stored reversed, and beta is
// a vector of its own per lane (a table) rather than one scalar.
func genRealHalf(f *kw.Func) {
	L, vb := f.ISA.Lanes, f.ISA.VBytes()
	name := "FFTRealHalf" + f.ISA.Name
	f.Function(name, halfSig,
		name+" is the step between a real transform and the complex one of half its",
		fmt.Sprintf("length, one signal, on count vectors of %d frequencies (bytes: offsets):", L),
		"",
		fmt.Sprintf("\tfor v < count, l < %d: i = %d v + l", L, L),
		fmt.Sprintf("\t  A = srcA[4i] + i srcA[srcIm + 4i], B = the same at srcB - 4i + %d", 4*(L-1)),
		"\t  beta = tw[4i] + i tw[twIm + 4i]",
		"\t  E = A + conj(B), D = A - conj(B), P = beta*D",
		fmt.Sprintf("\t  dstA at 4i = alpha*E + P, dstB at -4i + %d = conj(alpha*E - P)", 4*(L-1)),
		"",
		"dstA, dstB may be srcA, srcB (each vector is loaded before it is stored),",
		"and the two sides may meet. Its reference and test oracle is fft's",
		"realHalfGo.")
	count := f.Int("count")
	f.JumpIfNotPositive(count, "end")
	da, db, sa, sb, tw := f.Int("dstA"), f.Int("dstB"), f.Int("srcA"), f.Int("srcB"), f.Int("tw")
	dim, sim, tim := f.Int("dstIm"), f.Int("srcIm"), f.Int("twIm")
	alpha := f.BroadcastParam("alpha")
	at := func(p, im kw.G) kw.Mem { return kw.Mem{Base: p, Index: im, Scale: 1} }
	f.Label("loop")
	a, b, w := cplx{f.Vec(), f.Vec()}, cplx{f.Vec(), f.Vec()}, cplx{f.Vec(), f.Vec()}
	f.LoadVec(kw.Mem{Base: sa}, a.re)
	f.LoadVec(at(sa, sim), a.im)
	f.LoadVec(kw.Mem{Base: sb}, b.re)
	f.LoadVec(at(sb, sim), b.im)
	f.Reverse(b.re, b.re)
	f.Reverse(b.im, b.im)
	f.LoadVec(kw.Mem{Base: tw}, w.re)
	f.LoadVec(at(tw, tim), w.im)
	e, d := cplx{f.Vec(), f.Vec()}, cplx{f.Vec(), f.Vec()}
	f.Binary(kw.Add, e.re, a.re, b.re)
	f.Binary(kw.Sub, e.im, a.im, b.im)
	f.Binary(kw.Sub, d.re, a.re, b.re)
	f.Binary(kw.Add, d.im, a.im, b.im)
	p := twiddle(f, d, w.re, w.im)
	f.Mul(e.re, e.re, alpha)
	f.Mul(e.im, e.im, alpha)
	o1 := add(f, e, p)
	o2 := cplx{f.Vec(), f.Vec()}
	f.Binary(kw.Sub, o2.re, e.re, p.re)
	f.Binary(kw.Sub, o2.im, p.im, e.im)
	f.Reverse(o2.re, o2.re)
	f.Reverse(o2.im, o2.im)
	f.StoreVec(o1.re, kw.Mem{Base: da})
	f.StoreVec(o1.im, at(da, dim))
	f.StoreVec(o2.re, kw.Mem{Base: db})
	f.StoreVec(o2.im, at(db, dim))
	for _, g := range []kw.G{da, sa, tw} {
		f.AddImm(g, vb)
	}
	for _, g := range []kw.G{db, sb} {
		f.SubImm(g, vb)
	}
	f.DecJumpNonZero(count, "loop")
	f.Label("end")
	f.Ret()
}

// genConjSum emits FFTConjSum<ISA>: the sum over chans input channels
// of ScaleAddConj's products, the channels the innermost loop, so that
// the sum is stored once per vector, never loaded (the products of
// overlap-save tiles, where C times the sums' traffic, and clearing
// them, were most of their cost).
func genConjSum(f *kw.Func) {
	name := "FFTConjSum" + f.ISA.Name
	f.Function(name, sumSig,
		name+" is dst = sum_c src_c * conj(w_(c,r)) on rows rows of n lanes of split",
		"complex data (bytes: offsets, pitches):",
		"",
		"\tfor r < rows, l < n, c < chans, in order of c:",
		"\t  dst[r*pitch + 4l] (+ dstIm) (0 before c = 0) += src[c*srcChan + r*pitch + 4l] (+ srcIm) * conj(w)",
		"\t  w = tw[c*twChan + 8r] + i tw[c*twChan + 8r + 4]",
		"",
		"each channel's product fused as ScaleAddConj's, so that the sums agree",
		"bit for bit with chans calls of it on a cleared dst. Its reference and",
		"test oracle is fft's conjSumGo.")
	n0, rows, chans := f.Int("n"), f.Int("rows"), f.Int("chans")
	f.JumpIfNotPositive(n0, "end")
	f.JumpIfNotPositive(rows, "end")
	f.JumpIfNotPositive(chans, "end")
	src, dst, tw := f.Int("src"), f.Int("dst"), f.Int("tw")
	sim, dim := f.Int("srcIm"), f.Int("dstIm")
	f.Label("row")
	in := streams{p: []kw.G{f.MoveGP(src)}, im: sim}
	out := streams{p: []kw.G{f.MoveGP(dst)}, im: dim}
	n := f.Int("n")
	f.Loop(n, []kw.G{in.p[0], out.p[0]}, 1, func(st kw.Step) {
		z := cplx{f.Zero(), f.Zero()}
		c, p, w := f.Int("chans"), f.MoveGP(in.p[0]), f.MoveGP(tw)
		label := f.Fresh("chan")
		f.Label(label)
		wr, wi := f.Vec(), f.Vec()
		f.Broadcast(kw.Mem{Base: w}, wr)
		f.Broadcast(kw.Mem{Base: w, Disp: 4}, wi)
		macConj(f, z, streams{p: []kw.G{p}, im: sim}.load(f, st, 0), wr, wi)
		f.AddGP(p, f.Int("srcChan"))
		f.AddGP(w, f.Int("twChan"))
		f.DecJumpNonZero(c, label)
		out.store(f, st, 0, z)
	})
	pitch := f.Int("pitch")
	f.AddGP(src, pitch)
	f.AddGP(dst, pitch)
	f.AddImm(tw, 8)
	f.DecJumpNonZero(rows, "row")
	f.Label("end")
	f.Ret()
}
