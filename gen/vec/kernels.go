package main

import (
	"fmt"

	"github.com/convkit/convkit/gen/kw"
)

// emit writes every kernel for one ISA, in a fixed order so that the output
// is byte-for-byte reproducible.
func emit(f *kw.Func) {
	axpy(f)
	dot(f)
	scale(f)
	add(f)
	relu(f)
	reluBackward(f)
	maxKernel(f)
	sum(f)
	gather2(f)
	scatterAdd2(f)
	fmaPeak(f)
}

// Float32 bit patterns the kernels build in registers.
const (
	negInf = 0xff800000
	qNaN   = 0x7fc00000 // float32(math.NaN()) in Go
	one    = 0x3f800000
)

func axpy(f *kw.Func) {
	f.Kernel("Axpy", "func(alpha float32, x, y []float32)",
		"for i := range x {",
		"	y[i] += alpha * x[i] // fused: one rounding",
		"}")
	alpha := f.BroadcastParam("alpha")
	x, y := f.Ptr("x"), f.Ptr("y")
	n := f.Len("x")
	f.Loop(n, []kw.G{x, y}, f.ISA.Unroll, func(s kw.Step) {
		for j := 0; j < s.Count; j++ {
			v := f.Vec()
			f.Load(s, s.At(x, j), v)
			f.MulAdd(v, alpha, f.Src(s, s.At(y, j))) // v = alpha*v + y
			f.Store(s, v, s.At(y, j))
		}
	})
	f.Ret()
}

func dot(f *kw.Func) {
	f.Kernel("Dot", "func(x, y []float32) float32",
		"for i := range x {",
		fmt.Sprintf("	s += x[i] * y[i] // fused, in %d interleaved partial sums", f.ISA.Accs*f.ISA.Lanes),
		"}",
		"return s")
	x, y := f.Ptr("x"), f.Ptr("y")
	n := f.Len("x")
	acc := f.Zeros(f.ISA.Accs)
	f.Loop(n, []kw.G{x, y}, f.ISA.Accs, func(s kw.Step) {
		for j := 0; j < s.Count; j++ {
			v := f.Vec()
			f.Load(s, s.At(x, j), v)
			f.FMA(acc[j], v, f.Src(s, s.At(y, j)))
		}
	})
	f.ReturnFloat(f.Reduce(kw.Add, f.Fold(kw.Add, acc)))
	f.Ret()
}

func scale(f *kw.Func) {
	f.Kernel("Scale", "func(alpha float32, x []float32)",
		"for i := range x {",
		"	x[i] *= alpha",
		"}")
	alpha := f.BroadcastParam("alpha")
	x := f.Ptr("x")
	n := f.Len("x")
	f.Loop(n, []kw.G{x}, f.ISA.Unroll, func(s kw.Step) {
		for j := 0; j < s.Count; j++ {
			v := f.Vec()
			f.Load(s, s.At(x, j), v)
			f.Mul(v, v, alpha)
			f.Store(s, v, s.At(x, j))
		}
	})
	f.Ret()
}

func add(f *kw.Func) {
	f.Kernel("Add", "func(dst, x, y []float32)",
		"for i := range dst {",
		"	dst[i] = x[i] + y[i]",
		"}")
	dst, x, y := f.Ptr("dst"), f.Ptr("x"), f.Ptr("y")
	n := f.Len("dst")
	f.Loop(n, []kw.G{dst, x, y}, f.ISA.Unroll, func(s kw.Step) {
		for j := 0; j < s.Count; j++ {
			v := f.Vec()
			f.Load(s, s.At(x, j), v)
			f.Binary(kw.Add, v, v, f.Src(s, s.At(y, j)))
			f.Store(s, v, s.At(dst, j))
		}
	})
	f.Ret()
}

func relu(f *kw.Func) {
	f.Kernel("Relu", "func(dst, x []float32)",
		"for i := range dst { // dst may be x",
		"	dst[i] = x[i]",
		"	if x[i] <= 0 { // false for NaN, which passes through",
		"		dst[i] = 0",
		"	}",
		"}")
	f.Comment("A compare and a mask rather than a max: x86's VMAXPS returns its second source",
		"both for NaN and for a pair of zeros, and NEON's FMAX quiets signalling NaNs, so",
		"neither can both pass NaN through bit for bit and turn -0 into the reference's +0.")
	dst, x := f.Ptr("dst"), f.Ptr("x")
	n := f.Len("dst")
	zero := f.Zero()
	f.Loop(n, []kw.G{dst, x}, f.ISA.Unroll, func(s kw.Step) {
		for j := 0; j < s.Count; j++ {
			v := f.Vec()
			f.Load(s, s.At(x, j), v)
			keep := f.Cmp(kw.NGE, zero, v) // !(0 >= x): x > 0 or NaN
			f.ZeroUnless(keep, v, v)
			f.Store(s, v, s.At(dst, j))
		}
	})
	f.Ret()
}

func reluBackward(f *kw.Func) {
	f.Kernel("ReluBackward", "func(dx, x, dy []float32)",
		"for i := range dx {",
		"	dx[i] = 0",
		"	if x[i] > 0 { // false for NaN",
		"		dx[i] = dy[i]",
		"	}",
		"}")
	dx, x, dy := f.Ptr("dx"), f.Ptr("x"), f.Ptr("dy")
	n := f.Len("dx")
	zero := f.Zero()
	f.Loop(n, []kw.G{dx, x, dy}, f.ISA.Unroll, func(s kw.Step) {
		for j := 0; j < s.Count; j++ {
			v := f.Vec()
			f.Load(s, s.At(x, j), v)
			pos := f.Cmp(kw.LT, zero, v) // 0 < x, false for NaN
			g := f.Vec()
			f.ZeroUnless(pos, f.Src(s, s.At(dy, j)), g)
			f.Store(s, g, s.At(dx, j))
		}
	})
	f.Ret()
}

func maxKernel(f *kw.Func) {
	f.Kernel("Max", "func(x []float32) float32",
		"m := -Inf",
		"for _, v := range x {",
		"	if v != v {",
		"		return NaN // a quiet NaN, not v's payload",
		"	}",
		"	m = max(m, v)",
		"}",
		"return m")
	f.Comment("A max may drop a NaN in one of its operands (x86's VMAXPS does), so the",
		"unordered lanes are tracked apart (an UNORD compare of two vectors covers both)",
		"and checked at the end.")
	x := f.Ptr("x")
	n := f.Len("x")
	fill := f.Splat(negInf)
	acc := make([]kw.V, f.ISA.Accs)
	for j := range acc {
		acc[j] = f.Vec()
		f.Move(fill, acc[j])
	}
	nan := f.EmptyMask()
	f.Loop(n, []kw.G{x}, f.ISA.Accs, func(s kw.Step) {
		// Two vectors at a time, so that few loaded vectors are live at once
		// (AVX2 has 16 registers for 8 accumulators and the temporaries).
		for j := 0; j < s.Count; j += 2 {
			v0 := f.Vec()
			f.LoadFill(s, s.At(x, j), fill, v0)
			f.Binary(kw.Max, acc[j], acc[j], v0)
			v1 := v0
			if j+1 < s.Count {
				v1 = f.Vec()
				f.LoadFill(s, s.At(x, j+1), fill, v1)
				f.Binary(kw.Max, acc[j+1], acc[j+1], v1)
			}
			f.OrMask(f.Cmp(kw.Unord, v0, v1), nan)
		}
	})
	f.JumpIfAny(nan, "nan")
	f.ReturnFloat(f.Reduce(kw.Max, f.Fold(kw.Max, acc)))
	f.Ret()

	f.Label("nan")
	f.ReturnFloatBits(qNaN)
	f.Ret()
}

func sum(f *kw.Func) {
	f.Kernel("Sum", "func(x []float32) float32",
		"for _, v := range x {",
		fmt.Sprintf("	s += v // in %d interleaved partial sums", f.ISA.Accs*f.ISA.Lanes),
		"}",
		"return s")
	x := f.Ptr("x")
	n := f.Len("x")
	acc := f.Zeros(f.ISA.Accs)
	f.Loop(n, []kw.G{x}, f.ISA.Accs, func(s kw.Step) {
		for j := 0; j < s.Count; j++ {
			f.Binary(kw.Add, acc[j], acc[j], f.Src(s, s.At(x, j)))
		}
	})
	f.ReturnFloat(f.Reduce(kw.Add, f.Fold(kw.Add, acc)))
	f.Ret()
}

// gather2 is the stride-2 row copy of im2col: src is read as pairs, the
// last of which is half (LoopPairs never reads src[2*len(dst)-1]).
func gather2(f *kw.Func) {
	f.Kernel("Gather2", "func(dst, src []float32)",
		"for i := range dst { // len(src) >= 2*len(dst)-1",
		"	dst[i] = src[2*i]",
		"}")
	dst, src := f.Ptr("dst"), f.Ptr("src")
	n := f.Len("dst")
	f.LoopPairs(n, []kw.G{dst}, []kw.G{src}, f.ISA.Unroll, func(s kw.Step) {
		for j := 0; j < s.Count; j++ {
			v := f.Vec()
			f.LoadEvens(s, s.PairAt(src, j), v)
			f.Store(s, v, s.At(dst, j))
		}
	})
	f.Ret()
}

// scatterAdd2 is the stride-2 row accumulation of col2im: dst is read and
// written back as pairs, the odd elements unchanged (moved, never added
// to: an addition would quiet a signalling NaN and turn -0 into +0).
func scatterAdd2(f *kw.Func) {
	f.Kernel("ScatterAdd2", "func(dst, src []float32)",
		"for i := range src { // len(dst) >= 2*len(src)-1",
		"	dst[2*i] += src[i] // dst[2*i+1] is left as it is",
		"}")
	dst, src := f.Ptr("dst"), f.Ptr("src")
	n := f.Len("src")
	f.LoopPairs(n, []kw.G{src}, []kw.G{dst}, f.ISA.Unroll, func(s kw.Step) {
		for j := 0; j < s.Count; j++ {
			even, odd := f.Vec(), f.Vec()
			f.LoadPairs(s, s.PairAt(dst, j), even, odd)
			f.Binary(kw.Add, even, even, f.Src(s, s.At(src, j)))
			f.StorePairs(s, even, odd, s.PairAt(dst, j))
		}
	})
	f.Ret()
}

// fmaPeak is the FMA throughput probe: PeakAccs independent chains (more
// than FMA latency x FMA pipes), registers only.
func fmaPeak(f *kw.Func) {
	name := "FmaPeak" + f.ISA.Name
	f.Function(name, "func(iters int) int",
		name+" implements kernels.PeakKernel for "+f.ISA.What+": iters",
		"iterations of independent register-only FMAs; returns the flops done.",
	)
	iters := f.Int("iters")
	flops := f.ZeroGP()
	f.JumpIfNotPositive(iters, "done")

	k := f.Splat(one)
	acc := f.Zeros(f.ISA.PeakAccs)
	cnt := f.MoveGP(iters)
	f.Label("loop")
	for _, r := range acc {
		f.FMA(r, k, k) // r += 1: exact, never denormal or NaN
	}
	f.DecJumpNonZero(cnt, "loop")
	f.MulImm(flops, iters, f.ISA.PeakAccs*f.ISA.Lanes*2)
	f.Label("done")
	f.ReturnInt(flops)
	f.Ret()
}
