package kw

import (
	"fmt"

	a "github.com/convkit/convkit/gen/arm64asm"
)

// NEON is AArch64 Advanced SIMD: 32 registers of four float32, no masked
// loads (tails run one element at a time). Four registers (one cache
// line) per main-loop step.
var NEON = ISA{Name: "NEON", What: "NEON (4 lanes)", Lanes: 4, Regs: 32,
	Tail: TailScalar, Unroll: 4, Accs: 4, PeakAccs: 24, LaneFMA: true}

// neon is the arm64 backend over gen/arm64asm. It records each function's
// instructions with virtual registers, allocates them (regalloc.go) when
// the next function starts or Finish is called, then emits the text.
// Instructions Go's assembler lacks (vector FADD, FMAX, compares, ...) go
// out as WORDs encoded by arm64asm.
type neon struct {
	isa  ISA
	file *a.File
	fn   *a.Func
	code []inst
	// addrs caches base + index<<shift already computed into a scratch
	// register (see address), until a label (a join point) or a write to
	// the base or the index.
	addrs map[addrKey]*vreg
}

// addrKey is an indexed address: base, index and shift.
type addrKey struct {
	base, index *vreg
	shift       int
}

// wrote drops the cached addresses computed from r, which an instruction
// has just changed.
func (n *neon) wrote(r *vreg) {
	for k := range n.addrs {
		if k.base == r || k.index == r {
			delete(n.addrs, k)
		}
	}
}

// NewNEON returns the NEON backend writing into file. Call Finish after
// the last kernel.
func NewNEON(file *a.File) Backend { return &neon{isa: NEON, file: file} }

// Finish emits the function under construction, if any. The frontend's
// owner calls it once after the last kernel (arm64 only).
func Finish(b Backend) {
	if n, ok := b.(*neon); ok {
		n.flush()
	}
}

func (n *neon) ISA() ISA { return n.isa }

func (n *neon) flush() {
	if n.fn == nil {
		return
	}
	vecs := make([]int, n.isa.Regs)
	for i := range vecs {
		vecs[i] = i
	}
	var gps []int
	for _, r := range a.Scratch {
		gps = append(gps, int(r))
	}
	allocate(n.fn.Name, n.code, vecs, gps)
	for _, in := range n.code {
		in.emit()
	}
	n.fn, n.code = nil, nil
}

func (n *neon) Begin(name string, sig Signature, doc []string) {
	n.flush()
	var ps []a.Param
	for _, p := range sig.Params {
		ps = append(ps, a.Param{Name: p.Name, Type: armType(name, p.Type), GoType: p.GoType})
	}
	s := a.Signature{Params: ps}
	if sig.Result != nil {
		s.Result = a.Returns(armType(name, *sig.Result))
	}
	n.fn = n.file.Func(name, doc, s)
}

func armType(fn string, t Type) a.Type {
	switch t {
	case Float32:
		return a.Float32
	case Int:
		return a.Int
	case Float32Slice:
		return a.Float32Slice
	case Float32Ptr:
		return a.Float32Ptr
	}
	panic(fmt.Sprintf("kw: %s: the arm64 emitter has no %s parameters", fn, t.GoName()))
}

// op records one instruction over regs; text builds its operands once the
// registers are assigned.
func (n *neon) op(regs []*vreg, emit func()) { n.code = append(n.code, inst{regs: regs, emit: emit}) }

func (n *neon) newV() *vreg { return &vreg{vector: true, phys: -1} }
func (n *neon) newG() *vreg { return &vreg{phys: -1} }

func nv(v V) *vreg    { return v.r.(*vreg) }
func ng(g G) *vreg    { return g.r.(*vreg) }
func nk(k Mask) *vreg { return k.r.(*vreg) }

func (r *vreg) v() a.VReg  { return a.VReg(r.phys) }
func (r *vreg) g() a.GPR   { return a.GPR(r.phys) }
func (r *vreg) gs() string { return r.g().String() }

// address returns m as base register plus displacement: an indexed m gets
// its base + index<<log2(scale) computed into a scratch register first
// (NEON's vector loads have no index form).
func (n *neon) address(m Mem) (*vreg, int) {
	b := ng(m.Base)
	if !m.indexed() {
		return b, m.Disp
	}
	i, sh := ng(m.Index), shiftOf(m.Scale)
	key := addrKey{b, i, sh}
	if t, ok := n.addrs[key]; ok {
		return t, m.Disp
	}
	t := n.newG()
	n.op([]*vreg{b, i, t}, func() { n.fn.Op("ADD", fmt.Sprintf("%s<<%d", i.gs(), sh), b.gs(), t.gs()) })
	if n.addrs == nil {
		n.addrs = map[addrKey]*vreg{}
	}
	n.addrs[key] = t
	return t, m.Disp
}

// shiftOf is log2 of an index scale (1, 2, 4 or 8).
func shiftOf(scale int) int {
	for sh := 0; sh <= 3; sh++ {
		if scale == 1<<sh {
			return sh
		}
	}
	panic(fmt.Sprintf("kw: index scale %d", scale))
}

// memOp records an instruction with one memory operand; text gets the
// operand's Go spelling, e.g. "16(R3)".
func (n *neon) memOp(m Mem, regs []*vreg, text func(mem string)) {
	b, d := n.address(m)
	n.op(append(regs, b), func() { text(a.Mem(b.g(), d)) })
}

// bare returns a register holding m's address exactly (for the forms
// with no offset: VLD1R).
func (n *neon) bare(m Mem) *vreg {
	b, d := n.address(m)
	if d == 0 {
		return b
	}
	t := n.newG()
	n.op([]*vreg{b, t}, func() { n.fn.Op("ADD", a.Imm(int64(d)), b.gs(), t.gs()) })
	return t
}

func (n *neon) Ret() { n.op(nil, func() { n.fn.Op("RET") }) }

func (n *neon) Comment(lines ...string) {
	n.op(nil, func() {
		for _, l := range lines {
			n.fn.Comment("%s", l)
		}
	})
}

func (n *neon) Label(name string) {
	clear(n.addrs) // other paths join here
	n.code = append(n.code, inst{label: name, emit: func() { n.fn.Label(name) }})
}

// branch records a jump to label with the given instruction text.
func (n *neon) branch(label string, regs []*vreg, emit func()) {
	n.code = append(n.code, inst{regs: regs, target: label, emit: emit})
}

func (n *neon) Jump(label string) { n.branch(label, nil, func() { n.fn.Op("B", label) }) }

func (n *neon) gpLoad(operand func() string) G {
	r := n.newG()
	n.op([]*vreg{r}, func() { n.fn.Op("MOVD", operand(), r.gs()) })
	return G{r}
}

func (n *neon) Ptr(slice string) G { return n.gpLoad(func() string { return n.fn.Base(slice) }) }
func (n *neon) Len(slice string) G { return n.gpLoad(func() string { return n.fn.Len(slice) }) }
func (n *neon) Int(name string) G  { return n.gpLoad(func() string { return n.fn.Arg(name) }) }

func (n *neon) BroadcastParam(name string) V {
	v := n.newV()
	n.op([]*vreg{v}, func() {
		n.fn.Op("FMOVS", n.fn.Arg(name), v.v().F())
		n.fn.VDUPLane(a.S4, v.v(), v.v(), 0)
	})
	return V{v}
}

func (n *neon) ReturnFloat(v V) {
	r := nv(v)
	n.op([]*vreg{r}, func() { n.fn.Op("FMOVS", r.v().F(), n.fn.Ret()) })
}

func (n *neon) ReturnFloatBits(bits uint32) {
	t := n.newG()
	n.op([]*vreg{t}, func() {
		n.fn.Op("MOVW", fmt.Sprintf("$0x%08x", bits), t.gs())
		n.fn.Op("MOVW", t.gs(), n.fn.Ret())
	})
}

func (n *neon) ReturnInt(g G) {
	r := ng(g)
	n.op([]*vreg{r}, func() { n.fn.Op("MOVD", r.gs(), n.fn.Ret()) })
}

func (n *neon) GP() G { return G{n.newG()} }

func (n *neon) ZeroGP() G {
	r := n.newG()
	n.op([]*vreg{r}, func() { n.fn.Op("MOVD", "ZR", r.gs()) })
	return G{r}
}

func (n *neon) MoveGP(src G) G {
	s, r := ng(src), n.newG()
	n.op([]*vreg{s, r}, func() { n.fn.Op("MOVD", s.gs(), r.gs()) })
	return G{r}
}

func (n *neon) AddImm(g G, imm int) { n.immOp("ADD", g, imm, "") }

func (n *neon) SubImm(g G, imm int) { n.immOp("SUB", g, imm, "") }

// immOp records g = g <mnem> imm, and with label, a branch to it when the
// result is zero (CBZ: the A64 ALU ops that take an immediate set no
// flags unless asked).
func (n *neon) immOp(mnem string, g G, imm int, label string) {
	r := ng(g)
	text := func() {
		n.fn.Op(mnem, a.Imm(int64(imm)), r.gs(), r.gs())
		if label != "" {
			n.fn.Op("CBZ", r.gs(), label)
		}
	}
	if label != "" {
		n.branch(label, []*vreg{r}, text)
	} else {
		n.op([]*vreg{r}, text)
	}
	n.wrote(r)
}

func (n *neon) MulImm(dst, src G, imm int) {
	d, s, t := ng(dst), ng(src), n.newG()
	n.op([]*vreg{d, s, t}, func() {
		n.fn.Op("MOVD", a.Imm(int64(imm)), t.gs())
		n.fn.Op("MUL", t.gs(), s.gs(), d.gs())
	})
	n.wrote(ng(dst))
}

func (n *neon) JumpIfLess(g G, imm int, label string) { n.cmpJump(g, imm, "BLT", label) }

func (n *neon) JumpIfZero(g G, label string) {
	r := ng(g)
	n.branch(label, []*vreg{r}, func() { n.fn.Op("CBZ", r.gs(), label) })
}

func (n *neon) JumpIfNotPositive(g G, label string) {
	r := ng(g)
	n.branch(label, []*vreg{r}, func() {
		n.fn.Op("CMP", "$0", r.gs())
		n.fn.Op("BLE", label)
	})
}

func (n *neon) DecJumpNonZero(g G, label string) {
	r := ng(g)
	n.branch(label, []*vreg{r}, func() {
		n.fn.Op("SUBS", "$1", r.gs(), r.gs())
		n.fn.Op("BNE", label)
	})
	n.wrote(ng(g))
}

func (n *neon) Vec() V { return V{n.newV()} }

func (n *neon) Zero() V {
	v := n.newV()
	n.op([]*vreg{v}, func() { n.fn.VEOR(v.v(), v.v(), v.v()) })
	return V{v}
}

func (n *neon) Splat(bits uint32) V {
	v, t := n.newV(), n.newG()
	n.op([]*vreg{t, v}, func() {
		n.fn.Op("MOVW", fmt.Sprintf("$0x%08x", bits), t.gs())
		n.fn.VDUPGPR(a.S4, v.v(), t.g())
	})
	return V{v}
}

func (n *neon) Move(src, dst V) {
	s, d := nv(src), nv(dst)
	n.op([]*vreg{s, d}, func() { n.fn.Op("VORR", s.v().A(a.B16), s.v().A(a.B16), d.v().A(a.B16)) })
}

// load and store are FMOVQ/FMOVD/FMOVS by width: writing the F register
// view zeroes the lanes above it.
func (n *neon) load(mnem string, m Mem, d *vreg) {
	n.memOp(m, []*vreg{d}, func(s string) { n.fn.Op(mnem, s, d.v().F()) })
}

func (n *neon) store(mnem string, v *vreg, m Mem) {
	n.memOp(m, []*vreg{v}, func(s string) { n.fn.Op(mnem, v.v().F(), s) })
}

func (n *neon) LoadVec(m Mem, dst V)    { n.load("FMOVQ", m, nv(dst)) }
func (n *neon) StoreVec(v V, m Mem)     { n.store("FMOVQ", nv(v), m) }
func (n *neon) LoadScalar(m Mem, dst V) { n.load("FMOVS", m, nv(dst)) }
func (n *neon) StoreScalar(v V, m Mem)  { n.store("FMOVS", nv(v), m) }

func (n *neon) LoadLane0(m Mem, dst V) { n.loadLane(m, nv(dst), 0) }

// loadLane sets lane i of d from m, keeping the other lanes.
func (n *neon) loadLane(m Mem, d *vreg, i int) {
	t := n.newV()
	n.load("FMOVS", m, t)
	n.op([]*vreg{d, t}, func() { n.fn.Op("VMOV", t.v().Lane(a.S4, 0), d.v().Lane(a.S4, i)) })
}

func (n *neon) noMasks() { panic("kw: NEON has a scalar tail, no masked loads or stores") }

func (n *neon) TailMask(G) Mask                { n.noMasks(); return Mask{} }
func (n *neon) LoadMasked(Mem, Mask, V)        { n.noMasks() }
func (n *neon) LoadMaskedFill(Mem, Mask, V, V) { n.noMasks() }
func (n *neon) StoreMasked(V, Mask, Mem)       { n.noMasks() }
func (n *neon) PartialFor(G) Partial           { n.noMasks(); return Partial{} }
func (n *neon) ForStores(p Partial) Partial    { return p }

// LoadPartial loads the first p.lanes lanes (fixed at generation): one
// float, a pair, or a pair and one more.
func (n *neon) LoadPartial(m Mem, p Partial, dst V) {
	d := nv(dst)
	switch p.lanes {
	case 1:
		n.load("FMOVS", m, d)
	case 2:
		n.load("FMOVD", m, d)
	case 3:
		n.load("FMOVD", m, d)
		n.loadLane(m.Offset(8), d, 2)
	case n.isa.Lanes:
		n.load("FMOVQ", m, d)
	default:
		panic(fmt.Sprintf("kw: partial of %d lanes", p.lanes))
	}
}

func (n *neon) StorePartial(v V, p Partial, m Mem) {
	s := nv(v)
	switch p.lanes {
	case 1:
		n.store("FMOVS", s, m)
	case 2:
		n.store("FMOVD", s, m)
	case 3:
		n.store("FMOVD", s, m)
		t := n.newG()
		n.op([]*vreg{s, t}, func() { n.fn.Op("VMOV", s.v().Lane(a.S4, 2), t.gs()) })
		n.memOp(m.Offset(8), []*vreg{t}, func(mem string) { n.fn.Op("MOVW", t.gs(), mem) })
	case n.isa.Lanes:
		n.store("FMOVQ", s, m)
	default:
		panic(fmt.Sprintf("kw: partial of %d lanes", p.lanes))
	}
}

func (n *neon) Imm(imm int) G {
	r := n.newG()
	n.op([]*vreg{r}, func() { n.fn.Op("MOVD", a.Imm(int64(imm)), r.gs()) })
	return G{r}
}

func (n *neon) StoreParam(g G, name string) {
	r := ng(g)
	n.op([]*vreg{r}, func() { n.fn.Op("MOVD", r.gs(), n.fn.Arg(name)) })
}

// Lea is one ADD (shifted register, or immediate), two for an indexed
// address with a displacement.
func (n *neon) Lea(m Mem, dst G) {
	b, r := ng(m.Base), ng(dst)
	switch {
	case m.indexed():
		i, sh := ng(m.Index), shiftOf(m.Scale)
		n.op([]*vreg{b, i, r}, func() { n.fn.Op("ADD", fmt.Sprintf("%s<<%d", i.gs(), sh), b.gs(), r.gs()) })
		if m.Disp != 0 {
			n.op([]*vreg{r}, func() { n.fn.Op("ADD", a.Imm(int64(m.Disp)), r.gs(), r.gs()) })
		}
	default:
		n.op([]*vreg{b, r}, func() { n.fn.Op("ADD", a.Imm(int64(m.Disp)), b.gs(), r.gs()) })
	}
	n.wrote(r)
}

func (n *neon) SubGP(dst, src G) {
	d, s := ng(dst), ng(src)
	n.op([]*vreg{d, s}, func() { n.fn.Op("SUB", s.gs(), d.gs(), d.gs()) })
	n.wrote(ng(dst))
}

func (n *neon) AddGP(dst, src G) {
	d, s := ng(dst), ng(src)
	n.op([]*vreg{d, s}, func() { n.fn.Op("ADD", s.gs(), d.gs(), d.gs()) })
	n.wrote(ng(dst))
}

func (n *neon) ShlImm(g G, sh int) { n.immOp("LSL", g, sh, "") }

func (n *neon) ShrImmJumpZero(g G, sh int, label string) { n.immOp("LSR", g, sh, label) }

func (n *neon) AndImmJumpZero(g G, imm int, label string) { n.immOp("AND", g, imm, label) }

func (n *neon) DecJumpZero(g G, label string) {
	r := ng(g)
	n.branch(label, []*vreg{r}, func() {
		n.fn.Op("SUBS", "$1", r.gs(), r.gs())
		n.fn.Op("BEQ", label)
	})
	n.wrote(ng(g))
}

func (n *neon) cmpJump(g G, imm int, cond, label string) {
	r := ng(g)
	n.branch(label, []*vreg{r}, func() {
		n.fn.Op("CMP", a.Imm(int64(imm)), r.gs())
		n.fn.Op(cond, label)
	})
}

func (n *neon) JumpIfLessEq(g G, imm int, label string)   { n.cmpJump(g, imm, "BLE", label) }
func (n *neon) JumpIfNotEqual(g G, imm int, label string) { n.cmpJump(g, imm, "BNE", label) }

// JumpIfFloatParamZero tests the bits without the sign: +0 and -0 alike.
func (n *neon) JumpIfFloatParamZero(name, label string) {
	t := n.newG()
	n.branch(label, []*vreg{t}, func() {
		n.fn.Op("MOVWU", n.fn.Arg(name), t.gs())
		n.fn.Op("ANDW", "$0x7fffffff", t.gs(), t.gs())
		n.fn.Op("CBZW", t.gs(), label)
	})
}

func (n *neon) Broadcast(m Mem, dst V) {
	b, d := n.bare(m), nv(dst)
	n.op([]*vreg{b, d}, func() { n.fn.Op("VLD1R", a.Mem(b.g(), 0), "["+d.v().A(a.S4)+"]") })
}

func (n *neon) FMABcast(V, V, Mem) { panic("kw: NEON has no embedded broadcast") }

func (n *neon) FMALane(acc, x, v V, lane int) {
	d, s, m := nv(acc), nv(x), nv(v)
	n.op([]*vreg{d, s, m}, func() { n.fn.Word(a.FMLAElem(a.S4, d.v(), s.v(), m.v(), lane)) })
}

func (n *neon) Prefetch(m Mem) {
	n.memOp(m, nil, func(s string) { n.fn.Op("PRFM", s, "PLDL1KEEP") })
}

// PrefetchL2 asks for the line with intent to store (PST), into L2.
func (n *neon) PrefetchL2(m Mem) {
	n.memOp(m, nil, func(s string) { n.fn.Op("PRFM", s, "PSTL2KEEP") })
}

// reg returns o in a register: a Mem operand is loaded into a scratch one.
func (n *neon) reg(o Operand) *vreg {
	switch o := o.(type) {
	case V:
		return nv(o)
	case Mem:
		t := n.Vec()
		n.LoadVec(o, t)
		return nv(t)
	}
	panic(fmt.Sprintf("kw: operand %T", o))
}

// word records one encoded instruction d = f(d, x, y).
func (n *neon) word(enc func(a.Arr, a.VReg, a.VReg, a.VReg) a.Word, d, x, y *vreg) {
	n.op([]*vreg{d, x, y}, func() { n.fn.Word(enc(a.S4, d.v(), x.v(), y.v())) })
}

func (n *neon) binop(op Op) func(a.Arr, a.VReg, a.VReg, a.VReg) a.Word {
	switch op {
	case Add:
		return a.FADD
	case Max:
		return a.FMAX // NaN-propagating: stronger than the x86 rule
	case Sub:
		return a.FSUB
	case Min:
		return a.FMIN
	}
	panic(fmt.Sprintf("kw: op %d", op))
}

func (n *neon) Binary(op Op, dst, x V, y Operand) {
	n.word(n.binop(op), nv(dst), nv(x), n.reg(y))
}

func (n *neon) Mul(dst, x V, y Operand) { n.word(a.FMUL, nv(dst), nv(x), n.reg(y)) }

func (n *neon) FMA(acc, x V, y Operand) {
	d, s, t := nv(acc), nv(x), n.reg(y)
	n.op([]*vreg{d, s, t}, func() { n.fn.VFMLA(a.S4, d.v(), s.v(), t.v()) })
}

func (n *neon) FNMA(acc, x V, y Operand) {
	d, s, t := nv(acc), nv(x), n.reg(y)
	n.op([]*vreg{d, s, t}, func() { n.fn.VFMLS(a.S4, d.v(), s.v(), t.v()) })
}

// MulAdd has no destructive-multiplicand form on NEON: the sum goes to a
// scratch register (y's) and moves back.
func (n *neon) MulAdd(dst, m V, y Operand) {
	var t V
	if mm, ok := y.(Mem); ok {
		t = n.Vec()
		n.LoadVec(mm, t)
	} else {
		t = n.Vec()
		n.Move(y.(V), t)
	}
	n.FMA(t, dst, m)
	n.Move(t, dst)
}

func (n *neon) not(d *vreg) {
	n.op([]*vreg{d}, func() { n.fn.Word(a.NOT(d.v(), d.v())) })
}

func (n *neon) Cmp(p Pred, x V, y Operand) Mask {
	xs, ys, d := nv(x), n.reg(y), n.newV()
	switch p {
	case Unord:
		// !(x == x && y == y): FCMEQ is false only for NaN.
		t := n.newV()
		n.word(a.FCMEQ, d, xs, xs)
		n.word(a.FCMEQ, t, ys, ys)
		n.op([]*vreg{d, t}, func() { n.fn.VAND(d.v(), d.v(), t.v()) })
		n.not(d)
	case LT:
		n.word(a.FCMGT, d, ys, xs)
	case GT:
		n.word(a.FCMGT, d, xs, ys)
	case NGE:
		n.word(a.FCMGE, d, xs, ys)
		n.not(d)
	default:
		panic(fmt.Sprintf("kw: predicate %d", p))
	}
	return Mask{d}
}

func (n *neon) ZeroUnless(k Mask, src Operand, dst V) {
	m, s, d := nk(k), n.reg(src), nv(dst)
	n.op([]*vreg{m, s, d}, func() { n.fn.VAND(d.v(), s.v(), m.v()) })
}

func (n *neon) EmptyMask() Mask { return Mask{nv(n.Zero())} }

func (n *neon) OrMask(k, acc Mask) {
	m, d := nk(k), nk(acc)
	n.op([]*vreg{m, d}, func() { n.fn.Op("VORR", m.v().A(a.B16), d.v().A(a.B16), d.v().A(a.B16)) })
}

func (n *neon) JumpIfAny(k Mask, label string) {
	m, lo, hi := nk(k), n.newG(), n.newG()
	n.branch(label, []*vreg{m, lo, hi}, func() {
		n.fn.Op("VMOV", m.v().Lane(a.D2, 0), lo.gs())
		n.fn.Op("VMOV", m.v().Lane(a.D2, 1), hi.gs())
		n.fn.Op("ORR", hi.gs(), lo.gs(), lo.gs())
		n.fn.Op("CBNZ", lo.gs(), label)
	})
}

// Reduce halves the width like the x86 backend, so that the order of the
// additions is the same on every ISA (the Go twins follow it): the upper
// two lanes onto the lower two (EXT by 8 bytes), then the two remaining.
func (n *neon) Reduce(op Op, v V) V {
	s, t, d := nv(v), n.newV(), n.newV()
	vec, pair := a.FADD, a.FADDPScalar
	if op == Max {
		vec, pair = a.FMAX, a.FMAXPScalar
	}
	n.op([]*vreg{s, t}, func() { n.fn.Op("VEXT", "$8", s.v().A(a.B16), s.v().A(a.B16), t.v().A(a.B16)) })
	n.word(vec, t, s, t)
	n.op([]*vreg{t, d}, func() { n.fn.Word(pair(a.S2, d.v(), t.v())) })
	return V{d}
}

func (n *neon) JumpIfBitsClear(g G, imm int, label string) {
	r := ng(g)
	n.branch(label, []*vreg{r}, func() {
		n.fn.Op("TST", a.Imm(int64(imm)), r.gs())
		n.fn.Op("BEQ", label)
	})
}

func (n *neon) LoadGP(m Mem) G {
	r := n.newG()
	n.memOp(m, []*vreg{r}, func(s string) { n.fn.Op("MOVD", s, r.gs()) })
	return G{r}
}

// Transpose of 4x4: TRN1/TRN2 of pairs of rows on single lanes, then on
// double lanes.
func (n *neon) Transpose(rows []V) []V {
	if len(rows) != 4 {
		panic(fmt.Sprintf("kw: Transpose of %d rows on 4 lanes", len(rows)))
	}
	x := make([]*vreg, 4)
	for i := range x {
		x[i] = nv(rows[i])
	}
	t := []*vreg{n.newV(), n.newV(), n.newV(), n.newV()}
	trn := func(op string, arr a.Arr, d, p, q *vreg) {
		n.op([]*vreg{d, p, q}, func() { n.fn.Op(op, q.v().A(arr), p.v().A(arr), d.v().A(arr)) })
	}
	trn("VTRN1", a.S4, t[0], x[0], x[1]) // x0[0] x1[0] x0[2] x1[2]
	trn("VTRN2", a.S4, t[1], x[0], x[1]) // x0[1] x1[1] x0[3] x1[3]
	trn("VTRN1", a.S4, t[2], x[2], x[3])
	trn("VTRN2", a.S4, t[3], x[2], x[3])
	trn("VTRN1", a.D2, x[0], t[0], t[2]) // column 0
	trn("VTRN1", a.D2, x[1], t[1], t[3]) // column 1
	trn("VTRN2", a.D2, x[2], t[0], t[2]) // column 2
	trn("VTRN2", a.D2, x[3], t[1], t[3]) // column 3
	return []V{{x[0]}, {x[1]}, {x[2]}, {x[3]}}
}

// Select: BSL takes its mask in the destination, so the mask goes to a
// scratch register first (dst may be x or y).
func (n *neon) Select(k Mask, x, y, dst V) {
	m, xs, ys, d, t := nk(k), nv(x), nv(y), nv(dst), n.newV()
	n.op([]*vreg{m, xs, ys, d, t}, func() {
		n.fn.Op("VORR", m.v().A(a.B16), m.v().A(a.B16), t.v().A(a.B16))
		n.fn.Op("VBSL", ys.v().A(a.B16), xs.v().A(a.B16), t.v().A(a.B16))
		n.fn.Op("VORR", t.v().A(a.B16), t.v().A(a.B16), d.v().A(a.B16))
	})
}

// perm records d = op(p, q) for the two-register permutes (Go operand
// order: q, p, d).
func (n *neon) perm(op string, d, p, q *vreg) {
	n.op([]*vreg{d, p, q}, func() { n.fn.Op(op, q.v().A(a.S4), p.v().A(a.S4), d.v().A(a.S4)) })
}

func (n *neon) Zip(lo, hi, x, y V) { n.pairPerm("VZIP1", "VZIP2", nv(lo), nv(hi), nv(x), nv(y)) }

func (n *neon) Unzip(even, odd, x, y V) {
	n.pairPerm("VUZP1", "VUZP2", nv(even), nv(odd), nv(x), nv(y))
}

// Reverse is REV64 (the pairs of lanes swapped) then EXT by 8 bytes (the
// halves swapped).
func (n *neon) Reverse(dst, x V) {
	s, t, d := nv(x), n.newV(), nv(dst)
	n.op([]*vreg{s, t}, func() { n.fn.Op("VREV64", s.v().A(a.S4), t.v().A(a.S4)) })
	n.op([]*vreg{t, d}, func() { n.fn.Op("VEXT", "$8", t.v().A(a.B16), t.v().A(a.B16), d.v().A(a.B16)) })
	n.wrote(d)
}

// Evens is one UZP1, which reads x and y before it writes dst.
func (n *neon) Evens(dst, x, y V) { n.perm("VUZP1", nv(dst), nv(x), nv(y)) }

// pairPerm records d1 = op1(x, y), d2 = op2(x, y). The second reads x and
// y after the first has written d1, so a d1 that is x or y goes through a
// scratch register; a fresh one is written at once (the allocator never
// gives an instruction's output the register of an input live there).
func (n *neon) pairPerm(op1, op2 string, d1, d2, x, y *vreg) {
	if d1 != x && d1 != y {
		n.perm(op1, d1, x, y)
		n.perm(op2, d2, x, y)
		return
	}
	t := n.newV()
	n.perm(op1, t, x, y)
	n.perm(op2, d2, x, y)
	n.Move(V{t}, V{d1})
}
