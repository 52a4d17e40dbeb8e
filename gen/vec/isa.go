package main

import (
	"fmt"

	"github.com/convkit/convkit/gen/internal/avomain"
	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// isa is everything a kernel needs to know about one target: the vector
// width, how to make a vector register, and the few emitters whose
// instructions differ between AVX2 and AVX-512 (masked tails, compares,
// horizontal reductions). Kernels are written once against it; the
// instructions whose mnemonic is the same for ymm and zmm (VFMADD231PS,
// VADDPS, VMULPS, VMAXPS, ...) are called directly through the embedded
// build context, and Avo picks the encoding from the register kind.
type isa struct {
	*build.Context

	name     string            // suffix of the kernel names: "AVX2", "AVX512"
	what     string            // what the doc comments call the path
	lanes    int               // float32 lanes per vector
	opmask   bool              // AVX-512: compares write k registers; tails use opmasks
	vec      func() VecVirtual // a fresh vector register of the ISA's width
	unroll   int               // vectors per main-loop iteration, elementwise kernels
	accs     int               // vectors per main-loop iteration (one partial result each), reductions
	peakAccs int               // independent FMA chains of the peak probe

	// tailTable is AVX2's sliding window of 8 all-ones then 8 zero int32
	// lanes: the 32 bytes at offset 4*(8-r) are a VMASKMOVPS mask that
	// selects the first r lanes.
	tailTable Mem
}

func newAVX2(ctx *build.Context) *isa {
	a := &isa{Context: ctx, name: "AVX2", what: "AVX2+FMA (8 lanes)", lanes: 8,
		vec: ctx.YMM, unroll: 4, accs: 8, peakAccs: 12}
	a.tailTable = avomain.LaneMaskTable(ctx, "tailmask")
	return a
}

func newAVX512(ctx *build.Context) *isa {
	return &isa{Context: ctx, name: "AVX512", what: "AVX-512F (16 lanes, opmask tails)", lanes: 16,
		opmask: true, vec: ctx.ZMM, unroll: 4, accs: 8, peakAccs: 16}
}

// vbytes is the size of one vector in bytes.
func (a *isa) vbytes() int { return 4 * a.lanes }

// kernel starts the function <base><ISA> with the given Go signature. Its
// doc comment names the VecKernels field it fills and the pure-Go twin that
// specifies it, then states the contract as code (spec, one line each), so a
// reader of package asm knows where the meaning lives.
func (a *isa) kernel(base, sig string, spec ...string) {
	name := base + a.name
	a.Function(name)
	a.Attributes(attr.NOSPLIT)
	a.SignatureExpr(sig)
	doc := []string{
		fmt.Sprintf("%s is VecKernels.%s for %s.", name, base, a.what),
		fmt.Sprintf("Its reference and test oracle is kernels.%sGeneric:", base),
		"",
	}
	for _, l := range spec {
		doc = append(doc, "\t"+l)
	}
	a.Doc(doc...)
	a.Pragma("noescape")
}

// ret ends a kernel. VZEROUPPER clears the upper ymm/zmm halves so that SSE
// code running after the kernel pays no state-transition penalty.
func (a *isa) ret() {
	a.VZEROUPPER()
	a.RET()
}

// step is one trip through a kernel's loop body: count vectors starting at
// the current pointers, and, for the tail, the mask selecting the valid
// lanes of the single partial vector.
type step struct {
	count  int
	tail   bool
	mask   Register // k register (AVX-512) or lane mask vector (AVX2); tail only
	vbytes int
}

// at is the j-th vector of this step behind pointer p.
func (s step) at(p Register, j int) Mem { return Mem{Base: p, Disp: j * s.vbytes} }

// loop runs body over n float32 elements behind ptrs: unroll vectors at a
// time, then single vectors, then at most one masked partial vector, so a
// kernel never touches an element at or past n. body must not change ptrs
// or n.
func (a *isa) loop(n Register, ptrs []Register, unroll int, body func(s step)) {
	vb := a.vbytes()
	big := step{count: unroll, vbytes: vb}
	one := step{count: 1, vbytes: vb}

	a.Comment(fmt.Sprintf("Main loop: %d vectors (%d elements) per iteration.", unroll, unroll*a.lanes))
	a.Label("unrolled")
	a.CMPQ(n, U32(unroll*a.lanes))
	a.JL(LabelRef("single"))
	body(big)
	a.advance(n, ptrs, unroll)
	a.JMP(LabelRef("unrolled"))

	a.Label("single")
	a.Comment("One vector at a time.")
	a.CMPQ(n, U32(a.lanes))
	a.JL(LabelRef("tail"))
	body(one)
	a.advance(n, ptrs, 1)
	a.JMP(LabelRef("single"))

	a.Label("tail")
	a.Comment(fmt.Sprintf("The last 0..%d elements, masked: nothing outside the slices is touched.", a.lanes-1))
	a.TESTQ(n, n)
	a.JZ(LabelRef("done"))
	t := one
	t.tail = true
	t.mask = a.tailMask(n)
	body(t)
	a.Label("done")
}

func (a *isa) advance(n Register, ptrs []Register, vectors int) {
	for _, p := range ptrs {
		a.ADDQ(U32(vectors*a.vbytes()), p)
	}
	a.SUBQ(U32(vectors*a.lanes), n)
}

// tailMask returns a mask of the first r lanes, 0 < r < lanes.
func (a *isa) tailMask(r Register) Register {
	if a.opmask {
		ones, bits := a.GP32(), a.GP32()
		a.MOVL(U32(0xffff), ones)
		a.BZHIL(r.(GPVirtual).As32(), ones, bits)
		k := a.K()
		a.KMOVW(bits, k)
		return k
	}
	base, off := a.GP64(), a.GP64()
	a.LEAQ(a.tailTable, base)
	a.MOVQ(r, off)
	a.SHLQ(U8(2), off)
	a.NEGQ(off)
	m := a.vec()
	a.VMOVDQU(Mem{Base: base, Index: off, Scale: 1, Disp: 4 * a.lanes}, m)
	return m
}

// load sets dst to the vector at m; in the tail, lanes past the end are 0
// and are not read (masked loads suppress faults on masked-off lanes).
func (a *isa) load(s step, m Mem, dst VecVirtual) {
	switch {
	case !s.tail:
		a.VMOVUPS(m, dst)
	case a.opmask:
		a.VMOVUPS_Z(m, s.mask, dst)
	default:
		a.VMASKMOVPS(m, s.mask, dst)
	}
}

// loadFill is load with the lanes past the end set to fill instead of 0.
func (a *isa) loadFill(s step, m Mem, fill, dst VecVirtual) {
	switch {
	case !s.tail:
		a.VMOVUPS(m, dst)
	case a.opmask:
		a.VMOVUPS(fill, dst)
		a.VMOVUPS(m, s.mask, dst) // merge-masking keeps fill in the other lanes
	default:
		t := a.vec()
		a.VMASKMOVPS(m, s.mask, t)
		a.VBLENDVPS(s.mask, t, fill, dst)
	}
}

// src is an operand for the vector at m: m itself in full steps (so the
// load folds into the arithmetic instruction), a masked load in the tail.
func (a *isa) src(s step, m Mem) Op {
	if !s.tail {
		return m
	}
	v := a.vec()
	a.load(s, m, v)
	return v
}

// store writes v to m, only the valid lanes in the tail.
func (a *isa) store(s step, v VecVirtual, m Mem) {
	switch {
	case !s.tail:
		a.VMOVUPS(v, m)
	case a.opmask:
		a.VMOVUPS(v, s.mask, m)
	default:
		a.VMASKMOVPS(v, s.mask, m)
	}
}

// predicate is a VCMPPS comparison: x pred y, with x the first (Intel)
// source operand.
type predicate uint8

const (
	cmpUnord predicate = 0x03 // UNORD_Q: x or y is NaN
	cmpLT    predicate = 0x11 // LT_OQ: x < y; false if either is NaN
	cmpNGE   predicate = 0x19 // NGE_UQ: !(x >= y); true if either is NaN
)

// cmp returns the lanes where x pred y holds: a k register on AVX-512, an
// all-ones/all-zeros lane mask vector on AVX2. y may be memory.
func (a *isa) cmp(pred predicate, x VecVirtual, y Op) Register {
	var m Register
	if a.opmask {
		m = a.K()
	} else {
		m = a.vec()
	}
	a.VCMPPS(U8(uint8(pred)), y, x, m) // Plan 9 operand order: y before x
	return m
}

// zeroUnless sets dst = src in the lanes of m and +0 elsewhere. src may be
// memory only outside the tail (the masked lanes of m are not a bound on
// what AVX2's VANDPS reads).
func (a *isa) zeroUnless(m Register, src Op, dst VecVirtual) {
	if a.opmask {
		a.VMOVUPS_Z(src, m, dst)
	} else {
		a.VANDPS(src, m, dst)
	}
}

// emptyMask returns a mask with no lane set, in cmp's representation.
func (a *isa) emptyMask() Register {
	if a.opmask {
		k := a.K()
		a.KXORW(k, k, k)
		return k
	}
	return a.zero()
}

// orMask accumulates the lanes of m into acc.
func (a *isa) orMask(m, acc Register) {
	if a.opmask {
		a.KORW(m, acc, acc)
	} else {
		a.VORPS(m, acc, acc)
	}
}

// jumpIfAny jumps to label if any lane of m is set.
func (a *isa) jumpIfAny(m Register, label string) {
	if a.opmask {
		a.KORTESTW(m, m)
	} else {
		a.VPTEST(m, m)
	}
	a.JNZ(LabelRef(label))
}

// zero returns a vector of +0.
func (a *isa) zero() VecVirtual {
	v := a.vec()
	a.VXORPS(v, v, v)
	return v
}

// splat returns a vector with every lane set to the float32 with the given
// bits (built in registers: the kernels need no constant pool).
func (a *isa) splat(bits uint32) VecVirtual {
	r, x, v := a.GP32(), a.XMM(), a.vec()
	a.MOVL(U32(bits), r)
	a.VMOVD(r, x)
	a.VBROADCASTSS(x, v)
	return v
}

// splatParam returns a vector with every lane set to the float32 argument.
func (a *isa) splatParam(name string) VecVirtual {
	x := a.Load(a.Param(name), a.XMM())
	v := a.vec()
	a.VBROADCASTSS(x, v)
	return v
}

// fold combines vs pairwise with op into vs[0] (a tree, so the chain is
// log2(len) deep).
func (a *isa) fold(op func(...Op), vs []VecVirtual) VecVirtual {
	for len(vs) > 1 {
		h := (len(vs) + 1) / 2
		for i := 0; i+h < len(vs); i++ {
			op(vs[i+h], vs[i], vs[i])
		}
		vs = vs[:h]
	}
	return vs[0]
}

// hreduce folds the lanes of v with op (VADDPS, VMAXPS) and returns an xmm
// register whose lane 0 holds the result: halve the width until one lane is
// left (zmm -> ymm -> xmm -> 2 lanes -> 1 lane).
func (a *isa) hreduce(op func(...Op), v VecVirtual) VecVirtual {
	var y VecVirtual
	if a.lanes == 16 {
		y = a.YMM()
		a.VEXTRACTF64X4(U8(1), v, y)
		op(v.AsY(), y, y)
	} else {
		y = v
	}
	x := a.XMM()
	a.VEXTRACTF128(U8(1), y, x)
	op(y.AsX(), x, x)
	t := a.XMM()
	a.VMOVHLPS(x, x, t)
	op(t, x, x)
	a.VMOVSHDUP(x, t)
	op(t, x, x)
	return x
}
