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

	"github.com/convkit/convkit/gen/kw"
	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// ctx is the Avo context of the AVX2 kernels not yet on the layer.
var ctx *build.Context

// text starts a NOSPLIT function.
func text(name, sig string) {
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.SignatureExpr(sig)
}

func main() {
	kw.MainWith("sgemm", "sgemmMaskTab", tileFamily, func(avx2 kw.Backend) {
		ctx, maskTab = kw.Context(avx2), kw.MaskTable(avx2)
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
	w := byteStrideAVX2("w")
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
	dw := byteStrideAVX2("dw")
	src := ctx.Load(ctx.Param("src"), ctx.GP64())
	ld := byteStrideAVX2("ld")
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
	ps := byteStrideAVX2("ps")
	src := ctx.Load(ctx.Param("src"), ctx.GP64())
	ld := byteStrideAVX2("ld")
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
func byteStrideAVX2(name string) GPVirtual {
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
