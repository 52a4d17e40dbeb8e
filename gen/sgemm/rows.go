package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The row kernels of one ISA: the packing routines of package gemm's
// driver and the four-row kernels of its matrix-vector products
// (gemm/gemv.go). Each is written once against the isa description;
// partial vectors are masked (opmasks or VMASKMOVPS lane masks).

// rowKernelName is the exported name of a row kernel, e.g. SgemmPackNAVX2.
func rowKernelName(base string, s isa) string { return "Sgemm" + base + s.name }

// packTBase is the base name of the transposing pack of an ISA: it
// transposes lanes x lanes blocks (PackT8, PackT16).
func packTBase(s isa) string { return fmt.Sprintf("PackT%d", s.lanes) }

// maxRowPointers is how many source row pointers the transposing pack
// keeps in general registers across its loop (with dst, w, n and the
// offset: 12 of amd64's 16); with more rows it reloads them every block.
const maxRowPointers = 8

// genPackT emits the transposing pack: lanes source rows, contiguous
// along p, become lanes consecutive lanes of a panel row of width w.
func genPackT(s isa) {
	L := s.lanes
	name := rowKernelName(packTBase(s), s)
	count := fmt.Sprintf("n%d", L)
	text(name, fmt.Sprintf("func(dst *float32, w int, rows **float32, %s int)", count))
	ctx.Doc(
		fmt.Sprintf("%s transposes %d rows of %d*%s floats, whose pointers are at rows, into", name, L, L, count),
		"a panel of width w >= 1:",
		"",
		fmt.Sprintf("\tfor p < %d*%s, r < %d:", L, count, L),
		"\t  dst[p*w+r] = row(r)[p]    (row(r): the r-th pointer at rows)",
		"",
		fmt.Sprintf("It writes the %d lanes of every panel row, so for w < %d (or a last group of", L, L),
		fmt.Sprintf("lanes that is narrower than %d) it spills into the next row's first lanes,", L),
		fmt.Sprintf("and past the last row by up to %d floats: callers pack groups from last to", L),
		"first and leave that much slack after the buffer.",
	)
	ctx.Pragma("noescape")
	dst := ctx.Load(ctx.Param("dst"), ctx.GP64())
	w := byteStride("w")
	rp := ctx.Load(ctx.Param("rows"), ctx.GP64())
	n := ctx.Load(ctx.Param(count), ctx.GP64())
	var row []GPVirtual // nil: reloaded from rp in the loop
	if L <= maxRowPointers {
		row = make([]GPVirtual, L)
		for r := range row {
			row[r] = ctx.GP64().(GPVirtual)
			ctx.MOVQ(Mem{Base: rp, Disp: 8 * r}, row[r])
		}
	}
	off := ctx.GP64()
	ctx.XORQ(off, off)
	ctx.TESTQ(n, n)
	ctx.JZ(LabelRef("done"))
	ctx.Label("loop")
	x := make([]VecVirtual, L)
	for r := range x {
		x[r] = s.vec()
		base := Register(nil)
		if row != nil {
			base = row[r]
		} else {
			base = ctx.GP64()
			ctx.MOVQ(Mem{Base: rp, Disp: 8 * r}, base)
		}
		ctx.VMOVUPS(Mem{Base: base, Index: off, Scale: 1}, x[r])
	}
	t := make([]VecVirtual, L)
	for i := range t {
		t[i] = s.vec()
	}
	for _, v := range s.transpose(x, t) {
		ctx.VMOVUPS(v, Mem{Base: dst})
		ctx.ADDQ(w, dst)
	}
	ctx.ADDQ(U8(s.vbytes()), off)
	ctx.DECQ(n)
	ctx.JNZ(LabelRef("loop"))
	ctx.Label("done")
	ctx.VZEROUPPER()
	ctx.RET()
}

// genPackN emits the copying pack: rows of n floats (1 <= n <= 32) at
// stride ld become panel rows at stride dw.
func genPackN(s isa) {
	name := rowKernelName("PackN", s)
	text(name, "func(dst *float32, dw int, src *float32, ld int, n int, rows int)")
	ctx.Doc(
		name+" copies rows >= 0 rows of n floats (1 <= n <= 32):",
		"",
		"\tfor p < rows, j < n:",
		"\t  dst[p*dw+j] = src[p*ld+j]",
		"",
		"It reads nothing outside those elements (the last vector of a row is a",
		fmt.Sprintf("masked load) but writes whole %d-float vectors, so it spills up to %d floats", s.lanes, s.lanes-1),
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
	// nv = ceil(n/lanes) vectors per row, the last masked.
	byVectorCount(s, n, func(nv int, m mask) {
		x := make([]VecVirtual, nv)
		for v := range x {
			x[v] = s.vec()
		}
		lbl := fmt.Sprintf("loop%d", nv)
		ctx.Label(lbl)
		loadRow(s, src, x, m)
		storeRow(s, x, dst, m, false)
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

// genPackRows emits the row-order pack of whole B panels: where genPackN
// walks one panel down all its rows (one line per row, a new page per row
// for a wide B, where the hardware prefetchers stop), this reads each
// source row once, start to end, and deals it out to the panels.
func genPackRows(s isa) {
	name := rowKernelName("PackRows", s)
	text(name, "func(dst *float32, w int, ps int, src *float32, ld int, panels int, rows int)")
	ctx.Doc(
		fmt.Sprintf("%s packs panels >= 1 whole panels of w floats (%d <= w <= 32)", name, s.lanes/2),
		"from rows >= 1 rows, a row at a time:",
		"",
		"\tfor p < rows, q < panels, j < w:",
		"\t  dst[q*ps+p*w+j] = src[p*ld+q*w+j]",
		"",
		"It reads nothing outside those elements (the last vector of a panel row",
		fmt.Sprintf("is a masked load). It writes whole %d-float vectors into every row but", s.lanes),
		fmt.Sprintf("the last, spilling up to %d floats into the next row of the same panel", s.lanes/2),
		fmt.Sprintf("(written next: w >= %d keeps the spill inside it); the last row's partial", s.lanes/2),
		"vector is a masked store, so nothing is written past a panel's rows*w",
		"floats.",
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
	// nv = ceil(w/lanes) vectors per panel row, the last masked.
	byVectorCount(s, w, func(nv int, m mask) {
		wb := ctx.GP64() // w in bytes: the source step between panels, the panel row step
		ctx.MOVQ(w, wb)
		ctx.SHLQ(Imm(2), wb)
		x := make([]VecVirtual, nv)
		for v := range x {
			x[v] = s.vec()
		}
		copyRow := func(lbl string, last bool) {
			sp, d, q := ctx.GP64(), ctx.GP64(), ctx.GP64()
			ctx.MOVQ(src, sp)
			ctx.MOVQ(dst, d)
			ctx.MOVQ(panels, q)
			ctx.Label(lbl)
			loadRow(s, sp, x, m)
			storeRow(s, x, d, m, last)
			ctx.ADDQ(wb, sp)
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

// genDotRows4 emits four dot products sharing one vector, for the
// matrix-vector products (gemm/gemv.go): four matrix rows stream side by
// side, four times the memory-level parallelism of one Dot per row, and
// x is loaded once for all four.
func genDotRows4(s isa) {
	name := rowKernelName("DotRows4", s)
	text(name, "func(x *float32, rows *[4]*float32, k int, out *[4]float32)")
	ctx.Doc(
		name+" computes four dot products of length k >= 0 with x:",
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
			acc[r][v] = s.vec()
			s.zero(acc[r][v])
		}
	}
	vb := s.vbytes()
	floatLoop(s, k, "reduce", func(off GPVirtual, nv int, m *mask) {
		if m != nil {
			// k mod lanes floats: masked lanes read as 0, into the
			// second accumulators (free in this step).
			x1 := s.vec()
			s.loadMasked(Mem{Base: xp, Index: off, Scale: 1}, *m, x1)
			for r := range row {
				y := s.vec()
				s.loadMasked(Mem{Base: row[r], Index: off, Scale: 1}, *m, y)
				ctx.VFMADD231PS(y, x1, acc[r][1])
			}
			return
		}
		xv := make([]VecVirtual, nv)
		for v := range xv {
			xv[v] = s.vec()
			ctx.VMOVUPS(Mem{Base: xp, Index: off, Scale: 1, Disp: vb * v}, xv[v])
		}
		for r := range row {
			for v := range xv {
				ctx.VFMADD231PS(Mem{Base: row[r], Index: off, Scale: 1, Disp: vb * v}, xv[v], acc[r][v])
			}
		}
	})

	ctx.Label("reduce")
	outp := ctx.Load(ctx.Param("out"), ctx.GP64())
	for r := range acc {
		sum := acc[r][0]
		ctx.VADDPS(acc[r][1], sum, sum)
		ctx.VMOVSS(s.hsum(sum), Mem{Base: outp, Disp: 4 * r})
	}
	ctx.VZEROUPPER()
	ctx.RET()
}

// genAxpyRows4 emits the accumulation of four scaled rows into one vector,
// for the matrix-vector products whose matrix rows run along the output
// (gemm/gemv.go): four row streams side by side, and the accumulator loaded
// and stored once per four rows instead of once per row.
func genAxpyRows4(s isa) {
	name := rowKernelName("AxpyRows4", s)
	text(name, "func(acc *float32, n int, rows *[4]*float32, x *[4]float32)")
	ctx.Doc(
		name+" adds four scaled rows of length n >= 0 to acc:",
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
		xs[r] = s.vec()
		ctx.VBROADCASTSS(Mem{Base: xp, Disp: 4 * r}, xs[r])
	}
	vb := s.vbytes()
	floatLoop(s, n, "done", func(off GPVirtual, nv int, m *mask) {
		a := make([]VecVirtual, nv)
		for v := range a {
			a[v] = s.vec()
			s.load(Mem{Base: ap, Index: off, Scale: 1, Disp: vb * v}, m, a[v])
		}
		for r := range row {
			for v := range a {
				src := Mem{Base: row[r], Index: off, Scale: 1, Disp: vb * v}
				if m != nil {
					y := s.vec()
					s.loadMasked(src, *m, y)
					ctx.VFMADD231PS(y, xs[r], a[v])
				} else {
					ctx.VFMADD231PS(src, xs[r], a[v])
				}
			}
		}
		for v := range a {
			s.store(a[v], m, Mem{Base: ap, Index: off, Scale: 1, Disp: vb * v})
		}
	})
	ctx.Label("done")
	ctx.VZEROUPPER()
	ctx.RET()
}

// byVectorCount emits a branch on n (1..32 floats) to one copy of body per
// vector count nv = ceil(n/lanes), passing the loaded lane mask of the last
// vector (n-lanes*(nv-1) live lanes). Each body must end by jumping away.
func byVectorCount(s isa, n Register, body func(nv int, m mask)) {
	maxNV := 32 / s.lanes
	for v := 1; v < maxNV; v++ {
		ctx.CMPQ(n, U32(s.lanes*v))
		ctx.JLE(LabelRef(fmt.Sprintf("nv%d", v)))
	}
	ctx.JMP(LabelRef(fmt.Sprintf("nv%d", maxNV)))
	for nv := 1; nv <= maxNV; nv++ {
		ctx.Label(fmt.Sprintf("nv%d", nv))
		r := ctx.GP64()
		ctx.MOVQ(n, r)
		if nv > 1 {
			ctx.SUBQ(U32(s.lanes*(nv-1)), r)
		}
		body(nv, s.loaded(s.tailMask(r.(GPVirtual))))
	}
}

// loadRow loads the nv vectors of a row at base into x, the last one
// masked by m (masked lanes read as 0 and touch no memory).
func loadRow(s isa, base Register, x []VecVirtual, m mask) {
	for v := range x {
		src := Mem{Base: base, Disp: s.vbytes() * v}
		if v == len(x)-1 {
			s.loadMasked(src, m, x[v])
		} else {
			ctx.VMOVUPS(src, x[v])
		}
	}
}

// storeRow stores the nv vectors x at base, the last one masked by m when
// masked (else whole, spilling past the row).
func storeRow(s isa, x []VecVirtual, base Register, m mask, masked bool) {
	for v := range x {
		dst := Mem{Base: base, Disp: s.vbytes() * v}
		if masked && v == len(x)-1 {
			s.storeMasked(x[v], m, dst)
		} else {
			ctx.VMOVUPS(x[v], dst)
		}
	}
}

// floatLoop emits a loop over n >= 0 floats (n in a register it leaves
// intact), with off the byte offset of the current floats: body(off, 2,
// nil) per two vectors, body(off, 1, nil) for a remaining one, then
// body(off, 1, m) with the lane mask of the last n mod lanes floats, and
// on to label exit.
func floatLoop(s isa, n Register, exit string, body func(off GPVirtual, nv int, m *mask)) {
	off := ctx.GP64().(GPVirtual)
	ctx.XORQ(off, off)
	cnt := ctx.GP64()
	ctx.MOVQ(n, cnt)
	shift := 1 // log2 of the floats of two vectors
	for 1<<shift < 2*s.lanes {
		shift++
	}
	ctx.SHRQ(U8(shift), cnt)
	single := fmt.Sprintf("tail%d", s.lanes)
	ctx.JZ(LabelRef(single))
	ctx.Label("loop")
	body(off, 2, nil)
	ctx.ADDQ(U8(2*s.vbytes()), off)
	ctx.DECQ(cnt)
	ctx.JNZ(LabelRef("loop"))
	ctx.Label(single)
	ctx.TESTQ(U32(s.lanes), n)
	ctx.JZ(LabelRef("tail1"))
	body(off, 1, nil)
	ctx.ADDQ(U8(s.vbytes()), off)
	ctx.Label("tail1")
	rem := ctx.GP64()
	ctx.MOVQ(n, rem)
	ctx.ANDQ(U8(s.lanes-1), rem)
	ctx.JZ(LabelRef(exit))
	m := s.loaded(s.tailMask(rem.(GPVirtual)))
	body(off, 1, &m)
}
