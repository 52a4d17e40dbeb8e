package kw

import (
	"fmt"
	"math"

	"github.com/convkit/convkit/gen/internal/avomain"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The x86 parameter sets. Unroll and Accs were measured on the project's
// AVX2 and AVX-512 hosts (gen/vec's history); PeakAccs exceeds FMA latency
// x FMA pipes (4 x 2) on every core we target.
var (
	AVX2 = ISA{Name: "AVX2", What: "AVX2+FMA (8 lanes)", Lanes: 8, Regs: 16,
		Tail: TailMaskVector, Unroll: 4, Accs: 8, PeakAccs: 12}
	AVX512 = ISA{Name: "AVX512", What: "AVX-512F (16 lanes, opmask tails)", Lanes: 16, Regs: 32,
		Tail: TailOpmask, Unroll: 4, Accs: 8, PeakAccs: 16, EmbeddedBroadcast: true}
)

// avx is the Avo backend, for AVX2 (ymm, VMASKMOVPS tails) and AVX-512
// (zmm, opmask tails). The instructions whose mnemonic is the same for ymm
// and zmm (VFMADD231PS, VADDPS, ...) are shared: Avo picks the encoding
// from the register kind. Avo allocates the registers.
type avx struct {
	*build.Context
	isa    ISA
	opmask bool
	vec    func() reg.VecVirtual
	// tailTable is AVX2's sliding window of 8 all-ones then 8 zero int32
	// lanes: the 32 bytes at offset 4*(8-r) select the first r lanes.
	tailTable operand.Mem
	// permTable is AVX-512's four index vectors for VPERMI2PS: the even
	// lanes of a pair of vectors, the odd ones, and the two halves of
	// their interleave (Unzip and Zip in one permute per output).
	permTable operand.Mem
}

// NewAVX2 returns the AVX2+FMA backend writing into ctx; tableName names
// its lane-mask table (one per output file).
func NewAVX2(ctx *build.Context, tableName string) Backend {
	return &avx{Context: ctx, isa: AVX2, vec: ctx.YMM, tailTable: avomain.LaneMaskTable(ctx, tableName)}
}

// NewAVX512 returns the AVX-512F backend writing into ctx; tableName
// names its permute table (one per output file).
func NewAVX512(ctx *build.Context, tableName string) Backend {
	return &avx{Context: ctx, isa: AVX512, opmask: true, vec: ctx.ZMM, permTable: permTable(ctx, tableName)}
}

// permTable emits the index vectors of permTable.
func permTable(ctx *build.Context, name string) operand.Mem {
	m := ctx.StaticGlobal(name)
	ctx.DataAttributes(attr.RODATA | attr.NOPTR)
	idx := [4]func(i int) int{
		func(i int) int { return 2 * i },              // evens
		func(i int) int { return 2*i + 1 },            // odds
		func(i int) int { return i/2 + 16*(i%2) },     // zip: x0 y0 x1 y1 ...
		func(i int) int { return 8 + i/2 + 16*(i%2) }, // zip: x8 y8 ...
	}
	for k, f := range idx {
		for i := 0; i < 16; i++ {
			ctx.AddDatum(64*k+4*i, operand.U32(f(i)))
		}
	}
	return m
}

// permute2 returns the lanes of x and y (lanes 16.. y's) that index
// vector k of permTable picks: one VPERMI2PS, which overwrites its index.
func (a *avx) permute2(k int, x, y V) reg.VecVirtual {
	t := a.vec()
	a.VMOVUPS(a.permTable.Offset(64*k), t)
	a.VPERMI2PS(xv(y), xv(x), t)
	return t
}

func (a *avx) ISA() ISA { return a.isa }

func xv(v V) reg.VecVirtual  { return v.r.(reg.VecVirtual) }
func xg(g G) reg.Register    { return g.r.(reg.Register) }
func xk(k Mask) reg.Register { return k.r.(reg.Register) }
func xm(m Mem) operand.Mem {
	o := operand.Mem{Base: xg(m.Base), Disp: m.Disp}
	if m.indexed() {
		o.Index, o.Scale = xg(m.Index), uint8(m.Scale)
	}
	return o
}

// xo is an Operand in Avo's terms.
func xo(o Operand) operand.Op {
	switch o := o.(type) {
	case V:
		return xv(o)
	case Mem:
		return xm(o)
	}
	panic(fmt.Sprintf("kw: operand %T", o))
}

func (a *avx) Begin(name string, sig Signature, doc []string) {
	a.Function(name)
	a.Attributes(attr.NOSPLIT)
	a.SignatureExpr(sig.Expr)
	a.Doc(doc...)
	if sig.hasPointers() {
		a.Pragma("noescape")
	}
}

// Ret ends a path. VZEROUPPER clears the upper ymm/zmm halves so that SSE
// code running after the kernel pays no state-transition penalty.
func (a *avx) Ret() {
	a.VZEROUPPER()
	a.RET()
}

func (a *avx) Comment(lines ...string) { a.Context.Comment(lines...) }
func (a *avx) Label(name string)       { a.Context.Label(name) }
func (a *avx) Jump(label string)       { a.JMP(operand.LabelRef(label)) }

func (a *avx) Ptr(slice string) G { return G{a.Load(a.Param(slice).Base(), a.GP64())} }
func (a *avx) Len(slice string) G { return G{a.Load(a.Param(slice).Len(), a.GP64())} }
func (a *avx) Int(name string) G  { return G{a.Load(a.Param(name), a.GP64())} }

func (a *avx) ReturnFloat(v V) { a.Store(xv(v), a.ReturnIndex(0)) }
func (a *avx) ReturnInt(g G)   { a.Store(xg(g), a.ReturnIndex(0)) }

func (a *avx) ReturnFloatBits(bits uint32) {
	r, q := a.GP32(), a.XMM()
	a.MOVL(operand.U32(bits), r)
	a.VMOVD(r, q)
	a.Store(q, a.ReturnIndex(0))
}

func (a *avx) GP() G { return G{a.GP64()} }

func (a *avx) ZeroGP() G {
	g := a.GP64()
	a.XORQ(g, g)
	return G{g}
}

func (a *avx) MoveGP(src G) G {
	g := a.GP64()
	a.MOVQ(xg(src), g)
	return G{g}
}

func (a *avx) AddImm(g G, imm int)        { a.ADDQ(u32(imm), xg(g)) }
func (a *avx) SubImm(g G, imm int)        { a.SUBQ(u32(imm), xg(g)) }
func (a *avx) MulImm(dst, src G, imm int) { a.IMUL3Q(u32(imm), xg(src), xg(dst)) }

// u32 is a non-negative 32-bit immediate; anything else is a generator
// bug (it would be encoded sign-extended or truncated).
func u32(imm int) operand.U32 {
	if imm < 0 || imm > math.MaxInt32 {
		panic(fmt.Sprintf("kw: immediate %d out of 0..MaxInt32", imm))
	}
	return operand.U32(imm)
}

// u8 is an 8-bit immediate.
func u8(imm int) operand.U8 {
	if imm < 0 || imm > math.MaxUint8 {
		panic(fmt.Sprintf("kw: immediate %d out of 0..255", imm))
	}
	return operand.U8(imm)
}
func (a *avx) JumpIfZero(g G, label string) { a.TESTQ(xg(g), xg(g)); a.JZ(operand.LabelRef(label)) }

func (a *avx) JumpIfLess(g G, imm int, label string) {
	a.CMPQ(xg(g), u32(imm))
	a.JL(operand.LabelRef(label))
}

func (a *avx) JumpIfNotPositive(g G, label string) {
	a.TESTQ(xg(g), xg(g))
	a.JLE(operand.LabelRef(label))
}

func (a *avx) DecJumpNonZero(g G, label string) {
	a.DECQ(xg(g))
	a.JNZ(operand.LabelRef(label))
}

func (a *avx) Vec() V { return V{a.vec()} }

// Zero clears with VXORPS on ymm and VPXORD on zmm (VXORPS on zmm is
// AVX512DQ; VPXORD is AVX512F, of the same cost).
func (a *avx) Zero() V {
	v := a.vec()
	if a.opmask {
		a.VPXORD(v, v, v)
	} else {
		a.VXORPS(v, v, v)
	}
	return V{v}
}

// Splat builds the constant in registers: the kernels need no constant
// pool.
func (a *avx) Splat(bits uint32) V {
	r, x, v := a.GP32(), a.XMM(), a.vec()
	a.MOVL(operand.U32(bits), r)
	a.VMOVD(r, x)
	a.VBROADCASTSS(x, v)
	return V{v}
}

func (a *avx) Move(src, dst V)        { a.VMOVUPS(xv(src), xv(dst)) }
func (a *avx) LoadVec(m Mem, dst V)   { a.VMOVUPS(xm(m), xv(dst)) }
func (a *avx) StoreVec(v V, m Mem)    { a.VMOVUPS(xv(v), xm(m)) }
func (a *avx) StoreScalar(v V, m Mem) { a.VMOVSS(xv(v).AsX(), xm(m)) }

func (a *avx) LoadScalar(m Mem, dst V) { a.VMOVSS(xm(m), xv(dst).AsX()) }

func (a *avx) LoadLane0(m Mem, dst V) {
	x := xv(dst).AsX()
	a.VINSERTPS(operand.U8(0), xm(m), x, x)
}

// TailMask returns a mask of the first n lanes, 0 < n < Lanes.
func (a *avx) TailMask(n G) Mask {
	if a.opmask {
		ones, bits := a.GP32(), a.GP32()
		a.MOVL(operand.U32(0xffff), ones)
		a.BZHIL(xg(n).(reg.GPVirtual).As32(), ones, bits)
		k := a.K()
		a.KMOVW(bits, k)
		return Mask{k}
	}
	base, off := a.GP64(), a.GP64()
	a.LEAQ(a.tailTable, base)
	a.MOVQ(xg(n), off)
	a.SHLQ(operand.U8(2), off)
	a.NEGQ(off)
	m := a.vec()
	a.VMOVDQU(operand.Mem{Base: base, Index: off, Scale: 1, Disp: 4 * a.isa.Lanes}, m)
	return Mask{m}
}

// LoadMasked: masked loads suppress faults on masked-off lanes.
func (a *avx) LoadMasked(m Mem, k Mask, dst V) {
	if a.opmask {
		a.VMOVUPS_Z(xm(m), xk(k), xv(dst))
	} else {
		a.VMASKMOVPS(xm(m), xk(k), xv(dst))
	}
}

func (a *avx) LoadMaskedFill(m Mem, k Mask, fill, dst V) {
	if a.opmask {
		a.VMOVUPS(xv(fill), xv(dst))
		a.VMOVUPS(xm(m), xk(k), xv(dst)) // merge-masking keeps fill in the other lanes
		return
	}
	t := a.vec()
	a.VMASKMOVPS(xm(m), xk(k), t)
	a.VBLENDVPS(xk(k), t, xv(fill), xv(dst))
}

func (a *avx) StoreMasked(v V, k Mask, m Mem) {
	if a.opmask {
		a.VMOVUPS(xv(v), xk(k), xm(m))
	} else {
		a.VMASKMOVPS(xv(v), xk(k), xm(m))
	}
}

// binop is the Avo emitter of a reduction op (Plan 9 order: src2, src1, dst).
func (a *avx) binop(op Op) func(...operand.Op) {
	switch op {
	case Add:
		return a.VADDPS
	case Max:
		return a.VMAXPS
	case Sub:
		return a.VSUBPS
	case Min:
		return a.VMINPS
	}
	panic(fmt.Sprintf("kw: op %d", op))
}

func (a *avx) Binary(op Op, dst, x V, y Operand) { a.binop(op)(xo(y), xv(x), xv(dst)) }
func (a *avx) Mul(dst, x V, y Operand)           { a.VMULPS(xo(y), xv(x), xv(dst)) }
func (a *avx) FMA(acc, x V, y Operand)           { a.VFMADD231PS(xo(y), xv(x), xv(acc)) }
func (a *avx) FNMA(acc, x V, y Operand)          { a.VFNMADD231PS(xo(y), xv(x), xv(acc)) }
func (a *avx) MulAdd(dst, m V, y Operand)        { a.VFMADD213PS(xo(y), xv(m), xv(dst)) }

// predicates are the VCMPPS immediates of Pred.
var predicates = [...]uint8{
	Unord: 0x03, // UNORD_Q
	LT:    0x11, // LT_OQ
	NGE:   0x19, // NGE_UQ
	GT:    0x1e, // GT_OQ
}

// Cmp returns a k register on AVX-512, a lane-mask vector on AVX2.
func (a *avx) Cmp(p Pred, x V, y Operand) Mask {
	var m reg.Register
	if a.opmask {
		m = a.K()
	} else {
		m = a.vec()
	}
	a.VCMPPS(operand.U8(predicates[p]), xo(y), xv(x), m) // Plan 9 order: y before x
	return Mask{m}
}

// ZeroUnless: src may be memory only outside the tail (the masked lanes of
// k are not a bound on what AVX2's VANDPS reads).
func (a *avx) ZeroUnless(k Mask, src Operand, dst V) {
	if a.opmask {
		a.VMOVUPS_Z(xo(src), xk(k), xv(dst))
	} else {
		a.VANDPS(xo(src), xk(k), xv(dst))
	}
}

func (a *avx) EmptyMask() Mask {
	if a.opmask {
		k := a.K()
		a.KXORW(k, k, k)
		return Mask{k}
	}
	return Mask{xv(a.Zero())}
}

func (a *avx) OrMask(k, acc Mask) {
	if a.opmask {
		a.KORW(xk(k), xk(acc), xk(acc))
	} else {
		a.VORPS(xk(k), xk(acc), xk(acc))
	}
}

func (a *avx) JumpIfAny(k Mask, label string) {
	if a.opmask {
		a.KORTESTW(xk(k), xk(k))
	} else {
		a.VPTEST(xk(k), xk(k))
	}
	a.JNZ(operand.LabelRef(label))
}

// Reduce halves the width until one lane is left: zmm -> ymm -> xmm ->
// two lanes -> one.
func (a *avx) Reduce(op Op, v V) V {
	f := a.binop(op)
	var y reg.VecVirtual
	if a.isa.Lanes == 16 {
		y = a.YMM()
		a.VEXTRACTF64X4(operand.U8(1), xv(v), y)
		f(xv(v).AsY(), y, y)
	} else {
		y = xv(v)
	}
	x := a.XMM()
	a.VEXTRACTF128(operand.U8(1), y, x)
	f(y.AsX(), x, x)
	t := a.XMM()
	a.VMOVHLPS(x, x, t)
	f(t, x, x)
	a.VMOVSHDUP(x, t)
	f(t, x, x)
	return V{x}
}

func (a *avx) Imm(imm int) G {
	g := a.GP64()
	a.MOVQ(u32(imm), g)
	return G{g}
}

func (a *avx) StoreParam(g G, name string) { a.Store(xg(g), a.Param(name)) }
func (a *avx) Lea(m Mem, dst G)            { a.LEAQ(xm(m), xg(dst)) }
func (a *avx) AddGP(dst, src G)            { a.ADDQ(xg(src), xg(dst)) }
func (a *avx) SubGP(dst, src G)            { a.SUBQ(xg(src), xg(dst)) }
func (a *avx) ShlImm(g G, s int)           { a.SHLQ(operand.Imm(uint64(s)), xg(g)) }

func (a *avx) ShrImmJumpZero(g G, s int, label string) {
	a.SHRQ(u8(s), xg(g))
	a.JZ(operand.LabelRef(label))
}

func (a *avx) AndImmJumpZero(g G, imm int, label string) {
	a.ANDQ(u8(imm), xg(g))
	a.JZ(operand.LabelRef(label))
}

func (a *avx) DecJumpZero(g G, label string) {
	a.DECQ(xg(g))
	a.JZ(operand.LabelRef(label))
}

func (a *avx) JumpIfLessEq(g G, imm int, label string) {
	a.CMPQ(xg(g), u32(imm))
	a.JLE(operand.LabelRef(label))
}

func (a *avx) JumpIfNotEqual(g G, imm int, label string) {
	a.CMPQ(xg(g), u32(imm))
	a.JNE(operand.LabelRef(label))
}

// JumpIfFloatParamZero tests the bits without the sign: +0 and -0 alike.
func (a *avx) JumpIfFloatParamZero(name, label string) {
	bits := a.GP32()
	a.MOVL(a.paramAddr(name), bits)
	a.ANDL(operand.U32(0x7fffffff), bits)
	a.JZ(operand.LabelRef(label))
}

// paramAddr is the frame address of a scalar parameter.
func (a *avx) paramAddr(name string) operand.Mem {
	b, err := a.Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

func (a *avx) BroadcastParam(name string) V {
	v := a.vec()
	a.VBROADCASTSS(a.paramAddr(name), v)
	return V{v}
}

func (a *avx) Broadcast(m Mem, dst V) { a.VBROADCASTSS(xm(m), xv(dst)) }
func (a *avx) Prefetch(m Mem)         { a.PREFETCHT0(xm(m)) }
func (a *avx) PrefetchL2(m Mem)       { a.PREFETCHT1(xm(m)) }

func (a *avx) FMABcast(acc, x V, m Mem) {
	if !a.isa.EmbeddedBroadcast {
		panic("kw: " + a.isa.Name + " has no embedded broadcast")
	}
	a.VFMADD231PS_BCST(xm(m), xv(x), xv(acc))
}

func (a *avx) FMALane(V, V, V, int) { panic("kw: " + a.isa.Name + " has no FMA by lane") }

// PartialFor: an opmask from BZHI on AVX-512; on AVX2 the address of the
// r-lane window of the mask table (the mask is loaded where it is used:
// into the destination of a masked load, which needs no extra register).
func (a *avx) PartialFor(r G) Partial {
	if a.opmask {
		ones, kr := a.GP32(), a.GP32()
		a.MOVL(operand.U32(0xffffffff), ones)
		a.BZHIL(xg(r).(reg.GPVirtual).As32(), ones, kr)
		k := a.K()
		a.KMOVW(kr, k)
		return Partial{r: k}
	}
	mp := a.GP64()
	a.LEAQ(a.tailTable.Offset(32), mp)
	a.SHLQ(operand.Imm(2), xg(r))
	a.SUBQ(xg(r), mp)
	return Partial{r: mp}
}

// ForStores loads the AVX2 mask into a register once (a masked store needs
// it there).
func (a *avx) ForStores(p Partial) Partial {
	if !a.opmask {
		m := a.vec()
		a.VMOVDQU(operand.Mem{Base: p.r.(reg.Register)}, m)
		p.reg = m
	}
	return p
}

func (a *avx) LoadPartial(m Mem, p Partial, dst V) {
	switch {
	case a.opmask:
		a.VMOVUPS_Z(xm(m), p.r.(reg.Register), xv(dst))
	case p.reg != nil:
		a.VMASKMOVPS(xm(m), p.reg.(reg.VecVirtual), xv(dst))
	default:
		// The mask rides in the destination register itself.
		a.VMOVDQU(operand.Mem{Base: p.r.(reg.Register)}, xv(dst))
		a.VMASKMOVPS(xm(m), xv(dst), xv(dst))
	}
}

func (a *avx) StorePartial(v V, p Partial, m Mem) {
	if a.opmask {
		a.VMOVUPS(xv(v), p.r.(reg.Register), xm(m))
		return
	}
	if p.reg == nil {
		panic("kw: an AVX2 partial store needs ForStores first")
	}
	a.VMASKMOVPS(xv(v), p.reg.(reg.VecVirtual), xm(m))
}

func (a *avx) JumpIfBitsClear(g G, imm int, label string) {
	a.TESTQ(u32(imm), xg(g))
	a.JZ(operand.LabelRef(label))
}

func (a *avx) LoadGP(m Mem) G {
	g := a.GP64()
	a.MOVQ(xm(m), g)
	return G{g}
}

// Transpose: interleave pairs, then quads, inside every 128-bit block,
// then move the blocks (VPERM2F128 for two blocks, VSHUFF32X4 for four).
func (a *avx) Transpose(rows []V) []V {
	n := a.isa.Lanes
	if len(rows) != n {
		panic(fmt.Sprintf("kw: Transpose of %d rows on %d lanes", len(rows), n))
	}
	x := make([]reg.VecVirtual, n)
	t := make([]reg.VecVirtual, n)
	for i := range x {
		x[i] = xv(rows[i])
		t[i] = a.vec()
	}
	for i := 0; i < n/2; i++ {
		a.VUNPCKLPS(x[2*i+1], x[2*i], t[2*i])
		a.VUNPCKHPS(x[2*i+1], x[2*i], t[2*i+1])
	}
	// t[2i], t[2i+1]: the low and high pairs of rows 2i, 2i+1 in each block.
	for g := 0; g < n; g += 4 {
		a.VSHUFPS(operand.U8(0x44), t[g+2], t[g], x[g])
		a.VSHUFPS(operand.U8(0xEE), t[g+2], t[g], x[g+1])
		a.VSHUFPS(operand.U8(0x44), t[g+3], t[g+1], x[g+2])
		a.VSHUFPS(operand.U8(0xEE), t[g+3], t[g+1], x[g+3])
	}
	// x[g+c] (g a multiple of 4) holds in its 128-bit block b column 4b+c
	// of rows g..g+3: row 4b+c of the transpose is block b of x[c], x[4+c],
	// ... in order.
	out := make([]V, n)
	if n == 8 {
		for b, imm := range []uint8{0x20, 0x31} {
			for c := 0; c < 4; c++ {
				a.VPERM2F128(operand.U8(imm), x[4+c], x[c], t[4*b+c])
				out[4*b+c] = V{t[4*b+c]}
			}
		}
		return out
	}
	// Four blocks: gather pairs of blocks, then the blocks themselves
	// (VSHUFF32X4 takes two blocks from each source).
	for c := 0; c < 4; c++ {
		a.VSHUFF32X4(operand.U8(0x44), x[4+c], x[c], t[c]) // x[c].0 x[c].1 x[4+c].0 x[4+c].1
		a.VSHUFF32X4(operand.U8(0xEE), x[4+c], x[c], t[4+c])
		a.VSHUFF32X4(operand.U8(0x44), x[12+c], x[8+c], t[8+c])
		a.VSHUFF32X4(operand.U8(0xEE), x[12+c], x[8+c], t[12+c])
	}
	for c := 0; c < 4; c++ {
		for b, src := range [4][2]reg.VecVirtual{{t[c], t[8+c]}, {t[c], t[8+c]}, {t[4+c], t[12+c]}, {t[4+c], t[12+c]}} {
			imm := uint8(0x88) // blocks 0 and 2 of each source; 0xDD: blocks 1 and 3
			if b%2 == 1 {
				imm = 0xDD
			}
			a.VSHUFF32X4(operand.U8(imm), src[1], src[0], x[4*b+c])
			out[4*b+c] = V{x[4*b+c]}
		}
	}
	return out
}

func (a *avx) Select(k Mask, x, y, dst V) {
	if a.opmask {
		a.VBLENDMPS(xv(x), xv(y), xk(k), xv(dst))
	} else {
		a.VBLENDVPS(xk(k), xv(x), xv(y), xv(dst))
	}
}

// Zip interleaves inside every 128-bit block (VUNPCKLPS/HPS), then puts
// the blocks in order: VPERM2F128 on ymm, two VSHUFF32X4 on zmm.
func (a *avx) Zip(lo, hi, x, y V) {
	if a.opmask { // one permute per output, both read before either is written
		l, h := a.permute2(2, x, y), a.permute2(3, x, y)
		a.VMOVUPS(l, xv(lo))
		a.VMOVUPS(h, xv(hi))
		return
	}
	t0, t1 := a.vec(), a.vec()
	a.VUNPCKLPS(xv(y), xv(x), t0) // per block b: x[4b] y[4b] x[4b+1] y[4b+1]
	a.VUNPCKHPS(xv(y), xv(x), t1) // x[4b+2] y[4b+2] x[4b+3] y[4b+3]
	if !a.opmask {
		a.VPERM2F128(operand.U8(0x20), t1, t0, xv(lo))
		a.VPERM2F128(operand.U8(0x31), t1, t0, xv(hi))
		return
	}
	u, v := a.vec(), a.vec()
	a.VSHUFF32X4(operand.U8(0x44), t1, t0, u) // t0.0 t0.1 t1.0 t1.1
	a.VSHUFF32X4(operand.U8(0xEE), t1, t0, v) // t0.2 t0.3 t1.2 t1.3
	a.VSHUFF32X4(operand.U8(0xD8), u, u, xv(lo))
	a.VSHUFF32X4(operand.U8(0xD8), v, v, xv(hi))
}

// Unzip picks the even (odd) lanes of each block of x and y (VSHUFPS),
// then orders the 64-bit pairs (VPERMPD) and, on zmm, the blocks. Both
// shuffles read x and y before anything is written (even or odd may be x
// or y).
func (a *avx) Unzip(even, odd, x, y V) {
	if a.opmask {
		e, o := a.permute2(0, x, y), a.permute2(1, x, y)
		a.VMOVUPS(e, xv(even))
		a.VMOVUPS(o, xv(odd))
		return
	}
	te, to := a.vec(), a.vec()
	a.VSHUFPS(operand.U8(0x88), xv(y), xv(x), te) // per block: x0 x2 y0 y2
	a.VSHUFPS(operand.U8(0xDD), xv(y), xv(x), to) // x1 x3 y1 y3
	a.orderPairs(te, xv(even))
	a.orderPairs(to, xv(odd))
}

// Reverse reverses each 128-bit block (VSHUFPS of x with itself), then
// the blocks (VSHUFF32X4 on zmm, VPERM2F128 on ymm): immediates only.
func (a *avx) Reverse(dst, x V) {
	t := a.vec()
	a.VSHUFPS(operand.U8(0x1B), xv(x), xv(x), t)
	if a.opmask {
		a.VSHUFF32X4(operand.U8(0x1B), t, t, xv(dst))
		return
	}
	a.VPERM2F128(operand.U8(0x01), t, t, xv(dst))
}

// Evens is Unzip's even half: the shuffle can write dst at once, having
// read x and y.
func (a *avx) Evens(dst, x, y V) {
	if a.opmask {
		a.VMOVUPS(a.permute2(0, x, y), xv(dst))
		return
	}
	d := xv(dst)
	a.VSHUFPS(operand.U8(0x88), xv(y), xv(x), d)
	a.orderPairs(d, d)
}

// orderPairs puts in order the 64-bit pairs that VSHUFPS left, per 128-bit
// block, as one of x's then one of y's: VPERMPD inside each 256-bit half,
// then on zmm VSHUFF32X4 across the halves. t is clobbered.
func (a *avx) orderPairs(t, dst reg.VecVirtual) {
	if !a.opmask {
		a.VPERMPD(operand.U8(0xD8), t, dst)
		return
	}
	a.VPERMPD(operand.U8(0xD8), t, t)
	a.VSHUFF32X4(operand.U8(0xD8), t, t, dst)
}
