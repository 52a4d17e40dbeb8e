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
	interleave2(f)
	maxPool2(f)
	maxPool2Backward(f)
	dotShifts(f, 3)
	dotShifts(f, 5)
	dotGrid3(f)
	copyRows(f)
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

// dotShifts emits DotShifts<taps>: the dot products of x with taps
// windows of y, step floats apart, in one pass over x (a depthwise
// filter gradient's row of taps: each x vector is loaded once for taps
// FMAs, where taps Dots load it taps times).
func dotShifts(f *kw.Func, taps int) {
	const unroll = 2 // taps x 2 accumulators: 10 of AVX2's 16 registers at 5 taps
	f.Kernel(fmt.Sprintf("DotShifts%d", taps), "func(x, y []float32, step int, sums []float32)",
		fmt.Sprintf("for t := 0; t < %d; t++ { // len(y) >= len(x) + %d*step, len(sums) >= %d", taps, taps-1, taps),
		"	for i := range x {",
		fmt.Sprintf("		sums[t] += x[i] * y[t*step+i] // fused, in %d interleaved partial sums per t", unroll*f.ISA.Lanes),
		"	}",
		"}",
		"(sums[t] is set, not added to: it starts from 0.)")
	x := f.Ptr("x")
	ys := windows(f, f.Ptr("y"), f.Int("step"), taps)
	n := f.Len("x")
	acc := zeroSums(f, taps, unroll)
	f.Loop(n, append([]kw.G{x}, ys...), unroll, func(s kw.Step) {
		for j := 0; j < s.Count; j++ {
			v := f.Vec()
			f.Load(s, s.At(x, j), v)
			for t, y := range ys {
				f.FMA(acc[t][j], v, f.Src(s, s.At(y, j)))
			}
		}
	})
	storeSums(f, acc)
	f.Ret()
}

// windows returns pointers to n windows of floats, step floats apart,
// the first at base.
func windows(f *kw.Func, base, step kw.G, n int) []kw.G {
	ws := []kw.G{base}
	for t := 1; t < n; t++ {
		w := f.GP()
		f.Lea(kw.Mem{Base: ws[t-1], Index: step, Scale: 4}, w)
		ws = append(ws, w)
	}
	return ws
}

// zeroSums returns n sums, each unroll zeroed partial-sum vectors.
func zeroSums(f *kw.Func, n, unroll int) [][]kw.V {
	acc := make([][]kw.V, n)
	for t := range acc {
		acc[t] = f.Zeros(unroll)
	}
	return acc
}

// storeSums reduces each sum's partial vectors to one float32, stored at
// sums[t].
func storeSums(f *kw.Func, acc [][]kw.V) {
	sums := f.Ptr("sums")
	for t := range acc {
		f.StoreScalar(f.Reduce(kw.Add, f.Fold(kw.Add, acc[t])), kw.Mem{Base: sums, Disp: 4 * t})
	}
}

// dotGrid3 emits DotGrid3: the 9 dot products of three windows of x
// with three windows of y in one pass (a depthwise 3x3 filter gradient:
// x is dy's plane, its windows a row of the copy apart, and y the
// input's copy, its windows a column apart). Each vector of each window
// is loaded once for 3 FMAs: 6 loads per 9 FMAs, where three DotShifts3
// passes load 12.
func dotGrid3(f *kw.Func) {
	f.Kernel("DotGrid3", "func(x, y []float32, n, xstep, ystep int, sums []float32)",
		"for a := 0; a < 3; a++ { // len(x) >= n + 2*xstep, len(y) >= n + 2*ystep, len(sums) >= 9",
		"	for b := 0; b < 3; b++ {",
		"		for i := 0; i < n; i++ {",
		"			sums[3*a+b] += x[a*xstep+i] * y[b*ystep+i] // fused, in Lanes interleaved partial sums",
		"		}",
		"	}",
		"}",
		"(sums[t] is set, not added to: it starts from 0.)")
	xs := windows(f, f.Ptr("x"), f.Int("xstep"), 3)
	ys := windows(f, f.Ptr("y"), f.Int("ystep"), 3)
	n := f.Int("n")
	acc := zeroSums(f, 9, 1)
	f.Loop(n, append(xs, ys...), 1, func(s kw.Step) {
		for j := 0; j < s.Count; j++ {
			xv := make([]kw.V, 3)
			for a, x := range xs {
				xv[a] = f.Vec()
				f.Load(s, s.At(x, j), xv[a])
			}
			for b, y := range ys {
				yv := f.Vec()
				f.Load(s, s.At(y, j), yv)
				for a := range xs {
					f.FMA(acc[3*a+b][j], xv[a], yv)
				}
			}
		}
	})
	storeSums(f, acc)
	f.Ret()
}

// copyRows copies rows of w floats between two pitches in one call: the
// padded copies of the depthwise engines, whose rows of tens of floats
// cost more in memmove's calls than in their moves.
func copyRows(f *kw.Func) {
	f.Kernel("CopyRows", "func(dst, src []float32, rows, w, dstPitch, srcPitch int)",
		"for r := 0; r < rows; r++ { // w >= 0; dst and src hold (rows-1)*pitch + w floats",
		"	copy(dst[r*dstPitch:][:w], src[r*srcPitch:][:w])",
		"}")
	dst, src := f.Ptr("dst"), f.Ptr("src")
	dp, sp := f.Int("dstPitch"), f.Int("srcPitch")
	eachRow(f, f.Int("rows"), func() {
		f.ShlImm(dp, 2)
		f.ShlImm(sp, 2)
	}, func(next string) {
		d, s, n := f.MoveGP(dst), f.MoveGP(src), f.Int("w")
		f.JumpIfNotPositive(n, next)
		f.Loop(n, []kw.G{d, s}, f.ISA.Unroll, func(st kw.Step) {
			for j := 0; j < st.Count; j++ {
				v := f.Vec()
				f.Load(st, st.At(s, j), v)
				f.Store(st, v, st.At(d, j))
			}
		})
	}, [][2]kw.G{{dst, dp}, {src, sp}})
	f.Ret()
}

// eachRow runs body rows times (rows is consumed; nothing runs when it is
// not positive, setup included): setup once first, then per row body,
// which may jump to next to end its row early, then each pointer of
// steps advanced by its step register (bytes).
func eachRow(f *kw.Func, rows kw.G, setup func(), body func(next string), steps [][2]kw.G) {
	row, next, done := f.Fresh("row"), f.Fresh("rownext"), f.Fresh("rowsdone")
	f.JumpIfNotPositive(rows, done)
	setup()
	f.Label(row)
	body(next)
	f.Label(next)
	for _, st := range steps {
		f.AddGP(st[0], st[1])
	}
	f.DecJumpNonZero(rows, row)
	f.Label(done)
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

// interleave2 is the row store of a stride-2, 2-tap col2im whose taps do
// not overlap (a 2x2 stride-2 transposed convolution): two rows of the
// column matrix zipped into one row of the output, every element written
// once, none read: whole pairs, the last one too.
func interleave2(f *kw.Func) {
	f.Kernel("Interleave2", "func(dst, even, odd []float32)",
		"for i := range even { // len(odd) >= len(even), len(dst) >= 2*len(even)",
		"	dst[2*i], dst[2*i+1] = even[i], odd[i]",
		"}")
	dst, even, odd := f.Ptr("dst"), f.Ptr("even"), f.Ptr("odd")
	n := f.Len("even")
	f.LoopWholePairs(n, []kw.G{even, odd}, []kw.G{dst}, f.ISA.Unroll, func(s kw.Step) {
		for j := 0; j < s.Count; j++ {
			e, o := f.Vec(), f.Vec()
			f.Load(s, s.At(even, j), e)
			f.Load(s, s.At(odd, j), o)
			f.StorePairs(s, e, o, s.PairAt(dst, j))
		}
	})
	f.Ret()
}

// maxWindow2 runs the window's four values in PyTorch's order (a0, a1,
// b0, b1), each taking the max when v > best or v is NaN, and returns the
// max and the masks of the later three takes (a position wins when it
// takes and no later one does: the first of equal maxima, the last NaN).
func maxWindow2(f *kw.Func, a0, a1, b0, b1 kw.V) (best kw.V, takes [3]kw.Mask) {
	best = f.Vec()
	f.Move(a0, best)
	for i, v := range []kw.V{a1, b0, b1} {
		k := f.Cmp(kw.GT, v, best)
		f.OrMask(f.Cmp(kw.Unord, v, v), k)
		f.Select(k, v, best, best)
		takes[i] = k
	}
	return best, takes
}

// rows2 runs body once per output row of a 2x2 stride-2 pooling: rows
// rows of ow outputs behind out (ow floats apart), the i-th reading the
// input rows 2i and 2i+1 behind in (w floats apart). body gets the row's
// pointers (its output row, its two input rows, and extra rows behind
// each of extra, w floats apart like in's) and ow in a register it may
// consume.
func rows2(f *kw.Func, out, in kw.G, extra []kw.G, body func(n, o, a, b kw.G, more []kw.G)) {
	rows, ow, w := f.Int("rows"), f.Int("ow"), f.Int("w")
	steps := [][2]kw.G{{out, ow}}
	for _, p := range append([]kw.G{in}, extra...) {
		steps = append(steps, [2]kw.G{p, w}, [2]kw.G{p, w}) // two input rows
	}
	eachRow(f, rows, func() {
		f.ShlImm(w, 2)  // bytes per input row
		f.ShlImm(ow, 2) // bytes per output row
	}, func(next string) {
		o, a, b := f.MoveGP(out), f.MoveGP(in), f.MoveGP(in)
		f.AddGP(b, w)
		more := make([]kw.G, 0, 2*len(extra))
		for _, e := range extra {
			ea, eb := f.MoveGP(e), f.MoveGP(e)
			f.AddGP(eb, w)
			more = append(more, ea, eb)
		}
		n := f.MoveGP(ow)
		f.ShrImmJumpZero(n, 2, next) // the outputs of the row; none: nothing to do
		body(n, o, a, b, more)
	}, steps)
}

// maxPool2 is the 2x2 stride-2 max pooling of rows of input.
func maxPool2(f *kw.Func) {
	f.Kernel("MaxPool2", "func(y, x []float32, rows, ow, w int)",
		"for r := 0; r < rows; r++ { // ow <= w/2; len(y) >= rows*ow; x holds the rows 2r, 2r+1 of w floats",
		"	a, b := x[2*r*w:], x[(2*r+1)*w:]",
		"	for i := 0; i < ow; i++ {",
		"		m := a[2*i]",
		"		for _, v := range []float32{a[2*i+1], b[2*i], b[2*i+1]} {",
		"			if v > m || v != v { // PyTorch's rule: the first max, the last NaN",
		"				m = v",
		"			}",
		"		}",
		"		y[r*ow+i] = m",
		"	}",
		"}")
	f.Comment("Compares and selects rather than a max: x86's VMAXPS drops NaN from one",
		"operand and returns its second source for equal zeros, and the reference keeps",
		"the first of equal values bit for bit.")
	y, x := f.Ptr("y"), f.Ptr("x")
	rows2(f, y, x, nil, func(n, yr, a, b kw.G, _ []kw.G) {
		f.LoopWholePairs(n, []kw.G{yr}, []kw.G{a, b}, 1, func(s kw.Step) {
			a0, a1, b0, b1 := f.Vec(), f.Vec(), f.Vec(), f.Vec()
			f.LoadPairs(s, s.PairAt(a, 0), a0, a1)
			f.LoadPairs(s, s.PairAt(b, 0), b0, b1)
			best, _ := maxWindow2(f, a0, a1, b0, b1)
			f.Store(s, best, s.At(yr, 0))
		})
	})
	f.Ret()
}

// maxPool2Backward routes each output's gradient to the position that won
// its window, writing every element of the windows.
func maxPool2Backward(f *kw.Func) {
	f.Kernel("MaxPool2Backward", "func(dx, x, dy []float32, rows, ow, w int)",
		"for r := 0; r < rows; r++ { // dx and x as MaxPool2's x, dy as its y",
		"	for i := 0; i < ow; i++ {",
		"		at := [4]int{2*r*w + 2*i, 2*r*w + 2*i + 1, (2*r+1)*w + 2*i, (2*r+1)*w + 2*i + 1}",
		"		k := 0 // the window's winner, as MaxPool2 picks it",
		"		for j := 1; j < 4; j++ {",
		"			if v := x[at[j]]; v > x[at[k]] || v != v {",
		"				k = j",
		"			}",
		"		}",
		"		for j := range at {",
		"			dx[at[j]] = 0 // the columns past 2*ow are not written",
		"		}",
		"		dx[at[k]] = dy[r*ow+i]",
		"	}",
		"}")
	dx, x, dy := f.Ptr("dx"), f.Ptr("x"), f.Ptr("dy")
	zero := f.Zero()
	rows2(f, dy, x, []kw.G{dx}, func(n, g, a, b kw.G, more []kw.G) {
		dxa, dxb := more[0], more[1]
		f.LoopWholePairs(n, []kw.G{g}, []kw.G{dxa, dxb, a, b}, 1, func(s kw.Step) {
			a0, a1, b0, b1 := f.Vec(), f.Vec(), f.Vec(), f.Vec()
			f.LoadPairs(s, s.PairAt(a, 0), a0, a1)
			f.LoadPairs(s, s.PairAt(b, 0), b0, b1)
			_, takes := maxWindow2(f, a0, a1, b0, b1)
			// rem is the gradient not yet claimed, from the last taker back.
			rem := f.Vec()
			f.Load(s, s.At(g, 0), rem)
			out := [4]kw.V{a0, a1, b0, b1} // each value is dead once takes are known
			for i := 2; i >= 0; i-- {
				f.ZeroUnless(takes[i], rem, out[i+1])
				f.Select(takes[i], zero, rem, rem)
			}
			f.Move(rem, out[0])
			f.StorePairs(s, out[0], out[1], s.PairAt(dxa, 0))
			f.StorePairs(s, out[2], out[3], s.PairAt(dxb, 0))
		})
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
