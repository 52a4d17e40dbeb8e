// Command sgemm generates convkit's amd64 SGEMM micro-kernels (AVX2+FMA and
// AVX-512) with Avo. It is run from asm/doc.go:
//
//	go run -C ../gen ./sgemm -out ../asm/sgemm_amd64.s -stubs ../asm/sgemm_amd64.go -table ../asm/sgemm_tiles_amd64.go -pkg asm
//
// Every kernel computes one register tile of C = alpha*A*B + beta*C from
// strided operands, so that one kernel family serves packed panels and
// unpacked matrices alike:
//
//	for i < rows, j < nr:
//	  ab := sum over p < k of A(i, p) * b[p*sb+j]
//	  c[i*ldc+j] = alpha*ab + beta*c[i*ldc+j]     (beta == 0: c is not read)
//
// where A(i, p) = a[i+p*sa] for the "P" kernels (a packed MR-row panel has
// sa = MR; a transposed matrix has sa = lda) and A(i, p) = a[i*sa+p] for the
// "R" kernels (a row-major matrix, sa = lda). A kernel exists for every row
// count 1..MR so that the m edge never reads a row past the matrix; the n edge
// (nr < NR) runs a loop over only the live vectors with masked loads and
// stores, so it never reads or writes a column past nr either. A call
// repeats for tiles tiles, stepping a, b and c by an, bn and cn elements, so
// the driver makes one call per row or column of tiles. It also emits the
// Micro entry points of the kernels.GemmKernels contract and, for every
// ISA, the row kernels: the packing routines (a lanes x lanes transpose, a
// masked row copy and a row-order panel copy) and the four-row dot and
// axpy kernels of the matrix-vector products. Kernels are written once
// against the ISA description of isa.go.
//
// With -table it also writes the Go table of everything it generated
// (asm/sgemm_tiles_amd64.go: families with their ISA, MR, NR, operand
// forms and roles, and the row kernels), which package gemm, package
// kernels and the tests iterate instead of naming symbols.
//
// Package gemm's tests interpret the output (gemm/asmemu_test.go), so
// kernels for an ISA the host lacks are still checked.
//
// The outputs are written to temporary files and renamed, so a failed run
// never leaves a truncated .s behind; the output is deterministic.
package main

import (
	"fmt"

	"github.com/convkit/convkit/gen/internal/avomain"
	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// role is what a tile family is generated for: nothing is generated that
// no code uses.
type role int

const (
	// roleDefault: the ISA's default family in package gemm; its Micro
	// entry point is package kernels' GemmKernels.Micro.
	roleDefault role = iota
	// roleNarrow: package gemm's family for products with n <= NR. It is
	// never a GemmKernels tile, so it has no Micro entry point.
	roleNarrow
	// roleCandidate: kept for BenchmarkSgemmTiles, which compares the
	// candidates with the default on a new CPU, for the default's role.
	roleCandidate
)

// micro reports whether a family of the role gets a Micro entry point:
// the default, and the candidates for its place, whose Micro the tests
// run through the portable driver (gemm's microKernels, and the
// interpreter's TestEmulatedMicro).
func (r role) micro() bool { return r != roleNarrow }

// tile is one register-tile shape of an ISA.
type tile struct {
	isa    isa
	mr, nr int
	// q: also emit the Q kernels, P kernels that prefetch B's rows ahead,
	// for a B read in place (see kloop). Only where measured to pay.
	q    bool
	role role
}

func (t tile) nv() int { return t.nr / t.isa.lanes }

// forms lists the operand forms generated for the family, in emission
// order.
func (t tile) forms() []byte {
	if t.q {
		return []byte{'P', 'R', 'Q'}
	}
	return []byte{'P', 'R'}
}

// tiles lists every shape that is generated, the default of each ISA
// first (see gemm/tiles_amd64.go for the measurements that chose the
// defaults and the narrow family).
var tiles = []tile{
	{avx2, 6, 16, true, roleDefault},
	{avx2, 4, 24, false, roleCandidate},
	{avx2, 12, 8, false, roleNarrow},
	{avx512, 14, 32, false, roleDefault},
	{avx512, 12, 32, false, roleCandidate},
}

// rowISAs are the ISAs that get the row kernels (packing, dot, axpy).
var rowISAs = []isa{avx2, avx512}

// ctx is the one build context of this program.
var ctx = build.NewContext()

// text starts a NOSPLIT function.
func text(name, sig string) {
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr(sig)
}

func main() {
	avomain.MainTable("sgemm", ctx, func() {
		genMaskTable()
		for _, t := range tiles {
			for _, mode := range t.forms() {
				for rows := 1; rows <= t.mr; rows++ {
					genKernel(t, mode, rows)
				}
			}
			if t.role.micro() {
				genMicro(t)
			}
		}
		for _, s := range rowISAs {
			for _, m := range rowMethods {
				m.gen(s)
			}
		}
	}, goTable)
}

// maskTab holds 8 all-ones int32 followed by 8 zeros: the AVX2 lane mask
// for r live lanes (1..8) is the 8 int32 starting at byte 32-4r (see
// isa.tailMask).
var maskTab Mem

func genMaskTable() { maskTab = avomain.LaneMaskTable(ctx, "sgemmMaskTab") }

// kernelName is the exported name of a kernel, e.g. Sgemm6x16AVX2P3.
func kernelName(t tile, mode byte, rows int) string {
	return fmt.Sprintf("Sgemm%dx%d%s%c%d", t.mr, t.nr, t.isa.name, mode, rows)
}

// operands is what the kernel body needs, already in registers.
type operands struct {
	k     GPVirtual // k >= 0, consumed
	a     GPVirtual // A base (P) or row 0 (R)
	sa    GPVirtual // A stride in bytes
	b     GPVirtual
	sb    GPVirtual // B row stride in bytes
	nr    GPVirtual // live columns (nil: always NR)
	loadC func() (c, ldc GPVirtual)
	alpha Mem
	beta  Mem
	mode  byte
	rows  int
	// loop: the kernel runs tiles tiles, advancing a, b and c between them
	// (the kernel families); otherwise it returns after one (Micro).
	loop bool
	t    tile
}

func genKernel(t tile, mode byte, rows int) {
	name := kernelName(t, mode, rows)
	text(name, "func(k int, a *float32, sa int, b *float32, sb int, c *float32, ldc int, nr int, alpha float32, beta float32, tiles int, an int, bn int, cn int)")
	aIdx := "a[i+p*sa]"
	if mode == 'R' {
		aIdx = "a[i*sa+p]"
	}
	doc := []string{
		fmt.Sprintf("%s computes a %d x nr tile (1 <= nr <= %d) of C = alpha*A*B + beta*C", name, rows, t.nr),
		fmt.Sprintf("with A(i, p) = %s, B(p, j) = b[p*sb+j] and C(i, j) = c[i*ldc+j]:", aIdx),
		"",
		fmt.Sprintf("\tfor i < %d, j < nr:", rows),
		"\t  ab := sum over p < k of A(i, p) * B(p, j)",
		"\t  C(i, j) = alpha*ab + beta*C(i, j)    (beta == 0: C is not read)",
		"",
		"It reads no element of a, b or c outside those index sets. It repeats",
		"for tiles >= 1 tiles, advancing a by an, b by bn and c by cn elements",
		"before each next one (a row or column of tiles in one call). The",
		"reference is kernels.MicroGeneric (gemm/driver.go shows how gemm calls it).",
	}
	if mode == 'Q' {
		doc = append(doc, "",
			"It is the P kernel plus prefetches of B's rows 8 steps ahead, for a B read",
			"in place (prefetches never fault, and read nothing a program can see).")
	}
	ctx.Doc(doc...)
	ctx.Pragma("noescape")
	ctx.Label("top")
	o := operands{mode: mode, rows: rows, t: t, loop: true, alpha: paramAddr("alpha"), beta: paramAddr("beta")}
	o.k = ctx.Load(ctx.Param("k"), ctx.GP64()).(GPVirtual)
	o.a = ctx.Load(ctx.Param("a"), ctx.GP64()).(GPVirtual)
	o.sa = byteStride("sa")
	o.b = ctx.Load(ctx.Param("b"), ctx.GP64()).(GPVirtual)
	o.sb = byteStride("sb")
	o.nr = ctx.Load(ctx.Param("nr"), ctx.GP64()).(GPVirtual)
	o.loadC = func() (GPVirtual, GPVirtual) {
		c := ctx.Load(ctx.Param("c"), ctx.GP64()).(GPVirtual)
		ldc := byteStride("ldc")
		return c, ldc
	}
	body(o)
}

// microName is the exported name of a family's Micro entry point.
func microName(t tile) string { return fmt.Sprintf("SgemmMicro%dx%d%s", t.mr, t.nr, t.isa.name) }

// genMicro emits the kernels.GemmKernels.Micro entry point of a tile: packed
// panels, a full MR x NR tile.
func genMicro(t tile) {
	name := microName(t)
	text(name, "func(k int, a, b, c []float32, ldc int, alpha, beta float32)")
	ctx.Doc(
		fmt.Sprintf("%s is the kernels.GemmKernels.Micro contract for MR = %d, NR = %d:", name, t.mr, t.nr),
		"",
		fmt.Sprintf("\tfor i < %d, j < %d:", t.mr, t.nr),
		fmt.Sprintf("\t  ab := sum over p < k of a[p*%d+i] * b[p*%d+j]", t.mr, t.nr),
		"\t  c[i*ldc+j] = alpha*ab + beta*c[i*ldc+j]   (beta == 0: c is not read)",
		"",
		"The slices' lengths are trusted (see the contract); the reference is",
		"kernels.MicroGeneric.",
	)
	ctx.Pragma("noescape")
	o := operands{mode: 'P', rows: t.mr, t: t, alpha: paramAddr("alpha"), beta: paramAddr("beta")}
	o.k = ctx.Load(ctx.Param("k"), ctx.GP64()).(GPVirtual)
	o.a = ctx.Load(ctx.Param("a").Base(), ctx.GP64()).(GPVirtual)
	o.sa = ctx.GP64().(GPVirtual)
	ctx.MOVQ(U32(t.mr*4), o.sa)
	o.b = ctx.Load(ctx.Param("b").Base(), ctx.GP64()).(GPVirtual)
	o.sb = ctx.GP64().(GPVirtual)
	ctx.MOVQ(U32(t.nr*4), o.sb)
	o.loadC = func() (GPVirtual, GPVirtual) {
		c := ctx.Load(ctx.Param("c").Base(), ctx.GP64()).(GPVirtual)
		ldc := byteStride("ldc")
		return c, ldc
	}
	body(o)
}

// exit ends a tile: on to the next one (families) or return (Micro).
func (o operands) exit() {
	if o.loop {
		ctx.JMP(LabelRef("next"))
		return
	}
	ctx.VZEROUPPER()
	ctx.RET()
}

// paramAddr is the frame address of a scalar parameter.
func paramAddr(name string) Mem {
	b, err := ctx.Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// body emits everything after the arguments are loaded.
func body(o operands) {
	t := o.t
	nv := t.nv()

	// Prefetch the C tile now so that its lines are in L1 by the time the
	// k loop is done (the stores would otherwise miss at the very end).
	{
		c, ldc := o.loadC()
		for i := 0; i < o.rows; i++ {
			for off := 0; off < t.nr*4; off += 64 {
				ctx.PREFETCHT0(Mem{Base: c, Disp: off})
			}
			ctx.PREFETCHT0(Mem{Base: c, Disp: t.nr*4 - 4})
			if i+1 < o.rows {
				ctx.ADDQ(ldc, c)
			}
		}
	}

	acc := make([][]VecVirtual, o.rows)
	for i := range acc {
		acc[i] = make([]VecVirtual, nv)
		for v := range acc[i] {
			acc[i][v] = t.isa.vec()
			t.isa.zero(acc[i][v])
		}
	}

	if o.nr != nil {
		ctx.CMPQ(o.nr, U32(t.nr))
		ctx.JNE(LabelRef("edge"))
	}
	kloop(o, acc, nv, nil, 4, "full")
	epilogue(o, acc, nv, nil, "full")
	if o.nr == nil {
		return
	}

	// n edge: L = ceil(nr/lanes) live vectors, the last with r = nr-(L-1)*lanes
	// live lanes (1..lanes).
	ctx.Label("edge")
	for l := 1; l < nv; l++ {
		ctx.CMPQ(o.nr, U32(l*t.isa.lanes))
		ctx.JLE(LabelRef(fmt.Sprintf("edge%d", l)))
	}
	ctx.JMP(LabelRef(fmt.Sprintf("edge%d", nv)))
	for l := 1; l <= nv; l++ {
		lbl := fmt.Sprintf("edge%d", l)
		ctx.Label(lbl)
		r := ctx.GP64()
		ctx.MOVQ(o.nr, r)
		if l > 1 {
			ctx.SUBQ(U32((l-1)*t.isa.lanes), r)
		}
		m := t.isa.tailMask(r.(GPVirtual))
		kloop(o, acc, l, &m, 2, lbl)
		epilogue(o, acc, l, &m, lbl)
	}
	if o.loop {
		// Next tile: advance a, b and c by an, bn and cn floats in the
		// argument slots and start over, until tiles is used up.
		ctx.Label("next")
		tiles := ctx.Load(ctx.Param("tiles"), ctx.GP64())
		ctx.DECQ(tiles)
		ctx.JZ(LabelRef("last"))
		ctx.Store(tiles, ctx.Param("tiles"))
		// Only when another tile follows: the pointers then stay inside
		// their arrays (the stack slots are scanned by the GC).
		for _, pn := range [][2]string{{"a", "an"}, {"b", "bn"}, {"c", "cn"}} {
			ptr := ctx.Load(ctx.Param(pn[0]), ctx.GP64())
			step := ctx.Load(ctx.Param(pn[1]), ctx.GP64())
			ctx.LEAQ(Mem{Base: ptr, Index: step, Scale: 4}, ptr)
			ctx.Store(ptr, ctx.Param(pn[0]))
		}
		ctx.JMP(LabelRef("top"))
		ctx.Label("last")
		ctx.VZEROUPPER()
		ctx.RET()
	}
}

// kloop emits the k loop over l live vectors per row, unrolled u times
// (u is 4 or 2), with masked loads of the last vector when m != nil.
func kloop(o operands, acc [][]VecVirtual, l int, m *mask, u int, lbl string) {
	t := o.t
	vbytes := t.isa.vbytes()
	bv := make([]VecVirtual, l)
	for v := range bv {
		bv[v] = t.isa.vec()
	}
	nb := t.isa.broadcasts
	bc := make([]VecVirtual, nb)
	for i := range bc {
		bc[i] = t.isa.vec()
	}

	// Strides for steps 0..3 of an unrolled iteration: base, +s, +2s, +3s.
	sa3 := ctx.GP64()
	ctx.LEAQ(Mem{Base: o.sa, Index: o.sa, Scale: 2}, sa3)
	sb3 := ctx.GP64()
	ctx.LEAQ(Mem{Base: o.sb, Index: o.sb, Scale: 2}, sb3)
	stepMem := func(base, s, s3 Register, step, disp int) Mem {
		switch step {
		case 0:
			return Mem{Base: base, Disp: disp}
		case 1:
			return Mem{Base: base, Index: s, Scale: 1, Disp: disp}
		case 2:
			return Mem{Base: base, Index: s, Scale: 2, Disp: disp}
		default:
			return Mem{Base: base, Index: s3, Scale: 1, Disp: disp}
		}
	}

	// Row bases of an R kernel: rows 3g, 3g+1, 3g+2 are base[g] + 0, sa, 2sa.
	var bases []GPVirtual
	if o.mode == 'R' {
		bases = append(bases, o.a)
		for g := 1; g*3 < o.rows; g++ {
			r := ctx.GP64().(GPVirtual)
			ctx.LEAQ(Mem{Base: bases[g-1], Index: sa3, Scale: 1}, r)
			bases = append(bases, r)
		}
	}
	aMem := func(i, step int) Mem {
		if o.mode != 'R' {
			return stepMem(o.a, o.sa, sa3, step, 4*i)
		}
		base := bases[i/3]
		switch i % 3 {
		case 0:
			return Mem{Base: base, Disp: 4 * step}
		case 1:
			return Mem{Base: base, Index: o.sa, Scale: 1, Disp: 4 * step}
		default:
			return Mem{Base: base, Index: o.sa, Scale: 2, Disp: 4 * step}
		}
	}

	emitStep := func(step int) {
		for v := 0; v < l; v++ {
			src := stepMem(o.b, o.sb, sb3, step, v*vbytes)
			if v == l-1 {
				// m not loaded: a table mask rides in bv itself, so the
				// edge loop needs no extra vector register.
				t.isa.load(src, m, bv[v])
			} else {
				ctx.VMOVUPS(src, bv[v])
			}
		}
		for i := 0; i < o.rows; i++ {
			am := aMem(i, step)
			if t.isa.bcstFMA && l == 1 {
				ctx.VFMADD231PS_BCST(am, bv[0], acc[i][0])
				continue
			}
			x := bc[i%nb]
			ctx.VBROADCASTSS(am, x)
			for v := 0; v < l; v++ {
				ctx.VFMADD231PS(bv[v], x, acc[i][v])
			}
		}
	}
	advance := func(steps int) {
		if o.mode != 'R' {
			ctx.LEAQ(Mem{Base: o.a, Index: o.sa, Scale: uint8(steps)}, o.a)
		} else {
			for _, base := range bases {
				ctx.ADDQ(U32(4*steps), base)
			}
		}
		ctx.LEAQ(Mem{Base: o.b, Index: o.sb, Scale: uint8(steps)}, o.b)
	}

	n := ctx.GP64()
	ctx.MOVQ(o.k, n)
	shift := 2
	if u == 2 {
		shift = 1
	}
	ctx.SHRQ(U8(shift), n)
	ctx.JZ(LabelRef(lbl + "tail"))
	var pf GPVirtual
	if o.mode == 'Q' {
		pf = ctx.GP64().(GPVirtual)
	}
	ctx.Label(lbl + "loop")
	if o.mode != 'R' {
		// Packed A streams through at rows*4 bytes per step: fetch the
		// lines 8 steps ahead (prefetches never fault).
		ahead := Mem{Base: o.a, Index: o.sa, Scale: 8}
		for off := 0; off < o.rows*4*u; off += 64 {
			ctx.PREFETCHT0(ahead.Offset(off))
		}
	}
	if o.mode == 'Q' {
		// B read in place with small m: a column of rows sb apart, on a
		// new page per row for conv-shaped products (where the hardware
		// prefetchers stop), re-read by every tile down the column and
		// evicted from L1 in between by set conflicts. Fetch each step's
		// row 8 steps ahead. Measured on the AVX2 host, interleaved:
		// conv-shaped products (m = 32..128, n = 3136) +2.5-5%; in the P
		// kernels (packed B, already in L1) the same prefetches cost 2.6%
		// at 1024^3, hence a family of their own, which the driver uses
		// only where B's strip cannot stay in L1 (gemm's stripInL1).
		ctx.LEAQ(Mem{Base: o.b, Index: o.sb, Scale: 8}, pf)
		for s := 0; s < u; s++ {
			ctx.PREFETCHT0(stepMem(pf, o.sb, sb3, s, 0))
		}
	}
	for s := 0; s < u; s++ {
		emitStep(s)
	}
	advance(u)
	ctx.DECQ(n)
	ctx.JNZ(LabelRef(lbl + "loop"))
	ctx.Label(lbl + "tail")
	ctx.ANDQ(U8(u-1), o.k)
	ctx.JZ(LabelRef(lbl + "done"))
	ctx.Label(lbl + "tailloop")
	emitStep(0)
	advance(1)
	ctx.DECQ(o.k)
	ctx.JNZ(LabelRef(lbl + "tailloop"))
	ctx.Label(lbl + "done")
}

// epilogue scales the accumulators by alpha, adds beta*C unless beta == 0,
// and stores the rows x l-vector tile (the last vector masked when m != nil).
func epilogue(o operands, acc [][]VecVirtual, l int, m *mask, lbl string) {
	t := o.t
	vbytes := t.isa.vbytes()
	alpha := t.isa.vec()
	ctx.VBROADCASTSS(o.alpha, alpha)
	if m != nil {
		lm := t.isa.loaded(*m) // used by every row: in a register of its own
		m = &lm
	}
	bits := ctx.GP32()
	ctx.MOVL(o.beta, bits)
	// beta == +0 or -0: C must not be read (it may hold NaN).
	ctx.ANDL(U32(0x7fffffff), bits)
	ctx.JZ(LabelRef(lbl + "beta0"))

	store := func(withBeta bool, beta VecVirtual) {
		c, ldc := o.loadC()
		tmp := t.isa.vec()
		for i := 0; i < o.rows; i++ {
			for v := 0; v < l; v++ {
				dst := Mem{Base: c, Disp: v * vbytes}
				vm := m // the last vector's mask, if any
				if v < l-1 {
					vm = nil
				}
				ctx.VMULPS(alpha, acc[i][v], acc[i][v])
				if withBeta {
					t.isa.load(dst, vm, tmp)
					ctx.VFMADD231PS(tmp, beta, acc[i][v])
				}
				t.isa.store(acc[i][v], vm, dst)
			}
			if i+1 < o.rows {
				ctx.ADDQ(ldc, c)
			}
		}
	}
	beta := t.isa.vec()
	ctx.VBROADCASTSS(o.beta, beta)
	store(true, beta)
	o.exit()
	ctx.Label(lbl + "beta0")
	store(false, nil)
	o.exit()
}

// byteStride loads the int parameter name, a count of floats (a leading
// dimension or panel stride), as bytes.
func byteStride(name string) GPVirtual {
	r := ctx.Load(ctx.Param(name), ctx.GP64()).(GPVirtual)
	ctx.SHLQ(Imm(2), r)
	return r
}
