package main

import (
	"fmt"

	a "github.com/convkit/convkit/gen/arm64asm"
)

// Register plan shared by all kernels: the first operand's registers start
// at vA, the second's at vB, the accumulators of reductions at vAcc (Unroll
// of each, Unroll <= 8), and vK holds a broadcast constant (alpha, 0).
const (
	vA   a.VReg = 0
	vB   a.VReg = 8
	vAcc a.VReg = 16
	vK   a.VReg = 31
)

func genVec(f *a.File, c isa) {
	if c.Unroll < 1 || c.Unroll > 8 {
		panic(fmt.Sprintf("neonvec: Unroll %d: the register plan allows 1..8", c.Unroll))
	}
	if c.PeakAccs < 1 || c.PeakAccs > 30 {
		panic(fmt.Sprintf("neonvec: PeakAccs %d: at most 30 (two registers hold the factors)", c.PeakAccs))
	}
	genAxpy(f, c)
	genDot(f, c)
	genScale(f, c)
	genAdd(f, c)
	genRelu(f, c)
	genReluBackward(f, c)
	genMax(f, c)
	genSum(f, c)
	genPeak(f, c)
}

// stubDoc is the doc comment of a kernel's Go declaration: where its
// reference lives and the loop it implements.
func stubDoc(name, generic, field string, spec ...string) []string {
	doc := []string{
		name + " implements kernels." + generic + ", its reference and test",
		"oracle (kernels/vec_generic.go):",
		"",
	}
	for _, l := range spec {
		doc = append(doc, "\t"+l)
	}
	return append(doc, "",
		"It trusts its preconditions: call it through kernels.Vec."+field+" or the",
		"checked kernels."+field+".")
}

// reorderNote ends the spec of a reduction, whose order of additions is
// not the reference's.
func (c isa) reorderNote() string {
	return fmt.Sprintf("// as %d partial sums, so rounding differs from the reference", c.Unroll*c.Lanes())
}

var (
	f32   = a.Float32
	slice = a.Float32Slice
)

// step is one loop of a streaming kernel: it runs while at least elems
// elements remain. pre is emitted once before the loop (whether or not the
// loop runs).
type step struct {
	label string
	elems int
	pre   func()
	body  func()
}

// stream emits the steps in order over the element count in n. Each loop is
//
//	n -= e; if n < 0 goto done; loop: body; n -= e; if n >= 0 goto loop; done: n += e
//
// two instructions of overhead per iteration and right for any width e, so
// the steps need not be powers of two.
func stream(fn *a.Func, n a.GPR, steps ...step) {
	for i, s := range steps {
		if s.pre != nil {
			s.pre()
		}
		e := a.Imm(int64(s.elems))
		fn.Op("SUBS", e, n.String(), n.String())
		fn.Op("BLT", s.label+"_done")
		fn.Label(s.label)
		s.body()
		fn.Op("SUBS", e, n.String(), n.String())
		fn.Op("BGE", s.label)
		fn.Label(s.label + "_done")
		if i < len(steps)-1 {
			fn.Op("ADD", e, n.String(), n.String())
		}
	}
}

// loops emits the three phases every streaming kernel has: Unroll registers
// per iteration, then one register at a time, then one float32 at a time,
// so no load or store ever touches an element past n. vec(k) handles k
// registers (k == Unroll or 1) of each operand, scalar one element;
// beforeScalar (may be nil) runs between the vector and scalar phases,
// where reductions fold their accumulators.
func (c isa) loops(fn *a.Func, n a.GPR, vec func(k int), beforeScalar, scalar func()) {
	var s []step
	s = append(s, step{label: "main", elems: c.Unroll * c.Lanes(), body: func() { vec(c.Unroll) }})
	if c.Unroll > 1 {
		s = append(s, step{label: "vec", elems: c.Lanes(), body: func() { vec(1) }})
	}
	s = append(s, step{label: "tail", elems: 1, pre: beforeScalar, body: scalar})
	stream(fn, n, s...)
}

// ld loads k registers from base, post-incrementing it (VLD1 takes at most
// four registers, so larger k is split).
func (c isa) ld(fn *a.Func, first a.VReg, k int, base a.GPR) {
	for i := 0; i < k; i += 4 {
		fn.VLD1(c.Arr, first+a.VReg(i), min(4, k-i), base, true)
	}
}

// st stores k registers to base, post-incrementing it.
func (c isa) st(fn *a.Func, first a.VReg, k int, base a.GPR) {
	for i := 0; i < k; i += 4 {
		fn.VST1(c.Arr, first+a.VReg(i), min(4, k-i), base, true)
	}
}

// reduce folds the Unroll accumulators into vAcc (a tree, so the adds of
// one level are independent), then the lanes of vAcc into its lane 0 with
// pairwise ops; the result is the scalar F16.
func (c isa) reduce(fn *a.Func, vop func(a.Arr, a.VReg, a.VReg, a.VReg) a.Word,
	pairVec func(a.Arr, a.VReg, a.VReg, a.VReg) a.Word, pairScalar func(a.Arr, a.VReg, a.VReg) a.Word) {
	fn.Comment("fold the %d accumulators, then the %d lanes", c.Unroll, c.Lanes())
	for w := c.Unroll; w > 1; {
		half := (w + 1) / 2
		for j := 0; j+half < w; j++ {
			fn.Word(vop(c.Arr, vAcc+a.VReg(j), vAcc+a.VReg(j), vAcc+a.VReg(j+half)))
		}
		w = half
	}
	for l := c.Lanes(); l > 2; l /= 2 {
		fn.Word(pairVec(c.Arr, vAcc, vAcc, vAcc))
	}
	fn.Word(pairScalar(a.S2, vAcc, vAcc))
}

func genAxpy(f *a.File, c isa) {
	name := "Axpy" + c.Name
	fn := f.Func(name, stubDoc(name, "AxpyGeneric", "Axpy",
		"for i := range x {",
		"	y[i] += alpha * x[i]",
		"}",
	), a.Signature{Params: []a.Param{a.P("alpha", f32), a.P("x", slice), a.P("y", slice)}})
	x, y, yw, n := a.GPR(0), a.GPR(1), a.GPR(2), a.GPR(3)
	fn.Op("FMOVS", fn.Arg("alpha"), vK.F())
	fn.VDUPLane(c.Arr, vK, vK, 0)
	fn.Op("MOVD", fn.Base("x"), x.String())
	fn.Op("MOVD", fn.Len("x"), n.String())
	fn.Op("MOVD", fn.Base("y"), y.String())
	fn.Comment("y is read through R1 and written through R2, both post-incremented")
	fn.Op("MOVD", y.String(), yw.String())
	c.loops(fn, n, func(k int) {
		c.ld(fn, vA, k, x)
		c.ld(fn, vB, k, y)
		for j := 0; j < k; j++ {
			fn.VFMLA(c.Arr, vB+a.VReg(j), vA+a.VReg(j), vK)
		}
		c.st(fn, vB, k, yw)
	}, nil, func() {
		fn.FMOVSLoad(vA, x, true)
		fn.FMOVSLoad(vB, y, true)
		fn.FMADDS(vB, vA, vK, vB)
		fn.FMOVSStore(vB, yw, true)
	})
	fn.Op("RET")
}

func genDot(f *a.File, c isa) {
	name := "Dot" + c.Name
	fn := f.Func(name, stubDoc(name, "DotGeneric", "Dot",
		"var s float32",
		"for i := range x {",
		"	s += x[i] * y[i]",
		"}",
		"return s "+c.reorderNote(),
	), a.Signature{Params: []a.Param{a.P("x", slice), a.P("y", slice)}, Result: a.Returns(f32)})
	x, y, n := a.GPR(0), a.GPR(1), a.GPR(2)
	fn.Op("MOVD", fn.Base("x"), x.String())
	fn.Op("MOVD", fn.Len("x"), n.String())
	fn.Op("MOVD", fn.Base("y"), y.String())
	for j := 0; j < c.Unroll; j++ {
		fn.VEOR(vAcc+a.VReg(j), vAcc+a.VReg(j), vAcc+a.VReg(j))
	}
	c.loops(fn, n, func(k int) {
		c.ld(fn, vA, k, x)
		c.ld(fn, vB, k, y)
		for j := 0; j < k; j++ {
			fn.VFMLA(c.Arr, vAcc+a.VReg(j), vA+a.VReg(j), vB+a.VReg(j))
		}
	}, func() {
		c.reduce(fn, a.FADD, a.FADDP, a.FADDPScalar)
	}, func() {
		fn.FMOVSLoad(vA, x, true)
		fn.FMOVSLoad(vB, y, true)
		fn.FMADDS(vAcc, vA, vB, vAcc)
	})
	fn.Op("FMOVS", vAcc.F(), fn.Ret())
	fn.Op("RET")
}

func genScale(f *a.File, c isa) {
	name := "Scale" + c.Name
	fn := f.Func(name, stubDoc(name, "ScaleGeneric", "Scale",
		"for i := range x {",
		"	x[i] *= alpha",
		"}",
	), a.Signature{Params: []a.Param{a.P("alpha", f32), a.P("x", slice)}})
	x, xw, n := a.GPR(0), a.GPR(1), a.GPR(2)
	fn.Op("FMOVS", fn.Arg("alpha"), vK.F())
	fn.VDUPLane(c.Arr, vK, vK, 0)
	fn.Op("MOVD", fn.Base("x"), x.String())
	fn.Op("MOVD", fn.Len("x"), n.String())
	fn.Op("MOVD", x.String(), xw.String())
	c.loops(fn, n, func(k int) {
		c.ld(fn, vA, k, x)
		for j := 0; j < k; j++ {
			fn.Word(a.FMUL(c.Arr, vA+a.VReg(j), vA+a.VReg(j), vK))
		}
		c.st(fn, vA, k, xw)
	}, nil, func() {
		fn.FMOVSLoad(vA, x, true)
		fn.FMULS(vA, vA, vK)
		fn.FMOVSStore(vA, xw, true)
	})
	fn.Op("RET")
}

func genAdd(f *a.File, c isa) {
	name := "Add" + c.Name
	fn := f.Func(name, stubDoc(name, "AddGeneric", "Add",
		"for i := range dst {",
		"	dst[i] = x[i] + y[i]",
		"}",
	), a.Signature{Params: []a.Param{a.P("dst", slice), a.P("x", slice), a.P("y", slice)}})
	d, x, y, n := a.GPR(0), a.GPR(1), a.GPR(2), a.GPR(3)
	fn.Op("MOVD", fn.Base("dst"), d.String())
	fn.Op("MOVD", fn.Len("dst"), n.String())
	fn.Op("MOVD", fn.Base("x"), x.String())
	fn.Op("MOVD", fn.Base("y"), y.String())
	c.loops(fn, n, func(k int) {
		c.ld(fn, vA, k, x)
		c.ld(fn, vB, k, y)
		for j := 0; j < k; j++ {
			fn.Word(a.FADD(c.Arr, vA+a.VReg(j), vA+a.VReg(j), vB+a.VReg(j)))
		}
		c.st(fn, vA, k, d)
	}, nil, func() {
		fn.FMOVSLoad(vA, x, true)
		fn.FMOVSLoad(vB, y, true)
		fn.FADDS(vA, vA, vB)
		fn.FMOVSStore(vA, d, true)
	})
	fn.Op("RET")
}

func genRelu(f *a.File, c isa) {
	name := "Relu" + c.Name
	fn := f.Func(name, stubDoc(name, "ReluGeneric", "Relu",
		"for i := range dst {",
		"	dst[i] = max(x[i], 0) // NaN stays the same NaN, -0 becomes +0",
		"}",
	), a.Signature{Params: []a.Param{a.P("dst", slice), a.P("x", slice)}})
	d, x, n := a.GPR(0), a.GPR(1), a.GPR(2)
	fn.Op("MOVD", fn.Base("dst"), d.String())
	fn.Op("MOVD", fn.Len("dst"), n.String())
	fn.Op("MOVD", fn.Base("x"), x.String())
	fn.Comment("dst = x with the lanes where x <= 0 (-0 included, NaN not) cleared: unlike")
	fn.Comment("FMAX against 0 this keeps every NaN bit for bit (FMAX quiets signalling NaNs)")
	fn.VEOR(vK, vK, vK)
	relu := func(k int) {
		for j := 0; j < k; j++ {
			fn.Word(a.FCMLEZero(c.Arr, vB+a.VReg(j), vA+a.VReg(j)))
		}
		for j := 0; j < k; j++ {
			fn.VBIT(vA+a.VReg(j), vK, vB+a.VReg(j))
		}
	}
	c.loops(fn, n, func(k int) {
		c.ld(fn, vA, k, x)
		relu(k)
		c.st(fn, vA, k, d)
	}, nil, func() {
		fn.Comment("one element: FMOVS fills lane 0 and zeroes the rest; the vector ops do the rest")
		fn.FMOVSLoad(vA, x, true)
		relu(1)
		fn.FMOVSStore(vA, d, true)
	})
	fn.Op("RET")
}

func genReluBackward(f *a.File, c isa) {
	name := "ReluBackward" + c.Name
	fn := f.Func(name, stubDoc(name, "ReluBackwardGeneric", "ReluBackward",
		"for i := range dx {",
		"	if x[i] > 0 { dx[i] = dy[i] } else { dx[i] = 0 } // NaN x gives 0",
		"}",
	), a.Signature{Params: []a.Param{a.P("dx", slice), a.P("x", slice), a.P("dy", slice)}})
	d, x, y, n := a.GPR(0), a.GPR(1), a.GPR(2), a.GPR(3)
	fn.Op("MOVD", fn.Base("dx"), d.String())
	fn.Op("MOVD", fn.Len("dx"), n.String())
	fn.Op("MOVD", fn.Base("x"), x.String())
	fn.Op("MOVD", fn.Base("dy"), y.String())
	fn.Comment("dx = dy AND (x > 0 ? all ones : 0): bit-exact dy, and FCMGT is false for NaN")
	mask := func(k int) {
		for j := 0; j < k; j++ {
			fn.Word(a.FCMGTZero(c.Arr, vA+a.VReg(j), vA+a.VReg(j)))
		}
		for j := 0; j < k; j++ {
			fn.VAND(vA+a.VReg(j), vA+a.VReg(j), vB+a.VReg(j))
		}
	}
	c.loops(fn, n, func(k int) {
		c.ld(fn, vA, k, x)
		c.ld(fn, vB, k, y)
		mask(k)
		c.st(fn, vA, k, d)
	}, nil, func() {
		fn.Comment("one element: FMOVS fills lane 0 and zeroes the rest; the vector ops do the rest")
		fn.FMOVSLoad(vA, x, true)
		fn.FMOVSLoad(vB, y, true)
		mask(1)
		fn.FMOVSStore(vA, d, true)
	})
	fn.Op("RET")
}

func genMax(f *a.File, c isa) {
	name := "Max" + c.Name
	fn := f.Func(name, stubDoc(name, "MaxGeneric", "Max",
		"m := float32(math.Inf(-1))",
		"for _, v := range x {",
		"	if v != v { return v } // any NaN gives NaN",
		"	m = max(m, v)",
		"}",
		"return m",
	), a.Signature{Params: []a.Param{a.P("x", slice)}, Result: a.Returns(f32)})
	x, n, t := a.GPR(0), a.GPR(1), a.GPR(2)
	fn.Op("MOVD", fn.Base("x"), x.String())
	fn.Op("MOVD", fn.Len("x"), n.String())
	fn.Comment("accumulators start at -Inf (the answer for an empty slice); FMAX propagates NaN")
	fn.Op("MOVW", "$0xff800000", t.String())
	for j := 0; j < c.Unroll; j++ {
		fn.VDUPGPR(c.Arr, vAcc+a.VReg(j), t)
	}
	c.loops(fn, n, func(k int) {
		c.ld(fn, vA, k, x)
		for j := 0; j < k; j++ {
			fn.Word(a.FMAX(c.Arr, vAcc+a.VReg(j), vAcc+a.VReg(j), vA+a.VReg(j)))
		}
	}, func() {
		c.reduce(fn, a.FMAX, a.FMAXP, a.FMAXPScalar)
	}, func() {
		fn.FMOVSLoad(vA, x, true)
		fn.FMAXS(vAcc, vAcc, vA)
	})
	fn.Op("FMOVS", vAcc.F(), fn.Ret())
	fn.Op("RET")
}

func genSum(f *a.File, c isa) {
	name := "Sum" + c.Name
	fn := f.Func(name, stubDoc(name, "SumGeneric", "Sum",
		"var s float32",
		"for _, v := range x {",
		"	s += v",
		"}",
		"return s "+c.reorderNote(),
	), a.Signature{Params: []a.Param{a.P("x", slice)}, Result: a.Returns(f32)})
	x, n := a.GPR(0), a.GPR(1)
	fn.Op("MOVD", fn.Base("x"), x.String())
	fn.Op("MOVD", fn.Len("x"), n.String())
	for j := 0; j < c.Unroll; j++ {
		fn.VEOR(vAcc+a.VReg(j), vAcc+a.VReg(j), vAcc+a.VReg(j))
	}
	c.loops(fn, n, func(k int) {
		c.ld(fn, vA, k, x)
		for j := 0; j < k; j++ {
			fn.Word(a.FADD(c.Arr, vAcc+a.VReg(j), vAcc+a.VReg(j), vA+a.VReg(j)))
		}
	}, func() {
		c.reduce(fn, a.FADD, a.FADDP, a.FADDPScalar)
	}, func() {
		fn.FMOVSLoad(vA, x, true)
		fn.FADDS(vAcc, vAcc, vA)
	})
	fn.Op("FMOVS", vAcc.F(), fn.Ret())
	fn.Op("RET")
}

func genPeak(f *a.File, c isa) {
	name := "FmaPeak" + c.Name
	perIter := c.PeakAccs * c.Lanes() * 2
	fn := f.Func(name, []string{
		name + " is a kernels.PeakKernel, twin of kernels.PeakGeneric",
		"(kernels/vec_generic.go): iters times it issues " + fmt.Sprint(c.PeakAccs) + " independent",
		fmt.Sprintf("vector FMAs of %d lanes and returns the flops performed, iters*%d", c.Lanes(), perIter),
		"(0 for iters <= 0). Timing it gives the core's FMA peak; call it",
		"through kernels.Peak.",
	}, a.Signature{Params: []a.Param{a.P("iters", a.Int)}, Result: a.Returns(a.Int)})
	it, cnt, res := a.GPR(0), a.GPR(1), a.GPR(2)
	m1, m2 := a.VReg(30), a.VReg(31)
	fn.Op("MOVD", fn.Arg("iters"), it.String())
	fn.Op("MOVD", "ZR", res.String())
	fn.Op("CMP", "$0", it.String())
	fn.Op("BLE", "done")
	fn.Comment("%d chains cover FMA latency x pipes on current cores; the factors are", c.PeakAccs)
	fn.Comment("normal numbers, so no core slows down on denormals")
	fn.Op("FMOVS", "$(0.125)", m1.F())
	fn.VDUPLane(c.Arr, m1, m1, 0)
	fn.Op("FMOVS", "$(0.25)", m2.F())
	fn.VDUPLane(c.Arr, m2, m2, 0)
	for j := 0; j < c.PeakAccs; j++ {
		fn.VEOR(a.VReg(j), a.VReg(j), a.VReg(j))
	}
	fn.Op("MOVD", it.String(), cnt.String())
	fn.Label("loop")
	for j := 0; j < c.PeakAccs; j++ {
		fn.VFMLA(c.Arr, a.VReg(j), m1, m2)
	}
	fn.Op("SUBS", "$1", cnt.String(), cnt.String())
	fn.Op("BNE", "loop")
	fn.Op("MOVD", a.Imm(int64(perIter)), res.String())
	fn.Op("MUL", res.String(), it.String(), res.String())
	fn.Label("done")
	fn.Op("MOVD", res.String(), fn.Ret())
	fn.Op("RET")
}
