package main

import (
	"fmt"

	"github.com/convkit/convkit/gen/kw"
)

// The row kernels of one ISA: the packing routines of package gemm's
// driver and the four-row kernels of its matrix-vector products
// (gemm/gemv.go). Each is written once against the kw layer; partial
// vectors are masked (opmasks, VMASKMOVPS lane masks) or, on a scalar-tail
// ISA, loaded lane by lane in a copy of the code per live-lane count.

// rowKernelName is the exported name of a row kernel, e.g. SgemmPackNAVX2.
func rowKernelName(base string, i kw.ISA) string { return "Sgemm" + base + i.Name }

// packTBase is the base name of the transposing pack of an ISA: it
// transposes lanes x lanes blocks (PackT4, PackT8, PackT16).
func packTBase(i kw.ISA) string { return fmt.Sprintf("PackT%d", i.Lanes) }

// rowFamily emits every row kernel of f's ISA, in rowMethods' order.
func rowFamily(f *kw.Func) {
	for _, m := range rowMethods {
		m.gen(f)
	}
}

// maxRowPointers is how many source row pointers the transposing pack
// keeps in general registers across its loop (with dst, w, n and the
// offset: 12 of amd64's 16); with more rows it reloads them every block.
const maxRowPointers = 8

// genPackT emits the transposing pack: lanes source rows, contiguous
// along p, become lanes consecutive lanes of a panel row of width w.
func genPackT(f *kw.Func) {
	L := f.ISA.Lanes
	name := rowKernelName(packTBase(f.ISA), f.ISA)
	f.Function(name, "func(dst *float32, w int, rows **float32, blocks int)",
		fmt.Sprintf("%s transposes %d rows of %d*blocks floats, whose pointers are at rows,", name, L, L),
		"into a panel of width w >= 1:",
		"",
		fmt.Sprintf("\tfor p < %d*blocks, r < %d:", L, L),
		"\t  dst[p*w+r] = row(r)[p]    (row(r): the r-th pointer at rows)",
		"",
		fmt.Sprintf("It writes the %d lanes of every panel row, so for w < %d (or a last group of", L, L),
		fmt.Sprintf("lanes that is narrower than %d) it spills into the next row's first lanes,", L),
		fmt.Sprintf("and past the last row by up to %d floats: callers pack groups from last to", L),
		"first and leave that much slack after the buffer.",
	)
	dst := f.Int("dst")
	w := strideBytes(f, "w")
	rp := f.Int("rows")
	n := f.Int("blocks")
	var row []kw.G // nil: reloaded from rp in the loop
	if L <= maxRowPointers {
		row = make([]kw.G, L)
		for r := range row {
			row[r] = f.LoadGP(kw.Mem{Base: rp, Disp: 8 * r})
		}
	}
	off := f.ZeroGP()
	f.JumpIfZero(n, "done")
	f.Label("loop")
	x := make([]kw.V, L)
	for r := range x {
		x[r] = f.Vec()
		base := kw.G{}
		if row != nil {
			base = row[r]
		} else {
			base = f.LoadGP(kw.Mem{Base: rp, Disp: 8 * r})
		}
		f.LoadVec(kw.Mem{Base: base, Index: off, Scale: 1}, x[r])
	}
	for _, v := range f.Transpose(x) {
		f.StoreVec(v, kw.Mem{Base: dst})
		f.AddGP(dst, w)
	}
	f.AddImm(off, f.ISA.VBytes())
	f.DecJumpNonZero(n, "loop")
	f.Label("done")
	f.Ret()
}

// genPackN emits the copying pack: rows of n floats (1 <= n <= 32) at
// stride ld become panel rows at stride dw.
func genPackN(f *kw.Func) {
	L := f.ISA.Lanes
	name := rowKernelName("PackN", f.ISA)
	f.Function(name, "func(dst *float32, dw int, src *float32, ld int, n int, rows int)",
		name+" copies rows >= 0 rows of n floats (1 <= n <= 32):",
		"",
		"\tfor p < rows, j < n:",
		"\t  dst[p*dw+j] = src[p*ld+j]",
		"",
		"It reads nothing outside those elements (the last vector of a row is a",
		fmt.Sprintf("partial load) but writes whole %d-float vectors, so it spills up to %d floats", L, L-1),
		"past n into the next panel row (rewritten next) and past the last row:",
		"callers leave that much slack after the buffer.",
	)
	dst := f.Int("dst")
	dw := strideBytes(f, "dw")
	src := f.Int("src")
	ld := strideBytes(f, "ld")
	n := f.Int("n")
	rows := f.Int("rows")
	f.JumpIfZero(rows, "done")
	// nv = ceil(n/lanes) vectors per row, the last partial.
	f.ByCount(n, 32, "nv", func(nv int, p kw.Partial, lbl string) {
		p = f.ForStores(p)
		x := make([]kw.V, nv)
		for v := range x {
			x[v] = f.Vec()
		}
		loop := "loop" + lbl[len("nv"):]
		f.Label(loop)
		loadRow(f, src, x, p)
		storeRow(f, x, dst, p, false)
		f.AddGP(src, ld)
		f.AddGP(dst, dw)
		f.DecJumpNonZero(rows, loop)
		f.Jump("done")
	})
	f.Label("done")
	f.Ret()
}

// genPackRows emits the row-order pack of whole B panels: where genPackN
// walks one panel down all its rows (one line per row, a new page per row
// for a wide B, where the hardware prefetchers stop), this reads each
// source row once, start to end, and deals it out to the panels.
func genPackRows(f *kw.Func) {
	L := f.ISA.Lanes
	name := rowKernelName("PackRows", f.ISA)
	f.Function(name, "func(dst *float32, w int, ps int, src *float32, ld int, panels int, rows int)",
		fmt.Sprintf("%s packs panels >= 1 whole panels of w floats (%d <= w <= 32)", name, L/2),
		"from rows >= 1 rows, a row at a time:",
		"",
		"\tfor p < rows, q < panels, j < w:",
		"\t  dst[q*ps+p*w+j] = src[p*ld+q*w+j]",
		"",
		"It reads nothing outside those elements (the last vector of a panel row",
		fmt.Sprintf("is a partial load). It writes whole %d-float vectors into every row but", L),
		fmt.Sprintf("the last, spilling up to %d floats into the next row of the same panel", L/2),
		fmt.Sprintf("(written next: w >= %d keeps the spill inside it); the last row's partial", L/2),
		"vector is a partial store, so nothing is written past a panel's rows*w",
		"floats.",
	)
	dst := f.Int("dst")
	w := f.Int("w")
	ps := strideBytes(f, "ps")
	src := f.Int("src")
	ld := strideBytes(f, "ld")
	panels := f.Int("panels")
	rows := f.Int("rows")
	f.JumpIfZero(rows, "done")
	f.JumpIfZero(panels, "done")
	// nv = ceil(w/lanes) vectors per panel row, the last partial.
	f.ByCount(w, 32, "nv", func(nv int, p kw.Partial, lbl string) {
		p = f.ForStores(p)
		id := lbl[len("nv"):]
		wb := f.MoveGP(w) // w in bytes: the source step between panels, the panel row step
		f.ShlImm(wb, 2)
		x := make([]kw.V, nv)
		for v := range x {
			x[v] = f.Vec()
		}
		copyRow := func(loop string, last bool) {
			sp, d, q := f.MoveGP(src), f.MoveGP(dst), f.MoveGP(panels)
			f.Label(loop)
			loadRow(f, sp, x, p)
			storeRow(f, x, d, p, last)
			f.AddGP(sp, wb)
			f.AddGP(d, ps)
			f.DecJumpNonZero(q, loop)
		}
		f.DecJumpZero(rows, "last"+id) // rows-1 rows with whole stores, then the last
		f.Label("row" + id)
		copyRow("panel"+id, false)
		f.AddGP(src, ld)
		f.AddGP(dst, wb)
		f.DecJumpNonZero(rows, "row"+id)
		f.Label("last" + id)
		copyRow("lastpanel"+id, true)
		f.Jump("done")
	})
	f.Label("done")
	f.Ret()
}

// genDotRows4 emits four dot products sharing one vector, for the
// matrix-vector products (gemm/gemv.go): four matrix rows stream side by
// side, four times the memory-level parallelism of one Dot per row, and
// x is loaded once for all four.
func genDotRows4(f *kw.Func) {
	name := rowKernelName("DotRows4", f.ISA)
	f.Function(name, "func(x *float32, rows *[4]*float32, k int, out *[4]float32)",
		name+" computes four dot products of length k >= 0 with x:",
		"",
		"\tfor r < 4:",
		"\t  out[r] = sum over p < k of rows[r][p] * x[p]",
		"",
		"It reads nothing outside x[:k] and rows[r][:k] (the last partial vector",
		"is a partial load).",
	)
	xp := f.Int("x")
	rp := f.Int("rows")
	k := f.Int("k")
	var row [4]kw.G
	for r := range row {
		row[r] = f.LoadGP(kw.Mem{Base: rp, Disp: 8 * r})
	}
	var acc [4][]kw.V
	for r := range acc {
		acc[r] = f.Zeros(2)
	}
	vb := f.ISA.VBytes()
	floatLoop(f, k, "reduce", func(off kw.G, nv int, p *kw.Partial) {
		if p != nil {
			// k mod lanes floats: the lanes past k read as 0, into the
			// second accumulators (free in this step).
			x1 := f.Vec()
			f.LoadPartial(kw.Mem{Base: xp, Index: off, Scale: 1}, *p, x1)
			for r := range row {
				y := f.Vec()
				f.LoadPartial(kw.Mem{Base: row[r], Index: off, Scale: 1}, *p, y)
				f.FMA(acc[r][1], x1, y)
			}
			return
		}
		xv := make([]kw.V, nv)
		for v := range xv {
			xv[v] = f.Vec()
			f.LoadVec(kw.Mem{Base: xp, Index: off, Scale: 1, Disp: vb * v}, xv[v])
		}
		for r := range row {
			for v := range xv {
				f.FMA(acc[r][v], xv[v], kw.Mem{Base: row[r], Index: off, Scale: 1, Disp: vb * v})
			}
		}
	})

	f.Label("reduce")
	outp := f.Int("out")
	for r := range acc {
		sum := acc[r][0]
		f.Binary(kw.Add, sum, sum, acc[r][1])
		f.StoreScalar(f.Reduce(kw.Add, sum), kw.Mem{Base: outp, Disp: 4 * r})
	}
	f.Ret()
}

// genAxpyRows4 emits the accumulation of four scaled rows into one vector,
// for the matrix-vector products whose matrix rows run along the output
// (gemm/gemv.go): four row streams side by side, and the accumulator loaded
// and stored once per four rows instead of once per row.
func genAxpyRows4(f *kw.Func) {
	name := rowKernelName("AxpyRows4", f.ISA)
	f.Function(name, "func(acc *float32, n int, rows *[4]*float32, x *[4]float32)",
		name+" adds four scaled rows of length n >= 0 to acc:",
		"",
		"\tfor j < n:",
		"\t  acc[j] += x[0]*rows[0][j] + x[1]*rows[1][j] + x[2]*rows[2][j] + x[3]*rows[3][j]",
		"",
		"with one fused multiply-add per term, in that order. It reads and writes",
		"nothing outside acc[:n] and rows[r][:n] (the last partial vector is",
		"a partial load and store).",
	)
	ap := f.Int("acc")
	n := f.Int("n")
	rp := f.Int("rows")
	xp := f.Int("x")
	var row [4]kw.G
	var xs [4]kw.V
	for r := range row {
		row[r] = f.LoadGP(kw.Mem{Base: rp, Disp: 8 * r})
		xs[r] = f.Vec()
		f.Broadcast(kw.Mem{Base: xp, Disp: 4 * r}, xs[r])
	}
	vb := f.ISA.VBytes()
	floatLoop(f, n, "done", func(off kw.G, nv int, p *kw.Partial) {
		a := make([]kw.V, nv)
		for v := range a {
			a[v] = f.Vec()
			load(f, kw.Mem{Base: ap, Index: off, Scale: 1, Disp: vb * v}, p, a[v])
		}
		for r := range row {
			for v := range a {
				src := kw.Mem{Base: row[r], Index: off, Scale: 1, Disp: vb * v}
				if p != nil {
					y := f.Vec()
					f.LoadPartial(src, *p, y)
					f.FMA(a[v], xs[r], y)
				} else {
					f.FMA(a[v], xs[r], src)
				}
			}
		}
		for v := range a {
			store(f, a[v], p, kw.Mem{Base: ap, Index: off, Scale: 1, Disp: vb * v})
		}
	})
	f.Label("done")
	f.Ret()
}

// load is a whole vector load, or a partial one when p is not nil.
func load(f *kw.Func, m kw.Mem, p *kw.Partial, dst kw.V) {
	if p != nil {
		f.LoadPartial(m, *p, dst)
	} else {
		f.LoadVec(m, dst)
	}
}

// store is a whole vector store, or a partial one when p is not nil.
func store(f *kw.Func, v kw.V, p *kw.Partial, m kw.Mem) {
	if p != nil {
		f.StorePartial(v, *p, m)
	} else {
		f.StoreVec(v, m)
	}
}

// loadRow loads the nv vectors of a row at base into x, the last one
// partial (its dead lanes read as 0 and touch no memory).
func loadRow(f *kw.Func, base kw.G, x []kw.V, p kw.Partial) {
	for v := range x {
		src := kw.Mem{Base: base, Disp: f.ISA.VBytes() * v}
		if v == len(x)-1 {
			f.LoadPartial(src, p, x[v])
		} else {
			f.LoadVec(src, x[v])
		}
	}
}

// storeRow stores the nv vectors x at base, the last one partial when
// partial (else whole, spilling past the row).
func storeRow(f *kw.Func, x []kw.V, base kw.G, p kw.Partial, partial bool) {
	for v := range x {
		dst := kw.Mem{Base: base, Disp: f.ISA.VBytes() * v}
		if partial && v == len(x)-1 {
			f.StorePartial(x[v], p, dst)
		} else {
			f.StoreVec(x[v], dst)
		}
	}
}

// floatLoop emits a loop over n >= 0 floats (n in a register it leaves
// intact), with off the byte offset of the current floats: body(off, 2,
// nil) per two vectors, body(off, 1, nil) for a remaining one, then
// body(off, 1, p) for the last n mod lanes floats, and on to label exit.
func floatLoop(f *kw.Func, n kw.G, exit string, body func(off kw.G, nv int, p *kw.Partial)) {
	L := f.ISA.Lanes
	off := f.ZeroGP()
	cnt := f.MoveGP(n)
	shift := 1 // log2 of the floats of two vectors
	for 1<<shift < 2*L {
		shift++
	}
	loop, single, tail := f.Fresh("loop"), f.Fresh(fmt.Sprintf("tail%d", L)), f.Fresh("tail1")
	f.ShrImmJumpZero(cnt, shift, single)
	f.Label(loop)
	body(off, 2, nil)
	f.AddImm(off, 2*f.ISA.VBytes())
	f.DecJumpNonZero(cnt, loop)
	f.Label(single)
	f.JumpIfBitsClear(n, L, tail)
	body(off, 1, nil)
	f.AddImm(off, f.ISA.VBytes())
	f.Label(tail)
	rem := f.MoveGP(n)
	f.AndImmJumpZero(rem, L-1, exit)
	f.ByCount(rem, L-1, f.Fresh("rem"), func(_ int, p kw.Partial, _ string) {
		p = f.ForStores(p)
		body(off, 1, &p)
		f.Jump(exit)
	})
}
