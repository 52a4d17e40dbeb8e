package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// emit writes every kernel for every ISA, in a fixed order so that the
// output is byte-for-byte reproducible.
func emit(ctx *build.Context) {
	for _, a := range []*isa{newAVX2(ctx), newAVX512(ctx)} {
		axpy(a)
		dot(a)
		scale(a)
		add(a)
		relu(a)
		reluBackward(a)
		maxKernel(a)
		sum(a)
		fmaPeak(a)
	}
}

// ptr loads the data pointer of the slice parameter name.
func (a *isa) ptr(name string) Register { return a.Load(a.Param(name).Base(), a.GP64()) }

// length loads the length of the slice parameter name.
func (a *isa) length(name string) Register { return a.Load(a.Param(name).Len(), a.GP64()) }

// Float32 bit patterns the kernels build in registers.
const (
	negInf = 0xff800000
	qNaN   = 0x7fc00000 // float32(math.NaN()) in Go
	one    = 0x3f800000
)

func axpy(a *isa) {
	a.kernel("Axpy", "func(alpha float32, x, y []float32)",
		"for i := range x {",
		"	y[i] += alpha * x[i] // fused: one rounding",
		"}")
	alpha := a.splatParam("alpha")
	x, y := a.ptr("x"), a.ptr("y")
	n := a.length("x")
	a.loop(n, []Register{x, y}, a.unroll, func(s step) {
		for j := 0; j < s.count; j++ {
			v := a.vec()
			a.load(s, s.at(x, j), v)
			a.VFMADD213PS(a.src(s, s.at(y, j)), alpha, v) // v = alpha*v + y
			a.store(s, v, s.at(y, j))
		}
	})
	a.ret()
}

func dot(a *isa) {
	a.kernel("Dot", "func(x, y []float32) float32",
		"for i := range x {",
		fmt.Sprintf("	s += x[i] * y[i] // fused, in %d interleaved partial sums", a.accs*a.lanes),
		"}",
		"return s")
	x, y := a.ptr("x"), a.ptr("y")
	n := a.length("x")
	acc := a.zeros(a.accs)
	a.loop(n, []Register{x, y}, a.accs, func(s step) {
		for j := 0; j < s.count; j++ {
			v := a.vec()
			a.load(s, s.at(x, j), v)
			a.VFMADD231PS(a.src(s, s.at(y, j)), v, acc[j])
		}
	})
	r := a.hreduce(a.VADDPS, a.fold(a.VADDPS, acc))
	a.Store(r, a.ReturnIndex(0))
	a.ret()
}

func scale(a *isa) {
	a.kernel("Scale", "func(alpha float32, x []float32)",
		"for i := range x {",
		"	x[i] *= alpha",
		"}")
	alpha := a.splatParam("alpha")
	x := a.ptr("x")
	n := a.length("x")
	a.loop(n, []Register{x}, a.unroll, func(s step) {
		for j := 0; j < s.count; j++ {
			v := a.vec()
			a.load(s, s.at(x, j), v)
			a.VMULPS(alpha, v, v)
			a.store(s, v, s.at(x, j))
		}
	})
	a.ret()
}

func add(a *isa) {
	a.kernel("Add", "func(dst, x, y []float32)",
		"for i := range dst {",
		"	dst[i] = x[i] + y[i]",
		"}")
	dst, x, y := a.ptr("dst"), a.ptr("x"), a.ptr("y")
	n := a.length("dst")
	a.loop(n, []Register{dst, x, y}, a.unroll, func(s step) {
		for j := 0; j < s.count; j++ {
			v := a.vec()
			a.load(s, s.at(x, j), v)
			a.VADDPS(a.src(s, s.at(y, j)), v, v)
			a.store(s, v, s.at(dst, j))
		}
	})
	a.ret()
}

func relu(a *isa) {
	a.kernel("Relu", "func(dst, x []float32)",
		"for i := range dst { // dst may be x",
		"	dst[i] = x[i]",
		"	if x[i] <= 0 { // false for NaN, which passes through",
		"		dst[i] = 0",
		"	}",
		"}")
	a.Comment("A compare and a mask rather than VMAXPS: VMAXPS returns its second source",
		"both for NaN and for a pair of zeros, so it cannot both pass NaN through and",
		"turn -0 into the reference's +0.")
	dst, x := a.ptr("dst"), a.ptr("x")
	n := a.length("dst")
	zero := a.zero()
	a.loop(n, []Register{dst, x}, a.unroll, func(s step) {
		for j := 0; j < s.count; j++ {
			v := a.vec()
			a.load(s, s.at(x, j), v)
			keep := a.cmp(cmpNGE, zero, v) // !(0 >= x): x > 0 or NaN
			a.zeroUnless(keep, v, v)
			a.store(s, v, s.at(dst, j))
		}
	})
	a.ret()
}

func reluBackward(a *isa) {
	a.kernel("ReluBackward", "func(dx, x, dy []float32)",
		"for i := range dx {",
		"	dx[i] = 0",
		"	if x[i] > 0 { // false for NaN",
		"		dx[i] = dy[i]",
		"	}",
		"}")
	dx, x, dy := a.ptr("dx"), a.ptr("x"), a.ptr("dy")
	n := a.length("dx")
	zero := a.zero()
	a.loop(n, []Register{dx, x, dy}, a.unroll, func(s step) {
		for j := 0; j < s.count; j++ {
			v := a.vec()
			a.load(s, s.at(x, j), v)
			pos := a.cmp(cmpLT, zero, v) // 0 < x, false for NaN
			g := a.vec()
			a.zeroUnless(pos, a.src(s, s.at(dy, j)), g)
			a.store(s, g, s.at(dx, j))
		}
	})
	a.ret()
}

func maxKernel(a *isa) {
	a.kernel("Max", "func(x []float32) float32",
		"m := -Inf",
		"for _, v := range x {",
		"	if v != v {",
		"		return NaN // a quiet NaN, not v's payload",
		"	}",
		"	m = max(m, v)",
		"}",
		"return m")
	a.Comment("VMAXPS drops a NaN in one of its operands, so the unordered lanes are",
		"tracked apart (VCMPPS UNORD of two vectors covers both) and checked at the end.")
	x := a.ptr("x")
	n := a.length("x")
	fill := a.splat(negInf)
	acc := make([]VecVirtual, a.accs)
	for j := range acc {
		acc[j] = a.vec()
		a.VMOVUPS(fill, acc[j])
	}
	nan := a.emptyMask()
	a.loop(n, []Register{x}, a.accs, func(s step) {
		// Two vectors at a time, so that few loaded vectors are live at once
		// (AVX2 has 16 registers for 8 accumulators and the temporaries).
		for j := 0; j < s.count; j += 2 {
			v0 := a.vec()
			a.loadFill(s, s.at(x, j), fill, v0)
			a.VMAXPS(v0, acc[j], acc[j])
			v1 := v0
			if j+1 < s.count {
				v1 = a.vec()
				a.loadFill(s, s.at(x, j+1), fill, v1)
				a.VMAXPS(v1, acc[j+1], acc[j+1])
			}
			a.orMask(a.cmp(cmpUnord, v0, v1), nan)
		}
	})
	a.jumpIfAny(nan, "nan")
	r := a.hreduce(a.VMAXPS, a.fold(a.VMAXPS, acc))
	a.Store(r, a.ReturnIndex(0))
	a.ret()

	a.Label("nan")
	bits, q := a.GP32(), a.XMM()
	a.MOVL(U32(qNaN), bits)
	a.VMOVD(bits, q)
	a.Store(q, a.ReturnIndex(0))
	a.ret()
}

func sum(a *isa) {
	a.kernel("Sum", "func(x []float32) float32",
		"for _, v := range x {",
		fmt.Sprintf("	s += v // in %d interleaved partial sums", a.accs*a.lanes),
		"}",
		"return s")
	x := a.ptr("x")
	n := a.length("x")
	acc := a.zeros(a.accs)
	a.loop(n, []Register{x}, a.accs, func(s step) {
		for j := 0; j < s.count; j++ {
			a.VADDPS(a.src(s, s.at(x, j)), acc[j], acc[j])
		}
	})
	r := a.hreduce(a.VADDPS, a.fold(a.VADDPS, acc))
	a.Store(r, a.ReturnIndex(0))
	a.ret()
}

// fmaPeak is the FMA throughput probe: peakAccs independent chains (more
// than FMA latency x FMA pipes, 4 x 2 on Zen 5), registers only.
func fmaPeak(a *isa) {
	name := "FmaPeak" + a.name
	a.Function(name)
	a.Attributes(attr.NOSPLIT)
	a.SignatureExpr("func(iters int) int")
	a.Doc(
		name+" implements kernels.PeakKernel for "+a.what+": iters",
		"iterations of independent register-only FMAs; returns the flops done.",
	)
	iters := a.Load(a.Param("iters"), a.GP64())
	flops := a.GP64()
	a.XORQ(flops, flops)
	a.TESTQ(iters, iters)
	a.JLE(LabelRef("done"))

	k := a.splat(one)
	acc := a.zeros(a.peakAccs)
	cnt := a.GP64()
	a.MOVQ(iters, cnt)
	a.Label("loop")
	for _, r := range acc {
		a.VFMADD231PS(k, k, r) // r += 1: exact, never denormal or NaN
	}
	a.DECQ(cnt)
	a.JNZ(LabelRef("loop"))
	a.IMUL3Q(U32(a.peakAccs*a.lanes*2), iters, flops)
	a.Label("done")
	a.Store(flops, a.ReturnIndex(0))
	a.ret()
}

// zeros returns k vectors of +0.
func (a *isa) zeros(k int) []VecVirtual {
	vs := make([]VecVirtual, k)
	for i := range vs {
		vs[i] = a.zero()
	}
	return vs
}
