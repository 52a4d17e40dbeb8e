// Command sgemm generates convkit's amd64 SGEMM micro-kernels (AVX2+FMA and
// AVX-512) with Avo. It is run from asm/doc.go:
//
//	go run -C ../gen ./sgemm -out ../asm/sgemm_amd64.s -stubs ../asm/sgemm_amd64.go -pkg asm
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
// Micro entry points of the kernels.GemmKernels contract and the AVX2 packing
// routines (an 8x8 transpose and a masked row copy).
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

// isa describes one vector instruction set.
type isa struct {
	name   string // suffix of the kernel names
	lanes  int    // float32 lanes per vector
	avx512 bool
}

var (
	avx2   = isa{name: "AVX2", lanes: 8}
	avx512 = isa{name: "AVX512", lanes: 16, avx512: true}
)

// tile is one register-tile shape of an ISA.
type tile struct {
	isa    isa
	mr, nr int
	// q: also emit the Q kernels, P kernels that prefetch B's rows ahead,
	// for a B read in place (see kloop). Only where measured to pay.
	q bool
}

func (t tile) nv() int { return t.nr / t.isa.lanes }

// tiles lists every shape that is generated. The first of each ISA is the
// one that package gemm uses by default (see gemm/kernels_amd64.go for the
// measurements that chose it); the others are kept for the candidates
// benchmark.
var tiles = []tile{
	{avx2, 6, 16, true},
	{avx2, 4, 24, false},
	{avx2, 12, 8, false},
	{avx512, 14, 32, false},
	{avx512, 12, 32, false},
}

// ctx is the one build context of this program.
var ctx = build.NewContext()

// text starts a NOSPLIT function.
func text(name, sig string) {
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr(sig)
}

func main() {
	avomain.Main("sgemm", ctx, func() {
		genMaskTable()
		for _, t := range tiles {
			for rows := 1; rows <= t.mr; rows++ {
				genKernel(t, 'P', rows)
			}
			for rows := 1; rows <= t.mr; rows++ {
				genKernel(t, 'R', rows)
			}
			for rows := 1; t.q && rows <= t.mr; rows++ {
				genKernel(t, 'Q', rows)
			}
			genMicro(t)
		}
		genPackT8()
		genPackN()
		genPackRows()
		genDotRows4()
		genAxpyRows4()
	})
}

// maskTab holds 8 all-ones int32 followed by 8 zeros: the AVX2 lane mask
// for r live lanes (1..8) is the 8 int32 starting at byte 32-4r.
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

// genMicro emits the kernels.GemmKernels.Micro entry point of a tile: packed
// panels, a full MR x NR tile.
func genMicro(t tile) {
	name := fmt.Sprintf("SgemmMicro%dx%d%s", t.mr, t.nr, t.isa.name)
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

// vec allocates a vector register of the ISA.
func vec(s isa) VecVirtual {
	if s.avx512 {
		return ctx.ZMM()
	}
	return ctx.YMM()
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
			acc[i][v] = vec(t.isa)
			if t.isa.avx512 {
				ctx.VPXORD(acc[i][v], acc[i][v], acc[i][v])
			} else {
				ctx.VXORPS(acc[i][v], acc[i][v], acc[i][v])
			}
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
		var m mask
		if t.isa.avx512 {
			ones := ctx.GP32()
			ctx.MOVL(U32(0xffffffff), ones)
			kr := ctx.GP32()
			ctx.BZHIL(r.As32(), ones, kr)
			m.k = ctx.K()
			ctx.KMOVW(kr, m.k)
		} else {
			// mp = maskTab + 32 - 4r
			m.p = ctx.GP64()
			ctx.LEAQ(maskTab.Offset(32), m.p)
			ctx.SHLQ(Imm(2), r)
			ctx.SUBQ(r, m.p)
		}
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

// mask is the lane mask of the last live vector on the n edge.
type mask struct {
	k OpmaskVirtual // AVX-512
	p GPVirtual     // AVX2: address of the 8 int32 lane mask
}

// kloop emits the k loop over l live vectors per row, unrolled u times
// (u is 4 or 2), with masked loads of the last vector when m != nil.
func kloop(o operands, acc [][]VecVirtual, l int, m *mask, u int, lbl string) {
	t := o.t
	vbytes := 4 * t.isa.lanes
	bv := make([]VecVirtual, l)
	for v := range bv {
		bv[v] = vec(t.isa)
	}
	// Two broadcast registers let consecutive rows overlap; AVX2 has room
	// for one only (12 accumulators + 2 B + 1).
	nb := 1
	if t.isa.avx512 {
		nb = 2
	}
	bc := make([]VecVirtual, nb)
	for i := range bc {
		bc[i] = vec(t.isa)
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
			switch {
			case m != nil && v == l-1 && t.isa.avx512:
				ctx.VMOVUPS_Z(src, m.k, bv[v])
			case m != nil && v == l-1:
				// The mask rides in the destination register itself, so
				// the edge loop needs no extra vector register.
				ctx.VMOVDQU(Mem{Base: m.p}, bv[v])
				ctx.VMASKMOVPS(src, bv[v], bv[v])
			default:
				ctx.VMOVUPS(src, bv[v])
			}
		}
		for i := 0; i < o.rows; i++ {
			am := aMem(i, step)
			if t.isa.avx512 && l == 1 {
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
	vbytes := 4 * t.isa.lanes
	alpha := vec(t.isa)
	ctx.VBROADCASTSS(o.alpha, alpha)
	var am VecVirtual // AVX2 mask register
	if m != nil && !t.isa.avx512 {
		am = vec(t.isa)
		ctx.VMOVDQU(Mem{Base: m.p}, am)
	}
	bits := ctx.GP32()
	ctx.MOVL(o.beta, bits)
	// beta == +0 or -0: C must not be read (it may hold NaN).
	ctx.ANDL(U32(0x7fffffff), bits)
	ctx.JZ(LabelRef(lbl + "beta0"))

	store := func(withBeta bool, beta VecVirtual) {
		c, ldc := o.loadC()
		tmp := vec(t.isa)
		for i := 0; i < o.rows; i++ {
			for v := 0; v < l; v++ {
				dst := Mem{Base: c, Disp: v * vbytes}
				masked := m != nil && v == l-1
				ctx.VMULPS(alpha, acc[i][v], acc[i][v])
				if withBeta {
					switch {
					case masked && t.isa.avx512:
						ctx.VMOVUPS_Z(dst, m.k, tmp)
					case masked:
						ctx.VMASKMOVPS(dst, am, tmp)
					default:
						ctx.VMOVUPS(dst, tmp)
					}
					ctx.VFMADD231PS(tmp, beta, acc[i][v])
				}
				switch {
				case masked && t.isa.avx512:
					ctx.VMOVUPS(acc[i][v], m.k, dst)
				case masked:
					ctx.VMASKMOVPS(acc[i][v], am, dst)
				default:
					ctx.VMOVUPS(acc[i][v], dst)
				}
			}
			if i+1 < o.rows {
				ctx.ADDQ(ldc, c)
			}
		}
	}
	beta := vec(t.isa)
	ctx.VBROADCASTSS(o.beta, beta)
	store(true, beta)
	o.exit()
	ctx.Label(lbl + "beta0")
	store(false, nil)
	o.exit()
}

// genPackT8 emits the transposing pack: eight source rows, contiguous
// along p, become eight consecutive lanes of a panel row of width w.
func genPackT8() {
	text("SgemmPackT8AVX2", "func(dst *float32, w int, rows *[8]*float32, n8 int)")
	ctx.Doc(
		"SgemmPackT8AVX2 transposes eight rows of 8*n8 floats into a panel of width w >= 1:",
		"",
		"\tfor p < 8*n8, r < 8:",
		"\t  dst[p*w+r] = rows[r][p]",
		"",
		"It writes the 8 lanes of every panel row, so for w < 8 (or a last group of",
		"lanes that is narrower than 8) it spills into the next row's first lanes,",
		"and past the last row by up to 8 floats: callers pack groups from last to",
		"first and leave that much slack after the buffer. AVX2 only, so it serves",
		"the AVX-512 path too.",
	)
	ctx.Pragma("noescape")
	dst := ctx.Load(ctx.Param("dst"), ctx.GP64())
	w := byteStride("w")
	rp := ctx.Load(ctx.Param("rows"), ctx.GP64())
	n := ctx.Load(ctx.Param("n8"), ctx.GP64())
	var row [8]GPVirtual
	for r := range row {
		row[r] = ctx.GP64().(GPVirtual)
		ctx.MOVQ(Mem{Base: rp, Disp: 8 * r}, row[r])
	}
	off := ctx.GP64()
	ctx.XORQ(off, off)
	ctx.TESTQ(n, n)
	ctx.JZ(LabelRef("done"))
	ctx.Label("loop")
	var x [8]VecVirtual
	for r := range x {
		x[r] = ctx.YMM()
		ctx.VMOVUPS(Mem{Base: row[r], Index: off, Scale: 1}, x[r])
	}
	// Standard 8x8 transpose: interleave pairs, then quads, then halves.
	var t [8]VecVirtual
	for i := range t {
		t[i] = ctx.YMM()
	}
	for i := 0; i < 4; i++ {
		ctx.VUNPCKLPS(x[2*i+1], x[2*i], t[2*i])
		ctx.VUNPCKHPS(x[2*i+1], x[2*i], t[2*i+1])
	}
	// t0 = r0/r1 low pairs, t1 = r0/r1 high, t2 = r2/r3 low, ...
	ctx.VSHUFPS(U8(0x44), t[2], t[0], x[0])
	ctx.VSHUFPS(U8(0xEE), t[2], t[0], x[1])
	ctx.VSHUFPS(U8(0x44), t[3], t[1], x[2])
	ctx.VSHUFPS(U8(0xEE), t[3], t[1], x[3])
	ctx.VSHUFPS(U8(0x44), t[6], t[4], x[4])
	ctx.VSHUFPS(U8(0xEE), t[6], t[4], x[5])
	ctx.VSHUFPS(U8(0x44), t[7], t[5], x[6])
	ctx.VSHUFPS(U8(0xEE), t[7], t[5], x[7])
	// x0..x3 hold columns {0,1,2,3} of rows 0-3 in each 128-bit half,
	// x4..x7 the same of rows 4-7; combine halves.
	out := [8]struct {
		lo, hi VecVirtual
		imm    uint8
	}{
		{x[0], x[4], 0x20}, {x[1], x[5], 0x20}, {x[2], x[6], 0x20}, {x[3], x[7], 0x20},
		{x[0], x[4], 0x31}, {x[1], x[5], 0x31}, {x[2], x[6], 0x31}, {x[3], x[7], 0x31},
	}
	for p, o := range out {
		ctx.VPERM2F128(U8(o.imm), o.hi, o.lo, t[p])
	}
	for p := range t {
		ctx.VMOVUPS(t[p], Mem{Base: dst})
		ctx.ADDQ(w, dst)
		_ = p
	}
	ctx.ADDQ(U8(32), off)
	ctx.DECQ(n)
	ctx.JNZ(LabelRef("loop"))
	ctx.Label("done")
	ctx.VZEROUPPER()
	ctx.RET()
}

// genPackN emits the copying pack: rows of n floats (1 <= n <= 32) at
// stride ld become panel rows at stride dw.
func genPackN() {
	text("SgemmPackNAVX2", "func(dst *float32, dw int, src *float32, ld int, n int, rows int)")
	ctx.Doc(
		"SgemmPackNAVX2 copies rows >= 0 rows of n floats (1 <= n <= 32):",
		"",
		"\tfor p < rows, j < n:",
		"\t  dst[p*dw+j] = src[p*ld+j]",
		"",
		"It reads nothing outside those elements (the last vector of a row is a",
		"masked load) but writes whole 8-float vectors, so it spills up to 7 floats",
		"past n into the next panel row (rewritten next) and past the last row:",
		"callers leave that much slack after the buffer.",
	)
	ctx.Pragma("noescape")
	dst := ctx.Load(ctx.Param("dst"), ctx.GP64())
	dw := byteStride("dw")
	src := ctx.Load(ctx.Param("src"), ctx.GP64())
	ld := byteStride("ld")
	n := ctx.Load(ctx.Param("n"), ctx.GP64())
	rows := ctx.Load(ctx.Param("rows"), ctx.GP64())
	ctx.TESTQ(rows, rows)
	ctx.JZ(LabelRef("done"))
	// nv = ceil(n/8) vectors per row, the last masked.
	byVectorCount(n, func(nv int, m VecVirtual) {
		x := make([]VecVirtual, nv)
		for v := range x {
			x[v] = ctx.YMM()
		}
		lbl := fmt.Sprintf("loop%d", nv)
		ctx.Label(lbl)
		loadRow(src, x, m)
		storeRow(x, dst, m, false)
		ctx.ADDQ(ld, src)
		ctx.ADDQ(dw, dst)
		ctx.DECQ(rows)
		ctx.JNZ(LabelRef(lbl))
		ctx.JMP(LabelRef("done"))
	})
	ctx.Label("done")
	ctx.VZEROUPPER()
	ctx.RET()
}

// genDotRows4 emits four dot products sharing one vector, for the
// matrix-vector products (gemm/gemv.go): four matrix rows stream side by
// side, four times the memory-level parallelism of one Dot per row, and
// x is loaded once for all four. AVX2 only: these products are bound by
// memory, not by vector width, so it serves the AVX-512 path too.
func genDotRows4() {
	text("SgemmDotRows4AVX2", "func(x *float32, rows *[4]*float32, k int, out *[4]float32)")
	ctx.Doc(
		"SgemmDotRows4AVX2 computes four dot products of length k >= 0 with x:",
		"",
		"\tfor r < 4:",
		"\t  out[r] = sum over p < k of rows[r][p] * x[p]",
		"",
		"It reads nothing outside x[:k] and rows[r][:k] (the last partial vector",
		"is a masked load).",
	)
	ctx.Pragma("noescape")
	xp := ctx.Load(ctx.Param("x"), ctx.GP64())
	rp := ctx.Load(ctx.Param("rows"), ctx.GP64())
	k := ctx.Load(ctx.Param("k"), ctx.GP64())
	var row [4]GPVirtual
	for r := range row {
		row[r] = ctx.GP64().(GPVirtual)
		ctx.MOVQ(Mem{Base: rp, Disp: 8 * r}, row[r])
	}
	var acc [4][2]VecVirtual
	for r := range acc {
		for v := range acc[r] {
			acc[r][v] = ctx.YMM()
			ctx.VXORPS(acc[r][v], acc[r][v], acc[r][v])
		}
	}
	floatLoop(k, "reduce", func(off GPVirtual, nv int, m VecVirtual) {
		if m != nil {
			// k mod 8 floats: masked lanes read as 0, into the second
			// accumulators (free in this step).
			x1 := ctx.YMM()
			ctx.VMASKMOVPS(Mem{Base: xp, Index: off, Scale: 1}, m, x1)
			for r := range row {
				y := ctx.YMM()
				ctx.VMASKMOVPS(Mem{Base: row[r], Index: off, Scale: 1}, m, y)
				ctx.VFMADD231PS(y, x1, acc[r][1])
			}
			return
		}
		xv := make([]VecVirtual, nv)
		for v := range xv {
			xv[v] = ctx.YMM()
			ctx.VMOVUPS(Mem{Base: xp, Index: off, Scale: 1, Disp: 32 * v}, xv[v])
		}
		for r := range row {
			for v := range xv {
				ctx.VFMADD231PS(Mem{Base: row[r], Index: off, Scale: 1, Disp: 32 * v}, xv[v], acc[r][v])
			}
		}
	})

	ctx.Label("reduce")
	outp := ctx.Load(ctx.Param("out"), ctx.GP64())
	for r := range acc {
		s := acc[r][0]
		ctx.VADDPS(acc[r][1], s, s)
		hi := ctx.XMM()
		ctx.VEXTRACTF128(U8(1), s, hi)
		lo := s.AsX()
		ctx.VADDPS(hi, lo, lo)
		ctx.VMOVHLPS(lo, lo, hi)
		ctx.VADDPS(hi, lo, lo)
		ctx.VMOVSHDUP(lo, hi)
		ctx.VADDSS(hi, lo, lo)
		ctx.VMOVSS(lo, Mem{Base: outp, Disp: 4 * r})
	}
	ctx.VZEROUPPER()
	ctx.RET()
}

// genAxpyRows4 emits the accumulation of four scaled rows into one vector,
// for the matrix-vector products whose matrix rows run along the output
// (gemm/gemv.go): four row streams side by side, and the accumulator loaded
// and stored once per four rows instead of once per row. AVX2 only, like
// genDotRows4.
func genAxpyRows4() {
	text("SgemmAxpyRows4AVX2", "func(acc *float32, n int, rows *[4]*float32, x *[4]float32)")
	ctx.Doc(
		"SgemmAxpyRows4AVX2 adds four scaled rows of length n >= 0 to acc:",
		"",
		"\tfor j < n:",
		"\t  acc[j] += x[0]*rows[0][j] + x[1]*rows[1][j] + x[2]*rows[2][j] + x[3]*rows[3][j]",
		"",
		"with one fused multiply-add per term, in that order. It reads and writes",
		"nothing outside acc[:n] and rows[r][:n] (the last partial vector is",
		"masked).",
	)
	ctx.Pragma("noescape")
	ap := ctx.Load(ctx.Param("acc"), ctx.GP64())
	n := ctx.Load(ctx.Param("n"), ctx.GP64())
	rp := ctx.Load(ctx.Param("rows"), ctx.GP64())
	xp := ctx.Load(ctx.Param("x"), ctx.GP64())
	var row [4]GPVirtual
	var xs [4]VecVirtual
	for r := range row {
		row[r] = ctx.GP64().(GPVirtual)
		ctx.MOVQ(Mem{Base: rp, Disp: 8 * r}, row[r])
		xs[r] = ctx.YMM()
		ctx.VBROADCASTSS(Mem{Base: xp, Disp: 4 * r}, xs[r])
	}
	floatLoop(n, "done", func(off GPVirtual, nv int, m VecVirtual) {
		a := make([]VecVirtual, nv)
		for v := range a {
			a[v] = ctx.YMM()
			if m != nil {
				ctx.VMASKMOVPS(Mem{Base: ap, Index: off, Scale: 1}, m, a[v])
			} else {
				ctx.VMOVUPS(Mem{Base: ap, Index: off, Scale: 1, Disp: 32 * v}, a[v])
			}
		}
		for r := range row {
			for v := range a {
				if m != nil {
					y := ctx.YMM()
					ctx.VMASKMOVPS(Mem{Base: row[r], Index: off, Scale: 1}, m, y)
					ctx.VFMADD231PS(y, xs[r], a[v])
				} else {
					ctx.VFMADD231PS(Mem{Base: row[r], Index: off, Scale: 1, Disp: 32 * v}, xs[r], a[v])
				}
			}
		}
		for v := range a {
			if m != nil {
				ctx.VMASKMOVPS(a[v], m, Mem{Base: ap, Index: off, Scale: 1})
			} else {
				ctx.VMOVUPS(a[v], Mem{Base: ap, Index: off, Scale: 1, Disp: 32 * v})
			}
		}
	})
	ctx.Label("done")
	ctx.VZEROUPPER()
	ctx.RET()
}

// genPackRows emits the row-order pack of whole B panels: where genPackN
// walks one panel down all its rows (one line per row, a new page per row
// for a wide B, where the hardware prefetchers stop), this reads each
// source row once, start to end, and deals it out to the panels.
func genPackRows() {
	text("SgemmPackRowsAVX2", "func(dst *float32, w int, ps int, src *float32, ld int, panels int, rows int)")
	ctx.Doc(
		"SgemmPackRowsAVX2 packs panels >= 1 whole panels of w floats (1 <= w <= 32)",
		"from rows >= 1 rows, a row at a time:",
		"",
		"\tfor p < rows, q < panels, j < w:",
		"\t  dst[q*ps+p*w+j] = src[p*ld+q*w+j]",
		"",
		"It reads nothing outside those elements (the last vector of a panel row",
		"is a masked load). It writes whole 8-float vectors into every row but",
		"the last, spilling up to 7 floats into the next row of the same panel",
		"(written next); the last row's partial vector is a masked store, so",
		"nothing is written past a panel's rows*w floats.",
	)
	ctx.Pragma("noescape")
	dst := ctx.Load(ctx.Param("dst"), ctx.GP64())
	w := ctx.Load(ctx.Param("w"), ctx.GP64())
	ps := byteStride("ps")
	src := ctx.Load(ctx.Param("src"), ctx.GP64())
	ld := byteStride("ld")
	panels := ctx.Load(ctx.Param("panels"), ctx.GP64())
	rows := ctx.Load(ctx.Param("rows"), ctx.GP64())
	ctx.TESTQ(rows, rows)
	ctx.JZ(LabelRef("done"))
	ctx.TESTQ(panels, panels)
	ctx.JZ(LabelRef("done"))
	// nv = ceil(w/8) vectors per panel row, the last masked.
	byVectorCount(w, func(nv int, m VecVirtual) {
		wb := ctx.GP64() // w in bytes: the source step between panels, the panel row step
		ctx.MOVQ(w, wb)
		ctx.SHLQ(Imm(2), wb)
		x := make([]VecVirtual, nv)
		for v := range x {
			x[v] = ctx.YMM()
		}
		copyRow := func(lbl string, last bool) {
			s, d, q := ctx.GP64(), ctx.GP64(), ctx.GP64()
			ctx.MOVQ(src, s)
			ctx.MOVQ(dst, d)
			ctx.MOVQ(panels, q)
			ctx.Label(lbl)
			loadRow(s, x, m)
			storeRow(x, d, m, last)
			ctx.ADDQ(wb, s)
			ctx.ADDQ(ps, d)
			ctx.DECQ(q)
			ctx.JNZ(LabelRef(lbl))
		}
		ctx.DECQ(rows) // rows-1 rows with whole stores, then the last
		ctx.JZ(LabelRef(fmt.Sprintf("last%d", nv)))
		ctx.Label(fmt.Sprintf("row%d", nv))
		copyRow(fmt.Sprintf("panel%d", nv), false)
		ctx.ADDQ(ld, src)
		ctx.ADDQ(wb, dst)
		ctx.DECQ(rows)
		ctx.JNZ(LabelRef(fmt.Sprintf("row%d", nv)))
		ctx.Label(fmt.Sprintf("last%d", nv))
		copyRow(fmt.Sprintf("lastpanel%d", nv), true)
		ctx.JMP(LabelRef("done"))
	})
	ctx.Label("done")
	ctx.VZEROUPPER()
	ctx.RET()
}

// laneMaskFor loads the AVX2 lane mask of r live lanes (1..8), r in a
// register it consumes (it is scaled in place), from maskTab.
func laneMaskFor(r GPVirtual) VecVirtual {
	mp := ctx.GP64()
	ctx.LEAQ(maskTab.Offset(32), mp)
	ctx.SHLQ(Imm(2), r)
	ctx.SUBQ(r, mp)
	m := ctx.YMM()
	ctx.VMOVDQU(Mem{Base: mp}, m)
	return m
}

// byVectorCount emits a branch on n (1..32 floats) to one copy of body per
// vector count nv = ceil(n/8) = 1..4, passing the lane mask of the last
// vector (n-8(nv-1) live lanes). Each body must end by jumping away.
func byVectorCount(n Register, body func(nv int, m VecVirtual)) {
	for v := 1; v < 4; v++ {
		ctx.CMPQ(n, U32(8*v))
		ctx.JLE(LabelRef(fmt.Sprintf("nv%d", v)))
	}
	ctx.JMP(LabelRef("nv4"))
	for nv := 1; nv <= 4; nv++ {
		ctx.Label(fmt.Sprintf("nv%d", nv))
		r := ctx.GP64()
		ctx.MOVQ(n, r)
		if nv > 1 {
			ctx.SUBQ(U32(8*(nv-1)), r)
		}
		body(nv, laneMaskFor(r.(GPVirtual)))
	}
}

// loadRow loads the nv vectors of a row at base into x, the last one
// masked by m (masked lanes read as 0 and touch no memory).
func loadRow(base Register, x []VecVirtual, m VecVirtual) {
	for v := range x {
		if v == len(x)-1 {
			ctx.VMASKMOVPS(Mem{Base: base, Disp: 32 * v}, m, x[v])
		} else {
			ctx.VMOVUPS(Mem{Base: base, Disp: 32 * v}, x[v])
		}
	}
}

// storeRow stores the nv vectors x at base, the last one masked by m when
// masked (else whole, spilling past the row).
func storeRow(x []VecVirtual, base Register, m VecVirtual, masked bool) {
	for v := range x {
		if masked && v == len(x)-1 {
			ctx.VMASKMOVPS(x[v], m, Mem{Base: base, Disp: 32 * v})
		} else {
			ctx.VMOVUPS(x[v], Mem{Base: base, Disp: 32 * v})
		}
	}
}

// byteStride loads the int parameter name, a count of floats (a leading
// dimension or panel stride), as bytes.
func byteStride(name string) GPVirtual {
	r := ctx.Load(ctx.Param(name), ctx.GP64()).(GPVirtual)
	ctx.SHLQ(Imm(2), r)
	return r
}

// floatLoop emits a loop over n >= 0 floats (n in a register it leaves
// intact), with off the byte offset of the current floats: body(off, 2,
// nil) per 16 floats, body(off, 1, nil) for a remaining 8, then body(off,
// 1, m) with the lane mask of the last n mod 8, and on to label exit.
func floatLoop(n Register, exit string, body func(off GPVirtual, nv int, m VecVirtual)) {
	off := ctx.GP64().(GPVirtual)
	ctx.XORQ(off, off)
	cnt := ctx.GP64()
	ctx.MOVQ(n, cnt)
	ctx.SHRQ(U8(4), cnt)
	ctx.JZ(LabelRef("tail8"))
	ctx.Label("loop")
	body(off, 2, nil)
	ctx.ADDQ(U8(64), off)
	ctx.DECQ(cnt)
	ctx.JNZ(LabelRef("loop"))
	ctx.Label("tail8")
	ctx.TESTQ(U32(8), n)
	ctx.JZ(LabelRef("tail1"))
	body(off, 1, nil)
	ctx.ADDQ(U8(32), off)
	ctx.Label("tail1")
	rem := ctx.GP64()
	ctx.MOVQ(n, rem)
	ctx.ANDQ(U8(7), rem)
	ctx.JZ(LabelRef(exit))
	body(off, 1, laneMaskFor(rem.(GPVirtual)))
}
